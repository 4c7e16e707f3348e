/*
 * dashboard.h - the page of GET / on the server that serves reads.
 *
 * One HTML file with its style and script inline (serve/dashboard.html,
 * built into the binary): it logs in with an API token and reads the JSON
 * API from the browser, every few seconds. The page holds no data, so it
 * is served to anyone who reaches the listener; what it shows is what the
 * token may read. Its Content-Security-Policy lets it reach only the
 * server that served it and run only its own inline style and script,
 * named by their SHA-256.
 */
#ifndef BERTH_SERVE_DASHBOARD_H
#define BERTH_SERVE_DASHBOARD_H

#include <stddef.h>

struct dashboard {
	const char *html;	/* len bytes */
	size_t len;
	const char *csp;	/* the Content-Security-Policy header's value */
};

/* The page, made once; static: never freed, the same for every caller and thread. */
const struct dashboard *dashboard_page(void);

#endif
