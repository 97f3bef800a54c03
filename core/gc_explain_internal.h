/* gc_explain_internal.h — the collector's side of gc_explain.h.
 *
 * Promise: gc.c runs an explained collection through the very code of a
 * plain one, calling these hooks (never with a NULL recorder) where a phase
 * decides about an object; each hook only writes into the recorder's
 * buffers, prepared before the collection started, and a hook about an
 * object past the limit only counts.  Frees are not hooks: the recorder
 * sees them as the heap's free events.  Nothing outside core/ includes
 * this.
 */
#ifndef HL_GC_EXPLAIN_INTERNAL_H
#define HL_GC_EXPLAIN_INTERNAL_H

#include "gc_explain.h"
#include "internal.h"

/* gc.c: hl_gc_collect for a caller who asked (never automatic); ex may be
 * NULL, which is a plain manual collection. */
void hl_gc_collect_explained(hl_heap *h, int generation, hl_collect_result *out, hl_gc_explain *ex);

/* ops_gc.c runs the collection with the heap's events passing through the
 * recorder (frees are seen that way) on their way to its own sink. */
void hl_gc_explain_listen(hl_gc_explain *ex, hl_heap *h);
void hl_gc_explain_unlisten(hl_gc_explain *ex, hl_heap *h);

/* Steps and frees from now on belong to phase p. */
void hl_gc_explain_phase_begin(hl_gc_explain *ex, hl_gc_explain_phase p);

/* update_refs reached o: examined; the first `limit` get a place. */
void hl_gc_explain_examined(hl_gc_explain *ex, const hl_object *o);
/* subtract_refs is done: o's gc_refs. */
void hl_gc_explain_subtracted(hl_gc_explain *ex, const hl_object *o, uint64_t gc_refs);
/* move_unreachable's scan reached o: with gc_refs > 0 (reachable, about to
 * be traversed) or 0 (set aside, tentatively unreachable). */
void hl_gc_explain_scanned(hl_gc_explain *ex, const hl_object *o, bool reachable);
/* by's traversal reached o, which had gc_refs 0: rescued if o had been set
 * aside, otherwise found reachable before the scan came to it. */
void hl_gc_explain_reached(hl_gc_explain *ex, const hl_object *o, const hl_object *by, bool rescued);
/* A reachable tuple or dict the collector just untracked. */
void hl_gc_explain_untracked(hl_gc_explain *ex, const hl_object *o);
/* A weakref (maybe of an older generation) lost its target; callback: its
 * callback is about to run. */
void hl_gc_explain_cleared(hl_gc_explain *ex, const hl_object *wr, bool callback);
/* o's __del__ is about to run. */
void hl_gc_explain_finalized(hl_gc_explain *ex, const hl_object *o);
/* After the resurrection check: the lists of what a finalizer made
 * reachable again and of what is garbage for good. */
void hl_gc_explain_resurrection(hl_gc_explain *ex, hl_gc_head *resurrected, hl_gc_head *garbage);

#endif
