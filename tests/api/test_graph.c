/* test_graph.c — the graph export (api/graph.c): what it says of a heap,
 * compared with core's own introspection; its escaping; its batches; what
 * it says when the heap changes, is deleted or the server drains meanwhile;
 * and the route around it. */
#include <stdatomic.h>

#include "apitest.h"
#include "graph.h"
#include "ops.h"
#include "registry.h"

#define U(x) ((unsigned long long)(x))

/* Quotes, backslashes, control characters, DEL and non-ASCII UTF-8. */
static const char TRICKY[] = "q\"uote back\\slash nl\n tab\t ctrl\x01\x1f del\x7f \xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80";

/* ---- a heap of our own, outside any api ---- */

typedef struct fixture {
    hl_registry reg;
    hl_api_heap *e;
    atomic_bool draining;
} fixture;

static void fx_open(fixture *f)
{
    ck_assert(hl_registry_init(&f->reg, NULL, 0, 100));
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.gc_enabled = false;
    ck_assert_int_eq(hl_registry_create(&f->reg, &cfg, "graph", &f->e), HL_REG_OK);
    atomic_init(&f->draining, false);
}

static void fx_close(fixture *f)
{
    hl_registry_unref(f->e);
    hl_registry_free(&f->reg);
}

static uint64_t make(hl_heap *h, hl_create_spec spec, const char *name)
{
    hl_create_result r;
    ck_assert_int_eq(hl_op_create(h, &spec, name, &r), HL_OK);
    ck_assert(r.alive);
    return r.id;
}

static void link_ref(hl_heap *h, uint64_t from, hl_ref_op op, const char *key, uint64_t to)
{
    hl_ref_spec spec = {.op = op, .key = key, .target = to};
    ck_assert_int_eq(hl_op_add_ref(h, from, &spec), HL_OK);
}

/* Reads a body stream to its end cap bytes at a time; *end is the last
 * read's answer (0 complete, -1 cut short).  The text lives until teardown. */
static char *read_all(hl_api_body_stream *s, size_t cap, ssize_t *end, size_t *len)
{
    size_t n = 0, room = 1 << 16;
    char *text = malloc(room);
    char *chunk = malloc(cap);
    ssize_t k;
    while ((k = hl_api_body_stream_read(s, chunk, cap)) > 0) {
        ck_assert_uint_le((size_t)k, cap);
        while (n + (size_t)k + 1 > room)
            text = realloc(text, room *= 2);
        memcpy(text + n, chunk, (size_t)k);
        n += (size_t)k;
    }
    free(chunk);
    text[n] = '\0';
    *end = k;
    *len = n;
    return t_keep(text);
}

/* Reads exactly n bytes (the head comes alone, so one read may not do). */
static void read_some(hl_api_body_stream *s, char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = hl_api_body_stream_read(s, buf + got, n - got);
        ck_assert_int_gt(k, 0);
        got += (size_t)k;
    }
}

static char *export(fixture *f, hl_graph_format format, size_t cap, size_t *len)
{
    pthread_mutex_lock(&f->e->lock);
    hl_api_body_stream *s = hl_graph_open(f->e, format, &f->draining);
    pthread_mutex_unlock(&f->e->lock);
    ck_assert_ptr_nonnull(s);
    ssize_t end;
    char *text = read_all(s, cap, &end, len);
    ck_assert_int_eq(end, 0);
    hl_api_body_stream_close(s);
    return text;
}

static json_t *parse(const char *text, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    ck_assert_msg(j != NULL, "the export is not JSON: %s at line %d column %d", err.text, err.line, err.column);
    return t_keepj(j);
}

/* ---- what core says, as the export should say it ---- */

static bool oracle_name(void *ctx, const char *name, uint64_t id)
{
    json_t *by_id = ctx;
    char key[24];
    snprintf(key, sizeof key, "%llu", U(id));
    json_t *names = json_object_get(by_id, key);
    if (names == NULL)
        json_object_set_new(by_id, key, names = json_array());
    json_array_append_new(names, json_string(name));
    return true;
}

static json_t *expected_nodes(const hl_heap *h)
{
    json_t *by_id = json_object(), *nodes = json_array();
    hl_heap_names(h, oracle_name, by_id);
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0; id = hl_heap_next_live_id(h, id)) {
        hl_object_info in;
        ck_assert_int_eq(hl_heap_object_info(h, id, &in), HL_OK);
        json_t *gen = in.generation == 3 ? json_string("permanent") : in.generation < 0 ? json_null()
                                                                                        : json_integer(in.generation);
        char key[24];
        snprintf(key, sizeof key, "%llu", U(id));
        json_t *names = json_object_get(by_id, key);
        json_array_append_new(nodes, json_pack("{s:I,s:s,s:I,s:I,s:o,s:o}", "id", (json_int_t)id, "type",
                                               hl_type_name(in.type), "refcount", (json_int_t)in.refcount, "size",
                                               (json_int_t)in.size, "generation", gen, "names",
                                               names ? json_incref(names) : json_array()));
    }
    json_decref(by_id);
    return t_keepj(nodes);
}

typedef struct oracle_walk {
    json_t *edges;
    uint64_t from;
} oracle_walk;

static bool oracle_ref(void *ctx, const hl_ref *r)
{
    oracle_walk *w = ctx;
    static const char *const slots[] = {"index", "key", "attr", "member", "dict_key"};
    json_t *e = json_pack("{s:I,s:I,s:s}", "from", (json_int_t)w->from, "to", (json_int_t)r->target, "slot",
                          slots[r->kind]);
    if (r->kind == HL_SLOT_INDEX)
        json_object_set_new(e, "index", json_integer((json_int_t)r->index));
    else if (r->kind != HL_SLOT_MEMBER)
        json_object_set_new(e, r->kind == HL_SLOT_ATTR ? "attr" : "key", json_string(r->name));
    json_array_append_new(w->edges, e);
    return true;
}

static json_t *expected_edges(const hl_heap *h, size_t *count)
{
    oracle_walk w = {json_array(), 0};
    for (w.from = hl_heap_next_live_id(h, 0); w.from != 0; w.from = hl_heap_next_live_id(h, w.from))
        ck_assert_int_eq(hl_heap_referents(h, w.from, oracle_ref, &w), HL_OK);
    *count = json_array_size(w.edges);
    return t_keepj(w.edges);
}

/* Every kind of object, self-loops, several names on one object, a frozen
 * generation, untracked atoms and tricky strings as a name and a key. */
static void fill_every_type(hl_heap *h)
{
    uint64_t i = make(h, (hl_create_spec){.type = HL_INT, .int_value = 7}, "i");
    make(h, (hl_create_spec){.type = HL_FLOAT, .float_value = 1.5}, "f");
    uint64_t s = make(h, (hl_create_spec){.type = HL_STR, .text = TRICKY, .text_len = strlen(TRICKY)}, TRICKY);
    make(h, (hl_create_spec){.type = HL_BYTES, .text = "\x00\xff", .text_len = 2}, "b");
    uint64_t items[] = {i, s};
    make(h, (hl_create_spec){.type = HL_TUPLE, .items = items, .nitems = 2}, "t");
    uint64_t l = make(h, (hl_create_spec){.type = HL_LIST}, "l");
    link_ref(h, l, HL_REF_APPEND, NULL, l);
    link_ref(h, l, HL_REF_APPEND, NULL, i);
    ck_assert_int_eq(hl_op_bind(h, "l2", l), HL_OK);
    ck_assert_int_eq(hl_op_freeze(h), HL_OK);
    const char *keys[] = {TRICKY, "k"};
    uint64_t values[] = {l, i};
    make(h, (hl_create_spec){.type = HL_DICT, .keys = keys, .values = values, .nkeys = 2}, "d");
    make(h, (hl_create_spec){.type = HL_SET, .items = items, .nitems = 2}, "st");
    const char *attrs[] = {"x"};
    uint64_t o = make(h, (hl_create_spec){.type = HL_INSTANCE, .keys = attrs, .values = &i, .nkeys = 1}, "o");
    link_ref(h, o, HL_REF_SET_ATTR, "me", o);
    hl_create_result w;
    ck_assert_int_eq(hl_op_weakref(h, o, false, "w", &w), HL_OK);
}

static void expect_matches_core(fixture *f, const char *text, size_t len)
{
    json_t *doc = parse(text, len);
    size_t nedges;
    ck_assert_str_eq(t_str(doc, "heap"), f->e->id);
    ck_assert_int_eq(t_int(doc, "version"), (json_int_t)f->e->version);
    ck_assert_msg(json_equal(t_get(doc, "nodes"), expected_nodes(f->e->heap)), "nodes differ: %s",
                  t_dump(t_get(doc, "nodes")));
    ck_assert_msg(json_equal(t_get(doc, "edges"), expected_edges(f->e->heap, &nedges)), "edges differ");
    ck_assert(t_bool(doc, "complete"));
    ck_assert_ptr_null(json_object_get(doc, "changed_during_export"));
    ck_assert_int_eq(json_object_size(doc), 5);
}

START_TEST(json_is_what_core_says)
{
    fixture f;
    fx_open(&f);
    fill_every_type(f.e->heap);
    f.e->version = 42;
    size_t len, len7;
    char *text = export(&f, HL_GRAPH_JSON, 4096, &len);
    expect_matches_core(&f, text, len);
    /* the same document however small the reads */
    char *small = export(&f, HL_GRAPH_JSON, 7, &len7);
    ck_assert_uint_eq(len7, len);
    ck_assert_str_eq(small, text);
    /* strings survive the round trip, and look as they should on the wire */
    json_t *doc = parse(text, len);
    ck_assert(strstr(text, "\"q\\\"uote back\\\\slash nl\\n tab\\u0009 ctrl\\u0001\\u001f del\x7f \xC3\xA9") != NULL);
    json_t *node;
    size_t k;
    bool found = false;
    json_array_foreach(t_get(doc, "nodes"), k, node) {
        json_t *names = t_get(node, "names");
        if (json_array_size(names) == 1 && strcmp(json_string_value(json_array_get(names, 0)), TRICKY) == 0)
            found = strcmp(t_str(node, "type"), "str") == 0;
        if (strcmp(t_str(node, "type"), "list") == 0) {
            ck_assert_str_eq(t_dump(names), "[\"l\",\"l2\"]");
            ck_assert_str_eq(t_str(node, "generation"), "permanent");
        }
        if (strcmp(t_str(node, "type"), "int") == 0)
            ck_assert(json_is_null(t_get(node, "generation")));
    }
    ck_assert(found);
    fx_close(&f);
}
END_TEST

/* More objects and names than one batch takes, and a container with more
 * references than one batch writes: the export goes on where it stopped. */
START_TEST(batches_resume)
{
    fixture f;
    fx_open(&f);
    hl_heap *h = f.e->heap;
    enum { OBJECTS = 1500, NAMES_EACH = 6, REFS = 40000 };
    uint64_t big = make(h, (hl_create_spec){.type = HL_LIST}, "big");
    for (int n = 0; n < OBJECTS; n++) {
        char name[32];
        snprintf(name, sizeof name, "o%d_0", n);
        uint64_t id = make(h, (hl_create_spec){.type = HL_INT, .int_value = 1000 + n}, name);
        for (int k = 1; k < NAMES_EACH; k++) {
            snprintf(name, sizeof name, "o%d_%d", n, k);
            ck_assert_int_eq(hl_op_bind(h, name, id), HL_OK);
        }
        for (int k = 0; k < REFS / OBJECTS + 1; k++)
            link_ref(h, big, HL_REF_APPEND, NULL, id);
    }
    size_t len, nedges;
    char *text = export(&f, HL_GRAPH_JSON, 65536, &len);
    expect_matches_core(&f, text, len);
    expected_edges(h, &nedges);
    ck_assert_uint_gt(nedges, 16384 * 2);
    fx_close(&f);
}
END_TEST

/* ---- DOT, read back by a tiny checker ---- */

typedef struct dot_stats {
    size_t nodes, boxes, edges;
    bool endpoints_declared;
} dot_stats;

/* Braces balance outside quoted strings, statements end in ';' at depth 1,
 * and every edge's endpoints are declared by a node statement. */
static dot_stats check_dot(const char *text)
{
    dot_stats st = {0, 0, 0, true};
    ck_assert(strncmp(text, "digraph heap {\n", 15) == 0);
    json_t *declared = json_object(), *ends = json_array();
    int depth = 0;
    bool quoted = false;
    char stmt[512];
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (quoted) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '"')
                quoted = false;
            continue;
        }
        if (*p == '"') {
            quoted = true;
        } else if (*p == '{') {
            depth++;
            n = 0;
        } else if (*p == '}') {
            depth--;
        }
        else if (*p == '/' && p[1] == '/' && depth == 0)
            break;  /* the trailing comment */
        if (depth == 1 && *p == ';') {
            stmt[n] = '\0';
            char a[64], b[64];
            if (sscanf(stmt, " %63[a-z0-9] -> %63[a-z0-9]", a, b) == 2) {
                st.edges++;
                json_array_append_new(ends, json_string(a));
                json_array_append_new(ends, json_string(b));
            } else {
                ck_assert_int_eq(sscanf(stmt, " %63[a-z0-9] [", a), 1);
                json_object_set_new(declared, a, json_true());
                bool box = strncmp(a, "name", 4) == 0;
                st.boxes += box;
                st.nodes += !box && a[0] == 'n';
            }
            n = 0;
        } else if (depth == 1 && *p != '{' && n + 1 < sizeof stmt) {
            stmt[n++] = *p;
        }
        ck_assert_int_ge(depth, 0);
    }
    ck_assert_int_eq(depth, 0);
    ck_assert(!quoted);
    size_t i;
    json_t *end;
    json_array_foreach(ends, i, end) st.endpoints_declared &= json_object_get(declared, json_string_value(end)) != NULL;
    json_decref(declared);
    json_decref(ends);
    return st;
}

START_TEST(dot_declares_what_it_links)
{
    fixture f;
    fx_open(&f);
    fill_every_type(f.e->heap);
    size_t len, nedges;
    char *dot = export(&f, HL_GRAPH_DOT, 5, &len);
    dot_stats st = check_dot(dot);
    hl_heap_totals t;
    hl_heap_totals_get(f.e->heap, &t);
    expected_edges(f.e->heap, &nedges);
    size_t names = hl_heap_name_count(f.e->heap);
    ck_assert_uint_eq(st.nodes, t.objects);
    ck_assert_uint_eq(st.boxes, names);
    ck_assert_uint_eq(st.edges, nedges + names);
    ck_assert(st.endpoints_declared);
    ck_assert(strstr(dot, "[label=\"list #") != NULL);
    ck_assert(strstr(dot, "[label=\"[0]\"];") != NULL);
    ck_assert(strstr(dot, "[label=\".me\"];") != NULL);
    ck_assert(strstr(dot, "[label=\"{member}\"];") != NULL);
    ck_assert(strstr(dot, "[label=\"['k']\"];") != NULL);
    ck_assert(strstr(dot, "[label=\"{key 'k'}\"];") != NULL);
    ck_assert(strstr(dot, "[shape=box, label=\"q\\\"uote back\\\\slash nl\\n tab\\\\x09 ctrl\\\\x01\\\\x1f "
                          "del\\\\x7f \xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80\"];") != NULL);
    ck_assert(strstr(dot, "\n}\n// complete: the heap did not change during the export") != NULL);
    fx_close(&f);
}
END_TEST

/* ---- through the api ---- */

typedef struct graph_resp {
    int status;
    const char *ctype;
    hl_api_body_stream *body;
} graph_resp;

static graph_resp get_graph(const t_heap *h, const char *query)
{
    hl_api_request rq = {.method = "GET", .path = t_fmt("%s/graph", h->base), .query = query,
                         .authorization = t_fmt("Bearer %s", h->token)};
    hl_api_response out;
    hl_api_handle(h->api, &rq, &out);
    graph_resp r = {out.status, out.content_type, out.body_stream};
    ck_assert_ptr_null(out.stream);
    ck_assert(r.status == 200 ? out.body == NULL && r.body != NULL : r.body == NULL);
    hl_api_response_free(&out);
    return r;
}

/* A heap of n ints, each bound to a name: several batches of nodes. */
static t_heap many_objects(hl_api *api, int n)
{
    t_heap h = t_quiet_heap(api);
    char *ops = t_fmt("%s", "{\"ops\": [");
    for (int i = 0; i < n; i++)
        ops = t_fmt("%s%s{\"op\": \"create\", \"type\": \"int\", \"value\": %d, \"name\": \"v%d\"}", ops,
                    i ? "," : "", 1000 + i, i);
    t_expect(t_h(&h, "POST", "/batch", NULL, t_fmt("%s]}", ops)), 200);
    return h;
}

START_TEST(route_answers)
{
    hl_api *api = t_api();
    t_heap h = many_objects(api, 3);
    graph_resp j = get_graph(&h, NULL), d = get_graph(&h, "format=dot"), jj = get_graph(&h, "format=json");
    ck_assert_int_eq(j.status, 200);
    ck_assert_str_eq(j.ctype, "application/json");
    ck_assert_int_eq(jj.status, 200);
    ck_assert_str_eq(d.ctype, "text/vnd.graphviz; charset=utf-8");
    ssize_t end;
    size_t len;
    char *text = read_all(j.body, 100, &end, &len);
    json_t *doc = parse(text, len);
    ck_assert_int_eq(end, 0);
    ck_assert_int_eq(t_int(doc, "version"), t_int(t_h(&h, "GET", "", NULL, NULL).json, "version"));
    ck_assert_int_eq(json_array_size(t_get(doc, "nodes")), 3);
    ck_assert(check_dot(read_all(d.body, 100, &end, &len)).endpoints_declared);
    hl_api_body_stream_close(j.body);
    hl_api_body_stream_close(jj.body);
    hl_api_body_stream_close(d.body);
    t_expect_problem(t_h(&h, "GET", "/graph", "format=xml", NULL), 400, "invalid-query");
    t_expect_problem(t_h(&h, "POST", "/graph", NULL, NULL), 405, "method-not-allowed");
    t_expect_problem(t_h(&h, "GET", "/graphs", NULL, NULL), 404, "not-found");
    t_detail_has(t_h(&h, "GET", "/graphs", NULL, NULL), "graph");
    t_expect_problem(t_req(api, "GET", t_fmt("%s/graph", h.base), NULL, NULL, NULL), 401, "unauthorized");
}
END_TEST

typedef void (*meanwhile_fn)(const t_heap *h);

/* GET .../graph?query read to its end, with meanwhile done once the first
 * batch is being read: the whole text; *end is the last read's answer,
 * which further reads repeat. */
static char *export_around(const t_heap *h, const char *query, meanwhile_fn meanwhile, ssize_t *end)
{
    graph_resp g = get_graph(h, query);
    ck_assert_int_eq(g.status, 200);
    char first[100];
    read_some(g.body, first, sizeof first);
    meanwhile(h);
    size_t len;
    char *rest = read_all(g.body, 4096, end, &len);
    ck_assert_int_eq(hl_api_body_stream_read(g.body, first, sizeof first), *end);
    hl_api_body_stream_close(g.body);
    return t_fmt("%.*s%s", (int)sizeof first, first, rest);
}

static void create_late(const t_heap *h)
{
    t_create(h, "{\"type\": \"list\", \"name\": \"late\"}");
}

static void unbind_late(const t_heap *h)
{
    t_unbind(h, "late");
}

static void delete_heap(const t_heap *h)
{
    t_expect(t_req(h->api, "DELETE", h->base, NULL, T_ADMIN, NULL), 204);
}

static void shut_down(const t_heap *h)
{
    hl_api_shutdown_streams(h->api);
}

/* The lock is not held between reads: other requests go through, and the
 * export says that the heap changed under it. */
START_TEST(change_between_chunks)
{
    hl_api *api = t_api();
    t_heap h = many_objects(api, 2000);
    ssize_t end;
    char *text = export_around(&h, NULL, create_late, &end);
    ck_assert_int_eq(end, 0);
    json_t *doc = parse(text, strlen(text));
    ck_assert(!t_bool(doc, "complete"));
    ck_assert(t_bool(doc, "changed_during_export"));
    /* the object made after the first batch comes after the others */
    ck_assert_int_eq(json_array_size(t_get(doc, "nodes")), 2001);

    json_int_t v = t_int(t_h(&h, "GET", "", NULL, NULL).json, "version");
    char *dot = export_around(&h, "format=dot", unbind_late, &end);
    const char *says = t_fmt("\n}\n// incomplete: changed_during_export (version %lld at the start, %lld at the end)",
                             (long long)v, (long long)v + 1);
    ck_assert_msg(strstr(dot, says) != NULL, "no '%s' at the end of the DOT", says);
}
END_TEST

/* What was made before the heap went still comes: a truncated document. */
START_TEST(heap_deleted_mid_export)
{
    hl_api *api = t_api();
    t_heap h = many_objects(api, 2000);
    ssize_t end;
    char *text = export_around(&h, NULL, delete_heap, &end);
    ck_assert_int_eq(end, -1);
    ck_assert_uint_gt(strlen(text), 100);
    json_error_t err;
    ck_assert_ptr_null(json_loads(text, 0, &err));
}
END_TEST

START_TEST(draining_cuts_exports)
{
    hl_api *api = t_api();
    t_heap h = many_objects(api, 2000);
    ssize_t end;
    export_around(&h, "format=dot", shut_down, &end);
    ck_assert_int_eq(end, -1);
    t_expect_problem(t_h(&h, "GET", "/graph", NULL, NULL), 503, "draining");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-graph");
    TCase *producer = t_tcase("producer", 60);
    tcase_add_test(producer, json_is_what_core_says);
    tcase_add_test(producer, batches_resume);
    tcase_add_test(producer, dot_declares_what_it_links);
    suite_add_tcase(s, producer);
    TCase *route = t_tcase("route", 60);
    tcase_add_test(route, route_answers);
    tcase_add_test(route, change_between_chunks);
    tcase_add_test(route, heap_deleted_mid_export);
    tcase_add_test(route, draining_cuts_exports);
    suite_add_tcase(s, route);
    return t_run(s);
}
