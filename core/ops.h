/* ops.h — the one door through which a heap changes.
 *
 * Promise: every mutation of a heap (create, bind, unbind, add or remove a
 * reference, weak references, collection, collector configuration) is one
 * call here, with the semantics of the equal Python statement run by
 * CPython 3.11 — including automatic collections triggered by allocations,
 * finalizers and weakref callbacks.  A call that returns an error has
 * changed nothing.  Results are plain C values; ids are heap ids.
 */
#ifndef HL_OPS_H
#define HL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

typedef struct hl_create_spec {
    hl_type type;
    int64_t int_value;        /* int */
    double float_value;       /* float */
    const char *text;         /* str (UTF-8) or bytes content; NULL for bytes of zeros */
    size_t text_len;          /* bytes: also the size of a zero-filled value */
    const uint64_t *items;    /* tuple, list, set: item ids in order */
    size_t nitems;
    const char *const *keys;  /* dict keys or instance attribute names */
    const uint64_t *values;   /* their value ids */
    size_t nkeys;
    const char *class_name;   /* instance: the class ("Node" if NULL) */
    bool finalizer;           /* instance: the class has __del__ */
    const char *resurrect;    /* instance: __del__ binds the object to this name */
} hl_create_spec;

typedef struct hl_create_result {
    uint64_t id;
    bool alive;  /* false when nothing held it and it was freed at once */
} hl_create_result;

/* Creates an object; binds it to name when name is not NULL. */
hl_status hl_op_create(hl_heap *h, const hl_create_spec *spec, const char *name, hl_create_result *out);

hl_status hl_op_bind(hl_heap *h, const char *name, uint64_t id);  /* name = obj */
hl_status hl_op_unbind(hl_heap *h, const char *name);             /* del name */

typedef enum hl_ref_op {
    HL_REF_APPEND,     /* list.append(t) */
    HL_REF_SET_INDEX,  /* list[i] = t */
    HL_REF_SET_KEY,    /* dict[key] = t */
    HL_REF_SET_ATTR,   /* obj.attr = t */
    HL_REF_ADD_MEMBER, /* set.add(t) */
} hl_ref_op;

typedef struct hl_ref_spec {
    hl_ref_op op;
    int64_t index;     /* negative counts from the end, as Python */
    const char *key;   /* dict key or attribute name */
    uint64_t target;
} hl_ref_spec;

hl_status hl_op_add_ref(hl_heap *h, uint64_t id, const hl_ref_spec *spec);

typedef enum hl_unref_op {
    HL_UNREF_INDEX,   /* del list[i] */
    HL_UNREF_KEY,     /* del dict[key] */
    HL_UNREF_ATTR,    /* del obj.attr */
    HL_UNREF_TARGET,  /* list.remove(t) / set.remove(t) */
} hl_unref_op;

typedef struct hl_unref_spec {
    hl_unref_op op;
    int64_t index;
    const char *key;
    uint64_t target;
} hl_unref_spec;

hl_status hl_op_remove_ref(hl_heap *h, uint64_t id, const hl_unref_spec *spec);

/* weakref.ref(target[, callback]); a callback-less ref to a target that
 * already has one returns that same ref, as CPython does.  Binds name if
 * given. */
hl_status hl_op_weakref(hl_heap *h, uint64_t target, bool callback, const char *name, hl_create_result *out);

/* gc.collect(generation); generation 0..2. */
hl_status hl_op_collect(hl_heap *h, int generation, hl_collect_result *out);

typedef struct hl_gc_config {
    bool set_enabled;
    bool enabled;
    int nthresholds;     /* 0 = leave, 1..3 as gc.set_threshold(t0[, t1[, t2]]) */
    int thresholds[3];   /* each >= 0 */
} hl_gc_config;
hl_status hl_op_gc_config(hl_heap *h, const hl_gc_config *cfg);

hl_status hl_op_freeze(hl_heap *h);
hl_status hl_op_unfreeze(hl_heap *h);

#endif
