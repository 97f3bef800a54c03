/* digest.h — a 128-bit fingerprint of everything a heap shows.
 *
 * Promise: two heaps have equal digests iff (up to hash collisions) the API
 * shows them equal: the live objects in id order with their type, refcount,
 * size, collector state, length, class, value, references, weakref target
 * and block position relative to its arena (never a real address); the
 * names in binding order; the next id; the collector's state (everything
 * but the wall-clock duration of the last collection) and the order of each
 * generation's list; and every allocator statistic.  It reads only, and
 * streams: memory use does not grow with the heap.  For comparing a heap
 * with itself across a restart or against a twin built the same way; it is
 * not a cryptographic hash.
 *
 * The hash is two 64-bit FNV-1a lanes over the same byte stream, started
 * from different offset bases (lane 1's is lane 0's hash of a fixed
 * string), each finished with the splitmix64 finaliser; out[] holds lane 0
 * then lane 1, big-endian.  Every field is fed with a one-byte tag, and
 * every string with its length, so different structures do not make the
 * same stream.  Whoever adds a field the API shows adds it here too.
 */
#ifndef HL_DIGEST_H
#define HL_DIGEST_H

#include <stdint.h>

#include "heap.h"

#define HL_DIGEST_SIZE 16
#define HL_DIGEST_HEX_SIZE (2 * HL_DIGEST_SIZE + 1)

void hl_heap_digest(const hl_heap *h, uint8_t out[HL_DIGEST_SIZE]);

/* 32 lowercase hex digits and a NUL. */
void hl_digest_hex(const uint8_t digest[HL_DIGEST_SIZE], char out[HL_DIGEST_HEX_SIZE]);

#endif
