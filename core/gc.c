/* gc.c — the generational cyclic collector of CPython 3.11 (gcmodule.c).
 *
 * Containers are tracked in three generation lists (plus the permanent one
 * gc.freeze() fills).  Allocating a container counts +1 in generation 0,
 * freeing one -1; once the count passes threshold 0 the allocation itself
 * runs a collection of the oldest generation over its threshold (generation
 * 2 only once the objects promoted since the last full collection exceed a
 * quarter of those that survived it).  One collection:
 *
 *   merge younger generations into the collected one ("young")
 *   update_refs      gc_refs := refcount                 (in gc head prev)
 *   subtract_refs    gc_refs -= references from inside young
 *   move_unreachable gc_refs > 0 is reachable, and so is all it reaches;
 *                    the rest is tentatively unreachable
 *   untrack tuples (and dicts in full collections); promote survivors
 *   handle_weakrefs  clear weakrefs to garbage; run the callbacks of those
 *                    weakrefs that are not garbage themselves
 *   finalize         __del__ once per object, in list order
 *   resurrection     rerun the reachability test on the garbage alone
 *   delete_garbage   tp_clear each object; refcounting frees the rest
 *
 * The result is what gc.collect() returns: objects freed plus weakrefs
 * freed right after their callback.
 *
 * An explained collection (gc_explain.h) runs this same code with a
 * recorder; every hook is behind a NULL test, so a plain or automatic
 * collection pays one predictable branch where a hook would be.
 */
#include "gc_explain_internal.h"
#include "internal.h"

#include <time.h>

/* ---- lists ---- */

static void set_prev(hl_gc_head *g, hl_gc_head *prev)
{
    g->prev = (g->prev & ~HL_GC_PREV_MASK) | (uintptr_t)prev;
}

void hl_gc_list_init(hl_gc_head *list)
{
    list->next = (uintptr_t)list;
    list->prev = (uintptr_t)list;
}

bool hl_gc_list_is_empty(const hl_gc_head *list)
{
    return list->next == (uintptr_t)list;
}

void hl_gc_list_append(hl_gc_head *node, hl_gc_head *list)
{
    hl_gc_head *last = (hl_gc_head *)list->prev;
    set_prev(node, last);
    last->next = (uintptr_t)node;
    node->next = (uintptr_t)list;
    list->prev = (uintptr_t)node;
}

void hl_gc_list_remove(hl_gc_head *node)
{
    hl_gc_head *prev = hl_gc_prev(node), *next = hl_gc_next(node);
    prev->next = (uintptr_t)next;
    set_prev(next, prev);
    node->next = 0;
}

static void list_move(hl_gc_head *node, hl_gc_head *list)
{
    hl_gc_head *prev = hl_gc_prev(node), *next = hl_gc_next(node);
    prev->next = (uintptr_t)next;
    set_prev(next, prev);
    hl_gc_list_append(node, list);
}

void hl_gc_list_merge(hl_gc_head *from, hl_gc_head *to)
{
    if (hl_gc_list_is_empty(from))
        return;
    hl_gc_head *to_tail = hl_gc_prev(to), *from_head = hl_gc_next(from), *from_tail = hl_gc_prev(from);
    to_tail->next = (uintptr_t)from_head;
    set_prev(from_head, to_tail);
    from_tail->next = (uintptr_t)to;
    set_prev(to, from_tail);
    hl_gc_list_init(from);
}

uint64_t hl_gc_list_size(const hl_gc_head *list)
{
    uint64_t n = 0;
    for (const hl_gc_head *g = hl_gc_next(list); g != list; g = hl_gc_next(g))
        n++;
    return n;
}

/* ---- tracking and counting ---- */

void hl_gc_track(hl_heap *h, hl_object *o)
{
    hl_gc_list_append(hl_as_gc(o), &h->gen[0].head);
    o->gen = 0;
}

void hl_gc_untrack(hl_heap *h, hl_object *o)
{
    (void)h;
    hl_gc_head *g = hl_as_gc(o);
    if (g->next == 0)
        return;
    hl_gc_list_remove(g);
    g->prev &= HL_GC_PREV_FINALIZED;
}

bool hl_gc_may_be_tracked(const hl_object *o)
{
    if (!hl_type_is_gc((hl_type)o->type))
        return false;
    return o->type != HL_TUPLE || hl_object_is_tracked(o);
}

int hl_gc_generation_of(const hl_object *o)
{
    return hl_object_is_tracked(o) ? o->gen : -1;
}

static void collect_generations(hl_heap *h)
{
    for (int i = 2; i >= 0; i--) {
        if (h->gen[i].count <= h->gen[i].threshold)
            continue;
        if (i == 2 && h->long_lived_pending < h->long_lived_total / 4)
            continue;
        hl_gc_collect(h, i, true, NULL);
        return;
    }
}

void hl_gc_on_alloc(hl_heap *h)
{
    h->gen[0].count++;
    if (h->gen[0].count > h->gen[0].threshold && h->gc_enabled && h->gen[0].threshold != 0 &&
        !h->collecting) {
        /* 3.12's _PyObject_GC_Link only schedules (_Py_ScheduleGC); the
         * eval loop collects at its next check, after the statement. */
        if (h->cfg.profile >= HL_PROFILE_3_12) {
            h->gc_scheduled = true;
            return;
        }
        h->collecting = true;
        collect_generations(h);
        h->collecting = false;
    }
}

void hl_gc_boundary(hl_heap *h)
{
    if (!h->gc_scheduled || h->collecting)
        return;
    h->gc_scheduled = false;
    h->collecting = true;
    collect_generations(h);
    h->collecting = false;
}

void hl_gc_on_dealloc(hl_heap *h)
{
    if (h->gen[0].count > 0)
        h->gen[0].count--;
}

/* ---- gc_refs live in prev while a collection runs ---- */

static bool is_collecting(const hl_gc_head *g)
{
    return (g->prev & HL_GC_PREV_COLLECTING) != 0;
}

static uintptr_t get_refs(const hl_gc_head *g)
{
    return g->prev >> HL_GC_PREV_SHIFT;
}

static void set_refs(hl_gc_head *g, uintptr_t refs)
{
    g->prev = (g->prev & ~HL_GC_PREV_MASK) | (refs << HL_GC_PREV_SHIFT);
}

static void reset_refs(hl_gc_head *g, uintptr_t refs)
{
    g->prev = (g->prev & HL_GC_PREV_FINALIZED) | HL_GC_PREV_COLLECTING | (refs << HL_GC_PREV_SHIFT);
}

static void phase(hl_gc_explain *ex, hl_gc_explain_phase p)
{
    if (ex != NULL)
        hl_gc_explain_phase_begin(ex, p);
}

static uint64_t update_refs(hl_gc_head *young, hl_gc_explain *ex)
{
    uint64_t n = 0;
    for (hl_gc_head *g = hl_gc_next(young); g != young; g = hl_gc_next(g)) {
        reset_refs(g, hl_from_gc(g)->refcnt);
        if (ex != NULL)
            hl_gc_explain_examined(ex, hl_from_gc(g));
        n++;
    }
    return n;
}

static int visit_decref(hl_object *o, void *ctx)
{
    (void)ctx;
    if (hl_type_is_gc((hl_type)o->type)) {
        hl_gc_head *g = hl_as_gc(o);
        if (is_collecting(g))
            g->prev -= (uintptr_t)1 << HL_GC_PREV_SHIFT;
    }
    return 0;
}

static void subtract_refs(hl_gc_head *young, hl_gc_explain *ex)
{
    for (hl_gc_head *g = hl_gc_next(young); g != young; g = hl_gc_next(g))
        hl_object_traverse(hl_from_gc(g), visit_decref, NULL);
    /* An object's gc_refs is final only once every object has been
     * traversed. */
    if (ex != NULL)
        for (hl_gc_head *g = hl_gc_next(young); g != young; g = hl_gc_next(g))
            hl_gc_explain_subtracted(ex, hl_from_gc(g), get_refs(g));
}

typedef struct reach_ctx {
    hl_gc_head *young;
    hl_gc_explain *ex;
    const hl_object *by;  /* the object being traversed */
} reach_ctx;

static int visit_reachable(hl_object *o, void *ctx)
{
    reach_ctx *c = ctx;
    if (!hl_type_is_gc((hl_type)o->type))
        return 0;
    hl_gc_head *g = hl_as_gc(o);
    /* Objects of other generations, and those the scan has passed, are not
     * COLLECTING. */
    if (!is_collecting(g))
        return 0;
    if (g->next & HL_GC_NEXT_UNREACHABLE) {
        /* Found unreachable earlier, reachable after all: back to young,
         * where the scan will reach it again. */
        hl_gc_head *prev = hl_gc_prev(g);
        hl_gc_head *next = (hl_gc_head *)(g->next & ~HL_GC_NEXT_UNREACHABLE);
        prev->next = g->next;
        set_prev(next, prev);
        hl_gc_list_append(g, c->young);
        set_refs(g, 1);
        if (c->ex != NULL)
            hl_gc_explain_reached(c->ex, o, c->by, true);
    } else if (get_refs(g) == 0) {
        set_refs(g, 1);
        if (c->ex != NULL)
            hl_gc_explain_reached(c->ex, o, c->by, false);
    }
    return 0;
}

static void move_unreachable(hl_gc_head *young, hl_gc_head *unreachable, int dest_gen, hl_gc_explain *ex)
{
    reach_ctx ctx = {.young = young, .ex = ex};
    hl_gc_head *prev = young;
    hl_gc_head *g = hl_gc_next(young);
    while (g != young) {
        if (ex != NULL)
            hl_gc_explain_scanned(ex, hl_from_gc(g), get_refs(g) != 0);
        if (get_refs(g) != 0) {
            ctx.by = hl_from_gc(g);
            hl_object_traverse(hl_from_gc(g), visit_reachable, &ctx);
            set_prev(g, prev);
            g->prev &= ~HL_GC_PREV_COLLECTING;
            hl_from_gc(g)->gen = (uint8_t)dest_gen;
            prev = g;
        } else {
            /* Singly linked while flagged: next's prev is fixed later. */
            prev->next = g->next;
            hl_gc_head *last = (hl_gc_head *)unreachable->prev;
            last->next = HL_GC_NEXT_UNREACHABLE | (uintptr_t)g;
            set_prev(g, last);
            g->next = HL_GC_NEXT_UNREACHABLE | (uintptr_t)unreachable;
            unreachable->prev = (uintptr_t)g;
        }
        g = (hl_gc_head *)prev->next;
    }
    young->prev = (uintptr_t)prev;
    unreachable->next &= ~HL_GC_NEXT_UNREACHABLE;
}

static uint64_t deduce_unreachable(hl_gc_head *base, hl_gc_head *unreachable, int dest_gen, hl_gc_explain *ex)
{
    phase(ex, HL_GC_EXPLAIN_PHASE_UPDATE_REFS);
    uint64_t n = update_refs(base, ex);
    phase(ex, HL_GC_EXPLAIN_PHASE_SUBTRACT_REFS);
    subtract_refs(base, ex);
    hl_gc_list_init(unreachable);
    phase(ex, HL_GC_EXPLAIN_PHASE_MOVE_UNREACHABLE);
    move_unreachable(base, unreachable, dest_gen, ex);
    return n;
}

static void clear_unreachable_mask(hl_gc_head *unreachable)
{
    for (hl_gc_head *g = hl_gc_next(unreachable); g != unreachable;) {
        g->next &= ~HL_GC_NEXT_UNREACHABLE;
        g = hl_gc_next(g);
    }
}

static void untrack_tuples(hl_heap *h, hl_gc_head *list, hl_gc_explain *ex)
{
    for (hl_gc_head *g = hl_gc_next(list), *next; g != list; g = next) {
        next = hl_gc_next(g);
        hl_object *o = hl_from_gc(g);
        if (o->type != HL_TUPLE)
            continue;
        hl_tuple_maybe_untrack(h, o);
        if (ex != NULL && !hl_object_is_tracked(o))
            hl_gc_explain_untracked(ex, o);
    }
}

static void untrack_dicts(hl_heap *h, hl_gc_head *list, hl_gc_explain *ex)
{
    for (hl_gc_head *g = hl_gc_next(list), *next; g != list; g = next) {
        next = hl_gc_next(g);
        hl_object *o = hl_from_gc(g);
        if (o->type == HL_DICT && hl_dict_may_untrack((hl_dict *)o)) {
            hl_gc_untrack(h, o);
            if (ex != NULL)
                hl_gc_explain_untracked(ex, o);
        }
    }
}

static void set_generation(hl_gc_head *list, int gen)
{
    for (hl_gc_head *g = hl_gc_next(list); g != list; g = hl_gc_next(g))
        hl_from_gc(g)->gen = (uint8_t)gen;
}

/* Clears weakrefs to garbage; returns the weakrefs freed after their callback. */
static uint64_t handle_weakrefs(hl_heap *h, hl_gc_head *unreachable, hl_gc_head *old, int old_gen,
                                hl_gc_explain *ex)
{
    hl_gc_head to_call;
    hl_gc_list_init(&to_call);
    for (hl_gc_head *g = hl_gc_next(unreachable); g != unreachable; g = hl_gc_next(g)) {
        hl_object *o = hl_from_gc(g);
        if (o->type == HL_WEAKREF && ((hl_weakref *)o)->target != NULL) {
            if (ex != NULL)
                hl_gc_explain_cleared(ex, o, false);
            hl_weakref_clear_ref((hl_weakref *)o);
        }
        hl_weakref **list = hl_weakref_list(o);
        if (list == NULL)
            continue;
        for (hl_weakref *wr = *list; wr != NULL; wr = *list) {
            hl_weakref_clear_ref(wr);
            /* A weakref that is garbage itself never calls back. */
            bool call = wr->has_callback && !is_collecting(hl_as_gc(&wr->ob));
            if (ex != NULL)
                hl_gc_explain_cleared(ex, &wr->ob, call);
            if (!call)
                continue;
            hl_incref(&wr->ob);
            list_move(hl_as_gc(&wr->ob), &to_call);
        }
    }
    uint64_t freed = 0;
    while (!hl_gc_list_is_empty(&to_call)) {
        hl_gc_head *g = hl_gc_next(&to_call);
        hl_weakref *wr = (hl_weakref *)hl_from_gc(g);
        hl_weakref_run_callback(h, wr);
        hl_decref(h, &wr->ob);
        if (hl_gc_next(&to_call) == g) {
            list_move(g, old);
            wr->ob.gen = (uint8_t)old_gen;
        } else {
            freed++;
        }
    }
    return freed;
}

static void finalize_garbage(hl_heap *h, hl_gc_head *collectable, hl_gc_explain *ex)
{
    hl_gc_head seen;
    hl_gc_list_init(&seen);
    while (!hl_gc_list_is_empty(collectable)) {
        hl_gc_head *g = hl_gc_next(collectable);
        hl_object *o = hl_from_gc(g);
        list_move(g, &seen);
        if ((o->flags & HL_OF_FINALIZER) && !(g->prev & HL_GC_PREV_FINALIZED)) {
            if (ex != NULL)
                hl_gc_explain_finalized(ex, o);
            hl_incref(o);
            hl_instance_finalize(h, o);
            hl_decref(h, o);
        }
    }
    hl_gc_list_merge(&seen, collectable);
}

static void clear_collecting(hl_gc_head *list)
{
    for (hl_gc_head *g = hl_gc_next(list); g != list; g = hl_gc_next(g))
        g->prev &= ~HL_GC_PREV_COLLECTING;
}

static void handle_resurrected(hl_gc_head *unreachable, hl_gc_head *still, hl_gc_head *old, int old_gen,
                               hl_gc_explain *ex)
{
    clear_collecting(unreachable);
    /* The rerun is part of the resurrection check, not a second collection:
     * it is not explained phase by phase. */
    deduce_unreachable(unreachable, still, old_gen, NULL);
    clear_unreachable_mask(still);
    if (ex != NULL)
        hl_gc_explain_resurrection(ex, unreachable, still);
    hl_gc_list_merge(unreachable, old);
}

static void delete_garbage(hl_heap *h, hl_gc_head *collectable, hl_gc_head *old, int old_gen)
{
    while (!hl_gc_list_is_empty(collectable)) {
        hl_gc_head *g = hl_gc_next(collectable);
        hl_object *o = hl_from_gc(g);
        hl_incref(o);
        hl_object_clear(h, o);
        hl_decref(h, o);
        if (hl_gc_next(collectable) == g) {
            g->prev &= ~HL_GC_PREV_COLLECTING;
            list_move(g, old);
            o->gen = (uint8_t)old_gen;
        }
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void collect(hl_heap *h, int generation, bool automatic, hl_collect_result *out, hl_gc_explain *ex)
{
    uint64_t start = now_ns();
    if (generation < 2)
        h->gen[generation + 1].count++;
    for (int i = 0; i <= generation; i++)
        h->gen[i].count = 0;
    for (int i = 0; i < generation; i++)
        hl_gc_list_merge(&h->gen[i].head, &h->gen[generation].head);

    hl_gc_head *young = &h->gen[generation].head;
    int old_gen = generation < 2 ? generation + 1 : 2;
    hl_gc_head *old = &h->gen[old_gen].head;
    hl_gc_head unreachable, final_unreachable;
    uint64_t examined = deduce_unreachable(young, &unreachable, old_gen, ex);

    untrack_tuples(h, young, ex);
    if (young != old) {
        if (generation == 1)
            h->long_lived_pending += hl_gc_list_size(young);
        hl_gc_list_merge(young, old);
    } else {
        untrack_dicts(h, young, ex);
        h->long_lived_pending = 0;
        h->long_lived_total = hl_gc_list_size(young);
    }
    clear_unreachable_mask(&unreachable);

    phase(ex, HL_GC_EXPLAIN_PHASE_WEAKREFS);
    uint64_t collected = handle_weakrefs(h, &unreachable, old, old_gen, ex);
    phase(ex, HL_GC_EXPLAIN_PHASE_FINALIZERS);
    finalize_garbage(h, &unreachable, ex);
    phase(ex, HL_GC_EXPLAIN_PHASE_RESURRECTION);
    handle_resurrected(&unreachable, &final_unreachable, old, old_gen, ex);
    collected += hl_gc_list_size(&final_unreachable);
    phase(ex, HL_GC_EXPLAIN_PHASE_DELETE);
    delete_garbage(h, &final_unreachable, old, old_gen);
    if (generation == 2)
        hl_freelists_clear(h);

    h->stats[generation].collections++;
    h->stats[generation].collected += collected;
    hl_collect_result r = {
        .generation = generation,
        .collected = collected,
        .uncollectable = 0,
        .examined = examined,
        .duration_ns = now_ns() - start,
        .automatic = automatic,
    };
    h->last_collect = r;
    if (out != NULL)
        *out = r;
    if (h->sink != NULL) {
        hl_event ev = {.kind = HL_EV_COLLECT, .collect = &r};
        h->sink(h->sink_ctx, &ev);
    }
}

void hl_gc_collect(hl_heap *h, int generation, bool automatic, hl_collect_result *out)
{
    collect(h, generation, automatic, out, NULL);
}

void hl_gc_collect_explained(hl_heap *h, int generation, hl_collect_result *out, hl_gc_explain *ex)
{
    collect(h, generation, false, out, ex);
}

void hl_gc_freeze(hl_heap *h)
{
    for (int i = 0; i < 3; i++) {
        set_generation(&h->gen[i].head, HL_GEN_PERMANENT);
        hl_gc_list_merge(&h->gen[i].head, &h->permanent);
        h->gen[i].count = 0;
    }
}

void hl_gc_unfreeze(hl_heap *h)
{
    set_generation(&h->permanent, 2);
    hl_gc_list_merge(&h->permanent, &h->gen[2].head);
}
