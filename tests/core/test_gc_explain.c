/* test_gc_explain.c — explained collections (gc_explain.h).
 *
 * Each expectation below is worked out by hand from gcmodule.c's algorithm
 * (update_refs, subtract_refs, move_unreachable, handle_weakrefs,
 * finalize_garbage, handle_resurrected, delete_garbage), not read back
 * from the recorder; the comment above each test shows the working.  An
 * explained collection must also be a plain one: same results, events,
 * journal records and resulting heap. */
#include <string.h>

#include "digest.h"
#include "gc_explain.h"
#include "oplog.h"
#include "testutil.h"

#define T_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define U(x) ((unsigned long long)(x))

/* Phases and states, short enough for tables. */
#define UPDATE HL_GC_EXPLAIN_PHASE_UPDATE_REFS
#define SUBTRACT HL_GC_EXPLAIN_PHASE_SUBTRACT_REFS
#define MOVE HL_GC_EXPLAIN_PHASE_MOVE_UNREACHABLE
#define WEAKREFS HL_GC_EXPLAIN_PHASE_WEAKREFS
#define FINALIZERS HL_GC_EXPLAIN_PHASE_FINALIZERS
#define RESURRECTION HL_GC_EXPLAIN_PHASE_RESURRECTION
#define DELETE HL_GC_EXPLAIN_PHASE_DELETE
#define GC_REFS HL_GC_EXPLAIN_STATE_GC_REFS
#define REACHABLE HL_GC_EXPLAIN_STATE_REACHABLE
#define TENTATIVE HL_GC_EXPLAIN_STATE_TENTATIVELY_UNREACHABLE
#define RESCUED HL_GC_EXPLAIN_STATE_RESCUED
#define UNTRACKED HL_GC_EXPLAIN_STATE_UNTRACKED
#define CLEARED HL_GC_EXPLAIN_STATE_CLEARED
#define FINALIZED HL_GC_EXPLAIN_STATE_FINALIZED
#define RESURRECTED HL_GC_EXPLAIN_STATE_RESURRECTED
#define FREED HL_GC_EXPLAIN_STATE_FREED

/* One expected step: value is gc_refs for GC_REFS, "by" for REACHABLE and
 * RESCUED. */
typedef struct t_step {
    hl_gc_explain_phase phase;
    hl_gc_explain_state state;
    uint64_t id;
    uint64_t value;
    bool callback;
} t_step;

typedef struct t_obj {
    uint64_t id;
    hl_type type;
    uint32_t refcount;
    uint64_t gc_refs;
    hl_gc_explain_verdict verdict;
    uint64_t reachable_from;
} t_obj;

static hl_gc_explain *t_explain(hl_heap *h, int generation, size_t limit, uint64_t want_collected)
{
    hl_collect_result r;
    hl_gc_explain *ex;
    ck_assert_status(hl_op_collect_explained(h, generation, limit, &r, &ex), HL_OK);
    ck_assert_ptr_nonnull(ex);
    ck_assert_uint_eq(r.collected, want_collected);
    ck_assert(!r.automatic);
    hl_gc_explain_summary s;
    hl_gc_explain_summary_get(ex, &s);
    ck_assert_int_eq(s.generation, generation);
    ck_assert_uint_eq(s.examined, r.examined);
    return ex;
}

static const char *step_text(char *buf, size_t cap, hl_gc_explain_phase p, hl_gc_explain_state st, uint64_t id,
                             uint64_t value, bool callback)
{
    snprintf(buf, cap, "%s %s id %llu value %llu%s", hl_gc_explain_phase_name(p), hl_gc_explain_state_name(st),
             U(id), U(value), callback ? " callback" : "");
    return buf;
}

static void ck_timeline(const hl_gc_explain *ex, const t_step *want, size_t n)
{
    hl_gc_explain_summary s;
    hl_gc_explain_summary_get(ex, &s);
    char a[128], b[128];
    for (size_t i = 0; i < n || i < s.steps; i++) {
        hl_gc_explain_step got;
        bool have = hl_gc_explain_step_at(ex, i, &got);
        ck_assert(have == (i < s.steps));
        uint64_t value = got.state == GC_REFS ? got.gc_refs : got.by;
        if (have)
            step_text(a, sizeof a, got.phase, got.state, got.id, value, got.callback);
        ck_assert_msg(i < n, "extra step %zu: %s", i, a);
        step_text(b, sizeof b, want[i].phase, want[i].state, want[i].id, want[i].value, want[i].callback);
        ck_assert_msg(have, "step %zu missing: %s", i, b);
        ck_assert_msg(got.phase == want[i].phase && got.state == want[i].state && got.id == want[i].id &&
                          value == want[i].value && got.callback == want[i].callback,
                      "step %zu: got %s, want %s", i, a, b);
    }
}

static void ck_objects(const hl_gc_explain *ex, const t_obj *want, size_t n)
{
    hl_gc_explain_summary s;
    hl_gc_explain_summary_get(ex, &s);
    ck_assert_uint_eq(s.explained, n);
    for (size_t i = 0; i < n; i++) {
        hl_gc_explain_object got;
        ck_assert(hl_gc_explain_object_at(ex, i, &got));
        ck_assert_uint_eq(got.id, want[i].id);
        ck_assert_str_eq(hl_type_name(got.type), hl_type_name(want[i].type));
        ck_assert_uint_eq(got.refcount, want[i].refcount);
        ck_assert_uint_eq(got.gc_refs, want[i].gc_refs);
        ck_assert_str_eq(hl_gc_explain_verdict_name(got.verdict), hl_gc_explain_verdict_name(want[i].verdict));
        ck_assert_uint_eq(got.reachable_from, want[i].reachable_from);
    }
    hl_gc_explain_object past;
    ck_assert(!hl_gc_explain_object_at(ex, n, &past));
}

/* a = []; a.append(a); del a — refcount 1 (the list's own item).
 * update_refs: gc_refs 1; subtract_refs: a's traversal reaches a, 0;
 * move_unreachable: 0, so tentatively unreachable; nothing reaches it, no
 * weakrefs, no finalizer, no resurrection; delete: tp_clear drops the item,
 * the count reaches 0, freed. */
START_TEST(self_referencing_list)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    t_append(h, a, a);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    hl_gc_explain *ex = t_explain(h, 2, 200, 1);
    const t_step steps[] = {
        {UPDATE, GC_REFS, a, 1, false},
        {SUBTRACT, GC_REFS, a, 0, false},
        {MOVE, TENTATIVE, a, 0, false},
        {DELETE, FREED, a, 0, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {{a, HL_LIST, 1, 0, HL_GC_EXPLAIN_VERDICT_FREED, 0}};
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_summary s;
    hl_gc_explain_summary_get(ex, &s);
    ck_assert_uint_eq(s.examined, 1);
    ck_assert_uint_eq(s.omitted, 0);
    hl_gc_explain_free(ex);
    ck_assert(!t_alive(h, a));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* b = []; a = [b]; b.append(a); del b — the list order is b, a.
 * refcounts: b 1 (in a), a 2 (name, in b).  subtract_refs: a's item takes
 * b to 0, b's item takes a to 1.  move_unreachable scans b first: 0, set
 * aside; then a: 1, reachable, and its traversal finds b set aside and
 * rescues it.  The scan comes to b again with gc_refs 1: nothing new to
 * decide.  Both stay. */
START_TEST(unnamed_list_rescued_by_named_one)
{
    hl_heap *h = t_heap();
    uint64_t b = t_list(h, "b", NULL, 0);
    uint64_t a = t_list(h, "a", &b, 1);
    t_append(h, b, a);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    hl_gc_explain *ex = t_explain(h, 2, 200, 0);
    const t_step steps[] = {
        {UPDATE, GC_REFS, b, 1, false},   {UPDATE, GC_REFS, a, 2, false},
        {SUBTRACT, GC_REFS, b, 0, false}, {SUBTRACT, GC_REFS, a, 1, false},
        {MOVE, TENTATIVE, b, 0, false},   {MOVE, REACHABLE, a, 0, false},
        {MOVE, RESCUED, b, a, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {
        {b, HL_LIST, 1, 0, HL_GC_EXPLAIN_VERDICT_REACHABLE, a},
        {a, HL_LIST, 2, 1, HL_GC_EXPLAIN_VERDICT_REACHABLE, 0},
    };
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_free(ex);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The same cycle the other way round: a = []; b = [a]; a.append(b); del b
 * — the list order is a, b.  gc_refs after subtract_refs: a 1, b 0.  The
 * scan reaches a first, and a's traversal finds b before the scan does:
 * b's gc_refs goes 0 -> 1 without b ever being set aside. */
START_TEST(unnamed_list_reached_before_the_scan)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    uint64_t b = t_list(h, "b", &a, 1);
    t_append(h, a, b);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    hl_gc_explain *ex = t_explain(h, 2, 200, 0);
    const t_step steps[] = {
        {UPDATE, GC_REFS, a, 2, false},   {UPDATE, GC_REFS, b, 1, false},
        {SUBTRACT, GC_REFS, a, 1, false}, {SUBTRACT, GC_REFS, b, 0, false},
        {MOVE, REACHABLE, a, 0, false},   {MOVE, REACHABLE, b, a, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {
        {a, HL_LIST, 2, 1, HL_GC_EXPLAIN_VERDICT_REACHABLE, 0},
        {b, HL_LIST, 1, 0, HL_GC_EXPLAIN_VERDICT_REACHABLE, a},
    };
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_free(ex);
    hl_heap_delete(h);
}
END_TEST

/* i = F() (F has __del__); l = [i]; i.l = l; del i, l — order i, l, each
 * refcount 1, each taken to 0 by the other: both set aside.  finalizers: i's
 * __del__ runs (list order).  The rerun finds nothing outside: no
 * resurrection.  delete: i comes first; its tp_clear drops i.l, l's count
 * reaches 0 and l is freed (dropping its item i); then the collector's own
 * reference to i goes and i is freed. */
START_TEST(finalizer_in_cycle)
{
    hl_heap *h = t_heap();
    uint64_t i = t_instance(h, "i", "F", true);
    uint64_t l = t_list(h, "l", &i, 1);
    t_setattr(h, i, "l", l);
    ck_assert_status(hl_op_unbind(h, "i"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    hl_gc_explain *ex = t_explain(h, 2, 200, 2);
    const t_step steps[] = {
        {UPDATE, GC_REFS, i, 1, false},   {UPDATE, GC_REFS, l, 1, false},   {SUBTRACT, GC_REFS, i, 0, false},
        {SUBTRACT, GC_REFS, l, 0, false}, {MOVE, TENTATIVE, i, 0, false},   {MOVE, TENTATIVE, l, 0, false},
        {FINALIZERS, FINALIZED, i, 0, false}, {DELETE, FREED, l, 0, false}, {DELETE, FREED, i, 0, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {
        {i, HL_INSTANCE, 1, 0, HL_GC_EXPLAIN_VERDICT_FREED, 0},
        {l, HL_LIST, 1, 0, HL_GC_EXPLAIN_VERDICT_FREED, 0},
    };
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_free(ex);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The same with a __del__ that binds its object to the name "back": after
 * finalizers i has refcount 2 (l's item, the name).  The rerun over the
 * garbage: i's gc_refs 2 - 1 (l's item) = 1 > 0, reachable; its traversal
 * takes l from 0 to 1.  Both are resurrected, in list order; nothing is
 * freed. */
START_TEST(finalizer_resurrects)
{
    hl_heap *h = t_heap();
    hl_create_spec s = {.type = HL_INSTANCE, .class_name = "P", .finalizer = true, .resurrect = "back"};
    uint64_t i = t_create(h, &s, "i");
    uint64_t l = t_list(h, "l", &i, 1);
    t_setattr(h, i, "l", l);
    ck_assert_status(hl_op_unbind(h, "i"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    hl_gc_explain *ex = t_explain(h, 2, 200, 0);
    const t_step steps[] = {
        {UPDATE, GC_REFS, i, 1, false},
        {UPDATE, GC_REFS, l, 1, false},
        {SUBTRACT, GC_REFS, i, 0, false},
        {SUBTRACT, GC_REFS, l, 0, false},
        {MOVE, TENTATIVE, i, 0, false},
        {MOVE, TENTATIVE, l, 0, false},
        {FINALIZERS, FINALIZED, i, 0, false},
        {RESURRECTION, RESURRECTED, i, 0, false},
        {RESURRECTION, RESURRECTED, l, 0, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {
        {i, HL_INSTANCE, 1, 0, HL_GC_EXPLAIN_VERDICT_RESURRECTED, 0},
        {l, HL_LIST, 1, 0, HL_GC_EXPLAIN_VERDICT_RESURRECTED, 0},
    };
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_free(ex);
    ck_assert(t_alive(h, i) && t_alive(h, l));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* x = [] bound to "back"; p = P() whose __del__ binds p to "back";
 * p.me = p; del p — order x, p; refcounts x 1 (its name), p 1 (p.me).
 * subtract_refs: x keeps 1, p goes to 0.  x is reachable, p set aside.
 * finalizers: p's __del__ rebinds "back", which drops x's last reference:
 * x, which the collector kept, is freed by refcounting during finalizers.
 * The rerun finds p held by the name: resurrected. */
START_TEST(finalizer_frees_a_reachable_object)
{
    hl_heap *h = t_heap();
    uint64_t x = t_list(h, "back", NULL, 0);
    hl_create_spec s = {.type = HL_INSTANCE, .class_name = "P", .finalizer = true, .resurrect = "back"};
    uint64_t p = t_create(h, &s, "p");
    t_setattr(h, p, "me", p);
    ck_assert_status(hl_op_unbind(h, "p"), HL_OK);
    hl_gc_explain *ex = t_explain(h, 2, 200, 0);
    const t_step steps[] = {
        {UPDATE, GC_REFS, x, 1, false},         {UPDATE, GC_REFS, p, 1, false},
        {SUBTRACT, GC_REFS, x, 1, false},       {SUBTRACT, GC_REFS, p, 0, false},
        {MOVE, REACHABLE, x, 0, false},         {MOVE, TENTATIVE, p, 0, false},
        {FINALIZERS, FINALIZED, p, 0, false},   {FINALIZERS, FREED, x, 0, false},
        {RESURRECTION, RESURRECTED, p, 0, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {
        {x, HL_LIST, 1, 1, HL_GC_EXPLAIN_VERDICT_FREED, 0},
        {p, HL_INSTANCE, 1, 0, HL_GC_EXPLAIN_VERDICT_RESURRECTED, 0},
    };
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_free(ex);
    ck_assert(!t_alive(h, x));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* a = Node(); a.me = a; w = weakref.ref(a, cb); g = weakref.ref(a, cb);
 * a.wr = g; del g, a — order a, w, g; refcounts a 1 (a.me), w 1 (name),
 * g 1 (a.wr).  A weakref does not count as a reference and traverses
 * nothing the model holds, so subtract_refs takes a and g to 0 and leaves
 * w at 1: a and g are set aside, w stays.  weakrefs: a's list holds the
 * callback refs newest first, g then w; g is garbage itself, cleared
 * without a callback; w is not, cleared and its callback runs.  The
 * garbage weakref g comes next in the list but has no target left.
 * delete: a's tp_clear drops a.wr, freeing g; then a is freed. */
START_TEST(weakref_to_garbage)
{
    hl_heap *h = t_heap();
    uint64_t a = t_instance(h, "a", "Node", false);
    t_setattr(h, a, "me", a);
    hl_create_result w, g;
    ck_assert_status(hl_op_weakref(h, a, true, "w", &w), HL_OK);
    ck_assert_status(hl_op_weakref(h, a, true, "g", &g), HL_OK);
    t_setattr(h, a, "wr", g.id);
    ck_assert_status(hl_op_unbind(h, "g"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    t_events ev = {0};
    hl_heap_set_event_sink(h, t_events_sink, &ev);
    hl_gc_explain *ex = t_explain(h, 2, 200, 2);
    const t_step steps[] = {
        {UPDATE, GC_REFS, a, 1, false},      {UPDATE, GC_REFS, w.id, 1, false},
        {UPDATE, GC_REFS, g.id, 1, false},   {SUBTRACT, GC_REFS, a, 0, false},
        {SUBTRACT, GC_REFS, w.id, 1, false}, {SUBTRACT, GC_REFS, g.id, 0, false},
        {MOVE, TENTATIVE, a, 0, false},      {MOVE, REACHABLE, w.id, 0, false},
        {MOVE, TENTATIVE, g.id, 0, false},   {WEAKREFS, CLEARED, g.id, 0, false},
        {WEAKREFS, CLEARED, w.id, 0, true},  {DELETE, FREED, g.id, 0, false},
        {DELETE, FREED, a, 0, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {
        {a, HL_INSTANCE, 1, 0, HL_GC_EXPLAIN_VERDICT_FREED, 0},
        {w.id, HL_WEAKREF, 1, 1, HL_GC_EXPLAIN_VERDICT_REACHABLE, 0},
        {g.id, HL_WEAKREF, 1, 0, HL_GC_EXPLAIN_VERDICT_FREED, 0},
    };
    ck_objects(ex, objs, T_COUNT(objs));
    /* The heap's own sink still saw the callback. */
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.kind[0], HL_EV_WEAKREF_CALLBACK);
    ck_assert_uint_eq(ev.id[0], w.id);
    hl_gc_explain_free(ex);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* t = (1000, 2000) — a tuple of untracked atoms, refcount 1 (its name):
 * gc_refs 1, reachable, and then untracked as gcmodule's untrack_tuples
 * does for a tuple with no tracked item. */
START_TEST(tuple_untracked)
{
    hl_heap *h = t_heap();
    uint64_t items[2] = {t_int(h, "x", 1000), t_int(h, "y", 2000)};
    hl_create_spec s = {.type = HL_TUPLE, .items = items, .nitems = 2};
    uint64_t t = t_create(h, &s, "t");
    hl_gc_explain *ex = t_explain(h, 0, 200, 0);
    const t_step steps[] = {
        {UPDATE, GC_REFS, t, 1, false},
        {SUBTRACT, GC_REFS, t, 1, false},
        {MOVE, REACHABLE, t, 0, false},
        {MOVE, UNTRACKED, t, 0, false},
    };
    ck_timeline(ex, steps, T_COUNT(steps));
    const t_obj objs[] = {{t, HL_TUPLE, 1, 1, HL_GC_EXPLAIN_VERDICT_UNTRACKED, 0}};
    ck_objects(ex, objs, T_COUNT(objs));
    hl_gc_explain_free(ex);
    ck_assert(!t_info(h, t).tracked);
    hl_heap_delete(h);
}
END_TEST

/* 50 lists, every even one named, every odd one a nameless self-cycle; a
 * limit of 10 explains the first 10 in list order (5 reachable, 5 freed)
 * and counts the other 40: 20 reachable, 20 freed. */
START_TEST(limit_counts_the_rest)
{
    hl_heap *h = t_heap();
    uint64_t ids[50];
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        ids[i] = t_list(h, name, NULL, 0);
        if (i % 2 == 1) {
            t_append(h, ids[i], ids[i]);
            ck_assert_status(hl_op_unbind(h, name), HL_OK);
        }
    }
    hl_gc_explain *ex = t_explain(h, 2, 10, 25);
    hl_gc_explain_summary s;
    hl_gc_explain_summary_get(ex, &s);
    ck_assert_uint_eq(s.examined, 50);
    ck_assert_uint_eq(s.explained, 10);
    ck_assert_uint_eq(s.omitted, 40);
    ck_assert_uint_eq(s.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_REACHABLE], 20);
    ck_assert_uint_eq(s.omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_FREED], 20);
    uint64_t sum = 0;
    for (int v = 0; v < HL_GC_EXPLAIN_VERDICT_COUNT; v++)
        sum += s.omitted_by_verdict[v];
    ck_assert_uint_eq(sum, 40);
    for (size_t i = 0; i < 10; i++) {
        hl_gc_explain_object o;
        ck_assert(hl_gc_explain_object_at(ex, i, &o));
        ck_assert_uint_eq(o.id, ids[i]);
        ck_assert_uint_eq(o.gc_refs, i % 2 == 0 ? 1 : 0);
        ck_assert_int_eq(o.verdict, i % 2 == 0 ? HL_GC_EXPLAIN_VERDICT_REACHABLE : HL_GC_EXPLAIN_VERDICT_FREED);
    }
    /* Only explained objects have steps: gc_refs twice and the scan's
     * decision each, and a free for each of the 5 garbage lists. */
    ck_assert_uint_eq(s.steps, 10 * 3 + 5);
    for (size_t i = 0; i < s.steps; i++) {
        hl_gc_explain_step st;
        ck_assert(hl_gc_explain_step_at(ex, i, &st));
        ck_assert_uint_le(st.id, ids[9]);
    }
    hl_gc_explain_step past;
    ck_assert(!hl_gc_explain_step_at(ex, s.steps, &past));
    hl_gc_explain_free(ex);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* As hl_op_collect: bad arguments and a running collection change nothing
 * and give no explanation. */
START_TEST(refusals_change_nothing)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    t_append(h, a, a);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    t_heap_snapshot *before = t_snapshot_new(h);
    hl_gc_explain *ex = (hl_gc_explain *)&ex;
    ck_assert_status(hl_op_collect_explained(h, 3, 10, NULL, &ex), HL_E_INVALID);
    ck_assert_ptr_null(ex);
    ck_assert_status(hl_op_collect_explained(h, -1, 10, NULL, &ex), HL_E_INVALID);
    ck_assert_status(hl_op_collect_explained(h, 2, 0, NULL, &ex), HL_E_INVALID);
    ck_assert_ptr_null(ex);
    ck_assert_heap_unchanged(h, before);
    free(before);
    /* An empty generation explains nothing, and that is fine. */
    ex = t_explain(h, 0, 10, 1);
    hl_gc_explain_free(ex);
    ex = t_explain(h, 0, 10, 0);
    hl_gc_explain_summary s;
    hl_gc_explain_summary_get(ex, &s);
    ck_assert_uint_eq(s.examined, 0);
    ck_assert_uint_eq(s.steps, 0);
    hl_gc_explain_free(ex);
    hl_gc_explain_free(NULL);
    hl_heap_delete(h);
}
END_TEST

/* ---- the journal sees an explained collect as a plain one ---- */

#define T_LOG_MAX 64
typedef struct t_log {
    unsigned char rec[T_LOG_MAX][256];
    size_t len[T_LOG_MAX];
    size_t n;
} t_log;

static void t_log_record(void *ctx, const void *record, size_t len)
{
    t_log *l = ctx;
    ck_assert_ptr_nonnull(record);
    ck_assert_uint_lt(l->n, T_LOG_MAX);
    ck_assert_uint_le(len, sizeof l->rec[0]);
    memcpy(l->rec[l->n], record, len);
    l->len[l->n++] = len;
}

/* Garbage of every kind the collector treats apart — a plain cycle, a
 * finalizer that resurrects, a weakref callback — collected once plainly
 * and once explained (young, then full), or every time plainly. */
static void run_scenario(hl_heap *h, bool explain)
{
    uint64_t c = t_list(h, "c", NULL, 0);
    t_append(h, c, c);
    hl_create_spec s = {.type = HL_INSTANCE, .class_name = "P", .finalizer = true, .resurrect = "back"};
    uint64_t p = t_create(h, &s, "p");
    t_setattr(h, p, "me", p);
    t_setattr(h, p, "c", c);
    ck_assert_status(hl_op_weakref(h, p, true, "w", NULL), HL_OK);
    ck_assert_uint_eq(t_collect(h, 0), 0);
    ck_assert_status(hl_op_unbind(h, "c"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "p"), HL_OK);
    uint64_t d = t_list(h, "d", NULL, 0);
    t_append(h, d, d);
    ck_assert_status(hl_op_unbind(h, "d"), HL_OK);
    for (int gen = 1; gen <= 2; gen++) {
        hl_collect_result r;
        if (explain) {
            hl_gc_explain *ex;
            ck_assert_status(hl_op_collect_explained(h, gen, 1, &r, &ex), HL_OK);
            /* One explained, the rest counted by verdict. */
            hl_gc_explain_summary sum;
            hl_gc_explain_summary_get(ex, &sum);
            uint64_t counted = 0;
            for (int v = 0; v < HL_GC_EXPLAIN_VERDICT_COUNT; v++)
                counted += sum.omitted_by_verdict[v];
            ck_assert_uint_eq(sum.explained, 1);
            ck_assert_uint_eq(counted, sum.omitted);
            hl_gc_explain_free(ex);
        } else {
            ck_assert_status(hl_op_collect(h, gen, &r), HL_OK);
        }
    }
    ck_assert_status(hl_op_unbind(h, "back"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 2), 2);
}

static void digest_of(const hl_heap *h, char hex[HL_DIGEST_HEX_SIZE])
{
    uint8_t d[HL_DIGEST_SIZE];
    hl_heap_digest(h, d);
    hl_digest_hex(d, hex);
}

START_TEST(journal_replays_explained_collections)
{
    static t_log plain_log, explained_log, replay_log;
    t_events plain_ev = {0}, explained_ev = {0};
    hl_heap *plain = t_heap(), *explained = t_heap(), *replayed = t_heap();
    hl_heap_set_recorder(plain, t_log_record, &plain_log);
    hl_heap_set_event_sink(plain, t_events_sink, &plain_ev);
    run_scenario(plain, false);
    hl_heap_set_recorder(explained, t_log_record, &explained_log);
    hl_heap_set_event_sink(explained, t_events_sink, &explained_ev);
    run_scenario(explained, true);
    /* The same records, byte for byte, and the same events. */
    ck_assert_uint_eq(explained_log.n, plain_log.n);
    for (size_t i = 0; i < plain_log.n; i++) {
        ck_assert_uint_eq(explained_log.len[i], plain_log.len[i]);
        ck_assert_msg(memcmp(explained_log.rec[i], plain_log.rec[i], plain_log.len[i]) == 0, "record %zu differs", i);
    }
    ck_assert_int_eq(explained_ev.n, plain_ev.n);
    ck_assert_mem_eq(explained_ev.kind, plain_ev.kind, sizeof plain_ev.kind[0] * (size_t)plain_ev.n);
    ck_assert_mem_eq(explained_ev.id, plain_ev.id, sizeof plain_ev.id[0] * (size_t)plain_ev.n);
    /* Replayed, they rebuild the explained heap. */
    hl_heap_set_recorder(replayed, t_log_record, &replay_log);
    char why[256];
    for (size_t i = 0; i < explained_log.n; i++)
        ck_assert_msg(hl_oplog_replay(replayed, explained_log.rec[i], explained_log.len[i], why, sizeof why) ==
                          HL_REPLAY_OK,
                      "record %zu: %s", i, why);
    ck_assert_uint_eq(replay_log.n, 0);
    char a[HL_DIGEST_HEX_SIZE], b[HL_DIGEST_HEX_SIZE], c[HL_DIGEST_HEX_SIZE];
    digest_of(plain, a);
    digest_of(explained, b);
    digest_of(replayed, c);
    ck_assert_str_eq(b, a);
    ck_assert_str_eq(c, a);
    ck_assert_heap_ok(replayed);
    hl_heap_delete(plain);
    hl_heap_delete(explained);
    hl_heap_delete(replayed);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gc_explain");
    TCase *tc = tcase_create("explain");
    tcase_add_test(tc, self_referencing_list);
    tcase_add_test(tc, unnamed_list_rescued_by_named_one);
    tcase_add_test(tc, unnamed_list_reached_before_the_scan);
    tcase_add_test(tc, finalizer_in_cycle);
    tcase_add_test(tc, finalizer_resurrects);
    tcase_add_test(tc, finalizer_frees_a_reachable_object);
    tcase_add_test(tc, weakref_to_garbage);
    tcase_add_test(tc, tuple_untracked);
    tcase_add_test(tc, limit_counts_the_rest);
    tcase_add_test(tc, refusals_change_nothing);
    tcase_add_test(tc, journal_replays_explained_collections);
    suite_add_tcase(s, tc);
    return t_run(s);
}
