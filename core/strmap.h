/* strmap.h — string keys to pointers, iterated in insertion order.
 *
 * Promise: the map owns copies of its keys; lookups, inserts and removals
 * are O(1) on average; iteration visits live entries in the order they were
 * first inserted (a rebinding keeps its place, as a Python dict does).
 */
#ifndef HL_STRMAP_H
#define HL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hl_strmap_entry {
    char *key;      /* NULL for a removed entry */
    uint64_t hash;
    void *value;
} hl_strmap_entry;

typedef struct hl_strmap {
    hl_strmap_entry *entries;
    size_t nentries;   /* used entry slots, removed ones included */
    size_t cap;
    size_t live;
    int64_t *index;    /* -1 empty, -2 removed, else entry number */
    size_t mask;
} hl_strmap;

void hl_strmap_init(hl_strmap *m);
void hl_strmap_free(hl_strmap *m);
void *hl_strmap_get(const hl_strmap *m, const char *key);
/* Inserts or replaces; false when out of memory (nothing changed). */
bool hl_strmap_put(hl_strmap *m, const char *key, void *value);
/* Ensures one more insert cannot fail. */
bool hl_strmap_reserve(hl_strmap *m);
/* Returns the removed value, NULL if absent. */
void *hl_strmap_remove(hl_strmap *m, const char *key);

typedef bool (*hl_strmap_visitor)(void *ctx, const char *key, void *value);
void hl_strmap_each(const hl_strmap *m, hl_strmap_visitor visit, void *ctx);

uint64_t hl_strmap_hash(const char *s);

#endif
