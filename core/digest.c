/* digest.c — hl_heap_digest; see digest.h for what it covers and how. */
#include "digest.h"

#include <string.h>

#include "internal.h"

#define FNV_OFFSET 0xcbf29ce484222325u
#define FNV_PRIME 0x100000001b3u

/* Field tags: one byte before every field, so a value can never be read as
 * a different field of the same width. */
enum {
    TAG_OBJECT = 'O',      /* id: starts an object's record */
    TAG_TYPE = 't',
    TAG_REFCOUNT = 'r',
    TAG_SIZE = 's',
    TAG_TRACKED = 'k',
    TAG_GENERATION = 'g',
    TAG_FINALIZER = 'f',
    TAG_FINALIZED = 'F',
    TAG_LENGTH = 'l',
    TAG_CLASS = 'c',
    TAG_STR_KIND = 'K',
    TAG_VALUE = 'v',
    TAG_REF = 'R',         /* slot kind: starts a reference */
    TAG_REF_INDEX = 'i',
    TAG_REF_NAME = 'n',
    TAG_REF_TARGET = 'T',
    TAG_REF_COUNT = 'e',   /* ends an object's references */
    TAG_WEAK_TARGET = 'w',
    TAG_WEAK_CALLBACK = 'W',
    TAG_SIZE_CLASS = 'z',
    TAG_ARENA = 'a',
    TAG_POOL = 'p',
    TAG_BLOCK = 'b',
    TAG_RAW = 'x',
    TAG_OBJECT_COUNT = 'E',/* ends the objects */
    TAG_NAME = 'N',
    TAG_NAME_ID = 'I',
    TAG_NAME_COUNT = 'M',
    TAG_NEXT_ID = 'X',
    TAG_GC = 'G',          /* every collector figure, in a fixed order */
    TAG_GC_LIST = 'L',     /* a generation number: starts its list */
    TAG_GC_MEMBER = 'm',
    TAG_GC_LIST_COUNT = 'C',
    TAG_ALLOC = 'A',       /* every allocator figure, in a fixed order */
};

typedef struct digest_state {
    uint64_t lane[2];
} digest_state;

/* What the visitors below need: where to feed, and how many they saw
 * (each list ends with its count). */
typedef struct counted_feed {
    digest_state *d;
    uint64_t count;
} counted_feed;

static void feed(digest_state *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t a = d->lane[0], c = d->lane[1];
    for (size_t i = 0; i < n; i++) {
        a = (a ^ b[i]) * FNV_PRIME;
        c = (c ^ b[i]) * FNV_PRIME;
    }
    d->lane[0] = a;
    d->lane[1] = c;
}

/* Little-endian whatever the machine, so the stream is defined by value. */
static void feed_u64(digest_state *d, uint8_t tag, uint64_t v)
{
    unsigned char buf[9];
    buf[0] = tag;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (unsigned char)(v >> (8 * i));
    feed(d, buf, sizeof buf);
}

static void feed_bytes(digest_state *d, uint8_t tag, const void *p, size_t n)
{
    feed_u64(d, tag, n);
    feed(d, p, n);
}

static void feed_text(digest_state *d, uint8_t tag, const char *s)
{
    feed_bytes(d, tag, s, strlen(s));
}

static void digest_init(digest_state *d)
{
    static const char lane1_seed[] = "heaplab digest lane 1";
    d->lane[0] = d->lane[1] = FNV_OFFSET;
    feed(d, lane1_seed, sizeof lane1_seed - 1);
    d->lane[1] = d->lane[0];
    d->lane[0] = FNV_OFFSET;
}

/* splitmix64's finaliser: FNV's last bytes only reach the high bits of a
 * lane, this spreads them over all 64. */
static uint64_t finish_lane(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ---- one object ---- */

static bool feed_ref(void *ctx, const hl_ref *r)
{
    counted_feed *f = ctx;
    feed_u64(f->d, TAG_REF, (uint64_t)r->kind);
    feed_u64(f->d, TAG_REF_INDEX, r->index);
    if (r->name != NULL)
        feed_text(f->d, TAG_REF_NAME, r->name);
    feed_u64(f->d, TAG_REF_TARGET, r->target);
    f->count++;
    return true;
}

/* The value as the API shows it.  A str feeds its stored code units: the
 * kind is the narrowest that holds every code point (as in CPython), so
 * equal strings store equal units. */
static void feed_value(digest_state *d, const hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_INT:
        feed_u64(d, TAG_VALUE, (uint64_t)((const hl_int *)o)->value);
        break;
    case HL_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &((const hl_float *)o)->value, sizeof bits);
        feed_u64(d, TAG_VALUE, bits);
        break;
    }
    case HL_STR: {
        const hl_str *s = (const hl_str *)o;
        feed_u64(d, TAG_STR_KIND, s->kind);
        feed_bytes(d, TAG_VALUE, s->data, s->length * s->kind);
        break;
    }
    case HL_BYTES: {
        const hl_bytes *b = (const hl_bytes *)o;
        feed_bytes(d, TAG_VALUE, b->data, b->length);
        break;
    }
    default:
        break;
    }
}

/* Where the object's own block sits, counted from its arena, so two heaps
 * whose arenas were mapped at different addresses still compare equal. */
static void feed_block(digest_state *d, const hl_heap *h, hl_object *o)
{
    hl_alloc_block_info b;
    if (!hl_alloc_locate(hl_heap_allocator(h), hl_object_block(o), hl_object_block_size(o), &b)) {
        feed_text(d, TAG_RAW, "raw");
        return;
    }
    feed_u64(d, TAG_SIZE_CLASS, (uint64_t)b.size_class);
    feed_u64(d, TAG_ARENA, b.arena_index);
    feed_u64(d, TAG_POOL, b.pool_index);
    feed_u64(d, TAG_BLOCK, b.block_index);
}

static void feed_object(digest_state *d, const hl_heap *h, uint64_t id)
{
    hl_object_info info;
    hl_heap_object_info(h, id, &info);
    hl_object *o = hl_lookup(h, id);
    feed_u64(d, TAG_OBJECT, info.id);
    feed_u64(d, TAG_TYPE, (uint64_t)info.type);
    feed_u64(d, TAG_REFCOUNT, info.refcount);
    feed_u64(d, TAG_SIZE, info.size);
    feed_u64(d, TAG_TRACKED, info.tracked);
    feed_u64(d, TAG_GENERATION, (uint64_t)(int64_t)info.generation);
    feed_u64(d, TAG_FINALIZER, info.finalizer);
    feed_u64(d, TAG_FINALIZED, info.finalized);
    feed_u64(d, TAG_LENGTH, info.length);
    if (info.class_name != NULL)
        feed_text(d, TAG_CLASS, info.class_name);
    feed_value(d, o);
    /* The count closes the list; it also tells a walk that stopped early
     * (out of memory naming a dict key) from the whole one. */
    counted_feed f = {d, 0};
    hl_heap_referents(h, id, feed_ref, &f);
    feed_u64(d, TAG_REF_COUNT, f.count);
    if (info.type == HL_WEAKREF) {
        uint64_t target;
        bool callback;
        hl_heap_weakref_target(h, id, &target, &callback);
        feed_u64(d, TAG_WEAK_TARGET, target);
        feed_u64(d, TAG_WEAK_CALLBACK, callback);
    }
    feed_block(d, h, o);
}

/* ---- names, collector, allocator ---- */

static bool feed_name(void *ctx, const char *name, uint64_t id)
{
    counted_feed *f = ctx;
    feed_text(f->d, TAG_NAME, name);
    feed_u64(f->d, TAG_NAME_ID, id);
    f->count++;
    return true;
}

static bool feed_member(void *ctx, uint64_t id)
{
    counted_feed *f = ctx;
    feed_u64(f->d, TAG_GC_MEMBER, id);
    f->count++;
    return true;
}

/* Everything but last.duration_ns: wall-clock time differs between two
 * runs of the same operations. */
static void feed_gc(digest_state *d, const hl_heap *h)
{
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    feed_u64(d, TAG_GC, g.enabled);
    feed_u64(d, TAG_GC, g.collecting);
    for (int i = 0; i < 3; i++) {
        feed_u64(d, TAG_GC, (uint64_t)(int64_t)g.thresholds[i]);
        feed_u64(d, TAG_GC, (uint64_t)g.count[i]);
        feed_u64(d, TAG_GC, g.stats[i].collections);
        feed_u64(d, TAG_GC, g.stats[i].collected);
        feed_u64(d, TAG_GC, g.stats[i].uncollectable);
        feed_u64(d, TAG_GC, g.generation_size[i]);
    }
    feed_u64(d, TAG_GC, g.frozen);
    feed_u64(d, TAG_GC, g.long_lived_total);
    feed_u64(d, TAG_GC, g.long_lived_pending);
    feed_u64(d, TAG_GC, (uint64_t)(int64_t)g.last.generation);
    feed_u64(d, TAG_GC, g.last.collected);
    feed_u64(d, TAG_GC, g.last.uncollectable);
    feed_u64(d, TAG_GC, g.last.examined);
    feed_u64(d, TAG_GC, g.last.automatic);
    for (int gen = 0; gen <= HL_GEN_PERMANENT; gen++) {
        counted_feed f = {d, 0};
        feed_u64(d, TAG_GC_LIST, (uint64_t)gen);
        hl_heap_gc_objects(h, gen, feed_member, &f);
        feed_u64(d, TAG_GC_LIST_COUNT, f.count);
    }
}

static void feed_alloc(digest_state *d, const hl_heap *h)
{
    hl_alloc_stats s;
    hl_alloc_get_stats(hl_heap_allocator(h), &s);
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++) {
        feed_u64(d, TAG_ALLOC, s.classes[i].pools);
        feed_u64(d, TAG_ALLOC, s.classes[i].used_blocks);
        feed_u64(d, TAG_ALLOC, s.classes[i].free_blocks);
    }
    const uint64_t figures[] = {
        s.arenas_allocated_total, s.arenas_reclaimed,        s.arenas_highwater,
        s.arenas_in_use,          s.pools_in_use,            s.pools_empty,
        s.bytes_in_allocated_blocks, s.bytes_in_available_blocks, s.bytes_in_unused_pools,
        s.bytes_lost_pool_headers, s.bytes_lost_quantization, s.bytes_lost_arena_alignment,
        s.raw_count,              s.raw_bytes,               s.allocated_blocks,
    };
    for (size_t i = 0; i < sizeof figures / sizeof *figures; i++)
        feed_u64(d, TAG_ALLOC, figures[i]);
}

void hl_heap_digest(const hl_heap *h, uint8_t out[HL_DIGEST_SIZE])
{
    digest_state d;
    digest_init(&d);
    uint64_t objects = 0;
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0; id = hl_heap_next_live_id(h, id)) {
        feed_object(&d, h, id);
        objects++;
    }
    feed_u64(&d, TAG_OBJECT_COUNT, objects);
    counted_feed names = {&d, 0};
    hl_heap_names(h, feed_name, &names);
    feed_u64(&d, TAG_NAME_COUNT, names.count);
    feed_u64(&d, TAG_NEXT_ID, hl_heap_next_id(h));
    feed_gc(&d, h);
    feed_alloc(&d, h);
    for (size_t lane = 0; lane < 2; lane++) {
        uint64_t v = finish_lane(d.lane[lane]);
        for (size_t i = 0; i < 8; i++)
            out[8 * lane + i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

void hl_digest_hex(const uint8_t digest[HL_DIGEST_SIZE], char out[HL_DIGEST_HEX_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < HL_DIGEST_SIZE; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[HL_DIGEST_HEX_SIZE - 1] = '\0';
}
