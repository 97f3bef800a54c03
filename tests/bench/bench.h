/* bench.h — what every heaplab benchmark program shares: a monotonic clock,
 * the process's memory as the kernel counts it, and the one output format.
 *
 * Each measuring program prints raw samples, one JSON object per line:
 *   {"metric": "alloc.pairs", "impl": "heaplab", "param": "16-512", "value": 12.3, "unit": "ns/op"}
 * tests/bench/driver.py runs the programs in rounds, pairs them with their
 * peers and prints the suite's result lines. */
#ifndef HL_BENCH_H
#define HL_BENCH_H

#include <stdint.h>

uint64_t bench_now_ns(void);          /* CLOCK_MONOTONIC */
uint64_t bench_rss_bytes(void);       /* resident set now (/proc/self/statm) */
uint64_t bench_peak_rss_bytes(void);  /* VmHWM (/proc/self/status) */
void bench_reset_peak_rss(void);      /* writes 5 to /proc/self/clear_refs: VmHWM := RSS now */

/* Prints one sample line on stdout and flushes it. */
void bench_emit(const char *metric, const char *impl, const char *param, double value, const char *unit);

/* Parses "1M", "100k", "3000000": a count; exits with status 2 on junk. */
uint64_t bench_parse_count(const char *s);

/* A small fast deterministic generator (xorshift64*), the same in every program. */
typedef struct bench_rng { uint64_t s; } bench_rng;
static inline uint64_t bench_rng_next(bench_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

#endif
