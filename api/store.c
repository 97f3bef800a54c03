/* store.c — opening the data directory, heap handles, commits and the
 * everysec fsync thread; see store.h.  Snapshots are in store_snapshot.c,
 * recovery in store_recover.c, the file primitives in store_fs.c. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

/* A commit buffer bigger than this is freed after the commit instead of
 * kept: one big batch must not pin memory on every heap that ran one. */
#define KEEP_BUFFER (64u << 10)
#define ID_MAX 64

bool hl_fsync_policy_parse(const char *s, hl_fsync_policy *out)
{
    static const char *const names[] = {[HL_FSYNC_ALWAYS] = "always", [HL_FSYNC_EVERYSEC] = "everysec",
                                        [HL_FSYNC_NO] = "no"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (hl_fsync_policy)i;
            return true;
        }
    }
    return false;
}

const char *hl_store_status_message(hl_store_status st)
{
    switch (st) {
    case HL_STORE_OK:
        return "ok";
    case HL_STORE_NOSPACE:
        return "no space left on the device";
    case HL_STORE_IO:
        return "input/output error";
    case HL_STORE_NOMEM:
        return "out of memory";
    case HL_STORE_EXISTS:
        return "a heap with this id already exists on disk";
    case HL_STORE_INVALID:
        return "invalid heap id or record length";
    }
    return "unknown store status";
}

static char *path_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *path_dup(const char *fmt, ...)
{
    char *p;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : p;
}

/* ---- the everysec thread ---- */

/* The fdatasync runs on a dup of the fd and outside the handle's lock, so a
 * commit on this heap never waits for the disk, and a snapshot swapping the
 * journal meanwhile only makes us sync a file that no longer matters. */
static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sync_if_dirty(hl_store_heap *h)
{
    int fd = -1;
    pthread_mutex_lock(&h->mu);
    if (h->dirty && (fd = dup(h->fd)) >= 0) {
        h->dirty = false;
        h->in_flight_since = h->pending_since;
        h->pending_since = 0;
    }
    pthread_mutex_unlock(&h->mu);
    if (fd < 0)
        return;
    hl_store_status st = hl_store_fs_sync(h->s, fd, true);
    close(fd);
    pthread_mutex_lock(&h->mu);
    if (st != HL_STORE_OK) {
        h->dirty = true;          /* try again next second */
        h->bg_status = st;
        if (h->pending_since == 0 || h->in_flight_since < h->pending_since)
            h->pending_since = h->in_flight_since;
    }
    h->in_flight_since = 0;
    pthread_mutex_unlock(&h->mu);
}

uint64_t hl_store_unsynced_age_ns(hl_store *s)
{
    uint64_t oldest = 0, now = now_ns();
    pthread_mutex_lock(&s->mu);
    for (hl_store_heap *h = s->first; h != NULL; h = h->next) {
        pthread_mutex_lock(&h->mu);
        uint64_t a = h->pending_since, b = h->in_flight_since;
        uint64_t since = a == 0 ? b : b == 0 ? a : a < b ? a : b;
        if (since != 0 && (oldest == 0 || since < oldest))
            oldest = since;
        pthread_mutex_unlock(&h->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return oldest == 0 || oldest > now ? 0 : now - oldest;
}

static void *fsync_thread(void *arg)
{
    hl_store *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec at;
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_sec += 1;
        while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->mu, &at) != ETIMEDOUT)
            continue;
        for (hl_store_heap *h = s->first; h != NULL && !s->stopping; h = h->next)
            sync_if_dirty(h);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- open / close ---- */

/* why = what (naming path), then ": " and err's text when err is not 0. */
static hl_store *open_fail(hl_store *s, char *why, size_t why_cap, const char *what, const char *path, int err)
{
    snprintf(why, why_cap, "%s %s%s%s", what, path, err ? ": " : "", err ? strerror(err) : "");
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->fault_path);
    free(s->heaps);
    free(s->dir);
    free(s);
    return NULL;
}

hl_store *hl_store_open(const char *dir, hl_fsync_policy policy, uint64_t snapshot_after_bytes, char *why,
                        size_t why_cap)
{
    size_t n = strlen(dir);
    if (n == 0 || n > PATH_MAX - HL_STORE_PATH_SLACK) {
        snprintf(why, why_cap, "data directory path is empty or longer than %d bytes", PATH_MAX - HL_STORE_PATH_SLACK);
        return NULL;
    }
    hl_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(why, why_cap, "out of memory opening the data directory");
        return NULL;
    }
    s->lock_fd = -1;
    s->policy = policy;
    s->snapshot_after = snapshot_after_bytes;
    s->dir = path_dup("%s", dir);
    s->heaps = path_dup("%s/heaps", dir);
    const char *inject = getenv("HEAPLAB_FAULT_INJECTION");
    bool fault = inject != NULL && strcmp(inject, "1") == 0;
    if (fault)
        s->fault_path = path_dup("%s/FAULT", dir);
    if (s->dir == NULL || s->heaps == NULL || (fault && s->fault_path == NULL))
        return open_fail(s, why, why_cap, "out of memory opening", dir, ENOMEM);
    if (hl_store_fs_mkdirs(s->heaps) != HL_STORE_OK)
        return open_fail(s, why, why_cap, "cannot create the data directory", s->heaps, errno);
    if (access(s->heaps, W_OK) < 0)
        return open_fail(s, why, why_cap, "cannot write to the data directory", s->heaps, errno);
    char lock[PATH_MAX];
    hl_store_path(lock, "%s/LOCK", dir);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0)
        return open_fail(s, why, why_cap, "cannot open", lock, errno);
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return open_fail(s, why, why_cap, "the data directory is in use by another server: cannot lock", lock, 0);
        return open_fail(s, why, why_cap, "cannot lock", lock, errno);
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->mu, NULL);
    if (policy == HL_FSYNC_EVERYSEC) {
        int err = pthread_create(&s->thread, NULL, fsync_thread, s);
        if (err != 0) {
            pthread_cond_destroy(&s->wake);
            pthread_mutex_destroy(&s->mu);
            return open_fail(s, why, why_cap, "cannot start the fsync thread for", dir, err);
        }
        s->has_thread = true;
    }
    return s;
}

void hl_store_close(hl_store *s)
{
    if (s->has_thread) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    for (hl_store_heap *h = s->first, *next; h != NULL; h = next) {
        next = h->next;
        (void)hl_store_heap_release(h);
    }
    close(s->lock_fd);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->fault_path);
    free(s->heaps);
    free(s->dir);
    free(s);
}

/* ---- handles ---- */

hl_store_heap *hl_store_handle_new(hl_store *s, const char *id, int fd, uint64_t gen, uint64_t committed)
{
    hl_store_heap *h = calloc(1, sizeof *h);
    if (h != NULL) {
        h->id = path_dup("%s", id);
        h->path = path_dup("%s/%s", s->heaps, id);
    }
    if (h == NULL || h->id == NULL || h->path == NULL) {
        if (h != NULL) {
            free(h->id);
            free(h->path);
        }
        free(h);
        close(fd);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    h->s = s;
    h->fd = fd;
    h->gen = gen;
    h->committed = committed;
    pthread_mutex_lock(&s->mu);
    h->next = s->first;
    if (s->first != NULL)
        s->first->prev = h;
    s->first = h;
    pthread_mutex_unlock(&s->mu);
    return h;
}

/* Once unlinked, the fsync thread (which walks the list under s->mu) can no
 * longer reach the handle, so its fields need no lock. */
static void unlink_handle(hl_store_heap *h)
{
    hl_store *s = h->s;
    pthread_mutex_lock(&s->mu);
    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        s->first = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&s->mu);
}

static void free_handle(hl_store_heap *h)
{
    close(h->fd);
    pthread_mutex_destroy(&h->mu);
    free(h->buf);
    free(h->path);
    free(h->id);
    free(h);
}

hl_store_status hl_store_heap_release(hl_store_heap *h)
{
    unlink_handle(h);
    hl_store_status st = h->dirty ? hl_store_fs_sync(h->s, h->fd, true) : HL_STORE_OK;
    free_handle(h);
    return st;
}

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ID_MAX)
        return false;
    for (const char *c = id; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                  *c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* The heap is assembled in heaps/<id>.tmp and renamed into place, so a
 * crash leaves either the whole heap or a *.tmp that recovery removes. */
hl_store_status hl_store_heap_create(hl_store *s, const char *id, const void *meta, size_t meta_len,
                                     hl_store_heap **out)
{
    *out = NULL;
    if (!valid_id(id))
        return HL_STORE_INVALID;
    char final[PATH_MAX], stage[PATH_MAX];
    hl_store_path(final, "%s/%s", s->heaps, id);
    hl_store_path(stage, "%s/%s.tmp", s->heaps, id);
    if (access(final, F_OK) == 0)
        return HL_STORE_EXISTS;
    hl_store_fs_remove_tree(stage);
    if (mkdir(stage, 0700) < 0)
        return hl_store_fs_status_of(errno);
    int fd = -1;
    hl_store_status st = hl_store_fs_put_file(s, stage, "meta", meta, meta_len, NULL);
    if (st == HL_STORE_OK)
        st = hl_store_journal_create(s, stage, 0, &fd);
    if (st == HL_STORE_OK && rename(stage, final) < 0)
        st = hl_store_fs_status_of(errno);
    if (st == HL_STORE_OK && (st = hl_store_fs_sync_dir(s, s->heaps)) != HL_STORE_OK)
        hl_store_fs_remove_tree(final);
    if (st == HL_STORE_OK && (*out = hl_store_handle_new(s, id, fd, 0, HL_JOURNAL_HEADER)) == NULL) {
        hl_store_fs_remove_tree(final);
        return HL_STORE_NOMEM;        /* handle_new closed fd */
    }
    if (st != HL_STORE_OK) {
        hl_store_fs_remove_tree(stage);
        if (fd >= 0)
            close(fd);
    }
    return st;
}

/* ---- records ---- */

void hl_store_append(hl_store_heap *h, const void *rec, size_t len)
{
    if (h->append_status != HL_STORE_OK)
        return;
    if (len == 0 || len > HL_JOURNAL_RECORD_MAX) {
        h->append_status = HL_STORE_INVALID;
        return;
    }
    size_t need = h->len + HL_JOURNAL_RECORD_HEADER + len;
    if (need > h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 256;
        if (cap < need)
            cap = need;
        unsigned char *b = realloc(h->buf, cap);
        if (b == NULL) {
            h->append_status = HL_STORE_NOMEM;
            return;
        }
        h->buf = b;
        h->cap = cap;
    }
    hl_journal_record_header(h->buf + h->len, rec, (uint32_t)len);
    memcpy(h->buf + h->len + HL_JOURNAL_RECORD_HEADER, rec, len);
    h->len = need;
}

void hl_store_discard(hl_store_heap *h)
{
    h->len = 0;
    h->append_status = HL_STORE_OK;
    if (h->cap > KEEP_BUFFER) {
        free(h->buf);
        h->buf = NULL;
        h->cap = 0;
    }
}

/* A failed background fdatasync means earlier records may not be on disk:
 * like Redis, refuse new writes until an fdatasync succeeds again. */
static hl_store_status background_failure(hl_store_heap *h)
{
    pthread_mutex_lock(&h->mu);
    hl_store_status st = h->bg_status;
    pthread_mutex_unlock(&h->mu);
    if (st == HL_STORE_OK || (st = hl_store_fs_sync(h->s, h->fd, true)) != HL_STORE_OK)
        return st;
    pthread_mutex_lock(&h->mu);
    h->bg_status = HL_STORE_OK;
    pthread_mutex_unlock(&h->mu);
    return HL_STORE_OK;
}

static hl_store_status write_buffer(hl_store_heap *h)
{
    hl_store *s = h->s;
    hl_store_status st = s->policy == HL_FSYNC_EVERYSEC ? background_failure(h) : HL_STORE_OK;
    if (st != HL_STORE_OK)
        return st;
    if (h->tail_unknown) {
        if (ftruncate(h->fd, (off_t)h->committed) < 0)
            return hl_store_fs_status_of(errno);
        h->tail_unknown = false;
    }
    st = hl_store_fs_write(s, h->fd, h->buf, h->len, (off_t)h->committed);
    if (st == HL_STORE_OK && s->policy == HL_FSYNC_ALWAYS)
        st = hl_store_fs_sync(s, h->fd, true);
    if (st != HL_STORE_OK) {
        /* Half a commit must not reach recovery, where it would read as a
         * torn tail at best; if even this fails, the next commit retries. */
        if (ftruncate(h->fd, (off_t)h->committed) < 0)
            h->tail_unknown = true;
        return st;
    }
    h->committed += h->len;
    if (s->policy != HL_FSYNC_ALWAYS) {
        pthread_mutex_lock(&h->mu);
        h->dirty = s->policy == HL_FSYNC_EVERYSEC;
        if (h->pending_since == 0)
            h->pending_since = now_ns();
        pthread_mutex_unlock(&h->mu);
    }
    return HL_STORE_OK;
}

hl_store_status hl_store_commit(hl_store_heap *h)
{
    hl_store_status st = h->append_status;
    if (st == HL_STORE_OK && h->len > 0)
        st = write_buffer(h);
    hl_store_discard(h);
    return st;
}

uint64_t hl_store_journal_bytes(const hl_store_heap *h)
{
    return h->committed - HL_JOURNAL_HEADER;
}

bool hl_store_wants_snapshot(const hl_store_heap *h)
{
    return h->s->snapshot_after != 0 && hl_store_journal_bytes(h) > h->s->snapshot_after;
}

/* ---- deletion ---- */

hl_store_status hl_store_heap_delete(hl_store_heap *h)
{
    hl_store *s = h->s;
    char gone[PATH_MAX];
    hl_store_path(gone, "%s/.deleted-%s", s->heaps, h->id);
    hl_store_fs_remove_tree(gone);     /* left by an earlier heap of this id */
    if (rename(h->path, gone) < 0)
        return hl_store_fs_status_of(errno);
    hl_store_status st = hl_store_fs_sync_dir(s, s->heaps);
    /* Not known to be durable: put the heap back whole, still usable.  If
     * even that fails the heap is half gone, so finish deleting it. */
    if (st != HL_STORE_OK && rename(gone, h->path) == 0)
        return st;
    unlink_handle(h);
    free_handle(h);
    hl_store_fs_remove_tree(gone);
    return HL_STORE_OK;
}
