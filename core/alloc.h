/* heaplab small-object allocator: a model of 64-bit CPython 3.11 pymalloc on real memory.
 * Promises: requests of 1..512 bytes are served from 16 KiB pools inside 1 MiB mmap'ed arenas
 * with CPython's exact choice of pool, block and arena (LIFO free lists, lazy carving, full
 * pools re-linked at the front, usable arenas sorted fullest first, one empty arena kept);
 * 0 or > 512 bytes go to malloc and are only counted. Every block is 16-byte aligned.
 * One hl_alloc per heap, no global state, no locking: an hl_alloc is used by one thread at a
 * time. Callers pass the requested size back on free/realloc; sizes decide raw vs pooled.
 * Under AddressSanitizer free and never-carved memory is poisoned. Errors are returned. */
#ifndef HEAPLAB_CORE_ALLOC_H
#define HEAPLAB_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_ALLOC_ALIGNMENT 16
#define HL_ALLOC_SMALL_MAX 512
#define HL_ALLOC_NUM_CLASSES 32
#define HL_ALLOC_POOL_SIZE 16384
#define HL_ALLOC_ARENA_SIZE 1048576
#define HL_ALLOC_POOL_OVERHEAD 48
#define HL_ALLOC_MAX_POOLS_IN_ARENA 64

typedef struct hl_alloc hl_alloc;

#define HL_ALLOC_PAGE_SIZE 4096

/* phase: how far past a 16 KiB pool boundary arenas start (0, 4096, 8192 or 12288; 0 gives
 * 64 pools per arena, the others 63), or -1 to take the first mmap's alignment as CPython does
 * and keep it.  The same phase and the same calls give the same blocks, arena-relative.
 * NULL when out of memory or for a phase that is not a multiple of the page size below 16 KiB. */
hl_alloc *hl_alloc_new(int32_t phase);
int32_t hl_alloc_phase(const hl_alloc *a);    /* -1 until the first arena is mapped */
/* A pooled block's address as if arena i (vector index) were mapped at (i + 1) MiB: stable across
 * processes, so hashes of identity (CPython's id()) can rest on it.  Only for blocks of 1..512 bytes. */
uint64_t hl_alloc_block_vaddr(const void *p);
void hl_alloc_delete(hl_alloc *a);            /* munmaps every arena; raw blocks are the caller's to free first */
void *hl_alloc_malloc(hl_alloc *a, size_t n); /* NULL when out of memory; 0 or >512 -> malloc, counted as raw */
void hl_alloc_free(hl_alloc *a, void *p, size_t n);   /* n = the size asked for at malloc/realloc; p NULL is a no-op */
/* CPython's rules: stays in place if new_n fits the block's class and is > 3/4 of it; else
 * malloc+copy+free; NULL (and p untouched) on OOM; p NULL = malloc. raw->raw uses realloc.
 * Unlike CPython a raw block whose new size is small moves into a pool, because the size
 * passed to free decides where a block lives. */
void *hl_alloc_realloc(hl_alloc *a, void *p, size_t old_n, size_t new_n);
int hl_alloc_size_class(size_t n);            /* class index 0..31, or -1 for raw sizes */
size_t hl_alloc_class_size(int idx);          /* (idx+1)*16; 0 for an index outside 0..31 */

typedef struct hl_alloc_block_info {
    uint32_t arena_index;   /* index in the arena vector */
    uint32_t pool_index;    /* pool number within its arena, 0..63 (counted from the arena's first aligned pool) */
    int size_class;         /* -1 for raw */
    uint32_t block_index;   /* block number within its pool */
    uintptr_t arena_base;   /* address of the arena's first pool (for "address relative to its arena") */
} hl_alloc_block_info;
/* Fills *out for a block this allocator handed out with size n; false for raw blocks (n==0 or >512). Reads only. */
bool hl_alloc_locate(const hl_alloc *a, const void *p, size_t n, hl_alloc_block_info *out);

typedef struct hl_alloc_class_stats {
    uint32_t pools;        /* pools currently assigned to this class (used + full) */
    uint64_t used_blocks;
    uint64_t free_blocks;  /* available = pools*blocks_per_pool - used */
} hl_alloc_class_stats;

typedef struct hl_alloc_stats {
    hl_alloc_class_stats classes[HL_ALLOC_NUM_CLASSES];
    uint64_t arenas_allocated_total;   /* ntimes_arena_allocated */
    uint64_t arenas_reclaimed;         /* total - current */
    uint64_t arenas_highwater;
    uint64_t arenas_in_use;            /* narenas_currently_allocated */
    uint64_t pools_in_use;             /* pools assigned to a class */
    uint64_t pools_empty;              /* free + never carved pools in allocated arenas */
    uint64_t bytes_in_allocated_blocks;
    uint64_t bytes_in_available_blocks;
    uint64_t bytes_in_unused_pools;    /* pools_empty * POOL_SIZE */
    uint64_t bytes_lost_pool_headers;
    uint64_t bytes_lost_quantization;
    uint64_t bytes_lost_arena_alignment;
    uint64_t raw_count;                /* live raw (malloc) blocks */
    uint64_t raw_bytes;
    uint64_t allocated_blocks;         /* like sys.getallocatedblocks(): raw_count + used blocks in pools */
} hl_alloc_stats;
void hl_alloc_get_stats(const hl_alloc *a, hl_alloc_stats *out);   /* reads only */

/* Writes the pymalloc part of sys._debugmallocstats() (from "Small block threshold" to the arena totals, the 64-bit layout, without the arena-map and free-list sections) as snprintf does: returns the length it needed. */
int hl_alloc_format_stats(const hl_alloc_stats *s, char *buf, size_t cap);

/* Calls visit once per pool of every allocated arena, arenas in vector order, pools in address order:
   size_class -1 for an empty or never-carved pool; used = blocks in use; capacity = blocks per pool (0 when empty). */
typedef void (*hl_alloc_pool_visitor)(void *ctx, uint32_t arena_index, uint32_t pool_index, int size_class, uint32_t used, uint32_t capacity);
void hl_alloc_visit_pools(const hl_alloc *a, hl_alloc_pool_visitor visit, void *ctx);

typedef enum hl_alloc_check_result { HL_ALLOC_OK = 0, HL_ALLOC_CORRUPT } hl_alloc_check_result;
/* Verifies internal consistency (free-list lengths + count + virgin blocks = capacity, list memberships match pool states, usable_arenas ordered, nfp2lasta right, counters add up); reads only; on failure writes a one-line reason into why. */
hl_alloc_check_result hl_alloc_check(const hl_alloc *a, char *why, size_t why_cap);

/* Bytes in handed-out blocks (whole size classes) plus raw bytes; O(1). */
uint64_t hl_alloc_bytes_in_use(const hl_alloc *a);

/* High-water marks since the allocator was made or last reset, like tracemalloc's peak: the most
 * hl_alloc_bytes_in_use and the most arenas allocated at once.  Kept where those counters grow (O(1)). */
typedef struct hl_alloc_peak {
    uint64_t bytes_in_use;
    uint64_t arenas;
} hl_alloc_peak;
hl_alloc_peak hl_alloc_peak_get(const hl_alloc *a);
/* tracemalloc.reset_peak(): both marks start again from the figures of now. */
void hl_alloc_reset_peak(hl_alloc *a);

#endif /* HEAPLAB_CORE_ALLOC_H */
