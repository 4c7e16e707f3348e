/*
 * test-incus.c - the Incus client, berth's identity, the trust command and
 * the observation of a fleet, against real incusd daemons started with
 * contrib/lab/lab (2 standalone hosts, a 2-member cluster, an image server).
 *
 * Needs root and /usr/libexec/incus/incusd; otherwise the lab tests are
 * skipped (exit 77), except under CI=true (a failure). With BERTH_RECORD_DIR
 * set, the observations are also written there as lab-observe-*.json (the
 * lab's directory replaced by /LAB): that is how tests/data/observed/ is
 * made.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "lab.h"

#include "incus/client.h"
#include "incus/connect.h"
#include "incus/observe.h"
#include "incus/trust.h"
#include "manifest/manifest.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct lab {
	struct lab_run run;	/* root, dir: root/lab */
	char state[PATH_MAX];	/* root/state: the trusted identity */
	json_t *json;		/* lab.json */
	struct incus_identity id;
	struct manifest_result fleet;	/* hosts, cluster */
};

static struct lab lab;

/* ---- helpers ------------------------------------------------------------ */

static json_t *
daemon_of(const char *name)
{
	json_t *v;
	size_t i;

	if (strcmp(name, "lab-images") == 0)
		return json_object_get(lab.json, "image_server");
	json_array_foreach(json_object_get(lab.json, "hosts"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
			return v;
	json_array_foreach(json_object_get(json_object_get(lab.json, "cluster"), "members"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
			return v;
	fail_msg("no daemon %s in lab.json", name);
	return NULL;
}

static const char *
field(const char *name, const char *key)
{
	const char *s = json_string_value(json_object_get(daemon_of(name), key));

	assert_non_null(s);
	return s;
}

static char *
unix_endpoint(const char *name)
{
	return xasprintf("unix://%s", field(name, "socket"));
}

static struct incus_conn *
conn_unix(const char *name)
{
	char *ep = unix_endpoint(name);
	struct berr err;
	struct incus_conn *c = incus_conn_new(name, ep, NULL, NULL, NULL, &err);

	if (!c)
		fail_msg("%s", err.msg);
	free(ep);
	return c;
}

static struct incus_conn *
conn_https(const char *name, const char *fp, const struct incus_identity *id,
	   const struct incus_opts *o)
{
	struct berr err;
	struct incus_conn *c = incus_conn_new(name, field(name, "endpoint"),
					      fp ? fp : field(name, "fingerprint"),
					      id, o, &err);

	if (!c)
		fail_msg("%s", err.msg);
	return c;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * Manifests for lab-1, lab-2 and the cluster (members lab-c1, lab-c2) in
 * root/<sub>, loaded through manifest_load(); cluster_endpoint overrides the
 * Cluster's endpoint.
 */
static void
load_fleet(const char *sub, const char *cluster_endpoint,
	   struct manifest_result *res)
{
	struct source_opts so = { 0 };
	struct diags d = DIAGS_INIT;
	struct buf y = BUF_INIT;
	struct berr err;
	const char *hosts[] = { "lab-1", "lab-2" }, *members[] = { "lab-c1", "lab-c2" };
	json_t *cl = json_object_get(lab.json, "cluster");
	char *dir = xasprintf("%s/%s", lab.run.root, sub), *file;
	size_t i;

	assert_int_equal(mkdir(dir, 0700), 0);
	for (i = 0; i < 2; i++)
		buf_addf(&y, "apiVersion: berth/v1\nkind: Host\nmetadata: {name: %s}\n"
			 "spec:\n  endpoint: %s\n  fingerprint: \"%s\"\n  os: debian-12\n"
			 "  review: approved\n  capacity: {cpu: 2, memory: 4GiB, disk: 10GiB}\n---\n",
			 hosts[i], field(hosts[i], "endpoint"), field(hosts[i], "fingerprint"));
	buf_addf(&y, "apiVersion: berth/v1\nkind: Cluster\nmetadata: {name: %s}\n"
		 "spec:\n  endpoint: %s\n  fingerprint: \"%s\"\n---\n",
		 json_string_value(json_object_get(cl, "name")),
		 cluster_endpoint ? cluster_endpoint : json_string_value(json_object_get(cl, "endpoint")),
		 json_string_value(json_object_get(cl, "fingerprint")));
	for (i = 0; i < 2; i++)
		buf_addf(&y, "%sapiVersion: berth/v1\nkind: Host\nmetadata: {name: %s}\n"
			 "spec:\n  endpoint: %s\n  fingerprint: \"%s\"\n  cluster: %s\n"
			 "  os: debian-12\n  review: approved\n"
			 "  capacity: {cpu: 2, memory: 4GiB, disk: 10GiB}\n",
			 i ? "---\n" : "", members[i], field(members[i], "endpoint"),
			 field(members[i], "fingerprint"),
			 json_string_value(json_object_get(cl, "name")));
	file = xasprintf("%s/fleet.yaml", dir);
	write_file(file, y.buf);

	so.repo = dir;
	so.worktree = 1;
	so.state_dir = lab.state;
	memset(res, 0, sizeof(*res));
	if (manifest_load(&so, MANIFEST_CHECK, res, &d, &err) < 0)
		fail_msg("%s", err.msg);
	for (i = 0; i < d.n; i++) {
		char line[1024];

		diag_format(&d.v[i], line, sizeof(line));
		if (d.v[i].severity == DIAG_ERROR)
			fail_msg("%s", line);
	}
	assert_non_null(res->fleet);
	diags_release(&d);
	buf_release(&y);
	free(file);
	free(dir);
}

static json_t *
observe(const struct fleet *f, const char *only)
{
	struct observe_opts o = { 0 };
	const char *names[1] = { only };
	struct berr err;
	json_t *obs;

	o.identity = &lab.id;
	o.parallel = 4;
	if (only) {
		o.only = names;
		o.nonly = 1;
	}
	obs = observe_fleet(f, &o, &err);
	if (!obs)
		fail_msg("%s", err.msg);
	return obs;
}

static json_t *
server_of(json_t *obs, const char *name)
{
	json_t *s = json_object_get(json_object_get(obs, "servers"), name);

	if (!s)
		fail_msg("no server %s in the observation", name);
	return s;
}

static void
assert_no_error(json_t *obs, const char *name)
{
	json_t *e = json_object_get(server_of(obs, name), "error");

	if (!json_is_null(e))
		fail_msg("%s: %s", name, json_string_value(e));
}

static json_int_t
requests_of(json_t *obs, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(server_of(obs, name),
								  "stats"), "requests"));
}

/* Write obs to $BERTH_RECORD_DIR/<file> with the lab directory as /LAB. */
static void
record(json_t *obs, const char *file)
{
	const char *to = getenv("BERTH_RECORD_DIR");
	struct buf out = BUF_INIT;
	char *text, *p, *q, *path;

	if (!to || !*to)
		return;
	text = json_dumps(obs, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_non_null(text);
	for (p = text; (q = strstr(p, lab.run.dir)); p = q + strlen(lab.run.dir)) {
		buf_add(&out, p, (size_t)(q - p));
		buf_addstr(&out, "/LAB");
	}
	buf_addstr(&out, p);
	buf_addch(&out, '\n');
	path = xasprintf("%s/%s", to, file);
	write_file(path, out.buf);
	free(path);
	free(text);
	buf_release(&out);
}

static void
request_ok(struct incus_conn *c, const char *method, const char *path,
	   const char *body_json, struct incus_response *resp)
{
	struct berr err;
	json_error_t jerr;
	json_t *body = body_json ? json_loads(body_json, 0, &jerr) : NULL;

	if (body_json && !body)
		fail_msg("bad JSON in the test: %s", jerr.text);
	if (incus_request(c, method, path, body, NULL, resp, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(body);
}

static void
request_wait(struct incus_conn *c, const char *method, const char *path,
	     const char *body_json)
{
	struct incus_response resp;
	struct berr err;

	request_ok(c, method, path, body_json, &resp);
	if (resp.operation[0] && incus_wait(c, resp.operation, 120, &err) < 0)
		fail_msg("%s", err.msg);
	incus_response_release(&resp);
}

/* ---- identity (no lab needed) ------------------------------------------- */

static void
test_identity(void **state)
{
	char tmpl[] = "/tmp/berth-test-identity.XXXXXX", *dir, *sdir, *out;
	struct incus_identity a, b;
	struct berr err;
	struct stat st;
	int status;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	sdir = xasprintf("%s/state/berth", tmpl);
	assert_int_equal(incus_identity_load(sdir, &a, &err), 0);
	assert_int_equal(stat(sdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(a.key_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(strlen(a.fingerprint), 64);
	assert_non_null(strstr(a.cert_pem, "BEGIN CERTIFICATE"));

	/* loaded again: the same certificate */
	assert_int_equal(incus_identity_load(sdir, &b, &err), 0);
	assert_string_equal(a.fingerprint, b.fingerprint);
	incus_identity_release(&b);

	/* what openssl sees */
	out = sh_output(&status, "openssl x509 -in '%s' -noout -subject -enddate -ext extendedKeyUsage; "
			"openssl pkey -in '%s' -noout -text | grep -c 'NIST CURVE: P-384' 2>&1",
			a.cert_file, a.key_file);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "CN = berth@"));
	assert_non_null(strstr(out, "TLS Web Client Authentication"));
	free(out);

	/* a key others can read is refused, naming the file and mode */
	assert_int_equal(chmod(a.key_file, 0644), 0);
	assert_int_equal(incus_identity_load(sdir, &b, &err), -1);
	assert_non_null(strstr(err.msg, a.key_file));
	assert_non_null(strstr(err.msg, "mode 0644 lets others read berth's private key; want 0600"));
	assert_int_equal(chmod(a.key_file, 0620), 0);
	assert_int_equal(incus_identity_load(sdir, &b, &err), -1);
	assert_non_null(strstr(err.msg, "mode 0620 lets others write"));
	assert_int_equal(chmod(a.key_file, 0600), 0);

	/* a lost certificate is made again from the key */
	assert_int_equal(unlink(a.cert_file), 0);
	assert_int_equal(incus_identity_load(sdir, &b, &err), 0);
	incus_identity_release(&b);

	/* fingerprints: the PEM helper agrees with openssl */
	out = sh_output(&status, "openssl x509 -in '%s' -outform DER | sha256sum | cut -d' ' -f1 2>&1",
			a.cert_file);
	assert_int_equal(incus_identity_load(sdir, &b, &err), 0);
	assert_memory_equal(out, b.fingerprint, 64);
	free(out);
	incus_identity_release(&b);

	assert_int_equal(incus_pem_fingerprint("not a certificate", b.fingerprint, &err), -1);
	incus_identity_release(&a);
	dir = tmpl;
	assert_int_equal(sh_run(0, "rm -rf '%s'", dir), 0);
	free(sdir);
}

static void
test_trust_script_shape(void **state)
{
	struct incus_identity id = { 0 };
	char *s;

	(void)state;
	id.cert_pem = (char *)"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	memset(id.fingerprint, 'a', 64);
	s = incus_trust_command(&id, "nix-01", 0);
	assert_non_null(strstr(s, "incus config trust add-certificate"));
	assert_non_null(strstr(s, "--name berth"));
	assert_non_null(strstr(s, "${INCUS_DIR:-/var/lib/incus}/server.crt"));
	assert_non_null(strstr(s, "fingerprint for the manifest"));
	free(s);
	s = incus_trust_command(&id, "nix-01", 1);
	assert_non_null(strstr(s, "/cluster.crt"));
	free(s);
}

/* Only OpenSSL pins: any other TLS library of libcurl is refused, by name. */
static void
test_tls_backend(void **state)
{
	struct berr err;

	(void)state;
	assert_int_equal(incus_tls_backend_ok("OpenSSL/3.0.15", &err), 0);
	assert_int_equal(incus_tls_backend_ok(curl_version_info(CURLVERSION_NOW)->ssl_version,
					      &err), 0);	/* the one berth is built with */
	assert_int_equal(incus_tls_backend_ok("GnuTLS/3.7.9", &err), -1);
	assert_non_null(strstr(err.msg, "libcurl does its TLS with GnuTLS/3.7.9: berth pins"));
	assert_int_equal(incus_tls_backend_ok("mbedTLS/2.28.3", &err), -1);
	assert_int_equal(incus_tls_backend_ok("(OpenSSL/3.0.15) GnuTLS/3.7.9", &err), -1);
	assert_int_equal(incus_tls_backend_ok(NULL, &err), -1);
	assert_non_null(strstr(err.msg, "no TLS library"));
}

static void
test_bad_endpoints(void **state)
{
	struct incus_identity id = { 0 };
	struct berr err;

	(void)state;
	id.cert_file = (char *)"/nonexistent.crt";
	id.key_file = (char *)"/nonexistent.key";
	assert_null(incus_conn_new("h", "http://x:1", NULL, &id, NULL, &err));
	assert_non_null(strstr(err.msg, "want https://host:port or unix:///"));
	assert_null(incus_conn_new("h", "https://127.0.0.1:8443", NULL, &id, NULL, &err));
	assert_non_null(strstr(err.msg, "no server fingerprint"));
	assert_null(incus_conn_new("h", "https://127.0.0.1:8443", "abc", &id, NULL, &err));
	assert_non_null(strstr(err.msg, "64 hex digits"));
	assert_null(incus_conn_new("h", "unix://relative", NULL, NULL, NULL, &err));
}

/* ---- the lab ------------------------------------------------------------ */

static int
lab_setup(void **state)
{
	(void)state;
	if (lab_up(&lab.run, "incus", "--hosts 2 --cluster 2") < 0)
		return -1;
	snprintf(lab.state, sizeof(lab.state), "%s/state", lab.run.root);
	if (!(lab.json = lab_json(&lab.run)))
		return -1;
	return lab_trust(&lab.run, lab.state, &lab.id);
}

static int
lab_teardown(void **state)
{
	(void)state;
	lab_down(&lab.run);
	manifest_result_release(&lab.fleet);
	json_decref(lab.json);
	incus_identity_release(&lab.id);
	return 0;
}

static void
test_unix_get(void **state)
{
	struct incus_conn *c = conn_unix("lab-1");
	unsigned long requests;
	unsigned long long bytes;
	struct berr err;
	json_t *v;

	(void)state;
	v = incus_get(c, "/1.0", &err);
	if (!v)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(v, "auth")), "trusted");
	assert_non_null(json_object_get(v, "api_extensions"));
	json_decref(v);
	v = incus_get(c, "/1.0/instances", &err);
	assert_non_null(v);
	json_decref(v);
	incus_conn_stats(c, &requests, &bytes);
	assert_int_equal(requests, 2);
	assert_true(bytes > 1000);

	/* an error envelope: server, method, path, status and Incus's message */
	assert_null(incus_get(c, "/1.0/profiles/does-not-exist", &err));
	assert_non_null(strstr(err.msg, "host \"lab-1\": GET /1.0/profiles/does-not-exist: HTTP 404: "));
	assert_non_null(strstr(err.msg, "not found"));
	incus_conn_free(c);
}

static void
test_https_trusted(void **state)
{
	struct incus_conn *c = conn_https("lab-1", NULL, &lab.id, NULL);
	struct berr err;
	json_t *v;

	(void)state;
	v = incus_get(c, "/1.0", &err);
	if (!v)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(v, "auth")), "trusted");
	json_decref(v);
	v = incus_get(c, "/1.0/instances?recursion=1", &err);
	if (!v)
		fail_msg("%s", err.msg);
	json_decref(v);
	v = incus_get(c, "/1.0/profiles?recursion=1", &err);
	if (!v)
		fail_msg("%s", err.msg);
	json_decref(v);
	/* kept alive: one TLS connection for three requests */
	assert_int_equal(incus_conn_connects(c), 1);
	incus_conn_free(c);

	/* fingerprints may be written with colons and in upper case */
	{
		struct buf fp = BUF_INIT;
		const char *h = field("lab-1", "fingerprint");

		for (size_t i = 0; i < 64; i += 2)
			buf_addf(&fp, "%s%c%c", i ? ":" : "", h[i] - (h[i] >= 'a' ? 32 : 0),
				 h[i + 1] - (h[i + 1] >= 'a' ? 32 : 0));
		c = conn_https("lab-1", fp.buf, &lab.id, NULL);
		v = incus_get(c, "/1.0/instances", &err);
		if (!v)
			fail_msg("%s", err.msg);
		json_decref(v);
		incus_conn_free(c);
		buf_release(&fp);
	}
}

static void
test_wrong_fingerprint(void **state)
{
	const char *want = field("lab-2", "fingerprint");
	const char *have = field("lab-1", "fingerprint");
	struct incus_conn *c = conn_https("lab-1", want, &lab.id, NULL);
	struct incus_response resp;
	struct berr err;
	char *msg;

	(void)state;
	assert_int_equal(incus_request(c, "GET", "/1.0", NULL, NULL, &resp, &err), -1);
	msg = xasprintf("host \"lab-1\": server certificate fingerprint is %s, the manifest pins %s: refusing to connect",
			have, want);
	assert_string_equal(err.msg, msg);
	assert_int_equal(resp.http_status, 0);
	incus_response_release(&resp);
	free(msg);
	/* not retried: a pin failure is not transient */
	{
		unsigned long n;

		incus_conn_stats(c, &n, NULL);
		assert_int_equal(n, 1);
	}
	incus_conn_free(c);
}

static void
test_untrusted(void **state)
{
	struct incus_identity other;
	struct incus_conn *c;
	struct berr err;
	char *sdir = xasprintf("%s/untrusted", lab.run.root), *msg;
	json_t *v;

	(void)state;
	assert_int_equal(incus_identity_load(sdir, &other, &err), 0);
	c = conn_https("lab-1", NULL, &other, NULL);
	/* GET /1.0 answers untrusted clients */
	v = incus_get(c, "/1.0", &err);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "auth")), "untrusted");
	json_decref(v);
	assert_null(incus_get(c, "/1.0/instances", &err));
	msg = xasprintf("host \"lab-1\" does not trust berth's certificate (fingerprint %s): "
			"run `berth host trust-command lab-1` and execute its output on the host",
			other.fingerprint);
	assert_string_equal(err.msg, msg);
	free(msg);
	incus_conn_free(c);
	incus_identity_release(&other);
	free(sdir);
}

/* Run the trust script for daemon name; returns its output. */
static char *
run_trust_script(const char *script, const char *name, int *status)
{
	setenv("BERTH_TRUST_SCRIPT", script, 1);
	return sh_output(status, "INCUS_DIR='%s' INCUS_CONF='%s/.incus-client' "
			 "sh -c \"$BERTH_TRUST_SCRIPT\" 2>&1", field(name, "dir"), lab.run.root);
}

static const char *
last_line(char *out)
{
	size_t n = strlen(out);
	char *p;

	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	p = strrchr(out, '\n');
	return p ? p + 1 : out;
}

static void
test_trust_command(void **state)
{
	struct incus_identity other;
	struct incus_conn *c;
	struct berr err;
	char *sdir = xasprintf("%s/trust-command", lab.run.root), *script, *out;
	const char *cluster_fp;
	int status;
	json_t *v;

	(void)state;
	assert_int_equal(incus_identity_load(sdir, &other, &err), 0);
	c = conn_https("lab-1", NULL, &other, NULL);
	assert_null(incus_get(c, "/1.0/instances", &err));
	assert_non_null(strstr(err.msg, "does not trust berth's certificate"));

	script = incus_trust_command(&other, "lab-1", 0);
	out = run_trust_script(script, "lab-1", &status);
	if (status != 0)
		fail_msg("trust script failed (%d): %s", status, out);
	assert_non_null(strstr(out, "incus now trusts berth's certificate"));
	assert_non_null(strstr(out, "# fingerprint for the manifest"));
	assert_string_equal(last_line(out), field("lab-1", "fingerprint"));
	free(out);

	v = incus_get(c, "/1.0/instances", &err);
	if (!v)
		fail_msg("%s", err.msg);
	json_decref(v);

	/* again: nothing to do, same fingerprint */
	out = run_trust_script(script, "lab-1", &status);
	if (status != 0)
		fail_msg("second run of the trust script failed (%d): %s", status, out);
	assert_non_null(strstr(out, "already trusts"));
	assert_string_equal(last_line(out), field("lab-1", "fingerprint"));
	free(out);
	free(script);
	incus_conn_free(c);

	/* a cluster member prints the cluster certificate's fingerprint */
	cluster_fp = json_string_value(json_object_get(json_object_get(lab.json, "cluster"),
						       "fingerprint"));
	script = incus_trust_command(&other, "lab-c2", 1);
	out = run_trust_script(script, "lab-c2", &status);
	if (status != 0)
		fail_msg("trust script on lab-c2 failed (%d): %s", status, out);
	assert_string_equal(last_line(out), cluster_fp);
	free(out);
	free(script);
	c = conn_https("lab-c1", NULL, &other, NULL);
	v = incus_get(c, "/1.0/instances", &err);
	if (!v)
		fail_msg("%s", err.msg);
	json_decref(v);
	incus_conn_free(c);

	incus_identity_release(&other);
	free(sdir);
}

static void
test_etag_412(void **state)
{
	struct incus_conn *c = conn_https("lab-1", NULL, &lab.id, NULL);
	struct incus_response resp;
	struct berr err;
	json_t *body;
	char etag[128];

	(void)state;
	request_ok(c, "GET", "/1.0/profiles/default", NULL, &resp);
	assert_true(resp.etag[0] != '\0');
	memcpy(etag, resp.etag, sizeof(etag));
	incus_response_release(&resp);

	body = json_pack("{s:s, s:{}, s:{}}", "description", "changed by berth's test",
			 "config", "devices");
	assert_int_equal(incus_request(c, "PUT", "/1.0/profiles/default", body,
				       "\"0000000000000000000000000000000000000000000000000000000000000000\"",
				       &resp, &err), -1);
	assert_int_equal(resp.http_status, 412);
	assert_non_null(strstr(err.msg, "PUT /1.0/profiles/default: HTTP 412"));
	incus_response_release(&resp);

	if (incus_request(c, "PUT", "/1.0/profiles/default", body, etag, &resp, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(resp.http_status, 200);
	incus_response_release(&resp);
	/* the old ETag is stale now */
	assert_int_equal(incus_request(c, "PUT", "/1.0/profiles/default", body, etag,
				       &resp, &err), -1);
	assert_int_equal(resp.http_status, 412);
	incus_response_release(&resp);
	json_decref(body);
	incus_conn_free(c);
}

static void
test_size_bound(void **state)
{
	struct incus_opts o = { 0 };
	struct incus_conn *c;
	struct berr err;
	json_t *v;

	(void)state;
	o.max_response = 4096;
	c = conn_https("lab-1", NULL, &lab.id, &o);
	assert_null(incus_get(c, "/1.0", &err));
	assert_string_equal(err.msg, "host \"lab-1\": GET /1.0: response is over the limit of 4096 bytes");
	/* the connection is still usable */
	v = incus_get(c, "/1.0/instances", &err);
	if (!v)
		fail_msg("%s", err.msg);
	json_decref(v);
	incus_conn_free(c);
}

static void
test_async_wait(void **state)
{
	struct incus_conn *c = conn_https("lab-1", NULL, &lab.id, NULL);
	struct incus_response resp;
	struct berr err;
	json_t *img = json_object_get(lab.json, "image_server"), *body, *v;
	char *pem_file, *pem = NULL;
	FILE *f;
	long n;

	(void)state;
	pem_file = xasprintf("%s/server.crt", json_string_value(json_object_get(img, "dir")));
	f = fopen(pem_file, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	pem = xcalloc(1, (size_t)n + 1);
	assert_int_equal(fread(pem, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	/* copy the image from the image server: an async operation */
	body = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:[{s:s}], s:b}",
			 "source", "type", "image", "mode", "pull", "protocol", "incus",
			 "server", json_string_value(json_object_get(img, "endpoint")),
			 "alias", "busybox", "certificate", pem,
			 "aliases", "name", "busybox", "auto_update", 0);
	if (incus_request(c, "POST", "/1.0/images", body, NULL, &resp, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(resp.http_status, 202);
	assert_true(strncmp(resp.operation, "/1.0/operations/", 16) == 0);
	if (incus_wait(c, resp.operation, 120, &err) < 0)
		fail_msg("%s", err.msg);
	incus_response_release(&resp);
	v = incus_get(c, "/1.0/images/aliases/busybox", &err);
	if (!v)
		fail_msg("%s", err.msg);
	json_decref(v);
	json_decref(body);

	/* an operation that fails: its error comes back from the wait */
	body = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s}}",
			 "source", "type", "image", "mode", "pull", "protocol", "incus",
			 "server", json_string_value(json_object_get(img, "endpoint")),
			 "alias", "no-such-image", "certificate", pem);
	if (incus_request(c, "POST", "/1.0/images", body, NULL, &resp, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(incus_wait(c, resp.operation, 120, &err), -1);
	assert_non_null(strstr(err.msg, "host \"lab-1\": operation /1.0/operations/"));
	assert_non_null(strstr(err.msg, " failed: "));
	assert_non_null(strstr(err.msg, "\"no-such-image\" not found"));
	incus_response_release(&resp);
	json_decref(body);
	free(pem);
	free(pem_file);
	incus_conn_free(c);
}

static void
test_observe(void **state)
{
	json_t *obs, *s, *v;
	const char *cluster = "lab-cluster";

	(void)state;
	load_fleet("fleet", NULL, &lab.fleet);
	obs = observe(lab.fleet.fleet, NULL);
	assert_int_equal(json_object_size(json_object_get(obs, "servers")), 3);
	assert_no_error(obs, "lab-1");
	assert_no_error(obs, "lab-2");
	assert_no_error(obs, cluster);
	/* members are observed through their cluster */
	assert_null(json_object_get(json_object_get(obs, "servers"), "lab-c1"));

	s = server_of(obs, "lab-1");
	assert_string_equal(json_string_value(json_object_get(s, "kind")), "host");
	assert_int_equal(requests_of(obs, "lab-1"), 7);
	assert_true(json_is_array(json_object_get(s, "storage_pools")));
	assert_int_equal(json_array_size(json_object_get(s, "images")), 1);
	assert_non_null(json_object_get(json_object_get(s, "resources"), "lab-1"));
	assert_non_null(json_object_get(json_array_get(json_object_get(s, "profiles"), 0), "project"));

	s = server_of(obs, cluster);
	assert_string_equal(json_string_value(json_object_get(s, "kind")), "cluster");
	assert_int_equal(json_array_size(json_object_get(s, "members")), 2);
	assert_int_equal(json_array_size(json_object_get(s, "groups")), 1);
	assert_non_null(json_object_get(json_object_get(s, "resources"), "lab-c2"));
	/* member-specific keys come from the per-member pool GETs */
	v = json_array_get(json_object_get(json_object_get(s, "storage_pool_members"), "lab-c2"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "name")), "local");
	assert_non_null(json_object_get(json_object_get(v, "config"), "source"));
	/* 7 lists + groups + 2 members x (resources + 1 pool) */
	assert_int_equal(requests_of(obs, cluster), 12);
	assert_true(json_integer_value(json_object_get(json_object_get(s, "stats"), "bytes")) > 0);
	record(obs, "lab-observe-fleet.json");
	json_decref(obs);
}

static void
test_observe_constant_requests(void **state)
{
	struct incus_conn *c = conn_unix("lab-2");
	struct incus_response resp;
	json_t *obs;
	json_int_t n10, n500;
	char body[256];
	int i;

	(void)state;
	for (i = 0; i < 500; i++) {
		if (i == 10) {
			obs = observe(lab.fleet.fleet, "lab-2");
			assert_no_error(obs, "lab-2");
			assert_int_equal(json_array_size(json_object_get(server_of(obs, "lab-2"), "profiles")), 11);
			n10 = requests_of(obs, "lab-2");
			json_decref(obs);
		}
		snprintf(body, sizeof(body),
			 "{\"name\": \"p%03d\", \"config\": {\"user.berth.managed\": \"true\", \"limits.cpu\": \"1\"}}", i);
		request_ok(c, "POST", "/1.0/profiles", body, &resp);
		incus_response_release(&resp);
	}
	obs = observe(lab.fleet.fleet, "lab-2");
	assert_int_equal(json_object_size(json_object_get(obs, "servers")), 1);
	assert_no_error(obs, "lab-2");
	assert_int_equal(json_array_size(json_object_get(server_of(obs, "lab-2"), "profiles")), 501);
	n500 = requests_of(obs, "lab-2");
	assert_int_equal(n10, n500);
	assert_int_equal(n500, 7);
	json_decref(obs);

	/* leave 3 of them, as a recorded observation would show them */
	for (i = 3; i < 500; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/1.0/profiles/p%03d", i);
		request_ok(c, "DELETE", path, NULL, &resp);
		incus_response_release(&resp);
	}
	incus_conn_free(c);
}

static void
test_cluster_fallback(void **state)
{
	struct manifest_result res;
	json_t *obs, *s;
	char *dead;
	const char *net = json_string_value(json_object_get(lab.json, "net"));

	(void)state;
	/* nothing listens there: the members' endpoints are tried next */
	dead = xasprintf("https://%s.250:8443", net);
	load_fleet("fleet-fallback", dead, &res);
	obs = observe(res.fleet, "lab-cluster");
	assert_no_error(obs, "lab-cluster");
	s = server_of(obs, "lab-cluster");
	assert_string_equal(json_string_value(json_object_get(s, "endpoint")),
			    field("lab-c1", "endpoint"));
	assert_int_equal(json_array_size(json_object_get(s, "members")), 2);
	json_decref(obs);

	/* a single member named selects its cluster */
	obs = observe(lab.fleet.fleet, "lab-c2");
	assert_no_error(obs, "lab-cluster");
	assert_int_equal(json_object_size(json_object_get(obs, "servers")), 1);
	json_decref(obs);

	/* the connection itself: the member that answered, its /1.0 */
	{
		struct incus_target t;
		struct incus_conn *c;
		struct berr err;
		json_t *info = NULL;
		size_t used = 9;
		unsigned long req = 0;
		char *dead2 = xasprintf("https://%s.251:8443", net);
		const char *eps[2];

		incus_target_init(&t, res.fleet, "lab-cluster", 1);
		assert_int_equal(t.nendpoints, 3);
		c = incus_target_connect(&t, &lab.id, NULL, &info, &used, &req, NULL, &err);
		if (!c)
			fail_msg("%s", err.msg);
		assert_int_equal(used, 1);
		assert_true(req >= 1);	/* the dead endpoint's attempt */
		assert_true(json_is_object(json_object_get(info, "environment")));
		json_decref(info);
		incus_conn_free(c);
		incus_target_release(&t);

		/* no member answers: each one's error, in turn */
		memset(&t, 0, sizeof(t));
		t.name = "lab-cluster";
		t.is_cluster = 1;
		t.fingerprint = field("lab-c1", "fingerprint");
		eps[0] = dead;
		eps[1] = dead2;
		t.endpoints = eps;
		t.nendpoints = 2;
		assert_null(incus_target_connect(&t, &lab.id, NULL, NULL, NULL, NULL, NULL, &err));
		if (strstr(err.msg, "cluster \"lab-cluster\": no member answered: ") != err.msg ||
		    !strstr(err.msg, "; ") || !strstr(err.msg, ".250") || !strstr(err.msg, ".251"))
			fail_msg("%s", err.msg);

		/* a name the manifests do not have */
		incus_target_init(&t, res.fleet, "nowhere", 0);
		assert_null(incus_target_connect(&t, &lab.id, NULL, NULL, NULL, NULL, NULL, &err));
		assert_string_equal(err.msg, "host \"nowhere\": not in the manifests, or without an"
				    " endpoint");
		incus_target_release(&t);
		free(dead2);
	}
	manifest_result_release(&res);
	free(dead);
}

/* Objects of every kind on lab-1 and the cluster, then a recording. */
static void
test_observe_populated(void **state)
{
	struct incus_conn *c = conn_https("lab-1", NULL, &lab.id, NULL);
	struct incus_conn *cc = conn_https("lab-c1", NULL, &lab.id, NULL);
	json_t *obs, *s, *v;
	size_t i;
	int running = 0;

	(void)state;
	request_wait(c, "POST", "/1.0/storage-pools",
		     "{\"name\": \"incus\", \"driver\": \"dir\", \"config\": {\"user.berth.managed\": \"true\"}}");
	request_wait(c, "POST", "/1.0/projects",
		     "{\"name\": \"tenants\", \"config\": {\"features.images\": \"false\", "
		     "\"features.profiles\": \"false\", \"limits.instances\": \"20\", "
		     "\"user.berth.managed\": \"true\"}}");
	request_wait(c, "POST", "/1.0/profiles",
		     "{\"name\": \"plan-ct-small\", \"description\": \"berth plan ct-small\", "
		     "\"config\": {\"limits.cpu\": \"1\", \"limits.memory\": \"256MiB\", "
		     "\"user.berth.managed\": \"true\", \"user.berth.plan\": \"ct-small\"}, "
		     "\"devices\": {\"root\": {\"type\": \"disk\", \"path\": \"/\", \"pool\": \"incus\", \"size\": \"1GiB\"}}}");
	request_wait(c, "POST", "/1.0/profiles",
		     "{\"name\": \"handmade\", \"config\": {\"limits.cpu\": \"2\"}}");
	request_wait(c, "POST", "/1.0/instances?project=tenants",
		     "{\"name\": \"ct1\", \"type\": \"container\", \"profiles\": [\"plan-ct-small\"], "
		     "\"source\": {\"type\": \"image\", \"alias\": \"busybox\"}, "
		     "\"config\": {\"user.berth.managed\": \"true\", \"user.berth.owner\": \"customer-42\"}}");
	request_wait(c, "PUT", "/1.0/instances/ct1/state?project=tenants",
		     "{\"action\": \"start\", \"timeout\": 30}");
	request_wait(c, "POST", "/1.0/instances",
		     "{\"name\": \"stopped1\", \"type\": \"container\", \"profiles\": [\"plan-ct-small\"], "
		     "\"source\": {\"type\": \"image\", \"alias\": \"busybox\"}}");

	request_wait(cc, "POST", "/1.0/profiles",
		     "{\"name\": \"plan-ct-small\", \"config\": {\"limits.cpu\": \"1\", "
		     "\"user.berth.managed\": \"true\"}, \"devices\": {\"root\": {\"type\": \"disk\", "
		     "\"path\": \"/\", \"pool\": \"local\"}}}");
	request_wait(cc, "POST", "/1.0/projects",
		     "{\"name\": \"tenants\", \"config\": {\"features.images\": \"false\", "
		     "\"features.profiles\": \"false\"}}");

	obs = observe(lab.fleet.fleet, NULL);
	assert_no_error(obs, "lab-1");
	assert_no_error(obs, "lab-2");
	assert_no_error(obs, "lab-cluster");
	s = server_of(obs, "lab-1");
	assert_int_equal(requests_of(obs, "lab-1"), 7);
	assert_int_equal(json_array_size(json_object_get(s, "instances")), 2);
	json_array_foreach(json_object_get(s, "instances"), i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), "ct1") == 0) {
			assert_string_equal(json_string_value(json_object_get(v, "project")), "tenants");
			running = strcmp(json_string_value(json_object_get(v, "status")), "Running") == 0;
		}
	}
	assert_true(running);
	assert_int_equal(json_array_size(json_object_get(s, "projects")), 2);
	assert_int_equal(json_array_size(json_object_get(s, "storage_pools")), 1);
	assert_int_equal(requests_of(obs, "lab-cluster"), 12);
	record(obs, "lab-observe-populated.json");
	json_decref(obs);
	incus_conn_free(c);
	incus_conn_free(cc);
}

static void
test_observe_daemon_down(void **state)
{
	json_int_t pid = json_integer_value(json_object_get(daemon_of("lab-2"), "pid"));
	json_t *obs, *s;
	const char *e;

	(void)state;
	assert_true(pid > 1);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	lab_wait_gone((long)pid, 60000);	/* its sockets are closed */

	obs = observe(lab.fleet.fleet, NULL);
	s = server_of(obs, "lab-2");
	e = json_string_value(json_object_get(s, "error"));
	assert_non_null(e);
	assert_non_null(strstr(e, "host \"lab-2\": GET /1.0 at https://"));
	assert_null(json_object_get(s, "profiles"));
	assert_non_null(json_object_get(s, "stats"));
	/* the connection was refused: retried, then given up */
	assert_int_equal(requests_of(obs, "lab-2"), 4);
	assert_no_error(obs, "lab-1");
	assert_no_error(obs, "lab-cluster");
	record(obs, "lab-observe-one-down.json");
	json_decref(obs);
}

int
main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_trust_script_shape),
		cmocka_unit_test(test_bad_endpoints),
		cmocka_unit_test(test_tls_backend),
	};
	const struct CMUnitTest lab_tests[] = {
		cmocka_unit_test(test_unix_get),
		cmocka_unit_test(test_https_trusted),
		cmocka_unit_test(test_wrong_fingerprint),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_trust_command),
		cmocka_unit_test(test_etag_412),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_async_wait),
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_observe_constant_requests),
		cmocka_unit_test(test_cluster_fallback),
		cmocka_unit_test(test_observe_populated),
		cmocka_unit_test(test_observe_daemon_down),
	};
	const char *why;
	int rc;

	incus_global_init();
	source_global_init();
	rc = cmocka_run_group_tests_name("incus-offline", offline, NULL, NULL);
	if ((why = lab_missing()))
		rc = rc ? rc : lab_skip("test-incus", why);
	else
		rc |= cmocka_run_group_tests_name("incus-lab", lab_tests, lab_setup, lab_teardown);
	source_global_shutdown();
	return rc;
}
