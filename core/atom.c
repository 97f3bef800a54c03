/* atom.c — int, float, str and bytes: objects that hold no references.
 *
 * Each is allocated at the size CPython 3.11 gives the equal value: an int
 * 24 bytes plus 4 per 30-bit digit, a float 24, a str 49+N (ASCII), 73+N
 * (Latin-1), 74+2N or 76+4N (3.12+: 41+N, 57+N, 58+2N, 60+4N), bytes 33+N.  Ints -5..256 are the heap's cached
 * singletons and floats use a free list of 100, as in CPython.
 */
#include "internal.h"
#include "siphash.h"

#include <stdlib.h>
#include <string.h>

size_t hl_int_sizeof(int64_t v)
{
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t digits = 1;
    while (m >>= 30)
        digits++;
    return 24 + 4 * digits;
}

hl_object *hl_int_new(hl_heap *h, int64_t v)
{
    bool small = v >= HL_SMALL_INT_MIN && v <= HL_SMALL_INT_MAX;
    hl_int **slot = small ? &h->small_ints[v - HL_SMALL_INT_MIN] : NULL;
    if (slot != NULL && *slot != NULL) {
        hl_incref(&(*slot)->ob);
        return &(*slot)->ob;
    }
    hl_int *o = (hl_int *)hl_object_new(h, HL_INT, hl_int_sizeof(v));
    if (o == NULL)
        return NULL;
    o->value = v;
    if (slot != NULL) {
        /* The cache holds one reference for as long as the heap lives. */
        o->ob.flags |= HL_OF_SMALL_INT | HL_OF_STATIC;
        o->ob.refcnt++;
        *slot = o;
    }
    return &o->ob;
}

hl_object *hl_float_new(hl_heap *h, double v)
{
    hl_float *o;
    if (h->float_nfree > 0) {
        o = h->float_free[h->float_nfree - 1];
        if (!hl_object_revive(h, &o->ob))
            return NULL;
        h->float_nfree--;
    } else {
        o = (hl_float *)hl_object_new(h, HL_FLOAT, HL_SIZE_FLOAT);
        if (o == NULL)
            return NULL;
    }
    o->value = v;
    return &o->ob;
}

/* Decodes one UTF-8 sequence; returns its length or 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > len)
        return 0;
    uint32_t c = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min_for_len[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* Counts code points and the widest one; false on invalid UTF-8. */
static bool utf8_scan(const char *utf8, size_t len, size_t *count, uint32_t *max)
{
    const unsigned char *s = (const unsigned char *)utf8;
    *count = 0;
    *max = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return false;
        if (cp > *max)
            *max = cp;
        (*count)++;
        i += n;
    }
    return true;
}

bool hl_utf8_valid(const char *s, size_t len)
{
    size_t count;
    uint32_t max;
    return utf8_scan(s, len, &count, &max);
}

/* PyASCIIObject is 48 bytes on 3.11 and 40 from 3.12 (wstr went); the
 * compact non-ASCII header 72 and 56; both then hold N+1 code units. */
size_t hl_str_size(int kind, size_t count, hl_profile p)
{
    bool old = p < HL_PROFILE_3_12;
    if (kind == 0)
        return (old ? 48 : 40) + count + 1;
    return (old ? 72 : 56) + (size_t)kind * (count + 1);
}

static int kind_for(uint32_t max)
{
    return max < 0x80 ? 0 : max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
}

size_t hl_str_alloc_size(hl_profile p, const char *utf8, size_t len)
{
    size_t count;
    uint32_t max;
    return utf8_scan(utf8, len, &count, &max) ? hl_str_size(kind_for(max), count, p) : 0;
}

static void str_store(hl_str *o, size_t i, uint32_t cp)
{
    if (o->kind == 1)
        o->data[i] = (unsigned char)cp;
    else if (o->kind == 2)
        memcpy(o->data + 2 * i, &(uint16_t){(uint16_t)cp}, 2);
    else
        memcpy(o->data + 4 * i, &cp, 4);
}

static uint32_t str_load(const hl_str *o, size_t i)
{
    if (o->kind == 1)
        return o->data[i];
    if (o->kind == 2) {
        uint16_t c;
        memcpy(&c, o->data + 2 * i, 2);
        return c;
    }
    uint32_t c;
    memcpy(&c, o->data + 4 * i, 4);
    return c;
}

/* CPython 3.11 hashes a str's stored code units (1, 2 or 4 bytes each)
 * with SipHash-1-3; the key is 0 here, as CPython's with PYTHONHASHSEED=0. */
int64_t hl_hash_buffer(const void *data, size_t n)
{
    if (n == 0)
        return 0;
    int64_t x = (int64_t)hl_siphash13(0, 0, data, n);
    return x == -1 ? -2 : x;
}

static int64_t str_hash(const hl_str *s)
{
    return hl_hash_buffer(s->data, s->length * s->kind);
}

hl_object *hl_str_new(hl_heap *h, const char *utf8, size_t len)
{
    size_t count;
    uint32_t max;
    if (!utf8_scan(utf8, len, &count, &max))
        return NULL;
    hl_str *o = (hl_str *)hl_object_new(h, HL_STR, hl_str_size(kind_for(max), count, h->cfg.profile));
    if (o == NULL)
        return NULL;
    o->length = count;
    o->kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
    o->ascii = max < 0x80;
    const unsigned char *s = (const unsigned char *)utf8;
    for (size_t i = 0, k = 0; i < len; k++) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        str_store(o, k, cp);
    }
    memset(o->data + count * o->kind, 0, o->kind);
    o->hash = str_hash(o);
    return &o->ob;
}

int64_t hl_str_hash_utf8(const char *utf8, size_t len)
{
    size_t count;
    uint32_t max;
    if (!utf8_scan(utf8, len, &count, &max) || count == 0)
        return 0;
    size_t kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
    unsigned char small[256];
    unsigned char *units = count * kind <= sizeof small ? small : malloc(count * kind);
    if (units == NULL)
        return 0;
    const unsigned char *s = (const unsigned char *)utf8;
    for (size_t i = 0, k = 0; i < len; k++) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        if (kind == 1)
            units[k] = (unsigned char)cp;
        else if (kind == 2)
            memcpy(units + 2 * k, &(uint16_t){(uint16_t)cp}, 2);
        else
            memcpy(units + 4 * k, &cp, 4);
    }
    int64_t h = hl_hash_buffer(units, count * kind);
    if (units != small)
        free(units);
    return h;
}

bool hl_str_equals_utf8(const hl_str *str, const char *utf8, size_t len)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t k = 0;
    for (size_t i = 0; i < len; k++) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0 || k >= str->length || str_load(str, k) != cp)
            return false;
        i += n;
    }
    return k == str->length;
}

size_t hl_str_utf8(const hl_str *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->length; i++) {
        uint32_t c = str_load(s, i);
        unsigned char enc[4];
        size_t k;
        if (c < 0x80) {
            enc[0] = (unsigned char)c;
            k = 1;
        } else if (c < 0x800) {
            enc[0] = (unsigned char)(0xC0 | (c >> 6));
            enc[1] = (unsigned char)(0x80 | (c & 0x3F));
            k = 2;
        } else if (c < 0x10000) {
            enc[0] = (unsigned char)(0xE0 | (c >> 12));
            enc[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            enc[2] = (unsigned char)(0x80 | (c & 0x3F));
            k = 3;
        } else {
            enc[0] = (unsigned char)(0xF0 | (c >> 18));
            enc[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            enc[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            enc[3] = (unsigned char)(0x80 | (c & 0x3F));
            k = 4;
        }
        for (size_t j = 0; j < k; j++, n++)
            if (n < cap)
                buf[n] = (char)enc[j];
    }
    return n;
}

hl_object *hl_bytes_new(hl_heap *h, const char *data, size_t len)
{
    hl_bytes *o = (hl_bytes *)hl_object_new(h, HL_BYTES, 33 + len);
    if (o == NULL)
        return NULL;
    o->length = len;
    if (data != NULL)
        memcpy(o->data, data, len);
    else
        memset(o->data, 0, len);
    o->data[len] = 0;
    return &o->ob;
}

void hl_atom_dealloc(hl_heap *h, hl_object *o)
{
    if (o->type == HL_FLOAT && h->float_nfree < HL_FLOAT_FREELIST) {
        hl_object_park(h, o);
        h->float_free[h->float_nfree++] = (hl_float *)o;
        return;
    }
    hl_object_release_block(h, o);
}
