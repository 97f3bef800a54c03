/* image_internal.h — what image.c (objects, the heap) and alloc_image.c (the
 * allocator) share to write a heap out and read it back.  Core-private.
 *
 * An image holds the heap's memory as it is: the carved part of every arena
 * and every raw (malloc) block, byte for byte, with each pointer replaced by
 * a position-independent code.  Loading maps arenas at the heap's phase, so
 * blocks land at the same offsets in their arenas, copies the bytes back and
 * turns every code into the new address.  Both directions walk the same
 * pointer slots with hl_image_fix, so the walkers are written once.
 */
#ifndef HL_IMAGE_INTERNAL_H
#define HL_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* ---- byte streams ---- */

typedef struct hl_image_out {
    hl_image_sink sink;
    void *ctx;
    bool failed;
} hl_image_out;

void hl_image_put(hl_image_out *o, const void *p, size_t n);
void hl_image_put_u64(hl_image_out *o, uint64_t v);

typedef struct hl_image_in {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;        /* a read ran past the end or a value was out of range */
} hl_image_in;

const void *hl_image_take(hl_image_in *in, size_t n); /* NULL (and bad) past the end */
uint64_t hl_image_get_u64(hl_image_in *in);
/* A u64 that must be < limit; sets bad otherwise. */
uint64_t hl_image_get_below(hl_image_in *in, uint64_t limit);

/* ---- the pointer codec ---- */

typedef struct hl_image_codec hl_image_codec;

typedef enum hl_fix_kind {
    HL_FIX_PTR,     /* a pointer or NULL */
    HL_FIX_STALE,   /* a link nothing reads any more: what it held becomes NULL */
    HL_FIX_FLAGGED, /* a pointer with flag bits in its low two bits (PyGC_Head.prev) */
} hl_fix_kind;

/* Saving: writes the code for the pointer in *slot into the image's copy of
 * the slot's memory and returns the live pointer, for the walker to follow.
 * Loading: replaces the code in *slot by the address and returns it. */
void *hl_image_fix(hl_image_codec *c, void *slot, hl_fix_kind kind);

/* Codes of pointers kept outside the copied memory (the heap's fields). */
uint64_t hl_image_encode(hl_image_codec *c, const void *p);
void *hl_image_decode(hl_image_codec *c, uint64_t code);

/* A span of memory the image copies, and what its bytes are now. */
typedef struct hl_image_region {
    uintptr_t start;    /* live address while saving, new address while loading */
    size_t len;
    uint8_t *copy;      /* saving: the bytes to write; loading: NULL (decoded in place) */
    uint32_t tag;       /* HL_IMAGE_ARENA or HL_IMAGE_RAW */
    uint32_t index;     /* arena vector slot or raw block number */
} hl_image_region;

#define HL_IMAGE_ARENA 1u
#define HL_IMAGE_RAW 2u

typedef struct hl_image_start {
    uintptr_t start;
    size_t region;
} hl_image_start;

struct hl_heap;
struct hl_object;

struct hl_image_codec {
    struct hl_heap *h;
    bool loading;
    bool bad;                  /* a pointer that belongs to no region */
    hl_image_region *regions;
    size_t nregions, cap;
    hl_image_start *by_start;  /* regions sorted by address */
    size_t *arena_region;      /* arena slot -> region number + 1 */
    size_t narena_slots;
    size_t *raw_region;        /* raw block number -> region number */
    size_t nraw;
};

bool hl_image_codec_add(hl_image_codec *c, const hl_image_region *r);
/* Call once every region is added: arena_slots = the arena vector's length. */
bool hl_image_codec_index(hl_image_codec *c, size_t arena_slots);
void hl_image_codec_free(hl_image_codec *c);
bool hl_image_loading(const hl_image_codec *c);

extern const char hl_image_magic[8];

/* ---- the objects' part (image.c) ---- */

/* Fixes every pointer slot of every live and parked object. */
void hl_image_walk_objects(hl_image_codec *c);
/* Calls fn for each malloc'd (raw) block a live object owns. */
typedef void (*hl_image_raw_fn)(hl_image_codec *c, void *block, size_t n);
void hl_image_raw_parts(hl_image_codec *c, struct hl_object *o, hl_image_raw_fn fn);
void hl_image_add_raw_copy(hl_image_codec *c, void *block, size_t n);

/* Every pointer field of the heap itself, in the one order both sides use. */
typedef void (*hl_image_field_fn)(hl_image_codec *c, void **field, void *stream);
void hl_image_each_heap_field(hl_image_codec *c, hl_image_field_fn fn, void *stream);

/* The counters, in the one order save and load share. */
#define HL_IMAGE_HEAP_COUNTERS(X, h)                                                                                   \
    X((h)->cfg.max_objects) X((h)->cfg.max_bytes) X((h)->last_id) X((h)->long_lived_total)                  \
    X((h)->long_lived_pending) X((h)->last_collect.collected) X((h)->last_collect.uncollectable)              \
    X((h)->last_collect.examined) X((h)->last_collect.duration_ns)


/* ---- the allocator's part (alloc_image.c) ---- */

#include "alloc.h"

/* Regions for the carved span of every mapped arena, with copies made
 * (free blocks and never-carved space zeroed in the copy). */
bool hl_alloc_image_regions(const hl_alloc *a, hl_image_codec *c, size_t *arena_slots);
/* Arena vector, lists and counters; every pointer as a code. */
void hl_alloc_image_save_meta(const hl_alloc *a, hl_image_codec *c, hl_image_out *o);
/* Maps each saved arena at the heap's phase and registers its region. */
bool hl_alloc_image_load_meta(hl_alloc *a, hl_image_codec *c, hl_image_in *in, size_t *arena_slots);
/* Encodes or decodes pool headers and every free block's link. */
void hl_alloc_image_fix_pools(hl_alloc *a, hl_image_codec *c);
/* After loading: poisons free and never-carved memory as the allocator
 * would have (AddressSanitizer builds only). */
void hl_alloc_image_poison(hl_alloc *a);
/* Loading: the carved bytes that follow the metadata, copied into place. */
bool hl_alloc_image_load_bytes(hl_alloc *a, hl_image_in *in);

#endif
