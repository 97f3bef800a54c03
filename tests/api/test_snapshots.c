/* test_snapshots.c — /snapshots (take, list, delete, compare, peaks) and
 * the memory doctor (GET /memory?format=doctor): a heap built to set off
 * each finding, and one that sets off none. */
#include <ftw.h>
#include <stdio.h>

#include "apitest.h"

#define U(x) ((unsigned long long)(x))

/* ---- helpers ---- */

/* A batch body grown op by op, kept until teardown. */
typedef struct ops {
    char *text;
    size_t len, cap;
} ops;

static __attribute__((format(printf, 2, 3))) void op(ops *o, const char *fmt, ...)
{
    char *one = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&one, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    while (o->len + (size_t)n + 16 > o->cap) {
        o->cap = o->cap ? 2 * o->cap : 4096;
        o->text = realloc(o->text, o->cap);
        ck_assert_ptr_nonnull(o->text);
        if (o->len == 0)
            o->len = (size_t)snprintf(o->text, o->cap, "{\"ops\": [");
    }
    o->len += (size_t)snprintf(o->text + o->len, o->cap - o->len, "%s%s", o->text[o->len - 1] == '[' ? "" : ",", one);
    free(one);
}

static void run(const t_heap *h, ops *o)
{
    snprintf(o->text + o->len, o->cap - o->len, "]}");
    t_keep(o->text);
    t_resp r = t_h(h, "POST", "/batch", NULL, o->text);
    t_expect(r, 200);
    memset(o, 0, sizeof *o);
}

/* Creates strs named <prefix><i> for i in [0, n), each `digits` characters. */
static void create_strs(const t_heap *h, const char *prefix, int n, int digits)
{
    ops o = {0};
    for (int i = 0; i < n; i++)
        op(&o, "{\"op\": \"create\", \"type\": \"str\", \"value\": \"%0*d\", \"name\": \"%s%d\"}", digits, i,
           prefix, i);
    run(h, &o);
}

/* Unbinds <prefix><i> for i in [0, n) unless keep(i). */
static void unbind_strs(const t_heap *h, const char *prefix, int n, bool (*keep)(int i, int n))
{
    ops o = {0};
    for (int i = 0; i < n; i++)
        if (!keep(i, n))
            op(&o, "{\"op\": \"unbind\", \"name\": \"%s%d\"}", prefix, i);
    run(h, &o);
}

static json_t *snap(const t_heap *h)
{
    t_resp r = t_h(h, "POST", "/snapshots", NULL, NULL);
    t_expect(r, 201);
    return r.json;
}

static json_t *compare(const t_heap *h, int a, int b)
{
    t_resp r = t_h(h, "GET", t_fmt("/snapshots/%d/compare/%d", a, b), NULL, NULL);
    t_expect(r, 200);
    return r.json;
}

static json_t *memory(const t_heap *h)
{
    t_resp r = t_h(h, "GET", "/memory", NULL, NULL);
    t_expect(r, 200);
    return r.json;
}

/* The row of an array whose member key is the string want, or NULL. */
static json_t *row(json_t *arr, const char *key, const char *want)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        json_t *v = json_object_get(x, key);
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return x;
    }
    return NULL;
}

static json_t *class_row(json_t *cmp, json_int_t size_class)
{
    size_t i;
    json_t *x;
    json_array_foreach(t_get(cmp, "by_size_class"), i, x) {
        if (json_integer_value(json_object_get(x, "size_class")) == size_class)
            return x;
    }
    return NULL;
}

static json_t *findings(const t_heap *h)
{
    t_resp r = t_h(h, "GET", "/memory", "format=doctor", NULL);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "application/json");
    json_t *f = t_get(r.json, "findings");
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        const char *sev = t_str(x, "severity");
        ck_assert(strcmp(sev, "info") == 0 || strcmp(sev, "hint") == 0 || strcmp(sev, "warning") == 0);
        ck_assert(strlen(t_str(x, "sentence")) > 20);
        ck_assert(json_is_object(t_get(x, "figures")));
    }
    return f;
}

/* The only finding, which must have that code. */
static json_t *only_finding(const t_heap *h, const char *code)
{
    json_t *f = findings(h);
    ck_assert_msg(json_array_size(f) == 1, "want only %s: %s", code, t_dump(f));
    json_t *x = json_array_get(f, 0);
    ck_assert_str_eq(t_str(x, "code"), code);
    return x;
}

#define t_sentence_has(x, needle)                                                                               \
    ck_assert_msg(strstr(t_str((x), "sentence"), (needle)) != NULL, "'%s' lacks '%s'", t_str((x), "sentence"), \
                  (needle))

/* ---- snapshots ---- */

START_TEST(take_list_get_delete)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    json_t *a = t_obj(&h, t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}"));
    json_int_t version = t_int(t_h(&h, "GET", "", NULL, NULL).json, "version");

    t_resp r = t_h(&h, "POST", "/snapshots", NULL, NULL);
    t_expect(r, 201);
    ck_assert_int_eq(t_int(r.json, "id"), 1);
    ck_assert_int_eq(t_int(r.json, "taken_at_version"), version);
    ck_assert_int_eq(t_int(r.json, "objects"), 1);
    ck_assert_int_eq(t_int(r.json, "bytes"), t_int(a, "size"));
    ck_assert_str_eq(r.location, t_fmt("%s/snapshots/1", h.base));

    t_resp two = t_h(&h, "POST", "/snapshots", NULL, "{}");
    t_expect(two, 201);
    ck_assert_int_eq(t_int(two.json, "id"), 2);
    t_resp l = t_h(&h, "GET", "/snapshots", NULL, NULL);
    t_expect(l, 200);
    ck_assert_int_eq(json_array_size(t_get(l.json, "snapshots")), 2);
    ck_assert_int_eq(t_int(l.json, "max"), 16);
    ck_assert(json_equal(json_array_get(t_get(l.json, "snapshots"), 0), r.json));
    ck_assert(json_equal(t_h(&h, "GET", "/snapshots/1", NULL, NULL).json, r.json));

    t_expect(t_h(&h, "DELETE", "/snapshots/1", NULL, NULL), 204);
    t_resp gone = t_h(&h, "GET", "/snapshots/1", NULL, NULL);
    t_expect_problem(gone, 404, "no-such-snapshot");
    t_detail_has(gone, "kept: 2");
    /* ids are never reused */
    ck_assert_int_eq(t_int(snap(&h), "id"), 3);
}
END_TEST

START_TEST(snapshot_changes_nothing)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_create(&h, "{\"type\": \"dict\", \"name\": \"d\"}");
    t_resp before = t_h(&h, "GET", "/digest", NULL, NULL);
    json_int_t version = t_int(t_h(&h, "GET", "", NULL, NULL).json, "version");
    snap(&h);
    t_resp after = t_h(&h, "GET", "/digest", NULL, NULL);
    ck_assert_str_eq(t_str(before.json, "digest"), t_str(after.json, "digest"));
    ck_assert_int_eq(t_int(t_h(&h, "GET", "", NULL, NULL).json, "version"), version);
}
END_TEST

START_TEST(compare_added_and_freed)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    json_t *b = t_obj(&h, t_create(&h, "{\"type\": \"list\", \"name\": \"b\"}"));
    json_int_t size = t_int(b, "size"), cls = t_int(b, "size_class"), block = (cls + 1) * 16;
    snap(&h);
    t_unbind(&h, "a");
    t_create(&h, "{\"type\": \"list\", \"name\": \"d\"}");
    t_create(&h, "{\"type\": \"list\", \"name\": \"e\"}");
    snap(&h);

    json_t *c = compare(&h, 1, 2);
    ck_assert_int_eq(t_int(c, "from"), 1);
    ck_assert_int_eq(t_int(c, "to"), 2);
    ck_assert_int_eq(json_array_size(t_get(c, "by_type")), 1);
    json_t *l = row(t_get(c, "by_type"), "type", "list");
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(t_int(l, "objects_added"), 2);
    ck_assert_int_eq(t_int(l, "objects_freed"), 1);
    ck_assert_int_eq(t_int(l, "bytes_added"), 2 * size);
    ck_assert_int_eq(t_int(l, "bytes_freed"), size);
    ck_assert_int_eq(t_int(l, "count_diff"), 1);
    ck_assert_int_eq(t_int(l, "size_diff"), size);

    json_t *k = class_row(c, cls);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(t_int(k, "block_size"), block);
    ck_assert_int_eq(t_int(k, "blocks_added"), 2);
    ck_assert_int_eq(t_int(k, "blocks_freed"), 1);
    ck_assert_int_eq(t_int(k, "bytes_diff"), block);

    json_t *g = t_get(c, "largest_growths");
    json_t *gl = row(g, "group", "type:list"), *gc = row(g, "group", t_fmt("size_class:%lld", (long long)cls));
    ck_assert(gl != NULL && gc != NULL);
    ck_assert_int_eq(t_int(gl, "size_diff"), size);
    ck_assert_int_eq(t_int(gl, "count_diff"), 1);
    /* biggest first */
    ck_assert_str_eq(t_str(json_array_get(g, 0), "group"), block > size ? t_str(gc, "group") : "type:list");

    json_t *tot = t_get(c, "totals");
    ck_assert_int_eq(t_int(tot, "objects_added"), 2);
    ck_assert_int_eq(t_int(tot, "objects_freed"), 1);
    ck_assert_int_eq(t_int(tot, "size_diff"), size);

    /* backwards, added and freed trade places; against itself nothing moved */
    json_t *back = row(t_get(compare(&h, 2, 1), "by_type"), "type", "list");
    ck_assert_int_eq(t_int(back, "objects_added"), 1);
    ck_assert_int_eq(t_int(back, "objects_freed"), 2);
    ck_assert_int_eq(t_int(back, "size_diff"), -size);
    json_t *same = compare(&h, 2, 2);
    ck_assert_int_eq(json_array_size(t_get(same, "by_type")), 0);
    ck_assert_int_eq(json_array_size(t_get(same, "by_size_class")), 0);
    ck_assert_int_eq(json_array_size(t_get(same, "largest_growths")), 0);
    ck_assert_int_eq(t_int(t_get(same, "totals"), "size_diff"), 0);
}
END_TEST

/* A list that grew in place counts in size_diff, as tracemalloc shows it,
 * though no object was added and its own block stayed. */
START_TEST(compare_growth_of_survivors)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t l = t_create(&h, "{\"type\": \"list\", \"name\": \"l\"}");
    uint64_t x = t_create(&h, "{\"type\": \"int\", \"value\": 1000, \"name\": \"x\"}");
    json_int_t before = t_int(t_obj(&h, l), "size");
    snap(&h);
    t_ref(&h, l, t_fmt("{\"target\": %llu}", U(x)));
    json_int_t after = t_int(t_obj(&h, l), "size");
    ck_assert_int_gt(after, before);
    snap(&h);
    json_t *c = compare(&h, 1, 2);
    json_t *row_l = row(t_get(c, "by_type"), "type", "list");
    ck_assert_int_eq(t_int(row_l, "objects_added"), 0);
    ck_assert_int_eq(t_int(row_l, "objects_freed"), 0);
    ck_assert_int_eq(t_int(row_l, "size_diff"), after - before);
    ck_assert_int_eq(json_array_size(t_get(c, "by_size_class")), 0);
    ck_assert_str_eq(t_str(json_array_get(t_get(c, "largest_growths"), 0), "group"), "type:list");
    ck_assert_int_eq(t_int(t_get(c, "totals"), "size_diff"), after - before);
}
END_TEST

START_TEST(large_objects_group)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    snap(&h);
    json_t *big = t_obj(&h, t_create(&h, "{\"type\": \"bytes\", \"size\": 5000, \"name\": \"big\"}"));
    ck_assert(json_is_null(t_get(big, "size_class")));
    snap(&h);
    json_t *c = compare(&h, 1, 2);
    json_t *k = json_array_get(t_get(c, "by_size_class"), 0);
    ck_assert(json_is_null(t_get(k, "size_class")) && json_is_null(t_get(k, "block_size")));
    ck_assert_int_eq(t_int(k, "blocks_added"), 1);
    ck_assert_int_eq(t_int(k, "bytes_diff"), t_int(big, "size"));
    ck_assert_ptr_nonnull(row(t_get(c, "largest_growths"), "group", "size_class:large"));
}
END_TEST

static json_int_t peak_bytes(json_t *j, json_int_t *since)
{
    json_t *p = t_get(j, "peak");
    json_t *s = t_get(p, "since_snapshot");
    *since = json_is_null(s) ? 0 : json_integer_value(s);
    ck_assert_int_ge(t_int(p, "arenas"), 0);
    return t_int(p, "bytes_in_use");
}

START_TEST(peaks_since_snapshots)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    json_int_t since;
    peak_bytes(memory(&h), &since);
    ck_assert_int_eq(since, 0);
    snap(&h);
    json_int_t base = t_int(memory(&h), "bytes_in_use");
    t_create(&h, "{\"type\": \"bytes\", \"size\": 100000, \"name\": \"big\"}");
    t_unbind(&h, "big");
    ck_assert_int_eq(t_int(memory(&h), "bytes_in_use"), base);
    ck_assert_int_ge(peak_bytes(memory(&h), &since), base + 100000);
    ck_assert_int_eq(since, 1);

    snap(&h);
    ck_assert_int_lt(peak_bytes(memory(&h), &since), base + 100000);
    ck_assert_int_eq(since, 2);
    ck_assert_int_ge(peak_bytes(compare(&h, 1, 2), &since), base + 100000);
    ck_assert_int_eq(since, 1);
    ck_assert_int_lt(peak_bytes(compare(&h, 2, 1), &since), base + 100000);

    /* a dropped snapshot's interval still counts for the ones before it */
    t_expect(t_h(&h, "DELETE", "/snapshots/2", NULL, NULL), 204);
    ck_assert_int_ge(peak_bytes(memory(&h), &since), base + 100000);
    ck_assert_int_eq(since, 1);
    t_expect(t_h(&h, "DELETE", "/snapshots/1", NULL, NULL), 204);
    ck_assert_int_ge(peak_bytes(memory(&h), &since), base + 100000);
    ck_assert_int_eq(since, 0);
}
END_TEST

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Snapshots live in the server's memory only, while the allocator's marks
 * are part of the heap's image: after a restart the list is empty and the
 * peak is the one the image saved. */
START_TEST(restart_drops_snapshots_keeps_peak)
{
    char dir[] = "/tmp/heaplab-snapshots-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    hl_api_config cfg = {.admin_token = T_ADMIN, .data_dir = dir, .snapshot_after = 1};
    hl_api *api = t_api_with(&cfg);
    t_heap h = t_quiet_heap(api);
    snap(&h);
    t_create(&h, "{\"type\": \"bytes\", \"size\": 200000, \"name\": \"big\"}");
    t_unbind(&h, "big"); /* past snapshot_after: the heap's image is written after this change */
    json_int_t since, peak = peak_bytes(memory(&h), &since);
    ck_assert_int_ge(peak, 200000);
    hl_api_delete(api);

    h.api = api = t_api_with(&cfg);
    ck_assert_int_eq(json_array_size(t_get(t_h(&h, "GET", "/snapshots", NULL, NULL).json, "snapshots")), 0);
    ck_assert_int_eq(peak_bytes(memory(&h), &since), peak);
    ck_assert_int_eq(since, 0);
    ck_assert_int_eq(t_int(snap(&h), "id"), 1);
    hl_api_delete(api);
    ck_assert_int_eq(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}
END_TEST

START_TEST(at_most_sixteen)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    for (int i = 1; i <= 16; i++)
        ck_assert_int_eq(t_int(snap(&h), "id"), i);
    t_resp r = t_h(&h, "POST", "/snapshots", NULL, NULL);
    t_expect_problem(r, 409, "too-many-snapshots");
    t_detail_has(r, "16");
    t_expect(t_h(&h, "DELETE", "/snapshots/5", NULL, NULL), 204);
    ck_assert_int_eq(t_int(snap(&h), "id"), 17);
}
END_TEST

START_TEST(snapshot_errors)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    snap(&h);
    static const char *const missing[] = {"/snapshots/2", "/snapshots/0", "/snapshots/01", "/snapshots/x",
                                          "/snapshots/1/compare/9", "/snapshots/9/compare/1"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        t_expect_problem(t_h(&h, "GET", missing[i], NULL, NULL), 404, "no-such-snapshot");
    t_expect_problem(t_h(&h, "GET", "/snapshots/1/compare", NULL, NULL), 404, "not-found");
    t_expect_problem(t_h(&h, "GET", "/snapshots/1/diff/1", NULL, NULL), 404, "not-found");
    t_resp put = t_h(&h, "PUT", "/snapshots", NULL, "{}");
    t_expect_problem(put, 405, "method-not-allowed");
    ck_assert_str_eq(put.allow, "GET, POST");
    ck_assert_str_eq(t_h(&h, "POST", "/snapshots/1", NULL, NULL).allow, "GET, DELETE");
    ck_assert_str_eq(t_h(&h, "DELETE", "/snapshots/1/compare/1", NULL, NULL).allow, "GET");
    t_expect_problem(t_h(&h, "POST", "/snapshots", NULL, "{\"name\": \"x\"}"), 400, "unknown-field");
    t_expect_problem(t_h(&h, "POST", "/snapshots", NULL, "[1]"), 400, "invalid-body");
    t_expect(t_h(&h, "GET", "/snapshots/1", NULL, NULL), 200);
    /* another heap's token opens nothing here */
    t_heap other = t_quiet_heap(api);
    t_expect_problem(t_req(api, "GET", t_fmt("%s/snapshots", h.base), NULL, other.token, NULL), 403, "forbidden");
}
END_TEST

/* ---- the doctor ---- */

START_TEST(doctor_nothing_to_worry_about)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_create(&h, "{\"type\": \"str\", \"value\": \"hello\", \"name\": \"s\"}");
    json_t *x = only_finding(&h, "nothing-to-worry-about");
    ck_assert_str_eq(t_str(x, "severity"), "info");
    ck_assert_int_eq(t_int(t_get(x, "figures"), "objects"), 2);
    t_sentence_has(x, "nothing to worry about");
    t_expect_problem(t_h(&h, "GET", "/memory", "format=xml", NULL), 400, "invalid-query");
}
END_TEST

/* A cycle with an int inside: a, b and 1000 are garbage; the cached 5 is not. */
START_TEST(doctor_unreachable)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    uint64_t b = t_create(&h, "{\"type\": \"list\", \"name\": \"b\"}");
    uint64_t big = t_create(&h, "{\"type\": \"int\", \"value\": 1000, \"name\": \"i\"}");
    uint64_t small = t_create(&h, "{\"type\": \"int\", \"value\": 5, \"name\": \"j\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(b)));
    t_ref(&h, b, t_fmt("{\"target\": %llu}", U(a)));
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(big)));
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(small)));
    only_finding(&h, "nothing-to-worry-about");
    t_unbind(&h, "a");
    t_unbind(&h, "b");
    t_unbind(&h, "i");
    t_unbind(&h, "j");
    json_t *x = only_finding(&h, "unreachable-pending");
    ck_assert_str_eq(t_str(x, "severity"), "hint");
    json_t *fig = t_get(x, "figures");
    ck_assert_int_eq(t_int(fig, "objects"), 3);
    ck_assert_int_eq(t_int(fig, "tracked"), 2);
    ck_assert_int_eq(t_int(fig, "oldest_generation"), 0);
    t_sentence_has(x, "3 objects are unreachable now");
    t_sentence_has(x, "generation-0 collection");
    t_collect(&h);
    only_finding(&h, "nothing-to-worry-about");
}
END_TEST

START_TEST(doctor_gc_disabled)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_ref(&h, a, t_fmt("{\"target\": %llu}", U(a)));
    t_unbind(&h, "a");
    json_t *f = findings(&h);
    ck_assert_int_eq(json_array_size(f), 2);
    json_t *u = row(f, "code", "unreachable-pending"), *d = row(f, "code", "gc-disabled");
    ck_assert(u != NULL && d != NULL);
    ck_assert_str_eq(t_str(u, "severity"), "warning");
    t_sentence_has(u, "1 object is unreachable");
    t_sentence_has(u, "gc.collect()");
    ck_assert_str_eq(t_str(d, "severity"), "warning");
    ck_assert(!t_bool(t_get(d, "figures"), "enabled"));
    ck_assert_int_ge(t_int(t_get(d, "figures"), "generation_0_count"), 1);
}
END_TEST

START_TEST(doctor_thresholds)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    t_expect(t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [7]}"), 200);
    json_t *x = only_finding(&h, "thresholds-far-from-default");
    ck_assert_str_eq(t_str(x, "severity"), "hint");
    t_sentence_has(x, "(7, 10, 10)");
    t_sentence_has(x, "100 times as often");
    ck_assert_int_eq(json_integer_value(json_array_get(t_get(t_get(x, "figures"), "default"), 0)), 700);
    t_expect(t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [0]}"), 200);
    t_sentence_has(only_finding(&h, "thresholds-far-from-default"), "turns its automatic collections off");
    t_expect(t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [700, 10, 100]}"), 200);
    t_sentence_has(only_finding(&h, "thresholds-far-from-default"), "generation 2 is collected after every 100");
    /* twice the default is not far */
    t_expect(t_h(&h, "PATCH", "/gc", NULL, "{\"thresholds\": [1400, 20, 5]}"), 200);
    only_finding(&h, "nothing-to-worry-about");
}
END_TEST

START_TEST(doctor_generation_2_share)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    ops o = {0};
    for (int i = 0; i < 1100; i++)
        op(&o, "{\"op\": \"create\", \"type\": \"list\", \"name\": \"l%d\"}", i);
    run(&h, &o);
    only_finding(&h, "nothing-to-worry-about");
    t_collect(&h);
    json_t *x = only_finding(&h, "generation-2-share");
    ck_assert_int_eq(t_int(t_get(x, "figures"), "percent"), 100);
    ck_assert_int_eq(t_int(t_get(x, "figures"), "generation_2"), 1100);
    t_sentence_has(x, "gc.freeze()");
    t_expect(t_h(&h, "POST", "/gc/freeze", NULL, NULL), 200);
    only_finding(&h, "nothing-to-worry-about");
}
END_TEST

static bool every_twentieth(int i, int n)
{
    (void)n;
    return i % 20 == 0;
}

/* 2000 strs of 149 bytes fill 20 pools of 102 blocks; one in twenty stays. */
START_TEST(doctor_pools_mostly_empty)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    create_strs(&h, "s", 2000, 100);
    only_finding(&h, "nothing-to-worry-about");
    unbind_strs(&h, "s", 2000, every_twentieth);
    json_t *x = only_finding(&h, "pools-mostly-empty");
    json_t *fig = t_get(x, "figures");
    ck_assert_int_ge(t_int(fig, "pools_in_use"), 16);
    ck_assert_int_lt(t_int(fig, "used_percent"), 10);
    t_sentence_has(x, "pools are in use");
}
END_TEST

static bool ends(int i, int n)
{
    return i < 3 || i >= n - 3;
}

/* 2100 strs of 509 bytes need two arenas (about 1950 blocks of 512 each);
 * three at each end survive, one arena's worth of blocks is gone. */
START_TEST(doctor_arenas_held_by_few_blocks)
{
    hl_api *api = t_api();
    t_heap h = t_new_heap(api, NULL);
    create_strs(&h, "s", 2100, 460);
    ck_assert_int_ge(t_int(t_get(memory(&h), "arenas"), "in_use"), 2);
    unbind_strs(&h, "s", 2100, ends);
    json_t *m = memory(&h);
    ck_assert_int_ge(t_int(t_get(m, "arenas"), "in_use"), 2);
    ck_assert_int_ge(t_int(t_get(m, "peak"), "arenas"), 2);
    json_t *x = only_finding(&h, "arena-held-by-few-blocks");
    ck_assert_str_eq(t_str(x, "severity"), "warning");
    json_t *fig = t_get(x, "figures");
    ck_assert_int_eq(t_int(fig, "arenas"), 2);
    ck_assert_int_eq(t_int(fig, "live_blocks"), 6);
    ck_assert_int_eq(t_int(fig, "bytes_held"), 2 * 1048576);
    t_sentence_has(x, "2 arenas are held by fewer than 10 live blocks each");
    t_sentence_has(x, "1 MiB from the OS");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-snapshots");
    TCase *tc = t_tcase("snapshots", 60);
    tcase_add_test(tc, take_list_get_delete);
    tcase_add_test(tc, snapshot_changes_nothing);
    tcase_add_test(tc, compare_added_and_freed);
    tcase_add_test(tc, compare_growth_of_survivors);
    tcase_add_test(tc, large_objects_group);
    tcase_add_test(tc, peaks_since_snapshots);
    tcase_add_test(tc, restart_drops_snapshots_keeps_peak);
    tcase_add_test(tc, at_most_sixteen);
    tcase_add_test(tc, snapshot_errors);
    suite_add_tcase(s, tc);
    TCase *doc = t_tcase("doctor", 120);
    tcase_add_test(doc, doctor_nothing_to_worry_about);
    tcase_add_test(doc, doctor_unreachable);
    tcase_add_test(doc, doctor_gc_disabled);
    tcase_add_test(doc, doctor_thresholds);
    tcase_add_test(doc, doctor_generation_2_share);
    tcase_add_test(doc, doctor_pools_mostly_empty);
    tcase_add_test(doc, doctor_arenas_held_by_few_blocks);
    suite_add_tcase(s, doc);
    return t_run(s);
}
