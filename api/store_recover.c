/* store_recover.c — hl_store_recover: finish what a crash interrupted, then
 * hand each heap's files to the caller; see store.h.
 *
 * A heap's generation is its newest snapshot's (0 without one), and its
 * journal is journal.<that gen>.  Any other snapshot or journal is stale: an
 * older generation whose deletion did not happen, or a newer journal whose
 * snapshot never got renamed into place (see hl_store_snapshot_commit).
 */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static bool names_push(name_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(s)) == NULL)
        return false;
    l->n++;
    return true;
}

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* "snapshot.12" with prefix "snapshot." -> 12; false unless all digits. */
static bool gen_of(const char *name, const char *prefix, uint64_t *gen)
{
    size_t p = strlen(prefix);
    if (strncmp(name, prefix, p) != 0 || name[p] == '\0')
        return false;
    uint64_t g = 0;
    for (const char *c = name + p; *c; c++) {
        if (*c < '0' || *c > '9' || g > (UINT64_MAX - 9) / 10)
            return false;
        g = g * 10 + (uint64_t)(*c - '0');
    }
    *gen = g;
    return true;
}

/* What one heap directory holds. */
typedef struct heap_files {
    char dir[PATH_MAX];
    uint64_t gen;
    bool has_snapshot;
    name_list snapshots, journals, temps;   /* every file of each kind */
} heap_files;

static hl_store_status list_heap(heap_files *f)
{
    DIR *d = opendir(f->dir);
    if (d == NULL)
        return HL_STORE_OK;     /* not a directory: reading meta will say so */
    hl_store_status st = HL_STORE_OK;
    struct dirent *e;
    uint64_t g;
    while (st == HL_STORE_OK && (e = readdir(d)) != NULL) {
        name_list *into = ends_with(e->d_name, ".tmp")                 ? &f->temps
                          : gen_of(e->d_name, "snapshot.", &g)          ? &f->snapshots
                          : gen_of(e->d_name, "journal.", &g)           ? &f->journals
                                                                        : NULL;
        if (into == &f->snapshots && (!f->has_snapshot || g > f->gen)) {
            f->has_snapshot = true;
            f->gen = g;
        }
        if (into != NULL && !names_push(into, e->d_name))
            st = HL_STORE_NOMEM;
    }
    closedir(d);
    return st;
}

/* Everything but the chosen generation's pair: only for a heap the caller
 * kept, since a damaged or refused heap's files stay as they were. */
static void remove_stale(const hl_store *s, const heap_files *f)
{
    const name_list *lists[] = {&f->snapshots, &f->journals, &f->temps};
    bool removed = false;
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < lists[k]->n; i++) {
            uint64_t g;
            const char *n = lists[k]->v[i];
            if (k < 2 && gen_of(n, k == 0 ? "snapshot." : "journal.", &g) && g == f->gen)
                continue;
            char p[PATH_MAX];
            hl_store_path(p, "%s/%s", f->dir, n);
            removed |= unlink(p) == 0;
        }
    }
    if (removed)
        hl_store_fs_sync_dir(s, f->dir);
}

/* The loaded images of one heap; the recovered view points into them. */
typedef struct heap_images {
    unsigned char *meta, *snapshot, *journal;
    size_t meta_len, snapshot_len, journal_len;
    hl_journal_scan scan;
} heap_images;

static bool read_or_say(const char *path, unsigned char **img, size_t *len, char *why, size_t cap)
{
    if (hl_store_fs_read_file(path, img, len))
        return true;
    snprintf(why, cap, "%s: cannot read it (%s)", path, strerror(errno));
    return false;
}

/* Fills r, reading no more than limit bytes of the journal; why is set
 * when the heap is damaged; NOMEM as status. */
static hl_store_status load_heap(const heap_files *f, uint64_t limit, heap_images *im, hl_store_recovered *r,
                                 char *why, size_t cap)
{
    char p[PATH_MAX];
    hl_store_path(p, "%s/meta", f->dir);
    if (!read_or_say(p, &im->meta, &im->meta_len, why, cap))
        return HL_STORE_OK;
    r->meta = im->meta;
    r->meta_len = im->meta_len;
    if (f->has_snapshot) {
        hl_store_path(p, "%s/snapshot.%llu", f->dir, (unsigned long long)f->gen);
        if (!read_or_say(p, &im->snapshot, &im->snapshot_len, why, cap) ||
            !hl_journal_snapshot_check(im->snapshot, im->snapshot_len, f->gen, p, &r->snapshot, &r->snapshot_len,
                                       why, cap))
            return HL_STORE_OK;
    }
    hl_store_path(p, "%s/journal.%llu", f->dir, (unsigned long long)f->gen);
    if (!read_or_say(p, &im->journal, &im->journal_len, why, cap))
        return HL_STORE_OK;
    if (im->journal_len > limit)
        im->journal_len = (size_t)limit;
    switch (hl_journal_scan_image(im->journal, im->journal_len, f->gen, p, &im->scan, why, cap)) {
    case HL_JOURNAL_NOMEM:
        return HL_STORE_NOMEM;
    case HL_JOURNAL_CORRUPT:
        return HL_STORE_OK;
    case HL_JOURNAL_OK:
        break;
    }
    r->records = (const void *const *)im->scan.records;
    r->record_lens = im->scan.lens;
    r->nrecords = im->scan.n;
    r->torn_bytes = im->scan.torn_bytes;
    return HL_STORE_OK;
}

/* The visitor kept the heap: cut the torn tail (if that fails, the first
 * commit retries it) and drop stale files. */
static void settle(hl_store *s, hl_store_heap *h, const heap_files *f, uint64_t torn)
{
    if (torn > 0 && ftruncate(h->fd, (off_t)h->committed) == 0) {
        h->tail_unknown = false;
        hl_store_fs_sync(s, h->fd, false);
    }
    remove_stale(s, f);
}

static void loaded_free(heap_files *f, heap_images *im)
{
    hl_journal_scan_free(&im->scan);
    free(im->meta);
    free(im->snapshot);
    free(im->journal);
    names_free(&f->snapshots);
    names_free(&f->journals);
    names_free(&f->temps);
}

static hl_store_status recover_heap(hl_store *s, const char *id, hl_store_visitor visit, void *ctx)
{
    heap_files f = {0};
    heap_images im = {0};
    hl_store_recovered r = {.id = id};
    char why[PATH_MAX + 200] = "";
    hl_store_path(f.dir, "%s/%s", s->heaps, id);
    hl_store_status st = list_heap(&f);
    if (st == HL_STORE_OK)
        st = load_heap(&f, UINT64_MAX, &im, &r, why, sizeof why);
    hl_store_heap *h = NULL;
    if (st == HL_STORE_OK && why[0] == '\0') {
        char p[PATH_MAX];
        hl_store_path(p, "%s/journal.%llu", f.dir, (unsigned long long)f.gen);
        int fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            snprintf(why, sizeof why, "%s: cannot open it for writing (%s)", p, strerror(errno));
        else if ((h = hl_store_handle_new(s, id, fd, f.gen, im.scan.valid_len)) == NULL)
            st = HL_STORE_NOMEM;
        else
            h->tail_unknown = r.torn_bytes > 0;
    }
    if (st == HL_STORE_OK) {
        r.corrupt_why = why[0] ? why : NULL;
        bool keep = visit(ctx, &r, h);
        if (h != NULL && keep)
            settle(s, h, &f, r.torn_bytes);
        else if (h != NULL)
            hl_store_heap_release(h);
    }
    loaded_free(&f, &im);
    return st;
}

hl_store_status hl_store_heap_reread(hl_store_heap *h, hl_store_visitor visit, void *ctx)
{
    /* Only a snapshot's commit moves a heap past generation 0. */
    heap_files f = {.gen = h->gen, .has_snapshot = h->gen > 0};
    heap_images im = {0};
    hl_store_recovered r = {.id = h->id};
    char why[PATH_MAX + 200] = "";
    hl_store_path(f.dir, "%s", h->path);
    hl_store_status st = load_heap(&f, h->committed, &im, &r, why, sizeof why);
    if (st == HL_STORE_OK) {
        r.corrupt_why = why[0] ? why : NULL;
        visit(ctx, &r, why[0] ? NULL : h);
    }
    loaded_free(&f, &im);
    return st;
}

hl_store_status hl_store_recover(hl_store *s, hl_store_visitor visit, void *ctx)
{
    DIR *d = opendir(s->heaps);
    if (d == NULL)
        return hl_store_fs_status_of(errno);
    name_list ids = {0};
    hl_store_status st = HL_STORE_OK;
    bool swept = false;
    struct dirent *e;
    while (st == HL_STORE_OK && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, ".deleted-", 9) == 0 || ends_with(n, ".tmp")) {
            /* a deletion past its commit point, or a creation before it */
            char p[PATH_MAX];
            hl_store_path(p, "%s/%s", s->heaps, n);
            hl_store_fs_remove_tree(p);
            swept = true;
        } else if (n[0] != '.' && !names_push(&ids, n)) {
            st = HL_STORE_NOMEM;
        }
    }
    closedir(d);
    if (swept)
        hl_store_fs_sync_dir(s, s->heaps);
    if (ids.n > 0)
        qsort(ids.v, ids.n, sizeof *ids.v, by_name);
    for (size_t i = 0; st == HL_STORE_OK && i < ids.n; i++)
        st = recover_heap(s, ids.v[i], visit, ctx);
    names_free(&ids);
    return st;
}
