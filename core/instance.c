/* instance.c — instances of named classes, as CPython 3.11 keeps them.
 *
 * Attributes live inline in a 272-byte values block whose slots follow the
 * class's shared keys (30 at most; CPython then materialises a __dict__,
 * which heaplab does not model and refuses).  __del__ belongs to the class:
 * it runs at most once per object (PEP 442), may resurrect the object by
 * binding a name, and on a refcount death runs before weakrefs are cleared
 * and attributes released (subtype_dealloc's order).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void class_free(hl_class *c)
{
    for (uint32_t i = 0; i < c->nattrs; i++)
        free(c->attr[i]);
    free(c->name);
    free(c->resurrect);
    free(c);
}

hl_class *hl_class_get(hl_heap *h, const char *name, bool finalizer, const char *resurrect)
{
    char key[512];
    int n = snprintf(key, sizeof key, "%s\x1f%d\x1f%s", name, finalizer, resurrect ? resurrect : "");
    if (n < 0 || (size_t)n >= sizeof key)
        return NULL;
    hl_class *c = hl_strmap_get(&h->classes, key);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (h->classes.nentries >= UINT16_MAX) {
        free(c);
        return NULL;
    }
    c->number = (uint16_t)h->classes.nentries;
    c->name = strdup(name);
    c->finalizer = finalizer;
    c->resurrect = resurrect ? strdup(resurrect) : NULL;
    if (c->name == NULL || (resurrect && c->resurrect == NULL) || !hl_strmap_put(&h->classes, key, c)) {
        class_free(c);
        return NULL;
    }
    return c;
}

void hl_classes_free(hl_heap *h)
{
    for (size_t i = 0; i < h->classes.nentries; i++)
        if (h->classes.entries[i].key != NULL)
            class_free(h->classes.entries[i].value);
    hl_strmap_free(&h->classes);
}

hl_class *hl_instance_class(const hl_heap *h, const hl_instance *o)
{
    return h->classes.entries[o->values->cls].value;
}

size_t hl_instance_block_size(hl_profile p)
{
    return p >= HL_PROFILE_3_12 ? HL_SIZE_INSTANCE_312 : HL_SIZE_INSTANCE;
}

hl_object *hl_instance_new(hl_heap *h, hl_class *cls)
{
    hl_instance *o = (hl_instance *)hl_object_new(h, HL_INSTANCE, hl_instance_block_size(h->cfg.profile));
    if (o == NULL)
        return NULL;
    o->weakrefs = NULL;
    o->values = hl_alloc_malloc(h->alloc, HL_SIZE_INSTANCE_VALUES);
    if (o->values == NULL) {
        hl_object_release_block(h, &o->ob);
        return NULL;
    }
    memset(o->values, 0, sizeof *o->values);
    memset(o->values->order, 0xff, sizeof o->values->order);
    o->values->cls = cls->number;
    if (cls->finalizer)
        o->ob.flags |= HL_OF_FINALIZER;
    hl_gc_track(h, &o->ob);
    return &o->ob;
}

static int slot_of(const hl_class *c, const char *name)
{
    for (uint32_t i = 0; i < c->nattrs; i++)
        if (strcmp(c->attr[i], name) == 0)
            return (int)i;
    return -1;
}

bool hl_instance_can_set(const hl_heap *h, const hl_instance *o, const char *name)
{
    const hl_class *c = hl_instance_class(h, o);
    return slot_of(c, name) >= 0 || c->nattrs < HL_CLASS_MAX_ATTRS;
}

/* Keeps the instance's own insertion order, for listing attributes. */
static void order_add(hl_instance_values *v, int slot)
{
    for (int i = 0; i < HL_CLASS_MAX_ATTRS; i++) {
        if (v->order[i] == 0xff) {
            v->order[i] = (uint8_t)slot;
            return;
        }
    }
}

static void order_remove(hl_instance_values *v, int slot)
{
    int i = 0;
    while (i < HL_CLASS_MAX_ATTRS && v->order[i] != slot)
        i++;
    for (; i + 1 < HL_CLASS_MAX_ATTRS; i++)
        v->order[i] = v->order[i + 1];
    v->order[HL_CLASS_MAX_ATTRS - 1] = 0xff;
}

hl_status hl_instance_setattr(hl_heap *h, hl_instance *o, const char *name, hl_object *value)
{
    hl_class *c = hl_instance_class(h, o);
    int i = slot_of(c, name);
    if (i < 0) {
        if (value == NULL)
            return HL_E_ATTR;
        if (c->nattrs >= HL_CLASS_MAX_ATTRS)
            return HL_E_INVALID;
        char *copy = strdup(name);
        if (copy == NULL)
            return HL_E_NOMEM;
        i = (int)c->nattrs;
        c->attr[c->nattrs++] = copy;
    }
    hl_object *old = o->values->slot[i];
    if (old == NULL && value == NULL)
        return HL_E_ATTR;
    o->values->slot[i] = value;
    if (old == NULL) {
        order_add(o->values, i);
        return HL_OK;
    }
    if (value == NULL)
        order_remove(o->values, i);
    hl_decref(h, old);
    return HL_OK;
}

void hl_instance_attrs(const hl_heap *h, const hl_instance *o, hl_instance_attr_fn fn, void *ctx)
{
    const hl_class *c = hl_instance_class(h, o);
    for (int i = 0; i < HL_CLASS_MAX_ATTRS && o->values->order[i] != 0xff; i++) {
        int slot = o->values->order[i];
        if (!fn(ctx, c->attr[slot], o->values->slot[slot]))
            return;
    }
}

bool hl_instance_finalize(hl_heap *h, hl_object *o)
{
    hl_gc_head *g = hl_as_gc(o);
    if (!(o->flags & HL_OF_FINALIZER) || (g->prev & HL_GC_PREV_FINALIZED))
        return false;
    hl_instance *in = (hl_instance *)o;
    /* __del__ is Python code: entering it is a boundary (3.12+). */
    hl_gc_boundary(h);
    hl_emit(h, HL_EV_FINALIZE, o->id, 0, HL_INSTANCE);
    const char *resurrect = hl_instance_class(h, in)->resurrect;
    if (resurrect != NULL) {
        hl_incref(o);
        if (hl_name_bind(h, resurrect, o) != HL_OK)
            hl_decref(h, o);
        else
            hl_emit(h, HL_EV_RESURRECT, o->id, 0, HL_INSTANCE);
    }
    g->prev |= HL_GC_PREV_FINALIZED;
    return true;
}

/* PyObject_CallFinalizerFromDealloc: true when the finalizer resurrected o. */
static bool finalize_from_dealloc(hl_heap *h, hl_object *o)
{
    o->refcnt = 1;
    hl_instance_finalize(h, o);
    if (--o->refcnt == 0)
        return false;
    return true;
}

static void release_values(hl_heap *h, hl_instance *o)
{
    for (uint32_t i = 0; i < HL_CLASS_MAX_ATTRS; i++) {
        hl_object *v = o->values->slot[i];
        o->values->slot[i] = NULL;
        if (v != NULL)
            hl_decref(h, v);
    }
}

void hl_instance_clear(hl_heap *h, hl_instance *o)
{
    release_values(h, o);
    memset(o->values->order, 0xff, sizeof o->values->order);
}

void hl_instance_dealloc(hl_heap *h, hl_object *o)
{
    hl_instance *in = (hl_instance *)o;
    hl_gc_untrack(h, o);
    if (!hl_trashcan_begin(h, o))
        return;
    if (o->flags & HL_OF_FINALIZER) {
        /* The finalizer runs with the object tracked again, so a
         * resurrected object ends up in generation 0. */
        hl_gc_track(h, o);
        if (finalize_from_dealloc(h, o)) {
            hl_trashcan_end(h);
            return;
        }
        hl_gc_untrack(h, o);
    }
    if (in->weakrefs != NULL)
        hl_weakrefs_clear_on_dealloc(h, o);
    while (in->weakrefs != NULL)
        hl_weakref_clear_ref(in->weakrefs);
    release_values(h, in);
    hl_alloc_free(h->alloc, in->values, HL_SIZE_INSTANCE_VALUES);
    in->values = NULL;
    hl_object_release_block(h, o);
    hl_trashcan_end(h);
}
