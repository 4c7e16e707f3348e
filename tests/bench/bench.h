/*
 * bench.h - what the benchmarks share: a monotonic clock in seconds and
 * writing a generated file (exits on failure: a benchmark has no one to
 * report to).
 */
#ifndef BERTH_BENCH_H
#define BERTH_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/buf.h"

static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void
write_file(const char *dir, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "w")) || fwrite(b->buf, 1, b->len, f) != b->len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

#endif
