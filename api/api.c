/* api.c — routing, authentication and the heap-level endpoints.
 *
 *   /v1/heaps                                 POST create, GET list (admin)
 *   /v1/heaps/{h}                             GET, DELETE
 *   /v1/heaps/{h}/objects[/{id}[/refs]]       see objects.c
 *   /v1/heaps/{h}/names[/{name}], weakrefs, gc[/collect|freeze|unfreeze],
 *   memory, batch, events                     see objects.c, batch.c
 *
 * Every request on a heap takes that heap's lock for its whole duration,
 * so requests on different heaps run in parallel and core stays lock-free.
 */
#include "api_internal.h"
#include "durable.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

hl_api *hl_api_new(const hl_api_config *cfg)
{
    char why[256];
    return hl_api_open(cfg, why, sizeof why);
}

hl_api *hl_api_open(const hl_api_config *cfg, char *why, size_t why_cap)
{
    snprintf(why, why_cap, "out of memory");
    hl_api *api = calloc(1, sizeof *api);
    if (api == NULL)
        return NULL;
    if (cfg != NULL)
        api->cfg = *cfg;
    api->admin_token = cfg && cfg->admin_token && cfg->admin_token[0] ? strdup(cfg->admin_token) : NULL;
    api->shard = cfg && cfg->shard && cfg->shard[0] ? strdup(cfg->shard) : NULL;
    size_t ring = api->cfg.event_ring ? api->cfg.event_ring : 10000;
    if (!api->cfg.max_batch_ops)
        api->cfg.max_batch_ops = 1000000;
    atomic_init(&api->draining, false);
    if (!hl_registry_init(&api->registry, api->shard, api->cfg.max_heaps, ring)) {
        free(api->admin_token);
        free(api->shard);
        free(api);
        return NULL;
    }
    if (!hl_durable_open(api, why, why_cap)) {
        hl_api_delete(api);
        return NULL;
    }
    return api;
}

void hl_api_delete(hl_api *api)
{
    if (api == NULL)
        return;
    hl_registry_free(&api->registry);
    hl_durable_close(api);
    free(api->admin_token);
    free(api->shard);
    free(api);
}

void hl_api_response_free(hl_api_response *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- request helpers ---- */

bool hl_api_parse_body(const hl_api_request *req, hl_api_response *out, json_t **body, bool required)
{
    *body = NULL;
    if (req->body_len == 0) {
        if (required)
            hl_problem(out, 400, "invalid-body", NULL, "this request needs a JSON object body");
        return !required;
    }
    json_error_t err;
    *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (*body == NULL) {
        json_t *extra = json_pack("{s:I,s:i,s:i}", "position", (json_int_t)err.position, "line", err.line,
                                  "column", err.column);
        hl_problem(out, 400, "invalid-json", extra, "the body is not valid JSON: %s (at byte %d)", err.text,
                   err.position);
        return false;
    }
    if (!json_is_object(*body)) {
        json_decref(*body);
        *body = NULL;
        hl_problem(out, 400, "invalid-body", NULL, "the body must be a JSON object");
        return false;
    }
    return true;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Value of one query parameter, percent-decoded into buf; NULL if absent. */
const char *hl_api_query(const hl_api_request *req, const char *name, char *buf, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = req->query; p != NULL && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t o = 0;
            for (const char *s = p + nlen + 1; s < p + len && o + 1 < cap; s++) {
                int hi = s + 2 < p + len ? hex_value(s[1]) : -1, lo = hi >= 0 ? hex_value(s[2]) : -1;
                if (*s == '%' && hi >= 0 && lo >= 0) {
                    buf[o++] = (char)(hi * 16 + lo);
                    s += 2;
                } else {
                    buf[o++] = *s == '+' ? ' ' : *s;
                }
            }
            buf[o] = '\0';
            return buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

void hl_api_fail(hl_api_response *out, const hl_apply_error *err, json_t *extra)
{
    hl_problem(out, err->status, err->slug, extra, "%s", err->detail);
}

/* ---- authentication ---- */

static const char *bearer(const hl_api_request *req)
{
    const char *a = req->authorization;
    if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    return *a != '\0' ? a : NULL;
}

bool hl_api_is_admin(const hl_api *api, const hl_api_request *req)
{
    if (api->cfg.no_auth)
        return true;
    const char *t = bearer(req);
    return api->admin_token != NULL && t != NULL && hl_token_matches(api->admin_token, t);
}

static bool may_open(const hl_api *api, const hl_api_request *req, const hl_api_heap *e, hl_api_response *out)
{
    if (hl_api_is_admin(api, req))
        return true;
    const char *t = bearer(req);
    if (t == NULL) {
        hl_problem(out, 401, "unauthorized", NULL,
                   "send this heap's token: Authorization: Bearer <token> (it was returned when the heap was created)");
        out->auth_challenge = true;
        return false;
    }
    if (!hl_token_matches(e->token, t)) {
        hl_problem(out, 403, "forbidden", NULL, "that token does not open heap '%s'", e->id);
        return false;
    }
    return true;
}

/* ---- /v1/heaps ---- */

static bool limit_field(json_t *limits, const char *name, uint64_t server_max, uint64_t *out, hl_api_response *resp)
{
    json_t *v = json_object_get(limits, name);
    *out = server_max;
    if (v == NULL)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        (server_max != 0 && (uint64_t)json_integer_value(v) > server_max)) {
        hl_problem(resp, 400, "invalid-field", NULL, "limits.%s must be a positive integer%s", name,
                   server_max ? " no larger than the server's limit" : "");
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Refuses members of a nested object outside the names given. */
static bool only_members(json_t *obj, const char *where, const char *const *names, hl_api_response *out)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool known = false;
        for (const char *const *n = names; *n != NULL && !known; n++)
            known = strcmp(*n, key) == 0;
        if (!known) {
            hl_problem(out, 400, "unknown-field", NULL, "unknown field '%s.%s'", where, key);
            return false;
        }
    }
    return true;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool heap_config_from(const hl_api *api, json_t *body, hl_heap_config *cfg, hl_api_response *out)
{
    static const char *const limit_names[] = {"max_objects", "max_bytes", NULL};
    static const char *const gc_names[] = {"thresholds", "enabled", NULL};
    hl_heap_config_default(cfg);
    cfg->max_objects = api->cfg.max_objects;
    cfg->max_bytes = api->cfg.max_bytes;
    if (body == NULL)
        return true;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool known = strcmp(key, "name") == 0 || strcmp(key, "limits") == 0 || strcmp(key, "gc") == 0 ||
                     strcmp(key, "profile") == 0;
        if (!known) {
            hl_problem(out, 400, "unknown-field", NULL, "unknown field '%s' (name, limits, gc, profile)", key);
            return false;
        }
    }
    json_t *profile = json_object_get(body, "profile");
    hl_profile p = HL_PROFILE_3_11;
    if (profile != NULL && (!json_is_string(profile) || !hl_profile_from_name(json_string_value(profile), &p))) {
        hl_problem(out, 400, "invalid-field", NULL, "'profile' is the CPython heaplab behaves like: \"3.11\" (the "
                   "default), \"3.12\" or \"3.13\"");
        return false;
    }
    hl_heap_config_profile(cfg, p); /* before gc.thresholds, which override its defaults */
    json_t *name = json_object_get(body, "name"), *limits = json_object_get(body, "limits");
    json_t *gc = json_object_get(body, "gc");
    if (name != NULL && (!json_is_string(name) || utf8_chars(json_string_value(name)) > 100)) {
        hl_problem(out, 400, "invalid-field", NULL, "'name' must be a string of at most 100 characters");
        return false;
    }
    if (json_is_object(limits) && !only_members(limits, "limits", limit_names, out))
        return false;
    if (json_is_object(gc) && !only_members(gc, "gc", gc_names, out))
        return false;
    if (limits != NULL && (!json_is_object(limits) ||
                           !limit_field(limits, "max_objects", api->cfg.max_objects, &cfg->max_objects, out) ||
                           !limit_field(limits, "max_bytes", api->cfg.max_bytes, &cfg->max_bytes, out))) {
        if (!json_is_object(limits))
            hl_problem(out, 400, "invalid-field", NULL, "'limits' must be an object");
        return false;
    }
    if (gc == NULL)
        return true;
    json_t *th = json_object_get(gc, "thresholds"), *en = json_object_get(gc, "enabled");
    if (!json_is_object(gc) || (en != NULL && !json_is_boolean(en)) ||
        (th != NULL && (!json_is_array(th) || json_array_size(th) < 1 || json_array_size(th) > 3))) {
        hl_problem(out, 400, "invalid-field", NULL,
                   "'gc' is {\"thresholds\": [t0[, t1[, t2]]], \"enabled\": true|false}, as gc.set_threshold takes");
        return false;
    }
    for (size_t i = 0; th != NULL && i < json_array_size(th); i++) {
        json_t *t = json_array_get(th, i);
        if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 1000000000) {
            hl_problem(out, 400, "invalid-field", NULL, "gc.thresholds[%zu] must be an integer from 0 to 1000000000", i);
            return false;
        }
        cfg->thresholds[i] = (int)json_integer_value(t);
    }
    if (en != NULL)
        cfg->gc_enabled = json_is_true(en);
    return true;
}

static void create_heap(hl_api *api, const hl_api_request *req, hl_api_response *out)
{
    json_t *body;
    hl_heap_config cfg;
    if (!hl_api_parse_body(req, out, &body, false))
        return;
    if (!heap_config_from(api, body, &cfg, out)) {
        json_decref(body);
        return;
    }
    const char *name = json_string_value(json_object_get(body, "name"));
    /* Where arenas fall against pool boundaries is fixed per heap (CPython
     * takes what mmap gives), so that the heap rebuilt from its files has
     * the same pools. */
    unsigned char r = 0;
    cfg.arena_phase = getrandom(&r, 1, 0) == 1 ? (r % 4) * HL_ALLOC_PAGE_SIZE : 0;
    hl_api_heap *e;
    hl_registry_status st = hl_registry_create(&api->registry, &cfg, name, &e);
    json_decref(body);
    if (st == HL_REG_FULL) {
        hl_problem(out, 503, "too-many-heaps", NULL, "the server holds its maximum of %llu heaps; delete one first",
                   (unsigned long long)api->cfg.max_heaps);
        return;
    }
    if (st != HL_REG_OK) {
        hl_problem(out, 503, "out-of-memory", NULL, "the server could not create a heap");
        return;
    }
    hl_api_attach_sink(e);
    if (!hl_durable_created(api, e, out)) {
        hl_registry_remove(&api->registry, e->id);
        hl_registry_unref(e);
        return;
    }
    snprintf(out->location, sizeof out->location, "/v1/heaps/%s", e->id);
    hl_respond_json(out, 201, json_pack("{s:s,s:s,s:s}", "id", e->id, "token", e->token, "name", e->name));
    hl_registry_unref(e);
}

static bool list_entry(void *ctx, hl_api_heap *e)
{
    json_t *list = ctx;
    pthread_mutex_lock(&e->lock);
    hl_heap_totals t;
    hl_heap_totals_get(e->heap, &t);
    pthread_mutex_unlock(&e->lock);
    json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:I}", "id", e->id, "name", e->name, "objects",
                                          (json_int_t)t.objects, "bytes", (json_int_t)t.bytes));
    return true;
}

static void list_heaps(hl_api *api, const hl_api_request *req, hl_api_response *out)
{
    if (!hl_api_is_admin(api, req)) {
        bool anonymous = bearer(req) == NULL;
        hl_problem(out, anonymous ? 401 : 403, anonymous ? "unauthorized" : "forbidden", NULL,
                   "listing heaps needs the admin token");
        out->auth_challenge = anonymous;
        return;
    }
    json_t *list = json_array();
    hl_registry_each(&api->registry, list_entry, list);
    hl_respond_json(out, 200, json_pack("{s:o}", "heaps", list));
}

static void get_heap(hl_api_heap *e, hl_api_response *out)
{
    hl_heap_totals t;
    hl_heap_totals_get(e->heap, &t);
    json_t *j = json_pack("{s:s,s:s,s:I,s:I}", "id", e->id, "name", e->name, "objects", (json_int_t)t.objects,
                          "bytes", (json_int_t)t.bytes);
    json_object_set_new(j, "names", json_integer((json_int_t)hl_heap_name_count(e->heap)));
    hl_heap_config hc;
    hl_heap_config_get(e->heap, &hc);
    json_object_set_new(j, "profile", json_string(hl_profile_name(hc.profile)));
    json_object_set_new(j, "version", json_integer((json_int_t)e->version));
    json_object_set_new(j, "gc", hl_render_gc(e->heap));
    json_object_set_new(j, "memory", hl_render_memory_summary(e->heap));
    hl_respond_json(out, 200, j);
}

static void method_not_allowed(hl_api_response *out, const char *method, const char *allowed)
{
    hl_problem(out, 405, "method-not-allowed", NULL, "%s is not allowed here; use %s", method, allowed);
    snprintf(out->allow, sizeof out->allow, "%s", allowed);
}

static void heap_request(hl_api *api, const hl_api_request *req, hl_api_response *out, char **seg, int nseg)
{
    if (nseg == 3 && strcmp(req->method, "DELETE") == 0) {
        hl_api_heap *e = hl_registry_open(&api->registry, seg[2]);
        if (e == NULL) {
            hl_problem(out, 404, "no-such-heap", NULL, "there is no heap '%s'", seg[2]);
            return;
        }
        bool allowed = may_open(api, req, e, out) && hl_durable_deleting(api, e, out);
        hl_registry_close(e);
        if (allowed && hl_registry_remove(&api->registry, seg[2]))
            out->status = 204;
        else if (allowed)
            hl_problem(out, 404, "no-such-heap", NULL, "heap '%s' was deleted meanwhile", seg[2]);
        return;
    }
    hl_api_heap *e = hl_registry_open(&api->registry, seg[2]);
    if (e == NULL) {
        const char *broken = hl_durable_broken(api, seg[2]);
        if (broken != NULL)
            hl_problem(out, 503, "heap-unrecoverable", NULL, "heap '%s' is on disk but could not be loaded: %s",
                       seg[2], broken);
        else
            hl_problem(out, 404, "no-such-heap", NULL, "there is no heap '%s'", seg[2]);
        return;
    }
    if (may_open(api, req, e, out)) {
        if (nseg == 3 && strcmp(req->method, "GET") == 0) {
            get_heap(e, out);
        } else if (nseg == 3) {
            method_not_allowed(out, req->method, "GET, DELETE");
        } else {
            bool reads = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
            if (!reads)
                hl_durable_begin(e);
            hl_api_heap_route(api, e, req, out, seg + 3, nseg - 3);
            if (!reads)
                hl_durable_finish(api, e, out);
        }
    }
    hl_registry_close(e);
}

#define MAX_SEGMENTS 8

static int split_path(char *path, char **seg)
{
    int n = 0;
    char *save;
    for (char *p = strtok_r(path, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
    }
    return n;
}

void hl_api_handle(hl_api *api, const hl_api_request *req, hl_api_response *out)
{
    memset(out, 0, sizeof *out);
    char path[1024];
    char *seg[MAX_SEGMENTS];
    int nseg = -1;
    if (req->path != NULL && strlen(req->path) < sizeof path) {
        strcpy(path, req->path);
        nseg = split_path(path, seg);
    }
    if (nseg < 2 || strcmp(seg[0], "v1") != 0 || strcmp(seg[1], "heaps") != 0) {
        hl_problem(out, 404, "not-found", NULL, "no such resource: %s (the API lives under /v1/heaps; see /openapi.json)",
                   req->path ? req->path : "");
        return;
    }
    if (nseg == 2) {
        if (strcmp(req->method, "POST") == 0)
            create_heap(api, req, out);
        else if (strcmp(req->method, "GET") == 0)
            list_heaps(api, req, out);
        else
            method_not_allowed(out, req->method, "GET, POST");
        return;
    }
    heap_request(api, req, out, seg, nseg);
}

void hl_api_shutdown_streams(hl_api *api)
{
    atomic_store(&api->draining, true);
    hl_registry_each(&api->registry, hl_api_wake_heap, NULL);
}

static bool sum_heap(void *ctx, hl_api_heap *e)
{
    hl_api_stats *s = ctx;
    pthread_mutex_lock(&e->lock);
    hl_heap_totals t;
    hl_heap_totals_get(e->heap, &t);
    hl_gc_state g;
    hl_heap_gc_state(e->heap, &g);
    pthread_mutex_unlock(&e->lock);
    s->objects += t.objects;
    s->bytes += t.bytes;
    for (int i = 0; i < 3; i++) {
        s->collections_total += g.stats[i].collections;
        s->collected_total += g.stats[i].collected;
    }
    return true;
}

void hl_api_get_stats(hl_api *api, hl_api_stats *out)
{
    memset(out, 0, sizeof *out);
    out->heaps = hl_registry_count(&api->registry);
    out->heaps_created_total = atomic_load(&api->registry.created_total);
    out->heaps_deleted_total = atomic_load(&api->registry.deleted_total);
    out->ops_total = atomic_load(&api->ops_total);
    out->streams_open = atomic_load(&api->streams_open);
    out->unsynced_seconds = api->store != NULL ? (double)hl_store_unsynced_age_ns(api->store) / 1e9 : 0;
    hl_registry_each(&api->registry, sum_heap, out);
}
