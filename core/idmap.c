/* idmap.c — paged id table; see idmap.h. */
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

void hl_idmap_init(hl_idmap *m)
{
    memset(m, 0, sizeof *m);
}

void hl_idmap_free(hl_idmap *m)
{
    for (size_t i = 0; i < m->npages; i++)
        free(m->pages[i]);
    free(m->pages);
    hl_idmap_init(m);
}

void *hl_idmap_get(const hl_idmap *m, uint64_t id)
{
    uint64_t p = id >> HL_IDMAP_PAGE_BITS;
    if (p >= m->npages || m->pages[p] == NULL)
        return NULL;
    return m->pages[p]->slot[id & (HL_IDMAP_PAGE_SLOTS - 1)];
}

bool hl_idmap_reserve(hl_idmap *m, uint64_t id)
{
    uint64_t p = id >> HL_IDMAP_PAGE_BITS;
    if (p >= m->npages) {
        size_t n = m->npages ? m->npages : 16;
        while (n <= p)
            n *= 2;
        hl_idmap_page **pages = realloc(m->pages, n * sizeof *pages);
        if (pages == NULL)
            return false;
        memset(pages + m->npages, 0, (n - m->npages) * sizeof *pages);
        m->pages = pages;
        m->npages = n;
    }
    if (m->pages[p] == NULL) {
        m->pages[p] = calloc(1, sizeof(hl_idmap_page));
        if (m->pages[p] == NULL)
            return false;
    }
    return true;
}

bool hl_idmap_put(hl_idmap *m, uint64_t id, void *value)
{
    if (!hl_idmap_reserve(m, id))
        return false;
    hl_idmap_page *page = m->pages[id >> HL_IDMAP_PAGE_BITS];
    uint64_t i = id & (HL_IDMAP_PAGE_SLOTS - 1);
    if (page->slot[i] == NULL) {
        page->live++;
        m->live++;
        page->occupied[i / 64] |= (uint64_t)1 << (i % 64);
    }
    page->slot[i] = value;
    return true;
}

void hl_idmap_remove(hl_idmap *m, uint64_t id)
{
    uint64_t p = id >> HL_IDMAP_PAGE_BITS;
    if (p >= m->npages || m->pages[p] == NULL)
        return;
    hl_idmap_page *page = m->pages[p];
    uint64_t i = id & (HL_IDMAP_PAGE_SLOTS - 1);
    if (page->slot[i] == NULL)
        return;
    page->slot[i] = NULL;
    page->occupied[i / 64] &= ~((uint64_t)1 << (i % 64));
    m->live--;
    if (--page->live == 0) {
        free(page);
        m->pages[p] = NULL;
    }
}

uint64_t hl_idmap_next(const hl_idmap *m, uint64_t after)
{
    uint64_t id = after + 1;
    for (uint64_t p = id >> HL_IDMAP_PAGE_BITS; p < m->npages; p++) {
        const hl_idmap_page *page = m->pages[p];
        uint64_t first = p << HL_IDMAP_PAGE_BITS;
        uint64_t i = id > first ? id - first : 0;
        for (; page != NULL && i < HL_IDMAP_PAGE_SLOTS; i = (i | 63) + 1) {
            uint64_t word = page->occupied[i / 64] >> (i % 64);
            if (word != 0)
                return first + i + (uint64_t)__builtin_ctzll(word);
        }
    }
    return 0;
}
