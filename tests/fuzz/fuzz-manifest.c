/*
 * fuzz-manifest.c - libFuzzer target for the manifest YAML converter.
 *
 * Loads the input as one manifest file, looks up marks (every recorded
 * path must give back its own mark; odd paths must not crash), and
 * releases everything, so leaks and use-after-free show up under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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
	mdocs_release(&docs);
	diags_release(&d);
	return 0;
}
