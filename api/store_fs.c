/* store_fs.c — the store's durable file primitives and fault injection;
 * see store_internal.h. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

/* The errno <dir>/FAULT asks for, or 0.  Read on every call so a test can
 * turn faults on and off between two operations. */
static int injected_fault(const hl_store *s)
{
    if (s->fault_path == NULL)
        return 0;
    int fd = open(s->fault_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char b[16] = {0};
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n >= 6 && strncmp(b, "enospc", 6) == 0)
        return ENOSPC;
    if (n >= 3 && strncmp(b, "eio", 3) == 0)
        return EIO;
    return 0;
}

hl_store_status hl_store_fs_status_of(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return HL_STORE_NOSPACE;
    case ENOMEM:
        return HL_STORE_NOMEM;
    default:
        return HL_STORE_IO;
    }
}

void hl_store_path(char out[PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
}

hl_store_status hl_store_fs_write(const hl_store *s, int fd, const void *p, size_t n, off_t off)
{
    const unsigned char *b = p;
    int fault = injected_fault(s);
    size_t want = fault ? n / 2 : n;
    size_t done = 0;
    while (done < want) {
        ssize_t w = pwrite(fd, b + done, want - done, off + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? hl_store_fs_status_of(errno) : HL_STORE_IO;
        done += (size_t)w;
    }
    return fault ? hl_store_fs_status_of(fault) : HL_STORE_OK;
}

hl_store_status hl_store_fs_sync(const hl_store *s, int fd, bool data_only)
{
    int fault = injected_fault(s);
    if (fault)
        return hl_store_fs_status_of(fault);
    int rc;
    do
        rc = data_only ? fdatasync(fd) : fsync(fd);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? hl_store_fs_status_of(errno) : HL_STORE_OK;
}

hl_store_status hl_store_fs_sync_dir(const hl_store *s, const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return hl_store_fs_status_of(errno);
    hl_store_status st = hl_store_fs_sync(s, fd, false);
    close(fd);
    return st;
}

hl_store_status hl_store_fs_put_file(const hl_store *s, const char *dir, const char *name, const void *p, size_t n,
                                     int *fd_out)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    hl_store_path(tmp, "%s/%s.tmp", dir, name);
    hl_store_path(final, "%s/%s", dir, name);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return hl_store_fs_status_of(errno);
    hl_store_status st = hl_store_fs_write(s, fd, p, n, 0);
    if (st == HL_STORE_OK)
        st = hl_store_fs_sync(s, fd, false);
    if (st == HL_STORE_OK && rename(tmp, final) < 0)
        st = hl_store_fs_status_of(errno);
    if (st != HL_STORE_OK) {
        unlink(tmp);
    } else if ((st = hl_store_fs_sync_dir(s, dir)) != HL_STORE_OK) {
        unlink(final);        /* the rename may not be durable: undo it */
    }
    if (st != HL_STORE_OK || fd_out == NULL)
        close(fd);
    else
        *fd_out = fd;
    return st;
}

hl_store_status hl_store_journal_create(const hl_store *s, const char *heap_dir, uint64_t gen, int *fd_out)
{
    unsigned char head[HL_JOURNAL_HEADER];
    char name[32];
    hl_journal_header(head, gen);
    snprintf(name, sizeof name, "journal.%llu", (unsigned long long)gen);
    return hl_store_fs_put_file(s, heap_dir, name, head, sizeof head, fd_out);
}

hl_store_status hl_store_fs_mkdirs(const char *path)
{
    char p[PATH_MAX];
    hl_store_path(p, "%s", path);
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char was = *c;
        *c = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return hl_store_fs_status_of(errno);
        *c = was;
        if (was == '\0')
            break;
    }
    struct stat st;
    if (stat(p, &st) < 0)
        return hl_store_fs_status_of(errno);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return HL_STORE_IO;
    }
    return HL_STORE_OK;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void hl_store_fs_remove_tree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

bool hl_store_fs_read_file(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    unsigned char *b = NULL;
    size_t done = 0;
    if (fstat(fd, &st) < 0 || (b = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL)
        goto fail;
    while (done < (size_t)st.st_size) {
        ssize_t r = read(fd, b + done, (size_t)st.st_size - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;      /* the file shrank under us */
            goto fail;
        }
        done += (size_t)r;
    }
    close(fd);
    *out = b;
    *len = done;
    return true;
fail:;
    int err = errno;
    free(b);
    close(fd);
    errno = err;
    return false;
}
