/* graph.h — the object graphs the heaplab benchmarks build, each through
 * ops.h exactly as the Python peer (python_peer.py) builds it with
 * statements at module level, so both sides hold the same objects:
 *
 *   GRAPH_CHAIN  n lists, each holding the one made before it, the last bound
 *                to "root": all alive, one structure n deep
 *                   root = []; for _ in range(n - 1): root = [root]
 *   GRAPH_PAIRS  n/2 two-cycles a = []; b = [a]; a.append(b); every other
 *                pair appended to the list bound to "root" (not counted in n):
 *                half the objects garbage in 2-cycles
 *   GRAPH_RING   n lists in one ring, no name left: all garbage
 *
 * Automatic collection stays off while building (gc.disable()). Any failure
 * ends the program with a message: a benchmark has no use for a half graph. */
#ifndef HL_BENCH_GRAPH_H
#define HL_BENCH_GRAPH_H

#include <stdint.h>

#include "heap.h"
#include "ops.h"

typedef enum graph_shape { GRAPH_CHAIN, GRAPH_PAIRS, GRAPH_RING } graph_shape;

bool graph_shape_from_name(const char *name, graph_shape *out); /* "chain", "pairs", "ring" */
const char *graph_shape_name(graph_shape s);
uint64_t graph_garbage(graph_shape s, uint64_t n);  /* objects a full collection must free */

hl_heap *graph_heap(void);                           /* a heap with automatic collection off */
void graph_build(hl_heap *h, graph_shape s, uint64_t n);

/* Ops with the failure check built in. */
uint64_t graph_list(hl_heap *h, const uint64_t *items, size_t nitems, const char *name);
void graph_append(hl_heap *h, uint64_t list, uint64_t target);
void graph_bind(hl_heap *h, const char *name, uint64_t id);
void graph_unbind(hl_heap *h, const char *name);
void graph_collect(hl_heap *h, hl_collect_result *r);

#endif
