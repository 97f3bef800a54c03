/* store_internal.h — what the store_*.c files share:
 * the store and handle structs and the durable file primitives.
 *
 * Promise: every write and fsync of the store goes through hl_store_fs_*,
 * which map errno to hl_store_status and honour fault injection.
 */
#ifndef HL_API_STORE_INTERNAL_H
#define HL_API_STORE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>

#include "store.h"

/* The data directory's path must leave this much room in PATH_MAX for
 * "/heaps/.deleted-<64-char id>/snapshot.<20 digits>.tmp". */
#define HL_STORE_PATH_SLACK 128

struct hl_store {
    char *dir;
    char *heaps;                /* <dir>/heaps */
    char *fault_path;           /* <dir>/FAULT when fault injection is on, else NULL */
    int lock_fd;
    hl_fsync_policy policy;
    uint64_t snapshot_after;

    /* mu guards the handle list and stopping; the fsync thread holds it
     * for a whole pass, so a handle is never freed under it. */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stopping;
    bool has_thread;
    pthread_t thread;
    hl_store_heap *first;
};

struct hl_store_heap {
    hl_store *s;
    hl_store_heap *prev, *next;   /* s->mu */
    char *id;
    char *path;                   /* <dir>/heaps/<id> */

    /* mu guards what the fsync thread reads or writes: fd, dirty and
     * bg_status.  The caller's own thread changes fd only under it. */
    pthread_mutex_t mu;
    int fd;                       /* journal.<gen> */
    bool dirty;                   /* everysec: written, not yet fdatasynced */
    /* The loss window: monotonic ns of the oldest commit not yet made
     * durable, waiting (pending) or inside the running fdatasync (in
     * flight); 0 = none. */
    uint64_t pending_since, in_flight_since;
    hl_store_status bg_status;    /* the fsync thread's last failure */

    uint64_t gen;
    uint64_t committed;           /* the journal's committed length, header included */
    bool tail_unknown;            /* a truncate-back failed: redo it before writing */

    unsigned char *buf;           /* framed records waiting for commit */
    size_t len, cap;
    hl_store_status append_status;
};

/* Opens the handle for an existing journal fd (taken over) and links it
 * into the store; NULL (fd closed) when memory runs out. */
hl_store_heap *hl_store_handle_new(hl_store *s, const char *id, int fd, uint64_t gen, uint64_t committed);

/* errno -> status: ENOSPC/EDQUOT -> NOSPACE, ENOMEM -> NOMEM, else IO. */
hl_store_status hl_store_fs_status_of(int err);
/* The whole buffer at offset off (pwrite; short writes continued, EINTR
 * retried). */
hl_store_status hl_store_fs_write(const hl_store *s, int fd, const void *p, size_t n, off_t off);
hl_store_status hl_store_fs_sync(const hl_store *s, int fd, bool data_only);
hl_store_status hl_store_fs_sync_dir(const hl_store *s, const char *dir);
/* dir/name with the bytes p[0..n), made durably and atomically: written to
 * name.tmp, fsynced, renamed, directory fsynced.  *fd_out (if not NULL)
 * gets the file opened read-write; on failure nothing is left behind. */
hl_store_status hl_store_fs_put_file(const hl_store *s, const char *dir, const char *name, const void *p, size_t n,
                                     int *fd_out);
/* mkdir -p, mode 0700. */
hl_store_status hl_store_fs_mkdirs(const char *path);
/* rm -rf, best effort: what stays is finished by the next recovery. */
void hl_store_fs_remove_tree(const char *path);
/* The whole file in a fresh buffer; false with errno set. */
bool hl_store_fs_read_file(const char *path, unsigned char **out, size_t *len);

/* journal.<gen> in heap_dir, empty (its header only) and durable. */
hl_store_status hl_store_journal_create(const hl_store *s, const char *heap_dir, uint64_t gen, int *fd_out);

/* snprintf into a PATH_MAX buffer; the slack checked at open makes it fit. */
void hl_store_path(char out[PATH_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
