/* alloc_internal.h — the allocator's private layout, shared by alloc.c,
 * alloc_stats.c and alloc_image.c only; nothing else includes it. */
#ifndef HEAPLAB_CORE_ALLOC_INTERNAL_H
#define HEAPLAB_CORE_ALLOC_INTERNAL_H

#include "alloc.h"

/* Private layout shared by alloc.c, alloc_stats.c and alloc_image.c; no other
 * file may rely on anything below. */
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HL_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_ALLOC_ASAN 1
#endif
#endif

#ifdef HL_ALLOC_ASAN
#include <sanitizer/asan_interface.h>
#define HL_ALLOC_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define HL_ALLOC_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HL_ALLOC_POISON(p, n) ((void)(p), (void)(n))
#define HL_ALLOC_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define HL_ALLOC_POOL_MASK ((uintptr_t)HL_ALLOC_POOL_SIZE - 1)
#define HL_ALLOC_NO_CLASS 0xffffu  /* szidx of a carved pool never initialised (DUMMY_SIZE_IDX) */

typedef struct hl_alloc_pool hl_alloc_pool;
struct hl_alloc_pool {          /* sits at the start of every pool; offsets as in CPython */
    uint32_t count;             /* blocks handed out */
    uint32_t poolnumber;        /* position in its arena, for arena-relative addresses */
    uint8_t *freeblock;         /* LIFO free list, link in each free block's first word */
    hl_alloc_pool *nextpool;    /* class list while used, arena's freepools list while empty */
    hl_alloc_pool *prevpool;    /* class list only */
    uint32_t arenaindex;
    uint32_t szidx;
    uint32_t nextoffset;        /* first never-carved block */
    uint32_t maxnextoffset;     /* last offset a block can start at */
};
_Static_assert(sizeof(hl_alloc_pool) <= HL_ALLOC_POOL_OVERHEAD, "pool header exceeds POOL_OVERHEAD");

typedef struct hl_alloc_arena hl_alloc_arena;
struct hl_alloc_arena {
    uintptr_t address;          /* as mmap returned it; 0 = slot on unused_arena_objects */
    uint8_t *pool_address;      /* next never-carved pool */
    uint32_t nfreepools;        /* empty + never-carved pools */
    uint32_t ntotalpools;
    hl_alloc_pool *freepools;
    hl_alloc_arena *nextarena;  /* usable_arenas or unused_arena_objects; stale while full */
    hl_alloc_arena *prevarena;  /* usable_arenas only */
};

struct hl_alloc {
    int32_t phase;              /* arena start past a pool boundary; -1 until the first mmap */
    /* NULL-terminated doubly-linked lists instead of CPython's aliased headers; the head is
     * always the pool that serves the class next. */
    hl_alloc_pool *usedpools[HL_ALLOC_NUM_CLASSES];
    hl_alloc_arena *arenas;
    uint32_t maxarenas;
    hl_alloc_arena *unused_arena_objects;
    hl_alloc_arena *usable_arenas;      /* ascending nfreepools */
    hl_alloc_arena *nfp2lasta[HL_ALLOC_MAX_POOLS_IN_ARENA + 1];
    uint64_t narenas_currently_allocated;
    uint64_t ntimes_arena_allocated;
    uint64_t narenas_highwater;
    uint64_t raw_count;
    uint64_t raw_bytes;
    uint64_t pool_bytes;                /* class sizes of blocks handed out */
    uint64_t peak_bytes;                /* most pool_bytes + raw_bytes since the last reset */
    uint64_t peak_arenas;               /* most arenas allocated at once since the last reset */
};

static inline uint32_t hl_alloc_i_size(uint32_t idx) { return (idx + 1) * HL_ALLOC_ALIGNMENT; }

static inline uint32_t hl_alloc_i_blocks(uint32_t idx)
{
    return (HL_ALLOC_POOL_SIZE - HL_ALLOC_POOL_OVERHEAD) / hl_alloc_i_size(idx);
}

static inline uint8_t *hl_alloc_i_first_pool(const hl_alloc_arena *ao)
{
    uintptr_t pad = (HL_ALLOC_POOL_SIZE - (ao->address & HL_ALLOC_POOL_MASK)) & HL_ALLOC_POOL_MASK;
    return (uint8_t *)ao->address + pad;
}

static inline uint8_t *hl_alloc_i_get_link(const uint8_t *block)
{
    uint8_t *next;
    memcpy(&next, block, sizeof next);
    return next;
}

static inline void hl_alloc_i_set_link(uint8_t *block, uint8_t *next)
{
    memcpy(block, &next, sizeof next);
}

/* An arena of HL_ALLOC_ARENA_SIZE bytes starting phase bytes past a pool
 * boundary; NULL when the system has no memory. */
void *hl_alloc_i_map_arena(uint32_t phase);

#endif /* HEAPLAB_CORE_ALLOC_INTERNAL_H */
