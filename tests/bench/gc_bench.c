/* gc_bench.c — one full collection (hl_op_collect(h, 2)) of a graph.h graph.
 *
 *   bench_gc SHAPE N     SHAPE: chain | pairs | ring
 *
 * Emits gc.SHAPE (wall time around hl_op_collect, ns per object in the
 * graph) and gc.SHAPE.reported (the collector's own duration_ns), and checks
 * that the collection freed exactly the garbage the shape holds. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "graph.h"

int main(int argc, char **argv)
{
    graph_shape shape;
    if (argc != 3 || !graph_shape_from_name(argv[1], &shape)) {
        fprintf(stderr, "usage: %s chain|pairs|ring N\n", argv[0]);
        return 2;
    }
    uint64_t n = bench_parse_count(argv[2]);
    hl_heap *h = graph_heap();
    graph_build(h, shape, n);

    hl_collect_result r;
    uint64_t t0 = bench_now_ns();
    graph_collect(h, &r);
    uint64_t wall = bench_now_ns() - t0;

    if (r.collected != graph_garbage(shape, n)) {
        fprintf(stderr, "bench_gc: %s %llu collected %llu, expected %llu\n", argv[1], (unsigned long long)n,
                (unsigned long long)r.collected, (unsigned long long)graph_garbage(shape, n));
        return 1;
    }
    char metric[64], param[32];
    snprintf(param, sizeof param, "%llu", (unsigned long long)n);
    snprintf(metric, sizeof metric, "gc.%s", argv[1]);
    bench_emit(metric, "heaplab", param, (double)wall / (double)n, "ns/object");
    snprintf(metric, sizeof metric, "gc.%s.reported", argv[1]);
    bench_emit(metric, "heaplab", param, (double)r.duration_ns / (double)n, "ns/object");
    /* Leaves the heap to the exit: freeing millions of objects is not measured. */
    return 0;
}
