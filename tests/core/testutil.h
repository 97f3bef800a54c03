/* testutil.h — small helpers the core tests share: building objects in one
 * call and asserting the heap's invariants. */
#ifndef HL_TESTUTIL_H
#define HL_TESTUTIL_H

#include <check.h>
#include <stdint.h>

#include "heap.h"
#include "ops.h"

#define ck_assert_heap_ok(h)                                      \
    do {                                                          \
        char why_[256];                                           \
        bool ok_ = hl_heap_check((h), why_, sizeof why_);         \
        ck_assert_msg(ok_, "hl_heap_check: %s", why_);            \
    } while (0)

#define ck_assert_status(expr, want) ck_assert_str_eq(hl_status_name(expr), hl_status_name(want))

/* A heap with automatic collection off unless a test turns it on. */
static inline hl_heap *t_heap(void)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.gc_enabled = false;
    hl_heap *h = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(h);
    return h;
}

static inline uint64_t t_create(hl_heap *h, const hl_create_spec *s, const char *name)
{
    hl_create_result r;
    ck_assert_status(hl_op_create(h, s, name, &r), HL_OK);
    return r.id;
}

static inline uint64_t t_list(hl_heap *h, const char *name, const uint64_t *items, size_t n)
{
    hl_create_spec s = {.type = HL_LIST, .items = items, .nitems = n};
    return t_create(h, &s, name);
}

static inline uint64_t t_instance(hl_heap *h, const char *name, const char *cls, bool finalizer)
{
    hl_create_spec s = {.type = HL_INSTANCE, .class_name = cls, .finalizer = finalizer};
    return t_create(h, &s, name);
}

static inline uint64_t t_int(hl_heap *h, const char *name, int64_t v)
{
    hl_create_spec s = {.type = HL_INT, .int_value = v};
    return t_create(h, &s, name);
}

static inline void t_append(hl_heap *h, uint64_t list, uint64_t target)
{
    hl_ref_spec r = {.op = HL_REF_APPEND, .target = target};
    ck_assert_status(hl_op_add_ref(h, list, &r), HL_OK);
}

static inline void t_setattr(hl_heap *h, uint64_t obj, const char *attr, uint64_t target)
{
    hl_ref_spec r = {.op = HL_REF_SET_ATTR, .key = attr, .target = target};
    ck_assert_status(hl_op_add_ref(h, obj, &r), HL_OK);
}

static inline bool t_alive(const hl_heap *h, uint64_t id)
{
    hl_object_info info;
    return hl_heap_object_info(h, id, &info) == HL_OK;
}

static inline hl_object_info t_info(const hl_heap *h, uint64_t id)
{
    hl_object_info info;
    ck_assert_status(hl_heap_object_info(h, id, &info), HL_OK);
    return info;
}

static inline uint64_t t_collect(hl_heap *h, int gen)
{
    hl_collect_result r;
    ck_assert_status(hl_op_collect(h, gen, &r), HL_OK);
    return r.collected;
}

/* Records events so tests can assert their order. */
typedef struct t_events {
    hl_event_kind kind[256];
    uint64_t id[256];
    int n;
} t_events;

static inline void t_events_sink(void *ctx, const hl_event *ev)
{
    t_events *e = ctx;
    if (ev->kind == HL_EV_FREE || ev->kind == HL_EV_COLLECT || e->n >= 256)
        return;
    e->kind[e->n] = ev->kind;
    e->id[e->n] = ev->id;
    e->n++;
}

#endif
