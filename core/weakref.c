/* weakref.c — weak references with optional callbacks (weakref.ref).
 *
 * A target's weakrefs form a list that starts with its callback-less
 * "basic" ref (shared: asking again returns it) followed by callback refs,
 * newest first.  When the target dies by refcount, PyObject_ClearWeakRefs's
 * order holds: the basic ref is cleared silently, then every callback ref is
 * cleared and its callback runs, in list order; with two or more callbacks
 * CPython gathers them in a temporary tuple first, and so do we, since that
 * tuple is a container allocation that moves gc.get_count() and may even
 * trigger a collection.  Instances and sets accept weakrefs.
 */
#include "internal.h"

#include <stdlib.h>

hl_weakref **hl_weakref_list(hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_INSTANCE:
        return &((hl_instance *)o)->weakrefs;
    case HL_SET:
        return &((hl_set *)o)->weakrefs;
    default:
        return NULL;
    }
}

static void insert_head(hl_weakref *wr, hl_weakref **list)
{
    wr->prev = NULL;
    wr->next = *list;
    if (*list != NULL)
        (*list)->prev = wr;
    *list = wr;
}

static void insert_after(hl_weakref *wr, hl_weakref *prev)
{
    wr->prev = prev;
    wr->next = prev->next;
    if (prev->next != NULL)
        prev->next->prev = wr;
    prev->next = wr;
}

static hl_weakref *basic_ref(hl_weakref *head)
{
    return head != NULL && !head->has_callback ? head : NULL;
}

hl_object *hl_weakref_new(hl_heap *h, hl_object *target, bool callback)
{
    hl_weakref **list = hl_weakref_list(target);
    hl_weakref *basic = basic_ref(*list);
    if (!callback && basic != NULL) {
        hl_incref(&basic->ob);
        return &basic->ob;
    }
    /* The caller holds target, as CPython's argument does, while the
     * allocation may run a collection that changes the list. */
    hl_weakref *wr = (hl_weakref *)hl_object_new(h, HL_WEAKREF, HL_SIZE_WEAKREF);
    if (wr == NULL)
        return NULL;
    wr->target = target;
    wr->target_id = target->id;
    wr->target_type = target->type;
    wr->has_callback = callback;
    if (!callback) {
        insert_head(wr, list);
    } else {
        basic = basic_ref(*list);
        if (basic == NULL)
            insert_head(wr, list);
        else
            insert_after(wr, basic);
    }
    hl_gc_track(h, &wr->ob);
    return &wr->ob;
}

void hl_weakref_clear_ref(hl_weakref *wr)
{
    if (wr->target == NULL)
        return;
    hl_weakref **list = hl_weakref_list(wr->target);
    if (*list == wr)
        *list = wr->next;
    if (wr->prev != NULL)
        wr->prev->next = wr->next;
    if (wr->next != NULL)
        wr->next->prev = wr->prev;
    wr->prev = wr->next = NULL;
    wr->target = NULL;
}

void hl_weakref_dealloc(hl_heap *h, hl_object *o)
{
    hl_weakref *wr = (hl_weakref *)o;
    hl_gc_untrack(h, o);
    hl_weakref_clear_ref(wr);
    wr->has_callback = false;
    hl_object_release_block(h, o);
}

void hl_weakref_run_callback(hl_heap *h, hl_weakref *wr)
{
    /* The callback is Python code: entering it is a boundary (3.12+). */
    hl_gc_boundary(h);
    hl_emit(h, HL_EV_WEAKREF_CALLBACK, wr->ob.id, wr->target_id, (hl_type)wr->target_type);
}

static size_t count_refs(const hl_weakref *wr)
{
    size_t n = 0;
    for (; wr != NULL; wr = wr->next)
        n++;
    return n;
}

/* The temporary tuple of (ref, callback) pairs.  A callback is a function
 * the model does not hold, so each pair keeps the ref twice: refcounts move
 * as CPython's do and the ref dies at the same moment. */
static hl_object *gather_callbacks(hl_heap *h, hl_weakref *head, size_t count)
{
    hl_object **items = malloc(2 * count * sizeof *items);
    if (items == NULL)
        return NULL;
    size_t i = 0;
    for (hl_weakref *wr = head; wr != NULL; wr = wr->next) {
        hl_incref(&wr->ob);
        hl_incref(&wr->ob);
        items[i++] = &wr->ob;
        items[i++] = &wr->ob;
    }
    hl_object *t = hl_tuple_new(h, items, 2 * count);
    if (t == NULL) {
        for (size_t j = 0; j < i; j++)
            hl_decref(h, items[j]);
    } else {
        t->flags |= HL_OF_INTERNAL;
    }
    free(items);
    return t;
}

void hl_weakrefs_clear_on_dealloc(hl_heap *h, hl_object *o)
{
    hl_weakref **list = hl_weakref_list(o);
    if (*list != NULL && !(*list)->has_callback)
        hl_weakref_clear_ref(*list);
    if (*list == NULL)
        return;
    size_t count = count_refs(*list);
    if (count == 1) {
        hl_weakref *wr = *list;
        hl_weakref_clear_ref(wr);
        wr->has_callback = false;
        hl_weakref_run_callback(h, wr);
        return;
    }
    hl_object *tuple = gather_callbacks(h, *list, count);
    if (tuple == NULL) {
        /* Out of memory: clear without callbacks, as CPython gives up. */
        while (*list != NULL)
            hl_weakref_clear_ref(*list);
        return;
    }
    hl_tuple *t = (hl_tuple *)tuple;
    for (size_t i = 0; i < count; i++) {
        hl_weakref *wr = (hl_weakref *)t->items[2 * i];
        hl_weakref_clear_ref(wr);
        wr->has_callback = false;
    }
    for (size_t i = 0; i < count; i++)
        hl_weakref_run_callback(h, (hl_weakref *)t->items[2 * i]);
    hl_decref(h, tuple);
}
