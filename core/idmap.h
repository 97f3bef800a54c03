/* idmap.h — heap ids to live objects.
 *
 * Promise: O(1) lookup, insert and removal of monotonically minted ids, and
 * listing in id order.  Ids live in pages of 4096 slots; a page whose slots
 * are all dead is released, so memory follows the live objects, not the
 * number of ids ever minted.
 */
#ifndef HL_IDMAP_H
#define HL_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_IDMAP_PAGE_BITS 12
#define HL_IDMAP_PAGE_SLOTS (1u << HL_IDMAP_PAGE_BITS)

typedef struct hl_idmap_page {
    uint32_t live;
    uint64_t occupied[HL_IDMAP_PAGE_SLOTS / 64]; /* lets listing skip empty slots */
    void *slot[HL_IDMAP_PAGE_SLOTS];
} hl_idmap_page;

typedef struct hl_idmap {
    hl_idmap_page **pages;
    size_t npages;
    size_t live;
} hl_idmap;

void hl_idmap_init(hl_idmap *m);
void hl_idmap_free(hl_idmap *m);
void *hl_idmap_get(const hl_idmap *m, uint64_t id);
/* false when out of memory (nothing changed). */
bool hl_idmap_put(hl_idmap *m, uint64_t id, void *value);
/* Reserve room for id so that a later put cannot fail. */
bool hl_idmap_reserve(hl_idmap *m, uint64_t id);
void hl_idmap_remove(hl_idmap *m, uint64_t id);
/* Smallest id > after with a value, 0 if none. */
uint64_t hl_idmap_next(const hl_idmap *m, uint64_t after);

#endif
