/* siphash.h — SipHash-1-3, the string hash of CPython 3.11.
 *
 * Promise: hl_siphash13(k0, k1, data, n) is SipHash with one compression
 * and three finalization rounds, CPython's variant (Python/pyhash.c).  With
 * both keys 0 it equals CPython run with PYTHONHASHSEED=0, which is what
 * lets set layouts of str and bytes members match CPython's exactly.
 */
#ifndef HL_SIPHASH_H
#define HL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hl_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t n);

#endif
