/* gc_explain.c — the recorder behind gc_explain.h and its hooks
 * (gc_explain_internal.h).
 *
 * Everything is sized before the collection starts: a place for each of
 * the first min(limit, generations' size) objects update_refs will reach,
 * an open-addressing index from id to place, and a step buffer that cannot
 * overflow because each state happens at most once per object (the states
 * bitmask enforces it) and GC_REFS exactly twice.  Places are found by id,
 * not by address, because a freed object's block may be reused by an
 * object a finalizer creates during the same collection.
 */
#include "gc_explain.h"

#include <stdlib.h>

#include "gc_explain_internal.h"
#include "oplog_internal.h"

#define NO_PLACE UINT32_MAX
/* Places are numbered in 32 bits. */
#define MAX_PLACES (UINT32_MAX / 4)

typedef struct place {
    uint64_t id;
    uint64_t gc_refs;
    uint64_t reachable_from;
    uint32_t refcount;
    uint8_t type;
    uint8_t verdict;
    uint16_t states;  /* bit per hl_gc_explain_state already recorded */
} place;

typedef struct step {
    uint64_t value;  /* gc_refs, or the id of "by" */
    uint32_t place;
    uint8_t phase;
    uint8_t state;
    bool callback;
} step;

struct hl_gc_explain {
    hl_gc_explain_summary sum;  /* explained = places in use */
    hl_gc_explain_phase phase;
    place *places;
    size_t cap;
    uint32_t *index;            /* place + 1; 0 = empty */
    size_t index_mask;
    step *steps;
    size_t steps_cap;
    /* The heap's event sink, which events reach through the recorder
     * while it watches for frees. */
    hl_event_sink sink;
    void *sink_ctx;
};

static const char *const phase_names[HL_GC_EXPLAIN_PHASE_COUNT] = {
    "update_refs", "subtract_refs", "move_unreachable", "weakrefs", "finalizers", "resurrection", "delete",
};
static const char *const verdict_names[HL_GC_EXPLAIN_VERDICT_COUNT] = {
    "reachable", "freed", "resurrected", "uncollectable", "untracked",
};
static const char *const state_names[HL_GC_EXPLAIN_STATE_COUNT] = {
    "gc_refs",   "reachable", "tentatively_unreachable", "rescued",  "untracked",
    "cleared",   "finalized", "resurrected",             "freed",
};

const char *hl_gc_explain_phase_name(hl_gc_explain_phase p)
{
    return (unsigned)p < HL_GC_EXPLAIN_PHASE_COUNT ? phase_names[p] : "?";
}

const char *hl_gc_explain_verdict_name(hl_gc_explain_verdict v)
{
    return (unsigned)v < HL_GC_EXPLAIN_VERDICT_COUNT ? verdict_names[v] : "?";
}

const char *hl_gc_explain_state_name(hl_gc_explain_state s)
{
    return (unsigned)s < HL_GC_EXPLAIN_STATE_COUNT ? state_names[s] : "?";
}

/* ---- the recorder ---- */

static hl_gc_explain *explain_new(const hl_heap *h, int generation, size_t limit)
{
    uint64_t young = 0;
    for (int i = 0; i <= generation; i++)
        young += hl_gc_list_size(&h->gen[i].head);
    size_t cap = young < limit ? (size_t)young : limit;
    if (cap > MAX_PLACES)
        cap = MAX_PLACES;
    size_t slots = 2;
    while (slots < 2 * cap)
        slots *= 2;
    hl_gc_explain *ex = calloc(1, sizeof *ex);
    if (ex == NULL)
        return NULL;
    ex->sum.generation = generation;
    ex->cap = cap;
    ex->index_mask = slots - 1;
    ex->steps_cap = cap * (HL_GC_EXPLAIN_STATE_COUNT + 1);
    ex->places = calloc(cap ? cap : 1, sizeof *ex->places);
    ex->index = calloc(slots, sizeof *ex->index);
    ex->steps = calloc(ex->steps_cap ? ex->steps_cap : 1, sizeof *ex->steps);
    if (ex->places == NULL || ex->index == NULL || ex->steps == NULL) {
        hl_gc_explain_free(ex);
        return NULL;
    }
    return ex;
}

void hl_gc_explain_free(hl_gc_explain *ex)
{
    if (ex == NULL)
        return;
    free(ex->places);
    free(ex->index);
    free(ex->steps);
    free(ex);
}

/* Ids are consecutive, and an odd multiplier keeps consecutive ids in
 * distinct slots. */
static size_t slot_of(const hl_gc_explain *ex, uint64_t id)
{
    return (size_t)(id * UINT64_C(0x9E3779B97F4A7C15)) & ex->index_mask;
}

static uint32_t find(const hl_gc_explain *ex, uint64_t id)
{
    for (size_t s = slot_of(ex, id);; s = (s + 1) & ex->index_mask) {
        uint32_t p = ex->index[s];
        if (p == 0)
            return NO_PLACE;
        if (ex->places[p - 1].id == id)
            return p - 1;
    }
}

static void record(hl_gc_explain *ex, uint32_t p, hl_gc_explain_state state, uint64_t value, bool callback)
{
    uint16_t bit = (uint16_t)(1u << state);
    if (state != HL_GC_EXPLAIN_STATE_GC_REFS) {
        if (ex->places[p].states & bit)
            return;
        ex->places[p].states |= bit;
    }
    ex->steps[ex->sum.steps++] = (step){
        .value = value, .place = p, .phase = (uint8_t)ex->phase, .state = (uint8_t)state, .callback = callback};
}

static void decide(hl_gc_explain *ex, uint32_t p, hl_gc_explain_verdict v)
{
    ex->places[p].verdict = (uint8_t)v;
}

/* ---- hooks (gc_explain_internal.h) ---- */

void hl_gc_explain_phase_begin(hl_gc_explain *ex, hl_gc_explain_phase p)
{
    ex->phase = p;
}

void hl_gc_explain_examined(hl_gc_explain *ex, const hl_object *o)
{
    ex->sum.examined++;
    if (ex->sum.explained == ex->cap)
        return;
    uint32_t p = (uint32_t)ex->sum.explained++;
    ex->places[p] = (place){.id = o->id, .gc_refs = o->refcnt, .refcount = o->refcnt, .type = o->type};
    size_t s = slot_of(ex, o->id);
    while (ex->index[s] != 0)
        s = (s + 1) & ex->index_mask;
    ex->index[s] = p + 1;
    record(ex, p, HL_GC_EXPLAIN_STATE_GC_REFS, o->refcnt, false);
}

void hl_gc_explain_subtracted(hl_gc_explain *ex, const hl_object *o, uint64_t gc_refs)
{
    uint32_t p = find(ex, o->id);
    if (p == NO_PLACE)
        return;
    ex->places[p].gc_refs = gc_refs;
    record(ex, p, HL_GC_EXPLAIN_STATE_GC_REFS, gc_refs, false);
}

void hl_gc_explain_scanned(hl_gc_explain *ex, const hl_object *o, bool reachable)
{
    uint32_t p = find(ex, o->id);
    if (p == NO_PLACE) {
        /* The scan passes each object that stays exactly once with
         * gc_refs > 0, so this counts each of them once. */
        if (reachable)
            ex->sum.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_REACHABLE]++;
        return;
    }
    if (!reachable) {
        record(ex, p, HL_GC_EXPLAIN_STATE_TENTATIVELY_UNREACHABLE, 0, false);
        return;
    }
    decide(ex, p, HL_GC_EXPLAIN_VERDICT_REACHABLE);
    /* Reached through another object: that was the step that decided. */
    if (!(ex->places[p].states & (1u << HL_GC_EXPLAIN_STATE_RESCUED)))
        record(ex, p, HL_GC_EXPLAIN_STATE_REACHABLE, 0, false);
}

void hl_gc_explain_reached(hl_gc_explain *ex, const hl_object *o, const hl_object *by, bool rescued)
{
    uint32_t p = find(ex, o->id);
    if (p == NO_PLACE)
        return;
    ex->places[p].reachable_from = by->id;
    record(ex, p, rescued ? HL_GC_EXPLAIN_STATE_RESCUED : HL_GC_EXPLAIN_STATE_REACHABLE, by->id, false);
}

void hl_gc_explain_untracked(hl_gc_explain *ex, const hl_object *o)
{
    uint32_t p = find(ex, o->id);
    if (p == NO_PLACE) {
        ex->sum.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_REACHABLE]--;
        ex->sum.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_UNTRACKED]++;
        return;
    }
    decide(ex, p, HL_GC_EXPLAIN_VERDICT_UNTRACKED);
    record(ex, p, HL_GC_EXPLAIN_STATE_UNTRACKED, 0, false);
}

void hl_gc_explain_cleared(hl_gc_explain *ex, const hl_object *wr, bool callback)
{
    uint32_t p = find(ex, wr->id);
    if (p != NO_PLACE)
        record(ex, p, HL_GC_EXPLAIN_STATE_CLEARED, 0, callback);
}

void hl_gc_explain_finalized(hl_gc_explain *ex, const hl_object *o)
{
    uint32_t p = find(ex, o->id);
    if (p != NO_PLACE)
        record(ex, p, HL_GC_EXPLAIN_STATE_FINALIZED, 0, false);
}

void hl_gc_explain_resurrection(hl_gc_explain *ex, hl_gc_head *resurrected, hl_gc_head *garbage)
{
    for (hl_gc_head *g = hl_gc_next(resurrected); g != resurrected; g = hl_gc_next(g)) {
        uint32_t p = find(ex, hl_from_gc(g)->id);
        if (p == NO_PLACE) {
            ex->sum.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_RESURRECTED]++;
            continue;
        }
        decide(ex, p, HL_GC_EXPLAIN_VERDICT_RESURRECTED);
        record(ex, p, HL_GC_EXPLAIN_STATE_RESURRECTED, 0, false);
    }
    /* The collector counts all of the garbage as collected; its steps come
     * with the frees. */
    for (hl_gc_head *g = hl_gc_next(garbage); g != garbage; g = hl_gc_next(g)) {
        uint32_t p = find(ex, hl_from_gc(g)->id);
        if (p == NO_PLACE)
            ex->sum.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_FREED]++;
        else
            decide(ex, p, HL_GC_EXPLAIN_VERDICT_FREED);
    }
}

/* Frees happen wherever refcounting takes an object's count to zero —
 * during delete, but also in a callback or a finalizer, to reachable
 * objects too — and every free is a heap event. */
static void on_event(void *ctx, const hl_event *ev)
{
    hl_gc_explain *ex = ctx;
    if (ev->kind == HL_EV_FREE) {
        uint32_t p = find(ex, ev->id);
        if (p != NO_PLACE) {
            decide(ex, p, HL_GC_EXPLAIN_VERDICT_FREED);
            record(ex, p, HL_GC_EXPLAIN_STATE_FREED, 0, false);
        }
    }
    if (ex->sink != NULL)
        ex->sink(ex->sink_ctx, ev);
}

/* ---- the operation ---- */

hl_status hl_op_collect_explained(hl_heap *h, int generation, size_t limit, hl_collect_result *out,
                                  hl_gc_explain **explain)
{
    *explain = NULL;
    if (limit == 0)
        return HL_E_INVALID;
    hl_status st = hl_ops_collect_check(h, generation);
    if (st != HL_OK)
        return st;
    hl_gc_explain *ex = explain_new(h, generation, limit);
    if (ex == NULL)
        return HL_E_NOMEM;
    /* the same path as hl_op_collect (ops_gc.c): journaled alike */
    hl_ops_collect_run(h, generation, ex, out);
    *explain = ex;
    return HL_OK;
}

void hl_gc_explain_listen(hl_gc_explain *ex, hl_heap *h)
{
    ex->sink = h->sink;
    ex->sink_ctx = h->sink_ctx;
    hl_heap_set_event_sink(h, on_event, ex);
}

void hl_gc_explain_unlisten(hl_gc_explain *ex, hl_heap *h)
{
    hl_heap_set_event_sink(h, ex->sink, ex->sink_ctx);
}

/* ---- reading ---- */

void hl_gc_explain_summary_get(const hl_gc_explain *ex, hl_gc_explain_summary *out)
{
    *out = ex->sum;
    out->omitted = ex->sum.examined - ex->sum.explained;
}

bool hl_gc_explain_object_at(const hl_gc_explain *ex, size_t i, hl_gc_explain_object *out)
{
    if (i >= ex->sum.explained)
        return false;
    const place *p = &ex->places[i];
    *out = (hl_gc_explain_object){
        .id = p->id,
        .type = (hl_type)p->type,
        .refcount = p->refcount,
        .gc_refs = p->gc_refs,
        .verdict = (hl_gc_explain_verdict)p->verdict,
        .reachable_from = p->reachable_from,
    };
    return true;
}

bool hl_gc_explain_step_at(const hl_gc_explain *ex, size_t i, hl_gc_explain_step *out)
{
    if (i >= ex->sum.steps)
        return false;
    const step *s = &ex->steps[i];
    hl_gc_explain_state state = (hl_gc_explain_state)s->state;
    bool by = state == HL_GC_EXPLAIN_STATE_REACHABLE || state == HL_GC_EXPLAIN_STATE_RESCUED;
    *out = (hl_gc_explain_step){
        .phase = (hl_gc_explain_phase)s->phase,
        .state = state,
        .id = ex->places[s->place].id,
        .gc_refs = state == HL_GC_EXPLAIN_STATE_GC_REFS ? s->value : 0,
        .by = by ? s->value : 0,
        .callback = s->callback,
    };
    return true;
}
