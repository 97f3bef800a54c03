/* test_batch.c — POST /batch: "$N" references, results equal to the single
 * endpoints, the first failure stops the script, size limits. */
#include "apitest.h"

#define U(x) ((unsigned long long)(x))

static int th_first(json_t *gc)
{
    return (int)json_integer_value(json_array_get(t_get(gc, "thresholds"), 0));
}

static t_resp batch(const t_heap *h, const char *ops)
{
    return t_h(h, "POST", "/batch", NULL, t_fmt("{\"ops\": [%s]}", ops));
}

static json_t *result(t_resp r, size_t i)
{
    json_t *v = json_array_get(t_get(r.json, "results"), i);
    ck_assert_msg(v != NULL, "no result %zu in %s", i, r.text);
    return v;
}

START_TEST(references_to_earlier_ops)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp r = batch(&h, "{\"op\": \"create\", \"type\": \"list\", \"name\": \"l\"},"
                         "{\"op\": \"create\", \"type\": \"str\", \"value\": \"x\", \"name\": \"x\"},"
                         "{\"op\": \"ref\", \"id\": \"$0\", \"target\": \"$1\"},"
                         "{\"op\": \"ref\", \"id\": \"$0\", \"target\": \"$0\"},"
                         "{\"op\": \"create\", \"type\": \"dict\", \"items\": {\"k\": \"$1\"}, \"name\": \"d\"},"
                         "{\"op\": \"bind\", \"name\": \"alias\", \"id\": \"$4\"},"
                         "{\"op\": \"create\", \"type\": \"instance\", \"name\": \"o\"},"
                         "{\"op\": \"weakref\", \"target\": \"$6\", \"callback\": true, \"name\": \"w\"},"
                         "{\"op\": \"unref\", \"id\": \"$0\", \"index\": 1},"
                         "{\"op\": \"unbind\", \"name\": \"alias\"},"
                         "{\"op\": \"gc\", \"thresholds\": [100]},"
                         "{\"op\": \"collect\", \"generation\": 0},"
                         "{\"op\": \"freeze\"},"
                         "{\"op\": \"unfreeze\"}");
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    json_t *results = t_get(r.json, "results");
    ck_assert_int_eq(json_array_size(results), 14);
    uint64_t l = (uint64_t)t_int(result(r, 0), "id"), x = (uint64_t)t_int(result(r, 1), "id");
    uint64_t d = (uint64_t)t_int(result(r, 4), "id"), o = (uint64_t)t_int(result(r, 6), "id");
    ck_assert_int_eq(t_int(t_get(result(r, 2), "target"), "id"), x);
    ck_assert_int_eq(t_int(result(r, 2), "id"), l);
    ck_assert_str_eq(t_str(result(r, 5), "name"), "alias");
    ck_assert_int_eq(t_int(result(r, 5), "id"), d);
    ck_assert_int_eq(t_int(result(r, 7), "target"), o);
    ck_assert(t_bool(result(r, 7), "callback"));
    ck_assert(json_is_null(result(r, 9)));
    ck_assert_int_eq(th_first(result(r, 10)), 100);
    ck_assert_int_eq(t_int(result(r, 11), "generation"), 0);
    ck_assert_int_ge(t_int(result(r, 12), "frozen"), 1);
    ck_assert_int_eq(t_int(result(r, 13), "frozen"), 0);

    /* the state is what the ops say */
    t_expect_rc(&h, x, 3);     /* x, l[0], d["k"] */
    t_expect_rc(&h, l, 1);     /* the self-reference was removed */
    t_expect_rc(&h, d, 1);
    json_t *names = t_get(t_h(&h, "GET", "/names", NULL, NULL).json, "names");
    ck_assert_int_eq(json_object_size(names), 5);
    ck_assert(json_object_get(names, "alias") == NULL);
}
END_TEST

START_TEST(results_equal_single_endpoints)
{
    hl_api *api = t_api();
    t_heap a = t_quiet_heap(api), b = t_quiet_heap(api);
    /* the same script, once as single requests and once as a batch */
    t_resp s0 = t_h(&a, "POST", "/objects", NULL, "{\"type\": \"list\", \"name\": \"l\"}");
    t_resp s1 = t_h(&a, "POST", "/objects", NULL, "{\"type\": \"int\", \"value\": 99999, \"name\": \"i\"}");
    t_resp s2 = t_h(&a, "POST", "/objects/1/refs", NULL, "{\"target\": 2}");
    t_resp s3 = t_h(&a, "PUT", "/names/j", NULL, "{\"id\": 2}");
    t_resp s4 = t_h(&a, "DELETE", "/objects/1/refs", "index=0", NULL);
    t_resp s5 = t_h(&a, "PATCH", "/gc", NULL, "{\"enabled\": true}");
    t_resp s6 = t_h(&a, "POST", "/gc/collect", NULL, "{\"generation\": 1}");
    t_resp r = batch(&b, "{\"op\": \"create\", \"type\": \"list\", \"name\": \"l\"},"
                         "{\"op\": \"create\", \"type\": \"int\", \"value\": 99999, \"name\": \"i\"},"
                         "{\"op\": \"ref\", \"id\": 1, \"target\": 2},"
                         "{\"op\": \"bind\", \"name\": \"j\", \"id\": 2},"
                         "{\"op\": \"unref\", \"id\": 1, \"index\": 0},"
                         "{\"op\": \"gc\", \"enabled\": true},"
                         "{\"op\": \"collect\", \"generation\": 1}");
    t_expect(r, 200);
    t_resp singles[] = {s0, s1, s2, s3, s4, s5};
    for (size_t i = 0; i < 6; i++) {
        json_t *one = singles[i].json, *many = result(r, i);
        json_object_del(one, "address");
        json_object_del(many, "address");
        if (json_object_get(one, "last_collection") != NULL) {
            json_object_del(json_object_get(one, "last_collection"), "duration_us");
            json_object_del(json_object_get(many, "last_collection"), "duration_us");
        }
        ck_assert_msg(json_equal(one, many), "op %zu: single %s, batch %s", i, t_dump(one), t_dump(many));
    }
    json_t *c1 = s6.json, *c2 = result(r, 6);
    json_object_del(c1, "duration_us");
    json_object_del(c2, "duration_us");
    ck_assert_msg(json_equal(c1, c2), "collect: %s vs %s", t_dump(c1), t_dump(c2));
}
END_TEST

START_TEST(failure_stops_and_keeps_earlier_ops)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp r = batch(&h, "{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"},"
                         "{\"op\": \"create\", \"type\": \"tuple\", \"name\": \"t\"},"
                         "{\"op\": \"ref\", \"id\": \"$1\", \"target\": \"$0\"},"
                         "{\"op\": \"create\", \"type\": \"list\", \"name\": \"never\"}");
    t_expect_problem(r, 409, "immutable");
    ck_assert_int_eq(t_int(r.json, "index"), 2);
    ck_assert_int_eq(t_int(r.json, "applied"), 2);
    json_t *results = t_get(r.json, "results");
    ck_assert_int_eq(json_array_size(results), 2);
    t_detail_has(r, "op 2");
    uint64_t a = (uint64_t)t_int(json_array_get(results, 0), "id");
    t_expect_rc(&h, a, 1);
    t_expect(t_h(&h, "GET", "/names/a", NULL, NULL), 200);
    t_expect(t_h(&h, "GET", "/names/t", NULL, NULL), 200);
    t_expect(t_h(&h, "GET", "/names/never", NULL, NULL), 404);

    /* the first op failing: nothing applied */
    t_resp f0 = batch(&h, "{\"op\": \"unbind\", \"name\": \"zz\"}, {\"op\": \"unbind\", \"name\": \"a\"}");
    t_expect_problem(f0, 404, "name-error");
    ck_assert_int_eq(t_int(f0.json, "index"), 0);
    ck_assert_int_eq(json_array_size(t_get(f0.json, "results")), 0);
    t_expect(t_h(&h, "GET", "/names/a", NULL, NULL), 200);
}
END_TEST

START_TEST(bad_ops_and_references)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    struct {
        const char *ops;
        const char *slug;
        int index;
    } cases[] = {
        {"{\"op\": \"explode\"}", "invalid-op", 0},
        {"{\"type\": \"list\"}", "invalid-op", 0},
        {"3", "invalid-op", 0},
        {"{\"op\": 3}", "invalid-op", 0},
        {"{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"}, {\"op\": \"bind\", \"name\": \"b\", \"id\": \"$1\"}",
         "invalid-reference", 1},
        {"{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"}, {\"op\": \"bind\", \"name\": \"b\", \"id\": \"$7\"}",
         "invalid-reference", 1},
        {"{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"}, {\"op\": \"bind\", \"name\": \"b\", \"id\": \"$x\"}",
         "invalid-reference", 1},
        {"{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"}, {\"op\": \"bind\", \"name\": \"b\", \"id\": \"$\"}",
         "invalid-reference", 1},
        {"{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"}, {\"op\": \"bind\", \"name\": \"b\", \"id\": \"$-1\"}",
         "invalid-reference", 1},
        /* a bind produces no object */
        {"{\"op\": \"create\", \"type\": \"list\", \"name\": \"a\"}, {\"op\": \"bind\", \"name\": \"b\", \"id\": \"$0\"},"
         "{\"op\": \"bind\", \"name\": \"c\", \"id\": \"$1\"}",
         "invalid-reference", 2},
        {"{\"op\": \"bind\", \"id\": 1}", "invalid-field", 0},
        {"{\"op\": \"unbind\", \"name\": \"a\", \"id\": 1}", "unknown-field", 0},
        {"{\"op\": \"create\", \"type\": \"list\", \"bogus\": 1}", "unknown-field", 0},
        {"{\"op\": \"collect\", \"generation\": 3}", "invalid-field", 0},
        {"{\"op\": \"freeze\", \"x\": 1}", "unknown-field", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        t_resp r = batch(&h, cases[i].ops);
        ck_assert_msg(r.status == 400, "case %zu: %d %s", i, r.status, r.text);
        ck_assert_str_eq(r.ctype, "application/problem+json");
        ck_assert_msg(strcmp(t_str(r.json, "type"), t_fmt("/problems/%s", cases[i].slug)) == 0, "case %zu: %s", i,
                      r.text);
        ck_assert_int_eq(t_int(r.json, "index"), cases[i].index);
        /* reset the names for the next case */
        t_h(&h, "DELETE", "/names/a", NULL, NULL);
        t_h(&h, "DELETE", "/names/b", NULL, NULL);
    }
    static const char *const bodies[] = {"{}", "{\"ops\": {}}", "{\"ops\": [], \"x\": 1}", "[]", "{\"ops\": \"x\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        t_expect(t_h(&h, "POST", "/batch", NULL, bodies[i]), 400);
    t_resp empty = t_h(&h, "POST", "/batch", NULL, "{\"ops\": []}");
    t_expect(empty, 200);
    ck_assert_int_eq(json_array_size(t_get(empty.json, "results")), 0);
    t_resp m = t_h(&h, "GET", "/batch", NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "POST");
    /* "$N" means nothing outside a batch */
    t_expect_problem(t_h(&h, "PUT", "/names/q", NULL, "{\"id\": \"$0\"}"), 400, "invalid-id");
}
END_TEST

START_TEST(max_batch_ops)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .max_batch_ops = 3};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_quiet_heap(api);
    const char *op = "{\"op\": \"collect\"}";
    t_expect(batch(&h, t_fmt("%s,%s,%s", op, op, op)), 200);
    t_resp r = batch(&h, t_fmt("%s,%s,%s,%s", op, op, op, op));
    t_expect_problem(r, 413, "batch-too-large");
    t_resp g = t_h(&h, "GET", "/gc", NULL, NULL);
    ck_assert_int_eq(t_int(json_array_get(t_get(g.json, "stats"), 2), "collections"), 3);
}
END_TEST

START_TEST(hundred_thousand_ops)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);   /* the collector on: automatic collections happen on the way */
    const int pairs = 50000;
    size_t cap = (size_t)pairs * 120 + 64, len = 0;
    char *body = t_keep(malloc(cap));
    len += (size_t)snprintf(body + len, cap - len, "{\"ops\": [");
    for (int i = 0; i < pairs; i++) {
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"op\":\"create\",\"type\":\"str\",\"value\":\"v%d\",\"name\":\"n%d\"},"
                                "{\"op\":\"bind\",\"name\":\"m%d\",\"id\":\"$%d\"}",
                                i ? "," : "", i, i, i, 2 * i);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    t_resp r = t_req_full(api, "POST", t_fmt("%s/batch", h.base), NULL, t_fmt("Bearer %s", h.token), NULL, body, len);
    t_expect(r, 200);
    json_t *results = t_get(r.json, "results");
    ck_assert_int_eq(json_array_size(results), 2 * pairs);
    json_t *last = json_array_get(results, 2 * pairs - 1);
    ck_assert_str_eq(t_str(last, "name"), t_fmt("m%d", pairs - 1));
    uint64_t id = (uint64_t)t_int(json_array_get(results, 2 * pairs - 2), "id");
    ck_assert_int_eq(t_int(last, "id"), id);
    t_expect_rc(&h, id, 2);
    t_resp heap = t_h(&h, "GET", "", NULL, NULL);
    ck_assert_int_eq(t_int(heap.json, "names"), 2 * pairs);
    ck_assert_int_ge(t_int(heap.json, "objects"), pairs);
    t_resp n = t_h(&h, "GET", "/names/m12345", NULL, NULL);
    t_expect(n, 200);
    t_resp v = t_h(&h, "GET", t_fmt("/objects/%lld", (long long)t_int(n.json, "id")), NULL, NULL);
    ck_assert_str_eq(t_str(v.json, "value"), "v12345");
    hl_api_stats st;
    hl_api_get_stats(api, &st);
    ck_assert_int_ge(st.ops_total, (uint64_t)(2 * pairs));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-batch");
    TCase *tc = t_tcase("batch", 30);
    tcase_add_test(tc, references_to_earlier_ops);
    tcase_add_test(tc, results_equal_single_endpoints);
    tcase_add_test(tc, failure_stops_and_keeps_earlier_ops);
    tcase_add_test(tc, bad_ops_and_references);
    tcase_add_test(tc, max_batch_ops);
    suite_add_tcase(s, tc);
    TCase *big = t_tcase("big", 110);
    tcase_add_test(big, hundred_thousand_ops);
    suite_add_tcase(s, big);
    return t_run(s);
}
