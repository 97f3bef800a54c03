/* list.c — lists, resized exactly as CPython 3.11's list_resize does.
 *
 * The item array is its own allocator block of 8 bytes per allocated slot,
 * grown with the over-allocation pattern 0, 4, 8, 16, 24, 32, 40, 52, ...
 * and shrunk when the size falls under half the allocation; a dead list
 * drops its items last to first and parks on the free list of 80, which is
 * why gc.get_count() does not move when lists are recycled.
 */
#include "internal.h"

#include <string.h>

size_t hl_list_sizeof(const hl_list *l)
{
    return HL_SIZE_LIST + 8 * l->allocated;
}

hl_object *hl_list_new(hl_heap *h, hl_object **items, size_t n)
{
    /* As PyList_New: the list object first, then its item array. */
    hl_list *l;
    if (h->list_nfree > 0) {
        l = h->list_free[h->list_nfree - 1];
        if (!hl_object_revive(h, &l->ob))
            return NULL;
        h->list_nfree--;
    } else {
        l = (hl_list *)hl_object_new(h, HL_LIST, HL_SIZE_LIST);
        if (l == NULL)
            return NULL;
    }
    l->items = NULL;
    l->size = 0;
    l->allocated = 0;
    if (n > 0) {
        l->items = hl_alloc_malloc(h->alloc, 8 * n);
        if (l->items == NULL) {
            hl_decref(h, &l->ob);
            return NULL;
        }
        memcpy(l->items, items, n * sizeof *items);
    }
    l->size = n;
    l->allocated = n;
    hl_gc_track(h, &l->ob);
    return &l->ob;
}

/* list_resize's allocation for newsize (when it reallocates at all). */
static uint64_t new_allocation(const hl_list *l, uint64_t newsize)
{
    uint64_t alloc = (newsize + (newsize >> 3) + 6) & ~(uint64_t)3;
    if (newsize > l->size && newsize - l->size > alloc - newsize)
        alloc = (newsize + 3) & ~(uint64_t)3;
    return newsize == 0 ? 0 : alloc;
}

size_t hl_list_growth_bytes(const hl_list *l)
{
    return l->allocated >= l->size + 1 ? 0 : 8 * new_allocation(l, l->size + 1);
}

static bool list_resize(hl_heap *h, hl_list *l, uint64_t newsize)
{
    if (l->allocated >= newsize && newsize >= (l->allocated >> 1)) {
        l->size = newsize;
        return true;
    }
    uint64_t alloc = new_allocation(l, newsize);
    hl_object **items = hl_alloc_realloc(h->alloc, l->items, 8 * l->allocated, 8 * alloc);
    if (items == NULL)
        return false;
    l->items = items;
    l->size = newsize;
    l->allocated = alloc;
    return true;
}

bool hl_list_append(hl_heap *h, hl_list *l, hl_object *item)
{
    uint64_t n = l->size;
    if (!list_resize(h, l, n + 1))
        return false;
    l->items[n] = item;
    return true;
}

void hl_list_set(hl_heap *h, hl_list *l, uint64_t i, hl_object *item)
{
    hl_object *old = l->items[i];
    l->items[i] = item;
    hl_decref(h, old);
}

bool hl_list_delete(hl_heap *h, hl_list *l, uint64_t i, bool by_index)
{
    hl_object *gone = l->items[i];
    uint64_t n = l->size;
    if (by_index && h->cfg.profile >= HL_PROFILE_3_13) {
        /* 3.13's list_ass_item shifts the tail and shrinks the size only:
         * `del a[i]` never reallocates (list.remove still does). */
        memmove(&l->items[i], &l->items[i + 1], (n - i - 1) * sizeof *l->items);
        l->size = n - 1;
        hl_decref(h, gone);
        return true;
    }
    if (n == 1) {
        /* list_ass_slice empties a list through _list_clear. */
        hl_list_clear(h, l);
        return true;
    }
    memmove(&l->items[i], &l->items[i + 1], (n - i - 1) * sizeof *l->items);
    if (!list_resize(h, l, n - 1)) {
        memmove(&l->items[i + 1], &l->items[i], (n - i - 1) * sizeof *l->items);
        l->items[i] = gone;
        return false;
    }
    /* CPython releases the removed item after the resize. */
    hl_decref(h, gone);
    return true;
}

void hl_list_clear(hl_heap *h, hl_list *l)
{
    hl_object **items = l->items;
    if (items == NULL)
        return;
    uint64_t n = l->size, allocated = l->allocated;
    l->size = 0;
    l->items = NULL;
    l->allocated = 0;
    while (n-- > 0)
        hl_decref(h, items[n]);
    hl_alloc_free(h->alloc, items, 8 * allocated);
}

void hl_list_dealloc(hl_heap *h, hl_object *o)
{
    hl_list *l = (hl_list *)o;
    hl_gc_untrack(h, o);
    if (!hl_trashcan_begin(h, o))
        return;
    if (l->items != NULL) {
        for (uint64_t i = l->size; i-- > 0;)
            hl_decref(h, l->items[i]);
        hl_alloc_free(h->alloc, l->items, 8 * l->allocated);
        l->items = NULL;
    }
    if (h->list_nfree < HL_LIST_FREELIST) {
        hl_object_park(h, o);
        h->list_free[h->list_nfree++] = l;
    } else {
        hl_object_release_block(h, o);
    }
    hl_trashcan_end(h);
}
