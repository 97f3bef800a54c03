/* journal.c — CRC-32C and the snapshot/journal formats; see journal.h. */
#include "journal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u   /* Castagnoli, reflected */

static const char journal_magic[8] = {'H', 'L', 'J', 'R', 'N', 'L', '0', '1'};
static const char snapshot_magic[8] = {'H', 'L', 'S', 'N', 'A', 'P', '0', '1'};

/* The byte-at-a-time table, filled once whichever thread checksums first. */
static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_fill(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t hl_journal_crc32c(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    pthread_once(&crc_table_once, crc_table_fill);
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *b++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* a * b modulo the polynomial, in the reflected bit order (bit 31 = x^0). */
static uint32_t mul_mod_p(uint32_t a, uint32_t b)
{
    uint32_t m = 1u << 31, prod = 0;
    for (;;) {
        if (a & m) {
            prod ^= b;
            if ((a & (m - 1)) == 0)
                return prod;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
}

/* Appending len zero bytes multiplies the register by x^(8 len): square and
 * multiply, so combining costs O(log len) whatever the snapshot's size. */
uint32_t hl_journal_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    uint32_t x = 1u << 31;         /* x^0 */
    uint32_t sq = 1u << 23;        /* x^8: one byte */
    for (uint64_t n = len_b; n; n >>= 1) {
        if (n & 1)
            x = mul_mod_p(sq, x);
        sq = mul_mod_p(sq, sq);
    }
    return mul_mod_p(x, crc_a) ^ crc_b;
}

void hl_journal_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void hl_journal_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

void hl_journal_header(unsigned char out[HL_JOURNAL_HEADER], uint64_t gen)
{
    memcpy(out, journal_magic, 8);
    hl_journal_put_u64(out + 8, gen);
}

void hl_journal_record_header(unsigned char out[HL_JOURNAL_RECORD_HEADER], const void *payload, uint32_t len)
{
    hl_journal_put_u32(out, len);
    hl_journal_put_u32(out + 4, hl_journal_crc32c(0, payload, len));
}

void hl_journal_snapshot_header(unsigned char out[HL_SNAPSHOT_HEADER], uint64_t gen, uint64_t payload_len)
{
    memcpy(out, snapshot_magic, 8);
    hl_journal_put_u64(out + 8, gen);
    hl_journal_put_u64(out + 16, payload_len);
}

/* Both formats open with magic + gen. */
static bool check_magic_gen(const unsigned char *img, size_t len, const char magic[8], uint64_t gen,
                            const char *path, char *why, size_t why_cap)
{
    if (len < 16) {
        snprintf(why, why_cap, "%s: %zu bytes, shorter than its 16-byte header", path, len);
        return false;
    }
    if (memcmp(img, magic, 8) != 0) {
        snprintf(why, why_cap, "%s: bad magic at offset 0 (expected %.8s)", path, magic);
        return false;
    }
    if (get_u64(img + 8) != gen) {
        snprintf(why, why_cap, "%s: generation %" PRIu64 " at offset 8 does not match its name", path,
                 get_u64(img + 8));
        return false;
    }
    return true;
}

static bool push_record(hl_journal_scan *sc, const void *p, size_t len)
{
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 64;
        const void **r = realloc(sc->records, cap * sizeof *r);
        if (r == NULL)
            return false;
        sc->records = r;
        size_t *l = realloc(sc->lens, cap * sizeof *l);
        if (l == NULL)
            return false;
        sc->lens = l;
        sc->cap = cap;
    }
    sc->records[sc->n] = p;
    sc->lens[sc->n++] = len;
    return true;
}

hl_journal_verdict hl_journal_scan_image(const unsigned char *img, size_t len, uint64_t gen, const char *path,
                                         hl_journal_scan *out, char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    if (!check_magic_gen(img, len, journal_magic, gen, path, why, why_cap))
        return HL_JOURNAL_CORRUPT;
    size_t pos = HL_JOURNAL_HEADER;
    while (pos < len) {
        size_t left = len - pos;
        if (left < HL_JOURNAL_RECORD_HEADER)
            break;                                   /* torn inside a header */
        uint32_t rlen = get_u32(img + pos);
        if (rlen == 0 || rlen > HL_JOURNAL_RECORD_MAX) {
            snprintf(why, why_cap, "%s: impossible record length %" PRIu32 " at offset %zu", path, rlen, pos);
            return HL_JOURNAL_CORRUPT;
        }
        if (rlen > left - HL_JOURNAL_RECORD_HEADER)
            break;                                   /* torn inside a payload */
        const unsigned char *payload = img + pos + HL_JOURNAL_RECORD_HEADER;
        size_t end = pos + HL_JOURNAL_RECORD_HEADER + rlen;
        if (hl_journal_crc32c(0, payload, rlen) != get_u32(img + pos + 4)) {
            if (end == len)
                break;                               /* the last record: torn */
            snprintf(why, why_cap, "%s: checksum mismatch in the record at offset %zu, which is not the last one",
                     path, pos);
            return HL_JOURNAL_CORRUPT;
        }
        if (!push_record(out, payload, rlen))
            return HL_JOURNAL_NOMEM;
        pos = end;
    }
    out->valid_len = pos;
    out->torn_bytes = len - pos;
    return HL_JOURNAL_OK;
}

void hl_journal_scan_free(hl_journal_scan *sc)
{
    free(sc->records);
    free(sc->lens);
    memset(sc, 0, sizeof *sc);
}

bool hl_journal_snapshot_check(const unsigned char *img, size_t len, uint64_t gen, const char *path,
                               const void **payload, size_t *payload_len, char *why, size_t why_cap)
{
    if (!check_magic_gen(img, len, snapshot_magic, gen, path, why, why_cap))
        return false;
    size_t overhead = HL_SNAPSHOT_HEADER + HL_SNAPSHOT_TRAILER;
    if (len < overhead || get_u64(img + HL_SNAPSHOT_LENGTH_AT) != len - overhead) {
        snprintf(why, why_cap, "%s: payload length at offset %d does not match the file's size", path,
                 HL_SNAPSHOT_LENGTH_AT);
        return false;
    }
    if (hl_journal_crc32c(0, img, len - HL_SNAPSHOT_TRAILER) != get_u32(img + len - HL_SNAPSHOT_TRAILER)) {
        snprintf(why, why_cap, "%s: checksum mismatch (trailer at offset %zu)", path, len - HL_SNAPSHOT_TRAILER);
        return false;
    }
    *payload = img + HL_SNAPSHOT_HEADER;
    *payload_len = len - overhead;
    return true;
}
