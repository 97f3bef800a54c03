/* heap.c — a heap's lifecycle, its root names, and read-only introspection
 * (see heap.h: nothing here changes a refcount, allocates a block or runs
 * the collector).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    const char *message;
} statuses[] = {
    [HL_OK] = {"HL_OK", "ok"},
    [HL_E_NOMEM] = {"HL_E_NOMEM", "the server is out of memory"},
    [HL_E_NO_OBJECT] = {"HL_E_NO_OBJECT", "no live object has that id"},
    [HL_E_NAME_UNBOUND] = {"HL_E_NAME_UNBOUND", "that name is not bound (NameError)"},
    [HL_E_IMMUTABLE] = {"HL_E_IMMUTABLE", "that object is immutable: its references cannot change"},
    [HL_E_UNHASHABLE] = {"HL_E_UNHASHABLE", "unhashable (TypeError: lists, dicts and sets cannot be set members; "
                                            "RecursionError: tuples nested over 500 deep)"},
    [HL_E_INDEX] = {"HL_E_INDEX", "index out of range (IndexError)"},
    [HL_E_KEY] = {"HL_E_KEY", "no such key or member (KeyError)"},
    [HL_E_ATTR] = {"HL_E_ATTR", "the object has no such attribute (AttributeError)"},
    [HL_E_NOT_FOUND] = {"HL_E_NOT_FOUND", "x not in list (ValueError)"},
    [HL_E_WRONG_TYPE] = {"HL_E_WRONG_TYPE", "that operation does not apply to this type"},
    [HL_E_NOT_WEAKREFABLE] = {"HL_E_NOT_WEAKREFABLE", "cannot create a weak reference to this type (only instances and sets)"},
    [HL_E_LIMIT_OBJECTS] = {"HL_E_LIMIT_OBJECTS", "the heap's object limit is reached (MemoryError)"},
    [HL_E_LIMIT_BYTES] = {"HL_E_LIMIT_BYTES", "the heap's byte limit is reached (MemoryError)"},
    [HL_E_INVALID] = {"HL_E_INVALID", "an argument is out of range"},
    [HL_E_BUSY] = {"HL_E_BUSY", "a collection is already running"},
};

const char *hl_status_name(hl_status s)
{
    return (unsigned)s < sizeof statuses / sizeof statuses[0] ? statuses[s].name : "HL_E_?";
}

const char *hl_status_message(hl_status s)
{
    return (unsigned)s < sizeof statuses / sizeof statuses[0] ? statuses[s].message : "unknown error";
}

static const char *const profile_names[HL_PROFILE_COUNT] = {"3.11", "3.12", "3.13"};

const char *hl_profile_name(hl_profile p)
{
    return (unsigned)p < HL_PROFILE_COUNT ? profile_names[p] : "?";
}

bool hl_profile_from_name(const char *name, hl_profile *out)
{
    for (int p = 0; p < HL_PROFILE_COUNT; p++)
        if (strcmp(name, profile_names[p]) == 0) {
            *out = (hl_profile)p;
            return true;
        }
    return false;
}

void hl_heap_config_profile(hl_heap_config *cfg, hl_profile p)
{
    cfg->profile = p;
    cfg->thresholds[0] = p >= HL_PROFILE_3_13 ? 2000 : 700;
}

void hl_heap_config_default(hl_heap_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->thresholds[0] = 700;
    cfg->thresholds[1] = 10;
    cfg->thresholds[2] = 10;
    cfg->gc_enabled = true;
    cfg->arena_phase = -1;
}

hl_heap *hl_heap_new(const hl_heap_config *cfg)
{
    hl_heap *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    if (cfg != NULL)
        h->cfg = *cfg;
    else
        hl_heap_config_default(&h->cfg);
    h->alloc = hl_alloc_new(h->cfg.arena_phase);
    if (h->alloc == NULL) {
        free(h);
        return NULL;
    }
    hl_idmap_init(&h->ids);
    hl_strmap_init(&h->names);
    hl_strmap_init(&h->classes);
    for (int i = 0; i < 3; i++) {
        hl_gc_list_init(&h->gen[i].head);
        h->gen[i].threshold = h->cfg.thresholds[i];
    }
    hl_gc_list_init(&h->permanent);
    h->gc_enabled = h->cfg.gc_enabled;
    h->last_collect.generation = -1;
    return h;
}

void hl_heap_config_get(const hl_heap *h, hl_heap_config *out)
{
    *out = h->cfg;
    out->arena_phase = hl_alloc_phase(h->alloc);
}

void hl_heap_delete(hl_heap *h)
{
    if (h == NULL)
        return;
    h->sink = NULL;
    /* Give back every block so raw (malloc) ones are not leaked; pool
     * blocks would vanish with their arenas anyway. */
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0; id = hl_idmap_next(&h->ids, id)) {
        hl_object *o = hl_idmap_get(&h->ids, id);
        hl_object_discard(h, o);
    }
    hl_freelists_clear(h);
    hl_idmap_free(&h->ids);
    hl_strmap_free(&h->names);
    hl_classes_free(h);
    hl_alloc_delete(h->alloc);
    free(h);
}

void hl_heap_set_event_sink(hl_heap *h, hl_event_sink sink, void *ctx)
{
    h->sink = sink;
    h->sink_ctx = ctx;
}

hl_object *hl_lookup(const hl_heap *h, uint64_t id)
{
    return hl_idmap_get(&h->ids, id);
}

hl_status hl_name_bind(hl_heap *h, const char *name, hl_object *o)
{
    hl_object *old = hl_strmap_get(&h->names, name);
    if (!hl_strmap_put(&h->names, name, o))
        return HL_E_NOMEM;
    if (old != NULL)
        hl_decref(h, old);
    return HL_OK;
}

/* ---- introspection ---- */

static uint64_t object_length(const hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_STR:
        return ((const hl_str *)o)->length;
    case HL_BYTES:
        return ((const hl_bytes *)o)->length;
    case HL_TUPLE:
        return ((const hl_tuple *)o)->size;
    case HL_LIST:
        return ((const hl_list *)o)->size;
    case HL_DICT:
        return ((const hl_dict *)o)->used;
    case HL_SET:
        return ((const hl_set *)o)->used;
    case HL_INSTANCE: {
        const hl_instance *in = (const hl_instance *)o;
        uint64_t n = 0;
        for (uint32_t i = 0; i < HL_CLASS_MAX_ATTRS; i++)
            n += in->values->slot[i] != NULL;
        return n;
    }
    default:
        return 0;
    }
}

hl_status hl_heap_object_info(const hl_heap *h, uint64_t id, hl_object_info *out)
{
    hl_object *o = hl_lookup(h, id);
    if (o == NULL)
        return HL_E_NO_OBJECT;
    memset(out, 0, sizeof *out);
    out->id = o->id;
    out->type = (hl_type)o->type;
    /* PEP 683: from 3.12 the interpreter's static objects are immortal and
     * sys.getrefcount shows a constant; heaplab still counts underneath. */
    out->immortal = h->cfg.profile >= HL_PROFILE_3_12 && (o->flags & HL_OF_STATIC);
    out->refcount = out->immortal ? HL_IMMORTAL_REFCOUNT : o->refcnt;
    out->size = hl_object_sizeof(o);
    out->tracked = hl_object_is_tracked(o);
    out->generation = hl_gc_generation_of(o);
    out->address = (uintptr_t)o;
    out->size_class = hl_alloc_size_class(hl_object_block_size(o));
    out->finalizer = (o->flags & HL_OF_FINALIZER) != 0;
    out->finalized = hl_type_is_gc((hl_type)o->type) && (hl_as_gc(o)->prev & HL_GC_PREV_FINALIZED);
    out->length = object_length(o);
    if (o->type == HL_INSTANCE)
        out->class_name = hl_instance_class(h, (const hl_instance *)o)->name;
    return HL_OK;
}

bool hl_heap_id_ever_used(const hl_heap *h, uint64_t id)
{
    return id >= 1 && id <= h->last_id;
}

uint64_t hl_heap_next_id(const hl_heap *h)
{
    return h->last_id + 1;
}

uint64_t hl_heap_next_live_id(const hl_heap *h, uint64_t after)
{
    return hl_idmap_next(&h->ids, after);
}

hl_status hl_heap_int_value(const hl_heap *h, uint64_t id, int64_t *out)
{
    hl_object *o = hl_lookup(h, id);
    if (o == NULL)
        return HL_E_NO_OBJECT;
    if (o->type != HL_INT)
        return HL_E_WRONG_TYPE;
    *out = ((hl_int *)o)->value;
    return HL_OK;
}

hl_status hl_heap_float_value(const hl_heap *h, uint64_t id, double *out)
{
    hl_object *o = hl_lookup(h, id);
    if (o == NULL)
        return HL_E_NO_OBJECT;
    if (o->type != HL_FLOAT)
        return HL_E_WRONG_TYPE;
    *out = ((hl_float *)o)->value;
    return HL_OK;
}

hl_status hl_heap_text_value(const hl_heap *h, uint64_t id, char *buf, size_t cap, size_t *len)
{
    hl_object *o = hl_lookup(h, id);
    if (o == NULL)
        return HL_E_NO_OBJECT;
    if (o->type == HL_STR) {
        *len = hl_str_utf8((hl_str *)o, buf, cap);
        return HL_OK;
    }
    if (o->type == HL_BYTES) {
        hl_bytes *b = (hl_bytes *)o;
        if (cap > 0)
            memcpy(buf, b->data, b->length < cap ? b->length : cap);
        *len = b->length;
        return HL_OK;
    }
    return HL_E_WRONG_TYPE;
}

typedef struct ref_walk {
    hl_ref_visitor visit;
    void *ctx;
    bool stopped;
} ref_walk;

static bool emit_ref(ref_walk *w, hl_slot_kind kind, uint64_t index, const char *name, const hl_object *t)
{
    hl_ref r = {kind, index, name, t->id};
    if (!w->visit(w->ctx, &r))
        w->stopped = true;
    return !w->stopped;
}

static bool dict_entry_ref(void *ctx, hl_object *key, hl_object *value)
{
    ref_walk *w = ctx;
    hl_str *k = (hl_str *)key;
    size_t n = hl_str_utf8(k, NULL, 0);
    char *name = malloc(n + 1);
    if (name == NULL)
        return false;
    hl_str_utf8(k, name, n);
    name[n] = 0;
    bool go = emit_ref(w, HL_SLOT_KEY, 0, name, value) && emit_ref(w, HL_SLOT_DICT_KEY, 0, name, key);
    free(name);
    return go;
}

static bool attr_ref(void *ctx, const char *name, hl_object *value)
{
    return emit_ref(ctx, HL_SLOT_ATTR, 0, name, value);
}

hl_status hl_heap_referents(const hl_heap *h, uint64_t id, hl_ref_visitor visit, void *ctx)
{
    hl_object *o = hl_lookup(h, id);
    if (o == NULL)
        return HL_E_NO_OBJECT;
    ref_walk w = {visit, ctx, false};
    switch ((hl_type)o->type) {
    case HL_TUPLE: {
        hl_tuple *t = (hl_tuple *)o;
        for (uint64_t i = 0; i < t->size && emit_ref(&w, HL_SLOT_INDEX, i, NULL, t->items[i]); i++)
            ;
        break;
    }
    case HL_LIST: {
        hl_list *l = (hl_list *)o;
        for (uint64_t i = 0; i < l->size && emit_ref(&w, HL_SLOT_INDEX, i, NULL, l->items[i]); i++)
            ;
        break;
    }
    case HL_DICT:
        hl_dict_each((hl_dict *)o, dict_entry_ref, &w);
        break;
    case HL_SET: {
        hl_set *s = (hl_set *)o;
        for (uint64_t i = 0; i <= s->mask && !w.stopped; i++)
            if (s->table[i].key != NULL && s->table[i].hash != -1)
                emit_ref(&w, HL_SLOT_MEMBER, i, NULL, s->table[i].key);
        break;
    }
    case HL_INSTANCE:
        hl_instance_attrs(h, (hl_instance *)o, attr_ref, &w);
        break;
    default:
        break;
    }
    return HL_OK;
}

hl_status hl_heap_weakref_target(const hl_heap *h, uint64_t id, uint64_t *target, bool *has_callback)
{
    hl_object *o = hl_lookup(h, id);
    if (o == NULL)
        return HL_E_NO_OBJECT;
    if (o->type != HL_WEAKREF)
        return HL_E_WRONG_TYPE;
    hl_weakref *wr = (hl_weakref *)o;
    *target = wr->target != NULL ? wr->target->id : 0;
    *has_callback = wr->has_callback;
    return HL_OK;
}

hl_status hl_heap_name_lookup(const hl_heap *h, const char *name, uint64_t *id)
{
    hl_object *o = hl_strmap_get(&h->names, name);
    if (o == NULL)
        return HL_E_NAME_UNBOUND;
    *id = o->id;
    return HL_OK;
}

size_t hl_heap_name_count(const hl_heap *h)
{
    return h->names.live;
}

typedef struct name_walk {
    hl_name_visitor visit;
    void *ctx;
} name_walk;

static bool name_entry(void *ctx, const char *key, void *value)
{
    name_walk *w = ctx;
    return w->visit(w->ctx, key, ((hl_object *)value)->id);
}

void hl_heap_names(const hl_heap *h, hl_name_visitor visit, void *ctx)
{
    name_walk w = {visit, ctx};
    hl_strmap_each(&h->names, name_entry, &w);
}

void hl_heap_gc_state(const hl_heap *h, hl_gc_state *out)
{
    memset(out, 0, sizeof *out);
    out->enabled = h->gc_enabled;
    out->collecting = h->collecting;
    for (int i = 0; i < 3; i++) {
        out->thresholds[i] = h->gen[i].threshold;
        out->count[i] = h->gen[i].count;
        out->stats[i] = h->stats[i];
        out->generation_size[i] = hl_gc_list_size(&h->gen[i].head);
    }
    out->frozen = hl_gc_list_size(&h->permanent);
    out->long_lived_total = h->long_lived_total;
    out->long_lived_pending = h->long_lived_pending;
    out->last = h->last_collect;
}

hl_status hl_heap_gc_objects(const hl_heap *h, int generation, hl_id_visitor visit, void *ctx)
{
    if (generation < 0 || generation > HL_GEN_PERMANENT)
        return HL_E_INVALID;
    const hl_gc_head *list = generation == HL_GEN_PERMANENT ? &h->permanent : &h->gen[generation].head;
    for (const hl_gc_head *g = hl_gc_next(list); g != list; g = hl_gc_next(g)) {
        const hl_object *o = hl_from_gc((hl_gc_head *)g);
        if (!(o->flags & HL_OF_INTERNAL) && !visit(ctx, o->id))
            break;
    }
    return HL_OK;
}

void hl_heap_totals_get(const hl_heap *h, hl_heap_totals *out)
{
    memset(out, 0, sizeof *out);
    out->objects = h->ids.live;
    memcpy(out->objects_by_type, h->live_by_type, sizeof out->objects_by_type);
    out->bytes = hl_alloc_bytes_in_use(h->alloc);
}

const hl_alloc *hl_heap_allocator(const hl_heap *h)
{
    return h->alloc;
}

void hl_heap_reset_peak(hl_heap *h)
{
    hl_alloc_reset_peak(h->alloc);
}
