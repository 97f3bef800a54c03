/* util.c — small utilities for hl-scenario (see scenario.h). */
#include "scenario.h"

/* ------------------------------------------------------------------ */
/* small utilities                                                     */


void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "hl-scenario: out of memory\n");
        exit(3);
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "hl-scenario: out of memory\n");
        exit(3);
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + extra + 1)
            nc *= 2;
        b->buf = xrealloc(b->buf, nc);
        b->cap = nc;
    }
}

void sb_putn(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
}

void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_vprintf(sbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    sb_reserve(b, (size_t)n);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->buf)
        b->buf[0] = 0;
}

/* Python string literal for a UTF-8 text (str) or raw bytes seen as latin-1. */
void sb_pylit(sbuf *b, const char *s, size_t n, bool latin1)
{
    sb_puts(b, "'");
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        size_t adv = 1;
        if (!latin1 && c >= 0x80) {
            int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
            cp = extra == 3 ? (c & 7u) : extra == 2 ? (c & 15u) : (c & 31u);
            for (int k = 1; k <= extra && i + (size_t)k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + (size_t)k] & 63u);
            adv = (size_t)extra + 1;
        }
        if (cp == '\'' || cp == '\\')
            sb_printf(b, "\\%c", (char)cp);
        else if (cp >= 0x20 && cp < 0x7F)
            sb_printf(b, "%c", (char)cp);
        else if (cp < 0x100)
            sb_printf(b, "\\x%02x", (unsigned)cp);
        else if (cp < 0x10000)
            sb_printf(b, "\\u%04x", (unsigned)cp);
        else
            sb_printf(b, "\\U%08x", (unsigned)cp);
        i += adv;
    }
    sb_puts(b, "'");
}

bool is_ident(const char *s)
{
    if (!s || !*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

static const char *const PY_KEYWORDS[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break",
    "class", "continue", "def", "del", "elif", "else", "except", "finally",
    "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", NULL};

bool is_attr_name(const char *s)
{
    if (!is_ident(s) || s[0] == '_')
        return false;
    for (int i = 0; PY_KEYWORDS[i]; i++)
        if (strcmp(PY_KEYWORDS[i], s) == 0)
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* id -> value hash maps                                               */



static size_t umap_slot(const umap *m, uint64_t key)
{
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->tab[i].key && m->tab[i].key != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void umap_put(umap *m, uint64_t key, int64_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        umap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->tab = calloc(m->cap, sizeof(umap_ent));
        if (!m->tab)
            exit(3);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.tab[i].key)
                umap_put(m, old.tab[i].key, old.tab[i].val);
        free(old.tab);
    }
    size_t i = umap_slot(m, key);
    if (!m->tab[i].key)
        m->n++;
    m->tab[i].key = key;
    m->tab[i].val = val;
}

bool umap_get(const umap *m, uint64_t key, int64_t *val)
{
    if (!m->cap)
        return false;
    size_t i = umap_slot(m, key);
    if (!m->tab[i].key)
        return false;
    if (val)
        *val = m->tab[i].val;
    return true;
}

void umap_clear(umap *m)
{
    if (m->tab)
        memset(m->tab, 0, m->cap * sizeof(umap_ent));
    m->n = 0;
}

