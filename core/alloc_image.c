/* alloc_image.c — the allocator's part of a heap image (see image_internal.h).
 *
 * Arenas are saved by vector slot, with the carved span of each (its first
 * pool up to the next never-carved one) as bytes.  List links between arenas
 * are slot numbers; pointers into pools are codes.  Loading maps every arena
 * at the allocator's phase, so each pool and block sits at the same offset
 * in its arena as when it was saved.
 */
#include "alloc_internal.h"
#include "image_internal.h"

#include <stdlib.h>

static uint64_t slot_of(const hl_alloc *a, const hl_alloc_arena *ao)
{
    return ao == NULL ? 0 : (uint64_t)(ao - a->arenas) + 1;
}

static hl_alloc_arena *arena_at(hl_alloc *a, uint64_t slot)
{
    return slot == 0 ? NULL : &a->arenas[slot - 1];
}

static size_t carved_len(const hl_alloc_arena *ao)
{
    return (size_t)(ao->pool_address - hl_alloc_i_first_pool(ao));
}

static hl_alloc_pool *pool_at(const hl_alloc_arena *ao, size_t k)
{
    return (hl_alloc_pool *)(void *)(hl_alloc_i_first_pool(ao) + k * HL_ALLOC_POOL_SIZE);
}

static bool pool_has_class(const hl_alloc_pool *pool)
{
    return pool->szidx < HL_ALLOC_NUM_CLASSES;
}

/* Free blocks and never-carved space hold nothing anyone reads: zero them in
 * the copy so that images do not carry stale bytes (or old addresses). */
static void zero_unused(const hl_alloc_pool *pool, uint8_t *copy)
{
    if (!pool_has_class(pool)) {
        memset(copy + HL_ALLOC_POOL_OVERHEAD, 0, HL_ALLOC_POOL_SIZE - HL_ALLOC_POOL_OVERHEAD);
        return;
    }
    uint32_t size = hl_alloc_i_size(pool->szidx);
    for (const uint8_t *b = pool->freeblock; b != NULL; b = hl_alloc_i_get_link(b))
        memset(copy + (b - (const uint8_t *)pool) + sizeof(uint8_t *), 0, size - sizeof(uint8_t *));
    memset(copy + pool->nextoffset, 0, HL_ALLOC_POOL_SIZE - pool->nextoffset);
}

bool hl_alloc_image_regions(const hl_alloc *a, hl_image_codec *c, size_t *arena_slots)
{
    *arena_slots = a->maxarenas;
    for (uint32_t i = 0; i < a->maxarenas; i++) {
        const hl_alloc_arena *ao = &a->arenas[i];
        if (ao->address == 0)
            continue;
        size_t len = carved_len(ao);
        hl_image_region r = {(uintptr_t)hl_alloc_i_first_pool(ao), len, malloc(len ? len : 1), HL_IMAGE_ARENA, i};
        if (r.copy == NULL)
            return false;
        /* Free blocks are poisoned under ASan; hl_alloc_image_poison restores that when the save is over. */
        HL_ALLOC_UNPOISON((void *)r.start, len);
        memcpy(r.copy, (const void *)r.start, len);
        for (size_t k = 0; k < len / HL_ALLOC_POOL_SIZE; k++)
            zero_unused(pool_at(ao, k), r.copy + k * HL_ALLOC_POOL_SIZE);
        if (!hl_image_codec_add(c, &r)) {
            free(r.copy);
            return false;
        }
    }
    return true;
}

void hl_alloc_image_save_meta(const hl_alloc *a, hl_image_codec *c, hl_image_out *o)
{
    const uint64_t counters[] = {(uint64_t)(int64_t)a->phase, a->maxarenas, a->narenas_currently_allocated,
                                 a->ntimes_arena_allocated, a->narenas_highwater, a->raw_count, a->raw_bytes,
                                 a->pool_bytes, a->peak_bytes, a->peak_arenas, slot_of(a, a->unused_arena_objects),
                                 slot_of(a, a->usable_arenas)};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        hl_image_put_u64(o, counters[i]);
    for (int i = 0; i <= HL_ALLOC_MAX_POOLS_IN_ARENA; i++)
        hl_image_put_u64(o, slot_of(a, a->nfp2lasta[i]));
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++)
        hl_image_put_u64(o, hl_image_encode(c, a->usedpools[i]));
    for (uint32_t i = 0; i < a->maxarenas; i++) {
        const hl_alloc_arena *ao = &a->arenas[i];
        bool mapped = ao->address != 0;
        /* A full arena sits in no list and its links are stale: save none. */
        bool linked = !mapped || ao->nfreepools > 0;
        hl_image_put_u64(o, mapped);
        hl_image_put_u64(o, linked ? slot_of(a, ao->nextarena) : 0);
        if (!mapped)
            continue;
        hl_image_put_u64(o, linked ? slot_of(a, ao->prevarena) : 0);
        hl_image_put_u64(o, ao->nfreepools);
        hl_image_put_u64(o, ao->ntotalpools);
        hl_image_put_u64(o, hl_image_encode(c, ao->freepools));
        hl_image_put_u64(o, carved_len(ao));
    }
}

static bool load_arena(hl_alloc *a, hl_alloc_arena *ao, uint32_t slot, hl_image_codec *c, hl_image_in *in)
{
    ao->prevarena = arena_at(a, hl_image_get_below(in, (uint64_t)a->maxarenas + 1));
    ao->nfreepools = (uint32_t)hl_image_get_below(in, HL_ALLOC_MAX_POOLS_IN_ARENA + 1);
    ao->ntotalpools = (uint32_t)hl_image_get_below(in, HL_ALLOC_MAX_POOLS_IN_ARENA + 1);
    uint64_t freepools = hl_image_get_u64(in);
    size_t len = (size_t)hl_image_get_below(in, (uint64_t)HL_ALLOC_MAX_POOLS_IN_ARENA * HL_ALLOC_POOL_SIZE + 1);
    if (in->bad || len % HL_ALLOC_POOL_SIZE != 0)
        return false;
    void *base = hl_alloc_i_map_arena((uint32_t)a->phase);
    if (base == NULL)
        return false;
    ao->address = (uintptr_t)base;
    uint8_t *first = hl_alloc_i_first_pool(ao);
    if (len > (size_t)ao->ntotalpools * HL_ALLOC_POOL_SIZE)
        return false;
    ao->pool_address = first + len;
    hl_image_region r = {(uintptr_t)first, len, NULL, HL_IMAGE_ARENA, slot};
    ao->freepools = (hl_alloc_pool *)(uintptr_t)freepools; /* a code until hl_alloc_image_fix_pools */
    return hl_image_codec_add(c, &r);
}

bool hl_alloc_image_load_meta(hl_alloc *a, hl_image_codec *c, hl_image_in *in, size_t *arena_slots)
{
    int64_t phase = (int64_t)hl_image_get_u64(in);
    uint64_t maxarenas = hl_image_get_below(in, (uint64_t)1 << 24);
    /* phase -1: the heap never mapped an arena */
    if (in->bad || phase < -1 || phase >= HL_ALLOC_POOL_SIZE || (phase >= 0 && phase % HL_ALLOC_PAGE_SIZE != 0) ||
        (phase < 0 && maxarenas != 0))
        return false;
    a->phase = (int32_t)phase;
    a->arenas = calloc(maxarenas + 1, sizeof *a->arenas);
    if (a->arenas == NULL)
        return false;
    *arena_slots = maxarenas;
    a->maxarenas = (uint32_t)maxarenas;
    a->narenas_currently_allocated = hl_image_get_u64(in);
    a->ntimes_arena_allocated = hl_image_get_u64(in);
    a->narenas_highwater = hl_image_get_u64(in);
    a->raw_count = hl_image_get_u64(in);
    a->raw_bytes = hl_image_get_u64(in);
    a->pool_bytes = hl_image_get_u64(in);
    a->peak_bytes = hl_image_get_u64(in);
    a->peak_arenas = hl_image_get_u64(in);
    /* a high-water mark below the level of now cannot come from a save */
    if (a->peak_bytes < a->pool_bytes + a->raw_bytes || a->peak_arenas < a->narenas_currently_allocated)
        return false;
    a->unused_arena_objects = arena_at(a, hl_image_get_below(in, maxarenas + 1));
    a->usable_arenas = arena_at(a, hl_image_get_below(in, maxarenas + 1));
    for (int i = 0; i <= HL_ALLOC_MAX_POOLS_IN_ARENA; i++)
        a->nfp2lasta[i] = arena_at(a, hl_image_get_below(in, maxarenas + 1));
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++)
        a->usedpools[i] = (hl_alloc_pool *)(uintptr_t)hl_image_get_u64(in);
    for (uint32_t i = 0; i < a->maxarenas && !in->bad; i++) {
        hl_alloc_arena *ao = &a->arenas[i];
        bool mapped = hl_image_get_below(in, 2) != 0;
        ao->nextarena = arena_at(a, hl_image_get_below(in, maxarenas + 1));
        if (mapped && !load_arena(a, ao, i, c, in))
            return false;
    }
    return !in->bad;
}

/* The carved bytes follow the metadata, arena by arena. */
bool hl_alloc_image_load_bytes(hl_alloc *a, hl_image_in *in)
{
    for (uint32_t i = 0; i < a->maxarenas; i++) {
        hl_alloc_arena *ao = &a->arenas[i];
        if (ao->address == 0)
            continue;
        size_t len = carved_len(ao);
        const void *bytes = hl_image_take(in, len);
        if (bytes == NULL)
            return false;
        memcpy(hl_alloc_i_first_pool(ao), bytes, len);
    }
    return true;
}

static void fix_pool(hl_image_codec *c, hl_alloc_pool *pool)
{
    /* An empty pool cached on its arena's freepools list keeps a stale prevpool. */
    hl_image_fix(c, &pool->prevpool, pool->count == 0 ? HL_FIX_STALE : HL_FIX_PTR);
    hl_image_fix(c, &pool->nextpool, HL_FIX_PTR);
    if (!pool_has_class(pool))
        return;
    uint8_t *link = hl_image_fix(c, &pool->freeblock, HL_FIX_PTR);
    while (link != NULL)
        link = hl_image_fix(c, link, HL_FIX_PTR);
}

void hl_alloc_image_fix_pools(hl_alloc *a, hl_image_codec *c)
{
    for (uint32_t i = 0; i < a->maxarenas; i++) {
        hl_alloc_arena *ao = &a->arenas[i];
        if (ao->address == 0)
            continue;
        if (hl_image_loading(c))
            ao->freepools = hl_image_decode(c, (uint64_t)(uintptr_t)ao->freepools);
        for (size_t k = 0; k < carved_len(ao) / HL_ALLOC_POOL_SIZE; k++)
            fix_pool(c, pool_at(ao, k));
    }
    if (hl_image_loading(c))
        for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++)
            a->usedpools[i] = hl_image_decode(c, (uint64_t)(uintptr_t)a->usedpools[i]);
}

void hl_alloc_image_poison(hl_alloc *a)
{
#ifdef HL_ALLOC_ASAN
    for (uint32_t i = 0; i < a->maxarenas; i++) {
        hl_alloc_arena *ao = &a->arenas[i];
        if (ao->address == 0)
            continue;
        HL_ALLOC_POISON((void *)ao->address, HL_ALLOC_ARENA_SIZE);
        for (size_t k = 0; k < carved_len(ao) / HL_ALLOC_POOL_SIZE; k++) {
            hl_alloc_pool *pool = pool_at(ao, k);
            HL_ALLOC_UNPOISON(pool, HL_ALLOC_POOL_OVERHEAD);
            if (!pool_has_class(pool))
                continue;
            HL_ALLOC_UNPOISON((uint8_t *)pool + HL_ALLOC_POOL_OVERHEAD, pool->nextoffset - HL_ALLOC_POOL_OVERHEAD);
            uint8_t *b = pool->freeblock;
            while (b != NULL) {
                uint8_t *next = hl_alloc_i_get_link(b);
                HL_ALLOC_POISON(b, hl_alloc_i_size(pool->szidx));
                b = next;
            }
        }
    }
#else
    (void)a;
#endif
}
