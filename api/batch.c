/* batch.c — POST /v1/heaps/{h}/batch: many operations under one lock.
 *
 * Ops apply in order; "$N" in an id field names the object op N created.
 * The first failing op stops the batch: the answer is that op's problem
 * with its "index" and the results of the ops before it, which stay
 * applied (a batch is a script, not a transaction).
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

static json_t *invalid(hl_apply_ctx *c, const char *slug, const char *detail, const char *kind)
{
    c->err->status = 400;
    c->err->slug = slug;
    snprintf(c->err->detail, sizeof c->err->detail, detail, kind);
    return NULL;
}

/* The op without the members that only route it ("op", and "id" or "name"
 * where they name the target): what remains is the endpoint's own body. */
static json_t *body_of(json_t *op, const char *routing)
{
    json_t *body = json_copy(op);
    json_object_del(body, "op");
    if (routing != NULL)
        json_object_del(body, routing);
    return body;
}

static json_t *apply_routed(hl_apply_ctx *c, json_t *op, const char *kind)
{
    json_t *r;
    if (strcmp(kind, "bind") == 0 || strcmp(kind, "unbind") == 0) {
        const char *name = json_string_value(json_object_get(op, "name"));
        if (name == NULL || name[0] == '\0')
            return invalid(c, "invalid-field", "%s needs a non-empty 'name'", kind);
        json_t *body = body_of(op, "name");
        if (kind[0] == 'b')
            r = hl_apply_bind(c, name, body, NULL);
        else if (json_object_size(body) != 0)
            r = invalid(c, "unknown-field", "%s takes only 'name'", kind);
        else
            r = hl_apply_unbind(c, name);
        json_decref(body);
        return r;
    }
    json_t *body = body_of(op, "id");
    json_t *id = json_object_get(op, "id");
    r = kind[0] == 'r' ? hl_apply_ref(c, id, body, NULL) : hl_apply_unref(c, id, body, NULL);
    json_decref(body);
    return r;
}

static json_t *apply_op(hl_apply_ctx *c, json_t *op)
{
    const char *kind = json_string_value(json_object_get(op, "op"));
    if (!json_is_object(op) || kind == NULL)
        return invalid(c, "invalid-op", "each op must be an object with an \"op\" string%s", "");
    if (strcmp(kind, "create") == 0)
        return hl_apply_create(c, op, "op");
    if (strcmp(kind, "bind") == 0 || strcmp(kind, "unbind") == 0 || strcmp(kind, "ref") == 0 ||
        strcmp(kind, "unref") == 0)
        return apply_routed(c, op, kind);
    if (strcmp(kind, "weakref") == 0)
        return hl_apply_weakref(c, op, "op");
    if (strcmp(kind, "collect") == 0)
        return hl_apply_collect(c, op, "op");
    if (strcmp(kind, "gc") == 0)
        return hl_apply_gc(c, op, "op");
    if (strcmp(kind, "freeze") == 0 || strcmp(kind, "unfreeze") == 0)
        return json_object_size(op) == 1 ? hl_apply_freeze(c, kind[0] == 'f')
                                         : invalid(c, "unknown-field", "%s takes no fields", kind);
    return invalid(c, "invalid-op",
                   "unknown op '%s' (create, bind, unbind, ref, unref, weakref, collect, gc, freeze, unfreeze)", kind);
}

void hl_api_batch(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out)
{
    json_t *body;
    if (!hl_api_parse_body(req, out, &body, true))
        return;
    json_t *ops = json_object_get(body, "ops");
    if (!json_is_array(ops) || json_object_size(body) != 1) {
        hl_problem(out, 400, "invalid-body", NULL, "a batch is {\"ops\": [op, ...]}");
        json_decref(body);
        return;
    }
    size_t n = json_array_size(ops);
    if (n > api->cfg.max_batch_ops) {
        hl_problem(out, 413, "batch-too-large", NULL, "a batch holds at most %zu ops", api->cfg.max_batch_ops);
        json_decref(body);
        return;
    }
    uint64_t *ids = calloc(n ? n : 1, sizeof *ids);
    json_t *results = json_array();
    if (ids == NULL || results == NULL) {
        hl_problem(out, 503, "out-of-memory", NULL, "out of memory for a batch of %zu ops", n);
        free(ids);
        json_decref(results);
        json_decref(body);
        return;
    }
    hl_apply_error err = {0};
    hl_batch_ids batch = {ids, 0};
    hl_apply_ctx c = {.heap = e->heap, .batch = &batch, .err = &err};
    size_t i;
    for (i = 0; i < n; i++) {
        c.produced = 0;
        json_t *r = apply_op(&c, json_array_get(ops, i));
        if (r == NULL)
            break;
        ids[i] = c.produced;
        batch.n = i + 1;
        json_array_append_new(results, r);
        atomic_fetch_add(&api->ops_total, 1);
        e->version++;
    }
    if (i < n) {
        json_t *extra = json_pack("{s:I,s:I,s:o}", "index", (json_int_t)i, "applied", (json_int_t)i, "results", results);
        hl_problem(out, err.status, err.slug, extra, "op %zu failed (ops 0..%zd stay applied): %s", i,
                   (ssize_t)i - 1, err.detail);
    } else {
        hl_respond_json(out, 200, json_pack("{s:o}", "results", results));
    }
    free(ids);
    json_decref(body);
}
