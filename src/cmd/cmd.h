/*
 * cmd.h - what every command shares: the global options, the command table
 * entry, option parsing with "did you mean", and output helpers.
 *
 * Commands live in src/cmd/cmd-<name>.c and stay thin: parse their options,
 * call modules, print. Only main.c and src/cmd/ print or exit.
 */
#ifndef BERTH_CMD_H
#define BERTH_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "manifest/source.h"
#include "util/diag.h"
#include "util/err.h"

/* FORMAT_CSV: berth settle only; FORMAT_MARKDOWN: berth plan only (main.c
 * refuses them elsewhere). */
enum output_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV, FORMAT_MARKDOWN };

/* Exit codes, as Terraform's so that CI recipes carry over. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_CHANGES	2
#define EXIT_DEFERRED	3	/* reconcile outside its sync windows */

struct ctx {
	const char *repo;
	const char *known_hosts;	/* --known-hosts, or NULL */
	const char *ssh_key;		/* --ssh-key, or NULL */
	const char *allowed_signers;	/* --verify-signatures, or NULL */
	const char *git_token_file;	/* --git-token-file, or NULL */
	const char *git_ca;		/* --git-ca, or NULL */
	const char *ref;
	const char *path;
	int worktree;
	const char *state_dir;	/* resolved: flag, BERTH_STATE, or default */
	enum output_format format;
	int color;		/* stderr is a TTY, no NO_COLOR, no --no-color */
	int verbosity;		/* -q: -1, default 0, -v: 1 */
	const struct command *cmd;
};

/* What a command needs; main.c does the shared setup once. */
#define NEED_MANIFESTS	(1 << 0)
#define NEED_STATE	(1 << 1)
#define TAKES_LOCK	(1 << 2)
#define HIDDEN		(1 << 3)	/* not in the help, berth(1) or suggestions */

struct command {
	const char *name;
	int (*fn)(struct ctx *ctx, int argc, char **argv);
	unsigned needs;
	const char *summary;
	const char *usage;	/* options of the command, one per line */
};

/* A command's own option. has_arg: 0 flag, 1 takes a value. */
struct opt {
	const char *name;	/* long name without "--" */
	char short_name;	/* 0: none */
	int has_arg;
	int id;			/* returned by opt_next */
};

#define OPT_END		-1
#define OPT_ERROR	-2
#define OPT_HELP	-3

struct optparse {
	int argc;
	char **argv;
	int i;
	const struct opt *opts;	/* command options, terminated by name NULL */
	const char *arg;	/* value of the last option, or the operand */
	struct ctx *ctx;
};

#define OPT_OPERAND	-4

/*
 * Next option of the command line: the id of a command option, OPT_OPERAND
 * (operand in p->arg), OPT_HELP, OPT_END, or OPT_ERROR (a usage error was
 * printed). Global options are accepted anywhere and applied to p->ctx.
 */
int opt_next(struct optparse *p);
void optparse_init(struct optparse *p, struct ctx *ctx, int argc, char **argv,
		   const struct opt *opts);

/* --target KIND/NAME with KIND one of Host, Cluster, Pool, Plan, Image. */
int opt_valid_target(const char *t);
/* A decimal number from 0 to max, nothing else: 1, or 0 when it is not. */
int opt_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* For commands without options of their own: -1 to go on, else the exit code
 * (help printed, or a usage error). */
int parse_no_options(struct ctx *ctx, int argc, char **argv);
/* Print "berth CMD: <message>" and the usage hint to stderr; returns EXIT_FAIL. */
int usage_error(const struct ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print the help of ctx->cmd to stdout; returns EXIT_OK. */
int command_help(const struct ctx *ctx);
/*
 * Messages to stderr, "berth: error: ...", "berth: warning: ...", "berth: ...".
 * cmd_error and cmd_berr return EXIT_FAIL, so a command can
 * `return cmd_error(ctx, ...)`; cmd_berr prints err->msg. Warnings are shown
 * even with -q (which hides only cmd_info); colour when ctx->color.
 */
int cmd_error(const struct ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cmd_berr(const struct ctx *ctx, const struct berr *err);
void cmd_warn(const struct ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cmd_info(const struct ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print diagnostics to stderr, sorted, one per line. */
void print_diags(const struct ctx *ctx, struct diags *d);
/* Source options from the global options. */
void ctx_source_opts(const struct ctx *ctx, struct source_opts *o);
struct manifest_result;
/* "commit X signed by P (SHA256:...)" when its signature was checked. */
void say_signed(const struct ctx *ctx, const struct manifest_result *res);

struct ledger;
/*
 * A checkpoint of l now, signed with the state directory's identity
 * (ledger_checkpoint_make()), as the JSON text of its file (caller frees);
 * its seq in *seq. NULL with err.
 */
char *cmd_signed_checkpoint(const struct ctx *ctx, struct ledger *l, int64_t *seq,
			    struct berr *err);
/*
 * A signed checkpoint of l into <state>/checkpoints/: SEQ.json and
 * latest.json (0644). The path of SEQ.json (caller frees) and its seq in
 * *seq; NULL with err.
 */
char *cmd_checkpoint_to_dir(const struct ctx *ctx, struct ledger *l, int64_t *seq,
			    struct berr *err);

struct manifest_result;
/*
 * Load and check the manifests of the configured commit for a command
 * that needs a valid fleet (says which commit it fetched from a remote).
 * 0 with res filled (release it with manifest_result_release()); -1 with
 * res released after printing why: the load error, or the diagnostics and
 * "the manifests are not valid (run `berth validate`)" followed by
 * consequence (e.g. ": nothing applied"; "" for none).
 */
int load_valid_fleet(const struct ctx *ctx, struct manifest_result *res,
		     const char *consequence);

struct m_fleet;
/* Where the Fleet's sync window i is written, "fleet.yaml:7:7", into out. */
void fleet_window_at(const struct m_fleet *fl, size_t i, char *out, size_t len);

struct run_inputs;
struct run_inputs_opts;
/*
 * Prepare a run's inputs (apply/prepare.h) from the configured commit and
 * state directory (opts->source and opts->state_dir are set here), saying
 * what load_valid_fleet() says (unless opts->loaded: in->res is what
 * load_valid_fleet() loaded, and said), then the warning of a run without
 * host health, then why it failed: the error, the diagnostics and "the
 * manifests are not valid ..." followed by consequence, or "plan refused:
 * ...". RUN_INPUTS_OTHER_STATE is left to the caller to say. 0 or -1;
 * release in with run_inputs_release() either way.
 */
int cmd_prepare(const struct ctx *ctx, struct run_inputs *in,
		const struct run_inputs_opts *opts, const char *consequence);

int cmd_validate(struct ctx *ctx, int argc, char **argv);
int cmd_plan(struct ctx *ctx, int argc, char **argv);
int cmd_host(struct ctx *ctx, int argc, char **argv);
int cmd_apply(struct ctx *ctx, int argc, char **argv);
int cmd_reconcile(struct ctx *ctx, int argc, char **argv);
int cmd_ledger(struct ctx *ctx, int argc, char **argv);
int cmd_unlock(struct ctx *ctx, int argc, char **argv);
int cmd_key(struct ctx *ctx, int argc, char **argv);
int cmd_settle(struct ctx *ctx, int argc, char **argv);
int cmd_status(struct ctx *ctx, int argc, char **argv);
int cmd_place(struct ctx *ctx, int argc, char **argv);
int cmd_serve(struct ctx *ctx, int argc, char **argv);
int cmd_token(struct ctx *ctx, int argc, char **argv);
int cmd_agent(struct ctx *ctx, int argc, char **argv);
int cmd_render(struct ctx *ctx, int argc, char **argv);
int cmd_version(struct ctx *ctx, int argc, char **argv);
int cmd_help(struct ctx *ctx, int argc, char **argv);
int cmd_completion(struct ctx *ctx, int argc, char **argv);
int cmd_complete(struct ctx *ctx, int argc, char **argv);
/* berth help --man: berth(1) in roff, from the table and the texts below. */
int help_man(const struct ctx *ctx);

extern const struct command commands[];
extern const size_t ncommands;
/* The global options of berth --help, one per line as in a command's usage,
 * and what the exit codes mean. */
extern const char global_usage[];
extern const char exit_usage[];

#endif
