/* fuzz_alloc.c — libFuzzer target for core/alloc.h against a shadow model.
 *
 * The input decodes into malloc / free / realloc / size-class / locate
 * operations on one hl_alloc (fresh per input).  The shadow keeps every
 * live block: its pointer, the size asked for and a fill byte.  Every block
 * is filled with its pattern when handed out; free and realloc verify it
 * (realloc: the first min(old, new) bytes survive).
 *
 * Oracles, each aborts: hl_alloc_check after every op; the stats equal the
 * shadow (allocated_blocks, raw_count, raw_bytes, per-class used_blocks,
 * pools_in_use = sum of class pools, hl_alloc_bytes_in_use = class sizes +
 * raw bytes); 16-byte alignment; hl_alloc_size_class / class_size agree;
 * hl_alloc_locate agrees for pooled blocks and refuses raw ones; contents
 * survive; ASan (freed and never-carved memory is poisoned) and LSan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define SLOTS 512

typedef struct block {
    unsigned char *p;
    size_t n;
    int cls;          /* the class of the block itself (-1 raw): an in-place
                         realloc keeps it while n moves to a smaller class */
    unsigned char fill;
} block;

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint8_t u8(reader *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

static block live[SLOTS];
static size_t nlive;

static void fail(const char *what, size_t a, size_t b)
{
    fprintf(stderr, "fuzz_alloc: %s (%zu vs %zu)\n", what, a, b);
    abort();
}

static size_t size_of(reader *r)
{
    uint8_t k = u8(r), v = u8(r);
    switch (k % 8) {
    case 0:
        return 0;
    case 1: /* class boundaries */
        return (size_t)(v % 33) * 16 + (size_t)(k >> 3) % 3 - 1 + 1;
    case 2:
    case 3:
    case 4:
        return 1 + (size_t)v * 2 % 512; /* 1..512 */
    case 5:
        return 1 + v;
    case 6:
        return 513 + (size_t)v * 8; /* raw */
    default:
        return 497 + v % 32; /* around the limit */
    }
}

static bool is_raw(size_t n)
{
    return n == 0 || n > HL_ALLOC_SMALL_MAX;
}

static void fill(block *b)
{
    if (b->n)
        memset(b->p, b->fill, b->n);
}

static void verify(const block *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b->p[i] != b->fill)
            fail("block contents changed", i, b->n);
}

static void check(const hl_alloc *a)
{
    char why[256];
    if (hl_alloc_check(a, why, sizeof why) != HL_ALLOC_OK) {
        fprintf(stderr, "fuzz_alloc: hl_alloc_check: %s\n", why);
        abort();
    }
    hl_alloc_stats s;
    hl_alloc_get_stats(a, &s);
    uint64_t used[HL_ALLOC_NUM_CLASSES] = {0}, raw = 0, raw_bytes = 0, pooled_bytes = 0;
    for (size_t i = 0; i < nlive; i++) {
        int c = live[i].cls;
        if (c < 0) {
            raw++;
            raw_bytes += live[i].n;
        } else {
            used[c]++;
            pooled_bytes += hl_alloc_class_size(c);
        }
    }
    if (s.allocated_blocks != nlive)
        fail("allocated_blocks != live blocks", s.allocated_blocks, nlive);
    if (s.raw_count != raw)
        fail("raw_count", s.raw_count, raw);
    if (s.raw_bytes != raw_bytes)
        fail("raw_bytes", s.raw_bytes, raw_bytes);
    uint64_t pools = 0;
    for (int c = 0; c < HL_ALLOC_NUM_CLASSES; c++) {
        if (s.classes[c].used_blocks != used[c])
            fail("class used_blocks", s.classes[c].used_blocks, used[c]);
        pools += s.classes[c].pools;
    }
    if (s.pools_in_use != pools)
        fail("pools_in_use != sum of class pools", s.pools_in_use, pools);
    if (s.bytes_in_allocated_blocks != pooled_bytes)
        fail("bytes_in_allocated_blocks", s.bytes_in_allocated_blocks, pooled_bytes);
    if (hl_alloc_bytes_in_use(a) != pooled_bytes + raw_bytes)
        fail("hl_alloc_bytes_in_use", hl_alloc_bytes_in_use(a), pooled_bytes + raw_bytes);
}

static void placed(const hl_alloc *a, const block *b)
{
    if (((uintptr_t)b->p & (HL_ALLOC_ALIGNMENT - 1)) != 0)
        fail("misaligned block", (uintptr_t)b->p, b->n);
    hl_alloc_block_info info;
    bool found = hl_alloc_locate(a, b->p, b->n, &info);
    if (is_raw(b->n)) {
        if (found)
            fail("locate found a raw block", b->n, 0);
        return;
    }
    if (!found)
        fail("locate missed a pooled block", b->n, 0);
    if (info.size_class != b->cls)
        fail("locate size_class", (size_t)info.size_class, (size_t)b->cls);
    if (hl_alloc_class_size(info.size_class) < b->n)
        fail("class smaller than the request", hl_alloc_class_size(info.size_class), b->n);
    if (info.pool_index >= HL_ALLOC_MAX_POOLS_IN_ARENA)
        fail("pool index", info.pool_index, HL_ALLOC_MAX_POOLS_IN_ARENA);
    uintptr_t off = (uintptr_t)b->p - info.arena_base;
    if ((uintptr_t)b->p < info.arena_base || off >= HL_ALLOC_ARENA_SIZE)
        fail("block outside its arena", off, HL_ALLOC_ARENA_SIZE);
    if (off / HL_ALLOC_POOL_SIZE != info.pool_index)
        fail("pool index disagrees with the address", off / HL_ALLOC_POOL_SIZE, info.pool_index);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, data + size};
    hl_alloc *a = hl_alloc_new(-1);
    if (a == NULL)
        return 0;
    nlive = 0;
    unsigned char next_fill = 1;
    for (int step = 0; r.p < r.end && step < 2000; step++) {
        uint8_t op = u8(&r);
        switch (op % 6) {
        case 0:
        case 1: { /* malloc, sometimes a burst (fills pools and arenas) */
            int count = op % 6 == 1 && (op & 0x80) ? 1 + u8(&r) : 1;
            size_t n = size_of(&r);
            for (int k = 0; k < count && nlive < SLOTS; k++) {
                block b = {hl_alloc_malloc(a, n), n, hl_alloc_size_class(n), next_fill++};
                if (b.p == NULL)
                    fail("malloc returned NULL", n, 0);
                fill(&b);
                placed(a, &b);
                live[nlive++] = b;
            }
            break;
        }
        case 2: { /* free */
            if (nlive == 0)
                break;
            size_t i = u8(&r) % nlive;
            verify(&live[i], live[i].n);
            hl_alloc_free(a, live[i].p, live[i].n);
            live[i] = live[--nlive];
            break;
        }
        case 3: { /* free many, in an order the input chooses */
            int count = u8(&r) % 64;
            for (int k = 0; k < count && nlive > 0; k++) {
                size_t i = u8(&r) % nlive;
                verify(&live[i], live[i].n);
                hl_alloc_free(a, live[i].p, live[i].n);
                live[i] = live[--nlive];
            }
            break;
        }
        case 4: { /* realloc (or realloc(NULL)) */
            size_t n = size_of(&r);
            if (nlive == 0 || (op & 0x40)) {
                if (nlive == SLOTS)
                    break;
                block b = {hl_alloc_realloc(a, NULL, 0, n), n, hl_alloc_size_class(n), next_fill++};
                if (b.p == NULL)
                    fail("realloc(NULL) returned NULL", n, 0);
                fill(&b);
                placed(a, &b);
                live[nlive++] = b;
                break;
            }
            size_t i = u8(&r) % nlive;
            block *b = &live[i];
            /* alloc.h: stays in place if n fits the block's class and is > 3/4 of it */
            size_t csize = hl_alloc_class_size(b->cls);
            bool in_place = b->cls >= 0 && n <= csize && 4 * n > 3 * csize;
            unsigned char *p = hl_alloc_realloc(a, b->p, b->n, n);
            if (p == NULL)
                fail("realloc returned NULL", b->n, n);
            /* a pooled move mallocs before it frees, so it cannot return the old address */
            if (b->cls >= 0 && in_place != (p == b->p))
                fail("realloc in place (1) or moved (0) against CPython's rule", in_place, n);
            if (!in_place)
                b->cls = hl_alloc_size_class(n);
            b->p = p;
            verify(b, b->n < n ? b->n : n);
            b->n = n;
            b->fill = next_fill++;
            fill(b);
            placed(a, b);
            break;
        }
        default: { /* pure functions */
            size_t n = size_of(&r);
            int c = hl_alloc_size_class(n);
            if (is_raw(n) != (c < 0))
                fail("size_class raw/pooled", n, (size_t)c);
            if (c >= 0 && (hl_alloc_class_size(c) < n || hl_alloc_class_size(c) >= n + 16))
                fail("class_size", hl_alloc_class_size(c), n);
            if (hl_alloc_class_size(-1) != 0 || hl_alloc_class_size(HL_ALLOC_NUM_CLASSES) != 0)
                fail("class_size out of range", 0, 0);
            hl_alloc_stats s;
            hl_alloc_get_stats(a, &s);
            char buf[64];
            int need = hl_alloc_format_stats(&s, buf, sizeof buf);
            if (need < 0)
                fail("format_stats", 0, 0);
            char *big = malloc((size_t)need + 1);
            if (hl_alloc_format_stats(&s, big, (size_t)need + 1) != need || strlen(big) != (size_t)need)
                fail("format_stats length", strlen(big), (size_t)need);
            if (strncmp(buf, big, sizeof buf - 1) != 0)
                fail("format_stats truncation differs", 0, 0);
            free(big);
            break;
        }
        }
        check(a);
    }
    for (size_t i = 0; i < nlive; i++) {
        verify(&live[i], live[i].n);
        hl_alloc_free(a, live[i].p, live[i].n);
    }
    nlive = 0;
    check(a);
    hl_alloc_delete(a);
    return 0;
}
