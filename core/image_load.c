/* image_load.c — reading a heap image back (layout in image.c).
 *
 * Everything is read into place first, pointers still as codes; then one
 * pass turns codes into addresses, the same walk that made them.  Until that
 * pass is over no object may be followed, so a failed load tears the heap
 * down by its tables and mappings, never through its objects.
 */
#include "image_internal.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STR ((uint64_t)1 << 20)

static char *get_str(hl_image_in *in, bool *present)
{
    uint64_t n = hl_image_get_below(in, MAX_STR);
    *present = n != 0;
    if (n == 0)
        return NULL;
    const char *p = hl_image_take(in, n - 1);
    char *s = p != NULL && memchr(p, '\0', n - 1) == NULL ? malloc(n) : NULL;
    if (s == NULL) {
        in->bad = true;
        return NULL;
    }
    memcpy(s, p, n - 1);
    s[n - 1] = '\0';
    return s;
}

static int get_int(hl_image_in *in, int64_t lo, int64_t hi)
{
    int64_t v = (int64_t)hl_image_get_u64(in);
    if (v < lo || v > hi) {
        in->bad = true;
        return 0;
    }
    return (int)v;
}

static void get_heap_fields(hl_heap *h, hl_image_in *in)
{
#define GET(field) (field) = hl_image_get_u64(in);
    HL_IMAGE_HEAP_COUNTERS(GET, h)
#undef GET
    for (int i = 0; i < 3; i++)
        h->cfg.thresholds[i] = get_int(in, 0, INT32_MAX);
    h->cfg.gc_enabled = get_int(in, 0, 1);
    h->cfg.arena_phase = get_int(in, -1, HL_ALLOC_POOL_SIZE - 1);
    h->gc_enabled = get_int(in, 0, 1);
    h->last_collect.generation = get_int(in, -1, 2);
    h->last_collect.automatic = get_int(in, 0, 1);
    h->list_nfree = get_int(in, 0, HL_LIST_FREELIST);
    h->dict_nfree = get_int(in, 0, HL_DICT_FREELIST);
    h->keys_nfree = get_int(in, 0, HL_KEYS_FREELIST);
    h->float_nfree = get_int(in, 0, HL_FLOAT_FREELIST);
    h->cfg.profile = (hl_profile)get_int(in, 0, HL_PROFILE_COUNT - 1);
    for (int i = 0; i < HL_TYPE_COUNT; i++)
        h->live_by_type[i] = hl_image_get_u64(in);
    for (int i = 0; i < 3; i++) {
        h->gen[i].threshold = get_int(in, 0, INT32_MAX);
        h->gen[i].count = (int64_t)hl_image_get_u64(in);
        h->stats[i].collections = hl_image_get_u64(in);
        h->stats[i].collected = hl_image_get_u64(in);
        h->stats[i].uncollectable = hl_image_get_u64(in);
    }
    for (int i = 0; i < HL_TUPLE_FREELIST_SIZES; i++)
        h->tuple_nfree[i] = get_int(in, 0, HL_TUPLE_FREELIST);
}

static bool get_class(hl_image_codec *c, hl_image_in *in)
{
    bool present, ok = true;
    char *key = get_str(in, &present);
    hl_class *cls = calloc(1, sizeof *cls);
    if (cls == NULL || key == NULL) {
        free(key);
        free(cls);
        return false;
    }
    cls->name = get_str(in, &present);
    cls->resurrect = get_str(in, &present);
    cls->finalizer = get_int(in, 0, 1);
    cls->nattrs = (uint32_t)get_int(in, 0, HL_CLASS_MAX_ATTRS);
    for (uint32_t i = 0; i < cls->nattrs && !in->bad; i++)
        ok = (cls->attr[i] = get_str(in, &present)) != NULL && ok;
    /* The class map owns the class from here on, so a failure frees it with the rest. */
    cls->number = (uint16_t)c->h->classes.nentries;
    if (!hl_strmap_put(&c->h->classes, key, cls)) {
        cls->nattrs = 0;
        free(cls->name);
        free(cls->resurrect);
        free(cls);
        ok = false;
    }
    free(key);
    return ok && cls->name != NULL && !in->bad;
}

static bool get_classes(hl_image_codec *c, hl_image_in *in)
{
    uint64_t n = hl_image_get_below(in, UINT16_MAX);
    for (uint64_t i = 0; i < n; i++)
        if (!get_class(c, in))
            return false;
    return true;
}

static bool get_raw_blocks(hl_image_codec *c, hl_image_in *in)
{
    uint64_t n = hl_image_get_below(in, (uint64_t)1 << 28);
    for (uint64_t i = 0; i < n && !in->bad; i++) {
        uint64_t len = hl_image_get_below(in, (uint64_t)1 << 32);
        if (len <= HL_ALLOC_SMALL_MAX)
            return false;
        hl_image_region r = {0, (size_t)len, NULL, HL_IMAGE_RAW, (uint32_t)i};
        void *block = malloc(len);
        r.start = (uintptr_t)block;
        if (block == NULL || !hl_image_codec_add(c, &r)) {
            free(block);
            return false;
        }
        c->nraw++;
    }
    return !in->bad;
}

static void get_field(hl_image_codec *c, void **field, void *stream)
{
    *field = hl_image_decode(c, hl_image_get_u64(stream));
}

static bool get_tables(hl_image_codec *c, hl_image_in *in)
{
    hl_heap *h = c->h;
    hl_image_each_heap_field(c, get_field, in);
    uint64_t n = hl_image_get_u64(in);
    for (uint64_t i = 0; i < n && !in->bad && !c->bad; i++) {
        bool present;
        char *name = get_str(in, &present);
        void *o = hl_image_decode(c, hl_image_get_u64(in));
        bool ok = name != NULL && o != NULL && hl_strmap_put(&h->names, name, o);
        free(name);
        if (!ok)
            return false;
    }
    n = hl_image_get_u64(in);
    for (uint64_t i = 0; i < n && !in->bad && !c->bad; i++) {
        uint64_t id = hl_image_get_u64(in);
        void *o = hl_image_decode(c, hl_image_get_u64(in));
        if (id == 0 || id > h->last_id || o == NULL || !hl_idmap_put(&h->ids, id, o))
            return false;
    }
    return !in->bad && !c->bad;
}

static bool get_raw_bytes(hl_image_codec *c, hl_image_in *in)
{
    for (size_t i = 0; i < c->nraw; i++) {
        const hl_image_region *r = &c->regions[c->raw_region[i]];
        const void *bytes = hl_image_take(in, r->len);
        if (bytes == NULL)
            return false;
        memcpy((void *)r->start, bytes, r->len);
    }
    return true;
}

static bool load_into(hl_image_codec *c, hl_image_in *in, const char **stage)
{
    hl_heap *h = c->h;
    size_t arena_slots = 0;
    const void *m = hl_image_take(in, sizeof hl_image_magic);
    *stage = "header";
    if (m == NULL || memcmp(m, hl_image_magic, sizeof hl_image_magic) != 0 || hl_image_get_u64(in) != sizeof(void *))
        return false;
    *stage = "heap fields";
    get_heap_fields(h, in);
    *stage = "classes";
    if (in->bad || !get_classes(c, in))
        return false;
    *stage = "allocator";
    if (!hl_alloc_image_load_meta(h->alloc, c, in, &arena_slots))
        return false;
    *stage = "raw blocks";
    if (!get_raw_blocks(c, in) || !hl_image_codec_index(c, arena_slots))
        return false;
    *stage = "names and ids";
    if (!get_tables(c, in))
        return false;
    *stage = "memory";
    if (!hl_alloc_image_load_bytes(h->alloc, in) || !get_raw_bytes(c, in) || in->p != in->end)
        return false;
    *stage = "pointers";
    hl_alloc_image_fix_pools(h->alloc, c);
    hl_image_walk_objects(c);
    return !c->bad;
}

/* Tears down a heap whose pointers may still be codes. */
static void abandon(hl_image_codec *c)
{
    hl_heap *h = c->h;
    for (size_t i = 0; i < c->nregions; i++)
        if (c->regions[i].tag == HL_IMAGE_RAW)
            free((void *)c->regions[i].start);
    hl_idmap_free(&h->ids);
    hl_strmap_free(&h->names);
    hl_classes_free(h);
    hl_alloc_delete(h->alloc);
    free(h);
}

hl_image_status hl_image_load(const void *image, size_t len, hl_heap **out, char *why, size_t why_cap)
{
    *out = NULL;
    hl_heap *h = hl_heap_new(NULL);
    if (h == NULL)
        return HL_IMAGE_NOMEM;
    hl_image_codec c = {.h = h, .loading = true};
    hl_image_in in = {image, (const uint8_t *)image + len, false};
    const char *stage = "header";
    bool ok = load_into(&c, &in, &stage);
    if (!ok) {
        snprintf(why, why_cap, "heap image unreadable at its %s (byte %zu of %zu)", stage,
                 (size_t)(in.p - (const uint8_t *)image), len);
        abandon(&c);
        hl_image_codec_free(&c);
        return HL_IMAGE_MALFORMED;
    }
    hl_alloc_image_poison(h->alloc);
    hl_image_codec_free(&c);
    char check[200];
    if (!hl_heap_check(h, check, sizeof check)) {
        snprintf(why, why_cap, "heap image loads but fails the heap check: %s", check);
        hl_heap_delete(h);
        return HL_IMAGE_MALFORMED;
    }
    *out = h;
    return HL_IMAGE_OK;
}
