/*
 * webhooks.c - events to webhooks, once each (webhooks.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "apply/webhooks.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/webhook.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The first 16 hex digits of SHA-256(s). */
static void
digest16(const char *s, char out[17])
{
	unsigned char md[32];
	unsigned int len = 0;
	char hex[65];

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

static int
found(void *ctx, const json_t *e)
{
	(void)e;
	*(int *)ctx = 1;
	return 1;
}

size_t
webhooks_send(struct ledger *l, const char *const *urls, size_t n, const char *key,
	      const char *detail, const json_t *event, int64_t budget_ms,
	      void (*warn)(void *arg, const char *msg), void *arg)
{
	int64_t deadline = clock_mono_ms() + budget_ms;
	char *body = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
	char ud[17], kd[17], object[64], msg[BERR_MAX + 512];
	size_t i, sent = 0;
	struct berr err;
	char *id = xasprintf("%s\n%s", key, detail);

	digest16(id, kd);
	free(id);
	for (i = 0; body && i < n; i++) {
		struct ledger_filter f = { 0 };
		struct ledger_entry e = { 0 };
		char *shown = webhook_redact(urls[i]);
		json_t *after;
		int done = 0;

		digest16(urls[i], ud);
		snprintf(object, sizeof(object), "notify/%s/%s", ud, kd);
		f.kind = "notify.sent";
		f.object = object;
		f.limit = 1;
		if (ledger_query(l, &f, found, &done, &err) < 0) {
			snprintf(msg, sizeof(msg), "notify %.400s: %s", shown, err.msg);
			warn(arg, msg);
		} else if (!done && webhook_post(urls[i], body, deadline, &err) < 0) {
			snprintf(msg, sizeof(msg), "notify %.400s: %s (tried again next time)", shown,
				 err.msg);
			warn(arg, msg);
		} else if (!done) {
			after = json_pack("{s:s, s:s, s:O?}", "url", shown, "key", key, "event",
					  json_object_get(event, "event"));
			e.kind = "notify.sent";
			e.object = object;
			e.action = "post";
			e.result = "ok";
			e.after = after;
			if (ledger_append(l, &e, &err) < 0) {
				snprintf(msg, sizeof(msg), "notify %.400s: sent, not recorded: %s", shown,
					 err.msg);
				warn(arg, msg);
			}
			json_decref(after);
			sent++;
		}
		free(shown);
	}
	free(body);
	return sent;
}

size_t
webhooks_urls(const char *const *urls, size_t n, const char ***out, char **keep)
{
	const char *env = getenv("BERTH_NOTIFY");
	size_t i, j, m = 0, cap = n + 1;
	char *p, *save = NULL, *t;

	*keep = env ? xstrdup(env) : NULL;
	for (p = *keep; p && *p; p++)
		cap += *p == ' ' || *p == '\t' || *p == '\n';
	cap += 1;
	*out = xcalloc(cap + 1, sizeof(**out));
	for (i = 0; i < n; i++)
		(*out)[m++] = urls[i];
	for (t = *keep ? strtok_r(*keep, " \t\n", &save) : NULL; t; t = strtok_r(NULL, " \t\n",
									      &save)) {
		for (j = 0; j < m && strcmp((*out)[j], t); j++)
			;
		if (j == m && m < cap)
			(*out)[m++] = t;
	}
	(*out)[m] = NULL;
	return m;
}
