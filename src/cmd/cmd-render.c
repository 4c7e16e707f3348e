/*
 * berth render - the manifest documents as JSON Lines.
 *
 * One line per document, in file order:
 *   {"file":"hosts/a.yaml","index":0,"line":1,"document":{...}}
 * YAML problems are printed as diagnostics and make the exit code 1; the
 * documents that did parse are still printed.
 */
#include <stdio.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "manifest/manifest.h"
#include "util/banned.h"

int
cmd_render(struct ctx *ctx, int argc, char **argv)
{
	struct source_opts so;
	struct manifest_result res;
	struct diags d = DIAGS_INIT;
	struct berr err;
	size_t i;
	int r;

	if ((r = parse_no_options(ctx, argc, argv)) >= 0)
		return r;
	ctx_source_opts(ctx, &so);
	if (manifest_load(&so, MANIFEST_PARSE, &res, &d, &err) < 0) {
		cmd_berr(ctx, &err);
		diags_release(&d);
		return EXIT_FAIL;
	}
	for (i = 0; i < res.docs.n; i++) {
		const struct mdoc *doc = &res.docs.v[i];
		json_t *line = json_pack("{s:s, s:i, s:i, s:O}", "file", doc->file,
					 "index", (int)doc->index,
					 "line", (int)doc->mark.line,
					 "document", doc->root);

		json_dumpf(line, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER |
				     JSON_ENCODE_ANY);
		fputc('\n', stdout);
		json_decref(line);
	}
	print_diags(ctx, &d);
	r = d.nerrors ? EXIT_FAIL : EXIT_OK;
	manifest_result_release(&res);
	diags_release(&d);
	return r;
}
