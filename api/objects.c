/* objects.c — the endpoints under /v1/heaps/{h}: objects, references,
 * names, weakrefs, the collector, memory and events.  The heap is open
 * (locked and authorised) when these run. */
#include "api_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "doctor.h"
#include "graph.h"
#include "paths.h"
#include "snapshots.h"
#include "stream.h"

static void core_sink(void *ctx, const hl_event *ev)
{
    hl_api_heap *e = ctx;
    hl_evring_push(&e->events, ev);
}

void hl_api_set_sink(hl_api_heap *e)
{
    hl_heap_set_event_sink(e->heap, core_sink, e);
}

void hl_api_attach_sink(hl_api_heap *e)
{
    pthread_mutex_lock(&e->lock);
    hl_api_set_sink(e);
    pthread_mutex_unlock(&e->lock);
}

bool hl_api_wake_heap(void *ctx, hl_api_heap *e)
{
    (void)ctx;
    pthread_mutex_lock(&e->lock);
    hl_registry_wake_streams(e);
    pthread_mutex_unlock(&e->lock);
    return true;
}

static bool method_is(const hl_api_request *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

static void not_allowed(hl_api_response *out, const hl_api_request *req, const char *allowed)
{
    hl_problem(out, 405, "method-not-allowed", NULL, "%s is not allowed here; use %s", req->method, allowed);
    snprintf(out->allow, sizeof out->allow, "%s", allowed);
}

/* Runs one apply function's result into the response. */
static void finish(hl_api *api, hl_api_heap *e, hl_api_response *out, json_t *result, const hl_apply_error *err,
                   int status)
{
    if (result == NULL) {
        hl_api_fail(out, err, NULL);
        return;
    }
    atomic_fetch_add(&api->ops_total, 1);
    e->version++;
    if (json_is_null(result)) {
        json_decref(result);
        out->status = 204;
        return;
    }
    hl_respond_json(out, status, result);
}

static bool parse_id(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s < '1' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *end == '\0' && v > 0 && errno == 0;
}

static void freed_problem(hl_api_heap *e, uint64_t id, hl_api_response *out)
{
    if (!hl_heap_id_ever_used(e->heap, id)) {
        hl_problem(out, 404, "no-such-object", NULL, "heap '%s' has no object %" PRIu64 " (ids so far: 1..%" PRIu64 ")",
                   e->id, id, hl_heap_next_id(e->heap) - 1);
        return;
    }
    const hl_evrec *ev = hl_evring_find_free(&e->events, id);
    json_t *extra = json_pack("{s:b}", "freed", 1);
    if (ev != NULL) {
        json_object_set_new(extra, "freed_at_seq", json_integer((json_int_t)ev->seq));
        hl_problem(out, 404, "object-freed", extra,
                   "object %" PRIu64 " was freed (event seq %" PRIu64 "); ids are never reused, but its address may be",
                   id, ev->seq);
    } else {
        hl_problem(out, 404, "object-freed", extra,
                   "object %" PRIu64 " was freed (before the oldest event this heap still keeps)", id);
    }
}

/* ---- /objects ---- */

static bool type_filter(const char *want, const hl_heap *h, uint64_t id)
{
    hl_object_info info;
    return want == NULL || (hl_heap_object_info(h, id, &info) == HL_OK && strcmp(hl_type_name(info.type), want) == 0);
}

static void list_objects(hl_api_heap *e, const hl_api_request *req, hl_api_response *out)
{
    char tbuf[32], lbuf[32], cbuf[32];
    const char *type = hl_api_query(req, "type", tbuf, sizeof tbuf);
    const char *limit_s = hl_api_query(req, "limit", lbuf, sizeof lbuf);
    const char *cursor_s = hl_api_query(req, "cursor", cbuf, sizeof cbuf);
    hl_type t;
    if (type != NULL && !hl_type_from_name(type, &t)) {
        hl_problem(out, 400, "invalid-query", NULL, "type=%s is not a type (int, float, str, bytes, tuple, list, dict, set, instance, weakref)", type);
        return;
    }
    uint64_t limit = 100, cursor = 0;
    if (limit_s != NULL && (!parse_id(limit_s, &limit) || limit > 1000)) {
        hl_problem(out, 400, "invalid-query", NULL, "limit must be an integer from 1 to 1000");
        return;
    }
    if (cursor_s != NULL && !parse_id(cursor_s, &cursor)) {
        hl_problem(out, 400, "invalid-query", NULL, "cursor must be the 'next' value of a previous page");
        return;
    }
    json_t *objects = json_array();
    uint64_t id = cursor, last = 0;
    while ((id = hl_heap_next_live_id(e->heap, id)) != 0 && json_array_size(objects) < limit) {
        if (type_filter(type, e->heap, id))
            json_array_append_new(objects, hl_render_object(e->heap, id, false));
        last = id;
    }
    json_t *j = json_pack("{s:o}", "objects", objects);
    json_object_set_new(j, "next", id != 0 ? json_integer((json_int_t)last) : json_null());
    hl_respond_json(out, 200, j);
}

static void objects_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg,
                          int nseg)
{
    hl_apply_error err = {0};
    hl_apply_ctx c = {.heap = e->heap, .err = &err};
    json_t *body;
    if (nseg == 1) {
        if (method_is(req, "GET")) {
            list_objects(e, req, out);
        } else if (method_is(req, "POST")) {
            if (!hl_api_parse_body(req, out, &body, true))
                return;
            json_t *r = hl_apply_create(&c, body, NULL);
            json_decref(body);
            if (r != NULL && json_is_true(json_object_get(r, "alive")))
                snprintf(out->location, sizeof out->location, "/v1/heaps/%s/objects/%" PRIu64, e->id, c.produced);
            finish(api, e, out, r, &err, 201);
        } else {
            not_allowed(out, req, "GET, POST");
        }
        return;
    }
    uint64_t id;
    if (!parse_id(seg[1], &id)) {
        hl_problem(out, 404, "no-such-object", NULL, "'%s' is not an object id (a positive integer)", seg[1]);
        return;
    }
    if (nseg == 2) {
        if (!method_is(req, "GET")) {
            not_allowed(out, req, "GET");
            return;
        }
        json_t *j = hl_render_object(e->heap, id, true);
        if (j == NULL)
            freed_problem(e, id, out);
        else
            hl_respond_json(out, 200, j);
        return;
    }
    if (nseg == 3 && strcmp(seg[2], "path") == 0) {
        json_t *p = method_is(req, "GET") ? hl_paths_from_names(e->heap, id) : NULL;
        if (!method_is(req, "GET"))
            not_allowed(out, req, "GET");
        else if (p == NULL)
            freed_problem(e, id, out);
        else if (json_is_null(p))
            hl_problem(out, 503, "out-of-memory", NULL, "out of memory while searching for a path");
        else
            hl_respond_json(out, 200, p);
        return;
    }
    if (nseg != 3 || strcmp(seg[2], "refs") != 0) {
        hl_problem(out, 404, "not-found", NULL, "no such resource under object %" PRIu64 " (refs, path)", id);
        return;
    }
    json_t *idv = json_integer((json_int_t)id);
    if (method_is(req, "POST")) {
        if (hl_api_parse_body(req, out, &body, true)) {
            finish(api, e, out, hl_apply_ref(&c, idv, body, NULL), &err, 200);
            json_decref(body);
        }
    } else if (method_is(req, "DELETE")) {
        /* The query says which reference: index=, key=, attr= or target=. */
        json_t *q = json_object();
        static const char *const keys[] = {"index", "key", "attr", "target"};
        char buf[512];
        for (int i = 0; i < 4; i++) {
            const char *v = hl_api_query(req, keys[i], buf, sizeof buf);
            if (v == NULL)
                continue;
            char *end;
            long long n = strtoll(v, &end, 10);
            bool numeric = (i == 0 || i == 3) && *v != '\0' && *end == '\0';
            json_object_set_new(q, keys[i], numeric ? json_integer(n) : json_string(v));
        }
        finish(api, e, out, hl_apply_unref(&c, idv, q, NULL), &err, 200);
        json_decref(q);
    } else {
        not_allowed(out, req, "POST, DELETE");
    }
    json_decref(idv);
}

/* ---- /names ---- */

static void names_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg,
                        int nseg)
{
    hl_apply_error err = {0};
    hl_apply_ctx c = {.heap = e->heap, .err = &err};
    if (nseg == 1) {
        if (method_is(req, "GET"))
            hl_respond_json(out, 200, json_pack("{s:o}", "names", hl_render_names(e->heap)));
        else
            not_allowed(out, req, "GET");
        return;
    }
    const char *name = seg[1];
    json_t *body;
    if (method_is(req, "PUT") && !hl_text_is_utf8(name)) {
        hl_problem(out, 400, "invalid-field", NULL, "the name in the path is not valid UTF-8: %s", name);
        return;
    }
    if (method_is(req, "PUT")) {
        if (hl_api_parse_body(req, out, &body, true)) {
            finish(api, e, out, hl_apply_bind(&c, name, body, NULL), &err, 200);
            json_decref(body);
        }
    } else if (method_is(req, "DELETE")) {
        finish(api, e, out, hl_apply_unbind(&c, name), &err, 204);
    } else if (method_is(req, "GET")) {
        uint64_t id;
        if (hl_heap_name_lookup(e->heap, name, &id) != HL_OK)
            hl_problem(out, 404, "name-error", NULL, "name '%s' is not bound", name);
        else
            hl_respond_json(out, 200, json_pack("{s:s,s:I}", "name", name, "id", (json_int_t)id));
    } else {
        not_allowed(out, req, "GET, PUT, DELETE");
    }
}

/* ---- /gc, /weakrefs, /memory ---- */

static void gc_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg, int nseg)
{
    hl_apply_error err = {0};
    hl_apply_ctx c = {.heap = e->heap, .err = &err};
    json_t *body;
    if (nseg == 1) {
        if (method_is(req, "GET")) {
            hl_respond_json(out, 200, hl_render_gc(e->heap));
        } else if (method_is(req, "PATCH")) {
            if (hl_api_parse_body(req, out, &body, true)) {
                finish(api, e, out, hl_apply_gc(&c, body, NULL), &err, 200);
                json_decref(body);
            }
        } else {
            not_allowed(out, req, "GET, PATCH");
        }
        return;
    }
    bool collect = strcmp(seg[1], "collect") == 0, freeze = strcmp(seg[1], "freeze") == 0;
    if (nseg != 2 || (!collect && !freeze && strcmp(seg[1], "unfreeze") != 0)) {
        hl_problem(out, 404, "not-found", NULL, "no such collector resource (collect, freeze, unfreeze)");
        return;
    }
    if (!method_is(req, "POST")) {
        not_allowed(out, req, "POST");
        return;
    }
    if (!hl_api_parse_body(req, out, &body, false))
        return;
    if (collect)
        finish(api, e, out, hl_apply_collect(&c, body, NULL), &err, 200);
    else if (body != NULL && json_object_size(body) != 0)
        hl_problem(out, 400, "unknown-field", NULL, "freeze and unfreeze take no fields");
    else
        finish(api, e, out, hl_apply_freeze(&c, freeze), &err, 200);
    json_decref(body);
}

static void memory_route(hl_api_heap *e, const hl_api_request *req, hl_api_response *out)
{
    char buf[16];
    const char *format = hl_api_query(req, "format", buf, sizeof buf);
    if (format == NULL || strcmp(format, "json") == 0) {
        char mbuf[8];
        const char *map = hl_api_query(req, "map", mbuf, sizeof mbuf);
        json_t *j = hl_render_memory(e->heap);
        json_object_set_new(j, "peak", hl_snapshots_peak(e));
        if (map != NULL && strcmp(map, "1") == 0)
            json_object_set_new(j, "arena_map", hl_render_arena_map(e->heap));
        hl_respond_json(out, 200, j);
        return;
    }
    if (strcmp(format, "doctor") == 0) {
        json_t *j = hl_doctor_findings(e->heap);
        if (j == NULL)
            hl_problem(out, 503, "out-of-memory", NULL, "out of memory while examining the heap");
        else
            hl_respond_json(out, 200, j);
        return;
    }
    if (strcmp(format, "text") != 0) {
        hl_problem(out, 400, "invalid-query", NULL, "format must be json, text or doctor");
        return;
    }
    out->body = hl_render_memory_text(e->heap);
    if (out->body == NULL) {
        hl_problem(out, 503, "out-of-memory", NULL, "could not format the statistics");
        return;
    }
    out->status = 200;
    out->content_type = "text/plain; charset=utf-8";
    out->body_len = strlen(out->body);
}

/* ---- /events ---- */

static bool wants_stream(const hl_api_request *req)
{
    return req->accept != NULL && strstr(req->accept, "text/event-stream") != NULL;
}

static void events_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out)
{
    char sbuf[32], lbuf[32];
    const char *since_s = hl_api_query(req, "since", sbuf, sizeof sbuf);
    const char *limit_s = hl_api_query(req, "limit", lbuf, sizeof lbuf);
    uint64_t since = wants_stream(req) ? e->events.next_seq : 1, limit = 1000, last_seen;
    /* A reconnecting EventSource says where it stopped. */
    if (since_s == NULL && wants_stream(req) && parse_id(req->last_event_id, &last_seen))
        since = last_seen + 1;
    if (since_s != NULL && strcmp(since_s, "0") != 0 && !parse_id(since_s, &since)) {
        hl_problem(out, 400, "invalid-query", NULL, "since must be an event seq (a non-negative integer)");
        return;
    }
    if (since_s != NULL && strcmp(since_s, "0") == 0)
        since = 1;
    if (limit_s != NULL && (!parse_id(limit_s, &limit) || limit > 10000)) {
        hl_problem(out, 400, "invalid-query", NULL, "limit must be an integer from 1 to 10000");
        return;
    }
    if (wants_stream(req)) {
        if (atomic_load(&api->draining)) {
            hl_problem(out, 503, "draining", NULL, "the server is shutting down");
            return;
        }
        out->stream = hl_stream_open(e, since, &api->draining, &api->streams_open);
        if (out->stream == NULL) {
            hl_problem(out, 503, "out-of-memory", NULL, "could not open the event stream");
            return;
        }
        out->status = 200;
        out->content_type = "text/event-stream";
        return;
    }
    hl_evring *ring = &e->events;
    uint64_t first = hl_evring_first_seq(ring), seq = since < first ? first : since;
    json_t *events = json_array();
    for (; seq < ring->next_seq && json_array_size(events) < limit; seq++)
        json_array_append_new(events, hl_evrec_json(hl_evring_get(ring, seq)));
    /* Never promise a seq beyond the next one: a poller would skip events. */
    if (seq > ring->next_seq)
        seq = ring->next_seq;
    json_t *j = json_pack("{s:o,s:I}", "events", events, "next", (json_int_t)seq);
    if (since_s != NULL && since < first)
        json_object_set_new(j, "missed",
                            json_pack("{s:I,s:I}", "from", (json_int_t)since, "to", (json_int_t)(first - 1)));
    hl_respond_json(out, 200, j);
}

/* hl_heap_check over HTTP: lets tests and operators confirm a heap's
 * invariants after anything they did to it. */
static void check_route(hl_api_heap *e, hl_api_response *out)
{
    char why[256];
    if (hl_heap_check(e->heap, why, sizeof why))
        hl_respond_json(out, 200, json_pack("{s:b}", "ok", 1));
    else
        hl_problem(out, 500, "heap-inconsistent", json_pack("{s:b}", "ok", 0), "hl_heap_check failed: %s", why);
}

/* hl_heap_digest over HTTP: a heap before a restart and after recovery
 * compare equal iff what the API shows of them is equal. */
static void digest_route(hl_api_heap *e, hl_api_response *out)
{
    uint8_t d[HL_DIGEST_SIZE];
    char hex[HL_DIGEST_HEX_SIZE];
    hl_heap_totals t;
    hl_heap_digest(e->heap, d);
    hl_digest_hex(d, hex);
    hl_heap_totals_get(e->heap, &t);
    hl_respond_json(out, 200, json_pack("{s:s,s:I,s:I}", "digest", hex, "objects", (json_int_t)t.objects, "next_id",
                                        (json_int_t)hl_heap_next_id(e->heap)));
}

void hl_api_heap_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg,
                       int nseg)
{
    const char *what = seg[0];
    if (strcmp(what, "objects") == 0 && nseg <= 3) {
        objects_route(api, e, req, out, seg, nseg);
    } else if (strcmp(what, "names") == 0 && nseg <= 2) {
        names_route(api, e, req, out, seg, nseg);
    } else if (strcmp(what, "gc") == 0 && nseg <= 2) {
        gc_route(api, e, req, out, seg, nseg);
    } else if (strcmp(what, "weakrefs") == 0 && nseg == 1) {
        json_t *body;
        hl_apply_error err = {0};
        hl_apply_ctx c = {.heap = e->heap, .err = &err};
        if (!method_is(req, "POST"))
            not_allowed(out, req, "POST");
        else if (hl_api_parse_body(req, out, &body, true)) {
            json_t *r = hl_apply_weakref(&c, body, NULL);
            if (r != NULL && json_is_true(json_object_get(r, "alive")))
                snprintf(out->location, sizeof out->location, "/v1/heaps/%s/objects/%" PRIu64, e->id, c.produced);
            finish(api, e, out, r, &err, 201);
            json_decref(body);
        }
    } else if (strcmp(what, "memory") == 0 && nseg == 1) {
        if (method_is(req, "GET"))
            memory_route(e, req, out);
        else
            not_allowed(out, req, "GET");
    } else if (strcmp(what, "snapshots") == 0 && nseg <= 4) {
        hl_snapshots_route(e, req, out, seg, nseg);
    } else if (strcmp(what, "batch") == 0 && nseg == 1) {
        if (method_is(req, "POST"))
            hl_api_batch(api, e, req, out);
        else
            not_allowed(out, req, "POST");
    } else if (strcmp(what, "check") == 0 && nseg == 1) {
        if (method_is(req, "GET"))
            check_route(e, out);
        else
            not_allowed(out, req, "GET");
    } else if (strcmp(what, "digest") == 0 && nseg == 1) {
        if (method_is(req, "GET"))
            digest_route(e, out);
        else
            not_allowed(out, req, "GET");
    } else if (strcmp(what, "events") == 0 && nseg == 1) {
        if (method_is(req, "GET"))
            events_route(api, e, req, out);
        else
            not_allowed(out, req, "GET");
    } else if (strcmp(what, "graph") == 0 && nseg == 1) {
        if (method_is(req, "GET"))
            hl_graph_route(api, e, req, out);
        else
            not_allowed(out, req, "GET");
    } else {
        hl_problem(out, 404, "not-found", NULL,
                   "no such resource in heap '%s' (objects, names, weakrefs, gc, memory, snapshots, batch, events, "
                   "graph, check, digest; the doctor is memory?format=doctor)",
                   e->id);
    }
}
