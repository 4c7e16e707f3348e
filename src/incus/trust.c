/*
 * trust.c - the command an operator runs on a host so that it trusts berth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "incus/trust.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* host_name is a DNS label, but a comment must not end early anyway. */
static void
add_comment_safe(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_addch(b, (*s == '\n' || *s == '\r') ? ' ' : *s);
}

void
incus_trust_steps(struct buf *b, const struct incus_identity *id, int is_cluster)
{
	const char *crt = is_cluster ? "cluster.crt" : "server.crt";
	const char *pem = id->cert_pem ? id->cert_pem : "";
	size_t n = strlen(pem);

	buf_addf(b, "berth_fp=%s\n", id->fingerprint);
	buf_addf(b, "server_crt=\"${INCUS_DIR:-/var/lib/incus}/%s\"\n", crt);
	buf_addstr(b,
		"if incus query \"/1.0/certificates/$berth_fp\" >/dev/null 2>&1; then\n"
		"\techo \"incus already trusts berth's certificate $berth_fp\"\n"
		"else\n"
		"\tberth_crt=$(mktemp)\n"
		"\ttrap 'rm -f \"$berth_crt\"' EXIT\n"
		"\tcat >\"$berth_crt\" <<'BERTH_CERTIFICATE'\n");
	buf_add(b, pem, n);
	if (n && pem[n - 1] != '\n')
		buf_addch(b, '\n');
	buf_addstr(b,
		"BERTH_CERTIFICATE\n"
		"\tincus config trust add-certificate \"$berth_crt\" --name berth\n"
		"\trm -f \"$berth_crt\"\n"
		"\ttrap - EXIT\n"
		"\techo \"incus now trusts berth's certificate $berth_fp\"\n"
		"fi\n"
		"if [ ! -r \"$server_crt\" ]; then\n"
		"\techo \"cannot read $server_crt: set INCUS_DIR to the Incus directory\" >&2\n"
		"\texit 1\n"
		"fi\n"
		"server_fp=$(awk '/-----BEGIN CERTIFICATE-----/ { f = 1; next }\n"
		"\t/-----END CERTIFICATE-----/ { if (f) exit } f' \"$server_crt\" |\n"
		"\tbase64 -d | sha256sum | cut -d' ' -f1)\n"
		"case $server_fp in\n"
		"''|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)\n"
		"\techo \"no certificate in $server_crt\" >&2\n"
		"\texit 1 ;;\n"
		"esac\n");
}

char *
incus_trust_command(const struct incus_identity *id, const char *host_name,
		    int is_cluster)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "#!/bin/sh\n# Run as root on ");
	buf_addstr(&b, is_cluster ? "a member of cluster \"" : "host \"");
	add_comment_safe(&b, host_name);
	buf_addstr(&b, "\": makes its Incus trust berth's client certificate\n");
	buf_addf(&b, "# (SHA-256 %s) and prints the fingerprint for the manifest.\n",
		 id->fingerprint);
	buf_addstr(&b,
		"set -eu\n"
		"umask 077\n");
	incus_trust_steps(&b, id, is_cluster);
	buf_addstr(&b,
		"echo '# fingerprint for the manifest (spec.fingerprint):'\n"
		"echo \"$server_fp\"\n");
	return buf_detach(&b, NULL);
}

/* 1 when c's server trusts certificate fp, 0 when not, -1 with err. */
static int
trusts(struct incus_conn *c, const char *fp, struct berr *err)
{
	struct incus_response resp;
	char path[128];
	int r;

	snprintf(path, sizeof(path), "/1.0/certificates/%s", fp);
	r = incus_request(c, "GET", path, NULL, NULL, &resp, err);
	if (r < 0 && resp.http_status == 404)
		r = 0;
	else if (r == 0)
		r = 1;
	incus_response_release(&resp);
	return r;
}

/* The base64 of the DER of the first certificate of pem, as Incus takes it. */
static char *
der_base64(const char *pem)
{
	const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----"), *end, *s;
	struct buf b = BUF_INIT;

	if (!begin)
		return NULL;
	begin += strlen("-----BEGIN CERTIFICATE-----");
	if (!(end = strstr(begin, "-----END CERTIFICATE-----")))
		return NULL;
	for (s = begin; s < end; s++)
		if (!strchr(" \t\r\n", *s))
			buf_addch(&b, *s);
	return buf_detach(&b, NULL);
}

int
incus_trust_add(struct incus_conn *c, const char *pem, const char *name,
		struct berr *err)
{
	struct incus_response resp;
	char fp[65];
	char *der;
	json_t *body;
	int r;

	if (incus_pem_fingerprint(pem, fp, err) < 0)
		return -1;
	if ((r = trusts(c, fp, err)) != 0)
		return r < 0 ? -1 : 0;
	if (!(der = der_base64(pem)))
		return berr_set(err, "not a PEM certificate");
	body = json_pack("{s:s, s:s, s:s}", "name", name, "type", "client",
			 "certificate", der);
	r = incus_request(c, "POST", "/1.0/certificates", body, NULL, &resp, err);
	incus_response_release(&resp);
	json_decref(body);
	free(der);
	return r < 0 ? -1 : 1;
}

int
incus_trust_remove(struct incus_conn *c, const char *fp, struct berr *err)
{
	struct incus_response resp;
	char path[128];
	int r;

	if ((r = trusts(c, fp, err)) <= 0)
		return r;
	snprintf(path, sizeof(path), "/1.0/certificates/%s", fp);
	r = incus_request(c, "DELETE", path, NULL, NULL, &resp, err);
	incus_response_release(&resp);
	return r < 0 ? -1 : 1;
}
