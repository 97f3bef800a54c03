/* snapshots.c — tracemalloc-style snapshots of a heap; see snapshots.h. */
#include "snapshots.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* One live object: its id, then size << 16 | type << 8 | size class + 1
 * (0 for a raw block).  16 bytes, so a heap of a million objects costs
 * 16 MB per snapshot. */
typedef struct entry {
    uint64_t id;
    uint64_t packed;
} entry;

#define PACKED_SIZE_MAX ((UINT64_C(1) << 48) - 1)
#define RAW_GROUP HL_ALLOC_NUM_CLASSES /* the by_size_class slot of blocks over 512 bytes */
#define GROWTHS_SHOWN 10

typedef struct snapshot {
    uint64_t id;
    uint64_t version;
    uint64_t bytes;
    size_t n;
    entry *entries;     /* ascending ids: the order hl_heap_next_live_id walks */
    /* High-water marks from this snapshot until the next one kept was taken;
     * the allocator itself holds those since the latest one taken. */
    hl_alloc_peak peak;
} snapshot;

struct hl_snapshots {
    snapshot kept[HL_SNAPSHOTS_MAX]; /* ascending ids */
    size_t n;
    uint64_t last_id;
    hl_alloc_peak before;            /* marks from the heap's creation until the first one kept */
};

static uint64_t entry_size(const entry *x)
{
    return x->packed >> 16;
}

static hl_type entry_type(const entry *x)
{
    return (hl_type)((x->packed >> 8) & 0xff);
}

static int entry_group(const entry *x)
{
    unsigned c = x->packed & 0xff;
    return c == 0 ? RAW_GROUP : (int)c - 1;
}

/* What a block costs its size class: the whole class size, or for a raw
 * block the object's own size. */
static uint64_t block_bytes(const entry *x)
{
    int g = entry_group(x);
    return g == RAW_GROUP ? entry_size(x) : hl_alloc_class_size(g);
}

static void peak_merge(hl_alloc_peak *into, hl_alloc_peak p)
{
    if (p.bytes_in_use > into->bytes_in_use)
        into->bytes_in_use = p.bytes_in_use;
    if (p.arenas > into->arenas)
        into->arenas = p.arenas;
}

void hl_snapshots_free(hl_snapshots *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->kept[i].entries);
    free(s);
}

/* ---- taking, finding, dropping ---- */

static bool take(const hl_heap *h, snapshot *out)
{
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    entry *v = malloc((t.objects ? t.objects : 1) * sizeof *v);
    if (v == NULL)
        return false;
    size_t n = 0;
    uint64_t bytes = 0;
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0 && n < t.objects; id = hl_heap_next_live_id(h, id)) {
        hl_object_info info;
        hl_heap_object_info(h, id, &info);
        uint64_t size = info.size < PACKED_SIZE_MAX ? info.size : PACKED_SIZE_MAX;
        v[n++] = (entry){id, size << 16 | (uint64_t)info.type << 8 | (uint64_t)(info.size_class + 1)};
        bytes += info.size;
    }
    out->entries = v;
    out->n = n;
    out->bytes = bytes;
    return true;
}

static json_t *summary(const snapshot *s)
{
    return json_pack("{s:I,s:I,s:I,s:I}", "id", (json_int_t)s->id, "taken_at_version", (json_int_t)s->version,
                     "objects", (json_int_t)s->n, "bytes", (json_int_t)s->bytes);
}

/* The marks since kept[from] was taken: its own interval, every later
 * one, and the allocator's running marks. */
static hl_alloc_peak peak_since(const hl_snapshots *s, size_t from, const hl_heap *h)
{
    hl_alloc_peak p = hl_alloc_peak_get(hl_heap_allocator(h));
    for (size_t i = from; i < s->n; i++)
        peak_merge(&p, s->kept[i].peak);
    return p;
}

static json_t *peak_json(hl_alloc_peak p, const snapshot *since)
{
    return json_pack("{s:I,s:I,s:o}", "bytes_in_use", (json_int_t)p.bytes_in_use, "arenas", (json_int_t)p.arenas,
                     "since_snapshot", since != NULL ? json_integer((json_int_t)since->id) : json_null());
}

json_t *hl_snapshots_peak(const hl_api_heap *e)
{
    const hl_snapshots *s = e->snapshots;
    if (s != NULL && s->n > 0)
        return peak_json(peak_since(s, s->n - 1, e->heap), &s->kept[s->n - 1]);
    hl_alloc_peak p = hl_alloc_peak_get(hl_heap_allocator(e->heap));
    if (s != NULL)
        peak_merge(&p, s->before);
    return peak_json(p, NULL);
}

/* Snapshot ids as the path spells them: digits without a leading zero, so
 * each snapshot has one URL. */
static bool parse_snapshot_id(const char *text, uint64_t *out)
{
    size_t len = strlen(text);
    if (len == 0 || len > 18 || text[0] == '0' || strspn(text, "0123456789") != len)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (uint64_t)(text[i] - '0');
    *out = v;
    return true;
}

/* The index of snapshot text in s, or -1 with a 404 in out. */
static int find(const hl_api_heap *e, const char *text, hl_api_response *out)
{
    const hl_snapshots *s = e->snapshots;
    uint64_t id;
    if (parse_snapshot_id(text, &id))
        for (size_t i = 0; s != NULL && i < s->n; i++)
            if (s->kept[i].id == id)
                return (int)i;
    char kept[HL_SNAPSHOTS_MAX * 21] = "none";
    size_t used = 0;
    for (size_t i = 0; s != NULL && i < s->n; i++)
        used += (size_t)snprintf(kept + used, sizeof kept - used, "%s%" PRIu64, i ? ", " : "", s->kept[i].id);
    hl_problem(out, 404, "no-such-snapshot", NULL,
               "heap '%s' keeps no snapshot '%s' (kept: %s); POST .../snapshots takes one", e->id, text, kept);
    return -1;
}

/* Its marks go to the snapshot before it (or to the time before the
 * first), so that peaks since earlier snapshots still cover its interval. */
static void drop(hl_snapshots *s, size_t i)
{
    peak_merge(i > 0 ? &s->kept[i - 1].peak : &s->before, s->kept[i].peak);
    free(s->kept[i].entries);
    memmove(&s->kept[i], &s->kept[i + 1], (s->n - i - 1) * sizeof s->kept[0]);
    s->n--;
}

static void post(hl_api_heap *e, const hl_api_request *req, hl_api_response *out)
{
    json_t *body;
    if (!hl_api_parse_body(req, out, &body, false))
        return;
    size_t fields = json_object_size(body);
    json_decref(body);
    if (fields != 0) {
        hl_problem(out, 400, "unknown-field", NULL, "taking a snapshot takes no fields");
        return;
    }
    if (e->snapshots == NULL && (e->snapshots = calloc(1, sizeof *e->snapshots)) == NULL) {
        hl_problem(out, 503, "out-of-memory", NULL, "out of memory for the heap's snapshots");
        return;
    }
    hl_snapshots *s = e->snapshots;
    if (s->n == HL_SNAPSHOTS_MAX) {
        hl_problem(out, 409, "too-many-snapshots", NULL,
                   "heap '%s' already keeps %d snapshots, the most it may; DELETE one "
                   "(/v1/heaps/%s/snapshots/{id}) before taking another",
                   e->id, HL_SNAPSHOTS_MAX, e->id);
        return;
    }
    snapshot *snap = &s->kept[s->n];
    if (!take(e->heap, snap)) {
        hl_problem(out, 503, "out-of-memory", NULL, "out of memory for a snapshot of this heap");
        return;
    }
    snap->id = ++s->last_id;
    snap->version = e->version;
    snap->peak = (hl_alloc_peak){0, 0};
    /* The allocator's marks so far belong to the interval that ends here. */
    peak_merge(s->n > 0 ? &s->kept[s->n - 1].peak : &s->before, hl_alloc_peak_get(hl_heap_allocator(e->heap)));
    hl_heap_reset_peak(e->heap);
    s->n++;
    snprintf(out->location, sizeof out->location, "/v1/heaps/%s/snapshots/%" PRIu64, e->id, snap->id);
    hl_respond_json(out, 201, summary(snap));
}

/* ---- comparing ---- */

typedef struct tally {
    uint64_t added, freed;
    uint64_t bytes_added, bytes_freed;
    int64_t growth;     /* size change of the objects live in both */
} tally;

typedef struct diff {
    tally type[HL_TYPE_COUNT];
    tally group[RAW_GROUP + 1]; /* the size classes, then raw blocks */
} diff;

static void count(tally *t, uint64_t bytes, bool added)
{
    if (added) {
        t->added++;
        t->bytes_added += bytes;
    } else {
        t->freed++;
        t->bytes_freed += bytes;
    }
}

static void count_object(diff *d, const entry *x, bool added)
{
    count(&d->type[entry_type(x)], entry_size(x), added);
    count(&d->group[entry_group(x)], block_bytes(x), added);
}

/* An object live in both: a list that grew counts in size_diff, as it does
 * in tracemalloc; a block that changed class was freed from one and taken
 * from the other. */
static void count_survivor(diff *d, const entry *a, const entry *b)
{
    int64_t grew = (int64_t)entry_size(b) - (int64_t)entry_size(a);
    d->type[entry_type(b)].growth += grew;
    if (entry_group(a) != entry_group(b)) {
        count(&d->group[entry_group(a)], block_bytes(a), false);
        count(&d->group[entry_group(b)], block_bytes(b), true);
    } else if (entry_group(b) == RAW_GROUP) {
        d->group[RAW_GROUP].growth += grew;
    }
}

static void compute(const snapshot *a, const snapshot *b, diff *d)
{
    memset(d, 0, sizeof *d);
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        if (j == b->n || (i < a->n && a->entries[i].id < b->entries[j].id))
            count_object(d, &a->entries[i++], false);
        else if (i == a->n || b->entries[j].id < a->entries[i].id)
            count_object(d, &b->entries[j++], true);
        else
            count_survivor(d, &a->entries[i++], &b->entries[j++]);
    }
}

static int64_t size_diff(const tally *t)
{
    return (int64_t)t->bytes_added - (int64_t)t->bytes_freed + t->growth;
}

static int64_t count_diff(const tally *t)
{
    return (int64_t)t->added - (int64_t)t->freed;
}

static bool changed(const tally *t)
{
    return t->added != 0 || t->freed != 0 || t->growth != 0;
}

typedef struct growth {
    char group[32];
    int64_t size_diff, count_diff;
} growth;

/* Biggest growth first, as Snapshot.compare_to sorts; ties by count, then
 * by name, so the order never depends on qsort. */
static int by_growth(const void *x, const void *y)
{
    const growth *a = x, *b = y;
    if (a->size_diff != b->size_diff)
        return a->size_diff > b->size_diff ? -1 : 1;
    if (a->count_diff != b->count_diff)
        return a->count_diff > b->count_diff ? -1 : 1;
    return strcmp(a->group, b->group);
}

static json_t *largest_growths(const diff *d)
{
    growth g[HL_TYPE_COUNT + RAW_GROUP + 1];
    size_t n = 0;
    for (int t = 0; t < HL_TYPE_COUNT; t++)
        if (size_diff(&d->type[t]) > 0) {
            g[n] = (growth){"", size_diff(&d->type[t]), count_diff(&d->type[t])};
            snprintf(g[n++].group, sizeof g[0].group, "type:%s", hl_type_name((hl_type)t));
        }
    for (int c = 0; c <= RAW_GROUP; c++)
        if (size_diff(&d->group[c]) > 0) {
            g[n] = (growth){"", size_diff(&d->group[c]), count_diff(&d->group[c])};
            if (c == RAW_GROUP)
                snprintf(g[n++].group, sizeof g[0].group, "size_class:large");
            else
                snprintf(g[n++].group, sizeof g[0].group, "size_class:%d", c);
        }
    qsort(g, n, sizeof g[0], by_growth);
    json_t *out = json_array();
    for (size_t i = 0; i < n && i < GROWTHS_SHOWN; i++)
        json_array_append_new(out, json_pack("{s:s,s:I,s:I}", "group", g[i].group, "size_diff",
                                             (json_int_t)g[i].size_diff, "count_diff", (json_int_t)g[i].count_diff));
    return out;
}

static json_t *by_type(const diff *d)
{
    json_t *out = json_array();
    for (int i = 0; i < HL_TYPE_COUNT; i++) {
        const tally *t = &d->type[i];
        if (changed(t))
            json_array_append_new(
                out, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "type", hl_type_name((hl_type)i), "objects_added",
                               (json_int_t)t->added, "objects_freed", (json_int_t)t->freed, "bytes_added",
                               (json_int_t)t->bytes_added, "bytes_freed", (json_int_t)t->bytes_freed, "count_diff",
                               (json_int_t)count_diff(t), "size_diff", (json_int_t)size_diff(t)));
    }
    return out;
}

static json_t *by_size_class(const diff *d)
{
    json_t *out = json_array();
    for (int c = 0; c <= RAW_GROUP; c++) {
        const tally *t = &d->group[c];
        if (!changed(t))
            continue;
        bool raw = c == RAW_GROUP;
        json_array_append_new(out, json_pack("{s:o,s:o,s:I,s:I,s:I}", "size_class", raw ? json_null() : json_integer(c),
                                             "block_size",
                                             raw ? json_null() : json_integer((json_int_t)hl_alloc_class_size(c)),
                                             "blocks_added", (json_int_t)t->added, "blocks_freed",
                                             (json_int_t)t->freed, "bytes_diff", (json_int_t)size_diff(t)));
    }
    return out;
}

static json_t *compare(const hl_api_heap *e, size_t ia, size_t ib)
{
    const hl_snapshots *s = e->snapshots;
    const snapshot *a = &s->kept[ia], *b = &s->kept[ib];
    diff d;
    compute(a, b, &d);
    tally all = {0};
    for (int t = 0; t < HL_TYPE_COUNT; t++) {
        all.added += d.type[t].added;
        all.freed += d.type[t].freed;
        all.bytes_added += d.type[t].bytes_added;
        all.bytes_freed += d.type[t].bytes_freed;
        all.growth += d.type[t].growth;
    }
    json_t *j = json_pack("{s:I,s:I}", "from", (json_int_t)a->id, "to", (json_int_t)b->id);
    json_object_set_new(j, "by_type", by_type(&d));
    json_object_set_new(j, "by_size_class", by_size_class(&d));
    json_object_set_new(j, "largest_growths", largest_growths(&d));
    json_object_set_new(j, "totals", json_pack("{s:I,s:I,s:I}", "objects_added", (json_int_t)all.added,
                                               "objects_freed", (json_int_t)all.freed, "size_diff",
                                               (json_int_t)size_diff(&all)));
    json_object_set_new(j, "peak", peak_json(peak_since(s, ia, e->heap), a));
    return j;
}

/* ---- routing ---- */

static void not_allowed(hl_api_response *out, const hl_api_request *req, const char *allowed)
{
    hl_problem(out, 405, "method-not-allowed", NULL, "%s is not allowed here; use %s", req->method, allowed);
    snprintf(out->allow, sizeof out->allow, "%s", allowed);
}

static void list(const hl_api_heap *e, hl_api_response *out)
{
    json_t *all = json_array();
    for (size_t i = 0; e->snapshots != NULL && i < e->snapshots->n; i++)
        json_array_append_new(all, summary(&e->snapshots->kept[i]));
    hl_respond_json(out, 200, json_pack("{s:o,s:i}", "snapshots", all, "max", HL_SNAPSHOTS_MAX));
}

void hl_snapshots_route(hl_api_heap *e, const hl_api_request *req, hl_api_response *out, char **seg, int nseg)
{
    bool get = strcmp(req->method, "GET") == 0;
    if (nseg == 1) {
        if (get)
            list(e, out);
        else if (strcmp(req->method, "POST") == 0)
            post(e, req, out);
        else
            not_allowed(out, req, "GET, POST");
        return;
    }
    if (nseg == 3 || (nseg == 4 && strcmp(seg[2], "compare") != 0)) {
        hl_problem(out, 404, "not-found", NULL, "no such resource under a snapshot (compare/{id})");
        return;
    }
    if (nseg == 4 && !get) {
        not_allowed(out, req, "GET");
        return;
    }
    if (nseg == 2 && !get && strcmp(req->method, "DELETE") != 0) {
        not_allowed(out, req, "GET, DELETE");
        return;
    }
    int a = find(e, seg[1], out), b = nseg == 4 && a >= 0 ? find(e, seg[3], out) : a;
    if (a < 0 || b < 0)
        return;
    if (nseg == 4) {
        hl_respond_json(out, 200, compare(e, (size_t)a, (size_t)b));
    } else if (get) {
        hl_respond_json(out, 200, summary(&e->snapshots->kept[a]));
    } else {
        drop(e->snapshots, (size_t)a);
        out->status = 204;
    }
}
