/* test_refcount.c — refcounting: immediate frees, cascades in CPython's
 * order, and deep structures freed without exhausting the C stack. */
#include <stdlib.h>

#include "testutil.h"

START_TEST(unbound_object_is_freed_at_once)
{
    hl_heap *h = t_heap();
    hl_create_spec s = {.type = HL_LIST};
    hl_create_result r;
    ck_assert_status(hl_op_create(h, &s, NULL, &r), HL_OK);
    ck_assert(!r.alive);
    ck_assert(!t_alive(h, r.id));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(refcount_counts_names_and_slots)
{
    hl_heap *h = t_heap();
    uint64_t x = t_list(h, "x", NULL, 0);
    ck_assert_uint_eq(t_info(h, x).refcount, 1);
    ck_assert_status(hl_op_bind(h, "y", x), HL_OK);
    ck_assert_uint_eq(t_info(h, x).refcount, 2);
    uint64_t items[3] = {x, x, x};
    uint64_t l = t_list(h, "l", items, 3);
    ck_assert_uint_eq(t_info(h, x).refcount, 5);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    ck_assert(!t_alive(h, l));
    ck_assert_uint_eq(t_info(h, x).refcount, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(cascade_frees_items_last_to_first)
{
    hl_heap *h = t_heap();
    t_events ev = {0};
    uint64_t a = t_instance(h, "a", "F", true);
    uint64_t b = t_instance(h, "b", "F", true);
    uint64_t items[2] = {a, b};
    t_list(h, "l", items, 2);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    hl_heap_set_event_sink(h, t_events_sink, &ev);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    ck_assert_int_eq(ev.n, 2);
    ck_assert_uint_eq(ev.id[0], b);
    ck_assert_uint_eq(ev.id[1], a);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* HL_TEST_CHAIN shortens the deep chains for slow runners (valgrind). */
static long chain_length(long full)
{
    const char *s = getenv("HL_TEST_CHAIN");
    long n = s != NULL ? strtol(s, NULL, 10) : 0;
    return n > 0 && n < full ? n : full;
}

/* 10,000,000 nested lists: without the trashcan this recursion would need
 * gigabytes of C stack. */
START_TEST(ten_million_chain_frees_without_stack_overflow)
{
    hl_heap *h = t_heap();
    long n = chain_length(10000000);
    uint64_t prev = t_list(h, "head", NULL, 0);
    for (long i = 0; i < n; i++)
        prev = t_list(h, "head", &prev, 1);
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    ck_assert_uint_eq(t.objects, (uint64_t)n + 1);
    ck_assert_status(hl_op_unbind(h, "head"), HL_OK);
    hl_heap_totals_get(h, &t);
    ck_assert_uint_eq(t.objects, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The same depth through instances, which CPython also deallocates through
 * the trashcan (subtype_dealloc). */
START_TEST(deep_instance_chain_frees)
{
    hl_heap *h = t_heap();
    uint64_t prev = t_instance(h, "head", "Node", false);
    long n = chain_length(1000000);
    for (long i = 0; i < n; i++) {
        uint64_t n = t_instance(h, "tmp", "Node", false);
        t_setattr(h, n, "next", prev);
        ck_assert_status(hl_op_bind(h, "head", n), HL_OK);
        prev = n;
    }
    ck_assert_status(hl_op_unbind(h, "tmp"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "head"), HL_OK);
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    ck_assert_uint_eq(t.objects, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(shared_item_survives_its_container)
{
    hl_heap *h = t_heap();
    uint64_t x = t_int(h, "x", 1000);
    uint64_t l = t_list(h, "l", &x, 1);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    ck_assert(!t_alive(h, l));
    ck_assert(t_alive(h, x));
    ck_assert_uint_eq(t_info(h, x).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(finalizer_resurrection_by_refcount)
{
    hl_heap *h = t_heap();
    t_events ev = {0};
    hl_heap_set_event_sink(h, t_events_sink, &ev);
    hl_create_spec s = {.type = HL_INSTANCE, .class_name = "Phoenix", .finalizer = true, .resurrect = "saved"};
    uint64_t p = t_create(h, &s, "p");
    ck_assert_status(hl_op_unbind(h, "p"), HL_OK);
    ck_assert(t_alive(h, p));
    hl_object_info i = t_info(h, p);
    ck_assert(i.finalized);
    ck_assert_int_eq(i.generation, 0);
    ck_assert_uint_eq(i.refcount, 1);
    /* PEP 442: the finalizer never runs twice. */
    ck_assert_status(hl_op_unbind(h, "saved"), HL_OK);
    ck_assert(!t_alive(h, p));
    ck_assert_int_eq(ev.n, 2);
    ck_assert_int_eq(ev.kind[0], HL_EV_FINALIZE);
    ck_assert_int_eq(ev.kind[1], HL_EV_RESURRECT);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(finalizer_runs_before_weakref_callbacks)
{
    hl_heap *h = t_heap();
    t_events ev = {0};
    uint64_t o = t_instance(h, "o", "F", true);
    hl_create_result w1, w2, w3;
    ck_assert_status(hl_op_weakref(h, o, true, "w1", &w1), HL_OK);
    ck_assert_status(hl_op_weakref(h, o, true, "w2", &w2), HL_OK);
    ck_assert_status(hl_op_weakref(h, o, false, "w3", &w3), HL_OK);
    hl_heap_set_event_sink(h, t_events_sink, &ev);
    ck_assert_status(hl_op_unbind(h, "o"), HL_OK);
    /* __del__, then callbacks newest first; the basic ref has none. */
    ck_assert_int_eq(ev.n, 3);
    ck_assert_int_eq(ev.kind[0], HL_EV_FINALIZE);
    ck_assert_uint_eq(ev.id[1], w2.id);
    ck_assert_uint_eq(ev.id[2], w1.id);
    uint64_t target;
    bool cb;
    ck_assert_status(hl_heap_weakref_target(h, w3.id, &target, &cb), HL_OK);
    ck_assert_uint_eq(target, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("refcount");
    TCase *tc = tcase_create("refcount");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, unbound_object_is_freed_at_once);
    tcase_add_test(tc, refcount_counts_names_and_slots);
    tcase_add_test(tc, cascade_frees_items_last_to_first);
    tcase_add_test(tc, ten_million_chain_frees_without_stack_overflow);
    tcase_add_test(tc, deep_instance_chain_frees);
    tcase_add_test(tc, shared_item_survives_its_container);
    tcase_add_test(tc, finalizer_resurrection_by_refcount);
    tcase_add_test(tc, finalizer_runs_before_weakref_callbacks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run(suite());
}
