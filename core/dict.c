/* dict.c — str-keyed dicts laid out as CPython 3.11's unicode-keys dicts.
 *
 * A dict object (64 bytes) points to a separate keys block: a 32-byte
 * header, an index table of 1/2/4/8-byte slots, then up to 2/3 of the table
 * size in 16-byte (key, value) entries kept in insertion order.  An empty
 * dict shares no keys block (CPython's Py_EMPTY_KEYS).  Growth, deletion
 * (dummy slots, entries kept until the next resize), presizing of literals,
 * the free lists (80 dicts, 80 minimum-size keys blocks) and lazy GC
 * tracking follow dictobject.c, so sys.getsizeof and gc.is_tracked agree.
 */
#include "internal.h"

#include <string.h>

#define LOG_MINSIZE 3
#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
#define PERTURB_SHIFT 5

struct hl_dict_keys {
    uint8_t log2_size;
    uint8_t log2_index_bytes;
    uint8_t pad[6];
    int64_t usable;
    int64_t nentries;
    int64_t spare;
    unsigned char indices[];
};

typedef struct dict_entry {
    hl_object *key;
    hl_object *value;
} dict_entry;

static dict_entry *entries(const hl_dict_keys *k);

hl_object **hl_dict_keys_slots(hl_dict_keys *k, size_t *n)
{
    *n = 2 * (size_t)k->nentries;
    return (hl_object **)(void *)entries(k);
}

static int64_t usable_fraction(int64_t n)
{
    return (n << 1) / 3;
}

static uint8_t index_bytes_log2(uint8_t log2_size)
{
    return log2_size < 8 ? 0 : log2_size < 16 ? 1 : log2_size < 32 ? 2 : 3;
}

static size_t keys_size(uint8_t log2_size)
{
    size_t index_bytes = (size_t)1 << (log2_size + index_bytes_log2(log2_size));
    return 32 + index_bytes + (size_t)usable_fraction((int64_t)1 << log2_size) * sizeof(dict_entry);
}

size_t hl_dict_keys_size_min(void)
{
    return keys_size(LOG_MINSIZE);
}

static dict_entry *entries(const hl_dict_keys *k)
{
    return (dict_entry *)(k->indices + ((size_t)1 << k->log2_index_bytes));
}

static int64_t get_index(const hl_dict_keys *k, size_t i)
{
    switch (k->log2_index_bytes - k->log2_size) {
    case 0:
        return (int8_t)k->indices[i];
    case 1: {
        int16_t v;
        memcpy(&v, k->indices + 2 * i, 2);
        return v;
    }
    case 2: {
        int32_t v;
        memcpy(&v, k->indices + 4 * i, 4);
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, k->indices + 8 * i, 8);
        return v;
    }
    }
}

static void set_index(hl_dict_keys *k, size_t i, int64_t ix)
{
    switch (k->log2_index_bytes - k->log2_size) {
    case 0:
        k->indices[i] = (unsigned char)(int8_t)ix;
        break;
    case 1:
        memcpy(k->indices + 2 * i, &(int16_t){(int16_t)ix}, 2);
        break;
    case 2:
        memcpy(k->indices + 4 * i, &(int32_t){(int32_t)ix}, 4);
        break;
    default:
        memcpy(k->indices + 8 * i, &ix, 8);
        break;
    }
}

static hl_dict_keys *keys_new(hl_heap *h, uint8_t log2_size)
{
    hl_dict_keys *k;
    if (log2_size == LOG_MINSIZE && h->keys_nfree > 0)
        k = h->keys_free[--h->keys_nfree];
    else if ((k = hl_alloc_malloc(h->alloc, keys_size(log2_size))) == NULL)
        return NULL;
    k->log2_size = log2_size;
    k->log2_index_bytes = (uint8_t)(log2_size + index_bytes_log2(log2_size));
    k->usable = usable_fraction((int64_t)1 << log2_size);
    k->nentries = 0;
    memset(k->indices, 0xff, (size_t)1 << k->log2_index_bytes);
    memset(entries(k), 0, (size_t)k->usable * sizeof(dict_entry));
    return k;
}

static void keys_free_block(hl_heap *h, hl_dict_keys *k)
{
    if (k->log2_size == LOG_MINSIZE && h->keys_nfree < HL_KEYS_FREELIST)
        h->keys_free[h->keys_nfree++] = k;
    else
        hl_alloc_free(h->alloc, k, keys_size(k->log2_size));
}

/* Drops a keys block and the references in it, keys and values in entry
 * order (free_keys_object). */
static void keys_release(hl_heap *h, hl_dict_keys *k)
{
    dict_entry *e = entries(k);
    for (int64_t i = 0; i < k->nentries; i++) {
        if (e[i].key != NULL)
            hl_decref(h, e[i].key);
        if (e[i].value != NULL)
            hl_decref(h, e[i].value);
    }
    keys_free_block(h, k);
}

static uint8_t log2_keysize(uint64_t minsize)
{
    uint64_t m = (minsize | 8) - 1;
    uint8_t bits = 0;
    while (m) {
        bits++;
        m >>= 1;
    }
    return bits;
}

hl_object *hl_dict_new(hl_heap *h, size_t presize)
{
    hl_dict_keys *keys = NULL;
    if (presize > (size_t)usable_fraction(8)) {
        keys = keys_new(h, log2_keysize((presize * 3 + 1) / 2));
        if (keys == NULL)
            return NULL;
    }
    hl_dict *d;
    if (h->dict_nfree > 0 && hl_object_revive(h, &h->dict_free[h->dict_nfree - 1]->ob)) {
        d = h->dict_free[--h->dict_nfree];
    } else if ((d = (hl_dict *)hl_object_new(h, HL_DICT, HL_SIZE_DICT)) == NULL) {
        if (keys != NULL)
            keys_free_block(h, keys);
        return NULL;
    }
    d->used = 0;
    d->keys = keys;
    return &d->ob;
}

size_t hl_dict_sizeof(const hl_dict *d)
{
    return HL_SIZE_DICT + (d->keys != NULL ? keys_size(d->keys->log2_size) : 0);
}

/* What a lookup looks for: a str object, or UTF-8 text from a caller. */
typedef struct key_probe {
    const hl_str *obj;
    const char *utf8;
    size_t len;
    int64_t hash;
} key_probe;

static bool key_matches(const hl_object *key, const key_probe *p)
{
    const hl_str *s = (const hl_str *)key;
    if (s->hash != p->hash)
        return false;
    if (p->obj != NULL)
        return hl_object_equal(key, &p->obj->ob);
    return hl_str_equals_utf8(s, p->utf8, p->len);
}

/* Returns the entry index of the key or IX_EMPTY; *slot gets its index slot. */
static int64_t lookup(const hl_dict_keys *k, const key_probe *p, size_t *slot)
{
    size_t mask = ((size_t)1 << k->log2_size) - 1;
    size_t i = (size_t)p->hash & mask;
    uint64_t perturb = (uint64_t)p->hash;
    for (;;) {
        int64_t ix = get_index(k, i);
        if (ix >= 0 && key_matches(entries(k)[ix].key, p)) {
            *slot = i;
            return ix;
        }
        if (ix == IX_EMPTY)
            return IX_EMPTY;
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

static key_probe text_probe(const char *utf8, size_t len)
{
    return (key_probe){NULL, utf8, len, hl_str_hash_utf8(utf8, len)};
}

static size_t find_empty_slot(const hl_dict_keys *k, int64_t hash)
{
    size_t mask = ((size_t)1 << k->log2_size) - 1;
    size_t i = (size_t)hash & mask;
    uint64_t perturb = (uint64_t)hash;
    while (get_index(k, i) >= 0) {
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
    return i;
}

/* dictresize: a fresh keys block with the live entries, compacted. */
static bool resize(hl_heap *h, hl_dict *d, uint8_t log2_size)
{
    hl_dict_keys *old = d->keys, *k = keys_new(h, log2_size);
    if (k == NULL)
        return false;
    dict_entry *dst = entries(k);
    if (old != NULL) {
        dict_entry *src = entries(old);
        for (int64_t i = 0; i < old->nentries; i++)
            if (src[i].value != NULL)
                dst[k->nentries++] = src[i];
    }
    for (int64_t i = 0; i < k->nentries; i++)
        set_index(k, find_empty_slot(k, ((hl_str *)dst[i].key)->hash), i);
    k->usable -= k->nentries;
    d->keys = k;
    if (old != NULL)
        keys_free_block(h, old);
    return true;
}

static void maintain_tracking(hl_heap *h, hl_dict *d, hl_object *value)
{
    if (!hl_object_is_tracked(&d->ob) && hl_gc_may_be_tracked(value))
        hl_gc_track(h, &d->ob);
}

bool hl_dict_set(hl_heap *h, hl_dict *d, hl_object *key, hl_object *value)
{
    hl_str *ks = (hl_str *)key;
    key_probe probe = {ks, NULL, 0, ks->hash};
    size_t slot;
    if (d->keys != NULL) {
        int64_t ix = lookup(d->keys, &probe, &slot);
        if (ix >= 0) {
            maintain_tracking(h, d, value);
            dict_entry *e = &entries(d->keys)[ix];
            hl_object *old = e->value;
            e->value = value;
            hl_decref(h, old);
            hl_decref(h, key);
            return true;
        }
    }
    if (d->keys == NULL) {
        if ((d->keys = keys_new(h, LOG_MINSIZE)) == NULL)
            return false;
    } else if (d->keys->usable <= 0 && !resize(h, d, log2_keysize(d->used * 3))) {
        return false;
    }
    maintain_tracking(h, d, value);
    hl_dict_keys *k = d->keys;
    set_index(k, find_empty_slot(k, ks->hash), k->nentries);
    entries(k)[k->nentries] = (dict_entry){key, value};
    k->nentries++;
    k->usable--;
    d->used++;
    return true;
}

/* The entry index of a key given as UTF-8 text, or IX_EMPTY. */
static int64_t find_text(const hl_dict *d, const char *key, size_t len, size_t *slot)
{
    if (d->keys == NULL)
        return IX_EMPTY;
    key_probe probe = text_probe(key, len);
    return lookup(d->keys, &probe, slot);
}

hl_object *hl_dict_get_str(const hl_dict *d, const hl_str *key)
{
    size_t slot;
    if (d->keys == NULL)
        return NULL;
    key_probe probe = {key, NULL, 0, key->hash};
    int64_t ix = lookup(d->keys, &probe, &slot);
    return ix >= 0 ? entries(d->keys)[ix].value : NULL;
}

size_t hl_dict_growth_bytes(const hl_dict *d)
{
    if (d->keys == NULL)
        return keys_size(LOG_MINSIZE);
    return d->keys->usable > 0 ? 0 : keys_size(log2_keysize(d->used * 3));
}

bool hl_dict_replace(hl_heap *h, hl_dict *d, const char *key, size_t len, hl_object *value)
{
    size_t slot;
    int64_t ix = find_text(d, key, len, &slot);
    if (ix < 0)
        return false;
    maintain_tracking(h, d, value);
    dict_entry *e = &entries(d->keys)[ix];
    hl_object *old = e->value;
    e->value = value;
    hl_decref(h, old);
    return true;
}

size_t hl_dict_storage_size(const hl_dict *d)
{
    return d->keys != NULL ? keys_size(d->keys->log2_size) : 0;
}

void hl_dict_discard_storage(hl_heap *h, hl_dict *d)
{
    if (d->keys != NULL)
        hl_alloc_free(h->alloc, d->keys, keys_size(d->keys->log2_size));
    d->keys = NULL;
}

bool hl_dict_delete(hl_heap *h, hl_dict *d, const char *key, size_t len)
{
    size_t slot;
    int64_t ix = find_text(d, key, len, &slot);
    if (ix < 0)
        return false;
    dict_entry *e = &entries(d->keys)[ix];
    hl_object *old_key = e->key, *old_value = e->value;
    d->used--;
    set_index(d->keys, slot, IX_DUMMY);
    e->key = NULL;
    e->value = NULL;
    hl_decref(h, old_value);
    hl_decref(h, old_key);
    return true;
}

void hl_dict_clear(hl_heap *h, hl_dict *d)
{
    hl_dict_keys *k = d->keys;
    if (k == NULL)
        return;
    d->keys = NULL;
    d->used = 0;
    keys_release(h, k);
}

void hl_dict_dealloc(hl_heap *h, hl_object *o)
{
    hl_dict *d = (hl_dict *)o;
    hl_gc_untrack(h, o);
    if (!hl_trashcan_begin(h, o))
        return;
    if (d->keys != NULL)
        keys_release(h, d->keys);
    d->keys = NULL;
    if (h->dict_nfree < HL_DICT_FREELIST) {
        hl_object_park(h, o);
        h->dict_free[h->dict_nfree++] = d;
    } else {
        hl_object_release_block(h, o);
    }
    hl_trashcan_end(h);
}

int hl_dict_traverse(hl_dict *d, hl_visit_fn visit, void *ctx)
{
    if (d->keys == NULL)
        return 0;
    dict_entry *e = entries(d->keys);
    for (int64_t i = 0; i < d->keys->nentries; i++) {
        if (e[i].value == NULL)
            continue;
        int r = visit(e[i].value, ctx);
        if (r == 0)
            r = visit(e[i].key, ctx);
        if (r != 0)
            return r;
    }
    return 0;
}

bool hl_dict_may_untrack(const hl_dict *d)
{
    if (d->keys == NULL)
        return true;
    const dict_entry *e = entries(d->keys);
    for (int64_t i = 0; i < d->keys->nentries; i++)
        if (e[i].value != NULL && hl_gc_may_be_tracked(e[i].value))
            return false;
    return true;
}

void hl_dict_each(const hl_dict *d, hl_dict_entry_fn fn, void *ctx)
{
    if (d->keys == NULL)
        return;
    const dict_entry *e = entries(d->keys);
    for (int64_t i = 0; i < d->keys->nentries; i++)
        if (e[i].value != NULL && !fn(ctx, e[i].key, e[i].value))
            return;
}

