/* static_files.c — path checks first, then realpath as the final word, so a
 * symlink planted in the directory cannot lead out of it. */
#include "static_files.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} TYPES[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot == NULL || (slash && dot < slash))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcasecmp(dot + 1, TYPES[i].ext) == 0)
            return TYPES[i].type;
    return "application/octet-stream";
}

/* The static directory also holds the dashboard's npm manifest and the
 * packages it installs; only the copies in vendor/ are meant to be served. */
static bool build_only(const char *seg, size_t len)
{
    static const char *const names[] = {"node_modules", "package.json", "package-lock.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && strncmp(seg, names[i], len) == 0)
            return true;
    return false;
}

/* Every segment must be a plain name: no "", ".", "..", dot-files or '\',
 * and nothing that is only there to build the dashboard. */
static bool plain_path(const char *p)
{
    if (p[0] != '/' || strchr(p, '\\'))
        return false;
    for (const char *seg = p + 1;; ) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || seg[0] == '.' || build_only(seg, len))
            return false;
        if (seg[len] == '\0')
            return true;
        seg += len + 1;
    }
}

static bool open_regular(const char *path, hl_srv_static_file *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
    }
    out->fd = fd;
    out->size = (uint64_t)st.st_size;
    out->content_type = content_type(path);
    out->html = strncmp(out->content_type, "text/html", 9) == 0;
    return true;
}

bool hl_srv_static_open(const char *root, const char *url_path, hl_srv_static_file *out)
{
    if (root == NULL)
        return false;
    if (strcmp(url_path, "/") == 0)
        url_path = "/index.html";
    if (!plain_path(url_path))
        return false;
    char joined[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s%s", root, url_path);
    if (n < 0 || (size_t)n >= sizeof joined)
        return false;
    char resolved[PATH_MAX];
    if (realpath(joined, resolved) == NULL)
        return false;
    size_t rootlen = strlen(root);
    if (strncmp(resolved, root, rootlen) != 0 || resolved[rootlen] != '/')
        return false;
    return open_regular(resolved, out);
}

bool hl_srv_static_open_file(const char *path, hl_srv_static_file *out)
{
    char resolved[PATH_MAX];
    return realpath(path, resolved) != NULL && open_regular(resolved, out);
}
