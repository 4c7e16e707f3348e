/*
 * dashboard.c - the page of GET / and its Content-Security-Policy
 * (dashboard.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "embedded.h"
#include "serve/dashboard.h"
#include "util/banned.h"

static struct dashboard page;
static char csp[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/*
 * "'sha256-BASE64'" of what lies between the first open tag of html and
 * the close tag after it, into out; "'none'" when there is no such element.
 */
static void
source_hash(const char *html, size_t len, const char *open, const char *close,
	    char *out, size_t outlen)
{
	const char *s = memmem(html, len, open, strlen(open)), *e = NULL;
	unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;

	if (s) {
		s += strlen(open);
		e = memmem(s, len - (size_t)(s - html), close, strlen(close));
	}
	if (!e || !EVP_Digest(s, (size_t)(e - s), md, &mdlen, EVP_sha256(), NULL)) {
		snprintf(out, outlen, "'none'");
		return;
	}
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(out, outlen, "'sha256-%s'", (const char *)b64);
}

static void
make_page(void)
{
	char script[128], style[128];
	size_t i;

	for (i = 0; i < embedded_dashboard_count; i++)
		if (!strcmp(embedded_dashboard[i].name, "dashboard.html")) {
			page.html = embedded_dashboard[i].data;
			page.len = embedded_dashboard[i].len;
		}
	if (!page.html) {	/* not built in: cannot happen */
		page.html = "";
		page.len = 0;
	}
	source_hash(page.html, page.len, "<script>", "</script>", script, sizeof(script));
	source_hash(page.html, page.len, "<style>", "</style>", style, sizeof(style));
	snprintf(csp, sizeof(csp), "default-src 'self'; script-src %s; style-src %s; "
		 "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		 script, style);
	page.csp = csp;
}

const struct dashboard *
dashboard_page(void)
{
	pthread_once(&once, make_page);
	return &page;
}
