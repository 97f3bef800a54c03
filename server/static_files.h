/* static_files.h — files from one directory, and nothing outside it.
 *
 * Promise: hl_srv_static_open() maps a decoded URL path to a regular file
 * inside root ("/" is index.html).  A path with an empty, "." or ".."
 * segment, any dot-file, a backslash, a directory, a symlink that resolves
 * outside root, or a missing file is simply not found: the caller learns
 * nothing more.  The returned descriptor is the caller's to close.
 */
#ifndef HL_SRV_STATIC_FILES_H
#define HL_SRV_STATIC_FILES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hl_srv_static_file {
    int fd;
    uint64_t size;
    const char *content_type;
    bool html;
} hl_srv_static_file;

/* root must be canonical (realpath'd). */
bool hl_srv_static_open(const char *root, const char *url_path, hl_srv_static_file *out);

/* Opens one named file (such as the OpenAPI document), symlinks allowed. */
bool hl_srv_static_open_file(const char *path, hl_srv_static_file *out);

#endif
