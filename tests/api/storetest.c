/* storetest.c — the store tests' helpers; see storetest.h. */
#include "storetest.h"

#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the data directory and its files ---- */

char t_dir[64];

void t_setup(void)
{
    strcpy(t_dir, "/tmp/heaplab-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t_dir));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

void t_teardown(void)
{
    nftw(t_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path under the data directory, in one of a few rotating buffers. */
const char *t_path(const char *fmt, ...)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    int n = snprintf(b, 512, "%s/", t_dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, (size_t)(512 - n), fmt, ap);
    va_end(ap);
    return b;
}

bool t_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

t_bytes t_read(const char *path)
{
    t_bytes b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    b.n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.p = malloc(b.n + 1);
    ck_assert_uint_eq(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

void t_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The file holds exactly want[0..n). */
void t_expect_file(const char *path, const unsigned char *want, size_t n)
{
    t_bytes now = t_read(path);
    ck_assert_uint_eq(now.n, n);
    ck_assert_msg(memcmp(now.p, want, n) == 0, "%s changed", path);
    free(now.p);
}

void t_flip(const char *path, size_t at)
{
    t_bytes b = t_read(path);
    ck_assert_uint_lt(at, b.n);
    b.p[at] ^= 0x5A;
    t_write(path, b.p, b.n);
    free(b.p);
}

void t_fault(const char *what)
{
    if (what == NULL)
        unlink(t_path("FAULT"));
    else
        t_write(t_path("FAULT"), what, strlen(what));
}

size_t t_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---- stores, heaps and records ---- */

hl_store *t_open(hl_fsync_policy policy, uint64_t snapshot_after)
{
    char why[256] = "";
    hl_store *s = hl_store_open(t_dir, policy, snapshot_after, why, sizeof why);
    ck_assert_msg(s != NULL, "open: %s", why);
    return s;
}

hl_store_heap *t_create(hl_store *s, const char *id)
{
    char meta[128];
    snprintf(meta, sizeof meta, "{\"id\": \"%s\", \"token\": \"secret\"}", id);
    hl_store_heap *h = NULL;
    ck_assert_int_eq(hl_store_heap_create(s, id, meta, strlen(meta), &h), HL_STORE_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* Record i: distinct content and length. */
const char *t_rec(int i)
{
    static char b[4][400];
    char *r = b[i % 4];
    int n = snprintf(r, sizeof b[0], "record-%d:", i);
    memset(r + n, 'a' + i % 26, (size_t)(i * 7 % 300));
    r[n + i * 7 % 300] = '\0';
    return r;
}

void t_commit(hl_store_heap *h, int from, int to)
{
    for (int i = from; i < to; i++)
        hl_store_append(h, t_rec(i), strlen(t_rec(i)));
    ck_assert_int_eq(hl_store_commit(h), HL_STORE_OK);
}

/* A store holding heap "h" with records from..to-1 committed. */
hl_store *t_store_h(hl_fsync_policy policy, uint64_t snapshot_after, int from, int to, hl_store_heap **h)
{
    hl_store *s = t_open(policy, snapshot_after);
    *h = t_create(s, "h");
    t_commit(*h, from, to);
    return s;
}

/* Record i buffered and its commit failing with want. */
void t_commit_fails(hl_store_heap *h, int i, hl_store_status want)
{
    hl_store_append(h, t_rec(i), strlen(t_rec(i)));
    ck_assert_int_eq(hl_store_commit(h), want);
}

/* ---- what recovery hands over ---- */

static char *t_dup(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

bool t_visit(void *ctx, const hl_store_recovered *r, hl_store_heap *h)
{
    t_seen *seen = ctx;
    ck_assert_uint_lt(seen->n, 16);
    ck_assert((h == NULL) == (r->corrupt_why != NULL));
    t_heap *t = &seen->heaps[seen->n++];
    memset(t, 0, sizeof *t);
    t->id = t_dup(r->id, strlen(r->id));
    if (r->corrupt_why != NULL) {
        t->why = t_dup(r->corrupt_why, strlen(r->corrupt_why));
        return false;
    }
    t->meta = t_dup(r->meta, r->meta_len);
    t->snapshot = r->snapshot ? t_dup(r->snapshot, r->snapshot_len) : NULL;
    t->recs = calloc(r->nrecords + 1, sizeof *t->recs);
    for (size_t i = 0; i < r->nrecords; i++)
        t->recs[i] = t_dup(r->records[i], r->record_lens[i]);
    t->n = r->nrecords;
    t->torn = r->torn_bytes;
    t->h = seen->refuse ? NULL : h;
    return !seen->refuse;
}

hl_store *t_recover(hl_fsync_policy policy, t_seen *seen)
{
    hl_store *s = t_open(policy, 0);
    ck_assert_int_eq(hl_store_recover(s, t_visit, seen), HL_STORE_OK);
    return s;
}

void t_seen_free(t_seen *seen)
{
    for (size_t i = 0; i < seen->n; i++) {
        t_heap *t = &seen->heaps[i];
        for (size_t k = 0; k < t->n; k++)
            free(t->recs[k]);
        free(t->recs);
        free(t->id);
        free(t->meta);
        free(t->snapshot);
        free(t->why);
    }
    seen->n = 0;
}

/* Closes s (if any) and forgets what was seen, then recovers afresh. */
hl_store *t_reopen(hl_store *s, hl_fsync_policy policy, t_seen *seen)
{
    if (s != NULL)
        hl_store_close(s);
    t_seen_free(seen);
    return t_recover(policy, seen);
}

void t_finish(hl_store *s, t_seen *seen)
{
    hl_store_close(s);
    t_seen_free(seen);
}

const t_heap *t_find(const t_seen *seen, const char *id)
{
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->heaps[i].id, id) == 0)
            return &seen->heaps[i];
    ck_abort_msg("heap %s was not visited", id);
    return NULL;
}

/* Records from..to-1 exactly, in order. */
void t_expect_records(const t_heap *t, int from, int to)
{
    ck_assert_msg(t->why == NULL, "%s corrupt: %s", t->id, t->why);
    ck_assert_uint_eq(t->n, (size_t)(to - from));
    for (int i = from; i < to; i++)
        ck_assert_str_eq(t->recs[i - from], t_rec(i));
}

void t_snapshot(hl_store_heap *h, const char *payload)
{
    hl_store_snap *w = NULL;
    ck_assert_int_eq(hl_store_snapshot_begin(h, &w), HL_STORE_OK);
    size_t n = strlen(payload), half = n / 2;
    ck_assert_int_eq(hl_store_snapshot_write(w, payload, half), HL_STORE_OK);
    ck_assert_int_eq(hl_store_snapshot_write(w, payload + half, n - half), HL_STORE_OK);
    ck_assert_int_eq(hl_store_snapshot_commit(w), HL_STORE_OK);
}

/* Three records; returns where the last one starts and the file's size. */
void t_three_records(size_t *last, size_t *size)
{
    hl_store_heap *h;
    hl_store *s = t_store_h(HL_FSYNC_ALWAYS, 0, 10, 12, &h);
    *last = 16 + hl_store_journal_bytes(h);
    t_commit(h, 12, 13);
    *size = 16 + hl_store_journal_bytes(h);
    hl_store_close(s);
}
