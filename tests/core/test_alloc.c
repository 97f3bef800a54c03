/* Tests for core/alloc: the pymalloc model's choices of block, pool and arena, its counters
 * and text, checked against the facts in the CPython memory reference (section 1). */
#include "../../core/alloc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define MiB 1048576u

#define CHECK_OK(a)                                                                 \
    do {                                                                            \
        char why_[256] = "";                                                        \
        ck_assert_msg(hl_alloc_check((a), why_, sizeof why_) == HL_ALLOC_OK, "%s", why_); \
    } while (0)

/* Reference 1.2, idx:size/blocks/waste. */
static const unsigned ref_blocks[32] = {1021, 510, 340, 255, 204, 170, 145, 127, 113, 102, 92,
                                        85,   78,  72,  68,  63,  60,  56,  53,  51,  48, 46,
                                        44,   42,  40,  39,  37,  36,  35,  34,  32,  31};
static const unsigned ref_waste[32] = {0,  16, 16,  16,  16,  16,  96,  80,  64,  16,  144,
                                       16, 112, 208, 16, 208, 16, 208, 224, 16, 208, 144,
                                       144, 208, 336, 112, 352, 208, 96,  16,  464, 464};

static hl_alloc_block_info where(const hl_alloc *a, const void *p, size_t n)
{
    hl_alloc_block_info info;
    ck_assert(hl_alloc_locate(a, p, n, &info));
    return info;
}

static hl_alloc_stats stats_of(const hl_alloc *a)
{
    hl_alloc_stats s;
    hl_alloc_get_stats(a, &s);
    return s;
}

static uint64_t byte_sum(const hl_alloc_stats *s)
{
    return s->bytes_in_allocated_blocks + s->bytes_in_available_blocks + s->bytes_in_unused_pools
           + s->bytes_lost_pool_headers + s->bytes_lost_quantization
           + s->bytes_lost_arena_alignment;
}

static void assert_stats_add_up(const hl_alloc *a)
{
    hl_alloc_stats s = stats_of(a);
    ck_assert_uint_eq(byte_sum(&s), s.arenas_in_use * MiB);
    uint64_t used = 0;
    for (int i = 0; i < 32; i++) {
        const hl_alloc_class_stats *c = &s.classes[i];
        ck_assert_uint_eq(c->used_blocks + c->free_blocks, (uint64_t)c->pools * ref_blocks[i]);
        used += c->used_blocks;
    }
    ck_assert_uint_eq(s.allocated_blocks, used + s.raw_count);
    ck_assert_uint_eq(s.bytes_in_unused_pools, s.pools_empty * 16384);
    ck_assert_uint_eq(s.bytes_lost_pool_headers, s.pools_in_use * 48);
    /* every pool of every arena is either in use or empty: 64 per arena minus misaligned ones */
    ck_assert_uint_eq(s.pools_in_use + s.pools_empty,
                      64 * s.arenas_in_use - s.bytes_lost_arena_alignment / 16384);
    ck_assert_uint_eq(s.arenas_reclaimed, s.arenas_allocated_total - s.arenas_in_use);
}

START_TEST(test_size_classes)
{
    ck_assert_int_eq(hl_alloc_size_class(0), -1);
    ck_assert_int_eq(hl_alloc_size_class(1), 0);
    ck_assert_int_eq(hl_alloc_size_class(16), 0);
    ck_assert_int_eq(hl_alloc_size_class(17), 1);
    ck_assert_int_eq(hl_alloc_size_class(100), 6);
    ck_assert_int_eq(hl_alloc_size_class(512), 31);
    ck_assert_int_eq(hl_alloc_size_class(513), -1);
    ck_assert_int_eq(hl_alloc_size_class(SIZE_MAX), -1);
    for (int i = 0; i < 32; i++) {
        ck_assert_uint_eq(hl_alloc_class_size(i), (size_t)(i + 1) * 16);
        ck_assert_int_eq(hl_alloc_size_class(hl_alloc_class_size(i)), i);
        ck_assert_int_eq(hl_alloc_size_class(hl_alloc_class_size(i) - 15), i);
    }
    ck_assert_uint_eq(hl_alloc_class_size(-1), 0);
    ck_assert_uint_eq(hl_alloc_class_size(32), 0);
}
END_TEST

/* Every class: blocks are carved one by one in address order from offset 48, a pool holds
 * NUMBLOCKS of them, and a single pool's quantization loss is the reference's waste. */
START_TEST(test_blocks_per_pool)
{
    for (int c = 0; c < 32; c++) {
        hl_alloc *a = hl_alloc_new(-1);
        size_t size = hl_alloc_class_size(c);
        uint8_t *first = hl_alloc_malloc(a, size);
        hl_alloc_block_info fi = where(a, first, size);
        ck_assert_uint_eq((uintptr_t)first % 16384, 48);
        ck_assert_uint_eq(fi.block_index, 0);
        ck_assert_int_eq(fi.size_class, c);
        hl_alloc_stats s = stats_of(a);
        ck_assert_uint_eq(s.classes[c].used_blocks, 1);
        ck_assert_uint_eq(s.classes[c].free_blocks, ref_blocks[c] - 1);
        ck_assert_uint_eq(s.bytes_lost_quantization, ref_waste[c]);
        ck_assert_uint_eq((16384 - 48) - ref_blocks[c] * size, ref_waste[c]);
        for (unsigned k = 1; k < ref_blocks[c]; k++) {
            uint8_t *p = hl_alloc_malloc(a, size);
            ck_assert_ptr_eq(p, first + k * size);
            ck_assert_uint_eq(where(a, p, size).block_index, k);
        }
        s = stats_of(a);
        ck_assert_uint_eq(s.classes[c].pools, 1);
        ck_assert_uint_eq(s.classes[c].free_blocks, 0);
        uint8_t *next = hl_alloc_malloc(a, size);
        hl_alloc_block_info ni = where(a, next, size);
        ck_assert_uint_eq(ni.pool_index, fi.pool_index + 1);
        ck_assert_uint_eq(ni.block_index, 0);
        CHECK_OK(a);
        hl_alloc_delete(a);
    }
}
END_TEST

START_TEST(test_lifo_reuse)
{
    hl_alloc *a = hl_alloc_new(-1);
    uint8_t *x = hl_alloc_malloc(a, 32), *y = hl_alloc_malloc(a, 30);
    ck_assert_ptr_eq(y, x + 32);
    hl_alloc_free(a, x, 32);
    hl_alloc_free(a, y, 30);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 17), y);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 32), x);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 32), x + 64); /* next virgin block */
    ck_assert_ptr_eq(hl_alloc_malloc(a, 32), x + 96);
    uint8_t *z = hl_alloc_malloc(a, 16); /* other classes use their own pool */
    ck_assert_uint_ne(where(a, z, 16).pool_index, where(a, x, 32).pool_index);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

/* Class 31 holds 31 blocks a pool. A block freed in a full pool puts that pool at the front,
 * ahead of the partly used pool that was serving the class. */
START_TEST(test_full_pool_goes_to_front)
{
    hl_alloc *a = hl_alloc_new(-1);
    uint8_t *b[40];
    for (int i = 0; i < 36; i++)
        b[i] = hl_alloc_malloc(a, 512);
    uint32_t full = where(a, b[0], 512).pool_index, partial = where(a, b[35], 512).pool_index;
    ck_assert_uint_ne(full, partial);
    ck_assert_uint_eq(where(a, b[30], 512).pool_index, full);
    hl_alloc_free(a, b[10], 512);
    CHECK_OK(a);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 512), b[10]);
    /* the full pool left the list again, so the partial pool serves next */
    uint8_t *n = hl_alloc_malloc(a, 512);
    ck_assert_uint_eq(where(a, n, 512).pool_index, partial);
    ck_assert_ptr_eq(n, b[35] + 512);
    hl_alloc_free(a, b[3], 512);
    hl_alloc_free(a, b[4], 512);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 512), b[4]);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 512), b[3]);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

START_TEST(test_empty_pool_returns_to_arena)
{
    hl_alloc *a = hl_alloc_new(-1);
    uint8_t *keep = hl_alloc_malloc(a, 512);
    uint8_t *x = hl_alloc_malloc(a, 16), *y = hl_alloc_malloc(a, 16), *z = hl_alloc_malloc(a, 16);
    uint32_t pool16 = where(a, x, 16).pool_index;
    hl_alloc_stats before = stats_of(a);
    hl_alloc_free(a, x, 16);
    hl_alloc_free(a, y, 16);
    hl_alloc_free(a, z, 16);
    hl_alloc_stats after = stats_of(a);
    ck_assert_uint_eq(after.classes[0].pools, 0);
    ck_assert_uint_eq(after.pools_empty, before.pools_empty + 1);
    ck_assert_uint_eq(after.arenas_in_use, 1);
    CHECK_OK(a);
    /* same class again: the pool's free list survived, so the last block freed comes back */
    ck_assert_ptr_eq(hl_alloc_malloc(a, 16), z);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 16), y);
    hl_alloc_free(a, z, 16);
    hl_alloc_free(a, y, 16);
    /* another class takes the same cached pool and starts it afresh at block 0 */
    uint8_t *w = hl_alloc_malloc(a, 100);
    hl_alloc_block_info wi = where(a, w, 100);
    ck_assert_uint_eq(wi.pool_index, pool16);
    ck_assert_uint_eq(wi.block_index, 0);
    ck_assert_ptr_eq(w, x);
    hl_alloc_free(a, w, 100);
    hl_alloc_free(a, keep, 512);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

static void free_all(hl_alloc *a, uint8_t **p, size_t count, size_t n)
{
    for (size_t i = 0; i < count; i++)
        hl_alloc_free(a, p[i], n);
}

/* Reference 1.5(a): freeing everything returns all arenas but the last usable one. */
START_TEST(test_arena_reclaim_keeps_one)
{
    hl_alloc *a = hl_alloc_new(-1);
    enum { N = 10000 };
    uint8_t **p = malloc(N * sizeof *p);
    for (size_t i = 0; i < N; i++)
        p[i] = hl_alloc_malloc(a, 512);
    hl_alloc_stats s = stats_of(a);
    ck_assert_uint_ge(s.arenas_in_use, 6); /* 10000 / 31 = 323 pools */
    ck_assert_uint_eq(s.arenas_allocated_total, s.arenas_in_use);
    ck_assert_uint_eq(s.arenas_highwater, s.arenas_in_use);
    CHECK_OK(a);
    uint64_t total = s.arenas_allocated_total;
    free_all(a, p, N, 512);
    s = stats_of(a);
    ck_assert_uint_eq(s.arenas_in_use, 1);
    ck_assert_uint_eq(s.arenas_reclaimed, total - 1);
    ck_assert_uint_eq(s.arenas_highwater, total);
    ck_assert_uint_eq(s.allocated_blocks, 0);
    ck_assert_uint_eq(s.pools_in_use, 0);
    CHECK_OK(a);
    assert_stats_add_up(a);
    /* reverse order drains the newest arena first; the outcome is the same */
    for (size_t i = 0; i < N; i++)
        p[i] = hl_alloc_malloc(a, 512);
    for (size_t i = N; i-- > 0;)
        hl_alloc_free(a, p[i], 512);
    s = stats_of(a);
    ck_assert_uint_eq(s.arenas_in_use, 1);
    ck_assert_uint_eq(s.arenas_reclaimed, s.arenas_allocated_total - 1);
    CHECK_OK(a);
    free(p);
    hl_alloc_delete(a);
}
END_TEST

/* Reference 1.5: 200 rounds of 3,000 blocks of 144 B create no new arena. */
START_TEST(test_no_thrashing)
{
    hl_alloc *a = hl_alloc_new(-1);
    static uint8_t *p[3000];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < 3000; i++)
            p[i] = hl_alloc_malloc(a, 144);
        free_all(a, p, 3000, 144);
    }
    hl_alloc_stats s = stats_of(a);
    ck_assert_uint_eq(s.arenas_allocated_total, 1);
    ck_assert_uint_eq(s.arenas_in_use, 1);
    ck_assert_uint_eq(s.arenas_reclaimed, 0);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

typedef struct empty_count {
    uint32_t arena;
    uint32_t empty;
} empty_count;

static void count_empty(void *ctx, uint32_t ai, uint32_t pi, int sc, uint32_t used, uint32_t cap)
{
    empty_count *e = ctx;
    (void)pi;
    (void)used;
    (void)cap;
    if (ai == e->arena && sc < 0)
        e->empty++;
}

static uint32_t empty_pools(const hl_alloc *a, uint32_t arena)
{
    empty_count e = {arena, 0};
    hl_alloc_visit_pools(a, count_empty, &e);
    return e.empty;
}

static void free_pool(hl_alloc *a, uint8_t **p, const hl_alloc_block_info *info, size_t count,
                      uint32_t arena, uint32_t pool)
{
    for (size_t i = 0; i < count; i++)
        if (info[i].arena_index == arena && info[i].pool_index == pool) {
            hl_alloc_free(a, p[i], 512);
            p[i] = NULL;
        }
}

/* A new pool comes from the usable arena with the fewest free pools. */
START_TEST(test_fullest_arena_preferred)
{
    hl_alloc *a = hl_alloc_new(-1);
    static uint8_t *p[4096];
    static hl_alloc_block_info info[4096];
    size_t n = 0;
    do {
        p[n] = hl_alloc_malloc(a, 512);
        info[n] = where(a, p[n], 512);
    } while (info[n++].arena_index == 0);
    ck_assert_uint_eq(info[n - 1].arena_index, 1);
    ck_assert_uint_eq(empty_pools(a, 0), 0);
    free_pool(a, p, info, n, 0, 5);
    ck_assert_uint_eq(empty_pools(a, 0), 1);
    CHECK_OK(a);
    hl_alloc_block_info q = where(a, hl_alloc_malloc(a, 16), 16);
    ck_assert_uint_eq(q.arena_index, 0);
    ck_assert_uint_eq(q.pool_index, 5);
    free_pool(a, p, info, n, 0, 7);
    free_pool(a, p, info, n, 0, 8);
    CHECK_OK(a);
    q = where(a, hl_alloc_malloc(a, 32), 32); /* freepools is LIFO too */
    ck_assert_uint_eq(q.arena_index, 0);
    ck_assert_uint_eq(q.pool_index, 8);
    q = where(a, hl_alloc_malloc(a, 48), 48);
    ck_assert_uint_eq(q.arena_index, 0);
    ck_assert_uint_eq(q.pool_index, 7);
    q = where(a, hl_alloc_malloc(a, 64), 64);
    ck_assert_uint_eq(q.arena_index, 1);
    ck_assert_uint_eq(q.pool_index, 1);
    CHECK_OK(a);
    assert_stats_add_up(a);
    hl_alloc_delete(a);
}
END_TEST

static uint32_t new_pool_arena(hl_alloc *a, size_t n)
{
    return where(a, hl_alloc_malloc(a, n), n).arena_index;
}

/* An arena that gains a free pool moves behind the others with its old count (nfp2lasta). */
START_TEST(test_usable_arenas_reordered)
{
    hl_alloc *a = hl_alloc_new(-1);
    static uint8_t *p[8192];
    static hl_alloc_block_info info[8192];
    size_t n = 0;
    do {
        p[n] = hl_alloc_malloc(a, 512);
        info[n] = where(a, p[n], 512);
    } while (info[n++].arena_index < 2);
    free_pool(a, p, info, n, 1, 3);  /* [1(1) 2] */
    free_pool(a, p, info, n, 0, 10); /* [0(1) 1(1) 2] */
    CHECK_OK(a);
    free_pool(a, p, info, n, 0, 11); /* [1(1) 0(2) 2] */
    CHECK_OK(a);
    ck_assert_uint_eq(new_pool_arena(a, 16), 1);
    ck_assert_uint_eq(new_pool_arena(a, 32), 0);
    ck_assert_uint_eq(new_pool_arena(a, 48), 0);
    ck_assert_uint_eq(new_pool_arena(a, 64), 2);
    CHECK_OK(a);
    assert_stats_add_up(a);
    hl_alloc_delete(a);
}
END_TEST

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

static int intact(const uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed * 131u + i * 7u + (i >> 8)))
            return 0;
    return 1;
}

START_TEST(test_realloc_rules)
{
    hl_alloc *a = hl_alloc_new(-1);
    uint8_t *p = hl_alloc_malloc(a, 100); /* class 6, 112 bytes */
    fill(p, 100, 1);
    ck_assert_ptr_eq(hl_alloc_realloc(a, p, 100, 112), p);
    ck_assert_ptr_eq(hl_alloc_realloc(a, p, 112, 85), p); /* 340 > 336: in place */
    ck_assert_int_eq(where(a, p, 85).size_class, 6);         /* still a 112-byte block */
    uint8_t *q = hl_alloc_realloc(a, p, 85, 84);           /* <= 3/4: moves down */
    ck_assert_ptr_ne(q, p);
    ck_assert_int_eq(where(a, q, 84).size_class, 5);
    ck_assert(intact(q, 84, 1));
    uint8_t *r = hl_alloc_realloc(a, q, 84, 200); /* grows: moves */
    ck_assert_int_eq(where(a, r, 200).size_class, 12);
    ck_assert(intact(r, 84, 1));
    ck_assert_ptr_eq(hl_alloc_malloc(a, 84), q); /* the old block went back on its list */
    hl_alloc_free(a, q, 84);
    fill(r, 200, 2);
    uint8_t *raw = hl_alloc_realloc(a, r, 200, 600); /* small -> raw */
    hl_alloc_stats s = stats_of(a);
    ck_assert_uint_eq(s.raw_count, 1);
    ck_assert_uint_eq(s.raw_bytes, 600);
    ck_assert_uint_eq(s.allocated_blocks, 1);
    ck_assert(intact(raw, 200, 2));
    fill(raw, 600, 3);
    raw = hl_alloc_realloc(a, raw, 600, 5000); /* raw -> raw */
    ck_assert(intact(raw, 600, 3));
    ck_assert_uint_eq(stats_of(a).raw_bytes, 5000);
    uint8_t *back = hl_alloc_realloc(a, raw, 5000, 300); /* raw -> small */
    ck_assert(hl_alloc_locate(a, back, 300, &(hl_alloc_block_info){0}));
    ck_assert(intact(back, 300, 3));
    s = stats_of(a);
    ck_assert_uint_eq(s.raw_count, 0);
    ck_assert_uint_eq(s.raw_bytes, 0);
    uint8_t *zero = hl_alloc_realloc(a, back, 300, 0); /* 0 bytes leaves the pools */
    ck_assert_ptr_nonnull(zero);
    ck_assert_uint_eq(stats_of(a).raw_count, 1);
    hl_alloc_free(a, zero, 0);
    uint8_t *fresh = hl_alloc_realloc(a, NULL, 0, 50);
    ck_assert_int_eq(where(a, fresh, 50).size_class, 3);
    hl_alloc_free(a, fresh, 50);
    s = stats_of(a);
    ck_assert_uint_eq(s.allocated_blocks, 0);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

START_TEST(test_raw_counting)
{
    hl_alloc *a = hl_alloc_new(-1);
    void *z = hl_alloc_malloc(a, 0), *big = hl_alloc_malloc(a, 513), *small = hl_alloc_malloc(a, 512);
    ck_assert_ptr_nonnull(z);
    ck_assert_ptr_nonnull(big);
    ck_assert(!hl_alloc_locate(a, z, 0, &(hl_alloc_block_info){0}));
    ck_assert(!hl_alloc_locate(a, big, 513, &(hl_alloc_block_info){0}));
    ck_assert_int_eq(where(a, small, 512).size_class, 31);
    hl_alloc_stats s = stats_of(a);
    ck_assert_uint_eq(s.raw_count, 2);
    ck_assert_uint_eq(s.raw_bytes, 513);
    ck_assert_uint_eq(s.allocated_blocks, 3);
    ck_assert_uint_eq(s.classes[31].used_blocks, 1);
    hl_alloc_free(a, big, 513);
    hl_alloc_free(a, z, 0);
    hl_alloc_free(a, NULL, 100);
    s = stats_of(a);
    ck_assert_uint_eq(s.raw_count, 0);
    ck_assert_uint_eq(s.raw_bytes, 0);
    ck_assert_uint_eq(s.allocated_blocks, 1);
    hl_alloc_free(a, small, 512);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

typedef struct visit_tally {
    uint64_t pools, used, empty, classes[32];
} visit_tally;

static void tally(void *ctx, uint32_t ai, uint32_t pi, int sc, uint32_t used, uint32_t cap)
{
    visit_tally *t = ctx;
    (void)ai;
    ck_assert_uint_lt(pi, 64);
    t->pools++;
    if (sc < 0) {
        ck_assert_uint_eq(used + cap, 0);
        t->empty++;
        return;
    }
    ck_assert_uint_eq(cap, ref_blocks[sc]);
    ck_assert_uint_le(used, cap);
    t->used += used;
    t->classes[sc]++;
}

START_TEST(test_stats_add_up)
{
    hl_alloc *a = hl_alloc_new(-1);
    static uint8_t *p[20000];
    for (size_t i = 0; i < 20000; i++)
        p[i] = hl_alloc_malloc(a, 1 + (i * 37) % 512);
    for (size_t i = 0; i < 20000; i += 3)
        hl_alloc_free(a, p[i], 1 + (i * 37) % 512);
    assert_stats_add_up(a);
    hl_alloc_stats s = stats_of(a);
    visit_tally t = {0};
    hl_alloc_visit_pools(a, tally, &t);
    ck_assert_uint_eq(t.pools, s.pools_in_use + s.pools_empty);
    ck_assert_uint_eq(t.empty, s.pools_empty);
    ck_assert_uint_eq(t.used, s.allocated_blocks);
    for (int c = 0; c < 32; c++)
        ck_assert_uint_eq(t.classes[c], s.classes[c].pools);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

/* ---- random stress against a shadow model ---- */

typedef struct live {
    uint8_t *p;
    size_t n;
    int cls; /* the block's class, which in-place realloc keeps; -1 raw */
    uint32_t seed;
} live;

typedef struct shadow {
    uint64_t used[32];
    uint64_t raw_count, raw_bytes;
} shadow;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

static size_t random_size(void)
{
    uint32_t r = rnd() % 100;
    if (r < 2)
        return 0;
    if (r < 5)
        return 513 + rnd() % 3000;
    return r < 30 ? 1 + rnd() % 128 : 1 + rnd() % 512;
}

static void shadow_add(shadow *sh, int c, size_t n, int sign)
{
    if (c >= 0) {
        sh->used[c] += (uint64_t)(int64_t)sign;
        return;
    }
    sh->raw_count += (uint64_t)(int64_t)sign;
    sh->raw_bytes += (uint64_t)((int64_t)sign * (int64_t)n);
}

static void shadow_matches(const hl_alloc *a, const shadow *sh)
{
    hl_alloc_stats s = stats_of(a);
    for (int c = 0; c < 32; c++)
        ck_assert_uint_eq(s.classes[c].used_blocks, sh->used[c]);
    ck_assert_uint_eq(s.raw_count, sh->raw_count);
    ck_assert_uint_eq(s.raw_bytes, sh->raw_bytes);
    ck_assert_uint_eq(byte_sum(&s), s.arenas_in_use * MiB);
}

static void stress_malloc(hl_alloc *a, live *l, size_t *count, shadow *sh, uint32_t seed)
{
    size_t n = random_size();
    uint8_t *p = hl_alloc_malloc(a, n);
    ck_assert_ptr_nonnull(p);
    fill(p, n, seed);
    l[(*count)++] = (live){p, n, hl_alloc_size_class(n), seed};
    shadow_add(sh, hl_alloc_size_class(n), n, +1);
}

static void stress_free(hl_alloc *a, live *l, size_t *count, shadow *sh)
{
    size_t i = rnd() % *count;
    ck_assert_msg(intact(l[i].p, l[i].n, l[i].seed), "block %p overwritten", (void *)l[i].p);
    hl_alloc_free(a, l[i].p, l[i].n);
    shadow_add(sh, l[i].cls, l[i].n, -1);
    l[i] = l[--*count];
}

static int stays_in_place(int c, size_t new_n)
{
    size_t size = hl_alloc_class_size(c);
    return c >= 0 && hl_alloc_size_class(new_n) >= 0 && new_n <= size && 4 * new_n > 3 * size;
}

static void stress_realloc(hl_alloc *a, live *l, size_t count, shadow *sh, uint32_t seed)
{
    live *e = &l[rnd() % count];
    size_t n = random_size(), keep = e->n < n ? e->n : n;
    ck_assert(intact(e->p, e->n, e->seed));
    uint8_t *q = hl_alloc_realloc(a, e->p, e->n, n);
    ck_assert_ptr_nonnull(q);
    int in_place = stays_in_place(e->cls, n);
    if (e->cls >= 0 || hl_alloc_size_class(n) >= 0)
        ck_assert_int_eq(q == e->p, in_place);
    ck_assert(intact(q, keep, e->seed));
    int cls = in_place ? e->cls : hl_alloc_size_class(n);
    if (cls >= 0)
        ck_assert_int_eq(where(a, q, n).size_class, cls);
    shadow_add(sh, e->cls, e->n, -1);
    shadow_add(sh, cls, n, +1);
    fill(q, n, seed);
    *e = (live){q, n, cls, seed};
}

START_TEST(test_random_stress)
{
    enum { OPS = 200000, PHASE = 40000 };
    hl_alloc *a = hl_alloc_new(-1);
    live *l = malloc(OPS * sizeof *l);
    size_t count = 0;
    shadow sh = {0};
    rng_state = 0x9e3779b97f4a7c15u;
    for (uint32_t op = 1; op <= OPS; op++) {
        uint32_t r = rnd() % 100, grow = (op / PHASE) % 2 == 0 ? 60 : 20;
        if (count == 0 || r < grow)
            stress_malloc(a, l, &count, &sh, op);
        else if (r < grow + (100 - grow) * 7 / 10)
            stress_free(a, l, &count, &sh);
        else
            stress_realloc(a, l, count, &sh, op);
        if (op % 1000 == 0)
            shadow_matches(a, &sh);
        if (op % 5000 == 0) {
            CHECK_OK(a);
            assert_stats_add_up(a);
        }
    }
    hl_alloc_stats s = stats_of(a);
    ck_assert_uint_gt(s.arenas_reclaimed, 0);
    while (count > 0)
        stress_free(a, l, &count, &sh);
    shadow_matches(a, &sh);
    s = stats_of(a);
    ck_assert_uint_eq(s.allocated_blocks, 0);
    ck_assert_uint_eq(s.arenas_in_use, 1);
    CHECK_OK(a);
    free(l);
    hl_alloc_delete(a);
}
END_TEST

START_TEST(test_two_allocators_independent)
{
    hl_alloc *a = hl_alloc_new(-1), *b = hl_alloc_new(-1);
    static uint8_t *pa[3000], *pb[3000];
    for (size_t i = 0; i < 3000; i++) {
        pa[i] = hl_alloc_malloc(a, 64);
        pb[i] = hl_alloc_malloc(b, 64);
        fill(pa[i], 64, 1);
        fill(pb[i], 64, 2);
    }
    ck_assert_uint_ne(where(a, pa[0], 64).arena_base, where(b, pb[0], 64).arena_base);
    ck_assert(!hl_alloc_locate(a, pb[0], 64, &(hl_alloc_block_info){0}) ||
              where(a, pb[0], 64).arena_base != where(b, pb[0], 64).arena_base);
    hl_alloc_stats sb = stats_of(b);
    free_all(a, pa, 3000, 64);
    hl_alloc_stats sb2 = stats_of(b);
    ck_assert_mem_eq(&sb, &sb2, sizeof sb);
    ck_assert_uint_eq(stats_of(a).allocated_blocks, 0);
    hl_alloc_free(b, pb[7], 64);
    ck_assert_ptr_eq(hl_alloc_malloc(b, 64), pb[7]);
    fill(pb[7], 64, 2);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 64), pa[2999]);
    for (size_t i = 0; i < 3000; i++)
        ck_assert(intact(pb[i], 64, 2));
    CHECK_OK(a);
    CHECK_OK(b);
    hl_alloc_delete(a);
    free_all(b, pb, 3000, 64);
    CHECK_OK(b);
    hl_alloc_delete(b);
}
END_TEST

/* Durability rests on this: the same phase and the same calls give the same
 * blocks relative to their arenas, in any process. */
START_TEST(test_phase_makes_layout_repeatable)
{
    static const int32_t phases[] = {0, 4096, 8192, 12288};
    for (size_t k = 0; k < sizeof phases / sizeof phases[0]; k++) {
        hl_alloc *a = hl_alloc_new(phases[k]), *b = hl_alloc_new(phases[k]);
        static uint8_t *pa[5000], *pb[5000];
        for (size_t i = 0; i < 5000; i++) {
            size_t n = 1 + (i * 37) % 512;
            pa[i] = hl_alloc_malloc(a, n);
            pb[i] = hl_alloc_malloc(b, n);
            if (i % 3 == 0) {
                hl_alloc_free(a, pa[i], n);
                hl_alloc_free(b, pb[i], n);
                pa[i] = pb[i] = NULL;
            }
        }
        for (size_t i = 0; i < 5000; i++) {
            if (pa[i] == NULL)
                continue;
            size_t n = 1 + (i * 37) % 512;
            hl_alloc_block_info ia = where(a, pa[i], n), ib = where(b, pb[i], n);
            ck_assert_uint_eq(ia.arena_index, ib.arena_index);
            ck_assert_uint_eq(ia.pool_index, ib.pool_index);
            ck_assert_uint_eq(ia.block_index, ib.block_index);
            ck_assert_uint_eq(hl_alloc_block_vaddr(pa[i]), hl_alloc_block_vaddr(pb[i]));
            ck_assert_uint_eq((uintptr_t)pa[i] - ia.arena_base, (uintptr_t)pb[i] - ib.arena_base);
            ck_assert_uint_eq(hl_alloc_block_vaddr(pa[i]) >> 20, ia.arena_index + 1);
            ck_assert_uint_eq(hl_alloc_block_vaddr(pa[i]) & 0xfffff,
                              ((uint64_t)ia.pool_index << 14) | ((uintptr_t)pa[i] & (HL_ALLOC_POOL_SIZE - 1)));
            hl_alloc_free(a, pa[i], n);
            hl_alloc_free(b, pb[i], n);
        }
        hl_alloc_stats sa = stats_of(a), sb = stats_of(b);
        ck_assert_mem_eq(&sa, &sb, sizeof sa);
        ck_assert_uint_eq(hl_alloc_phase(a), (uint32_t)phases[k]);
        CHECK_OK(a);
        hl_alloc_delete(a);
        hl_alloc_delete(b);
    }
    ck_assert_ptr_null(hl_alloc_new(100));
    ck_assert_ptr_null(hl_alloc_new(HL_ALLOC_POOL_SIZE));
}
END_TEST

/* Pools per arena follow the phase: 64 on a pool boundary, 63 off it. */
START_TEST(test_phase_decides_pools_per_arena)
{
    hl_alloc *aligned = hl_alloc_new(0), *off = hl_alloc_new(8192);
    hl_alloc_free(aligned, hl_alloc_malloc(aligned, 8), 8);
    hl_alloc_free(off, hl_alloc_malloc(off, 8), 8);
    ck_assert_uint_eq(stats_of(aligned).pools_empty, 64);
    ck_assert_uint_eq(stats_of(off).pools_empty, 63);
    ck_assert_uint_eq(stats_of(off).bytes_lost_arena_alignment, HL_ALLOC_POOL_SIZE);
    hl_alloc_delete(aligned);
    hl_alloc_delete(off);
}
END_TEST

/* ---- text ---- */

/* The reference's 3.11.7 sample, with the elided class rows and the arena-map part cut. */
static const char ref_sample[] =
    "Small block threshold = 512, in 32 size classes.\n"
    "\n"
    "class   size   num pools   blocks in use  avail blocks\n"
    "-----   ----   ---------   -------------  ------------\n"
    "    0     16           1             106           915\n"
    "    1     32           3            1148           382\n"
    "    2     48          13            4220           200\n"
    "    3     64          50           12564           186\n"
    "   30    496           2              34            30\n"
    "   31    512           2              50            12\n"
    "\n"
    "# arenas allocated total           =                    4\n"
    "# arenas reclaimed                 =                    0\n"
    "# arenas highwater mark            =                    4\n"
    "# arenas allocated current         =                    4\n"
    "4 arenas * 1048576 bytes/arena     =            4,194,304\n"
    "\n"
    "# bytes in allocated blocks        =            3,491,936\n"
    "# bytes in available blocks        =              330,544\n"
    "17 unused pools * 16384 bytes      =              278,528\n"
    "# bytes lost to pool headers       =               11,280\n"
    "# bytes lost to quantization       =               16,480\n"
    "# bytes lost to arena alignment    =               65,536\n"
    "Total                              =            4,194,304\n";

START_TEST(test_format_reference_sample)
{
    hl_alloc_stats s = {0};
    const unsigned rows[6][4] = {{0, 1, 106, 915},   {1, 3, 1148, 382}, {2, 13, 4220, 200},
                                 {3, 50, 12564, 186}, {30, 2, 34, 30},   {31, 2, 50, 12}};
    for (int i = 0; i < 6; i++)
        s.classes[rows[i][0]] = (hl_alloc_class_stats){rows[i][1], rows[i][2], rows[i][3]};
    s.arenas_allocated_total = s.arenas_highwater = s.arenas_in_use = 4;
    s.pools_empty = 17;
    s.bytes_in_allocated_blocks = 3491936;
    s.bytes_in_available_blocks = 330544;
    s.bytes_in_unused_pools = 17 * 16384;
    s.bytes_lost_pool_headers = 11280;
    s.bytes_lost_quantization = 16480;
    s.bytes_lost_arena_alignment = 65536;
    ck_assert_uint_eq(byte_sum(&s), 4 * MiB); /* the reference's cross-check */
    char buf[4096];
    int len = hl_alloc_format_stats(&s, buf, sizeof buf);
    ck_assert_str_eq(buf, ref_sample);
    ck_assert_int_eq(len, (int)strlen(ref_sample));
    char small[10];
    ck_assert_int_eq(hl_alloc_format_stats(&s, small, sizeof small), len);
    ck_assert_str_eq(small, "Small blo");
    ck_assert_int_eq(hl_alloc_format_stats(&s, NULL, 0), len);
}
END_TEST

START_TEST(test_format_live)
{
    hl_alloc *a = hl_alloc_new(-1);
    static uint8_t *p[3000];
    for (size_t i = 0; i < 3000; i++)
        p[i] = hl_alloc_malloc(a, 100);
    hl_alloc_stats s = stats_of(a);
    char buf[4096], line[128];
    int len = hl_alloc_format_stats(&s, buf, sizeof buf);
    ck_assert_int_eq(len, (int)strlen(buf));
    /* 3000 blocks of 112 B: 21 pools of 145 blocks, 45 blocks left in the last */
    snprintf(line, sizeof line, "\n    6    112          21            3000            45\n\n");
    ck_assert_ptr_nonnull(strstr(buf, line));
    ck_assert_ptr_nonnull(strstr(buf, "\n1 arenas * 1048576 bytes/arena     =            1,048,576\n"));
    ck_assert_ptr_nonnull(strstr(buf, "# bytes in allocated blocks        =              336,000\n"));
    ck_assert_ptr_nonnull(strstr(buf, "# bytes lost to pool headers       =                1,008\n"));
    ck_assert_ptr_nonnull(strstr(buf, "# bytes lost to quantization       =                2,016\n"));
    const char *total = "Total                              =            1,048,576\n";
    ck_assert_str_eq(buf + len - strlen(total), total);
    free_all(a, p, 3000, 100);
    CHECK_OK(a);
    hl_alloc_delete(a);
}
END_TEST

/* The checker sees a pool header whose count disagrees with its free list. */
START_TEST(test_check_detects_corruption)
{
    hl_alloc *a = hl_alloc_new(-1);
    uint8_t *p = hl_alloc_malloc(a, 16);
    ck_assert_uint_eq(where(a, p, 16).block_index, 0);
    uint8_t *header = p - 48;
    size_t saved, bogus = 7;
    memcpy(&saved, header, sizeof saved);
    ck_assert_uint_eq(saved, 1);
    memcpy(header, &bogus, sizeof bogus);
    char why[256] = "";
    ck_assert_int_eq(hl_alloc_check(a, why, sizeof why), HL_ALLOC_CORRUPT);
    ck_assert_uint_gt(strlen(why), 0);
    ck_assert_ptr_null(strchr(why, '\n'));
    memcpy(header, &saved, sizeof saved);
    CHECK_OK(a);
    hl_alloc_free(a, p, 16);
    hl_alloc_delete(a);
}
END_TEST

#ifdef TEST_ASAN
START_TEST(test_asan_poisoning)
{
    hl_alloc *a = hl_alloc_new(-1);
    uint8_t *p = hl_alloc_malloc(a, 64);
    ck_assert_int_eq(__asan_address_is_poisoned(p), 0);
    ck_assert_int_eq(__asan_address_is_poisoned(p + 63), 0);
    ck_assert_int_ne(__asan_address_is_poisoned(p + 64), 0);  /* carved, not handed out */
    ck_assert_int_ne(__asan_address_is_poisoned(p + 128), 0); /* never carved */
    ck_assert_int_ne(__asan_address_is_poisoned(p + 16384), 0); /* next pool, never carved */
    hl_alloc_free(a, p, 64);
    ck_assert_int_ne(__asan_address_is_poisoned(p), 0);
    ck_assert_int_ne(__asan_address_is_poisoned(p + 63), 0);
    CHECK_OK(a); /* the checker reads poisoned links without tripping ASan */
    ck_assert_int_ne(__asan_address_is_poisoned(p), 0);
    ck_assert_ptr_eq(hl_alloc_malloc(a, 64), p);
    ck_assert_ptr_null(__asan_region_is_poisoned(p, 64));
    hl_alloc_free(a, p, 64);
    hl_alloc_delete(a);
}
END_TEST
#endif

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_size_classes);
    tcase_add_test(tc, test_blocks_per_pool);
    tcase_add_test(tc, test_lifo_reuse);
    tcase_add_test(tc, test_full_pool_goes_to_front);
    tcase_add_test(tc, test_empty_pool_returns_to_arena);
    tcase_add_test(tc, test_arena_reclaim_keeps_one);
    tcase_add_test(tc, test_no_thrashing);
    tcase_add_test(tc, test_fullest_arena_preferred);
    tcase_add_test(tc, test_usable_arenas_reordered);
    tcase_add_test(tc, test_realloc_rules);
    tcase_add_test(tc, test_raw_counting);
    tcase_add_test(tc, test_stats_add_up);
    tcase_add_test(tc, test_random_stress);
    tcase_add_test(tc, test_two_allocators_independent);
    tcase_add_test(tc, test_phase_makes_layout_repeatable);
    tcase_add_test(tc, test_phase_decides_pools_per_arena);
    tcase_add_test(tc, test_format_reference_sample);
    tcase_add_test(tc, test_format_live);
    tcase_add_test(tc, test_check_detects_corruption);
#ifdef TEST_ASAN
    tcase_add_test(tc, test_asan_poisoning);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
