/*
 * fuzz-manifest.c - libFuzzer target for the manifest parser: YAML to
 * JSON, the schema of each document, the model and the cross-document
 * checks, as `berth validate` runs them on one file.
 *
 * Loads the input as one manifest file, looks up marks (every recorded
 * path must give back its own mark; odd paths must not crash), validates
 * every document, builds and checks the fleet when all are valid, and
 * releases everything, so leaks and use-after-free show up under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manifest/check.h"
#include "manifest/model.h"
#include "manifest/schema.h"
#include "manifest/yaml.h"
#include "util/diag.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probe_paths[] = {
	"",
	"apiVersion",
	"kind",
	"metadata",
	"metadata.name",
	"metadata.labels.region",
	"spec",
	"spec.capacity.memory",
	"spec.projects[0].config[\"limits.cpu\"]",
	"spec.storage_pools[1].name",
	"spec.sync_windows[0].time_zone",
	"a.b[3]",
	"[0]",
	"[0][1].x",
	"[\"",
	"[\"\\",
	"[\"a\\\"]\"].b",
	"..",
	".",
	"[",
	"]",
	"x[99999999999999999999]",
	"x[]",
};

static void
check_doc(const struct mdoc *doc)
{
	size_t i, n = doc->nmarks < 64 ? doc->nmarks : 64;
	char *s;

	for (i = 0; i < sizeof(probe_paths) / sizeof(*probe_paths); i++) {
		struct mark m = mdoc_mark(doc, probe_paths[i]);

		if (doc->nmarks && (m.line == 0 || m.col == 0))
			abort();
	}
	for (i = 0; i < n; i++) {
		const struct mark_entry *e = &doc->marks[i];
		struct mark m;

		if (e->path_off >= doc->paths_len)
			abort();
		m = mdoc_mark(doc, doc->paths + e->path_off);
		if (m.line != e->mark.line || m.col != e->mark.col)
			abort();
	}
	if (!doc->root || !doc->file || strcmp(doc->file, "fuzz.yaml"))
		abort();
	s = json_dumps(doc->root, JSON_ENCODE_ANY | JSON_COMPACT);
	free(s);
}

static void
report(void *ctx, const char *path, const char *msg)
{
	struct diags *d = ctx;

	if (!path || !msg || !*msg)
		abort();
	diags_add(d, DIAG_ERROR, "fuzz.yaml", 1, 1, path, "%s", msg);
}

/* Schema, model and checks over the documents (takes them). */
static void
validate(struct mdocs *docs)
{
	static struct schema_set *schemas;
	struct diags d = DIAGS_INIT;
	struct berr err;
	struct fleet *f;
	size_t i;

	if (!schemas && !(schemas = schema_set_load(&err)))
		abort();
	for (i = 0; i < docs->n; i++)
		if (schema_validate_manifest(schemas, docs->v[i].root, report, &d) < 0)
			abort();
	if (d.nerrors) {
		diags_release(&d);
		return;
	}
	f = fleet_build(docs, &d);
	fleet_check(f, &d);
	for (i = 0; i < d.n; i++)
		if (!d.v[i].msg[0])
			abort();
	fleet_free(f);
	diags_release(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	size_t i;
	int r;

	r = yaml_load("fuzz.yaml", (const char *)data, size, &docs, &d);
	if ((r == 0) != (d.nerrors == 0))
		abort();
	for (i = 0; i < docs.n; i++)
		check_doc(&docs.v[i]);
	for (i = 0; i < d.n; i++)
		if (!d.v[i].msg[0] || strcmp(d.v[i].file, "fuzz.yaml"))
			abort();
	validate(&docs);
	mdocs_release(&docs);
	diags_release(&d);
	return 0;
}
