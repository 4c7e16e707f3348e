/*
 * bench-place - placement decisions over a generated fleet of 1,000
 * hosts in one pool, against the floor of a bare scan that reads every
 * member's free resources once per decision.
 *
 * usage: bench-place [-n HOSTS] [-d DECISIONS] [-r ROUNDS]
 *
 * Each decision places one instance with place_one() (every member is
 * checked: review, state, health, storage, provider, capacity) and counts
 * it as allocated; a placer is reset when the pool fills. Prints the time
 * per decision (goal: under 50 us), its ratio to the floor, and the
 * memory a placer and a status take. Both run in this process, in
 * alternation; the median of the rounds is reported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "sched/place.h"
#include "sched/status.h"
#include "util/buf.h"
#include "bench.h"
#include "util/xalloc.h"

/* n hosts (every tenth cordoned, capacities varied), one pool, one offer. */
static void
generate(const char *dir, int n)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < n; i++)
		buf_addf(&b, "---\napiVersion: berth/v1\nkind: Host\nmetadata:\n  name: h-%05d\n"
			 "  labels: {pool: web}\nspec:\n  endpoint: unix:///run/incus/h-%05d.socket\n"
			 "  os: debian-12\n  review: approved\n  state: %s\n"
			 "  capacity: {cpu: %d, memory: %dGiB, disk: 2000GiB}\n"
			 "  storage_pools:\n    - {name: incus, driver: dir}\n",
			 i, i, i % 10 == 9 ? "cordoned" : "active", 16 + 16 * (i % 4), 64 + 64 * (i % 3));
	write_file(dir, "hosts.yaml", &b);
	buf_reset(&b);
	buf_addf(&b, "apiVersion: berth/v1\nkind: Pool\nmetadata: {name: web}\nspec:\n"
		 "  hosts: {labels: {pool: web}}\n  storage_pool: incus\n"
		 "  overcommit: {cpu: 4, memory: 1, disk: 1}\n  reserve: {cpu: 10%%, memory: 10%%, disk: 10%%}\n"
		 "  placement: spread\n  require_agent: false\n---\n"
		 "apiVersion: berth/v1\nkind: Plan\nmetadata: {name: s}\nspec:\n  pool: web\n"
		 "  type: container\n  cpu: 2\n  memory: 2GiB\n  disk: 20GiB\n"
		 "  price: {amount: \"4.50\", currency: EUR, cycle: monthly}\n");
	write_file(dir, "pool.yaml", &b);
	buf_release(&b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The floor: read every member's free cpu, memory and disk, keep the best. */
static const struct status_host *
floor_scan(const struct status_pool *sp, volatile int64_t *sink)
{
	const struct status_member *best = NULL;
	int64_t bv = INT64_MIN;
	size_t i;

	for (i = 0; i < sp->nmembers; i++) {
		const struct status_member *m = &sp->members[i];
		int64_t v = m->res[RES_CPU].free + m->res[RES_MEMORY].free + m->res[RES_DISK].free;

		if (v > bv) {
			bv = v;
			best = m;
		}
	}
	*sink = bv;
	return best ? best->host : NULL;
}

int
main(int argc, char **argv)
{
	int hosts = 1000, decisions = 10000, rounds = 5, c, r, i;
	char dir[] = "/tmp/bench-place.XXXXXX";
	struct manifest_result res = { 0 };
	struct source_opts so = { 0 };
	struct diags d = DIAGS_INIT;
	struct berr err;
	struct status *st;
	double *tb, *tf;
	volatile int64_t sink = 0;
	size_t placed = 0, resets = 0;
	struct rusage ru;
	long rss0;
	char cmd[256];

	while ((c = getopt(argc, argv, "n:d:r:")) != -1) {
		switch (c) {
		case 'n': hosts = atoi(optarg); break;
		case 'd': decisions = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bench-place [-n HOSTS] [-d DECISIONS] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	generate(dir, hosts);
	so.repo = dir;
	so.worktree = 1;
	if (manifest_load(&so, MANIFEST_CHECK, &res, &d, &err) < 0 || d.nerrors) {
		fprintf(stderr, "generated fleet does not load: %s\n",
			d.nerrors ? d.v[0].msg : err.msg);
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	rss0 = ru.ru_maxrss;
	st = status_build(res.fleet, NULL, 0, 0);
	tb = xcalloc((size_t)rounds, sizeof(*tb));
	tf = xcalloc((size_t)rounds, sizeof(*tf));
	for (r = 0; r < rounds; r++) {
		struct placer p;
		const struct m_offer *o = &res.fleet->offers[0];
		double t0;

		t0 = now();
		for (i = 0; i < decisions; i++)
			if (!floor_scan(&st->pools[0], &sink))
				return 1;
		tf[r] = now() - t0;

		placer_init(&p, st);
		t0 = now();
		for (i = 0; i < decisions; i++) {
			if (place_one(&p, o)) {
				placed++;
				continue;
			}
			placer_release(&p);	/* the pool is full: start again */
			placer_init(&p, st);
			resets++;
		}
		tb[r] = now() - t0;
		placer_release(&p);
	}
	qsort(tb, (size_t)rounds, sizeof(*tb), cmp_double);
	qsort(tf, (size_t)rounds, sizeof(*tf), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("hosts: %d in one pool (every tenth cordoned); decisions per round: %d; rounds: %d\n",
	       hosts, decisions, rounds);
	printf("placed %zu, pool refilled %zu times\n", placed, resets);
	printf("floor (scan of free resources): %.2f us per decision\n",
	       tf[rounds / 2] / decisions * 1e6);
	printf("berth place_one:                %.2f us per decision (goal < 50 us: %s)\n",
	       tb[rounds / 2] / decisions * 1e6,
	       tb[rounds / 2] / decisions < 50e-6 ? "met" : "NOT met");
	printf("ratio berth/floor: %.2fx\n", tb[rounds / 2] / tf[rounds / 2]);
	printf("memory: placer %zu bytes, status + placer peak RSS growth %ld KiB\n",
	       st->nhosts * sizeof(uint64_t[RES__COUNT]), ru.ru_maxrss - rss0);
	free(tb);
	free(tf);
	status_free(st);
	manifest_result_release(&res);
	diags_release(&d);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
