/* test_objects.c — POST/GET /objects: every type, the full object shape,
 * freed and unknown ids, and the paged listing. */
#include "apitest.h"

static void expect_common_shape(json_t *o, const char *type)
{
    ck_assert_int_gt(t_int(o, "id"), 0);
    ck_assert_str_eq(t_str(o, "type"), type);
    ck_assert(t_bool(o, "alive"));
    ck_assert_int_ge(t_int(o, "refcount"), 1);
    ck_assert_int_gt(t_int(o, "size"), 0);
    t_bool(o, "tracked");
    json_t *g = t_get(o, "generation");
    ck_assert(json_is_null(g) || json_is_integer(g) || json_is_string(g));
    const char *addr = t_str(o, "address");
    ck_assert_msg(strncmp(addr, "0x", 2) == 0 && strlen(addr) > 2, "address '%s'", addr);
    json_t *sc = t_get(o, "size_class");
    ck_assert(json_is_null(sc) || (json_is_integer(sc) && json_integer_value(sc) >= 0 && json_integer_value(sc) < 32));
    ck_assert(json_is_array(t_get(o, "referents")));
}

START_TEST(create_atoms)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);

    t_resp r = t_h(&h, "POST", "/objects", NULL, "{\"type\": \"int\", \"value\": 123456, \"name\": \"i\"}");
    t_expect(r, 201);
    ck_assert_str_eq(r.ctype, "application/json");
    expect_common_shape(r.json, "int");
    uint64_t i = (uint64_t)t_int(r.json, "id");
    ck_assert_str_eq(r.location, t_fmt("%s/objects/%llu", h.base, (unsigned long long)i));
    ck_assert_int_eq(t_int(r.json, "value"), 123456);
    ck_assert_int_eq(t_int(r.json, "refcount"), 1);
    ck_assert_int_eq(t_int(r.json, "size"), 28);
    ck_assert(!t_bool(r.json, "tracked"));
    ck_assert(json_is_null(t_get(r.json, "generation")));

    json_t *neg = t_obj(&h, t_create(&h, "{\"type\": \"int\", \"value\": -9223372036854775808, \"name\": \"m\"}"));
    ck_assert_int_eq(t_int(neg, "value"), INT64_MIN);

    json_t *f = t_obj(&h, t_create(&h, "{\"type\": \"float\", \"value\": 2.5, \"name\": \"f\"}"));
    expect_common_shape(f, "float");
    ck_assert(json_is_real(t_get(f, "value")));
    ck_assert(json_real_value(t_get(f, "value")) == 2.5);
    ck_assert_int_eq(t_int(f, "size"), 24);
    /* a float may be given as an integer literal */
    json_t *f2 = t_obj(&h, t_create(&h, "{\"type\": \"float\", \"value\": 3, \"name\": \"f2\"}"));
    ck_assert(json_number_value(t_get(f2, "value")) == 3.0);

    json_t *s = t_obj(&h, t_create(&h, "{\"type\": \"str\", \"value\": \"hello\", \"name\": \"s\"}"));
    expect_common_shape(s, "str");
    ck_assert_str_eq(t_str(s, "value"), "hello");
    ck_assert_int_eq(t_int(s, "length"), 5);
    ck_assert_int_eq(t_int(s, "size"), 54);

    json_t *u = t_obj(&h, t_create(&h, "{\"type\": \"str\", \"value\": \"h\\u00e9\\u20ac\", \"name\": \"u\"}"));
    ck_assert_str_eq(t_str(u, "value"), "h\xc3\xa9\xe2\x82\xac");
    ck_assert_int_eq(t_int(u, "length"), 3);

    json_t *b = t_obj(&h, t_create(&h, "{\"type\": \"bytes\", \"value\": \"abc\", \"name\": \"b\"}"));
    expect_common_shape(b, "bytes");
    ck_assert_str_eq(t_str(b, "value"), "abc");
    ck_assert_int_eq(t_int(b, "size"), 36);

    json_t *z = t_obj(&h, t_create(&h, "{\"type\": \"bytes\", \"size\": 1000, \"name\": \"z\"}"));
    ck_assert_int_eq(t_int(z, "size"), 1033);
    ck_assert_int_eq(t_int(z, "length"), 1000);
    ck_assert(json_is_null(t_get(z, "size_class")));   /* above 512 bytes: a raw block */
    ck_assert_int_eq(json_string_length(t_get(z, "value")), 1000);

    json_t *z0 = t_obj(&h, t_create(&h, "{\"type\": \"bytes\", \"size\": 0, \"name\": \"z0\"}"));
    ck_assert_int_eq(t_int(z0, "size"), 33);
}
END_TEST

START_TEST(create_containers)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"int\", \"value\": 1000, \"name\": \"a\"}");
    uint64_t b = t_create(&h, "{\"type\": \"str\", \"value\": \"bee\", \"name\": \"b\"}");

    json_t *l = t_obj(&h, t_create(&h, t_fmt("{\"type\": \"list\", \"items\": [%llu, %llu, %llu], \"name\": \"l\"}",
                                             (unsigned long long)a, (unsigned long long)b, (unsigned long long)a)));
    expect_common_shape(l, "list");
    ck_assert(t_bool(l, "tracked"));
    ck_assert_int_eq(t_int(l, "generation"), 0);
    ck_assert_int_eq(t_int(l, "length"), 3);
    json_t *items = t_get(l, "items");
    ck_assert_int_eq(json_array_size(items), 3);
    ck_assert_int_eq(json_integer_value(json_array_get(items, 0)), a);
    ck_assert_int_eq(json_integer_value(json_array_get(items, 1)), b);
    ck_assert_int_eq(json_integer_value(json_array_get(items, 2)), a);
    ck_assert_int_eq(json_array_size(t_get(l, "referents")), 3);
    t_expect_rc(&h, a, 3);
    t_expect_rc(&h, b, 2);

    json_t *empty = t_obj(&h, t_create(&h, "{\"type\": \"list\", \"name\": \"e\"}"));
    ck_assert_int_eq(t_int(empty, "size"), 56);
    ck_assert_int_eq(json_array_size(t_get(empty, "items")), 0);

    json_t *t = t_obj(&h, t_create(&h, t_fmt("{\"type\": \"tuple\", \"items\": [%llu], \"name\": \"t\"}",
                                             (unsigned long long)b)));
    expect_common_shape(t, "tuple");
    ck_assert_int_eq(json_array_size(t_get(t, "items")), 1);

    json_t *d = t_obj(&h, t_create(&h, t_fmt("{\"type\": \"dict\", \"items\": {\"x\": %llu, \"y\": %llu}, \"name\": \"d\"}",
                                             (unsigned long long)a, (unsigned long long)b)));
    expect_common_shape(d, "dict");
    json_t *ditems = t_get(d, "items");
    ck_assert(json_is_object(ditems));
    ck_assert_int_eq(t_int(ditems, "x"), a);
    ck_assert_int_eq(t_int(ditems, "y"), b);
    ck_assert_int_eq(t_int(d, "length"), 2);

    json_t *s = t_obj(&h, t_create(&h, t_fmt("{\"type\": \"set\", \"items\": [%llu, %llu, %llu], \"name\": \"s\"}",
                                             (unsigned long long)a, (unsigned long long)b, (unsigned long long)a)));
    expect_common_shape(s, "set");
    ck_assert_int_eq(t_int(s, "length"), 2);   /* duplicates collapse */
    ck_assert_int_eq(json_array_size(t_get(s, "items")), 2);

    t_expect_rc(&h, a, 5);   /* a, l[0], l[2], d["x"], the set */
    t_expect_rc(&h, b, 5);   /* b, l[1], t[0], d["y"], the set */
}
END_TEST

START_TEST(create_instances)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t v = t_create(&h, "{\"type\": \"int\", \"value\": 4242, \"name\": \"v\"}");
    json_t *plain = t_obj(&h, t_create(&h, "{\"type\": \"instance\", \"name\": \"p\"}"));
    expect_common_shape(plain, "instance");
    ck_assert_str_eq(t_str(plain, "class"), "Node");
    ck_assert(!t_bool(plain, "finalizer"));
    ck_assert(!t_bool(plain, "finalized"));
    ck_assert_int_eq(json_object_size(t_get(plain, "attrs")), 0);

    json_t *n = t_obj(&h, t_create(&h, t_fmt("{\"type\": \"instance\", \"class\": \"Point\", \"attrs\": {\"x\": %llu},"
                                             " \"finalizer\": true, \"name\": \"n\"}",
                                             (unsigned long long)v)));
    ck_assert_str_eq(t_str(n, "class"), "Point");
    ck_assert(t_bool(n, "finalizer"));
    ck_assert_int_eq(t_int(t_get(n, "attrs"), "x"), v);
    ck_assert(t_array_has(t_get(n, "referents"), (json_int_t)v));
    t_expect_rc(&h, v, 2);

    uint64_t r = t_create(&h, "{\"type\": \"instance\", \"finalizer\": {\"resurrect\": \"saved\"}, \"name\": \"r\"}");
    ck_assert(t_bool(t_obj(&h, r), "finalizer"));
    /* dropping the last name runs __del__, which binds it to 'saved' */
    t_unbind(&h, "r");
    json_t *again = t_obj(&h, r);
    ck_assert(t_bool(again, "finalized"));
    ck_assert_int_eq(t_int(again, "refcount"), 1);
    t_resp saved = t_h(&h, "GET", "/names/saved", NULL, NULL);
    t_expect(saved, 200);
    ck_assert_int_eq(t_int(saved.json, "id"), r);
    /* the second time it really goes: a finalizer runs once */
    t_unbind(&h, "saved");
    t_expect_freed(&h, r);
}
END_TEST

START_TEST(create_rejects_bad_bodies)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    static const char *const bad[] = {
        "{}",
        "{\"type\": \"weakref\"}",
        "{\"type\": \"complex\"}",
        "{\"type\": 3}",
        "{\"type\": \"int\"}",
        "{\"type\": \"int\", \"value\": 1.5}",
        "{\"type\": \"int\", \"value\": \"7\"}",
        "{\"type\": \"float\", \"value\": \"x\"}",
        "{\"type\": \"str\"}",
        "{\"type\": \"str\", \"value\": 5}",
        "{\"type\": \"bytes\"}",
        "{\"type\": \"bytes\", \"value\": \"a\", \"size\": 3}",
        "{\"type\": \"bytes\", \"size\": -1}",
        "{\"type\": \"bytes\", \"size\": 67108865}",
        "{\"type\": \"list\", \"value\": 3}",
        "{\"type\": \"list\", \"items\": {}}",
        "{\"type\": \"list\", \"items\": [0]}",
        "{\"type\": \"list\", \"items\": [\"$0\"]}",
        "{\"type\": \"dict\", \"items\": [1]}",
        "{\"type\": \"int\", \"value\": 1, \"items\": []}",
        "{\"type\": \"list\", \"class\": \"X\"}",
        "{\"type\": \"list\", \"finalizer\": false}",
        "{\"type\": \"instance\", \"class\": \"\"}",
        "{\"type\": \"instance\", \"finalizer\": \"yes\"}",
        "{\"type\": \"instance\", \"finalizer\": {\"resurrect\": \"\"}}",
        "{\"type\": \"instance\", \"attrs\": {\"x\": \"y\"}}",
        "{\"type\": \"list\", \"name\": \"\"}",
        "{\"type\": \"list\", \"name\": 7}",
        "{\"type\": \"list\", \"colour\": \"red\"}",
        "{\"type\": \"list\", \"op\": \"create\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t_resp r = t_h(&h, "POST", "/objects", NULL, bad[i]);
        ck_assert_msg(r.status == 400, "%s: got %d %s", bad[i], r.status, r.text);
        ck_assert_str_eq(r.ctype, "application/problem+json");
    }
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, NULL), 400, "invalid-body");
    /* nothing was created or bound */
    t_resp names = t_h(&h, "GET", "/names", NULL, NULL);
    ck_assert_int_eq(json_object_size(t_get(names.json, "names")), 0);
    /* an item that does not exist: 404, nothing created */
    t_expect_problem(t_h(&h, "POST", "/objects", NULL, "{\"type\": \"list\", \"items\": [999], \"name\": \"x\"}"),
                     404, "no-such-object");
    t_expect(t_h(&h, "GET", "/names/x", NULL, NULL), 404);
}
END_TEST

START_TEST(unbound_create_dies_at_once)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp r = t_h(&h, "POST", "/objects", NULL, "{\"type\": \"list\"}");
    t_expect(r, 201);
    ck_assert(!t_bool(r.json, "alive"));
    ck_assert_int_eq(t_int(r.json, "refcount"), 0);
    ck_assert_str_eq(t_str(r.json, "type"), "list");
    ck_assert_str_eq(r.location, "");
    uint64_t id = (uint64_t)t_int(r.json, "id");
    t_expect_freed(&h, id);
    /* its items survive if something else holds them */
    uint64_t x = t_create(&h, "{\"type\": \"str\", \"value\": \"kept\", \"name\": \"x\"}");
    t_resp r2 = t_h(&h, "POST", "/objects", NULL, t_fmt("{\"type\": \"tuple\", \"items\": [%llu]}", (unsigned long long)x));
    ck_assert(!t_bool(r2.json, "alive"));
    t_expect_rc(&h, x, 1);
}
END_TEST

START_TEST(full_object_shape)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t x = t_create(&h, "{\"type\": \"str\", \"value\": \"shared\", \"name\": \"x\"}");
    t_bind(&h, "alias", x);
    uint64_t l1 = t_create(&h, t_fmt("{\"type\": \"list\", \"items\": [%llu, %llu], \"name\": \"l1\"}",
                                     (unsigned long long)x, (unsigned long long)x));
    uint64_t d = t_create(&h, t_fmt("{\"type\": \"dict\", \"items\": {\"k\": %llu}, \"name\": \"d\"}",
                                    (unsigned long long)x));
    json_t *o = t_obj(&h, x);
    expect_common_shape(o, "str");
    ck_assert_int_eq(t_int(o, "refcount"), 5);  /* x, alias, l1[0], l1[1], d["k"] */
    json_t *referrers = t_get(o, "referrers");
    ck_assert_int_eq(json_array_size(referrers), 2);   /* each container once */
    ck_assert(t_array_has(referrers, (json_int_t)l1));
    ck_assert(t_array_has(referrers, (json_int_t)d));
    json_t *names = t_get(o, "names");
    ck_assert_int_eq(json_array_size(names), 2);
    ck_assert_str_eq(json_string_value(json_array_get(names, 0)), "x");
    ck_assert_str_eq(json_string_value(json_array_get(names, 1)), "alias");

    json_t *lo = t_obj(&h, l1);
    ck_assert_int_eq(json_array_size(t_get(lo, "referrers")), 0);
    ck_assert_int_eq(json_array_size(t_get(lo, "referents")), 2);
    /* the create answer is the object without referrers and names */
    t_resp c = t_h(&h, "POST", "/objects", NULL, "{\"type\": \"list\", \"name\": \"c\"}");
    ck_assert(json_object_get(c.json, "referrers") == NULL);
    ck_assert(json_object_get(c.json, "names") == NULL);
    ck_assert(json_object_get(c.json, "referents") != NULL);
    /* the GET answer agrees with the create answer */
    json_t *g = t_obj(&h, (uint64_t)t_int(c.json, "id"));
    static const char *const same[] = {"id", "type", "refcount", "size", "address", "size_class", "generation"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        ck_assert_msg(json_equal(t_get(g, same[i]), t_get(c.json, same[i])), "%s differs", same[i]);
}
END_TEST

START_TEST(freed_and_unknown_ids)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_unbind(&h, "a");
    t_resp f = t_h(&h, "GET", t_fmt("/objects/%llu", (unsigned long long)a), NULL, NULL);
    t_expect_problem(f, 404, "object-freed");
    t_detail_has(f, "freed");
    ck_assert(t_bool(f.json, "freed"));
    ck_assert_int_gt(t_int(f.json, "freed_at_seq"), 0);
    /* the seq names the free event */
    json_t *events = t_events(&h, (uint64_t)t_int(f.json, "freed_at_seq"));
    ck_assert_str_eq(t_str(json_array_get(events, 0), "kind"), "free");
    ck_assert(t_array_has(t_get(json_array_get(events, 0), "ids"), (json_int_t)a));

    t_resp n = t_h(&h, "GET", "/objects/99999", NULL, NULL);
    t_expect_problem(n, 404, "no-such-object");
    ck_assert(strstr(t_str(n.json, "detail"), "freed") == NULL);
    t_expect_problem(t_h(&h, "GET", "/objects/0", NULL, NULL), 404, "no-such-object");
    t_expect_problem(t_h(&h, "GET", "/objects/abc", NULL, NULL), 404, "no-such-object");
    t_expect_problem(t_h(&h, "GET", "/objects/-3", NULL, NULL), 404, "no-such-object");
    t_expect_problem(t_h(&h, "GET", "/objects/18446744073709551616", NULL, NULL), 404, "no-such-object");
    t_expect_problem(t_h(&h, "GET", "/objects/1/nothing", NULL, NULL), 404, "not-found");
}
END_TEST

/* Pages through /objects with the query and returns every id seen. */
static json_t *list_all(const t_heap *h, const char *query, int *pages)
{
    json_t *all = t_keepj(json_array());
    const char *cursor = NULL;
    *pages = 0;
    for (;;) {
        const char *q = cursor ? t_fmt("%s&cursor=%s", query, cursor) : query;
        t_resp r = t_h(h, "GET", "/objects", q, NULL);
        t_expect(r, 200);
        (*pages)++;
        ck_assert_int_lt(*pages, 1000);
        size_t i;
        json_t *o;
        json_array_foreach(t_get(r.json, "objects"), i, o) {
            ck_assert(json_object_get(o, "referrers") == NULL);
            json_array_append(all, t_get(o, "id"));
        }
        json_t *next = t_get(r.json, "next");
        if (json_is_null(next))
            break;
        cursor = t_fmt("%lld", (long long)json_integer_value(next));
    }
    return all;
}

START_TEST(listing_pages_and_filters)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp base = t_h(&h, "GET", "/objects", "limit=1000", NULL);
    size_t preexisting = json_array_size(t_get(base.json, "objects"));
    uint64_t lists[25], strs[10];
    for (int i = 0; i < 25; i++)
        lists[i] = t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"l%d\"}", i));
    for (int i = 0; i < 10; i++)
        strs[i] = t_create(&h, t_fmt("{\"type\": \"str\", \"value\": \"s%d\", \"name\": \"s%d\"}", i, i));
    /* free a few lists: they leave the listing */
    t_unbind(&h, "l3");
    t_unbind(&h, "l4");

    t_resp first = t_h(&h, "GET", "/objects", "type=list&limit=10", NULL);
    t_expect(first, 200);
    ck_assert_int_eq(json_array_size(t_get(first.json, "objects")), 10);
    ck_assert(json_is_integer(t_get(first.json, "next")));

    int pages;
    json_t *all = list_all(&h, "type=list&limit=10", &pages);
    ck_assert_int_eq(json_array_size(all), 23);
    ck_assert_int_eq(pages, 3);
    for (int i = 0; i < 25; i++)
        ck_assert(t_array_has(all, (json_int_t)lists[i]) == (i != 3 && i != 4));
    /* ids come in increasing order */
    for (size_t i = 1; i < json_array_size(all); i++)
        ck_assert_int_lt(json_integer_value(json_array_get(all, i - 1)), json_integer_value(json_array_get(all, i)));

    json_t *s = list_all(&h, "type=str&limit=3", &pages);
    ck_assert_int_eq(json_array_size(s), 10);
    for (int i = 0; i < 10; i++)
        ck_assert(t_array_has(s, (json_int_t)strs[i]));

    json_t *everything = list_all(&h, "limit=7", &pages);
    ck_assert_int_eq(json_array_size(everything), preexisting + 33);
    t_resp heap = t_h(&h, "GET", "", NULL, NULL);
    ck_assert_int_eq(t_int(heap.json, "objects"), (json_int_t)json_array_size(everything));

    /* default limit is 100; empty results have next null */
    t_resp none = t_h(&h, "GET", "/objects", "type=dict", NULL);
    ck_assert_int_eq(json_array_size(t_get(none.json, "objects")), 0);
    ck_assert(json_is_null(t_get(none.json, "next")));

    static const char *const bad[] = {"type=complex", "limit=0", "limit=1001", "limit=x", "cursor=abc", "cursor=-1",
                                      "limit=-5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        t_expect_problem(t_h(&h, "GET", "/objects", bad[i], NULL), 400, "invalid-query");
    t_resp m = t_h(&h, "DELETE", "/objects", NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "GET, POST");
    t_resp m2 = t_h(&h, "DELETE", t_fmt("/objects/%llu", (unsigned long long)lists[0]), NULL, NULL);
    t_expect_problem(m2, 405, "method-not-allowed");
    ck_assert_str_eq(m2.allow, "GET");
}
END_TEST

START_TEST(listing_exact_page_has_null_next)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    for (int i = 0; i < 4; i++)
        t_create(&h, t_fmt("{\"type\": \"dict\", \"name\": \"d%d\"}", i));
    t_resp r = t_h(&h, "GET", "/objects", "type=dict&limit=4", NULL);
    ck_assert_int_eq(json_array_size(t_get(r.json, "objects")), 4);
    int pages;
    json_t *all = list_all(&h, "type=dict&limit=2", &pages);
    ck_assert_int_eq(json_array_size(all), 4);
    ck_assert_int_le(pages, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-objects");
    TCase *tc = t_tcase("objects", 60);
    tcase_add_test(tc, create_atoms);
    tcase_add_test(tc, create_containers);
    tcase_add_test(tc, create_instances);
    tcase_add_test(tc, create_rejects_bad_bodies);
    tcase_add_test(tc, unbound_create_dies_at_once);
    tcase_add_test(tc, full_object_shape);
    tcase_add_test(tc, freed_and_unknown_ids);
    tcase_add_test(tc, listing_pages_and_filters);
    tcase_add_test(tc, listing_exact_page_has_null_next);
    suite_add_tcase(s, tc);
    return t_run(s);
}
