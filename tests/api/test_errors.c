/* test_errors.c — every error is an RFC 9457 problem: malformed and hostile
 * bodies, wrong types, unknown fields, unknown routes and methods. */
#include "apitest.h"

#define U(x) ((unsigned long long)(x))

static const char *title_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return NULL;
    }
}

/* Any problem: the content type, the four members, title matching status. */
static void expect_any_problem(t_resp r, int status)
{
    t_expect(r, status);
    ck_assert_str_eq(r.ctype, "application/problem+json");
    ck_assert_ptr_nonnull(r.json);
    const char *type = t_str(r.json, "type");
    ck_assert_msg(strncmp(type, "/problems/", 10) == 0 && strlen(type) > 10, "type '%s'", type);
    ck_assert_int_eq(t_int(r.json, "status"), status);
    ck_assert_str_eq(t_str(r.json, "title"), title_of(status));
    ck_assert(strlen(t_str(r.json, "detail")) > 0);
}

START_TEST(malformed_json)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp r = t_h(&h, "POST", "/objects", NULL, "{\"type\": \"list\",, }");
    t_expect_problem(r, 400, "invalid-json");
    ck_assert_int_ge(t_int(r.json, "position"), 15);   /* the second comma, or just after it */
    ck_assert_int_le(t_int(r.json, "position"), 17);
    ck_assert_int_eq(t_int(r.json, "line"), 1);
    ck_assert_int_ge(t_int(r.json, "column"), 1);
    t_detail_has(r, "not valid JSON");

    t_resp ml = t_h(&h, "POST", "/objects", NULL, "{\n  \"type\": \"list\"\n  \"name\": \"x\"\n}");
    t_expect_problem(ml, 400, "invalid-json");
    ck_assert_int_eq(t_int(ml.json, "line"), 3);

    static const char *const bad[] = {"", "{", "}", "nul", "{\"type\": 'list'}", "{\"a\": 1} trailing",
                                      "{\"type\": \"li\\q\"}", "{\"type\": \"list\", \"type\": \"dict\"}",
                                      "\xff\xfe{}", "{\"type\": \"str\", \"value\": \"\xc3\x28\"}"};
    for (size_t i = 1; i < sizeof bad / sizeof *bad; i++) {
        t_resp b = t_h(&h, "POST", "/objects", NULL, bad[i]);
        ck_assert_msg(b.status == 400, "%s: %d", bad[i], b.status);
        t_expect_problem(b, 400, "invalid-json");
    }
    /* a body of only whitespace is not JSON either */
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, "   "), 400, "invalid-json");
    /* a NUL inside the body */
    t_resp nul = t_req_full(api, "POST", t_fmt("%s/objects", h.base), NULL, t_fmt("Bearer %s", h.token), NULL,
                            "{\"type\":\"list\"}\0xx", 18);
    expect_any_problem(nul, 400);
    t_resp names = t_h(&h, "GET", "/names", NULL, NULL);
    ck_assert_int_eq(json_object_size(t_get(names.json, "names")), 0);
}
END_TEST

START_TEST(non_object_bodies)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    static const char *const bodies[] = {"[]", "3", "\"list\"", "null", "true", "[{\"type\": \"list\"}]"};
    const char *routes[][2] = {
        {"POST", "/objects"},     {"POST", t_fmt("/objects/%llu/refs", U(l))},
        {"PUT", "/names/a"},      {"POST", "/weakrefs"},
        {"PATCH", "/gc"},         {"POST", "/gc/collect"},
        {"POST", "/gc/freeze"},   {"POST", "/batch"},
    };
    for (size_t r = 0; r < sizeof routes / sizeof *routes; r++)
        for (size_t b = 0; b < sizeof bodies / sizeof *bodies; b++) {
            t_resp x = t_h(&h, routes[r][0], routes[r][1], NULL, bodies[b]);
            ck_assert_msg(x.status == 400, "%s %s %s: %d", routes[r][0], routes[r][1], bodies[b], x.status);
            expect_any_problem(x, 400);
            /* arrays are JSON but not objects (jansson refuses bare scalars while parsing) */
            if (bodies[b][0] == '[')
                ck_assert_str_eq(t_str(x.json, "type"), "/problems/invalid-body");
        }
    t_expect_problem(t_req(api, "POST", "/v1/heaps", NULL, NULL, "[1]"), 400, "invalid-body");
    t_expect_rc(&h, l, 1);
}
END_TEST

START_TEST(huge_numbers)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    const char *big = "1234567890123456789012345678901234567890";
    t_resp r = t_h(&h, "POST", "/objects", NULL, t_fmt("{\"type\": \"int\", \"value\": %s, \"name\": \"i\"}", big));
    t_expect_problem(r, 400, "invalid-json");
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, t_fmt("{\"type\": \"int\", \"value\": -%s}", big)), 400,
                     "invalid-json");
    t_expect_problem(t_h(&h, "PUT", "/names/a", NULL, t_fmt("{\"id\": %s}", big)), 400, "invalid-json");
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, "{\"type\": \"float\", \"value\": 1e400}"), 400,
                     "invalid-json");
    t_expect_problem(t_h(&h, "PATCH", "/gc", NULL, t_fmt("{\"thresholds\": [%s]}", big)), 400, "invalid-json");
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, "{\"type\": \"int\", \"value\": 9223372036854775808}"), 400,
                     "invalid-json");
    /* in range but no such object / out of range for the field */
    t_expect_problem(t_h(&h, "PUT", "/names/a", NULL, "{\"id\": 9223372036854775807}"), 404, "no-such-object");
    t_expect_problem(t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [9223372036854775807]}"), 400, "invalid-field");
    t_expect_problem(t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": 4294967298}"), 400, "invalid-field");
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, "{\"type\": \"bytes\", \"size\": 9223372036854775807}"), 400,
                     "invalid-field");
    t_resp lim = t_req(api, "POST", "/v1/heaps", NULL, NULL, "{\"limits\": {\"max_objects\": 9223372036854775807}}");
    t_expect(lim, 201);
    t_expect_problem(t_req(api, "POST", "/v1/heaps", NULL, NULL, "{\"gc\": {\"thresholds\": [4294967296, 1, 1]}}"),
                     400, "invalid-field");
    /* ids in paths and queries too large for 64 bits */
    t_expect_problem(t_h(&h, "GET", t_fmt("/objects/%s", big), NULL, NULL), 404, "no-such-object");
    t_expect_problem(t_h(&h, "GET", "/objects", t_fmt("limit=%s", big), NULL), 400, "invalid-query");
    t_expect_problem(t_h(&h, "GET", "/events", t_fmt("limit=%s", big), NULL), 400, "invalid-query");
}
END_TEST

START_TEST(deep_nesting)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    const int depth = 3000;
    char *body = t_keep(malloc((size_t)depth * 2 + 64));
    size_t n = (size_t)sprintf(body, "{\"type\": \"list\", \"items\": ");
    for (int i = 0; i < depth; i++)
        body[n++] = '[';
    for (int i = 0; i < depth; i++)
        body[n++] = ']';
    body[n++] = '}';
    body[n] = '\0';
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, body), 400, "invalid-json");
    /* the same as a batch op and as a heap option */
    t_resp b = t_h(&h, "POST", "/batch", NULL, t_fmt("{\"ops\": [{\"op\": \"create\", \"type\": \"list\", \"items\": %s}]}",
                                                      body + 27));
    expect_any_problem(b, 400);
    expect_any_problem(t_req(api, "POST", "/v1/heaps", NULL, NULL, t_fmt("{\"gc\": %s", body + 27)), 400);
    /* moderate nesting parses, and is refused for its types */
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, "{\"type\": \"list\", \"items\": [[[[1]]]]}"), 400,
                     "invalid-id");
    /* the api still works */
    t_create(&h, "{\"type\": \"list\", \"name\": \"ok\"}");
}
END_TEST

START_TEST(wrong_field_types)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    uint64_t d = t_create(&h, "{\"type\": \"dict\", \"name\": \"d\"}");
    struct {
        const char *method, *path, *body, *slug;
    } cases[] = {
        {"POST", "/objects", "{\"type\": [\"list\"]}", "invalid-field"},
        {"POST", "/objects", "{\"type\": \"list\", \"items\": \"1\"}", "invalid-field"},
        {"POST", "/objects", "{\"type\": \"list\", \"items\": [true]}", "invalid-id"},
        {"POST", "/objects", "{\"type\": \"list\", \"items\": [1.0]}", "invalid-id"},
        {"POST", "/objects", "{\"type\": \"list\", \"items\": [-1]}", "invalid-id"},
        {"POST", "/objects", "{\"type\": \"list\", \"name\": [\"a\"]}", "invalid-field"},
        {"POST", "/objects", "{\"type\": \"instance\", \"class\": 3}", "invalid-field"},
        {"POST", "/objects", "{\"type\": \"instance\", \"attrs\": [1]}", "invalid-field"},
        {"POST", t_fmt("/objects/%llu/refs", U(l)), "{\"target\": \"1\"}", "invalid-id"},
        {"POST", t_fmt("/objects/%llu/refs", U(l)), "{\"target\": 1, \"index\": 0.5}", "invalid-field"},
        {"POST", t_fmt("/objects/%llu/refs", U(d)), "{\"target\": 1, \"key\": \"\"}", "invalid-field"},
        {"POST", t_fmt("/objects/%llu/refs", U(d)), "{\"target\": 1, \"key\": null}", "invalid-field"},
        {"PUT", "/names/a", "{\"id\": null}", "invalid-id"},
        {"PUT", "/names/a", "{\"id\": 0}", "invalid-id"},
        {"POST", "/weakrefs", "{\"target\": 1, \"name\": 5}", "invalid-field"},
        {"POST", "/weakrefs", "{\"target\": 1, \"callback\": \"true\"}", "invalid-field"},
        {"PATCH", "/gc", "{\"enabled\": \"false\"}", "invalid-field"},
        {"PATCH", "/gc", "{\"thresholds\": [\"700\"]}", "invalid-field"},
        {"POST", "/gc/collect", "{\"generation\": 1.0}", "invalid-field"},
        {"POST", "/gc/collect", "{\"generation\": null}", "invalid-field"},
        {"POST", "/batch", "{\"ops\": [{\"op\": \"ref\", \"id\": \"l\", \"target\": 1}]}", "invalid-id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        t_resp r = t_h(&h, cases[i].method, cases[i].path, NULL, cases[i].body);
        ck_assert_msg(r.status == 400, "%s %s %s: %d %s", cases[i].method, cases[i].path, cases[i].body, r.status,
                      r.text);
        ck_assert_msg(strcmp(t_str(r.json, "type"), t_fmt("/problems/%s", cases[i].slug)) == 0, "%s: %s",
                      cases[i].body, r.text);
        expect_any_problem(r, 400);
    }
    t_expect_rc(&h, l, 1);
    ck_assert_int_eq(t_int(t_obj(&h, l), "length"), 0);
    ck_assert_int_eq(t_int(t_obj(&h, d), "length"), 0);
}
END_TEST

START_TEST(unknown_fields)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    uint64_t o = t_create(&h, "{\"type\": \"instance\", \"name\": \"o\"}");
    struct {
        const char *method, *path, *body;
    } cases[] = {
        {"POST", "/objects", "{\"type\": \"list\", \"Name\": \"x\"}"},
        {"POST", "/objects", "{\"type\": \"list\", \"\": 1}"},
        {"POST", t_fmt("/objects/%llu/refs", U(l)), t_fmt("{\"target\": %llu, \"where\": 0}", U(l))},
        {"PUT", "/names/a", t_fmt("{\"id\": %llu, \"strong\": true}", U(l))},
        {"POST", "/weakrefs", t_fmt("{\"target\": %llu, \"callbacks\": true}", U(o))},
        {"PATCH", "/gc", "{\"threshold\": [1]}"},
        {"POST", "/gc/collect", "{\"generations\": 1}"},
        {"POST", "/gc/unfreeze", "{\"x\": 1}"},
        {"POST", "/batch", "{\"ops\": [], \"atomic\": true}"},
        {"POST", "/batch", "{\"ops\": [{\"op\": \"collect\", \"generations\": 1}]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        t_resp r = t_h(&h, cases[i].method, cases[i].path, NULL, cases[i].body);
        ck_assert_msg(r.status == 400, "%s %s %s: %d %s", cases[i].method, cases[i].path, cases[i].body, r.status,
                      r.text);
        expect_any_problem(r, 400);
    }
    t_expect_rc(&h, l, 1);
    t_expect(t_h(&h, "GET", "/names/a", NULL, NULL), 404);
    t_expect(t_h(&h, "GET", "/names/x", NULL, NULL), 404);
    t_resp gc = t_h(&h, "GET", "/gc", NULL, NULL);
    ck_assert_int_eq(t_int(json_array_get(t_get(gc.json, "stats"), 2), "collections"), 0);
}
END_TEST

START_TEST(unknown_routes)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    static const char *const paths[] = {"/", "/v1", "/v2/heaps", "/heaps", "/v1/heap", "/v1/heapsx", "/metrics",
                                        "/v1/heaps/%s/object", "/v1/heaps/%s/gc/collect/now", "/v1/heaps/%s/objects/1/refs/2",
                                        "/v1/heaps/%s/memory/text", "/v1/heaps/%s/names/a/b", "/v1/heaps/%s/weakrefs/1",
                                        "/v1/heaps/%s/a/b/c/d/e/f/g/h/i"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const char *p = strstr(paths[i], "%s") ? t_fmt(paths[i], h.id) : paths[i];
        t_resp r = t_req(api, "GET", p, NULL, h.token, NULL);
        ck_assert_msg(r.status == 404, "%s: %d", p, r.status);
        t_expect_problem(r, 404, "not-found");
    }
    /* a path longer than the router's buffer */
    char *longp = t_keep(malloc(3000));
    strcpy(longp, "/v1/heaps/");
    memset(longp + 10, 'a', 2500);
    longp[2510] = '\0';
    t_expect_problem(t_req(api, "GET", longp, NULL, T_ADMIN, NULL), 404, "not-found");
    t_resp null_path = t_req_full(api, "GET", NULL, NULL, NULL, NULL, NULL, 0);
    t_expect_problem(null_path, 404, "not-found");
    /* unknown heap */
    t_expect_problem(t_req(api, "GET", "/v1/heaps/zzzzzzzzzz/objects", NULL, T_ADMIN, NULL), 404, "no-such-heap");
}
END_TEST

START_TEST(wrong_methods)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    struct {
        const char *method, *sub, *allow;
    } cases[] = {
        {"PUT", "", "GET, DELETE"},
        {"POST", "", "GET, DELETE"},
        {"PUT", "/objects", "GET, POST"},
        {"POST", t_fmt("/objects/%llu", U(l)), "GET"},
        {"PUT", t_fmt("/objects/%llu/refs", U(l)), "POST, DELETE"},
        {"DELETE", "/names", "GET"},
        {"PATCH", "/names/l", "GET, PUT, DELETE"},
        {"DELETE", "/weakrefs", "POST"},
        {"POST", "/gc", "GET, PATCH"},
        {"GET", "/gc/freeze", "POST"},
        {"PUT", "/memory", "GET"},
        {"PUT", "/batch", "POST"},
        {"POST", "/events", "GET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        t_resp r = t_h(&h, cases[i].method, cases[i].sub, NULL, "{}");
        ck_assert_msg(r.status == 405, "%s %s: %d", cases[i].method, cases[i].sub, r.status);
        t_expect_problem(r, 405, "method-not-allowed");
        ck_assert_str_eq(r.allow, cases[i].allow);
        t_detail_has(r, cases[i].method);
    }
    t_resp top = t_req(api, "PATCH", "/v1/heaps", NULL, T_ADMIN, NULL);
    t_expect_problem(top, 405, "method-not-allowed");
    ck_assert_str_eq(top.allow, "GET, POST");
    /* only a 405 carries Allow */
    ck_assert_str_eq(t_h(&h, "GET", "/nothing", NULL, NULL).allow, "");
    t_expect_rc(&h, l, 1);
}
END_TEST

START_TEST(every_error_is_a_problem)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .max_heaps = 2, .max_batch_ops = 2};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_new_heap(api, "{\"limits\": {\"max_bytes\": 20000}, \"gc\": {\"enabled\": false}}");
    t_new_heap(api, NULL);
    uint64_t t = t_create(&h, "{\"type\": \"tuple\", \"name\": \"t\"}");
    expect_any_problem(t_req(api, "GET", "/v1/heaps", NULL, NULL, NULL), 401);
    expect_any_problem(t_req(api, "GET", "/v1/heaps", NULL, h.token, NULL), 403);
    expect_any_problem(t_h(&h, "GET", "/objects/77", NULL, NULL), 404);
    expect_any_problem(t_h(&h, "POST", "/objects/77", NULL, NULL), 405);
    expect_any_problem(t_h(&h, "POST", t_fmt("/objects/%llu/refs", U(t)), NULL, t_fmt("{\"target\": %llu}", U(t))),
                       409);
    expect_any_problem(t_h(&h, "POST", "/batch", NULL, "{\"ops\": [1, 2, 3]}"), 413);
    expect_any_problem(t_req(api, "POST", "/v1/heaps", NULL, NULL, NULL), 503);
    t_resp big = t_h(&h, "POST", "/objects", NULL, "{\"type\": \"bytes\", \"size\": 100000, \"name\": \"b\"}");
    expect_any_problem(big, 507);
    ck_assert_str_eq(t_str(big.json, "type"), "/problems/memory-error");
    t_expect(t_h(&h, "GET", "/names/b", NULL, NULL), 404);
    /* small objects still fit */
    t_create(&h, "{\"type\": \"bytes\", \"size\": 100, \"name\": \"small\"}");
}
END_TEST

START_TEST(query_decoding)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t v = t_create(&h, "{\"type\": \"int\", \"value\": 31337, \"name\": \"v\"}");
    uint64_t d = t_create(&h, t_fmt("{\"type\": \"dict\", \"items\": {\"a&b=c\": %llu, \"x y\": %llu, \"caf\\u00e9\": %llu},"
                                    " \"name\": \"d\"}",
                                    U(v), U(v), U(v)));
    const char *refs = t_fmt("/objects/%llu/refs", U(d));
    t_expect(t_h(&h, "DELETE", refs, "key=a%26b%3Dc", NULL), 200);
    t_expect(t_h(&h, "DELETE", refs, "key=x+y", NULL), 200);
    t_expect(t_h(&h, "DELETE", refs, "other=1&key=caf%C3%A9", NULL), 200);
    ck_assert_int_eq(t_int(t_obj(&h, d), "length"), 0);
    t_expect_rc(&h, v, 1);
    /* a stray percent is taken literally */
    t_expect_problem(t_h(&h, "DELETE", refs, "key=100%", NULL), 404, "key-error");
    t_expect_problem(t_h(&h, "DELETE", refs, "key=%zz", NULL), 404, "key-error");
    /* a parameter named like the start of another is not confused with it */
    t_expect_problem(t_h(&h, "DELETE", refs, "keys=a", NULL), 400, "invalid-field");
    t_expect(t_h(&h, "GET", "/objects", "types=list", NULL), 200);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-errors");
    TCase *tc = t_tcase("errors", 30);
    tcase_add_test(tc, malformed_json);
    tcase_add_test(tc, non_object_bodies);
    tcase_add_test(tc, huge_numbers);
    tcase_add_test(tc, deep_nesting);
    tcase_add_test(tc, wrong_field_types);
    tcase_add_test(tc, unknown_fields);
    tcase_add_test(tc, unknown_routes);
    tcase_add_test(tc, wrong_methods);
    tcase_add_test(tc, every_error_is_a_problem);
    tcase_add_test(tc, query_decoding);
    suite_add_tcase(s, tc);
    return t_run(s);
}
