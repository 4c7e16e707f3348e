/*
 * fuzz-report.c - libFuzzer target for what the intake takes from an
 * agent: the envelope headers, the signed string and the report body.
 *
 * Input: six lines, the header values in report.h's order (Berth-Host,
 * -Boot-Id, -Seq, -Time, -Nonce, -Signature; a header is missing when the
 * input has fewer lines), then the body: every byte after the sixth '\n'.
 *
 * The envelope is parsed; when it parses, its headers must give it back
 * byte for byte, the signed string over the body's SHA-256 must be
 * well-formed (seven lines), and the signature must verify under the
 * fuzzer's fixed key exactly when it is that key's signature (Ed25519 is
 * deterministic, so seeds signed with it stay valid). The body is always
 * parsed; a parsed report must keep every promise of report.h (limits,
 * no control characters, no duplicates), parse again the same from its
 * own JSON, and give sane usage deltas. Everything is released, so leaks
 * show up under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "agent/keys.h"
#include "agent/report.h"
#include "serve/nonces.h"
#include "serve/usage.h"
#include "util/buf.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The fuzzer's key: the Ed25519 seed 0x01, 0x02, ..., 0x20. Its public
 * key is "ed25519:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="; the
 * signed seeds (corpus/fuzz-report/signed-*) carry its signature of the
 * signed string report.h describes, so a new one is made with any Ed25519
 * signer given that seed (Python: Ed25519PrivateKey.from_private_bytes(
 * bytes(range(1, 33))).sign(signed_string)).
 */
static EVP_PKEY *
fuzz_key(void)
{
	static EVP_PKEY *k;
	unsigned char seed[32];

	if (!k) {
		for (int i = 0; i < 32; i++)
			seed[i] = (unsigned char)(i + 1);
		k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
		if (!k)
			abort();
	}
	return k;
}

static void
check_str(const char *s, int nullable)
{
	size_t n;

	if (!s) {
		if (!nullable)
			abort();
		return;
	}
	n = strlen(s);
	if (n == 0 || n > REPORT_MAX_NAME)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void
check_nics(const struct report_nic *v, size_t n)
{
	if (n > REPORT_MAX_NICS || !v)
		abort();
	for (size_t i = 0; i < n; i++) {
		check_str(v[i].name, 0);
		if (v[i].rx_bytes > INT64_MAX || v[i].tx_bytes > INT64_MAX ||
		    v[i].rx_packets > INT64_MAX || v[i].tx_packets > INT64_MAX)
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v[i].name, v[j].name))
				abort();
	}
}

static int
count_ms(void *ctx, int64_t hour_ms, int64_t ms)
{
	int64_t *total = ctx;

	if (ms <= 0 || ms > 3600000 || hour_ms % 3600000 != 0)
		abort();
	*total += ms;
	return 0;
}

/* What the intake does with a report's instances: sane deltas. */
static void
check_usage(const struct report *r, const struct report_instance *in)
{
	struct usage_prev prev, none;
	struct usage_delta d;

	memset(&none, 0, sizeof(none));
	usage_instance_delta(&none, r->boot_id, r->time_ms, in, &d);
	if (!d.reset || d.cpu_ns != in->cpu_ns || d.run_from_ms > d.run_to_ms ||
	    d.run_to_ms != r->time_ms)
		abort();
	if (d.run_to_ms - d.run_from_ms <= 1000LL * 3600000) {
		int64_t total = 0;

		usage_split_hours(d.run_from_ms, d.run_to_ms, count_ms, &total);
		if (total != d.run_to_ms - d.run_from_ms)
			abort();
	}
	/* the same instance again at the same time adds nothing */
	memset(&prev, 0, sizeof(prev));
	prev.known = 1;
	memcpy(prev.boot_id, r->boot_id, 37);
	prev.started_ms = in->started_ms;
	prev.time_ms = r->time_ms;
	prev.running = usage_is_running(in->status);
	prev.cpu_ns = in->cpu_ns;
	usage_instance_delta(&prev, r->boot_id, r->time_ms, in, &d);
	if (d.reset || d.cpu_ns != 0 || d.run_from_ms != d.run_to_ms)
		abort();
}

static void
check_report(const struct report *r)
{
	if (!r->root || r->schema != REPORT_SCHEMA)
		abort();
	check_str(r->host, 0);
	check_str(r->boot_id, 0);
	if (!report_valid_boot_id(r->boot_id))
		abort();
	check_str(r->time, 0);
	if (r->time_ms < 0)
		abort();
	check_str(r->agent_version, 0);
	check_str(r->agent_build, 0);
	if (r->seq > INT64_MAX || r->interval_s > INT64_MAX || r->dropped > INT64_MAX ||
	    r->cpu_threads > INT64_MAX || r->mem_total > INT64_MAX || r->mem_available > INT64_MAX)
		abort();
	if (!(r->cpu_use >= 0 && r->cpu_use <= 1))
		abort();
	for (int i = 0; i < 3; i++)
		if (!(r->load[i] >= 0 && r->load[i] <= 1e9))
			abort();
	if (r->npools > REPORT_MAX_POOLS || !r->pools)
		abort();
	for (size_t i = 0; i < r->npools; i++) {
		const struct report_pool *p = report_pool(r, r->pools[i].name);

		check_str(r->pools[i].name, 0);
		check_str(r->pools[i].driver, 0);
		if (!p || strcmp(p->name, r->pools[i].name) || p > &r->pools[i])
			abort();
	}
	check_nics(r->nics, r->nnics);
	if (r->ninstances > REPORT_MAX_INSTANCES || !r->instances)
		abort();
	for (size_t i = 0; i < r->ninstances; i++) {
		const struct report_instance *in = &r->instances[i];

		check_str(in->name, 0);
		check_str(in->project, 0);
		check_str(in->type, 0);
		check_str(in->status, 0);
		check_str(in->started_at, 1);
		check_str(in->plan, 1);
		if (strcmp(in->type, "container") && strcmp(in->type, "virtual-machine"))
			abort();
		if (in->started_ms < 0 || (!in->started_at && in->started_ms != 0))
			abort();
		if (in->cpu_ns > INT64_MAX || in->memory > INT64_MAX || in->disk > INT64_MAX)
			abort();
		check_nics(in->nics, in->nnics);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(in->name, r->instances[j].name) &&
			    !strcmp(in->project, r->instances[j].project))
				abort();
		check_usage(r, in);
	}
}

/* Two parses of the same report must agree (the fields that are values). */
static void
same_report(const struct report *a, const struct report *b)
{
	if (strcmp(a->host, b->host) || strcmp(a->boot_id, b->boot_id) || a->seq != b->seq ||
	    strcmp(a->time, b->time) || a->time_ms != b->time_ms || a->dropped != b->dropped ||
	    a->interval_s != b->interval_s || a->npools != b->npools || a->nnics != b->nnics ||
	    a->ninstances != b->ninstances || a->mem_total != b->mem_total)
		abort();
	for (size_t i = 0; i < a->ninstances; i++) {
		const struct report_instance *x = &a->instances[i], *y = &b->instances[i];

		if (strcmp(x->name, y->name) || strcmp(x->project, y->project) ||
		    x->started_ms != y->started_ms || x->cpu_ns != y->cpu_ns ||
		    x->nnics != y->nnics || (!x->plan != !y->plan))
			abort();
	}
}

static void
fuzz_body(const char *body, size_t len)
{
	struct report r, again;
	struct berr err;
	char *text;

	err.msg[0] = '\0';
	if (report_parse(body, len, &r, &err) < 0) {
		if (!err.msg[0] || r.root || r.instances || r.pools || r.nics)
			abort();
		return;
	}
	check_report(&r);
	text = json_dumps(r.root, JSON_COMPACT);
	if (!text)
		abort();
	if (report_parse(text, strlen(text), &again, &err) < 0)
		abort();
	same_report(&r, &again);
	report_release(&again);
	free(text);
	report_release(&r);
	if (r.root || r.instances)
		abort();
}

static int
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

static void
fuzz_envelope(char *const h[6], const char *body, size_t len)
{
	static struct nonce_set *nonces;
	struct report_envelope e, back;
	char out[6][REPORT_MAX_NAME + 2];
	unsigned char d[32], sig[64];
	struct buf b = BUF_INIT;
	struct berr err;
	size_t nl = 0;
	int ok;

	err.msg[0] = '\0';
	if (report_envelope_parse(&e, h[0], h[1], h[2], h[3], h[4], h[5], &err) < 0) {
		if (strncmp(err.msg, "header Berth-", 13))
			abort();
		return;
	}
	/* what parsed is what report.h promises */
	if (!e.host[0] || strlen(e.host) > REPORT_MAX_NAME ||
	    strspn(e.host, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(e.host) ||
	    !report_valid_boot_id(e.boot_id) || e.seq < 1 || e.seq > INT64_MAX ||
	    e.time < 0 || !is_hex(e.nonce, 32))
		abort();
	/* the headers give the envelope back, and are the text that came */
	for (int i = 0; i < 6; i++) {
		report_envelope_header(&e, i, out[i], sizeof(out[i]));
		if (strcmp(out[i], h[i]))
			abort();
	}
	if (report_envelope_parse(&back, out[0], out[1], out[2], out[3], out[4], out[5], &err) < 0 ||
	    memcmp(&back, &e, sizeof(e)))
		abort();

	/* the signed string: seven lines, the domain first, nothing else */
	SHA256((const unsigned char *)body, len, d);
	report_signed_string(&e, d, &b);
	for (size_t i = 0; i < b.len; i++) {
		if (b.buf[i] == '\n')
			nl++;
		else if ((unsigned char)b.buf[i] < 0x20 || b.buf[i] == 0x7f)
			abort();
	}
	if (nl != 7 || b.len != strlen(b.buf) || strncmp(b.buf, REPORT_DOMAIN "\n", 16) ||
	    b.len < 16 + 65 || b.buf[b.len - 1] != '\n' || b.buf[b.len - 66] != '\n')
		abort();
	for (size_t i = b.len - 65; i < b.len - 1; i++)
		if (!((b.buf[i] >= '0' && b.buf[i] <= '9') || (b.buf[i] >= 'a' && b.buf[i] <= 'f')))
			abort();

	/* verifies exactly when it is the fixed key's (deterministic) signature */
	if (agent_sign(fuzz_key(), b.buf, b.len, sig) < 0 ||
	    agent_verify(fuzz_key(), b.buf, b.len, sig) != 1)
		abort();
	ok = agent_verify(fuzz_key(), b.buf, b.len, e.sig);
	if (ok != !memcmp(sig, e.sig, 64))
		abort();
	buf_release(&b);

	/* an accepted nonce is found again */
	if (!nonces)
		nonces = nonce_set_new();
	nonce_set_add(nonces, e.nonce, e.time + 1);
	if (!nonce_set_has(nonces, e.nonce, e.time + 1))
		abort();
	if (nonce_set_count(nonces) > 4096)
		nonce_set_expire(nonces, INT64_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *h[6] = { NULL }, *p, *end;
	const char *body;
	size_t len;
	int i;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* up to six header lines; a NUL ends a value early, as in C strings */
	p = copy;
	end = copy + size;
	for (i = 0; i < 6 && p < end; i++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;
		*nl = '\0';
		h[i] = p;
		p = nl + 1;
	}
	body = p;
	len = (size_t)(end - p);
	fuzz_envelope(h, body, len);	/* with i < 6, some headers are missing */
	fuzz_body(body, len);
	free(copy);
	return 0;
}
