/*
 * gather.c - instances' events from the ledger (gather.h).
 */
#include <string.h>

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
	if (!q) {
		*instance = keep_str(e, name, strlen(name));
	} else if (!strncmp(q, "?project=", 9) && strcmp(q + 9, "default")) {
		char *both = xasprintf("%s/%.*s", q + 9, (int)(q - name), name);

		*instance = keep_str(e, both, strlen(both));
		free(both);
	} else {
		*instance = keep_str(e, name, (size_t)(q - name));
	}
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

static int
on_entry(void *ctx, const json_t *entry)
{
	struct settle_events *e = ctx;
	const json_t *after = json_object_get(entry, "after");
	const char *action = str(entry, "action"), *object = str(entry, "object");
	const char *server, *instance, *loc;
	struct settle_event *ev;
	int64_t ms;
	int cluster;

	const char *kind = str(entry, "kind");

	if (!kind || (strcmp(kind, "change.result") && strcmp(kind, "instance.gone")))
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

void
settle_events_release(struct settle_events *e)
{
	free(e->v);
	json_decref(e->keep);
	memset(e, 0, sizeof(*e));
}
