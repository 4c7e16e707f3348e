/*
 * common.c - option parsing, help, and printing shared by the commands.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/prepare.h"
#include "cmd/cmd.h"
#include "incus/client.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/suggest.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	G_REPO = 1000, G_REF, G_PATH, G_WORKTREE, G_STATE, G_FORMAT, G_NO_COLOR,
	G_QUIET, G_VERBOSE, G_HELP, G_KNOWN_HOSTS, G_SSH_KEY, G_VERIFY_SIGNATURES,
	G_GIT_TOKEN_FILE, G_GIT_CA,
};

static const struct opt global_opts[] = {
	{ "repo", 0, 1, G_REPO },
	{ "ref", 0, 1, G_REF },
	{ "path", 0, 1, G_PATH },
	{ "worktree", 0, 0, G_WORKTREE },
	{ "state", 0, 1, G_STATE },
	{ "format", 0, 1, G_FORMAT },
	{ "no-color", 0, 0, G_NO_COLOR },
	{ "quiet", 'q', 0, G_QUIET },
	{ "verbose", 'v', 0, G_VERBOSE },
	{ "help", 'h', 0, G_HELP },
	{ "known-hosts", 0, 1, G_KNOWN_HOSTS },
	{ "ssh-key", 0, 1, G_SSH_KEY },
	{ "verify-signatures", 0, 1, G_VERIFY_SIGNATURES },
	{ "git-token-file", 0, 1, G_GIT_TOKEN_FILE },
	{ "git-ca", 0, 1, G_GIT_CA },
	{ NULL, 0, 0, 0 },
};

void
optparse_init(struct optparse *p, struct ctx *ctx, int argc, char **argv,
	      const struct opt *opts)
{
	p->argc = argc;
	p->argv = argv;
	p->i = 1;
	p->opts = opts;
	p->arg = NULL;
	p->ctx = ctx;
}

static const struct opt *
find_long(const struct opt *v, const char *name, size_t len)
{
	for (; v && v->name; v++)
		if (strlen(v->name) == len && !strncmp(v->name, name, len))
			return v;
	return NULL;
}

static const struct opt *
find_short(const struct opt *v, char c)
{
	for (; v && v->name; v++)
		if (v->short_name && v->short_name == c)
			return v;
	return NULL;
}

static int
unknown_option(struct optparse *p, const char *name, size_t len)
{
	const char *names[64], *s;
	char word[128];
	size_t n = 0;
	const struct opt *v;

	for (v = global_opts; v->name && n < 64; v++)
		names[n++] = v->name;
	for (v = p->opts; v && v->name && n < 64; v++)
		names[n++] = v->name;
	snprintf(word, sizeof(word), "%.*s", (int)len, name);
	s = suggest(word, names, n);
	if (s)
		return usage_error(p->ctx, "unknown option \"--%s\" (did you mean \"--%s\"?)",
				   word, s), OPT_ERROR;
	return usage_error(p->ctx, "unknown option \"--%s\"", word), OPT_ERROR;
}

static int
apply_global(struct optparse *p, int id, const char *arg)
{
	struct ctx *c = p->ctx;

	switch (id) {
	case G_REPO: c->repo = arg; break;
	case G_KNOWN_HOSTS: c->known_hosts = arg; break;
	case G_SSH_KEY: c->ssh_key = arg; break;
	case G_VERIFY_SIGNATURES: c->allowed_signers = arg; break;
	case G_GIT_TOKEN_FILE: c->git_token_file = arg; break;
	case G_GIT_CA: c->git_ca = arg; break;
	case G_REF: c->ref = arg; break;
	case G_PATH: c->path = arg; break;
	case G_WORKTREE: c->worktree = 1; break;
	case G_STATE: c->state_dir = arg; break;
	case G_FORMAT:
		if (!strcmp(arg, "text")) {
			c->format = FORMAT_TEXT;
		} else if (!strcmp(arg, "json")) {
			c->format = FORMAT_JSON;
		} else if (!strcmp(arg, "csv") && (!c->cmd || !strcmp(c->cmd->name, "settle"))) {
			c->format = FORMAT_CSV;
		} else if (!strcmp(arg, "markdown") && (!c->cmd || !strcmp(c->cmd->name, "plan"))) {
			c->format = FORMAT_MARKDOWN;
		} else {
			usage_error(c, "--format: want text or json%s, have \"%s\"",
				    c->cmd && !strcmp(c->cmd->name, "settle") ? " or csv" :
				    c->cmd && !strcmp(c->cmd->name, "plan") ? " or markdown" : "", arg);
			return OPT_ERROR;
		}
		break;
	case G_NO_COLOR: c->color = 0; break;
	case G_QUIET: c->verbosity = -1; break;
	case G_VERBOSE: c->verbosity = 1; break;
	case G_HELP: return OPT_HELP;
	}
	return 0;
}

int
opt_next(struct optparse *p)
{
	for (;;) {
		const char *a, *eq, *name;
		const struct opt *o;
		int global;
		size_t len;

		if (p->i >= p->argc)
			return OPT_END;
		a = p->argv[p->i++];
		if (!strcmp(a, "--")) {
			if (p->i >= p->argc)
				return OPT_END;
			p->arg = p->argv[p->i++];
			return OPT_OPERAND;
		}
		if (a[0] != '-' || a[1] == '\0') {
			p->arg = a;
			return OPT_OPERAND;
		}
		if (a[1] == '-') {
			name = a + 2;
			eq = strchr(name, '=');
			len = eq ? (size_t)(eq - name) : strlen(name);
			global = 0;
			if (!(o = find_long(p->opts, name, len))) {
				o = find_long(global_opts, name, len);
				global = 1;
			}
			if (!o)
				return unknown_option(p, name, len);
			if (o->has_arg) {
				if (eq) {
					p->arg = eq + 1;
				} else if (p->i < p->argc) {
					p->arg = p->argv[p->i++];
				} else {
					usage_error(p->ctx, "option \"--%s\" needs a value", o->name);
					return OPT_ERROR;
				}
			} else if (eq) {
				usage_error(p->ctx, "option \"--%s\" takes no value", o->name);
				return OPT_ERROR;
			} else {
				p->arg = NULL;
			}
		} else {
			if (a[2] != '\0') {
				usage_error(p->ctx, "unknown option \"%s\" (short options "
					    "are not bundled; long options take two dashes)", a);
				return OPT_ERROR;
			}
			global = 0;
			if (!(o = find_short(p->opts, a[1]))) {
				o = find_short(global_opts, a[1]);
				global = 1;
			}
			if (!o) {
				usage_error(p->ctx, "unknown option \"%s\"", a);
				return OPT_ERROR;
			}
			p->arg = NULL;
			if (o->has_arg) {
				if (p->i >= p->argc) {
					usage_error(p->ctx, "option \"%s\" needs a value", a);
					return OPT_ERROR;
				}
				p->arg = p->argv[p->i++];
			}
		}
		if (!global)
			return o->id;
		{
			int r = apply_global(p, o->id, p->arg);

			if (r)
				return r;
		}
	}
}

int
opt_valid_target(const char *t)
{
	static const char *const kinds[] = { "Host/", "Cluster/", "Pool/", "Plan/", "Image/" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (!strncmp(t, kinds[i], strlen(kinds[i])) && t[strlen(kinds[i])])
			return 1;
	return 0;
}

int
opt_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !(errno || end == s || *end || *s == '-' || *out > max);
}

int
parse_no_options(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	int r;

	optparse_init(&p, ctx, argc, argv, NULL);
	while ((r = opt_next(&p)) != OPT_END) {
		if (r == OPT_HELP)
			return command_help(ctx);
		if (r == OPT_OPERAND)
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		return EXIT_FAIL;
	}
	return -1;
}

int
usage_error(const struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx && ctx->cmd)
		fprintf(stderr, "berth %s: ", ctx->cmd->name);
	else
		fputs("berth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ctx && ctx->cmd)
		fprintf(stderr, "run `berth %s --help` for its usage\n", ctx->cmd->name);
	else
		fputs("run `berth --help` for usage\n", stderr);
	return EXIT_FAIL;
}

int
command_help(const struct ctx *ctx)
{
	const struct command *c = ctx->cmd;

	printf("usage: berth [global options] %s [options]\n\n%s\n", c->name, c->summary);
	if (c->usage && *c->usage)
		printf("\noptions:\n%s", c->usage);
	printf("\nglobal options: see `berth --help`\n");
	return EXIT_OK;
}

static void
vmessage(const struct ctx *ctx, const char *label, const char *color,
	 const char *fmt, va_list ap)
{
	if (ctx->color && label)
		fprintf(stderr, "berth: \033[%sm%s\033[0m: ", color, label);
	else if (label)
		fprintf(stderr, "berth: %s: ", label);
	else
		fputs("berth: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
cmd_error(const struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(ctx, "error", "1;31", fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int
cmd_berr(const struct ctx *ctx, const struct berr *err)
{
	return cmd_error(ctx, "%s", err->msg);
}

void
cmd_warn(const struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(ctx, "warning", "1;33", fmt, ap);
	va_end(ap);
}

void
cmd_info(const struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->verbosity < 0)
		return;
	va_start(ap, fmt);
	vmessage(ctx, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
print_diags(const struct ctx *ctx, struct diags *d)
{
	size_t i;

	diags_sort(d);
	for (i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		int warn = g->severity == DIAG_WARNING;

		if (*g->file) {
			fputs(g->file, stderr);
			if (g->line)
				fprintf(stderr, ":%u:%u", g->line, g->col);
			fputs(": ", stderr);
		}
		if (*g->path)
			fprintf(stderr, "%s: ", g->path);
		if (warn)
			fputs(ctx->color ? "\033[1;33mwarning\033[0m: " : "warning: ", stderr);
		fprintf(stderr, "%s\n", g->msg);
	}
	if (d->dropped)
		fprintf(stderr, "berth: %zu more diagnostics not shown\n", d->dropped);
}

static void
say_waiting(void *arg, const char *msg)
{
	cmd_info(arg, "%s", msg);
}

void
ctx_source_opts(const struct ctx *ctx, struct source_opts *o)
{
	o->repo = ctx->repo;
	o->ref = ctx->ref;
	o->path = ctx->path;
	o->worktree = ctx->worktree;
	o->state_dir = ctx->state_dir;
	o->known_hosts = ctx->known_hosts ? ctx->known_hosts : getenv("BERTH_KNOWN_HOSTS");
	o->ssh_key = ctx->ssh_key ? ctx->ssh_key : getenv("BERTH_SSH_KEY");
	o->allowed_signers = ctx->allowed_signers ? ctx->allowed_signers :
			     getenv("BERTH_ALLOWED_SIGNERS");
	if (o->allowed_signers && !*o->allowed_signers)
		o->allowed_signers = NULL;
	/* --git-token-file, else BERTH_GIT_TOKEN_FILE, else BERTH_GIT_TOKEN */
	o->git_token_file = ctx->git_token_file ? ctx->git_token_file :
			    getenv("BERTH_GIT_TOKEN_FILE");
	o->git_token = getenv("BERTH_GIT_TOKEN");
	o->git_ca = ctx->git_ca ? ctx->git_ca : getenv("BERTH_GIT_CA");
	o->waiting = say_waiting;
	o->waiting_arg = (void *)ctx;
}

void
say_signed(const struct ctx *ctx, const struct manifest_result *res)
{
	if (res->signer)
		cmd_info(ctx, "commit %s signed by %s (%s)", res->commit, res->signer,
			 res->signer_key);
}

/* What loading the manifests has to say first: the commit it fetched, who signed it. */
static void
say_fetched(const struct ctx *ctx, const struct source_opts *so,
	    const struct manifest_result *res)
{
	if (res->fetched)
		cmd_info(ctx, "fetched %s at commit %s", so->repo, res->commit);
	say_signed(ctx, res);
}

static void
say_invalid(const struct ctx *ctx, struct diags *d, const char *consequence)
{
	print_diags(ctx, d);
	cmd_error(ctx, "the manifests are not valid (run `berth validate`)%s", consequence);
}

int
load_valid_fleet(const struct ctx *ctx, struct manifest_result *res, const char *consequence)
{
	struct source_opts so;
	struct diags d = DIAGS_INIT;
	struct berr err;
	int ret = -1;

	ctx_source_opts(ctx, &so);
	if (manifest_load(&so, MANIFEST_CHECK, res, &d, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	say_fetched(ctx, &so, res);
	if (d.nerrors || !res->fleet) {
		say_invalid(ctx, &d, consequence);
		goto out;
	}
	ret = 0;
out:
	diags_release(&d);
	if (ret < 0)
		manifest_result_release(res);
	return ret;
}

void
fleet_window_at(const struct m_fleet *fl, size_t i, char *out, size_t len)
{
	char path[64];
	struct mark m;

	snprintf(path, sizeof(path), "spec.sync_windows[%zu]", i);
	m = mdoc_mark(fl->meta.doc, path);
	snprintf(out, len, "%s:%u:%u", fl->meta.doc->file, m.line, m.col);
}

int
cmd_prepare(const struct ctx *ctx, struct run_inputs *in, const struct run_inputs_opts *opts,
	    const char *consequence)
{
	struct run_inputs_opts o = *opts;
	struct source_opts so;
	struct diags d = DIAGS_INIT;
	struct berr err;
	int ret;

	ctx_source_opts(ctx, &so);
	o.source = &so;
	o.state_dir = ctx->state_dir;
	ret = run_inputs_prepare(in, &o, &d, &err);
	if (!opts->loaded)	/* else load_valid_fleet() said it */
		say_fetched(ctx, &so, &in->res);
	if (in->no_health)
		cmd_warn(ctx, "no host health in this plan: %s", in->no_health_err.msg);
	if (ret < 0) {
		switch (in->failed) {
		case RUN_INPUTS_INVALID:
			say_invalid(ctx, &d, consequence);
			break;
		case RUN_INPUTS_REFUSED:
			cmd_error(ctx, "plan refused: %s", in->plan.refused);
			break;
		case RUN_INPUTS_OTHER_STATE:
			break;	/* the caller's to say */
		default:
			cmd_berr(ctx, &err);
		}
	}
	diags_release(&d);
	return ret;
}

char *
cmd_signed_checkpoint(const struct ctx *ctx, struct ledger *l, int64_t *seq, struct berr *err)
{
	struct incus_identity id = { 0 };
	json_t *cp = NULL;
	char *text = NULL;

	if (incus_identity_load(ctx->state_dir, &id, err) == 0 &&
	    (cp = ledger_checkpoint_make(l, id.key_file, id.cert_pem, clock_now_ms(), err))) {
		*seq = json_integer_value(json_object_get(cp, "seq"));
		if (!(text = json_dumps(cp, JSON_INDENT(2) | JSON_SORT_KEYS)))
			berr_set(err, "cannot write the checkpoint as JSON");
	}
	json_decref(cp);
	incus_identity_release(&id);
	return text;
}

char *
cmd_checkpoint_to_dir(const struct ctx *ctx, struct ledger *l, int64_t *seq,
		      struct berr *err)
{
	char *dir = xasprintf("%s/checkpoints", ctx->state_dir), *latest = NULL, *one = NULL;
	char *text = NULL;

	if (mkdir_p(dir, err) < 0 || !(text = cmd_signed_checkpoint(ctx, l, seq, err)))
		goto out;
	one = xasprintf("%s/%" PRId64 ".json", dir, *seq);
	latest = xasprintf("%s/latest.json", dir);
	if (fs_write_atomic(one, text, strlen(text), 0644, err) < 0 ||
	    fs_write_atomic(latest, text, strlen(text), 0644, err) < 0) {
		free(one);
		one = NULL;
	}
out:
	free(text);
	free(latest);
	free(dir);
	return one;
}
