/* test_digest.c — hl_heap_digest: two heaps built by the same operations
 * digest equal, bit for bit (allocator figures included); every change the
 * API would show changes the digest; reading a heap does not.
 */
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "testutil.h"

typedef struct hexdigest {
    char s[HL_DIGEST_HEX_SIZE];
} hexdigest;

static hexdigest dg(const hl_heap *h)
{
    uint8_t d[HL_DIGEST_SIZE];
    hexdigest x;
    hl_heap_digest(h, d);
    hl_digest_hex(d, x.s);
    return x;
}

/* One object of every type, references of every slot kind, a weakref with
 * a callback, a collected cycle and a pending one: text is the str bound
 * to "s", so twins can differ in that alone. */
static void build(hl_heap *h, const char *text)
{
    uint64_t i = t_int(h, "i", 1000);
    uint64_t f = t_create(h, &(hl_create_spec){.type = HL_FLOAT, .float_value = 2.5}, "f");
    uint64_t s = t_create(h, &(hl_create_spec){.type = HL_STR, .text = text, .text_len = strlen(text)}, "s");
    t_create(h, &(hl_create_spec){.type = HL_BYTES, .text = "\x01\xff", .text_len = 2}, "b");
    uint64_t atoms[] = {i, f, s};
    t_create(h, &(hl_create_spec){.type = HL_TUPLE, .items = atoms, .nitems = 3}, "t");
    t_create(h, &(hl_create_spec){.type = HL_SET, .items = atoms, .nitems = 3}, "set");
    uint64_t l = t_list(h, "l", atoms, 3);
    t_append(h, l, l);
    const char *const keys[] = {"x", "y"};
    uint64_t values[] = {i, l};
    t_create(h, &(hl_create_spec){.type = HL_DICT, .keys = keys, .values = values, .nkeys = 2}, "d");
    uint64_t o = t_instance(h, "o", "Node", true);
    t_setattr(h, o, "next", l);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, o, true, "w", &w), HL_OK);
    uint64_t gone = t_list(h, "gone", NULL, 0);
    t_append(h, gone, gone);
    ck_assert_status(hl_op_unbind(h, "gone"), HL_OK);
    t_collect(h, 2);
    uint64_t pending = t_list(h, "pending", NULL, 0);
    t_append(h, pending, pending);
    ck_assert_status(hl_op_unbind(h, "pending"), HL_OK);
}

START_TEST(hex_is_32_lowercase_digits)
{
    hl_heap *h = t_heap();
    hexdigest x = dg(h);
    ck_assert_uint_eq(strlen(x.s), 32);
    ck_assert_uint_eq(strspn(x.s, "0123456789abcdef"), 32);
    hl_heap_delete(h);
}
END_TEST

/* Strict: the allocator's figures count too.  A failure here that names
 * only the allocator (see the message) means heaps built the same way do
 * not yet get the same arenas. */
START_TEST(same_operations_same_digest)
{
    hl_heap *a = t_heap(), *b = t_heap();
    ck_assert_str_eq(dg(a).s, dg(b).s);
    build(a, "abc");
    build(b, "abc");
    hl_alloc_stats sa, sb;
    hl_alloc_get_stats(hl_heap_allocator(a), &sa);
    hl_alloc_get_stats(hl_heap_allocator(b), &sb);
    ck_assert_msg(strcmp(dg(a).s, dg(b).s) == 0,
                  "twins digest differently; allocator: %llu vs %llu arenas, %llu vs %llu empty pools, "
                  "%llu vs %llu bytes lost to arena alignment",
                  (unsigned long long)sa.arenas_in_use, (unsigned long long)sb.arenas_in_use,
                  (unsigned long long)sa.pools_empty, (unsigned long long)sb.pools_empty,
                  (unsigned long long)sa.bytes_lost_arena_alignment, (unsigned long long)sb.bytes_lost_arena_alignment);
    hl_heap_delete(a);
    hl_heap_delete(b);
}
END_TEST

START_TEST(str_of_the_same_length_differs)
{
    hl_heap *a = t_heap(), *b = t_heap();
    build(a, "abc");
    build(b, "abd");
    ck_assert_str_ne(dg(a).s, dg(b).s);
    hl_heap_delete(a);
    hl_heap_delete(b);
}
END_TEST

/* Each step changes one thing the API shows; each must move the digest
 * away from every digest seen before. */
START_TEST(every_change_changes_it)
{
    hl_heap *h = t_heap();
    build(h, "abc");
    enum { STEPS = 6 };
    hexdigest seen[STEPS + 1];
    const char *what[STEPS + 1] = {"built"};
    seen[0] = dg(h);
    uint64_t l, i;
    ck_assert_status(hl_heap_name_lookup(h, "l", &l), HL_OK);
    ck_assert_status(hl_heap_name_lookup(h, "i", &i), HL_OK);
    for (int step = 1; step <= STEPS; step++) {
        switch (step) {
        case 1:
            what[step] = "a second name (refcount)";
            ck_assert_status(hl_op_bind(h, "again", i), HL_OK);
            break;
        case 2:
            what[step] = "a new edge";
            t_append(h, l, i);
            break;
        case 3:
            what[step] = "a collection";
            t_collect(h, 0);
            break;
        case 4:
            what[step] = "gc.freeze";
            ck_assert_status(hl_op_freeze(h), HL_OK);
            break;
        case 5:
            what[step] = "a threshold";
            ck_assert_status(hl_op_gc_config(h, &(hl_gc_config){.nthresholds = 1, .thresholds = {500}}), HL_OK);
            break;
        default:
            what[step] = "gc.unfreeze";
            ck_assert_status(hl_op_unfreeze(h), HL_OK);
            break;
        }
        seen[step] = dg(h);
        for (int before = 0; before < step; before++)
            ck_assert_msg(strcmp(seen[step].s, seen[before].s) != 0, "after %s the digest is the one after %s",
                          what[step], what[before]);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

static bool read_ref(void *ctx, const hl_ref *r)
{
    (void)r;
    ++*(int *)ctx;
    return true;
}

static bool read_name(void *ctx, const char *name, uint64_t id)
{
    (void)name;
    (void)id;
    ++*(int *)ctx;
    return true;
}

static bool read_id(void *ctx, uint64_t id)
{
    (void)id;
    ++*(int *)ctx;
    return true;
}

START_TEST(reading_leaves_it_alone)
{
    hl_heap *h = t_heap();
    build(h, "abc");
    hexdigest before = dg(h);
    ck_assert_str_eq(dg(h).s, before.s);
    int seen = 0;
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0; id = hl_heap_next_live_id(h, id)) {
        hl_object_info info;
        char text[64];
        size_t len;
        ck_assert_status(hl_heap_object_info(h, id, &info), HL_OK);
        hl_heap_referents(h, id, read_ref, &seen);
        if (info.type == HL_STR || info.type == HL_BYTES)
            ck_assert_status(hl_heap_text_value(h, id, text, sizeof text, &len), HL_OK);
    }
    hl_heap_names(h, read_name, &seen);
    for (int g = 0; g <= 3; g++)
        hl_heap_gc_objects(h, g, read_id, &seen);
    hl_gc_state gc;
    hl_heap_gc_state(h, &gc);
    hl_heap_totals totals;
    hl_heap_totals_get(h, &totals);
    hl_alloc_stats stats;
    hl_alloc_get_stats(hl_heap_allocator(h), &stats);
    char text[4096];
    hl_alloc_format_stats(&stats, text, sizeof text);
    ck_assert_heap_ok(h);
    ck_assert_int_gt(seen, 0);
    ck_assert_str_eq(dg(h).s, before.s);
    hl_heap_delete(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("digest");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hex_is_32_lowercase_digits);
    tcase_add_test(tc, same_operations_same_digest);
    tcase_add_test(tc, str_of_the_same_length_differs);
    tcase_add_test(tc, every_change_changes_it);
    tcase_add_test(tc, reading_leaves_it_alone);
    suite_add_tcase(s, tc);
    return t_run(s);
}
