/*
 * report.c - the signed envelope and the parser of report bodies.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "agent/keys.h"
#include "agent/report.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

const char *const report_header_names[6] = {
	REPORT_H_HOST, REPORT_H_BOOT_ID, REPORT_H_SEQ, REPORT_H_TIME,
	REPORT_H_NONCE, REPORT_H_SIGNATURE,
};

#define SIG_PREFIX "ed25519="

int
report_valid_boot_id(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int is_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];

		if (is_dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') ||
					       (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/* A manifest name: 1..REPORT_MAX_NAME of [a-z0-9._-], printable. */
static int
valid_host(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REPORT_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return 0;
	return 1;
}

/* A decimal number without sign, leading zeros or excess: 0 or -1. */
static int
parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 20)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
report_envelope_parse(struct report_envelope *e, const char *host,
		      const char *boot_id, const char *seq, const char *time,
		      const char *nonce, const char *signature, struct berr *err)
{
	const char *v[6] = { host, boot_id, seq, time, nonce, signature };
	uint64_t t;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < 6; i++)
		if (!v[i])
			return berr_set(err, "header %s: missing", report_header_names[i]);
	if (!valid_host(host))
		return berr_set(err, "header " REPORT_H_HOST ": want a host name (a-z, 0-9, '.', '_', '-'), have \"%.80s\"", host);
	memcpy(e->host, host, strlen(host) + 1);
	if (!report_valid_boot_id(boot_id))
		return berr_set(err, "header " REPORT_H_BOOT_ID ": want a boot id like 8c0d2f1e-...-... (lowercase UUID), have \"%.80s\"", boot_id);
	memcpy(e->boot_id, boot_id, 37);
	if (parse_dec(seq, INT64_MAX, &e->seq) < 0 || e->seq == 0)
		return berr_set(err, "header " REPORT_H_SEQ ": want a number from 1 to 9223372036854775807, have \"%.80s\"", seq);
	if (parse_dec(time, INT64_MAX / 1000, &t) < 0)
		return berr_set(err, "header " REPORT_H_TIME ": want Unix seconds, have \"%.80s\"", time);
	e->time = (int64_t)t;
	if (strlen(nonce) != 32 || strspn(nonce, "0123456789abcdef") != 32)
		return berr_set(err, "header " REPORT_H_NONCE ": want 32 lowercase hex digits, have \"%.80s\"", nonce);
	memcpy(e->nonce, nonce, 33);
	if (strncmp(signature, SIG_PREFIX, strlen(SIG_PREFIX)) != 0 ||
	    b64_decode_exact(signature + strlen(SIG_PREFIX), e->sig, 64) < 0)
		return berr_set(err, "header " REPORT_H_SIGNATURE ": want ed25519=<base64 of 64 bytes>, have \"%.80s\"", signature);
	return 0;
}

void
report_envelope_header(const struct report_envelope *e, int i, char *out, size_t outlen)
{
	char b64[96];

	switch (i) {
	case 0: snprintf(out, outlen, "%s", e->host); break;
	case 1: snprintf(out, outlen, "%s", e->boot_id); break;
	case 2: snprintf(out, outlen, "%" PRIu64, e->seq); break;
	case 3: snprintf(out, outlen, "%" PRId64, e->time); break;
	case 4: snprintf(out, outlen, "%s", e->nonce); break;
	default:
		b64_encode(e->sig, 64, b64);
		snprintf(out, outlen, SIG_PREFIX "%s", b64);
		break;
	}
}

void
report_signed_string(const struct report_envelope *e,
		     const unsigned char body_sha256[32], struct buf *out)
{
	char h[65];

	hex_encode(body_sha256, 32, h);
	buf_addf(out, REPORT_DOMAIN "\n%s\n%s\n%" PRIu64 "\n%" PRId64 "\n%s\n%s\n",
		 e->host, e->boot_id, e->seq, e->time, e->nonce, h);
}

/*
 * The body parser. Every object is checked against the keys it may have;
 * a path names where a problem is ("instances[3].network[0].rx_bytes").
 */
struct pctx {
	struct berr *err;
	/* The path, built into text only when there is an error to report. */
	const char *key[16];	/* NULL: an index */
	long index[16];
	size_t depth;
};

static void
path_text(const struct pctx *p, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->depth && i < 16 && len < n; i++) {
		if (p->key[i])
			snprintf(out + len, n - len, "%s%s", len ? "." : "", p->key[i]);
		else
			snprintf(out + len, n - len, "[%ld]", p->index[i]);
		len = strlen(out);
	}
}

static int
fail(struct pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct pctx *p, const char *fmt, ...)
{
	char msg[512], path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	path_text(p, path, sizeof(path));
	if (path[0])
		return berr_set(p->err, "%s: %s", path, msg);
	return berr_set(p->err, "%s", msg);
}

static const char *
type_word(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Enter key (or index when key is NULL) of the current path; returns the old depth to leave it. */
static size_t
enter(struct pctx *p, const char *key, long index)
{
	size_t n = p->depth;

	if (n < 16) {
		p->key[n] = key;
		p->index[n] = index;
	}
	p->depth = n + 1;
	return n;
}

static void
leave(struct pctx *p, size_t n)
{
	p->depth = n;
}

static int
only_keys(struct pctx *p, const json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		int ok = 0;

		for (size_t i = 0; keys[i]; i++)
			if (!strcmp(k, keys[i]))
				ok = 1;
		if (!ok)
			return fail(p, "unknown key \"%.60s\"", k);
	}
	return 0;
}

static int
get_u64(struct pctx *p, const json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	size_t n = enter(p, key, 0);
	int ret = 0;

	if (!v)
		ret = fail(p, "missing");
	else if (!json_is_integer(v))
		ret = fail(p, "want an integer from 0 to 9223372036854775807, have %s", type_word(v));
	else if (json_integer_value(v) < 0)
		ret = fail(p, "want an integer from 0 to 9223372036854775807, have %" JSON_INTEGER_FORMAT,
			   json_integer_value(v));
	else
		*out = (uint64_t)json_integer_value(v);
	leave(p, n);
	return ret;
}

static int
get_num(struct pctx *p, const json_t *o, const char *key, double min, double max, double *out)
{
	json_t *v = json_object_get(o, key);
	size_t n = enter(p, key, 0);
	int ret = 0;

	if (!v)
		ret = fail(p, "missing");
	else if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
		ret = fail(p, "want a number from %g to %g, have %s", min, max,
			   json_is_number(v) ? "one outside" : type_word(v));
	else
		*out = json_number_value(v);
	leave(p, n);
	return ret;
}

/* A string of 1..REPORT_MAX_NAME bytes without control characters; NULL allowed when nullable. */
static int
get_str(struct pctx *p, const json_t *o, const char *key, int nullable, const char **out)
{
	json_t *v = json_object_get(o, key);
	size_t n = enter(p, key, 0);
	int ret = 0;

	*out = NULL;
	if (!v) {
		ret = fail(p, "missing");
	} else if (json_is_null(v) && nullable) {
		;
	} else if (!json_is_string(v)) {
		ret = fail(p, "want a string%s, have %s", nullable ? " or null" : "", type_word(v));
	} else {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		if (len == 0 || len > REPORT_MAX_NAME || strlen(s) != len)
			ret = fail(p, "want a string of 1 to %d bytes, have %zu", REPORT_MAX_NAME, len);
		for (size_t i = 0; ret == 0 && i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				ret = fail(p, "want no control characters, have one at byte %zu", i);
		if (ret == 0)
			*out = s;
	}
	leave(p, n);
	return ret;
}

static json_t *
get_array(struct pctx *p, const json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);
	size_t n = enter(p, key, 0);

	if (!v)
		fail(p, "missing");
	else if (!json_is_array(v))
		fail(p, "want an array, have %s", type_word(v));
	else if (json_array_size(v) > max)
		fail(p, "want at most %zu entries, have %zu", max, json_array_size(v));
	else {
		leave(p, n);
		return v;
	}
	leave(p, n);
	return NULL;
}

static json_t *
get_object(struct pctx *p, const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	size_t n = enter(p, key, 0);

	if (!v)
		fail(p, "missing");
	else if (!json_is_object(v))
		fail(p, "want an object, have %s", type_word(v));
	else {
		leave(p, n);
		return v;
	}
	leave(p, n);
	return NULL;
}

static int
parse_nics(struct pctx *p, const json_t *o, struct report_nic **out, size_t *nout)
{
	static const char *const keys[] = { "name", "rx_bytes", "tx_bytes", "rx_packets", "tx_packets", NULL };
	json_t *a = get_array(p, o, "network", REPORT_MAX_NICS), *v;
	size_t i, n;

	if (!a)
		return -1;
	*nout = json_array_size(a);
	*out = xcalloc(*nout ? *nout : 1, sizeof(**out));
	n = enter(p, "network", 0);
	json_array_foreach(a, i, v) {
		struct report_nic *nic = &(*out)[i];
		size_t m = enter(p, NULL, (long)i);

		if (!json_is_object(v))
			return fail(p, "want an object, have %s", type_word(v));
		if (only_keys(p, v, keys) < 0 || get_str(p, v, "name", 0, &nic->name) < 0 ||
		    get_u64(p, v, "rx_bytes", &nic->rx_bytes) < 0 ||
		    get_u64(p, v, "tx_bytes", &nic->tx_bytes) < 0 ||
		    get_u64(p, v, "rx_packets", &nic->rx_packets) < 0 ||
		    get_u64(p, v, "tx_packets", &nic->tx_packets) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp((*out)[j].name, nic->name))
				return fail(p, "name \"%s\" is listed twice", nic->name);
		leave(p, m);
	}
	leave(p, n);
	return 0;
}

/* host_stats.storage_drivers (drivers.h); agents before it send none. */
static int
parse_drivers(struct pctx *p, const json_t *hs, struct report *r)
{
	static const char *const keys[] = { "name", "usable", "reason", NULL };
	json_t *list, *v, *u;
	size_t i, n, m;

	if (!(list = get_array(p, hs, "storage_drivers", REPORT_MAX_DRIVERS)))
		return -1;
	r->ndrivers = json_array_size(list);
	r->drivers = xcalloc(r->ndrivers ? r->ndrivers : 1, sizeof(*r->drivers));
	n = enter(p, "storage_drivers", 0);
	json_array_foreach(list, i, v) {
		struct report_driver *d = &r->drivers[i];

		m = enter(p, NULL, (long)i);
		if (!json_is_object(v))
			return fail(p, "want an object, have %s", type_word(v));
		if (only_keys(p, v, keys) < 0 || get_str(p, v, "name", 0, &d->name) < 0)
			return -1;
		u = json_object_get(v, "usable");
		if (!json_is_boolean(u)) {
			enter(p, "usable", 0);
			return fail(p, "want true or false, have %s", type_word(u));
		}
		d->usable = json_is_true(u);
		if (json_object_get(v, "reason") && get_str(p, v, "reason", 0, &d->reason) < 0)
			return -1;
		if (!d->usable && !d->reason)
			return fail(p, "a driver that is not usable needs a \"reason\"");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->drivers[j].name, d->name))
				return fail(p, "name \"%s\" is listed twice", d->name);
		leave(p, m);
	}
	leave(p, n);
	return 0;
}

static int
parse_host_stats(struct pctx *p, const json_t *hs, struct report *r)
{
	static const char *const keys[] = { "cpu_threads", "cpu_use", "load", "memory",
					    "storage_pools", "storage_drivers", "network", NULL };
	static const char *const mkeys[] = { "total", "available", NULL };
	static const char *const pkeys[] = { "name", "driver", "total", "used", "free", "error",
					     NULL };
	json_t *load, *mem, *pools, *v;
	size_t i, n, m;

	if (only_keys(p, hs, keys) < 0 || get_u64(p, hs, "cpu_threads", &r->cpu_threads) < 0 ||
	    get_num(p, hs, "cpu_use", 0, 1, &r->cpu_use) < 0)
		return -1;
	if (!(load = get_array(p, hs, "load", 3)))
		return -1;
	n = enter(p, "load", 0);
	if (json_array_size(load) != 3)
		return fail(p, "want 3 numbers (1, 5 and 15 minutes), have %zu", json_array_size(load));
	json_array_foreach(load, i, v) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e9)
			return fail(p, "want numbers from 0, have %s at [%zu]", type_word(v), i);
		r->load[i] = json_number_value(v);
	}
	leave(p, n);
	if (!(mem = get_object(p, hs, "memory")))
		return -1;
	n = enter(p, "memory", 0);
	if (only_keys(p, mem, mkeys) < 0 || get_u64(p, mem, "total", &r->mem_total) < 0 ||
	    get_u64(p, mem, "available", &r->mem_available) < 0)
		return -1;
	leave(p, n);
	if (!(pools = get_array(p, hs, "storage_pools", REPORT_MAX_POOLS)))
		return -1;
	r->npools = json_array_size(pools);
	r->pools = xcalloc(r->npools ? r->npools : 1, sizeof(*r->pools));
	n = enter(p, "storage_pools", 0);
	json_array_foreach(pools, i, v) {
		struct report_pool *pl = &r->pools[i];

		m = enter(p, NULL, (long)i);
		if (!json_is_object(v))
			return fail(p, "want an object, have %s", type_word(v));
		if (only_keys(p, v, pkeys) < 0 || get_str(p, v, "name", 0, &pl->name) < 0 ||
		    get_str(p, v, "driver", 0, &pl->driver) < 0 ||
		    get_u64(p, v, "total", &pl->total) < 0 || get_u64(p, v, "used", &pl->used) < 0 ||
		    get_u64(p, v, "free", &pl->free) < 0)
			return -1;
		if (json_object_get(v, "error")) {
			if (get_str(p, v, "error", 0, &pl->error) < 0)
				return -1;
			if (pl->total || pl->used || pl->free)
				return fail(p, "a pool with an error has 0 for total, used and free");
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->pools[j].name, pl->name))
				return fail(p, "name \"%s\" is listed twice", pl->name);
		leave(p, m);
	}
	leave(p, n);
	if (json_object_get(hs, "storage_drivers") && parse_drivers(p, hs, r) < 0)
		return -1;
	return parse_nics(p, hs, &r->nics, &r->nnics);
}

static int
parse_instance(struct pctx *p, const json_t *v, struct report_instance *in)
{
	static const char *const keys[] = { "name", "project", "type", "status", "started_at",
					    "plan", "cpu_ns", "memory", "disk", "network", NULL };

	if (!json_is_object(v))
		return fail(p, "want an object, have %s", type_word(v));
	if (only_keys(p, v, keys) < 0 || get_str(p, v, "name", 0, &in->name) < 0 ||
	    get_str(p, v, "project", 0, &in->project) < 0 ||
	    get_str(p, v, "type", 0, &in->type) < 0 || get_str(p, v, "status", 0, &in->status) < 0 ||
	    get_str(p, v, "started_at", 1, &in->started_at) < 0 ||
	    get_str(p, v, "plan", 1, &in->plan) < 0 ||
	    get_u64(p, v, "cpu_ns", &in->cpu_ns) < 0 || get_u64(p, v, "memory", &in->memory) < 0 ||
	    get_u64(p, v, "disk", &in->disk) < 0)
		return -1;
	if (strcmp(in->type, "container") && strcmp(in->type, "virtual-machine")) {
		enter(p, "type", 0);
		return fail(p, "want \"container\" or \"virtual-machine\", have \"%.40s\"", in->type);
	}
	if (in->started_at) {
		if (clock_parse_rfc3339(in->started_at, &in->started_ms) < 0) {
			enter(p, "started_at", 0);
			return fail(p, "want an RFC 3339 time or null, have \"%.40s\"", in->started_at);
		}
		if (in->started_ms < 0)
			in->started_ms = 0;
	}
	return parse_nics(p, v, &in->nics, &in->nnics);
}

static int
parse_body(struct pctx *p, struct report *r)
{
	static const char *const keys[] = { "schema", "host", "boot_id", "seq", "time", "agent",
					    "interval", "dropped", "host_stats", "instances", NULL };
	static const char *const akeys[] = { "version", "build", NULL };
	const json_t *root = r->root;
	json_t *agent, *hs, *insts, *v, *seen;
	uint64_t schema;
	size_t i, n;

	if (!json_is_object(root))
		return fail(p, "want a JSON object, have %s", type_word(root));
	if (get_u64(p, root, "schema", &schema) < 0)
		return -1;
	if (schema != REPORT_SCHEMA)
		return fail(p, "schema: want %d, have %" PRIu64 " (a newer agent than this intake?)",
			    REPORT_SCHEMA, schema);
	r->schema = (int)schema;
	if (only_keys(p, root, keys) < 0 || get_str(p, root, "host", 0, &r->host) < 0 ||
	    get_str(p, root, "boot_id", 0, &r->boot_id) < 0 ||
	    get_u64(p, root, "seq", &r->seq) < 0 || get_str(p, root, "time", 0, &r->time) < 0 ||
	    get_u64(p, root, "interval", &r->interval_s) < 0 ||
	    get_u64(p, root, "dropped", &r->dropped) < 0)
		return -1;
	if (!report_valid_boot_id(r->boot_id))
		return fail(p, "boot_id: want a lowercase UUID, have \"%.40s\"", r->boot_id);
	if (clock_parse_rfc3339(r->time, &r->time_ms) < 0 || r->time_ms < 0)
		return fail(p, "time: want an RFC 3339 time like 2026-11-22T05:00:00Z, have \"%.40s\"", r->time);
	if (!(agent = get_object(p, root, "agent")))
		return -1;
	n = enter(p, "agent", 0);
	if (only_keys(p, agent, akeys) < 0 || get_str(p, agent, "version", 0, &r->agent_version) < 0 ||
	    get_str(p, agent, "build", 0, &r->agent_build) < 0)
		return -1;
	leave(p, n);
	if (!(hs = get_object(p, root, "host_stats")))
		return -1;
	n = enter(p, "host_stats", 0);
	if (parse_host_stats(p, hs, r) < 0)
		return -1;
	leave(p, n);
	if (!(insts = get_array(p, root, "instances", REPORT_MAX_INSTANCES)))
		return -1;
	r->ninstances = json_array_size(insts);
	r->instances = xcalloc(r->ninstances ? r->ninstances : 1, sizeof(*r->instances));
	n = enter(p, "instances", 0);
	seen = json_object();
	json_array_foreach(insts, i, v) {
		size_t m = enter(p, NULL, (long)i);
		char key[2 * REPORT_MAX_NAME + 2];

		if (parse_instance(p, v, &r->instances[i]) < 0)
			goto fail;
		/* Names hold no control characters: \x1f separates. */
		snprintf(key, sizeof(key), "%s\x1f%s", r->instances[i].project, r->instances[i].name);
		if (json_object_get(seen, key)) {
			fail(p, "instance \"%s\" of project \"%s\" is listed twice",
			     r->instances[i].name, r->instances[i].project);
			goto fail;
		}
		json_object_set_new(seen, key, json_true());
		leave(p, m);
	}
	leave(p, n);
	json_decref(seen);
	return 0;
fail:
	json_decref(seen);
	return -1;
}

int
report_parse(const char *body, size_t len, struct report *r, struct berr *err)
{
	struct pctx p = { .err = err };
	json_error_t je;

	memset(r, 0, sizeof(*r));
	if (len > REPORT_MAX_BODY)
		return berr_set(err, "the body is %zu bytes: want at most %d", len, REPORT_MAX_BODY);
	r->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!r->root)
		return berr_set(err, "not JSON: line %d column %d: %s", je.line, je.column, je.text);
	if (parse_body(&p, r) < 0) {
		report_release(r);
		return -1;
	}
	return 0;
}

void
report_release(struct report *r)
{
	if (r->instances)
		for (size_t i = 0; i < r->ninstances; i++)
			free(r->instances[i].nics);
	free(r->instances);
	free(r->nics);
	free(r->pools);
	free(r->drivers);
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

const struct report_pool *
report_pool(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->npools; i++)
		if (!strcmp(r->pools[i].name, name))
			return &r->pools[i];
	return NULL;
}

const struct report_driver *
report_driver(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->ndrivers; i++)
		if (!strcmp(r->drivers[i].name, name))
			return &r->drivers[i];
	return NULL;
}
