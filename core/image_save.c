/* image_save.c — writing a heap image (layout in image.c). */
#include "image_internal.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the heap's own fields ---- */

static void put_str(hl_image_out *o, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    hl_image_put_u64(o, s ? n + 1 : 0);
    hl_image_put(o, s, n);
}

static bool put_class(void *ctx, const char *key, void *value)
{
    hl_image_out *o = ctx;
    const hl_class *cls = value;
    put_str(o, key);
    put_str(o, cls->name);
    put_str(o, cls->resurrect);
    hl_image_put_u64(o, cls->finalizer);
    hl_image_put_u64(o, cls->nattrs);
    for (uint32_t i = 0; i < cls->nattrs; i++)
        put_str(o, cls->attr[i]);
    return true;
}

static void put_heap_fields(hl_image_codec *c, hl_image_out *o)
{
    hl_heap *h = c->h;
#define PUT(field) hl_image_put_u64(o, (uint64_t)(field));
    HL_IMAGE_HEAP_COUNTERS(PUT, h)
#undef PUT
    const int64_t small[] = {h->cfg.thresholds[0], h->cfg.thresholds[1], h->cfg.thresholds[2], h->cfg.gc_enabled,
                             hl_alloc_phase(h->alloc), h->gc_enabled, h->last_collect.generation,
                             h->last_collect.automatic, h->list_nfree, h->dict_nfree, h->keys_nfree, h->float_nfree,
                             h->cfg.profile};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        hl_image_put_u64(o, (uint64_t)small[i]);
    for (int i = 0; i < HL_TYPE_COUNT; i++)
        hl_image_put_u64(o, h->live_by_type[i]);
    for (int i = 0; i < 3; i++) {
        const uint64_t g[] = {(uint64_t)h->gen[i].threshold, (uint64_t)h->gen[i].count, h->stats[i].collections,
                              h->stats[i].collected, h->stats[i].uncollectable};
        hl_image_put(o, g, sizeof g);
    }
    for (int i = 0; i < HL_TUPLE_FREELIST_SIZES; i++)
        hl_image_put_u64(o, (uint64_t)h->tuple_nfree[i]);
}

static void put_field(hl_image_codec *c, void **field, void *stream)
{
    hl_image_put_u64(stream, hl_image_encode(c, *field));
}

typedef struct put_ctx {
    hl_image_codec *c;
    hl_image_out *o;
} put_ctx;

static bool put_name(void *ctx, const char *key, void *value)
{
    put_ctx *p = ctx;
    put_str(p->o, key);
    hl_image_put_u64(p->o, hl_image_encode(p->c, value));
    return true;
}

/* ---- saving ---- */

static void put_tables(hl_image_codec *c, hl_image_out *o)
{
    hl_heap *h = c->h;
    hl_image_each_heap_field(c, put_field, o);
    put_ctx p = {c, o};
    hl_image_put_u64(o, h->names.live);
    hl_strmap_each(&h->names, put_name, &p);
    hl_image_put_u64(o, h->ids.live);
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0; id = hl_idmap_next(&h->ids, id)) {
        hl_image_put_u64(o, id);
        hl_image_put_u64(o, hl_image_encode(c, hl_idmap_get(&h->ids, id)));
    }
}

static void put_regions(hl_image_codec *c, hl_image_out *o, uint32_t tag)
{
    for (size_t i = 0; i < c->nregions; i++)
        if (c->regions[i].tag == tag)
            hl_image_put(o, c->regions[i].copy, c->regions[i].len);
}

static hl_image_status save_with(hl_image_codec *c, hl_image_out *o)
{
    hl_heap *h = c->h;
    size_t arena_slots;
    if (!hl_alloc_image_regions(h->alloc, c, &arena_slots))
        return HL_IMAGE_NOMEM;
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0 && !c->bad; id = hl_idmap_next(&h->ids, id))
        hl_image_raw_parts(c, hl_idmap_get(&h->ids, id), hl_image_add_raw_copy);
    if (c->bad || !hl_image_codec_index(c, arena_slots))
        return HL_IMAGE_NOMEM;
    hl_alloc_image_fix_pools(h->alloc, c);
    hl_image_walk_objects(c);
    if (c->bad)
        return HL_IMAGE_MALFORMED; /* a pointer outside the heap: a bug, not a state to save */
    hl_image_put(o, hl_image_magic, sizeof hl_image_magic);
    hl_image_put_u64(o, sizeof(void *));
    put_heap_fields(c, o);
    hl_image_put_u64(o, h->classes.live);
    hl_strmap_each(&h->classes, put_class, o);
    hl_alloc_image_save_meta(h->alloc, c, o);
    hl_image_put_u64(o, c->nraw);
    for (size_t i = 0; i < c->nregions; i++)
        if (c->regions[i].tag == HL_IMAGE_RAW)
            hl_image_put_u64(o, c->regions[i].len);
    put_tables(c, o);
    put_regions(c, o, HL_IMAGE_ARENA);
    put_regions(c, o, HL_IMAGE_RAW);
    return c->bad ? HL_IMAGE_MALFORMED : o->failed ? HL_IMAGE_WRITE : HL_IMAGE_OK;
}

hl_image_status hl_image_save(hl_heap *h, hl_image_sink sink, void *ctx)
{
    if (h->collecting || h->trash_later != NULL)
        return HL_IMAGE_MALFORMED;
    hl_image_codec c = {.h = h};
    hl_image_out o = {sink, ctx, false};
    hl_image_status st = save_with(&c, &o);
    hl_alloc_image_poison(h->alloc);
    hl_image_codec_free(&c);
    return st;
}

