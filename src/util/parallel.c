/*
 * parallel.c - parallel_run(): a few threads take the next item from one
 * shared counter until none is left.
 */
#include <pthread.h>
#include <stdlib.h>

#include "util/parallel.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct queue {
	size_t n;
	size_t next;
	pthread_mutex_t lock;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
};

static void *
worker(void *arg)
{
	struct queue *q = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&q->lock);
		i = q->next++;
		pthread_mutex_unlock(&q->lock);
		if (i >= q->n)
			break;
		q->fn(q->ctx, i);
	}
	return NULL;
}

int
parallel_run(size_t n, unsigned parallel, void (*fn)(void *ctx, size_t i),
	     void *ctx)
{
	struct queue q = { n, 0, PTHREAD_MUTEX_INITIALIZER, fn, ctx };
	size_t nthreads, started = 0, i;
	pthread_t *threads;

	if (n == 0)
		return 0;
	if (parallel == 0)
		parallel = PARALLEL_DEFAULT;
	if (parallel > PARALLEL_MAX)
		parallel = PARALLEL_MAX;
	nthreads = n < parallel ? n : parallel;
	threads = xcalloc(nthreads, sizeof(*threads));
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[i], NULL, worker, &q) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_destroy(&q.lock);
	return started ? 0 : -1;
}
