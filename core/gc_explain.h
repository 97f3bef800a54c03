/* gc_explain.h — one collection, with the collector's reasoning about each
 * object it examined.
 *
 * Promise: hl_op_collect_explained is hl_op_collect (ops.h) — the same
 * checks, the same collection step for step, the same events and the same
 * journal record (oplog.h), so replaying it gives the heap a plain collect
 * gives — and it also returns what the collector decided about the first
 * `limit` objects of the collected generations, in the order update_refs
 * scanned them:
 *   - each object's id and type, its refcount when the collection began,
 *     its gc_refs after subtract_refs (0: referenced only from inside the
 *     collected generations), its verdict, and for an object with gc_refs 0
 *     that stayed, the object whose traversal reached it (rescued it, if it
 *     had been set aside as tentatively unreachable);
 *   - every step the collector took about those objects, in the order it
 *     took them: each phase's decision (hl_gc_explain_state), and each free,
 *     in whatever phase it happened;
 *   - how many objects were examined, and the verdicts of those past the
 *     limit, counted (the collector's decisions: an object past the limit
 *     that a finalizer freed as a side effect still counts as reachable).
 * Recording allocates only before the collection starts (bounded by the
 * limit and the generations' size) and changes nothing a heap shows.
 * Automatic collections are never explained.  An hl_gc_explain owns its
 * memory and refers to no heap: it stays valid after the heap changes or
 * is deleted.  Not thread-safe beyond the heap's own rule (one caller at a
 * time).
 */
#ifndef HL_GC_EXPLAIN_H
#define HL_GC_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

typedef struct hl_gc_explain hl_gc_explain;

/* The phases of one collection, in the order they run (gc.c). */
typedef enum hl_gc_explain_phase {
    HL_GC_EXPLAIN_PHASE_UPDATE_REFS,      /* gc_refs := refcount */
    HL_GC_EXPLAIN_PHASE_SUBTRACT_REFS,    /* gc_refs -= references from inside */
    HL_GC_EXPLAIN_PHASE_MOVE_UNREACHABLE, /* reachable or not; tuples and dicts untracked */
    HL_GC_EXPLAIN_PHASE_WEAKREFS,         /* weakrefs to garbage cleared, callbacks run */
    HL_GC_EXPLAIN_PHASE_FINALIZERS,       /* __del__, once per object */
    HL_GC_EXPLAIN_PHASE_RESURRECTION,     /* the reachability test rerun on the garbage */
    HL_GC_EXPLAIN_PHASE_DELETE,           /* tp_clear; refcounting frees */
} hl_gc_explain_phase;
#define HL_GC_EXPLAIN_PHASE_COUNT 7

typedef enum hl_gc_explain_verdict {
    HL_GC_EXPLAIN_VERDICT_REACHABLE,     /* stays, promoted to the next generation */
    HL_GC_EXPLAIN_VERDICT_FREED,
    HL_GC_EXPLAIN_VERDICT_RESURRECTED,   /* garbage a finalizer made reachable again: stays */
    /* gc.garbage.  Never given: since PEP 442 (3.4) finalizers do not make
     * cycles uncollectable.  Named so that the vocabulary matches the
     * collection's own "uncollectable" count. */
    HL_GC_EXPLAIN_VERDICT_UNCOLLECTABLE,
    HL_GC_EXPLAIN_VERDICT_UNTRACKED,     /* a tuple or dict the collector stopped tracking */
} hl_gc_explain_verdict;
#define HL_GC_EXPLAIN_VERDICT_COUNT 5

/* What a step says about its object; each happens at most once per object
 * except GC_REFS (once in update_refs, once in subtract_refs). */
typedef enum hl_gc_explain_state {
    HL_GC_EXPLAIN_STATE_GC_REFS,          /* gc_refs has its new value */
    HL_GC_EXPLAIN_STATE_REACHABLE,        /* by: whose traversal reached it, 0 = from outside */
    HL_GC_EXPLAIN_STATE_TENTATIVELY_UNREACHABLE,
    HL_GC_EXPLAIN_STATE_RESCUED,          /* back from tentatively unreachable; by */
    HL_GC_EXPLAIN_STATE_UNTRACKED,        /* (move_unreachable) */
    HL_GC_EXPLAIN_STATE_CLEARED,          /* a weakref lost its target; callback: it calls back */
    HL_GC_EXPLAIN_STATE_FINALIZED,        /* its __del__ runs now */
    HL_GC_EXPLAIN_STATE_RESURRECTED,
    HL_GC_EXPLAIN_STATE_FREED,
} hl_gc_explain_state;
#define HL_GC_EXPLAIN_STATE_COUNT 9

typedef struct hl_gc_explain_object {
    uint64_t id;
    hl_type type;
    uint32_t refcount;        /* when the collection began */
    uint64_t gc_refs;         /* after subtract_refs */
    hl_gc_explain_verdict verdict;
    uint64_t reachable_from;  /* 0 = none: gc_refs > 0, or never found reachable */
} hl_gc_explain_object;

typedef struct hl_gc_explain_step {
    hl_gc_explain_phase phase;
    hl_gc_explain_state state;
    uint64_t id;
    uint64_t gc_refs;  /* GC_REFS */
    uint64_t by;       /* REACHABLE (0 = from outside), RESCUED */
    bool callback;     /* CLEARED */
} hl_gc_explain_step;

typedef struct hl_gc_explain_summary {
    int generation;
    uint64_t examined;   /* every object of the collected generations */
    uint64_t explained;  /* min(examined, limit): the objects listed */
    uint64_t omitted;    /* examined - explained */
    uint64_t omitted_by_verdict[HL_GC_EXPLAIN_VERDICT_COUNT]; /* sums to omitted */
    size_t steps;        /* recorded: hl_gc_explain_step_at's range */
} hl_gc_explain_summary;

/* gc.collect(generation) explaining at most limit (>= 1) objects.  On
 * HL_OK *explain is the explanation (free it with hl_gc_explain_free);
 * otherwise *explain is NULL and, as ops.h promises, nothing changed:
 * HL_E_INVALID (generation not 0..2, limit 0), HL_E_BUSY (a collection is
 * running), HL_E_NOMEM (no room for the recording). */
hl_status hl_op_collect_explained(hl_heap *h, int generation, size_t limit, hl_collect_result *out,
                                  hl_gc_explain **explain);

void hl_gc_explain_summary_get(const hl_gc_explain *ex, hl_gc_explain_summary *out);
/* The i-th object (i < explained), in scan order; false past the end. */
bool hl_gc_explain_object_at(const hl_gc_explain *ex, size_t i, hl_gc_explain_object *out);
/* The i-th step (i < steps), in the order taken; false past the end. */
bool hl_gc_explain_step_at(const hl_gc_explain *ex, size_t i, hl_gc_explain_step *out);
void hl_gc_explain_free(hl_gc_explain *ex); /* NULL is fine */

/* Names as the API shows them: "update_refs", "freed", "tentatively_unreachable"… */
const char *hl_gc_explain_phase_name(hl_gc_explain_phase p);
const char *hl_gc_explain_verdict_name(hl_gc_explain_verdict v);
const char *hl_gc_explain_state_name(hl_gc_explain_state s);

#endif
