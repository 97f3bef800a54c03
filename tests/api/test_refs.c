/* test_refs.c — references (POST/DELETE /objects/{id}/refs), names and
 * weak references, with refcounts checked after every change. */
#include "apitest.h"

#define U(x) ((unsigned long long)(x))

static const char *refs_of(uint64_t id)
{
    return t_fmt("/objects/%llu/refs", U(id));
}

START_TEST(list_append_and_replace)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    uint64_t a = t_create(&h, "{\"type\": \"str\", \"value\": \"aa\", \"name\": \"a\"}");
    uint64_t b = t_create(&h, "{\"type\": \"str\", \"value\": \"bb\", \"name\": \"b\"}");

    json_t *r = t_ref(&h, l, t_fmt("{\"target\": %llu}", U(a)));
    ck_assert_int_eq(t_int(r, "id"), l);
    ck_assert_str_eq(t_str(r, "type"), "list");
    ck_assert_int_eq(t_int(r, "length"), 1);
    ck_assert_int_eq(t_int(r, "refcount"), 1);
    json_t *tg = t_get(r, "target");
    ck_assert_int_eq(t_int(tg, "id"), a);
    ck_assert(t_bool(tg, "alive"));
    ck_assert_int_eq(t_int(tg, "refcount"), 2);

    t_ref(&h, l, t_fmt("{\"target\": %llu}", U(a)));
    t_expect_rc(&h, a, 3);
    /* l[0] = b releases one reference to a */
    json_t *rep = t_ref(&h, l, t_fmt("{\"target\": %llu, \"index\": 0}", U(b)));
    ck_assert_int_eq(t_int(rep, "length"), 2);
    t_expect_rc(&h, a, 2);
    t_expect_rc(&h, b, 2);
    /* negative indices count from the end */
    t_ref(&h, l, t_fmt("{\"target\": %llu, \"index\": -1}", U(b)));
    t_expect_rc(&h, a, 1);
    t_expect_rc(&h, b, 3);
    json_t *items = t_get(t_obj(&h, l), "items");
    ck_assert_int_eq(json_integer_value(json_array_get(items, 0)), b);
    ck_assert_int_eq(json_integer_value(json_array_get(items, 1)), b);

    t_resp oob = t_h(&h, "POST", refs_of(l), NULL, t_fmt("{\"target\": %llu, \"index\": 2}", U(a)));
    t_expect_problem(oob, 404, "index-error");
    t_expect_problem(t_h(&h, "POST", refs_of(l), NULL, t_fmt("{\"target\": %llu, \"index\": \"0\"}", U(a))), 400,
                     "invalid-field");
    t_expect_problem(t_h(&h, "POST", refs_of(l), NULL, "{\"target\": 9999}"), 404, "no-such-object");
    t_expect_problem(t_h(&h, "POST", refs_of(l), NULL, "{}"), 400, "invalid-id");
    t_expect_problem(t_h(&h, "POST", refs_of(l), NULL, "{\"target\": \"$0\"}"), 400, "invalid-id");
    t_expect_problem(t_h(&h, "POST", refs_of(9999), NULL, t_fmt("{\"target\": %llu}", U(a))), 404, "no-such-object");
    t_expect_problem(t_h(&h, "POST", refs_of(l), NULL, t_fmt("{\"target\": %llu, \"x\": 1}", U(a))), 400,
                     "unknown-field");
    /* nothing changed by the failures */
    t_expect_rc(&h, a, 1);
    t_expect_rc(&h, b, 3);
    ck_assert_int_eq(t_int(t_obj(&h, l), "length"), 2);
}
END_TEST

/* The endpoint's body is {"target", "index"} (or key/attr): an "id" in the
 * body is not one of its fields and must not be ignored silently. */
START_TEST(ref_body_rejects_id_field)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    uint64_t other = t_create(&h, "{\"type\": \"list\", \"name\": \"other\"}");
    uint64_t a = t_create(&h, "{\"type\": \"str\", \"value\": \"aa\", \"name\": \"a\"}");
    /* regression test for api bug 2 (batch-only fields leaked into single endpoints; fixed meanwhile) */
    t_expect_problem(t_h(&h, "POST", refs_of(l), NULL, t_fmt("{\"target\": %llu, \"id\": %llu}", U(a), U(other))),
                     400, "unknown-field");
    t_expect_rc(&h, a, 1);
}
END_TEST

START_TEST(dict_set_instance_refs)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t d = t_create(&h, "{\"type\": \"dict\", \"name\": \"d\"}");
    uint64_t s = t_create(&h, "{\"type\": \"set\", \"name\": \"s\"}");
    uint64_t o = t_create(&h, "{\"type\": \"instance\", \"class\": \"Box\", \"name\": \"o\"}");
    uint64_t v = t_create(&h, "{\"type\": \"int\", \"value\": 5000, \"name\": \"v\"}");
    uint64_t w = t_create(&h, "{\"type\": \"int\", \"value\": 6000, \"name\": \"w\"}");

    t_ref(&h, d, t_fmt("{\"key\": \"k\", \"target\": %llu}", U(v)));
    t_ref(&h, d, t_fmt("{\"key\": \"j\", \"target\": %llu}", U(v)));
    t_expect_rc(&h, v, 3);
    t_ref(&h, d, t_fmt("{\"key\": \"k\", \"target\": %llu}", U(w)));   /* replaces */
    t_expect_rc(&h, v, 2);
    t_expect_rc(&h, w, 2);
    json_t *dj = t_obj(&h, d);
    ck_assert_int_eq(t_int(t_get(dj, "items"), "k"), w);
    ck_assert_int_eq(t_int(t_get(dj, "items"), "j"), v);
    t_expect_problem(t_h(&h, "POST", refs_of(d), NULL, t_fmt("{\"target\": %llu}", U(v))), 400, "invalid-field");
    t_expect_problem(t_h(&h, "POST", refs_of(d), NULL, t_fmt("{\"key\": 3, \"target\": %llu}", U(v))), 400,
                     "invalid-field");

    json_t *sr = t_ref(&h, s, t_fmt("{\"target\": %llu}", U(v)));
    ck_assert_int_eq(t_int(sr, "length"), 1);
    t_ref(&h, s, t_fmt("{\"target\": %llu}", U(v)));   /* already a member: no change */
    t_expect_rc(&h, v, 3);
    ck_assert_int_eq(t_int(t_obj(&h, s), "length"), 1);

    t_ref(&h, o, t_fmt("{\"attr\": \"x\", \"target\": %llu}", U(v)));
    t_expect_rc(&h, v, 4);
    ck_assert_int_eq(t_int(t_get(t_obj(&h, o), "attrs"), "x"), v);
    t_expect_problem(t_h(&h, "POST", refs_of(o), NULL, t_fmt("{\"target\": %llu}", U(v))), 400, "invalid-field");

    /* tuples, ints and strs cannot gain references */
    uint64_t t = t_create(&h, t_fmt("{\"type\": \"tuple\", \"items\": [%llu], \"name\": \"t\"}", U(v)));
    t_resp tr = t_h(&h, "POST", refs_of(t), NULL, t_fmt("{\"target\": %llu}", U(w)));
    t_expect_problem(tr, 409, "immutable");
    t_expect_problem(t_h(&h, "POST", refs_of(v), NULL, t_fmt("{\"target\": %llu}", U(w))), 409, "immutable");
    /* a list is unhashable: it cannot join a set */
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    t_resp un = t_h(&h, "POST", refs_of(s), NULL, t_fmt("{\"target\": %llu}", U(l)));
    t_expect_problem(un, 409, "unhashable");
    t_expect_rc(&h, l, 1);
    t_expect_rc(&h, v, 5);
    t_expect_rc(&h, w, 2);
}
END_TEST

START_TEST(delete_refs)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t v = t_create(&h, "{\"type\": \"str\", \"value\": \"vv\", \"name\": \"v\"}");
    uint64_t w = t_create(&h, "{\"type\": \"str\", \"value\": \"ww\", \"name\": \"w\"}");
    uint64_t l = t_create(&h, t_fmt("{\"type\": \"list\", \"items\": [%llu, %llu, %llu], \"name\": \"l\"}", U(v), U(w),
                                    U(v)));
    uint64_t d = t_create(&h, t_fmt("{\"type\": \"dict\", \"items\": {\"k\": %llu, \"a b\": %llu}, \"name\": \"d\"}",
                                    U(v), U(w)));
    uint64_t s = t_create(&h, t_fmt("{\"type\": \"set\", \"items\": [%llu], \"name\": \"s\"}", U(v)));
    uint64_t o = t_create(&h, t_fmt("{\"type\": \"instance\", \"attrs\": {\"x\": %llu}, \"name\": \"o\"}", U(w)));
    t_expect_rc(&h, v, 5);
    t_expect_rc(&h, w, 4);

    t_resp r = t_h(&h, "DELETE", refs_of(l), "index=1", NULL);
    t_expect(r, 200);
    ck_assert_int_eq(t_int(r.json, "length"), 2);
    t_expect_rc(&h, w, 3);
    t_resp rt = t_h(&h, "DELETE", refs_of(l), t_fmt("target=%llu", U(v)), NULL);
    t_expect(rt, 200);
    ck_assert_int_eq(t_int(t_get(rt.json, "target"), "id"), v);
    ck_assert_int_eq(t_int(t_get(rt.json, "target"), "refcount"), 4);
    t_expect(t_h(&h, "DELETE", refs_of(l), "index=-1", NULL), 200);
    t_expect_rc(&h, v, 3);
    ck_assert_int_eq(t_int(t_obj(&h, l), "length"), 0);
    t_resp e1 = t_h(&h, "DELETE", refs_of(l), "index=0", NULL);
    t_expect_problem(e1, 404, "index-error");
    t_resp e2 = t_h(&h, "DELETE", refs_of(l), t_fmt("target=%llu", U(v)), NULL);
    t_expect_problem(e2, 404, "value-error");

    t_expect(t_h(&h, "DELETE", refs_of(d), "key=k", NULL), 200);
    t_expect(t_h(&h, "DELETE", refs_of(d), "key=a%20b", NULL), 200);
    t_expect_rc(&h, v, 2);
    t_expect_rc(&h, w, 2);
    t_resp e3 = t_h(&h, "DELETE", refs_of(d), "key=k", NULL);
    t_expect_problem(e3, 404, "key-error");
    t_detail_has(e3, "cannot remove");

    t_expect(t_h(&h, "DELETE", refs_of(s), t_fmt("target=%llu", U(v)), NULL), 200);
    t_expect_rc(&h, v, 1);
    t_expect_problem(t_h(&h, "DELETE", refs_of(s), t_fmt("target=%llu", U(v)), NULL), 404, "key-error");

    t_expect(t_h(&h, "DELETE", refs_of(o), "attr=x", NULL), 200);
    t_expect_rc(&h, w, 1);
    t_expect_problem(t_h(&h, "DELETE", refs_of(o), "attr=x", NULL), 404, "attribute-error");

    /* the query must say exactly one thing */
    t_expect_problem(t_h(&h, "DELETE", refs_of(d), NULL, NULL), 400, "invalid-field");
    t_expect_problem(t_h(&h, "DELETE", refs_of(d), "key=a&attr=b", NULL), 400, "invalid-field");
    t_expect_problem(t_h(&h, "DELETE", refs_of(l), "index=one", NULL), 400, "invalid-field");
    t_expect_problem(t_h(&h, "DELETE", refs_of(l), "target=zz", NULL), 400, "invalid-id");
    t_expect_problem(t_h(&h, "DELETE", refs_of(9999), "index=0", NULL), 404, "no-such-object");
    t_resp m = t_h(&h, "GET", refs_of(l), NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "POST, DELETE");
}
END_TEST

START_TEST(removing_last_ref_frees)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    uint64_t inner = t_create(&h, "{\"type\": \"list\", \"name\": \"inner\"}");
    t_ref(&h, l, t_fmt("{\"target\": %llu}", U(inner)));
    t_unbind(&h, "inner");
    t_expect_rc(&h, inner, 1);
    t_resp r = t_h(&h, "DELETE", refs_of(l), "index=0", NULL);
    t_expect(r, 200);
    t_expect_freed(&h, inner);
}
END_TEST

START_TEST(names)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    uint64_t b = t_create(&h, "{\"type\": \"list\", \"name\": \"b\"}");

    t_resp p = t_h(&h, "PUT", "/names/alias", NULL, t_fmt("{\"id\": %llu}", U(a)));
    t_expect(p, 200);
    ck_assert_str_eq(t_str(p.json, "name"), "alias");
    ck_assert_int_eq(t_int(p.json, "id"), a);
    t_expect_rc(&h, a, 2);

    t_resp g = t_h(&h, "GET", "/names/alias", NULL, NULL);
    t_expect(g, 200);
    ck_assert_int_eq(t_int(g.json, "id"), a);

    t_resp all = t_h(&h, "GET", "/names", NULL, NULL);
    json_t *names = t_get(all.json, "names");
    ck_assert_int_eq(json_object_size(names), 3);
    ck_assert_int_eq(t_int(names, "a"), a);
    ck_assert_int_eq(t_int(names, "b"), b);
    ck_assert_int_eq(t_int(names, "alias"), a);

    /* rebinding to the same object changes nothing */
    t_bind(&h, "alias", a);
    t_expect_rc(&h, a, 2);
    /* rebinding releases the old object */
    t_bind(&h, "b", a);
    t_expect_freed(&h, b);
    t_expect_rc(&h, a, 3);

    t_resp d = t_h(&h, "DELETE", "/names/alias", NULL, NULL);
    t_expect(d, 204);
    ck_assert_int_eq(d.len, 0);
    t_expect_rc(&h, a, 2);
    t_expect_problem(t_h(&h, "GET", "/names/alias", NULL, NULL), 404, "name-error");
    t_resp u = t_h(&h, "DELETE", "/names/never", NULL, NULL);
    t_expect_problem(u, 404, "name-error");
    t_detail_has(u, "never");

    t_expect_problem(t_h(&h, "PUT", "/names/x", NULL, "{\"id\": 9999}"), 404, "no-such-object");
    t_expect_problem(t_h(&h, "PUT", "/names/x", NULL, "{\"id\": \"a\"}"), 400, "invalid-id");
    t_expect_problem(t_h(&h, "PUT", "/names/x", NULL, "{}"), 400, "invalid-id");
    t_expect_problem(t_h(&h, "PUT", "/names/x", NULL, NULL), 400, "invalid-body");
    t_expect_problem(t_h(&h, "PUT", "/names/x", NULL, t_fmt("{\"id\": %llu, \"z\": 1}", U(a))), 400, "unknown-field");
    t_expect(t_h(&h, "GET", "/names/x", NULL, NULL), 404);
    t_resp m = t_h(&h, "POST", "/names/x", NULL, "{}");
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "GET, PUT, DELETE");
    t_resp m2 = t_h(&h, "POST", "/names", NULL, "{}");
    ck_assert_str_eq(m2.allow, "GET");

    t_unbind(&h, "a");
    t_expect_rc(&h, a, 1);
    t_unbind(&h, "b");
    t_expect_freed(&h, a);
    t_resp heap = t_h(&h, "GET", "", NULL, NULL);
    ck_assert_int_eq(t_int(heap.json, "names"), 0);
}
END_TEST

/* PUT /names/{name} takes {"id"}: a "name" in the body would contradict the
 * path and must be refused, not ignored. */
START_TEST(bind_body_rejects_name_field)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    /* regression test for api bug 2 (batch-only fields leaked into single endpoints; fixed meanwhile) */
    t_expect_problem(t_h(&h, "PUT", "/names/x", NULL, t_fmt("{\"id\": %llu, \"name\": \"y\"}", U(a))), 400,
                     "unknown-field");
    t_expect(t_h(&h, "GET", "/names/x", NULL, NULL), 404);
}
END_TEST

START_TEST(weakrefs)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t o = t_create(&h, "{\"type\": \"instance\", \"name\": \"o\"}");

    t_resp w1 = t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"name\": \"w1\"}", U(o)));
    t_expect(w1, 201);
    uint64_t w1id = (uint64_t)t_int(w1.json, "id");
    ck_assert(t_bool(w1.json, "alive"));
    ck_assert_str_eq(t_str(w1.json, "type"), "weakref");
    ck_assert_int_eq(t_int(w1.json, "target"), o);
    ck_assert(!t_bool(w1.json, "callback"));
    /* a weak reference does not count */
    t_expect_rc(&h, o, 1);

    /* a second basic ref is the same object (CPython shares it) */
    t_resp w2 = t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"name\": \"w2\"}", U(o)));
    t_expect(w2, 201);
    ck_assert_int_eq(t_int(w2.json, "id"), w1id);
    t_expect_rc(&h, w1id, 2);

    /* a ref with a callback is a new object */
    t_resp wc = t_h(&h, "POST", "/weakrefs", NULL,
                    t_fmt("{\"target\": %llu, \"callback\": true, \"name\": \"wc\"}", U(o)));
    t_expect(wc, 201);
    uint64_t wcid = (uint64_t)t_int(wc.json, "id");
    ck_assert_int_ne(wcid, w1id);
    ck_assert(t_bool(wc.json, "callback"));

    /* lists and ints are not weakly referenceable; sets are */
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu}", U(l))), 409, "not-weakrefable");
    uint64_t i = t_create(&h, "{\"type\": \"int\", \"value\": 77777, \"name\": \"i\"}");
    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu}", U(i))), 409, "not-weakrefable");
    uint64_t s = t_create(&h, "{\"type\": \"set\", \"name\": \"s\"}");
    t_expect(t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"name\": \"ws\"}", U(s))), 201);

    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, "{\"target\": 9999}"), 404, "no-such-object");
    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"callback\": 1}", U(o))), 400,
                     "invalid-field");
    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"cb\": true}", U(o))), 400,
                     "unknown-field");
    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, NULL), 400, "invalid-body");
    t_resp m = t_h(&h, "GET", "/weakrefs", NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "POST");

    /* an unnamed weakref is dropped at once */
    t_resp tmp = t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"callback\": true}", U(o)));
    t_expect(tmp, 201);
    ck_assert(!t_bool(tmp.json, "alive"));

    /* the target dies: the refs stay, dead */
    uint64_t seq = t_next_seq(&h);
    t_unbind(&h, "o");
    t_expect_freed(&h, o);
    json_t *dead = t_obj(&h, w1id);
    ck_assert(json_is_null(t_get(dead, "target")));
    ck_assert(json_is_null(t_get(t_obj(&h, wcid), "target")));
    /* one callback ran: the one registered on wc */
    json_t *ev = t_events(&h, seq);
    int callbacks = 0;
    size_t k;
    json_t *e;
    json_array_foreach(ev, k, e) {
        if (strcmp(t_str(e, "kind"), "weakref_callback") == 0) {
            callbacks++;
            ck_assert_int_eq(t_int(e, "target"), o);
            ck_assert(t_array_has(t_get(e, "ids"), (json_int_t)wcid));
        }
    }
    ck_assert_int_eq(callbacks, 1);
    t_expect_problem(t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu}", U(o))), 404, "no-such-object");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-refs");
    TCase *tc = t_tcase("refs", 30);
    tcase_add_test(tc, list_append_and_replace);
    tcase_add_test(tc, ref_body_rejects_id_field);
    tcase_add_test(tc, dict_set_instance_refs);
    tcase_add_test(tc, delete_refs);
    tcase_add_test(tc, removing_last_ref_frees);
    tcase_add_test(tc, names);
    tcase_add_test(tc, bind_body_rejects_name_field);
    tcase_add_test(tc, weakrefs);
    suite_add_tcase(s, tc);
    return t_run(s);
}
