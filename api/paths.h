/* paths.h — why an object is alive: the shortest chain of strong
 * references from a root name to it (objgraph's find_backref_chain), found
 * by a breadth-first walk that reads the heap and changes nothing. */
#ifndef HL_API_PATHS_H
#define HL_API_PATHS_H

#include <jansson.h>

#include "heap.h"

/* {"id", "reachable": true, "path": [{"name": "a", "id": 3}, {"id": 7,
 * "via": "[0]"}, ...]} or {"id", "reachable": false, "detail": ...};
 * NULL if id is not a live object; JSON null when memory ran out. */
json_t *hl_paths_from_names(const hl_heap *h, uint64_t id);

#endif
