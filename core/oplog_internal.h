/* oplog_internal.h — what ops.c tells the operation log.
 *
 * Promise: each public hl_op_* calls its hl_oplog_note_* once, after it has
 * succeeded and before it returns, with its arguments and its results; the
 * note encodes them and hands the record to the heap's recorder, if any.
 * Nothing outside core/ includes this.
 */
#ifndef HL_OPLOG_INTERNAL_H
#define HL_OPLOG_INTERNAL_H

#include "ops.h"

void hl_oplog_note_create(hl_heap *h, const hl_create_spec *spec, const char *name, const hl_create_result *res);
void hl_oplog_note_bind(hl_heap *h, const char *name, uint64_t id);
void hl_oplog_note_unbind(hl_heap *h, const char *name);
void hl_oplog_note_add_ref(hl_heap *h, uint64_t id, const hl_ref_spec *spec);
void hl_oplog_note_remove_ref(hl_heap *h, uint64_t id, const hl_unref_spec *spec);
void hl_oplog_note_weakref(hl_heap *h, uint64_t target, bool callback, const char *name,
                           const hl_create_result *res);
void hl_oplog_note_collect(hl_heap *h, const hl_collect_result *res);
void hl_oplog_note_gc_config(hl_heap *h, const hl_gc_config *cfg);
void hl_oplog_note_freeze(hl_heap *h);
void hl_oplog_note_unfreeze(hl_heap *h);

#endif
