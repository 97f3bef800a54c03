/* test_check.c — hl_heap_check, the invariant checker every other test
 * relies on: it passes on healthy heaps of every type, and it fails, with a
 * message naming what is wrong, on heaps corrupted behind the API's back
 * (white-box, through internal.h).  Every corruption is undone before the
 * heap is deleted, so AddressSanitizer stays quiet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

static void expect_check_fails(const hl_heap *h, const char *needle)
{
    char why[256];
    ck_assert_msg(!hl_heap_check(h, why, sizeof why), "hl_heap_check passed a corrupt heap (want \"%s\")", needle);
    ck_assert_msg(strstr(why, needle) != NULL, "message \"%s\" does not say \"%s\"", why, needle);
}

static hl_object *obj(const hl_heap *h, uint64_t id)
{
    hl_object *o = hl_lookup(h, id);
    ck_assert_ptr_nonnull(o);
    return o;
}

/* A freed object whose memory is still valid: a list parked on the free
 * list (id 0, no longer live), so pointing at it is a dangling reference
 * the checker must see without touching poisoned memory. */
static hl_object *parked_list(hl_heap *h)
{
    t_list(h, "parked_", NULL, 0);
    ck_assert_status(hl_op_unbind(h, "parked_"), HL_OK);
    ck_assert_int_gt(h->list_nfree, 0);
    return &h->list_free[h->list_nfree - 1]->ob;
}

static uint64_t mk(hl_heap *h, const char *name, hl_create_spec s)
{
    return t_create(h, &s, name);
}

/* ================= healthy heaps ================= */

static void check_ok_through_lifecycle(hl_heap *h)
{
    ck_assert_heap_ok(h);
    t_collect(h, 0);
    ck_assert_heap_ok(h);
    ck_assert_status(hl_op_freeze(h), HL_OK);
    ck_assert_heap_ok(h);
    ck_assert_status(hl_op_unfreeze(h), HL_OK);
    t_collect(h, 2);
    ck_assert_heap_ok(h);
}

START_TEST(empty_heap_passes)
{
    hl_heap *h = t_heap();
    check_ok_through_lifecycle(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(heap_of_atoms_passes)
{
    hl_heap *h = t_heap();
    t_int(h, "small", 5);
    t_int(h, "big", (int64_t)1 << 62);
    mk(h, "f", (hl_create_spec){.type = HL_FLOAT, .float_value = 0.25});
    mk(h, "s", (hl_create_spec){.type = HL_STR, .text = "h\xc3\xa9llo \xf0\x9f\x98\x80", .text_len = 11});
    mk(h, "b", (hl_create_spec){.type = HL_BYTES, .text_len = 2000}); /* a raw block */
    /* floats parked on their free list are accounted for */
    mk(h, NULL, (hl_create_spec){.type = HL_FLOAT, .float_value = 1});
    check_ok_through_lifecycle(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(heap_of_tuples_passes)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000), l = t_list(h, "l", NULL, 0);
    uint64_t items[3] = {a, l, a};
    mk(h, "t3", (hl_create_spec){.type = HL_TUPLE, .items = items, .nitems = 3});
    mk(h, "t0", (hl_create_spec){.type = HL_TUPLE});
    mk(h, NULL, (hl_create_spec){.type = HL_TUPLE, .items = items, .nitems = 2}); /* parked */
    check_ok_through_lifecycle(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(heap_of_lists_passes)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    for (int k = 0; k < 100; k++)
        t_append(h, l, l);
    t_list(h, NULL, &l, 1); /* parked */
    check_ok_through_lifecycle(h);
    hl_heap_delete(h);
}
END_TEST

/* del l[0] shrinks the item array in place: the block keeps its class. */
START_TEST(list_shrunk_in_place_passes)
{
    hl_heap *h = t_heap();
    uint64_t x = t_list(h, "x", NULL, 0), items[20];
    for (int k = 0; k < 20; k++)
        items[k] = x;
    uint64_t l = t_list(h, "l", items, 20); /* 160 bytes of items: class 9 */
    for (int k = 0; k < 11; k++) {
        hl_unref_spec u = {.op = HL_UNREF_INDEX, .index = 0};
        ck_assert_status(hl_op_remove_ref(h, l, &u), HL_OK);
        ck_assert_heap_ok(h);
    }
    hl_heap_delete(h);
}
END_TEST

START_TEST(heap_of_dicts_passes)
{
    hl_heap *h = t_heap();
    uint64_t v = t_list(h, "v", NULL, 0);
    static const char *const keys[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    uint64_t vals[8] = {v, v, v, v, v, v, v, v};
    uint64_t d = mk(h, "d", (hl_create_spec){.type = HL_DICT, .keys = keys, .values = vals, .nkeys = 8});
    hl_unref_spec del = {.op = HL_UNREF_KEY, .key = "c"};
    ck_assert_status(hl_op_remove_ref(h, d, &del), HL_OK);
    mk(h, "e", (hl_create_spec){.type = HL_DICT});
    mk(h, NULL, (hl_create_spec){.type = HL_DICT, .keys = keys, .values = vals, .nkeys = 2}); /* parked */
    check_ok_through_lifecycle(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(heap_of_sets_passes)
{
    hl_heap *h = t_heap();
    uint64_t items[30];
    char name[8];
    for (int k = 0; k < 30; k++) {
        snprintf(name, sizeof name, "m%d", k);
        items[k] = t_int(h, name, 1000 + k);
    }
    uint64_t s = mk(h, "s", (hl_create_spec){.type = HL_SET, .items = items, .nitems = 30});
    hl_unref_spec rm = {.op = HL_UNREF_TARGET, .target = items[7]};
    ck_assert_status(hl_op_remove_ref(h, s, &rm), HL_OK);
    mk(h, "small", (hl_create_spec){.type = HL_SET, .items = items, .nitems = 3});
    check_ok_through_lifecycle(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(heap_of_instances_and_weakrefs_passes)
{
    hl_heap *h = t_heap();
    uint64_t a = t_instance(h, "a", "Node", false);
    uint64_t b = t_instance(h, "b", "Fin", true);
    t_setattr(h, a, "peer", b);
    t_setattr(h, b, "peer", a);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, a, false, "w", &w), HL_OK);
    ck_assert_status(hl_op_weakref(h, a, true, "wc", &w), HL_OK);
    uint64_t s = mk(h, "s", (hl_create_spec){.type = HL_SET});
    ck_assert_status(hl_op_weakref(h, s, true, "ws", &w), HL_OK);
    check_ok_through_lifecycle(h);
    /* a dead weakref (target collected) is healthy too */
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "b"), HL_OK);
    ck_assert_status(hl_op_unbind(h, "s"), HL_OK);
    t_collect(h, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The checker only reads. */
START_TEST(check_changes_nothing)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    t_append(h, l, l);
    mk(h, "d", (hl_create_spec){.type = HL_DICT, .keys = (const char *[]){"k"}, .values = &l, .nkeys = 1});
    t_heap_snapshot *before = t_snapshot_new(h);
    ck_assert_heap_ok(h);
    ck_assert_heap_ok(h);
    ck_assert_heap_unchanged(h, before);
    free(before);
    hl_heap_delete(h);
}
END_TEST

/* ================= corrupted heaps ================= */

START_TEST(refcount_one_too_high_fails)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    hl_object *o = obj(h, l);
    o->refcnt++;
    char want[64];
    snprintf(want, sizeof want, "list %llu has refcount 2 but 1 references", (unsigned long long)l);
    expect_check_fails(h, want);
    o->refcnt--;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(refcount_one_too_low_fails)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    t_list(h, "l", &a, 1);
    hl_object *o = obj(h, a);
    o->refcnt--;
    char want[64];
    snprintf(want, sizeof want, "int %llu has refcount 1 but 2 references", (unsigned long long)a);
    expect_check_fails(h, want);
    o->refcnt++;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The cache's own reference is counted: a small int missing it is caught. */
START_TEST(small_int_without_its_cache_reference_fails)
{
    hl_heap *h = t_heap();
    uint64_t five = t_int(h, "five", 5);
    hl_object *o = obj(h, five);
    o->refcnt--;
    expect_check_fails(h, "has refcount 1 but 2 references");
    o->refcnt++;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(list_slot_pointing_at_a_freed_object_fails)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    uint64_t l = t_list(h, "l", &a, 1);
    hl_object *dead = parked_list(h);
    hl_list *lst = (hl_list *)obj(h, l);
    hl_object *saved = lst->items[0];
    lst->items[0] = dead;
    expect_check_fails(h, "a container refers to a freed object");
    lst->items[0] = saved;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(instance_attribute_pointing_at_a_freed_object_fails)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    uint64_t o = t_instance(h, "o", "Node", false);
    t_setattr(h, o, "x", a);
    hl_object *dead = parked_list(h);
    hl_instance *in = (hl_instance *)obj(h, o);
    hl_object *saved = in->values->slot[0];
    in->values->slot[0] = dead;
    expect_check_fails(h, "a container refers to a freed object");
    in->values->slot[0] = saved;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(name_bound_to_a_freed_object_fails)
{
    hl_heap *h = t_heap();
    uint64_t x = t_list(h, "x", NULL, 0);
    hl_object *dead = parked_list(h);
    hl_object *saved = obj(h, x);
    ck_assert(hl_strmap_put(&h->names, "x", dead));
    expect_check_fails(h, "name 'x' is bound to a freed object");
    ck_assert(hl_strmap_put(&h->names, "x", saved));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(weakref_to_a_freed_object_fails)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "Node", false);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, o, false, "w", &w), HL_OK);
    hl_weakref *wr = (hl_weakref *)obj(h, w.id);
    hl_object *saved = wr->target;
    wr->target = parked_list(h);
    char want[64];
    snprintf(want, sizeof want, "weakref %llu points to a freed object", (unsigned long long)w.id);
    expect_check_fails(h, want);
    wr->target = saved;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(weakref_missing_from_its_targets_list_fails)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "Node", false);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, o, true, "w", &w), HL_OK);
    hl_instance *in = (hl_instance *)obj(h, o);
    hl_weakref *saved = in->weakrefs;
    in->weakrefs = NULL;
    char want[64];
    snprintf(want, sizeof want, "weakref %llu is missing from its target's list", (unsigned long long)w.id);
    expect_check_fails(h, want);
    in->weakrefs = saved;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The back link of the second object in generation 0 skips the first. */
START_TEST(broken_gc_back_link_fails)
{
    hl_heap *h = t_heap();
    t_list(h, "a", NULL, 0);
    uint64_t b = t_list(h, "b", NULL, 0);
    t_list(h, "c", NULL, 0);
    hl_gc_head *g = hl_as_gc(obj(h, b));
    uintptr_t saved = g->prev;
    g->prev = (g->prev & ~HL_GC_PREV_MASK) | (uintptr_t)&h->gen[0].head;
    char want[80];
    snprintf(want, sizeof want, "generation 0's list is broken near object %llu", (unsigned long long)b);
    expect_check_fails(h, want);
    g->prev = saved;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* b is unlinked from generation 0 but still marked tracked. */
START_TEST(tracked_object_missing_from_the_gc_lists_fails)
{
    hl_heap *h = t_heap();
    t_list(h, "a", NULL, 0);
    uint64_t b = t_list(h, "b", NULL, 0);
    t_list(h, "c", NULL, 0);
    hl_gc_head *g = hl_as_gc(obj(h, b));
    hl_gc_head *prev = hl_gc_prev(g), *next = hl_gc_next(g);
    prev->next = (uintptr_t)next;
    next->prev = (next->prev & ~HL_GC_PREV_MASK) | (uintptr_t)prev;
    expect_check_fails(h, "3 objects are tracked but the generations list 2");
    prev->next = (uintptr_t)g;
    next->prev = (next->prev & ~HL_GC_PREV_MASK) | (uintptr_t)g;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(object_in_the_wrong_generation_fails)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    hl_object *o = obj(h, l);
    ck_assert_int_eq(o->gen, 0);
    o->gen = 1;
    char want[80];
    snprintf(want, sizeof want, "object %llu is in generation 0 but says 1", (unsigned long long)l);
    expect_check_fails(h, want);
    o->gen = 0;
    /* the same after a collection moved it to generation 2 */
    t_collect(h, 2);
    o->gen = 0;
    snprintf(want, sizeof want, "object %llu is in generation 2 but says 0", (unsigned long long)l);
    expect_check_fails(h, want);
    o->gen = 2;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(leaked_pool_block_fails)
{
    hl_heap *h = t_heap();
    t_int(h, "a", 1000);
    hl_alloc_stats s;
    hl_alloc_get_stats(h->alloc, &s);
    void *stray = hl_alloc_malloc(h->alloc, 32);
    ck_assert_ptr_nonnull(stray);
    char want[80];
    snprintf(want, sizeof want, "size class 1 has %llu blocks in use but objects account for %llu",
             (unsigned long long)s.classes[1].used_blocks + 1, (unsigned long long)s.classes[1].used_blocks);
    expect_check_fails(h, want);
    hl_alloc_free(h->alloc, stray, 32);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(leaked_raw_block_fails)
{
    hl_heap *h = t_heap();
    mk(h, "b", (hl_create_spec){.type = HL_BYTES, .text_len = 1000});
    void *stray = hl_alloc_malloc(h->alloc, 4096);
    ck_assert_ptr_nonnull(stray);
    expect_check_fails(h, "2 raw blocks are allocated but objects account for 1");
    hl_alloc_free(h->alloc, stray, 4096);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* A list's items array swapped for a copy behind the allocator's back:
 * the old array is a block no object accounts for. */
START_TEST(list_items_block_leaked_behind_a_live_list_fails)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    uint64_t l = t_list(h, "l", &a, 1);
    hl_list *lst = (hl_list *)obj(h, l);
    /* swap the 8-byte items block for a fresh one, and leak the old one */
    hl_object **fresh = hl_alloc_malloc(h->alloc, 8);
    ck_assert_ptr_nonnull(fresh);
    fresh[0] = lst->items[0];
    hl_object **old = lst->items;
    lst->items = fresh;
    expect_check_fails(h, "size class 0 has");
    lst->items = old;
    hl_alloc_free(h->alloc, fresh, 8);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(per_type_counts_out_of_step_fail)
{
    hl_heap *h = t_heap();
    t_list(h, "l", NULL, 0);
    h->live_by_type[HL_DICT]++;
    expect_check_fails(h, "per-type counts (2) disagree with live objects (1)");
    h->live_by_type[HL_DICT]--;
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* No room for the message: still a plain false, nothing written. */
START_TEST(check_fails_without_a_message_buffer)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    obj(h, l)->refcnt++;
    ck_assert(!hl_heap_check(h, NULL, 0));
    char one[1] = {'x'};
    ck_assert(!hl_heap_check(h, one, 1));
    ck_assert_int_eq(one[0], '\0');
    obj(h, l)->refcnt--;
    ck_assert(hl_heap_check(h, NULL, 0));
    hl_heap_delete(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("check");
    TCase *ok = tcase_create("healthy");
    tcase_set_timeout(ok, 120);
    tcase_add_test(ok, empty_heap_passes);
    tcase_add_test(ok, heap_of_atoms_passes);
    tcase_add_test(ok, heap_of_tuples_passes);
    tcase_add_test(ok, heap_of_lists_passes);
    tcase_add_test(ok, list_shrunk_in_place_passes);
    tcase_add_test(ok, heap_of_dicts_passes);
    tcase_add_test(ok, heap_of_sets_passes);
    tcase_add_test(ok, heap_of_instances_and_weakrefs_passes);
    tcase_add_test(ok, check_changes_nothing);
    suite_add_tcase(s, ok);

    TCase *bad = tcase_create("corrupt");
    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, refcount_one_too_high_fails);
    tcase_add_test(bad, refcount_one_too_low_fails);
    tcase_add_test(bad, small_int_without_its_cache_reference_fails);
    tcase_add_test(bad, list_slot_pointing_at_a_freed_object_fails);
    tcase_add_test(bad, instance_attribute_pointing_at_a_freed_object_fails);
    tcase_add_test(bad, name_bound_to_a_freed_object_fails);
    tcase_add_test(bad, weakref_to_a_freed_object_fails);
    tcase_add_test(bad, weakref_missing_from_its_targets_list_fails);
    tcase_add_test(bad, broken_gc_back_link_fails);
    tcase_add_test(bad, tracked_object_missing_from_the_gc_lists_fails);
    tcase_add_test(bad, object_in_the_wrong_generation_fails);
    tcase_add_test(bad, leaked_pool_block_fails);
    tcase_add_test(bad, leaked_raw_block_fails);
    tcase_add_test(bad, list_items_block_leaked_behind_a_live_list_fails);
    tcase_add_test(bad, per_type_counts_out_of_step_fail);
    tcase_add_test(bad, check_fails_without_a_message_buffer);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    return t_run(suite());
}
