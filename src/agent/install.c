/*
 * install.c - the script of berth host install-command: a header with the
 * host's values, the trust steps, then install.sh (built in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/install.h"
#include "embedded.h"
#include "incus/trust.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define URL_MAX 2048

static int
ascii_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * v is made of ASCII letters, digits and the characters of extra only (none
 * of which needs quoting inside '' in sh, nor in a systemd environment
 * file), and has 1 to max characters. 0, or -1 with err about what.
 */
static int
check_chars(const char *what, const char *v, const char *extra, size_t max, struct berr *err)
{
	size_t n = strlen(v);
	const char *s;

	if (n == 0)
		return berr_set(err, "%s: want a value, have an empty one", what);
	if (n > max)
		return berr_set(err, "%s: want at most %zu characters, have %zu", what, max, n);
	for (s = v; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (ascii_alnum(c) || strchr(extra, c))
			continue;
		if (c > 0x20 && c < 0x7f)
			return berr_set(err, "%s: want letters, digits and %s only, have '%c' in \"%s\"",
					what, extra, c, v);
		return berr_set(err, "%s: want letters, digits and %s only, have byte 0x%02x",
				what, extra, c);
	}
	return 0;
}

/* An http:// or https:// URL with a host, in characters a script takes as they are. */
static int
check_url(const char *what, const char *v, struct berr *err)
{
	const char *rest;

	if (!strncmp(v, "https://", 8))
		rest = v + 8;
	else if (!strncmp(v, "http://", 7))
		rest = v + 7;
	else
		return berr_set(err, "%s: want an http:// or https:// URL, have \"%s\"", what, v);
	if (!*rest || *rest == '/')
		return berr_set(err, "%s: want a host in the URL, have \"%s\"", what, v);
	return check_chars(what, v, "-._~:/?#[]@!&*+,;=%", URL_MAX, err);
}

char *
agent_install_listen(const char *endpoint)
{
	const char *a, *end, *s, *colon = NULL;

	if (!endpoint || strncmp(endpoint, "https://", 8))
		return NULL;
	a = endpoint + 8;
	end = a + strcspn(a, "/?#");
	/* the port follows the last ':' after the ']' of an IPv6 literal */
	for (s = a; s < end; s++) {
		if (*s == ']')
			colon = NULL;
		else if (*s == ':')
			colon = s;
	}
	if (colon && end - colon > 1 && end - colon <= 6 &&
	    strspn(colon + 1, "0123456789") == (size_t)(end - colon - 1))
		return xasprintf(":%.*s", (int)(end - colon - 1), colon + 1);
	return xstrdup(":8443");
}

static int
check_install(const struct agent_install *in, struct berr *err)
{
	const char *s;

	if (check_chars("host name", in->host, "-._", 253, err) < 0 ||
	    check_url("--server", in->server, err) < 0)
		return -1;
	if (in->package_url) {
		if (check_url("--package-url", in->package_url, err) < 0)
			return -1;
		s = in->package_sha256;
		if (!s || strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
			return berr_set(err, "--package-sha256: want the package's SHA-256, 64 hex "
					"digits, have \"%s\"", s ? s : "");
	} else if (in->package_sha256) {
		return berr_set(err, "--package-sha256: want it with --package-url");
	}
	if (in->incus_listen &&
	    check_chars("--incus-listen", in->incus_listen, "-.:[]", 256, err) < 0)
		return -1;
	if (in->manifest_key &&
	    check_chars("spec.agent.key", in->manifest_key, "+/=:", 128, err) < 0)
		return -1;
	if (in->manifest_fingerprint &&
	    check_chars("spec.fingerprint", in->manifest_fingerprint, "", 64, err) < 0)
		return -1;
	return 0;
}

/* name='value' (value checked: no quote in it); '' for NULL. */
static void
add_var(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, "%s='%s'\n", name, value ? value : "");
}

static const struct embedded_file *
body(void)
{
	size_t i;

	for (i = 0; i < embedded_scripts_count; i++)
		if (!strcmp(embedded_scripts[i].name, "install.sh"))
			return &embedded_scripts[i];
	return NULL;
}

char *
agent_install_script(const struct incus_identity *id, const struct agent_install *in,
		     struct berr *err)
{
	struct buf b = BUF_INIT;
	const struct embedded_file *f = body();
	char *sha = NULL, *p;

	if (check_install(in, err) < 0)
		return NULL;
	if (!f) {
		berr_set(err, "install.sh is not built into this berth");
		return NULL;
	}
	if (in->package_sha256) {
		sha = xstrdup(in->package_sha256);
		for (p = sha; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	}
	buf_addf(&b, "#!/bin/sh\n"
		 "# berth host install-command %s: run as root on the new host \"%s\"\n"
		 "# (Debian 12 or 13, Ubuntu 22.04 or later). It installs Incus when it is\n"
		 "# missing, makes it trust berth's client certificate\n"
		 "# (SHA-256 %s),\n"
		 "# makes the agent's key, writes /etc/berth/agent.env, starts\n"
		 "# berth-agent.service and prints what the Host manifest needs.\n"
		 "# Safe to run again.\n"
		 "set -eu\n"
		 "umask 077\n", in->host, in->host, id->fingerprint);
	add_var(&b, "berth_host", in->host);
	add_var(&b, "berth_server", in->server);
	add_var(&b, "berth_package_url", in->package_url);
	add_var(&b, "berth_package_sha256", sha);
	add_var(&b, "berth_incus_listen", in->incus_listen);
	add_var(&b, "berth_manifest_key", in->manifest_key);
	add_var(&b, "berth_manifest_fp", in->manifest_fingerprint);
	buf_addstr(&b, "berth_trust() {\n");
	incus_trust_steps(&b, id, in->is_cluster);
	buf_addstr(&b, "}\n");
	buf_add(&b, f->data, f->len);
	free(sha);
	return buf_detach(&b, NULL);
}
