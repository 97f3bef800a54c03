/* oplog.h — every successful mutation of a heap as a self-contained record.
 *
 * Promise: with a recorder set, each hl_op_* call that returns HL_OK hands
 * the recorder exactly one record (failed calls hand none), and replaying
 * the records in order into a fresh heap made with the same hl_heap_config
 * rebuilds the same heap: same ids, names, references, collector state and
 * allocator blocks.  A record is a byte string that depends on nothing
 * outside itself (no pointers, no host byte order), so it may be written to
 * disk and read back on another run; replay checks every byte before it
 * changes anything.
 *
 * Format 1, little-endian: u8 version, u8 opcode, the call's arguments,
 * then the results replay verifies.  Strings are u32 length + bytes
 * (names, keys and class names are NUL-free); an optional one is a u8 0/1
 * before it; bools are u8 0/1; doubles are their 64-bit pattern.
 */
#ifndef HL_OPLOG_H
#define HL_OPLOG_H

#include <stddef.h>

#include "heap.h"

/* record is only valid during the call.  It is NULL (len 0) when the call
 * succeeded but cannot be recorded: out of memory, or a text, key or item
 * count of 4 GiB or more; a journal that gets one can no longer rebuild the
 * heap.  The recorder must not change h. */
typedef void (*hl_op_recorder)(void *ctx, const void *record, size_t len);

/* Called after every SUCCESSFUL hl_op_* call on h (ops.h), once per call,
 * with a record that hl_oplog_replay can apply to a heap in the same state
 * to produce the same results.  NULL = off. */
void hl_heap_set_recorder(hl_heap *h, hl_op_recorder fn, void *ctx);

typedef enum hl_replay_status {
    HL_REPLAY_OK,
    HL_REPLAY_MALFORMED,
    HL_REPLAY_FAILED,
    HL_REPLAY_DIVERGED,
} hl_replay_status;

/* Decodes one record and applies it through the same hl_op_* call.
 * MALFORMED: the bytes are not a record (truncated, unknown opcode, lengths
 * that overrun, trailing bytes) and nothing changed; FAILED: the op returned
 * an error (why names the hl_status); DIVERGED: it succeeded but a result
 * differs from the recorded one (e.g. the created id).  The recorder, if
 * any, is NOT called during replay.  why (may be NULL) gets one line. */
hl_replay_status hl_oplog_replay(hl_heap *h, const void *record, size_t len, char *why, size_t why_cap);

#endif
