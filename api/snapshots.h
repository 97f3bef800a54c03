/* snapshots.h — tracemalloc for a heap: snapshots of its live objects and
 * what changed between two of them.
 *
 * Promise: a snapshot records every live object's id, type, sys.getsizeof
 * size and size class in 16 bytes, and reads the heap without changing it
 * (only the allocator's peak marks start again, as tracemalloc.reset_peak()
 * would).  A heap keeps at most HL_SNAPSHOTS_MAX of them, numbered 1, 2, 3…
 * and never renumbered.  Snapshots live in memory only: a restart drops
 * them.  Everything here runs with the heap open (locked).
 */
#ifndef HL_API_SNAPSHOTS_H
#define HL_API_SNAPSHOTS_H

#include <jansson.h>

#include "api.h"
#include "registry.h"

#define HL_SNAPSHOTS_MAX 16

typedef struct hl_snapshots hl_snapshots;

void hl_snapshots_free(hl_snapshots *s);  /* NULL is a no-op */

/* Routes /v1/heaps/{h}/snapshots[/{a}[/compare/{b}]] (seg[0] is
 * "snapshots"); e->snapshots is created on the first snapshot. */
void hl_snapshots_route(hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg, int nseg);

/* {"bytes_in_use", "arenas", "since_snapshot"}: the allocator's high-water
 * marks since the latest snapshot kept (its id), or since the heap was made
 * (null) when none is kept. */
json_t *hl_snapshots_peak(const hl_api_heap *e);

#endif
