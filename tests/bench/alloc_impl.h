/* alloc_impl.h — the allocator under test, chosen when compiling:
 *   BENCH_ALLOC_HEAPLAB   heaplab's hl_alloc (sized free, one hl_alloc)
 *   BENCH_ALLOC_PYMALLOC  CPython 3.11's PyObject_Malloc/PyObject_Free after Py_InitializeEx(0)
 *   otherwise             malloc/free: glibc's, or mimalloc's or jemalloc's when that library
 *                         is linked (BENCH_ALLOC_MIMALLOC / BENCH_ALLOC_JEMALLOC also ask it
 *                         for its version, which keeps the library linked under --as-needed
 *                         and proves it is the malloc in use).
 * Everything is static inline so that no allocator pays for an extra call.
 * Include this header first: Python.h must come before any system header. */
#ifndef HL_BENCH_ALLOC_IMPL_H
#define HL_BENCH_ALLOC_IMPL_H

#if defined(BENCH_ALLOC_PYMALLOC)
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#endif

#include <stdio.h>
#include <stdlib.h>

#if defined(BENCH_ALLOC_HEAPLAB)
#include "alloc.h"
#define IMPL_NAME "heaplab"
static hl_alloc *impl_a;
static inline void impl_init(void) { impl_a = hl_alloc_new(-1); if (!impl_a) abort(); }
static inline void *impl_malloc(size_t n) { return hl_alloc_malloc(impl_a, n); }
static inline void impl_free(void *p, size_t n) { hl_alloc_free(impl_a, p, n); }

#elif defined(BENCH_ALLOC_PYMALLOC)
#define IMPL_NAME "cpython"
static inline void impl_init(void) { Py_InitializeEx(0); }
static inline void *impl_malloc(size_t n) { return PyObject_Malloc(n); }
static inline void impl_free(void *p, size_t n) { (void)n; PyObject_Free(p); }

#else
#if defined(BENCH_ALLOC_MIMALLOC)
#include <mimalloc.h>
#define IMPL_NAME "mimalloc"
static inline void impl_init(void)
{
    void *p = calloc(1, 64); /* calloc: gcc -O0 warns about reading malloc'd bytes */
    if (!mi_is_in_heap_region(p)) {
        fprintf(stderr, "mimalloc is linked but malloc is not mimalloc's\n");
        exit(3);
    }
    free(p);
    fprintf(stderr, "mimalloc version %d\n", mi_version());
}
#elif defined(BENCH_ALLOC_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define IMPL_NAME "jemalloc"
static inline void impl_init(void)
{
    const char *v = NULL;
    size_t len = sizeof v;
    if (mallctl("version", &v, &len, NULL, 0) != 0) {
        fprintf(stderr, "jemalloc is linked but does not answer mallctl\n");
        exit(3);
    }
    fprintf(stderr, "jemalloc version %s\n", v);
}
#else
#define IMPL_NAME "glibc"
static inline void impl_init(void) {}
#endif
static inline void *impl_malloc(size_t n) { return malloc(n); }
static inline void impl_free(void *p, size_t n) { (void)n; free(p); }
#endif

#endif
