/* test_gc.c — the collector (/gc, /gc/collect, freeze, unfreeze) and the
 * allocator statistics (/memory). */
#include "apitest.h"

#define U(x) ((unsigned long long)(x))

static int th(json_t *gc, size_t i)
{
    return (int)json_integer_value(json_array_get(t_get(gc, "thresholds"), i));
}

START_TEST(gc_shape)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_resp r = t_h(&h, "GET", "/gc", NULL, NULL);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    ck_assert(t_bool(r.json, "enabled"));
    ck_assert_int_eq(json_array_size(t_get(r.json, "thresholds")), 3);
    ck_assert_int_eq(th(r.json, 0), 700);
    ck_assert_int_eq(th(r.json, 1), 10);
    ck_assert_int_eq(th(r.json, 2), 10);
    ck_assert_int_eq(json_array_size(t_get(r.json, "count")), 3);
    json_t *stats = t_get(r.json, "stats");
    ck_assert_int_eq(json_array_size(stats), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(stats, i);
        ck_assert_int_eq(t_int(s, "collections"), 0);
        ck_assert_int_eq(t_int(s, "collected"), 0);
        ck_assert_int_eq(t_int(s, "uncollectable"), 0);
    }
    ck_assert_int_eq(t_int(r.json, "frozen"), 0);
    ck_assert(json_is_null(t_get(r.json, "last_collection")));
}
END_TEST

START_TEST(gc_patch)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_resp r = t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [500, 20, 30], \"enabled\": false}");
    t_expect(r, 200);
    ck_assert(!t_bool(r.json, "enabled"));
    ck_assert_int_eq(th(r.json, 0), 500);
    ck_assert_int_eq(th(r.json, 2), 30);
    /* as gc.set_threshold(t0): the others stay */
    t_resp one = t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [1]}");
    t_expect(one, 200);
    ck_assert_int_eq(th(one.json, 0), 1);
    ck_assert_int_eq(th(one.json, 1), 20);
    ck_assert(!t_bool(one.json, "enabled"));
    t_resp en = t_h(&h, "PATCH", "/gc", NULL, "{\"enabled\": true}");
    ck_assert(t_bool(en.json, "enabled"));
    /* the GET agrees */
    t_resp g = t_h(&h, "GET", "/gc", NULL, NULL);
    ck_assert(json_equal(t_get(g.json, "thresholds"), t_get(en.json, "thresholds")));

    static const char *const bad[] = {
        "{\"thresholds\": []}",           "{\"thresholds\": [1, 2, 3, 4]}", "{\"thresholds\": [-1]}",
        "{\"thresholds\": [1000000001]}", "{\"thresholds\": \"700\"}",      "{\"thresholds\": [1.5]}",
        "{\"enabled\": 1}",               "{\"colour\": 1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t_resp b = t_h(&h, "PATCH", "/gc", NULL, bad[i]);
        ck_assert_msg(b.status == 400, "%s: %d", bad[i], b.status);
        ck_assert_str_eq(b.ctype, "application/problem+json");
    }
    t_expect_problem(t_h(&h, "PATCH", "/gc", NULL, NULL), 400, "invalid-body");
    /* nothing changed */
    t_resp after = t_h(&h, "GET", "/gc", NULL, NULL);
    ck_assert(json_equal(after.json, g.json));
    t_resp m = t_h(&h, "PUT", "/gc", NULL, "{}");
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "GET, PATCH");
}
END_TEST

/* The classic lesson: a list that holds itself outlives its name until the
 * collector finds the cycle. */
START_TEST(cycle_lesson)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(a)));
    t_expect_rc(&h, a, 2);
    json_t *o = t_obj(&h, a);
    ck_assert(t_array_has(t_get(o, "referrers"), (json_int_t)a));
    ck_assert(t_array_has(t_get(o, "referents"), (json_int_t)a));
    t_unbind(&h, "a");
    json_t *still = t_obj(&h, a);
    ck_assert(t_bool(still, "alive"));
    ck_assert_int_eq(t_int(still, "refcount"), 1);
    ck_assert_int_eq(json_array_size(t_get(still, "names")), 0);

    json_t *c = t_collect(&h);
    ck_assert_int_eq(t_int(c, "collected"), 1);
    ck_assert_int_eq(t_int(c, "uncollectable"), 0);
    ck_assert_int_eq(t_int(c, "generation"), 2);
    ck_assert_int_ge(t_int(c, "duration_us"), 0);
    ck_assert_int_ge(t_int(c, "examined"), 1);
    t_expect_freed(&h, a);

    t_resp g = t_h(&h, "GET", "/gc", NULL, NULL);
    json_t *s2 = json_array_get(t_get(g.json, "stats"), 2);
    ck_assert_int_eq(t_int(s2, "collections"), 1);
    ck_assert_int_eq(t_int(s2, "collected"), 1);
    json_t *last = t_get(g.json, "last_collection");
    ck_assert_int_eq(t_int(last, "collected"), 1);
    ck_assert(!t_bool(last, "automatic"));
    /* a second collection finds nothing */
    ck_assert_int_eq(t_int(t_collect(&h), "collected"), 0);
}
END_TEST

START_TEST(collect_generations)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    for (int g = 0; g <= 2; g++) {
        t_resp r = t_h(&h, "POST", "/gc/collect", NULL, t_fmt("{\"generation\": %d}", g));
        t_expect(r, 200);
        ck_assert_int_eq(t_int(r.json, "generation"), g);
    }
    t_resp gc = t_h(&h, "GET", "/gc", NULL, NULL);
    for (size_t g = 0; g < 3; g++)
        ck_assert_int_eq(t_int(json_array_get(t_get(gc.json, "stats"), g), "collections"), 1);
    t_expect_problem(t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": 3}"), 400, "invalid-field");
    t_expect_problem(t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": -1}"), 400, "invalid-field");
    t_expect_problem(t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": \"2\"}"), 400, "invalid-field");
    t_expect_problem(t_h(&h, "POST", "/gc/collect", NULL, "{\"gen\": 2}"), 400, "unknown-field");
    t_expect(t_h(&h, "POST", "/gc/collect", NULL, "{}"), 200);
    t_resp m = t_h(&h, "GET", "/gc/collect", NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "POST");
    t_expect_problem(t_h(&h, "POST", "/gc/sweep", NULL, NULL), 404, "not-found");
    /* a young collection leaves an old cycle alone */
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(a)));
    t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": 0}");   /* survives: moves to generation 1 */
    ck_assert_int_eq(t_int(t_obj(&h, a), "generation"), 1);
    t_unbind(&h, "a");
    t_resp g0 = t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": 0}");
    ck_assert_int_eq(t_int(g0.json, "collected"), 0);
    t_expect_rc(&h, a, 1);
    t_resp g1 = t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": 1}");
    ck_assert_int_eq(t_int(g1.json, "collected"), 1);
    t_expect_freed(&h, a);
}
END_TEST

START_TEST(freeze_unfreeze)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(a)));
    t_resp f = t_h(&h, "POST", "/gc/freeze", NULL, NULL);
    t_expect(f, 200);
    ck_assert_int_ge(t_int(f.json, "frozen"), 1);
    ck_assert_str_eq(t_str(t_obj(&h, a), "generation"), "permanent");
    t_unbind(&h, "a");
    /* frozen objects are never collected */
    ck_assert_int_eq(t_int(t_collect(&h), "collected"), 0);
    t_expect_rc(&h, a, 1);
    t_resp u = t_h(&h, "POST", "/gc/unfreeze", NULL, "{}");
    t_expect(u, 200);
    ck_assert_int_eq(t_int(u.json, "frozen"), 0);
    ck_assert_int_eq(t_int(t_obj(&h, a), "generation"), 2);
    ck_assert_int_eq(t_int(t_collect(&h), "collected"), 1);
    t_expect_freed(&h, a);
    t_expect_problem(t_h(&h, "POST", "/gc/freeze", NULL, "{\"all\": true}"), 400, "unknown-field");
}
END_TEST

START_TEST(automatic_collection)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, "{\"gc\": {\"thresholds\": [10, 10, 10]}}");
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(a)));
    t_unbind(&h, "a");
    for (int i = 0; i < 30; i++)
        t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"n%d\"}", i));
    t_expect_freed(&h, a);
    t_resp g = t_h(&h, "GET", "/gc", NULL, NULL);
    ck_assert_int_ge(t_int(json_array_get(t_get(g.json, "stats"), 0), "collections"), 1);
    ck_assert(t_bool(t_get(g.json, "last_collection"), "automatic"));
}
END_TEST

START_TEST(memory_json)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_create(&h, "{\"type\": \"bytes\", \"size\": 4000, \"name\": \"big\"}");
    t_resp r = t_h(&h, "GET", "/memory", NULL, NULL);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    json_t *ar = t_get(r.json, "arenas");
    ck_assert_int_ge(t_int(ar, "allocated"), 1);
    ck_assert_int_ge(t_int(ar, "reclaimed"), 0);
    ck_assert_int_ge(t_int(ar, "highwater"), 1);
    ck_assert_int_ge(t_int(ar, "in_use"), 1);
    ck_assert_int_eq(t_int(ar, "size"), 1 << 20);
    json_t *pools = t_get(r.json, "pools");
    ck_assert_int_eq(t_int(pools, "size"), 16384);
    ck_assert_int_ge(t_int(pools, "in_use"), 1);
    ck_assert_int_ge(t_int(pools, "empty"), 0);
    json_t *classes = t_get(r.json, "size_classes");
    ck_assert_int_ge(json_array_size(classes), 1);
    size_t i;
    json_t *c;
    json_int_t used = 0;
    json_array_foreach(classes, i, c) {
        json_int_t idx = t_int(c, "index");
        ck_assert(idx >= 0 && idx < 32);
        ck_assert_int_eq(t_int(c, "size"), (idx + 1) * 16);
        ck_assert_int_ge(t_int(c, "pools"), 1);
        ck_assert_int_ge(t_int(c, "free_blocks"), 0);
        used += t_int(c, "used_blocks") * t_int(c, "size");
    }
    json_t *large = t_get(r.json, "large");
    ck_assert_int_ge(t_int(large, "count"), 1);
    ck_assert_int_ge(t_int(large, "bytes"), 4033);
    ck_assert_int_eq(t_int(r.json, "bytes_in_use"), used + t_int(large, "bytes"));
    t_resp heap = t_h(&h, "GET", "", NULL, NULL);
    ck_assert_int_eq(t_int(heap.json, "bytes"), t_int(r.json, "bytes_in_use"));
    t_expect(t_h(&h, "GET", "/memory", "format=json", NULL), 200);
}
END_TEST

START_TEST(memory_text)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_resp r = t_h(&h, "GET", "/memory", "format=text", NULL);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "text/plain; charset=utf-8");
    const char *want = "Small block threshold = 512, in 32 size classes.";
    ck_assert_msg(strncmp(r.text, want, strlen(want)) == 0, "text starts '%.80s'", r.text);
    ck_assert_int_eq(r.len, strlen(r.text));
    ck_assert_ptr_null(r.json);
    t_expect_problem(t_h(&h, "GET", "/memory", "format=xml", NULL), 400, "invalid-query");
    t_resp m = t_h(&h, "POST", "/memory", NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "GET");
}
END_TEST

START_TEST(memory_returns_after_free)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp before = t_h(&h, "GET", "/memory", NULL, NULL);
    json_int_t b0 = t_int(before.json, "bytes_in_use");
    t_resp batch = t_h(&h, "POST", "/batch", NULL,
                       "{\"ops\": [{\"op\": \"create\", \"type\": \"list\", \"name\": \"root\"}]}");
    t_expect(batch, 200);
    uint64_t root = (uint64_t)t_int(json_array_get(t_get(batch.json, "results"), 0), "id");
    for (int i = 0; i < 200; i++)
        t_create(&h, t_fmt("{\"type\": \"str\", \"value\": \"string number %d\", \"name\": \"tmp\"}", i));
    t_ref(&h, root, t_fmt("{\"target\": %llu}", U(root)));
    t_unbind(&h, "root");
    t_unbind(&h, "tmp");
    t_collect(&h);
    t_resp after = t_h(&h, "GET", "/memory", NULL, NULL);
    ck_assert_int_eq(t_int(after.json, "bytes_in_use"), b0);
}
END_TEST

/* POST /gc/collect {"explain": true}: the lesson's self-referencing list,
 * step by step (core's tests work the algorithm through; this checks the
 * JSON), the 400s, and the batch op that shares the endpoint's code. */
START_TEST(collect_explain)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t keep = t_create(&h, "{\"type\": \"list\", \"name\": \"keep\"}");
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(a)));
    t_unbind(&h, "a");
    t_resp r = t_h(&h, "POST", "/gc/collect", NULL, "{\"explain\": true}");
    t_expect(r, 200);
    ck_assert_int_eq(t_int(r.json, "collected"), 1);
    ck_assert_int_eq(t_int(r.json, "examined"), 2);
    json_t *want = t_keepj(json_pack(
        "{s:i,s:i,s:i,s:i,s:[s,s,s,s,s,s,s],"
        "s:[{s:I,s:s,s:i,s:i,s:s,s:n},{s:I,s:s,s:i,s:i,s:s,s:n}],"
        "s:[{s:s,s:I,s:i},{s:s,s:I,s:i},{s:s,s:I,s:i},{s:s,s:I,s:i},"
        "{s:s,s:I,s:s},{s:s,s:I,s:s},{s:s,s:I,s:s}],"
        "s:{s:i,s:i,s:i,s:i,s:i}}",
        "generation", 2, "examined", 2, "explained", 2, "omitted", 0, "phases", "update_refs", "subtract_refs",
        "move_unreachable", "weakrefs", "finalizers", "resurrection", "delete", "objects", "id", (json_int_t)keep,
        "type", "list", "refcount", 1, "gc_refs", 1, "verdict", "reachable", "reachable_from", "id", (json_int_t)a,
        "type", "list", "refcount", 1, "gc_refs", 0, "verdict", "freed", "reachable_from", "timeline", "phase",
        "update_refs", "id", (json_int_t)keep, "gc_refs", 1, "phase", "update_refs", "id", (json_int_t)a,
        "gc_refs", 1, "phase", "subtract_refs", "id", (json_int_t)keep, "gc_refs", 1, "phase", "subtract_refs",
        "id", (json_int_t)a, "gc_refs", 0, "phase", "move_unreachable", "id", (json_int_t)keep, "state",
        "reachable", "phase", "move_unreachable", "id", (json_int_t)a, "state", "tentatively_unreachable",
        "phase", "delete", "id", (json_int_t)a, "state", "freed", "omitted_by_verdict", "reachable", 0, "freed",
        0, "resurrected", 0, "uncollectable", 0, "untracked", 0));
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(json_equal(t_get(r.json, "explain"), want), "explain: %s", t_dump(t_get(r.json, "explain")));
    /* Not asked, not explained. */
    ck_assert_ptr_null(json_object_get(t_collect(&h), "explain"));
    t_resp off = t_h(&h, "POST", "/gc/collect", NULL, "{\"explain\": false, \"explain_limit\": 5}");
    t_expect(off, 200);
    ck_assert_ptr_null(json_object_get(off.json, "explain"));
    /* A limit of 1 explains keep and counts nothing else: a is gone. */
    t_resp one = t_h(&h, "POST", "/gc/collect", NULL, "{\"generation\": 2, \"explain\": true, \"explain_limit\": 1}");
    t_expect(one, 200);
    ck_assert_int_eq(json_array_size(t_get(t_get(one.json, "explain"), "objects")), 1);

    static const char *const bad_explain[] = {"{\"explain\": 1}", "{\"explain\": \"true\"}", "{\"explain\": null}"};
    for (size_t i = 0; i < sizeof bad_explain / sizeof *bad_explain; i++) {
        t_resp b = t_h(&h, "POST", "/gc/collect", NULL, bad_explain[i]);
        t_expect_problem(b, 400, "invalid-field");
        t_detail_has(b, "'explain'");
    }
    static const char *const bad_limit[] = {
        "{\"explain\": true, \"explain_limit\": 0}",      "{\"explain\": true, \"explain_limit\": 100001}",
        "{\"explain\": true, \"explain_limit\": -3}",     "{\"explain\": true, \"explain_limit\": 1.5}",
        "{\"explain\": true, \"explain_limit\": \"10\"}", "{\"explain_limit\": 0}",
    };
    for (size_t i = 0; i < sizeof bad_limit / sizeof *bad_limit; i++) {
        t_resp b = t_h(&h, "POST", "/gc/collect", NULL, bad_limit[i]);
        t_expect_problem(b, 400, "invalid-field");
        t_detail_has(b, "'explain_limit' must be an integer from 1 to 100000");
    }
    t_expect_problem(t_h(&h, "POST", "/gc/collect", NULL, "{\"explain\": true, \"limit\": 3}"), 400, "unknown-field");
    t_resp max = t_h(&h, "POST", "/gc/collect", NULL, "{\"explain\": true, \"explain_limit\": 100000}");
    t_expect(max, 200);

    /* The batch op answers what the endpoint answers. */
    t_resp batch = t_h(&h, "POST", "/batch", NULL,
                       "{\"ops\": [{\"op\": \"create\", \"type\": \"list\", \"name\": \"b\"},"
                       "{\"op\": \"ref\", \"id\": \"$0\", \"target\": \"$0\"},"
                       "{\"op\": \"unbind\", \"name\": \"b\"},"
                       "{\"op\": \"collect\", \"generation\": 0, \"explain\": true}]}");
    t_expect(batch, 200);
    json_t *results = t_get(batch.json, "results");
    json_int_t b = t_int(json_array_get(results, 0), "id");
    json_t *ex = t_get(json_array_get(results, 3), "explain");
    ck_assert_int_eq(t_int(ex, "generation"), 0);
    ck_assert_int_eq(t_int(ex, "examined"), 1);
    json_t *bo = json_array_get(t_get(ex, "objects"), 0);
    ck_assert_int_eq(t_int(bo, "id"), b);
    ck_assert_str_eq(t_str(bo, "verdict"), "freed");
    ck_assert_int_eq(json_array_size(t_get(ex, "timeline")), 4);
    t_resp bad = t_h(&h, "POST", "/batch", NULL, "{\"ops\": [{\"op\": \"collect\", \"explain\": \"yes\"}]}");
    ck_assert_int_eq(bad.status, 400);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-gc");
    TCase *tc = t_tcase("gc", 30);
    tcase_add_test(tc, gc_shape);
    tcase_add_test(tc, gc_patch);
    tcase_add_test(tc, cycle_lesson);
    tcase_add_test(tc, collect_generations);
    tcase_add_test(tc, freeze_unfreeze);
    tcase_add_test(tc, automatic_collection);
    tcase_add_test(tc, memory_json);
    tcase_add_test(tc, memory_text);
    tcase_add_test(tc, memory_returns_after_free);
    tcase_add_test(tc, collect_explain);
    suite_add_tcase(s, tc);
    return t_run(s);
}
