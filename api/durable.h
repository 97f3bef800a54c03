/* durable.h — heaps that outlive the process: the registry's heaps tied to
 * their files in the store (store.h).
 *
 * Promise: with a data directory, every operation a request applies is
 * recorded (core's oplog) and committed to the heap's journal before the
 * request is answered, under the fsync policy; a request whose records
 * cannot be written is answered 507 and its changes are undone by reading
 * the heap back from its files, so an answer never promises what the disk
 * does not hold.  Heaps are created and deleted on disk before they are
 * in (or out of) the registry.  When a journal grows past its limit the
 * heap is snapshotted (a core image plus the api's counters) and the
 * journal starts over.  At start every heap is rebuilt from its snapshot
 * and journal and checked; a heap that cannot be rebuilt is left on disk
 * untouched and answered 503 with the reason.  Without a data directory
 * every call here does nothing.
 */
#ifndef HL_API_DURABLE_H
#define HL_API_DURABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "api_internal.h"

/* Opens the store and loads every heap into the registry.  false with a
 * sentence in why when the directory cannot be used at all. */
bool hl_durable_open(hl_api *api, char *why, size_t why_cap);
void hl_durable_close(hl_api *api);

/* A heap just made in the registry: writes its files.  false (with a
 * problem in out) when they could not be written; the caller drops it. */
bool hl_durable_created(hl_api *api, hl_api_heap *e, hl_api_response *out);
/* Before a heap leaves the registry: deletes its files.  false (with a
 * problem in out) when that failed; the heap stays. */
bool hl_durable_deleting(hl_api *api, hl_api_heap *e, hl_api_response *out);

/* Marks the start of a request that may change e (its lock held). */
void hl_durable_begin(hl_api_heap *e);
/* Commits what the request recorded, or undoes it and answers 507. */
void hl_durable_finish(hl_api *api, hl_api_heap *e, hl_api_response *out);

/* A heap that exists on disk but could not be loaded: the reason, or NULL. */
const char *hl_durable_broken(hl_api *api, const char *id);

#endif
