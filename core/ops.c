/* ops.c — every mutation, validated in full before anything changes.
 *
 * Each operation mirrors the Python statement it stands for, including its
 * evaluation-stack references: the items of `[a, b]` are held (counted) while
 * the list is allocated, because that allocation may run a collection and
 * CPython's collector sees those stack references too.  Every operation
 * that succeeds ends at an operation boundary (hl_gc_boundary), where the
 * 3.12+ profiles run the collection an allocation scheduled.  The
 * collector's own operations are in ops_gc.c.
 */
#include "internal.h"
#include "oplog_internal.h"
#include "ops.h"

#include <stdlib.h>
#include <string.h>

static hl_status check_limits(const hl_heap *h, uint64_t new_objects, uint64_t new_bytes)
{
    if (h->cfg.max_objects != 0 && h->ids.live + new_objects > h->cfg.max_objects)
        return HL_E_LIMIT_OBJECTS;
    if (h->cfg.max_bytes != 0 && hl_alloc_bytes_in_use(h->alloc) + new_bytes > h->cfg.max_bytes)
        return HL_E_LIMIT_BYTES;
    return HL_OK;
}

static hl_status find(const hl_heap *h, uint64_t id, hl_object **out)
{
    *out = hl_lookup(h, id);
    return *out != NULL ? HL_OK : HL_E_NO_OBJECT;
}

static bool valid_name(const char *name)
{
    return name != NULL && name[0] != '\0' && hl_utf8_valid(name, strlen(name));
}

static void push_refs(hl_object **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hl_incref(objs[i]);
}

static void drop_refs(hl_heap *h, hl_object **objs, size_t n)
{
    for (size_t i = n; i-- > 0;)
        hl_decref(h, objs[i]);
}

/* Looks up every id of a spec into objs (caller frees). */
static hl_status resolve_all(const hl_heap *h, const uint64_t *ids, size_t n, hl_object ***out)
{
    *out = NULL;
    if (n == 0)
        return HL_OK;
    hl_object **objs = malloc(n * sizeof *objs);
    if (objs == NULL)
        return HL_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (find(h, ids[i], &objs[i]) != HL_OK) {
            free(objs);
            return HL_E_NO_OBJECT;
        }
    }
    *out = objs;
    return HL_OK;
}

/* A block estimate for the byte limit: the object and its first table. */
static uint64_t estimate_bytes(const hl_create_spec *s)
{
    switch (s->type) {
    case HL_STR:
    case HL_BYTES:
        return 80 + 4 * s->text_len;
    case HL_TUPLE:
    case HL_LIST:
        return 64 + 8 * s->nitems;
    case HL_SET:
        return HL_SIZE_SET + 32 * s->nitems;
    case HL_DICT:
        return HL_SIZE_DICT + 64 * s->nkeys + 128;
    case HL_INSTANCE:
        return HL_SIZE_INSTANCE + HL_SIZE_INSTANCE_VALUES; /* the larger, 3.11, instance */
    default:
        return 48;
    }
}

/* Objects a create adds: cached singletons already there add none. */
static uint64_t new_object_count(const hl_heap *h, const hl_create_spec *s)
{
    if (s->type == HL_INT && s->int_value >= HL_SMALL_INT_MIN && s->int_value <= HL_SMALL_INT_MAX)
        return h->small_ints[s->int_value - HL_SMALL_INT_MIN] != NULL ? 0 : 1;
    if (s->type == HL_TUPLE && s->nitems == 0)
        return h->empty_tuple != NULL ? 0 : 1;
    return 1 + (s->type == HL_DICT ? s->nkeys : 0);
}

static hl_status validate_create(hl_heap *h, const hl_create_spec *s)
{
    if (s->type >= HL_TYPE_COUNT || s->type == HL_WEAKREF)
        return HL_E_WRONG_TYPE;
    if ((s->finalizer || s->resurrect) && s->type != HL_INSTANCE)
        return HL_E_WRONG_TYPE;
    if (s->resurrect != NULL && (!s->finalizer || !valid_name(s->resurrect)))
        return HL_E_INVALID;
    if (s->type == HL_STR && (s->text == NULL || !hl_utf8_valid(s->text, s->text_len)))
        return HL_E_INVALID;
    /* Zero-filled bytes of a size no allocation could hold: the sizes
     * computed from it would wrap. */
    if (s->type == HL_BYTES && s->text_len > SIZE_MAX / 8)
        return HL_E_NOMEM;
    for (size_t i = 0; i < s->nkeys; i++) {
        if (s->keys[i] == NULL || !hl_utf8_valid(s->keys[i], strlen(s->keys[i])))
            return HL_E_INVALID;
        if (s->type == HL_INSTANCE && s->keys[i][0] == '\0')
            return HL_E_INVALID;
    }
    if (s->type == HL_INSTANCE) {
        const char *cls = s->class_name ? s->class_name : "Node";
        if (!valid_name(cls))
            return HL_E_INVALID;
        hl_class *c = hl_class_get(h, cls, s->finalizer, s->resurrect);
        if (c == NULL)
            return HL_E_NOMEM;
        uint32_t fresh = 0;
        for (size_t i = 0; i < s->nkeys; i++) {
            bool known = false;
            for (uint32_t j = 0; j < c->nattrs && !known; j++)
                known = strcmp(c->attr[j], s->keys[i]) == 0;
            for (size_t j = 0; j < i && !known; j++)
                known = strcmp(s->keys[j], s->keys[i]) == 0;
            fresh += !known;
        }
        if (c->nattrs + fresh > HL_CLASS_MAX_ATTRS)
            return HL_E_INVALID;
    }
    return check_limits(h, new_object_count(h, s), estimate_bytes(s));
}

static hl_status hashable_all(hl_object **objs, size_t n)
{
    int64_t hash;
    for (size_t i = 0; i < n; i++)
        if (!hl_object_hash(objs[i], &hash))
            return HL_E_UNHASHABLE;
    return HL_OK;
}

static hl_object *build_set(hl_heap *h, hl_object **items, size_t n)
{
    hl_object *s = hl_set_new(h);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int64_t hash;
        hl_object_hash(items[i], &hash);
        hl_incref(items[i]);
        if (!hl_set_add(h, (hl_set *)s, items[i], hash)) {
            hl_decref(h, items[i]);
            hl_decref(h, s);
            return NULL;
        }
    }
    return s;
}

static hl_object *build_dict(hl_heap *h, const hl_create_spec *s, hl_object **values)
{
    hl_object **keys = s->nkeys ? calloc(s->nkeys, sizeof *keys) : NULL;
    if (s->nkeys && keys == NULL)
        return NULL;
    hl_object *d = NULL;
    for (size_t i = 0; i < s->nkeys; i++)
        if ((keys[i] = hl_str_new(h, s->keys[i], strlen(s->keys[i]))) == NULL)
            goto done;
    if ((d = hl_dict_new(h, s->nkeys)) == NULL)
        goto done;
    for (size_t i = 0; i < s->nkeys; i++) {
        hl_incref(values[i]);
        if (!hl_dict_set(h, (hl_dict *)d, keys[i], values[i])) {
            hl_decref(h, values[i]);
            hl_decref(h, d);
            d = NULL;
            goto done;
        }
        keys[i] = NULL;
    }
done:
    for (size_t i = 0; i < s->nkeys; i++)
        if (keys[i] != NULL)
            hl_decref(h, keys[i]);
    free(keys);
    return d;
}

static hl_object *build_instance(hl_heap *h, const hl_create_spec *s, hl_object **values)
{
    hl_class *c = hl_class_get(h, s->class_name ? s->class_name : "Node", s->finalizer, s->resurrect);
    hl_object *o = c ? hl_instance_new(h, c) : NULL;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < s->nkeys; i++) {
        hl_incref(values[i]);
        if (hl_instance_setattr(h, (hl_instance *)o, s->keys[i], values[i]) != HL_OK) {
            hl_decref(h, values[i]);
            hl_decref(h, o);
            return NULL;
        }
    }
    return o;
}

static hl_object *build(hl_heap *h, const hl_create_spec *s, hl_object **items, hl_object **values)
{
    hl_object *o = NULL;
    switch (s->type) {
    case HL_INT:
        return hl_int_new(h, s->int_value);
    case HL_FLOAT:
        return hl_float_new(h, s->float_value);
    case HL_STR:
        return hl_str_new(h, s->text, s->text_len);
    case HL_BYTES:
        return hl_bytes_new(h, s->text, s->text_len);
    case HL_TUPLE:
    case HL_LIST:
        /* The items are on the evaluation stack during the allocation. */
        push_refs(items, s->nitems);
        o = s->type == HL_TUPLE ? hl_tuple_new(h, items, s->nitems) : hl_list_new(h, items, s->nitems);
        if (o == NULL)
            drop_refs(h, items, s->nitems);
        return o;
    case HL_SET:
        push_refs(items, s->nitems);
        o = build_set(h, items, s->nitems);
        drop_refs(h, items, s->nitems);
        return o;
    case HL_DICT:
        push_refs(values, s->nkeys);
        o = build_dict(h, s, values);
        drop_refs(h, values, s->nkeys);
        return o;
    case HL_INSTANCE:
        /* Held across the allocation so that a collection it triggers
         * cannot free a value the attributes are about to take. */
        push_refs(values, s->nkeys);
        o = build_instance(h, s, values);
        drop_refs(h, values, s->nkeys);
        return o;
    case HL_WEAKREF:
        break;
    }
    return NULL;
}

/* Binds o (stealing the reference) or lets it go; reports survival in
 * *made, for the oplog, and in *out when not NULL. */
static hl_status bind_or_release(hl_heap *h, hl_object *o, const char *name, hl_create_result *made,
                                 hl_create_result *out)
{
    uint64_t id = o->id;
    hl_status st = HL_OK;
    if (name != NULL) {
        st = hl_name_bind(h, name, o);
        if (st != HL_OK)
            hl_decref(h, o);
    } else {
        hl_decref(h, o);
    }
    made->id = id;
    made->alive = hl_lookup(h, id) != NULL;
    if (out != NULL)
        *out = *made;
    return st;
}

hl_status hl_op_create(hl_heap *h, const hl_create_spec *spec, const char *name, hl_create_result *out)
{
    if (name != NULL && !valid_name(name))
        return HL_E_INVALID;
    hl_status st = validate_create(h, spec);
    hl_object **items = NULL, **values = NULL;
    if (st == HL_OK && (spec->type == HL_TUPLE || spec->type == HL_LIST || spec->type == HL_SET))
        st = resolve_all(h, spec->items, spec->nitems, &items);
    if (st == HL_OK && (spec->type == HL_DICT || spec->type == HL_INSTANCE))
        st = resolve_all(h, spec->values, spec->nkeys, &values);
    if (st == HL_OK && spec->type == HL_SET)
        st = hashable_all(items, spec->nitems);
    if (st == HL_OK && name != NULL && !hl_strmap_reserve(&h->names))
        st = HL_E_NOMEM;
    hl_object *o = NULL;
    if (st == HL_OK && (o = build(h, spec, items, values)) == NULL)
        st = HL_E_NOMEM;
    free(items);
    free(values);
    hl_create_result made;
    if (st != HL_OK || (st = bind_or_release(h, o, name, &made, out)) != HL_OK)
        return st;
    hl_gc_boundary(h);
    hl_oplog_note_create(h, spec, name, &made);
    return HL_OK;
}

hl_status hl_op_bind(hl_heap *h, const char *name, uint64_t id)
{
    hl_object *o;
    if (!valid_name(name))
        return HL_E_INVALID;
    if (find(h, id, &o) != HL_OK)
        return HL_E_NO_OBJECT;
    hl_incref(o);
    hl_status st = hl_name_bind(h, name, o);
    if (st != HL_OK) {
        hl_decref(h, o);
        return st;
    }
    hl_gc_boundary(h);
    hl_oplog_note_bind(h, name, id);
    return HL_OK;
}

hl_status hl_op_unbind(hl_heap *h, const char *name)
{
    if (name == NULL)
        return HL_E_INVALID;
    hl_object *o = hl_strmap_remove(&h->names, name);
    if (o == NULL)
        return HL_E_NAME_UNBOUND;
    hl_decref(h, o);
    hl_gc_boundary(h);
    hl_oplog_note_unbind(h, name);
    return HL_OK;
}

static bool normalize_index(int64_t index, uint64_t size, uint64_t *out)
{
    int64_t i = index < 0 ? index + (int64_t)size : index;
    if (i < 0 || (uint64_t)i >= size)
        return false;
    *out = (uint64_t)i;
    return true;
}

static hl_status refuse_for(const hl_object *o, hl_type wanted)
{
    if (o->type == wanted)
        return HL_OK;
    return hl_type_is_gc((hl_type)o->type) && o->type != HL_TUPLE ? HL_E_WRONG_TYPE : HL_E_IMMUTABLE;
}

static hl_status set_dict_key(hl_heap *h, hl_dict *d, const char *key, hl_object *t)
{
    size_t len = strlen(key);
    if (!hl_utf8_valid(key, len))
        return HL_E_INVALID;
    hl_incref(t);
    if (hl_dict_replace(h, d, key, len, t))
        return HL_OK;
    hl_status st = check_limits(h, 1, hl_str_alloc_size(h->cfg.profile, key, len) + hl_dict_growth_bytes(d));
    hl_object *k = st == HL_OK ? hl_str_new(h, key, len) : NULL;
    if (k == NULL || !hl_dict_set(h, d, k, t)) {
        if (k != NULL)
            hl_decref(h, k);
        hl_decref(h, t);
        return st != HL_OK ? st : HL_E_NOMEM;
    }
    return HL_OK;
}

static hl_status add_ref(hl_heap *h, uint64_t id, const hl_ref_spec *spec)
{
    hl_object *o, *t;
    if (find(h, id, &o) != HL_OK || find(h, spec->target, &t) != HL_OK)
        return HL_E_NO_OBJECT;
    hl_status st;
    uint64_t i;
    switch (spec->op) {
    case HL_REF_APPEND:
        if ((st = refuse_for(o, HL_LIST)) != HL_OK)
            return st;
        if ((st = check_limits(h, 0, hl_list_growth_bytes((hl_list *)o))) != HL_OK)
            return st;
        hl_incref(t);
        if (!hl_list_append(h, (hl_list *)o, t)) {
            hl_decref(h, t);
            return HL_E_NOMEM;
        }
        return HL_OK;
    case HL_REF_SET_INDEX:
        if ((st = refuse_for(o, HL_LIST)) != HL_OK)
            return st;
        if (!normalize_index(spec->index, ((hl_list *)o)->size, &i))
            return HL_E_INDEX;
        hl_incref(t);
        hl_list_set(h, (hl_list *)o, i, t);
        return HL_OK;
    case HL_REF_SET_KEY:
        if ((st = refuse_for(o, HL_DICT)) != HL_OK)
            return st;
        if (spec->key == NULL)
            return HL_E_INVALID;
        return set_dict_key(h, (hl_dict *)o, spec->key, t);
    case HL_REF_SET_ATTR:
        if ((st = refuse_for(o, HL_INSTANCE)) != HL_OK)
            return st;
        if (!valid_name(spec->key) || !hl_utf8_valid(spec->key, strlen(spec->key)))
            return HL_E_INVALID;
        if (!hl_instance_can_set(h, (hl_instance *)o, spec->key))
            return HL_E_INVALID;
        hl_incref(t);
        if ((st = hl_instance_setattr(h, (hl_instance *)o, spec->key, t)) != HL_OK)
            hl_decref(h, t);
        return st;
    case HL_REF_ADD_MEMBER: {
        if ((st = refuse_for(o, HL_SET)) != HL_OK)
            return st;
        int64_t hash;
        if (!hl_object_hash(t, &hash))
            return HL_E_UNHASHABLE;
        bool present = hl_set_contains((hl_set *)o, t, hash);
        if (!present && (st = check_limits(h, 0, hl_set_growth_bytes((hl_set *)o))) != HL_OK)
            return st;
        hl_incref(t);
        if (!hl_set_add(h, (hl_set *)o, t, hash)) {
            hl_decref(h, t);
            return HL_E_NOMEM;
        }
        return HL_OK;
    }
    }
    return HL_E_INVALID;
}

static hl_status list_remove_target(hl_heap *h, hl_list *l, const hl_object *t)
{
    for (uint64_t i = 0; i < l->size; i++)
        if (hl_object_equal(l->items[i], t))
            return hl_list_delete(h, l, i, false) ? HL_OK : HL_E_NOMEM;
    return HL_E_NOT_FOUND;
}

static hl_status remove_target(hl_heap *h, hl_object *o, uint64_t target)
{
    hl_object *t;
    if (find(h, target, &t) != HL_OK)
        return HL_E_NO_OBJECT;
    if (o->type == HL_LIST)
        return list_remove_target(h, (hl_list *)o, t);
    if (o->type != HL_SET)
        return refuse_for(o, HL_LIST);
    /* CPython looks a set argument up as a frozenset: never a member here. */
    if (t->type == HL_SET)
        return HL_E_KEY;
    int64_t hash;
    if (!hl_object_hash(t, &hash))
        return HL_E_UNHASHABLE;
    return hl_set_discard(h, (hl_set *)o, t, hash) ? HL_OK : HL_E_KEY;
}

static hl_status remove_ref(hl_heap *h, uint64_t id, const hl_unref_spec *spec)
{
    hl_object *o;
    if (find(h, id, &o) != HL_OK)
        return HL_E_NO_OBJECT;
    hl_status st;
    uint64_t i;
    switch (spec->op) {
    case HL_UNREF_INDEX:
        if ((st = refuse_for(o, HL_LIST)) != HL_OK)
            return st;
        if (!normalize_index(spec->index, ((hl_list *)o)->size, &i))
            return HL_E_INDEX;
        return hl_list_delete(h, (hl_list *)o, i, true) ? HL_OK : HL_E_NOMEM;
    case HL_UNREF_KEY:
        if ((st = refuse_for(o, HL_DICT)) != HL_OK)
            return st;
        if (spec->key == NULL)
            return HL_E_INVALID;
        return hl_dict_delete(h, (hl_dict *)o, spec->key, strlen(spec->key)) ? HL_OK : HL_E_KEY;
    case HL_UNREF_ATTR:
        if ((st = refuse_for(o, HL_INSTANCE)) != HL_OK)
            return st;
        if (spec->key == NULL)
            return HL_E_INVALID;
        return hl_instance_setattr(h, (hl_instance *)o, spec->key, NULL);
    case HL_UNREF_TARGET:
        return remove_target(h, o, spec->target);
    }
    return HL_E_INVALID;
}

/* add_ref and remove_ref succeed on many paths: the log hears of them here. */
hl_status hl_op_add_ref(hl_heap *h, uint64_t id, const hl_ref_spec *spec)
{
    hl_status st = add_ref(h, id, spec);
    if (st == HL_OK) {
        hl_gc_boundary(h);
        hl_oplog_note_add_ref(h, id, spec);
    }
    return st;
}

hl_status hl_op_remove_ref(hl_heap *h, uint64_t id, const hl_unref_spec *spec)
{
    hl_status st = remove_ref(h, id, spec);
    if (st == HL_OK) {
        hl_gc_boundary(h);
        hl_oplog_note_remove_ref(h, id, spec);
    }
    return st;
}

hl_status hl_op_weakref(hl_heap *h, uint64_t target, bool callback, const char *name, hl_create_result *out)
{
    hl_object *t;
    if (name != NULL && !valid_name(name))
        return HL_E_INVALID;
    if (find(h, target, &t) != HL_OK)
        return HL_E_NO_OBJECT;
    hl_weakref **list = hl_weakref_list(t);
    if (list == NULL)
        return HL_E_NOT_WEAKREFABLE;
    bool reuse = !callback && *list != NULL && !(*list)->has_callback;
    hl_status st = check_limits(h, reuse ? 0 : 1, reuse ? 0 : HL_SIZE_WEAKREF);
    if (st != HL_OK)
        return st;
    if (name != NULL && !hl_strmap_reserve(&h->names))
        return HL_E_NOMEM;
    /* weakref.ref(t[, cb]): t is on the stack and, since the type has no
     * vectorcall in 3.11, in an argument tuple too (cb, which the model
     * does not hold, is stood in for by t). */
    hl_incref(t);
    hl_object *argv[2] = {t, t};
    hl_object *args = hl_args_tuple(h, argv, callback ? 2 : 1);
    hl_object *wr = args != NULL ? hl_weakref_new(h, t, callback) : NULL;
    if (args != NULL)
        hl_decref(h, args);
    hl_decref(h, t);
    if (wr == NULL)
        return HL_E_NOMEM;
    hl_create_result made;
    if ((st = bind_or_release(h, wr, name, &made, out)) != HL_OK)
        return st;
    hl_gc_boundary(h);
    hl_oplog_note_weakref(h, target, callback, name, &made);
    return HL_OK;
}
