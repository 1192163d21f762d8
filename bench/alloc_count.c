/**
 * @file alloc_count.c  Count every heap allocation of the benchmark process.
 *
 * The executable defines malloc, calloc, realloc and free itself. The dynamic linker binds
 * every reference to those names, in libosip2 and in the C library as much as in our own
 * code, to the first definition it finds, which is the executable's; so these four see the
 * allocations of both parsers. They forward to glibc's allocator through its __libc_* entry
 * points, so the heap itself behaves exactly as without them; the cost is three additions
 * per call. memalign and posix_memalign are not counted; neither parser calls them.
 *
 * Single-threaded on purpose: the benchmark runs on one thread and plain counters keep the
 * wrappers cheap.
 */
#include <stddef.h>
#include <stdlib.h>

#include "alloc_count.h"

extern void *__libc_malloc(size_t sz);
extern void *__libc_calloc(size_t n, size_t sz);
extern void *__libc_realloc(void *p, size_t sz);
extern void __libc_free(void *p);

static struct alloc_stats counts;

void *malloc(size_t sz)
{
    counts.calls++;
    counts.bytes += sz;
    return __libc_malloc(sz);
}

void *calloc(size_t n, size_t sz)
{
    counts.calls++;
    counts.bytes += (unsigned long long)n * sz;
    return __libc_calloc(n, sz);
}

void *realloc(void *p, size_t sz)
{
    counts.calls++;
    counts.bytes += sz;
    return __libc_realloc(p, sz);
}

void free(void *p)
{
    if (p)
        counts.frees++;
    __libc_free(p);
}

/**
 * Read the counters.
 * @param st  out: the totals since the process started.
 */
void alloc_count_get(struct alloc_stats *st)
{
    *st = counts;
}
