/*
 * parallel.h - run one function over n items with a bounded number of
 * threads (servers observed or changed at once).
 */
#ifndef BERTH_UTIL_PARALLEL_H
#define BERTH_UTIL_PARALLEL_H

#include <stddef.h>

#define PARALLEL_DEFAULT 16
#define PARALLEL_MAX 256

/*
 * Call fn(ctx, i) once for every i in 0..n-1 from at most parallel threads
 * (0: PARALLEL_DEFAULT; capped at PARALLEL_MAX), each thread taking the
 * next item when it is done with one; returns when all are done. -1 when
 * not a single thread could be started (then fn was never called).
 */
int parallel_run(size_t n, unsigned parallel, void (*fn)(void *ctx, size_t i),
		 void *ctx);

#endif
