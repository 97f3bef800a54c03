/* test_ops.c — the mutation layer (ops.h): every operation's success path
 * with the Python statement it models, and every error it can return.  The
 * promise under test for errors is "a call that returns an error has changed
 * nothing": each error is checked against a snapshot of live ids, refcounts,
 * names, gc counts and allocator blocks (t_snapshot in testutil.h).
 *
 * Expected Python behaviour was checked on CPython 3.11.7, e.g.
 *   e1 = []; e2 = []; L = [e1, e2]; L.remove(e2); L[0] is e2   -> True
 *   weakref.ref(o) is weakref.ref(o)                            -> True
 *   weakref.ref(o, cb) is weakref.ref(o)                        -> False
 *   weakref.ref([]) / (1) / {} / (1,) / weakref.ref(o)          -> TypeError
 *   {1}.add((1, []))                                            -> TypeError: unhashable
 */
#include <stdlib.h>

#include "testutil.h"

/* Runs call, which must fail with want and leave the heap as it was. */
#define ck_assert_fails_unchanged(h, call, want)            \
    do {                                                    \
        t_heap_snapshot *before_ = t_snapshot_new(h);       \
        ck_assert_status((call), (want));                   \
        ck_assert_heap_unchanged((h), before_);             \
        free(before_);                                      \
        ck_assert_heap_ok(h);                               \
    } while (0)

static uint64_t named(const hl_heap *h, const char *name)
{
    uint64_t id = 0;
    ck_assert_status(hl_heap_name_lookup(h, name, &id), HL_OK);
    return id;
}

typedef struct ids {
    uint64_t v[64];
    int n;
} ids;

static bool collect_ref(void *ctx, const hl_ref *r)
{
    ids *out = ctx;
    if (r->kind != HL_SLOT_DICT_KEY && out->n < 64)
        out->v[out->n++] = r->target;
    return true;
}

/* The objects id refers to (dict values, not keys), in slot order. */
static ids referents(const hl_heap *h, uint64_t id)
{
    ids out = {.n = 0};
    ck_assert_status(hl_heap_referents(h, id, collect_ref, &out), HL_OK);
    return out;
}

static uint64_t t_str(hl_heap *h, const char *name, const char *text)
{
    hl_create_spec s = {.type = HL_STR, .text = text, .text_len = strlen(text)};
    return t_create(h, &s, name);
}

static uint64_t t_tuple(hl_heap *h, const char *name, const uint64_t *items, size_t n)
{
    hl_create_spec s = {.type = HL_TUPLE, .items = items, .nitems = n};
    return t_create(h, &s, name);
}

static uint64_t t_set(hl_heap *h, const char *name, const uint64_t *items, size_t n)
{
    hl_create_spec s = {.type = HL_SET, .items = items, .nitems = n};
    return t_create(h, &s, name);
}

static uint64_t t_dict1(hl_heap *h, const char *name, const char *key, uint64_t value)
{
    const char *keys[1] = {key};
    hl_create_spec s = {.type = HL_DICT, .keys = keys, .values = &value, .nkeys = 1};
    return t_create(h, &s, name);
}

static hl_status add_ref(hl_heap *h, uint64_t id, hl_ref_op op, int64_t index, const char *key, uint64_t target)
{
    hl_ref_spec r = {.op = op, .index = index, .key = key, .target = target};
    return hl_op_add_ref(h, id, &r);
}

static hl_status remove_ref(hl_heap *h, uint64_t id, hl_unref_op op, int64_t index, const char *key,
                            uint64_t target)
{
    hl_unref_spec r = {.op = op, .index = index, .key = key, .target = target};
    return hl_op_remove_ref(h, id, &r);
}

/* A heap with one object of every type bound to a name, so that a failed
 * call has plenty it could disturb:
 *   i = 1000; s = "k"; lst = [i]; tup = (i, s); d = {"a": i}; st = {i}
 *   o = Node(); o.x = i; w = weakref.ref(o); e = []; f = 1.5; b = b"xy" */
typedef struct rich {
    hl_heap *h;
    uint64_t i, s, lst, tup, d, st, o, w, e, f, b, small;
} rich;

static rich rich_heap(void)
{
    rich r;
    r.h = t_heap();
    hl_heap *h = r.h;
    r.i = t_int(h, "i", 1000);
    r.small = t_int(h, "small", 7);
    r.s = t_str(h, "s", "k");
    r.lst = t_list(h, "lst", &r.i, 1);
    uint64_t pair[2] = {r.i, r.s};
    r.tup = t_tuple(h, "tup", pair, 2);
    r.d = t_dict1(h, "d", "a", r.i);
    r.st = t_set(h, "st", &r.i, 1);
    r.o = t_instance(h, "o", "Node", false);
    t_setattr(h, r.o, "x", r.i);
    hl_create_result wr;
    ck_assert_status(hl_op_weakref(h, r.o, false, "w", &wr), HL_OK);
    r.w = wr.id;
    r.e = t_list(h, "e", NULL, 0);
    hl_create_spec fs = {.type = HL_FLOAT, .float_value = 1.5};
    r.f = t_create(h, &fs, "f");
    hl_create_spec bs = {.type = HL_BYTES, .text = "xy", .text_len = 2};
    r.b = t_create(h, &bs, "b");
    ck_assert_heap_ok(h);
    return r;
}

/* ================= success paths ================= */

START_TEST(create_binds_each_type_to_its_name)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    const struct {
        const char *name;
        uint64_t id;
        hl_type type;
    } want[] = {
        {"i", r.i, HL_INT},   {"s", r.s, HL_STR},       {"lst", r.lst, HL_LIST}, {"tup", r.tup, HL_TUPLE},
        {"d", r.d, HL_DICT},  {"st", r.st, HL_SET},     {"o", r.o, HL_INSTANCE}, {"w", r.w, HL_WEAKREF},
        {"f", r.f, HL_FLOAT}, {"b", r.b, HL_BYTES},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        ck_assert_uint_eq(named(h, want[k].name), want[k].id);
        ck_assert_int_eq(t_info(h, want[k].id).type, want[k].type);
    }
    /* i is held by its name, lst, tup, d, st and o.x */
    ck_assert_uint_eq(t_info(h, r.i).refcount, 6);
    ck_assert_str_eq(t_info(h, r.o).class_name, "Node");
    int64_t v;
    ck_assert_status(hl_heap_int_value(h, r.i, &v), HL_OK);
    ck_assert_int_eq(v, 1000);
    double fv;
    ck_assert_status(hl_heap_float_value(h, r.f, &fv), HL_OK);
    ck_assert_double_eq(fv, 1.5);
    char buf[8];
    size_t len;
    ck_assert_status(hl_heap_text_value(h, r.b, buf, sizeof buf, &len), HL_OK);
    ck_assert_uint_eq(len, 2);
    ck_assert(memcmp(buf, "xy", 2) == 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(create_container_holds_its_items_in_order)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000), b = t_int(h, "b", 2000);
    uint64_t items[3] = {a, b, a};
    uint64_t l = t_list(h, "l", items, 3);
    ids got = referents(h, l);
    ck_assert_int_eq(got.n, 3);
    ck_assert_uint_eq(got.v[0], a);
    ck_assert_uint_eq(got.v[1], b);
    ck_assert_uint_eq(got.v[2], a);
    ck_assert_uint_eq(t_info(h, a).refcount, 3);
    const char *keys[2] = {"p", "q"};
    uint64_t vals[2] = {b, a};
    hl_create_spec is = {.type = HL_INSTANCE, .class_name = "P", .keys = keys, .values = vals, .nkeys = 2};
    uint64_t o = t_create(h, &is, "o");
    ck_assert_uint_eq(t_info(h, o).length, 2);
    ck_assert_uint_eq(t_info(h, b).refcount, 3);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(bind_adds_a_reference)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "x", NULL, 0);
    ck_assert_status(hl_op_bind(h, "y", l), HL_OK);
    ck_assert_uint_eq(named(h, "y"), l);
    ck_assert_uint_eq(t_info(h, l).refcount, 2);
    ck_assert_uint_eq(hl_heap_name_count(h), 2);
    ck_assert_status(hl_op_unbind(h, "x"), HL_OK);
    ck_assert(t_alive(h, l));
    ck_assert_uint_eq(t_info(h, l).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* x = []; x = [] frees the first list during the assignment. */
START_TEST(rebinding_a_name_releases_the_old_object_at_once)
{
    hl_heap *h = t_heap();
    uint64_t first = t_list(h, "x", NULL, 0);
    uint64_t second = t_list(h, "x", NULL, 0);
    ck_assert(!t_alive(h, first));
    ck_assert_uint_eq(named(h, "x"), second);
    uint64_t other = t_int(h, "n", 5000);
    ck_assert_status(hl_op_bind(h, "x", other), HL_OK);
    ck_assert(!t_alive(h, second));
    ck_assert_uint_eq(t_info(h, other).refcount, 2);
    ck_assert_uint_eq(hl_heap_name_count(h), 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(rebinding_a_name_to_its_own_object_keeps_it)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "x", NULL, 0);
    ck_assert_status(hl_op_bind(h, "x", l), HL_OK);
    ck_assert(t_alive(h, l));
    ck_assert_uint_eq(t_info(h, l).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(unbind_frees_an_unreferenced_object)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "x", NULL, 0);
    ck_assert_status(hl_op_unbind(h, "x"), HL_OK);
    ck_assert(!t_alive(h, l));
    ck_assert_uint_eq(hl_heap_name_count(h), 0);
    uint64_t id;
    ck_assert_status(hl_heap_name_lookup(h, "x", &id), HL_E_NAME_UNBOUND);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(append_adds_at_the_end)
{
    hl_heap *h = t_heap();
    uint64_t l = t_list(h, "l", NULL, 0);
    uint64_t a = t_int(h, "a", 1000), b = t_int(h, "b", 2000);
    t_append(h, l, a);
    t_append(h, l, b);
    t_append(h, l, l);
    ids got = referents(h, l);
    ck_assert_int_eq(got.n, 3);
    ck_assert_uint_eq(got.v[0], a);
    ck_assert_uint_eq(got.v[1], b);
    ck_assert_uint_eq(got.v[2], l);
    ck_assert_uint_eq(t_info(h, l).refcount, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* l[-1] = x replaces the last item and releases it at once. */
START_TEST(set_index_accepts_negative_indices)
{
    hl_heap *h = t_heap();
    uint64_t x = t_int(h, "x", 1), y = t_int(h, "y", 2), z = t_int(h, "z", 3);
    uint64_t items[3] = {x, y, z};
    uint64_t l = t_list(h, "l", items, 3);
    uint64_t v = t_int(h, "v", 99999);
    ck_assert_status(add_ref(h, l, HL_REF_SET_INDEX, -1, NULL, v), HL_OK);
    ck_assert_status(add_ref(h, l, HL_REF_SET_INDEX, -3, NULL, v), HL_OK);
    ck_assert_status(add_ref(h, l, HL_REF_SET_INDEX, 1, NULL, v), HL_OK);
    ids got = referents(h, l);
    ck_assert_int_eq(got.n, 3);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(got.v[k], v);
    ck_assert_uint_eq(t_info(h, v).refcount, 4);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(set_index_releases_the_replaced_item)
{
    hl_heap *h = t_heap();
    uint64_t old = t_list(h, "old", NULL, 0);
    uint64_t l = t_list(h, "l", &old, 1);
    ck_assert_status(hl_op_unbind(h, "old"), HL_OK);
    uint64_t v = t_int(h, "v", 5);
    ck_assert_status(add_ref(h, l, HL_REF_SET_INDEX, 0, NULL, v), HL_OK);
    ck_assert(!t_alive(h, old));
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* del l[-1]; del l[0] */
START_TEST(delete_index_accepts_negative_indices)
{
    hl_heap *h = t_heap();
    uint64_t p = t_list(h, "p", NULL, 0), q = t_list(h, "q", NULL, 0), s = t_list(h, "s", NULL, 0);
    uint64_t in[3] = {p, q, s};
    uint64_t l = t_list(h, "l", in, 3);
    ck_assert_status(hl_op_unbind(h, "s"), HL_OK);
    ck_assert_status(remove_ref(h, l, HL_UNREF_INDEX, -1, NULL, 0), HL_OK);
    ck_assert(!t_alive(h, s));
    ck_assert_status(remove_ref(h, l, HL_UNREF_INDEX, -2, NULL, 0), HL_OK);
    ids got = referents(h, l);
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.v[0], q);
    ck_assert_uint_eq(t_info(h, p).refcount, 1);
    ck_assert_status(remove_ref(h, l, HL_UNREF_INDEX, 0, NULL, 0), HL_OK);
    ck_assert_uint_eq(t_info(h, l).length, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* d["k"] = a; d["k"] = b keeps one entry and releases a. */
START_TEST(dict_key_set_twice_keeps_one_entry)
{
    hl_heap *h = t_heap();
    hl_create_spec ds = {.type = HL_DICT};
    uint64_t d = t_create(h, &ds, "d");
    uint64_t a = t_list(h, "a", NULL, 0), b = t_list(h, "b", NULL, 0);
    ck_assert_status(add_ref(h, d, HL_REF_SET_KEY, 0, "k", a), HL_OK);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    ck_assert(t_alive(h, a));
    ck_assert_status(add_ref(h, d, HL_REF_SET_KEY, 0, "k", b), HL_OK);
    ck_assert(!t_alive(h, a));
    ck_assert_uint_eq(t_info(h, d).length, 1);
    ids got = referents(h, d);
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.v[0], b);
    ck_assert_uint_eq(t_info(h, b).refcount, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(dict_delete_key_releases_value_and_key)
{
    hl_heap *h = t_heap();
    uint64_t v = t_list(h, "v", NULL, 0);
    uint64_t d = t_dict1(h, "d", "k", v);
    hl_heap_totals before;
    hl_heap_totals_get(h, &before);
    ck_assert_status(hl_op_unbind(h, "v"), HL_OK);
    ck_assert_status(remove_ref(h, d, HL_UNREF_KEY, 0, "k", 0), HL_OK);
    ck_assert(!t_alive(h, v));
    ck_assert_uint_eq(t_info(h, d).length, 0);
    hl_heap_totals after;
    hl_heap_totals_get(h, &after);
    /* the value list and the key str are both gone */
    ck_assert_uint_eq(after.objects, before.objects - 2);
    ck_assert_uint_eq(after.objects_by_type[HL_STR], before.objects_by_type[HL_STR] - 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(setattr_replaces_and_delattr_releases)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "Node", false);
    uint64_t x = t_list(h, "x", NULL, 0), y = t_list(h, "y", NULL, 0);
    t_setattr(h, o, "val", x);
    ck_assert_uint_eq(t_info(h, o).length, 1);
    t_setattr(h, o, "val", y);
    ck_assert_uint_eq(t_info(h, o).length, 1);
    ck_assert_uint_eq(t_info(h, x).refcount, 1);
    ck_assert_uint_eq(t_info(h, y).refcount, 2);
    ck_assert_status(hl_op_unbind(h, "y"), HL_OK);
    ck_assert_status(remove_ref(h, o, HL_UNREF_ATTR, 0, "val", 0), HL_OK);
    ck_assert(!t_alive(h, y));
    ck_assert_uint_eq(t_info(h, o).length, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* s.add(1000); s.add(int("1000")) keeps the first member only. */
START_TEST(set_add_of_an_equal_member_keeps_one)
{
    hl_heap *h = t_heap();
    uint64_t s = t_set(h, "s", NULL, 0);
    uint64_t a = t_int(h, "a", 1000), b = t_int(h, "b", 1000);
    ck_assert_uint_ne(a, b);
    ck_assert_status(add_ref(h, s, HL_REF_ADD_MEMBER, 0, NULL, a), HL_OK);
    ck_assert_status(add_ref(h, s, HL_REF_ADD_MEMBER, 0, NULL, b), HL_OK);
    ck_assert_uint_eq(t_info(h, s).length, 1);
    ck_assert_uint_eq(t_info(h, a).refcount, 2);
    ck_assert_uint_eq(t_info(h, b).refcount, 1);
    uint64_t tup_items[2] = {a, b};
    uint64_t t = t_tuple(h, "t", tup_items, 2);
    ck_assert_status(add_ref(h, s, HL_REF_ADD_MEMBER, 0, NULL, t), HL_OK);
    ck_assert_uint_eq(t_info(h, s).length, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* s = {1000}; s.remove(int("1000")) removes the equal member. */
START_TEST(set_remove_removes_the_equal_member)
{
    hl_heap *h = t_heap();
    uint64_t a = t_int(h, "a", 1000);
    uint64_t s = t_set(h, "s", &a, 1);
    ck_assert_status(hl_op_unbind(h, "a"), HL_OK);
    uint64_t b = t_int(h, "b", 1000);
    ck_assert_status(remove_ref(h, s, HL_UNREF_TARGET, 0, NULL, b), HL_OK);
    ck_assert(!t_alive(h, a));
    ck_assert_uint_eq(t_info(h, s).length, 0);
    ck_assert_uint_eq(t_info(h, b).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* e1 = []; e2 = []; L = [e1, e2]; del e1; L.remove(e2) removes e1: the
 * first element equal to e2, as CPython does. */
START_TEST(list_remove_removes_the_first_equal_element)
{
    hl_heap *h = t_heap();
    uint64_t e1 = t_list(h, "e1", NULL, 0), e2 = t_list(h, "e2", NULL, 0);
    uint64_t items[2] = {e1, e2};
    uint64_t l = t_list(h, "L", items, 2);
    ck_assert_status(hl_op_unbind(h, "e1"), HL_OK);
    ck_assert_status(remove_ref(h, l, HL_UNREF_TARGET, 0, NULL, e2), HL_OK);
    ck_assert(!t_alive(h, e1));
    ids got = referents(h, l);
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.v[0], e2);
    ck_assert_uint_eq(t_info(h, e2).refcount, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* L = [1000, 2.0]; L.remove(1000.0) -> [2.0] */
START_TEST(list_remove_compares_numbers_across_types)
{
    hl_heap *h = t_heap();
    hl_create_spec f2 = {.type = HL_FLOAT, .float_value = 2.0}, f1000 = {.type = HL_FLOAT, .float_value = 1000.0};
    uint64_t n = t_int(h, "n", 1000), two = t_create(h, &f2, "two"), key = t_create(h, &f1000, "key");
    uint64_t items[2] = {n, two};
    uint64_t l = t_list(h, "L", items, 2);
    ck_assert_status(remove_ref(h, l, HL_UNREF_TARGET, 0, NULL, key), HL_OK);
    ids got = referents(h, l);
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.v[0], two);
    ck_assert_uint_eq(t_info(h, n).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* d1 = {"k": 1}; d2 = {"k": 1}; L = [d1]; L.remove(d2) -> L == [] */
START_TEST(list_remove_finds_an_equal_dict)
{
    hl_heap *h = t_heap();
    uint64_t v = t_int(h, "v", 1);
    const char *keys[1] = {"k"};
    hl_create_spec ds = {.type = HL_DICT, .keys = keys, .values = &v, .nkeys = 1};
    uint64_t d1 = t_create(h, &ds, "d1"), d2 = t_create(h, &ds, "d2");
    uint64_t l = t_list(h, "L", &d1, 1);
    ck_assert_status(remove_ref(h, l, HL_UNREF_TARGET, 0, NULL, d2), HL_OK);
    ck_assert_uint_eq(t_info(h, l).length, 0);
    ck_assert_uint_eq(t_info(h, d1).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* Equal dicts compare equal whatever their keys' length.  CPython 3.11.7:
 * k = "x" * 300; d1 = {k: 1}; d2 = {k: 1}; d1 == d2 is True and
 * [d1].remove(d2) succeeds. */
START_TEST(list_remove_finds_an_equal_dict_with_a_long_key)
{
    hl_heap *h = t_heap();
    uint64_t v = t_int(h, "v", 1);
    char key[301];
    memset(key, 'x', 300);
    key[300] = 0;
    const char *keys[1] = {key};
    hl_create_spec ds = {.type = HL_DICT, .keys = keys, .values = &v, .nkeys = 1};
    uint64_t d1 = t_create(h, &ds, "d1"), d2 = t_create(h, &ds, "d2");
    uint64_t l = t_list(h, "L", &d1, 1);
    ck_assert_status(remove_ref(h, l, HL_UNREF_TARGET, 0, NULL, d2), HL_OK);
    ck_assert_uint_eq(t_info(h, l).length, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* weakref.ref(o) is weakref.ref(o); weakref.ref(o, cb) is a new object. */
START_TEST(weakref_without_callback_is_shared_with_callback_is_new)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "Node", false);
    hl_create_result w1, w2, w3, w4;
    ck_assert_status(hl_op_weakref(h, o, false, "w1", &w1), HL_OK);
    ck_assert(w1.alive);
    ck_assert_status(hl_op_weakref(h, o, false, "w2", &w2), HL_OK);
    ck_assert_uint_eq(w2.id, w1.id);
    ck_assert_uint_eq(t_info(h, w1.id).refcount, 2);
    ck_assert_status(hl_op_weakref(h, o, true, "w3", &w3), HL_OK);
    ck_assert_uint_ne(w3.id, w1.id);
    ck_assert_status(hl_op_weakref(h, o, true, "w4", &w4), HL_OK);
    ck_assert_uint_ne(w4.id, w3.id);
    uint64_t target;
    bool cb;
    ck_assert_status(hl_heap_weakref_target(h, w1.id, &target, &cb), HL_OK);
    ck_assert_uint_eq(target, o);
    ck_assert(!cb);
    ck_assert_status(hl_heap_weakref_target(h, w3.id, &target, &cb), HL_OK);
    ck_assert_uint_eq(target, o);
    ck_assert(cb);
    /* a weakref is not a strong reference */
    ck_assert_uint_eq(t_info(h, o).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(weakref_to_a_set_is_allowed_and_dies_with_it)
{
    hl_heap *h = t_heap();
    uint64_t s = t_set(h, "s", NULL, 0);
    hl_create_result w;
    ck_assert_status(hl_op_weakref(h, s, false, "w", &w), HL_OK);
    ck_assert_status(hl_op_unbind(h, "s"), HL_OK);
    ck_assert(!t_alive(h, s));
    uint64_t target = 1;
    bool cb;
    ck_assert_status(hl_heap_weakref_target(h, w.id, &target, &cb), HL_OK);
    ck_assert_uint_eq(target, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* An expression statement `[]` makes an object nobody keeps. */
START_TEST(unbound_create_is_not_alive)
{
    hl_heap *h = t_heap();
    const hl_create_spec specs[] = {
        {.type = HL_LIST}, {.type = HL_DICT}, {.type = HL_SET}, {.type = HL_INSTANCE},
        {.type = HL_INT, .int_value = 1000}, {.type = HL_FLOAT, .float_value = 0.5},
        {.type = HL_STR, .text = "abc", .text_len = 3}, {.type = HL_BYTES, .text_len = 4},
    };
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        hl_create_result r;
        ck_assert_status(hl_op_create(h, &specs[k], NULL, &r), HL_OK);
        ck_assert_msg(!r.alive, "%s survived", hl_type_name(specs[k].type));
        ck_assert(!t_alive(h, r.id));
        ck_assert(hl_heap_id_ever_used(h, r.id));
    }
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    ck_assert_uint_eq(t.objects, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* `7` and `()` are cached: they outlive the statement. */
START_TEST(unbound_small_int_and_empty_tuple_stay_alive)
{
    hl_heap *h = t_heap();
    hl_create_spec is = {.type = HL_INT, .int_value = 7}, ts = {.type = HL_TUPLE};
    hl_create_result r;
    ck_assert_status(hl_op_create(h, &is, NULL, &r), HL_OK);
    ck_assert(r.alive);
    ck_assert_uint_eq(t_info(h, r.id).refcount, 1);
    ck_assert_status(hl_op_create(h, &ts, NULL, &r), HL_OK);
    ck_assert(r.alive);
    ck_assert_uint_eq(t_info(h, r.id).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(unbound_weakref_is_not_alive_but_a_shared_one_is)
{
    hl_heap *h = t_heap();
    uint64_t o = t_instance(h, "o", "Node", false);
    hl_create_result r, named_ref;
    ck_assert_status(hl_op_weakref(h, o, false, NULL, &r), HL_OK);
    ck_assert(!r.alive);
    ck_assert_status(hl_op_weakref(h, o, true, NULL, &r), HL_OK);
    ck_assert(!r.alive);
    ck_assert_status(hl_op_weakref(h, o, false, "w", &named_ref), HL_OK);
    ck_assert_status(hl_op_weakref(h, o, false, NULL, &r), HL_OK);
    ck_assert(r.alive);
    ck_assert_uint_eq(r.id, named_ref.id);
    ck_assert_uint_eq(t_info(h, r.id).refcount, 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(collect_runs_each_generation)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    for (int g = 0; g < 3; g++) {
        hl_collect_result res;
        ck_assert_status(hl_op_collect(h, g, &res), HL_OK);
        ck_assert_int_eq(res.generation, g);
        ck_assert_uint_eq(res.collected, 0);
        ck_assert(!res.automatic);
        hl_gc_state gs;
        hl_heap_gc_state(h, &gs);
        ck_assert_uint_eq(gs.stats[g].collections, 1);
        ck_assert_int_eq(gs.last.generation, g);
    }
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* gc.set_threshold(5); gc.set_threshold(1, 2, 3); gc.enable() */
START_TEST(gc_config_sets_thresholds_and_enabled)
{
    hl_heap *h = t_heap();
    hl_gc_state gs;
    hl_gc_config c1 = {.nthresholds = 1, .thresholds = {5}};
    ck_assert_status(hl_op_gc_config(h, &c1), HL_OK);
    hl_heap_gc_state(h, &gs);
    ck_assert_int_eq(gs.thresholds[0], 5);
    ck_assert_int_eq(gs.thresholds[1], 10);
    ck_assert_int_eq(gs.thresholds[2], 10);
    ck_assert(!gs.enabled);
    hl_gc_config c3 = {.set_enabled = true, .enabled = true, .nthresholds = 3, .thresholds = {1, 2, 3}};
    ck_assert_status(hl_op_gc_config(h, &c3), HL_OK);
    hl_heap_gc_state(h, &gs);
    ck_assert_int_eq(gs.thresholds[0], 1);
    ck_assert_int_eq(gs.thresholds[1], 2);
    ck_assert_int_eq(gs.thresholds[2], 3);
    ck_assert(gs.enabled);
    hl_gc_config off = {.set_enabled = true, .enabled = false};
    ck_assert_status(hl_op_gc_config(h, &off), HL_OK);
    hl_heap_gc_state(h, &gs);
    ck_assert(!gs.enabled);
    ck_assert_int_eq(gs.thresholds[0], 1);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(freeze_moves_tracked_objects_to_the_permanent_generation)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    hl_gc_state gs;
    hl_heap_gc_state(h, &gs);
    uint64_t tracked = gs.generation_size[0] + gs.generation_size[1] + gs.generation_size[2];
    ck_assert_uint_gt(tracked, 0);
    ck_assert_status(hl_op_freeze(h), HL_OK);
    hl_heap_gc_state(h, &gs);
    ck_assert_uint_eq(gs.frozen, tracked);
    ck_assert_int_eq(t_info(h, r.lst).generation, 3);
    ck_assert_heap_ok(h);
    ck_assert_status(hl_op_unfreeze(h), HL_OK);
    hl_heap_gc_state(h, &gs);
    ck_assert_uint_eq(gs.frozen, 0);
    ck_assert_uint_eq(gs.generation_size[2], tracked);
    ck_assert_int_eq(t_info(h, r.lst).generation, 2);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* The snapshot helper itself: it must notice what the error tests rely on. */
static void expect_snapshot_differs(hl_heap *h, const t_heap_snapshot *before, const char *needle)
{
    t_heap_snapshot *after = t_snapshot_new(h);
    char why[256];
    ck_assert(!t_snapshot_equal(before, after, why, sizeof why));
    ck_assert_msg(strstr(why, needle) != NULL, "\"%s\" does not mention \"%s\"", why, needle);
    free(after);
}

START_TEST(snapshot_notices_changes)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    t_heap_snapshot *s = t_snapshot_new(h);
    t_append(h, r.e, r.small);
    expect_snapshot_differs(h, s, "refcount");
    t_snapshot(h, s);
    ck_assert_status(hl_op_bind(h, "alias", r.i), HL_OK);
    ck_assert_status(hl_op_unbind(h, "i"), HL_OK);
    expect_snapshot_differs(h, s, "name");
    t_snapshot(h, s);
    t_collect(h, 0);
    expect_snapshot_differs(h, s, "gc count[0]");
    t_snapshot(h, s);
    t_list(h, NULL, NULL, 0); /* mints an id even though it dies */
    expect_snapshot_differs(h, s, "next id");
    t_snapshot(h, s);
    hl_create_spec big = {.type = HL_BYTES, .text_len = 1000};
    t_create(h, &big, "big");
    expect_snapshot_differs(h, s, "live objects");
    free(s);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* ================= errors: each leaves the heap unchanged ================= */

START_TEST(no_object_for_dead_or_unknown_ids)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    uint64_t dead = t_list(h, NULL, NULL, 0);
    ck_assert(!t_alive(h, dead));
    uint64_t never = hl_heap_next_id(h) + 100;
    const uint64_t bad[3] = {0, dead, never};
    for (int k = 0; k < 3; k++) {
        uint64_t x = bad[k];
        ck_assert_fails_unchanged(h, hl_op_bind(h, "z", x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, add_ref(h, x, HL_REF_APPEND, 0, NULL, r.i), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, add_ref(h, r.lst, HL_REF_APPEND, 0, NULL, x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, add_ref(h, r.d, HL_REF_SET_KEY, 0, "new", x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, add_ref(h, r.o, HL_REF_SET_ATTR, 0, "y", x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, add_ref(h, r.st, HL_REF_ADD_MEMBER, 0, NULL, x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, remove_ref(h, x, HL_UNREF_INDEX, 0, NULL, 0), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, remove_ref(h, r.lst, HL_UNREF_TARGET, 0, NULL, x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, remove_ref(h, r.st, HL_UNREF_TARGET, 0, NULL, x), HL_E_NO_OBJECT);
        ck_assert_fails_unchanged(h, hl_op_weakref(h, x, false, "z", NULL), HL_E_NO_OBJECT);
        uint64_t items[2] = {r.i, x};
        hl_create_spec ls = {.type = HL_LIST, .items = items, .nitems = 2};
        ck_assert_fails_unchanged(h, hl_op_create(h, &ls, "z", NULL), HL_E_NO_OBJECT);
        hl_create_spec ts = {.type = HL_TUPLE, .items = items, .nitems = 2};
        ck_assert_fails_unchanged(h, hl_op_create(h, &ts, "z", NULL), HL_E_NO_OBJECT);
        hl_create_spec ss = {.type = HL_SET, .items = items, .nitems = 2};
        ck_assert_fails_unchanged(h, hl_op_create(h, &ss, "z", NULL), HL_E_NO_OBJECT);
        const char *keys[2] = {"p", "q"};
        hl_create_spec ds = {.type = HL_DICT, .keys = keys, .values = items, .nkeys = 2};
        ck_assert_fails_unchanged(h, hl_op_create(h, &ds, "z", NULL), HL_E_NO_OBJECT);
        hl_create_spec is = {.type = HL_INSTANCE, .keys = keys, .values = items, .nkeys = 2};
        ck_assert_fails_unchanged(h, hl_op_create(h, &is, "z", NULL), HL_E_NO_OBJECT);
    }
    hl_object_info info;
    ck_assert_status(hl_heap_object_info(h, dead, &info), HL_E_NO_OBJECT);
    hl_heap_delete(h);
}
END_TEST

START_TEST(name_unbound_for_unknown_names)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    ck_assert_fails_unchanged(h, hl_op_unbind(h, "nope"), HL_E_NAME_UNBOUND);
    ck_assert_status(hl_op_unbind(h, "e"), HL_OK);
    ck_assert_fails_unchanged(h, hl_op_unbind(h, "e"), HL_E_NAME_UNBOUND);
    hl_heap_delete(h);
}
END_TEST

/* Tuples and atoms cannot gain or lose references. */
START_TEST(immutable_for_tuple_and_atom_targets)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    const uint64_t targets[5] = {r.tup, r.i, r.s, r.f, r.b};
    for (int k = 0; k < 5; k++) {
        uint64_t t = targets[k];
        ck_assert_fails_unchanged(h, add_ref(h, t, HL_REF_APPEND, 0, NULL, r.e), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, add_ref(h, t, HL_REF_SET_INDEX, 0, NULL, r.e), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, add_ref(h, t, HL_REF_SET_KEY, 0, "a", r.e), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, add_ref(h, t, HL_REF_SET_ATTR, 0, "a", r.e), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, add_ref(h, t, HL_REF_ADD_MEMBER, 0, NULL, r.i), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, remove_ref(h, t, HL_UNREF_INDEX, 0, NULL, 0), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, remove_ref(h, t, HL_UNREF_KEY, 0, "a", 0), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, remove_ref(h, t, HL_UNREF_ATTR, 0, "a", 0), HL_E_IMMUTABLE);
        ck_assert_fails_unchanged(h, remove_ref(h, t, HL_UNREF_TARGET, 0, NULL, r.i), HL_E_IMMUTABLE);
    }
    hl_heap_delete(h);
}
END_TEST

/* A mutable container asked for another container's operation. */
START_TEST(wrong_type_for_other_containers_operations)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    ck_assert_fails_unchanged(h, add_ref(h, r.d, HL_REF_APPEND, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.st, HL_REF_APPEND, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.o, HL_REF_APPEND, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.w, HL_REF_APPEND, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.d, HL_REF_SET_INDEX, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.lst, HL_REF_SET_KEY, 0, "a", r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.o, HL_REF_SET_KEY, 0, "a", r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.lst, HL_REF_SET_ATTR, 0, "a", r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.d, HL_REF_SET_ATTR, 0, "a", r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.w, HL_REF_SET_ATTR, 0, "a", r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, add_ref(h, r.lst, HL_REF_ADD_MEMBER, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_INDEX, 0, NULL, 0), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, remove_ref(h, r.st, HL_UNREF_KEY, 0, "a", 0), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, remove_ref(h, r.o, HL_UNREF_KEY, 0, "x", 0), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_ATTR, 0, "a", 0), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_TARGET, 0, NULL, r.i), HL_E_WRONG_TYPE);
    ck_assert_fails_unchanged(h, remove_ref(h, r.o, HL_UNREF_TARGET, 0, NULL, r.i), HL_E_WRONG_TYPE);
    /* create: weakrefs come from hl_op_weakref; __del__ only on instances */
    hl_create_spec ws = {.type = HL_WEAKREF};
    ck_assert_fails_unchanged(h, hl_op_create(h, &ws, "z", NULL), HL_E_WRONG_TYPE);
    hl_create_spec fin = {.type = HL_LIST, .finalizer = true};
    ck_assert_fails_unchanged(h, hl_op_create(h, &fin, "z", NULL), HL_E_WRONG_TYPE);
    hl_create_spec res = {.type = HL_DICT, .finalizer = true, .resurrect = "again"};
    ck_assert_fails_unchanged(h, hl_op_create(h, &res, "z", NULL), HL_E_WRONG_TYPE);
    hl_create_spec bogus = {.type = (hl_type)HL_TYPE_COUNT};
    ck_assert_fails_unchanged(h, hl_op_create(h, &bogus, "z", NULL), HL_E_WRONG_TYPE);
    hl_heap_delete(h);
}
END_TEST

/* {1}.add([]) / {}.add(set()) / {1}.add((1, [])) -> TypeError: unhashable */
START_TEST(unhashable_set_members)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    uint64_t with_list[2] = {r.i, r.e};
    uint64_t bad_tuple = t_tuple(h, "bt", with_list, 2);
    uint64_t nested = t_tuple(h, "nt", &bad_tuple, 1);
    const uint64_t bad[5] = {r.lst, r.d, r.st, bad_tuple, nested};
    for (int k = 0; k < 5; k++) {
        ck_assert_fails_unchanged(h, add_ref(h, r.st, HL_REF_ADD_MEMBER, 0, NULL, bad[k]), HL_E_UNHASHABLE);
        /* (CPython's set.remove(a_set) looks up a frozenset and raises
         * KeyError instead; heaplab does not model that, so sets are left
         * out of the remove case.) */
        if (bad[k] != r.st)
            ck_assert_fails_unchanged(h, remove_ref(h, r.st, HL_UNREF_TARGET, 0, NULL, bad[k]), HL_E_UNHASHABLE);
        uint64_t items[2] = {r.i, bad[k]};
        hl_create_spec ss = {.type = HL_SET, .items = items, .nitems = 2};
        ck_assert_fails_unchanged(h, hl_op_create(h, &ss, "z", NULL), HL_E_UNHASHABLE);
    }
    /* a tuple of atoms is hashable */
    ck_assert_status(add_ref(h, r.st, HL_REF_ADD_MEMBER, 0, NULL, r.tup), HL_OK);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(index_errors_include_negative_indices)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    uint64_t three[3] = {r.i, r.s, r.f};
    uint64_t l = t_list(h, "l3", three, 3);
    const int64_t bad[4] = {3, 4, -4, INT64_MIN};
    for (int k = 0; k < 4; k++) {
        ck_assert_fails_unchanged(h, add_ref(h, l, HL_REF_SET_INDEX, bad[k], NULL, r.i), HL_E_INDEX);
        ck_assert_fails_unchanged(h, remove_ref(h, l, HL_UNREF_INDEX, bad[k], NULL, 0), HL_E_INDEX);
    }
    ck_assert_fails_unchanged(h, add_ref(h, r.e, HL_REF_SET_INDEX, 0, NULL, r.i), HL_E_INDEX);
    ck_assert_fails_unchanged(h, add_ref(h, r.e, HL_REF_SET_INDEX, -1, NULL, r.i), HL_E_INDEX);
    ck_assert_fails_unchanged(h, remove_ref(h, r.e, HL_UNREF_INDEX, 0, NULL, 0), HL_E_INDEX);
    ck_assert_fails_unchanged(h, remove_ref(h, r.e, HL_UNREF_INDEX, -1, NULL, 0), HL_E_INDEX);
    /* the boundaries themselves are fine */
    ck_assert_status(add_ref(h, l, HL_REF_SET_INDEX, -3, NULL, r.i), HL_OK);
    ck_assert_status(add_ref(h, l, HL_REF_SET_INDEX, 2, NULL, r.i), HL_OK);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(key_errors_for_missing_dict_keys_and_set_members)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_KEY, 0, "missing", 0), HL_E_KEY);
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_KEY, 0, "", 0), HL_E_KEY);
    hl_create_spec empty = {.type = HL_DICT};
    uint64_t e = t_create(h, &empty, "ed");
    ck_assert_fails_unchanged(h, remove_ref(h, e, HL_UNREF_KEY, 0, "a", 0), HL_E_KEY);
    /* a deleted key is missing too */
    ck_assert_status(remove_ref(h, r.d, HL_UNREF_KEY, 0, "a", 0), HL_OK);
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_KEY, 0, "a", 0), HL_E_KEY);
    /* set.remove(x) of an absent member */
    ck_assert_fails_unchanged(h, remove_ref(h, r.st, HL_UNREF_TARGET, 0, NULL, r.s), HL_E_KEY);
    ck_assert_fails_unchanged(h, remove_ref(h, r.st, HL_UNREF_TARGET, 0, NULL, r.small), HL_E_KEY);
    hl_heap_delete(h);
}
END_TEST

START_TEST(attr_errors_for_missing_attributes)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    ck_assert_fails_unchanged(h, remove_ref(h, r.o, HL_UNREF_ATTR, 0, "never", 0), HL_E_ATTR);
    /* the class knows "x" but this instance has none */
    uint64_t o2 = t_instance(h, "o2", "Node", false);
    ck_assert_fails_unchanged(h, remove_ref(h, o2, HL_UNREF_ATTR, 0, "x", 0), HL_E_ATTR);
    ck_assert_status(remove_ref(h, r.o, HL_UNREF_ATTR, 0, "x", 0), HL_OK);
    ck_assert_fails_unchanged(h, remove_ref(h, r.o, HL_UNREF_ATTR, 0, "x", 0), HL_E_ATTR);
    hl_heap_delete(h);
}
END_TEST

/* list.remove(x): x not in list */
START_TEST(not_found_for_list_remove)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    ck_assert_fails_unchanged(h, remove_ref(h, r.lst, HL_UNREF_TARGET, 0, NULL, r.s), HL_E_NOT_FOUND);
    ck_assert_fails_unchanged(h, remove_ref(h, r.lst, HL_UNREF_TARGET, 0, NULL, r.lst), HL_E_NOT_FOUND);
    ck_assert_fails_unchanged(h, remove_ref(h, r.e, HL_UNREF_TARGET, 0, NULL, r.i), HL_E_NOT_FOUND);
    /* an equal-looking value of another kind is not equal: "1000" != 1000 */
    hl_create_spec s1000 = {.type = HL_STR, .text = "1000", .text_len = 4};
    uint64_t str = t_create(h, &s1000, "s1000");
    ck_assert_fails_unchanged(h, remove_ref(h, r.lst, HL_UNREF_TARGET, 0, NULL, str), HL_E_NOT_FOUND);
    hl_heap_delete(h);
}
END_TEST

START_TEST(not_weakrefable_types)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    const uint64_t bad[8] = {r.lst, r.i, r.d, r.tup, r.s, r.f, r.b, r.w};
    for (int k = 0; k < 8; k++) {
        ck_assert_fails_unchanged(h, hl_op_weakref(h, bad[k], false, "z", NULL), HL_E_NOT_WEAKREFABLE);
        ck_assert_fails_unchanged(h, hl_op_weakref(h, bad[k], true, NULL, NULL), HL_E_NOT_WEAKREFABLE);
    }
    hl_heap_delete(h);
}
END_TEST

static hl_heap *limited_heap(uint64_t max_objects, uint64_t max_bytes)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.gc_enabled = false;
    cfg.max_objects = max_objects;
    cfg.max_bytes = max_bytes;
    hl_heap *h = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(h);
    return h;
}

START_TEST(limit_objects_refuses_new_objects)
{
    hl_heap *h = limited_heap(4, 0);
    uint64_t o = t_instance(h, "o", "Node", false);
    uint64_t l = t_list(h, "l", NULL, 0);
    hl_create_spec ds = {.type = HL_DICT};
    uint64_t d = t_create(h, &ds, "d");
    /* 3 live: a dict entry needs 2 more (its key str and the value) */
    const char *keys[1] = {"k"};
    hl_create_spec d1 = {.type = HL_DICT, .keys = keys, .values = &l, .nkeys = 1};
    ck_assert_fails_unchanged(h, hl_op_create(h, &d1, "z", NULL), HL_E_LIMIT_OBJECTS);
    uint64_t n = t_int(h, "n", 1000);
    /* 4 live: the limit */
    hl_create_spec specs[] = {
        {.type = HL_LIST}, {.type = HL_INT, .int_value = 2000}, {.type = HL_FLOAT},
        {.type = HL_STR, .text = "x", .text_len = 1}, {.type = HL_BYTES}, {.type = HL_SET},
        {.type = HL_INSTANCE}, {.type = HL_DICT},
    };
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++)
        ck_assert_fails_unchanged(h, hl_op_create(h, &specs[k], "z", NULL), HL_E_LIMIT_OBJECTS);
    ck_assert_fails_unchanged(h, hl_op_weakref(h, o, false, "w", NULL), HL_E_LIMIT_OBJECTS);
    ck_assert_fails_unchanged(h, hl_op_weakref(h, o, true, "w", NULL), HL_E_LIMIT_OBJECTS);
    /* d["new"] = n would create the key str */
    ck_assert_fails_unchanged(h, add_ref(h, d, HL_REF_SET_KEY, 0, "new", n), HL_E_LIMIT_OBJECTS);
    /* references between existing objects need no new object */
    t_append(h, l, n);
    t_setattr(h, o, "n", n);
    ck_assert_heap_ok(h);
    /* freeing one makes room again */
    ck_assert_status(hl_op_unbind(h, "d"), HL_OK);
    t_list(h, "z", NULL, 0);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(limit_bytes_refuses_large_objects)
{
    hl_heap *h = limited_heap(0, 4096);
    uint64_t d = t_create(h, &(hl_create_spec){.type = HL_DICT}, "d");
    uint64_t l = t_list(h, "l", NULL, 0);
    hl_create_spec big_bytes = {.type = HL_BYTES, .text_len = 5000};
    ck_assert_fails_unchanged(h, hl_op_create(h, &big_bytes, "z", NULL), HL_E_LIMIT_BYTES);
    char text[4001];
    memset(text, 'a', 4000);
    text[4000] = 0;
    hl_create_spec big_str = {.type = HL_STR, .text = text, .text_len = 4000};
    ck_assert_fails_unchanged(h, hl_op_create(h, &big_str, "z", NULL), HL_E_LIMIT_BYTES);
    /* d[<a 4000-character key>] = l needs a 4049-byte str */
    ck_assert_fails_unchanged(h, add_ref(h, d, HL_REF_SET_KEY, 0, text, l), HL_E_LIMIT_BYTES);
    /* small ones still fit */
    hl_create_spec small = {.type = HL_BYTES, .text_len = 100};
    t_create(h, &small, "ok");
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

/* max_bytes ("allocator bytes in use") also bounds a growing item array:
 * appending to one small list ends in HL_E_LIMIT_BYTES, heap unchanged. */
START_TEST(limit_bytes_covers_list_append)
{
    hl_heap *h = limited_heap(0, 4096);
    uint64_t l = t_list(h, "l", NULL, 0);
    uint64_t a = t_int(h, "a", 1);
    const hl_alloc *al = hl_heap_allocator(h);
    hl_status st = HL_OK;
    for (int n = 0; n < 10000 && st == HL_OK; n++) {
        st = add_ref(h, l, HL_REF_APPEND, 0, NULL, a);
        ck_assert_uint_le(hl_alloc_bytes_in_use(al), 4096);
    }
    ck_assert_status(st, HL_E_LIMIT_BYTES);
    ck_assert_fails_unchanged(h, add_ref(h, l, HL_REF_APPEND, 0, NULL, a), HL_E_LIMIT_BYTES);
    hl_heap_delete(h);
}
END_TEST

/* The same for set.add: 200 ints take 6400 bytes; the table grows to 512
 * slots (8192 bytes) at the 77th add. */
START_TEST(limit_bytes_covers_set_add)
{
    hl_heap *h = limited_heap(0, 12288);
    uint64_t s = t_set(h, "s", NULL, 0);
    uint64_t m[200];
    char name[8];
    for (int n = 0; n < 200; n++) {
        snprintf(name, sizeof name, "m%d", n);
        m[n] = t_int(h, name, 1000 + n);
    }
    const hl_alloc *al = hl_heap_allocator(h);
    hl_status st = HL_OK;
    for (int n = 0; n < 200 && st == HL_OK; n++) {
        st = add_ref(h, s, HL_REF_ADD_MEMBER, 0, NULL, m[n]);
        ck_assert_uint_le(hl_alloc_bytes_in_use(al), 12288);
    }
    ck_assert_status(st, HL_E_LIMIT_BYTES);
    hl_heap_delete(h);
}
END_TEST

START_TEST(invalid_generation_and_thresholds)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    hl_collect_result res;
    ck_assert_fails_unchanged(h, hl_op_collect(h, -1, &res), HL_E_INVALID);
    ck_assert_fails_unchanged(h, hl_op_collect(h, 3, &res), HL_E_INVALID);
    hl_gc_config too_many = {.nthresholds = 4, .thresholds = {1, 2, 3}};
    ck_assert_fails_unchanged(h, hl_op_gc_config(h, &too_many), HL_E_INVALID);
    hl_gc_config negative_n = {.nthresholds = -1};
    ck_assert_fails_unchanged(h, hl_op_gc_config(h, &negative_n), HL_E_INVALID);
    /* all or nothing: a bad third threshold leaves the first two alone */
    hl_gc_config bad = {.set_enabled = true, .enabled = true, .nthresholds = 3, .thresholds = {5, 6, -1}};
    ck_assert_fails_unchanged(h, hl_op_gc_config(h, &bad), HL_E_INVALID);
    hl_gc_state gs;
    hl_heap_gc_state(h, &gs);
    ck_assert_int_eq(gs.thresholds[0], 700);
    ck_assert_int_eq(gs.thresholds[1], 10);
    ck_assert(!gs.enabled);
    hl_heap_delete(h);
}
END_TEST

START_TEST(invalid_utf8_is_refused)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    const char *bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xe2\x82",         /* truncated */
        "\x80",             /* lone continuation byte */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "a\xffz",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        hl_create_spec s = {.type = HL_STR, .text = bad[k], .text_len = strlen(bad[k])};
        ck_assert_fails_unchanged(h, hl_op_create(h, &s, "z", NULL), HL_E_INVALID);
        const char *keys[1] = {bad[k]};
        hl_create_spec ds = {.type = HL_DICT, .keys = keys, .values = &r.i, .nkeys = 1};
        ck_assert_fails_unchanged(h, hl_op_create(h, &ds, "z", NULL), HL_E_INVALID);
        hl_create_spec is = {.type = HL_INSTANCE, .keys = keys, .values = &r.i, .nkeys = 1};
        ck_assert_fails_unchanged(h, hl_op_create(h, &is, "z", NULL), HL_E_INVALID);
        ck_assert_fails_unchanged(h, add_ref(h, r.d, HL_REF_SET_KEY, 0, bad[k], r.i), HL_E_INVALID);
        ck_assert_fails_unchanged(h, add_ref(h, r.o, HL_REF_SET_ATTR, 0, bad[k], r.i), HL_E_INVALID);
    }
    hl_create_spec null_text = {.type = HL_STR, .text = NULL, .text_len = 0};
    ck_assert_fails_unchanged(h, hl_op_create(h, &null_text, "z", NULL), HL_E_INVALID);
    /* bytes are not text: any content goes */
    hl_create_spec raw = {.type = HL_BYTES, .text = "\xff\xfe", .text_len = 2};
    t_create(h, &raw, "raw");
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(invalid_empty_or_missing_names)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    hl_create_spec ls = {.type = HL_LIST};
    ck_assert_fails_unchanged(h, hl_op_create(h, &ls, "", NULL), HL_E_INVALID);
    ck_assert_fails_unchanged(h, hl_op_bind(h, "", r.i), HL_E_INVALID);
    ck_assert_fails_unchanged(h, hl_op_bind(h, NULL, r.i), HL_E_INVALID);
    ck_assert_fails_unchanged(h, hl_op_unbind(h, NULL), HL_E_INVALID);
    ck_assert_fails_unchanged(h, hl_op_weakref(h, r.o, true, "", NULL), HL_E_INVALID);
    /* attribute names, class names and resurrection names */
    const char *empty_key[1] = {""};
    hl_create_spec is = {.type = HL_INSTANCE, .keys = empty_key, .values = &r.i, .nkeys = 1};
    ck_assert_fails_unchanged(h, hl_op_create(h, &is, "z", NULL), HL_E_INVALID);
    ck_assert_fails_unchanged(h, add_ref(h, r.o, HL_REF_SET_ATTR, 0, "", r.i), HL_E_INVALID);
    ck_assert_fails_unchanged(h, add_ref(h, r.o, HL_REF_SET_ATTR, 0, NULL, r.i), HL_E_INVALID);
    hl_create_spec no_class = {.type = HL_INSTANCE, .class_name = ""};
    ck_assert_fails_unchanged(h, hl_op_create(h, &no_class, "z", NULL), HL_E_INVALID);
    hl_create_spec res_no_del = {.type = HL_INSTANCE, .resurrect = "back"};
    ck_assert_fails_unchanged(h, hl_op_create(h, &res_no_del, "z", NULL), HL_E_INVALID);
    hl_create_spec res_empty = {.type = HL_INSTANCE, .finalizer = true, .resurrect = ""};
    ck_assert_fails_unchanged(h, hl_op_create(h, &res_empty, "z", NULL), HL_E_INVALID);
    const char *null_key[1] = {NULL};
    hl_create_spec ds = {.type = HL_DICT, .keys = null_key, .values = &r.i, .nkeys = 1};
    ck_assert_fails_unchanged(h, hl_op_create(h, &ds, "z", NULL), HL_E_INVALID);
    ck_assert_fails_unchanged(h, add_ref(h, r.d, HL_REF_SET_KEY, 0, NULL, r.i), HL_E_INVALID);
    ck_assert_fails_unchanged(h, remove_ref(h, r.d, HL_UNREF_KEY, 0, NULL, 0), HL_E_INVALID);
    ck_assert_fails_unchanged(h, remove_ref(h, r.o, HL_UNREF_ATTR, 0, NULL, 0), HL_E_INVALID);
    /* an empty dict key is a valid str key */
    ck_assert_status(add_ref(h, r.d, HL_REF_SET_KEY, 0, "", r.i), HL_OK);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(invalid_operation_codes)
{
    rich r = rich_heap();
    hl_heap *h = r.h;
    ck_assert_fails_unchanged(h, add_ref(h, r.lst, (hl_ref_op)99, 0, NULL, r.i), HL_E_INVALID);
    ck_assert_fails_unchanged(h, remove_ref(h, r.lst, (hl_unref_op)99, 0, NULL, r.i), HL_E_INVALID);
    hl_heap_delete(h);
}
END_TEST

/* A class keeps at most 30 attribute names (heaplab does not model the
 * __dict__ CPython falls back to): the 31st name is refused. */
START_TEST(invalid_31st_attribute_name_of_a_class)
{
    hl_heap *h = t_heap();
    uint64_t v = t_int(h, "v", 1000);
    uint64_t o = t_instance(h, "o", "Wide", false);
    char name[16];
    for (int k = 0; k < 30; k++) {
        snprintf(name, sizeof name, "a%d", k);
        t_setattr(h, o, name, v);
    }
    ck_assert_uint_eq(t_info(h, o).length, 30);
    ck_assert_fails_unchanged(h, add_ref(h, o, HL_REF_SET_ATTR, 0, "a30", v), HL_E_INVALID);
    /* known names still work, on any instance of the class */
    t_setattr(h, o, "a0", o);
    uint64_t o2 = t_instance(h, "o2", "Wide", false);
    t_setattr(h, o2, "a29", v);
    ck_assert_fails_unchanged(h, add_ref(h, o2, HL_REF_SET_ATTR, 0, "b", v), HL_E_INVALID);
    const char *keys[1] = {"b"};
    hl_create_spec is = {.type = HL_INSTANCE, .class_name = "Wide", .keys = keys, .values = &v, .nkeys = 1};
    ck_assert_fails_unchanged(h, hl_op_create(h, &is, "z", NULL), HL_E_INVALID);
    /* another class has its own 30 */
    t_setattr(h, t_instance(h, "p", "Other", false), "b", v);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

START_TEST(invalid_31_attribute_names_at_creation)
{
    hl_heap *h = t_heap();
    uint64_t v = t_int(h, "v", 1000);
    char names[31][8];
    const char *keys[31];
    uint64_t vals[31];
    for (int k = 0; k < 31; k++) {
        snprintf(names[k], sizeof names[k], "a%d", k);
        keys[k] = names[k];
        vals[k] = v;
    }
    hl_create_spec too_wide = {.type = HL_INSTANCE, .class_name = "C31", .keys = keys, .values = vals, .nkeys = 31};
    ck_assert_fails_unchanged(h, hl_op_create(h, &too_wide, "z", NULL), HL_E_INVALID);
    /* 30 distinct plus a repeat is fine */
    keys[30] = keys[0];
    uint64_t o = t_create(h, &too_wide, "z");
    ck_assert_uint_eq(t_info(h, o).length, 30);
    ck_assert_heap_ok(h);
    hl_heap_delete(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops");
    TCase *ok = tcase_create("success");
    tcase_set_timeout(ok, 120);
    tcase_add_test(ok, create_binds_each_type_to_its_name);
    tcase_add_test(ok, create_container_holds_its_items_in_order);
    tcase_add_test(ok, bind_adds_a_reference);
    tcase_add_test(ok, rebinding_a_name_releases_the_old_object_at_once);
    tcase_add_test(ok, rebinding_a_name_to_its_own_object_keeps_it);
    tcase_add_test(ok, unbind_frees_an_unreferenced_object);
    tcase_add_test(ok, append_adds_at_the_end);
    tcase_add_test(ok, set_index_accepts_negative_indices);
    tcase_add_test(ok, set_index_releases_the_replaced_item);
    tcase_add_test(ok, delete_index_accepts_negative_indices);
    tcase_add_test(ok, dict_key_set_twice_keeps_one_entry);
    tcase_add_test(ok, dict_delete_key_releases_value_and_key);
    tcase_add_test(ok, setattr_replaces_and_delattr_releases);
    tcase_add_test(ok, set_add_of_an_equal_member_keeps_one);
    tcase_add_test(ok, set_remove_removes_the_equal_member);
    tcase_add_test(ok, list_remove_removes_the_first_equal_element);
    tcase_add_test(ok, list_remove_compares_numbers_across_types);
    tcase_add_test(ok, list_remove_finds_an_equal_dict);
    tcase_add_test(ok, list_remove_finds_an_equal_dict_with_a_long_key);
    tcase_add_test(ok, weakref_without_callback_is_shared_with_callback_is_new);
    tcase_add_test(ok, weakref_to_a_set_is_allowed_and_dies_with_it);
    tcase_add_test(ok, unbound_create_is_not_alive);
    tcase_add_test(ok, unbound_small_int_and_empty_tuple_stay_alive);
    tcase_add_test(ok, unbound_weakref_is_not_alive_but_a_shared_one_is);
    tcase_add_test(ok, collect_runs_each_generation);
    tcase_add_test(ok, gc_config_sets_thresholds_and_enabled);
    tcase_add_test(ok, freeze_moves_tracked_objects_to_the_permanent_generation);
    suite_add_tcase(s, ok);

    TCase *err = tcase_create("errors");
    tcase_set_timeout(err, 120);
    tcase_add_test(err, snapshot_notices_changes);
    tcase_add_test(err, no_object_for_dead_or_unknown_ids);
    tcase_add_test(err, name_unbound_for_unknown_names);
    tcase_add_test(err, immutable_for_tuple_and_atom_targets);
    tcase_add_test(err, wrong_type_for_other_containers_operations);
    tcase_add_test(err, unhashable_set_members);
    tcase_add_test(err, index_errors_include_negative_indices);
    tcase_add_test(err, key_errors_for_missing_dict_keys_and_set_members);
    tcase_add_test(err, attr_errors_for_missing_attributes);
    tcase_add_test(err, not_found_for_list_remove);
    tcase_add_test(err, not_weakrefable_types);
    tcase_add_test(err, limit_objects_refuses_new_objects);
    tcase_add_test(err, limit_bytes_refuses_large_objects);
    tcase_add_test(err, limit_bytes_covers_list_append);
    tcase_add_test(err, limit_bytes_covers_set_add);
    tcase_add_test(err, invalid_generation_and_thresholds);
    tcase_add_test(err, invalid_utf8_is_refused);
    tcase_add_test(err, invalid_empty_or_missing_names);
    tcase_add_test(err, invalid_operation_codes);
    tcase_add_test(err, invalid_31st_attribute_name_of_a_class);
    tcase_add_test(err, invalid_31_attribute_names_at_creation);
    suite_add_tcase(s, err);
    return s;
}

int main(void)
{
    return t_run(suite());
}
