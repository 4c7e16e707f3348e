/*
 * gather.c - instances' events from the ledger (gather.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/store.h"
#include "settle/gather.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* A string that lives as long as e (kept in e->keep). */
static const char *
keep_str(struct settle_events *e, const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);

	json_array_append_new(e->keep, j);
	return json_string_value(j);
}

/* The instance as settlement names it: "name", or "project/name" outside
 * the default project; name is len bytes. Caller frees. */
static char *
instance_key(const char *project, const char *name, size_t len)
{
	if (project && strcmp(project, "default"))
		return xasprintf("%s/%.*s", project, (int)len, name);
	return xstrndup(name, len);
}

/*
 * The server and the instance ("name" or "project/name") of an instance
 * address; 0, or -1 when object is not one. *cluster: the server is a
 * cluster.
 */
static int
parse_address(struct settle_events *e, const char *object, const char **server,
	      const char **instance, int *cluster)
{
	const char *s, *slash, *at = strstr(object, "/instance/"), *name, *q;
	char *key;

	if (!at)
		return -1;
	if (!strncmp(object, "host/", 5))
		*cluster = 0;
	else if (!strncmp(object, "cluster/", 8))
		*cluster = 1;
	else
		return -1;
	s = object + (*cluster ? 8 : 5);
	slash = strchr(s, '/');
	if (slash != at)
		return -1;
	*server = keep_str(e, s, (size_t)(at - s));
	name = at + strlen("/instance/");
	q = strchr(name, '?');
	key = instance_key(q && !strncmp(q, "?project=", 9) ? q + 9 : NULL, name,
			   q ? (size_t)(q - name) : strlen(name));
	*instance = keep_str(e, key, strlen(key));
	free(key);
	return 0;
}

static struct settle_event *
event_add(struct settle_events *e)
{
	if (e->n == e->alloc) {
		e->alloc = e->alloc ? e->alloc * 2 : 256;
		e->v = xreallocarray(e->v, e->alloc, sizeof(*e->v));
	}
	memset(&e->v[e->n], 0, sizeof(e->v[0]));
	return &e->v[e->n++];
}

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A terms entry: its after, from its time on. */
static int
on_terms(struct settle_events *e, const json_t *entry)
{
	const json_t *after = json_object_get(entry, "after");
	int64_t ms;

	if (!json_is_object(after) ||
	    clock_parse_rfc3339(str(entry, "time") ? str(entry, "time") : "", &ms) < 0)
		return 0;
	json_array_append(e->keep, (json_t *)entry);
	if (e->nterms == e->aterms) {
		e->aterms = e->aterms ? e->aterms * 2 : 16;
		e->terms = xreallocarray(e->terms, e->aterms, sizeof(*e->terms));
	}
	e->terms[e->nterms++] = (struct settle_terms){ ms / 1000, after };
	return 0;
}

static int
on_entry(void *ctx, const json_t *entry)
{
	struct settle_events *e = ctx;
	const json_t *after = json_object_get(entry, "after");
	const char *action = str(entry, "action"), *object = str(entry, "object");
	const char *kind = str(entry, "kind"), *server, *instance, *loc;
	struct settle_event *ev;
	int64_t ms;
	int cluster;

	if (kind && !strcmp(kind, "terms"))
		return on_terms(e, entry);
	if (!kind || (strcmp(kind, "change.result") && strcmp(kind, "instance.gone") &&
		      strcmp(kind, "instance.moved")))
		return 0;
	if (!object || !action || strcmp(str(entry, "result") ? str(entry, "result") : "", "ok") ||
	    clock_parse_rfc3339(str(entry, "time") ? str(entry, "time") : "", &ms) < 0 ||
	    parse_address(e, object, &server, &instance, &cluster) < 0)
		return 0;
	if (!strcmp(action, "delete") || !strcmp(kind, "instance.gone")) {
		ev = event_add(e);
		ev->kind = SETTLE_END;
		ev->time = ms / 1000;
		ev->instance = instance;
		ev->host = cluster ? NULL : server;
		return 0;
	}
	if (!json_is_object(after))
		return 0;
	json_array_append(e->keep, (json_t *)entry);
	if (!strcmp(action, "move")) {
		if (!str(after, "from") || !str(after, "to"))
			return 0;
		ev = event_add(e);
		ev->kind = SETTLE_MOVE;
		ev->time = ms / 1000;
		ev->instance = instance;
		ev->from = str(after, "from");
		ev->host = str(after, "to");
		return 0;
	}
	if (!json_is_object(json_object_get(after, "config")) ||
	    !str(json_object_get(after, "config"), "user.berth.price"))
		return 0;
	loc = str(after, "location");
	ev = event_add(e);
	ev->kind = SETTLE_START;
	ev->time = ms / 1000;
	ev->instance = instance;
	ev->host = cluster && loc && *loc && strcmp(loc, "none") ? loc : server;
	ev->config = json_object_get(after, "config");
	return 0;
}

int
settle_events_gather(struct ledger *l, struct settle_events *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	out->keep = json_array();
	if (ledger_query(l, NULL, on_entry, out, err) < 0) {
		settle_events_release(out);
		return -1;
	}
	return 0;
}

const json_t *
settle_events_last_terms(const struct settle_events *e)
{
	return e->nterms ? e->terms[e->nterms - 1].terms : NULL;
}

void
settle_events_release(struct settle_events *e)
{
	free(e->v);
	free(e->terms);
	json_decref(e->keep);
	memset(e, 0, sizeof(*e));
}

/* A string that lives as long as t; *last: the same one as before, if it is. */
static const char *
keep_name(struct settle_traffics *t, const char **last, const char *s)
{
	if (!*last || strcmp(*last, s)) {
		json_array_append_new(t->keep, json_string(s));
		*last = json_string_value(json_array_get(t->keep, json_array_size(t->keep) - 1));
	}
	return *last;
}

static void
on_row(void *ctx, const char *host, const char *project, const char *instance,
       const char *hour, uint64_t bytes)
{
	struct settle_traffics *t = ctx;
	char when[32], *name;
	const char *h, *i;
	int64_t ms;

	snprintf(when, sizeof(when), "%.13s:00:00Z", hour);
	if (clock_parse_rfc3339(when, &ms) < 0)
		return;
	name = instance_key(project, instance, strlen(instance));
	i = keep_name(t, &t->last_instance, name);
	h = keep_name(t, &t->last_host, host);
	free(name);
	if (t->n == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 256;
		t->v = xreallocarray(t->v, t->alloc, sizeof(*t->v));
	}
	t->v[t->n++] = (struct settle_traffic){ i, h, ms / 1000, bytes, 3600 };
}

/* Per instance: the smallest allowance it is sold with, its total, its rows' keys. */
static void
on_total(void *ctx, const char *host, const char *project, const char *instance,
	 uint64_t bytes)
{
	json_t *per = ctx, *x;
	char *name = instance_key(project, instance, strlen(instance));

	if ((x = json_object_get(per, name))) {
		json_object_set_new(x, "total", json_integer(json_integer_value(
			json_object_get(x, "total")) + (json_int_t)(bytes > INT64_MAX / 2 ?
								    INT64_MAX / 2 : bytes)));
		json_array_append_new(json_object_get(x, "keys"),
				      json_pack("[s, s, s]", host, project, instance));
	}
	free(name);
}

int
settle_traffic_gather(const char *state_dir, int64_t from, int64_t to,
		      const struct settle_spans *s, struct settle_traffics *out,
		      struct berr *err)
{
	char from_hour[40], to_hour[40];
	json_t *per = json_object(), *which = json_array(), *x, *k;
	const char *name;
	size_t i, j;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->keep = json_array();
	for (i = 0; i < s->n; i++) {
		const struct settle_snapshot *sn = s->v[i].snap;
		json_int_t have;

		if (!sn->traffic || !sn->overage_per || sn->traffic > INT64_MAX / 2)
			continue;
		if (!(x = json_object_get(per, s->v[i].instance))) {
			x = json_pack("{s:I, s:I, s:[]}", "allowance", (json_int_t)sn->traffic,
				      "total", (json_int_t)0, "keys");
			json_object_set_new(per, s->v[i].instance, x);
		}
		have = json_integer_value(json_object_get(x, "allowance"));
		if ((json_int_t)sn->traffic < have)
			json_object_set_new(x, "allowance", json_integer((json_int_t)sn->traffic));
	}
	clock_format((from - 32 * 86400LL) * 1000, 0, from_hour, sizeof(from_hour));
	/* every hour that starts before to: an hour cut by to counts */
	clock_format((to + 3599) * 1000, 0, to_hour, sizeof(to_hour));
	from_hour[13] = to_hour[13] = '\0';
	if (json_object_size(per) &&
	    store_traffic_totals(state_dir, from_hour, to_hour, on_total, per, err) < 0)
		goto out;
	json_object_foreach(per, name, x)
		if (json_integer_value(json_object_get(x, "total")) >
		    json_integer_value(json_object_get(x, "allowance")))
			json_array_foreach(json_object_get(x, "keys"), j, k)
				json_array_append(which, k);
	if (store_traffic_rows(state_dir, from_hour, to_hour, which, on_row, out, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(per);
	json_decref(which);
	if (ret < 0)
		settle_traffics_release(out);
	return ret;
}

void
settle_traffics_release(struct settle_traffics *t)
{
	free(t->v);
	json_decref(t->keep);
	memset(t, 0, sizeof(*t));
}
