/*
 * test-status.c - health and capacity (sched/status.c) on the fleet of
 * tests/data/status/fleet/ and reports made by hand: every rule of
 * status.h with exact numbers.
 *
 * The fleet: pool "main" (overcommit cpu 4, memory 1.5, disk 1; reserve
 * 10%, 12.5%, 5%; agent required) selects on-1, slow-1 (agent interval
 * 60s), off-1, na-1, pend-1 (pending, cordoned), rej-1 (rejected,
 * draining), cord-1, drain-1 and acme-1 (provider acme); pool "closed"
 * (closed, no agent required, no overcommit or reserve) selects on-1,
 * off-1, na-1; pool "bare" (no plans) selects bare-1; spare-1 is in no
 * pool. Plans of main: small (1, 1GiB, 10GiB), big (8, 16GiB, 100GiB),
 * old (retired; 1, 512MiB, 5GiB), acme-tiny (acme's; 1, 128MiB, 1GiB).
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
#include "sched/status.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define GiB		(UINT64_C(1) << 30)
#define NOW		INT64_C(1795323600000)	/* 2026-11-22T05:00:00Z */
#define MAX_INS		8

static struct manifest_result res;

/* The valid fleet of the manifests under path (of the source tree) into r. */
static void
load_at(const char *path, struct manifest_result *r)
{
	struct source_opts so;
	struct diags d = DIAGS_INIT;
	struct berr err;

	memset(r, 0, sizeof(*r));
	memset(&so, 0, sizeof(so));
	so.repo = SOURCE_ROOT;
	so.path = path;
	so.worktree = 1;
	assert_int_equal(manifest_load(&so, MANIFEST_CHECK, r, &d, &err), 0);
	if (d.nerrors) {
		char line[1024];

		diag_format(&d.v[0], line, sizeof(line));
		fail_msg("%s", line);
	}
	diags_release(&d);
	assert_non_null(r->fleet);
}

static int
setup(void **state)
{
	(void)state;
	load_at("tests/data/status/fleet", &res);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	manifest_result_release(&res);
	return 0;
}

/* ---- reports made by hand ----------------------------------------------- */

struct rep {
	struct host_report hr;
	struct report r;
	struct report_pool pool;
	struct report_instance ins[MAX_INS];
};

/*
 * A report of host received at received_ms: cpu threads, memory total, and
 * storage pool "incus" of disk bytes (none when disk is 0).
 */
static struct rep *
rep_new(const char *host, int64_t received_ms, uint64_t cpu, uint64_t mem, uint64_t disk)
{
	struct rep *x = xcalloc(1, sizeof(*x));

	x->hr.host = host;
	x->hr.received_ms = received_ms;
	x->hr.report = &x->r;
	x->r.schema = 1;
	x->r.host = host;
	x->r.agent_version = "0.5.0";
	x->r.agent_build = "abc1234";
	x->r.interval_s = 30;
	x->r.cpu_threads = cpu;
	x->r.mem_total = mem;
	x->r.mem_available = mem / 2;
	if (disk) {
		x->pool.name = "incus";
		x->pool.driver = "dir";
		x->pool.total = disk;
		x->r.pools = &x->pool;
		x->r.npools = 1;
	}
	x->r.instances = x->ins;
	return x;
}

static void
rep_add(struct rep *x, const char *name, const char *project, const char *status,
	const char *plan)
{
	struct report_instance *in;

	assert_true(x->r.ninstances < MAX_INS);
	in = &x->ins[x->r.ninstances++];
	in->name = name;
	in->project = project;
	in->type = "container";
	in->status = status;
	in->plan = plan;
}

/* on-1 as in most tests: 12 threads, 62GiB, 2000GiB; four instances. */
static struct rep *
rep_on1(int64_t received_ms)
{
	struct rep *x = rep_new("on-1", received_ms, 12, 62 * GiB, 2000 * GiB);

	rep_add(x, "pin-a", "default", "Running", "small");	/* also pinned */
	rep_add(x, "web", "tenants", "Stopped", "big");
	rep_add(x, "legacy", "default", "Running", NULL);	/* no plan */
	rep_add(x, "gone", "default", "Running", "gone-plan");	/* not in the fleet */
	return x;
}

/* The reports of the current test: the status borrows them. */
static struct rep *kept[32];
static size_t nkept;

/* Build the status at NOW from the reports (a NULL-terminated list). */
static struct status *
build(struct rep *first, ...)
{
	struct host_report v[32];
	struct rep *x;
	size_t n = 0;
	va_list ap;

	va_start(ap, first);
	for (x = first; x; x = va_arg(ap, struct rep *)) {
		assert_true(n < 32 && nkept < 32);
		kept[nkept++] = x;
		v[n++] = x->hr;
	}
	va_end(ap);
	return status_build(res.fleet, v, n, NOW);
}

/* Free the status and the reports of the test. */
static void
done(struct status *s)
{
	status_free(s);
	while (nkept)
		free(kept[--nkept]);
}

static const struct status_host *
host(const struct status *s, const char *name)
{
	const struct status_host *h = status_host(s, name);

	if (!h)
		fail_msg("no host %s", name);
	return h;
}

static const struct status_pool *
pool(const struct status *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (!strcmp(s->pools[i].pool->meta.name, name))
			return &s->pools[i];
	fail_msg("no pool %s", name);
	return NULL;
}

static const struct status_member *
member(const struct status *s, const char *pname, const char *hname)
{
	const struct status_pool *p = pool(s, pname);
	size_t i;

	for (i = 0; i < p->nmembers; i++)
		if (!strcmp(p->members[i].host->host->meta.name, hname))
			return &p->members[i];
	fail_msg("no member %s in pool %s", hname, pname);
	return NULL;
}

static void
res_eq(const struct status_resource *x, uint64_t declared, uint64_t reported,
       uint64_t base, uint64_t capacity, uint64_t allocated, int64_t free_)
{
	assert_int_equal(x->declared, declared);
	assert_int_equal(x->reported, reported);
	assert_int_equal(x->base, base);
	assert_int_equal(x->capacity, capacity);
	assert_int_equal(x->allocated, allocated);
	assert_int_equal(x->free, free_);
}

static struct m_host *
fleet_host_mut(const char *name)
{
	struct m_host *h = fleet_host(res.fleet, name);

	assert_non_null(h);
	return h;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_names(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(sched_reason_name(SCHED_OK), "");
	assert_string_equal(sched_reason_name(SCHED_PENDING_REVIEW), "pending review");
	assert_string_equal(sched_reason_name(SCHED_REJECTED), "rejected");
	assert_string_equal(sched_reason_name(SCHED_CORDONED), "cordoned");
	assert_string_equal(sched_reason_name(SCHED_DRAINING), "draining");
	assert_string_equal(sched_reason_name(SCHED_OFFLINE), "offline");
	assert_string_equal(sched_reason_name(SCHED_NO_AGENT), "no agent");
	assert_string_equal(sched_reason_name(SCHED_POOL_CLOSED), "pool closed");
	assert_string_equal(sched_reason_name(SCHED_STORAGE_UNAVAILABLE),
			    "storage pool unavailable");
	assert_string_equal(sched_reason_name(SCHED_FULL), "full");
	assert_string_equal(host_health_name(HEALTH_ONLINE), "online");
	assert_string_equal(host_health_name(HEALTH_OFFLINE), "offline");
	assert_string_equal(host_health_name(HEALTH_NO_AGENT), "no agent");
	status_format_age(-5, b, sizeof(b));
	assert_string_equal(b, "0s");
	status_format_age(0, b, sizeof(b));
	assert_string_equal(b, "0s");
	status_format_age(59999, b, sizeof(b));
	assert_string_equal(b, "59s");
	status_format_age(60000, b, sizeof(b));
	assert_string_equal(b, "1m");
	status_format_age(14 * 60000 + 59999, b, sizeof(b));
	assert_string_equal(b, "14m");
	status_format_age(3600000, b, sizeof(b));
	assert_string_equal(b, "1h");
	status_format_age(86399999, b, sizeof(b));
	assert_string_equal(b, "23h");
	status_format_age(86400000 * INT64_C(3), b, sizeof(b));
	assert_string_equal(b, "3d");
}

/* Online up to and including max(3 x interval, 120 s); offline after. */
static void
test_health_windows(void **state)
{
	struct status *s;
	const struct status_host *h;

	(void)state;
	s = build(rep_new("on-1", NOW - 120000, 12, 62 * GiB, 0),	/* 30s: window 120 s */
		  rep_new("off-1", NOW - 120001, 16, 64 * GiB, 0),
		  rep_new("slow-1", NOW - 180000, 8, 32 * GiB, 0),	/* 60s: window 180 s */
		  rep_new("acme-1", NOW + 5000, 8, 32 * GiB, 0),	/* from the future */
		  NULL);
	assert_int_equal(s->now_ms, NOW);
	assert_int_equal(s->nhosts, 11);
	assert_int_equal(s->npools, 3);
	h = host(s, "on-1");
	assert_int_equal(h->health, HEALTH_ONLINE);
	assert_int_equal(h->report_age_ms, 120000);
	assert_int_equal(h->window_ms, 120000);
	assert_int_equal(h->received_ms, NOW - 120000);
	assert_non_null(h->report);
	h = host(s, "off-1");
	assert_int_equal(h->health, HEALTH_OFFLINE);
	assert_int_equal(h->report_age_ms, 120001);
	assert_int_equal(h->window_ms, 120000);
	h = host(s, "slow-1");
	assert_int_equal(h->health, HEALTH_ONLINE);
	assert_int_equal(h->report_age_ms, 180000);
	assert_int_equal(h->window_ms, 180000);
	h = host(s, "acme-1");
	assert_int_equal(h->health, HEALTH_ONLINE);
	assert_int_equal(h->report_age_ms, 0);
	h = host(s, "na-1");
	assert_int_equal(h->health, HEALTH_NO_AGENT);
	assert_int_equal(h->report_age_ms, -1);
	assert_int_equal(h->window_ms, 120000);
	assert_int_equal(h->received_ms, 0);
	assert_null(h->report);
	done(s);

	s = build(rep_new("slow-1", NOW - 180001, 8, 32 * GiB, 0), NULL);
	assert_int_equal(host(s, "slow-1")->health, HEALTH_OFFLINE);
	assert_int_equal(host(s, "slow-1")->report_age_ms, 180001);
	done(s);
}

/* The latest report of a host counts, in any order; unknown hosts and
 * reports without a body are ignored. */
static void
test_reports_latest_and_unknown(void **state)
{
	struct rep *ghost = rep_new("ghost", NOW, 64, 512 * GiB, 0), *empty;
	struct status *s;
	const struct status_host *h;

	(void)state;
	rep_add(ghost, "pin-a", "default", "Running", "small");
	empty = rep_new("off-1", NOW, 1, 1, 0);
	empty->hr.report = NULL;
	s = build(rep_new("on-1", NOW - 1000, 12, 62 * GiB, 0),
		  ghost,
		  rep_new("on-1", NOW - 200000, 99, 99 * GiB, 0),
		  empty, NULL);
	assert_int_equal(s->nhosts, 11);
	assert_null(status_host(s, "ghost"));
	h = host(s, "on-1");
	assert_int_equal(h->health, HEALTH_ONLINE);
	assert_int_equal(h->report_age_ms, 1000);
	assert_int_equal(h->report->cpu_threads, 12);
	assert_int_equal(host(s, "off-1")->health, HEALTH_NO_AGENT);
	/* ghost's instance is not counted anywhere: pin-a is pinned to on-1,
	 * which does not list it, so it counts there as declared */
	assert_int_equal(h->ninstances, 3);
	assert_string_equal(h->instances[0].name, "pin-a");
	assert_string_equal(h->instances[0].status, "declared");
	done(s);
}

/* base = min(declared, reported) when both are known, else the known one;
 * capacity = floor(base x (10 x overcommit_milli - reserve_bp) / 10000). */
static void
test_capacity_arithmetic(void **state)
{
	struct status *s;
	const struct status_member *m;
	struct m_host *on1 = fleet_host_mut("on-1");

	(void)state;
	s = build(rep_on1(NOW), NULL);
	m = member(s, "main", "on-1");
	/* cpu: 16 declared, 12 reported: 12 x (4 - 10%) = 46.8 -> 46 */
	res_eq(&m->res[RES_CPU], 16, 12, 12, 46, 18, 28);
	/* memory: 64GiB declared, 62GiB reported: 62GiB x (1.5 - 12.5%) = 85.25GiB */
	res_eq(&m->res[RES_MEMORY], 64 * GiB, 62 * GiB, 62 * GiB, 91536490496,
	       34 * GiB, 55029268480);
	/* disk: 1000GiB declared, 2000GiB reported: 1000GiB x (1 - 5%) */
	res_eq(&m->res[RES_DISK], 1000 * GiB, 2000 * GiB, 1000 * GiB, 1020054732800,
	       220 * GiB, 783831531520);
	/* closed: no overcommit, no reserve: capacity = base */
	m = member(s, "closed", "on-1");
	res_eq(&m->res[RES_CPU], 16, 12, 12, 12, 18, -6);
	res_eq(&m->res[RES_MEMORY], 64 * GiB, 62 * GiB, 62 * GiB, 62 * GiB, 34 * GiB,
	       28 * (int64_t)GiB);
	/* no report: the declared values */
	m = member(s, "main", "na-1");
	res_eq(&m->res[RES_CPU], 16, 0, 16, 62, 1, 61);
	res_eq(&m->res[RES_MEMORY], 64 * GiB, 0, 64 * GiB, 88 * GiB, GiB, 87 * (int64_t)GiB);
	res_eq(&m->res[RES_DISK], 1000 * GiB, 0, 1000 * GiB, 950 * GiB, 10 * GiB,
	       940 * (int64_t)GiB);
	done(s);

	/* only reported (declared 0): the reported value; a report without
	 * the pool's storage pool: the declared disk */
	on1->capacity.memory = 0;
	s = build(rep_new("on-1", NOW, 12, 62 * GiB, 0), NULL);
	m = member(s, "closed", "on-1");
	/* the report lists no instance: pin-a, pin-b and web are declared */
	res_eq(&m->res[RES_MEMORY], 0, 62 * GiB, 62 * GiB, 62 * GiB, 18 * GiB,
	       44 * (int64_t)GiB);
	res_eq(&m->res[RES_DISK], 1000 * GiB, 0, 1000 * GiB, 1000 * GiB, 120 * GiB,
	       880 * (int64_t)GiB);
	done(s);

	/* neither: 0 */
	s = build(rep_new("on-1", NOW, 12, 0, 0), NULL);
	m = member(s, "closed", "on-1");
	res_eq(&m->res[RES_MEMORY], 0, 0, 0, 0, 18 * GiB, -18 * (int64_t)GiB);
	done(s);

	/* no overflow: a huge declared value saturates */
	on1->capacity.memory = UINT64_MAX;
	s = build(NULL);
	m = member(s, "main", "on-1");
	res_eq(&m->res[RES_MEMORY], UINT64_MAX, 0, UINT64_MAX, UINT64_MAX, 18 * GiB,
	       INT64_MAX - 18 * (int64_t)GiB);
	done(s);
}

/* test_capacity_arithmetic changes on-1's declared memory: put it back. */
static int
restore_on1(void **state)
{
	(void)state;
	fleet_host_mut("on-1")->capacity.memory = 64 * GiB;
	return 0;
}

/* Allocated: the plans of the reported instances, plus the Instance
 * manifests pinned to the host that its report does not list. */
static void
test_allocated(void **state)
{
	struct status *s;
	const struct status_host *h;
	const struct status_instance *in;

	(void)state;
	s = build(rep_on1(NOW), NULL);
	h = host(s, "on-1");
	assert_int_equal(h->ninstances, 6);
	in = &h->instances[0];
	assert_string_equal(in->name, "pin-a");
	assert_string_equal(in->project, "default");
	assert_string_equal(in->status, "Running");
	assert_string_equal(in->plan, "small");
	assert_ptr_equal(in->offer, fleet_offer(res.fleet, "small"));
	in = &h->instances[1];
	assert_string_equal(in->name, "web");
	assert_string_equal(in->project, "tenants");
	assert_string_equal(in->status, "Stopped");	/* stopped ones count too */
	assert_ptr_equal(in->offer, fleet_offer(res.fleet, "big"));
	in = &h->instances[2];
	assert_string_equal(in->name, "legacy");
	assert_null(in->plan);
	assert_null(in->offer);
	in = &h->instances[3];
	assert_string_equal(in->name, "gone");
	assert_string_equal(in->plan, "gone-plan");
	assert_null(in->offer);
	/* pinned, not reported; pin-a is reported and not counted twice */
	in = &h->instances[4];
	assert_string_equal(in->name, "pin-b");
	assert_string_equal(in->status, "declared");
	assert_string_equal(in->plan, "big");
	in = &h->instances[5];
	assert_string_equal(in->name, "web");	/* default, not tenants' web */
	assert_string_equal(in->project, "default");
	assert_string_equal(in->status, "declared");
	/* small + big reported, big + small declared */
	assert_int_equal(h->allocated[RES_CPU], 18);
	assert_int_equal(h->allocated[RES_MEMORY], 34 * GiB);
	assert_int_equal(h->allocated[RES_DISK], 220 * GiB);
	/* a host with no agent: its pinned instances */
	h = host(s, "na-1");
	assert_int_equal(h->ninstances, 1);
	assert_string_equal(h->instances[0].name, "pin-c");
	assert_int_equal(h->allocated[RES_CPU], 1);
	assert_int_equal(h->allocated[RES_MEMORY], GiB);
	assert_int_equal(h->allocated[RES_DISK], 10 * GiB);
	/* "loose" is pinned nowhere and reported nowhere */
	h = host(s, "spare-1");
	assert_int_equal(h->ninstances, 0);
	assert_int_equal(h->allocated[RES_CPU], 0);
	done(s);

	/* with no report at all, on-1 counts its three pinned instances */
	s = build(NULL);
	h = host(s, "on-1");
	assert_int_equal(h->ninstances, 3);
	assert_int_equal(h->allocated[RES_CPU], 10);
	assert_int_equal(h->allocated[RES_MEMORY], 18 * GiB);
	assert_int_equal(h->allocated[RES_DISK], 120 * GiB);
	done(s);
}

/* Each reason, in its order: pending review, rejected, cordoned, draining,
 * offline, no agent (require_agent only), pool closed, full. */
static void
test_reasons(void **state)
{
	struct status *s;
	struct rep *slow, *acme;

	(void)state;
	/* disk 22605091031 x 95% = 21474836479: one byte under 20GiB, so
	 * after one small instance 10GiB - 1 is free: small does not fit */
	slow = rep_new("slow-1", NOW, 8, 32 * GiB, 22605091031);
	rep_add(slow, "s1", "default", "Running", "small");
	acme = rep_new("acme-1", NOW, 8, 32 * GiB, 22605091031);
	rep_add(acme, "a1", "default", "Running", "small");
	s = build(rep_on1(NOW),
		  rep_new("off-1", NOW - 600000, 16, 64 * GiB, 1000 * GiB),
		  rep_new("cord-1", NOW - 600000, 4, 8 * GiB, 100 * GiB),	/* offline too */
		  slow, acme, NULL);
	assert_int_equal(member(s, "main", "on-1")->reason, SCHED_OK);
	/* pend-1 is also cordoned, has no agent */
	assert_int_equal(member(s, "main", "pend-1")->reason, SCHED_PENDING_REVIEW);
	/* rej-1 is also draining */
	assert_int_equal(member(s, "main", "rej-1")->reason, SCHED_REJECTED);
	assert_int_equal(member(s, "main", "cord-1")->reason, SCHED_CORDONED);
	/* drain-1 has no agent either */
	assert_int_equal(member(s, "main", "drain-1")->reason, SCHED_DRAINING);
	assert_int_equal(member(s, "main", "off-1")->reason, SCHED_OFFLINE);
	assert_int_equal(member(s, "main", "na-1")->reason, SCHED_NO_AGENT);
	/* old (retired; 5GiB) and acme-tiny (acme's) would fit: neither counts
	 * for a platform host */
	assert_int_equal(member(s, "main", "slow-1")->res[RES_DISK].free, 10 * GiB - 1);
	assert_int_equal(member(s, "main", "slow-1")->reason, SCHED_FULL);
	/* acme-tiny may go on acme's host */
	assert_int_equal(member(s, "main", "acme-1")->res[RES_DISK].free, 10 * GiB - 1);
	assert_int_equal(member(s, "main", "acme-1")->reason, SCHED_OK);
	/* closed pool: offline first; no agent is not required there */
	assert_int_equal(member(s, "closed", "on-1")->reason, SCHED_POOL_CLOSED);
	assert_int_equal(member(s, "closed", "off-1")->reason, SCHED_OFFLINE);
	assert_int_equal(member(s, "closed", "na-1")->reason, SCHED_POOL_CLOSED);
	/* no agent, none required, no plans, everything free */
	assert_int_equal(member(s, "bare", "bare-1")->reason, SCHED_OK);
	assert_int_equal(pool(s, "main")->nmembers, 9);
	assert_int_equal(pool(s, "main")->nschedulable, 2);
	assert_int_equal(pool(s, "closed")->nmembers, 3);
	assert_int_equal(pool(s, "closed")->nschedulable, 0);
	assert_int_equal(pool(s, "bare")->nschedulable, 1);
	/* per host: schedulable anywhere, else the reason in its first pool */
	assert_true(host(s, "on-1")->schedulable);
	assert_int_equal(host(s, "on-1")->reason, SCHED_OK);
	assert_int_equal(host(s, "on-1")->npools, 2);
	assert_false(host(s, "na-1")->schedulable);
	assert_int_equal(host(s, "na-1")->reason, SCHED_NO_AGENT);
	assert_string_equal(host(s, "na-1")->agent_required_by->meta.name, "main");
	assert_null(host(s, "bare-1")->agent_required_by);
	assert_int_equal(host(s, "off-1")->reason, SCHED_OFFLINE);
	done(s);

	/* one byte more disk: exactly 10GiB free, small fits */
	slow = rep_new("slow-1", NOW, 8, 32 * GiB, 22605091032);
	rep_add(slow, "s1", "default", "Running", "small");
	s = build(slow, NULL);
	assert_int_equal(member(s, "main", "slow-1")->res[RES_DISK].capacity, 20 * GiB);
	assert_int_equal(member(s, "main", "slow-1")->res[RES_DISK].free, 10 * GiB);
	assert_int_equal(member(s, "main", "slow-1")->reason, SCHED_OK);
	done(s);

	/* the agent could not read the storage pool: not schedulable there,
	 * its disk is the declared one, the error is in the JSON; a report
	 * that is offline anyway says offline first */
	slow = rep_new("slow-1", NOW, 8, 32 * GiB, 22605091032);
	slow->pool.total = 0;
	slow->pool.error = "Incus says the storage pool is Unavailable";
	acme = rep_new("off-1", NOW - 600000, 16, 64 * GiB, 1000 * GiB);
	acme->pool.error = "gone";
	s = build(slow, acme, NULL);
	assert_int_equal(member(s, "main", "slow-1")->reason, SCHED_STORAGE_UNAVAILABLE);
	assert_int_equal(member(s, "main", "slow-1")->res[RES_DISK].reported, 0);
	assert_string_equal(member(s, "main", "slow-1")->storage_error,
			    "Incus says the storage pool is Unavailable");
	assert_int_equal(member(s, "main", "off-1")->reason, SCHED_OFFLINE);
	assert_int_equal(host(s, "slow-1")->reason, SCHED_STORAGE_UNAVAILABLE);
	{
		json_t *j = status_to_json(s), *m;
		size_t i, found = 0;

		json_array_foreach(json_object_get(json_array_get(json_object_get(j, "pools"), 0),
						   "members"), i, m) {
			const char *h = json_string_value(json_object_get(m, "host"));

			if (!strcmp(h, "slow-1")) {
				found++;
				assert_string_equal(json_string_value(json_object_get(m, "reason")),
						    "storage pool unavailable");
				assert_string_equal(json_string_value(json_object_get(m,
						    "storage_error")),
						    "Incus says the storage pool is Unavailable");
			} else if (!strcmp(h, "on-1")) {
				found++;
				assert_true(json_is_null(json_object_get(m, "storage_error")));
			}
		}
		assert_int_equal(found, 2);
		json_decref(j);
	}
	done(s);
}

/* A pool without plans: full as soon as any free resource is <= 0. */
static void
test_full_without_plans(void **state)
{
	struct status *s;
	struct rep *bare;
	const struct status_member *m;

	(void)state;
	bare = rep_new("bare-1", NOW, 1, 4 * GiB, 10 * GiB);
	rep_add(bare, "b1", "default", "Running", "small");
	s = build(bare, NULL);
	m = member(s, "bare", "bare-1");
	res_eq(&m->res[RES_CPU], 2, 1, 1, 1, 1, 0);
	assert_int_equal(m->reason, SCHED_FULL);
	done(s);

	bare = rep_new("bare-1", NOW, 2, 4 * GiB, 10 * GiB);
	rep_add(bare, "b1", "default", "Running", "small");
	rep_add(bare, "b2", "default", "Running", "small");
	s = build(bare, NULL);
	m = member(s, "bare", "bare-1");
	/* 20GiB of plans on 10GiB: free is negative */
	res_eq(&m->res[RES_DISK], 10 * GiB, 10 * GiB, 10 * GiB, 10 * GiB, 20 * GiB,
	       -10 * (int64_t)GiB);
	assert_int_equal(m->reason, SCHED_FULL);
	done(s);
}

/* Pool totals are the sums over members; free may be negative. */
static void
test_pool_totals(void **state)
{
	struct status *s;
	const struct status_pool *p;
	const struct status_host *h;
	size_t i, j;
	int inpool;

	(void)state;
	s = build(rep_on1(NOW), rep_new("off-1", NOW - 600000, 16, 64 * GiB, 1000 * GiB),
		  NULL);
	p = pool(s, "closed");
	assert_int_equal(p->nmembers, 3);
	assert_string_equal(p->members[0].host->host->meta.name, "on-1");
	assert_string_equal(p->members[1].host->host->meta.name, "off-1");
	assert_string_equal(p->members[2].host->host->meta.name, "na-1");
	/* on-1 12/-6 free, off-1 16/16, na-1 16/15 */
	res_eq(&p->total[RES_CPU], 48, 28, 44, 44, 19, 25);
	res_eq(&p->total[RES_MEMORY], 192 * GiB, 126 * GiB, 190 * GiB, 190 * GiB,
	       35 * GiB, 155 * (int64_t)GiB);
	res_eq(&p->total[RES_DISK], 3000 * GiB, 3000 * GiB, 3000 * GiB, 3000 * GiB,
	       230 * GiB, 2770 * (int64_t)GiB);
	/* hosts in no pool: listed among the hosts, in no pool's members */
	h = host(s, "spare-1");
	assert_int_equal(h->npools, 0);
	assert_false(h->schedulable);
	assert_int_equal(h->reason, SCHED_OK);
	assert_int_equal(h->health, HEALTH_NO_AGENT);
	inpool = 0;
	for (i = 0; i < s->npools; i++)
		for (j = 0; j < s->pools[i].nmembers; j++)
			if (s->pools[i].members[j].host == h)
				inpool = 1;
	assert_false(inpool);
	/* hosts in fleet order */
	assert_string_equal(s->hosts[0].host->meta.name, "on-1");
	assert_string_equal(s->hosts[s->nhosts - 1].host->meta.name, "acme-1");
	done(s);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\": want a string", key);
	return json_string_value(v);
}

static json_int_t
jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\": want an integer", key);
	return json_integer_value(v);
}

static const json_t *
jfind(const json_t *arr, const char *key, const char *name)
{
	size_t i;
	const json_t *v;

	json_array_foreach(arr, i, v)
		if (!strcmp(jstr(v, key), name))
			return v;
	fail_msg("no %s \"%s\"", key, name);
	return NULL;
}

static void
test_json(void **state)
{
	struct status *s;
	json_t *j;
	const json_t *h, *p, *m, *r, *in;
	char *a, *b;

	(void)state;
	s = build(rep_on1(NOW - 12000), rep_new("off-1", NOW - 14 * 60000, 16, 64 * GiB, 0),
		  NULL);
	j = status_to_json(s);
	assert_string_equal(jstr(j, "format_version"), "1.0");
	assert_string_equal(jstr(j, "time"), "2026-11-22T05:00:00Z");
	assert_int_equal(json_array_size(json_object_get(j, "hosts")), 11);
	assert_int_equal(json_array_size(json_object_get(j, "pools")), 3);
	assert_int_equal(json_object_size(j), 4);

	h = jfind(json_object_get(j, "hosts"), "name", "on-1");
	assert_int_equal(json_object_size(h), 16);
	assert_true(json_is_null(json_object_get(h, "instances_left")));	/* not draining */
	assert_string_equal(jstr(h, "provider"), "platform");
	assert_true(json_is_null(json_object_get(h, "cluster")));
	assert_string_equal(jstr(h, "review"), "approved");
	assert_string_equal(jstr(h, "state"), "active");
	assert_string_equal(jstr(h, "health"), "online");
	assert_string_equal(jstr(h, "last_report"), "2026-11-22T04:59:48Z");
	assert_int_equal(jint(h, "report_age_seconds"), 12);
	assert_int_equal(jint(h, "window_seconds"), 120);
	assert_string_equal(jstr(json_object_get(h, "agent"), "version"), "0.5.0");
	assert_string_equal(jstr(json_object_get(h, "agent"), "build"), "abc1234");
	assert_int_equal(jint(json_object_get(h, "agent"), "interval_seconds"), 30);
	assert_int_equal(json_array_size(json_object_get(h, "pools")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(h, "pools"), 0)), "main");
	assert_true(json_is_true(json_object_get(h, "schedulable")));
	assert_true(json_is_null(json_object_get(h, "reason")));
	assert_int_equal(jint(json_object_get(h, "allocated"), "cpu"), 18);
	assert_int_equal(jint(json_object_get(h, "allocated"), "memory"), (json_int_t)(34 * GiB));
	assert_int_equal(jint(json_object_get(h, "allocated"), "disk"), (json_int_t)(220 * GiB));
	assert_int_equal(json_array_size(json_object_get(h, "instances")), 6);
	in = json_array_get(json_object_get(h, "instances"), 2);
	assert_string_equal(jstr(in, "name"), "legacy");
	assert_string_equal(jstr(in, "project"), "default");
	assert_string_equal(jstr(in, "status"), "Running");
	assert_true(json_is_null(json_object_get(in, "plan")));
	assert_true(json_is_false(json_object_get(in, "counted")));
	in = json_array_get(json_object_get(h, "instances"), 4);
	assert_string_equal(jstr(in, "name"), "pin-b");
	assert_string_equal(jstr(in, "status"), "declared");
	assert_string_equal(jstr(in, "plan"), "big");
	assert_true(json_is_true(json_object_get(in, "counted")));

	h = jfind(json_object_get(j, "hosts"), "name", "off-1");
	assert_string_equal(jstr(h, "health"), "offline");
	assert_int_equal(jint(h, "report_age_seconds"), 840);
	assert_false(json_is_true(json_object_get(h, "schedulable")));
	assert_string_equal(jstr(h, "reason"), "offline");
	h = jfind(json_object_get(j, "hosts"), "name", "na-1");
	assert_string_equal(jstr(h, "health"), "no agent");
	assert_true(json_is_null(json_object_get(h, "report_age_seconds")));
	assert_true(json_is_null(json_object_get(h, "last_report")));
	assert_true(json_is_null(json_object_get(h, "agent")));
	assert_string_equal(jstr(h, "reason"), "no agent");
	h = jfind(json_object_get(j, "hosts"), "name", "spare-1");
	assert_int_equal(json_array_size(json_object_get(h, "pools")), 0);
	assert_string_equal(jstr(h, "reason"), "in no pool");
	h = jfind(json_object_get(j, "hosts"), "name", "acme-1");
	assert_string_equal(jstr(h, "provider"), "acme");
	h = jfind(json_object_get(j, "hosts"), "name", "pend-1");
	assert_string_equal(jstr(h, "review"), "pending");
	assert_string_equal(jstr(h, "state"), "cordoned");
	assert_string_equal(jstr(h, "reason"), "pending review");

	p = jfind(json_object_get(j, "pools"), "name", "main");
	assert_int_equal(json_object_size(p), 12);
	assert_string_equal(jstr(p, "storage_pool"), "incus");
	assert_string_equal(jstr(p, "supply"), "open");
	assert_string_equal(jstr(p, "placement"), "spread");
	assert_true(json_is_true(json_object_get(p, "require_agent")));
	assert_int_equal(jint(json_object_get(p, "overcommit"), "cpu"), 4);
	assert_true(json_real_value(json_object_get(json_object_get(p, "overcommit"),
						    "memory")) == 1.5);
	assert_int_equal(jint(json_object_get(p, "overcommit"), "disk"), 1);
	assert_string_equal(jstr(json_object_get(p, "reserve"), "cpu"), "10%");
	assert_string_equal(jstr(json_object_get(p, "reserve"), "memory"), "12.5%");
	assert_string_equal(jstr(json_object_get(p, "reserve"), "disk"), "5%");
	assert_int_equal(jint(p, "hosts"), 9);
	assert_int_equal(jint(p, "schedulable"), 1);
	assert_int_equal(json_array_size(json_object_get(p, "members")), 9);
	/* Every Plan of the pool, retired and other providers' too: what each sells. */
	assert_int_equal(json_array_size(json_object_get(p, "plans")), 4);
	r = jfind(json_object_get(p, "plans"), "name", "small");
	assert_int_equal(json_object_size(r), 7);
	assert_string_equal(jstr(r, "provider"), "platform");
	assert_string_equal(jstr(r, "availability"), "on-sale");
	assert_int_equal(jint(r, "cpu"), 1);
	assert_int_equal(jint(r, "memory"), (json_int_t)GiB);
	assert_int_equal(jint(r, "disk"), (json_int_t)(10 * GiB));
	assert_string_equal(jstr(json_object_get(r, "price"), "amount"), "4.00");
	assert_string_equal(jstr(json_object_get(r, "price"), "currency"), "EUR");
	assert_string_equal(jstr(json_object_get(r, "price"), "cycle"), "monthly");
	r = jfind(json_object_get(p, "plans"), "name", "old");
	assert_string_equal(jstr(r, "availability"), "retired");
	r = jfind(json_object_get(p, "plans"), "name", "acme-tiny");
	assert_string_equal(jstr(r, "provider"), "acme");
	m = jfind(json_object_get(p, "members"), "host", "on-1");
	assert_int_equal(json_object_size(m), 7);
	assert_true(json_is_null(json_object_get(m, "storage_error")));
	assert_true(json_is_false(json_object_get(m, "disk_shared")));
	assert_string_equal(jstr(m, "health"), "online");
	assert_true(json_is_true(json_object_get(m, "schedulable")));
	assert_true(json_is_null(json_object_get(m, "reason")));
	r = json_object_get(json_object_get(m, "resources"), "cpu");
	assert_int_equal(json_object_size(r), 6);
	assert_int_equal(jint(r, "declared"), 16);
	assert_int_equal(jint(r, "reported"), 12);
	assert_int_equal(jint(r, "base"), 12);
	assert_int_equal(jint(r, "capacity"), 46);
	assert_int_equal(jint(r, "allocated"), 18);
	assert_int_equal(jint(r, "free"), 28);
	r = json_object_get(json_object_get(m, "resources"), "memory");
	assert_int_equal(jint(r, "capacity"), 91536490496);
	m = jfind(json_object_get(p, "members"), "host", "off-1");
	assert_string_equal(jstr(m, "reason"), "offline");
	p = jfind(json_object_get(j, "pools"), "name", "closed");
	assert_int_equal(json_array_size(json_object_get(p, "plans")), 0);
	assert_string_equal(jstr(p, "supply"), "closed");
	assert_true(json_is_false(json_object_get(p, "require_agent")));
	assert_string_equal(jstr(json_object_get(p, "reserve"), "cpu"), "0%");
	r = json_object_get(json_object_get(p, "total"), "cpu");
	assert_int_equal(jint(r, "capacity"), 44);
	assert_int_equal(jint(r, "free"), 25);	/* on-1: -6 */
	r = json_object_get(json_object_get(jfind(json_object_get(p, "members"), "host", "on-1"),
					    "resources"), "cpu");
	assert_int_equal(jint(r, "free"), -6);

	/* deterministic */
	a = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	j = status_to_json(s);
	b = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(j);
	done(s);
}

/* A report as the parser makes it (report.c) gives the same status. */
static void
test_parsed_report(void **state)
{
	static const char body[] =
		"{\"schema\": 1, \"host\": \"on-1\", "
		"\"boot_id\": \"8c0d8f43-1b6e-4c55-9a3a-0f5f6e7d8c9b\", \"seq\": 42, "
		"\"time\": \"2026-11-22T04:59:30Z\", "
		"\"agent\": {\"version\": \"0.5.0\", \"build\": \"abc1234\"}, "
		"\"interval\": 30, \"dropped\": 0, "
		"\"host_stats\": {\"cpu_threads\": 12, \"cpu_use\": 0.125, "
		"\"load\": [0.5, 0.4, 0.3], "
		"\"memory\": {\"total\": 66571993088, \"available\": 1}, "
		"\"storage_pools\": [{\"name\": \"incus\", \"driver\": \"dir\", "
		"\"total\": 2147483648000, \"used\": 1, \"free\": 1}], "
		"\"network\": []}, "
		"\"instances\": [{\"name\": \"pin-a\", \"project\": \"default\", "
		"\"type\": \"container\", \"status\": \"Running\", "
		"\"started_at\": null, \"plan\": \"small\", \"cpu_ns\": 1, "
		"\"memory\": 1, \"disk\": 1, \"network\": []}]}";
	struct report r;
	struct host_report hr;
	struct berr err;
	struct status *s;
	const struct status_member *m;

	(void)state;
	if (report_parse(body, strlen(body), &r, &err) < 0)
		fail_msg("%s", err.msg);
	hr.host = r.host;
	hr.received_ms = NOW - 30000;
	hr.report = &r;
	s = status_build(res.fleet, &hr, 1, NOW);
	m = member(s, "main", "on-1");
	assert_int_equal(m->host->health, HEALTH_ONLINE);
	/* pin-a reported; pin-b (big) and web (small) declared */
	res_eq(&m->res[RES_CPU], 16, 12, 12, 46, 10, 36);
	res_eq(&m->res[RES_DISK], 1000 * GiB, 2000 * GiB, 1000 * GiB, 1020054732800,
	       120 * GiB, 1020054732800 - 120 * (int64_t)GiB);
	status_free(s);
	report_release(&r);
}

/*
 * Shared storage (tests/data/status/shared/): the ceph pool of cluster c
 * is one disk for c-1 and c-2; its zfs pool is one disk each.
 */
static void
test_shared_storage(void **state)
{
	struct manifest_result r2;
	struct report_pool pools[2][2];
	struct report_instance ins[3];
	struct report reps[2];
	struct host_report hr[2];
	const struct status_pool *sp = NULL, *lp = NULL;
	struct status *s;
	size_t i;

	(void)state;
	load_at("tests/data/status/shared", &r2);
	memset(pools, 0, sizeof(pools));
	memset(ins, 0, sizeof(ins));
	memset(reps, 0, sizeof(reps));
	for (i = 0; i < 3; i++) {
		ins[i].name = i == 0 ? "a" : i == 1 ? "b" : "c";
		ins[i].project = "default";
		ins[i].type = "container";
		ins[i].status = "Running";
		ins[i].plan = "s10";
	}
	for (i = 0; i < 2; i++) {
		pools[i][0].name = "ceph1";
		pools[i][0].driver = "ceph";
		pools[i][0].total = 500 * GiB;
		pools[i][1].name = "local";
		pools[i][1].driver = "zfs";
		pools[i][1].total = 100 * GiB;
		reps[i].schema = 1;
		reps[i].host = i ? "c-2" : "c-1";
		reps[i].interval_s = 30;
		reps[i].cpu_threads = 8;
		reps[i].mem_total = 32 * GiB;
		reps[i].pools = pools[i];
		reps[i].npools = 2;
		hr[i].host = reps[i].host;
		hr[i].received_ms = NOW;
		hr[i].report = &reps[i];
	}
	/* c-1 runs one instance of s10, c-2 two: 30GiB on the ceph pool */
	reps[0].instances = &ins[0];
	reps[0].ninstances = 1;
	reps[1].instances = &ins[1];
	reps[1].ninstances = 2;
	s = status_build(r2.fleet, hr, 2, NOW);
	for (i = 0; i < s->npools; i++) {
		if (!strcmp(s->pools[i].pool->meta.name, "shared"))
			sp = &s->pools[i];
		else
			lp = &s->pools[i];
	}
	assert_non_null(sp);
	assert_non_null(lp);
	assert_int_equal(sp->nmembers, 2);
	for (i = 0; i < 2; i++) {
		const struct status_resource *x = &sp->members[i].res[RES_DISK];

		/* min(declared 1000GiB, reported 500GiB), what both allocate */
		assert_true(x->capacity == 500 * GiB);
		assert_true(x->allocated == 30 * GiB);
		assert_true(x->free == (int64_t)(470 * GiB));
		assert_int_equal(sp->members[i].disk_shared, i ? 2 : 1);
	}
	/* counted once in the pool's total */
	assert_true(sp->total[RES_DISK].capacity == 500 * GiB);
	assert_true(sp->total[RES_DISK].reported == 500 * GiB);
	assert_true(sp->total[RES_DISK].allocated == 30 * GiB);
	assert_true(sp->total[RES_DISK].free == (int64_t)(470 * GiB));
	/* cpu and memory stay per member */
	assert_true(sp->total[RES_CPU].capacity == 16);
	/* the zfs pool is each member's own: summed */
	assert_int_equal(lp->members[0].disk_shared, 0);
	assert_true(lp->members[0].res[RES_DISK].capacity == 100 * GiB);
	assert_true(lp->members[1].res[RES_DISK].allocated == 20 * GiB);
	assert_true(lp->total[RES_DISK].capacity == 200 * GiB);
	assert_true(lp->total[RES_DISK].allocated == 30 * GiB);
	{
		json_t *j = status_to_json(s), *p, *m;
		size_t k, n = 0;

		json_array_foreach(json_object_get(j, "pools"), k, p) {
			if (strcmp(json_string_value(json_object_get(p, "name")), "shared"))
				continue;
			json_array_foreach(json_object_get(p, "members"), i, m)
				n += json_is_true(json_object_get(m, "disk_shared"));
		}
		assert_int_equal(n, 2);
		json_decref(j);
	}
	status_free(s);
	manifest_result_release(&r2);
}

/*
 * What is left on a draining host: its agent's last report (and what is
 * pinned to it); unknown without a report, and on a host that does not drain.
 */
static void
test_instances_left(void **state)
{
	struct status *s;
	struct rep *d = rep_new("drain-1", NOW - 4000, 4, 8 * GiB, 0);
	json_t *j;

	(void)state;
	s = build(rep_on1(NOW - 12000), NULL);
	assert_int_equal(status_instances_left(status_host(s, "drain-1")), -1);	/* no report */
	assert_int_equal(status_instances_left(status_host(s, "on-1")), -1);	/* active */
	done(s);
	rep_add(d, "w1", "default", "Running", "small");
	rep_add(d, "w2", "default", "Stopped", "small");
	s = build(d, NULL);
	assert_int_equal(status_instances_left(status_host(s, "drain-1")), 2);
	done(s);
	s = build(rep_new("drain-1", NOW - 4000, 4, 8 * GiB, 0), NULL);
	assert_int_equal(status_instances_left(status_host(s, "drain-1")), 0);
	j = status_to_json(s);
	assert_int_equal(json_integer_value(json_object_get(jfind(json_object_get(j, "hosts"),
		"name", "drain-1"), "instances_left")), 0);
	assert_true(json_is_integer(json_object_get(jfind(json_object_get(j, "hosts"), "name",
		"drain-1"), "instances_left")));
	json_decref(j);
	done(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_health_windows),
		cmocka_unit_test(test_reports_latest_and_unknown),
		cmocka_unit_test_teardown(test_capacity_arithmetic, restore_on1),
		cmocka_unit_test(test_allocated),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_full_without_plans),
		cmocka_unit_test(test_pool_totals),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_instances_left),
		cmocka_unit_test(test_parsed_report),
		cmocka_unit_test(test_shared_storage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
