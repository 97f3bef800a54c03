/* test_heaps.c — /v1/heaps: creation, options, listing, authentication,
 * deletion and the server-wide limits. */
#include <ctype.h>

#include "apitest.h"

static bool id_shaped(const char *id, const char *prefix)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen && strncmp(id, prefix, plen) != 0)
        return false;
    if (strlen(id) != plen + 10)
        return false;
    for (const char *p = id + plen; *p; p++)
        if (strchr("abcdefghjkmnpqrstuvwxyz23456789", *p) == NULL)
            return false;
    return true;
}

static bool token_shaped(const char *t)
{
    if (strlen(t) != 64)
        return false;
    for (; *t; t++)
        if (!isxdigit((unsigned char)*t) || isupper((unsigned char)*t))
            return false;
    return true;
}

START_TEST(create_without_body)
{
    hl_api *api = t_api();
    t_resp r = t_req(api, "POST", "/v1/heaps", NULL, NULL, NULL);
    t_expect(r, 201);
    ck_assert_str_eq(r.ctype, "application/json");
    const char *id = t_str(r.json, "id");
    ck_assert_msg(id_shaped(id, NULL), "id '%s'", id);
    ck_assert(token_shaped(t_str(r.json, "token")));
    ck_assert_str_eq(t_str(r.json, "name"), "");
    ck_assert_str_eq(r.location, t_fmt("/v1/heaps/%s", id));
    ck_assert_int_eq(json_object_size(r.json), 3);
}
END_TEST

START_TEST(create_with_name_limits_gc)
{
    hl_api *api = t_api();
    t_resp r = t_req(api, "POST", "/v1/heaps", NULL, NULL,
                     "{\"name\": \"lesson\", \"limits\": {\"max_objects\": 50, \"max_bytes\": 1000000},"
                     " \"gc\": {\"thresholds\": [100, 5, 3], \"enabled\": false}}");
    t_expect(r, 201);
    ck_assert_str_eq(t_str(r.json, "name"), "lesson");
    t_heap h = {.api = api};
    snprintf(h.id, sizeof h.id, "%s", t_str(r.json, "id"));
    snprintf(h.token, sizeof h.token, "%s", t_str(r.json, "token"));
    snprintf(h.base, sizeof h.base, "/v1/heaps/%s", h.id);

    t_resp g = t_h(&h, "GET", "", NULL, NULL);
    t_expect(g, 200);
    ck_assert_str_eq(t_str(g.json, "name"), "lesson");
    json_t *gc = t_get(g.json, "gc");
    ck_assert(!t_bool(gc, "enabled"));
    json_t *th = t_get(gc, "thresholds");
    ck_assert_int_eq(json_array_size(th), 3);
    ck_assert_int_eq(json_integer_value(json_array_get(th, 0)), 100);
    ck_assert_int_eq(json_integer_value(json_array_get(th, 1)), 5);
    ck_assert_int_eq(json_integer_value(json_array_get(th, 2)), 3);

    /* max_objects is enforced: creation stops with 507 before 50 objects are exceeded. */
    t_resp c = t_h(&h, "POST", "/objects", NULL, "{\"type\": \"list\", \"name\": \"keep\"}");
    t_expect(c, 201);
    int made = 0, status = 201;
    for (int i = 0; i < 100 && status == 201; i++) {
        t_resp a = t_h(&h, "POST", "/objects", NULL, t_fmt("{\"type\": \"list\", \"name\": \"n%d\"}", i));
        status = a.status;
        if (status == 201)
            made++;
        else
            t_expect_problem(a, 507, "memory-error");
    }
    ck_assert_int_eq(status, 507);
    ck_assert_int_lt(made, 50);
    t_resp g2 = t_h(&h, "GET", "", NULL, NULL);
    ck_assert_int_le(t_int(g2.json, "objects"), 50);
    ck_assert_int_eq(t_int(g2.json, "names"), made + 1);
}
END_TEST

START_TEST(create_rejects_bad_options)
{
    hl_api *api = t_api();
    static const char *const bad[] = {
        "{\"name\": 5}",
        "{\"limits\": 3}",
        "{\"limits\": {\"max_objects\": 0}}",
        "{\"limits\": {\"max_objects\": -4}}",
        "{\"limits\": {\"max_bytes\": \"big\"}}",
        "{\"gc\": {\"thresholds\": []}}",
        "{\"gc\": {\"thresholds\": [1, 2, 3, 4]}}",
        "{\"gc\": {\"thresholds\": [1, 2, -3]}}",
        "{\"gc\": {\"enabled\": \"yes\"}}",
        "{\"gc\": []}",
        "{\"colour\": \"red\"}",
        "[]",
        "{\"name\": \"x\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t_resp r = t_req(api, "POST", "/v1/heaps", NULL, NULL, bad[i]);
        ck_assert_msg(r.status == 400, "%s: got %d", bad[i], r.status);
        ck_assert_str_eq(r.ctype, "application/problem+json");
    }
    char longname[160];
    memset(longname, 'n', 101);
    longname[101] = '\0';
    t_expect(t_req(api, "POST", "/v1/heaps", NULL, NULL, t_fmt("{\"name\": \"%s\"}", longname)), 400);
    t_resp l = t_req(api, "GET", "/v1/heaps", NULL, T_ADMIN, NULL);
    ck_assert_int_eq(json_array_size(t_get(l.json, "heaps")), 0);
}
END_TEST

/* Unknown members inside "limits" and "gc" are refused like unknown
 * top-level fields (apply.h: "no unknown fields"). */
START_TEST(create_rejects_unknown_nested_fields)
{
    hl_api *api = t_api();
    /* regression test for api bug 1 (nested unknown fields were accepted; fixed in the tree meanwhile) */
    t_expect_problem(t_req(api, "POST", "/v1/heaps", NULL, NULL, "{\"limits\": {\"max_object\": 5}}"), 400,
                     "unknown-field");
    t_expect_problem(t_req(api, "POST", "/v1/heaps", NULL, NULL, "{\"gc\": {\"treshold\": [1, 1, 1]}}"), 400,
                     "unknown-field");
}
END_TEST

START_TEST(server_limits_cap_heap_limits)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .max_objects = 20};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_expect(t_req(api, "POST", "/v1/heaps", NULL, NULL, "{\"limits\": {\"max_objects\": 21}}"), 400);
    t_expect(t_req(api, "POST", "/v1/heaps", NULL, NULL, "{\"limits\": {\"max_objects\": 20}}"), 201);
    /* the server default applies to heaps that ask for nothing */
    t_heap h = t_new_heap(api, NULL);
    int status = 201, made = 0;
    for (int i = 0; i < 40 && status == 201; i++) {
        status = t_h(&h, "POST", "/objects", NULL, t_fmt("{\"type\": \"list\", \"name\": \"n%d\"}", i)).status;
        made += status == 201;
    }
    ck_assert_int_eq(status, 507);
    ck_assert_int_le(made, 20);
}
END_TEST

START_TEST(shard_prefixes_ids)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .shard = "s2"};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_new_heap(api, NULL);
    ck_assert_msg(id_shaped(h.id, "s2-"), "id '%s'", h.id);
    t_expect(t_h(&h, "GET", "", NULL, NULL), 200);
}
END_TEST

START_TEST(ids_and_tokens_are_unique)
{
    hl_api *api = t_api();
    t_heap a = t_new_heap(api, NULL), b = t_new_heap(api, NULL);
    ck_assert_str_ne(a.id, b.id);
    ck_assert_str_ne(a.token, b.token);
}
END_TEST

START_TEST(list_is_admin_only)
{
    hl_api *api = t_api();
    t_heap a = t_new_heap(api, "{\"name\": \"alpha\"}");
    t_heap b = t_new_heap(api, "{\"name\": \"beta\"}");

    t_resp anon = t_req(api, "GET", "/v1/heaps", NULL, NULL, NULL);
    t_expect_problem(anon, 401, "unauthorized");
    ck_assert(anon.challenge);

    t_resp heap_token = t_req(api, "GET", "/v1/heaps", NULL, a.token, NULL);
    t_expect_problem(heap_token, 403, "forbidden");
    ck_assert(!heap_token.challenge);

    t_expect_problem(t_req(api, "GET", "/v1/heaps", NULL, "nonsense", NULL), 403, "forbidden");
    t_resp basic = t_req_full(api, "GET", "/v1/heaps", NULL, "Basic YWRtaW46YWRtaW4=", NULL, NULL, 0);
    t_expect_problem(basic, 401, "unauthorized");

    t_resp ok = t_req(api, "GET", "/v1/heaps", NULL, T_ADMIN, NULL);
    t_expect(ok, 200);
    json_t *heaps = t_get(ok.json, "heaps");
    ck_assert_int_eq(json_array_size(heaps), 2);
    bool seen_a = false, seen_b = false;
    size_t i;
    json_t *e;
    json_array_foreach(heaps, i, e) {
        const char *id = t_str(e, "id");
        seen_a |= strcmp(id, a.id) == 0 && strcmp(t_str(e, "name"), "alpha") == 0;
        seen_b |= strcmp(id, b.id) == 0 && strcmp(t_str(e, "name"), "beta") == 0;
        ck_assert_int_ge(t_int(e, "objects"), 0);
        ck_assert_int_ge(t_int(e, "bytes"), 0);
        ck_assert(json_object_get(e, "token") == NULL);
    }
    ck_assert(seen_a && seen_b);
    /* the scheme is case-insensitive */
    t_expect(t_req_full(api, "GET", "/v1/heaps", NULL, "bearer " T_ADMIN, NULL, NULL, 0), 200);
}
END_TEST

START_TEST(list_counts_objects)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp before = t_req(api, "GET", "/v1/heaps", NULL, T_ADMIN, NULL);
    json_int_t o0 = t_int(json_array_get(t_get(before.json, "heaps"), 0), "objects");
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_create(&h, "{\"type\": \"str\", \"value\": \"hello\", \"name\": \"b\"}");
    t_resp after = t_req(api, "GET", "/v1/heaps", NULL, T_ADMIN, NULL);
    json_t *e = json_array_get(t_get(after.json, "heaps"), 0);
    ck_assert_int_eq(t_int(e, "objects"), o0 + 2);
    ck_assert_int_gt(t_int(e, "bytes"), 0);
}
END_TEST

START_TEST(get_heap_shape)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, "{\"name\": \"shape\"}");
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_resp r = t_h(&h, "GET", "", NULL, NULL);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    ck_assert_str_eq(t_str(r.json, "id"), h.id);
    ck_assert_str_eq(t_str(r.json, "name"), "shape");
    ck_assert_int_ge(t_int(r.json, "objects"), 1);
    ck_assert_int_gt(t_int(r.json, "bytes"), 0);
    ck_assert_int_eq(t_int(r.json, "names"), 1);
    ck_assert(json_object_get(r.json, "token") == NULL);
    json_t *gc = t_get(r.json, "gc");
    ck_assert(t_bool(gc, "enabled"));
    ck_assert_int_eq(json_integer_value(json_array_get(t_get(gc, "thresholds"), 0)), 700);
    ck_assert_int_eq(json_array_size(t_get(gc, "stats")), 3);
    json_t *mem = t_get(r.json, "memory");
    ck_assert(json_is_object(mem));
    ck_assert_int_eq(t_int(mem, "bytes_in_use"), t_int(r.json, "bytes"));
    /* admin opens it too */
    t_expect(t_req(api, "GET", h.base, NULL, T_ADMIN, NULL), 200);
}
END_TEST

START_TEST(delete_then_gone)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_resp d = t_h(&h, "DELETE", "", NULL, NULL);
    t_expect(d, 204);
    ck_assert_int_eq(d.len, 0);
    t_expect_problem(t_h(&h, "GET", "", NULL, NULL), 404, "no-such-heap");
    t_expect_problem(t_h(&h, "GET", "/objects", NULL, NULL), 404, "no-such-heap");
    t_expect_problem(t_h(&h, "DELETE", "", NULL, NULL), 404, "no-such-heap");
    t_resp l = t_req(api, "GET", "/v1/heaps", NULL, T_ADMIN, NULL);
    ck_assert_int_eq(json_array_size(t_get(l.json, "heaps")), 0);
    hl_api_stats st;
    hl_api_get_stats(api, &st);
    ck_assert_int_eq(st.heaps, 0);
    ck_assert_int_eq(st.heaps_created_total, 1);
    ck_assert_int_eq(st.heaps_deleted_total, 1);
}
END_TEST

START_TEST(delete_needs_the_token)
{
    hl_api *api = t_api();
    t_heap a = t_new_heap(api, NULL), b = t_new_heap(api, NULL);
    t_resp anon = t_req(api, "DELETE", a.base, NULL, NULL, NULL);
    t_expect_problem(anon, 401, "unauthorized");
    ck_assert(anon.challenge);
    t_expect_problem(t_req(api, "DELETE", a.base, NULL, b.token, NULL), 403, "forbidden");
    t_expect(t_h(&a, "GET", "", NULL, NULL), 200);
    t_expect(t_req(api, "DELETE", a.base, NULL, T_ADMIN, NULL), 204);
    t_expect(t_h(&b, "GET", "", NULL, NULL), 200);
}
END_TEST

START_TEST(tokens_open_only_their_heap)
{
    hl_api *api = t_api();
    t_heap a = t_new_heap(api, NULL), b = t_new_heap(api, NULL);
    static const char *const subs[] = {"", "/objects", "/names", "/gc", "/memory", "/events"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        const char *path = t_fmt("%s%s", a.base, subs[i]);
        t_resp cross = t_req(api, "GET", path, NULL, b.token, NULL);
        t_expect_problem(cross, 403, "forbidden");
        t_resp anon = t_req(api, "GET", path, NULL, NULL, NULL);
        t_expect_problem(anon, 401, "unauthorized");
        ck_assert(anon.challenge);
        t_expect_problem(t_req(api, "GET", path, NULL, "0000", NULL), 403, "forbidden");
        t_expect_problem(t_req(api, "GET", path, NULL, "", NULL), 401, "unauthorized");   /* "Bearer " alone */
        /* a token that differs only in its last character */
        char near[80];
        snprintf(near, sizeof near, "%s", a.token);
        near[63] = near[63] == '0' ? '1' : '0';
        t_expect_problem(t_req(api, "GET", path, NULL, near, NULL), 403, "forbidden");
        t_expect(t_req(api, "GET", path, NULL, a.token, NULL), 200);
        t_expect(t_req(api, "GET", path, NULL, T_ADMIN, NULL), 200);
    }
    /* a mutation with the wrong token changes nothing */
    t_expect(t_req(api, "POST", t_fmt("%s/objects", a.base), NULL, b.token, "{\"type\":\"list\",\"name\":\"x\"}"),
             403);
    t_resp names = t_h(&a, "GET", "/names", NULL, NULL);
    ck_assert_int_eq(json_object_size(t_get(names.json, "names")), 0);
    /* the unknown heap is 404 whatever the token */
    t_expect_problem(t_req(api, "GET", "/v1/heaps/nosuchheap", NULL, a.token, NULL), 404, "no-such-heap");
}
END_TEST

START_TEST(no_admin_token_configured)
{
    hl_api_config cfg = {0};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_new_heap(api, NULL);
    t_expect(t_req(api, "GET", "/v1/heaps", NULL, "", NULL), 401);
    t_expect(t_req(api, "GET", "/v1/heaps", NULL, h.token, NULL), 403);
    t_expect(t_req(api, "GET", "/v1/heaps", NULL, NULL, NULL), 401);
    t_expect(t_h(&h, "GET", "", NULL, NULL), 200);
}
END_TEST

START_TEST(no_auth_opens_everything)
{
    hl_api_config cfg = {.no_auth = true};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_new_heap(api, NULL);
    t_expect(t_req(api, "GET", "/v1/heaps", NULL, NULL, NULL), 200);
    t_expect(t_req(api, "GET", h.base, NULL, NULL, NULL), 200);
    t_expect(t_req(api, "GET", h.base, NULL, "whatever", NULL), 200);
    t_expect(t_req(api, "POST", t_fmt("%s/objects", h.base), NULL, NULL, "{\"type\":\"list\",\"name\":\"a\"}"), 201);
    t_expect(t_req(api, "DELETE", h.base, NULL, NULL, NULL), 204);
}
END_TEST

START_TEST(max_heaps_refuses_with_503)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .max_heaps = 2};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap a = t_new_heap(api, NULL);
    t_new_heap(api, NULL);
    t_resp full = t_req(api, "POST", "/v1/heaps", NULL, NULL, NULL);
    t_expect_problem(full, 503, "too-many-heaps");
    ck_assert_str_eq(full.location, "");
    t_expect(t_h(&a, "DELETE", "", NULL, NULL), 204);
    t_new_heap(api, NULL);
    t_expect(t_req(api, "POST", "/v1/heaps", NULL, NULL, NULL), 503);
    hl_api_stats st;
    hl_api_get_stats(api, &st);
    ck_assert_int_eq(st.heaps, 2);
}
END_TEST

START_TEST(heap_methods)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_resp r = t_h(&h, "PUT", "", NULL, "{}");
    t_expect_problem(r, 405, "method-not-allowed");
    ck_assert_str_eq(r.allow, "GET, DELETE");
    t_resp l = t_req(api, "DELETE", "/v1/heaps", NULL, T_ADMIN, NULL);
    t_expect_problem(l, 405, "method-not-allowed");
    ck_assert_str_eq(l.allow, "GET, POST");
}
END_TEST

START_TEST(stats_count_heaps_and_objects)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    hl_api_stats s0;
    hl_api_get_stats(api, &s0);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", (unsigned long long)a));
    t_unbind(&h, "a");
    t_collect(&h);
    hl_api_stats s1;
    hl_api_get_stats(api, &s1);
    ck_assert_int_eq(s1.heaps, 1);
    ck_assert_int_eq(s1.objects, s0.objects);
    ck_assert_int_ge(s1.ops_total, s0.ops_total + 4);
    ck_assert_int_ge(s1.collections_total, s0.collections_total + 1);
    ck_assert_int_ge(s1.collected_total, s0.collected_total + 1);
}
END_TEST

START_TEST(digest_route)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api), other = t_quiet_heap(api);
    t_resp r = t_h(&h, "GET", "/digest", NULL, NULL);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    ck_assert_int_eq(json_object_size(r.json), 3);
    const char *d0 = t_str(r.json, "digest");
    ck_assert_uint_eq(strlen(d0), 32);
    ck_assert_uint_eq(strspn(d0, "0123456789abcdef"), 32);
    t_resp heap = t_h(&h, "GET", "", NULL, NULL);
    ck_assert_int_eq(t_int(r.json, "objects"), t_int(heap.json, "objects"));
    /* reading (the digest included) changes nothing; a mutation does */
    ck_assert_str_eq(t_str(t_h(&h, "GET", "/digest", NULL, NULL).json, "digest"), d0);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_resp r1 = t_h(&h, "GET", "/digest", NULL, NULL);
    t_expect(r1, 200);
    ck_assert_str_ne(t_str(r1.json, "digest"), d0);
    ck_assert_int_eq(t_int(r1.json, "next_id"), (json_int_t)a + 1);
    ck_assert_int_eq(t_int(r1.json, "objects"), t_int(r.json, "objects") + 1);

    t_resp post = t_h(&h, "POST", "/digest", NULL, "{}");
    t_expect_problem(post, 405, "method-not-allowed");
    ck_assert_str_eq(post.allow, "GET");
    t_resp below = t_h(&h, "GET", "/digest/x", NULL, NULL);
    t_expect_problem(below, 404, "not-found");
    t_detail_has(below, "digest");
    t_expect_problem(t_req(api, "GET", "/v1/heaps/nosuchheap/digest", NULL, h.token, NULL), 404, "no-such-heap");
    const char *path = t_fmt("%s/digest", h.base);
    t_resp anon = t_req(api, "GET", path, NULL, NULL, NULL);
    t_expect_problem(anon, 401, "unauthorized");
    ck_assert(anon.challenge);
    t_expect_problem(t_req(api, "GET", path, NULL, other.token, NULL), 403, "forbidden");
    t_expect(t_req(api, "GET", path, NULL, T_ADMIN, NULL), 200);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-heaps");
    TCase *tc = t_tcase("heaps", 30);
    tcase_add_test(tc, create_without_body);
    tcase_add_test(tc, create_with_name_limits_gc);
    tcase_add_test(tc, create_rejects_bad_options);
    tcase_add_test(tc, create_rejects_unknown_nested_fields);
    tcase_add_test(tc, server_limits_cap_heap_limits);
    tcase_add_test(tc, shard_prefixes_ids);
    tcase_add_test(tc, ids_and_tokens_are_unique);
    tcase_add_test(tc, list_is_admin_only);
    tcase_add_test(tc, list_counts_objects);
    tcase_add_test(tc, get_heap_shape);
    tcase_add_test(tc, delete_then_gone);
    tcase_add_test(tc, delete_needs_the_token);
    tcase_add_test(tc, tokens_open_only_their_heap);
    tcase_add_test(tc, no_admin_token_configured);
    tcase_add_test(tc, no_auth_opens_everything);
    tcase_add_test(tc, max_heaps_refuses_with_503);
    tcase_add_test(tc, heap_methods);
    tcase_add_test(tc, stats_count_heaps_and_objects);
    tcase_add_test(tc, digest_route);
    suite_add_tcase(s, tc);
    return t_run(s);
}
