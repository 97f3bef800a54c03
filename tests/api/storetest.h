/* storetest.h — helpers the store tests share (storetest.c): a fresh
 * mkdtemp data directory per test (removed afterwards), reading, writing
 * and damaging its files, injecting faults, stores and heaps with numbered
 * records, and a recovery visitor that copies out what it is handed. */
#ifndef HL_STORETEST_H
#define HL_STORETEST_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* ---- the data directory and its files ---- */

extern char t_dir[64];
void t_setup(void);
void t_teardown(void);

/* A path under the data directory, valid for the next 7 calls. */
const char *t_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool t_exists(const char *p);

typedef struct t_bytes {
    unsigned char *p;    /* malloc'd: free it */
    size_t n;
} t_bytes;

t_bytes t_read(const char *path);
void t_write(const char *path, const void *p, size_t n);
/* The file holds exactly want[0..n). */
void t_expect_file(const char *path, const unsigned char *want, size_t n);
/* Damages one byte. */
void t_flip(const char *path, size_t at);
/* Writes <dir>/FAULT ("enospc", "eio"), or removes it for NULL. */
void t_fault(const char *what);
/* Entries of a directory, . and .. not counted. */
size_t t_entries(const char *dir);

/* ---- stores, heaps and records ---- */

hl_store *t_open(hl_fsync_policy policy, uint64_t snapshot_after);
hl_store_heap *t_create(hl_store *s, const char *id);
/* Record i: distinct content and length (one of 4 rotating buffers). */
const char *t_rec(int i);
/* Records from..to-1 in one commit, which must succeed. */
void t_commit(hl_store_heap *h, int from, int to);
/* Record i buffered and its commit failing with want. */
void t_commit_fails(hl_store_heap *h, int i, hl_store_status want);
/* A store holding heap "h" with records from..to-1 committed. */
hl_store *t_store_h(hl_fsync_policy policy, uint64_t snapshot_after, int from, int to, hl_store_heap **h);
/* A snapshot with this payload, written in two pieces. */
void t_snapshot(hl_store_heap *h, const char *payload);
/* Heap "h" with records 10, 11, 12, store closed: where the last record
 * starts and the journal's size. */
void t_three_records(size_t *last, size_t *size);

/* ---- what recovery hands over ---- */

typedef struct t_heap {
    char *id, *meta, *snapshot, *why;
    char **recs;
    size_t n;
    uint64_t torn;
    hl_store_heap *h;    /* the handle kept, NULL if refused or corrupt */
} t_heap;

typedef struct t_seen {
    t_heap heaps[16];
    size_t n;
    bool refuse;         /* the visitor refuses every heap */
} t_seen;

/* A hl_store_visitor filling a t_seen. */
bool t_visit(void *ctx, const hl_store_recovered *r, hl_store_heap *h);
hl_store *t_recover(hl_fsync_policy policy, t_seen *seen);
void t_seen_free(t_seen *seen);
/* Closes s (if any) and forgets what was seen, then recovers afresh. */
hl_store *t_reopen(hl_store *s, hl_fsync_policy policy, t_seen *seen);
/* Closes s and forgets what was seen. */
void t_finish(hl_store *s, t_seen *seen);
const t_heap *t_find(const t_seen *seen, const char *id);
/* The heap came back with exactly records from..to-1, in order. */
void t_expect_records(const t_heap *t, int from, int to);

#endif
