/*
 * berth status - every host's review, state and agent freshness, and the
 * capacity of every pool: allocated, capacity and free per host, and
 * whether each host takes new instances (and why not).
 *
 * The rules are sched/status.h's; the manifests and the latest reports
 * are read and the status built at the current time as for a run
 * (apply/prepare.h, stopping after the hosts' health); this file prints it:
 * one table per pool, then the hosts in no pool (text), or
 * scope_status_json() (--format json: the JSON of GET /v1/status).
 *
 * --provider P prints what a token of provider P sees (serve/scope.h):
 * P's hosts, and the pools that hold them or sell P's plans, counted over
 * P's hosts only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apply/prepare.h"
#include "cmd/cmd.h"
#include "sched/status.h"
#include "serve/scope.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NCOLS 7

/* A table printed with aligned columns; cells are owned. */
struct table {
	char *(*rows)[NCOLS];
	size_t n, alloc;
	size_t ncols;
};

static void
table_add(struct table *t, const char *const cells[NCOLS])
{
	size_t i;

	ALLOC_GROW(t->rows, t->n + 1, t->alloc);
	for (i = 0; i < NCOLS; i++)
		t->rows[t->n][i] = i < t->ncols && cells[i] ? xstrdup(cells[i]) : NULL;
	t->n++;
}

static void
table_print(struct table *t, FILE *out)
{
	size_t w[NCOLS] = { 0 }, r, c, last;

	for (r = 0; r < t->n; r++)
		for (c = 0; c < t->ncols; c++)
			if (t->rows[r][c] && strlen(t->rows[r][c]) > w[c])
				w[c] = strlen(t->rows[r][c]);
	for (r = 0; r < t->n; r++) {
		for (last = t->ncols; last > 0 && !t->rows[r][last - 1]; last--)
			;
		fputs("  ", out);
		for (c = 0; c < last; c++) {
			const char *s = t->rows[r][c] ? t->rows[r][c] : "";

			if (c + 1 < last)
				fprintf(out, "%-*s  ", (int)w[c], s);
			else
				fputs(s, out);
		}
		fputc('\n', out);
	}
}

static void
table_release(struct table *t)
{
	size_t r, c;

	for (r = 0; r < t->n; r++)
		for (c = 0; c < NCOLS; c++)
			free(t->rows[r][c]);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* Bytes for people, one decimal at most: "512B", "7.5GiB", "64GiB". */
static void
human_size(uint64_t v, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	size_t u = 0;
	char *dot;

	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	if (u == 0) {
		snprintf(out, outlen, "%" PRIu64 "B", v);
		return;
	}
	snprintf(out, outlen, "%.1f", d);
	if (!strcmp(out, "1024.0") && u + 1 < sizeof(units) / sizeof(units[0])) {
		snprintf(out, outlen, "1");	/* rounded up to the next unit */
		u++;
	}
	if ((dot = strstr(out, ".0")) && dot[2] == '\0')
		*dot = '\0';
	snprintf(out + strlen(out), outlen - strlen(out), "%s", units[u]);
}

static void
quantity(enum resource r, uint64_t v, char *out, size_t outlen)
{
	if (r == RES_CPU)
		snprintf(out, outlen, "%" PRIu64, v);
	else
		human_size(v, out, outlen);
}

/* "18/46 (28 free)", "34GiB/85.2GiB (51.2GiB free)", "12/10 (2 over)". */
static void
resource_cell(enum resource r, const struct status_resource *x, char *out, size_t outlen)
{
	char a[32], c[32], f[32];

	quantity(r, x->allocated, a, sizeof(a));
	quantity(r, x->capacity, c, sizeof(c));
	if (x->free >= 0)
		quantity(r, (uint64_t)x->free, f, sizeof(f));
	else
		quantity(r, x->free == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-x->free,
			 f, sizeof(f));
	snprintf(out, outlen, "%s/%s (%s %s)", a, c, f, x->free >= 0 ? "free" : "over");
}

static const char *
review_word(enum review r)
{
	return r == REVIEW_PENDING ? "pending" : r == REVIEW_REJECTED ? "rejected" : "approved";
}

static const char *
state_word(enum host_state s)
{
	return s == HOST_CORDONED ? "cordoned" : s == HOST_DRAINING ? "draining" : "active";
}

static void
health_cell(const struct status_host *h, char *out, size_t outlen)
{
	char age[32];

	if (h->health == HEALTH_NO_AGENT) {
		snprintf(out, outlen, "no agent");
		return;
	}
	status_format_age(h->report_age_ms, age, sizeof(age));
	snprintf(out, outlen, "%s %s", host_health_name(h->health), age);
}

static void
host_cells(const struct status_host *h, char rs[64], char health[64])
{
	snprintf(rs, 64, "%s/%s", review_word(h->host->review), state_word(h->host->state));
	health_cell(h, health, 64);
}

static void
print_pool(const struct status_pool *sp, FILE *out)
{
	const struct m_pool *p = sp->pool;
	struct table t = { .ncols = NCOLS };
	const char *head[NCOLS] = { "HOST", "REVIEW/STATE", "HEALTH", "CPU", "MEMORY",
				    "DISK", "SCHEDULABLE" };
	char rs[64], health[64], res[RES__COUNT][128], sched[64];
	size_t i;
	int k;

	fprintf(out, "pool %s: storage pool %s, supply %s, placement %s, %s; "
		"%zu of %zu host%s schedulable\n", p->meta.name,
		p->storage_pool ? p->storage_pool : "(none)",
		p->supply == SUPPLY_CLOSED ? "closed" : "open",
		p->placement == PLACEMENT_PACK ? "pack" : "spread",
		p->require_agent ? "agent required" : "agent not required",
		sp->nschedulable, sp->nmembers, sp->nmembers == 1 ? "" : "s");
	if (!sp->nmembers) {
		fputs("  no hosts\n\n", out);
		return;
	}
	table_add(&t, head);
	for (i = 0; i < sp->nmembers; i++) {
		const struct status_member *m = &sp->members[i];
		const char *row[NCOLS];

		host_cells(m->host, rs, health);
		for (k = 0; k < RES__COUNT; k++)
			resource_cell((enum resource)k, &m->res[k], res[k], sizeof(res[k]));
		if (m->reason == SCHED_OK)
			snprintf(sched, sizeof(sched), "yes");
		else
			snprintf(sched, sizeof(sched), "no: %s", sched_reason_name(m->reason));
		row[0] = m->host->host->meta.name;
		row[1] = rs;
		row[2] = health;
		row[3] = res[RES_CPU];
		row[4] = res[RES_MEMORY];
		row[5] = res[RES_DISK];
		row[6] = sched;
		table_add(&t, row);
	}
	{
		const char *row[NCOLS] = { "total", "", "" };

		for (k = 0; k < RES__COUNT; k++)
			resource_cell((enum resource)k, &sp->total[k], res[k], sizeof(res[k]));
		snprintf(sched, sizeof(sched), "%zu of %zu", sp->nschedulable, sp->nmembers);
		row[3] = res[RES_CPU];
		row[4] = res[RES_MEMORY];
		row[5] = res[RES_DISK];
		row[6] = sched;
		table_add(&t, row);
	}
	table_print(&t, out);
	table_release(&t);
	for (i = 0; i < sp->nmembers; i++)
		if (sp->members[i].storage_error)
			fprintf(out, "  %s: storage pool \"%s\": %s\n",
				sp->members[i].host->host->meta.name, sp->pool->storage_pool,
				sp->members[i].storage_error);
	fputc('\n', out);
}

/* Hosts in no pool: their health and what their instances' plans hold. */
static void
print_unpooled(const struct status *s, FILE *out)
{
	struct table t = { .ncols = 6 };
	const char *head[NCOLS] = { "HOST", "REVIEW/STATE", "HEALTH", "CPU", "MEMORY", "DISK" };
	char rs[64], health[64], q[RES__COUNT][32];
	size_t i, n = 0;
	int k;

	for (i = 0; i < s->nhosts; i++)
		if (!s->hosts[i].npools)
			n++;
	if (!n)
		return;
	fprintf(out, "hosts in no pool (allocated by their instances' plans)\n");
	table_add(&t, head);
	for (i = 0; i < s->nhosts; i++) {
		const struct status_host *h = &s->hosts[i];
		const char *row[NCOLS] = { 0 };

		if (h->npools)
			continue;
		host_cells(h, rs, health);
		for (k = 0; k < RES__COUNT; k++)
			quantity((enum resource)k, h->allocated[k], q[k], sizeof(q[k]));
		row[0] = h->host->meta.name;
		row[1] = rs;
		row[2] = health;
		row[3] = q[RES_CPU];
		row[4] = q[RES_MEMORY];
		row[5] = q[RES_DISK];
		table_add(&t, row);
	}
	table_print(&t, out);
	table_release(&t);
	fputc('\n', out);
}

/* One line per draining host: what is left on it, or that it is drained. */
static void
print_draining(const struct status *s, FILE *out)
{
	char age[32];
	size_t i;

	for (i = 0; i < s->nhosts; i++) {
		const struct status_host *h = &s->hosts[i];
		long left = status_instances_left(h);

		if (h->host->state != HOST_DRAINING)
			continue;
		if (left < 0) {
			fprintf(out, "host %s is draining: no agent report says what is left"
				" (berth plan shows the moves still to make)\n", h->host->meta.name);
			continue;
		}
		status_format_age(h->report_age_ms, age, sizeof(age));
		if (left == 0)
			fprintf(out, "host %s is drained: no instances left (its agent's report %s"
				" ago): it can be taken down\n", h->host->meta.name, age);
		else
			fprintf(out, "host %s is draining: %ld instance%s left (its agent's report"
				" %s ago)\n", h->host->meta.name, left, left == 1 ? "" : "s", age);
	}
}

static void
print_text(const struct status *s, const char *provider, FILE *out)
{
	size_t i, n[3] = { 0 };

	for (i = 0; i < s->npools; i++)
		print_pool(&s->pools[i], out);
	print_unpooled(s, out);
	for (i = 0; i < s->nhosts; i++)
		n[s->hosts[i].health]++;
	fprintf(out, "%zu host%s%s%s: %zu online, %zu offline, %zu without an agent report\n",
		s->nhosts, s->nhosts == 1 ? "" : "s", provider ? " of provider " : "",
		provider ? provider : "", n[HEALTH_ONLINE], n[HEALTH_OFFLINE],
		n[HEALTH_NO_AGENT]);
	print_draining(s, out);
}

enum { O_PROVIDER = 1 };

static const struct opt opts[] = {
	{ "provider", 0, 1, O_PROVIDER },
	{ NULL, 0, 0, 0 },
};

int
cmd_status(struct ctx *ctx, int argc, char **argv)
{
	struct run_inputs_opts o = { .until_health = 1, .need_health = 1 };
	struct run_inputs in = { 0 };
	struct optparse p;
	const char *provider = NULL;
	int r, ret = EXIT_FAIL;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: return command_help(ctx);
		case O_PROVIDER: provider = p.arg; break;
		case OPT_OPERAND: return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		default: return EXIT_FAIL;
		}
	}
	if (cmd_prepare(ctx, &in, &o, ": no status") < 0)
		goto out;
	if (provider && strcmp(provider, "platform") && !fleet_provider(in.res.fleet, provider)) {
		cmd_error(ctx, "--provider: no Provider \"%s\" in the manifests", provider);
		goto out;
	}
	if (ctx->format == FORMAT_JSON) {
		json_t *j = scope_status_json(in.status, provider);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		struct status *v = scope_status(in.status, provider);

		print_text(v, provider, stdout);
		scope_status_free(v);
	}
	ret = EXIT_OK;
out:
	run_inputs_release(&in);
	return ret;
}
