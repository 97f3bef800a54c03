/* registry.h — the heaps a server holds, their tokens and their locks.
 *
 * Promise: heaps are found by id under a read lock and handed out
 * referenced and locked (hl_registry_open), so a DELETE racing with other
 * requests never frees a heap in use.  Tokens are 256-bit random values
 * compared in constant time.  Each heap carries its event ring and its live
 * event streams.
 */
#ifndef HL_API_REGISTRY_H
#define HL_API_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "events.h"
#include "heap.h"
#include "strmap.h"

#define HL_HEAP_ID_MAX 64
#define HL_TOKEN_HEX 64

typedef struct hl_api_stream hl_api_stream;

typedef struct hl_api_heap {
    char id[HL_HEAP_ID_MAX];
    char *name;
    char token[HL_TOKEN_HEX + 1];
    hl_heap *heap;
    hl_evring events;
    pthread_mutex_t lock;        /* the heap, its ring and its streams */
    atomic_int refs;
    bool deleted;
    hl_api_stream *streams;      /* open SSE streams on this heap */
    uint64_t version;            /* operations applied: a cheap "did it change" */
    struct hl_store_heap *store; /* its files (durable.h), NULL when memory only */
    uint64_t seq_at_begin;       /* the event ring and version when the current request began */
    uint64_t version_at_begin;
    struct hl_snapshots *snapshots; /* snapshots.h: NULL until the first; never durable */
} hl_api_heap;

typedef struct hl_registry {
    pthread_rwlock_t lock;
    hl_strmap heaps;             /* id -> hl_api_heap* */
    const char *shard;
    uint64_t max_heaps;
    size_t event_ring;
    atomic_uint_fast64_t created_total;
    atomic_uint_fast64_t deleted_total;
} hl_registry;

bool hl_registry_init(hl_registry *r, const char *shard, uint64_t max_heaps, size_t event_ring);
void hl_registry_free(hl_registry *r);

typedef enum hl_registry_status {
    HL_REG_OK,
    HL_REG_FULL,      /* max_heaps reached */
    HL_REG_NOMEM,
} hl_registry_status;

/* Creates a heap with a fresh id and token; returned referenced, unlocked. */
hl_registry_status hl_registry_create(hl_registry *r, const hl_heap_config *cfg, const char *name,
                                      hl_api_heap **out);

/* Puts back a heap known from before a restart, under its old id and
 * token, with a fresh heap of cfg; returned referenced, unlocked. */
hl_registry_status hl_registry_adopt(hl_registry *r, const char *id, const char *token, const char *name,
                                     const hl_heap_config *cfg, hl_api_heap **out);

/* Finds a heap, references it and takes its lock; NULL if unknown or deleted. */
hl_api_heap *hl_registry_open(hl_registry *r, const char *id);
/* Releases the lock, seals the heap's event ring and wakes its streams,
 * then drops the reference. */
void hl_registry_close(hl_api_heap *e);

/* Removes a heap from the registry; it is freed when the last user lets go. */
bool hl_registry_remove(hl_registry *r, const char *id);

void hl_registry_ref(hl_api_heap *e);
void hl_registry_unref(hl_api_heap *e);

/* Constant-time comparison of a presented token with the heap's. */
bool hl_token_matches(const char *expected, const char *presented);

typedef bool (*hl_registry_visitor)(void *ctx, hl_api_heap *e);
/* Visits every heap under the read lock; e is not locked. */
void hl_registry_each(hl_registry *r, hl_registry_visitor visit, void *ctx);
uint64_t hl_registry_count(hl_registry *r);

/* Wakes every stream of a heap (its lock held). */
void hl_registry_wake_streams(hl_api_heap *e);

#endif
