/*
 * path.h - field paths inside a manifest document, as shown to operators.
 *
 * A path is a string built from the root: keys are joined with '.', array
 * indexes are "[N]", and keys that are not plain identifiers
 * (^[A-Za-z_][A-Za-z0-9_-]*$) are written ["key"] with JSON escaping, so
 * that "spec.projects[0].config[\"limits.cpu\"]" is unambiguous. The root
 * is "".
 */
#ifndef BERTH_MANIFEST_PATH_H
#define BERTH_MANIFEST_PATH_H

#include <stddef.h>

#include "util/buf.h"

/* Append one key / one index to the path in b. */
void path_push_key(struct buf *b, const char *key, size_t keylen);
void path_push_index(struct buf *b, size_t index);

#endif
