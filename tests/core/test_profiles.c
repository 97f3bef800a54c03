/* test_profiles.c — what changes with the CPython a heap behaves like.
 * Each figure here was read off the real interpreters (3.11.7, 3.12.1,
 * 3.13.0) with sys.getsizeof, sys.getrefcount and gc.get_threshold. */
#include "testutil.h"

static hl_heap *profile_heap(hl_profile p)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    hl_heap_config_profile(&cfg, p);
    cfg.gc_enabled = false;
    hl_heap *h = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(h);
    return h;
}

static size_t size_of(hl_heap *h, uint64_t id)
{
    hl_object_info info;
    ck_assert_status(hl_heap_object_info(h, id, &info), HL_OK);
    return info.size;
}

static uint64_t str(hl_heap *h, const char *name, const char *text)
{
    hl_create_spec s = {.type = HL_STR, .text = text, .text_len = strlen(text)};
    return t_create(h, &s, name);
}

START_TEST(names_round_trip)
{
    for (int p = 0; p < HL_PROFILE_COUNT; p++) {
        hl_profile back;
        ck_assert(hl_profile_from_name(hl_profile_name((hl_profile)p), &back));
        ck_assert_int_eq(back, p);
    }
    hl_profile x;
    ck_assert(!hl_profile_from_name("3.10", &x));
    ck_assert(!hl_profile_from_name("", &x));
}
END_TEST

/* sys.getsizeof of C(), "", "abc", "é" + "ab", "€", "😀" per interpreter. */
START_TEST(sizes_follow_the_profile)
{
    static const struct {
        hl_profile p;
        size_t instance, empty, abc, latin1, bmp, astral;
    } want[] = {
        {HL_PROFILE_3_11, 56, 49, 52, 76, 76, 80},
        {HL_PROFILE_3_12, 48, 41, 44, 60, 60, 64},
        {HL_PROFILE_3_13, 48, 41, 44, 60, 60, 64},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        hl_heap *h = profile_heap(want[k].p);
        ck_assert_uint_eq(size_of(h, t_instance(h, "o", "C", false)), want[k].instance);
        ck_assert_uint_eq(size_of(h, str(h, "e", "")), want[k].empty);
        ck_assert_uint_eq(size_of(h, str(h, "a", "abc")), want[k].abc);
        ck_assert_uint_eq(size_of(h, str(h, "l", "ab\xc3\xa9")), want[k].latin1);
        ck_assert_uint_eq(size_of(h, str(h, "b", "\xe2\x82\xac")), want[k].bmp);
        ck_assert_uint_eq(size_of(h, str(h, "s", "\xf0\x9f\x98\x80")), want[k].astral);
        ck_assert_heap_ok(h);
        hl_heap_delete(h);
    }
}
END_TEST

/* PEP 683: the small ints and () show a constant refcount from 3.12. */
START_TEST(immortals_from_3_12)
{
    for (int p = 0; p < HL_PROFILE_COUNT; p++) {
        hl_heap *h = profile_heap((hl_profile)p);
        hl_create_spec one = {.type = HL_INT, .int_value = 1};
        uint64_t small = t_create(h, &one, "a");
        t_create(h, &one, "b");
        hl_create_spec big = {.type = HL_INT, .int_value = 100000};
        uint64_t large = t_create(h, &big, "c");
        hl_create_spec empty = {.type = HL_TUPLE};
        uint64_t tuple = t_create(h, &empty, "t");
        hl_object_info info;
        ck_assert_status(hl_heap_object_info(h, small, &info), HL_OK);
        ck_assert_int_eq(info.immortal, p >= HL_PROFILE_3_12);
        if (p >= HL_PROFILE_3_12)
            ck_assert_uint_eq(info.refcount, HL_IMMORTAL_REFCOUNT);
        else
            ck_assert_uint_eq(info.refcount, 3); /* two names and the cache */
        ck_assert_status(hl_heap_object_info(h, tuple, &info), HL_OK);
        ck_assert_int_eq(info.immortal, p >= HL_PROFILE_3_12);
        ck_assert_status(hl_heap_object_info(h, large, &info), HL_OK);
        ck_assert(!info.immortal);
        ck_assert_uint_eq(info.refcount, 1);
        ck_assert_heap_ok(h);
        hl_heap_delete(h);
    }
}
END_TEST

START_TEST(threshold_2000_from_3_13)
{
    static const int want[] = {700, 700, 2000};
    for (int p = 0; p < HL_PROFILE_COUNT; p++) {
        hl_heap *h = profile_heap((hl_profile)p);
        hl_gc_state g;
        hl_heap_gc_state(h, &g);
        ck_assert_int_eq(g.thresholds[0], want[p]);
        ck_assert_int_eq(g.thresholds[1], 10);
        hl_heap_delete(h);
    }
}
END_TEST

/* 3.13's `del a[i]` shifts without reallocating; list.remove still shrinks. */
START_TEST(del_item_keeps_allocation_on_3_13)
{
    static const size_t after_dels[] = {120, 120, 120, 120, 120, 120, 88};
    for (int p = 0; p < HL_PROFILE_COUNT; p++) {
        hl_heap *h = profile_heap((hl_profile)p);
        uint64_t x = t_list(h, "x", NULL, 0), l = t_list(h, "l", NULL, 0), m = t_list(h, "m", NULL, 0);
        for (int i = 0; i < 8; i++) {
            t_append(h, l, x);
            t_append(h, m, x);
        }
        for (int i = 0; i < 7; i++) {
            hl_unref_spec del = {.op = HL_UNREF_INDEX, .index = 0};
            ck_assert_status(hl_op_remove_ref(h, l, &del), HL_OK);
            ck_assert_uint_eq(size_of(h, l), p >= HL_PROFILE_3_13 ? 120 : (i < 6 ? 120 : 88));
            hl_unref_spec rm = {.op = HL_UNREF_TARGET, .target = x};
            ck_assert_status(hl_op_remove_ref(h, m, &rm), HL_OK);
            ck_assert_uint_eq(size_of(h, m), after_dels[i]);
            ck_assert_heap_ok(h);
        }
        hl_heap_delete(h);
    }
}
END_TEST

/* Threshold 2 (gc.set_threshold's argument tuple, parked on its free list,
 * still counts one), then two new lists: the second crosses it.  3.11 collects
 * inside its allocation, before it is tracked, so it stays young; 3.12
 * collects at the end of the statement, with it tracked: it survives into
 * generation 1 along with the first. */
START_TEST(automatic_collection_waits_for_the_boundary_from_3_12)
{
    for (int p = 0; p < HL_PROFILE_COUNT; p++) {
        hl_heap *h = profile_heap((hl_profile)p);
        hl_gc_config cfg = {.set_enabled = true, .enabled = true, .nthresholds = 1, .thresholds = {2}};
        hl_collect_result r;
        ck_assert_status(hl_op_collect(h, 2, &r), HL_OK);
        ck_assert_status(hl_op_gc_config(h, &cfg), HL_OK);
        uint64_t a = t_list(h, "a", NULL, 0), b = t_list(h, "b", NULL, 0);
        hl_object_info ia, ib;
        ck_assert_status(hl_heap_object_info(h, a, &ia), HL_OK);
        ck_assert_status(hl_heap_object_info(h, b, &ib), HL_OK);
        ck_assert_int_eq(ia.generation, 1);
        ck_assert_int_eq(ib.generation, p >= HL_PROFILE_3_12 ? 1 : 0);
        ck_assert_heap_ok(h);
        hl_heap_delete(h);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("profiles");
    TCase *tc = tcase_create("profiles");
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, sizes_follow_the_profile);
    tcase_add_test(tc, immortals_from_3_12);
    tcase_add_test(tc, threshold_2000_from_3_13);
    tcase_add_test(tc, del_item_keeps_allocation_on_3_13);
    tcase_add_test(tc, automatic_collection_waits_for_the_boundary_from_3_12);
    suite_add_tcase(s, tc);
    return t_run(s);
}
