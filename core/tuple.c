/* tuple.c — tuples: immutable, tracked at creation, untracked by the
 * collector once they hold nothing trackable, recycled through per-length
 * free lists (lengths 1..20, 2000 each) that bypass the GC count, and one
 * cached empty tuple per heap.
 */
#include "internal.h"

#include <string.h>

static hl_object *empty_tuple(hl_heap *h)
{
    if (h->empty_tuple == NULL) {
        hl_tuple *t = (hl_tuple *)hl_object_new_static(h, HL_TUPLE, HL_SIZE_TUPLE_BASE);
        if (t == NULL)
            return NULL;
        t->size = 0;
        /* The cache's own reference keeps it for the heap's life. */
        t->ob.flags |= HL_OF_STATIC;
        t->ob.refcnt = 2;
        h->empty_tuple = t;
        return &t->ob;
    }
    hl_incref(&h->empty_tuple->ob);
    return &h->empty_tuple->ob;
}

hl_object *hl_tuple_new(hl_heap *h, hl_object **items, size_t n)
{
    if (n == 0)
        return empty_tuple(h);
    hl_tuple *t;
    /* CPython 3.11 parks tuples of length 20 but never takes them back. */
    if (n < HL_TUPLE_FREELIST_SIZES && h->tuple_free[n - 1] != NULL) {
        t = h->tuple_free[n - 1];
        if (!hl_object_revive(h, &t->ob))
            return NULL;
        h->tuple_free[n - 1] = (hl_tuple *)t->items[0];
        h->tuple_nfree[n - 1]--;
    } else {
        t = (hl_tuple *)hl_object_new(h, HL_TUPLE, HL_SIZE_TUPLE_BASE + 8 * n);
        if (t == NULL)
            return NULL;
        t->size = n;
    }
    memcpy(t->items, items, n * sizeof *items);
    hl_gc_track(h, &t->ob);
    return &t->ob;
}

void hl_tuple_maybe_untrack(hl_heap *h, hl_object *o)
{
    hl_tuple *t = (hl_tuple *)o;
    for (uint64_t i = 0; i < t->size; i++)
        if (hl_gc_may_be_tracked(t->items[i]))
            return;
    hl_gc_untrack(h, o);
}

void hl_tuple_dealloc(hl_heap *h, hl_object *o)
{
    hl_tuple *t = (hl_tuple *)o;
    hl_gc_untrack(h, o);
    if (!hl_trashcan_begin(h, o))
        return;
    for (uint64_t i = t->size; i-- > 0;)
        hl_decref(h, t->items[i]);
    uint64_t n = t->size;
    if (n >= 1 && n <= HL_TUPLE_FREELIST_SIZES && h->tuple_nfree[n - 1] < HL_TUPLE_FREELIST) {
        hl_object_park(h, o);
        t->items[0] = (hl_object *)h->tuple_free[n - 1];
        h->tuple_free[n - 1] = t;
        h->tuple_nfree[n - 1]++;
    } else {
        hl_object_release_block(h, o);
    }
    hl_trashcan_end(h);
}

hl_object *hl_args_tuple(hl_heap *h, hl_object **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hl_incref(items[i]);
    hl_object *t = hl_tuple_new(h, items, n);
    if (t == NULL) {
        for (size_t i = n; i-- > 0;)
            hl_decref(h, items[i]);
        return NULL;
    }
    t->flags |= HL_OF_INTERNAL;
    return t;
}
