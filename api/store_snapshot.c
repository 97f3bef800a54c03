/* store_snapshot.c — streaming a snapshot and rotating to its generation;
 * see store.h. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "journal.h"

struct hl_store_snap {
    hl_store_heap *h;
    int fd;
    uint64_t gen;        /* the generation being made */
    uint64_t len;        /* payload bytes so far */
    uint32_t crc;        /* of the payload so far */
    hl_store_status status;  /* the first failed write's, repeated until commit/abort */
};

static void gen_file(char out[PATH_MAX], const hl_store_heap *h, const char *kind, uint64_t gen, const char *suffix)
{
    hl_store_path(out, "%s/%s.%llu%s", h->path, kind, (unsigned long long)gen, suffix);
}

/* Removes what the writer made (at once: after ENOSPC the space is wanted
 * back); the heap's files in use were never touched. */
static void snap_drop_file(hl_store_snap *w)
{
    char p[PATH_MAX];
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    gen_file(p, w->h, "snapshot", w->gen, ".tmp");
    unlink(p);
}

static hl_store_status snap_fail(hl_store_snap *w, hl_store_status st)
{
    snap_drop_file(w);
    free(w);
    return st;
}

hl_store_status hl_store_snapshot_begin(hl_store_heap *h, hl_store_snap **out)
{
    *out = NULL;
    hl_store_snap *w = calloc(1, sizeof *w);
    if (w == NULL)
        return HL_STORE_NOMEM;
    w->h = h;
    w->gen = h->gen + 1;
    char tmp[PATH_MAX];
    gen_file(tmp, h, "snapshot", w->gen, ".tmp");
    w->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return snap_fail(w, hl_store_fs_status_of(errno));
    /* The payload length is not known yet: commit fills it in. */
    unsigned char head[HL_SNAPSHOT_HEADER];
    hl_journal_snapshot_header(head, w->gen, 0);
    hl_store_status st = hl_store_fs_write(h->s, w->fd, head, sizeof head, 0);
    if (st != HL_STORE_OK)
        return snap_fail(w, st);
    *out = w;
    return HL_STORE_OK;
}

hl_store_status hl_store_snapshot_write(hl_store_snap *w, const void *p, size_t n)
{
    if (w->status != HL_STORE_OK)
        return w->status;
    hl_store_status st = hl_store_fs_write(w->h->s, w->fd, p, n, (off_t)(HL_SNAPSHOT_HEADER + w->len));
    if (st != HL_STORE_OK) {
        snap_drop_file(w);
        return w->status = st;
    }
    w->crc = hl_journal_crc32c(w->crc, p, n);
    w->len += n;
    return HL_STORE_OK;
}

void hl_store_snapshot_abort(hl_store_snap *w)
{
    snap_fail(w, HL_STORE_OK);
}

/* The length and the trailer; the crc covers the header, which was written
 * with a placeholder, so it is combined from the header's and the
 * payload's crcs instead of reading the file back. */
static hl_store_status snap_finish(hl_store_snap *w)
{
    const hl_store *s = w->h->s;
    unsigned char head[HL_SNAPSHOT_HEADER], trailer[HL_SNAPSHOT_TRAILER];
    hl_journal_snapshot_header(head, w->gen, w->len);
    uint32_t crc = hl_journal_crc32c_combine(hl_journal_crc32c(0, head, sizeof head), w->crc, w->len);
    hl_journal_put_u32(trailer, crc);
    hl_store_status st = hl_store_fs_write(s, w->fd, head + HL_SNAPSHOT_LENGTH_AT, 8, HL_SNAPSHOT_LENGTH_AT);
    if (st == HL_STORE_OK)
        st = hl_store_fs_write(s, w->fd, trailer, sizeof trailer, (off_t)(HL_SNAPSHOT_HEADER + w->len));
    if (st == HL_STORE_OK)
        st = hl_store_fs_sync(s, w->fd, false);
    return st;
}

/* The new journal exists before the snapshot is renamed into place, so the
 * rename alone switches generations: recovery takes the newest snapshot
 * and its journal, and ignores a journal that has no snapshot yet. */
hl_store_status hl_store_snapshot_commit(hl_store_snap *w)
{
    hl_store_heap *h = w->h;
    hl_store *s = h->s;
    char tmp[PATH_MAX], snap[PATH_MAX], journal[PATH_MAX];
    gen_file(tmp, h, "snapshot", w->gen, ".tmp");
    gen_file(snap, h, "snapshot", w->gen, "");
    gen_file(journal, h, "journal", w->gen, "");
    int jfd = -1;
    hl_store_status st = w->status != HL_STORE_OK ? w->status : snap_finish(w);
    if (st == HL_STORE_OK)
        st = hl_store_journal_create(s, h->path, w->gen, &jfd);
    if (st == HL_STORE_OK && rename(tmp, snap) < 0)
        st = hl_store_fs_status_of(errno);
    if (st == HL_STORE_OK && (st = hl_store_fs_sync_dir(s, h->path)) != HL_STORE_OK)
        unlink(snap);
    if (st != HL_STORE_OK) {
        if (jfd >= 0) {
            close(jfd);
            unlink(journal);
        }
        return snap_fail(w, st);
    }
    close(w->fd);
    free(w);

    pthread_mutex_lock(&h->mu);
    int old_fd = h->fd;
    h->fd = jfd;
    h->dirty = false;             /* the snapshot holds what was unsynced */
    h->bg_status = HL_STORE_OK;
    pthread_mutex_unlock(&h->mu);
    close(old_fd);
    uint64_t old = h->gen++;
    h->committed = HL_JOURNAL_HEADER;
    h->tail_unknown = false;
    /* Stale files only cost space: recovery removes any that survive. */
    gen_file(snap, h, "snapshot", old, "");
    gen_file(journal, h, "journal", old, "");
    unlink(snap);
    unlink(journal);
    hl_store_fs_sync_dir(s, h->path);
    return HL_STORE_OK;
}
