/* heap.h — a managed heap that behaves like CPython 3.11's memory manager.
 *
 * Promise: an hl_heap owns a pymalloc-style allocator, the objects that live
 * in it, its root names, and a generational cyclic collector.  Heaps share
 * nothing, so any number live side by side; one heap is used by one thread at
 * a time (callers lock).  Everything here READS: introspection never changes
 * a refcount, allocates a block or runs the collector.  Mutations go through
 * ops.h.  Ids are positive, never reused within a heap.
 */
#ifndef HL_HEAP_H
#define HL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

typedef enum hl_type {
    HL_INT,
    HL_FLOAT,
    HL_STR,
    HL_BYTES,
    HL_TUPLE,  /* from here on: container (GC) types */
    HL_LIST,
    HL_DICT,
    HL_SET,
    HL_INSTANCE,
    HL_WEAKREF,
} hl_type;
#define HL_TYPE_COUNT 10

const char *hl_type_name(hl_type t);
bool hl_type_from_name(const char *name, hl_type *out);

typedef enum hl_status {
    HL_OK = 0,
    HL_E_NOMEM,          /* the machine is out of memory */
    HL_E_NO_OBJECT,      /* no live object has that id (never existed or freed) */
    HL_E_NAME_UNBOUND,   /* NameError */
    HL_E_IMMUTABLE,      /* tuples, ints, ... cannot gain or lose references */
    HL_E_UNHASHABLE,     /* TypeError: unhashable type (set member) */
    HL_E_INDEX,          /* IndexError */
    HL_E_KEY,            /* KeyError: dict key or set member not present */
    HL_E_ATTR,           /* AttributeError */
    HL_E_NOT_FOUND,      /* ValueError: list.remove(x): x not in list */
    HL_E_WRONG_TYPE,     /* the operation does not apply to that type */
    HL_E_NOT_WEAKREFABLE,/* TypeError: cannot create weak reference to ... */
    HL_E_LIMIT_OBJECTS,  /* the heap's max_objects would be exceeded */
    HL_E_LIMIT_BYTES,    /* the heap's max_bytes would be exceeded */
    HL_E_INVALID,        /* an argument is out of its range */
    HL_E_BUSY,           /* a collection is running (re-entrant request) */
} hl_status;

const char *hl_status_name(hl_status s);    /* "HL_E_KEY" */
const char *hl_status_message(hl_status s); /* a sentence for users */

typedef struct hl_heap hl_heap;

/* Which CPython the heap behaves like.  3.11 is the reference; 3.12 makes
 * the small ints and () immortal, runs automatic collections at the next
 * operation boundary instead of inside the allocation, and shrinks empty
 * instances to 48 bytes and ASCII strs to 41+N; 3.13 also starts with a
 * threshold of 2000. */
typedef enum hl_profile { HL_PROFILE_3_11, HL_PROFILE_3_12, HL_PROFILE_3_13 } hl_profile;
#define HL_PROFILE_COUNT 3
const char *hl_profile_name(hl_profile p);                 /* "3.11" */
bool hl_profile_from_name(const char *name, hl_profile *out);

/* What sys.getrefcount shows for an immortal object (3.12+). */
#define HL_IMMORTAL_REFCOUNT 4294967295u

typedef struct hl_heap_config {
    uint64_t max_objects; /* 0 = unlimited */
    uint64_t max_bytes;   /* allocator bytes in use, 0 = unlimited */
    int thresholds[3];    /* CPython's (700, 10, 10) by default */
    bool gc_enabled;
    int32_t arena_phase;  /* hl_alloc_new's phase; -1 (default) = as mmap falls, like CPython */
    hl_profile profile;   /* 3.11 by default */
} hl_heap_config;

/* Makes cfg a profile's defaults: the profile and its thresholds. */
void hl_heap_config_profile(hl_heap_config *cfg, hl_profile p);

void hl_heap_config_default(hl_heap_config *cfg);
hl_heap *hl_heap_new(const hl_heap_config *cfg); /* NULL cfg = defaults; NULL on OOM */
void hl_heap_delete(hl_heap *h);
/* The heap's configuration, with the arena phase it actually took: a heap
 * created from it and given the same operations is the same heap. */
void hl_heap_config_get(const hl_heap *h, hl_heap_config *out);

/* ---- events: what happened, in the order CPython would do it ---- */
typedef enum hl_event_kind {
    HL_EV_FREE,             /* id freed (type, size) */
    HL_EV_COLLECT,          /* a collection finished (collect result) */
    HL_EV_FINALIZE,         /* id's finalizer ran */
    HL_EV_WEAKREF_CALLBACK, /* weakref id's callback ran (target = what died) */
    HL_EV_RESURRECT,        /* id's finalizer bound it to a name */
} hl_event_kind;

typedef struct hl_collect_result {
    int generation;
    uint64_t collected;
    uint64_t uncollectable;
    uint64_t examined;
    uint64_t duration_ns;
    bool automatic;
} hl_collect_result;

typedef struct hl_event {
    hl_event_kind kind;
    uint64_t id;
    uint64_t target;
    hl_type type;
    const hl_collect_result *collect; /* for HL_EV_COLLECT */
} hl_event;

typedef void (*hl_event_sink)(void *ctx, const hl_event *ev);
void hl_heap_set_event_sink(hl_heap *h, hl_event_sink sink, void *ctx);

/* ---- objects ---- */
typedef struct hl_object_info {
    uint64_t id;
    hl_type type;
    uint32_t refcount;
    size_t size;         /* sys.getsizeof */
    bool tracked;        /* gc.is_tracked */
    int generation;      /* 0..2, 3 = permanent (frozen), -1 untracked */
    uintptr_t address;   /* the object's real address (CPython's id()) */
    int size_class;      /* of the object's own block, -1 if raw */
    bool finalizer;      /* has __del__ */
    bool finalized;      /* gc.is_finalized */
    bool immortal;       /* 3.12+: refcount is HL_IMMORTAL_REFCOUNT whatever refers to it */
    uint64_t length;     /* items, entries, attributes, bytes, or code points */
    const char *class_name; /* instances */
} hl_object_info;

hl_status hl_heap_object_info(const hl_heap *h, uint64_t id, hl_object_info *out);
bool hl_heap_id_ever_used(const hl_heap *h, uint64_t id); /* id <= the last id minted */
uint64_t hl_heap_next_id(const hl_heap *h);

/* Next live id greater than after (0 = from the start), 0 when none: listing
 * in id order without holding anything. */
uint64_t hl_heap_next_live_id(const hl_heap *h, uint64_t after);

/* Values of atomic objects. */
hl_status hl_heap_int_value(const hl_heap *h, uint64_t id, int64_t *out);
hl_status hl_heap_float_value(const hl_heap *h, uint64_t id, double *out);
/* str as UTF-8 / bytes raw: writes up to cap bytes, returns the full length in *len. */
hl_status hl_heap_text_value(const hl_heap *h, uint64_t id, char *buf, size_t cap, size_t *len);

/* One strong reference held by a container, as the API and paths name it. */
typedef enum hl_slot_kind { HL_SLOT_INDEX, HL_SLOT_KEY, HL_SLOT_ATTR, HL_SLOT_MEMBER, HL_SLOT_DICT_KEY } hl_slot_kind;
typedef struct hl_ref {
    hl_slot_kind kind;
    uint64_t index;      /* list/tuple index, or set position */
    const char *name;    /* dict key (UTF-8, valid until the next mutation) or attribute */
    uint64_t target;
} hl_ref;
typedef bool (*hl_ref_visitor)(void *ctx, const hl_ref *ref); /* return false to stop */
hl_status hl_heap_referents(const hl_heap *h, uint64_t id, hl_ref_visitor visit, void *ctx);
/* For a weakref: the id it refers to, 0 when dead. */
hl_status hl_heap_weakref_target(const hl_heap *h, uint64_t id, uint64_t *target, bool *has_callback);

/* ---- names (module globals) ---- */
hl_status hl_heap_name_lookup(const hl_heap *h, const char *name, uint64_t *id);
size_t hl_heap_name_count(const hl_heap *h);
/* Visits names in binding order. */
typedef bool (*hl_name_visitor)(void *ctx, const char *name, uint64_t id);
void hl_heap_names(const hl_heap *h, hl_name_visitor visit, void *ctx);

/* ---- collector and memory state ---- */
typedef struct hl_gc_gen_stats {
    uint64_t collections;
    uint64_t collected;
    uint64_t uncollectable;
} hl_gc_gen_stats;

typedef struct hl_gc_state {
    bool enabled;
    bool collecting;
    int thresholds[3];
    int64_t count[3];
    hl_gc_gen_stats stats[3];
    uint64_t generation_size[3];
    uint64_t frozen;          /* gc.get_freeze_count() */
    uint64_t long_lived_total;
    uint64_t long_lived_pending;
    hl_collect_result last;   /* the latest collection, generation -1 if none */
} hl_gc_state;

void hl_heap_gc_state(const hl_heap *h, hl_gc_state *out);

/* gc.get_objects(generation): the ids of a generation's list in list order
 * (the order the next collection scans them); generation 3 is the
 * permanent one. */
typedef bool (*hl_id_visitor)(void *ctx, uint64_t id);
hl_status hl_heap_gc_objects(const hl_heap *h, int generation, hl_id_visitor visit, void *ctx);

typedef struct hl_heap_totals {
    uint64_t objects;       /* live objects, caches included */
    uint64_t bytes;         /* allocator bytes in blocks (pools) + raw bytes */
    uint64_t objects_by_type[HL_TYPE_COUNT];
} hl_heap_totals;
void hl_heap_totals_get(const hl_heap *h, hl_heap_totals *out);

const hl_alloc *hl_heap_allocator(const hl_heap *h);
/* tracemalloc.reset_peak() for the heap's allocator (hl_alloc_peak_get reads
 * the marks): the one write outside ops.h, because a high-water mark is an
 * observer's figure, not heap state (no object, block, count or digest
 * changes, and no journal record is needed). */
void hl_heap_reset_peak(hl_heap *h);

/* ---- the invariant checker ----
 * Refcounts equal the references from names, containers, the caches and
 * in-flight operations; no freed object is reachable; GC lists are sound;
 * allocator accounting matches the live objects.  Reads only.  On failure
 * writes one line into why. */
bool hl_heap_check(const hl_heap *h, char *why, size_t why_cap);

#endif
