/* apitest.h — helpers the api/ tests share: an api with an admin token,
 * one-call requests that parse the JSON answer, heaps with their tokens,
 * and assertions on problem+json answers.
 *
 * Everything a helper allocates (responses, parsed bodies, formatted
 * strings) is remembered and released by t_teardown(), so tests stay
 * leak-free under the sanitizers without freeing by hand. */
#ifndef HL_APITEST_H
#define HL_APITEST_H

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define T_ADMIN "admin-secret-token"
#define T_ADMIN_AUTH "Bearer " T_ADMIN

/* ---- cleanup registry ---- */

typedef struct t_trash {
    void **ptrs;
    json_t **jsons;
    size_t nptrs, njsons, capp, capj;
} t_trash;

static t_trash t_bin;
static hl_api *t_api_current;

static inline void *t_keep(void *p)
{
    if (t_bin.nptrs == t_bin.capp) {
        t_bin.capp = t_bin.capp ? 2 * t_bin.capp : 64;
        t_bin.ptrs = realloc(t_bin.ptrs, t_bin.capp * sizeof *t_bin.ptrs);
    }
    t_bin.ptrs[t_bin.nptrs++] = p;
    return p;
}

static inline json_t *t_keepj(json_t *j)
{
    if (j == NULL)
        return NULL;
    if (t_bin.njsons == t_bin.capj) {
        t_bin.capj = t_bin.capj ? 2 * t_bin.capj : 64;
        t_bin.jsons = realloc(t_bin.jsons, t_bin.capj * sizeof *t_bin.jsons);
    }
    t_bin.jsons[t_bin.njsons++] = j;
    return j;
}

/* printf into a string that lives until teardown. */
static __attribute__((format(printf, 1, 2), unused)) char *t_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    return t_keep(s);
}

/* ---- the api under test ---- */

static inline hl_api *t_api_with(const hl_api_config *cfg)
{
    hl_api *api = hl_api_new(cfg);
    ck_assert_ptr_nonnull(api);
    return api;
}

/* An api with the admin token T_ADMIN; deleted by t_teardown. */
static inline hl_api *t_api(void)
{
    hl_api_config cfg = {.admin_token = T_ADMIN};
    t_api_current = t_api_with(&cfg);
    return t_api_current;
}

static inline void t_setup(void)
{
    memset(&t_bin, 0, sizeof t_bin);
    t_api_current = NULL;
}

static inline void t_teardown(void)
{
    for (size_t i = 0; i < t_bin.njsons; i++)
        json_decref(t_bin.jsons[i]);
    for (size_t i = 0; i < t_bin.nptrs; i++)
        free(t_bin.ptrs[i]);
    free(t_bin.jsons);
    free(t_bin.ptrs);
    memset(&t_bin, 0, sizeof t_bin);
    if (t_api_current != NULL)
        hl_api_delete(t_api_current);
    t_api_current = NULL;
}

/* ---- requests ---- */

typedef struct t_resp {
    int status;
    const char *ctype;     /* content type */
    json_t *json;          /* parsed body (NULL when empty or not JSON) */
    const char *text;      /* raw body ("" when none) */
    size_t len;
    const char *location;
    const char *allow;
    bool challenge;
    hl_api_stream *stream;
} t_resp;

/* token: a bare token (sent as "Bearer <token>"), or NULL for none. */
static inline t_resp t_req_full(hl_api *api, const char *method, const char *path, const char *query,
                                const char *authorization, const char *accept, const char *body, size_t body_len)
{
    hl_api_request rq = {.method = method,
                         .path = path,
                         .query = query,
                         .authorization = authorization,
                         .accept = accept,
                         .content_type = body ? "application/json" : NULL,
                         .body = body,
                         .body_len = body_len};
    hl_api_response out;
    hl_api_handle(api, &rq, &out);
    t_resp r = {0};
    r.status = out.status;
    r.ctype = out.content_type ? out.content_type : "";
    r.stream = out.stream;
    r.challenge = out.auth_challenge;
    r.location = t_keep(strdup(out.location));
    r.allow = t_keep(strdup(out.allow));
    r.text = out.body ? t_keep(strdup(out.body)) : "";
    r.len = out.body_len;
    if (out.body != NULL && out.body_len > 0 && strstr(r.ctype, "json") != NULL) {
        json_error_t err;
        r.json = t_keepj(json_loadb(out.body, out.body_len, JSON_ALLOW_NUL, &err));
        ck_assert_msg(r.json != NULL, "%s %s answered unparsable JSON: %s", method, path, err.text);
    }
    hl_api_response_free(&out);
    return r;
}

static inline t_resp t_req(hl_api *api, const char *method, const char *path, const char *query, const char *token,
                           const char *body)
{
    const char *auth = token ? t_fmt("Bearer %s", token) : NULL;
    return t_req_full(api, method, path, query, auth, NULL, body, body ? strlen(body) : 0);
}

/* ---- JSON access ---- */

static inline const char *t_dump(json_t *j)
{
    return j ? t_keep(json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)) : "(null)";
}

static inline json_t *t_get(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    ck_assert_msg(v != NULL, "missing member '%s' in %s", key, t_dump(j));
    return v;
}

static inline json_int_t t_int(json_t *j, const char *key)
{
    json_t *v = t_get(j, key);
    ck_assert_msg(json_is_integer(v), "member '%s' is not an integer", key);
    return json_integer_value(v);
}

static inline const char *t_str(json_t *j, const char *key)
{
    json_t *v = t_get(j, key);
    ck_assert_msg(json_is_string(v), "member '%s' is not a string", key);
    return json_string_value(v);
}

static inline bool t_bool(json_t *j, const char *key)
{
    json_t *v = t_get(j, key);
    ck_assert_msg(json_is_boolean(v), "member '%s' is not a boolean", key);
    return json_is_true(v);
}

/* Does the JSON array hold the integer v? */
static inline bool t_array_has(json_t *arr, json_int_t v)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (json_is_integer(x) && json_integer_value(x) == v)
            return true;
    }
    return false;
}

#define t_expect(r, want)                                                                                       \
    ck_assert_msg((r).status == (want), "expected status %d, got %d: %s", (want), (r).status, (r).text)

/* An RFC 9457 problem with the given status and slug ("/problems/<slug>"). */
#define t_expect_problem(r, want, slug)                                                                         \
    do {                                                                                                        \
        t_resp pr_ = (r);                                                                                       \
        t_expect(pr_, want);                                                                                    \
        ck_assert_str_eq(pr_.ctype, "application/problem+json");                                               \
        ck_assert_ptr_nonnull(pr_.json);                                                                        \
        ck_assert_str_eq(t_str(pr_.json, "type"), "/problems/" slug);                                          \
        ck_assert(strlen(t_str(pr_.json, "title")) > 0);                                                        \
        ck_assert_int_eq(t_int(pr_.json, "status"), (want));                                                    \
        ck_assert(strlen(t_str(pr_.json, "detail")) > 0);                                                       \
    } while (0)

#define t_detail_has(r, needle)                                                                                 \
    ck_assert_msg(strstr(t_str((r).json, "detail"), (needle)) != NULL, "detail '%s' lacks '%s'",              \
                  t_str((r).json, "detail"), (needle))

/* ---- heaps ---- */

typedef struct t_heap {
    hl_api *api;
    char id[64];
    char token[80];
    char base[128];   /* "/v1/heaps/<id>" */
} t_heap;

/* Creates a heap (body may be NULL) and keeps its id and token. */
static inline t_heap t_new_heap(hl_api *api, const char *body)
{
    t_resp r = t_req(api, "POST", "/v1/heaps", NULL, NULL, body);
    t_expect(r, 201);
    t_heap h = {.api = api};
    snprintf(h.id, sizeof h.id, "%s", t_str(r.json, "id"));
    snprintf(h.token, sizeof h.token, "%s", t_str(r.json, "token"));
    snprintf(h.base, sizeof h.base, "/v1/heaps/%s", h.id);
    return h;
}

/* A heap whose collector runs only when asked. */
static inline t_heap t_quiet_heap(hl_api *api)
{
    return t_new_heap(api, "{\"gc\": {\"enabled\": false}}");
}

/* A request on the heap with its own token; sub is the path below the
 * heap ("/objects/3"), or "" for the heap itself. */
static inline t_resp t_h(const t_heap *h, const char *method, const char *sub, const char *query, const char *body)
{
    return t_req(h->api, method, t_fmt("%s%s", h->base, sub), query, h->token, body);
}

/* POST /objects and returns the new id (expects 201). */
static inline uint64_t t_create(const t_heap *h, const char *body)
{
    t_resp r = t_h(h, "POST", "/objects", NULL, body);
    t_expect(r, 201);
    return (uint64_t)t_int(r.json, "id");
}

/* GET /objects/{id}: the full object (expects 200). */
static inline json_t *t_obj(const t_heap *h, uint64_t id)
{
    t_resp r = t_h(h, "GET", t_fmt("/objects/%llu", (unsigned long long)id), NULL, NULL);
    t_expect(r, 200);
    return r.json;
}

static inline int t_refcount(const t_heap *h, uint64_t id)
{
    return (int)t_int(t_obj(h, id), "refcount");
}

static inline int t_status_of(const t_heap *h, uint64_t id)
{
    return t_h(h, "GET", t_fmt("/objects/%llu", (unsigned long long)id), NULL, NULL).status;
}

/* Asserts the object is alive with exactly that refcount. */
#define t_expect_rc(h, id, rc)                                                                                  \
    do {                                                                                                        \
        json_t *o_ = t_obj((h), (id));                                                                          \
        ck_assert_msg(t_int(o_, "refcount") == (rc), "object %llu: refcount %lld, expected %d",                \
                      (unsigned long long)(id), (long long)t_int(o_, "refcount"), (int)(rc));                   \
    } while (0)

#define t_expect_freed(h, id)                                                                                   \
    do {                                                                                                        \
        t_resp f_ = t_h((h), "GET", t_fmt("/objects/%llu", (unsigned long long)(id)), NULL, NULL);              \
        t_expect_problem(f_, 404, "object-freed");                                                              \
    } while (0)

/* Binds name to id (expects 200). */
static inline void t_bind(const t_heap *h, const char *name, uint64_t id)
{
    t_resp r = t_h(h, "PUT", t_fmt("/names/%s", name), NULL, t_fmt("{\"id\": %llu}", (unsigned long long)id));
    t_expect(r, 200);
}

static inline void t_unbind(const t_heap *h, const char *name)
{
    t_resp r = t_h(h, "DELETE", t_fmt("/names/%s", name), NULL, NULL);
    t_expect(r, 204);
}

/* POST /objects/{id}/refs with the body (expects 200). */
static inline json_t *t_ref(const t_heap *h, uint64_t id, const char *body)
{
    t_resp r = t_h(h, "POST", t_fmt("/objects/%llu/refs", (unsigned long long)id), NULL, body);
    t_expect(r, 200);
    return r.json;
}

/* Collects (generation 2) and returns the answer. */
static inline json_t *t_collect(const t_heap *h)
{
    t_resp r = t_h(h, "POST", "/gc/collect", NULL, NULL);
    t_expect(r, 200);
    return r.json;
}

/* Events since seq (GET /events?since=). */
static inline json_t *t_events(const t_heap *h, uint64_t since)
{
    t_resp r = t_h(h, "GET", "/events", t_fmt("since=%llu", (unsigned long long)since), NULL);
    t_expect(r, 200);
    return t_get(r.json, "events");
}

static inline uint64_t t_next_seq(const t_heap *h)
{
    t_resp r = t_h(h, "GET", "/events", "since=0&limit=10000", NULL);
    t_expect(r, 200);
    return (uint64_t)t_int(r.json, "next");
}

/* ---- suite running ---- */

static inline TCase *t_tcase(const char *name, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_set_timeout(tc, timeout);
    return tc;
}

static inline int t_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
