/*
 * bench-intake - `berth serve`'s report intake: signed agent reports
 * accepted per second from a load generator on loopback, against the floor
 * of Ed25519 verifications per second on this machine.
 *
 * usage: bench-intake [-n HOSTS] [-r REPORTS] [-c CONNECTIONS] [-f] [-i] [-w]
 *                     [-v VERIFIES] [-s SECONDS] [-B BERTH] [-k]
 *
 *   -n  hosts in the fleet, each with its own Ed25519 key (2000)
 *   -r  reports in the timed phase (20000): host i % HOSTS sends seq 2, 3, ...
 *   -c  connections at once (64), keep-alive
 *   -f  a fresh connection for every report (as agents reporting every
 *       30 s against the server's 30 s idle timeout mostly do)
 *   -i  run the intake in this process (intake_open + http_start) instead
 *       of the real `berth serve` binary; gives the intake's exact batch count
 *   -w  no warm-up: the hosts' first reports are timed too
 *   -v  signatures verified per in-process floor measurement (10000)
 *   -s  seconds per `openssl speed` phase (3; 0 skips openssl speed)
 *   -B  the berth binary (default: the one built next to this benchmark)
 *   -k  keep the temporary directory
 *
 * Every request is signed before the run with Berth-Time = then, and the
 * intake accepts 300 s of skew: keep warm-up and timed phase under ~4 min.
 *
 * Setup, not timed: a temporary directory with a fleet of HOSTS Host
 * manifests and a Pool, every host with a fresh Ed25519 key; the state
 * directory; then every request built and signed beforehand (a body of
 * host_stats and 5 running instances, ~2 KB; envelope headers with a fresh
 * nonce and Berth-Time = now), so that the load generator spends its CPU
 * on HTTP only. The server is, by default, `berth --repo FLEET --worktree
 * --state STATE serve --listen 127.0.0.1:0 --admin-listen none`, forked and
 * executed as in production and waited for on /healthz.
 *
 * Warm-up, not timed: the first report of every host (seq 1). It creates
 * the usage baselines and credits each instance's running time since its
 * started_at (a day ago: 25 hourly rows each), which a running intake does
 * once per host; shown separately.
 *
 * Timed: one thread drives CONNECTIONS libcurl easy handles in a multi
 * handle, POSTing the requests in order; a host's next report is only sent
 * once its previous one was answered (as an agent does), so every one must
 * be accepted. Counts the 200 answers (and shows any other), the latency
 * of each request, the CPU time of the server, of its busiest thread and
 * of the load generator, and what other processes used meanwhile (the
 * machine may be shared). The server is then stopped (SIGTERM: reports in
 * flight are committed) and berth.db checked: HOSTS latest reports with
 * the last seq of each host, every report in history and its nonce kept.
 *
 * Floors, in the same process tree, after the load: `openssl speed
 * ed25519` (1 process and -multi 2), and in this process agent_verify()
 * over the very signed strings sent (what the intake calls per report) on
 * 1 and 2 threads, and bare EVP_DigestVerify with a context kept per key
 * (`openssl speed`'s loop) on 1 and 2 threads.
 *
 * Goals (from the issue): at least 2,000 reports/s on 2 cores, and at
 * least 0.5x the single-process `openssl speed` verify/s.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "agent/keys.h"
#include "agent/report.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "serve/http.h"
#include "serve/intake.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#ifndef BERTH_EXE
#define BERTH_EXE "berth"
#endif

#define INSTANCES 5
#define HOSTS_PER_FILE 100

struct host {
	char name[32];
	char boot[37];
	char pub[AGENT_PUBKEY_MAX];
	EVP_PKEY *key;			/* private, to sign */
	EVP_PKEY *pubkey;		/* from pub, as the intake parses it */
	unsigned nseq;			/* reports it sends */
};

struct request {
	unsigned host;
	unsigned seq;
	char *body;
	size_t len;
	struct curl_slist *hdrs;
	char *sstr;			/* the signed string */
	size_t slen;
	unsigned char sig[64];
};

struct bench {
	unsigned nhosts, nreq, conns;
	unsigned warm;			/* untimed first round: nhosts, or 0 (-w) */
	unsigned ntotal;		/* warm + nreq requests built */
	int fresh, inproc, keep;
	unsigned verifies;
	int ossl_seconds;
	const char *berth;
	char dir[64], fleet[128], state[128];
	struct host *hosts;
	struct request *reqs;
	int64_t t0_ms;			/* Berth-Time of every request */
	size_t body_bytes;
};

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench-intake: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of this process and of its children waited for. */
static double
own_cpu(void)
{
	struct rusage ru, rc;

	getrusage(RUSAGE_SELF, &ru);
	getrusage(RUSAGE_CHILDREN, &rc);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + rc.ru_utime.tv_sec +
			rc.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec + rc.ru_utime.tv_usec +
			rc.ru_stime.tv_usec) / 1e6;
}

/* User + system CPU seconds of /proc/<what>/stat; -1 when unknown. */
static double
proc_cpu_path(const char *what)
{
	char path[128], line[2048], *p;
	unsigned long long ut, st;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%s/stat", what);
	if (!(f = fopen(path, "r")))
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || !(p = strrchr(line, ')')))
		return -1;
	/* After ")" (the end of field 2), the 12th space starts field 14: utime, then stime. */
	for (field = 3; field <= 14 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
proc_cpu(pid_t pid)
{
	char what[32];

	snprintf(what, sizeof(what), "%d", (int)pid);
	return proc_cpu_path(what);
}

/* A thread's CPU seconds. */
struct tcpu {
	pid_t tid;
	double cpu;
	char comm[32];
};

/* The CPU of every thread of pid but skip, at most max of them. */
static size_t
threads_cpu(pid_t pid, pid_t skip, struct tcpu *out, size_t max)
{
	char path[64];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)) && n < max) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
		char what[96];

		if (tid <= 0 || tid == skip)
			continue;
		snprintf(what, sizeof(what), "%d/task/%d", (int)pid, (int)tid);
		out[n].tid = tid;
		if ((out[n].cpu = proc_cpu_path(what)) < 0)
			continue;
		{
			char cpath[128];
			FILE *f;

			snprintf(cpath, sizeof(cpath), "/proc/%s/comm", what);
			out[n].comm[0] = '\0';
			if ((f = fopen(cpath, "r"))) {
				if (fgets(out[n].comm, sizeof(out[n].comm), f))
					out[n].comm[strcspn(out[n].comm, "\n")] = '\0';
				fclose(f);
			}
		}
		n++;
	}
	closedir(d);
	return n;
}

/*
 * The most CPU one thread used between snapshots a and b; *who is its
 * name (the intake's writer is the one not named MHD-*).
 */
static double
busiest_delta(const struct tcpu *a, size_t na, const struct tcpu *b, size_t nb, const char **who)
{
	double best = 0;

	*who = "?";
	for (size_t i = 0; i < nb; i++) {
		double before = 0;

		for (size_t j = 0; j < na; j++)
			if (a[j].tid == b[i].tid)
				before = a[j].cpu;
		if (b[i].cpu - before > best) {
			best = b[i].cpu - before;
			*who = b[i].comm;
		}
	}
	return best;
}

/* Busy CPU seconds of the whole machine, from /proc/stat. */
static double
machine_busy(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	/* All but idle (3) and iowait (4). */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * What other processes on the machine did meanwhile (other engineers'
 * builds and tests share it): their CPU in cores, for reading the numbers.
 */
struct quiet {
	double busy, own, t;
};

static void
quiet_start(struct quiet *q)
{
	q->busy = machine_busy();
	q->own = own_cpu();
	q->t = now();
}

/* Other processes' CPU since quiet_start, in cores; extra: CPU of ours not yet waited for. */
static double
quiet_others(const struct quiet *q, double extra)
{
	double wall = now() - q->t, o;

	if (q->busy < 0 || wall <= 0)
		return -1;
	o = (machine_busy() - q->busy - (own_cpu() - q->own) - extra) / wall;
	return o < 0 ? 0 : o;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of v (sorted). */
static double
quantile(const double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void
write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(b->buf, 1, b->len, f) != b->len || fclose(f) != 0)
		die("cannot write %s: %s", path, strerror(errno));
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Keys and manifests: HOSTS_PER_FILE Host documents a file, and one Pool. */
static void
make_fleet(struct bench *b)
{
	struct buf y = BUF_INIT;
	char path[256];

	buf_init(&y, 0);
	snprintf(b->fleet, sizeof(b->fleet), "%s/fleet", b->dir);
	snprintf(b->state, sizeof(b->state), "%s/state", b->dir);
	if (mkdir(b->fleet, 0700) < 0 || mkdir(b->state, 0700) < 0)
		die("mkdir: %s", strerror(errno));
	b->hosts = xcalloc(b->nhosts, sizeof(*b->hosts));
	for (unsigned i = 0; i < b->nhosts; i++) {
		struct host *h = &b->hosts[i];
		unsigned char raw[32], rnd[16];
		size_t rawlen = sizeof(raw);
		char b64[48], rh[33];
		struct berr err;

		snprintf(h->name, sizeof(h->name), "host-%05u", i);
		if (!(h->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) ||
		    EVP_PKEY_get_raw_public_key(h->key, raw, &rawlen) != 1 || rawlen != 32)
			die("cannot make an Ed25519 key");
		b64_encode(raw, 32, b64);
		snprintf(h->pub, sizeof(h->pub), "ed25519:%s", b64);
		if (!(h->pubkey = agent_pubkey_parse(h->pub, &err)))
			die("%s", err.msg);
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			die("RAND_bytes failed");
		hex(rnd, sizeof(rnd), rh);
		/* A version 4 UUID's shape: 8-4-4-4-12 lowercase hex. */
		snprintf(h->boot, sizeof(h->boot), "%.8s-%.4s-4%.3s-8%.3s-%.12s", rh, rh + 8,
			 rh + 12, rh + 15, rh + 18);
		if (!report_valid_boot_id(h->boot))
			die("bad boot id %s", h->boot);
		buf_addf(&y, "---\napiVersion: berth/v1\nkind: Host\nmetadata:\n  name: %s\n"
			 "  labels: {site: bench, rack: rack-%u}\nspec:\n"
			 "  endpoint: \"unix:///run/bench/%s.socket\"\n  os: debian-12\n"
			 "  review: approved\n"
			 "  capacity: {cpu: 32, memory: 128GiB, disk: 2TiB, traffic: 20TiB}\n"
			 "  agent: {key: \"%s\", interval: 1s}\n"
			 "  storage_pools:\n    - {name: incus, driver: lvm, size: 1800GiB}\n"
			 "  projects:\n    - name: tenants\n",
			 h->name, i % 40, h->name, h->pub);
		if ((i + 1) % HOSTS_PER_FILE == 0 || i + 1 == b->nhosts) {
			snprintf(path, sizeof(path), "%s/hosts-%03u.yaml", b->fleet, i / HOSTS_PER_FILE);
			write_file(path, &y);
			buf_reset(&y);
		}
	}
	buf_addstr(&y, "apiVersion: berth/v1\nkind: Pool\nmetadata:\n  name: bench\n"
		   "spec:\n  hosts:\n    labels: {site: bench}\n  storage_pool: incus\n"
		   "  overcommit: {cpu: 4, memory: 1, disk: 1}\n");
	snprintf(path, sizeof(path), "%s/pool.yaml", b->fleet);
	write_file(path, &y);
	buf_release(&y);
}

/* A report body as an agent on a busy host sends it: host_stats and 5 instances. */
static void
make_body(struct buf *o, const struct host *h, unsigned hi, unsigned seq, int64_t time_ms,
	  int64_t boot_ms)
{
	static const char *const plans[] = { "vps-s", "vps-m", "vps-l", NULL };
	char t[40], started[40];
	uint64_t s = seq;

	clock_format(time_ms, 0, t, sizeof(t));
	clock_format(boot_ms, 0, started, sizeof(started));
	buf_addf(o, "{\"schema\":1,\"host\":\"%s\",\"boot_id\":\"%s\",\"seq\":%u,\"time\":\"%s\","
		 "\"agent\":{\"version\":\"0.5.0\",\"build\":\"abc1234\"},\"interval\":1,"
		 "\"dropped\":0,\"host_stats\":{\"cpu_threads\":32,\"cpu_use\":0.%03u,"
		 "\"load\":[3.25,2.5,2.125],\"memory\":{\"total\":137438953472,"
		 "\"available\":%" PRIu64 "},\"storage_pools\":[{\"name\":\"incus\","
		 "\"driver\":\"lvm\",\"total\":1932735283200,\"used\":%" PRIu64 ",\"free\":%" PRIu64 "}],"
		 "\"network\":[{\"name\":\"eno1\",\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ","
		 "\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 "},{\"name\":\"eno2\","
		 "\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ",\"rx_packets\":%" PRIu64 ","
		 "\"tx_packets\":%" PRIu64 "}]},\"instances\":[",
		 h->name, h->boot, seq, t, (hi * 37 + seq * 11) % 1000,
		 (uint64_t)68719476736 - s * 4096, (uint64_t)500000000000 + s * 65536,
		 (uint64_t)1432735283200 - s * 65536, s * 987654321, s * 123456789, s * 700000,
		 s * 90000, s * 5555555, s * 4444444, s * 6000, s * 5000);
	for (unsigned k = 0; k < INSTANCES; k++) {
		const char *plan = plans[(hi + k) % 4];
		char pj[16];

		snprintf(pj, sizeof(pj), plan ? "\"%s\"" : "null", plan ? plan : "");
		buf_addf(o, "%s{\"name\":\"c%05u-%u\",\"project\":\"tenants\",\"type\":\"%s\","
			 "\"status\":\"Running\",\"started_at\":\"%s\",\"plan\":%s,"
			 "\"cpu_ns\":%" PRIu64 ",\"memory\":%" PRIu64 ",\"disk\":%" PRIu64 ","
			 "\"network\":[{\"name\":\"eth0\",\"rx_bytes\":%" PRIu64 ","
			 "\"tx_bytes\":%" PRIu64 ",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 "}]}",
			 k ? "," : "", hi, k, k == 4 ? "virtual-machine" : "container", started, pj,
			 s * 250000000 + k, (uint64_t)1073741824 + k * 1048576,
			 (uint64_t)10737418240 + s * 4096, s * 1234567 + k, s * 765432 + k,
			 s * 1500 + k, s * 1200 + k);
	}
	buf_addstr(o, "]}");
}

/*
 * Every request, signed: request i is host i % nhosts's seq i / nhosts + 1.
 * The bodies' collection times end now, one second apart; Berth-Time is now.
 */
static void
make_requests(struct bench *b)
{
	unsigned rounds = (b->ntotal + b->nhosts - 1) / b->nhosts;
	int64_t boot_ms;
	struct buf body = BUF_INIT, s = BUF_INIT;

	buf_init(&body, REPORT_MAX_BODY);
	buf_init(&s, 0);
	b->t0_ms = clock_now_ms() / 1000 * 1000;
	boot_ms = b->t0_ms - 86400000;
	b->reqs = xcalloc(b->ntotal, sizeof(*b->reqs));
	for (unsigned i = 0; i < b->ntotal; i++) {
		struct request *q = &b->reqs[i];
		struct host *h = &b->hosts[i % b->nhosts];
		struct report_envelope e = { 0 };
		unsigned char dig[32], rnd[16];

		q->host = i % b->nhosts;
		q->seq = i / b->nhosts + 1;
		h->nseq = q->seq;
		buf_reset(&body);
		make_body(&body, h, q->host, q->seq, b->t0_ms - (int64_t)(rounds - q->seq) * 1000,
			  boot_ms);
		q->body = buf_detach(&body, &q->len);
		b->body_bytes += q->len;
		snprintf(e.host, sizeof(e.host), "%s", h->name);
		snprintf(e.boot_id, sizeof(e.boot_id), "%s", h->boot);
		e.seq = q->seq;
		e.time = b->t0_ms / 1000;
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			die("RAND_bytes failed");
		hex(rnd, sizeof(rnd), e.nonce);
		SHA256((const unsigned char *)q->body, q->len, dig);
		buf_reset(&s);
		report_signed_string(&e, dig, &s);
		if (agent_sign(h->key, s.buf, s.len, e.sig) < 0)
			die("cannot sign");
		memcpy(q->sig, e.sig, 64);
		q->sstr = xstrndup(s.buf, s.len);
		q->slen = s.len;
		for (int k = 0; k < 6; k++) {
			char v[160], line[200];

			report_envelope_header(&e, k, v, sizeof(v));
			snprintf(line, sizeof(line), "%s: %s", report_header_names[k], v);
			q->hdrs = curl_slist_append(q->hdrs, line);
		}
		q->hdrs = curl_slist_append(q->hdrs, "Content-Type: application/json");
		q->hdrs = curl_slist_append(q->hdrs, "Expect:");
		if (!q->hdrs)
			die("out of memory");
	}
	buf_release(&body);
	buf_release(&s);
}

/* The server: the real binary, or the intake in this process. */
struct server {
	pid_t pid;
	int errfd;			/* its stderr */
	struct buf errtext;
	struct manifest_result res;
	struct intake *in;
	struct http_server *hs;
	unsigned port;
};

static void
read_err(struct server *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->errfd, .events = POLLIN };
	char chunk[4096];
	ssize_t n;

	if (s->errfd < 0 || poll(&p, 1, timeout_ms) <= 0)
		return;
	n = read(s->errfd, chunk, sizeof(chunk));
	if (n > 0) {
		buf_add(&s->errtext, chunk, (size_t)n);
	} else if (n == 0) {
		close(s->errfd);
		s->errfd = -1;
	}
}

static int
healthz(unsigned port)
{
	CURL *c = curl_easy_init();
	char url[64];
	long code = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code == 200;
}

/* The forked server, ended if this program dies before stop_server(). */
static pid_t server_pid;

static void
kill_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
}

static void
start_server(struct bench *b, struct server *s)
{
	unsigned limit = b->conns * 4 + 16 > 1024 ? b->conns * 4 + 16 : 1024;
	double t = now();

	memset(s, 0, sizeof(*s));
	s->errfd = -1;
	buf_init(&s->errtext, 0);
	if (b->inproc) {
		struct source_opts so = { .repo = b->fleet, .worktree = 1 };
		struct intake_opts io = { .state_dir = b->state };
		struct http_opts ho = { .listen = "127.0.0.1:0", .conn_limit = limit };
		struct diags d = DIAGS_INIT;
		struct ledger *l;
		struct berr err;

		if (manifest_load(&so, MANIFEST_CHECK, &s->res, &d, &err) < 0)
			die("%s", err.msg);
		if (d.nerrors || !s->res.fleet) {
			char line[1024];

			diag_format(&d.v[0], line, sizeof(line));
			die("the generated fleet does not validate: %s", line);
		}
		diags_release(&d);
		if (ledger_open(b->state, &l, &err) < 0)
			die("%s", err.msg);
		ledger_close(l);
		if (intake_open(&io, s->res.fleet, &s->in, &err) < 0 ||
		    http_start(&ho, s->in, &s->hs, &err) < 0)
			die("%s", err.msg);
		s->port = http_port(s->hs);
	} else {
		char conns[32];
		int fds[2];

		snprintf(conns, sizeof(conns), "%u", limit);
		if (pipe(fds) < 0)
			die("pipe: %s", strerror(errno));
		fflush(NULL);
		if ((s->pid = fork()) < 0)
			die("fork: %s", strerror(errno));
		if (s->pid == 0) {
			dup2(fds[1], 2);
			close(fds[0]);
			close(fds[1]);
			execl(b->berth, b->berth, "--no-color", "--repo", b->fleet, "--worktree",
			      "--state", b->state, "serve", "--listen", "127.0.0.1:0",
			      "--admin-listen", "none", "--max-connections", conns, (char *)NULL);
			fprintf(stderr, "cannot run %s: %s\n", b->berth, strerror(errno));
			_exit(127);
		}
		close(fds[1]);
		s->errfd = fds[0];
		server_pid = s->pid;
		atexit(kill_server);
		/* "berth serve: serving on 127.0.0.1:0 port 41234: ..." */
		while (!s->port && s->errfd >= 0 && now() - t < 120) {
			const char *p;

			read_err(s, 1000);
			if ((p = strstr(s->errtext.buf, " port ")))
				s->port = (unsigned)strtoul(p + 6, NULL, 10);
		}
		if (!s->port)
			die("`%s serve` did not start:\n%s", b->berth, s->errtext.buf);
	}
	while (!healthz(s->port)) {
		if (now() - t > 120)
			die("no answer on /healthz of port %u", s->port);
		usleep(20000);
	}
	printf("server: %s on 127.0.0.1:%u, up in %.2f s\n",
	       b->inproc ? "intake_open + http_start in this process" : b->berth, s->port, now() - t);
}

/* SIGTERM and wait (in-flight reports are committed first). */
static void
stop_server(struct server *s)
{
	if (s->pid > 0) {
		double t = now();
		int status = 0;
		pid_t r;

		kill(s->pid, SIGTERM);
		while ((r = waitpid(s->pid, &status, WNOHANG)) == 0) {
			read_err(s, 50);
			if (now() - t > 60) {
				kill(s->pid, SIGKILL);
				waitpid(s->pid, &status, 0);
				break;
			}
		}
		while (s->errfd >= 0)
			read_err(s, 1000);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			printf("server exited with status %d; it said:\n%s", status, s->errtext.buf);
		s->pid = 0;
		server_pid = 0;
	}
	http_stop(s->hs);
	intake_free(s->in);
	manifest_result_release(&s->res);
	buf_release(&s->errtext);
}

/* The load generator. */
struct lane {
	CURL *h;
	long req;			/* -1: idle */
	double t0;
	char ans[600];
	size_t anslen;
};

struct load {
	double t_start, t_end;
	double *lat;			/* seconds, per request */
	size_t ok, other, failed, stalls;
	long first_status;
	char first_answer[600];
	double gen_cpu;
};

static size_t
on_answer(char *data, size_t size, size_t n, void *arg)
{
	struct lane *l = arg;
	size_t len = size * n, room = sizeof(l->ans) - 1 - l->anslen;

	if (len < room)
		room = len;
	memcpy(l->ans + l->anslen, data, room);
	l->anslen += room;
	l->ans[l->anslen] = '\0';
	return len;
}

/*
 * POST requests [from, to) over b->conns connections; a host's report waits
 * until its previous one is answered. The multi handle m keeps the
 * connections from one call to the next.
 */
static void
run_load(const struct bench *b, CURLM *m, struct lane *lanes, size_t from, size_t to,
	 struct load *ld)
{
	unsigned char *busy = xcalloc(b->nhosts, 1);
	size_t next = from, done = 0, idle = b->conns, n = to - from, stall_at = (size_t)-1;
	int running;
	double cpu0;

	memset(ld, 0, sizeof(*ld));
	ld->lat = xcalloc(n ? n : 1, sizeof(*ld->lat));
	cpu0 = thread_cpu();
	ld->t_start = now();
	while (done < n) {
		CURLMsg *msg;
		int left, got = 0;

		/* Hand the next requests to idle lanes, keeping each host's order. */
		for (unsigned i = 0; i < b->conns && idle && next < to; i++) {
			struct lane *l = &lanes[i];
			const struct request *q = &b->reqs[next];

			if (l->req >= 0)
				continue;
			if (busy[q->host]) {
				/* Its previous report is still in flight: wait for it. */
				if (stall_at != next)
					ld->stalls++;
				stall_at = next;
				break;
			}
			busy[q->host] = 1;
			l->req = (long)next++;
			l->anslen = 0;
			curl_easy_setopt(l->h, CURLOPT_POSTFIELDS, q->body);
			curl_easy_setopt(l->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
			curl_easy_setopt(l->h, CURLOPT_HTTPHEADER, q->hdrs);
			l->t0 = now();
			curl_multi_add_handle(m, l->h);
			idle--;
		}
		if (curl_multi_perform(m, &running) != CURLM_OK)
			die("curl_multi_perform failed");
		while ((msg = curl_multi_info_read(m, &left))) {
			struct lane *l;
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&l);
			ld->lat[(size_t)l->req - from] = now() - l->t0;
			if (msg->data.result != CURLE_OK) {
				if (!ld->failed++)
					snprintf(ld->first_answer, sizeof(ld->first_answer), "curl: %s",
						 curl_easy_strerror(msg->data.result));
			} else {
				curl_easy_getinfo(l->h, CURLINFO_RESPONSE_CODE, &code);
				if (code == 200) {
					ld->ok++;
				} else if (!ld->other++) {
					ld->first_status = code;
					snprintf(ld->first_answer, sizeof(ld->first_answer), "%s", l->ans);
				}
			}
			curl_multi_remove_handle(m, l->h);
			busy[b->reqs[l->req].host] = 0;
			l->req = -1;
			idle++;
			done++;
			got++;
		}
		if (got)
			continue;	/* fill the lanes just freed first */
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	ld->t_end = now();
	ld->gen_cpu = thread_cpu() - cpu0;
	free(busy);
}

static struct lane *
lanes_new(const struct bench *b, unsigned port, CURLM **m)
{
	struct lane *lanes = xcalloc(b->conns, sizeof(*lanes));
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/reports", port);
	if (!(*m = curl_multi_init()))
		die("curl_multi_init failed");
	curl_multi_setopt(*m, CURLMOPT_MAXCONNECTS, (long)b->conns);
	for (unsigned i = 0; i < b->conns; i++) {
		struct lane *l = &lanes[i];

		if (!(l->h = curl_easy_init()))
			die("curl_easy_init failed");
		l->req = -1;
		curl_easy_setopt(l->h, CURLOPT_URL, url);
		curl_easy_setopt(l->h, CURLOPT_POST, 1L);
		curl_easy_setopt(l->h, CURLOPT_WRITEFUNCTION, on_answer);
		curl_easy_setopt(l->h, CURLOPT_WRITEDATA, l);
		curl_easy_setopt(l->h, CURLOPT_PRIVATE, l);
		curl_easy_setopt(l->h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(l->h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(l->h, CURLOPT_TIMEOUT_MS, 120000L);
		if (b->fresh)
			curl_easy_setopt(l->h, CURLOPT_FORBID_REUSE, 1L);
	}
	return lanes;
}

static void
lanes_free(const struct bench *b, CURLM *m, struct lane *lanes)
{
	for (unsigned i = 0; i < b->conns; i++)
		curl_easy_cleanup(lanes[i].h);
	curl_multi_cleanup(m);
	free(lanes);
}

/* berth.db after the run: latest report and seq of every host, history and nonces. */
static int
check_db(const struct bench *b, int64_t since_ms, double *batches)
{
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned char *seen = xcalloc(b->nhosts, 1);
	long long latest = 0, history = -1, nonces = -1, seqs = -1;
	size_t wrong = 0;
	int ok;

	snprintf(path, sizeof(path), "%s/berth.db", b->state);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("cannot open %s", path);
	if (sqlite3_prepare_v2(db, "SELECT l.host, h.seq FROM report_latest l JOIN report_history h ON h.id = l.history_id", -1, &st, NULL) != SQLITE_OK)
		die("%s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);
		unsigned long i;

		latest++;
		if (!h || strncmp(h, "host-", 5) || (i = strtoul(h + 5, NULL, 10)) >= b->nhosts ||
		    seen[i] || sqlite3_column_int64(st, 1) != b->hosts[i].nseq) {
			if (!wrong++)
				printf("  unexpected latest report: %s seq %lld\n", h ? h : "(null)",
				       (long long)sqlite3_column_int64(st, 1));
			continue;
		}
		seen[i] = 1;
	}
	sqlite3_finalize(st);
	{
		static const char *const q[4] = {
			"SELECT count(*) FROM report_history",
			"SELECT count(DISTINCT nonce) FROM report_history",
			"SELECT count(*) FROM report_seq",
			"SELECT count(DISTINCT received_ms) FROM report_history WHERE received_ms >= ?1",
		};
		long long *out[3] = { &history, &nonces, &seqs };

		for (int i = 0; i < 4; i++) {
			if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK)
				die("%s", sqlite3_errmsg(db));
			if (i == 3)
				sqlite3_bind_int64(st, 1, since_ms);
			if (sqlite3_step(st) == SQLITE_ROW) {
				if (i < 3)
					*out[i] = sqlite3_column_int64(st, 0);
				else
					*batches = (double)sqlite3_column_int64(st, 0);
			}
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
	free(seen);
	ok = !wrong && latest == b->nhosts && history == b->ntotal && nonces == b->ntotal &&
	     seqs == b->nhosts;
	printf("berth.db: %lld latest reports (want %u, %zu with a wrong seq), %lld in history "
	       "(want %u), %lld nonces (want %u), %lld (host, boot) seqs (want %u): %s\n",
	       latest, b->nhosts, wrong, history, b->ntotal, nonces, b->ntotal, seqs, b->nhosts,
	       ok ? "ok" : "WRONG");
	return ok ? 0 : -1;
}

/* `openssl speed` verify/s of Ed25519 (multi processes); -1 when it fails. */
static double
openssl_speed(int seconds, int multi)
{
	char cmd[256], line[512], last[512] = "";
	double sign = 0, verify = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl speed -mr -seconds %d%s ed25519 2>/dev/null", seconds,
		 multi > 1 ? " -multi 2" : "");
	if (!(p = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, "+F6:", 4))
			snprintf(last, sizeof(last), "%s", line);
	pclose(p);
	/* +F6:0:253:Ed25519:<sign/s>:<verify/s> (summed over processes with -multi) */
	if (sscanf(last, "+F6:%*d:%*d:%*[^:]:%lf:%lf", &sign, &verify) != 2)
		return -1;
	return verify;
}

struct vjob {
	const struct bench *b;
	size_t from, to;
	int bare;
	size_t ok;
	double secs;
};

static void *
verify_run(void *arg)
{
	struct vjob *j = arg;
	const struct bench *b = j->b;
	EVP_MD_CTX **ctx = NULL;
	double t;

	if (j->bare) {
		/* openssl speed's loop: one context per key, initialised once. */
		ctx = xcalloc(b->nhosts, sizeof(*ctx));
		for (size_t i = j->from; i < j->to; i++) {
			unsigned h = b->reqs[i % b->ntotal].host;

			if (!ctx[h] && (!(ctx[h] = EVP_MD_CTX_new()) ||
					EVP_DigestVerifyInit(ctx[h], NULL, NULL, NULL,
							     b->hosts[h].pubkey) != 1))
				die("EVP_DigestVerifyInit failed");
		}
	}
	t = now();
	for (size_t i = j->from; i < j->to; i++) {
		const struct request *q = &b->reqs[i % b->ntotal];

		if (j->bare)
			j->ok += EVP_DigestVerify(ctx[q->host], q->sig, 64,
						  (const unsigned char *)q->sstr, q->slen) == 1;
		else
			j->ok += agent_verify(b->hosts[q->host].pubkey, q->sstr, q->slen, q->sig) == 1;
	}
	j->secs = now() - t;
	if (ctx) {
		for (unsigned h = 0; h < b->nhosts; h++)
			EVP_MD_CTX_free(ctx[h]);
		free(ctx);
	}
	return NULL;
}

/* Verifications per second over b->verifies signed strings, on nthreads threads. */
static double
verify_floor(const struct bench *b, int nthreads, int bare)
{
	struct vjob j[2];
	pthread_t t[2];
	size_t ok = 0;
	double t0 = now(), wall;

	for (int i = 0; i < nthreads; i++) {
		j[i] = (struct vjob){ .b = b, .bare = bare,
				      .from = b->verifies * (size_t)i / (size_t)nthreads,
				      .to = b->verifies * (size_t)(i + 1) / (size_t)nthreads };
		if (pthread_create(&t[i], NULL, verify_run, &j[i]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		ok += j[i].ok;
	}
	wall = now() - t0;
	if (ok != b->verifies)
		die("%zu of %u signatures did not verify", b->verifies - ok, b->verifies);
	return b->verifies / wall;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

static const char *
met(int yes)
{
	return yes ? "met" : "MISSED";
}

static void
print_load(const char *label, const struct bench *b, struct load *ld, size_t n)
{
	double wall = ld->t_end - ld->t_start;

	qsort(ld->lat, n, sizeof(*ld->lat), cmp_double);
	printf("%s\n", label);
	printf("  accepted (200)      %zu of %zu", ld->ok, n);
	if (ld->other || ld->failed)
		printf("; %zu other answers, %zu failed; first: %ld %s", ld->other, ld->failed,
		       ld->first_status, ld->first_answer);
	printf("\n  wall                %.2f s: %.0f reports/s\n", wall, ld->ok / wall);
	printf("  latency             p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       quantile(ld->lat, n, 0.5) * 1e3, quantile(ld->lat, n, 0.9) * 1e3,
	       quantile(ld->lat, n, 0.99) * 1e3, ld->lat[n - 1] * 1e3);
	if (ld->stalls)
		printf("  stalls              %zu times a host's previous report was still in flight\n",
		       ld->stalls);
	(void)b;
}

int
main(int argc, char **argv)
{
	struct bench b = { .nhosts = 2000, .nreq = 20000, .conns = 64, .verifies = 10000,
			   .ossl_seconds = 3, .berth = BERTH_EXE };
	struct server srv;
	struct load warm, ld;
	struct intake_stats ist0 = { 0 }, ist = { 0 };
	struct tcpu *th0, *th1;
	size_t nth0 = 0, nth1 = 0, maxth;
	CURLM *m;
	struct lane *lanes;
	double t, srv_cpu0 = 0, srv_cpu1 = 0, all_cpu0 = 0, wall, rate, srv_cpu, batches = 0;
	double o1 = -1, o2 = -1, v1, v2, e1, e2, loadavg[3] = { 0 }, others = -1, writer = -1;
	int64_t timed_ms;
	pid_t spid, skip;
	const char *writer_name = "?";
	struct quiet qt;
	int opt, dbok, nowarm = 0, all_ok;

	while ((opt = getopt(argc, argv, "n:r:c:fiwv:s:B:k")) != -1) {
		switch (opt) {
		case 'n': b.nhosts = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': b.nreq = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': b.conns = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': b.fresh = 1; break;
		case 'i': b.inproc = 1; break;
		case 'w': nowarm = 1; break;
		case 'v': b.verifies = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': b.ossl_seconds = (int)strtol(optarg, NULL, 10); break;
		case 'B': b.berth = optarg; break;
		case 'k': b.keep = 1; break;
		default:
			fprintf(stderr, "usage: bench-intake [-n HOSTS] [-r REPORTS] [-c CONNECTIONS] "
				"[-f] [-i] [-w] [-v VERIFIES] [-s SECONDS] [-B BERTH] [-k]\n");
			return 2;
		}
	}
	if (b.nhosts < 1 || b.nhosts > 100000 || b.nreq < 1 || b.nreq > 2000000 ||
	    b.conns < 1 || b.conns > 4096 || b.verifies < 2 || b.ossl_seconds < 0)
		die("want 1 <= HOSTS <= 100000, 1 <= REPORTS <= 2000000, 1 <= CONNECTIONS <= 4096");
	if (!b.inproc && access(b.berth, X_OK) < 0)
		die("cannot run %s (build it, or give -B or -i)", b.berth);
	b.warm = nowarm ? 0 : b.nhosts;
	b.ntotal = b.warm + b.nreq;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getloadavg(loadavg, 3) < 0)
		loadavg[0] = -1;
	printf("machine: %ld CPUs online, load average %.2f before the run\n",
	       sysconf(_SC_NPROCESSORS_ONLN), loadavg[0]);

	snprintf(b.dir, sizeof(b.dir), "/tmp/berth-bench-intake.XXXXXX");
	if (!mkdtemp(b.dir))
		die("mkdtemp: %s", strerror(errno));
	t = now();
	make_fleet(&b);
	printf("fleet: %u hosts with their own Ed25519 keys, 1 pool (%.2f s)\n", b.nhosts, now() - t);
	t = now();
	make_requests(&b);
	printf("requests: %u signed reports, %.0f bytes of body on average (%.2f s to build)\n",
	       b.ntotal, (double)b.body_bytes / b.ntotal, now() - t);

	start_server(&b, &srv);
	lanes = lanes_new(&b, srv.port, &m);
	if (b.warm) {
		/* First contact: baselines created, usage credited from started_at. */
		run_load(&b, m, lanes, 0, b.warm, &warm);
		print_load("warm-up, not timed: the first report of every host", &b, &warm, b.warm);
	}
	spid = srv.pid > 0 ? srv.pid : getpid();
	skip = srv.pid > 0 ? srv.pid : gettid();	/* the main thread: idle, or the generator */
	maxth = b.conns + 256;
	th0 = xcalloc(maxth, sizeof(*th0));
	th1 = xcalloc(maxth, sizeof(*th1));
	nth0 = threads_cpu(spid, skip, th0, maxth);
	if (srv.pid > 0)
		srv_cpu0 = proc_cpu(srv.pid);
	else
		intake_stats(srv.in, &ist0);
	all_cpu0 = self_cpu();
	timed_ms = clock_now_ms();
	quiet_start(&qt);
	run_load(&b, m, lanes, b.warm, b.ntotal, &ld);
	nth1 = threads_cpu(spid, skip, th1, maxth);
	writer = busiest_delta(th0, nth0, th1, nth1, &writer_name);
	if (srv.pid > 0) {
		srv_cpu1 = proc_cpu(srv.pid);
		srv_cpu = srv_cpu0 >= 0 && srv_cpu1 >= 0 ? srv_cpu1 - srv_cpu0 : -1;
		others = quiet_others(&qt, srv_cpu);
	} else {
		srv_cpu = self_cpu() - all_cpu0 - ld.gen_cpu;
		others = quiet_others(&qt, 0);
		intake_stats(srv.in, &ist);
	}
	lanes_free(&b, m, lanes);
	if (clock_now_ms() - b.t0_ms > 250000)
		printf("warning: the run ended %.0f s after the reports were signed; the intake's "
		       "time window is 300 s\n", (clock_now_ms() - b.t0_ms) / 1000.0);
	stop_server(&srv);
	dbok = check_db(&b, timed_ms, &batches);
	if (b.inproc) {
		printf("intake_stats (timed phase): %" PRIu64 " accepted in %" PRIu64 " transactions; "
		       "%.0f distinct received_ms in history\n", ist.accepted - ist0.accepted,
		       ist.batches - ist0.batches, batches);
		batches = (double)(ist.batches - ist0.batches);
	}
	wall = ld.t_end - ld.t_start;
	rate = ld.ok / wall;

	printf("\nfloor: Ed25519 verifications per second on this machine "
	       "(others: CPU of other processes meanwhile)\n");
	if (b.ossl_seconds) {
		quiet_start(&qt);
		o1 = openssl_speed(b.ossl_seconds, 1);
		printf("  openssl speed ed25519, 1 process                %8.0f/s  others %.2f cores\n",
		       o1, quiet_others(&qt, 0));
		quiet_start(&qt);
		o2 = openssl_speed(b.ossl_seconds, 2);
		printf("  openssl speed -multi 2 ed25519 (sum)            %8.0f/s  others %.2f cores\n",
		       o2, quiet_others(&qt, 0));
	}
	quiet_start(&qt);
	v1 = verify_floor(&b, 1, 0);
	printf("  agent_verify() as the intake calls it, 1 thread %8.0f/s  others %.2f cores\n",
	       v1, quiet_others(&qt, 0));
	quiet_start(&qt);
	v2 = verify_floor(&b, 2, 0);
	printf("  agent_verify(), 2 threads                       %8.0f/s  others %.2f cores\n",
	       v2, quiet_others(&qt, 0));
	quiet_start(&qt);
	e1 = verify_floor(&b, 1, 1);
	printf("  EVP_DigestVerify, context kept, 1 thread        %8.0f/s  others %.2f cores\n",
	       e1, quiet_others(&qt, 0));
	quiet_start(&qt);
	e2 = verify_floor(&b, 2, 1);
	printf("  EVP_DigestVerify, context kept, 2 threads       %8.0f/s  others %.2f cores\n",
	       e2, quiet_others(&qt, 0));

	printf("\n");
	{
		char label[200];

		snprintf(label, sizeof(label), "intake, timed: %u reports from %u hosts over %u %s "
			 "connections, loopback", b.nreq, b.nhosts, b.conns,
			 b.fresh ? "fresh (one per report)" : "keep-alive");
		print_load(label, &b, &ld, b.nreq);
	}
	if (srv_cpu > 0)
		printf("  server CPU          %.2f s (%.2f cores): %.0f reports per server CPU-second, "
		       "%.0f us each\n", srv_cpu, srv_cpu / wall, ld.ok / srv_cpu,
		       srv_cpu / ld.ok * 1e6);
	if (writer > 0)
		printf("  busiest server thread %.2f s, %.0f%% of the wall time (\"%s\"%s)\n", writer,
		       100 * writer / wall, writer_name,
		       strncmp(writer_name, "MHD", 3) ? ": the intake's writer" : "");
	printf("  load generator CPU  %.2f s (%.2f cores)\n", ld.gen_cpu, ld.gen_cpu / wall);
	if (others >= 0)
		printf("  other processes     %.2f cores meanwhile\n", others);
	if (batches > 0)
		printf("  commits             %s%.0f: %.1f reports per transaction on average%s\n",
		       b.inproc ? "" : "~", batches, ld.ok / batches,
		       b.inproc ? " (intake_stats)" :
		       " (distinct received_ms in history: batches in the same ms count once)");

	printf("\nratios (reports/s over verifications/s)\n");
	if (o1 > 0) {
		printf("  / openssl speed, 1 process                    %5.2f\n", rate / o1);
		printf("  / openssl speed -multi 2                      %5.2f\n", rate / o2);
	}
	printf("  / agent_verify(), 2 threads                   %5.2f\n", rate / v2);
	if (srv_cpu > 0)
		printf("  per server CPU-second / agent_verify(), 1 thread %5.2f  (a report costs "
		       "%.0f us beyond its signature's %.0f us)\n", (ld.ok / srv_cpu) / v1,
		       (srv_cpu / ld.ok - 1 / v1) * 1e6, 1e6 / v1);
	all_ok = ld.ok == b.nreq && (!b.warm || warm.ok == b.warm) && dbok == 0;
	printf("\ngoals\n");
	printf("  >= 2000 reports/s on %ld cores (load generator included)  %.0f/s: %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), rate, met(rate >= 2000 && all_ok));
	if (o1 > 0)
		printf("  >= 0.5 x openssl speed 1-process verify/s (%.0f)  %.2f: %s\n", o1, rate / o1,
		       met(rate >= 0.5 * o1 && all_ok));
	printf("  every report accepted and stored: %s\n", met(all_ok));

	if (!b.keep)
		nftw(b.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", b.dir);
	for (unsigned i = 0; i < b.ntotal; i++) {
		free(b.reqs[i].body);
		free(b.reqs[i].sstr);
		curl_slist_free_all(b.reqs[i].hdrs);
	}
	for (unsigned i = 0; i < b.nhosts; i++) {
		EVP_PKEY_free(b.hosts[i].key);
		agent_key_free(b.hosts[i].pubkey);
	}
	free(b.reqs);
	free(b.hosts);
	free(ld.lat);
	if (b.warm)
		free(warm.lat);
	free(th0);
	free(th1);
	curl_global_cleanup();
	return all_ok ? 0 : 1;
}
