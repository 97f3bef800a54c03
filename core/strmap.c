/* strmap.c — a compact insertion-ordered hash map (the layout of CPython's
 * dict: an index table pointing into a dense entry array). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY (-1)
#define REMOVED (-2)

uint64_t hl_strmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void hl_strmap_init(hl_strmap *m)
{
    memset(m, 0, sizeof *m);
}

void hl_strmap_free(hl_strmap *m)
{
    for (size_t i = 0; i < m->nentries; i++)
        free(m->entries[i].key);
    free(m->entries);
    free(m->index);
    hl_strmap_init(m);
}

static int64_t *find_slot(const hl_strmap *m, const char *key, uint64_t hash, bool for_insert)
{
    if (m->index == NULL)
        return NULL;
    int64_t *first_removed = NULL;
    for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
        int64_t ix = m->index[i];
        if (ix == EMPTY)
            return for_insert && first_removed ? first_removed : &m->index[i];
        if (ix == REMOVED) {
            if (first_removed == NULL)
                first_removed = &m->index[i];
            continue;
        }
        const hl_strmap_entry *e = &m->entries[ix];
        if (e->hash == hash && strcmp(e->key, key) == 0)
            return &m->index[i];
    }
}

static hl_strmap_entry *lookup(const hl_strmap *m, const char *key)
{
    int64_t *slot = find_slot(m, key, hl_strmap_hash(key), false);
    if (slot == NULL || *slot < 0)
        return NULL;
    return &m->entries[*slot];
}

void *hl_strmap_get(const hl_strmap *m, const char *key)
{
    hl_strmap_entry *e = lookup(m, key);
    return e ? e->value : NULL;
}

/* Rebuilds the index over a compacted entry array of capacity cap. */
static bool rebuild(hl_strmap *m, size_t cap)
{
    size_t slots = 8;
    while (slots < cap * 2)
        slots *= 2;
    int64_t *index = malloc(slots * sizeof *index);
    hl_strmap_entry *entries = malloc(cap * sizeof *entries);
    if (index == NULL || entries == NULL) {
        free(index);
        free(entries);
        return false;
    }
    for (size_t i = 0; i < slots; i++)
        index[i] = EMPTY;
    size_t n = 0;
    for (size_t i = 0; i < m->nentries; i++) {
        if (m->entries[i].key == NULL)
            continue;
        entries[n] = m->entries[i];
        size_t j = entries[n].hash & (slots - 1);
        while (index[j] != EMPTY)
            j = (j + 1) & (slots - 1);
        index[j] = (int64_t)n++;
    }
    free(m->entries);
    free(m->index);
    m->entries = entries;
    m->index = index;
    m->nentries = n;
    m->cap = cap;
    m->mask = slots - 1;
    return true;
}

bool hl_strmap_reserve(hl_strmap *m)
{
    if (m->nentries < m->cap)
        return true;
    size_t cap = m->live * 2 + 8;
    return rebuild(m, cap);
}

bool hl_strmap_put(hl_strmap *m, const char *key, void *value)
{
    uint64_t hash = hl_strmap_hash(key);
    int64_t *slot = find_slot(m, key, hash, false);
    if (slot != NULL && *slot >= 0) {
        m->entries[*slot].value = value;
        return true;
    }
    char *copy = strdup(key);
    if (copy == NULL || !hl_strmap_reserve(m)) {
        free(copy);
        return false;
    }
    slot = find_slot(m, key, hash, true);
    *slot = (int64_t)m->nentries;
    m->entries[m->nentries++] = (hl_strmap_entry){copy, hash, value};
    m->live++;
    return true;
}

void *hl_strmap_remove(hl_strmap *m, const char *key)
{
    int64_t *slot = find_slot(m, key, hl_strmap_hash(key), false);
    if (slot == NULL || *slot < 0)
        return NULL;
    hl_strmap_entry *e = &m->entries[*slot];
    void *value = e->value;
    free(e->key);
    e->key = NULL;
    *slot = REMOVED;
    m->live--;
    return value;
}

void hl_strmap_each(const hl_strmap *m, hl_strmap_visitor visit, void *ctx)
{
    for (size_t i = 0; i < m->nentries; i++)
        if (m->entries[i].key != NULL && !visit(ctx, m->entries[i].key, m->entries[i].value))
            return;
}
