/*
 * embedded.h - files built into the binary: the JSON Schemas of schemas/
 * (read by manifest/schema.c), the SQL of state/ (applied by the ledger),
 * the dashboard page (served by serve/dashboard.c) and the shell scripts
 * berth prints (agent/install.sh). This header is written by hand; the
 * tables it declares are generated at build time by src/embed.py into
 * embedded-schemas.c, embedded-state.c, embedded-dashboard.c and
 * embedded-scripts.c, from the files meson.build lists.
 */
#ifndef BERTH_EMBEDDED_H
#define BERTH_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;	/* base name, e.g. "host.json" */
	const char *data;	/* len bytes, NUL-terminated */
	size_t len;
};

/* The JSON Schemas of schemas/, in name order. */
extern const struct embedded_file embedded_schemas[];
extern const size_t embedded_schemas_count;
/* The SQL files of state/, in name order. */
extern const struct embedded_file embedded_state[];
extern const size_t embedded_state_count;
/* serve/dashboard.html. */
extern const struct embedded_file embedded_dashboard[];
extern const size_t embedded_dashboard_count;
/* The scripts: install.sh, the body of berth host install-command's. */
extern const struct embedded_file embedded_scripts[];
extern const size_t embedded_scripts_count;

#endif
