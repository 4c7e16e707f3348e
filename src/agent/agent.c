/*
 * agent.c - `berth agent`'s rounds (agent.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "agent/agent.h"
#include "agent/keys.h"
#include "agent/report.h"
#include "build-info.h"
#include "config.h"
#include "incus/client.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

struct agent {
	struct agent_opts o;
	struct evp_pkey_st *key;
	struct spool *spool;
	struct incus_conn *incus;
	struct collect_cpu cpu;
	CURL *curl;
	char *url;
	char *member;		/* cluster member name of the local daemon, or NULL */
};

struct agent *
agent_new(const struct agent_opts *o, struct berr *err)
{
	struct agent *a = xcalloc(1, sizeof(*a));
	size_t n;

	a->o = *o;
	if (!a->o.interval_ms)
		a->o.interval_ms = 30000;
	if (!a->o.timeout_ms)
		a->o.timeout_ms = 10000;
	if (!o->host || !o->key_path || !o->server || !o->spool_dir) {
		berr_set(err, "the agent needs --host, --key, --server and a spool directory");
		goto fail;
	}
	if (strncmp(o->server, "http://", 7) && strncmp(o->server, "https://", 8)) {
		berr_set(err, "--server: want http://ADDRESS:PORT or https://..., have \"%s\"", o->server);
		goto fail;
	}
	if (!(a->key = agent_key_load(o->key_path, NULL, err)))
		goto fail;
	if (!(a->spool = spool_open(o->spool_dir, &o->spool, err)))
		goto fail;
	n = strlen(o->server);
	a->url = xasprintf("%.*s/v1/reports", (int)(n && o->server[n - 1] == '/' ? n - 1 : n),
			   o->server);
	incus_global_init();
	if (!(a->curl = curl_easy_init())) {
		berr_set(err, "cannot start libcurl");
		goto fail;
	}
	return a;
fail:
	agent_free(a);
	return NULL;
}

void
agent_free(struct agent *a)
{
	if (!a)
		return;
	agent_key_free(a->key);
	spool_close(a->spool);
	incus_conn_free(a->incus);
	curl_easy_cleanup(a->curl);
	free(a->url);
	free(a->member);
	free(a);
}

/*
 * The report body: what collect.c measured, with the envelope's fields;
 * *dropped is the count of dropped reports it tells.
 */
static int
make_body(struct agent *a, uint64_t seq, const char *boot_id, char **body, size_t *len,
	  size_t *ninst, uint64_t *dropped, struct berr *err)
{
	json_t *hs = NULL, *insts = NULL, *doc;
	char now[40];

	if (!a->incus) {
		json_t *server, *env;

		if (!(a->incus = collect_connect(&a->o.collect, err)))
			return -1;
		/* Once per connection: is this daemon a cluster member, and which? */
		if (!(server = incus_get(a->incus, "/1.0", err))) {
			incus_conn_free(a->incus);
			a->incus = NULL;
			return -1;
		}
		env = json_object_get(server, "environment");
		free(a->member);
		a->member = NULL;
		if (json_is_true(json_object_get(env, "server_clustered")) &&
		    json_is_string(json_object_get(env, "server_name")))
			a->member = xstrdup(json_string_value(json_object_get(env, "server_name")));
		a->o.collect.member = a->member;
		json_decref(server);
	}
	if (!(insts = collect_instances(&a->o.collect, a->incus, err)) ||
	    !(hs = collect_host_stats(&a->o.collect, a->incus, &a->cpu, err))) {
		json_decref(insts);
		/* A fresh connection next time: the daemon may have restarted. */
		incus_conn_free(a->incus);
		a->incus = NULL;
		return -1;
	}
	*ninst = json_array_size(insts);
	clock_format(clock_now_ms(), 0, now, sizeof(now));
	doc = json_pack("{s:i, s:s, s:s, s:I, s:s, s:{s:s, s:s}, s:I, s:I, s:o, s:o}",
			"schema", REPORT_SCHEMA, "host", a->o.host, "boot_id", boot_id,
			"seq", (json_int_t)seq, "time", now,
			"agent", "version", BERTH_VERSION, "build", BERTH_BUILD,
			"interval", (json_int_t)(a->o.interval_ms / 1000),
			"dropped", (json_int_t)(*dropped = spool_dropped(a->spool)),
			"host_stats", hs, "instances", insts);
	if (!doc)
		return berr_set(err, "cannot build the report");
	*body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(doc);
	if (!*body)
		return berr_set(err, "cannot serialise the report");
	*len = strlen(*body);
	if (*len > REPORT_MAX_BODY) {
		berr_set(err, "the report is %zu bytes, over the intake's limit of %d: too many "
			 "instances or NICs on this host for one report", *len, REPORT_MAX_BODY);
		free(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

static size_t
collect_answer(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;

	if (buf_add(b, p, size * n) < 0)
		return 0;
	return size * n;
}

enum outcome { SENT_OK, SENT_GONE, SENT_DISCARD, SENT_STOP };

/* POST one spooled report with a fresh envelope. */
static enum outcome
send_one(struct agent *a, const char *body, size_t len, struct agent_round *r)
{
	struct report env_body;
	struct report_envelope env = { 0 };
	unsigned char digest[SHA256_DIGEST_LENGTH], nonce[16];
	struct buf signed_str = BUF_INIT, answer = BUF_INIT;
	struct curl_slist *hdrs = NULL;
	struct berr err;
	long status = 0;
	CURLcode cc;
	enum outcome out = SENT_STOP;
	const char *reason = "";
	json_t *ans = NULL;

	/* Our own body: its host, boot id and seq make the envelope. */
	if (report_parse(body, len, &env_body, &err) < 0) {
		snprintf(r->error, sizeof(r->error), "a spooled report does not parse: %.400s", err.msg);
		return SENT_DISCARD;
	}
	snprintf(env.host, sizeof(env.host), "%s", env_body.host);
	snprintf(env.boot_id, sizeof(env.boot_id), "%s", env_body.boot_id);
	env.seq = env_body.seq;
	report_release(&env_body);
	env.time = clock_now_ms() / 1000;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		snprintf(r->error, sizeof(r->error), "no randomness for a nonce");
		return SENT_STOP;
	}
	hex_encode(nonce, sizeof(nonce), env.nonce);
	SHA256((const unsigned char *)body, len, digest);
	buf_init(&signed_str, 4096);
	report_signed_string(&env, digest, &signed_str);
	if (agent_sign(a->key, signed_str.buf, signed_str.len, env.sig) < 0) {
		buf_release(&signed_str);
		snprintf(r->error, sizeof(r->error), "cannot sign the report");
		return SENT_STOP;
	}
	buf_release(&signed_str);
	for (int i = 0; i < 6; i++) {
		char v[200], line[260];

		report_envelope_header(&env, i, v, sizeof(v));
		snprintf(line, sizeof(line), "%s: %s", report_header_names[i], v);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	buf_init(&answer, 64 * 1024);
	curl_easy_reset(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_URL, a->url);
	curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, collect_answer);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, a->o.timeout_ms);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (a->o.server_ca)
		curl_easy_setopt(a->curl, CURLOPT_CAINFO, a->o.server_ca);
	cc = curl_easy_perform(a->curl);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "the intake %s is unreachable: %s", a->o.server,
			 curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	ans = json_loadb(answer.buf, answer.len, 0, NULL);
	if (json_is_string(json_object_get(ans, "reason")))
		reason = json_string_value(json_object_get(ans, "reason"));
	if (status == 200) {
		out = SENT_OK;
	} else if (!strcmp(reason, "replayed") || !strcmp(reason, "stale_seq")) {
		out = SENT_GONE;
	} else if (!strcmp(reason, "malformed") || !strcmp(reason, "too_large")) {
		out = SENT_DISCARD;
	}
	if (out != SENT_OK) {
		const char *detail = json_string_value(json_object_get(ans, "detail"));

		snprintf(r->error, sizeof(r->error), "the intake answered %ld%s%s%s%s for seq %" PRIu64,
			 status, *reason ? " " : "", reason, detail ? ": " : "", detail ? detail : "",
			 env.seq);
	}
out:
	json_decref(ans);
	buf_release(&answer);
	return out;
}

/* Move a report the intake will never take to rejected/; 0 when it was moved. */
static int
discard(struct agent *a, uint64_t seq, const char *body, size_t len)
{
	char *dir = xasprintf("%s/rejected", a->o.spool_dir), *p = NULL;
	struct berr err;
	int ret = -1;

	if (mkdir_p(dir, &err) == 0) {
		p = xasprintf("%s/r-%020" PRIu64 ".json", dir, seq);
		ret = fs_write_atomic(p, body, len, 0600, &err);
	}
	if (ret == 0)
		spool_remove(a->spool, seq);
	free(p);
	free(dir);
	return ret;
}

void
agent_deliver(struct agent *a, struct agent_round *r)
{
	uint64_t *seqs = NULL;
	size_t n = 0, i;
	struct berr err;

	if (spool_list(a->spool, &seqs, &n, &err) < 0) {
		r->stopped = 1;
		snprintf(r->error, sizeof(r->error), "%.500s", err.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		char *body;
		size_t len;
		enum outcome o;

		if (spool_get(a->spool, seqs[i], &body, &len, &err) < 0) {
			if (errno == ENOENT)	/* gone meanwhile */
				continue;
			/* Unreadable now (EIO, EMFILE, ...): keep it, try again next round. */
			r->stopped = 1;
			snprintf(r->error, sizeof(r->error), "%.500s", err.msg);
			break;
		}
		o = send_one(a, body, len, r);
		if (o == SENT_OK || o == SENT_GONE) {
			spool_remove(a->spool, seqs[i]);
			r->delivered++;
		} else if (o == SENT_DISCARD) {
			if (discard(a, seqs[i], body, len) < 0)
				o = SENT_STOP;	/* could not set it aside: keep it */
			else
				r->discarded++;
		}
		free(body);
		if (o == SENT_STOP) {
			r->stopped = 1;
			break;
		}
	}
	r->waiting = n - i;
	free(seqs);
}

int
agent_round(struct agent *a, struct agent_round *r, struct berr *err)
{
	char boot_id[37], *body = NULL;
	size_t len = 0;
	uint64_t seq, dropped = 0;

	memset(r, 0, sizeof(*r));
	if (collect_boot_id(&a->o.collect, boot_id, err) < 0)
		return -1;
	if (spool_next_seq(a->spool, &seq, err) < 0)
		return -1;
	if (make_body(a, seq, boot_id, &body, &len, &r->instances, &dropped, err) < 0)
		return -1;
	if (spool_put(a->spool, seq, body, len, dropped, err) < 0) {
		free(body);
		return -1;
	}
	free(body);
	r->seq = seq;
	agent_deliver(a, r);
	return 0;
}
