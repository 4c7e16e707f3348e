/*
 * bench-settle - a month of a fleet settled: INSTANCES (10,000) instances
 * created in the ledger the month before, on HOSTS (100) hosts of two
 * providers, with an hourly usage row each for every hour of the month
 * and the 32 days before (7.6 million rows, as the intake keeps them),
 * then the statements of the month computed as berth settle does (the
 * instances' events read from the ledger, their spans, the traffic rows
 * read from the state database, the statements), against the floor of one
 * SQL aggregate over the same rows (the traffic of each instance in the
 * month, GROUP BY), in the same process. Time and peak memory of each,
 * ROUNDS times, median. Goal: under 10 s, at most 3x the floor.
 *
 * usage: bench-settle [-n INSTANCES] [-H HOSTS] [-r ROUNDS] [-k]  (-k keeps the state dir)
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "bench.h"
#include "ledger/ledger.h"
#include "settle/calendar.h"
#include "settle/gather.h"
#include "settle/spans.h"
#include "settle/statement.h"
#include "util/clock.h"
#include "util/banned.h"

#define MAX_ROUNDS 15
#define DAY 86400LL

static long
peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static const char *
provider_of(void *arg, const char *host)
{
	(void)arg;
	return (host[2] - '0') % 2 ? "acme" : "platform";
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "bench-settle: %s: %s\n", what, msg);
	exit(1);
}

/* The ledger's creates and the usage rows of n instances on hosts hosts. */
static void
generate(const char *state, int n, int hosts, int64_t from, int64_t to)
{
	struct ledger *l;
	struct berr err;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[4200], name[32], host[16], placed[40], hour[40];
	int i;
	int64_t t;

	if (ledger_open(state, &l, &err) < 0 || ledger_batch_begin(l, &err) < 0)
		die("ledger", err.msg);
	for (i = 0; i < n; i++) {
		struct ledger_entry e = { 0 };
		char object[64];
		json_t *after;

		snprintf(name, sizeof(name), "i%06d", i);
		snprintf(host, sizeof(host), "h%02d", i % hosts);
		snprintf(object, sizeof(object), "host/%s/instance/%s", host, name);
		clock_format((from - 31 * DAY + (int64_t)(i % 30) * DAY + i % 86400) * 1000, 0,
			     placed, sizeof(placed));
		after = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
				  "name", name, "location", "none", "config",
				  "user.berth.plan", "vps-s", "user.berth.plan-version",
				  "0123456789abcdef", "user.berth.price", i % 3 ? "1250" : "399",
				  "user.berth.currency", i % 7 ? "EUR" : "JPY",
				  "user.berth.cycle", i % 5 ? "monthly" : "hourly",
				  "user.berth.placed-at", placed, "user.berth.traffic", "1099511627776",
				  "user.berth.overage", "100", "user.berth.overage-per", "1073741824");
		e.kind = "change.result";
		e.action = "create";
		e.object = object;
		e.target = host;
		e.after = after;
		e.result = "ok";
		if (ledger_append(l, &e, &err) < 0)
			die("ledger", err.msg);
		json_decref(after);
	}
	if (ledger_batch_commit(l, &err) < 0)
		die("ledger", err.msg);
	ledger_close(l);

	snprintf(path, sizeof(path), "%s/berth.db", state);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO usage (host, project, instance, hour, plan,"
			       " running_ms, cpu_ns, rx_bytes, tx_bytes) VALUES (?1, 'default', ?2,"
			       " ?3, 'vps-s', 3600000, 1000000, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		die("usage", sqlite3_errmsg(db));
	for (t = from - 32 * DAY; t < to; t += 3600) {
		clock_format(t * 1000, 0, hour, sizeof(hour));
		hour[13] = '\0';
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "i%06d", i);
			snprintf(host, sizeof(host), "h%02d", i % hosts);
			sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, hour, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 4, (int64_t)(i % 97) * 1000003 * (t % 7 + 1));
			sqlite3_bind_int64(st, 5, (int64_t)(i % 89) * 3000017);
			if (sqlite3_step(st) != SQLITE_DONE)
				die("usage", sqlite3_errmsg(db));
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("usage", sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* berth settle's computation: the number of statements. */
static size_t
settle_once(const char *state, int64_t from, int64_t to)
{
	struct settle_provider pv[] = { { "acme", 7000, 30 * DAY }, { "platform", 0, 0 } };
	struct settle_events ev;
	struct settle_spans sp;
	struct settle_traffics tr;
	struct settle_input in = { 0 };
	struct ledger *l;
	struct berr err;
	json_t *out;
	size_t n;

	if (ledger_open(state, &l, &err) < 0 || settle_events_gather(l, &ev, &err) < 0 ||
	    settle_spans_build(ev.v, ev.n, provider_of, NULL, to, &sp, &err) < 0 ||
	    settle_traffic_gather(state, from, to, &sp, &tr, &err) < 0)
		die("settle", err.msg);
	in.from = from;
	in.to = to;
	in.spans = sp.v;
	in.nspans = sp.n;
	in.traffic = tr.v;
	in.ntraffic = tr.n;
	in.providers = pv;
	in.nproviders = 2;
	if (!(out = settle_compute(&in, &err)))
		die("settle", err.msg);
	n = json_array_size(out);
	json_decref(out);
	settle_traffics_release(&tr);
	settle_spans_release(&sp);
	settle_events_release(&ev);
	ledger_close(l);
	return n;
}

/* The floor: each instance's traffic in the month, one aggregate. */
static size_t
floor_once(const char *state, int64_t from, int64_t to)
{
	char path[4200], fh[40], th[40];
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t rows = 0;
	int64_t sum = 0;

	clock_format(from * 1000, 0, fh, sizeof(fh));
	clock_format(to * 1000, 0, th, sizeof(th));
	fh[13] = th[13] = '\0';
	snprintf(path, sizeof(path), "%s/berth.db", state);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT host, project, instance, sum(rx_bytes + tx_bytes)"
			       " FROM usage WHERE hour >= ?1 AND hour < ?2"
			       " GROUP BY host, project, instance", -1, &st, NULL) != SQLITE_OK)
		die("floor", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, fh, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, th, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		sum += sqlite3_column_int64(st, 3);
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rows + (sum < 0);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-settle.XXXXXX", state[64];
	int n = 10000, hosts = 100, rounds = 3, keep = 0, c, r;
	int64_t from = days_from_civil(2026, 11, 1) * DAY, to = days_from_civil(2026, 12, 1) * DAY;
	double ts[MAX_ROUNDS], tf[MAX_ROUNDS], t0;
	long mem0, mem_settle = 0;
	size_t stmts = 0, groups = 0;

	while ((c = getopt(argc, argv, "n:H:r:k")) != -1) {
		switch (c) {
		case 'n': n = (int)strtol(optarg, NULL, 10); break;
		case 'H': hosts = (int)strtol(optarg, NULL, 10); break;
		case 'r': rounds = (int)strtol(optarg, NULL, 10); break;
		case 'k': keep = 1; break;
		default:
			fprintf(stderr, "usage: bench-settle [-n INSTANCES] [-H HOSTS] [-r ROUNDS] [-k]\n");
			return 2;
		}
	}
	if (n < 1 || hosts < 1 || hosts > 100 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "bench-settle: want -n >= 1, -H 1..100, -r 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	if (!mkdtemp(dir))
		die("mkdtemp", "failed");
	snprintf(state, sizeof(state), "%s/state", dir);
	t0 = now();
	generate(state, n, hosts, from, to);
	printf("generated %d instances on %d hosts and %lld usage rows in %.1f s (%s)\n", n, hosts,
	       (long long)n * ((to - from) / 3600 + 32 * 24), now() - t0, state);
	for (r = 0; r < rounds; r++) {
		t0 = now();
		groups = floor_once(state, from, to);
		tf[r] = now() - t0;
		mem0 = peak_kib();
		t0 = now();
		stmts = settle_once(state, from, to);
		ts[r] = now() - t0;
		if (peak_kib() > mem_settle)
			mem_settle = peak_kib();
		printf("round %d: settle %.2f s (%zu statements), floor %.2f s (%zu instances);"
		       " peak RSS %ld MiB (before %ld MiB)\n", r + 1, ts[r], stmts, tf[r], groups,
		       mem_settle / 1024, mem0 / 1024);
	}
	qsort(ts, (size_t)rounds, sizeof(ts[0]), cmp_double);
	qsort(tf, (size_t)rounds, sizeof(tf[0]), cmp_double);
	printf("settle a month: median %.2f s; the floor (one SQL aggregate over the same rows)"
	       " %.2f s: %.2fx; goal under 10 s and at most 3x\n", ts[rounds / 2], tf[rounds / 2],
	       ts[rounds / 2] / tf[rounds / 2]);
	if (!keep)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
