/* test_gc.c — the cyclic collector, after CPython's Lib/test/test_gc.py:
 * what it collects and what collect() returns, generations and thresholds,
 * weakref callbacks and finalizers inside garbage, freezing. */
#include <stdlib.h>

#include "testutil.h"

START_TEST(self_referencing_list)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    t_append(h, a, a);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert(t_alive(h, a));
    ck_assert_uint_eq(t_info(h, a).refcount, 1);
    ck_assert_uint_eq(t_collect(h, 2), 1);
    ck_assert(!t_alive(h, a));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(instance_and_dict_cycle)
{
    hl_heap *h = t_heap();
    uint64_t n = t_instance(h, "n", "Node", false);
    const char *keys[1] = {"node"};
    uint64_t vals[1] = {n};
    hl_create_spec ds = {.type = HL_DICT, .keys = keys, .values = vals, .nkeys = 1};
    uint64_t d = t_create(h, &ds, "d");
    t_setattr(h, n, "d", d);
    ck_assert_status(hl_op_unbind(h, "n"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "d"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 2), 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(cycle_through_tuple)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    hl_create_spec ts = {.type = HL_TUPLE, .items = &l, .nitems = 1};
    uint64_t t = t_create(h, &ts, "t");
    t_append(h, l, t);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "t"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 2), 2);
    ck_assert(!t_alive(h, t));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(reachable_cycle_survives_and_is_promoted)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    t_append(h, a, a);
    ck_assert_int_eq(t_info(h, a).generation, 0);
    ck_assert_uint_eq(t_collect(h, 0), 0);
    ck_assert_int_eq(t_info(h, a).generation, 1);
    ck_assert_uint_eq(t_collect(h, 1), 0);
    ck_assert_int_eq(t_info(h, a).generation, 2);
    ck_assert_uint_eq(t_collect(h, 2), 0);
    ck_assert_int_eq(t_info(h, a).generation, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* Garbage in an older generation is invisible to a younger collection. */
START_TEST(young_collection_ignores_old_garbage)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    t_append(h, a, a);
    t_collect(h, 1);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 0), 0);
    ck_assert(t_alive(h, a));
    ck_assert_uint_eq(t_collect(h, 2), 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(counts_and_stats)
{
    hl_heap *h = t_heap();
    hl_gc_state g;
    t_list(h, "a", NULL, 0);
    t_list(h, "b", NULL, 0);
    hl_heap_gc_state(h, &g);
    ck_assert_int_eq(g.count[0], 2);
    t_collect(h, 0);
    hl_heap_gc_state(h, &g);
    ck_assert_int_eq(g.count[0], 0);
    ck_assert_int_eq(g.count[1], 1);
    ck_assert_uint_eq(g.stats[0].collections, 1);
    t_collect(h, 1);
    hl_heap_gc_state(h, &g);
    ck_assert_int_eq(g.count[1], 0);
    ck_assert_int_eq(g.count[2], 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* 3.11 collects inside the allocation that makes count[0] exceed
 * threshold 0. */
START_TEST(automatic_collection_on_threshold)
{
    hl_heap *h = t_heap();
    hl_gc_config cfg = {.set_enabled = true, .enabled = true, .nthresholds = 1, .thresholds = {5}};
    ck_assert_status(hl_op_gc_config(h, &cfg), HL_OK);
    hl_gc_state g;
    /* gc.set_threshold's argument tuple counted 1.  Distinct names: a
     * rebinding would recycle lists through the free list, which does not
     * count (as in CPython). */
    hl_heap_gc_state(h, &g);
    ck_assert_int_eq(g.count[0], 1);
    const char *names[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        t_list(h, names[i], NULL, 0);
    hl_heap_gc_state(h, &g);
    ck_assert_uint_eq(g.stats[0].collections, 0);
    t_list(h, "y", NULL, 0);
    hl_heap_gc_state(h, &g);
    ck_assert_uint_eq(g.stats[0].collections, 1);
    ck_assert(g.last.automatic);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(disabled_gc_still_collects_on_request)
{
    hl_heap *h = t_heap();
    hl_gc_config cfg = {.set_enabled = true, .enabled = false, .nthresholds = 1, .thresholds = {1}};
    ck_assert_status(hl_op_gc_config(h, &cfg), HL_OK);
    for (int i = 0; i < 10; i++) {
        uint64_t a = t_list(h, "a", NULL, 0);
        t_append(h, a, a);
    }
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    ck_assert_uint_eq(g.stats[0].collections, 0);
    ck_assert_uint_eq(t_collect(h, 2), 10);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(finalizer_in_cycle_runs_once_and_object_is_collected)
{
    hl_heap *h = t_heap();
    t_events ev = {0};
    hl_heap_set_event_sink(h, t_events_sink, &ev);
    uint64_t a = t_instance(h, "a", "F", true);
    t_setattr(h, a, "me", a);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 2), 1);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.kind[0], HL_EV_FINALIZE);
    ck_assert(!t_alive(h, a));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(resurrection_in_collection)
{
    hl_heap *h = t_heap();
    hl_create_spec s = {.type = HL_INSTANCE, .class_name = "P", .finalizer = true, .resurrect = "back"};
    uint64_t a = t_create(h, &s, "a");
    uint64_t l = t_list(h, "l", &a, 1);
    t_setattr(h, a, "l", l);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    /* Resurrected: nothing freed, and the object's cycle survives. */
    ck_assert_uint_eq(t_collect(h, 2), 0);
    ck_assert(t_alive(h, a));
    ck_assert(t_alive(h, l));
    ck_assert(t_info(h, a).finalized);
    ck_assert_status(hl_op_unbind(h, "back"), HL_OK);
    /* Already finalized: collected without running __del__ again. */
    ck_assert_uint_eq(t_collect(h, 2), 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(weakref_callback_runs_for_reachable_weakref_only)
{
    hl_heap *h = t_heap();
    t_events ev = {0};
    uint64_t a = t_instance(h, "a", "Node", false);
    t_setattr(h, a, "me", a);
    hl_create_result kept, garbage;
    ck_assert_status(hl_op_weakref(h, a, true, "kept", &kept), HL_OK);
    /* A callback weakref held only by the garbage itself. */
    ck_assert_status(hl_op_weakref(h, a, true, "tmp", &garbage), HL_OK);
    t_setattr(h, a, "wr", garbage.id);
    ck_assert_status(hl_op_unbind(h, "tmp"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    hl_heap_set_event_sink(h, t_events_sink, &ev);
    ck_assert_uint_eq(t_collect(h, 2), 2);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.kind[0], HL_EV_WEAKREF_CALLBACK);
    ck_assert_uint_eq(ev.id[0], kept.id);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* A callback weakref only reachable through the callback's temporary
 * reference dies right after its callback and is counted as collected. */
START_TEST(weakref_freed_after_callback_counts)
{
    hl_heap *h = t_heap();
    uint64_t a = t_instance(h, "a", "Node", false);
    t_setattr(h, a, "me", a);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, a, true, "w", &w), HL_OK);
    uint64_t holder = t_list(h, "holder", &w.id, 1);
    ck_assert_status(hl_op_unbind(h, "w"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    /* The weakref is reachable (holder) and survives: 1 collected. */
    ck_assert_uint_eq(t_collect(h, 2), 1);
    ck_assert(t_alive(h, w.id));
    ck_assert(t_alive(h, holder));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(freeze_hides_garbage)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    t_append(h, a, a);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_freeze(h), HL_OK);
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    ck_assert_uint_eq(g.frozen, 1);
    ck_assert_int_eq(t_info(h, a).generation, 3);
    ck_assert_uint_eq(t_collect(h, 2), 0);
    ck_assert(t_alive(h, a));
    ck_assert_status(hl_op_unfreeze(h), HL_OK);
    ck_assert_int_eq(t_info(h, a).generation, 2);
    ck_assert_uint_eq(t_collect(h, 2), 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(tuple_untracked_when_it_holds_only_atoms)
{
    hl_heap *h = t_heap();
    uint64_t x = t_int(h, "x", 1000);
    hl_create_spec ts = {.type = HL_TUPLE, .items = &x, .nitems = 1};
    uint64_t t = t_create(h, &ts, "t");
    ck_assert(t_info(h, t).tracked);
    t_collect(h, 0);
    ck_assert(!t_info(h, t).tracked);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(million_object_cycle_is_collected)
{
    hl_heap *h = t_heap();
    uint64_t first = t_list(h, "first", NULL, 0);
    uint64_t prev = first;
    for (int i = 0; i < 999999; i++)
        prev = t_list(h, "last", &prev, 1);
    t_append(h, first, prev);
    ck_assert_status(hl_op_unbind(h, "first"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "last"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 2), 1000000);
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    ck_assert_uint_eq(t.objects, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(long_lived_rule_delays_full_collections)
{
    hl_heap *h = t_heap();
    hl_gc_config cfg = {.set_enabled = true, .enabled = true, .nthresholds = 3, .thresholds = {100, 2, 2}};
    /* 20,000 survivors in generation 2 first. */
    uint64_t keep = t_list(h, "keep", NULL, 0);
    for (int i = 0; i < 20000; i++) {
        uint64_t x = t_list(h, NULL, NULL, 0);
        (void)x;
        uint64_t y = t_list(h, "tmp", NULL, 0);
        t_append(h, keep, y);
    }
    t_collect(h, 2);
    ck_assert_status(hl_op_gc_config(h, &cfg), HL_OK);
    uint64_t churn = t_list(h, "churn", NULL, 0);
    for (int i = 0; i < 3000; i++) {
        /* New lists held by one growing list: each allocation counts. */
        uint64_t x = t_list(h, "x", NULL, 0);
        t_append(h, churn, x);
    }
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    ck_assert_uint_gt(g.stats[0].collections, 0);
    ck_assert_uint_gt(g.stats[1].collections, 0);
    /* Only the explicit full collection: pending never reached total/4. */
    ck_assert_uint_eq(g.stats[2].collections, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

typedef struct id_list {
    uint64_t id[8];
    int n;
} id_list;

static bool note_id(void *ctx, uint64_t id)
{
    id_list *l = ctx;
    if (l->n < 8)
        l->id[l->n] = id;
    l->n++;
    return true;
}

/* gc.get_objects(generation): a generation's members in scan order. */
START_TEST(gc_objects_lists_a_generation_in_order)
{
    hl_heap *h = t_heap();
    uint64_t a = t_list(h, "a", NULL, 0);
    uint64_t b = t_list(h, "b", NULL, 0);
    t_int(h, "i", 1000);
    id_list g0 = {0}, g1 = {0};
    ck_assert_status(hl_heap_gc_objects(h, 0, note_id, &g0), HL_OK);
    ck_assert_int_eq(g0.n, 2);
    ck_assert_uint_eq(g0.id[0], a);
    ck_assert_uint_eq(g0.id[1], b);
    t_collect(h, 0);
    g0.n = 0;
    ck_assert_status(hl_heap_gc_objects(h, 0, note_id, &g0), HL_OK);
    ck_assert_status(hl_heap_gc_objects(h, 1, note_id, &g1), HL_OK);
    ck_assert_int_eq(g0.n, 0);
    ck_assert_int_eq(g1.n, 2);
    ck_assert_status(hl_heap_gc_objects(h, 4, note_id, &g1), HL_E_INVALID);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gc");
    TCase *tc = tcase_create("gc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, self_referencing_list);
    tcase_add_test(tc, instance_and_dict_cycle);
    tcase_add_test(tc, cycle_through_tuple);
    tcase_add_test(tc, reachable_cycle_survives_and_is_promoted);
    tcase_add_test(tc, young_collection_ignores_old_garbage);
    tcase_add_test(tc, counts_and_stats);
    tcase_add_test(tc, automatic_collection_on_threshold);
    tcase_add_test(tc, disabled_gc_still_collects_on_request);
    tcase_add_test(tc, finalizer_in_cycle_runs_once_and_object_is_collected);
    tcase_add_test(tc, resurrection_in_collection);
    tcase_add_test(tc, weakref_callback_runs_for_reachable_weakref_only);
    tcase_add_test(tc, weakref_freed_after_callback_counts);
    tcase_add_test(tc, freeze_hides_garbage);
    tcase_add_test(tc, tuple_untracked_when_it_holds_only_atoms);
    tcase_add_test(tc, million_object_cycle_is_collected);
    tcase_add_test(tc, long_lived_rule_delays_full_collections);
    tcase_add_test(tc, gc_objects_lists_a_generation_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run(suite());
}
