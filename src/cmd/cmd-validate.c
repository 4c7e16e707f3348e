/*
 * berth validate - check the manifests of a commit.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "manifest/manifest.h"
#include "util/banned.h"

enum { O_STRICT = 1, O_SCHEMA_ONLY };

static const struct opt opts[] = {
	{ "strict", 0, 0, O_STRICT },
	{ "schema-only", 0, 0, O_SCHEMA_ONLY },
	{ NULL, 0, 0, 0 },
};

static void
print_json(const struct diags *d, const struct manifest_result *res, int valid)
{
	json_t *out = json_object(), *list = json_array();
	size_t i;

	json_object_set_new(out, "format_version", json_string("1.0"));
	json_object_set_new(out, "valid", json_boolean(valid));
	json_object_set_new(out, "commit", json_string(res->commit));
	if (res->signer)
		json_object_set_new(out, "signer", json_pack("{s:s, s:s}", "principal",
							     res->signer, "key",
							     res->signer_key));
	json_object_set_new(out, "files", json_integer((json_int_t)res->nfiles));
	json_object_set_new(out, "errors", json_integer((json_int_t)d->nerrors));
	json_object_set_new(out, "warnings", json_integer((json_int_t)d->nwarnings));
	for (i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];

		json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}",
			"file", g->file, "line", (int)g->line, "column", (int)g->col,
			"path", g->path,
			"severity", g->severity == DIAG_ERROR ? "error" : "warning",
			"message", g->msg));
	}
	json_object_set_new(out, "diagnostics", list);
	json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(out);
}

int
cmd_validate(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct source_opts so;
	struct manifest_result res;
	struct diags d = DIAGS_INIT;
	struct berr err;
	int strict = 0, schema_only = 0, r, valid;
	size_t ndocs;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case O_STRICT: strict = 1; break;
		case O_SCHEMA_ONLY: schema_only = 1; break;
		case OPT_HELP: return command_help(ctx);
		case OPT_OPERAND:
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		default: return EXIT_FAIL;
		}
	}
	ctx_source_opts(ctx, &so);
	if (manifest_load(&so, schema_only ? MANIFEST_SCHEMA : MANIFEST_CHECK,
			  &res, &d, &err) < 0) {
		cmd_berr(ctx, &err);
		diags_release(&d);
		return EXIT_FAIL;
	}
	if (res.fetched)
		cmd_info(ctx, "fetched %s at commit %s", so.repo, res.commit);
	say_signed(ctx, &res);
	diags_sort(&d);
	valid = d.nerrors == 0 && !(strict && d.nwarnings);
	ndocs = res.fleet ? res.fleet->docs.n : res.docs.n;
	if (ctx->format == FORMAT_JSON) {
		print_json(&d, &res, valid);
	} else {
		print_diags(ctx, &d);
		if (valid)
			cmd_info(ctx, "%zu document%s in %zu file%s valid at %s%s%s",
			     ndocs, ndocs == 1 ? "" : "s", res.nfiles,
			     res.nfiles == 1 ? "" : "s",
			     strcmp(res.commit, "worktree") ? "commit " : "",
			     res.commit, d.nwarnings ? " (with warnings)" : "");
		else
			fprintf(stderr, "berth: %zu error%s, %zu warning%s%s\n",
				d.nerrors, d.nerrors == 1 ? "" : "s",
				d.nwarnings, d.nwarnings == 1 ? "" : "s",
				strict && !d.nerrors ? " (--strict: warnings fail)" : "");
	}
	manifest_result_release(&res);
	diags_release(&d);
	return valid ? EXIT_OK : EXIT_FAIL;
}
