/* ops_fixtures.h — what the ops tests share: a snapshot-checking failure
 * assertion, small constructors, and a heap rich in every kind of object. */
#ifndef HL_OPS_FIXTURES_H
#define HL_OPS_FIXTURES_H

#include <stdlib.h>

#include "testutil.h"

/* Runs call, which must fail with want and leave the heap as it was. */
#define ck_assert_fails_unchanged(h, call, want)            \
    do {                                                    \
        t_heap_snapshot *before_ = t_snapshot_new(h);       \
        ck_assert_status((call), (want));                   \
        ck_assert_heap_unchanged((h), before_);             \
        free(before_);                                      \
        ck_assert_heap_ok(h);                               \
    } while (0)

static inline uint64_t named(const hl_heap *h, const char *name)
{
    uint64_t id = 0;
    ck_assert_status(hl_heap_name_lookup(h, name, &id), HL_OK);
    return id;
}

typedef struct ids {
    uint64_t v[64];
    int n;
} ids;

static inline bool collect_ref(void *ctx, const hl_ref *r)
{
    ids *out = ctx;
    if (r->kind != HL_SLOT_DICT_KEY && out->n < 64)
        out->v[out->n++] = r->target;
    return true;
}

/* The objects id refers to (dict values, not keys), in slot order. */
static inline ids referents(const hl_heap *h, uint64_t id)
{
    ids out = {.n = 0};
    ck_assert_status(hl_heap_referents(h, id, collect_ref, &out), HL_OK);
    return out;
}

static inline uint64_t t_str(hl_heap *h, const char *name, const char *text)
{
    hl_create_spec s = {.type = HL_STR, .text = text, .text_len = strlen(text)};
    return t_create(h, &s, name);
}

static inline uint64_t t_tuple(hl_heap *h, const char *name, const uint64_t *items, size_t n)
{
    hl_create_spec s = {.type = HL_TUPLE, .items = items, .nitems = n};
    return t_create(h, &s, name);
}

static inline uint64_t t_set(hl_heap *h, const char *name, const uint64_t *items, size_t n)
{
    hl_create_spec s = {.type = HL_SET, .items = items, .nitems = n};
    return t_create(h, &s, name);
}

static inline uint64_t t_dict1(hl_heap *h, const char *name, const char *key, uint64_t value)
{
    const char *keys[1] = {key};
    hl_create_spec s = {.type = HL_DICT, .keys = keys, .values = &value, .nkeys = 1};
    return t_create(h, &s, name);
}

static inline hl_status add_ref(hl_heap *h, uint64_t id, hl_ref_op op, int64_t index, const char *key, uint64_t target)
{
    hl_ref_spec r = {.op = op, .index = index, .key = key, .target = target};
    return hl_op_add_ref(h, id, &r);
}

static inline hl_status remove_ref(hl_heap *h, uint64_t id, hl_unref_op op, int64_t index, const char *key,
                            uint64_t target)
{
    hl_unref_spec r = {.op = op, .index = index, .key = key, .target = target};
    return hl_op_remove_ref(h, id, &r);
}

/* A heap with one object of every type bound to a name, so that a failed
 * call has plenty it could disturb:
 *   i = 1000; s = "k"; lst = [i]; tup = (i, s); d = {"a": i}; st = {i}
 *   o = Node(); o.x = i; w = weakref.ref(o); e = []; f = 1.5; b = b"xy" */
typedef struct rich {
    hl_heap *h;
    uint64_t i, s, lst, tup, d, st, o, w, e, f, b, small;
} rich;

static inline rich rich_heap(void)
{
    rich r;
    r.h = t_heap();
    hl_heap *h = r.h;
    r.i = t_int(h, "i", 1000);
    r.small = t_int(h, "small", 7);
    r.s = t_str(h, "s", "k");
    r.lst = t_list(h, "lst", &r.i, 1);
    uint64_t pair[2] = {r.i, r.s};
    r.tup = t_tuple(h, "tup", pair, 2);
    r.d = t_dict1(h, "d", "a", r.i);
    r.st = t_set(h, "st", &r.i, 1);
    r.o = t_instance(h, "o", "Node", false);
    t_setattr(h, r.o, "x", r.i);
    hl_create_result wr;
    ck_assert_status(hl_op_weakref(h, r.o, false, "w", &wr), HL_OK);
    r.w = wr.id;
    r.e = t_list(h, "e", NULL, 0);
    hl_create_spec fs = {.type = HL_FLOAT, .float_value = 1.5};
    r.f = t_create(h, &fs, "f");
    hl_create_spec bs = {.type = HL_BYTES, .text = "xy", .text_len = 2};
    r.b = t_create(h, &bs, "b");
    ck_assert_heap_ok(h);
    return r;
}

#endif
