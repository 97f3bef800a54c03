/* refcount.c — object birth and death: ids, blocks, deallocation and the
 * trashcan.
 *
 * When a count reaches zero the object is destroyed at once and releases
 * what it held, which may destroy more: CPython recurses, and so do we, but
 * like CPython's trashcan (Py_TRASHCAN_BEGIN/END, unwind level 50) a
 * container deallocation nested deeper than HL_TRASHCAN_DEPTH is parked on a
 * list and finished when the outermost one returns.  That bounds the C stack
 * for a 10-million-object chain and keeps CPython's order of frees, which is
 * what finalizer and weakref-callback order depend on.
 */
#include "internal.h"

#include <string.h>

void hl_emit(hl_heap *h, hl_event_kind kind, uint64_t id, uint64_t target, hl_type type)
{
    if (h->sink == NULL)
        return;
    hl_event ev = {.kind = kind, .id = id, .target = target, .type = type, .collect = NULL};
    h->sink(h->sink_ctx, &ev);
}

static bool give_id(hl_heap *h, hl_object *o)
{
    uint64_t id = h->last_id + 1;
    if (!hl_idmap_put(&h->ids, id, o))
        return false;
    h->last_id = id;
    o->id = id;
    h->live_by_type[o->type]++;
    return true;
}

static hl_object *object_new(hl_heap *h, hl_type t, size_t n, bool counted)
{
    /* The id slot is reserved first so that nothing can fail after the
     * allocation may have run a collection. */
    if (!hl_idmap_reserve(&h->ids, h->last_id + 1))
        return NULL;
    char *block = hl_alloc_malloc(h->alloc, n);
    if (block == NULL)
        return NULL;
    hl_object *o;
    if (hl_type_is_gc(t)) {
        memset(block, 0, sizeof(hl_gc_head));
        o = (hl_object *)(block + sizeof(hl_gc_head));
    } else {
        o = (hl_object *)block;
    }
    memset(o, 0, sizeof *o);
    o->type = (uint8_t)t;
    o->profile = (uint8_t)h->cfg.profile;
    o->refcnt = 1;
    if (hl_type_is_gc(t) && counted)
        hl_gc_on_alloc(h);
    /* A collection may have released the reserved id page: reserve again. */
    if (!hl_idmap_reserve(&h->ids, h->last_id + 1) || !give_id(h, o)) {
        hl_alloc_free(h->alloc, block, n);
        return NULL;
    }
    return o;
}

hl_object *hl_object_new(hl_heap *h, hl_type t, size_t n)
{
    return object_new(h, t, n, true);
}

hl_object *hl_object_new_static(hl_heap *h, hl_type t, size_t n)
{
    return object_new(h, t, n, false);
}

bool hl_object_revive(hl_heap *h, hl_object *o)
{
    o->refcnt = 1;
    o->flags = 0;
    o->gen = 0;
    if (hl_type_is_gc((hl_type)o->type))
        memset(hl_as_gc(o), 0, sizeof(hl_gc_head));
    return give_id(h, o);
}

static void end_identity(hl_heap *h, hl_object *o)
{
    hl_idmap_remove(&h->ids, o->id);
    h->live_by_type[o->type]--;
    if (!(o->flags & HL_OF_INTERNAL))
        hl_emit(h, HL_EV_FREE, o->id, 0, (hl_type)o->type);
}

void hl_object_park(hl_heap *h, hl_object *o)
{
    end_identity(h, o);
    o->id = 0;
}

void hl_object_release_block(hl_heap *h, hl_object *o)
{
    size_t n = hl_object_block_size(o);
    if (o->id != 0)
        end_identity(h, o);
    if (hl_type_is_gc((hl_type)o->type))
        hl_gc_on_dealloc(h);
    hl_alloc_free(h->alloc, hl_object_block(o), n);
}

bool hl_trashcan_begin(hl_heap *h, hl_object *o)
{
    if (h->trash_nesting >= HL_TRASHCAN_DEPTH) {
        /* Parked objects are untracked, so the GC head is free to link them. */
        hl_as_gc(o)->prev = (uintptr_t)h->trash_later;
        h->trash_later = o;
        return false;
    }
    h->trash_nesting++;
    return true;
}

static void destroy_trash_chain(hl_heap *h)
{
    h->trash_nesting++;
    while (h->trash_later != NULL) {
        hl_object *o = h->trash_later;
        h->trash_later = (hl_object *)hl_as_gc(o)->prev;
        hl_as_gc(o)->prev = 0;
        hl_dealloc(h, o);
    }
    h->trash_nesting--;
}

void hl_trashcan_end(hl_heap *h)
{
    h->trash_nesting--;
    if (h->trash_later != NULL && h->trash_nesting <= 0)
        destroy_trash_chain(h);
}

void hl_dealloc(hl_heap *h, hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_INT:
    case HL_FLOAT:
    case HL_STR:
    case HL_BYTES:
        hl_atom_dealloc(h, o);
        break;
    case HL_TUPLE:
        hl_tuple_dealloc(h, o);
        break;
    case HL_LIST:
        hl_list_dealloc(h, o);
        break;
    case HL_DICT:
        hl_dict_dealloc(h, o);
        break;
    case HL_SET:
        hl_set_dealloc(h, o);
        break;
    case HL_INSTANCE:
        hl_instance_dealloc(h, o);
        break;
    case HL_WEAKREF:
        hl_weakref_dealloc(h, o);
        break;
    }
}

void hl_object_clear(hl_heap *h, hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_LIST:
        hl_list_clear(h, (hl_list *)o);
        break;
    case HL_DICT:
        hl_dict_clear(h, (hl_dict *)o);
        break;
    case HL_SET:
        hl_set_clear(h, (hl_set *)o);
        break;
    case HL_INSTANCE:
        hl_instance_clear(h, (hl_instance *)o);
        break;
    case HL_WEAKREF:
        hl_weakref_clear_ref((hl_weakref *)o);
        break;
    default:
        /* Tuples have no tp_clear in CPython: a cycle through a tuple is
         * broken by clearing the other members. */
        break;
    }
}

void hl_object_discard(hl_heap *h, hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_LIST: {
        hl_list *l = (hl_list *)o;
        if (l->items != NULL)
            hl_alloc_free(h->alloc, l->items, 8 * l->allocated);
        break;
    }
    case HL_DICT:
        hl_dict_discard_storage(h, (hl_dict *)o);
        break;
    case HL_SET: {
        hl_set *s = (hl_set *)o;
        if (s->table != s->smalltable)
            hl_alloc_free(h->alloc, s->table, (s->mask + 1) * sizeof *s->table);
        break;
    }
    case HL_INSTANCE:
        hl_alloc_free(h->alloc, ((hl_instance *)o)->values, HL_SIZE_INSTANCE_VALUES);
        break;
    default:
        break;
    }
    hl_alloc_free(h->alloc, hl_object_block(o), hl_object_block_size(o));
}

void hl_freelists_clear(hl_heap *h)
{
    while (h->list_nfree > 0)
        hl_object_release_block(h, &h->list_free[--h->list_nfree]->ob);
    while (h->dict_nfree > 0)
        hl_object_release_block(h, &h->dict_free[--h->dict_nfree]->ob);
    while (h->float_nfree > 0)
        hl_object_release_block(h, &h->float_free[--h->float_nfree]->ob);
    for (int i = 0; i < HL_TUPLE_FREELIST_SIZES; i++) {
        while (h->tuple_free[i] != NULL) {
            hl_tuple *t = h->tuple_free[i];
            h->tuple_free[i] = (hl_tuple *)t->items[0];
            hl_object_release_block(h, &t->ob);
        }
        h->tuple_nfree[i] = 0;
    }
    while (h->keys_nfree > 0)
        hl_alloc_free(h->alloc, h->keys_free[--h->keys_nfree], hl_dict_keys_size_min());
}
