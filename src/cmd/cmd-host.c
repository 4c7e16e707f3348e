/*
 * berth host trust-command NAME - the shell command that makes a host (or a
 * cluster) trust berth's client certificate.
 * berth host install-command NAME --server URL [--package-url URL
 *     --package-sha256 HEX] [--incus-listen ADDR] - the script that makes a
 * new machine host NAME: Incus, its trust of berth, the agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/install.h"
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

enum { O_SERVER = 1, O_PACKAGE_URL, O_PACKAGE_SHA256, O_INCUS_LISTEN };

static const struct opt host_opts[] = {
	{ "server", 0, 1, O_SERVER },
	{ "package-url", 0, 1, O_PACKAGE_URL },
	{ "package-sha256", 0, 1, O_PACKAGE_SHA256 },
	{ "incus-listen", 0, 1, O_INCUS_LISTEN },
	{ NULL, 0, 0, 0 },
};

static int
install_command(struct ctx *ctx, const char *name, const struct agent_install *opts)
{
	struct manifest_result res = { 0 };
	struct incus_identity id = { 0 };
	struct agent_install in = *opts;
	struct berr err;
	const struct m_host *h;
	char *listen = NULL, *script;
	int ret = EXIT_FAIL;

	if (load_valid_fleet(ctx, &res, "") < 0)
		goto out;
	if (!(h = fleet_host(res.fleet, name))) {
		if (fleet_cluster(res.fleet, name))
			cmd_error(ctx, "\"%s\" is a Cluster: want the name of a Host (run "
				  "install-command for each member)", name);
		else
			cmd_error(ctx, "unknown host \"%s\": want the name of a Host in the manifests",
				  name);
		goto out;
	}
	if (incus_identity_load(ctx->state_dir, &id, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	in.host = name;
	in.is_cluster = h->cluster != NULL;
	in.manifest_key = h->agent_key;
	in.manifest_fingerprint = h->fingerprint;
	/* a cluster member listens already: the cluster needs it */
	if (!in.incus_listen && !in.is_cluster)
		in.incus_listen = listen = agent_install_listen(h->endpoint);
	if (!(script = agent_install_script(&id, &in, &err))) {
		cmd_berr(ctx, &err);
		goto out;
	}
	fputs(script, stdout);
	free(script);
	ret = EXIT_OK;
out:
	free(listen);
	incus_identity_release(&id);
	manifest_result_release(&res);
	return ret;
}

int
cmd_host(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct agent_install in = { 0 };
	const char *operands[2] = { NULL, NULL };
	int r, n = 0, nopts = 0;

	optparse_init(&p, ctx, argc, argv, host_opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: return command_help(ctx);
		case OPT_OPERAND:
			if (n == 2)
				return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
			operands[n++] = p.arg;
			continue;
		case O_SERVER: in.server = p.arg; break;
		case O_PACKAGE_URL: in.package_url = p.arg; break;
		case O_PACKAGE_SHA256: in.package_sha256 = p.arg; break;
		case O_INCUS_LISTEN: in.incus_listen = p.arg; break;
		default: return EXIT_FAIL;
		}
		nopts++;
	}
	if (!operands[0])
		return usage_error(ctx, "want a subcommand: trust-command NAME or install-command NAME");
	if (!strcmp(operands[0], "trust-command")) {
		if (!operands[1])
			return usage_error(ctx, "trust-command: want the name of a host");
		if (nopts)
			return usage_error(ctx, "trust-command: want no options (--server and the "
					   "others are install-command's)");
		return trust_command(ctx, operands[1]);
	}
	if (!strcmp(operands[0], "install-command")) {
		if (!operands[1])
			return usage_error(ctx, "install-command: want the name of a host");
		if (!in.server)
			return usage_error(ctx, "install-command: want --server URL, the berth serve "
					   "the host's agent reports to");
		return install_command(ctx, operands[1], &in);
	}
	return usage_error(ctx, "unknown subcommand \"%s\": want trust-command or install-command",
			   operands[0]);
}
