/*
 * berth unlock ID - break the apply lock of the state directory, by id,
 * and record that in the ledger.
 *
 * Its help is that of its entry in the command table (src/main.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "ledger/ledger.h"
#include "apply/lock.h"
#include "util/banned.h"

int
cmd_unlock(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct state_lock_info h;
	struct ledger_entry e = { 0 };
	struct ledger *l = NULL;
	struct berr err;
	const char *id = NULL;
	char host[256] = "";
	json_t *before = NULL;
	int r, ret = EXIT_FAIL;

	optparse_init(&p, ctx, argc, argv, NULL);
	while ((r = opt_next(&p)) != OPT_END) {
		if (r == OPT_HELP)
			return command_help(ctx);
		if (r != OPT_OPERAND)
			return EXIT_FAIL;
		if (id)
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		id = p.arg;
	}
	if (!id)
		return usage_error(ctx, "want the id of the lock to break (l-...)");

	/* The ledger first: a lock is not broken unless the break can be recorded. */
	if (ledger_open(ctx->state_dir, &l, &err) < 0) {
		cmd_berr(ctx, &err);
		return EXIT_FAIL;
	}
	if (state_lock_break(ctx->state_dir, id, &h, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	before = json_pack("{s:s, s:I, s:s, s:s, s:s}", "id", h.id, "pid", (json_int_t)h.pid,
			   "host", h.host, "since", h.since, "command", h.command);
	e.kind = "lock.break";
	e.object = h.id;
	e.action = "break";
	e.before = before;
	e.result = "ok";
	if (ledger_append(l, &e, &err) < 0) {
		cmd_error(ctx, "lock %s is broken but the break could not be recorded: %s", h.id,
		      err.msg);
		goto out;
	}
	printf("broke lock %s of berth %s (pid %ld on host %s since %s); ledger entry %" PRId64
	       "\n", h.id, *h.command ? h.command : "process", h.pid, h.host, h.since, e.seq);
	gethostname(host, sizeof(host) - 1);
	if (h.pid > 0 && !strcmp(host, h.host) && (kill((pid_t)h.pid, 0) == 0 || errno == EPERM))
		cmd_info(ctx, "pid %ld is still running: it may still be changing servers", h.pid);
	ret = EXIT_OK;
out:
	json_decref(before);
	ledger_close(l);
	return ret;
}
