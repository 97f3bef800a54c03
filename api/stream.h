/* stream.h — live event streams (Server-Sent Events) of one heap.
 *
 * Promise: a stream delivers the heap's events from a starting seq on, as
 * SSE frames (`id:`, `event:`, `data:`), without ever blocking or
 * busy-waiting: a read with nothing new returns 0 and the server is woken
 * through the notify callback when events arrive, the heap is deleted or
 * the server drains.  A reader that fell behind the ring gets a `missed`
 * frame naming the seqs it lost.
 */
#ifndef HL_API_STREAM_H
#define HL_API_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "registry.h"

/* Opens a stream on e (its lock held) from seq since; NULL on OOM. */
hl_api_stream *hl_stream_open(hl_api_heap *e, uint64_t since, atomic_bool *draining, atomic_uint_fast64_t *open_count);
hl_api_stream *hl_stream_next(hl_api_stream *s);
/* Calls the stream's notify callback unless the server closed it. */
void hl_stream_wake(hl_api_stream *s);

#endif
