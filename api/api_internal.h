/* api_internal.h — what the api/ modules share: the api object, request
 * helpers and the per-heap router.  Nothing outside api/ includes it. */
#ifndef HL_API_INTERNAL_H
#define HL_API_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>

#include "api.h"
#include "apply.h"
#include "problem.h"
#include "registry.h"
#include "render.h"

struct hl_api {
    hl_api_config cfg;
    char *admin_token;
    char *shard;
    hl_registry registry;
    atomic_bool draining;
    atomic_uint_fast64_t ops_total;
    atomic_uint_fast64_t streams_open;
    struct hl_store *store;       /* NULL without a data directory */
    hl_strmap broken;             /* heap id -> why it could not be loaded */
};

/* Parses the body as a JSON object (NULL if empty and not required);
 * false with a problem in out otherwise. */
bool hl_api_parse_body(const hl_api_request *req, hl_api_response *out, json_t **body, bool required);
const char *hl_api_query(const hl_api_request *req, const char *name, char *buf, size_t cap);
void hl_api_fail(hl_api_response *out, const hl_apply_error *err, json_t *extra);
bool hl_api_is_admin(const hl_api *api, const hl_api_request *req);

/* Routes /v1/heaps/{h}/<seg...> with e open (locked, authorised). */
void hl_api_heap_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg,
                       int nseg);
void hl_api_batch(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out);

/* Points the heap's core event sink at its ring (set: the caller holds
 * the heap's lock or nobody else can see the heap yet). */
void hl_api_attach_sink(hl_api_heap *e);
void hl_api_set_sink(hl_api_heap *e);
bool hl_api_wake_heap(void *ctx, hl_api_heap *e);

#endif
