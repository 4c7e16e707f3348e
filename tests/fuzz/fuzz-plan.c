/*
 * fuzz-plan.c - libFuzzer target for what berth reads from Incus servers:
 * the input is an observation (see incus/observe.h), planned against a
 * fixed fleet that uses every kind, then rendered as text, JSON and a plan
 * file, and the plan file read back. Server responses are untrusted input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manifest/check.h"
#include "manifest/schema.h"
#include "manifest/yaml.h"
#include "plan/plan.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fleet_yaml[] =
	"apiVersion: berth/v1\nkind: Host\nmetadata: {name: lab-1, labels: {site: lab}}\n"
	"spec:\n  endpoint: https://127.0.0.1:8443\n  fingerprint: \"aa00000000000000000000000000000000000000000000000000000000000000\"\n"
	"  os: debian-12\n  capacity: {cpu: 4, memory: 8GiB, disk: 50GiB}\n"
	"  storage_pools: [{name: incus, driver: auto}, {name: old, driver: zfs, adopt: true}]\n"
	"  projects: [{name: tenants, config: {features.images: \"false\"}, adopt: true}]\n"
	"---\napiVersion: berth/v1\nkind: Host\nmetadata: {name: lab-2, labels: {site: lab}}\n"
	"spec:\n  endpoint: unix:///run/incus/unix.socket\n  os: debian-12\n  state: cordoned\n"
	"  capacity: {cpu: 4, memory: 8GiB, disk: 50GiB}\n  storage_pools: [{name: incus, driver: dir}]\n"
	"---\napiVersion: berth/v1\nkind: Cluster\nmetadata: {name: lab-cluster}\n"
	"spec:\n  endpoint: https://127.0.0.2:8443\n  fingerprint: \"bb00000000000000000000000000000000000000000000000000000000000000\"\n"
	"  vm_maxcpus: auto\n  groups: [{name: default, config: {instances.vm.cpu.x86_64.baseline: EPYC-Rome}}]\n"
	"  storage_pools: [{name: incus, driver: dir, members: {lab-c1: {source: x}}}]\n"
	"---\napiVersion: berth/v1\nkind: Host\nmetadata: {name: lab-c1, labels: {site: cl}}\n"
	"spec: {endpoint: \"https://127.0.0.2:8443\", fingerprint: \"bb00000000000000000000000000000000000000000000000000000000000000\", "
	"cluster: lab-cluster, os: debian-12, capacity: {cpu: 4, memory: 8GiB, disk: 50GiB}}\n"
	"---\napiVersion: berth/v1\nkind: Pool\nmetadata: {name: lab}\nspec: {hosts: {labels: {site: lab}}, storage_pool: incus}\n"
	"---\napiVersion: berth/v1\nkind: Pool\nmetadata: {name: cl}\nspec: {hosts: {labels: {site: cl}}, storage_pool: incus}\n"
	"---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: small}\n"
	"spec: {pool: lab, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, images: [busybox], "
	"price: {amount: \"2.00\", currency: EUR, cycle: monthly}}\n"
	"---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: vm}\n"
	"spec: {pool: cl, type: virtual-machine, cpu: 2, memory: 1GiB, disk: 5GiB, "
	"price: {amount: \"9.00\", currency: EUR, cycle: monthly}}\n"
	"---\napiVersion: berth/v1\nkind: Image\nmetadata: {name: busybox}\n"
	"spec: {source: {server: \"https://127.0.0.3:8443\", protocol: incus, alias: busybox}, "
	"fingerprint: \"cc00000000000000000000000000000000000000000000000000000000000000\", pools: [lab, cl]}\n";

static void
ignore(void *ctx, const char *path, const char *msg)
{
	(void)ctx;
	(void)path;
	(void)msg;
}

static struct fleet *
fleet(void)
{
	static struct fleet *f;
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	struct schema_set *s;
	struct berr err;
	size_t i;

	if (f)
		return f;
	if (yaml_load("fleet.yaml", fleet_yaml, sizeof(fleet_yaml) - 1, &docs, &d) < 0 ||
	    !(s = schema_set_load(&err)))
		abort();
	for (i = 0; i < docs.n; i++)
		if (schema_validate_manifest(s, docs.v[i].root, ignore, NULL) != 0)
			abort();
	schema_set_free(s);
	f = fleet_build(&docs, &d);
	fleet_check(f, &d);
	if (d.nerrors)
		abort();
	diags_release(&d);
	return f;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const targets[] = { "Host/lab-1" };
	struct plan_opts o = { 0 };
	struct plan p;
	struct berr err;
	json_t *obs, *j, *pf, *back;
	FILE *null;
	char *text;
	int prune;

	if (!(obs = json_loadb((const char *)data, size, 0, NULL)))
		return 0;
	for (prune = 0; prune < 2; prune++) {
		o.prune = prune;
		o.max_deletes = 2;
		o.targets = prune ? targets : NULL;
		o.ntargets = prune ? 1 : 0;
		memset(&p, 0, sizeof(p));
		if (plan_compute(fleet(), obs, &o, &p) == 0) {
			null = fopen("/dev/null", "w");
			if (null) {
				plan_render_text(&p, &o, 1, 1, null);
				fclose(null);
			}
			j = plan_to_json(&p, &o);
			pf = plan_file(&p, &o, "state");
			text = json_dumps(pf, JSON_COMPACT);
			back = text ? plan_file_read(text, strlen(text), &err) : NULL;
			if (text && !back)
				abort();	/* berth must read what it wrote */
			json_decref(back);
			free(text);
			json_decref(pf);
			json_decref(j);
		}
		plan_release(&p);
	}
	json_decref(obs);
	return 0;
}
