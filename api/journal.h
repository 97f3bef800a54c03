/* journal.h — the store's on-disk formats, as bytes in memory (no I/O).
 *
 * Promise: every integer is little-endian, every checksum is CRC-32C
 * (Castagnoli), and an image is either accepted whole, accepted up to a
 * torn tail, or refused with a sentence naming the file and the offset.
 *
 *   snapshot.<gen>  "HLSNAP01", u64 gen, u64 payload length, payload,
 *                   u32 crc32c of every byte before it
 *   journal.<gen>   "HLJRNL01", u64 gen, then records:
 *                   u32 payload length, u32 crc32c(payload), payload
 *
 * A torn tail is what an interrupted append leaves: a last record that runs
 * past the end of the file or whose checksum fails, or a few bytes too short
 * to be a record header.  Damage anywhere else cannot come from a crash and
 * is reported as corruption.  Records are 1 .. HL_JOURNAL_RECORD_MAX bytes:
 * a zero length is how a zero-filled block reads, so it counts as damage.
 */
#ifndef HL_API_JOURNAL_H
#define HL_API_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_JOURNAL_HEADER 16          /* magic + gen */
#define HL_JOURNAL_RECORD_HEADER 8    /* length + crc */
#define HL_JOURNAL_RECORD_MAX (256u << 20)
#define HL_SNAPSHOT_HEADER 24         /* magic + gen + payload length */
#define HL_SNAPSHOT_TRAILER 4         /* crc */
#define HL_SNAPSHOT_LENGTH_AT 16      /* where the payload length sits */

/* Continues crc over p[0..n); start with 0. */
uint32_t hl_journal_crc32c(uint32_t crc, const void *p, size_t n);
/* The crc of A followed by B from crc(A), crc(B) and B's length: lets a
 * streaming snapshot writer checksum a header it can only fill in last. */
uint32_t hl_journal_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

void hl_journal_put_u32(unsigned char *p, uint32_t v);
void hl_journal_put_u64(unsigned char *p, uint64_t v);

void hl_journal_header(unsigned char out[HL_JOURNAL_HEADER], uint64_t gen);
void hl_journal_record_header(unsigned char out[HL_JOURNAL_RECORD_HEADER], const void *payload, uint32_t len);
void hl_journal_snapshot_header(unsigned char out[HL_SNAPSHOT_HEADER], uint64_t gen, uint64_t payload_len);

/* A journal image taken apart.  The record pointers point into the image. */
typedef struct hl_journal_scan {
    const void **records;
    size_t *lens;
    size_t n, cap;
    uint64_t valid_len;    /* where the last good record ends */
    uint64_t torn_bytes;   /* image length - valid_len */
} hl_journal_scan;

typedef enum hl_journal_verdict { HL_JOURNAL_OK, HL_JOURNAL_CORRUPT, HL_JOURNAL_NOMEM } hl_journal_verdict;

/* Scans img (len bytes of the file `path`, expected generation gen).  On
 * CORRUPT, why holds the sentence; out is filled on OK and must be freed
 * with hl_journal_scan_free in every case. */
hl_journal_verdict hl_journal_scan_image(const unsigned char *img, size_t len, uint64_t gen, const char *path,
                                         hl_journal_scan *out, char *why, size_t why_cap);
void hl_journal_scan_free(hl_journal_scan *sc);

/* Checks a snapshot image; on success the payload points into img. */
bool hl_journal_snapshot_check(const unsigned char *img, size_t len, uint64_t gen, const char *path,
                               const void **payload, size_t *payload_len, char *why, size_t why_cap);

#endif
