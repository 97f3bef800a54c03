/* refcount_bench.c — reference counting through ops.h, the same program as
 * python_peer.py's refcount mode runs at module level in CPython:
 *
 *   bench_refcount churn N     N times: a = []; b = a; del b   (the new list
 *                              frees the one a held before)    ns/iteration
 *   bench_refcount cascade N   root = a chain of N lists (graph.h's chain);
 *                              del root frees all N at once     ns/object freed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "graph.h"

static double churn(hl_heap *h, uint64_t n)
{
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = graph_list(h, NULL, 0, "a");
        graph_bind(h, "b", a);
        graph_unbind(h, "b");
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double cascade(hl_heap *h, uint64_t n)
{
    graph_build(h, GRAPH_CHAIN, n);
    hl_heap_totals before, after;
    hl_heap_totals_get(h, &before);
    uint64_t t0 = bench_now_ns();
    graph_unbind(h, "root");
    uint64_t ns = bench_now_ns() - t0;
    hl_heap_totals_get(h, &after);
    if (before.objects_by_type[HL_LIST] - after.objects_by_type[HL_LIST] != n) {
        fprintf(stderr, "bench_refcount: del root freed %llu lists, expected %llu\n",
                (unsigned long long)(before.objects_by_type[HL_LIST] - after.objects_by_type[HL_LIST]),
                (unsigned long long)n);
        exit(1);
    }
    return (double)ns / (double)n;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "churn") != 0 && strcmp(argv[1], "cascade") != 0)) {
        fprintf(stderr, "usage: %s churn|cascade N\n", argv[0]);
        return 2;
    }
    uint64_t n = bench_parse_count(argv[2]);
    hl_heap *h = graph_heap();
    char param[32];
    snprintf(param, sizeof param, "%llu", (unsigned long long)n);
    if (strcmp(argv[1], "churn") == 0)
        bench_emit("refcount.churn", "heaplab", param, churn(h, n), "ns/iteration");
    else
        bench_emit("refcount.cascade", "heaplab", param, cascade(h, n), "ns/object");
    hl_heap_delete(h);
    return 0;
}
