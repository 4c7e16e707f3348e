/*
 * manifest.h - the whole road from a git commit to a checked fleet.
 *
 *   source (git or work tree) -> YAML with marks -> schema per document
 *   -> model -> cross-document checks
 *
 * Every problem on the way is a diagnostic in d; the road stops before the
 * model when any document failed its schema (cross-document rules on a
 * partial fleet would only add noise).
 */
#ifndef BERTH_MANIFEST_MANIFEST_H
#define BERTH_MANIFEST_MANIFEST_H

#include "manifest/model.h"
#include "manifest/source.h"
#include "util/diag.h"
#include "util/err.h"

#define MANIFEST_MAX_DOCS 50000

enum manifest_stage {
	MANIFEST_PARSE,		/* YAML only (render) */
	MANIFEST_SCHEMA,	/* + schema of each document */
	MANIFEST_CHECK,		/* + model and cross-document checks */
};

struct manifest_result {
	struct mdocs docs;	/* the documents (empty once moved into fleet) */
	struct fleet *fleet;	/* MANIFEST_CHECK and schema-valid: the model */
	char commit[41];
	int fetched;
	size_t nfiles;
	char *signer;		/* source.h's: who signed the commit (owned), */
	char signer_key[64];	/* and their key; NULL and "" when unchecked */
};

/*
 * Load up to stage. Returns -1 with err when the manifests cannot be read
 * at all (repository, ref, path); 0 otherwise, problems being in d.
 * res is zeroed first: release it with manifest_result_release() whatever
 * this returns. That is safe on a zeroed or released result (res must not
 * be NULL).
 */
int manifest_load(const struct source_opts *opts, enum manifest_stage stage,
		  struct manifest_result *res, struct diags *d, struct berr *err);
void manifest_result_release(struct manifest_result *res);

#endif
