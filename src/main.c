/*
 * main.c - berth's command table and the shared setup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "manifest/source.h"
#include "util/suggest.h"
#include "util/banned.h"

const struct command commands[] = {
	{ "validate", cmd_validate, NEED_MANIFESTS,
	  "check the manifests of a commit: schemas and cross-document rules",
	  "      --strict        warnings fail validation too\n"
	  "      --schema-only   check each document against its schema only\n" },
	{ "plan", cmd_plan, NEED_MANIFESTS | NEED_STATE,
	  "show what berth would change on every server to match the manifests, and why",
	  "      --out FILE            save the plan for `berth apply FILE`\n"
	  "      --detailed-exitcode   exit 2 when there are changes, 0 when none\n"
	  "      --target KIND/NAME    plan only this object (Host, Cluster, Pool, Plan, Image); repeatable\n"
	  "      --prune               delete managed objects that left the manifests\n"
	  "      --max-deletes N       refuse more than N deletes (default 10)\n"
	  "      --allow-mass-delete   lift that guard\n"
	  "      --parallel N          servers observed at once (default 16)\n" },
	{ "apply", cmd_apply, NEED_MANIFESTS | NEED_STATE | TAKES_LOCK,
	  "plan, show the plan, ask, and converge the servers; or apply a saved plan FILE exactly",
	  "      FILE                  a plan saved by `berth plan --out FILE`: applied exactly\n"
	  "                            (no question: the file is the approval), refused when any\n"
	  "                            object it was based on changed since\n"
	  "      --auto-approve        do not ask (needed without a terminal)\n"
	  "      --prune               delete managed objects that left the manifests\n"
	  "      --max-deletes N       refuse more than N deletes (default 10)\n"
	  "      --allow-mass-delete   lift that guard\n"
	  "      --target KIND/NAME    apply only this object; repeatable\n"
	  "      --parallel N          servers changed at once (default 16)\n"
	  "      --lock-timeout D      wait up to D (30s, 5m) for another apply to finish\n"
	  "      --timeout D           how long one change may take on a server (default 10m)\n" },
	{ "reconcile", cmd_reconcile, NEED_MANIFESTS | NEED_STATE | TAKES_LOCK,
	  "plan and apply without a question, for timers; recorded even when nothing changed",
	  "      --prune               delete managed objects that left the manifests\n"
	  "      --max-deletes N       refuse more than N deletes (default 10)\n"
	  "      --allow-mass-delete   lift that guard\n"
	  "      --parallel N          servers changed at once (default 16)\n"
	  "      --lock-timeout D      wait up to D for another apply to finish\n"
	  "      --timeout D           how long one change may take on a server (default 10m)\n"
	  "      --checkpoint-every D  sign a ledger checkpoint into <state>/checkpoints/\n"
	  "                            when the last is older than D (default 24h; 0: never)\n"
	  "      --window SPEC         \"allow|deny MIN HOUR DOM MON DOW DURATION [ZONE]\":\n"
	  "                            outside these and the Fleet's windows the run is\n"
	  "                            deferred (exit 3)\n" },
	{ "ledger", cmd_ledger, NEED_STATE,
	  "the audit ledger: list, show, verify, checkpoint, export, backup",
	  "  list [--since T] [--kind K] [--object A] [--run ID] [--limit N]\n"
	  "                        entries in seq order (--limit: the last N); T is a date\n"
	  "                        or UTC time: 2026-11-22 or 2026-11-22T04:12:00Z\n"
	  "  show SEQ              one entry with its before and after\n"
	  "  verify [--checkpoint SEQ:HASH|FILE]\n"
	  "                        walk the hash chain: exit 0 and the head, or exit 1\n"
	  "                        naming the first entry that does not verify and why;\n"
	  "                        --checkpoint: also prove the ledger extends it (FILE:\n"
	  "                        a signed checkpoint, signed by this berth)\n"
	  "  checkpoint [--out FILE]\n"
	  "                        print SEQ:HASH of the head, to keep somewhere else;\n"
	  "                        --out: also write a signed checkpoint to FILE\n"
	  "  export [--as jsonl|csv]\n"
	  "                        every entry with its hashes (default jsonl)\n"
	  "  backup FILE           a copy of the whole state database as of now, while\n"
	  "                        berth serve and reconcile go on writing (FILE must\n"
	  "                        not exist)\n" },
	{ "unlock", cmd_unlock, NEED_STATE,
	  "break the apply lock ID (from the lock error); recorded in the ledger",
	  "  ID                    the lock's id, as in \"lock l-1f2e...\" of the error of\n"
	  "                        the apply that found it held\n" },
	{ "key", cmd_key, NEED_MANIFESTS | NEED_STATE | TAKES_LOCK,
	  "berth's own key, the one hosts trust: show it, rotate it on every server",
	  "  show                  the fingerprint and file of berth's certificate\n"
	  "  rotate                a new key: every server of the manifests is made to trust\n"
	  "                        it with the old one, the ledger records the rotation, the\n"
	  "                        old certificate is removed from the servers, and a\n"
	  "                        checkpoint is signed with the new key\n"
	  "      --skip-unreachable  rotate even when some servers cannot be reached (they\n"
	  "                        need `berth host trust-command NAME` afterwards)\n" },
	{ "settle", cmd_settle, NEED_MANIFESTS | NEED_STATE,
	  "statements of a period per provider and currency, recorded in the ledger",
	  "      --period YYYY-MM      a calendar month (UTC)\n"
	  "      --from T --to T       or any period that is over (RFC 3339)\n"
	  "      --provider P          only P's hosts, instances and amounts\n"
	  "      --amend               record a correction when the inputs changed since\n"
	  "                            the period was settled\n"
	  "      --format csv          one row per line, for accounting imports\n"
	  "  list [--provider P]   the statements recorded, held or payable\n"
	  "  show SEQ              one recorded statement\n" },
	{ "status", cmd_status, NEED_MANIFESTS | NEED_STATE,
	  "hosts, agent freshness and capacity per pool",
	  "      --provider P          only what provider P's API token sees: its hosts and\n"
	  "                            the pools that hold them or sell its plans, counted\n"
	  "                            over its hosts\n" },
	{ "place", cmd_place, NEED_MANIFESTS | NEED_STATE,
	  "where new instances of a plan would go, and why not elsewhere (changes nothing)",
	  "  --plan NAME           the Plan to place (required)\n"
	  "  --count N             how many instances (default 1); exit 1 when fewer fit\n" },
	{ "host", cmd_host, NEED_MANIFESTS | NEED_STATE,
	  "host tools: the scripts that make a new host and make a host trust berth",
	  "  trust-command NAME   print a shell command that, run as root on host (or cluster)\n"
	  "                       NAME, makes its Incus trust berth's certificate and prints\n"
	  "                       the server fingerprint for the manifest\n"
	  "  install-command NAME --server URL\n"
	  "                       print a script that, run as root on a new Debian 12/13 or\n"
	  "                       Ubuntu 22.04+ host NAME, installs Incus when missing, makes\n"
	  "                       it trust berth, makes the agent's key, writes\n"
	  "                       /etc/berth/agent.env and starts berth-agent.service; it\n"
	  "                       prints the Host manifest's fingerprint and agent key\n"
	  "      --server URL          berth serve, where the agent reports (BERTH_SERVER)\n"
	  "      --package-url URL     install berth from this .deb (else it must be installed)\n"
	  "      --package-sha256 HEX  that file's SHA-256, checked before installing it\n"
	  "      --incus-listen ADDR   core.https_address when Incus has none (default\n"
	  "                            :PORT of the Host's endpoint)\n" },
	{ "serve", cmd_serve, NEED_MANIFESTS | NEED_STATE,
	  "the agent report intake, and the admin API and /metrics over HTTP",
	  "      --listen ADDR:PORT    the agents' listener: reports and /healthz only\n"
	  "                            (default 127.0.0.1:8080; [::1]:8080)\n"
	  "      --admin-listen ADDR:PORT  the admin API (/v1/..., /metrics; plain HTTP, a\n"
	  "                            token in the Authorization header: berth token)\n"
	  "                            (default 127.0.0.1:8081; none: no admin listener)\n"
	  "      --tls-cert FILE       serve HTTPS with this PEM certificate (and --tls-key)\n"
	  "      --tls-key FILE        its PEM private key\n"
	  "      --history D           keep accepted reports this long (default 7d)\n"
	  "      --max-connections N   connections at once (default 1024; a quarter per client)\n"
	  "      --timeout D           close connections idle this long (default 30s)\n"
	  "      --max-buffered SIZE   report bodies held at once (default 64MiB); more are\n"
	  "                            answered 503 busy and retried by the agents\n" },
	{ "token", cmd_token, NEED_MANIFESTS | NEED_STATE,
	  "bearer tokens of berth serve's admin API: create, list, revoke",
	  "  create --admin | --provider P [--name N]\n"
	  "                        a new token, printed once (berth keeps its hash only):\n"
	  "                        an admin token sees everything, a provider token only\n"
	  "                        that provider's hosts, instances, usage and statements\n"
	  "                        (P: a Provider of the manifests, or platform); --name\n"
	  "                        says whose it is (default: admin, or P)\n"
	  "  list                  every token: id, role, provider, name, made, revoked\n"
	  "  revoke ID             refuse the token ID (t-...) from the next request on\n" },
	{ "agent", cmd_agent, 0,
	  "the agent on each host: keygen, pubkey, run (every interval) or once",
	  "  keygen --out FILE          a new Ed25519 key (mode 0600); prints the public key\n"
	  "                             for the Host manifest's spec.agent.key\n"
	  "  pubkey --key FILE          print the public key of an existing key\n"
	  "  run|once --host NAME --key FILE --server URL\n"
	  "      --incus unix:///PATH   the local Incus socket (default /var/lib/incus/unix.socket)\n"
	  "      --interval D           between reports (default 30s; as the manifest says)\n"
	  "      --spool DIR            undelivered reports (default <state>/agent/NAME)\n"
	  "      --spool-max N          reports the spool keeps (default 10000; oldest dropped)\n"
	  "      --interface IF         a billable host interface; repeatable (default: the\n"
	  "                             physical ones)\n"
	  "      --server-ca FILE       CA certificates for an https intake\n"
	  "      --proc DIR, --sys DIR  read these instead of /proc and /sys (tests)\n" },
	{ "render", cmd_render, NEED_MANIFESTS,
	  "print every manifest document as JSON Lines, with file and line",
	  "" },
	{ "version", cmd_version, 0,
	  "print berth's version and the versions of its libraries",
	  "" },
	{ "completion", cmd_completion, 0,
	  "print the shell completion script for bash, zsh or fish",
	  "  bash|zsh|fish         the script for that shell: commands, options, and the\n"
	  "                        names of --target, --plan, --host and --provider from\n"
	  "                        the manifests of a local --repo (default .)\n" },
	{ "help", cmd_help, 0,
	  "show help for berth or a command",
	  "" },
	{ "__complete", cmd_complete, NEED_MANIFESTS | HIDDEN,
	  "names for the completion scripts: targets (KIND/NAME), or names KIND...",
	  "" },
};
const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

static void
main_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: berth [global options] COMMAND [options]\n"
		"\n"
		"berth reconciles Incus hosting fleets with the manifests committed to git.\n"
		"\n"
		"commands:\n");
	for (i = 0; i < ncommands; i++)
		if (!(commands[i].needs & HIDDEN))
			fprintf(out, "  %-10s  %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nglobal options (accepted before or after the command):\n%s\n"
		"exit codes: %s\n", global_usage, exit_usage);
}

/* berth(1) and the completion scripts are made from these and the table. */
const char global_usage[] =
		"      --repo R          git repository: a path or a URL (default .)\n"
		"      --ref REF         branch, tag or commit id (default HEAD)\n"
		"      --path P          subdirectory holding the manifests (default: the root)\n"
		"      --worktree        read the work tree instead of a commit\n"
		"      --state DIR       state directory (env BERTH_STATE)\n"
		"      --known-hosts F   SSH host keys of git remotes (env BERTH_KNOWN_HOSTS;\n"
		"                        default ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)\n"
		"      --ssh-key F       private key for SSH git remotes (env BERTH_SSH_KEY;\n"
		"                        default: ssh-agent)\n"
		"      --verify-signatures F  load only commits signed by a key of the\n"
		"                        allowed signers file F (ssh-keygen -Y format;\n"
		"                        env BERTH_ALLOWED_SIGNERS)\n"
		"      --git-token-file F\n"
		"                        token for https git remotes, in a 0600 file (env\n"
		"                        BERTH_GIT_TOKEN_FILE; or the token in BERTH_GIT_TOKEN)\n"
		"      --git-ca F        CA certificates for https git remotes (env\n"
		"                        BERTH_GIT_CA; default: the system's)\n"
		"      --format text|json  output format (default text); berth settle also\n"
		"                        writes csv, berth plan markdown\n"
		"      --no-color        no colour (also NO_COLOR=1, or when not a TTY)\n"
		"  -q, --quiet           only errors\n"
		"  -v, --verbose         more detail\n"
		"  -h, --help            this help; `berth COMMAND --help` for a command\n";
const char exit_usage[] =
		"0 success, 1 error or invalid, 2 changes present (--detailed-exitcode)";

int
cmd_help(struct ctx *ctx, int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		main_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--man") && argc == 2)
		return help_man(ctx);
	for (i = 0; i < ncommands; i++) {
		if (!strcmp(commands[i].name, argv[1])) {
			ctx->cmd = &commands[i];
			return command_help(ctx);
		}
	}
	ctx->cmd = NULL;
	return usage_error(ctx, "unknown command \"%s\"", argv[1]);
}

static const char *
default_state_dir(void)
{
	static char buf[4096];
	const char *env = getenv("BERTH_STATE"), *xdg, *home;

	if (env && *env)
		return env;
	if (geteuid() == 0)
		return "/var/lib/berth";
	xdg = getenv("XDG_STATE_HOME");
	if (xdg && *xdg) {
		snprintf(buf, sizeof(buf), "%s/berth", xdg);
		return buf;
	}
	home = getenv("HOME");
	snprintf(buf, sizeof(buf), "%s/.local/state/berth", home ? home : ".");
	return buf;
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ncommands; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	struct ctx ctx = { 0 };
	struct optparse p;
	const struct command *cmd = NULL;
	const char *names[64];
	int r, cmd_at = -1;
	size_t i, n;

	ctx.color = isatty(STDERR_FILENO) && !getenv("NO_COLOR");
	/* Global options up to the command name. */
	optparse_init(&p, &ctx, argc, argv, NULL);
	for (;;) {
		r = opt_next(&p);
		if (r == OPT_ERROR)
			return EXIT_FAIL;
		if (r == OPT_HELP) {
			main_usage(stdout);
			return EXIT_OK;
		}
		if (r == OPT_END)
			break;
		if (r == OPT_OPERAND) {
			cmd_at = p.i - 1;
			break;
		}
	}
	if (cmd_at < 0) {
		main_usage(stderr);
		return EXIT_FAIL;
	}
	if (!(cmd = find_command(argv[cmd_at]))) {
		const char *s;

		for (i = n = 0; i < ncommands && n < 64; i++)
			if (!(commands[i].needs & HIDDEN))
				names[n++] = commands[i].name;
		s = suggest(argv[cmd_at], names, n);
		fprintf(stderr, "berth: unknown command \"%s\"%s%s%s\n"
			"run `berth --help` for the list of commands\n",
			argv[cmd_at], s ? " (did you mean \"" : "", s ? s : "",
			s ? "\"?)" : "");
		return EXIT_FAIL;
	}
	ctx.cmd = cmd;
	if (ctx.format == FORMAT_CSV && strcmp(cmd->name, "settle"))
		return usage_error(&ctx, "--format: want text or json, have \"csv\" (only"
				   " `berth settle` writes CSV)");
	if (ctx.format == FORMAT_MARKDOWN && strcmp(cmd->name, "plan"))
		return usage_error(&ctx, "--format: want text or json, have \"markdown\" (only"
				   " `berth plan` writes markdown)");
	if (!ctx.state_dir)
		ctx.state_dir = default_state_dir();
	if (cmd->needs & NEED_MANIFESTS)
		source_global_init();
	r = cmd->fn(&ctx, argc - cmd_at, argv + cmd_at);
	if (cmd->needs & NEED_MANIFESTS)
		source_global_shutdown();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "berth: error writing to standard output: %s\n",
			strerror(errno));
		return EXIT_FAIL;
	}
	return r;
}
