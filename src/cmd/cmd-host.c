/*
 * berth host trust-command NAME - the shell command that makes a host (or a
 * cluster) trust berth's client certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "incus/client.h"
#include "incus/trust.h"
#include "manifest/manifest.h"
#include "util/banned.h"

static int
trust_command(struct ctx *ctx, const char *name)
{
	struct manifest_result res = { 0 };
	struct incus_identity id = { 0 };
	struct berr err;
	const struct m_host *h;
	int is_cluster = 0, ret = EXIT_FAIL;
	char *script;

	if (load_valid_fleet(ctx, &res, "") < 0)
		goto out;
	if ((h = fleet_host(res.fleet, name))) {
		is_cluster = h->cluster != NULL;
	} else if (fleet_cluster(res.fleet, name)) {
		is_cluster = 1;
	} else {
		cmd_error(ctx, "unknown host \"%s\": want the name of a Host or Cluster in the manifests", name);
		goto out;
	}
	if (incus_identity_load(ctx->state_dir, &id, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	script = incus_trust_command(&id, name, is_cluster);
	fputs(script, stdout);
	free(script);
	ret = EXIT_OK;
out:
	incus_identity_release(&id);
	manifest_result_release(&res);
	return ret;
}

int
cmd_host(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	const char *operands[2] = { NULL, NULL };
	int r, n = 0;

	optparse_init(&p, ctx, argc, argv, NULL);
	while ((r = opt_next(&p)) != OPT_END) {
		if (r == OPT_HELP)
			return command_help(ctx);
		if (r != OPT_OPERAND)
			return EXIT_FAIL;
		if (n == 2)
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		operands[n++] = p.arg;
	}
	if (!operands[0])
		return usage_error(ctx, "want a subcommand: trust-command NAME");
	if (strcmp(operands[0], "trust-command"))
		return usage_error(ctx, "unknown subcommand \"%s\": want trust-command", operands[0]);
	if (!operands[1])
		return usage_error(ctx, "trust-command: want the name of a host");
	return trust_command(ctx, operands[1]);
}
