/*
 * yaml.h - YAML text to jansson values, keeping the place of every node.
 *
 * Semantics are YAML 1.2's core schema: plain scalars resolve to null
 * (~, null, Null, NULL, empty), bool (true/True/TRUE/false/False/FALSE),
 * int (decimal, 0o octal, 0x hex), float (1e3, .5, .inf, .nan: the last two
 * are refused since JSON cannot hold them); everything else, and every
 * quoted scalar, is a string ("no", "on", "yes" are strings). Tags !!str,
 * !!int, !!float, !!bool, !!null and the non-specific "!" are honoured; any
 * other tag is an error ("!" makes a scalar a string; !!map and !!seq are
 * accepted on a mapping and a sequence). Mapping keys must be scalars and
 * become strings: the key is the scalar's text, unresolved ("1", "null",
 * "0x1F"); an alias of a scalar may be a key. "<<" is an ordinary key (no
 * YAML 1.1 merge).
 *
 * Limits, each failing with a diagnostic that names the file and position:
 * YAML_MAX_FILE bytes, YAML_MAX_DEPTH nesting, YAML_MAX_NODES nodes per file
 * counted after alias expansion (an alias counts the whole subtree it
 * refers to, so an alias bomb fails after a few hundred events without
 * allocating the expansion: aliased values are shared with json_incref, so
 * callers must treat the trees as read-only), YAML_MAX_KEY bytes per key,
 * and duplicate keys in one mapping (an error naming both places).
 *
 * Messages (lowercase, without the "file:line:col: path: " that
 * diag_format puts in front; the diagnostic's path is the node's):
 *   file is N bytes, over the limit of 4194304 bytes      (line 0, col 0)
 *   nesting deeper than 64 levels
 *   more than 1000000 nodes
 *   more than 1000000 nodes after alias expansion (alias "a" at 12:7)
 *   key is N bytes, over the limit of 256 bytes
 *   duplicate key "name" (first at 3:3)
 *   non-scalar key: want a scalar, have a mapping [(alias "m")]
 *   undefined alias "x"
 *   recursive alias "x" (its anchor at 1:4 encloses it)
 *   unsupported tag: want !!str, !!int, !!float, !!bool or !!null, have "!x"
 *   unsupported tag on a mapping: want !!map, have !!set
 *   !!int: want an integer, have "abc"     (also !!float, !!bool, !!null)
 *   want an integer that fits in 64 bits, have 9223372036854775808
 *   want a finite number, have .inf (JSON has no infinity)
 *   want a number, have .nan (JSON has no NaN)
 *   yaml: <libyaml's problem> [(<libyaml's context> that started at L:C)]
 * Subjects are quoted JSON-style and clipped after 64 bytes ("...").
 */
#ifndef BERTH_MANIFEST_YAML_H
#define BERTH_MANIFEST_YAML_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/diag.h"

#define YAML_MAX_FILE	(4u * 1024 * 1024)
#define YAML_MAX_DEPTH	64
#define YAML_MAX_NODES	1000000u
#define YAML_MAX_KEY	256

/* A position in a file, 1-based. */
struct mark {
	uint32_t line;
	uint32_t col;
};

/* Where each node of a document is: path (see path.h) -> mark. */
struct mark_entry {
	uint32_t path_off;	/* offset of the NUL-terminated path in paths */
	struct mark mark;
};

/* One YAML document. */
struct mdoc {
	char *file;		/* path of the file inside the tree (owned) */
	unsigned index;		/* 0-based document number within the file,
				   counting the skipped empty ones */
	struct mark mark;	/* where the document's root node starts */
	json_t *root;		/* owned reference */
	struct mark_entry *marks;
	size_t nmarks, amarks;
	char *paths;		/* NUL-separated path strings */
	size_t paths_len, paths_alloc;
};

/* Every document of a manifest tree, in file order. */
struct mdocs {
	struct mdoc *v;
	size_t n;
	size_t alloc;
};

#define MDOCS_INIT { NULL, 0, 0 }

/*
 * Parse data (len bytes, need not be NUL-terminated) of the file named
 * file and append its documents to out. Empty documents (a file with only
 * comments, or a bare "---") are skipped. Problems are added to d as errors
 * with file:line:col. Returns 0 when the file was converted, -1 when it had
 * errors (documents of the file that were complete before the error are
 * kept, nothing else is appended; libyaml decodes its input ahead in blocks
 * of 16 KiB, so a byte that is not UTF-8 may be reported before documents
 * in front of it are complete). Conversion stops at the first error.
 *
 * A node's mark is where it starts, at its anchor or tag if it has one;
 * a key's node is its value (a mapping or sequence value starts at its
 * first entry in block style). Nodes reached through an alias have no
 * marks of their own: mdoc_mark gives the alias's. The trees returned may
 * share subtrees (aliases), so treat them as read-only.
 */
int yaml_load(const char *file, const char *data, size_t len,
	      struct mdocs *out, struct diags *d);

/*
 * The mark of the node at path in doc; when there is no node at exactly
 * that path (a missing field, or a node reached through an alias), the mark
 * of the nearest enclosing node that has one (the root's at worst). A
 * document whose paths take more than 64 MiB in all records no more marks
 * past that point, so its later nodes get an enclosing node's mark.
 */
struct mark mdoc_mark(const struct mdoc *doc, const char *path);

/* Free every document; docs is empty again. Safe on a zeroed or released
 * struct (docs must not be NULL). */
void mdocs_release(struct mdocs *docs);

#endif
