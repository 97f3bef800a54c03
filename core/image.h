/* image.h — a heap written out as bytes and read back as the same heap.
 *
 * Promise: hl_image_load(hl_image_save(h)) is a heap equal to h in all the
 * API shows and in how it goes on: the same ids, refcounts, generations and
 * their order, gc counts and stats, names in binding order, free lists, and
 * every block at the same place relative to its arena (pools per arena,
 * free-list order, arena order), so the same operations then give the same
 * results.  Real addresses differ.  Saving reads only (it must run between
 * operations, never inside one); the image is native-endian, for the same
 * build on the same kind of machine.  A damaged image is refused with
 * HL_IMAGE_MALFORMED (callers checksum images; this catches what a checksum
 * cannot: a format from another version).  The event sink and the recorder
 * are not part of a heap's image.
 */
#ifndef HL_IMAGE_H
#define HL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "heap.h"

typedef bool (*hl_image_sink)(void *ctx, const void *p, size_t n); /* false: stop, write failed */

typedef enum hl_image_status {
    HL_IMAGE_OK,
    HL_IMAGE_NOMEM,
    HL_IMAGE_WRITE,      /* the sink said no */
    HL_IMAGE_MALFORMED,
} hl_image_status;

hl_image_status hl_image_save(hl_heap *h, hl_image_sink sink, void *ctx);
hl_image_status hl_image_load(const void *image, size_t len, hl_heap **out, char *why, size_t why_cap);

#endif
