/* test_ops.c — the mutation layer (ops.h): every operation's success path
 * with the Python statement it models (its errors: test_ops_errors.c).
 *
 * Expected Python behaviour was checked on CPython 3.11.7, e.g.
 *   e1 = []; e2 = []; L = [e1, e2]; L.remove(e2); L[0] is e2   -> True
 *   weakref.ref(o) is weakref.ref(o)                            -> True
 *   weakref.ref(o, cb) is weakref.ref(o)                        -> False
 */
#include "ops_fixtures.h"

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

    return s;
}

int main(void)
{
    return t_run(suite());
}
