/*
 * test-apply.c - the executor against real incusd daemons started with
 * contrib/lab/lab (2 standalone hosts, a 2-member cluster, an image
 * server): apply from empty, converge, update, stale plans, a daemon
 * killed before an apply, prune, and the journal's order.
 *
 * Needs root and /usr/libexec/incus/incusd; otherwise the lab tests are
 * skipped (exit 77), except under CI=true (a failure).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "helpers.h"
#include "lab.h"

#include "apply/apply.h"
#include "incus/client.h"
#include "incus/observe.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct lab {
	struct lab_run run;	/* root, dir: root/lab */
	char state[PATH_MAX];	/* root/state: the trusted identity */
	char fleet_dir[PATH_MAX];
	json_t *json;		/* lab.json */
	struct incus_identity id;
	struct manifest_result fleet;
	int loaded;
};

static struct lab lab;

/* ---- helpers ------------------------------------------------------------ */

static json_t *
daemon_of(const char *name)
{
	json_t *v;
	size_t i;

	if (strcmp(name, "lab-images") == 0)
		return json_object_get(lab.json, "image_server");
	json_array_foreach(json_object_get(lab.json, "hosts"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
			return v;
	json_array_foreach(json_object_get(json_object_get(lab.json, "cluster"), "members"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
			return v;
	fail_msg("no daemon %s in lab.json", name);
	return NULL;
}

static const char *
field(const char *name, const char *key)
{
	const json_t *v = json_object_get(daemon_of(name), key);

	if (json_is_integer(v)) {
		static char num[32];

		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return num;
	}
	assert_non_null(json_string_value(v));
	return json_string_value(v);
}

static int
load_lab_json(void)
{
	json_decref(lab.json);
	lab.json = lab_json(&lab.run);
	return lab.json ? 0 : -1;
}

static struct incus_conn *
conn_unix(const char *name)
{
	char *ep = xasprintf("unix://%s", field(name, "socket"));
	struct berr err;
	struct incus_conn *c = incus_conn_new(name, ep, NULL, NULL, NULL, &err);

	if (!c)
		fail_msg("%s", err.msg);
	free(ep);
	return c;
}

/* GET path on daemon name over its socket; NULL when absent. */
static json_t *
get_on(const char *name, const char *path)
{
	struct incus_conn *c = conn_unix(name);
	struct berr err;
	json_t *v = incus_get(c, path, &err);

	incus_conn_free(c);
	return v;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * The fleet: lab-1 and lab-2 (pools incus (dir) and fast (btrfs, 1GiB),
 * project tenants), the cluster (pool incus (dir)), plans small and extra
 * on the hosts (extra only when with_extra), csmall on the cluster, all
 * with cpu CPUs, and the busybox image of the lab's image server on all.
 */
static void
load_fleet(unsigned cpu, int with_extra)
{
	struct source_opts so = { 0 };
	struct diags d = DIAGS_INIT;
	struct buf y = BUF_INIT;
	struct berr err;
	const char *hosts[] = { "lab-1", "lab-2" }, *members[] = { "lab-c1", "lab-c2" };
	json_t *cl = json_object_get(lab.json, "cluster");
	json_t *im = json_object_get(lab.json, "image_server");
	char *file;
	size_t i;

	if (lab.loaded)
		manifest_result_release(&lab.fleet);
	lab.loaded = 0;
	for (i = 0; i < 2; i++)
		buf_addf(&y, "apiVersion: berth/v1\nkind: Host\nmetadata: {name: %s, labels: {site: lab}}\n"
			 "spec:\n  endpoint: %s\n  fingerprint: \"%s\"\n  os: debian-12\n"
			 "  capacity: {cpu: 16, memory: 4GiB, disk: 10GiB}\n"
			 "  storage_pools:\n    - {name: incus, driver: dir}\n"
			 "    - {name: fast, driver: btrfs, size: 1GiB}\n"
			 "  projects: [{name: tenants}]\n---\n",
			 hosts[i], field(hosts[i], "endpoint"), field(hosts[i], "fingerprint"));
	buf_addf(&y, "apiVersion: berth/v1\nkind: Cluster\nmetadata: {name: %s}\n"
		 "spec:\n  endpoint: %s\n  fingerprint: \"%s\"\n"
		 "  storage_pools: [{name: incus, driver: dir}]\n---\n",
		 json_string_value(json_object_get(cl, "name")),
		 json_string_value(json_object_get(cl, "endpoint")),
		 json_string_value(json_object_get(cl, "fingerprint")));
	for (i = 0; i < 2; i++)
		buf_addf(&y, "apiVersion: berth/v1\nkind: Host\nmetadata: {name: %s, labels: {site: cl}}\n"
			 "spec:\n  endpoint: %s\n  fingerprint: \"%s\"\n  cluster: %s\n"
			 "  os: debian-12\n  capacity: {cpu: 16, memory: 4GiB, disk: 10GiB}\n---\n",
			 members[i], field(members[i], "endpoint"),
			 field(members[i], "fingerprint"),
			 json_string_value(json_object_get(cl, "name")));
	buf_addstr(&y, "apiVersion: berth/v1\nkind: Pool\nmetadata: {name: lab}\n"
		   "spec: {hosts: {labels: {site: lab}}, storage_pool: incus}\n---\n"
		   "apiVersion: berth/v1\nkind: Pool\nmetadata: {name: cl}\n"
		   "spec: {hosts: {labels: {site: cl}}, storage_pool: incus}\n---\n");
	buf_addf(&y, "apiVersion: berth/v1\nkind: Plan\nmetadata: {name: small}\n"
		 "spec: {pool: lab, type: container, cpu: %u, memory: 256MiB, disk: 1GiB,"
		 " price: {amount: \"2.00\", currency: EUR, cycle: monthly}}\n---\n"
		 "apiVersion: berth/v1\nkind: Plan\nmetadata: {name: csmall}\n"
		 "spec: {pool: cl, type: container, cpu: %u, memory: 256MiB, disk: 1GiB,"
		 " price: {amount: \"2.00\", currency: EUR, cycle: monthly}}\n---\n", cpu, cpu);
	if (with_extra)
		buf_addf(&y, "apiVersion: berth/v1\nkind: Plan\nmetadata: {name: extra}\n"
			 "spec: {pool: lab, type: container, cpu: %u, memory: 512MiB, disk: 1GiB,"
			 " price: {amount: \"4.00\", currency: EUR, cycle: monthly}}\n---\n", cpu);
	buf_addf(&y, "apiVersion: berth/v1\nkind: Image\nmetadata: {name: busybox}\n"
		 "spec:\n  source: {server: \"%s\", protocol: incus, alias: busybox,"
		 " server_fingerprint: \"%s\"}\n  pools: [lab, cl]\n  auto_update: false\n",
		 json_string_value(json_object_get(im, "endpoint")),
		 json_string_value(json_object_get(im, "fingerprint")));
	file = xasprintf("%s/fleet.yaml", lab.fleet_dir);
	write_file(file, y.buf);

	so.repo = lab.fleet_dir;
	so.worktree = 1;
	so.state_dir = lab.state;
	memset(&lab.fleet, 0, sizeof(lab.fleet));
	if (manifest_load(&so, MANIFEST_CHECK, &lab.fleet, &d, &err) < 0)
		fail_msg("%s", err.msg);
	for (i = 0; i < d.n; i++) {
		char line[1024];

		diag_format(&d.v[i], line, sizeof(line));
		if (d.v[i].severity == DIAG_ERROR)
			fail_msg("%s", line);
	}
	assert_non_null(lab.fleet.fleet);
	lab.loaded = 1;
	diags_release(&d);
	buf_release(&y);
	free(file);
}

static void
make_plan(struct plan *p, int prune)
{
	struct observe_opts o = { 0 };
	struct plan_opts po = { 0 };
	struct berr err;
	json_t *obs;

	o.identity = &lab.id;
	o.parallel = 4;
	obs = observe_fleet(lab.fleet.fleet, &o, &err);
	if (!obs)
		fail_msg("%s", err.msg);
	po.prune = prune;
	if (plan_compute(lab.fleet.fleet, obs, &po, p) < 0)
		fail_msg("plan refused: %s", p->refused);
	json_decref(obs);
}

/* The journal: one line per call, "I address" and "R address status". */
struct journal {
	pthread_mutex_t lock;
	struct buf log;
	size_t progress;
	size_t max_total;
	json_t *applied;	/* address -> the object read back */
};

static int
j_intent(void *ctx, const struct plan_action *a)
{
	struct journal *j = ctx;

	pthread_mutex_lock(&j->lock);
	buf_addf(&j->log, "I %s\n", a->address);
	pthread_mutex_unlock(&j->lock);
	return 0;
}

static void
j_result(void *ctx, const struct plan_action *a, enum apply_status st,
	 const char *error, const json_t *applied)
{
	struct journal *j = ctx;

	pthread_mutex_lock(&j->lock);
	buf_addf(&j->log, "R %s %s%s%s\n", a->address, apply_status_name(st),
		 st == APPLY_OK && !applied && a->kind != ACTION_DELETE ? " no-object" : "",
		 st != APPLY_OK && !error ? " no-error" : "");
	if (applied)
		json_object_set_new(j->applied, a->address, json_deep_copy(applied));
	pthread_mutex_unlock(&j->lock);
}

static void
j_progress(void *ctx, size_t n, size_t total, const struct plan_action *a)
{
	struct journal *j = ctx;

	(void)a;
	pthread_mutex_lock(&j->lock);
	j->progress++;
	if (n > total)
		j->max_total = (size_t)-1;
	pthread_mutex_unlock(&j->lock);
}

static void
journal_init(struct journal *j, struct apply_journal *aj)
{
	memset(j, 0, sizeof(*j));
	pthread_mutex_init(&j->lock, NULL);
	buf_init(&j->log, 0);
	j->applied = json_object();
	aj->intent = j_intent;
	aj->result = j_result;
	aj->progress = j_progress;
	aj->ctx = j;
}

static void
journal_release(struct journal *j)
{
	buf_release(&j->log);
	json_decref(j->applied);
	pthread_mutex_destroy(&j->lock);
}

static int
apply(const struct plan *p, struct apply_result *r, struct journal *j)
{
	struct apply_opts o = { 0 };
	struct apply_journal aj;
	struct berr err;
	int rc;

	o.identity = &lab.id;
	o.parallel = 4;
	o.operation_timeout_s = 120;
	journal_init(j, &aj);
	rc = apply_plan(lab.fleet.fleet, p, &o, &aj, r, &err);
	if (rc < 0)
		fail_msg("%s", err.msg);
	return rc;
}

static size_t
index_of(const struct plan *p, const char *address)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (!strcmp(p->actions[i].address, address))
			return i;
	fail_msg("no action %s in the plan", address);
	return 0;
}

static void
print_failures(const struct plan *p, const struct apply_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->errors[i])
			fprintf(stderr, "  %s: %s: %s\n", p->actions[i].address,
				apply_status_name(r->status[i]), r->errors[i]);
}

static void
assert_converged(void)
{
	struct plan p;

	make_plan(&p, 0);
	if (plan_has_changes(&p)) {
		size_t i;

		for (i = 0; i < p.nactions; i++)
			fprintf(stderr, "  still: %s %s (%s)\n", plan_action_name(p.actions[i].kind),
				p.actions[i].address, p.actions[i].reason ? p.actions[i].reason : "");
		fail_msg("the plan after apply still has changes");
	}
	assert_int_equal(p.nerrors, 0);
	plan_release(&p);
}

static size_t
count_profiles(const char *daemon, const char *name)
{
	json_t *list = get_on(daemon, "/1.0/profiles"), *v;
	size_t i, n = 0;
	char *want = xasprintf("/1.0/profiles/%s", name);

	assert_non_null(list);
	json_array_foreach(list, i, v)
		n += !strcmp(json_string_value(v), want);
	json_decref(list);
	free(want);
	return n;
}

static const char *
profile_key(json_t *profile, const char *key)
{
	return json_string_value(json_object_get(json_object_get(profile, "config"), key));
}

/* ---- the lab ------------------------------------------------------------ */

static int
lab_setup(void **state)
{
	(void)state;
	if (lab_up(&lab.run, "apply", "--hosts 2 --cluster 2") < 0)
		return -1;
	snprintf(lab.state, sizeof(lab.state), "%s/state", lab.run.root);
	snprintf(lab.fleet_dir, sizeof(lab.fleet_dir), "%s/fleet", lab.run.root);
	if (mkdir(lab.fleet_dir, 0700) != 0 || load_lab_json() < 0)
		return -1;
	return lab_trust(&lab.run, lab.state, &lab.id);
}

static int
lab_teardown(void **state)
{
	(void)state;
	lab_down(&lab.run);
	if (lab.loaded)
		manifest_result_release(&lab.fleet);
	json_decref(lab.json);
	incus_identity_release(&lab.id);
	return 0;
}

/* ---- tests -------------------------------------------------------------- */

/*
 * Per server, the journal has I a before R a for each action, intents in
 * plan order and results in plan order; an action starts after the
 * previous one ended unless both are read back by one list
 * (apply_same_batch()) and the previous one succeeded.
 */
static void
check_journal(const struct plan *p, const struct apply_result *r, const char *log)
{
	size_t i, k;

	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];
		char *intent, *result;
		const char *pi, *pr;

		if (r->status[i] == APPLY_SKIPPED)
			continue;
		intent = xasprintf("I %s\n", a->address);
		result = xasprintf("R %s %s\n", a->address, apply_status_name(r->status[i]));
		pi = strstr(log, intent);
		pr = strstr(log, result);
		if (!pr)
			fail_msg("no result line for %s in:\n%s", a->address, log);
		if (r->status[i] != APPLY_NOT_ATTEMPTED) {
			if (!pi || pi > pr)
				fail_msg("no intent before the result of %s in:\n%s", a->address, log);
			assert_null(strstr(pi + 1, intent));	/* once */
		}
		/* the previous action of the same server ended before this one began */
		for (k = i; k-- > 0;) {
			char *prev;

			if (strcmp(p->actions[k].server, a->server) ||
			    r->status[k] == APPLY_SKIPPED)
				continue;
			prev = xasprintf("R %s ", p->actions[k].address);
			if (!strstr(log, prev) || strstr(log, prev) > pr)
				fail_msg("the result of %s came before that of %s:\n%s",
					 a->address, p->actions[k].address, log);
			if (!(r->status[k] == APPLY_OK && r->status[i] != APPLY_NOT_ATTEMPTED &&
			      apply_same_batch(&p->actions[k], a)) &&
			    strstr(log, prev) > (pi ? pi : pr))
				fail_msg("%s started before %s ended:\n%s", a->address,
					 p->actions[k].address, log);
			free(prev);
			prev = xasprintf("I %s\n", p->actions[k].address);
			if (pi && strstr(log, prev) && strstr(log, prev) > pi)
				fail_msg("%s started before %s:\n%s", a->address,
					 p->actions[k].address, log);
			free(prev);
			break;
		}
		free(intent);
		free(result);
	}
}

static void
test_apply_from_empty(void **state)
{
	struct apply_result r;
	struct journal j;
	struct plan p;
	json_t *v;
	size_t i, changes;

	(void)state;
	load_fleet(1, 1);
	make_plan(&p, 0);
	assert_int_equal(p.nerrors, 0);
	/* hosts: 2 pools, a project, 2 profiles, the image; cluster: pool, profile, image */
	assert_int_equal(p.ncreate, 2 * 6 + 3);
	changes = p.ncreate;
	if (apply(&p, &r, &j) != 0) {
		print_failures(&p, &r);
		fail_msg("apply from empty failed");
	}
	assert_int_equal(r.ok, changes);
	assert_int_equal(r.failed + r.stale + r.not_attempted, 0);
	assert_null(strstr(j.log.buf, "no-object"));
	assert_int_equal(j.progress, changes);
	assert_int_equal(j.max_total, 0);
	check_journal(&p, &r, j.log.buf);
	/* What was read back is what the servers hold, defaults they added
	 * included (profiles and projects come from one list per server). */
	v = get_on("lab-1", "/1.0/projects/tenants");
	assert_non_null(v);
	assert_non_null(json_object_get(json_object_get(v, "config"), "features.profiles"));
	assert_true(json_equal(v, json_object_get(j.applied, "host/lab-1/project/tenants")));
	json_decref(v);
	for (i = 0; i < p.nactions; i++) {
		const struct plan_action *a = &p.actions[i];
		char *path;

		if (a->object != OBJ_PROFILE)
			continue;
		path = xasprintf("/1.0/profiles/%s?project=%s", a->name,
				 a->project ? a->project : "default");
		v = get_on(strncmp(a->address, "cluster/", 8) ? a->server : "lab-c1", path);
		assert_non_null(v);
		if (!json_object_get(v, "project"))
			json_object_set_new(v, "project", json_string(a->project ? a->project
										 : "default"));
		if (!json_equal(v, json_object_get(j.applied, a->address)))
			fail_msg("%s: read back %s, the server has %s", a->address,
				 json_dumps(json_object_get(j.applied, a->address), JSON_COMPACT),
				 json_dumps(v, JSON_COMPACT));
		json_decref(v);
		free(path);
	}
	journal_release(&j);

	/* what the servers now hold */
	v = get_on("lab-c1", "/1.0/storage-pools/incus");
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "status")), "Created");
	assert_int_equal(json_array_size(json_object_get(v, "locations")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "config"),
							      "user.berth.managed")), "true");
	json_decref(v);
	v = get_on("lab-2", "/1.0/storage-pools/fast");
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "driver")), "btrfs");
	json_decref(v);
	v = get_on("lab-1", "/1.0/images/aliases/busybox");
	assert_non_null(v);
	json_decref(v);
	v = get_on("lab-c2", "/1.0/images/aliases/busybox");
	assert_non_null(v);
	json_decref(v);
	assert_converged();

	/* the same (old) plan again: every create finds its object as wanted */
	apply_result_release(&r);
	if (apply(&p, &r, &j) != 0) {
		print_failures(&p, &r);
		fail_msg("applying the plan again did not converge");
	}
	assert_int_equal(r.ok, changes);
	for (i = 0; i < r.n; i++)
		assert_null(r.errors[i]);
	journal_release(&j);
	apply_result_release(&r);
	assert_int_equal(count_profiles("lab-1", "plan-small"), 1);
	plan_release(&p);
}

/*
 * Twenty profiles created on one server are read back with one list, not
 * a GET each: about one request per profile, not two.
 */
static void
test_apply_batched_read_back(void **state)
{
	struct plan p = { 0 };
	struct apply_result r;
	struct journal j;
	struct incus_conn *c;
	size_t i, n = 20;

	(void)state;
	load_fleet(1, 0);
	p.actions = xcalloc(n, sizeof(*p.actions));
	p.nactions = p.aactions = n;
	for (i = 0; i < n; i++) {
		struct plan_action *a = &p.actions[i];

		a->server = xstrdup("lab-1");
		a->name = xasprintf("bulk-%02zu", i);
		a->address = xasprintf("host/lab-1/profile/%s", a->name);
		a->object = OBJ_PROFILE;
		a->project = xstrdup("default");
		a->kind = ACTION_CREATE;
		a->after = json_pack("{s:s, s:{s:s}, s:{}}", "name", a->name, "config",
				     "user.note", "bulk", "devices");
	}
	p.ncreate = n;
	if (apply(&p, &r, &j) != 0) {
		print_failures(&p, &r);
		fail_msg("applying %zu profiles failed", n);
	}
	assert_int_equal(r.ok, n);
	assert_null(strstr(j.log.buf, "no-object"));
	check_journal(&p, &r, j.log.buf);
	/* GET /1.0, n POSTs, one list; a GET each would make it 2n + 1 */
	if (r.requests > n + 5)
		fail_msg("%lu requests for %zu profiles", r.requests, n);
	journal_release(&j);
	apply_result_release(&r);

	c = conn_unix("lab-1");
	for (i = 0; i < n; i++) {
		struct incus_response resp;
		struct berr err;
		char *path = xasprintf("/1.0/profiles/%s", p.actions[i].name);

		if (incus_request(c, "DELETE", path, NULL, NULL, &resp, &err) < 0)
			fail_msg("%s", err.msg);
		incus_response_release(&resp);
		free(path);
	}
	incus_conn_free(c);
	plan_release(&p);
}

static void
test_apply_update(void **state)
{
	struct apply_result r;
	struct journal j;
	struct plan p;
	json_t *v;

	(void)state;
	load_fleet(2, 1);
	make_plan(&p, 0);
	/* small and extra on each host, csmall on the cluster */
	assert_int_equal(p.nupdate, 5);
	assert_int_equal(p.ncreate + p.ndelete, 0);
	if (apply(&p, &r, &j) != 0) {
		print_failures(&p, &r);
		fail_msg("update failed");
	}
	assert_int_equal(r.ok, 5);
	check_journal(&p, &r, j.log.buf);
	journal_release(&j);
	apply_result_release(&r);
	plan_release(&p);
	v = get_on("lab-c2", "/1.0/profiles/plan-csmall");
	assert_string_equal(profile_key(v, "limits.cpu"), "2");
	json_decref(v);
	assert_converged();
}

static void
test_apply_stale(void **state)
{
	struct apply_result r;
	struct journal j;
	struct plan p;
	size_t i;
	json_t *v;

	(void)state;
	load_fleet(3, 1);
	make_plan(&p, 0);
	assert_int_equal(p.nupdate, 5);
	/* someone changes a profile by hand after the plan was made */
	assert_int_equal(sh_run(0, "INCUS_DIR='%s' incus profile set plan-small limits.memory=300MiB",
			     field("lab-1", "dir")), 0);
	assert_int_equal(apply(&p, &r, &j), 1);
	i = index_of(&p, "host/lab-1/profile/plan-small");
	assert_int_equal(r.status[i], APPLY_STALE);
	assert_non_null(strstr(r.errors[i], "changed since the plan: host/lab-1/profile/plan-small"));
	assert_int_equal(r.stale, 1);
	assert_int_equal(r.ok, 4);	/* a stale object does not stop the others */
	check_journal(&p, &r, j.log.buf);
	journal_release(&j);
	apply_result_release(&r);
	plan_release(&p);
	/* nothing was overwritten */
	v = get_on("lab-1", "/1.0/profiles/plan-small");
	assert_string_equal(profile_key(v, "limits.memory"), "300MiB");
	assert_string_equal(profile_key(v, "limits.cpu"), "2");
	json_decref(v);

	/* a new plan restores it */
	make_plan(&p, 0);
	assert_int_equal(p.nupdate, 1);
	assert_int_equal(apply(&p, &r, &j), 0);
	journal_release(&j);
	apply_result_release(&r);
	plan_release(&p);
	v = get_on("lab-1", "/1.0/profiles/plan-small");
	assert_string_equal(profile_key(v, "limits.memory"), "256MiB");
	assert_string_equal(profile_key(v, "limits.cpu"), "3");
	json_decref(v);
	assert_converged();
}

/* A create whose object appeared in the meantime, differently: stale. */
static void
test_apply_create_conflict(void **state)
{
	struct plan_action a;
	struct incus_conn *c = conn_unix("lab-1");
	struct apply_opts o = { 0 };
	struct berr err;
	json_t *applied = NULL;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.server = (char *)"lab-1";
	a.address = (char *)"host/lab-1/profile/plan-small";
	a.object = OBJ_PROFILE;
	a.name = (char *)"plan-small";
	a.project = (char *)"default";
	a.kind = ACTION_CREATE;
	a.after = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}}", "name", "plan-small",
			    "description", "berth plan small", "config", "limits.cpu", "9",
			    "user.berth.managed", "true", "devices");
	o.identity = &lab.id;
	assert_int_equal(apply_action(c, lab.fleet.fleet, &a, &o, &applied, &err), APPLY_STALE);
	assert_non_null(strstr(err.msg, "changed since the plan: host/lab-1/profile/plan-small"));
	assert_null(applied);

	/* an update whose object is gone: stale too */
	a.kind = ACTION_UPDATE;
	a.name = (char *)"plan-nothing";
	a.address = (char *)"host/lab-1/profile/plan-nothing";
	memset(a.digest, 'a', 64);
	assert_int_equal(apply_action(c, lab.fleet.fleet, &a, &o, &applied, &err), APPLY_STALE);
	assert_non_null(strstr(err.msg, "no longer exists"));

	/* a delete of something already gone: done */
	a.kind = ACTION_DELETE;
	assert_int_equal(apply_action(c, lab.fleet.fleet, &a, &o, &applied, &err), APPLY_OK);
	json_decref(a.after);
	incus_conn_free(c);
}

static void
test_apply_daemon_down(void **state)
{
	struct apply_result r;
	struct journal j;
	struct plan p;
	pid_t pid;
	size_t i, a1, a2;

	(void)state;
	load_fleet(4, 1);
	make_plan(&p, 0);
	assert_int_equal(p.nupdate, 5);
	pid = (pid_t)strtol(field("lab-2", "pid"), NULL, 10);
	assert_true(pid > 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	lab_wait_gone((long)pid, 60000);	/* its sockets are closed */
	assert_int_equal(apply(&p, &r, &j), 1);
	check_journal(&p, &r, j.log.buf);
	journal_release(&j);
	a1 = index_of(&p, "host/lab-2/profile/plan-small");
	a2 = index_of(&p, "host/lab-2/profile/plan-extra");
	if (a2 < a1) {
		size_t t = a1;

		a1 = a2;
		a2 = t;
	}
	assert_int_equal(r.status[a1], APPLY_FAILED);
	assert_non_null(r.errors[a1]);
	assert_non_null(strstr(r.errors[a1], "lab-2"));
	assert_int_equal(r.status[a2], APPLY_NOT_ATTEMPTED);
	assert_non_null(strstr(r.errors[a2], "not attempted"));
	for (i = 0; i < p.nactions; i++)
		if (i != a1 && i != a2 && r.status[i] != APPLY_SKIPPED)
			assert_int_equal(r.status[i], APPLY_OK);
	assert_int_equal(r.ok, 3);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.not_attempted, 1);
	apply_result_release(&r);
	plan_release(&p);

	/* back up: a new plan converges, nothing twice */
	assert_int_equal(sh_run(0, "'%s' up --hosts 2 --cluster 2 --dir '%s' >'%s/lab-up2.log' 2>&1",
				LAB_SCRIPT, lab.run.dir, lab.run.root), 0);
	assert_int_equal(load_lab_json(), 0);
	make_plan(&p, 0);
	assert_int_equal(p.nupdate, 2);
	if (apply(&p, &r, &j) != 0) {
		print_failures(&p, &r);
		fail_msg("apply after the restart failed");
	}
	journal_release(&j);
	apply_result_release(&r);
	plan_release(&p);
	assert_converged();
	assert_int_equal(count_profiles("lab-2", "plan-small"), 1);
	assert_int_equal(count_profiles("lab-2", "plan-extra"), 1);
	{
		json_t *list = get_on("lab-2", "/1.0/profiles");

		assert_int_equal(json_array_size(list), 3);	/* default + 2 plans */
		json_decref(list);
	}
}

static void
test_apply_prune(void **state)
{
	struct apply_result r;
	struct journal j;
	struct plan p;
	json_t *v;

	(void)state;
	load_fleet(4, 0);
	make_plan(&p, 0);
	assert_int_equal(plan_has_changes(&p), 0);	/* retained without prune */
	assert_int_equal(p.nretained, 2);
	plan_release(&p);
	make_plan(&p, 1);
	assert_int_equal(p.ndelete, 2);
	if (apply(&p, &r, &j) != 0) {
		print_failures(&p, &r);
		fail_msg("prune failed");
	}
	assert_int_equal(r.ok, 2);
	check_journal(&p, &r, j.log.buf);
	journal_release(&j);
	apply_result_release(&r);
	plan_release(&p);
	assert_int_equal(count_profiles("lab-1", "plan-extra"), 0);
	assert_int_equal(count_profiles("lab-2", "plan-extra"), 0);
	v = get_on("lab-1", "/1.0/profiles/plan-small");
	assert_non_null(v);
	json_decref(v);
	make_plan(&p, 1);
	assert_int_equal(plan_has_changes(&p), 0);
	plan_release(&p);
}

/* ---- instances ---------------------------------------------------------- */

/*
 * The lab's fleet applied (pools, plan profiles, the busybox image under
 * its Image name as alias on every server), whatever ran before.
 */
static void
inst_fleet_ready(void)
{
	struct apply_result r;
	struct journal j;
	struct plan p;

	load_fleet(4, 0);
	make_plan(&p, 0);
	if (plan_has_changes(&p)) {
		if (apply(&p, &r, &j) != 0) {
			print_failures(&p, &r);
			fail_msg("the lab's fleet could not be applied");
		}
		journal_release(&j);
		apply_result_release(&r);
	}
	plan_release(&p);
	assert_non_null(json_object_get(lab.json, "cluster"));
}

static const char *
inst_cluster(void)
{
	return json_string_value(json_object_get(json_object_get(lab.json, "cluster"), "name"));
}

/* A request on daemon's socket, its operation waited for: 0, or -1 (err in msg). */
static int
inst_request(const char *daemon, const char *method, const char *path, const char *body,
	     struct berr *err)
{
	struct incus_conn *c = conn_unix(daemon);
	struct incus_response resp;
	json_t *b = body ? json_loads(body, 0, NULL) : NULL;
	int rc;

	rc = incus_request(c, method, path, b, NULL, &resp, err);
	if (rc == 0 && resp.operation[0])
		rc = incus_wait(c, resp.operation, 60, err);
	incus_response_release(&resp);
	json_decref(b);
	incus_conn_free(c);
	return rc;
}

/* Remove the instance, running or not; nothing when it is absent. */
static void
inst_remove(const char *daemon, const char *name)
{
	char *path = xasprintf("/1.0/instances/%s", name);
	char *state = xasprintf("/1.0/instances/%s/state", name);
	struct berr err;
	json_t *v = get_on(daemon, path);

	if (v && strcmp(json_string_value(json_object_get(v, "status")), "Stopped") != 0 &&
	    inst_request(daemon, "PUT", state, "{\"action\": \"stop\", \"force\": true}", &err) < 0)
		fail_msg("%s", err.msg);
	if (v && inst_request(daemon, "DELETE", path, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(v);
	free(path);
	free(state);
}

static json_t *
inst_get(const char *daemon, const char *name)
{
	char *path = xasprintf("/1.0/instances/%s", name);
	json_t *v = get_on(daemon, path);

	free(path);
	return v;
}

static const char *
inst_status(const json_t *v)
{
	return json_string_value(json_object_get(v, "status"));
}

/* The instance as an observation reads it (recursion=2, its state included). */
static json_t *
inst_observed(const char *daemon, const char *name)
{
	json_t *list = get_on(daemon, "/1.0/instances?recursion=2&project=default"), *v, *out = NULL;
	size_t i;

	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), name))
			out = json_incref(v);
	json_decref(list);
	if (!out)
		fail_msg("no instance %s on %s", name, daemon);
	return out;
}

/* What the planner pins of that instance (plan_instance_seen()). */
static json_t *
inst_seen(const char *daemon, const char *name)
{
	json_t *obs = inst_observed(daemon, name), *v = plan_instance_seen(obs);

	json_decref(obs);
	return v;
}

/*
 * What the planner sends to create an instance of Plan plan: the POST
 * body plus "state" and, on a cluster, "target".
 */
static json_t *
inst_after(const char *name, const char *plan, const char *state, const char *target)
{
	char *profile = xasprintf("plan-%s", plan);
	json_t *v;

	v = json_pack("{s:s, s:s, s:[s, s], s:{s:s, s:s},"
		      " s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s},"
		      " s:{s:{s:s, s:s, s:s, s:s}}, s:s}",
		      "name", name, "type", "container", "profiles", "default", profile,
		      "source", "type", "image", "alias", "busybox",
		      "config", "limits.cpu", "1", "limits.memory", "256MiB",
		      "user.berth.managed", "true", "user.berth.plan", plan,
		      "user.berth.price", "200", "user.berth.currency", "EUR",
		      "user.berth.owner", "customer-1", "user.berth.provider", "platform",
		      "devices", "root", "type", "disk", "path", "/", "pool", "incus", "size", "1GiB",
		      "state", state);
	assert_non_null(v);
	if (target)
		json_object_set_new(v, "target", json_string(target));
	free(profile);
	return v;
}

/* Append an instance action to p, made by hand as the planner makes them. */
static struct plan_action *
inst_action(struct plan *p, enum plan_action_kind kind, const char *server, int cluster,
	    const char *name)
{
	struct plan_action *a;

	p->actions = xreallocarray(p->actions, p->nactions + 1, sizeof(*p->actions));
	a = &p->actions[p->nactions++];
	p->aactions = p->nactions;
	memset(a, 0, sizeof(*a));
	a->server = xstrdup(server);
	a->address = xasprintf("%s/%s/instance/%s", cluster ? "cluster" : "host", server, name);
	a->object = OBJ_INSTANCE;
	a->name = xstrdup(name);
	a->kind = kind;
	a->safety = kind == ACTION_DELETE ? SAFETY_DESTRUCTIVE : SAFETY_SAFE;
	if (kind == ACTION_CREATE)
		p->ncreate++;
	else if (kind == ACTION_UPDATE)
		p->nupdate++;
	else
		p->ndelete++;
	return a;
}

/* A create of name (Plan "small") on host lab-1. */
static struct plan_action *
inst_create(struct plan *p, const char *name, const char *state)
{
	struct plan_action *a = inst_action(p, ACTION_CREATE, "lab-1", 0, name);

	a->after = inst_after(name, "small", state, NULL);
	return a;
}

/* The update the planner makes for a state change of name on lab-1, from what it observes now. */
static struct plan_action *
inst_state_change(struct plan *p, const char *name, const char *from, const char *to)
{
	struct plan_action *a = inst_action(p, ACTION_UPDATE, "lab-1", 0, name);

	a->before = inst_seen("lab-1", name);
	plan_digest(a->before, a->digest);
	a->after = inst_after(name, "small", to, NULL);
	a->fields = xcalloc(1, sizeof(*a->fields));
	a->nfields = 1;
	a->fields[0].field = xstrdup("state");
	a->fields[0].before = json_string(from);
	a->fields[0].after = json_string(to);
	return a;
}

/* Apply a hand-made plan whose every change must succeed. */
static void
inst_apply_ok(struct plan *p, struct journal *j)
{
	struct apply_result r;

	if (apply(p, &r, j) != 0) {
		print_failures(p, &r);
		fail_msg("applying the instance actions failed");
	}
	assert_int_equal(r.ok, p->ncreate + p->nupdate + p->ndelete);
	check_journal(p, &r, j->log.buf);
	apply_result_release(&r);
}

/* config["user.berth.placed-at"]: RFC 3339 UTC in seconds, between from and to (ms). */
static void
assert_placed_at(const json_t *v, int64_t from, int64_t to)
{
	const char *s = json_string_value(json_object_get(json_object_get(v, "config"),
							  "user.berth.placed-at"));
	int64_t ms;

	if (!s)
		fail_msg("no user.berth.placed-at in %s", json_dumps(v, JSON_COMPACT));
	assert_int_equal(strlen(s), 20);	/* 2026-12-06T03:00:00Z */
	assert_int_equal(s[19], 'Z');
	assert_int_equal(clock_parse_rfc3339(s, &ms), 0);
	assert_true(ms >= from / 1000 * 1000);
	assert_true(ms <= to);
}

/*
 * Creates on a host: one running, one stopped, placed-at set at the
 * create; the same plan again converges (nothing recreated), and starts
 * an instance a create left stopped (an interrupted apply).
 */
static void
test_apply_instance_create(void **state)
{
	struct plan p = { 0 };
	struct journal j;
	struct berr err;
	json_t *v, *placed;
	int64_t t0, t1;

	(void)state;
	inst_fleet_ready();
	inst_create(&p, "web-1", "running");
	inst_create(&p, "web-2", "stopped");
	t0 = clock_now_ms();
	inst_apply_ok(&p, &j);
	t1 = clock_now_ms();
	/* what was read back is what the server holds */
	v = json_object_get(j.applied, "host/lab-1/instance/web-1");
	assert_non_null(v);
	assert_string_equal(inst_status(v), "Running");
	assert_string_equal(inst_status(json_object_get(j.applied, "host/lab-1/instance/web-2")),
			    "Stopped");
	journal_release(&j);

	v = inst_get("lab-1", "web-1");
	assert_non_null(v);
	assert_string_equal(inst_status(v), "Running");
	assert_placed_at(v, t0, t1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "config"),
							      "user.berth.plan")), "small");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "profiles"), 1)),
			    "plan-small");
	placed = json_deep_copy(json_object_get(json_object_get(v, "config"), "user.berth.placed-at"));
	json_decref(v);
	v = inst_get("lab-1", "web-2");
	assert_non_null(v);
	assert_string_equal(inst_status(v), "Stopped");
	assert_placed_at(v, t0, t1);
	json_decref(v);

	/* an interrupted create left web-1 stopped: the same plan starts it */
	assert_int_equal(inst_request("lab-1", "PUT", "/1.0/instances/web-1/state",
				      "{\"action\": \"stop\", \"force\": true}", &err), 0);
	inst_apply_ok(&p, &j);
	journal_release(&j);
	v = inst_get("lab-1", "web-1");
	assert_string_equal(inst_status(v), "Running");
	assert_true(json_equal(placed, json_object_get(json_object_get(v, "config"),
						       "user.berth.placed-at")));
	json_decref(v);
	v = inst_get("lab-1", "web-2");
	assert_string_equal(inst_status(v), "Stopped");
	json_decref(v);
	json_decref(placed);
	plan_release(&p);
	inst_remove("lab-1", "web-1");
	inst_remove("lab-1", "web-2");
}

/*
 * Two creates on the cluster member named by "target" (left to itself,
 * Incus would put the second on the emptier member), then their deletes
 * while running.
 */
static void
test_apply_instance_cluster(void **state)
{
	const char *names[] = { "cweb-1", "cweb-2" };
	struct plan p = { 0 };
	struct plan_action *a;
	struct journal j;
	json_t *v;
	size_t i;

	(void)state;
	inst_fleet_ready();
	for (i = 0; i < 2; i++) {
		a = inst_action(&p, ACTION_CREATE, inst_cluster(), 1, names[i]);
		a->after = inst_after(names[i], "csmall", "running", "lab-c2");
	}
	inst_apply_ok(&p, &j);
	journal_release(&j);
	plan_release(&p);
	for (i = 0; i < 2; i++) {
		v = inst_get("lab-c1", names[i]);
		assert_non_null(v);
		assert_string_equal(json_string_value(json_object_get(v, "location")), "lab-c2");
		assert_string_equal(inst_status(v), "Running");
		json_decref(v);
	}

	for (i = 0; i < 2; i++) {
		a = inst_action(&p, ACTION_DELETE, inst_cluster(), 1, names[i]);
		a->before = inst_seen("lab-c1", names[i]);
		plan_digest(a->before, a->digest);
	}
	inst_apply_ok(&p, &j);
	journal_release(&j);
	plan_release(&p);
	for (i = 0; i < 2; i++) {
		assert_null(inst_get("lab-c1", names[i]));
		assert_null(inst_get("lab-c2", names[i]));
	}
}

/*
 * State changes (a clean stop, a start), an update planned on a state
 * that changed since, a create that finds another instance by its name,
 * an update of something else than the state, a delete while running.
 */
static void
test_apply_instance_state(void **state)
{
	struct incus_conn *c = conn_unix("lab-1");
	struct apply_opts o = { 0 };
	struct plan p = { 0 }, old = { 0 };
	struct plan_action *a;
	struct journal j;
	struct berr err;
	json_t *applied = NULL, *v;

	(void)state;
	inst_fleet_ready();
	o.identity = &lab.id;
	o.operation_timeout_s = 120;
	inst_create(&p, "web-3", "running");
	assert_int_equal(apply_action(c, lab.fleet.fleet, &p.actions[0], &o, &applied, &err),
			 APPLY_OK);
	assert_string_equal(inst_status(applied), "Running");
	json_decref(applied);
	plan_release(&p);
	inst_state_change(&old, "web-3", "running", "stopped");	/* kept for later */

	/* stop (cleanly), then start */
	inst_state_change(&p, "web-3", "running", "stopped");
	inst_apply_ok(&p, &j);
	assert_string_equal(inst_status(json_object_get(j.applied, "host/lab-1/instance/web-3")),
			    "Stopped");
	journal_release(&j);
	plan_release(&p);
	v = inst_get("lab-1", "web-3");
	assert_string_equal(inst_status(v), "Stopped");
	json_decref(v);
	inst_state_change(&p, "web-3", "stopped", "running");
	inst_apply_ok(&p, &j);
	journal_release(&j);
	plan_release(&p);
	v = inst_get("lab-1", "web-3");
	assert_string_equal(inst_status(v), "Running");
	json_decref(v);

	/* a plan made on a state that is no longer: stale, nothing done */
	inst_state_change(&p, "web-3", "running", "stopped");
	assert_int_equal(inst_request("lab-1", "PUT", "/1.0/instances/web-3/state",
				      "{\"action\": \"stop\", \"force\": true}", &err), 0);
	assert_int_equal(apply_action(c, lab.fleet.fleet, &p.actions[0], &o, &applied, &err),
			 APPLY_STALE);
	assert_null(applied);
	assert_non_null(strstr(err.msg, "changed since the plan: host/lab-1/instance/web-3"));
	plan_release(&p);
	inst_state_change(&p, "web-3", "stopped", "running");
	assert_int_equal(apply_action(c, lab.fleet.fleet, &p.actions[0], &o, &applied, &err),
			 APPLY_OK);
	json_decref(applied);
	plan_release(&p);
	/* the first plan saw it running, as it is again: it still applies */
	if (apply_action(c, lab.fleet.fleet, &old.actions[0], &o, &applied, &err) != APPLY_OK)
		fail_msg("the first plan's stop: %s", err.msg);
	assert_string_equal(inst_status(applied), "Stopped");
	json_decref(applied);
	plan_release(&old);

	/* a berth key changed by hand since the plan: stale */
	inst_state_change(&p, "web-3", "stopped", "running");
	assert_int_equal(inst_request("lab-1", "PATCH", "/1.0/instances/web-3",
				      "{\"config\": {\"user.berth.owner\": \"customer-2\"}}", &err), 0);
	assert_int_equal(apply_action(c, lab.fleet.fleet, &p.actions[0], &o, &applied, &err),
			 APPLY_STALE);
	assert_non_null(strstr(err.msg, "changed since the plan: host/lab-1/instance/web-3"));
	plan_release(&p);
	v = inst_get("lab-1", "web-3");
	assert_string_equal(inst_status(v), "Stopped");
	json_decref(v);

	/* only the state and the sold snapshot's keys are changed by an update */
	inst_state_change(&p, "web-3", "stopped", "running");
	free(p.actions[0].fields[0].field);
	p.actions[0].fields[0].field = xstrdup("devices.root.size");
	assert_int_equal(apply_action(c, lab.fleet.fleet, &p.actions[0], &o, &applied, &err),
			 APPLY_FAILED);
	assert_non_null(strstr(err.msg, "devices.root.size: berth changes only the state and"
			       " the sold snapshot (config keys and devices it lacks) of an"
			       " existing instance"));
	plan_release(&p);

	/* a panel's sale stamped: only the keys it lacks are added, the rest kept */
	inst_state_change(&p, "web-3", "stopped", "stopped");
	free(p.actions[0].fields[0].field);
	json_decref(p.actions[0].fields[0].before);
	json_decref(p.actions[0].fields[0].after);
	p.actions[0].fields[0].field = xstrdup("config[\"user.berth.sold-by\"]");
	p.actions[0].fields[0].before = NULL;
	p.actions[0].fields[0].after = json_string("panel");
	/* a device it lacks is added; one it has (root) is left as it is */
	p.actions[0].fields = xreallocarray(p.actions[0].fields, 3, sizeof(*p.actions[0].fields));
	p.actions[0].nfields = 3;
	p.actions[0].fields[1] = (struct plan_field){ xstrdup("devices[\"extra\"]"), NULL,
						      json_pack("{s:s}", "type", "none"), NULL };
	p.actions[0].fields[2] = (struct plan_field){ xstrdup("devices[\"root\"]"), NULL,
						      json_pack("{s:s, s:s, s:s, s:s}", "type", "disk",
								"path", "/", "pool", "incus",
								"size", "9GiB"), NULL };
	json_decref(p.actions[0].after);
	p.actions[0].after = json_pack("{s:{s:s}}", "config", "user.berth.sold-by", "panel");
	assert_int_equal(apply_action(c, lab.fleet.fleet, &p.actions[0], &o, &applied, &err),
			 APPLY_OK);
	json_decref(applied);
	plan_release(&p);
	v = inst_get("lab-1", "web-3");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(v, "devices"), "extra"), "type")), "none");
	assert_string_not_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(v, "devices"), "root"), "size")), "9GiB");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "config"),
							      "user.berth.sold-by")), "panel");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "config"),
							      "user.berth.owner")), "customer-2");
	assert_string_equal(inst_status(v), "Stopped");
	json_decref(v);

	/* a create finding an instance of another Plan by that name: stale */
	a = inst_create(&p, "web-3", "running");
	json_object_set_new(json_object_get(a->after, "config"), "user.berth.plan",
			    json_string("extra"));
	assert_int_equal(apply_action(c, lab.fleet.fleet, a, &o, &applied, &err), APPLY_STALE);
	assert_null(applied);
	assert_non_null(strstr(err.msg, "changed since the plan: host/lab-1/instance/web-3"
			       " (it exists now"));
	plan_release(&p);
	v = inst_get("lab-1", "web-3");
	assert_string_equal(inst_status(v), "Stopped");
	json_decref(v);

	/* delete it while running: stopped (forced), then deleted */
	assert_int_equal(inst_request("lab-1", "PUT", "/1.0/instances/web-3/state",
				      "{\"action\": \"start\"}", &err), 0);
	a = inst_action(&p, ACTION_DELETE, "lab-1", 0, "web-3");
	a->before = inst_seen("lab-1", "web-3");
	plan_digest(a->before, a->digest);
	assert_string_equal(inst_status(a->before), "Running");
	inst_apply_ok(&p, &j);
	journal_release(&j);
	plan_release(&p);
	assert_null(inst_get("lab-1", "web-3"));
	incus_conn_free(c);
}

/*
 * A create Incus refuses (a profile that does not exist): failed with
 * Incus's error, nothing created. A create whose start fails (a macvlan
 * NIC on a parent the host has not): failed, the instance left stopped;
 * the next instance of the server is still created, its next profile is
 * not attempted.
 */
static void
test_apply_instance_failures(void **state)
{
	struct plan p = { 0 };
	struct plan_action *a;
	struct apply_result r;
	struct journal j;
	json_t *v;

	(void)state;
	inst_fleet_ready();
	a = inst_create(&p, "bad-1", "running");
	json_array_set_new(json_object_get(a->after, "profiles"), 1, json_string("plan-nothing"));
	a = inst_create(&p, "bad-2", "running");
	json_object_set_new(json_object_get(a->after, "devices"), "eth9",
			    json_pack("{s:s, s:s, s:s}", "type", "nic", "nictype", "macvlan",
				      "parent", "berthnone0"));
	inst_create(&p, "good-1", "running");
	p.actions = xreallocarray(p.actions, p.nactions + 1, sizeof(*p.actions));
	a = &p.actions[p.nactions++];
	p.aactions = p.nactions;
	memset(a, 0, sizeof(*a));
	a->server = xstrdup("lab-1");
	a->address = xstrdup("host/lab-1/profile/plan-later");
	a->object = OBJ_PROFILE;
	a->name = xstrdup("plan-later");
	a->project = xstrdup("default");
	a->kind = ACTION_CREATE;
	a->after = json_pack("{s:s, s:{}, s:{}}", "name", "plan-later", "config", "devices");
	p.ncreate++;

	assert_int_equal(apply(&p, &r, &j), 1);
	check_journal(&p, &r, j.log.buf);
	journal_release(&j);
	assert_int_equal(r.status[0], APPLY_FAILED);
	if (!strstr(r.errors[0], "Requested profile \"plan-nothing\" doesn't exist"))
		fail_msg("bad-1: %s", r.errors[0]);
	assert_int_equal(r.status[1], APPLY_FAILED);
	if (strncmp(r.errors[1], "created, but the start failed: ", 31) != 0 ||
	    !strstr(r.errors[1], "berthnone0"))
		fail_msg("bad-2: %s", r.errors[1]);
	assert_int_equal(r.status[2], APPLY_OK);
	assert_int_equal(r.status[3], APPLY_NOT_ATTEMPTED);
	assert_non_null(strstr(r.errors[3], "not attempted: an earlier change on host \"lab-1\""
			       " failed (host/lab-1/instance/bad-1)"));
	assert_int_equal(r.failed, 2);
	apply_result_release(&r);
	plan_release(&p);

	assert_null(inst_get("lab-1", "bad-1"));
	v = inst_get("lab-1", "bad-2");
	assert_non_null(v);
	assert_string_equal(inst_status(v), "Stopped");
	json_decref(v);
	v = inst_get("lab-1", "good-1");
	assert_string_equal(inst_status(v), "Running");
	json_decref(v);
	assert_int_equal(count_profiles("lab-1", "plan-later"), 0);
	inst_remove("lab-1", "bad-2");
	inst_remove("lab-1", "good-1");
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(apply_status_name(APPLY_OK), "ok");
	assert_string_equal(apply_status_name(APPLY_STALE), "stale");
	assert_string_equal(apply_status_name(APPLY_NOT_ATTEMPTED), "not-attempted");
}

int
main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_status_names),
	};
	const struct CMUnitTest lab_tests[] = {
		cmocka_unit_test(test_apply_from_empty),
		cmocka_unit_test(test_apply_batched_read_back),
		cmocka_unit_test(test_apply_update),
		cmocka_unit_test(test_apply_stale),
		cmocka_unit_test(test_apply_create_conflict),
		cmocka_unit_test(test_apply_daemon_down),
		cmocka_unit_test(test_apply_prune),
		cmocka_unit_test(test_apply_instance_create),
		cmocka_unit_test(test_apply_instance_cluster),
		cmocka_unit_test(test_apply_instance_state),
		cmocka_unit_test(test_apply_instance_failures),
	};
	const char *why;
	int rc;

	incus_global_init();
	source_global_init();
	rc = cmocka_run_group_tests_name("apply-offline", offline, NULL, NULL);
	if ((why = lab_missing()))
		rc = rc ? rc : lab_skip("test-apply", why);
	else
		rc |= cmocka_run_group_tests_name("apply-lab", lab_tests, lab_setup, lab_teardown);
	source_global_shutdown();
	return rc;
}
