/* The allocating side of the pymalloc model: arenas, pools, blocks, realloc.
 * The read-only side (stats, formatting, visiting, checking) is in alloc_stats.c. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS is not in strict C11/POSIX */
#endif
#include "alloc_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define INITIAL_ARENA_OBJECTS 16u

static bool is_raw(size_t n)
{
    return n - 1 >= HL_ALLOC_SMALL_MAX; /* n == 0 wraps round to SIZE_MAX */
}

static hl_alloc_pool *pool_of(const void *p)
{
    return (hl_alloc_pool *)((uintptr_t)p & ~HL_ALLOC_POOL_MASK);
}

/* Every path that grows the bytes in use ends here, so the peak costs one compare. */
static void note_bytes(hl_alloc *a)
{
    uint64_t in_use = a->pool_bytes + a->raw_bytes;
    if (in_use > a->peak_bytes)
        a->peak_bytes = in_use;
}

/* ---- raw blocks ---- */

static void *raw_malloc(hl_alloc *a, size_t n)
{
    void *p = malloc(n ? n : 1); /* malloc(0) may return NULL, which would read as OOM */
    if (p != NULL) {
        a->raw_count++;
        a->raw_bytes += n;
        note_bytes(a);
    }
    return p;
}

static void raw_free(hl_alloc *a, void *p, size_t n)
{
    free(p);
    a->raw_count--;
    a->raw_bytes -= n;
}

static void *raw_realloc(hl_alloc *a, void *p, size_t old_n, size_t new_n)
{
    void *q = realloc(p, new_n ? new_n : 1);
    if (q != NULL) {
        a->raw_bytes = a->raw_bytes - old_n + new_n;
        note_bytes(a);
    }
    return q;
}

/* ---- class lists ---- */

static void link_front(hl_alloc *a, hl_alloc_pool *pool)
{
    hl_alloc_pool *head = a->usedpools[pool->szidx];
    pool->prevpool = NULL;
    pool->nextpool = head;
    if (head != NULL)
        head->prevpool = pool;
    a->usedpools[pool->szidx] = pool;
}

static void unlink_used(hl_alloc *a, hl_alloc_pool *pool)
{
    if (pool->prevpool != NULL)
        pool->prevpool->nextpool = pool->nextpool;
    else
        a->usedpools[pool->szidx] = pool->nextpool;
    if (pool->nextpool != NULL)
        pool->nextpool->prevpool = pool->prevpool;
}

/* ---- arenas ---- */

/* Only called when usable_arenas is empty, so no list or finger points into the vector
 * that realloc may move; full arenas' stale links are never read. */
static bool grow_arena_vector(hl_alloc *a)
{
    uint32_t old = a->maxarenas;
    uint32_t n = old ? old * 2 : INITIAL_ARENA_OBJECTS;
    if (n <= old) /* the address space runs out of arenas long before the vector overflows */
        return false;
    hl_alloc_arena *v = realloc(a->arenas, (size_t)n * sizeof *v);
    if (v == NULL)
        return false;
    memset(v + old, 0, (size_t)(n - old) * sizeof *v);
    for (uint32_t i = old; i + 1 < n; i++)
        v[i].nextarena = &v[i + 1];
    a->arenas = v;
    a->maxarenas = n;
    a->unused_arena_objects = &v[old];
    return true;
}

/* Maps an arena that starts phase bytes past a pool boundary, so that a heap
 * rebuilt from its journal or snapshot gets the same pools per arena (63 or
 * 64) and the same arena-relative block addresses.  Over-map by one pool and
 * trim both ends. */
void *hl_alloc_i_map_arena(uint32_t phase)
{
    size_t span = HL_ALLOC_ARENA_SIZE + HL_ALLOC_POOL_SIZE;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t aligned = ((uintptr_t)raw + HL_ALLOC_POOL_MASK) & ~HL_ALLOC_POOL_MASK;
    uint8_t *base = (uint8_t *)aligned + phase;
    if (base >= raw + HL_ALLOC_POOL_SIZE)
        base -= HL_ALLOC_POOL_SIZE;
    size_t head = (size_t)(base - raw), tail = span - head - HL_ALLOC_ARENA_SIZE;
    if (head != 0)
        (void)munmap(raw, head);
    if (tail != 0)
        (void)munmap(base + HL_ALLOC_ARENA_SIZE, tail);
    return base;
}

/* CPython takes whatever alignment mmap gives; so does a heap without a fixed
 * phase, once, and keeps it for its later arenas. */
static void *map_first_or_phased(hl_alloc *a)
{
    if (a->phase >= 0)
        return hl_alloc_i_map_arena((uint32_t)a->phase);
    void *base = mmap(NULL, HL_ALLOC_ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    a->phase = (int32_t)((uintptr_t)base & HL_ALLOC_POOL_MASK);
    return base;
}

static bool new_arena(hl_alloc *a)
{
    if (a->unused_arena_objects == NULL && !grow_arena_vector(a))
        return false;
    void *base = map_first_or_phased(a);
    if (base == NULL)
        return false;
    HL_ALLOC_POISON(base, HL_ALLOC_ARENA_SIZE);
    hl_alloc_arena *ao = a->unused_arena_objects;
    a->unused_arena_objects = ao->nextarena;
    ao->address = (uintptr_t)base;
    ao->pool_address = hl_alloc_i_first_pool(ao);
    /* a base off a pool boundary loses one pool to slack */
    ao->ntotalpools = HL_ALLOC_MAX_POOLS_IN_ARENA - ((ao->address & HL_ALLOC_POOL_MASK) != 0);
    ao->nfreepools = ao->ntotalpools;
    ao->freepools = NULL;
    ao->nextarena = NULL;
    ao->prevarena = NULL;
    a->usable_arenas = ao;
    a->nfp2lasta[ao->nfreepools] = ao;
    a->ntimes_arena_allocated++;
    if (++a->narenas_currently_allocated > a->narenas_highwater)
        a->narenas_highwater = a->narenas_currently_allocated;
    if (a->narenas_currently_allocated > a->peak_arenas)
        a->peak_arenas = a->narenas_currently_allocated;
    return true;
}

static void unlink_usable(hl_alloc *a, hl_alloc_arena *ao)
{
    if (ao->prevarena != NULL)
        ao->prevarena->nextarena = ao->nextarena;
    else
        a->usable_arenas = ao->nextarena;
    if (ao->nextarena != NULL)
        ao->nextarena->prevarena = ao->prevarena;
}

static void unmap_arena(hl_alloc_arena *ao)
{
    HL_ALLOC_UNPOISON((void *)ao->address, HL_ALLOC_ARENA_SIZE);
    (void)munmap((void *)ao->address, HL_ALLOC_ARENA_SIZE);
    ao->address = 0;
}

static void free_arena(hl_alloc *a, hl_alloc_arena *ao)
{
    unlink_usable(a, ao);
    ao->nextarena = a->unused_arena_objects;
    a->unused_arena_objects = ao;
    unmap_arena(ao);
    a->narenas_currently_allocated--;
}

/* ao gained a free pool and is now out of order: it goes right after the last arena that
 * has its old count (lastnf), which precedes every arena with a higher count. */
static void move_after(hl_alloc *a, hl_alloc_arena *ao, hl_alloc_arena *lastnf)
{
    unlink_usable(a, ao);
    ao->prevarena = lastnf;
    ao->nextarena = lastnf->nextarena;
    if (ao->nextarena != NULL)
        ao->nextarena->prevarena = ao;
    lastnf->nextarena = ao;
}

static void push_usable_front(hl_alloc *a, hl_alloc_arena *ao)
{
    ao->prevarena = NULL;
    ao->nextarena = a->usable_arenas;
    if (a->usable_arenas != NULL)
        a->usable_arenas->prevarena = ao;
    a->usable_arenas = ao;
    if (a->nfp2lasta[1] == NULL)
        a->nfp2lasta[1] = ao;
}

/* An arena got one more free pool: keep usable_arenas sorted and release the arena when it is
 * wholly free, unless it is the last one (keep one empty arena against thrashing, bpo-37257). */
static void arena_gained_pool(hl_alloc *a, hl_alloc_arena *ao)
{
    uint32_t nf = ao->nfreepools;
    hl_alloc_arena *lastnf = a->nfp2lasta[nf];
    if (lastnf == ao) {
        hl_alloc_arena *prev = ao->prevarena;
        a->nfp2lasta[nf] = (prev != NULL && prev->nfreepools == nf) ? prev : NULL;
    }
    ao->nfreepools = ++nf;
    if (nf == ao->ntotalpools && ao->nextarena != NULL) {
        free_arena(a, ao);
        return;
    }
    if (nf == 1) { /* it was full and in no list; now it is the fullest usable arena */
        push_usable_front(a, ao);
        return;
    }
    if (a->nfp2lasta[nf] == NULL)
        a->nfp2lasta[nf] = ao;
    if (ao != lastnf)
        move_after(a, ao, lastnf);
}

/* ---- pools ---- */

static hl_alloc_pool *carve_pool(hl_alloc *a, hl_alloc_arena *ao)
{
    hl_alloc_pool *pool = (hl_alloc_pool *)(void *)ao->pool_address;
    HL_ALLOC_UNPOISON(pool, HL_ALLOC_POOL_OVERHEAD);
    pool->arenaindex = (uint32_t)(ao - a->arenas);
    pool->poolnumber = (uint32_t)(((uintptr_t)pool - (uintptr_t)hl_alloc_i_first_pool(ao)) / HL_ALLOC_POOL_SIZE);
    pool->szidx = HL_ALLOC_NO_CLASS;
    ao->pool_address += HL_ALLOC_POOL_SIZE;
    return pool;
}

/* Takes a pool from the fullest usable arena: a cached empty pool first, else a virgin one. */
static hl_alloc_pool *take_pool(hl_alloc *a)
{
    if (a->usable_arenas == NULL && !new_arena(a))
        return NULL;
    hl_alloc_arena *ao = a->usable_arenas;
    uint32_t nf = ao->nfreepools;
    if (a->nfp2lasta[nf] == ao)
        a->nfp2lasta[nf] = NULL;
    if (nf > 1) /* the head has the fewest free pools, so it alone will have nf - 1 */
        a->nfp2lasta[nf - 1] = ao;
    hl_alloc_pool *pool = ao->freepools;
    if (pool != NULL)
        ao->freepools = pool->nextpool;
    else
        pool = carve_pool(a, ao);
    if (--ao->nfreepools == 0) {
        a->usable_arenas = ao->nextarena;
        if (a->usable_arenas != NULL)
            a->usable_arenas->prevarena = NULL;
    }
    return pool;
}

static void carve_block(hl_alloc_pool *pool, uint32_t size)
{
    uint8_t *virgin = (uint8_t *)pool + pool->nextoffset;
    pool->nextoffset += size;
    HL_ALLOC_UNPOISON(virgin, sizeof(uint8_t *));
    hl_alloc_i_set_link(virgin, NULL);
    HL_ALLOC_POISON(virgin, sizeof(uint8_t *));
    pool->freeblock = virgin;
}

/* Blocks are never pre-linked: the free list runs out, then one more virgin block is carved. */
static void pool_list_ran_out(hl_alloc *a, hl_alloc_pool *pool)
{
    if (pool->nextoffset <= pool->maxnextoffset)
        carve_block(pool, hl_alloc_i_size(pool->szidx));
    else
        unlink_used(a, pool); /* full pools sit in no list */
}

static uint8_t *take_block(hl_alloc *a, hl_alloc_pool *pool)
{
    uint8_t *bp = pool->freeblock;
    HL_ALLOC_UNPOISON(bp, hl_alloc_i_size(pool->szidx));
    pool->count++;
    pool->freeblock = hl_alloc_i_get_link(bp);
    if (pool->freeblock == NULL)
        pool_list_ran_out(a, pool);
    return bp;
}

static uint8_t *init_pool(hl_alloc_pool *pool, uint32_t idx)
{
    uint32_t size = hl_alloc_i_size(idx);
    uint8_t *first = (uint8_t *)pool + HL_ALLOC_POOL_OVERHEAD;
    pool->szidx = idx;
    pool->count = 1;
    pool->nextoffset = HL_ALLOC_POOL_OVERHEAD + size;
    pool->maxnextoffset = HL_ALLOC_POOL_SIZE - size;
    carve_block(pool, size);
    HL_ALLOC_UNPOISON(first, size);
    return first;
}

static void *alloc_from_new_pool(hl_alloc *a, uint32_t idx)
{
    hl_alloc_pool *pool = take_pool(a);
    if (pool == NULL)
        return NULL;
    pool->nextpool = NULL;
    pool->prevpool = NULL;
    a->usedpools[idx] = pool;
    if (pool->szidx == idx) /* last used by this class: its free list is still valid */
        return take_block(a, pool);
    return init_pool(pool, idx);
}

static void release_pool(hl_alloc *a, hl_alloc_pool *pool)
{
    unlink_used(a, pool);
    hl_alloc_arena *ao = &a->arenas[pool->arenaindex];
    pool->nextpool = ao->freepools;
    ao->freepools = pool;
    arena_gained_pool(a, ao);
}

/* ---- public ---- */

hl_alloc *hl_alloc_new(int32_t phase)
{
    if (phase >= HL_ALLOC_POOL_SIZE || (phase > 0 && phase % HL_ALLOC_PAGE_SIZE != 0))
        return NULL;
    hl_alloc *a = calloc(1, sizeof(hl_alloc));
    if (a != NULL)
        a->phase = phase < 0 ? -1 : phase;
    return a;
}

int32_t hl_alloc_phase(const hl_alloc *a)
{
    return a->phase;
}

uint64_t hl_alloc_block_vaddr(const void *p)
{
    const hl_alloc_pool *pool = pool_of(p);
    return ((uint64_t)(pool->arenaindex + 1) << 20) | ((uint64_t)pool->poolnumber << 14) |
           ((uintptr_t)p & HL_ALLOC_POOL_MASK);
}

void hl_alloc_delete(hl_alloc *a)
{
    if (a == NULL)
        return;
    for (uint32_t i = 0; i < a->maxarenas; i++)
        if (a->arenas[i].address != 0)
            unmap_arena(&a->arenas[i]);
    free(a->arenas);
    free(a);
}

void *hl_alloc_malloc(hl_alloc *a, size_t n)
{
    if (is_raw(n))
        return raw_malloc(a, n);
    uint32_t idx = (uint32_t)((n - 1) >> 4);
    hl_alloc_pool *pool = a->usedpools[idx];
    void *p = pool == NULL ? alloc_from_new_pool(a, idx) : take_block(a, pool);
    if (p != NULL) {
        a->pool_bytes += hl_alloc_i_size(idx);
        note_bytes(a);
    }
    return p;
}

uint64_t hl_alloc_bytes_in_use(const hl_alloc *a)
{
    return a->pool_bytes + a->raw_bytes;
}

hl_alloc_peak hl_alloc_peak_get(const hl_alloc *a)
{
    return (hl_alloc_peak){a->peak_bytes, a->peak_arenas};
}

void hl_alloc_reset_peak(hl_alloc *a)
{
    a->peak_bytes = hl_alloc_bytes_in_use(a);
    a->peak_arenas = a->narenas_currently_allocated;
}

void hl_alloc_free(hl_alloc *a, void *p, size_t n)
{
    if (p == NULL)
        return;
    if (is_raw(n)) {
        raw_free(a, p, n);
        return;
    }
    hl_alloc_pool *pool = pool_of(p);
    a->pool_bytes -= hl_alloc_i_size(pool->szidx);
    uint8_t *lastfree = pool->freeblock;
    hl_alloc_i_set_link(p, lastfree);
    HL_ALLOC_POISON(p, hl_alloc_i_size(pool->szidx));
    pool->freeblock = p;
    pool->count--;
    if (lastfree == NULL) /* was full: serve this class's next request from here */
        link_front(a, pool);
    else if (pool->count == 0)
        release_pool(a, pool);
}

void *hl_alloc_realloc(hl_alloc *a, void *p, size_t old_n, size_t new_n)
{
    if (p == NULL)
        return hl_alloc_malloc(a, new_n);
    if (is_raw(old_n) && is_raw(new_n))
        return raw_realloc(a, p, old_n, new_n);
    if (!is_raw(old_n)) {
        size_t size = hl_alloc_i_size(pool_of(p)->szidx);
        /* shrinking by a quarter or more is worth a copy to a smaller class */
        if (new_n <= size && 4 * new_n > 3 * size)
            return p;
    }
    void *q = hl_alloc_malloc(a, new_n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old_n < new_n ? old_n : new_n);
    hl_alloc_free(a, p, old_n);
    return q;
}

int hl_alloc_size_class(size_t n)
{
    return is_raw(n) ? -1 : (int)((n - 1) >> 4);
}

size_t hl_alloc_class_size(int idx)
{
    if (idx < 0 || idx >= HL_ALLOC_NUM_CLASSES)
        return 0;
    return hl_alloc_i_size((uint32_t)idx);
}

bool hl_alloc_locate(const hl_alloc *a, const void *p, size_t n, hl_alloc_block_info *out)
{
    if (p == NULL || is_raw(n))
        return false;
    const hl_alloc_pool *pool = pool_of(p);
    /* after an in-place realloc n may belong to a smaller class than the block's */
    if (pool->arenaindex >= a->maxarenas || pool->szidx >= HL_ALLOC_NUM_CLASSES
        || n > hl_alloc_i_size(pool->szidx))
        return false;
    const hl_alloc_arena *ao = &a->arenas[pool->arenaindex];
    if (ao->address == 0)
        return false;
    uintptr_t first = (uintptr_t)hl_alloc_i_first_pool(ao);
    if ((uintptr_t)pool < first || (uintptr_t)pool >= (uintptr_t)ao->pool_address)
        return false;
    uintptr_t offset = (uintptr_t)p - (uintptr_t)pool - HL_ALLOC_POOL_OVERHEAD;
    out->arena_index = pool->arenaindex;
    out->pool_index = (uint32_t)(((uintptr_t)pool - first) / HL_ALLOC_POOL_SIZE);
    out->size_class = (int)pool->szidx;
    out->block_index = (uint32_t)(offset / hl_alloc_i_size(pool->szidx));
    out->arena_base = first;
    return true;
}
