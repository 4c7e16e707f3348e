/*
 * manifest.c - manifest_load(): the files of a commit, their documents, each
 * document against its schema, then the model and the rules across
 * documents (see manifest.h).
 */
#include <stdio.h>
#include <string.h>

#include "manifest/check.h"
#include "manifest/manifest.h"
#include "manifest/schema.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct report_ctx {
	const struct mdoc *doc;
	struct diags *d;
};

static void
report(void *ctx, const char *path, const char *msg)
{
	struct report_ctx *r = ctx;

	diag_at(r->d, DIAG_ERROR, r->doc, path, "%s", msg);
}

int
manifest_load(const struct source_opts *opts, enum manifest_stage stage,
	      struct manifest_result *res, struct diags *d, struct berr *err)
{
	struct src_files files = SRC_FILES_INIT;
	struct schema_set *schemas = NULL;
	size_t i, bad = 0;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (source_load(opts, &files, d, err) < 0)
		goto out;
	memcpy(res->commit, files.commit, sizeof(res->commit));
	res->fetched = files.fetched;
	res->signer = files.signer;
	files.signer = NULL;
	memcpy(res->signer_key, files.signer_key, sizeof(res->signer_key));
	res->nfiles = files.n;
	for (i = 0; i < files.n; i++) {
		if (yaml_load(files.v[i].path, files.v[i].data, files.v[i].len,
			      &res->docs, d) < 0)
			bad++;
		if (res->docs.n > MANIFEST_MAX_DOCS) {
			diags_add(d, DIAG_ERROR, files.v[i].path, 0, 0, "",
				  "more than %d documents in the manifests: berth "
				  "reads at most %d", MANIFEST_MAX_DOCS, MANIFEST_MAX_DOCS);
			bad++;
			break;
		}
	}
	if (stage == MANIFEST_PARSE) {
		ret = 0;
		goto out;
	}
	if (!(schemas = schema_set_load(err))) {
		berr_prefix(err, "built-in schemas");
		goto out;
	}
	for (i = 0; i < res->docs.n; i++) {
		struct report_ctx rc = { &res->docs.v[i], d };

		if (schema_validate_manifest(schemas, res->docs.v[i].root, report, &rc) != 0)
			bad++;
	}
	if (stage == MANIFEST_CHECK && !bad && !d->nerrors) {
		res->fleet = fleet_build(&res->docs, d);
		memcpy(res->fleet->commit, res->commit, sizeof(res->commit));
		fleet_check(res->fleet, d);
	}
	ret = 0;
out:
	schema_set_free(schemas);
	src_files_release(&files);
	return ret;
}

void
manifest_result_release(struct manifest_result *res)
{
	fleet_free(res->fleet);
	mdocs_release(&res->docs);
	free(res->signer);
	memset(res, 0, sizeof(*res));
}
