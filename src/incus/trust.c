/*
 * trust.c - the command an operator runs on a host so that it trusts berth.
 */
#include <string.h>

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

char *
incus_trust_command(const struct incus_identity *id, const char *host_name,
		    int is_cluster)
{
	struct buf b = BUF_INIT;
	const char *crt = is_cluster ? "cluster.crt" : "server.crt";
	const char *pem = id->cert_pem ? id->cert_pem : "";
	size_t n = strlen(pem);

	buf_addstr(&b, "#!/bin/sh\n# Run as root on ");
	buf_addstr(&b, is_cluster ? "a member of cluster \"" : "host \"");
	add_comment_safe(&b, host_name);
	buf_addstr(&b, "\": makes its Incus trust berth's client certificate\n");
	buf_addf(&b, "# (SHA-256 %s) and prints the fingerprint for the manifest.\n",
		 id->fingerprint);
	buf_addstr(&b,
		"set -eu\n"
		"umask 077\n");
	buf_addf(&b, "berth_fp=%s\n", id->fingerprint);
	buf_addf(&b, "server_crt=\"${INCUS_DIR:-/var/lib/incus}/%s\"\n", crt);
	buf_addstr(&b,
		"if incus query \"/1.0/certificates/$berth_fp\" >/dev/null 2>&1; then\n"
		"\techo \"incus already trusts berth's certificate $berth_fp\"\n"
		"else\n"
		"\tberth_crt=$(mktemp)\n"
		"\ttrap 'rm -f \"$berth_crt\"' EXIT\n"
		"\tcat >\"$berth_crt\" <<'BERTH_CERTIFICATE'\n");
	buf_add(&b, pem, n);
	if (n && pem[n - 1] != '\n')
		buf_addch(&b, '\n');
	buf_addstr(&b,
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
		"esac\n"
		"echo '# fingerprint for the manifest (spec.fingerprint):'\n"
		"echo \"$server_fp\"\n");
	return buf_detach(&b, NULL);
}
