/*
 * test-intake.c - the report intake over real HTTP: berth serve's server
 * (http.c + intake.c) on a loopback port, a fleet of manifests in a temp
 * directory with real Ed25519 keys, a real berth.db. One test per reason
 * a report is refused, and the usage arithmetic across restarts, reboots
 * and late deliveries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "agent/keys.h"
#include "agent/report.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "serve/api.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/intake.h"
#include "serve/store.h"
#include "serve/tokens.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define BOOT_A "11111111-2222-4333-8444-555555555555"
#define BOOT_B "99999999-2222-4333-8444-555555555555"

/*
 * What the tests wait for comes within this, or the test fails: generous,
 * since a loaded machine only makes a passing test slower.
 */
#define DEADLINE_MS 20000

static int64_t fake_now;	/* 0: the real clock */
static unsigned conn_limit;	/* 0: the default */
static unsigned timeout_s;	/* 0: 2 s */
static size_t max_buffered;	/* 0: the default */
static int expect_continue;	/* send "Expect: 100-continue", as clients of big bodies do */

static int64_t
now_ms(void)
{
	return fake_now ? fake_now : clock_now_ms();
}

struct fx {
	char dir[256];
	char state[300];
	struct evp_pkey_st *k1, *k2;
	struct manifest_result res;
	struct intake *in;
	struct http_server *hs;
	char url[128];
	CURL *curl;
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
start(struct fx *f)
{
	struct intake_opts io = { .state_dir = f->state, .now_ms = now_ms };
	struct http_opts ho = { .listen = "127.0.0.1:0", .timeout_s = timeout_s ? timeout_s : 2,
				.conn_limit = conn_limit,
				.max_buffered = max_buffered };
	struct ledger *l;
	struct berr err;

	assert_int_equal(ledger_open(f->state, &l, &err), 0);
	ledger_close(l);
	if (intake_open(&io, f->res.fleet, &f->in, &err) < 0)
		fail_msg("%s", err.msg);
	if (http_start(&ho, f->in, &f->hs, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", http_port(f->hs));
}

static void
stop(struct fx *f)
{
	http_stop(f->hs);
	intake_free(f->in);
	f->hs = NULL;
	f->in = NULL;
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char pub1[AGENT_PUBKEY_MAX], pub2[AGENT_PUBKEY_MAX], path[400], *yaml;
	struct source_opts so = { 0 };
	struct diags d = DIAGS_INIT;
	struct berr err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-intake-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(path, sizeof(path), "%s/k1", f->dir);
	assert_int_equal(agent_keygen(path, pub1, &err), 0);
	f->k1 = agent_key_load(path, NULL, &err);
	snprintf(path, sizeof(path), "%s/k2", f->dir);
	assert_int_equal(agent_keygen(path, pub2, &err), 0);
	f->k2 = agent_key_load(path, NULL, &err);
	assert_non_null(f->k1);
	assert_non_null(f->k2);
	snprintf(path, sizeof(path), "%s/fleet", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	yaml = xasprintf(
		"apiVersion: berth/v1\nkind: Host\nmetadata: {name: h1, labels: {site: t}}\n"
		"spec: {endpoint: \"unix:///run/h1.socket\", os: debian-12, storage_pools: [{name: default, driver: dir}],"
		" capacity: {cpu: 4, memory: 8GiB, disk: 100GiB},"
		" agent: {key: \"%s\", interval: 30s}}\n---\n"
		"apiVersion: berth/v1\nkind: Host\nmetadata: {name: h2, labels: {site: t}}\n"
		"spec: {endpoint: \"unix:///run/h2.socket\", os: debian-12, storage_pools: [{name: default, driver: dir}],"
		" capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}, agent: {key: \"%s\", interval: 100s}}\n---\n"
		"apiVersion: berth/v1\nkind: Host\nmetadata: {name: h3, labels: {site: t}}\n"
		"spec: {endpoint: \"unix:///run/h3.socket\", os: debian-12, storage_pools: [{name: default, driver: dir}], capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}}\n---\n"
		"apiVersion: berth/v1\nkind: Pool\nmetadata: {name: p}\n"
		"spec: {hosts: {labels: {site: t}}, storage_pool: default}\n",
		pub1, pub2);
	snprintf(path, sizeof(path), "%s/fleet/fleet.yaml", f->dir);
	write_file(path, yaml);
	free(yaml);
	snprintf(path, sizeof(path), "%s/fleet", f->dir);
	so.repo = path;
	so.worktree = 1;
	assert_int_equal(manifest_load(&so, MANIFEST_CHECK, &f->res, &d, &err), 0);
	if (d.nerrors) {
		char line[1024];

		diag_format(&d.v[0], line, sizeof(line));
		fail_msg("%s", line);
	}
	diags_release(&d);
	/* as the tests set them, and a failed one may have left them */
	fake_now = 0;
	conn_limit = 0;
	timeout_s = 0;
	max_buffered = 0;
	expect_continue = 0;
	start(f);
	f->curl = curl_easy_init();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[400];

	stop(f);
	curl_easy_cleanup(f->curl);
	agent_key_free(f->k1);
	agent_key_free(f->k2);
	manifest_result_release(&f->res);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A report body: one instance c1 with one NIC. */
static char *
body_of(const char *host, const char *boot, uint64_t seq, int64_t time_ms,
	const char *started, uint64_t cpu, uint64_t rx, uint64_t tx, const char *status)
{
	char t[40];

	clock_format(time_ms, 0, t, sizeof(t));
	return xasprintf(
		"{\"schema\":1,\"host\":\"%s\",\"boot_id\":\"%s\",\"seq\":%llu,\"time\":\"%s\","
		"\"agent\":{\"version\":\"t\",\"build\":\"t\"},\"interval\":30,\"dropped\":0,"
		"\"host_stats\":{\"cpu_threads\":4,\"cpu_use\":0.5,\"load\":[1,1,1],"
		"\"memory\":{\"total\":8589934592,\"available\":4294967296},"
		"\"storage_pools\":[{\"name\":\"default\",\"driver\":\"dir\",\"total\":107374182400,"
		"\"used\":1,\"free\":107374182399}],\"network\":[]},"
		"\"instances\":[{\"name\":\"c1\",\"project\":\"default\",\"type\":\"container\","
		"\"status\":\"%s\",\"started_at\":\"%s\",\"plan\":null,\"cpu_ns\":%llu,\"memory\":1,"
		"\"disk\":1,\"network\":[{\"name\":\"eth0\",\"rx_bytes\":%llu,\"tx_bytes\":%llu,"
		"\"rx_packets\":1,\"tx_packets\":1}]}]}",
		host, boot, (unsigned long long)seq, t, status, started, (unsigned long long)cpu,
		(unsigned long long)rx, (unsigned long long)tx);
}

struct sent {
	long status;
	char reason[64];
};

/* Sign body with key as host/boot/seq at time_s and POST it; nonce NULL: fresh. */
static struct sent
post_as(struct fx *f, struct evp_pkey_st *key, const char *host, const char *boot,
	uint64_t seq, int64_t time_s, const char *nonce, const char *body, size_t len,
	const char *signed_body, size_t signed_len)
{
	struct report_envelope e = { 0 };
	unsigned char dig[32], rnd[16];
	struct buf s = BUF_INIT, ans = BUF_INIT;
	struct curl_slist *h = NULL;
	struct sent out = { 0 };
	json_t *j;
	char url[200];

	snprintf(e.host, sizeof(e.host), "%s", host);
	snprintf(e.boot_id, sizeof(e.boot_id), "%s", boot);
	e.seq = seq;
	e.time = time_s;
	if (nonce) {
		snprintf(e.nonce, sizeof(e.nonce), "%s", nonce);
	} else {
		RAND_bytes(rnd, sizeof(rnd));
		for (int i = 0; i < 16; i++)
			snprintf(e.nonce + 2 * i, 3, "%02x", rnd[i]);
	}
	SHA256((const unsigned char *)signed_body, signed_len, dig);
	buf_init(&s, 0);
	report_signed_string(&e, dig, &s);
	assert_int_equal(agent_sign(key, s.buf, s.len, e.sig), 0);
	buf_release(&s);
	for (int i = 0; i < 6; i++) {
		char v[200], line[300];

		report_envelope_header(&e, i, v, sizeof(v));
		snprintf(line, sizeof(line), "%s: %s", report_header_names[i], v);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, expect_continue ? "Expect: 100-continue" : "Expect:");
	buf_init(&ans, 0);
	snprintf(url, sizeof(url), "%s/v1/reports", f->url);
	curl_easy_reset(f->curl);
	/* not curl's 1 s: a slow server would get the body it is about to refuse */
	curl_easy_setopt(f->curl, CURLOPT_EXPECT_100_TIMEOUT_MS, (long)DEADLINE_MS);
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, NULL);
	{
		FILE *mem = fmemopen(NULL, 65536, "w+");

		curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, mem);
		assert_int_equal(curl_easy_perform(f->curl), CURLE_OK);
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &out.status);
		rewind(mem);
		j = json_loadf(mem, 0, NULL);
		fclose(mem);
	}
	curl_slist_free_all(h);
	buf_release(&ans);
	if (json_is_string(json_object_get(j, "reason")))
		snprintf(out.reason, sizeof(out.reason), "%s",
			 json_string_value(json_object_get(j, "reason")));
	else if (out.status == 200)
		snprintf(out.reason, sizeof(out.reason), "ok");
	json_decref(j);
	return out;
}

/* The common case: a good report of h1 signed with its key, sent now. */
static struct sent
post(struct fx *f, const char *host, const char *boot, uint64_t seq, const char *body)
{
	return post_as(f, f->k1, host, boot, seq, now_ms() / 1000, NULL, body, strlen(body),
		       body, strlen(body));
}

static char *
good(uint64_t seq)
{
	return body_of("h1", BOOT_A, seq, now_ms(), "2026-11-22T00:00:00Z", 100, 1000, 2000,
		       "Running");
}

static uint64_t
rejected(struct fx *f, enum intake_reason r)
{
	struct intake_stats st;

	intake_stats(f->in, &st);
	return st.rejected[r];
}

#define EXPECT(s, code, why) do { \
		struct sent s_ = (s); \
		assert_int_equal(s_.status, code); \
		assert_string_equal(s_.reason, why); \
	} while (0)

/* ---- waiting on what the server does ------------------------------------ */

/* Poll cond every 10 ms until it holds; fail naming what did not happen by the deadline. */
#define WAIT_FOR(cond, what) do { \
		int64_t until_ = clock_mono_ms() + DEADLINE_MS; \
		while (!(cond)) { \
			if (clock_mono_ms() > until_) \
				fail_msg("%s: not within %d ms", (what), DEADLINE_MS); \
			clock_sleep_ms(10); \
		} \
	} while (0)

static int
connect_to(struct fx *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)http_port(f->hs)) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* All of s on fd: 0, or -1 when the server closed it (never SIGPIPE). */
static int
send_str(int fd, const char *s)
{
	return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * Wait up to ms for fd: the bytes the server sent (at most n - 1, out
 * NUL-terminated), 0 when it closed the connection (or reset it), -1 when
 * ms passed first.
 */
static ssize_t
read_within(int fd, int ms, char *out, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t got;

	out[0] = '\0';
	if (poll(&p, 1, ms) <= 0)
		return -1;
	got = recv(fd, out, n - 1, 0);
	if (got < 0)
		got = 0;
	out[got] = '\0';
	return got;
}

/* Read from fd until what it sent holds end: 1, or 0 when it closed first. */
static int
read_until(int fd, const char *end, char *out, size_t n)
{
	int64_t until = clock_mono_ms() + DEADLINE_MS;
	size_t len = 0;

	out[0] = '\0';
	while (!strstr(out, end)) {
		int64_t left = until - clock_mono_ms();
		ssize_t got;

		if (left <= 0)
			fail_msg("no complete answer within %d ms, have \"%s\"", DEADLINE_MS, out);
		if (len + 1 >= n)
			fail_msg("an answer longer than %zu bytes: \"%s\"", n, out);
		got = read_within(fd, (int)left, out + len, n - len);
		if (got == 0)
			return 0;
		if (got > 0)
			len += (size_t)got;
	}
	return 1;
}

/*
 * Start a report of len bytes on a new connection (as host h1) and wait
 * for the server's "100 Continue": it has taken the headers and reserved
 * len bytes of its body budget. Returns the connection.
 */
static int
open_report(struct fx *f, size_t len)
{
	int fd = connect_to(f);
	char head[200], ans[256];

	snprintf(head, sizeof(head), "POST /v1/reports HTTP/1.1\r\nHost: x\r\nBerth-Host: h1\r\n"
		 "Content-Length: %zu\r\nExpect: 100-continue\r\n\r\n", len);
	assert_int_equal(send_str(fd, head), 0);
	if (!read_until(fd, "\r\n\r\n", ans, sizeof(ans)))
		fail_msg("the server closed a report's connection after its headers");
	if (strncmp(ans, "HTTP/1.1 100 ", 13))
		fail_msg("want \"HTTP/1.1 100 Continue\" for a report's headers, have \"%s\"", ans);
	return fd;
}

static void
test_accepts(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	struct intake_stats st;

	EXPECT(post(f, "h1", BOOT_A, 1, b), 200, "ok");
	intake_stats(f->in, &st);
	assert_int_equal(st.accepted, 1);
	free(b);
}

static void
test_forged_signature(void **state)
{
	struct fx *f = *state;
	char *b = good(1), *forged = xstrdup(b);

	/* Signed as one body, another sent: a changed byte. */
	forged[strlen(forged) - 3] = '2';
	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000, NULL, forged, strlen(forged),
		       b, strlen(b)), 401, "bad_signature");
	assert_int_equal(rejected(f, INTAKE_BAD_SIGNATURE), 1);
	free(b);
	free(forged);
}

static void
test_other_hosts_key(void **state)
{
	struct fx *f = *state;
	char *b = good(1);

	EXPECT(post_as(f, f->k2, "h1", BOOT_A, 1, now_ms() / 1000, NULL, b, strlen(b), b,
		       strlen(b)), 401, "bad_signature");
	free(b);
}

static void
test_unknown_host_and_no_key(void **state)
{
	struct fx *f = *state;
	char *b = body_of("h9", BOOT_A, 1, now_ms(), "2026-11-22T00:00:00Z", 1, 1, 1, "Running");
	char *b3 = body_of("h3", BOOT_A, 1, now_ms(), "2026-11-22T00:00:00Z", 1, 1, 1, "Running");

	EXPECT(post(f, "h9", BOOT_A, 1, b), 403, "unknown_host");
	EXPECT(post(f, "h3", BOOT_A, 1, b3), 403, "no_key");
	assert_int_equal(rejected(f, INTAKE_UNKNOWN_HOST), 1);
	assert_int_equal(rejected(f, INTAKE_NO_KEY), 1);
	free(b);
	free(b3);
}

static void
test_replayed(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	const char *nonce = "0123456789abcdef0123456789abcdef";

	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000, nonce, b, strlen(b), b,
		       strlen(b)), 200, "ok");
	/* The same request again: its nonce was seen. */
	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000, nonce, b, strlen(b), b,
		       strlen(b)), 409, "replayed");
	/* Re-signed with a fresh nonce: the seq gives it away. */
	EXPECT(post(f, "h1", BOOT_A, 1, b), 409, "stale_seq");
	free(b);
}

static void
test_time_window(void **state)
{
	struct fx *f = *state;
	char *b = good(1);

	/* The time is read just before each request, and the margins leave
	 * room for a slow run (valgrind): the window is 300 s either way. */
	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000 - 301, NULL, b, strlen(b), b,
		       strlen(b)), 400, "time_skew");
	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000 + 320, NULL, b, strlen(b), b,
		       strlen(b)), 400, "time_skew");
	assert_int_equal(rejected(f, INTAKE_TIME_SKEW), 2);
	/* Inside the window either way: fine. */
	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000 - 280, NULL, b, strlen(b), b,
		       strlen(b)), 200, "ok");
	free(b);
}

static void
test_seq_backwards(void **state)
{
	struct fx *f = *state;
	char *b5 = good(5), *b4 = good(4), *b6 = good(6);

	EXPECT(post(f, "h1", BOOT_A, 5, b5), 200, "ok");
	EXPECT(post(f, "h1", BOOT_A, 4, b4), 409, "stale_seq");
	EXPECT(post(f, "h1", BOOT_A, 5, b5), 409, "stale_seq");
	EXPECT(post(f, "h1", BOOT_A, 6, b6), 200, "ok");
	free(b4);
	free(b5);
	free(b6);
}

static void
test_malformed(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	const char *notjson = "this is not json";
	char *trunc = xstrndup(b, strlen(b) / 2);
	char *other = good(2);

	/* Signed as it is, but not JSON, or JSON cut short. */
	EXPECT(post(f, "h1", BOOT_A, 1, notjson), 400, "malformed");
	EXPECT(post(f, "h1", BOOT_A, 1, trunc), 400, "malformed");
	/* A body whose seq is not the signed envelope's. */
	EXPECT(post(f, "h1", BOOT_A, 1, other), 400, "malformed");
	assert_int_equal(rejected(f, INTAKE_MALFORMED), 3);
	/* A body truncated in flight: the signature covers the whole body. */
	EXPECT(post_as(f, f->k1, "h1", BOOT_A, 1, now_ms() / 1000, NULL, b, strlen(b) - 10, b,
		       strlen(b)), 401, "bad_signature");
	free(b);
	free(trunc);
	free(other);
}

static void
test_too_large(void **state)
{
	struct fx *f = *state;
	size_t n = REPORT_MAX_BODY + 1;
	char *big = xmalloc(n + 1);

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	/*
	 * Refused from Content-Length, before the body is read: the client
	 * waits for the answer (100-continue) instead of sending 1 MiB into
	 * a connection the server is closing.
	 */
	expect_continue = 1;
	EXPECT(post(f, "h1", BOOT_A, 1, big), 413, "too_large");
	expect_continue = 0;
	assert_int_equal(rejected(f, INTAKE_TOO_LARGE), 1);
	free(big);
}

/* The connection ends before the body does: counted as truncated. */
static void
test_truncated_connection(void **state)
{
	struct fx *f = *state;
	int fd = open_report(f, 5000);

	assert_int_equal(send_str(fd, "{\"schema\":1,"), 0);
	close(fd);
	WAIT_FOR(rejected(f, INTAKE_TRUNCATED) > 0, "a report cut short counted as truncated");
	assert_int_equal(rejected(f, INTAKE_TRUNCATED), 1);
}

struct rejected_count {
	int64_t entries, count;
};

static int
h1_bad_signature(void *ctx, const struct ledger_rejection *r)
{
	struct rejected_count *c = ctx;

	if (!strcmp(r->host, "h1") && !strcmp(r->reason, "bad_signature")) {
		c->entries = r->entries;
		c->count = r->count;
	}
	return 0;
}

/* Rejections of h1's reports for bad_signature in the ledger: entries, and their count. */
static int64_t
h1_rejections(struct fx *f, int64_t *count)
{
	struct rejected_count c = { 0 };
	struct ledger *l;
	struct berr err;

	assert_int_equal(ledger_open(f->state, &l, &err), 0);
	assert_int_equal(ledger_rejections(l, 0, h1_bad_signature, &c, &err), 0);
	ledger_close(l);
	if (count)
		*count = c.count;
	return c.entries;
}

/* Rejections reach the ledger: at most one entry per host and reason per minute, with a count. */
/* Run sql on the state's ledger database with a connection of its own. */
static void
sql(struct fx *f, const char *stmt)
{
	char path[400];
	sqlite3 *db;
	char *msg = NULL;

	snprintf(path, sizeof(path), "%s/berth.db", f->state);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", stmt, msg);
	sqlite3_close(db);
}

static uint64_t
ledger_errors(struct fx *f)
{
	struct intake_stats st;

	intake_stats(f->in, &st);
	return st.ledger_errors;
}

/*
 * A rejection whose ledger entry cannot be written (an I/O error, made by a
 * trigger) is not lost: its count is kept and written with the next entry.
 */
static void
test_rejection_kept_when_ledger_fails(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	int64_t count0 = 0, count = 0, entries0;

	entries0 = h1_rejections(f, &count0);
	sql(f, "CREATE TRIGGER no_rejects BEFORE INSERT ON ledger WHEN NEW.kind ="
	    " 'report.rejected' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
	for (int i = 0; i < 2; i++)
		EXPECT(post_as(f, f->k2, "h1", BOOT_A, 1, now_ms() / 1000, NULL, b, strlen(b), b,
			       strlen(b)), 401, "bad_signature");
	WAIT_FOR(ledger_errors(f) > 0, "the writer tried the rejection's entry");
	assert_int_equal(h1_rejections(f, NULL), entries0);
	sql(f, "DROP TRIGGER no_rejects;");
	EXPECT(post_as(f, f->k2, "h1", BOOT_A, 1, now_ms() / 1000, NULL, b, strlen(b), b,
		       strlen(b)), 401, "bad_signature");
	stop(f);	/* flushes what is pending */
	assert_true(h1_rejections(f, &count) > entries0);
	assert_int_equal(count - count0, 3);	/* the two of the failed write are there */
	start(f);
	free(b);
}

static void
test_rejections_in_ledger(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	struct ledger *l;
	struct berr err;
	int64_t count = 0;

	EXPECT(post_as(f, f->k2, "h1", BOOT_A, 1, now_ms() / 1000, NULL, b, strlen(b), b,
		       strlen(b)), 401, "bad_signature");
	/* The first is written at once (the others would join it if it were not yet). */
	WAIT_FOR(h1_rejections(f, NULL) == 1, "the first rejection's ledger entry");
	for (int i = 0; i < 4; i++)
		EXPECT(post_as(f, f->k2, "h1", BOOT_A, 1, now_ms() / 1000, NULL, b, strlen(b), b,
			       strlen(b)), 401, "bad_signature");
	stop(f);	/* flushes what is pending */
	/* The other four together, in one more entry. */
	assert_int_equal(h1_rejections(f, &count), 2);
	assert_int_equal(count, 5);
	assert_int_equal(ledger_open(f->state, &l, &err), 0);
	{
		struct ledger_verify_result vr;

		assert_int_equal(ledger_verify(l, NULL, &vr, &err), 0);
		assert_true(vr.ok);
	}
	ledger_close(l);
	start(f);
	free(b);
}

static void
usage_of(struct fx *f, struct usage_total *u)
{
	struct berr err;

	assert_int_equal(store_usage_total(f->state, "h1", "default", "c1", u, &err), 0);
}

/*
 * Usage across a restart of the intake (seq and baselines persisted), a
 * reboot of the host (new boot id: counters reset) and a restart of the
 * instance (new started_at): no negative or doubled traffic.
 */
static void
test_usage_resets(void **state)
{
	struct fx *f = *state;
	struct usage_total u;
	int64_t t0 = (clock_now_ms() / 1000) * 1000;
	char *b;

	fake_now = t0;
	b = body_of("h1", BOOT_A, 1, t0, "2026-11-22T00:00:00Z", 100, 1000, 2000, "Running");
	EXPECT(post(f, "h1", BOOT_A, 1, b), 200, "ok");
	free(b);
	usage_of(f, &u);
	/* First sight: the raw counters are the usage so far. */
	assert_int_equal(u.rx_bytes, 1000);
	assert_int_equal(u.tx_bytes, 2000);
	assert_int_equal(u.cpu_ns, 100);

	/* The intake restarts: seq memory and baselines come back from the database. */
	stop(f);
	start(f);
	fake_now = t0 + 30000;
	b = body_of("h1", BOOT_A, 1, t0 + 30000, "2026-11-22T00:00:00Z", 150, 1500, 2600, "Running");
	EXPECT(post(f, "h1", BOOT_A, 1, b), 409, "stale_seq");
	free(b);
	b = body_of("h1", BOOT_A, 2, t0 + 30000, "2026-11-22T00:00:00Z", 150, 1500, 2600, "Running");
	EXPECT(post(f, "h1", BOOT_A, 2, b), 200, "ok");
	free(b);
	usage_of(f, &u);
	assert_int_equal(u.rx_bytes, 1500);
	assert_int_equal(u.tx_bytes, 2600);
	assert_int_equal(u.cpu_ns, 150);
	/*
	 * Running between the two reports: 30 s. Before the first, since its
	 * start, but at most an hour back: berth did not see the rest.
	 */
	{
		int64_t started, before;

		assert_int_equal(clock_parse_rfc3339("2026-11-22T00:00:00Z", &started), 0);
		before = t0 - started < 3600000 ? t0 - started : 3600000;
		assert_int_equal(u.running_ms, before + 30000);
	}

	/* The host reboots: new boot id, seq may start anywhere above nothing. */
	fake_now = t0 + 60000;
	b = body_of("h1", BOOT_B, 3, t0 + 60000, "2026-11-22T00:00:00Z", 40, 300, 400, "Running");
	EXPECT(post(f, "h1", BOOT_B, 3, b), 200, "ok");
	free(b);
	usage_of(f, &u);
	assert_int_equal(u.rx_bytes, 1800);	/* +300: reset, the new value is the delta */
	assert_int_equal(u.tx_bytes, 3000);
	assert_int_equal(u.cpu_ns, 190);

	/* The instance restarts on the same boot: new started_at, counters from 0. */
	fake_now = t0 + 90000;
	{
		char started[40];

		clock_format(t0 + 80000, 0, started, sizeof(started));
		b = body_of("h1", BOOT_B, 4, t0 + 90000, started, 5, 50, 60, "Running");
	}
	EXPECT(post(f, "h1", BOOT_B, 4, b), 200, "ok");
	free(b);
	usage_of(f, &u);
	assert_int_equal(u.rx_bytes, 1850);
	assert_int_equal(u.tx_bytes, 3060);
	fake_now = 0;
}

/*
 * Reports delivered late, in order (a spool draining after an outage):
 * the same usage as when each arrived on time.
 */
static void
test_late_delivery_same_usage(void **state)
{
	struct fx *f = *state;
	struct usage_total on_time, late;
	int64_t t0 = (clock_now_ms() / 1000) * 1000 - 600000;
	char *bodies[6];

	for (int i = 0; i < 6; i++)
		bodies[i] = body_of("h1", BOOT_A, (uint64_t)i + 1, t0 + i * 30000,
				    "2026-11-22T00:00:00Z", 100 + 10 * (uint64_t)i,
				    1000 + 100 * (uint64_t)i, 2000 + 7 * (uint64_t)i, "Running");
	/* On time: each sent at its own time. */
	for (int i = 0; i < 6; i++) {
		fake_now = t0 + i * 30000 + 500;
		EXPECT(post(f, "h1", BOOT_A, (uint64_t)i + 1, bodies[i]), 200, "ok");
	}
	usage_of(f, &on_time);
	fake_now = 0;
	/* Late: a second intake with its own state gets them all 10 minutes later. */
	stop(f);
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->state);
		assert_int_equal(system(cmd), 0);
	}
	start(f);
	for (int i = 0; i < 6; i++)
		EXPECT(post(f, "h1", BOOT_A, (uint64_t)i + 1, bodies[i]), 200, "ok");
	/* And a duplicate of the last, re-signed: not counted again. */
	EXPECT(post(f, "h1", BOOT_A, 6, bodies[5]), 409, "stale_seq");
	usage_of(f, &late);
	assert_int_equal(late.rx_bytes, on_time.rx_bytes);
	assert_int_equal(late.tx_bytes, on_time.tx_bytes);
	assert_int_equal(late.cpu_ns, on_time.cpu_ns);
	assert_int_equal(late.running_ms, on_time.running_ms);
	assert_int_equal(late.rx_bytes, 1500);
	for (int i = 0; i < 6; i++)
		free(bodies[i]);
}

/*
 * A report of host collected at collected_ms and sent at fake_now (the
 * intake's clock), signed with key: want the answer code and reason.
 */
static void
send_collected(struct fx *f, struct evp_pkey_st *key, const char *host, const char *boot,
	       uint64_t seq, int64_t collected_ms, long code, const char *why)
{
	char started[40], *b;

	clock_format(collected_ms - 3600000, 0, started, sizeof(started));
	b = body_of(host, boot, seq, collected_ms, started, 100, 1000, 2000, "Running");
	EXPECT(post_as(f, key, host, boot, seq, fake_now / 1000, NULL, b, strlen(b), b, strlen(b)),
	       code, why);
	free(b);
}

/* Fail unless the agent_online of host is want (n pairs [from, to)). */
static void
expect_online(struct fx *f, const char *host, const int64_t *want, size_t n)
{
	struct online_span *v;
	size_t got;
	struct berr err;

	if (store_online(f->state, host, INT64_MIN, INT64_MAX, &v, &got, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < got || i < n; i++)
		if (i >= got || i >= n || v[i].from_ms != want[2 * i] || v[i].to_ms != want[2 * i + 1])
			fail_msg("%s: online interval %zu: want [%lld, %lld), have [%lld, %lld)", host, i,
				 i < n ? (long long)want[2 * i] : -1LL,
				 i < n ? (long long)want[2 * i + 1] : -1LL,
				 i < got ? (long long)v[i].from_ms : -1LL,
				 i < got ? (long long)v[i].to_ms : -1LL);
	free(v);
}

/*
 * When the agents were online: each accepted report covers [collected,
 * collected + window), window from the Host manifest (h1: 30 s -> 120 s,
 * h2: 100 s -> 300 s), whenever it arrived; refused reports add nothing.
 */
static void
test_agent_online(void **state)
{
	struct fx *f = *state;
	int64_t t0 = (clock_now_ms() / 1000) * 1000 - 3600000;

	/* On time, then three from the spool delivered 10 minutes later. */
	fake_now = t0;
	send_collected(f, f->k1, "h1", BOOT_A, 1, t0, 200, "ok");
	fake_now = t0 + 600000;
	for (int i = 1; i <= 3; i++)
		send_collected(f, f->k1, "h1", BOOT_A, 1 + (uint64_t)i, t0 + i * 30000, 200, "ok");
	expect_online(f, "h1", (const int64_t[]){ t0, t0 + 90000 + 120000 }, 1);
	/* On time again after a gap: a second interval. */
	send_collected(f, f->k1, "h1", BOOT_A, 5, t0 + 600000, 200, "ok");
	expect_online(f, "h1", (const int64_t[]){ t0, t0 + 210000, t0 + 600000, t0 + 720000 }, 2);
	/* The spool of another boot, collected in the gap, arrives last: it fills it. */
	for (int i = 0; i < 4; i++)
		send_collected(f, f->k1, "h1", BOOT_B, 1 + (uint64_t)i, t0 + 200000 + i * 100000,
			       200, "ok");
	expect_online(f, "h1", (const int64_t[]){ t0, t0 + 720000 }, 1);
	/* Refused (a stale seq, another host's key): nothing. */
	send_collected(f, f->k1, "h1", BOOT_B, 1, t0 + 650000, 409, "stale_seq");
	send_collected(f, f->k2, "h1", BOOT_B, 9, t0 + 650000, 401, "bad_signature");
	/* Late, inside what is known: nothing changes. */
	send_collected(f, f->k1, "h1", BOOT_B, 5, t0 + 100000, 200, "ok");
	expect_online(f, "h1", (const int64_t[]){ t0, t0 + 720000 }, 1);
	/* h2's window is 3 x its interval. */
	send_collected(f, f->k2, "h2", BOOT_A, 1, t0 + 500000, 200, "ok");
	expect_online(f, "h2", (const int64_t[]){ t0 + 500000, t0 + 800000 }, 1);
	/* Kept across a restart. */
	stop(f);
	start(f);
	send_collected(f, f->k2, "h2", BOOT_A, 2, t0 + 800000, 200, "ok");
	expect_online(f, "h2", (const int64_t[]){ t0 + 500000, t0 + 1100000 }, 1);
	expect_online(f, "h1", (const int64_t[]){ t0, t0 + 720000 }, 1);
	fake_now = 0;
}

/* Fail unless ms (when fd was cut off) lies in [lo, hi). */
static void
assert_cut(const char *what, int64_t ms, int64_t lo, int64_t hi)
{
	if (ms < lo || ms >= hi)
		fail_msg("%s: cut off after %lld ms, want between %lld and %lld ms", what,
			 (long long)ms, (long long)lo, (long long)hi);
}

/*
 * A client that sends half a request and waits: closed after the timeout
 * (2 s; from before the connection was opened, so never sooner), well
 * before the default timeout (30 s) would.
 */
static void
test_slow_client(void **state)
{
	struct fx *f = *state;
	int64_t t0 = clock_mono_ms();
	int fd = connect_to(f);
	char ans[256];

	assert_int_equal(send_str(fd, "POST /v1/reports HTTP/1.1\r\nHost: x\r\n"), 0);
	if (read_within(fd, 15000, ans, sizeof(ans)) != 0)
		fail_msg("half a request: not closed within 15 s (have \"%s\")", ans);
	assert_cut("half a request", clock_mono_ms() - t0, 1900, 15000);
	close(fd);
}

/*
 * Send c every 200 ms, well within the idle timeout (2 s), until the
 * server closes fd: the milliseconds from t0 until it did. Fails after 20
 * s, or when the test itself stalled between two bytes long enough (1.5 s)
 * that the idle timeout might have fired instead of what is tested.
 */
static int64_t
dribble(int fd, char c, int64_t t0)
{
	int64_t last = clock_mono_ms();
	char ans[256];

	for (;;) {
		ssize_t got = read_within(fd, 200, ans, sizeof(ans));
		int64_t now = clock_mono_ms();

		if (got == 0)
			return now - t0;
		if (now - last > 1500)
			fail_msg("%lld ms between two bytes: too slow to tell a deadline from the "
				 "idle timeout", (long long)(now - last));
		if (now - t0 > 20000)
			fail_msg("a byte every 200 ms: still open after 20 s");
		if (got < 0 && send(fd, &c, 1, MSG_NOSIGNAL) != 1)
			return clock_mono_ms() - t0;
		last = now;
	}
}

/*
 * Headers sent a byte at a time, each within the idle timeout (which
 * restarts with every byte): cut off once the connection has waited for a
 * request's headers longer than the timeout (2 s).
 */
static void
test_slow_headers(void **state)
{
	struct fx *f = *state;
	const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	int64_t t0 = clock_mono_ms(), last;
	int fd = connect_to(f);
	char ans[512];

	assert_int_equal(send_str(fd, "POST /v1/reports HTTP/1.1\r\nHost: x\r\nX-Slow: "), 0);
	assert_cut("headers a byte at a time", dribble(fd, 'x', t0), 1900, 10000);
	close(fd);

	/*
	 * A keep-alive connection sending a request every 500 ms, for three
	 * times the timeout, is never cut; once it stops sending whole
	 * requests, it is held to the deadline too.
	 */
	t0 = clock_mono_ms();
	fd = connect_to(f);
	last = t0;
	while (clock_mono_ms() - t0 < 6000) {
		if (clock_mono_ms() - last > 1500)
			fail_msg("%lld ms between two requests: too slow to show that a connection "
				 "sending requests in time is kept", (long long)(clock_mono_ms() - last));
		assert_int_equal(send_str(fd, get), 0);
		if (!read_until(fd, "\r\n\r\nok\n", ans, sizeof(ans)))
			fail_msg("a connection sending a request every 500 ms: cut off after %lld ms",
				 (long long)(clock_mono_ms() - t0));
		assert_non_null(strstr(ans, "HTTP/1.1 200 "));
		last = clock_mono_ms();
		clock_sleep_ms(500);
	}
	/* from the end of the last request: the server's clock started a little earlier */
	assert_cut("a request a byte at a time after others", dribble(fd, 'G', last), 1000, 10000);
	close(fd);
}

/* A body sent a byte at a time, each within the idle timeout: cut off at the deadline (2 s). */
static void
test_slow_body(void **state)
{
	struct fx *f = *state;
	int fd = connect_to(f);
	int64_t t0 = clock_mono_ms();

	assert_int_equal(send_str(fd, "POST /v1/reports HTTP/1.1\r\nHost: x\r\n"
				  "Content-Length: 100\r\n\r\n"), 0);
	assert_cut("a body a byte at a time", dribble(fd, 'x', t0), 1900, 10000);
	close(fd);
}

/* A report without Content-Length: refused before any body is read. */
static void
test_no_content_length(void **state)
{
	struct fx *f = *state;
	int fd = connect_to(f);
	char ans[512];

	assert_int_equal(send_str(fd, "POST /v1/reports HTTP/1.1\r\nHost: x\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"), 0);
	assert_int_equal(read_until(fd, "\r\n\r\n", ans, sizeof(ans)), 1);
	assert_non_null(strstr(ans, "HTTP/1.1 411"));
	close(fd);
	assert_int_equal(rejected(f, INTAKE_MALFORMED), 1);
}

/*
 * At most a quarter of the connection limit per client address: of three
 * connections one is refused (closed at once), the other two are served.
 * The timeout is long here, so that no connection is closed for idling.
 */
static void
test_connection_limit(void **state)
{
	struct fx *f = *state;
	int64_t until;
	int fds[3], refused = -1;
	char ans[512];

	stop(f);
	conn_limit = 8;		/* 2 per client */
	timeout_s = 300;
	start(f);
	for (int i = 0; i < 3; i++)
		fds[i] = connect_to(f);
	/* The pool's threads race to accept: which one is refused may vary, not how many. */
	until = clock_mono_ms() + DEADLINE_MS;
	while (refused < 0) {
		struct pollfd p[3];

		if (clock_mono_ms() > until)
			fail_msg("3 connections from one address, at most 2 allowed: none refused "
				 "within %d ms", DEADLINE_MS);
		for (int i = 0; i < 3; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(p, 3, 100) <= 0)
			continue;
		for (int i = 0; i < 3 && refused < 0; i++)
			if (p[i].revents && read_within(fds[i], 0, ans, sizeof(ans)) == 0)
				refused = i;
	}
	for (int i = 0; i < 3; i++) {
		if (i == refused)
			continue;
		if (send_str(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") < 0 ||
		    !read_until(fds[i], "\r\n\r\nok\n", ans, sizeof(ans)))
			fail_msg("connection %d of 3 was refused too (connection %d was)", i, refused);
		assert_non_null(strstr(ans, "HTTP/1.1 200 "));
	}
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	stop(f);
	conn_limit = 0;
	timeout_s = 0;
	start(f);
}

/*
 * Bodies held at once are bounded: while one client holds 600 bytes of
 * budget (the server answered its headers "100 Continue", the body has not
 * come), a report that would pass the bound is turned away unread with 503
 * busy; once that client is gone it goes in. The timeout is long here, so
 * that the server does not close the first client for idling.
 */
static void
test_body_budget(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	struct intake_stats st;
	struct sent s;
	int64_t until;
	int fd;

	stop(f);
	max_buffered = strlen(b) + 500;
	timeout_s = 300;
	start(f);
	fd = open_report(f, 600);
	EXPECT(post(f, "h1", BOOT_A, 1, b), 503, "busy");
	intake_stats(f->in, &st);
	assert_int_equal(st.busy, 1);
	assert_int_equal(st.accepted, 0);
	close(fd);
	/*
	 * The server sees the client go (a truncated report), then gives its
	 * 600 bytes back: until then the report is still turned away.
	 */
	WAIT_FOR(rejected(f, INTAKE_TRUNCATED) > 0, "the first client's report counted as truncated");
	until = clock_mono_ms() + DEADLINE_MS;
	while ((s = post(f, "h1", BOOT_A, 1, b)).status == 503 && !strcmp(s.reason, "busy")) {
		if (clock_mono_ms() > until)
			fail_msg("the first client's budget was not given back within %d ms",
				 DEADLINE_MS);
		clock_sleep_ms(10);
	}
	EXPECT(s, 200, "ok");
	/* each report gives its share back: many in a row all go in */
	for (uint64_t seq = 2; seq < 12; seq++) {
		char *n = good(seq);

		EXPECT(post(f, "h1", BOOT_A, seq, n), 200, "ok");
		free(n);
	}
	stop(f);
	max_buffered = 0;
	timeout_s = 0;
	start(f);
	free(b);
}

static void
test_metrics_and_status(void **state)
{
	struct fx *f = *state;
	char *b = good(1);
	struct buf m = BUF_INIT;
	struct status *s;
	const struct status_host *h;

	EXPECT(post(f, "h1", BOOT_A, 1, b), 200, "ok");
	buf_init(&m, 0);
	metrics_render(f->in, clock_now_ms(), &m);
	assert_non_null(strstr(m.buf, "berth_host_up{host=\"h1\"} 1\n"));
	assert_non_null(strstr(m.buf, "berth_host_up{host=\"h2\"} 0\n"));
	assert_non_null(strstr(m.buf, "berth_reports_accepted_total 1\n"));
	assert_non_null(strstr(m.buf, "berth_reports_rejected_total{reason=\"replayed\"} 0\n"));
	assert_non_null(strstr(m.buf, "berth_storage_pool_available{host=\"h1\",pool=\"default\"} 1\n"));
	assert_non_null(strstr(m.buf, "berth_storage_pool_free_bytes{host=\"h1\",pool=\"default\"} "
			       "107374182399\n"));
	assert_null(strstr(m.buf, "berth_storage_pool_available{host=\"h2\""));
	buf_release(&m);
	/* A restarted intake still knows the latest report of each host. */
	stop(f);
	start(f);
	s = intake_status(f->in, clock_now_ms());
	h = status_host(s, "h1");
	assert_non_null(h);
	assert_int_equal(h->health, HEALTH_ONLINE);
	intake_status_release(f->in, s);
	/* Silent past the window (max(3 x 30 s, 120 s)): offline. */
	s = intake_status(f->in, clock_now_ms() + 121000);
	h = status_host(s, "h1");
	assert_non_null(h);
	assert_int_equal(h->health, HEALTH_OFFLINE);
	intake_status_release(f->in, s);
	buf_init(&m, 0);
	metrics_render(f->in, clock_now_ms() + 121000, &m);
	assert_non_null(strstr(m.buf, "berth_host_up{host=\"h1\"} 0\n"));
	buf_release(&m);
	free(b);
}

/* /metrics reads the ledger: its last seq, and the last reconcile run (not apply's). */
static void
test_metrics_ledger_facts(void **state)
{
	struct fx *f = *state;
	struct ledger_entry rec = { .kind = "run.end", .action = "reconcile", .result = "ok" };
	struct ledger_entry app = { .kind = "run.end", .action = "apply", .result = "ok" };
	struct buf m = BUF_INIT;
	struct ledger *l;
	struct berr err;
	char want[128];
	int64_t end_ms;

	rec.after = json_pack("{s:i, s:i, s:i, s:i}", "changes", 3, "failed", 1, "stale", 0,
			      "not_attempted", 0);
	app.after = json_pack("{s:i, s:i, s:i, s:i}", "changes", 9, "failed", 0, "stale", 0,
			      "not_attempted", 0);
	stop(f);
	assert_int_equal(ledger_open(f->state, &l, &err), 0);
	assert_int_equal(ledger_append(l, &rec, &err), 0);
	assert_int_equal(ledger_append(l, &app, &err), 0);
	ledger_close(l);
	json_decref((json_t *)rec.after);
	json_decref((json_t *)app.after);
	assert_int_equal(clock_parse_rfc3339(rec.time, &end_ms), 0);
	start(f);
	buf_init(&m, 0);
	metrics_render(f->in, clock_now_ms(), &m);
	snprintf(want, sizeof(want), "berth_ledger_entries %lld\n", (long long)app.seq);
	assert_non_null(strstr(m.buf, want));
	snprintf(want, sizeof(want), "berth_last_reconcile_timestamp_seconds %.3f\n",
		 (double)end_ms / 1000.0);
	assert_non_null(strstr(m.buf, want));
	assert_non_null(strstr(m.buf, "berth_last_reconcile_changes 3\n"));
	buf_release(&m);
}

/*
 * GET (or POST an empty body to) url with the request headers h (or
 * none): the status, the body in *out; the WWW-Authenticate header's
 * value into www (when not NULL; "" when none).
 */
static long
fetch_h(struct fx *f, const char *url, int post_empty, struct curl_slist *h, struct buf *out,
	char *www, size_t wwwlen)
{
	FILE *mem = fmemopen(NULL, 1 << 20, "w+"), *hdr = fmemopen(NULL, 65536, "w+");
	long status = 0;
	char chunk[4096], line[1024];
	size_t n;

	assert_non_null(mem);
	assert_non_null(hdr);
	curl_easy_reset(f->curl);
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	if (post_empty)
		curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, "");
	if (h)
		curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, mem);
	curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, hdr);
	assert_int_equal(curl_easy_perform(f->curl), CURLE_OK);
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
	rewind(mem);
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), mem)) > 0)
		buf_add(out, chunk, n);
	fclose(mem);
	if (www) {
		www[0] = '\0';
		rewind(hdr);
		while (fgets(line, sizeof(line), hdr))
			if (!strncasecmp(line, "WWW-Authenticate: ", 18)) {
				line[strcspn(line, "\r\n")] = '\0';
				snprintf(www, wwwlen, "%.250s", line + 18);
			}
	}
	fclose(hdr);
	return status;
}

/* GET (or POST an empty body to) url: the status, the body in *out. */
static long
fetch_url(struct fx *f, const char *url, int post_empty, struct buf *out)
{
	return fetch_h(f, url, post_empty, NULL, out, NULL, 0);
}

/* GET base + path with "Authorization: Bearer token" (token NULL: no header). */
static long
fetch_as(struct fx *f, const char *base, const char *path, const char *token, struct buf *out)
{
	struct curl_slist *h = NULL;
	char url[512], line[256];
	long status;

	snprintf(url, sizeof(url), "%s%s", base, path);
	if (token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	status = fetch_h(f, url, 0, h, out, NULL, 0);
	curl_slist_free_all(h);
	return status;
}

/*
 * A token of role (provider when not NULL) made on f's state directory,
 * into tok; recorded through the intake's ledger (another ledger_open() in
 * this process would drop SQLite's locks of the intake's connections).
 */
static void
make_token(struct fx *f, const char *provider, char tok[TOKEN_LEN + 1], struct token_info *t)
{
	struct berr err;

	if (token_create(intake_ledger(f->in), f->state, provider ? TOKEN_PROVIDER : TOKEN_ADMIN,
			 provider, provider ? provider : "ops", tok, t, &err) < 0)
		fail_msg("%s", err.msg);
}

/* The admin listener of f's intake, on a port of its own, into *admin and base. */
static struct api *
start_admin(struct fx *f, struct http_server **admin, char base[64])
{
	struct http_opts ao = { .listen = "127.0.0.1:0", .timeout_s = 2, .serves = HTTP_READS };
	struct api *api;
	struct berr err;

	if (api_open(f->state, f->in, &api, &err) < 0)
		fail_msg("%s", err.msg);
	ao.api = api;
	if (http_start(&ao, f->in, admin, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(base, 64, "http://127.0.0.1:%u", http_port(*admin));
	return api;
}

/*
 * The agents' listener takes reports only, the admin listener answers
 * monitoring to a token; each answers 404 for the other's paths, both
 * /healthz.
 */
static void
test_split_listeners(void **state)
{
	struct fx *f = *state;
	struct http_opts ao = { .listen = "127.0.0.1:0", .timeout_s = 2, .serves = HTTP_READS };
	struct http_server *admin = NULL;
	struct api *api;
	struct token_info t;
	struct buf b = BUF_INIT;
	struct berr err;
	char mon[64], tok[TOKEN_LEN + 1];
	char *body = good(1);

	make_token(f, NULL, tok, &t);
	api = start_admin(f, &admin, mon);
	buf_init(&b, 0);

	/* f->hs is started as berth serve starts --listen: with the default serves */
	EXPECT(post(f, "h1", BOOT_A, 1, body), 200, "ok");
	assert_int_equal(fetch_as(f, f->url, "/metrics", tok, &b), 404);
	assert_int_equal(fetch_as(f, f->url, "/v1/status", tok, &b), 404);
	assert_int_equal(fetch_as(f, f->url, "/v1/whoami", tok, &b), 404);
	assert_int_equal(fetch_as(f, f->url, "/v1/status", NULL, &b), 404);
	assert_int_equal(fetch_as(f, f->url, "/healthz", NULL, &b), 200);

	assert_int_equal(fetch_as(f, mon, "/metrics", tok, &b), 200);
	assert_non_null(strstr(b.buf, "berth_reports_accepted_total 1\n"));
	assert_non_null(strstr(b.buf, "berth_host_up{host=\"h1\"} 1\n"));
	assert_int_equal(fetch_as(f, mon, "/v1/status", tok, &b), 200);
	assert_non_null(strstr(b.buf, "\"format_version\""));
	assert_int_equal(fetch_as(f, mon, "/healthz", NULL, &b), 200);
	{
		char url[128];

		snprintf(url, sizeof(url), "%s/v1/reports", mon);
		assert_int_equal(fetch_url(f, url, 1, &b), 404);
	}

	http_stop(admin);
	admin = NULL;
	api_free(api);

	/* a bad address is named by its own option */
	ao.listen = "localhost:80";
	ao.option = "--admin-listen";
	ao.api = (struct api *)1;	/* not reached */
	assert_int_equal(http_start(&ao, f->in, &admin, &err), -1);
	assert_string_equal(err.msg, "--admin-listen: want ADDRESS:PORT like 127.0.0.1:8080 or"
			    " [::1]:8080 (an IP address, not a name), have \"localhost:80\"");
	assert_null(admin);
	/* and reads without the API's tokens are refused, not served to anyone */
	ao.listen = "127.0.0.1:0";
	ao.api = NULL;
	assert_int_equal(http_start(&ao, f->in, &admin, &err), -1);
	assert_null(admin);
	buf_release(&b);
	free(body);
}

/* GET url with the raw header lines given (NULL-terminated): the status, the WWW-Authenticate. */
static long
fetch_headers(struct fx *f, const char *url, struct buf *out, char *www, size_t wwwlen, ...)
{
	struct curl_slist *h = NULL;
	const char *line;
	va_list ap;
	long status;

	va_start(ap, wwwlen);
	while ((line = va_arg(ap, const char *)))
		h = curl_slist_append(h, line);
	va_end(ap);
	status = fetch_h(f, url, 0, h, out, www, wwwlen);
	curl_slist_free_all(h);
	return status;
}

/*
 * The admin listener's tokens: none, another scheme, one berth never
 * made, one whose secret is not the stored one, a token in the URL, two
 * headers, a revoked one (revoked while the server runs: the next request
 * is refused), one made while it runs (the next request is served).
 */
static void
test_admin_tokens(void **state)
{
	struct fx *f = *state;
	struct http_server *admin = NULL;
	struct api *api;
	struct token_info t, t2;
	struct buf b = BUF_INIT;
	struct berr err;
	char mon[64], tok[TOKEN_LEN + 1], tok2[TOKEN_LEN + 1], forged[TOKEN_LEN + 1];
	char url[512], auth[256], www[256];
	json_t *j;

	make_token(f, NULL, tok, &t);
	api = start_admin(f, &admin, mon);
	buf_init(&b, 0);
	snprintf(url, sizeof(url), "%s/v1/status", mon);

	/* no token */
	assert_int_equal(fetch_headers(f, url, &b, www, sizeof(www), NULL), 401);
	assert_string_equal(www, "Bearer realm=\"berth\"");
	assert_non_null(strstr(b.buf, "no token: send the header"));
	/* another scheme */
	assert_int_equal(fetch_headers(f, url, &b, www, sizeof(www), "Authorization: Basic "
				       "dXNlcjpwYXNz", NULL), 401);
	assert_non_null(strstr(www, "error=\"invalid_request\""));
	/* a token berth never made */
	assert_int_equal(fetch_as(f, mon, "/v1/status",
				  "berth_0123456789abcdef_0123456789abcdef0123456789abcdef"
				  "0123456789abcdef0123456789abcdef", &b), 401);
	assert_string_equal(b.buf, "{\"error\":\"unknown token\"}");
	/* a known id with another secret: unknown too, never "revoked" */
	snprintf(forged, sizeof(forged), "%s", tok);
	forged[TOKEN_LEN - 1] = forged[TOKEN_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(fetch_as(f, mon, "/v1/status", forged, &b), 401);
	assert_string_equal(b.buf, "{\"error\":\"unknown token\"}");
	/* garbage after the token */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s x", tok);
	assert_int_equal(fetch_headers(f, url, &b, www, sizeof(www), auth, NULL), 401);
	/* the good one, in any case of "Bearer" */
	snprintf(auth, sizeof(auth), "Authorization: bEaReR   %s", tok);
	assert_int_equal(fetch_headers(f, url, &b, www, sizeof(www), auth, NULL), 200);
	assert_string_equal(www, "");

	/* a token in the URL is refused, header or not */
	snprintf(url, sizeof(url), "%s/v1/status?access_token=%s", mon, tok);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	assert_int_equal(fetch_headers(f, url, &b, NULL, 0, auth, NULL), 400);
	assert_non_null(strstr(b.buf, "a token in the URL is refused"));
	assert_int_equal(fetch_headers(f, url, &b, NULL, 0, NULL), 400);
	snprintf(url, sizeof(url), "%s/v1/status?x=%s", mon, tok);
	assert_int_equal(fetch_headers(f, url, &b, NULL, 0, NULL), 400);
	snprintf(url, sizeof(url), "%s/v1/ledger?limit=1&TOKEN=x", mon);
	assert_int_equal(fetch_headers(f, url, &b, NULL, 0, auth, NULL), 400);
	/* two headers */
	snprintf(url, sizeof(url), "%s/v1/status", mon);
	assert_int_equal(fetch_headers(f, url, &b, NULL, 0, auth, auth, NULL), 400);

	/* made while the server runs: served at once */
	make_token(f, "acme", tok2, &t2);
	assert_int_equal(fetch_as(f, mon, "/v1/whoami", tok2, &b), 200);
	j = json_loads(b.buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "role")), "provider");
	assert_string_equal(json_string_value(json_object_get(j, "provider")), "acme");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "acme");
	assert_string_equal(json_string_value(json_object_get(j, "id")), t2.id);
	json_decref(j);
	/* a provider's token: nothing of the platform's hosts, no admin paths */
	assert_int_equal(fetch_as(f, mon, "/v1/status", tok2, &b), 200);
	assert_null(strstr(b.buf, "\"h1\""));
	assert_non_null(strstr(b.buf, "\"hosts\":[]"));
	assert_int_equal(fetch_as(f, mon, "/v1/hosts/h1", tok2, &b), 404);
	assert_int_equal(fetch_as(f, mon, "/v1/hosts/nope", tok2, &b), 404);
	assert_string_equal(b.buf, "{\"error\":\"no host of that name that this token may see\"}");
	{
		struct buf other = BUF_INIT;

		/* another's host is answered as an unknown one, word for word */
		buf_init(&other, 0);
		assert_int_equal(fetch_as(f, mon, "/v1/hosts/h1", tok2, &other), 404);
		assert_string_equal(other.buf, b.buf);
		buf_release(&other);
	}
	assert_int_equal(fetch_as(f, mon, "/v1/hosts/h1", tok, &b), 200);
	assert_int_equal(fetch_as(f, mon, "/metrics", tok2, &b), 403);
	assert_int_equal(fetch_as(f, mon, "/v1/runs", tok2, &b), 403);
	assert_int_equal(fetch_as(f, mon, "/v1/ledger", tok2, &b), 403);
	assert_int_equal(fetch_as(f, mon, "/v1/ledger", tok, &b), 200);
	assert_int_equal(fetch_as(f, mon, "/v1/nope", tok, &b), 404);
	{
		struct curl_slist *h = NULL;

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok2);
		h = curl_slist_append(h, auth);
		snprintf(url, sizeof(url), "%s/v1/place", mon);
		assert_int_equal(fetch_h(f, url, 1, h, &b, NULL, 0), 403);
		curl_slist_free_all(h);
	}

	/* revoked while the server runs: refused from the next request on */
	assert_int_equal(token_revoke(intake_ledger(f->in), f->state, t.id, &t, &err), 0);
	assert_int_equal(fetch_as(f, mon, "/v1/status", tok, &b), 401);
	snprintf(auth, sizeof(auth), "{\"error\":\"token %s was revoked\"}", t.id);
	assert_string_equal(b.buf, auth);
	assert_int_equal(fetch_as(f, mon, "/v1/whoami", tok2, &b), 200);

	http_stop(admin);
	api_free(api);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_hosts_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_host_and_no_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_backwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejections_in_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejection_kept_when_ledger_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usage_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_delivery_same_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_online, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_ledger_facts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_listeners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
