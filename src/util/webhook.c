/*
 * webhook.c - POST JSON with retries within a deadline (webhook.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "util/clock.h"
#include "util/webhook.h"
#include "util/xalloc.h"
#include "util/banned.h"

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One try, cut at deadline: 0 for a 2xx answer. */
static int
try_post(CURL *c, const char *url, const char *body, int64_t deadline, struct berr *err)
{
	int64_t left = deadline - clock_mono_ms();
	long code = 0;
	CURLcode rc;

	if (left <= 0)
		return berr_set(err, "out of time");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 2000 ? left : 2000));
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		return berr_set(err, "%s", curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		return berr_set(err, "HTTP %ld", code);
	return 0;
}

int
webhook_post(const char *url, const char *body, int64_t deadline_mono_ms, struct berr *err)
{
	struct curl_slist *h = NULL;
	int64_t backoff = 250;
	CURL *c = curl_easy_init();
	int r;

	if (!c)
		return berr_set(err, "out of memory");
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	for (;;) {
		if ((r = try_post(c, url, body, deadline_mono_ms, err)) == 0)
			break;
		if (clock_mono_ms() + backoff >= deadline_mono_ms)
			break;
		struct timespec ts = { (time_t)(backoff / 1000), (long)(backoff % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		backoff *= 2;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

int
webhook_url_ok(const char *url)
{
	return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

char *
webhook_redact(const char *url)
{
	const char *scheme = strstr(url, "://"), *host, *at, *end;

	if (!scheme)
		return xstrdup("(not a URL)");
	host = scheme + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	return xasprintf("%.*s%.*s", (int)(scheme + 3 - url), url, (int)(end - host), host);
}
