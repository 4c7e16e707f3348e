/*
 * berth agent keygen|run|once - the agent on each host.
 *
 *   keygen --out FILE      a new Ed25519 key (0600); prints its public key
 *                          for the Host manifest's spec.agent.key
 *   pubkey --key FILE      the public key of an existing key, the same way
 *   run  --host NAME --key FILE --server URL [--incus unix:///...]
 *        [--interval 30s] [--spool DIR] [--interface IF]... [--spool-max N]
 *        [--server-ca FILE]
 *   once (the same options): one report, delivered with the spool, exit
 *        0 when everything was delivered, 1 when reports stay spooled
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/keys.h"
#include "cmd/cmd.h"
#include "util/clock.h"
#include "util/notify.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum { O_OUT, O_HOST, O_KEY, O_SERVER, O_INCUS, O_INTERVAL, O_SPOOL, O_IFACE, O_SPOOL_MAX,
       O_SERVER_CA, O_PROC, O_SYS, O_MODULES };

static const struct opt agent_opts[] = {
	{ "out", 'o', 1, O_OUT },
	{ "host", 0, 1, O_HOST },
	{ "key", 0, 1, O_KEY },
	{ "server", 0, 1, O_SERVER },
	{ "incus", 0, 1, O_INCUS },
	{ "interval", 0, 1, O_INTERVAL },
	{ "spool", 0, 1, O_SPOOL },
	{ "interface", 0, 1, O_IFACE },
	{ "spool-max", 0, 1, O_SPOOL_MAX },
	{ "server-ca", 0, 1, O_SERVER_CA },
	{ "proc", 0, 1, O_PROC },
	{ "sys", 0, 1, O_SYS },
	{ "modules", 0, 1, O_MODULES },
	{ NULL, 0, 0, 0 },
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int
keygen(struct ctx *ctx, const char *out)
{
	char pub[AGENT_PUBKEY_MAX];
	struct berr err;

	if (!out)
		return usage_error(ctx, "keygen: want --out FILE");
	if (agent_keygen(out, pub, &err) < 0) {
		cmd_berr(ctx, &err);
		return EXIT_FAIL;
	}
	printf("%s\n", pub);
	cmd_info(ctx, "key written to %s (mode 0600); put the line above in the Host manifest "
	     "as spec.agent.key", out);
	return EXIT_OK;
}

static int
pubkey(struct ctx *ctx, const char *path)
{
	char pub[AGENT_PUBKEY_MAX];
	struct evp_pkey_st *k;
	struct berr err;

	if (!path)
		return usage_error(ctx, "pubkey: want --key FILE");
	if (!(k = agent_key_load(path, pub, &err))) {
		cmd_berr(ctx, &err);
		return EXIT_FAIL;
	}
	agent_key_free(k);
	printf("%s\n", pub);
	return EXIT_OK;
}

/* Default spool: beside berth's state, one per host name. */
static char *
default_spool(const struct ctx *ctx, const char *host)
{
	return xasprintf("%s/agent/%s", ctx->state_dir, host ? host : "host");
}

static void
report_round(const struct ctx *ctx, const struct agent_round *r)
{
	if (r->seq)
		cmd_info(ctx, "report %" PRIu64 " made (%zu instances); %zu delivered%s%s",
		     r->seq, r->instances, r->delivered, r->waiting ? ", " : "",
		     r->waiting ? "some wait in the spool" : "");
	if (r->discarded)
		cmd_error(ctx, "%zu reports the intake will never take were moved to the spool's "
		      "rejected/ directory", r->discarded);
	if (r->stopped)
		cmd_error(ctx, "%s; %zu reports wait in the spool", r->error, r->waiting);
}

static int
run(struct ctx *ctx, struct agent_opts *ao, int once)
{
	struct agent *a;
	struct agent_round r;
	struct berr err;
	int64_t watchdog = notify_watchdog_ms(), pinged = clock_mono_ms();
	char *status;
	int ret = EXIT_OK;

	if (!ao->host || !ao->key_path || !ao->server)
		return usage_error(ctx, "%s: want --host NAME, --key FILE and --server URL",
				   once ? "once" : "run");
	if (!(a = agent_new(ao, &err))) {
		cmd_berr(ctx, &err);
		return EXIT_FAIL;
	}
	if (once) {
		if (agent_round(a, &r, &err) < 0) {
			cmd_error(ctx, "no report made: %s", err.msg);
			ret = EXIT_FAIL;
		} else {
			report_round(ctx, &r);
			if (r.stopped || r.discarded)
				ret = EXIT_FAIL;
		}
		agent_free(a);
		return ret;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	cmd_info(ctx, "agent for host %s reporting to %s every %" PRIu64 " s", ao->host, ao->server,
	     ao->interval_ms / 1000);
	status = xasprintf("READY=1\nSTATUS=reporting to %s every %" PRIu64 " s", ao->server,
			   ao->interval_ms / 1000);
	notify_send(status);	/* Type=notify: ready once the key and spool are loaded */
	free(status);
	while (!stop_requested) {
		int64_t next = clock_mono_ms() + (int64_t)ao->interval_ms;

		if (agent_round(a, &r, &err) < 0)
			cmd_error(ctx, "no report made: %s", err.msg);
		else if (ctx->verbosity > 0 || r.stopped || r.discarded)
			report_round(ctx, &r);
		while (!stop_requested) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			int64_t now = clock_mono_ms();

			if (watchdog && now - pinged >= watchdog / 2) {
				notify_send("WATCHDOG=1");
				pinged = now;
			}
			if (now >= next)
				break;
			nanosleep(&ts, NULL);
		}
	}
	notify_send("STOPPING=1");
	cmd_info(ctx, "agent stopped");
	agent_free(a);
	return EXIT_OK;
}

int
cmd_agent(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct agent_opts ao = { 0 };
	const char *sub = NULL, *out = NULL;
	const char **ifaces = NULL;
	size_t nifaces = 0;
	char *spool = NULL;
	unsigned long n;
	struct berr err;
	int r, ret;

	optparse_init(&p, ctx, argc, argv, agent_opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: free(ifaces); return command_help(ctx);
		case OPT_OPERAND:
			if (sub) {
				free(ifaces);
				return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
			}
			sub = p.arg;
			break;
		case O_OUT: out = p.arg; break;
		case O_HOST: ao.host = p.arg; break;
		case O_KEY: ao.key_path = p.arg; break;
		case O_SERVER: ao.server = p.arg; break;
		case O_INCUS: ao.collect.incus_endpoint = p.arg; break;
		case O_SPOOL: ao.spool_dir = p.arg; break;
		case O_SERVER_CA: ao.server_ca = p.arg; break;
		case O_PROC: ao.collect.proc_root = p.arg; break;
		case O_SYS: ao.collect.sys_root = p.arg; break;
		case O_MODULES: ao.collect.modules_root = p.arg; break;
		case O_IFACE:
			ifaces = xreallocarray(ifaces, nifaces + 1, sizeof(*ifaces));
			ifaces[nifaces++] = p.arg;
			break;
		case O_INTERVAL:
			if (parse_duration(p.arg, &ao.interval_ms, &err) < 0 ||
			    ao.interval_ms < 1000 || ao.interval_ms > 3600000) {
				free(ifaces);
				return usage_error(ctx, "--interval: want a duration from 1s to 1h "
						   "like 30s, have \"%s\"", p.arg);
			}
			break;
		case O_SPOOL_MAX:
			if (!opt_parse_uint(p.arg, 10000000, &n) || n == 0) {
				free(ifaces);
				return usage_error(ctx, "--spool-max: want a number of reports from 1, "
						   "have \"%s\"", p.arg);
			}
			ao.spool.max_reports = n;
			break;
		default: free(ifaces); return EXIT_FAIL;
		}
	}
	ao.collect.interfaces = ifaces;
	ao.collect.ninterfaces = nifaces;
	if (!sub) {
		ret = usage_error(ctx, "want keygen, pubkey, run or once");
	} else if (!strcmp(sub, "keygen")) {
		ret = keygen(ctx, out);
	} else if (!strcmp(sub, "pubkey")) {
		ret = pubkey(ctx, ao.key_path);
	} else if (!strcmp(sub, "run") || !strcmp(sub, "once")) {
		if (!ao.spool_dir)
			ao.spool_dir = spool = default_spool(ctx, ao.host);
		ret = run(ctx, &ao, !strcmp(sub, "once"));
	} else {
		ret = usage_error(ctx, "unknown subcommand \"%s\": want keygen, pubkey, run or once",
				  sub);
	}
	free(spool);
	free(ifaces);
	return ret;
}
