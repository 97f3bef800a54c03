/* store.h — the durable files of heaps: an append-only journal per heap
 * plus an occasional snapshot that lets the journal start over (like Redis's
 * AOF and RDB).  Records, snapshots and meta are opaque bytes here.
 *
 * Promise: a heap's files always describe a prefix of its committed
 * history — a crash loses at most the newest commits, never reorders or
 * mixes them — and what a commit promises depends on the fsync policy:
 *   always    hl_store_commit returns OK only after fdatasync: the records
 *             survive a crash of the machine.
 *   everysec  OK once the records are written; a background thread
 *             fdatasyncs them within about a second, so a machine crash
 *             loses at most the last second or so.  A failed background
 *             fdatasync is reported by the heap's next commit.
 *   no        OK once the records are written; the kernel flushes them when
 *             it likes.  A crash of the process loses nothing.
 * Under every policy, creating a heap, a snapshot's rotation and deleting a
 * heap are fsynced (files and directories) before they return OK, and a
 * failed operation leaves the files as they were before it.
 *
 * Layout under the data directory (created 0700 if missing):
 *   LOCK                          flock()ed while a store has it open
 *   heaps/<id>/meta               the bytes given at creation, mode 0600
 *   heaps/<id>/snapshot.<gen>     optional; the state the journal starts from
 *   heaps/<id>/journal.<gen>      records committed since that snapshot
 * Formats: journal.h.  Each open heap handle keeps its journal's fd open.
 *
 * Fault injection, for tests: only when HEAPLAB_FAULT_INJECTION=1 is in the
 * environment at hl_store_open, every write and fsync of the store first
 * reads <dir>/FAULT: "enospc" makes it fail with ENOSPC, "eio" with EIO (a
 * write first writes half its bytes, as a filling disk does, so the
 * truncate-back is exercised).  Truncating back and removing files are never
 * failed, and without the variable nothing is checked at all.
 *
 * Threads: calls on one heap handle must be serialised by the caller; calls
 * on different handles, creation and deletion may run in parallel.
 */
#ifndef HL_API_STORE_H
#define HL_API_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hl_fsync_policy { HL_FSYNC_ALWAYS, HL_FSYNC_EVERYSEC, HL_FSYNC_NO } hl_fsync_policy;

/* "always", "everysec", "no". */
bool hl_fsync_policy_parse(const char *s, hl_fsync_policy *out);

typedef enum hl_store_status {
    HL_STORE_OK,
    HL_STORE_NOSPACE,   /* ENOSPC or EDQUOT: may succeed once space comes back */
    HL_STORE_IO,        /* any other write, fsync or filesystem error */
    HL_STORE_NOMEM,
    HL_STORE_EXISTS,    /* create: a heap with this id already has files */
    HL_STORE_INVALID,   /* create: id is not 1-64 of [A-Za-z0-9_-];
                           commit: a record was empty or over 256 MiB */
} hl_store_status;

/* A short English phrase for logs ("no space left on the device"). */
const char *hl_store_status_message(hl_store_status st);

typedef struct hl_store hl_store;
typedef struct hl_store_heap hl_store_heap;
typedef struct hl_store_snap hl_store_snap;

/* Opens (creating it if needed) and locks the data directory, and under
 * everysec starts the fsync thread.  snapshot_after_bytes: journal size
 * past which hl_store_wants_snapshot says yes (0: never).  NULL with a
 * sentence in why on failure (not writable, locked by another server). */
hl_store *hl_store_open(const char *dir, hl_fsync_policy policy, uint64_t snapshot_after_bytes, char *why,
                        size_t why_cap);
/* Stops the fsync thread, then releases every handle still open (as
 * hl_store_heap_release, its status lost: release them first to see it)
 * and unlocks the directory.  No snapshot may be in progress. */
void hl_store_close(hl_store *s);

/* Creates heaps/<id> with meta and an empty journal.0, all fsynced
 * including heaps/ itself.  Nothing is left behind on failure. */
hl_store_status hl_store_heap_create(hl_store *s, const char *id, const void *meta, size_t meta_len,
                                     hl_store_heap **out);

/* Buffers a record (1 byte .. 256 MiB) in memory; nothing is written.  It
 * cannot fail: running out of memory or a bad length is remembered and
 * fails the next commit. */
void hl_store_append(hl_store_heap *sh, const void *rec, size_t len);
/* Writes the buffered records with one write (short writes continued,
 * EINTR retried), then follows the policy.  On any failure the journal is
 * truncated back to its last committed length, the buffer is dropped and
 * the status says why; a later commit may succeed.  Nothing buffered: OK. */
hl_store_status hl_store_commit(hl_store_heap *sh);
/* Drops the buffered records. */
void hl_store_discard(hl_store_heap *sh);

/* How long the oldest acknowledged commit has waited to be made durable
 * (fdatasync done): the loss window a machine crash would open now.  0
 * under always; under everysec about a second at most; under no it grows,
 * since heaplab never syncs then.  Nanoseconds. */
uint64_t hl_store_unsynced_age_ns(hl_store *s);

/* Bytes of records in the current journal (its header not counted). */
uint64_t hl_store_journal_bytes(const hl_store_heap *sh);
/* hl_store_journal_bytes > snapshot_after_bytes (and that is not 0). */
bool hl_store_wants_snapshot(const hl_store_heap *sh);

/* A snapshot is the heap's state after its last commit, streamed into
 * snapshot.<gen+1>.tmp.  Between begin and commit/abort the caller makes no
 * other call on the handle.  Commit finishes the file (length, crc, fsync),
 * creates the empty journal.<gen+1>, renames the snapshot into place (the
 * one moment the new generation takes over) and deletes the old
 * generation's files.  A failed write removes the tmp file at once and is
 * repeated by every later write and by commit.  Commit and abort always
 * free the writer; begin leaves none on failure.  Whatever fails, the new
 * files are removed and the heap goes on with its current files. */
hl_store_status hl_store_snapshot_begin(hl_store_heap *sh, hl_store_snap **out);
hl_store_status hl_store_snapshot_write(hl_store_snap *w, const void *p, size_t n);
hl_store_status hl_store_snapshot_commit(hl_store_snap *w);
void hl_store_snapshot_abort(hl_store_snap *w);

/* Deletes the heap's files: heaps/<id> is renamed to heaps/.deleted-<id>
 * (fsynced: from then on the heap is gone even after a crash) and removed.
 * OK: the handle is released.  Otherwise nothing changed and the handle is
 * still the caller's. */
hl_store_status hl_store_heap_delete(hl_store_heap *sh);
/* Forgets the handle without deleting anything (shutdown).  Buffered
 * records are dropped; under everysec a pending fdatasync is done now and
 * its status returned.  The handle is released in every case. */
hl_store_status hl_store_heap_release(hl_store_heap *sh);

/* What recovery found for one heap; every pointer is valid during the
 * visit only. */
typedef struct hl_store_recovered {
    const char *id;
    const void *meta;
    size_t meta_len;
    const void *snapshot;          /* payload only; NULL when the heap has none */
    size_t snapshot_len;
    const void *const *records;    /* records committed after the snapshot, oldest first */
    const size_t *record_lens;
    size_t nrecords;
    uint64_t torn_bytes;           /* bytes of a torn tail cut from the journal: log it */
    const char *corrupt_why;       /* non-NULL: a sentence naming the file and offset; don't load */
} hl_store_recovered;

/* handle is NULL when corrupt_why is set (the return value is then
 * ignored).  Otherwise return true to keep the heap: the handle becomes the
 * caller's (keep it; call on it only once hl_store_recover has returned),
 * and the torn tail is cut and stale files are removed.  Return false to refuse it: the store
 * releases the handle and touches no file. */
typedef bool (*hl_store_visitor)(void *ctx, const hl_store_recovered *r, hl_store_heap *handle);

/* Reads the heap's committed state back from its files, as recovery
 * would, changing nothing: the visitor sees meta, the snapshot and every
 * record committed so far, with handle = sh (NULL when corrupt_why is set);
 * its return value is ignored.  For rebuilding in memory what a failed
 * commit could not save.  NOMEM as status; a file that cannot be read is
 * reported through corrupt_why. */
hl_store_status hl_store_heap_reread(hl_store_heap *sh, hl_store_visitor visit, void *ctx);

/* Call once, after hl_store_open and before any create.  Finishes
 * interrupted deletions and creations, then visits every heap, sorted by
 * id.  A damaged heap is reported to the visitor and skipped; only a
 * failure to read heaps/ itself or lack of memory stops the walk (status). */
hl_store_status hl_store_recover(hl_store *s, hl_store_visitor visit, void *ctx);

#endif
