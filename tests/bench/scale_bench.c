/* scale_bench.c — many heaps in one process, against one heap of as many objects.
 *
 *   bench_scale heaps H N    H heaps of N objects each (graph.h's pairs shape)
 *   bench_scale one   H N    one heap of H*N objects, the same shape
 *
 * Emits, per object of the whole H*N: scale.rss (RSS growth), scale.create
 * (time to create the heaps and build the graphs) and scale.collect (one
 * full collection in each heap, added up).  impl is "heaps" or "one-heap". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "graph.h"

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "heaps") != 0 && strcmp(argv[1], "one") != 0)) {
        fprintf(stderr, "usage: %s heaps|one H N\n", argv[0]);
        return 2;
    }
    bool many = strcmp(argv[1], "heaps") == 0;
    uint64_t nheaps = bench_parse_count(argv[2]), per = bench_parse_count(argv[3]);
    uint64_t total = nheaps * per;
    uint64_t count = many ? nheaps : 1, each = many ? per : total;
    hl_heap **heaps = calloc(count, sizeof *heaps);
    if (heaps == NULL)
        return 1;

    uint64_t rss0 = bench_rss_bytes();
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < count; i++) {
        heaps[i] = graph_heap();
        graph_build(heaps[i], GRAPH_PAIRS, each);
    }
    uint64_t create_ns = bench_now_ns() - t0;
    uint64_t rss1 = bench_rss_bytes();

    uint64_t collected = 0;
    t0 = bench_now_ns();
    for (uint64_t i = 0; i < count; i++) {
        hl_collect_result r;
        graph_collect(heaps[i], &r);
        collected += r.collected;
    }
    uint64_t collect_ns = bench_now_ns() - t0;
    if (collected != count * graph_garbage(GRAPH_PAIRS, each)) {
        fprintf(stderr, "bench_scale: collected %llu\n", (unsigned long long)collected);
        return 1;
    }
    char param[64];
    snprintf(param, sizeof param, "%llu objects", (unsigned long long)total);
    const char *impl = many ? "heaps" : "one-heap";
    bench_emit("scale.rss", impl, param, (double)(rss1 - rss0) / (double)total, "bytes/object");
    bench_emit("scale.create", impl, param, (double)create_ns / (double)total, "ns/object");
    bench_emit("scale.collect", impl, param, (double)collect_ns / (double)total, "ns/object");
    return 0;
}
