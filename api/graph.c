/* graph.c — the graph export; see graph.h.
 *
 * The export is a small state machine over the heap's ids: a pass that
 * writes the nodes, a pass that writes the edges, then the tail.  Nothing
 * read from the heap survives a batch except ids and counts, since
 * whatever core hands out (names, keys) is valid only while the lock is
 * held: each batch formats its text into `pending` before letting go, and
 * the reader drains `pending` before the next batch is made.
 *
 * The export is the one kind of hl_api_body_stream so far, so the type and
 * api.h's read and close for it live here. */
#include "graph.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* Objects per hold of the lock, and references per hold: one container
 * can hold millions of references, so the edge pass may stop inside an
 * object and go on from there at the next batch. */
#define NODE_BATCH 512
#define EDGE_BATCH 16384
/* Names are found per batch by one scan of all of them (core has no index
 * from objects to names): with many names a batch covers more objects, so
 * that the scan costs at most this many names per object. */
#define NAMES_PER_OBJECT 16
/* More than the longest text one putf below makes (numbers and type
 * names only; strings go through put_escaped), so none is cut. */
#define LINE_MAX_TEXT 192

typedef enum phase { PH_NODES, PH_EDGES, PH_DONE } phase;

/* A name bound to an object of the current batch. */
typedef struct bound_name {
    uint64_t id;
    size_t order;        /* binding order, kept among the names of one object */
    const char *name;    /* core's, valid while the lock is held */
} bound_name;

struct hl_api_body_stream {
    hl_api_heap *entry;  /* referenced */
    atomic_bool *draining;
    hl_graph_format format;
    uint64_t version;    /* the heap's version when the export began */
    phase phase;
    uint64_t cursor;     /* the last object of the current pass that is done */
    uint64_t open_id;    /* edge pass: the object stopped inside of, or 0 */
    uint64_t refs_done;  /* how many of open_id's references are out */
    bool any;            /* the current JSON array has an element (commas) */
    uint64_t boxes;      /* DOT: name boxes so far, for their node ids */
    bool cut;            /* ended early: the reader gets -1 */
    bool nomem;          /* a batch could not be formatted */
    char *pending;       /* formatted, not yet read */
    size_t len, cap, off;
    bound_name *names;   /* the current batch's names, reused */
    size_t nnames, names_cap;
};

/* ---- pending text ---- */

static bool reserve(hl_api_body_stream *s, size_t more)
{
    if (s->len + more <= s->cap)
        return true;
    size_t cap = s->cap ? s->cap : 1 << 16;
    while (cap < s->len + more)
        cap *= 2;
    char *grown = realloc(s->pending, cap);
    if (grown == NULL) {
        s->nomem = true;
        return false;
    }
    s->pending = grown;
    s->cap = cap;
    return true;
}

static void put(hl_api_body_stream *s, const char *text, size_t n)
{
    if (reserve(s, n)) {
        memcpy(s->pending + s->len, text, n);
        s->len += n;
    }
}

static void put_str(hl_api_body_stream *s, const char *text)
{
    put(s, text, strlen(text));
}

static __attribute__((format(printf, 2, 3))) void putf(hl_api_body_stream *s, const char *fmt, ...)
{
    if (!reserve(s, LINE_MAX_TEXT))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->pending + s->len, LINE_MAX_TEXT, fmt, ap);
    va_end(ap);
    if (n > 0 && n < LINE_MAX_TEXT)
        s->len += (size_t)n;
}

/* Writes text as the inside of a quoted string of the export's format.
 * Both escape quotes and backslashes (for DOT too: Graphviz reads \n, \l,
 * \N... in labels) and pass non-ASCII through: core keeps names and keys
 * valid UTF-8.  A newline becomes \n (in DOT a line break of the label);
 * other control characters become \u00NN in JSON and, visibly, \xNN in
 * DOT, which has no escape for them. */
static void put_escaped(hl_api_body_stream *s, const char *text)
{
    bool dot = s->format == HL_GRAPH_DOT;
    for (const char *p = text; *p != '\0';) {
        size_t run = 0;
        while (p[run] != '\0' && (unsigned char)p[run] >= 0x20 && p[run] != '"' && p[run] != '\\' &&
               !(dot && p[run] == 0x7F))
            run++;
        put(s, p, run);
        p += run;
        if (*p == '\0')
            break;
        unsigned c = (unsigned char)*p++;
        if (c == '"' || c == '\\')
            putf(s, "\\%c", c);
        else if (c == '\n')
            put_str(s, "\\n");
        else
            putf(s, dot ? "\\\\x%02x" : "\\u%04x", c);
    }
}

static void put_quoted(hl_api_body_stream *s, const char *text)
{
    put(s, "\"", 1);
    put_escaped(s, text);
    put(s, "\"", 1);
}

/* Starts the next element of a JSON array. */
static const char *separator(hl_api_body_stream *s)
{
    const char *sep = s->any ? ",\n" : "\n";
    s->any = true;
    return sep;
}

/* ---- nodes ---- */

typedef struct name_scan {
    hl_api_body_stream *s;
    uint64_t last;       /* the batch is the objects in (s->cursor, last] */
} name_scan;

static bool note_name(void *ctx, const char *name, uint64_t id)
{
    name_scan *c = ctx;
    hl_api_body_stream *s = c->s;
    if (id <= s->cursor || id > c->last)
        return true;
    if (s->nnames == s->names_cap) {
        size_t cap = s->names_cap ? 2 * s->names_cap : 64;
        bound_name *grown = realloc(s->names, cap * sizeof *grown);
        if (grown == NULL) {
            s->nomem = true;
            return false;
        }
        s->names = grown;
        s->names_cap = cap;
    }
    s->names[s->nnames] = (bound_name){id, s->nnames, name};
    s->nnames++;
    return true;
}

static int by_id_then_order(const void *a, const void *b)
{
    const bound_name *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void write_node(hl_api_body_stream *s, const hl_object_info *info, const bound_name *names, size_t n)
{
    const char *type = hl_type_name(info->type);
    if (s->format == HL_GRAPH_DOT) {
        putf(s, "  n%" PRIu64 " [label=\"%s #%" PRIu64 "\\nrc=%" PRIu32 "\"];\n", info->id, type, info->id,
             info->refcount);
        for (size_t i = 0; i < n; i++) {
            s->boxes++;
            putf(s, "  name%" PRIu64 " [shape=box, label=", s->boxes);
            put_quoted(s, names[i].name);
            putf(s, "];\n  name%" PRIu64 " -> n%" PRIu64 ";\n", s->boxes, info->id);
        }
        return;
    }
    /* As GET .../objects/{id} says it: 0..2, "permanent" (frozen), null (untracked). */
    char generation[16] = "null";
    if (info->generation == 3)
        snprintf(generation, sizeof generation, "\"permanent\"");
    else if (info->generation >= 0)
        snprintf(generation, sizeof generation, "%d", info->generation);
    putf(s, "%s{\"id\":%" PRIu64 ",\"type\":\"%s\",\"refcount\":%" PRIu32 ",\"size\":%zu,\"generation\":%s,\"names\":[",
         separator(s), info->id, type, info->refcount, info->size, generation);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(s, ",", 1);
        put_quoted(s, names[i].name);
    }
    put_str(s, "]}");
}

/* The next objects' nodes; at the end of the pass, on to the edges. */
static void nodes_batch(hl_api_body_stream *s, const hl_heap *h)
{
    size_t batch = hl_heap_name_count(h) / NAMES_PER_OBJECT;
    if (batch < NODE_BATCH)
        batch = NODE_BATCH;
    uint64_t last = s->cursor, next = hl_heap_next_live_id(h, last);
    for (size_t i = 0; i < batch && next != 0; i++) {
        last = next;
        next = hl_heap_next_live_id(h, last);
    }
    name_scan scan = {s, last};
    s->nnames = 0;
    hl_heap_names(h, note_name, &scan);
    qsort(s->names, s->nnames, sizeof *s->names, by_id_then_order);
    size_t k = 0;
    for (uint64_t id = hl_heap_next_live_id(h, s->cursor); id != 0 && id <= last; id = hl_heap_next_live_id(h, id)) {
        hl_object_info info;
        hl_heap_object_info(h, id, &info);
        size_t first = k;
        while (k < s->nnames && s->names[k].id == id)
            k++;
        write_node(s, &info, s->names + first, k - first);
    }
    s->cursor = last;
    if (next == 0) {
        if (s->format == HL_GRAPH_JSON)
            put_str(s, "\n],\"edges\":[");
        s->phase = PH_EDGES;
        s->cursor = 0;
        s->any = false;
    }
}

/* ---- edges ---- */

static void write_edge(hl_api_body_stream *s, uint64_t from, const hl_ref *r)
{
    bool dot = s->format == HL_GRAPH_DOT;
    if (dot) {
        putf(s, "  n%" PRIu64 " -> n%" PRIu64 " [label=\"", from, r->target);
    } else {
        static const char *const slots[] = {[HL_SLOT_INDEX] = "index", [HL_SLOT_KEY] = "key", [HL_SLOT_ATTR] = "attr",
                                            [HL_SLOT_MEMBER] = "member", [HL_SLOT_DICT_KEY] = "dict_key"};
        putf(s, "%s{\"from\":%" PRIu64 ",\"to\":%" PRIu64 ",\"slot\":\"%s\"", separator(s), from, r->target,
             slots[r->kind]);
    }
    /* DOT labels name the slot as GET .../path does: [0], ['k'], .a, {member}, {key 'k'}. */
    switch (r->kind) {
    case HL_SLOT_INDEX:
        putf(s, dot ? "[%" PRIu64 "]" : ",\"index\":%" PRIu64, r->index);
        break;
    case HL_SLOT_KEY:
    case HL_SLOT_DICT_KEY:
        put_str(s, dot ? (r->kind == HL_SLOT_KEY ? "['" : "{key '") : ",\"key\":\"");
        put_escaped(s, r->name);
        put_str(s, dot ? (r->kind == HL_SLOT_KEY ? "']" : "'}") : "\"");
        break;
    case HL_SLOT_ATTR:
        put_str(s, dot ? "." : ",\"attr\":\"");
        put_escaped(s, r->name);
        put_str(s, dot ? "" : "\"");
        break;
    case HL_SLOT_MEMBER:
        put_str(s, dot ? "{member}" : "");
        break;
    }
    put_str(s, dot ? "\"];\n" : "}");
}

typedef struct edge_walk {
    hl_api_body_stream *s;
    uint64_t from;
    uint64_t skip;       /* references already out in an earlier batch */
    uint64_t seen;       /* references out, skipped ones included */
    uint64_t budget;     /* references this batch may still write */
    bool full;
} edge_walk;

static bool emit_edge(void *ctx, const hl_ref *r)
{
    edge_walk *w = ctx;
    if (w->seen < w->skip) {
        w->seen++;
        return true;
    }
    if (w->budget == 0) {
        w->full = true;
        return false;
    }
    w->seen++;
    w->budget--;
    write_edge(w->s, w->from, r);
    return true;
}

static void write_tail(hl_api_body_stream *s, uint64_t version)
{
    bool changed = version != s->version;
    if (s->format == HL_GRAPH_JSON) {
        put_str(s, changed ? "\n],\"complete\":false,\"changed_during_export\":true}\n" : "\n],\"complete\":true}\n");
    } else if (changed) {
        putf(s, "}\n// incomplete: changed_during_export (version %" PRIu64 " at the start, %" PRIu64
                " at the end): nodes and edges may mix the two states\n", s->version, version);
    } else {
        putf(s, "}\n// complete: the heap did not change during the export (version %" PRIu64 ")\n", version);
    }
}

/* The next objects' edges, stopping inside an object when the batch is
 * full; at the end of the pass, the tail. */
static void edges_batch(hl_api_body_stream *s, const hl_api_heap *e)
{
    edge_walk w = {.s = s, .budget = EDGE_BATCH};
    for (int i = 0; i < NODE_BATCH; i++) {
        uint64_t id = s->open_id ? s->open_id : hl_heap_next_live_id(e->heap, s->cursor);
        if (id == 0) {
            write_tail(s, e->version);
            s->phase = PH_DONE;
            return;
        }
        w.from = id;
        w.skip = s->refs_done;
        w.seen = 0;
        /* An object freed since the last batch has no references left to write. */
        hl_heap_referents(e->heap, id, emit_edge, &w);
        if (w.full) {
            s->open_id = id;
            s->refs_done = w.seen;
            return;
        }
        s->cursor = id;
        s->open_id = 0;
        s->refs_done = 0;
    }
}

/* ---- the stream ---- */

hl_api_body_stream *hl_graph_open(hl_api_heap *e, hl_graph_format format, atomic_bool *draining)
{
    hl_api_body_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->draining = draining;
    s->format = format;
    s->version = e->version;
    s->phase = PH_NODES;
    if (format == HL_GRAPH_JSON) {
        put_str(s, "{\"heap\":");
        put_quoted(s, e->id);
        putf(s, ",\"version\":%" PRIu64 ",\"nodes\":[", e->version);
    } else {
        put_str(s, "digraph heap {\n");
    }
    if (s->nomem) {
        free(s->pending);
        free(s);
        return NULL;
    }
    hl_registry_ref(e);
    s->entry = e;
    return s;
}

/* One batch under the heap's lock, or the end of a cut export. */
static void next_batch(hl_api_body_stream *s)
{
    hl_api_heap *e = s->entry;
    pthread_mutex_lock(&e->lock);
    if (e->deleted || atomic_load(s->draining))
        s->cut = true;
    else if (s->phase == PH_NODES)
        nodes_batch(s, e->heap);
    else
        edges_batch(s, e);
    pthread_mutex_unlock(&e->lock);
    if (s->nomem) {
        s->len = 0;  /* a batch half formatted would be wrong text, not just short */
        s->cut = true;
    }
    if (s->cut)
        s->phase = PH_DONE;
}

ssize_t hl_api_body_stream_read(hl_api_body_stream *s, char *buf, size_t cap)
{
    while (s->off == s->len) {
        s->off = s->len = 0;
        if (s->phase == PH_DONE)
            return s->cut ? -1 : 0;
        next_batch(s);
    }
    size_t n = s->len - s->off < cap ? s->len - s->off : cap;
    memcpy(buf, s->pending + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

void hl_api_body_stream_close(hl_api_body_stream *s)
{
    hl_registry_unref(s->entry);
    free(s->pending);
    free(s->names);
    free(s);
}

void hl_graph_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out)
{
    char buf[16];
    const char *format = hl_api_query(req, "format", buf, sizeof buf);
    bool dot = format != NULL && strcmp(format, "dot") == 0;
    if (format != NULL && !dot && strcmp(format, "json") != 0) {
        hl_problem(out, 400, "invalid-query", NULL, "format must be json or dot");
        return;
    }
    if (atomic_load(&api->draining)) {
        hl_problem(out, 503, "draining", NULL, "the server is shutting down");
        return;
    }
    out->body_stream = hl_graph_open(e, dot ? HL_GRAPH_DOT : HL_GRAPH_JSON, &api->draining);
    if (out->body_stream == NULL) {
        hl_problem(out, 503, "out-of-memory", NULL, "could not start the graph export");
        return;
    }
    out->status = 200;
    out->content_type = dot ? "text/vnd.graphviz; charset=utf-8" : "application/json";
}
