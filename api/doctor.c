/* doctor.c — findings about a heap's memory; see doctor.h. */
#include "doctor.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where each finding starts to matter.  Small heaps stay quiet: a lab's
 * ten objects after gc.collect() are all in generation 2, and its first
 * pools are nearly empty, without anything being wrong. */
#define FEW_BLOCKS 10          /* an arena held by fewer live blocks than this */
#define GEN2_MIN 1000          /* gc.freeze() only pays for many long-lived objects */
#define GEN2_PERCENT 90
#define POOLS_MIN 16           /* a megabyte of pools fits in a quarter of an arena */
#define POOLS_USED_PERCENT 25
#define THRESHOLD_FACTOR 4     /* "far" from a default: 4 times above or below */

static __attribute__((format(printf, 5, 6))) void add(json_t *findings, const char *code, const char *severity,
                                                      json_t *figures, const char *fmt, ...)
{
    char sentence[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    json_array_append_new(findings, json_pack("{s:s,s:s,s:s,s:o}", "code", code, "severity", severity, "sentence",
                                              sentence, "figures", figures));
}

/* "3 MiB", "400 KiB", "72 bytes": rounded down, as a sentence wants them. */
static const char *human(uint64_t bytes, char buf[32])
{
    const uint64_t kib = 1024, mib = kib * kib;
    if (bytes >= mib)
        snprintf(buf, 32, "%" PRIu64 " MiB", bytes / mib);
    else if (bytes >= kib)
        snprintf(buf, 32, "%" PRIu64 " KiB", bytes / kib);
    else
        snprintf(buf, 32, "%" PRIu64 " bytes", bytes);
    return buf;
}

/* ---- arenas held by few blocks ---- */

typedef struct arena_scan {
    int64_t arena;      /* the arena being summed, -1 before the first */
    uint64_t used;
    uint64_t sparse, sparse_blocks;
} arena_scan;

static void close_arena(arena_scan *a)
{
    if (a->arena >= 0 && a->used > 0 && a->used < FEW_BLOCKS) {
        a->sparse++;
        a->sparse_blocks += a->used;
    }
}

static void scan_pool(void *ctx, uint32_t arena, uint32_t pool, int size_class, uint32_t used, uint32_t capacity)
{
    (void)pool;
    (void)size_class;
    (void)capacity;
    arena_scan *a = ctx;
    if ((int64_t)arena != a->arena) {
        close_arena(a);
        a->arena = arena;
        a->used = 0;
    }
    a->used += used;
}

static void sparse_arenas(const hl_heap *h, const hl_alloc_stats *s, json_t *findings)
{
    arena_scan a = {-1, 0, 0, 0};
    hl_alloc_visit_pools(hl_heap_allocator(h), scan_pool, &a);
    close_arena(&a);
    /* A heap's only arena is kept even when empty: nothing to give back. */
    if (a.sparse == 0 || s->arenas_in_use < 2)
        return;
    char held[32];
    uint64_t bytes = a.sparse * HL_ALLOC_ARENA_SIZE;
    add(findings, "arena-held-by-few-blocks", "warning",
        json_pack("{s:I,s:I,s:i,s:I,s:I}", "arenas", (json_int_t)a.sparse, "live_blocks",
                  (json_int_t)a.sparse_blocks, "fewer_than", FEW_BLOCKS, "bytes_held", (json_int_t)bytes,
                  "arenas_in_use", (json_int_t)s->arenas_in_use),
        "%" PRIu64 " %s held by fewer than %d live blocks each (%" PRIu64 " blocks in all): one surviving object "
        "keeps 1 MiB from the OS, so %s stay mapped for them",
        a.sparse, a.sparse == 1 ? "arena is" : "arenas are", FEW_BLOCKS, a.sparse_blocks, human(bytes, held));
}

/* ---- pools mostly empty ---- */

static void empty_pools(const hl_alloc_stats *s, json_t *findings)
{
    uint64_t used = s->bytes_in_allocated_blocks, spare = s->bytes_in_available_blocks;
    if (s->pools_in_use < POOLS_MIN || used * 100 >= POOLS_USED_PERCENT * (used + spare))
        return;
    uint64_t percent = used * 100 / (used + spare);
    char free_text[32];
    add(findings, "pools-mostly-empty", "hint",
        json_pack("{s:I,s:I,s:I,s:I}", "pools_in_use", (json_int_t)s->pools_in_use, "used_percent",
                  (json_int_t)percent, "bytes_in_blocks", (json_int_t)used, "bytes_in_free_blocks",
                  (json_int_t)spare),
        "%" PRIu64 " pools are in use but only %" PRIu64 "%% of their blocks hold objects: %s of free blocks stay "
        "with their size classes until every block of a pool is freed",
        s->pools_in_use, percent, human(spare, free_text));
}

/* ---- the collector ---- */

static void generation_2_share(const hl_gc_state *g, json_t *findings)
{
    uint64_t tracked = g->generation_size[0] + g->generation_size[1] + g->generation_size[2];
    uint64_t old = g->generation_size[2];
    if (old < GEN2_MIN || old * 100 < GEN2_PERCENT * tracked)
        return;
    uint64_t percent = old * 100 / tracked;
    add(findings, "generation-2-share", "hint",
        json_pack("{s:I,s:I,s:I}", "generation_2", (json_int_t)old, "tracked", (json_int_t)tracked, "percent",
                  (json_int_t)percent),
        "generation 2 holds %" PRIu64 "%% of tracked objects (%" PRIu64 " of %" PRIu64 "): gc.freeze() after "
        "start-up would move them to the permanent generation, and full collections would skip them",
        percent, old, tracked);
}

static void gc_disabled(const hl_gc_state *g, json_t *findings)
{
    if (g->enabled)
        return;
    add(findings, "gc-disabled", "warning",
        json_pack("{s:b,s:I}", "enabled", 0, "generation_0_count", (json_int_t)g->count[0]),
        "the collector is disabled (gc.disable()): gc.get_count()[0] is %" PRId64 " and no threshold will start "
        "a collection, so cycles are freed only by an explicit gc.collect()",
        g->count[0]);
}

static bool far_from(int value, int usual)
{
    return value <= 0 || (int64_t)value * THRESHOLD_FACTOR <= usual || value >= (int64_t)usual * THRESHOLD_FACTOR;
}

/* What the first threshold that is far off does to collections. */
static void threshold_effect(const int t[3], const int usual_t[3], char *buf, size_t cap)
{
    int i = far_from(t[0], usual_t[0]) ? 0 : far_from(t[1], usual_t[1]) ? 1 : 2;
    int usual = usual_t[i];
    const char *counted = i == 0 ? "container allocations" : "collections of the generation below";
    if (t[i] <= 0)
        snprintf(buf, cap, "a threshold of %d for generation %d turns its automatic collections off", t[i], i);
    else if (t[i] < usual)
        snprintf(buf, cap, "generation %d is collected after every %d %s, about %d times as often as usual", i, t[i],
                 counted, usual / t[i]);
    else
        snprintf(buf, cap, "generation %d is collected after every %d %s, about %d times as rarely as usual, so "
                 "cyclic garbage waits longer", i, t[i], counted, t[i] / usual);
}

static void thresholds(const hl_heap *h, const hl_gc_state *g, json_t *findings)
{
    hl_heap_config cfg, mine;
    hl_heap_config_get(h, &mine);
    hl_heap_config_default(&cfg);
    hl_heap_config_profile(&cfg, mine.profile); /* 3.13 starts at 2000 */
    const int *t = g->thresholds, *usual = cfg.thresholds;
    if (!far_from(t[0], usual[0]) && !far_from(t[1], usual[1]) && !far_from(t[2], usual[2]))
        return;
    char effect[256];
    threshold_effect(t, usual, effect, sizeof effect);
    add(findings, "thresholds-far-from-default", "hint",
        json_pack("{s:[i,i,i],s:[i,i,i]}", "thresholds", t[0], t[1], t[2], "default", usual[0], usual[1], usual[2]),
        "gc thresholds are (%d, %d, %d), far from CPython's (%d, %d, %d): %s", t[0], t[1], t[2], usual[0], usual[1],
        usual[2], effect);
}

/* ---- unreachable objects ----
 * As the collector itself decides: an object is referenced from outside
 * the heap's objects (a name, a cache, an operation under way) when its
 * refcount exceeds the references live objects hold to it.  Those, and
 * frozen objects (which no collection examines), are the roots; whatever
 * they do not reach waits for a collection. */

typedef struct slot {
    uint64_t id;        /* 0 = empty */
    int64_t outside;    /* refcount minus references from live objects */
} slot;

typedef struct walk {
    const hl_heap *h;
    slot *table;
    size_t mask;
    unsigned char *reached;
    uint32_t *stack;    /* slots marked and not yet scanned */
    size_t depth;
} walk;

typedef struct unreachable {
    uint64_t objects, tracked, bytes;
    int oldest;         /* the oldest generation any of them is in */
} unreachable;

static size_t slot_of(const walk *w, uint64_t id)
{
    size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & w->mask;
    while (w->table[i].id != id && w->table[i].id != 0)
        i = (i + 1) & w->mask;
    return i;
}

static void mark(walk *w, size_t s)
{
    if (w->reached[s])
        return;
    w->reached[s] = 1;
    w->stack[w->depth++] = (uint32_t)s;
}

static bool subtract(void *ctx, const hl_ref *r)
{
    walk *w = ctx;
    w->table[slot_of(w, r->target)].outside--;
    return true;
}

static bool reach(void *ctx, const hl_ref *r)
{
    walk *w = ctx;
    mark(w, slot_of(w, r->target));
    return true;
}

static void tally_unreached(const walk *w, unreachable *u)
{
    for (size_t i = 0; i <= w->mask; i++) {
        hl_object_info info;
        if (w->table[i].id == 0 || w->reached[i] || hl_heap_object_info(w->h, w->table[i].id, &info) != HL_OK)
            continue;
        u->objects++;
        u->bytes += info.size;
        if (info.tracked) {
            u->tracked++;
            if (info.generation > u->oldest)
                u->oldest = info.generation;
        }
    }
}

static bool count_unreachable(const hl_heap *h, uint64_t objects, unreachable *u)
{
    walk w = {.h = h};
    size_t cap = 16;
    while (cap < 2 * objects)
        cap *= 2;
    w.mask = cap - 1;
    w.table = calloc(cap, sizeof *w.table);
    w.reached = calloc(cap, 1);
    w.stack = malloc((objects ? objects : 1) * sizeof *w.stack);
    bool ok = w.table != NULL && w.reached != NULL && w.stack != NULL;
    for (uint64_t id = hl_heap_next_live_id(h, 0); ok && id != 0; id = hl_heap_next_live_id(h, id)) {
        hl_object_info info;
        hl_heap_object_info(h, id, &info);
        size_t s = slot_of(&w, id);
        w.table[s] = (slot){id, info.refcount};
        if (info.generation == 3)
            mark(&w, s);
    }
    for (uint64_t id = hl_heap_next_live_id(h, 0); ok && id != 0; id = hl_heap_next_live_id(h, id))
        hl_heap_referents(h, id, subtract, &w);
    for (size_t i = 0; ok && i < cap; i++)
        if (w.table[i].id != 0 && w.table[i].outside > 0)
            mark(&w, i);
    while (ok && w.depth > 0)
        hl_heap_referents(h, w.table[w.stack[--w.depth]].id, reach, &w);
    *u = (unreachable){0, 0, 0, 0};
    if (ok)
        tally_unreached(&w, u);
    free(w.table);
    free(w.reached);
    free(w.stack);
    return ok;
}

static bool unreachable_objects(const hl_heap *h, const hl_gc_state *g, uint64_t objects, json_t *findings)
{
    if (objects > HL_DOCTOR_WALK_MAX) {
        add(findings, "unreachable-not-counted", "info",
            json_pack("{s:I,s:i}", "objects", (json_int_t)objects, "walk_max", HL_DOCTOR_WALK_MAX),
            "the heap holds %" PRIu64 " objects, more than the %d the doctor walks: unreachable objects were not "
            "counted", objects, HL_DOCTOR_WALK_MAX);
        return true;
    }
    unreachable u;
    if (!count_unreachable(h, objects, &u))
        return false;
    if (u.objects == 0)
        return true;
    char size[32];
    add(findings, "unreachable-pending", g->enabled ? "hint" : "warning",
        json_pack("{s:I,s:I,s:I,s:i}", "objects", (json_int_t)u.objects, "tracked", (json_int_t)u.tracked, "bytes",
                  (json_int_t)u.bytes, "oldest_generation", u.oldest),
        "%" PRIu64 " %s unreachable now (%s) and will survive until a generation-%d collection%s", u.objects,
        u.objects == 1 ? "object is" : "objects are", human(u.bytes, size), u.oldest,
        g->enabled ? "" : ", which only gc.collect() runs while the collector is disabled");
    return true;
}

json_t *hl_doctor_findings(const hl_heap *h)
{
    hl_alloc_stats s;
    hl_gc_state g;
    hl_heap_totals t;
    hl_alloc_get_stats(hl_heap_allocator(h), &s);
    hl_heap_gc_state(h, &g);
    hl_heap_totals_get(h, &t);
    json_t *findings = json_array();
    sparse_arenas(h, &s, findings);
    empty_pools(&s, findings);
    if (!unreachable_objects(h, &g, t.objects, findings)) {
        json_decref(findings);
        return NULL;
    }
    generation_2_share(&g, findings);
    gc_disabled(&g, findings);
    thresholds(h, &g, findings);
    if (json_array_size(findings) == 0) {
        char size[32];
        add(findings, "nothing-to-worry-about", "info",
            json_pack("{s:I,s:I,s:I}", "objects", (json_int_t)t.objects, "bytes_in_use", (json_int_t)t.bytes,
                      "arenas_in_use", (json_int_t)s.arenas_in_use),
            "nothing to worry about: %" PRIu64 " objects in %s of blocks, none unreachable, no arena held by a "
            "few blocks, and the collector on near-default settings", t.objects, human(t.bytes, size));
    }
    return json_pack("{s:o}", "findings", findings);
}
