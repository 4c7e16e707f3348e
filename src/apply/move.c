/*
 * move.c - an instance to another host (a plan's ACTION_MOVE).
 *
 * Inside a cluster: POST /1.0/instances/NAME?target=MEMBER {"migration":
 * true}. Between servers, Incus's migration API in pull mode: the source
 * is asked for a migration (POST /1.0/instances/NAME {"migration": true}),
 * which answers with an operation and its secrets; the target creates the
 * instance from it (POST /1.0/instances with source {"type": "migration",
 * "mode": "pull", "operation": the source's operation URL, "certificate":
 * the source's, "secrets"}) and pulls the data itself; then the copy is
 * started and the source deleted. The copy is made with
 * user.berth.move-pending (the source host) and keeps it until the source
 * is gone; then it becomes user.berth.moved-from. A copy still marked
 * pending next to its source is what an interrupted move left (running or
 * not: a container survives its daemon's kill), and the next move
 * replaces it.
 *
 * Cold: stopped first, started again on the target when the plan wants it
 * running; the interruption is measured from the stop to the end of the
 * start. Live (a running VM with migration.stateful): moved running.
 *
 * A move that fails leaves the instance on its source in the state it was
 * in: a copy the target holds is deleted (when the target still answers),
 * and an instance a cold move stopped is started again.
 */
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "incus/connect.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define STOP_TIMEOUT 30		/* seconds of a clean stop before it is forced */

struct mctx {
	const struct plan_action *a;
	struct berr *err;
	long op_timeout;
	struct incus_conn *src, *dst;	/* dst == src inside a cluster */
	const char *from, *to, *member;
	char *path;			/* /1.0/instances/NAME */
	char *query;			/* ?project=P */
};

/* 0 done (async operations waited for), -1 with err. *out (may be NULL): the response's metadata. */
static int
req(struct mctx *m, struct incus_conn *c, const char *method, const char *path,
    const json_t *body, json_t **out)
{
	struct incus_response r;
	int ret = 0;

	if (out)
		*out = NULL;
	if (incus_request(c, method, path, body, NULL, &r, m->err) < 0) {
		incus_response_release(&r);
		return -1;
	}
	if (r.operation[0] && !out && incus_wait(c, r.operation, m->op_timeout, m->err) < 0)
		ret = -1;
	if (out) {
		*out = r.metadata;
		r.metadata = NULL;
	}
	incus_response_release(&r);
	return ret;
}

/* GET the instance on c: 1 with *out, 0 absent, -1 with err. */
static int
get_instance(struct mctx *m, struct incus_conn *c, json_t **out)
{
	struct incus_response r;
	char *p = xasprintf("%s%s", m->path, m->query);
	int ret;

	*out = NULL;
	if (incus_request(c, "GET", p, NULL, NULL, &r, m->err) < 0)
		ret = r.http_status == 404 ? 0 : -1;
	else if (!json_is_object(r.metadata))
		ret = berr_set(m->err, "GET %s: the server answered without an object", p);
	else {
		*out = r.metadata;
		r.metadata = NULL;
		ret = 1;
	}
	incus_response_release(&r);
	free(p);
	return ret;
}

static int
state(struct mctx *m, struct incus_conn *c, const char *action, int force)
{
	json_t *body = json_pack("{s:s, s:i}", "action", action, "timeout", STOP_TIMEOUT);
	char *p = xasprintf("%s/state%s", m->path, m->query);
	int r;

	if (force)
		json_object_set_new(body, "force", json_true());
	r = req(m, c, "PUT", p, body, NULL);
	json_decref(body);
	free(p);
	return r;
}

static int
is_running(const json_t *v)
{
	const char *s = json_string_value(json_object_get(v, "status"));

	return s && !strcmp(s, "Running");
}

static const char *
config_of(const json_t *v, const char *key)
{
	return json_string_value(json_object_get(json_object_get(v, "config"), key));
}

/* Delete the instance on c (forced stop first): best effort, errors ignored. */
static void
discard(struct mctx *m, struct incus_conn *c)
{
	struct berr keep = *m->err;
	char *p = xasprintf("%s%s", m->path, m->query);
	json_t *v = NULL;

	if (get_instance(m, c, &v) > 0) {
		if (is_running(v))
			state(m, c, "stop", 1);
		req(m, c, "DELETE", p, NULL, NULL);
	}
	json_decref(v);
	free(p);
	*m->err = keep;
}

/*
 * Between servers: ask the source for a migration, have the target pull
 * it. have: the source instance.
 */
static int
migrate(struct mctx *m, const json_t *have, const char *cert, int live)
{
	static const char *const copied[] = { "type", "architecture", "profiles", "devices",
					      "ephemeral", "description", "stateful" };
	json_t *op = NULL, *body, *config;
	const json_t *secrets;
	struct buf p = BUF_INIT;
	const char *ep = incus_conn_endpoint(m->src), *id;
	char *src_op = NULL;
	int r = -1;

	if (strncmp(ep, "https://", 8))
		return berr_set(m->err, "host %s is reached at %s: a move between servers needs"
				" an https endpoint the target can pull from", m->from, ep);
	body = json_pack("{s:s, s:b, s:b}", "name", m->a->name, "migration", 1, "live", live);
	buf_addf(&p, "%s%s", m->path, m->query);
	r = req(m, m->src, "POST", p.buf, body, &op);
	json_decref(body);
	id = json_string_value(json_object_get(op, "id"));
	secrets = json_object_get(op, "metadata");
	if (r == 0 && (!id || !json_is_object(secrets)))
		r = berr_set(m->err, "%s: the source answered the migration without an"
			     " operation and its secrets", m->from);
	if (r < 0)
		goto out;
	src_op = xasprintf("/1.0/operations/%s", id);
	body = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:O, s:b}}", "name", m->a->name,
			 "source", "type", "migration", "mode", "pull",
			 "operation", "", "certificate", cert ? cert : "",
			 "secrets", secrets, "live", live);
	json_object_set_new(json_object_get(body, "source"), "operation",
			    json_sprintf("%s%s", ep, src_op));
	/* what the instance is, as the source has it (its own, not expanded) */
	for (size_t k = 0; k < sizeof(copied) / sizeof(copied[0]); k++)
		if (json_object_get(have, copied[k]))
			json_object_set(body, copied[k], json_object_get(have, copied[k]));
	config = json_deep_copy(json_object_get(have, "config"));
	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	json_object_set_new(config, "user.berth.move-pending", json_string(m->from));
	json_object_set_new(body, "config", config);
	buf_reset(&p);
	buf_addf(&p, "/1.0/instances%s", m->query);
	if (m->member) {
		buf_addstr(&p, "&target=");
		incus_path_escape(&p, m->member);
	}
	r = req(m, m->dst, "POST", p.buf, body, NULL);
	json_decref(body);
	if (r < 0) {
		struct berr keep = *m->err;

		req(m, m->src, "DELETE", src_op, NULL, NULL);	/* cancel: best effort */
		*m->err = keep;
	}
out:
	free(src_op);
	json_decref(op);
	buf_release(&p);
	return r;
}

/* Inside a cluster: POST ?target=MEMBER. */
static int
relocate(struct mctx *m, int live)
{
	json_t *body = json_pack("{s:s, s:b, s:b}", "name", m->a->name, "migration", 1,
				 "live", live);
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s%s&target=", m->path, m->query);
	incus_path_escape(&p, m->member);
	r = req(m, m->src, "POST", p.buf, body, NULL);
	json_decref(body);
	buf_release(&p);
	return r;
}

static struct incus_conn *
connect_server(const struct fleet *f, const char *server, const struct apply_opts *o,
	       json_t **info, struct berr *err)
{
	struct incus_target t;
	struct incus_conn *c;

	incus_target_init(&t, f, server, fleet_cluster(f, server) != NULL);
	c = incus_target_connect(&t, o->identity, o->incus, info, NULL, NULL, NULL, err);
	incus_target_release(&t);
	return c;
}

/* Is the instance read (have) where and as the plan saw it? */
static int
as_planned(const struct plan_action *a, const json_t *have)
{
	const char *loc = json_string_value(json_object_get(have, "location"));
	const char *bloc = json_string_value(json_object_get(a->before, "location"));
	const char *st = json_string_value(json_object_get(have, "status"));
	const char *bst = json_string_value(json_object_get(a->before, "status"));

	return (!bloc || (loc && !strcmp(loc, bloc))) && (!bst || (st && !strcmp(st, bst)));
}

enum apply_status
apply_move(const struct fleet *f, const struct plan_action *a, const struct apply_opts *o,
	   json_t **applied, struct berr *err)
{
	static const struct apply_opts no_opts;
	const char *server = json_string_value(json_object_get(a->after, "server"));
	const char *kind = json_string_value(json_object_get(a->after, "kind"));
	const char *want = json_string_value(json_object_get(a->after, "state"));
	struct mctx m;
	struct buf b = BUF_INIT;
	json_t *info = NULL, *have = NULL, *copy = NULL;
	enum apply_status st = APPLY_FAILED;
	int live = kind && !strcmp(kind, "live"), was_running, r;
	int64_t t0 = 0, t1 = 0;

	*applied = NULL;
	if (!o)
		o = &no_opts;
	memset(&m, 0, sizeof(m));
	m.a = a;
	m.err = err;
	m.op_timeout = o->operation_timeout_s > 0 ? o->operation_timeout_s : 600;
	m.from = json_string_value(json_object_get(a->after, "from"));
	m.to = json_string_value(json_object_get(a->after, "to"));
	m.member = json_string_value(json_object_get(a->after, "member"));
	if (!server || !m.from || !m.to || !want) {
		berr_set(err, "%s: the plan's move gives no from, to, server or state", a->address);
		return APPLY_FAILED;
	}
	buf_addstr(&b, "/1.0/instances/");
	incus_path_escape(&b, a->name);
	m.path = buf_detach(&b, NULL);
	buf_addstr(&b, "?project=");
	incus_path_escape(&b, a->project ? a->project : "default");
	m.query = buf_detach(&b, NULL);

	if (!(m.src = connect_server(f, a->server, o, &info, err)))
		goto out;
	if ((r = get_instance(&m, m.src, &have)) <= 0) {
		if (r == 0) {
			berr_set(err, "changed since the plan: %s (it no longer exists)", a->address);
			st = APPLY_STALE;
		}
		goto out;
	}
	if (!as_planned(a, have)) {
		berr_set(err, "changed since the plan: %s", a->address);
		st = APPLY_STALE;
		goto out;
	}
	if (!strcmp(server, a->server)) {
		m.dst = m.src;
	} else {
		if (!(m.dst = connect_server(f, server, o, NULL, err))) {
			berr_prefix(err, "move to %s", m.to);
			goto out;
		}
		if ((r = get_instance(&m, m.dst, &copy)) < 0)
			goto out;
		if (r > 0) {
			const char *mf = config_of(copy, "user.berth.move-pending");

			if (!mf || strcmp(mf, m.from)) {
				berr_set(err, "move to %s: an instance named %s exists there already,"
					 " and it is not what an interrupted move left", m.to, a->name);
				goto out;
			}
			discard(&m, m.dst);	/* what an interrupted move left */
		}
	}
	was_running = is_running(have);
	if (was_running && !live) {
		t0 = clock_now_ms();
		if (state(&m, m.src, "stop", 0) < 0 && state(&m, m.src, "stop", 1) < 0) {
			berr_prefix(err, "stop before the move failed");
			goto out;
		}
	}
	r = m.dst == m.src ? relocate(&m, live)
			   : migrate(&m, have, json_string_value(json_object_get(json_object_get(
				info, "environment"), "certificate")), live);
	if (r == 0 && !strcmp(want, "running") && !live) {
		r = state(&m, m.dst, "start", 0);
		if (r < 0)
			berr_prefix(err, "moved to %s, but the start there failed", m.to);
	}
	t1 = clock_now_ms();
	if (r < 0) {
		struct berr keep = *err;

		if (m.dst != m.src) {
			discard(&m, m.dst);
		} else {
			/* inside a cluster the instance itself may have moved: take it back */
			json_t *now = NULL;
			const char *to = m.member;

			if (get_instance(&m, m.src, &now) > 0 && m.member &&
			    json_string_value(json_object_get(now, "location")) &&
			    !strcmp(json_string_value(json_object_get(now, "location")), m.member)) {
				if (is_running(now))
					state(&m, m.src, "stop", 1);
				m.member = m.from;
				relocate(&m, 0);
				m.member = to;
			}
			json_decref(now);
		}
		if (was_running && !live)
			state(&m, m.src, "start", 0);
		*err = keep;
		berr_prefix(err, "%s stays on %s%s", a->name, m.from,
			    was_running ? " (running)" : "");
		goto out;
	}
	if (m.dst != m.src) {
		char *p = xasprintf("%s%s", m.path, m.query);
		json_t *body;

		r = req(&m, m.src, "DELETE", p, NULL, NULL);
		free(p);
		if (r < 0) {
			berr_prefix(err, "moved to %s and running there, but the source on %s"
				    " could not be deleted (delete it by hand)", m.to, m.from);
			goto out;
		}
		/* the source is gone: the copy is the instance */
		body = json_pack("{s:{s:s, s:s}}", "config", "user.berth.move-pending", "",
				 "user.berth.moved-from", m.from);
		p = xasprintf("%s%s", m.path, m.query);
		if (req(&m, m.dst, "PATCH", p, body, NULL) < 0)
			err->msg[0] = '\0';	/* harmless: a mark without its source */
		free(p);
		json_decref(body);
	}
	json_decref(copy);
	copy = NULL;
	get_instance(&m, m.dst, &copy);
	*applied = json_pack("{s:s, s:s, s:s, s:O}", "from", m.from, "to", m.to,
			     "kind", live ? "live" : "cold", "instance", copy ? copy : json_null());
	json_object_set_new(*applied, "interruption_ms", was_running && !live ?
			    json_integer((json_int_t)(t1 - t0)) : json_null());
	st = APPLY_OK;
out:
	json_decref(info);
	json_decref(have);
	json_decref(copy);
	if (m.dst && m.dst != m.src)
		incus_conn_free(m.dst);
	incus_conn_free(m.src);
	free(m.path);
	free(m.query);
	return st;
}
