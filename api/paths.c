/* paths.c — shortest reference chains from names; see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One BFS node: the object, the node it was reached from, and how. */
typedef struct step {
    uint64_t id;
    int64_t parent;       /* index in the queue, -1 for a name */
    char via[96];         /* "[3]", ".attr", "['key']", "{member}" or the name */
} step;

typedef struct walk {
    step *queue;
    size_t len, cap;
    uint64_t *seen;       /* open-addressed set of ids */
    size_t seen_cap;
    int64_t current;
    bool oom;
} walk;

static bool seen_add(walk *w, uint64_t id)
{
    size_t mask = w->seen_cap - 1;
    for (size_t i = (id * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (w->seen[i] == id)
            return false;
        if (w->seen[i] == 0) {
            w->seen[i] = id;
            return true;
        }
    }
}

static void push(walk *w, uint64_t id, int64_t parent, const char *via)
{
    if (w->oom || !seen_add(w, id))
        return;
    if (w->len == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        step *q = realloc(w->queue, cap * sizeof *q);
        if (q == NULL) {
            w->oom = true;
            return;
        }
        w->queue = q;
        w->cap = cap;
    }
    step *s = &w->queue[w->len++];
    s->id = id;
    s->parent = parent;
    snprintf(s->via, sizeof s->via, "%s", via);
}

static bool from_name(void *ctx, const char *name, uint64_t id)
{
    push(ctx, id, -1, name);
    return true;
}

static bool from_ref(void *ctx, const hl_ref *r)
{
    walk *w = ctx;
    char via[96];
    switch (r->kind) {
    case HL_SLOT_INDEX:
        snprintf(via, sizeof via, "[%llu]", (unsigned long long)r->index);
        break;
    case HL_SLOT_KEY:
        snprintf(via, sizeof via, "['%.80s']", r->name);
        break;
    case HL_SLOT_ATTR:
        snprintf(via, sizeof via, ".%.80s", r->name);
        break;
    case HL_SLOT_MEMBER:
        snprintf(via, sizeof via, "{member}");
        break;
    case HL_SLOT_DICT_KEY:
        snprintf(via, sizeof via, "{key '%.80s'}", r->name);
        break;
    }
    push(w, r->target, w->current, via);
    return true;
}

static json_t *chain(const walk *w, size_t at)
{
    json_t *path = json_array();
    for (int64_t i = (int64_t)at; i >= 0; i = w->queue[i].parent) {
        const step *s = &w->queue[i];
        json_t *link = s->parent < 0 ? json_pack("{s:s,s:I}", "name", s->via, "id", (json_int_t)s->id)
                                     : json_pack("{s:I,s:s}", "id", (json_int_t)s->id, "via", s->via);
        json_array_insert_new(path, 0, link);
    }
    return path;
}

json_t *hl_paths_from_names(const hl_heap *h, uint64_t id)
{
    hl_object_info info;
    if (hl_heap_object_info(h, id, &info) != HL_OK)
        return NULL;
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    walk w = {0};
    w.seen_cap = 16;
    while (w.seen_cap < 2 * (t.objects + 1))
        w.seen_cap *= 2;
    w.seen = calloc(w.seen_cap, sizeof *w.seen);
    json_t *result = NULL;
    if (w.seen == NULL)
        return json_null();
    hl_heap_names(h, from_name, &w);
    for (size_t i = 0; i < w.len && !w.oom; i++) {
        if (w.queue[i].id == id) {
            result = json_pack("{s:I,s:b,s:o}", "id", (json_int_t)id, "reachable", 1, "path", chain(&w, i));
            break;
        }
        w.current = (int64_t)i;
        hl_heap_referents(h, w.queue[i].id, from_ref, &w);
    }
    if (result == NULL && w.oom)
        result = json_null();
    else if (result == NULL)
        result = json_pack("{s:I,s:b,s:s}", "id", (json_int_t)id, "reachable", 0, "detail",
                           "unreachable from any name: only a collection can free it");
    free(w.queue);
    free(w.seen);
    return result;
}
