/*
 * test-plan.c - the planner on observations recorded from real lab
 * daemons (tests/data/observed/plan-*.json) and fleets in
 * tests/data/plan/<scenario>/. Golden renderings are compared byte for
 * byte; PLAN_UPDATE_GOLDEN=1 rewrites them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "plan/plan.h"
#include "sched/status.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct fx {
	struct manifest_result res;
	json_t *obs;
	struct plan plan;
	int rc;
};

static void
load(struct fx *x, const char *scenario, const char *observation)
{
	struct source_opts so;
	struct diags d = DIAGS_INIT;
	struct berr err;
	json_error_t je;
	char path[512], obs[1024];

	memset(x, 0, sizeof(*x));
	memset(&so, 0, sizeof(so));
	snprintf(path, sizeof(path), "tests/data/plan/%s", scenario);
	so.repo = SOURCE_ROOT;
	so.path = path;
	so.worktree = 1;
	assert_int_equal(manifest_load(&so, MANIFEST_CHECK, &x->res, &d, &err), 0);
	if (d.nerrors) {
		char line[1024];

		diag_format(&d.v[0], line, sizeof(line));
		fail_msg("%s: %s", scenario, line);
	}
	assert_non_null(x->res.fleet);
	diags_release(&d);
	snprintf(obs, sizeof(obs), "%s/observed/plan-%s.json", TEST_DATA, observation);
	x->obs = json_load_file(obs, 0, &je);
	if (!x->obs)
		fail_msg("%s: %s", obs, je.text);
}

static void
run(struct fx *x, const char *scenario, const char *observation,
    const struct plan_opts *opts)
{
	load(x, scenario, observation);
	x->rc = plan_compute(x->res.fleet, x->obs, opts, &x->plan);
}

static void
done(struct fx *x)
{
	plan_release(&x->plan);
	json_decref(x->obs);
	manifest_result_release(&x->res);
}

/* The observed list (images, profiles, ...) of server in x's observation. */
static json_t *
obs_list(struct fx *x, const char *server, const char *list)
{
	return json_object_get(json_object_get(json_object_get(x->obs, "servers"), server), list);
}

static const struct plan_action *
find(const struct plan *p, const char *address)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (!strcmp(p->actions[i].address, address))
			return &p->actions[i];
	return NULL;
}

static const struct plan_action *
expect(const struct plan *p, const char *address, enum plan_action_kind kind,
       const char *reason)
{
	const struct plan_action *a = find(p, address);
	size_t i;

	/* an address may have two actions (a panel's stamp, then its move) */
	for (i = 0; a && a->kind != kind && i < p->nactions; i++)
		if (!strcmp(p->actions[i].address, address) && p->actions[i].kind == kind)
			a = &p->actions[i];

	if (!a)
		fail_msg("no action for %s", address);
	if (a->kind != kind)
		fail_msg("%s: want %s, have %s (%s)", address, plan_action_name(kind),
			 plan_action_name(a->kind), a->reason);
	if (reason)
		assert_string_equal(a->reason, reason);
	return a;
}

static const struct plan_field *
field(const struct plan_action *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nfields; i++)
		if (!strcmp(a->fields[i].field, name))
			return &a->fields[i];
	fail_msg("%s: no field %s", a->address, name);
	return NULL;
}

static void
summary(const struct plan *p, size_t c, size_t u, size_t d, size_t b, size_t e, size_t r)
{
	if (p->ncreate != c || p->nupdate != u || p->ndelete != d || p->nblocked != b ||
	    p->nerrors != e || p->nretained != r)
		fail_msg("summary: want %zu %zu %zu %zu %zu %zu, have %zu %zu %zu %zu %zu %zu",
			 c, u, d, b, e, r, p->ncreate, p->nupdate, p->ndelete, p->nblocked,
			 p->nerrors, p->nretained);
	assert_int_equal(p->ncreate, c);
	assert_int_equal(p->nupdate, u);
	assert_int_equal(p->ndelete, d);
	assert_int_equal(p->nblocked, b);
	assert_int_equal(p->nerrors, e);
	assert_int_equal(p->nretained, r);
}

static char *
render(const struct plan *p, const struct plan_opts *o, int color, int verbose)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	plan_render_text(p, o, color, verbose, f);
	assert_int_equal(fclose(f), 0);
	return s;
}

static char *
render_md(const struct plan *p, const struct plan_opts *o)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	plan_render_markdown(p, o, f);
	assert_int_equal(fclose(f), 0);
	return s;
}

static void
golden(const char *got, const char *name)
{
	char path[1024];
	FILE *f;
	struct buf want = BUF_INIT;
	char chunk[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/plan/%s", TEST_DATA, name);
	if (getenv("PLAN_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: missing (PLAN_UPDATE_GOLDEN=1 writes it)", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&want, chunk, n);
	fclose(f);
	if (strcmp(want.buf, got)) {
		fprintf(stderr, "--- want %s\n%s--- have\n%s", path, want.buf, got);
		fail_msg("%s differs", name);
	}
	buf_release(&want);
}

/* ---- scenarios ---------------------------------------------------------- */

/* Fresh lab daemons: everything is created. */
static void
test_empty_hosts(void **state)
{
	struct fx x;
	const struct plan_action *a;
	char *text;

	(void)state;
	run(&x, "lab", "empty", NULL);
	assert_int_equal(x.rc, 0);
	/* lab-1, lab-2: pool, project, 2 profiles, image; cluster: the same
	 * with 2 profiles (one VM). */
	summary(&x.plan, 15, 0, 0, 0, 0, 0);
	assert_true(plan_has_changes(&x.plan));
	assert_int_equal(x.plan.nservers, 3);
	assert_string_equal(x.plan.servers[0].name, "lab-1");
	assert_string_equal(x.plan.servers[2].name, "lab-cluster");
	a = expect(&x.plan, "host/lab-1/storage-pool/incus", ACTION_CREATE,
		   "declared by Host/lab-1, absent on the server");
	assert_string_equal(json_string_value(json_object_get(a->after, "driver")), "dir");
	/* driver: auto -> lvm, the first of lvm, zfs, btrfs, dir lab-2 has */
	a = expect(&x.plan, "host/lab-2/storage-pool/incus", ACTION_CREATE, NULL);
	assert_string_equal(json_string_value(json_object_get(a->after, "driver")), "lvm");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "config"),
							      "size")), "1GiB");
	a = expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_CREATE,
		   "declared by Plan/ct-small, absent on the server");
	assert_int_equal(a->safety, SAFETY_SAFE);
	assert_string_equal(json_string_value(field(a, "config[\"limits.cpu\"]")->after), "1");
	assert_string_equal(json_string_value(field(a, "config[\"limits.memory\"]")->after), "256MiB");
	assert_string_equal(json_string_value(field(a, "config[\"user.berth.plan-version\"]")->after),
			    "dbef36dcf9ed3e15");
	assert_string_equal(json_string_value(field(a, "devices.root.pool")->after), "incus");
	assert_string_equal(json_string_value(field(a, "devices.root.size")->after), "1GiB");
	assert_null(field(a, "devices.root.size")->before);
	/* VM plan on a vm_maxcpus: auto cluster: smallest member thread count */
	a = expect(&x.plan, "cluster/lab-cluster/profile/plan-vm-cluster", ACTION_CREATE, NULL);
	assert_string_equal(json_string_value(field(a, "config[\"raw.qemu.conf\"]")->after),
			    "[smp-opts]\nmaxcpus = 2");
	a = expect(&x.plan, "cluster/lab-cluster/profile/plan-ct-cluster", ACTION_CREATE, NULL);
	assert_null(json_object_get(json_object_get(a->after, "config"), "raw.qemu.conf"));
	/* cluster pool: member parts recorded for the per-member creates */
	a = expect(&x.plan, "cluster/lab-cluster/storage-pool/incus", ACTION_CREATE, NULL);
	assert_string_equal(json_string_value(field(a, "members.lab-c1.config.source")->after),
			    "/srv/incus-c1");
	assert_null(json_object_get(json_object_get(a->after, "config"), "source"));
	a = expect(&x.plan, "host/lab-2/image/busybox", ACTION_CREATE,
		   "declared by Image/busybox, absent on the server");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "properties"),
							      "berth.managed")), "true");
	assert_string_equal(a->digest, "");
	text = render(&x.plan, NULL, 0, 0);
	golden(text, "lab/empty.txt");
	free(text);
	done(&x);
}

/* Everything as berth would have made it: nothing to do. */
static void
test_converged(void **state)
{
	struct fx x;
	char *text;

	(void)state;
	run(&x, "lab", "converged", NULL);
	assert_int_equal(x.rc, 0);
	summary(&x.plan, 0, 0, 0, 0, 0, 0);
	assert_false(plan_has_changes(&x.plan));
	text = render(&x.plan, NULL, 0, 0);
	assert_non_null(strstr(text, "host lab-1\n  no changes\n"));
	assert_non_null(strstr(text, "Plan: 0 to create, 0 to update, 0 to delete, 0 blocked, 0 errors.\n"));
	free(text);
	text = render_md(&x.plan, NULL);
	assert_non_null(strstr(text, "\n**0 to create, 0 to update, 0 to delete, 0 blocked, 0 errors.**\n\n"
				     "No changes: the servers match the commit.\n"));
	assert_null(strstr(text, "| |"));
	free(text);
	done(&x);
}

/* Changed limits, an undeclared key, an unmarked project, undeclared
 * managed profiles (one used by a running instance). */
static void
test_drift(void **state)
{
	struct fx x;
	const struct plan_action *a;
	const struct plan_field *f;
	char *text;

	(void)state;
	run(&x, "lab", "drift", NULL);
	assert_int_equal(x.rc, 0);
	a = expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_UPDATE, "differs");
	assert_int_equal(a->nfields, 2);
	f = field(a, "config[\"limits.cpu\"]");
	assert_string_equal(json_string_value(f->before), "2");
	assert_string_equal(json_string_value(f->after), "1");
	assert_null(f->note);
	f = field(a, "config[\"user.foo\"]");
	assert_string_equal(json_string_value(f->before), "x");
	assert_null(f->after);
	assert_string_equal(f->note, "not declared: removed");
	/* c1 runs with this profile */
	assert_int_equal(a->safety, SAFETY_DISRUPTIVE);
	assert_int_equal(strlen(a->digest), 64);
	a = expect(&x.plan, "host/lab-2/project/tenants", ACTION_BLOCKED,
		   "exists and is not managed by berth (set adopt: true to take it over)");
	assert_string_equal(a->blocked_by, "not managed by berth");
	/* without --prune, undeclared managed objects are kept */
	a = expect(&x.plan, "host/lab-1/profile/plan-old", ACTION_RETAINED,
		   "managed by berth and no longer declared: kept (--prune deletes it)");
	assert_string_equal(a->blocked_by, "prune not asked");
	/* ignored keys: volatile.*, lvm.vg_name, source, size, features.* */
	assert_null(find(&x.plan, "host/lab-2/storage-pool/incus"));
	assert_null(find(&x.plan, "host/lab-1/project/tenants"));
	assert_null(find(&x.plan, "host/lab-1/profile/default"));
	/* c1 runs on plan-ct-small without an Instance manifest: sold by a
	 * panel, its snapshot is stamped; c2 is on plan-legacy, no Plan's. */
	a = expect(&x.plan, "host/lab-1/instance/c1", ACTION_UPDATE,
		   "sold by a panel on plan-ct-small: its sold snapshot is recorded on it"
		   " (the instance keeps what it runs with)");
	assert_string_equal(json_string_value(field(a, "config[\"user.berth.price\"]")->after), "200");
	assert_string_equal(json_string_value(field(a, "config[\"user.berth.sold-by\"]")->after),
			    "panel");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "config"),
							      "user.berth.plan")), "ct-small");
	/* what it runs with, from the profile: its limits, its root disk */
	assert_string_equal(json_string_value(field(a, "config[\"limits.cpu\"]")->after), "2");
	assert_string_equal(json_string_value(json_object_get(field(a, "devices[\"root\"]")->after,
							      "size")), "1GiB");
	/* the profile is of the plan's current version: its drift is nobody's sale */
	assert_null(json_object_get(json_object_get(a->after, "config"), "user.foo"));
	a = expect(&x.plan, "host/lab-1/instance/c2", ACTION_RETAINED,
		   "on profile plan-legacy, which no Plan declares: kept");
	summary(&x.plan, 0, 2, 0, 1, 0, 3);
	text = render(&x.plan, NULL, 0, 0);
	golden(text, "lab/drift.txt");
	free(text);
	text = render_md(&x.plan, NULL);
	golden(text, "lab/drift.md");
	free(text);
	done(&x);
}

/*
 * The cluster's vm_maxcpus changed (the profile's raw.qemu.conf differs):
 * the running VMs on the profile are named, as they need a restart to take
 * it; a running container on it is not.
 */
static void
test_vm_maxcpus_restart(void **state)
{
	struct fx x;
	const struct plan_action *a;
	json_t *cl, *v;
	size_t i;

	(void)state;
	load(&x, "lab", "converged");
	cl = json_object_get(json_object_get(x.obs, "servers"), "lab-cluster");
	json_array_foreach(json_object_get(cl, "profiles"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), "plan-vm-cluster"))
			json_object_set_new(json_object_get(v, "config"), "raw.qemu.conf",
					    json_string("[smp-opts]\nmaxcpus = 4"));
	json_array_append_new(json_object_get(cl, "instances"), json_pack(
		"{s:s, s:s, s:s, s:s, s:[s, s], s:{}}", "name", "vm-1", "project", "default",
		"type", "virtual-machine", "status", "Running", "profiles", "default",
		"plan-vm-cluster", "config"));
	json_array_append_new(json_object_get(cl, "instances"), json_pack(
		"{s:s, s:s, s:s, s:s, s:[s, s], s:{}}", "name", "ct-1", "project", "default",
		"type", "container", "status", "Running", "profiles", "default",
		"plan-vm-cluster", "config"));
	x.rc = plan_compute(x.res.fleet, x.obs, NULL, &x.plan);
	assert_int_equal(x.rc, 0);
	a = find(&x.plan, "cluster/lab-cluster/profile/plan-vm-cluster");
	assert_non_null(a);
	assert_int_equal(a->kind, ACTION_UPDATE);
	assert_int_equal(a->safety, SAFETY_DISRUPTIVE);
	assert_non_null(strstr(a->reason, "the cluster's vm_maxcpus changes: running VMs that"
			       " need a restart to take it: vm-1"));
	assert_null(strstr(a->reason, "ct-1"));
	done(&x);
}

/* An image declared under its second alias is not pruned by its first. */
static void
test_prune_image_alias(void **state)
{
	struct plan_opts o = { .prune = 1 };
	struct fx x;
	json_t *v;
	size_t i;

	(void)state;
	load(&x, "lab", "converged");
	json_array_foreach(obs_list(&x, "lab-1", "images"), i, v)
		json_array_insert_new(json_object_get(v, "aliases"), 0,
				      json_pack("{s:s, s:s}", "name", "busybox-old", "description", ""));
	x.rc = plan_compute(x.res.fleet, x.obs, &o, &x.plan);
	assert_int_equal(x.rc, 0);
	assert_null(find(&x.plan, "host/lab-1/image/busybox-old"));
	assert_int_equal(x.plan.ndelete, 0);
	done(&x);
}

static void
test_prune(void **state)
{
	struct plan_opts o = { .prune = 1 };
	struct fx x;
	const struct plan_action *a;

	(void)state;
	run(&x, "lab", "drift", &o);
	assert_int_equal(x.rc, 0);
	a = expect(&x.plan, "host/lab-1/profile/plan-old", ACTION_DELETE,
		   "managed by berth and no longer declared");
	assert_int_equal(a->safety, SAFETY_DESTRUCTIVE);
	assert_null(a->after);
	assert_non_null(a->before);
	a = expect(&x.plan, "host/lab-1/profile/plan-legacy", ACTION_RETAINED,
		   "retained: used by 1 instance");
	assert_string_equal(a->blocked_by, "in use");
	/* deletes come after everything else of the server */
	assert_true(a > find(&x.plan, "host/lab-1/profile/plan-ct-small"));
	summary(&x.plan, 0, 2, 1, 1, 0, 2);
	done(&x);
}

static void
test_mass_delete_guard(void **state)
{
	struct plan_opts o = { .prune = 1 };
	struct fx x;
	const struct plan_action *a;
	size_t i;

	(void)state;
	run(&x, "lab", "mass", &o);
	assert_int_equal(x.rc, 0);
	/* 12 old-NN on lab-2 + plan-old on lab-1 = 13 > 10 */
	summary(&x.plan, 0, 2, 0, 14, 0, 2);
	a = expect(&x.plan, "host/lab-2/profile/old-07", ACTION_BLOCKED,
		   "13 deletes exceed the mass-deletion guard of 10: check the manifests,"
		   " then pass --allow-mass-delete (or raise --max-deletes)");
	assert_string_equal(a->blocked_by, "mass-delete guard");
	expect(&x.plan, "host/lab-1/profile/plan-old", ACTION_BLOCKED, NULL);
	done(&x);

	o.allow_mass_delete = 1;
	run(&x, "lab", "mass", &o);
	summary(&x.plan, 0, 2, 13, 1, 0, 2);
	done(&x);

	o.allow_mass_delete = 0;
	o.max_deletes = 13;
	run(&x, "lab", "mass", &o);
	summary(&x.plan, 0, 2, 13, 1, 0, 2);
	for (i = 1; i < x.plan.nactions; i++)
		if (!strcmp(x.plan.actions[i].server, x.plan.actions[i - 1].server) &&
		    x.plan.actions[i].object == OBJ_PROFILE &&
		    x.plan.actions[i - 1].object == OBJ_PROFILE &&
		    x.plan.actions[i].kind == ACTION_DELETE &&
		    x.plan.actions[i - 1].kind == ACTION_DELETE)
			assert_true(strcmp(x.plan.actions[i - 1].name, x.plan.actions[i].name) < 0);
	done(&x);
}

static void
test_adopt(void **state)
{
	struct fx x;
	const struct plan_action *a;
	const struct plan_field *f;

	(void)state;
	run(&x, "adopt", "drift", NULL);
	a = expect(&x.plan, "host/lab-2/project/tenants", ACTION_UPDATE,
		   "adopt: true: takes over the existing object and marks it managed by berth");
	assert_int_equal(a->nfields, 1);
	f = field(a, "config[\"user.berth.managed\"]");
	assert_null(f->before);
	assert_string_equal(json_string_value(f->after), "true");
	summary(&x.plan, 0, 3, 0, 0, 0, 3);
	done(&x);
}

static void
test_zfs_unsupported(void **state)
{
	struct fx x;
	const struct plan_action *a;

	(void)state;
	run(&x, "zfs", "empty", NULL);
	a = expect(&x.plan, "host/lab-1/storage-pool/incus", ACTION_ERROR,
		   "host \"lab-1\" has no usable ZFS (no zfs kernel module or zpool tool):"
		   " repair linux-headers-$(uname -r)/zfs-dkms on the host,"
		   " or use lvm, btrfs or dir instead");
	assert_null(a->before);
	/* the rest is still planned */
	expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_CREATE, NULL);
	summary(&x.plan, 14, 0, 0, 0, 1, 0);
	done(&x);
}

static void
test_group_extension_missing(void **state)
{
	struct fx x;
	const struct plan_action *a;

	(void)state;
	run(&x, "groups", "converged", NULL);
	a = expect(&x.plan, "cluster/lab-cluster/cluster-group/default", ACTION_ERROR,
		   "cluster \"lab-cluster\" (Incus 6.0.4) lacks the API extension"
		   " \"clustering_groups_config\" that the config of cluster group"
		   " \"default\" needs: upgrade Incus on the cluster, or remove the"
		   " group's config from the manifest");
	assert_non_null(a->before);
	summary(&x.plan, 0, 0, 0, 0, 1, 0);
	done(&x);
}

/* Member-specific keys (source per member) are not diffed cluster-wide. */
static void
test_cluster_member_keys(void **state)
{
	struct fx x;
	const json_t *obs, *v;
	size_t i;
	int seen = 0;

	(void)state;
	run(&x, "lab", "converged", NULL);
	obs = json_object_get(json_object_get(x.obs, "servers"), "lab-cluster");
	json_array_foreach(json_object_get(json_object_get(obs, "storage_pool_members"), "lab-c1"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), "incus"))
			seen = 1;
	assert_true(seen);
	assert_null(find(&x.plan, "cluster/lab-cluster/storage-pool/incus"));
	done(&x);
}

static void
test_review_and_state(void **state)
{
	struct fx x;
	char *text;

	(void)state;
	run(&x, "pending", "empty", NULL);
	assert_string_equal(x.plan.servers[0].state, "review pending");
	assert_string_equal(x.plan.servers[1].state, "cordoned");
	assert_null(find(&x.plan, "host/lab-1/storage-pool/incus"));
	expect(&x.plan, "host/lab-2/storage-pool/incus", ACTION_CREATE, NULL);
	text = render(&x.plan, NULL, 0, 1);
	assert_non_null(strstr(text, "host lab-1 [review pending] (7 requests, 18726 bytes)\n"
				     "  no objects until the host is approved\n"));
	assert_non_null(strstr(text, "host lab-2 [cordoned] (7 requests, 18726 bytes)\n"));
	free(text);
	done(&x);
}

static void
test_server_error(void **state)
{
	struct fx x;
	json_t *s;

	(void)state;
	load(&x, "lab", "empty");
	s = json_object_get(json_object_get(x.obs, "servers"), "lab-2");
	json_object_set_new(s, "error", json_string("connect to https://127.0.0.12:8443: connection refused"));
	x.rc = plan_compute(x.res.fleet, x.obs, NULL, &x.plan);
	assert_int_equal(x.rc, 0);
	expect(&x.plan, "host/lab-2", ACTION_ERROR,
	       "connect to https://127.0.0.12:8443: connection refused");
	assert_string_equal(x.plan.servers[1].error,
			    "connect to https://127.0.0.12:8443: connection refused");
	summary(&x.plan, 10, 0, 0, 0, 1, 0);
	done(&x);
}

static void
test_targets(void **state)
{
	const char *const t1[] = { "Plan/ct-small" };
	const char *const t2[] = { "Host/lab-2", "Image/busybox" };
	const char *const t3[] = { "Plan/nope" };
	struct plan_opts o = { .targets = t1, .ntargets = 1 };
	struct fx x;
	char *text;
	json_t *j;
	size_t i;

	(void)state;
	run(&x, "lab", "empty", &o);
	summary(&x.plan, 2, 0, 0, 0, 0, 0);
	for (i = 0; i < x.plan.nactions; i++)
		assert_string_equal(x.plan.actions[i].name, "plan-ct-small");
	text = render(&x.plan, &o, 0, 0);
	assert_int_equal(strncmp(text, "Targets: Plan/ct-small (only these objects are planned;"
				 " the plan may be incomplete)\n\n", 79), 0);
	free(text);
	j = plan_to_json(&x.plan, &o);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "targets"), 0)),
			    "Plan/ct-small");
	json_decref(j);
	done(&x);

	o.targets = t2;
	o.ntargets = 2;
	run(&x, "lab", "empty", &o);
	/* lab-2: everything (5); lab-1 and the cluster: their image */
	summary(&x.plan, 7, 0, 0, 0, 0, 0);
	expect(&x.plan, "cluster/lab-cluster/image/busybox", ACTION_CREATE, NULL);
	assert_null(find(&x.plan, "host/lab-1/profile/plan-ct-small"));
	done(&x);

	o.targets = t3;
	o.ntargets = 1;
	run(&x, "lab", "empty", &o);
	assert_int_equal(x.rc, -1);
	assert_string_equal(x.plan.refused, "target \"Plan/nope\": no Plan named \"nope\" in the manifests");
	done(&x);
}

static void
test_empty_fleet_prune_refused(void **state)
{
	struct plan_opts o = { .prune = 1 };
	struct fx x;

	(void)state;
	run(&x, "empty", "converged", &o);
	assert_int_equal(x.rc, -1);
	assert_non_null(x.plan.refused);
	assert_non_null(strstr(x.plan.refused, "refusing to prune"));
	assert_int_equal(x.plan.nactions, 0);
	done(&x);
	/* without prune: the managed objects are only shown as retained */
	run(&x, "empty", "converged", NULL);
	assert_int_equal(x.rc, 0);
	expect(&x.plan, "host/lab-1/storage-pool/incus", ACTION_RETAINED, NULL);
	done(&x);
}

static void
test_last_applied(void **state)
{
	json_t *last = json_object();
	struct plan_opts o = { .last_applied = last };
	struct fx x;
	const struct plan_action *a;
	json_t *obs;

	(void)state;
	/* no record: changed in git */
	run(&x, "lab", "drift", &o);
	expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_UPDATE, "changed in git");
	done(&x);
	/* a record that differs from the server: changed outside berth */
	load(&x, "lab", "converged");
	obs = json_object_get(json_object_get(x.obs, "servers"), "lab-1");
	json_object_set(last, "host/lab-1/profile/plan-ct-small",
			json_array_get(json_object_get(obs, "profiles"), 1));
	done(&x);
	run(&x, "lab", "drift", &o);
	a = expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_UPDATE,
		   "changed outside berth");
	(void)a;
	/* as the ledger hands it over: JSON text, parsed when compared */
	{
		json_t *drifted = NULL, *v;
		char *text;
		size_t i;

		json_array_foreach(json_object_get(json_object_get(json_object_get(x.obs,
			"servers"), "lab-1"), "profiles"), i, v)
			if (!strcmp(json_string_value(json_object_get(v, "name")), "plan-ct-small"))
				drifted = v;
		assert_non_null(drifted);
		text = json_dumps(drifted, JSON_COMPACT);
		json_object_set_new(last, "host/lab-1/profile/plan-ct-small", json_string(text));
		free(text);
		done(&x);
		run(&x, "lab", "drift", &o);
		/* the record is what the server has: the change is git's */
		expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_UPDATE, "changed in git");
		json_object_set_new(last, "host/lab-1/profile/plan-ct-small", json_string("{\"x\":1}"));
		done(&x);
		run(&x, "lab", "drift", &o);
		expect(&x.plan, "host/lab-1/profile/plan-ct-small", ACTION_UPDATE,
		       "changed outside berth");
	}
	done(&x);
	json_decref(last);
}

static void
test_json_shape_and_determinism(void **state)
{
	struct plan_opts o = { .prune = 1 };
	struct fx x, y;
	json_t *j, *a, *d;
	char *s1, *s2;
	size_t i;

	(void)state;
	run(&x, "lab", "drift", &o);
	run(&y, "lab", "drift", &o);
	j = plan_to_json(&x.plan, &o);
	s1 = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	j = plan_to_json(&y.plan, &o);
	s2 = json_dumps(j, JSON_INDENT(1));
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	assert_string_equal(json_string_value(json_object_get(j, "format_version")), "1.0");
	assert_string_equal(json_string_value(json_object_get(j, "commit")), "worktree");
	assert_int_equal(strlen(json_string_value(json_object_get(j, "manifest_digest"))), 64);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "delete")), 1);
	/* plan-legacy's profile and its instance c2 */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "retained")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "servers")), 3);
	json_array_foreach(json_object_get(j, "actions"), i, a) {
		static const char *const keys[] = { "address", "server", "object", "name",
			"project", "action", "reason", "safety", "blocked_by", "before",
			"after", "diff", "digest" };
		size_t k;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!json_object_get(a, keys[k]))
				fail_msg("action %zu: no \"%s\"", i, keys[k]);
	}
	/* the panel's instance is stamped first, then its profile changed */
	a = json_array_get(json_object_get(j, "actions"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "address")),
			    "host/lab-1/instance/c1");
	a = json_array_get(json_object_get(j, "actions"), 1);
	assert_string_equal(json_string_value(json_object_get(a, "address")),
			    "host/lab-1/profile/plan-ct-small");
	assert_string_equal(json_string_value(json_object_get(a, "action")), "update");
	assert_string_equal(json_string_value(json_object_get(a, "safety")), "disruptive");
	d = json_array_get(json_object_get(a, "diff"), 1);
	assert_string_equal(json_string_value(json_object_get(d, "field")), "config[\"user.foo\"]");
	assert_true(json_is_null(json_object_get(d, "after")));
	assert_string_equal(json_string_value(json_object_get(d, "note")), "not declared: removed");
	json_decref(j);
	done(&x);
	done(&y);
}

static void
test_plan_file(void **state)
{
	struct plan_opts o = { .prune = 1 };
	struct fx x;
	struct berr err;
	json_t *pf, *back, *a;
	char *s;

	(void)state;
	run(&x, "lab", "drift", &o);
	pf = plan_file(&x.plan, &o, "state-1234");
	assert_string_equal(json_string_value(json_object_get(pf, "format_version")), "1.0");
	assert_string_equal(json_string_value(json_object_get(pf, "state_id")), "state-1234");
	assert_string_equal(json_string_value(json_object_get(pf, "manifest_digest")),
			    x.plan.manifest_digest);
	assert_true(json_is_true(json_object_get(json_object_get(pf, "opts"), "prune")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(pf, "opts"),
							    "max_deletes")), 10);
	a = json_array_get(json_object_get(pf, "actions"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "digest")), x.plan.actions[0].digest);
	s = json_dumps(pf, JSON_COMPACT);
	back = plan_file_read(s, strlen(s), &err);
	assert_non_null(back);
	assert_true(json_equal(back, pf));
	json_decref(back);
	free(s);
	json_object_set_new(pf, "format_version", json_string("2.0"));
	s = json_dumps(pf, JSON_COMPACT);
	assert_null(plan_file_read(s, strlen(s), &err));
	assert_non_null(strstr(err.msg, "format_version \"2.0\": want 1.0"));
	free(s);
	assert_null(plan_file_read("{", 1, &err));
	json_decref(pf);
	done(&x);
}

static void
test_color(void **state)
{
	struct fx x;
	char *plain, *col;

	(void)state;
	run(&x, "lab", "drift", NULL);
	plain = render(&x.plan, NULL, 0, 0);
	col = render(&x.plan, NULL, 1, 0);
	assert_null(strchr(plain, '\033'));
	assert_non_null(strstr(col, "\033[33m~ update\033[0m profile plan-ct-small"));
	free(plain);
	free(col);
	done(&x);
}

/* Hosts offline, or without an agent where their pool requires one, are
 * marked in the text and the JSON; the plan itself does not change. */
static void
test_status_marks(void **state)
{
	const int64_t now = INT64_C(1795323600000);
	struct plan_opts o = { .prune = 1 }, os = { .prune = 1 };
	struct report r1, r2;
	struct host_report hr[2];
	struct status *st;
	struct fx x, y;
	json_t *j, *js, *h, *pf, *pfs;
	char *text, *texts, *marks;
	const char *want =
		"host lab-c1: no agent (no report accepted yet; pool lab-cluster requires one): "
		"no new instances are placed on it\n"
		"host lab-c2: no agent (no report accepted yet; pool lab-cluster requires one): "
		"no new instances are placed on it\n"
		"host lab-2: offline (last report 14m ago): no new instances are placed on it\n"
		"\n";

	(void)state;
	run(&x, "lab", "drift", &o);
	load(&y, "lab", "drift");
	/* lab requires no agent; lab-cluster does here */
	fleet_pool(y.res.fleet, "lab-cluster")->require_agent = 1;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	r1.host = "lab-1";
	r2.host = "lab-2";
	hr[0] = (struct host_report){ "lab-1", now - 1000, &r1 };
	hr[1] = (struct host_report){ "lab-2", now - 14 * 60000 - 30000, &r2 };
	st = status_build(y.res.fleet, hr, 2, now);
	os.status = st;
	y.rc = plan_compute(y.res.fleet, y.obs, &os, &y.plan);
	assert_int_equal(y.rc, 0);

	/* same actions, digests and plan file */
	assert_string_equal(x.plan.manifest_digest, y.plan.manifest_digest);
	j = plan_to_json(&x.plan, &o);
	js = plan_to_json(&y.plan, &os);
	assert_true(json_equal(json_object_get(j, "actions"), json_object_get(js, "actions")));
	assert_true(json_equal(json_object_get(j, "summary"), json_object_get(js, "summary")));
	pf = plan_file(&x.plan, &o, "s");
	pfs = plan_file(&y.plan, &os, "s");
	assert_true(json_equal(pf, pfs));
	json_decref(pf);
	json_decref(pfs);

	/* text: the marks just before the summary, nothing else changes */
	text = render(&x.plan, &o, 0, 0);
	texts = render(&y.plan, &os, 0, 0);
	marks = strstr(texts, want);
	if (!marks)
		fail_msg("%s", texts);
	assert_non_null(marks);
	assert_non_null(strstr(marks, "Plan: "));
	assert_int_equal(strncmp(marks + strlen(want), "Plan: ", 6), 0);
	assert_null(strstr(texts, "host lab-1:"));
	memmove(marks, marks + strlen(want), strlen(marks + strlen(want)) + 1);
	assert_string_equal(text, texts);
	free(text);
	free(texts);
	texts = render(&y.plan, &os, 1, 0);
	assert_non_null(strstr(texts, "\033[33mhost lab-2: offline (last report 14m ago): "
			       "no new instances are placed on it\033[0m\n"));
	free(texts);

	/* JSON: "hosts" only with a status */
	assert_null(json_object_get(j, "hosts"));
	h = json_object_get(js, "hosts");
	assert_int_equal(json_array_size(h), 4);
	h = json_array_get(json_object_get(js, "hosts"), 2);	/* fleet order */
	assert_string_equal(json_string_value(json_object_get(h, "name")), "lab-1");
	assert_string_equal(json_string_value(json_object_get(h, "health")), "online");
	assert_int_equal(json_integer_value(json_object_get(h, "report_age_seconds")), 1);
	assert_true(json_is_true(json_object_get(h, "schedulable")));
	assert_true(json_is_null(json_object_get(h, "reason")));
	assert_true(json_is_null(json_object_get(h, "warning")));
	h = json_array_get(json_object_get(js, "hosts"), 3);
	assert_string_equal(json_string_value(json_object_get(h, "name")), "lab-2");
	assert_string_equal(json_string_value(json_object_get(h, "health")), "offline");
	assert_int_equal(json_integer_value(json_object_get(h, "report_age_seconds")), 870);
	assert_true(json_is_false(json_object_get(h, "schedulable")));
	assert_string_equal(json_string_value(json_object_get(h, "reason")), "offline");
	assert_string_equal(json_string_value(json_object_get(h, "warning")),
			    "offline (last report 14m ago): no new instances are placed on it");
	h = json_array_get(json_object_get(js, "hosts"), 0);
	assert_string_equal(json_string_value(json_object_get(h, "name")), "lab-c1");
	assert_string_equal(json_string_value(json_object_get(h, "health")), "no agent");
	assert_true(json_is_null(json_object_get(h, "report_age_seconds")));
	assert_string_equal(json_string_value(json_object_get(h, "reason")), "no agent");
	assert_non_null(json_string_value(json_object_get(h, "warning")));
	json_decref(j);
	json_decref(js);
	status_free(st);
	done(&x);
	done(&y);
}

/* A host report saying it is alive, with cpu threads, memory and a pool. */
static void
alive(struct report *r, struct report_pool *pool, const char *host)
{
	memset(r, 0, sizeof(*r));
	memset(pool, 0, sizeof(*pool));
	r->host = host;
	r->cpu_threads = 2;
	r->mem_total = UINT64_C(4) << 30;
	pool->name = "incus";
	pool->total = UINT64_C(10) << 30;
	r->pools = pool;
	r->npools = 1;
}

/*
 * Instances: placed by capacity (spread over lab-1 and lab-2), pinned to a
 * cluster member (created on the cluster with target), found where they
 * are (sticky, state converged), and not placed without the hosts' health.
 */
static void
test_instances(void **state)
{
	const int64_t now = INT64_C(1795323600000);
	static const char *const hosts[] = { "lab-1", "lab-2", "lab-c1", "lab-c2" };
	struct report r[4];
	struct report_pool pools[4];
	struct host_report hr[4];
	struct plan_opts o = { 0 };
	struct status *st;
	const struct plan_action *a;
	json_t *old;
	struct fx x;
	size_t i;

	(void)state;
	/* Without health nothing is placed, and says why. */
	run(&x, "instances", "converged", &o);
	assert_int_equal(x.rc, 0);
	a = expect(&x.plan, "host/lab-1/instance/web-1", ACTION_ERROR,
		   "not placed: the hosts' health is unknown (the agents' reports could not be read)");
	done(&x);

	load(&x, "instances", "converged");
	for (i = 0; i < 4; i++) {
		alive(&r[i], &pools[i], hosts[i]);
		hr[i] = (struct host_report){ hosts[i], now - 1000, &r[i] };
	}
	st = status_build(x.res.fleet, hr, 4, now);
	o.status = st;
	/* old-1 exists on lab-1, created by berth, stopped */
	old = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "name", "old-1",
			"project", "default", "status", "Stopped", "location", "none",
			"type", "container", "config", "user.berth.managed", "true",
			"user.berth.plan", "ct-small");
	json_array_append_new(json_object_get(json_object_get(json_object_get(x.obs, "servers"),
							      "lab-1"), "instances"), old);
	x.rc = plan_compute(x.res.fleet, x.obs, &o, &x.plan);
	assert_int_equal(x.rc, 0);

	/* old-1 counts on lab-1 (no agent listed it): web-1 goes to lab-2, web-2 to lab-1 */
	a = expect(&x.plan, "host/lab-2/instance/web-1", ACTION_CREATE, NULL);
	assert_non_null(strstr(a->reason, "placed on lab-2 by spread"));
	assert_string_equal(json_string_value(json_object_get(a->after, "state")), "running");
	assert_null(json_object_get(a->after, "target"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "config"),
							      "user.berth.price")), "200");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "config"),
							      "limits.memory")), "256MiB");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "config"),
							      "user.berth.owner")), "customer-1");
	a = expect(&x.plan, "host/lab-1/instance/web-2", ACTION_CREATE, NULL);
	assert_string_equal(json_string_value(json_object_get(a->after, "state")), "stopped");

	/* pinned to a member: created on the cluster, targeted */
	a = expect(&x.plan, "cluster/lab-cluster/instance/db-1", ACTION_CREATE,
		   "declared by Instance/db-1, absent: pinned to host lab-c2");
	assert_string_equal(json_string_value(json_object_get(a->after, "target")), "lab-c2");

	/* old-1: sticky, declared running: started */
	a = expect(&x.plan, "host/lab-1/instance/old-1", ACTION_UPDATE,
		   "declared running, Stopped on the server");
	assert_int_equal(a->nfields, 1);
	assert_string_equal(a->fields[0].field, "state");
	assert_non_null(a->digest[0] ? a->digest : NULL);
	assert_null(find(&x.plan, "host/lab-2/instance/old-1"));
	/* a VM image is pulled as one; a container image says nothing of its type */
	a = expect(&x.plan, "host/lab-1/image/debian-vm", ACTION_CREATE, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->after, "source"),
							      "image_type")), "virtual-machine");
	{
		char *text = render(&x.plan, &o, 0, 0);

		golden(text, "instances/placed.txt");
		free(text);
		text = render_md(&x.plan, &o);
		golden(text, "instances/placed.md");
		free(text);
	}
	done(&x);

	/* lab-2 cordoned: both new instances share lab-1; lab-1 full: one is refused */
	load(&x, "instances", "converged");
	fleet_host(x.res.fleet, "lab-2")->state = HOST_CORDONED;
	status_free(st);
	st = status_build(x.res.fleet, hr, 4, now);
	o.status = st;
	x.rc = plan_compute(x.res.fleet, x.obs, &o, &x.plan);
	expect(&x.plan, "host/lab-1/instance/web-1", ACTION_CREATE, NULL);
	expect(&x.plan, "host/lab-1/instance/web-2", ACTION_CREATE, NULL);
	expect(&x.plan, "host/lab-1/instance/old-1", ACTION_ERROR,
	       "cannot be placed: 0 of 2 hosts can take ct-small: lab-1 insufficient-cpu"
	       " (want 1, free 0), lab-2 cordoned; placed 0 of 1");
	assert_int_equal(x.plan.nerrors, 1);
	done(&x);

	/* an instance a panel sold on lab-1 (ct-medium: 2 cpu), not reported yet: lab-1 is full */
	load(&x, "instances", "converged");
	old = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{}, s:{s:s}}", "name", "panel-1",
			"project", "default", "status", "Running", "location", "none",
			"type", "container", "config", "expanded_config",
			"user.berth.plan", "ct-medium");
	json_array_append_new(json_object_get(json_object_get(json_object_get(x.obs, "servers"),
							      "lab-1"), "instances"), old);
	status_free(st);
	st = status_build(x.res.fleet, hr, 4, now);
	o.status = st;
	x.rc = plan_compute(x.res.fleet, x.obs, &o, &x.plan);
	expect(&x.plan, "host/lab-2/instance/web-1", ACTION_CREATE, NULL);
	expect(&x.plan, "host/lab-2/instance/web-2", ACTION_CREATE, NULL);
	a = expect(&x.plan, "host/lab-1/instance/old-1", ACTION_ERROR, NULL);
	assert_non_null(strstr(a->reason, "lab-1 insufficient-cpu (want 1, free 0)"));
	done(&x);

	/* --target Plan/ct-cluster: its instance only; Host/lab-1: what is on lab-1 */
	{
		const char *const tp[] = { "Plan/ct-cluster" }, *const th[] = { "Host/lab-1" };
		struct plan_opts ot = o;

		ot.targets = tp;
		ot.ntargets = 1;
		load(&x, "instances", "converged");
		status_free(st);
		st = status_build(x.res.fleet, hr, 4, now);
		o.status = ot.status = st;
		x.rc = plan_compute(x.res.fleet, x.obs, &ot, &x.plan);
		expect(&x.plan, "cluster/lab-cluster/instance/db-1", ACTION_CREATE, NULL);
		assert_null(find(&x.plan, "host/lab-1/instance/web-1"));
		assert_null(find(&x.plan, "host/lab-2/instance/web-1"));
		plan_release(&x.plan);
		ot.targets = th;
		x.rc = plan_compute(x.res.fleet, x.obs, &ot, &x.plan);
		expect(&x.plan, "host/lab-1/instance/web-1", ACTION_CREATE, NULL);
		assert_null(find(&x.plan, "cluster/lab-cluster/instance/db-1"));
		done(&x);
	}

	/* an unobservable server of the pool: nothing placed (it may be there) */
	load(&x, "instances", "converged");
	json_object_set_new(json_object_get(json_object_get(x.obs, "servers"), "lab-2"),
			    "error", json_string("connection refused"));
	status_free(st);
	st = status_build(x.res.fleet, hr, 4, now);	/* a status borrows its fleet */
	o.status = st;
	x.rc = plan_compute(x.res.fleet, x.obs, &o, &x.plan);
	expect(&x.plan, "host/lab-1/instance/web-1", ACTION_ERROR,
	       "not placed: server lab-2 of pool lab could not be observed, and the instance"
	       " may exist there");
	done(&x);
	status_free(st);
}

/* The observed instances of server in x's observation. */
static json_t *
obs_instances(struct fx *x, const char *server)
{
	return json_object_get(json_object_get(json_object_get(x->obs, "servers"), server),
			       "instances");
}

/* The instances scenario with old-1 (running) on lab-1 and the extra ones given, planned with health. */
struct mv {
	struct fx x;
	struct report r[4];
	struct report_pool pools[4];
	struct host_report hr[4];
	struct status *st;
	struct plan_opts o;
};

static void
mv_load(struct mv *m)
{
	json_t *old;

	memset(m, 0, sizeof(*m));
	load(&m->x, "instances", "converged");
	old = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "name", "old-1",
			"project", "default", "status", "Running", "location", "none",
			"type", "container", "config", "user.berth.managed", "true",
			"user.berth.plan", "ct-small");
	json_array_append_new(obs_instances(&m->x, "lab-1"), old);
}

/* A panel's instance on lab-1 of plan, in status st. */
static void
mv_panel(struct mv *m, const char *name, const char *plan, const char *st)
{
	json_array_append_new(obs_instances(&m->x, "lab-1"),
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}}", "name", name,
					"project", "default", "status", st, "location", "none",
					"type", "container", "config", "user.berth.sold-by", "panel",
					"expanded_config", "user.berth.plan", plan));
}

static void
mv_plan(struct mv *m)
{
	static const char *const hosts[] = { "lab-1", "lab-2", "lab-c1", "lab-c2" };
	const int64_t now = INT64_C(1795323600000);
	size_t i;

	for (i = 0; i < 4; i++) {
		alive(&m->r[i], &m->pools[i], hosts[i]);
		m->hr[i] = (struct host_report){ hosts[i], now - 1000, &m->r[i] };
	}
	m->st = status_build(m->x.res.fleet, m->hr, 4, now);
	m->o.status = m->st;
	m->x.rc = plan_compute(m->x.res.fleet, m->x.obs, &m->o, &m->x.plan);
	assert_int_equal(m->x.rc, 0);
}

static void
mv_done(struct mv *m)
{
	done(&m->x);
	status_free(m->st);
}

/*
 * lab-1 drains: what runs there moves to lab-2, declared ones first, then
 * a panel's (stopped: moved, not started); new instances come after them;
 * one whose plan is unknown is an error. A pin to another host moves an
 * instance there; a pin to the draining host blocks it.
 */
static void
test_moves(void **state)
{
	const struct plan_action *a;
	struct mv m;
	char *text;
	json_t *j;

	(void)state;
	mv_load(&m);
	mv_panel(&m, "panel-1", "ct-small", "Stopped");
	mv_panel(&m, "panel-2", "legacy", "Running");
	fleet_host(m.x.res.fleet, "lab-1")->state = HOST_DRAINING;
	mv_plan(&m);
	a = expect(&m.x.plan, "host/lab-1/instance/old-1", ACTION_MOVE, NULL);
	assert_non_null(strstr(a->reason, "host lab-1 is draining: to lab-2 by spread"));
	assert_string_equal(json_string_value(json_object_get(a->after, "from")), "lab-1");
	assert_string_equal(json_string_value(json_object_get(a->after, "to")), "lab-2");
	assert_string_equal(json_string_value(json_object_get(a->after, "server")), "lab-2");
	assert_string_equal(json_string_value(json_object_get(a->after, "kind")), "cold");
	assert_string_equal(json_string_value(json_object_get(a->after, "state")), "running");
	assert_null(json_object_get(a->after, "member"));
	assert_int_equal(a->safety, SAFETY_DISRUPTIVE);
	assert_int_equal(strlen(a->digest), 64);
	a = expect(&m.x.plan, "host/lab-1/instance/panel-1", ACTION_MOVE, NULL);
	assert_string_equal(json_string_value(json_object_get(a->after, "state")), "stopped");
	assert_int_equal(a->safety, SAFETY_SAFE);
	a = expect(&m.x.plan, "host/lab-1/instance/panel-2", ACTION_ERROR,
		   "host lab-1 is draining, but its plan is not in the manifests: no host can be"
		   " chosen for it (move it by hand, or declare its plan)");
	/* lab-2 has 2 cpu: the two moves take them, the new ones wait */
	a = expect(&m.x.plan, "host/lab-1/instance/web-1", ACTION_ERROR, NULL);
	assert_non_null(strstr(a->reason, "lab-1 draining, lab-2 insufficient-cpu"));
	assert_int_equal(m.x.plan.nmove, 2);
	assert_true(plan_has_changes(&m.x.plan));
	text = render(&m.x.plan, &m.o, 0, 0);
	assert_non_null(strstr(text, "  > move instance old-1 lab-1 -> lab-2 (cold)\n"));
	assert_non_null(strstr(text, " to update, 2 to move, 0 to delete"));
	free(text);
	j = plan_to_json(&m.x.plan, &m.o);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "move")), 2);
	json_decref(j);
	mv_done(&m);

	/* nothing drains: nothing moves, and the summary is as before */
	mv_load(&m);
	mv_plan(&m);
	assert_int_equal(m.x.plan.nmove, 0);
	text = render(&m.x.plan, &m.o, 0, 0);
	assert_null(strstr(text, "to move"));
	free(text);
	mv_done(&m);

	/* pinned to lab-2 while it runs on lab-1: moved to its pin */
	mv_load(&m);
	fleet_instance(m.x.res.fleet, "old-1")->host = fleet_host(m.x.res.fleet, "lab-2");
	mv_plan(&m);
	a = expect(&m.x.plan, "host/lab-1/instance/old-1", ACTION_MOVE,
		   "pinned to host lab-2, runs on lab-1: to host lab-2, its pin");
	mv_done(&m);

	/*
	 * What an interrupted move from lab-2 left on lab-1 (still marked
	 * move-pending lab-2) is not the instance: the one on lab-2 is, and
	 * stays where it is.
	 */
	mv_load(&m);
	{
		json_t *l1 = obs_instances(&m.x, "lab-1");
		json_t *l2 = obs_instances(&m.x, "lab-2");
		json_t *real = json_deep_copy(json_array_get(l1, json_array_size(l1) - 1));
		json_t *copy = json_array_get(l1, json_array_size(l1) - 1);

		json_array_append_new(l2, real);
		/* running: a container survives its daemon's kill */
		json_object_set_new(json_object_get(copy, "config"), "user.berth.move-pending",
				    json_string("lab-2"));
	}
	mv_plan(&m);
	/* the copy goes; the instance is running as declared: nothing for it */
	a = expect(&m.x.plan, "host/lab-1/instance/old-1", ACTION_DELETE,
		   "what an interrupted move left: the instance is on lab-2 (this copy runs:"
		   " it is stopped first)");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a->before,
		"config"), "user.berth.move-pending")), "lab-2");
	assert_null(find(&m.x.plan, "host/lab-2/instance/old-1"));
	mv_done(&m);

	/* on two hosts, neither what a move left of the other: blocked, nothing moves */
	mv_load(&m);
	{
		json_t *l1 = obs_instances(&m.x, "lab-1");
		json_t *l2 = obs_instances(&m.x, "lab-2");

		json_array_append_new(l2, json_deep_copy(json_array_get(l1, json_array_size(l1) - 1)));
	}
	fleet_host(m.x.res.fleet, "lab-1")->state = HOST_DRAINING;
	mv_plan(&m);
	a = expect(&m.x.plan, "host/lab-1/instance/old-1", ACTION_BLOCKED,
		   "on lab-1 and on lab-2 (a move that could not delete its source?): delete the"
		   " copy that is not the customer's by hand");
	assert_string_equal(a->blocked_by, "on two hosts");
	assert_int_equal(m.x.plan.nmove, 0);
	mv_done(&m);

	/*
	 * A running VM with migration.stateful on a draining member moves live
	 * (the cluster has migration_vm_live); without it, cold.
	 */
	for (int stateful = 1; stateful >= 0; stateful--) {
		json_t *cl;

		mv_load(&m);
		fleet_offer(m.x.res.fleet, "vm-cluster")->cpu = 1;	/* room on lab-c2 */
		cl = json_object_get(json_object_get(m.x.obs, "servers"), "lab-cluster");
		json_array_append_new(json_object_get(cl, "instances"), json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "name", "vm-1",
			"project", "default", "status", "Running", "location", "lab-c1",
			"type", "virtual-machine", "config", "user.berth.managed", "true",
			"migration.stateful", stateful ? "true" : "false",
			"expanded_config", "user.berth.plan", "vm-cluster"));
		fleet_host(m.x.res.fleet, "lab-c1")->state = HOST_DRAINING;
		mv_plan(&m);
		a = expect(&m.x.plan, "cluster/lab-cluster/instance/vm-1", ACTION_MOVE, NULL);
		assert_string_equal(json_string_value(json_object_get(a->after, "to")), "lab-c2");
		assert_string_equal(json_string_value(json_object_get(a->after, "member")), "lab-c2");
		assert_string_equal(json_string_value(json_object_get(a->after, "server")),
				    "lab-cluster");
		assert_string_equal(json_string_value(json_object_get(a->after, "kind")),
				    stateful ? "live" : "cold");
		assert_int_equal(a->safety, stateful ? SAFETY_SAFE : SAFETY_DISRUPTIVE);
		mv_done(&m);
	}

	/* pinned to the host that drains: blocked, it says what to do */
	mv_load(&m);
	fleet_instance(m.x.res.fleet, "old-1")->host = fleet_host(m.x.res.fleet, "lab-1");
	fleet_host(m.x.res.fleet, "lab-1")->state = HOST_DRAINING;
	mv_plan(&m);
	a = expect(&m.x.plan, "host/lab-1/instance/old-1", ACTION_BLOCKED,
		   "host lab-1 is draining, and the instance is pinned to it: pin it elsewhere,"
		   " or drop the pin");
	assert_string_equal(a->blocked_by, "pinned to a draining host");
	mv_done(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_hosts),
		cmocka_unit_test(test_converged),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_image_alias),
		cmocka_unit_test(test_vm_maxcpus_restart),
		cmocka_unit_test(test_mass_delete_guard),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_zfs_unsupported),
		cmocka_unit_test(test_group_extension_missing),
		cmocka_unit_test(test_cluster_member_keys),
		cmocka_unit_test(test_review_and_state),
		cmocka_unit_test(test_server_error),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_empty_fleet_prune_refused),
		cmocka_unit_test(test_last_applied),
		cmocka_unit_test(test_json_shape_and_determinism),
		cmocka_unit_test(test_plan_file),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_status_marks),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_moves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
