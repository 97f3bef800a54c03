/* memory_bench.c — bytes per live object for N small containers:
 *
 *   bench_memory N    root = []; for _ in range(N): c = []; root.append(c)
 *
 * Emits memory.accounted (hl_alloc_bytes_in_use growth / N: the blocks the
 * objects occupy, whole size classes, as CPython's tracemalloc would see
 * them) and memory.rss (process RSS growth / N: arenas, pools and heaplab's
 * own bookkeeping such as the id map).  memory.blocks is the accounted figure
 * again, to set against CPython's tracemalloc sizes rounded up to pymalloc's
 * blocks (tracemalloc itself counts the bytes asked for). */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "graph.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s N\n", argv[0]);
        return 2;
    }
    uint64_t n = bench_parse_count(argv[1]);
    hl_heap *h = graph_heap();
    const hl_alloc *a = hl_heap_allocator(h);
    uint64_t rss0 = bench_rss_bytes(), bytes0 = hl_alloc_bytes_in_use(a);

    uint64_t root = graph_list(h, NULL, 0, "root");
    for (uint64_t i = 0; i < n; i++)
        graph_append(h, root, graph_list(h, NULL, 0, "c"));
    graph_unbind(h, "c");

    uint64_t rss1 = bench_rss_bytes(), bytes1 = hl_alloc_bytes_in_use(a);
    char param[32];
    snprintf(param, sizeof param, "%llu lists", (unsigned long long)n);
    bench_emit("memory.accounted", "heaplab", param, (double)(bytes1 - bytes0) / (double)n, "bytes/object");
    bench_emit("memory.blocks", "heaplab", param, (double)(bytes1 - bytes0) / (double)n, "bytes/object");
    bench_emit("memory.rss", "heaplab", param, (double)(rss1 - rss0) / (double)n, "bytes/object");
    hl_heap_delete(h);
    return 0;
}
