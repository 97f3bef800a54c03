/* The read-only side of the pymalloc model: statistics, their sys._debugmallocstats() text,
 * pool walking and the consistency checker. Nothing here changes allocator state. */
#include "alloc_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const hl_alloc_pool *pool_at(const hl_alloc_arena *ao, uint32_t k)
{
    return (const hl_alloc_pool *)(const void *)(hl_alloc_i_first_pool(ao) + (size_t)k * HL_ALLOC_POOL_SIZE);
}

static uint32_t carved_pools(const hl_alloc_arena *ao)
{
    return (uint32_t)((size_t)(ao->pool_address - hl_alloc_i_first_pool(ao)) / HL_ALLOC_POOL_SIZE);
}

/* ---- stats ---- */

static void tally_arena(const hl_alloc_arena *ao, hl_alloc_stats *s)
{
    s->pools_empty += ao->nfreepools;
    if (ao->address & HL_ALLOC_POOL_MASK)
        s->bytes_lost_arena_alignment += HL_ALLOC_POOL_SIZE;
    uint32_t carved = carved_pools(ao);
    for (uint32_t k = 0; k < carved; k++) {
        const hl_alloc_pool *pool = pool_at(ao, k);
        if (pool->count == 0)
            continue; /* empty pools are among nfreepools */
        hl_alloc_class_stats *cs = &s->classes[pool->szidx];
        cs->pools++;
        cs->used_blocks += pool->count;
        cs->free_blocks += hl_alloc_i_blocks(pool->szidx) - pool->count;
    }
}

static void derive_byte_totals(hl_alloc_stats *s)
{
    for (uint32_t i = 0; i < HL_ALLOC_NUM_CLASSES; i++) {
        const hl_alloc_class_stats *cs = &s->classes[i];
        uint32_t size = hl_alloc_i_size(i);
        s->pools_in_use += cs->pools;
        s->allocated_blocks += cs->used_blocks;
        s->bytes_in_allocated_blocks += cs->used_blocks * size;
        s->bytes_in_available_blocks += cs->free_blocks * size;
        s->bytes_lost_pool_headers += (uint64_t)cs->pools * HL_ALLOC_POOL_OVERHEAD;
        s->bytes_lost_quantization +=
            (uint64_t)cs->pools * ((HL_ALLOC_POOL_SIZE - HL_ALLOC_POOL_OVERHEAD) % size);
    }
    s->bytes_in_unused_pools = s->pools_empty * HL_ALLOC_POOL_SIZE;
}

void hl_alloc_get_stats(const hl_alloc *a, hl_alloc_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < a->maxarenas; i++)
        if (a->arenas[i].address != 0)
            tally_arena(&a->arenas[i], out);
    derive_byte_totals(out);
    out->arenas_allocated_total = a->ntimes_arena_allocated;
    out->arenas_reclaimed = a->ntimes_arena_allocated - a->narenas_currently_allocated;
    out->arenas_highwater = a->narenas_highwater;
    out->arenas_in_use = a->narenas_currently_allocated;
    out->raw_count = a->raw_count;
    out->raw_bytes = a->raw_bytes;
    out->allocated_blocks += a->raw_count;
}

/* ---- formatting ---- */

typedef struct sink {
    char *buf;
    size_t cap;
    size_t len;
    bool failed;
} sink;

static void put(sink *s, const char *fmt, ...)
{
    bool room = s->len < s->cap;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(room ? s->buf + s->len : NULL, room ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (r < 0)
        s->failed = true;
    else
        s->len += (size_t)r;
}

static void group_thousands(uint64_t v, char out[32])
{
    char rev[32];
    int n = 0;
    for (int digits = 0; digits == 0 || v != 0; digits++, v /= 10) {
        if (digits > 0 && digits % 3 == 0)
            rev[n++] = ',';
        rev[n++] = (char)('0' + v % 10);
    }
    for (int i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
}

/* CPython's printone(): label padded to 35 columns, '=', value with commas in 21 columns. */
static uint64_t put_row(sink *s, const char *label, uint64_t value)
{
    char digits[32];
    group_thousands(value, digits);
    put(s, "%-35s=%21s\n", label, digits);
    return value;
}

static void put_classes(sink *s, const hl_alloc_stats *st)
{
    put(s, "Small block threshold = %d, in %d size classes.\n\n", HL_ALLOC_SMALL_MAX,
        HL_ALLOC_NUM_CLASSES);
    put(s, "class   size   num pools   blocks in use  avail blocks\n");
    put(s, "-----   ----   ---------   -------------  ------------\n");
    for (uint32_t i = 0; i < HL_ALLOC_NUM_CLASSES; i++) {
        const hl_alloc_class_stats *cs = &st->classes[i];
        if (cs->pools == 0)
            continue;
        put(s, "%5" PRIu32 " %6" PRIu32 " %11" PRIu32 " %15" PRIu64 " %13" PRIu64 "\n", i,
            hl_alloc_i_size(i), cs->pools, cs->used_blocks, cs->free_blocks);
    }
}

static void put_arenas(sink *s, const hl_alloc_stats *st)
{
    char label[64];
    put(s, "\n");
    put_row(s, "# arenas allocated total", st->arenas_allocated_total);
    put_row(s, "# arenas reclaimed", st->arenas_reclaimed);
    put_row(s, "# arenas highwater mark", st->arenas_highwater);
    put_row(s, "# arenas allocated current", st->arenas_in_use);
    snprintf(label, sizeof label, "%" PRIu64 " arenas * %d bytes/arena", st->arenas_in_use,
             HL_ALLOC_ARENA_SIZE);
    put_row(s, label, st->arenas_in_use * HL_ALLOC_ARENA_SIZE);
}

static void put_bytes(sink *s, const hl_alloc_stats *st)
{
    char label[64];
    uint64_t total = 0;
    put(s, "\n");
    total += put_row(s, "# bytes in allocated blocks", st->bytes_in_allocated_blocks);
    total += put_row(s, "# bytes in available blocks", st->bytes_in_available_blocks);
    snprintf(label, sizeof label, "%" PRIu64 " unused pools * %d bytes", st->pools_empty,
             HL_ALLOC_POOL_SIZE);
    total += put_row(s, label, st->bytes_in_unused_pools);
    total += put_row(s, "# bytes lost to pool headers", st->bytes_lost_pool_headers);
    total += put_row(s, "# bytes lost to quantization", st->bytes_lost_quantization);
    total += put_row(s, "# bytes lost to arena alignment", st->bytes_lost_arena_alignment);
    put_row(s, "Total", total);
}

int hl_alloc_format_stats(const hl_alloc_stats *st, char *buf, size_t cap)
{
    sink s = {buf, cap, 0, false};
    put_classes(&s, st);
    put_arenas(&s, st);
    put_bytes(&s, st);
    return s.failed || s.len > INT_MAX ? -1 : (int)s.len;
}

/* ---- visiting ---- */

static void visit_arena(const hl_alloc_arena *ao, uint32_t ai, hl_alloc_pool_visitor visit, void *ctx)
{
    uint32_t carved = carved_pools(ao);
    for (uint32_t k = 0; k < ao->ntotalpools; k++) {
        const hl_alloc_pool *pool = k < carved ? pool_at(ao, k) : NULL;
        if (pool == NULL || pool->count == 0)
            visit(ctx, ai, k, -1, 0, 0);
        else
            visit(ctx, ai, k, (int)pool->szidx, (uint32_t)pool->count,
                  hl_alloc_i_blocks(pool->szidx));
    }
}

void hl_alloc_visit_pools(const hl_alloc *a, hl_alloc_pool_visitor visit, void *ctx)
{
    for (uint32_t i = 0; i < a->maxarenas; i++)
        if (a->arenas[i].address != 0)
            visit_arena(&a->arenas[i], i, visit, ctx);
}

/* ---- checking ---- */

typedef struct checker {
    const hl_alloc *a;
    char *why;
    size_t why_cap;
    uint64_t used_pools[HL_ALLOC_NUM_CLASSES]; /* pools that must be on each class list */
    uint64_t allocated;                        /* arenas with memory */
    uint64_t usable;                           /* of those, arenas with a free pool */
} checker;

static bool fail(checker *c, const char *fmt, ...)
{
    if (c->why != NULL && c->why_cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Free blocks stay poisoned; lift that for the one word read. */
static const uint8_t *peek_link(const uint8_t *block)
{
    HL_ALLOC_UNPOISON(block, sizeof(uint8_t *));
    const uint8_t *next = hl_alloc_i_get_link(block);
    HL_ALLOC_POISON(block, sizeof(uint8_t *));
    return next;
}

static uint32_t virgin_blocks(const hl_alloc_pool *pool, uint32_t size)
{
    if (pool->nextoffset > pool->maxnextoffset)
        return 0;
    return (pool->maxnextoffset - pool->nextoffset) / size + 1;
}

static bool check_free_list(checker *c, const hl_alloc_pool *pool, uint32_t size, uint32_t *len)
{
    const uint8_t *base = (const uint8_t *)pool;
    uint32_t cap = hl_alloc_i_blocks(pool->szidx);
    *len = 0;
    for (const uint8_t *b = pool->freeblock; b != NULL; b = peek_link(b)) {
        if (b < base + HL_ALLOC_POOL_OVERHEAD || b >= base + pool->nextoffset)
            return fail(c, "pool %p: free block %p outside carved blocks", (void *)pool, (void *)b);
        if ((size_t)(b - base - HL_ALLOC_POOL_OVERHEAD) % size != 0)
            return fail(c, "pool %p: free block %p misaligned", (void *)pool, (void *)b);
        if (++*len > cap)
            return fail(c, "pool %p: free list longer than capacity (cycle?)", (void *)pool);
    }
    return true;
}

static bool check_pool(checker *c, const hl_alloc_pool *pool, uint32_t ai)
{
    if (pool->arenaindex != ai)
        return fail(c, "pool %p: arenaindex %" PRIu32 " in arena %" PRIu32, (void *)pool,
                    pool->arenaindex, ai);
    if (pool->szidx >= HL_ALLOC_NUM_CLASSES)
        return fail(c, "pool %p: carved but never initialised", (void *)pool);
    uint32_t size = hl_alloc_i_size(pool->szidx), cap = hl_alloc_i_blocks(pool->szidx);
    if (pool->maxnextoffset != HL_ALLOC_POOL_SIZE - size || pool->nextoffset < HL_ALLOC_POOL_OVERHEAD
        || (pool->nextoffset - HL_ALLOC_POOL_OVERHEAD) % size != 0
        || pool->nextoffset > HL_ALLOC_POOL_OVERHEAD + cap * size)
        return fail(c, "pool %p: bad offsets %" PRIu32 "/%" PRIu32, (void *)pool,
                    pool->nextoffset, pool->maxnextoffset);
    uint32_t freelen;
    if (!check_free_list(c, pool, size, &freelen))
        return false;
    if (freelen + pool->count + virgin_blocks(pool, size) != cap)
        return fail(c, "pool %p: free %" PRIu32 " + used %" PRIu32 " + virgin %" PRIu32 " != %" PRIu32,
                    (void *)pool, freelen, pool->count, virgin_blocks(pool, size), cap);
    if ((pool->freeblock == NULL) != (pool->count == cap))
        return fail(c, "pool %p: freeblock NULL does not match fullness", (void *)pool);
    return true;
}

static bool is_carved_pool_of(const hl_alloc_arena *ao, const hl_alloc_pool *pool)
{
    if (ao->address == 0)
        return false;
    uintptr_t p = (uintptr_t)pool, first = (uintptr_t)hl_alloc_i_first_pool(ao);
    return p >= first && p < (uintptr_t)ao->pool_address && (p - first) % HL_ALLOC_POOL_SIZE == 0;
}

static bool check_freepools(checker *c, const hl_alloc_arena *ao, uint32_t empty)
{
    uint32_t len = 0;
    for (const hl_alloc_pool *p = ao->freepools; p != NULL; p = p->nextpool) {
        if (!is_carved_pool_of(ao, p) || p->count != 0)
            return fail(c, "arena %p: freepools holds %p, not an empty pool of it",
                        (void *)ao->address, (void *)p);
        if (++len > empty)
            return fail(c, "arena %p: freepools longer than its empty pools", (void *)ao->address);
    }
    if (len != empty)
        return fail(c, "arena %p: %" PRIu32 " empty pools, %" PRIu32 " on freepools",
                    (void *)ao->address, empty, len);
    return true;
}

static bool check_arena(checker *c, uint32_t ai)
{
    const hl_alloc_arena *ao = &c->a->arenas[ai];
    uint8_t *first = hl_alloc_i_first_pool(ao);
    uint32_t expect = HL_ALLOC_MAX_POOLS_IN_ARENA - ((ao->address & HL_ALLOC_POOL_MASK) != 0);
    if (ao->ntotalpools != expect || ao->pool_address < first
        || ao->pool_address > first + (size_t)expect * HL_ALLOC_POOL_SIZE
        || (size_t)(ao->pool_address - first) % HL_ALLOC_POOL_SIZE != 0)
        return fail(c, "arena %" PRIu32 ": bad geometry", ai);
    uint32_t carved = carved_pools(ao), empty = 0;
    for (uint32_t k = 0; k < carved; k++) {
        const hl_alloc_pool *pool = pool_at(ao, k);
        if (!check_pool(c, pool, ai))
            return false;
        if (pool->count == 0)
            empty++;
        else if (pool->freeblock != NULL)
            c->used_pools[pool->szidx]++;
    }
    if (!check_freepools(c, ao, empty))
        return false;
    if (ao->nfreepools != empty + (ao->ntotalpools - carved))
        return fail(c, "arena %" PRIu32 ": nfreepools %" PRIu32 " != empty %" PRIu32
                    " + never carved %" PRIu32, ai, ao->nfreepools, empty, ao->ntotalpools - carved);
    c->allocated++;
    c->usable += ao->nfreepools > 0;
    return true;
}

static bool pool_is_ours(const hl_alloc *a, const hl_alloc_pool *pool)
{
    for (uint32_t i = 0; i < a->maxarenas; i++)
        if (is_carved_pool_of(&a->arenas[i], pool))
            return true;
    return false;
}

static bool check_class_list(checker *c, uint32_t idx)
{
    const hl_alloc_pool *prev = NULL;
    uint64_t len = 0;
    for (const hl_alloc_pool *p = c->a->usedpools[idx]; p != NULL; prev = p, p = p->nextpool) {
        if (!pool_is_ours(c->a, p))
            return fail(c, "class %" PRIu32 ": list holds foreign pool %p", idx, (void *)p);
        if (p->szidx != idx || p->count == 0 || p->freeblock == NULL || p->prevpool != prev)
            return fail(c, "class %" PRIu32 ": pool %p is not a used pool of the class or "
                        "its links are broken", idx, (void *)p);
        if (++len > c->used_pools[idx])
            return fail(c, "class %" PRIu32 ": list longer than its used pools", idx);
    }
    if (len != c->used_pools[idx])
        return fail(c, "class %" PRIu32 ": %" PRIu64 " used pools, %" PRIu64 " listed", idx,
                    c->used_pools[idx], len);
    return true;
}

static bool is_slot(const hl_alloc *a, const hl_alloc_arena *ao)
{
    uintptr_t p = (uintptr_t)ao, base = (uintptr_t)a->arenas;
    return a->arenas != NULL && p >= base && p < base + (uintptr_t)a->maxarenas * sizeof *ao
           && (p - base) % sizeof *ao == 0;
}

static bool check_fingers(checker *c, hl_alloc_arena *const *const last)
{
    for (uint32_t k = 0; k <= HL_ALLOC_MAX_POOLS_IN_ARENA; k++)
        if (c->a->nfp2lasta[k] != last[k])
            return fail(c, "nfp2lasta[%" PRIu32 "] is not the last usable arena with %" PRIu32
                        " free pools", k, k);
    return true;
}

static bool check_usable(checker *c)
{
    hl_alloc_arena *last[HL_ALLOC_MAX_POOLS_IN_ARENA + 1] = {0};
    const hl_alloc_arena *prev = NULL;
    uint64_t len = 0;
    for (hl_alloc_arena *ao = c->a->usable_arenas; ao != NULL; prev = ao, ao = ao->nextarena) {
        if (!is_slot(c->a, ao) || ao->address == 0 || ao->nfreepools == 0 || ao->prevarena != prev)
            return fail(c, "usable_arenas: bad member %p", (void *)ao);
        if (prev != NULL && prev->nfreepools > ao->nfreepools)
            return fail(c, "usable_arenas: not sorted by nfreepools");
        if (++len > c->usable)
            return fail(c, "usable_arenas: longer than the arenas with free pools");
        last[ao->nfreepools] = ao;
    }
    if (len != c->usable)
        return fail(c, "usable_arenas: %" PRIu64 " listed, %" PRIu64 " have free pools", len,
                    c->usable);
    return check_fingers(c, last);
}

static bool check_unused(checker *c)
{
    const hl_alloc *a = c->a;
    uint64_t len = 0;
    for (const hl_alloc_arena *ao = a->unused_arena_objects; ao != NULL; ao = ao->nextarena) {
        if (!is_slot(a, ao) || ao->address != 0)
            return fail(c, "unused_arena_objects: bad member %p", (void *)ao);
        if (++len > a->maxarenas)
            return fail(c, "unused_arena_objects: cycle");
    }
    if (len + c->allocated != a->maxarenas)
        return fail(c, "%" PRIu64 " unused + %" PRIu64 " allocated slots != %" PRIu32, len,
                    c->allocated, a->maxarenas);
    return true;
}

static bool check_counters(checker *c)
{
    const hl_alloc *a = c->a;
    if (a->narenas_currently_allocated != c->allocated)
        return fail(c, "narenas_currently_allocated %" PRIu64 " but %" PRIu64 " arenas mapped",
                    a->narenas_currently_allocated, c->allocated);
    if (a->narenas_highwater < c->allocated || a->ntimes_arena_allocated < a->narenas_highwater)
        return fail(c, "arena counters out of order: total %" PRIu64 " highwater %" PRIu64
                    " current %" PRIu64, a->ntimes_arena_allocated, a->narenas_highwater,
                    c->allocated);
    if (a->raw_count == 0 && a->raw_bytes != 0)
        return fail(c, "raw bytes %" PRIu64 " without raw blocks", a->raw_bytes);
    return true;
}

hl_alloc_check_result hl_alloc_check(const hl_alloc *a, char *why, size_t why_cap)
{
    checker c = {.a = a, .why = why, .why_cap = why_cap};
    for (uint32_t i = 0; i < a->maxarenas; i++)
        if (a->arenas[i].address != 0 && !check_arena(&c, i))
            return HL_ALLOC_CORRUPT;
    for (uint32_t idx = 0; idx < HL_ALLOC_NUM_CLASSES; idx++)
        if (!check_class_list(&c, idx))
            return HL_ALLOC_CORRUPT;
    if (!check_usable(&c) || !check_unused(&c) || !check_counters(&c))
        return HL_ALLOC_CORRUPT;
    if (why != NULL && why_cap > 0)
        why[0] = '\0';
    return HL_ALLOC_OK;
}
