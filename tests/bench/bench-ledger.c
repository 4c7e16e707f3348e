/*
 * bench-ledger - the audit ledger: appends per second in one run's
 * transactions, and ledger_verify over 1,000,000 entries against the floor
 * of hashing the same bytes with SHA-256 alone.
 *
 * usage: bench-ledger [-a APPENDS] [-b BATCH] [-n VERIFY_ENTRIES]
 *                     [-g GROW_BATCH] [-r ROUNDS] [-k]   (-k keeps the state dir)
 *        bench-ledger -s STATE_DIR [-r ROUNDS]   ((b) and (c) on an existing ledger)
 *
 * (a) APPENDS (100,000) entries in batches of BATCH (1,000): each batch is
 *     one run (run.start, change.intent/change.result pairs with a
 *     profile's before and after, run.end) in one ledger_batch_begin() ..
 *     ledger_batch_commit(); ROUNDS fresh ledgers, median. For scale, a few
 *     hundred appends without a batch (one transaction and fsync each).
 * (b) The ledger of the last round grown to VERIFY_ENTRIES (1,000,000) in
 *     batches of GROW_BATCH (10,000), then ledger_verify over all of it,
 *     ROUNDS times, median (warm page cache). Goal: under 2 s.
 * (c) The floor: SHA-256 (EVP, one context reused, one digest per entry as
 *     verify must) over exactly the bytes verify hashes, prev_hash ||
 *     canonical JSON of each entry, read back from the ledger beforehand and
 *     held in memory: no SQLite in the timed part. Also the bulk throughput
 *     of the same bytes as one stream (`openssl speed sha256`'s number).
 *     Prints verify / floor.
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "ledger/ledger.h"
/*
 * (c) must hash exactly the bytes verify hashes: it reads the rows on the
 * ledger's connection and builds them with the module's own canonical
 * JSON, which only the private header offers.
 */
#include "ledger/ledger-int.h"
#include "util/buf.h"
#include "util/banned.h"

#define POOL 256
#define MAX_ROUNDS 15

static json_t *before_pool[POOL], *after_pool[POOL];
/* Digests land here so that the floor is not optimised away. */
static volatile unsigned char sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what, const struct berr *err)
{
	fprintf(stderr, "bench-ledger: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

/* An Incus profile as berth plans it (before: the old limits). */
static json_t *
profile(int i, int old)
{
	char name[32], mem[16], cpu[8], size[16];

	snprintf(name, sizeof(name), "plan-vps-%d", i);
	snprintf(mem, sizeof(mem), "%dGiB", (old ? 2 : 4) + i % 8);
	snprintf(cpu, sizeof(cpu), "%d", (old ? 1 : 2) + i % 4);
	snprintf(size, sizeof(size), "%dGiB", 20 + 10 * (i % 5));
	return json_pack("{s:{s:s,s:s,s:s,s:s},s:s,s:{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s}},"
			 "s:s,s:s}",
			 "config", "limits.cpu", cpu, "limits.memory", mem,
			 "security.nesting", old ? "false" : "true",
			 "user.berth.managed", "true",
			 "description", "VPS plan, small: managed by berth from fleet/profiles",
			 "devices",
			 "eth0", "name", "eth0", "network", "incusbr0", "type", "nic",
			 "root", "path", "/", "pool", "default", "size", size, "type", "disk",
			 "name", name, "project", "default");
}

struct gen {
	int64_t n;		/* entries appended so far */
	int obj;
	char run_id[32];
};

/*
 * Append one entry of a run of batch entries: run.start first, run.end
 * last, change.intent / change.result pairs between.
 */
static void
gen_append(struct ledger *l, struct gen *g, int pos, int batch)
{
	struct ledger_entry e = { 0 };
	struct berr err;
	char target[16], object[96];
	int k = g->obj % POOL;

	e.actor = "alice@nix-ops-01";
	e.run_id = g->run_id;
	e.commit = "4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39";
	if (pos == 0) {
		e.kind = "run.start";
	} else if (pos == batch - 1) {
		e.kind = "run.end";
		e.result = "ok";
	} else {
		snprintf(target, sizeof(target), "nix-%02d", g->obj % 8 + 1);
		snprintf(object, sizeof(object), "host/%s/profile/plan-vps-%d", target, g->obj);
		e.target = target;
		e.object = object;
		e.action = "update";
		e.before = before_pool[k];
		e.after = after_pool[k];
		if (pos % 2) {
			e.kind = "change.intent";
		} else {
			e.kind = "change.result";
			e.result = "ok";
			g->obj++;
		}
	}
	if (ledger_append(l, &e, &err) < 0)
		die("append", &err);
	g->n++;
}

/* n entries in runs of batch entries, each run one batch. */
static void
gen_runs(struct ledger *l, struct gen *g, int64_t n, int batch, int use_batch)
{
	struct berr err;
	int64_t done = 0;

	while (done < n) {
		int m = n - done < batch ? (int)(n - done) : batch, i;

		ledger_new_run_id(g->run_id);
		if (use_batch && ledger_batch_begin(l, &err) < 0)
			die("batch begin", &err);
		for (i = 0; i < m; i++)
			gen_append(l, g, i, m);
		if (use_batch && ledger_batch_commit(l, &err) < 0)
			die("batch commit", &err);
		done += m;
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct ledger *
open_fresh(char *tmpl, size_t len, char **state)
{
	struct ledger *l;
	struct berr err;
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpl, len, "%s/bench-ledger.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	if (asprintf(state, "%s/state", tmpl) < 0)
		exit(1);
	if (ledger_open(*state, &l, &err) < 0)
		die("open", &err);
	return l;
}

/* The bytes verify hashes, entry by entry: prev_hash || canonical JSON. */
struct bytes {
	struct buf all;
	size_t *end;		/* end[i]: offset just past entry i */
	int64_t n;
};

static void
read_bytes(struct ledger *l, struct bytes *b)
{
	sqlite3 *db = ledger_sqlite(l);
	sqlite3_stmt *st = NULL;
	struct ledger_row r;
	int64_t cap = 1 << 20;
	int i;

	buf_init(&b->all, 0);
	b->end = malloc((size_t)cap * sizeof(*b->end));
	b->n = 0;
	ledger_mutex_lock(l);
	if (sqlite3_prepare_v2(db, "SELECT " LEDGER_ROW_COLUMNS " FROM ledger ORDER BY seq", -1,
			       &st, NULL) != SQLITE_OK)
		die("read back", NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.seq = sqlite3_column_int64(st, 0);
		for (i = 0; i < LEDGER_NFIELDS; i++) {
			r.f[i] = (const char *)sqlite3_column_text(st, i + 1);
			r.len[i] = (size_t)sqlite3_column_bytes(st, i + 1);
		}
		buf_add(&b->all, sqlite3_column_text(st, 13), (size_t)sqlite3_column_bytes(st, 13));
		ledger_row_canonical(&r, r.seq, &b->all);
		if (b->n == cap) {
			cap *= 2;
			b->end = realloc(b->end, (size_t)cap * sizeof(*b->end));
		}
		b->end[b->n++] = b->all.len;
	}
	sqlite3_finalize(st);
	ledger_mutex_unlock(l);
}

/* One digest per entry, as verify does it (hex and compare not included). */
static double
floor_per_entry(const struct bytes *b, const EVP_MD *md)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len;
	size_t start = 0;
	double t = now();
	int64_t i;

	for (i = 0; i < b->n; i++) {
		EVP_DigestInit_ex(c, md, NULL);
		EVP_DigestUpdate(c, b->all.buf + start, b->end[i] - start);
		EVP_DigestFinal_ex(c, out, &len);
		sink ^= out[0];
		start = b->end[i];
	}
	t = now() - t;
	EVP_MD_CTX_free(c);
	return t;
}

/* The same bytes as one stream. */
static double
floor_bulk(const struct bytes *b, const EVP_MD *md)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len;
	double t = now();

	EVP_Digest(b->all.buf, b->all.len, out, &len, md, NULL);
	t = now() - t;
	sink ^= out[0];
	return t;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-ledger [-a APPENDS] [-b BATCH] [-n VERIFY_ENTRIES] "
		"[-g GROW_BATCH] [-r ROUNDS] [-k]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int64_t appends = 100000, verify_n = 1000000;
	int batch = 1000, grow_batch = 10000, rounds = 3, keep = 0, opt, i, r;
	double ta[MAX_ROUNDS], tv[MAX_ROUNDS], tf[MAX_ROUNDS], tb[MAX_ROUNDS];
	double t, t_single, t_grow, a_med, v_med, f_med, b_med;
	char dir[4096], *state = NULL, *db_path;
	struct ledger *l = NULL;
	struct gen g;
	struct berr err;
	struct ledger_verify_result vr;
	struct bytes bytes;
	const EVP_MD *md;
	int single = 200;
	const char *existing = NULL;
	FILE *fp;
	long db_size = 0;

	while ((opt = getopt(argc, argv, "a:b:n:g:r:ks:")) != -1) {
		switch (opt) {
		case 'a': appends = strtoll(optarg, NULL, 10); break;
		case 'b': batch = (int)strtol(optarg, NULL, 10); break;
		case 'n': verify_n = strtoll(optarg, NULL, 10); break;
		case 'g': grow_batch = (int)strtol(optarg, NULL, 10); break;
		case 'r': rounds = (int)strtol(optarg, NULL, 10); break;
		case 'k': keep = 1; break;
		case 's': existing = optarg; break;
		default: usage();
		}
	}
	if (appends < 1 || batch < 2 || grow_batch < 2 || verify_n < appends || rounds < 1 ||
	    rounds > MAX_ROUNDS)
		usage();
	for (i = 0; i < POOL; i++) {
		before_pool[i] = profile(i, 1);
		after_pool[i] = profile(i, 0);
	}

	printf("bench-ledger: SQLite %s, %s, %ld CPUs\n", sqlite3_libversion(),
	       OpenSSL_version(OPENSSL_VERSION), sysconf(_SC_NPROCESSORS_ONLN));
	if (existing) {
		if (ledger_open(existing, &l, &err) < 0)
			die("open", &err);
		if (!(state = strdup(existing)))
			exit(1);
		if (ledger_verify(l, NULL, &vr, &err) < 0)
			die("verify", &err);
		verify_n = vr.head_seq;
		keep = 1;
		goto verify;
	}

	/* For scale: appends without a batch, one transaction and fsync each. */
	l = open_fresh(dir, sizeof(dir), &state);
	memset(&g, 0, sizeof(g));
	t = now();
	gen_runs(l, &g, single, single, 0);
	t_single = now() - t;
	ledger_close(l);
	rm_rf(dir);
	free(state);
	printf("\n(a) append, no batch (one transaction + fsync per entry): %d entries, "
	       "%.0f entries/s\n", single, single / t_single);

	/* (a) appends in batches, rounds fresh ledgers; the last one is kept. */
	for (r = 0; r < rounds; r++) {
		l = open_fresh(dir, sizeof(dir), &state);
		memset(&g, 0, sizeof(g));
		t = now();
		gen_runs(l, &g, appends, batch, 1);
		ta[r] = now() - t;
		if (r < rounds - 1) {
			ledger_close(l);
			rm_rf(dir);
			free(state);
		}
	}
	a_med = median(ta, rounds);
	printf("(a) append %" PRId64 " entries in batches of %d (one run = one transaction): "
	       "median %.3f s of %d rounds, %.0f entries/s\n", appends, batch, a_med, rounds,
	       appends / a_med);

	/* (b) grow to verify_n, then verify. */
	t = now();
	gen_runs(l, &g, verify_n - appends, grow_batch, 1);
	t_grow = now() - t;
	printf("\n(b) grown to %" PRId64 " entries in batches of %d: %.1f s, %.0f entries/s\n",
	       g.n, grow_batch, t_grow, (verify_n - appends) / t_grow);
verify:
	if (asprintf(&db_path, "%s/berth.db", state) < 0)
		exit(1);
	if ((fp = fopen(db_path, "rb"))) {
		fseek(fp, 0, SEEK_END);
		db_size = ftell(fp);
		fclose(fp);
	}
	free(db_path);
	printf("(b) berth.db: %.0f MiB\n", db_size / 1048576.0);
	for (r = 0; r < rounds; r++) {
		t = now();
		if (ledger_verify(l, NULL, &vr, &err) < 0)
			die("verify", &err);
		tv[r] = now() - t;
		if (!vr.ok || vr.head_seq != verify_n) {
			fprintf(stderr, "bench-ledger: verify: %s (head %" PRId64 ")\n", vr.msg,
				vr.head_seq);
			exit(1);
		}
	}
	v_med = median(tv, rounds);
	printf("(b) verify %" PRId64 " entries: median %.3f s of %d rounds (warm cache), "
	       "%.0f entries/s; best %.3f s\n", verify_n, v_med, rounds, verify_n / v_med, tv[0]);
	printf("    goal: verify 1,000,000 entries in under 2 s: %s\n",
	       verify_n == 1000000 ? (v_med < 2.0 ? "MET" : "NOT MET") :
	       (v_med * 1000000.0 / verify_n < 2.0 ? "met (scaled to 1,000,000)" :
		"not met (scaled to 1,000,000)"));

	/* (c) the floor over the same bytes. */
	read_bytes(l, &bytes);
	if (bytes.n != verify_n)
		die("read back: wrong number of entries", NULL);
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!md)
		die("EVP_MD_fetch SHA256", NULL);
	for (r = 0; r < rounds; r++) {
		tf[r] = floor_per_entry(&bytes, md);
		tb[r] = floor_bulk(&bytes, md);
	}
	f_med = median(tf, rounds);
	b_med = median(tb, rounds);
	printf("\n(c) floor: SHA-256 of the same %.1f MiB (%" PRId64 " entries, mean %.0f bytes "
	       "each: prev_hash || canonical JSON), no SQLite:\n", bytes.all.len / 1048576.0,
	       bytes.n, (double)bytes.all.len / (double)bytes.n);
	printf("    one digest per entry: median %.3f s, %.0f entries/s, %.0f MiB/s; best %.3f s\n",
	       f_med, bytes.n / f_med, bytes.all.len / 1048576.0 / f_med, tf[0]);
	printf("    one stream (openssl speed): median %.3f s, %.0f MiB/s\n",
	       b_med, bytes.all.len / 1048576.0 / b_med);
	printf("    ratio verify / floor (per entry): %.2fx; verify / one stream: %.2fx\n",
	       v_med / f_med, v_med / b_med);

	EVP_MD_free((EVP_MD *)md);
	buf_release(&bytes.all);
	free(bytes.end);
	ledger_close(l);
	if (existing)
		;
	else if (keep)
		printf("\nkept %s\n", state);
	else
		rm_rf(dir);
	free(state);
	for (i = 0; i < POOL; i++) {
		json_decref(before_pool[i]);
		json_decref(after_pool[i]);
	}
	return 0;
}
