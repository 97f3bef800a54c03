/* test_objects.c — what objects look like from Python: sys.getsizeof,
 * gc.is_tracked, shared singletons, identity (heap ids and addresses), the
 * per-type free lists and the allocator size class of each object.
 *
 * Every expected number below was printed by CPython 3.11.7 (64-bit), e.g.
 *   [sys.getsizeof(x) for x in (0, 1, 2**30, 2**60, -1)]  -> [28, 28, 32, 36, 28]
 *   l = []; sizes after each append change at 1,5,9,17,25,33,41,53:
 *       88, 120, 184, 248, 312, 376, 472, 568
 *   d = {}; sizes after each insert: 184 from 1 key, 272 from 6, 464 from 11
 *   s = set(); sizes after each add: 216, then 728 from the 5th, 2264 from the 19th
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static uint64_t mk(hl_heap *h, const char *name, hl_create_spec s)
{
    return t_create(h, &s, name);
}

static uint64_t t_str(hl_heap *h, const char *name, const char *utf8)
{
    return mk(h, name, (hl_create_spec){.type = HL_STR, .text = utf8, .text_len = strlen(utf8)});
}

static size_t size_of(const hl_heap *h, uint64_t id)
{
    return t_info(h, id).size;
}

static bool tracked(const hl_heap *h, uint64_t id)
{
    return t_info(h, id).tracked;
}

static int64_t gc_count0(const hl_heap *h)
{
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    return g.count[0];
}

static void add_member(hl_heap *h, uint64_t set, uint64_t member)
{
    hl_ref_spec r = {.op = HL_REF_ADD_MEMBER, .target = member};
    ck_assert_status(hl_op_add_ref(h, set, &r), HL_OK);
}

static void set_key(hl_heap *h, uint64_t dict, const char *key, uint64_t value)
{
    hl_ref_spec r = {.op = HL_REF_SET_KEY, .key = key, .target = value};
    ck_assert_status(hl_op_add_ref(h, dict, &r), HL_OK);
}

static void del_key(hl_heap *h, uint64_t dict, const char *key)
{
    hl_unref_spec r = {.op = HL_UNREF_KEY, .key = key};
    ck_assert_status(hl_op_remove_ref(h, dict, &r), HL_OK);
}

static void del_index(hl_heap *h, uint64_t list, int64_t index)
{
    hl_unref_spec r = {.op = HL_UNREF_INDEX, .index = index};
    ck_assert_status(hl_op_remove_ref(h, list, &r), HL_OK);
}

/* ================= sys.getsizeof ================= */

START_TEST(int_sizes_grow_by_30_bit_digits)
{
    hl_heap *h = t_heap();
    const struct {
        int64_t v;
        size_t size;
    } cases[] = {
        {0, 28},           {1, 28},           {-1, 28},          {256, 28},
        {(1 << 30) - 1, 28}, {1 << 30, 32},   {-(1 << 30), 32},  {((int64_t)1 << 60) - 1, 32},
        {(int64_t)1 << 60, 36}, {-((int64_t)1 << 62), 36}, {INT64_MAX, 36}, {INT64_MIN, 36},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint64_t id = t_int(h, "x", cases[k].v);
        ck_assert_msg(size_of(h, id) == cases[k].size, "sys.getsizeof(%lld) = %zu, want %zu",
                      (long long)cases[k].v, size_of(h, id), cases[k].size);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(float_size_is_24)
{
    hl_heap *h = t_heap();
    uint64_t f = mk(h, "f", (hl_create_spec){.type = HL_FLOAT, .float_value = 1.5});
    ck_assert_uint_eq(size_of(h, f), 24);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* ASCII 49+n, Latin-1 73+n, BMP 74+2n, astral 76+4n. */
START_TEST(str_sizes_follow_the_widest_code_point)
{
    hl_heap *h = t_heap();
    const struct {
        const char *unit; /* one code point, UTF-8 */
        size_t size[4];   /* lengths 0..3 (0 only for ASCII) */
        size_t size100;
    } kinds[] = {
        {"a", {49, 50, 51, 52}, 149},
        {"\xc3\xa9", {0, 74, 75, 76}, 173},         /* é */
        {"\xe2\x82\xac", {0, 76, 78, 80}, 274},     /* € */
        {"\xf0\x9f\x98\x80", {0, 80, 84, 88}, 476}, /* 😀 */
    };
    char buf[512];
    for (size_t k = 0; k < 4; k++) {
        size_t ulen = strlen(kinds[k].unit);
        for (size_t n = k == 0 ? 0 : 1; n <= 3; n++) {
            buf[0] = 0;
            for (size_t j = 0; j < n; j++)
                strcat(buf, kinds[k].unit);
            uint64_t s = t_str(h, "s", buf);
            ck_assert_msg(size_of(h, s) == kinds[k].size[n], "kind %zu length %zu: %zu, want %zu", k, n,
                          size_of(h, s), kinds[k].size[n]);
            ck_assert_uint_eq(t_info(h, s).length, n);
        }
        buf[0] = 0;
        for (size_t j = 0; j < 100; j++)
            memcpy(buf + j * ulen, kinds[k].unit, ulen + 1);
        uint64_t s = t_str(h, "s", buf);
        ck_assert_uint_eq(size_of(h, s), kinds[k].size100);
        ck_assert_uint_eq(t_info(h, s).length, 100);
        /* the text round-trips */
        char out[512];
        size_t len;
        ck_assert_status(hl_heap_text_value(h, s, out, sizeof out, &len), HL_OK);
        ck_assert_uint_eq(len, 100 * ulen);
        ck_assert(memcmp(out, buf, len) == 0);
    }
    /* one astral code point among ASCII widens the whole string: 'a'*3 + '😀' */
    uint64_t mixed = t_str(h, "m", "aaa\xf0\x9f\x98\x80");
    ck_assert_uint_eq(size_of(h, mixed), 92);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* bytes: 33+n; bytes(n) is n zero bytes. */
START_TEST(bytes_size_and_value)
{
    hl_heap *h = t_heap();
    for (size_t n = 0; n <= 3; n++) {
        uint64_t b = mk(h, "b", (hl_create_spec){.type = HL_BYTES, .text = "xyz", .text_len = n});
        ck_assert_uint_eq(size_of(h, b), 33 + n);
        ck_assert_uint_eq(t_info(h, b).length, n);
    }
    uint64_t zeros = mk(h, "z", (hl_create_spec){.type = HL_BYTES, .text = NULL, .text_len = 100});
    ck_assert_uint_eq(size_of(h, zeros), 133);
    char buf[128];
    size_t len;
    ck_assert_status(hl_heap_text_value(h, zeros, buf, sizeof buf, &len), HL_OK);
    ck_assert_uint_eq(len, 100);
    for (size_t i = 0; i < len; i++)
        ck_assert_int_eq(buf[i], 0);
    uint64_t big = mk(h, "big", (hl_create_spec){.type = HL_BYTES, .text_len = 1000});
    ck_assert_uint_eq(size_of(h, big), 1033);
    uint64_t v = mk(h, "v", (hl_create_spec){.type = HL_BYTES, .text = "a\0b", .text_len = 3});
    ck_assert_status(hl_heap_text_value(h, v, buf, 2, &len), HL_OK);
    ck_assert_uint_eq(len, 3); /* the full length even when cut short */
    ck_assert_status(hl_heap_text_value(h, v, buf, sizeof buf, &len), HL_OK);
    ck_assert(memcmp(buf, "a\0b", 3) == 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(tuple_sizes)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    uint64_t items[3] = {a, a, a};
    uint64_t empty = mk(h, "e", (hl_create_spec){.type = HL_TUPLE});
    uint64_t one = mk(h, "one", (hl_create_spec){.type = HL_TUPLE, .items = items, .nitems = 1});
    uint64_t three = mk(h, "three", (hl_create_spec){.type = HL_TUPLE, .items = items, .nitems = 3});
    ck_assert_uint_eq(size_of(h, empty), 40);
    ck_assert_uint_eq(size_of(h, one), 48);
    ck_assert_uint_eq(size_of(h, three), 64);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* [] is 56; [a, b, c] (BUILD_LIST) allocates exactly 3 slots: 80. */
START_TEST(list_sizes_empty_and_with_items)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1);
    uint64_t items[10];
    for (int k = 0; k < 10; k++)
        items[k] = a;
    ck_assert_uint_eq(size_of(h, t_list(h, "e", NULL, 0)), 56);
    ck_assert_uint_eq(size_of(h, t_list(h, "l1", items, 1)), 64);
    ck_assert_uint_eq(size_of(h, t_list(h, "l3", items, 3)), 80);
    ck_assert_uint_eq(size_of(h, t_list(h, "l10", items, 10)), 136);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* l = []; l.append(None) x 60: allocated 4, 8, 16, 24, 32, 40, 52, 64. */
START_TEST(list_growth_on_append)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    uint64_t a = t_int(h, "a", 1);
    static const size_t step_at[] = {1, 5, 9, 17, 25, 33, 41, 53};
    static const size_t step_size[] = {88, 120, 184, 248, 312, 376, 472, 568};
    size_t expect = 56, next = 0;
    for (size_t n = 1; n <= 60; n++) {
        t_append(h, l, a);
        if (next < 8 && n == step_at[next])
            expect = step_size[next++];
        ck_assert_msg(size_of(h, l) == expect, "after %zu appends: %zu, want %zu", n, size_of(h, l), expect);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* Shrinking: a list of 17 built by appends, del l[0] until empty:
 * 248 x6, 184 x4, 152 x2, 120 x4, 88, 56 (CPython 3.11.7). */
START_TEST(list_shrinks_on_delete)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    uint64_t a = t_int(h, "a", 1);
    for (int n = 0; n < 17; n++)
        t_append(h, l, a);
    static const size_t want[18] = {248, 248, 248, 248, 248, 248, 184, 184, 184,
                                    184, 152, 152, 120, 120, 120, 120, 88, 56};
    ck_assert_uint_eq(size_of(h, l), want[0]);
    for (int k = 1; k < 18; k++) {
        del_index(h, l, 0);
        ck_assert_msg(size_of(h, l) == want[k], "length %d: %zu, want %zu", 17 - k, size_of(h, l), want[k]);
    }
    /* [None] * 10 shrinking from the end: 136 x5, 120 x3, 88, 56 */
    uint64_t items[10];
    for (int k = 0; k < 10; k++)
        items[k] = a;
    uint64_t m = t_list(h, "m", items, 10);
    static const size_t want10[10] = {136, 136, 136, 136, 136, 120, 120, 120, 88, 56};
    for (int k = 0; k < 10; k++) {
        del_index(h, m, -1);
        ck_assert_msg(size_of(h, m) == want10[k], "length %d: %zu, want %zu", 9 - k, size_of(h, m), want10[k]);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* d = {}; d[k] = v one key at a time. */
START_TEST(dict_growth_on_insert)
{
    hl_heap *h = t_heap();
    uint64_t d = mk(h, "d", (hl_create_spec){.type = HL_DICT});
    uint64_t v = t_int(h, "v", 1);
    ck_assert_uint_eq(size_of(h, d), 64);
    char key[16];
    for (int n = 1; n <= 30; n++) {
        snprintf(key, sizeof key, "k%d", n);
        set_key(h, d, key, v);
        size_t want = n <= 5 ? 184 : n <= 10 ? 272 : n <= 21 ? 464 : 832;
        ck_assert_msg(size_of(h, d) == want, "%d keys: %zu, want %zu", n, size_of(h, d), want);
    }
    ck_assert_uint_eq(t_info(h, d).length, 30);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* A dict display is presized: {5 keys} 184, {6 keys} 272, {11 keys} 464. */
START_TEST(dict_literal_is_presized)
{
    hl_heap *h = t_heap();
    uint64_t v = t_int(h, "v", 1);
    static const char *const names[11] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    uint64_t vals[11];
    for (int k = 0; k < 11; k++)
        vals[k] = v;
    const struct {
        size_t n, size;
    } cases[] = {{0, 64}, {1, 184}, {5, 184}, {6, 272}, {11, 464}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint64_t d = mk(h, "d", (hl_create_spec){.type = HL_DICT, .keys = names, .values = vals, .nkeys = cases[k].n});
        ck_assert_msg(size_of(h, d) == cases[k].size, "{%zu keys}: %zu, want %zu", cases[k].n, size_of(h, d),
                      cases[k].size);
        ck_assert_uint_eq(t_info(h, d).length, cases[k].n);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* Deleting leaves a dummy: d = {'a': 1}; del d['a']; d['a'] = 1 stays 184,
 * but with 5 keys the reinsert finds no usable slot and resizes to 272. */
START_TEST(dict_delete_then_reinsert)
{
    hl_heap *h = t_heap();
    uint64_t v = t_int(h, "v", 1);
    uint64_t d = mk(h, "d", (hl_create_spec){.type = HL_DICT});
    set_key(h, d, "a", v);
    ck_assert_uint_eq(size_of(h, d), 184);
    del_key(h, d, "a");
    ck_assert_uint_eq(size_of(h, d), 184);
    ck_assert_uint_eq(t_info(h, d).length, 0);
    set_key(h, d, "a", v);
    ck_assert_uint_eq(size_of(h, d), 184);

    static const char *const names[5] = {"a", "b", "c", "d", "e"};
    uint64_t vals[5] = {v, v, v, v, v};
    uint64_t d5 = mk(h, "d5", (hl_create_spec){.type = HL_DICT, .keys = names, .values = vals, .nkeys = 5});
    ck_assert_uint_eq(size_of(h, d5), 184);
    del_key(h, d5, "a");
    ck_assert_uint_eq(size_of(h, d5), 184);
    set_key(h, d5, "a", v);
    ck_assert_uint_eq(size_of(h, d5), 272);
    ck_assert_uint_eq(t_info(h, d5).length, 5);

    uint64_t d4 = mk(h, "d4", (hl_create_spec){.type = HL_DICT, .keys = names, .values = vals, .nkeys = 4});
    del_key(h, d4, "a");
    set_key(h, d4, "a", v);
    ck_assert_uint_eq(size_of(h, d4), 184);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* s = set(); s.add(i) for i in range(40): grows at the 5th and 19th add. */
START_TEST(set_growth_on_add)
{
    hl_heap *h = t_heap();
    uint64_t s = mk(h, "s", (hl_create_spec){.type = HL_SET});
    ck_assert_uint_eq(size_of(h, s), 216);
    for (int n = 1; n <= 40; n++) {
        add_member(h, s, t_int(h, "m", n - 1));
        size_t want = n < 5 ? 216 : n < 19 ? 728 : 2264;
        ck_assert_msg(size_of(h, s) == want, "%d members: %zu, want %zu", n, size_of(h, s), want);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* s = set(range(10)); s.discard(3); s.discard(4): still 728. */
START_TEST(set_discard_keeps_its_size)
{
    hl_heap *h = t_heap();
    uint64_t items[10];
    for (int k = 0; k < 10; k++)
        items[k] = t_int(h, "m", k);
    uint64_t s = mk(h, "s", (hl_create_spec){.type = HL_SET, .items = items, .nitems = 10});
    ck_assert_uint_eq(size_of(h, s), 728);
    hl_unref_spec r = {.op = HL_UNREF_TARGET, .target = items[3]};
    ck_assert_status(hl_op_remove_ref(h, s, &r), HL_OK);
    r.target = items[4];
    ck_assert_status(hl_op_remove_ref(h, s, &r), HL_OK);
    ck_assert_uint_eq(size_of(h, s), 728);
    ck_assert_uint_eq(t_info(h, s).length, 8);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(instance_and_weakref_sizes)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "C", false);
    ck_assert_uint_eq(size_of(h, o), 56);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, o, false, "w", &w), HL_OK);
    ck_assert_uint_eq(size_of(h, w.id), 80);
    ck_assert_status(hl_op_weakref(h, o, true, "w2", &w), HL_OK);
    ck_assert_uint_eq(size_of(h, w.id), 80);
    /* attributes live in a separate values block: the size does not move */
    t_setattr(h, o, "x", o);
    ck_assert_uint_eq(size_of(h, o), 56);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* ================= gc.is_tracked ================= */

START_TEST(atoms_are_never_tracked)
{
    hl_heap *h = t_heap();
    uint64_t ids[4] = {
        t_int(h, "i", 1000),
        mk(h, "f", (hl_create_spec){.type = HL_FLOAT, .float_value = 1.5}),
        t_str(h, "s", "abc"),
        mk(h, "b", (hl_create_spec){.type = HL_BYTES, .text = "ab", .text_len = 2}),
    };
    for (int k = 0; k < 4; k++) {
        ck_assert(!tracked(h, ids[k]));
        ck_assert_int_eq(t_info(h, ids[k]).generation, -1);
    }
    t_collect(h, 2);
    for (int k = 0; k < 4; k++)
        ck_assert(!tracked(h, ids[k]));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(lists_sets_instances_weakrefs_are_tracked_at_creation)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    uint64_t s = mk(h, "s", (hl_create_spec){.type = HL_SET});
    uint64_t o = t_instance(h, "o", "C", false);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, o, false, "w", &w), HL_OK);
    const uint64_t ids[4] = {l, s, o, w.id};
    for (int k = 0; k < 4; k++) {
        ck_assert(tracked(h, ids[k]));
        ck_assert_int_eq(t_info(h, ids[k]).generation, 0);
    }
    /* and they stay tracked: a full collection moves them to generation 2 */
    t_collect(h, 2);
    for (int k = 0; k < 4; k++) {
        ck_assert(tracked(h, ids[k]));
        ck_assert_int_eq(t_info(h, ids[k]).generation, 2);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* x = 1; t = (x, 2) is tracked; gc.collect(0) untracks it.  A tuple holding
 * a list stays tracked; one holding an untracked tuple is untracked too. */
START_TEST(tuples_are_untracked_by_a_collection_once_they_hold_only_atoms)
{
    hl_heap *h = t_heap();
    uint64_t one = t_int(h, "one", 1), two = t_int(h, "two", 2);
    uint64_t pair[2] = {one, two};
    uint64_t t = mk(h, "t", (hl_create_spec){.type = HL_TUPLE, .items = pair, .nitems = 2});
    ck_assert(tracked(h, t));
    uint64_t l = t_list(h, "l", NULL, 0);
    uint64_t tl = mk(h, "tl", (hl_create_spec){.type = HL_TUPLE, .items = &l, .nitems = 1});
    uint64_t tt = mk(h, "tt", (hl_create_spec){.type = HL_TUPLE, .items = &t, .nitems = 1});
    ck_assert(tracked(h, tt));
    t_collect(h, 0);
    ck_assert(!tracked(h, t));
    ck_assert(!tracked(h, tt));
    ck_assert(tracked(h, tl));
    t_collect(h, 2);
    ck_assert(tracked(h, tl));
    /* the empty tuple is a static singleton, never tracked */
    uint64_t e = mk(h, "e", (hl_create_spec){.type = HL_TUPLE});
    ck_assert(!tracked(h, e));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* d = {} is untracked; d['a'] = 1 too; d['b'] = [] tracks it; del d['b']
 * leaves it tracked through collections of generations 0 and 1; only a
 * full collection untracks it again. */
START_TEST(dicts_are_tracked_once_they_hold_a_container)
{
    hl_heap *h = t_heap();
    uint64_t d = mk(h, "d", (hl_create_spec){.type = HL_DICT});
    ck_assert(!tracked(h, d));
    set_key(h, d, "a", t_int(h, "i", 1));
    ck_assert(!tracked(h, d));
    set_key(h, d, "b", t_list(h, "l", NULL, 0));
    ck_assert(tracked(h, d));
    del_key(h, d, "b");
    ck_assert(tracked(h, d));
    t_collect(h, 0);
    ck_assert(tracked(h, d));
    t_collect(h, 1);
    ck_assert(tracked(h, d));
    t_collect(h, 2);
    ck_assert(!tracked(h, d));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* A tracked tuple value tracks the dict; an untracked one does not. */
START_TEST(dict_tracking_follows_the_tuples_own_tracking)
{
    hl_heap *h = t_heap();
    uint64_t x = t_int(h, "x", 1), three = t_int(h, "three", 3);
    uint64_t pair[2] = {x, three};
    uint64_t tt = mk(h, "tt", (hl_create_spec){.type = HL_TUPLE, .items = pair, .nitems = 2});
    uint64_t d2 = mk(h, "d2", (hl_create_spec){.type = HL_DICT});
    set_key(h, d2, "t", tt);
    ck_assert(tracked(h, d2));
    t_collect(h, 0);
    ck_assert(!tracked(h, tt));
    uint64_t d3 = mk(h, "d3", (hl_create_spec){.type = HL_DICT});
    set_key(h, d3, "t", tt);
    ck_assert(!tracked(h, d3));
    /* a dict display holding a list is tracked from the start */
    uint64_t l = t_list(h, "l", NULL, 0);
    const char *keys[1] = {"l"};
    uint64_t d4 = mk(h, "d4", (hl_create_spec){.type = HL_DICT, .keys = keys, .values = &l, .nkeys = 1});
    ck_assert(tracked(h, d4));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* ================= singletons and identity ================= */

/* a = 5; b = int("5"); a is b — for every cached value -5..256. */
START_TEST(small_ints_are_shared)
{
    hl_heap *h = t_heap();
    for (int64_t v = -5; v <= 256; v++) {
        uint64_t a = t_int(h, "a", v), b = t_int(h, "b", v);
        ck_assert_uint_eq(a, b);
        /* two names and the cache's own reference */
        ck_assert_uint_eq(t_info(h, a).refcount, 3);
    }
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    ck_assert_uint_eq(t.objects_by_type[HL_INT], 262);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* a = 257; b = int("257"); a is not b — nor for -6. */
START_TEST(ints_outside_the_cache_are_distinct)
{
    hl_heap *h = t_heap();
    const int64_t vals[3] = {257, -6, 1000};
    for (int k = 0; k < 3; k++) {
        uint64_t a = t_int(h, "a", vals[k]), b = t_int(h, "b", vals[k]);
        ck_assert_uint_ne(a, b);
        ck_assert_uint_eq(t_info(h, a).refcount, 1);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(empty_tuple_is_shared)
{
    hl_heap *h = t_heap();
    uint64_t a = mk(h, "a", (hl_create_spec){.type = HL_TUPLE});
    uint64_t b = mk(h, "b", (hl_create_spec){.type = HL_TUPLE});
    ck_assert_uint_eq(a, b);
    ck_assert_uint_eq(t_info(h, a).refcount, 3);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    ck_assert(t_alive(h, a));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* Heap ids are never reused, even when the address is. */
START_TEST(ids_are_never_reused)
{
    hl_heap *h = t_heap();
    uint64_t last = 0;
    for (int k = 0; k < 100; k++) {
        uint64_t l = t_list(h, "x", NULL, 0); /* rebinding frees the previous one */
        ck_assert_uint_gt(l, last);
        ck_assert_uint_eq(l, hl_heap_next_id(h) - 1);
        if (last != 0) {
            ck_assert(!t_alive(h, last));
            ck_assert(hl_heap_id_ever_used(h, last));
        }
        last = l;
    }
    ck_assert(!hl_heap_id_ever_used(h, hl_heap_next_id(h)));
    ck_assert(!hl_heap_id_ever_used(h, 0));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* c = C(); a = id(c); del c; id(C()) == a — pymalloc's LIFO free list. */
START_TEST(a_freed_address_is_reused_by_the_next_object_of_its_size_class)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "C", false);
    uintptr_t addr = t_info(h, o).address;
    ck_assert_status(hl_op_unbind(h, "o"), HL_OK);
    uint64_t o2 = t_instance(h, "o2", "C", false);
    ck_assert_uint_ne(o2, o);
    ck_assert_uint_eq(t_info(h, o2).address, addr);

    /* int 1000 (28 bytes) and a float (24) share the 32-byte class */
    uint64_t i = t_int(h, "i", 1000);
    hl_object_info ii = t_info(h, i);
    ck_assert_status(hl_op_unbind(h, "i"), HL_OK);
    uint64_t f = mk(h, "f", (hl_create_spec){.type = HL_FLOAT, .float_value = 2.5});
    ck_assert_int_eq(t_info(h, f).size_class, ii.size_class);
    ck_assert_uint_eq(t_info(h, f).address, ii.address);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* Free a then b: the next two objects get b's address, then a's. */
START_TEST(freed_addresses_are_reused_last_in_first_out)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000), b = t_int(h, "b", 2000);
    uintptr_t aa = t_info(h, a).address, ba = t_info(h, b).address;
    ck_assert_uint_ne(aa, ba);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    uint64_t x = t_int(h, "x", 3000), y = t_int(h, "y", 4000);
    ck_assert_uint_eq(t_info(h, x).address, ba);
    ck_assert_uint_eq(t_info(h, y).address, aa);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* ================= free lists ================= */

/* CPython's list and dict free lists bypass the GC allocator: a recycled
 * list or dict neither counted its death nor counts its rebirth in
 * gc.get_count()[0] (checked with gc.disable() on 3.11.7: three lists
 * +3, del them +0, three new lists +0). */
START_TEST(recycled_lists_do_not_move_the_gc_count)
{
    hl_heap *h = t_heap();
    int64_t c0 = gc_count0(h);
    const char *names[3] = {"a", "b", "c"};
    uintptr_t addr[3];
    for (int k = 0; k < 3; k++)
        addr[k] = t_info(h, t_list(h, names[k], NULL, 0)).address;
    ck_assert_int_eq(gc_count0(h), c0 + 3);
    for (int k = 0; k < 3; k++)
        ck_assert_status(hl_op_unbind(h, names[k]), HL_OK);
    ck_assert_int_eq(gc_count0(h), c0 + 3);
    /* the free list is a stack too: the last parked comes back first */
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(t_info(h, t_list(h, names[k], NULL, 0)).address, addr[2 - k]);
    ck_assert_int_eq(gc_count0(h), c0 + 3);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(recycled_dicts_do_not_move_the_gc_count)
{
    hl_heap *h = t_heap();
    int64_t c0 = gc_count0(h);
    mk(h, "a", (hl_create_spec){.type = HL_DICT});
    mk(h, "b", (hl_create_spec){.type = HL_DICT});
    ck_assert_int_eq(gc_count0(h), c0 + 2);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    ck_assert_int_eq(gc_count0(h), c0 + 2);
    mk(h, "a", (hl_create_spec){.type = HL_DICT});
    mk(h, "b", (hl_create_spec){.type = HL_DICT});
    ck_assert_int_eq(gc_count0(h), c0 + 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* gc.collect() (generation 2) clears the free lists: afterwards a new list
 * or dict is a real allocation and counts again. */
START_TEST(a_full_collection_empties_the_free_lists)
{
    hl_heap *h = t_heap();
    t_list(h, "l", NULL, 0);
    mk(h, "d", (hl_create_spec){.type = HL_DICT});
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "d"), HL_OK);
    hl_alloc_stats before;
    hl_alloc_get_stats(hl_heap_allocator(h), &before);
    /* a younger collection keeps them */
    t_collect(h, 1);
    int64_t c = gc_count0(h);
    uint64_t l = t_list(h, "l", NULL, 0);
    ck_assert_int_eq(gc_count0(h), c);
    ck_assert_status(hl_op_unbind(h, "l"), HL_OK);
    (void)l;

    t_collect(h, 2);
    hl_alloc_stats after;
    hl_alloc_get_stats(hl_heap_allocator(h), &after);
    /* the parked list and dict blocks (64 bytes each) went back */
    ck_assert_uint_eq(after.classes[3].used_blocks, before.classes[3].used_blocks - 2);
    ck_assert_int_eq(gc_count0(h), 0);
    t_list(h, "l", NULL, 0);
    ck_assert_int_eq(gc_count0(h), 1);
    mk(h, "d", (hl_create_spec){.type = HL_DICT});
    ck_assert_int_eq(gc_count0(h), 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* ================= size classes ================= */

/* hl_object_info.size_class is the pymalloc class of the object's own
 * block: (size + 15) / 16 - 1, -1 above 512 bytes. */
START_TEST(size_class_of_each_type)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    uint64_t pair[2] = {a, a};
    char long_text[601];
    memset(long_text, 'x', 600);
    long_text[600] = 0;
    const struct {
        uint64_t id;
        int cls;
    } cases[] = {
        {a, 1},                                                                           /* 28 */
        {mk(h, "f", (hl_create_spec){.type = HL_FLOAT}), 1},                              /* 24 */
        {t_int(h, "big", (int64_t)1 << 60), 2},                                           /* 36 */
        {t_str(h, "s", "abc"), 3},                                                        /* 52 */
        {t_str(h, "ls", long_text), -1},                                                  /* 649 */
        {mk(h, "b", (hl_create_spec){.type = HL_BYTES, .text_len = 100}), 8},             /* 133 */
        {mk(h, "t", (hl_create_spec){.type = HL_TUPLE, .items = pair, .nitems = 2}), 3},  /* 56 */
        {t_list(h, "l", pair, 2), 3},                                                     /* 56: items apart */
        {mk(h, "d", (hl_create_spec){.type = HL_DICT}), 3},                               /* 64 */
        {mk(h, "st", (hl_create_spec){.type = HL_SET}), 13},                              /* 216 */
        {t_instance(h, "o", "C", false), 3},                                              /* 56 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hl_object_info info = t_info(h, cases[k].id);
        ck_assert_msg(info.size_class == cases[k].cls, "%s of %zu bytes: class %d, want %d",
                      hl_type_name(info.type), info.size, info.size_class, cases[k].cls);
    }
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, cases[10].id, false, "w", &w), HL_OK);
    ck_assert_int_eq(t_info(h, w.id).size_class, 4); /* 80 */
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("objects");
    TCase *sizes = tcase_create("sizes");
    tcase_set_timeout(sizes, 120);
    tcase_add_test(sizes, int_sizes_grow_by_30_bit_digits);
    tcase_add_test(sizes, float_size_is_24);
    tcase_add_test(sizes, str_sizes_follow_the_widest_code_point);
    tcase_add_test(sizes, bytes_size_and_value);
    tcase_add_test(sizes, tuple_sizes);
    tcase_add_test(sizes, list_sizes_empty_and_with_items);
    tcase_add_test(sizes, list_growth_on_append);
    tcase_add_test(sizes, list_shrinks_on_delete);
    tcase_add_test(sizes, dict_growth_on_insert);
    tcase_add_test(sizes, dict_literal_is_presized);
    tcase_add_test(sizes, dict_delete_then_reinsert);
    tcase_add_test(sizes, set_growth_on_add);
    tcase_add_test(sizes, set_discard_keeps_its_size);
    tcase_add_test(sizes, instance_and_weakref_sizes);
    suite_add_tcase(s, sizes);

    TCase *track = tcase_create("tracking");
    tcase_set_timeout(track, 120);
    tcase_add_test(track, atoms_are_never_tracked);
    tcase_add_test(track, lists_sets_instances_weakrefs_are_tracked_at_creation);
    tcase_add_test(track, tuples_are_untracked_by_a_collection_once_they_hold_only_atoms);
    tcase_add_test(track, dicts_are_tracked_once_they_hold_a_container);
    tcase_add_test(track, dict_tracking_follows_the_tuples_own_tracking);
    suite_add_tcase(s, track);

    TCase *ident = tcase_create("identity");
    tcase_set_timeout(ident, 120);
    tcase_add_test(ident, small_ints_are_shared);
    tcase_add_test(ident, ints_outside_the_cache_are_distinct);
    tcase_add_test(ident, empty_tuple_is_shared);
    tcase_add_test(ident, ids_are_never_reused);
    tcase_add_test(ident, a_freed_address_is_reused_by_the_next_object_of_its_size_class);
    tcase_add_test(ident, freed_addresses_are_reused_last_in_first_out);
    tcase_add_test(ident, recycled_lists_do_not_move_the_gc_count);
    tcase_add_test(ident, recycled_dicts_do_not_move_the_gc_count);
    tcase_add_test(ident, a_full_collection_empties_the_free_lists);
    tcase_add_test(ident, size_class_of_each_type);
    suite_add_tcase(s, ident);
    return s;
}

int main(void)
{
    return t_run(suite());
}
