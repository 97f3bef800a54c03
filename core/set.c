/* set.c — sets as CPython 3.11's setobject.c keeps them.
 *
 * An open-addressed table of (key, hash) entries with linear probing of 9
 * slots before perturbation; the first 8 slots live inside the set object
 * (216 bytes), larger tables are separate blocks of 16 bytes a slot.  A
 * removed member leaves a dummy; the table is rebuilt four times larger
 * once fill reaches 3/5 of it.  Traversal and deallocation follow table
 * order, so for int members the order matches CPython's.
 */
#include "internal.h"

#include <string.h>

#define LINEAR_PROBES 9
#define PERTURB_SHIFT 5

/* Removed members are marked with this address and hash -1. */
static const char dummy_marker;
#define DUMMY ((hl_object *)(uintptr_t)&dummy_marker)

const void *hl_set_dummy(void)
{
    return DUMMY;
}

static bool is_dummy(const hl_set_entry *e)
{
    return e->key == DUMMY;
}

static bool is_empty(const hl_set_entry *e)
{
    return e->key == NULL;
}

hl_object *hl_set_new(hl_heap *h)
{
    hl_set *s = (hl_set *)hl_object_new(h, HL_SET, HL_SIZE_SET);
    if (s == NULL)
        return NULL;
    s->fill = 0;
    s->used = 0;
    s->mask = HL_SET_MINSIZE - 1;
    s->table = s->smalltable;
    s->weakrefs = NULL;
    memset(s->smalltable, 0, sizeof s->smalltable);
    hl_gc_track(h, &s->ob);
    return &s->ob;
}

size_t hl_set_sizeof(const hl_set *s)
{
    return HL_SIZE_SET + (s->table != s->smalltable ? (s->mask + 1) * sizeof(hl_set_entry) : 0);
}

size_t hl_set_growth_bytes(const hl_set *s)
{
    if ((s->fill + 1) * 5 < s->mask * 3)
        return 0;
    uint64_t used = s->used + 1, newsize = HL_SET_MINSIZE;
    uint64_t minused = used > 50000 ? used * 2 : used * 4;
    while (newsize <= minused)
        newsize <<= 1;
    return newsize * sizeof(hl_set_entry);
}

static void insert_clean(hl_set_entry *table, uint64_t mask, hl_object *key, int64_t hash)
{
    uint64_t perturb = (uint64_t)hash, i = (uint64_t)hash & mask;
    for (;;) {
        hl_set_entry *e = &table[i];
        if (is_empty(e))
            goto found;
        if (i + LINEAR_PROBES <= mask) {
            for (int j = 0; j < LINEAR_PROBES; j++) {
                e++;
                if (is_empty(e))
                    goto found;
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
        continue;
    found:
        e->key = key;
        e->hash = hash;
        return;
    }
}

static bool table_resize(hl_heap *h, hl_set *s, uint64_t minused)
{
    uint64_t newsize = HL_SET_MINSIZE;
    while (newsize <= minused)
        newsize <<= 1;
    hl_set_entry *old = s->table, small_copy[HL_SET_MINSIZE];
    uint64_t oldmask = s->mask;
    bool old_malloced = old != s->smalltable;
    hl_set_entry *fresh;
    if (newsize == HL_SET_MINSIZE) {
        fresh = s->smalltable;
        if (fresh == old) {
            if (s->fill == s->used)
                return true;
            memcpy(small_copy, old, sizeof small_copy);
            old = small_copy;
        }
    } else if ((fresh = hl_alloc_malloc(h->alloc, newsize * sizeof *fresh)) == NULL) {
        return false;
    }
    memset(fresh, 0, newsize * sizeof *fresh);
    s->mask = newsize - 1;
    s->table = fresh;
    s->fill = s->used;
    for (uint64_t i = 0; i <= oldmask; i++)
        if (!is_empty(&old[i]) && !is_dummy(&old[i]))
            insert_clean(fresh, s->mask, old[i].key, old[i].hash);
    if (old_malloced)
        hl_alloc_free(h->alloc, old, (oldmask + 1) * sizeof *old);
    return true;
}

/* Finds key's entry, or the empty entry that ends its probe sequence; the
 * first dummy passed on the way goes to *freeslot when asked for. */
static hl_set_entry *probe(const hl_set *s, const hl_object *key, int64_t hash, hl_set_entry **freeslot)
{
    uint64_t mask = s->mask, perturb = (uint64_t)hash, i = (uint64_t)hash & mask;
    for (;;) {
        hl_set_entry *e = &s->table[i];
        int probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
        do {
            if (e->hash == 0 && is_empty(e))
                return e;
            if (e->hash == hash && !is_dummy(e) && (e->key == key || hl_object_equal(e->key, key)))
                return e;
            /* CPython remembers the last dummy passed, not the first. */
            if (is_dummy(e) && freeslot != NULL)
                *freeslot = e;
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

bool hl_set_add(hl_heap *h, hl_set *s, hl_object *key, int64_t hash)
{
    hl_set_entry *freeslot = NULL;
    hl_set_entry *e = probe(s, key, hash, &freeslot);
    if (!is_empty(e)) {
        hl_decref(h, key);
        return true;
    }
    if (freeslot != NULL) {
        s->used++;
        freeslot->key = key;
        freeslot->hash = hash;
        return true;
    }
    s->fill++;
    s->used++;
    e->key = key;
    e->hash = hash;
    if (s->fill * 5 < s->mask * 3)
        return true;
    if (!table_resize(h, s, s->used > 50000 ? s->used * 2 : s->used * 4)) {
        /* Undo, so a failed add leaves the set as it was. */
        e->key = NULL;
        e->hash = 0;
        s->fill--;
        s->used--;
        return false;
    }
    return true;
}

bool hl_set_contains(const hl_set *s, const hl_object *key, int64_t hash)
{
    return !is_empty(probe(s, key, hash, NULL));
}

bool hl_set_discard(hl_heap *h, hl_set *s, const hl_object *key, int64_t hash)
{
    hl_set_entry *e = probe(s, key, hash, NULL);
    if (is_empty(e))
        return false;
    hl_object *old = e->key;
    e->key = DUMMY;
    e->hash = -1;
    s->used--;
    hl_decref(h, old);
    return true;
}

/* Drops every member of a table snapshot, in table order. */
static void release_members(hl_heap *h, hl_set_entry *table, uint64_t used)
{
    for (hl_set_entry *e = table; used > 0; e++) {
        if (!is_empty(e) && !is_dummy(e)) {
            used--;
            hl_decref(h, e->key);
        }
    }
}

void hl_set_clear(hl_heap *h, hl_set *s)
{
    hl_set_entry *table = s->table, small_copy[HL_SET_MINSIZE];
    uint64_t used = s->used, mask = s->mask;
    bool malloced = table != s->smalltable;
    if (!malloced) {
        if (s->fill == 0)
            return;
        memcpy(small_copy, table, sizeof small_copy);
        table = small_copy;
    }
    /* Empty the set first: releasing members may run code that looks at it. */
    memset(s->smalltable, 0, sizeof s->smalltable);
    s->table = s->smalltable;
    s->mask = HL_SET_MINSIZE - 1;
    s->fill = 0;
    s->used = 0;
    release_members(h, table, used);
    if (malloced)
        hl_alloc_free(h->alloc, table, (mask + 1) * sizeof *table);
}

void hl_set_dealloc(hl_heap *h, hl_object *o)
{
    hl_set *s = (hl_set *)o;
    hl_gc_untrack(h, o);
    if (!hl_trashcan_begin(h, o))
        return;
    if (s->weakrefs != NULL)
        hl_weakrefs_clear_on_dealloc(h, o);
    release_members(h, s->table, s->used);
    if (s->table != s->smalltable)
        hl_alloc_free(h->alloc, s->table, (s->mask + 1) * sizeof *s->table);
    hl_object_release_block(h, o);
    hl_trashcan_end(h);
}
