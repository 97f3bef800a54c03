/* apply.h — one JSON operation applied to one heap.
 *
 * Promise: each function validates a JSON request body (every field's type,
 * no unknown fields), turns it into one call of core's operations layer and
 * returns the JSON result the v1 contract gives for it — the single-object
 * endpoints and the batch endpoint share these, so a batch op answers
 * exactly what its endpoint would.  On failure it returns NULL and fills an
 * hl_apply_error; the heap is then unchanged (core's promise).  Callers
 * hold the heap's lock.
 */
#ifndef HL_API_APPLY_H
#define HL_API_APPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "heap.h"

typedef struct hl_apply_error {
    int status;
    const char *slug;
    char detail[320];
} hl_apply_error;

/* Resolves "$N" references inside a batch: the ids ops 0..n-1 produced
 * (0 where an op produced none).  NULL outside a batch. */
typedef struct hl_batch_ids {
    const uint64_t *ids;
    size_t n;
} hl_batch_ids;

typedef struct hl_apply_ctx {
    hl_heap *heap;
    const hl_batch_ids *batch;
    hl_apply_error *err;
    uint64_t produced;  /* the id an op created, 0 if none */
} hl_apply_ctx;

/* Each returns the result (new reference) or NULL with ctx->err set.
 * fields lists extra member names the body may carry (batch: "op"). */
json_t *hl_apply_create(hl_apply_ctx *c, json_t *body, const char *extra_field);
json_t *hl_apply_bind(hl_apply_ctx *c, const char *name, json_t *body, const char *extra_field);
json_t *hl_apply_unbind(hl_apply_ctx *c, const char *name);   /* json null */
json_t *hl_apply_ref(hl_apply_ctx *c, json_t *id, json_t *body, const char *extra_field);
json_t *hl_apply_unref(hl_apply_ctx *c, json_t *id, json_t *body, const char *extra_field);
json_t *hl_apply_weakref(hl_apply_ctx *c, json_t *body, const char *extra_field);
json_t *hl_apply_collect(hl_apply_ctx *c, json_t *body, const char *extra_field);
json_t *hl_apply_gc(hl_apply_ctx *c, json_t *body, const char *extra_field);
json_t *hl_apply_freeze(hl_apply_ctx *c, bool freeze);

/* Parses an id member: a positive integer, or "$N" inside a batch. */
bool hl_apply_id(hl_apply_ctx *c, json_t *value, const char *field, uint64_t *out);

/* Fills err for a core status, naming what was asked for. */
void hl_apply_status_error(hl_apply_ctx *c, hl_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
