/* graph.c — builds the benchmark graphs of graph.h through ops.h. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(hl_status s, const char *what)
{
    if (s != HL_OK) {
        fprintf(stderr, "graph: %s failed: %s\n", what, hl_status_name(s));
        exit(1);
    }
}

bool graph_shape_from_name(const char *name, graph_shape *out)
{
    static const char *const names[] = {"chain", "pairs", "ring"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (graph_shape)i;
            return true;
        }
    return false;
}

const char *graph_shape_name(graph_shape s)
{
    return s == GRAPH_CHAIN ? "chain" : s == GRAPH_PAIRS ? "pairs" : "ring";
}

uint64_t graph_garbage(graph_shape s, uint64_t n)
{
    return s == GRAPH_CHAIN ? 0 : s == GRAPH_PAIRS ? (n / 2 / 2) * 2 : n;
}

hl_heap *graph_heap(void)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.gc_enabled = false;
    hl_heap *h = hl_heap_new(&cfg);
    if (h == NULL) {
        fprintf(stderr, "graph: out of memory for a heap\n");
        exit(1);
    }
    return h;
}

uint64_t graph_list(hl_heap *h, const uint64_t *items, size_t nitems, const char *name)
{
    hl_create_spec s = {.type = HL_LIST, .items = items, .nitems = nitems};
    hl_create_result r;
    check(hl_op_create(h, &s, name, &r), "create list");
    return r.id;
}

void graph_append(hl_heap *h, uint64_t list, uint64_t target)
{
    hl_ref_spec r = {.op = HL_REF_APPEND, .target = target};
    check(hl_op_add_ref(h, list, &r), "append");
}

void graph_bind(hl_heap *h, const char *name, uint64_t id)
{
    check(hl_op_bind(h, name, id), "bind");
}

void graph_unbind(hl_heap *h, const char *name)
{
    check(hl_op_unbind(h, name), "unbind");
}

void graph_collect(hl_heap *h, hl_collect_result *r)
{
    check(hl_op_collect(h, 2, r), "collect");
}

static void build_chain(hl_heap *h, uint64_t n)
{
    uint64_t prev = graph_list(h, NULL, 0, "root");
    for (uint64_t i = 1; i < n; i++)
        prev = graph_list(h, &prev, 1, "root");
}

static void build_pairs(hl_heap *h, uint64_t n)
{
    uint64_t root = graph_list(h, NULL, 0, "root");
    for (uint64_t k = 0; k < n / 2; k++) {
        uint64_t a = graph_list(h, NULL, 0, "a");
        uint64_t b = graph_list(h, &a, 1, "b");
        graph_append(h, a, b);
        if (k % 2 == 0)
            graph_append(h, root, a);
    }
    if (n >= 2) {
        graph_unbind(h, "a");
        graph_unbind(h, "b");
    }
}

static void build_ring(hl_heap *h, uint64_t n)
{
    uint64_t first = graph_list(h, NULL, 0, "first");
    uint64_t cur = first;
    for (uint64_t i = 1; i < n; i++)
        cur = graph_list(h, &cur, 1, "cur");
    graph_append(h, first, cur);
    graph_unbind(h, "first");
    if (n > 1)
        graph_unbind(h, "cur");
}

void graph_build(hl_heap *h, graph_shape s, uint64_t n)
{
    if (s == GRAPH_CHAIN)
        build_chain(h, n);
    else if (s == GRAPH_PAIRS)
        build_pairs(h, n);
    else
        build_ring(h, n);
}
