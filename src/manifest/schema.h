/*
 * schema.h - JSON Schema (draft 2020-12) validation of manifest documents.
 *
 * The schemas in schemas/ are embedded at build time (see embedded.h). This
 * validator implements exactly the keywords those schemas use:
 *   $schema $id $ref $defs title description $comment default examples
 *   type enum const properties required additionalProperties
 *   patternProperties propertyNames minProperties maxProperties
 *   items minItems maxItems uniqueItems
 *   minLength maxLength pattern minimum maximum exclusiveMinimum
 *   allOf anyOf oneOf if then else
 * A schema that uses any other keyword fails to load, so the schemas cannot
 * drift into keywords berth silently ignores. "pattern" is a POSIX extended
 * regular expression that is also a valid ECMAScript one (no \d, no
 * lookaround), searched (not anchored) as JSON Schema says; "integer"
 * accepts a real with no fraction as JSON Schema says; string lengths count
 * code points.
 *
 * Messages say what is wanted and what was found, using the schema's
 * "title" where it names the shape ("want a size like 64GiB, have \"lots\"")
 * and suggesting the nearest known field for unknown ones.
 */
#ifndef BERTH_MANIFEST_SCHEMA_H
#define BERTH_MANIFEST_SCHEMA_H

#include <jansson.h>

#include "util/err.h"

struct schema_set;

/* One problem: path of the offending node (see path.h) and the message. */
typedef void (*schema_report_fn)(void *ctx, const char *path, const char *msg);

/*
 * Load and compile every embedded schema. Returns NULL with err set when a
 * schema is not valid JSON or uses an unsupported keyword. Free with
 * schema_set_free(), which accepts NULL.
 */
struct schema_set *schema_set_load(struct berr *err);
/* Same, from caller-supplied (name, JSON text) pairs; for tests. */
struct schema_set *schema_set_load_texts(const char *const *names,
					 const char *const *texts, size_t n,
					 struct berr *err);
void schema_set_free(struct schema_set *s);

/*
 * Validate doc against the schema whose file name is name ("envelope.json",
 * "host.json", ...). Calls report once for each problem. Returns the number
 * of problems (0: valid), or -1 when there is no such schema.
 */
int schema_validate(const struct schema_set *s, const char *name,
		    const json_t *doc, schema_report_fn report, void *ctx);

/*
 * Validate one manifest document: first against envelope.json; when that
 * passes, against the schema of its kind ("Host" -> host.json). Returns the
 * number of problems.
 */
int schema_validate_manifest(const struct schema_set *s, const json_t *doc,
			     schema_report_fn report, void *ctx);

#endif
