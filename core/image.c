/* image.c — heap images: the codec, the heap's own fields and the objects.
 * The allocator's part is alloc_image.c; the layout is drawn in
 * image_internal.h.
 *
 * Image layout (native-endian u64 words unless said):
 *   magic "HLIMG002" (002: profiles and allocator peaks), pointer size
 *   config, collector and free-list counters
 *   classes (shared keys included), allocator metadata, raw block sizes
 *   codes of the heap's pointer fields: gc list heads, caches, free lists
 *   names in binding order, live ids with the code of each object
 *   carved arena bytes, raw block bytes (pointers inside replaced by codes)
 *
 * A code is (tag << 60) | payload: an arena slot and offset from its first
 * pool, a raw block number and offset, a list head of the heap or the set
 * dummy (instances name their class by number, so classes need no code).
 * Every pointer is 16-byte aligned, so the low bits stay free for
 * PyGC_Head's flags.
 */
#include "image_internal.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define CODE_ARENA 1u
#define CODE_RAW 2u
#define CODE_ANCHOR 3u
#define CODE_DUMMY 4u
#define CODE_STALE 15u
#define CODE_TAG(code) ((unsigned)((code) >> 60))
#define CODE_PAYLOAD(code) ((code) & (((uint64_t)1 << 60) - 1))
#define CODE(tag, payload) (((uint64_t)(tag) << 60) | (payload))
#define ANCHORS 4 /* three generations and the permanent one */

/* The heap's gc list heads, which gc links point at from outside memory. */
static hl_gc_head *anchor(hl_heap *h, unsigned k)
{
    return k < 3 ? &h->gen[k].head : &h->permanent;
}

const char hl_image_magic[8] = {'H', 'L', 'I', 'M', 'G', '0', '0', '2'};


/* ---- streams ---- */

void hl_image_put(hl_image_out *o, const void *p, size_t n)
{
    if (!o->failed && n > 0 && !o->sink(o->ctx, p, n))
        o->failed = true;
}

void hl_image_put_u64(hl_image_out *o, uint64_t v)
{
    hl_image_put(o, &v, sizeof v);
}

const void *hl_image_take(hl_image_in *in, size_t n)
{
    if (in->bad || (size_t)(in->end - in->p) < n) {
        in->bad = true;
        return NULL;
    }
    const void *p = in->p;
    in->p += n;
    return p;
}

uint64_t hl_image_get_u64(hl_image_in *in)
{
    uint64_t v = 0;
    const void *p = hl_image_take(in, sizeof v);
    if (p != NULL)
        memcpy(&v, p, sizeof v);
    return v;
}

uint64_t hl_image_get_below(hl_image_in *in, uint64_t limit)
{
    uint64_t v = hl_image_get_u64(in);
    if (v >= limit) {
        in->bad = true;
        return 0;
    }
    return v;
}

/* ---- the codec ---- */

bool hl_image_codec_add(hl_image_codec *c, const hl_image_region *r)
{
    if (c->nregions == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        hl_image_region *v = realloc(c->regions, cap * sizeof *v);
        if (v == NULL)
            return false;
        c->regions = v;
        c->cap = cap;
    }
    c->regions[c->nregions++] = *r;
    return true;
}

bool hl_image_loading(const hl_image_codec *c)
{
    return c->loading;
}

static int by_start_cmp(const void *a, const void *b)
{
    uintptr_t x = ((const hl_image_start *)a)->start, y = ((const hl_image_start *)b)->start;
    return (x > y) - (x < y);
}

bool hl_image_codec_index(hl_image_codec *c, size_t arena_slots)
{
    c->by_start = malloc((c->nregions + 1) * sizeof *c->by_start);
    c->arena_region = calloc(arena_slots + 1, sizeof *c->arena_region);
    c->raw_region = malloc((c->nraw + 1) * sizeof *c->raw_region);
    if (c->by_start == NULL || c->arena_region == NULL || c->raw_region == NULL)
        return false;
    c->narena_slots = arena_slots;
    for (size_t i = 0; i < c->nregions; i++) {
        const hl_image_region *r = &c->regions[i];
        c->by_start[i] = (hl_image_start){r->start, i};
        if (r->tag == HL_IMAGE_ARENA)
            c->arena_region[r->index] = i + 1;
        else
            c->raw_region[r->index] = i;
    }
    qsort(c->by_start, c->nregions, sizeof *c->by_start, by_start_cmp);
    return true;
}

static const hl_image_region *region_of(const hl_image_codec *c, uintptr_t p)
{
    size_t lo = 0, hi = c->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->by_start[mid].start <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const hl_image_region *r = &c->regions[c->by_start[lo - 1].region];
    return p - r->start < r->len ? r : NULL;
}

static bool encode_known(hl_image_codec *c, const void *p, uint64_t *out)
{
    for (unsigned k = 0; k < ANCHORS; k++)
        if (p == anchor(c->h, k)) {
            *out = CODE(CODE_ANCHOR, (uint64_t)k << 4);
            return true;
        }
    if (p == hl_set_dummy()) {
        *out = CODE(CODE_DUMMY, 0);
        return true;
    }
    const hl_image_region *r = region_of(c, (uintptr_t)p);
    if (r != NULL) {
        uint64_t off = (uintptr_t)p - r->start;
        *out = r->tag == HL_IMAGE_ARENA ? CODE(CODE_ARENA, ((uint64_t)r->index << 20) | off)
                                        : CODE(CODE_RAW, ((uint64_t)r->index << 32) | off);
        return true;
    }
    return false;
}

uint64_t hl_image_encode(hl_image_codec *c, const void *p)
{
    uint64_t code = 0;
    if (p != NULL && !encode_known(c, p, &code))
        c->bad = true;
    return code;
}

static void *decode_region(hl_image_codec *c, const hl_image_region *r, uint64_t off)
{
    if (r == NULL || off >= r->len) {
        c->bad = true;
        return NULL;
    }
    return (void *)(r->start + off);
}

void *hl_image_decode(hl_image_codec *c, uint64_t code)
{
    uint64_t payload = CODE_PAYLOAD(code);
    switch (code == 0 ? 0u : CODE_TAG(code)) {
    case 0:
    case CODE_STALE:
        return NULL;
    case CODE_ARENA: {
        uint64_t slot = payload >> 20;
        size_t k = slot < c->narena_slots ? c->arena_region[slot] : 0;
        return decode_region(c, k ? &c->regions[k - 1] : NULL, payload & 0xfffff);
    }
    case CODE_RAW: {
        uint64_t n = payload >> 32;
        return decode_region(c, n < c->nraw ? &c->regions[c->raw_region[n]] : NULL, payload & 0xffffffffu);
    }
    case CODE_ANCHOR:
        if ((payload >> 4) < ANCHORS)
            return anchor(c->h, (unsigned)(payload >> 4));
        break;
    case CODE_DUMMY:
        return (void *)hl_set_dummy();
    default:
        break;
    }
    c->bad = true;
    return NULL;
}

void *hl_image_fix(hl_image_codec *c, void *slot, hl_fix_kind kind)
{
    uint64_t word;
    memcpy(&word, slot, sizeof word);
    uint64_t flags = kind == HL_FIX_FLAGGED ? word & 3 : 0;
    word -= flags;
    if (c->loading) {
        void *p = hl_image_decode(c, word);
        uintptr_t v = (uintptr_t)p | (uintptr_t)flags;
        memcpy(slot, &v, sizeof v);
        return p;
    }
    void *p = (void *)(uintptr_t)word;
    uint64_t code = 0;
    if (p != NULL && !encode_known(c, p, &code)) {
        if (kind != HL_FIX_STALE)
            c->bad = true;
        code = CODE(CODE_STALE, 0);
    }
    code |= flags;
    const hl_image_region *r = region_of(c, (uintptr_t)slot);
    if (r == NULL)
        c->bad = true;
    else
        memcpy(r->copy + ((uintptr_t)slot - r->start), &code, sizeof code);
    return p;
}

void hl_image_codec_free(hl_image_codec *c)
{
    for (size_t i = 0; i < c->nregions; i++)
        free(c->regions[i].copy);
    free(c->regions);
    free(c->by_start);
    free(c->arena_region);
    free(c->raw_region);
}

/* ---- walking the objects' pointers ---- */

static void fix_array(hl_image_codec *c, void *items, uint64_t n, hl_fix_kind kind)
{
    for (uint64_t i = 0; i < n; i++)
        hl_image_fix(c, (hl_object **)items + i, kind);
}

static void walk_object(hl_image_codec *c, hl_object *o, bool parked)
{
    if (hl_type_is_gc((hl_type)o->type)) {
        hl_gc_head *g = hl_as_gc(o);
        hl_image_fix(c, &g->next, HL_FIX_PTR);
        hl_image_fix(c, &g->prev, HL_FIX_FLAGGED);
    }
    switch ((hl_type)o->type) {
    case HL_TUPLE: {
        hl_tuple *t = (hl_tuple *)o; /* parked: items[0] links the free list, the rest is stale */
        fix_array(c, t->items, t->size, parked ? HL_FIX_STALE : HL_FIX_PTR);
        break;
    }
    case HL_LIST: {
        hl_list *l = (hl_list *)o;
        hl_object **items = hl_image_fix(c, &l->items, HL_FIX_PTR);
        /* a parked list gave its item array back but keeps its old size */
        if (items != NULL && !parked)
            fix_array(c, items, l->size, HL_FIX_PTR);
        break;
    }
    case HL_DICT: {
        hl_dict *d = (hl_dict *)o;
        hl_dict_keys *k = hl_image_fix(c, &d->keys, HL_FIX_PTR);
        size_t n = 0;
        hl_object **slots = k != NULL ? hl_dict_keys_slots(k, &n) : NULL;
        fix_array(c, slots, n, HL_FIX_PTR);
        break;
    }
    case HL_SET: {
        hl_set *s = (hl_set *)o;
        hl_set_entry *table = hl_image_fix(c, &s->table, HL_FIX_PTR);
        hl_image_fix(c, &s->weakrefs, HL_FIX_PTR);
        for (uint64_t i = 0; table != NULL && i <= s->mask; i++)
            hl_image_fix(c, &table[i].key, HL_FIX_PTR);
        break;
    }
    case HL_INSTANCE: {
        hl_instance *in = (hl_instance *)o;
        hl_image_fix(c, &in->weakrefs, HL_FIX_PTR);
        hl_instance_values *v = hl_image_fix(c, &in->values, HL_FIX_PTR);
        if (v != NULL)
            fix_array(c, v->slot, HL_CLASS_MAX_ATTRS, HL_FIX_PTR);
        break;
    }
    case HL_WEAKREF: {
        hl_weakref *w = (hl_weakref *)o;
        hl_image_fix(c, &w->target, HL_FIX_PTR);
        hl_image_fix(c, &w->prev, HL_FIX_PTR);
        hl_image_fix(c, &w->next, HL_FIX_PTR);
        break;
    }
    default:
        break;
    }
}

void hl_image_walk_objects(hl_image_codec *c)
{
    hl_heap *h = c->h;
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0 && !c->bad; id = hl_idmap_next(&h->ids, id))
        walk_object(c, hl_idmap_get(&h->ids, id), false);
    for (int i = 0; i < h->list_nfree; i++)
        walk_object(c, &h->list_free[i]->ob, true);
    for (int i = 0; i < h->dict_nfree; i++)
        walk_object(c, &h->dict_free[i]->ob, true);
    for (int i = 0; i < HL_TUPLE_FREELIST_SIZES; i++)
        for (hl_tuple *t = h->tuple_free[i]; t != NULL && !c->bad; t = (hl_tuple *)t->items[0])
            walk_object(c, &t->ob, true);
}

/* ---- raw blocks: every malloc'd block a live object owns ---- */

void hl_image_raw_parts(hl_image_codec *c, hl_object *o, hl_image_raw_fn fn)
{
    size_t n = hl_object_block_size(o);
    if (hl_alloc_size_class(n) < 0)
        fn(c, hl_object_block(o), n);
    if (o->type == HL_LIST) {
        hl_list *l = (hl_list *)o;
        if (l->items != NULL && hl_alloc_size_class(l->allocated * sizeof(hl_object *)) < 0)
            fn(c, l->items, l->allocated * sizeof(hl_object *));
    } else if (o->type == HL_DICT) {
        hl_dict *d = (hl_dict *)o;
        if (d->keys != NULL && hl_alloc_size_class(hl_dict_storage_size(d)) < 0)
            fn(c, d->keys, hl_dict_storage_size(d));
    } else if (o->type == HL_SET) {
        hl_set *s = (hl_set *)o;
        size_t tn = (s->mask + 1) * sizeof(hl_set_entry);
        if (s->table != s->smalltable && hl_alloc_size_class(tn) < 0)
            fn(c, s->table, tn);
    }
}

void hl_image_add_raw_copy(hl_image_codec *c, void *block, size_t n)
{
    hl_image_region r = {(uintptr_t)block, n, malloc(n), HL_IMAGE_RAW, (uint32_t)c->nraw};
    if (r.copy == NULL || !hl_image_codec_add(c, &r)) {
        free(r.copy);
        c->bad = true;
        return;
    }
    memcpy(r.copy, block, n);
    c->nraw++;
}


/* Every pointer field of the heap, visited in one order by both sides. */
void hl_image_each_heap_field(hl_image_codec *c, hl_image_field_fn fn, void *stream)
{
    hl_heap *h = c->h;
    for (unsigned k = 0; k < ANCHORS; k++) {
        fn(c, (void **)&anchor(h, k)->next, stream);
        fn(c, (void **)&anchor(h, k)->prev, stream);
    }
    for (size_t i = 0; i < sizeof h->small_ints / sizeof h->small_ints[0]; i++)
        fn(c, (void **)&h->small_ints[i], stream);
    fn(c, (void **)&h->empty_tuple, stream);
    for (int i = 0; i < h->list_nfree; i++)
        fn(c, (void **)&h->list_free[i], stream);
    for (int i = 0; i < h->dict_nfree; i++)
        fn(c, (void **)&h->dict_free[i], stream);
    for (int i = 0; i < h->keys_nfree; i++)
        fn(c, (void **)&h->keys_free[i], stream);
    for (int i = 0; i < h->float_nfree; i++)
        fn(c, (void **)&h->float_free[i], stream);
    for (int i = 0; i < HL_TUPLE_FREELIST_SIZES; i++)
        fn(c, (void **)&h->tuple_free[i], stream);
}
