/* ops_gc.c — the collector's operations of ops.h: gc.collect(),
 * gc.set_threshold / enable / disable, gc.freeze(), gc.unfreeze().  Like
 * every operation they validate first, note themselves for the journal
 * when they succeed, and end at an operation boundary (hl_gc_boundary). */
#include "internal.h"
#include "oplog_internal.h"
#include "ops.h"

#include "gc_explain_internal.h"

hl_status hl_ops_collect_check(const hl_heap *h, int generation)
{
    if (generation < 0 || generation > 2)
        return HL_E_INVALID;
    return h->collecting ? HL_E_BUSY : HL_OK;
}

void hl_ops_collect_run(hl_heap *h, int generation, struct hl_gc_explain *ex, hl_collect_result *out)
{
    hl_collect_result r;
    h->collecting = true;
    if (ex != NULL)
        hl_gc_explain_listen(ex, h);
    hl_gc_collect_explained(h, generation, &r, ex);
    if (ex != NULL)
        hl_gc_explain_unlisten(ex, h);
    h->collecting = false;
    if (out != NULL)
        *out = r;
    hl_gc_boundary(h);
    hl_oplog_note_collect(h, &r);
}

hl_status hl_op_collect(hl_heap *h, int generation, hl_collect_result *out)
{
    hl_status st = hl_ops_collect_check(h, generation);
    if (st == HL_OK)
        hl_ops_collect_run(h, generation, NULL, out);
    return st;
}

hl_status hl_op_gc_config(hl_heap *h, const hl_gc_config *cfg)
{
    if (cfg->nthresholds < 0 || cfg->nthresholds > 3)
        return HL_E_INVALID;
    for (int i = 0; i < cfg->nthresholds; i++)
        if (cfg->thresholds[i] < 0)
            return HL_E_INVALID;
    if (cfg->nthresholds > 0) {
        /* gc.set_threshold is METH_VARARGS: its arguments arrive in a tuple. */
        hl_object *argv[3] = {NULL, NULL, NULL};
        hl_object *args = NULL;
        for (int i = 0; i < cfg->nthresholds; i++)
            if ((argv[i] = hl_int_new(h, cfg->thresholds[i])) == NULL)
                break;
        if (argv[cfg->nthresholds - 1] != NULL)
            args = hl_args_tuple(h, argv, (size_t)cfg->nthresholds);
        for (int i = 0; i < cfg->nthresholds; i++)
            if (argv[i] != NULL)
                hl_decref(h, argv[i]);
        if (args == NULL)
            return HL_E_NOMEM;
        for (int i = 0; i < cfg->nthresholds; i++)
            h->gen[i].threshold = cfg->thresholds[i];
        hl_decref(h, args);
    }
    if (cfg->set_enabled)
        h->gc_enabled = cfg->enabled;
    hl_gc_boundary(h);
    hl_oplog_note_gc_config(h, cfg);
    return HL_OK;
}

hl_status hl_op_freeze(hl_heap *h)
{
    hl_gc_freeze(h);
    hl_gc_boundary(h);
    hl_oplog_note_freeze(h);
    return HL_OK;
}

hl_status hl_op_unfreeze(hl_heap *h)
{
    hl_gc_unfreeze(h);
    hl_gc_boundary(h);
    hl_oplog_note_unfreeze(h);
    return HL_OK;
}
