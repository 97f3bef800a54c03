/* render.h — the JSON shapes of the v1 contract, read from a heap.
 *
 * Promise: pure reads of core's introspection (nothing here changes a
 * heap), each returning a new Jansson value the caller owns.  An object is
 * rendered "brief" (everything that costs O(its own size)) or "full" (plus
 * referrers and the names bound to it, which cost a scan of the heap).
 */
#ifndef HL_API_RENDER_H
#define HL_API_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "heap.h"

json_t *hl_render_object(const hl_heap *h, uint64_t id, bool full);
json_t *hl_render_gc(const hl_heap *h);
json_t *hl_render_collect(const hl_collect_result *r);
json_t *hl_render_memory(const hl_heap *h);
json_t *hl_render_memory_summary(const hl_heap *h);
/* [{"arena": i, "pools": [[size_class or -1, used, capacity], ...]}, ...]:
 * every pool of every arena, in address order (the dashboard's map). */
json_t *hl_render_arena_map(const hl_heap *h);
/* sys._debugmallocstats()'s pymalloc section, malloc'd text. */
char *hl_render_memory_text(const hl_heap *h);
json_t *hl_render_names(const hl_heap *h);

#endif
