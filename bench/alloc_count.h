/**
 * @file alloc_count.h  Heap allocation counters of the benchmark process (see alloc_count.c).
 */
#ifndef BENCH_ALLOC_COUNT_H
#define BENCH_ALLOC_COUNT_H

struct alloc_stats {
    unsigned long long calls; /* malloc, calloc and realloc calls */
    unsigned long long bytes; /* bytes those calls asked for */
    unsigned long long frees; /* free calls with a non-NULL pointer */
};

/** Copy the counters since the process started into @p st. */
void alloc_count_get(struct alloc_stats *st);

#endif
