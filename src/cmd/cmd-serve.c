/*
 * berth serve - two listeners: the agents' (--listen, default
 * 127.0.0.1:8080), which takes reports and answers /healthz, and the
 * admin one (--admin-listen, default 127.0.0.1:8081; "none": not at all),
 * which answers the API and /metrics to a token (serve/http.h, api.h).
 *
 * Keys come from the Host manifests of the configured commit; SIGHUP
 * reads the manifests again (a moved branch, a new host's key). Tokens
 * are read on every request: `berth token create|revoke` count from the
 * next one. SIGTERM and SIGINT stop it, after the reports in flight are
 * committed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "serve/api.h"
#include "serve/http.h"
#include "serve/intake.h"
#include "serve/watch.h"
#include "apply/webhooks.h"
#include "util/webhook.h"
#include "util/clock.h"
#include "util/notify.h"
#include "util/xalloc.h"
#include "util/units.h"
#include "util/banned.h"

enum { O_LISTEN, O_ADMIN, O_CERT, O_KEY, O_HISTORY, O_CONNS, O_TIMEOUT, O_BUFFERED, O_NOTIFY };

static const struct opt serve_opts[] = {
	{ "listen", 0, 1, O_LISTEN },
	{ "notify", 0, 1, O_NOTIFY },
	{ "admin-listen", 0, 1, O_ADMIN },
	{ "tls-cert", 0, 1, O_CERT },
	{ "tls-key", 0, 1, O_KEY },
	{ "history", 0, 1, O_HISTORY },
	{ "max-connections", 0, 1, O_CONNS },
	{ "timeout", 0, 1, O_TIMEOUT },
	{ "max-buffered", 0, 1, O_BUFFERED },
	{ NULL, 0, 0, 0 },
};

#define ADMIN_DEFAULT	"127.0.0.1:8081"

static volatile sig_atomic_t stop_requested, reload_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void
warn_cb(void *arg, const char *msg)
{
	cmd_warn(arg, "%s", msg);
}

int
cmd_serve(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct http_opts ho = { 0 }, ao = { 0 };
	struct intake_opts io = { 0 };
	struct manifest_result res = { 0 }, next;
	struct intake *in = NULL;
	struct api *api = NULL;
	struct http_server *hs = NULL, *as = NULL;
	struct berr err;
	uint64_t ms;
	unsigned long n;
	long ntokens;
	const char **notify = NULL, **urls = NULL;
	char *urls_keep = NULL, *status = NULL;
	size_t nnotify = 0, nurls;
	struct watch *watch = NULL;
	int64_t watchdog = notify_watchdog_ms(), pinged = clock_mono_ms();
	int r, ret = EXIT_FAIL;

	optparse_init(&p, ctx, argc, argv, serve_opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: return command_help(ctx);
		case OPT_OPERAND: return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		case O_LISTEN: ho.listen = p.arg; break;
		case O_NOTIFY:
			if (!webhook_url_ok(p.arg)) {
				free(notify);
				return usage_error(ctx, "--notify: want an http:// or https:// URL,"
						   " have \"%.40s\"", p.arg);
			}
			notify = xreallocarray(notify, nnotify + 1, sizeof(*notify));
			notify[nnotify++] = p.arg;
			break;
		case O_ADMIN: ao.listen = p.arg; break;
		case O_CERT: ho.tls_cert = p.arg; break;
		case O_KEY: ho.tls_key = p.arg; break;
		case O_HISTORY:
			if (parse_duration(p.arg, &ms, &err) < 0 || ms < 60000)
				return usage_error(ctx, "--history: want a duration of at least 1m "
						   "like 7d, have \"%s\"", p.arg);
			io.history_ms = (int64_t)ms;
			break;
		case O_CONNS:
			if (!opt_parse_uint(p.arg, 100000, &n) || n < 4)
				return usage_error(ctx, "--max-connections: want a number from 4 "
						   "to 100000, have \"%s\"", p.arg);
			ho.conn_limit = (unsigned)n;
			break;
		case O_TIMEOUT:
			if (parse_duration(p.arg, &ms, &err) < 0 || ms < 1000 || ms > 3600000)
				return usage_error(ctx, "--timeout: want a duration from 1s to 1h, "
						   "have \"%s\"", p.arg);
			ho.timeout_s = (unsigned)(ms / 1000);
			break;
		case O_BUFFERED:
			if (parse_size(p.arg, &ms, &err) < 0 || ms < (1u << 20) ||
			    ms > ((uint64_t)1 << 40))
				return usage_error(ctx, "--max-buffered: want a size from 1MiB to "
						   "1TiB like 64MiB, have \"%s\"", p.arg);
			ho.max_buffered = (size_t)ms;
			break;
		default: return EXIT_FAIL;
		}
	}
	if (!ao.listen)
		ao.listen = ADMIN_DEFAULT;
	ao.option = "--admin-listen";
	if (!strcmp(ao.listen, "none"))
		ao.listen = NULL;
	if (ao.listen && !strcmp(ao.listen, ho.listen ? ho.listen : "127.0.0.1:8080"))
		return usage_error(ctx, "--admin-listen: want another address than --listen's "
				   "(\"%s\"): the agents' listener takes reports only", ao.listen);
	if (load_valid_fleet(ctx, &res, "") < 0)
		return EXIT_FAIL;
	/* Before any thread starts, so that every thread inherits them. */
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGHUP, on_hup);
	signal(SIGPIPE, SIG_IGN);
	/* intake_open creates and migrates the state database (through the ledger). */
	io.state_dir = ctx->state_dir;
	/* The agents' listener takes reports; the admin one (plain HTTP) the API. */
	ho.serves = HTTP_REPORTS;
	ao.serves = HTTP_READS;
	ao.conn_limit = 64;
	ao.timeout_s = ho.timeout_s;
	if (intake_open(&io, res.fleet, &in, &err) < 0 ||
	    (ao.listen && api_open(ctx->state_dir, in, &api, &err) < 0) ||
	    http_start(&ho, in, &hs, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	ao.api = api;
	if (ao.listen && http_start(&ao, in, &as, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	cmd_info(ctx, "serving on %s%s port %u: POST /v1/reports, GET /healthz "
	     "(manifests at commit %.12s)", ho.tls_cert ? "https " : "",
	     ho.listen ? ho.listen : "127.0.0.1:8080", http_port(hs), res.commit);
	if (ao.listen) {
		cmd_info(ctx, "serving on %s port %u: the admin API (/v1/..., /metrics) to a token",
		     ao.listen, http_port(as));
		if (api_tokens_active(api, &ntokens, &err) < 0)
			cmd_warn(ctx, "%s", err.msg);
		else if (!ntokens)
			cmd_warn(ctx, "no API token works yet: `berth token create --admin` makes one");
	}
	fflush(stderr);
	nurls = webhooks_urls(notify, nnotify, &urls, &urls_keep);
	watch = watch_new(in, urls, nurls);
	/* Type=notify: ready once both listeners take connections */
	status = xasprintf("READY=1\nSTATUS=reports on port %u%s", http_port(hs),
			   as ? ", the admin API on its own port" : "");
	notify_send(status);
	while (!stop_requested) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		int64_t now = clock_mono_ms();

		nanosleep(&ts, NULL);
		/* the watchdog: this loop, and the intake's writer within its time */
		if (watchdog && now - pinged >= watchdog / 2 && intake_alive(in, watchdog / 2)) {
			notify_send("WATCHDOG=1");
			pinged = now;
		}
		watch_tick(watch, clock_now_ms(), warn_cb, ctx);
		if (!reload_requested)
			continue;
		reload_requested = 0;
		notify_send("RELOADING=1");
		memset(&next, 0, sizeof(next));
		if (load_valid_fleet(ctx, &next, "") < 0) {
			cmd_error(ctx, "reload: keeping the manifests of commit %.12s", res.commit);
			continue;
		}
		if (intake_set_fleet(in, next.fleet, &err) < 0) {
			cmd_error(ctx, "reload: %s; keeping commit %.12s", err.msg, res.commit);
			manifest_result_release(&next);
			continue;
		}
		manifest_result_release(&res);
		res = next;
		cmd_info(ctx, "reloaded the manifests: commit %.12s", res.commit);
		notify_send("READY=1");
	}
	notify_send("STOPPING=1");
	cmd_info(ctx, "stopping");
	ret = EXIT_OK;
out:
	watch_free(watch);
	free(status);
	free(urls);
	free(urls_keep);
	free(notify);
	http_stop(as);
	http_stop(hs);
	api_free(api);
	intake_free(in);
	manifest_result_release(&res);
	return ret;
}
