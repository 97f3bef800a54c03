/* explain.h — the JSON of an explained collection (core/gc_explain.h).
 *
 * Promise: a pure read of the explanation, in the v1 contract's shape
 * (CollectResult.explain in openapi.json): names of phases, states and
 * verdicts exactly as core names them, ids as integers, null for "no
 * object".  Returns a new value the caller owns, NULL on out of memory.
 */
#ifndef HL_API_EXPLAIN_H
#define HL_API_EXPLAIN_H

#include <jansson.h>

#include "gc_explain.h"

/* explain_limit: when the request gives none, and the most it may ask. */
#define HL_EXPLAIN_LIMIT_DEFAULT 200
#define HL_EXPLAIN_LIMIT_MAX 100000

json_t *hl_explain_render(const hl_gc_explain *ex);

#endif
