/* testutil.h — small helpers the core tests share: building objects in one
 * call and asserting the heap's invariants. */
#ifndef HL_TESTUTIL_H
#define HL_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "heap.h"
#include "ops.h"

#define ck_assert_heap_ok(h)                                      \
    do {                                                          \
        char why_[256];                                           \
        bool ok_ = hl_heap_check((h), why_, sizeof why_);         \
        ck_assert_msg(ok_, "hl_heap_check: %s", why_);            \
    } while (0)

#define ck_assert_status(expr, want) ck_assert_str_eq(hl_status_name(expr), hl_status_name(want))

/* Runs a suite; the exit status says whether every check passed. */
static inline int t_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

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

/* ---- heap snapshots: "a call that returns an error has changed nothing" ----
 * t_snapshot records what a failed operation must leave alone: the live ids
 * with their types and refcounts, the names in binding order, the next id,
 * the collector's counts and list sizes and the allocator's blocks.
 * t_snapshot_equal compares two snapshots and says what differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_SNAP_MAX_OBJECTS 4096
#define T_SNAP_MAX_NAMES 128
#define T_SNAP_NAME_LEN 64

typedef struct t_heap_snapshot {
    size_t nobjects;
    uint64_t id[T_SNAP_MAX_OBJECTS];
    uint32_t refcount[T_SNAP_MAX_OBJECTS];
    hl_type type[T_SNAP_MAX_OBJECTS];
    uint64_t length[T_SNAP_MAX_OBJECTS];
    size_t nnames;
    char name[T_SNAP_MAX_NAMES][T_SNAP_NAME_LEN];
    uint64_t name_id[T_SNAP_MAX_NAMES];
    uint64_t next_id;
    int64_t gc_count[3];
    uint64_t gc_generation_size[3];
    uint64_t gc_frozen;
    uint64_t gc_collections[3];
    hl_alloc_stats alloc;
} t_heap_snapshot;

static inline bool t_snapshot_name_(void *ctx, const char *name, uint64_t id)
{
    t_heap_snapshot *s = ctx;
    ck_assert_msg(s->nnames < T_SNAP_MAX_NAMES, "t_snapshot: too many names");
    ck_assert_msg(strlen(name) < T_SNAP_NAME_LEN, "t_snapshot: name too long");
    strcpy(s->name[s->nnames], name);
    s->name_id[s->nnames] = id;
    s->nnames++;
    return true;
}

static inline void t_snapshot(const hl_heap *h, t_heap_snapshot *s)
{
    memset(s, 0, sizeof *s);
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0; id = hl_heap_next_live_id(h, id)) {
        ck_assert_msg(s->nobjects < T_SNAP_MAX_OBJECTS, "t_snapshot: too many objects");
        hl_object_info info;
        ck_assert_status(hl_heap_object_info(h, id, &info), HL_OK);
        s->id[s->nobjects] = id;
        s->refcount[s->nobjects] = info.refcount;
        s->type[s->nobjects] = info.type;
        s->length[s->nobjects] = info.length;
        s->nobjects++;
    }
    hl_heap_names(h, t_snapshot_name_, s);
    s->next_id = hl_heap_next_id(h);
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    for (int i = 0; i < 3; i++) {
        s->gc_count[i] = g.count[i];
        s->gc_generation_size[i] = g.generation_size[i];
        s->gc_collections[i] = g.stats[i].collections;
    }
    s->gc_frozen = g.frozen;
    hl_alloc_get_stats(hl_heap_allocator(h), &s->alloc);
}

/* true when equal; otherwise writes the first difference into why. */
static inline bool t_snapshot_equal(const t_heap_snapshot *a, const t_heap_snapshot *b, char *why, size_t cap)
{
#define T_SNAP_DIFF_(...) do { snprintf(why, cap, __VA_ARGS__); return false; } while (0)
    if (a->nobjects != b->nobjects)
        T_SNAP_DIFF_("live objects %zu -> %zu", a->nobjects, b->nobjects);
    for (size_t i = 0; i < a->nobjects; i++) {
        if (a->id[i] != b->id[i])
            T_SNAP_DIFF_("live id #%zu: %llu -> %llu", i, (unsigned long long)a->id[i], (unsigned long long)b->id[i]);
        if (a->type[i] != b->type[i])
            T_SNAP_DIFF_("object %llu changed type", (unsigned long long)a->id[i]);
        if (a->refcount[i] != b->refcount[i])
            T_SNAP_DIFF_("object %llu refcount %u -> %u", (unsigned long long)a->id[i], a->refcount[i], b->refcount[i]);
        if (a->length[i] != b->length[i])
            T_SNAP_DIFF_("object %llu length %llu -> %llu", (unsigned long long)a->id[i],
                         (unsigned long long)a->length[i], (unsigned long long)b->length[i]);
    }
    if (a->nnames != b->nnames)
        T_SNAP_DIFF_("names %zu -> %zu", a->nnames, b->nnames);
    for (size_t i = 0; i < a->nnames; i++)
        if (strcmp(a->name[i], b->name[i]) != 0 || a->name_id[i] != b->name_id[i])
            T_SNAP_DIFF_("name #%zu: %s=%llu -> %s=%llu", i, a->name[i], (unsigned long long)a->name_id[i],
                         b->name[i], (unsigned long long)b->name_id[i]);
    if (a->next_id != b->next_id)
        T_SNAP_DIFF_("next id %llu -> %llu", (unsigned long long)a->next_id, (unsigned long long)b->next_id);
    for (int i = 0; i < 3; i++) {
        if (a->gc_count[i] != b->gc_count[i])
            T_SNAP_DIFF_("gc count[%d] %lld -> %lld", i, (long long)a->gc_count[i], (long long)b->gc_count[i]);
        if (a->gc_generation_size[i] != b->gc_generation_size[i])
            T_SNAP_DIFF_("generation %d size %llu -> %llu", i, (unsigned long long)a->gc_generation_size[i],
                         (unsigned long long)b->gc_generation_size[i]);
        if (a->gc_collections[i] != b->gc_collections[i])
            T_SNAP_DIFF_("generation %d collections %llu -> %llu", i, (unsigned long long)a->gc_collections[i],
                         (unsigned long long)b->gc_collections[i]);
    }
    if (a->gc_frozen != b->gc_frozen)
        T_SNAP_DIFF_("frozen %llu -> %llu", (unsigned long long)a->gc_frozen, (unsigned long long)b->gc_frozen);
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++)
        if (a->alloc.classes[i].used_blocks != b->alloc.classes[i].used_blocks)
            T_SNAP_DIFF_("size class %d used blocks %llu -> %llu", i,
                         (unsigned long long)a->alloc.classes[i].used_blocks,
                         (unsigned long long)b->alloc.classes[i].used_blocks);
    if (a->alloc.raw_count != b->alloc.raw_count || a->alloc.raw_bytes != b->alloc.raw_bytes)
        T_SNAP_DIFF_("raw blocks %llu (%llu bytes) -> %llu (%llu bytes)", (unsigned long long)a->alloc.raw_count,
                     (unsigned long long)a->alloc.raw_bytes, (unsigned long long)b->alloc.raw_count,
                     (unsigned long long)b->alloc.raw_bytes);
    if (a->alloc.bytes_in_allocated_blocks != b->alloc.bytes_in_allocated_blocks)
        T_SNAP_DIFF_("allocated bytes %llu -> %llu", (unsigned long long)a->alloc.bytes_in_allocated_blocks,
                     (unsigned long long)b->alloc.bytes_in_allocated_blocks);
#undef T_SNAP_DIFF_
    if (cap > 0)
        why[0] = '\0';
    return true;
}

/* A snapshot on the heap (it is ~100 KiB); free() it. */
static inline t_heap_snapshot *t_snapshot_new(const hl_heap *h)
{
    t_heap_snapshot *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    t_snapshot(h, s);
    return s;
}

/* Asserts h still matches the snapshot taken before (a t_heap_snapshot *). */
#define ck_assert_heap_unchanged(h, before)                                    \
    do {                                                                       \
        t_heap_snapshot *after_ = malloc(sizeof *after_);                      \
        ck_assert_ptr_nonnull(after_);                                         \
        t_snapshot((h), after_);                                               \
        char why_[256];                                                        \
        bool same_ = t_snapshot_equal((before), after_, why_, sizeof why_);    \
        free(after_);                                                          \
        ck_assert_msg(same_, "heap changed by a failed call: %s", why_);       \
    } while (0)

#endif
