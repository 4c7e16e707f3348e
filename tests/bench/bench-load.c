/*
 * bench-load - load and validate a generated repository of 10,000 manifests
 * from git, against the floor of a bare libyaml parse of the same bytes.
 *
 * usage: bench-load [-n MANIFESTS] [-r ROUNDS] [-k]   (-k keeps the repo)
 *
 * Prints manifests per second and the ratio of berth's whole
 * load + validate (git read, YAML to JSON with marks, schema, model,
 * cross-document checks) to libyaml's event parse alone. Both run in this
 * process, on the same machine, in alternation; the median of the rounds is
 * reported. Goals: under 1 s, at most 3x the floor.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "manifest/manifest.h"
#include "util/buf.h"
#include "bench.h"

/*
 * A fleet of n manifests: 10 pools, n/5 hosts (one file each), plans and
 * images, and instances pinned to hosts for the rest (100 per file).
 */
static size_t
generate(const char *dir, int n)
{
	int pools = 10, hosts = n / 5, plans = 200, images = 20;
	int instances = n - pools - hosts - plans - images, i;
	struct buf b = BUF_INIT;
	size_t total = 0;
	char name[256];

	mkdir(dir, 0700);
	snprintf(name, sizeof(name), "%s/hosts", dir);
	mkdir(name, 0700);
	for (i = 0; i < pools; i++)
		buf_addf(&b, "---\napiVersion: berth/v1\nkind: Pool\nmetadata:\n  name: pool-%d\n"
			 "spec:\n  hosts:\n    labels: {region: r%d}\n  storage_pool: incus\n"
			 "  overcommit: {cpu: 4, memory: 1, disk: 1}\n"
			 "  reserve: {cpu: 10%%, memory: 10%%, disk: 10%%}\n", i, i);
	write_file(dir, "pools.yaml", &b);
	total += b.len;
	for (i = 0; i < hosts; i++) {
		buf_reset(&b);
		buf_addf(&b, "apiVersion: berth/v1\nkind: Host\nmetadata:\n  name: host-%05d\n"
			 "  labels: {region: r%d, rack: rack-%d, generation: gen-3, vendor: example}\n"
			 "  description: \"32-thread node in a 2U chassis, dual 25G uplinks, NVMe mirror for instance storage, ECC memory, IPMI on the management VLAN\"\nspec:\n"
			 "  endpoint: https://10.%d.%d.%d:8443\n"
			 "  fingerprint: \"%064x\"\n  os: debian-12\n  review: approved\n"
			 "  capacity: {cpu: 32, memory: 128GiB, disk: 2TiB, traffic: 20TiB}\n"
			 "  agent:\n    key: \"ed25519:3mx64oWtTZ/vOvJf612rsCYbsJsG7R1B5UUdopvqdwo=\"\n"
			 "    interval: 30s\n"
			 "  storage_pools:\n    - {name: incus, driver: lvm, size: 1800GiB, config: {lvm.vg_name: incus}}\n"
			 "  projects:\n    - name: tenants\n      config: {features.images: \"false\", limits.instances: \"200\"}\n",
			 i, i % pools, i % 40, (i >> 16) & 255, (i >> 8) & 255, i & 255, i);
		snprintf(name, sizeof(name), "hosts/host-%05d.yaml", i);
		write_file(dir, name, &b);
		total += b.len;
	}
	buf_reset(&b);
	for (i = 0; i < images; i++)
		buf_addf(&b, "---\napiVersion: berth/v1\nkind: Image\nmetadata:\n  name: image-%d\n"
			 "spec:\n  source: {server: https://images.example.net, protocol: simplestreams, alias: os/%d}\n"
			 "  type: container\n  pools: [pool-0, pool-1, pool-2, pool-3, pool-4, pool-5, pool-6, pool-7, pool-8, pool-9]\n",
			 i, i);
	write_file(dir, "images.yaml", &b);
	total += b.len;
	buf_reset(&b);
	for (i = 0; i < plans; i++)
		buf_addf(&b, "---\napiVersion: berth/v1\nkind: Plan\nmetadata:\n  name: plan-%d\n"
			 "spec:\n  pool: pool-%d\n  type: container\n  cpu: %d\n  memory: %dGiB\n"
			 "  disk: %dGiB\n  traffic: 1TiB\n"
			 "  price: {amount: \"%d.%02d\", currency: EUR, cycle: monthly}\n"
			 "  overage: {amount: \"0.01\", per: GiB}\n  images: [image-%d, image-%d]\n",
			 i, i % pools, 1 + i % 8, 1 + i % 16, 10 + i % 100, 3 + i % 50, i % 100,
			 i % images, (i + 1) % images);
	write_file(dir, "plans.yaml", &b);
	total += b.len;
	buf_reset(&b);
	for (i = 0; i < instances; i++) {
		int plan = i % plans, pool = plan % pools;
		int host = (i * pools + pool) % hosts;

		host -= host % pools;
		host += pool;
		if (host >= hosts)
			host -= pools;
		buf_addf(&b, "---\napiVersion: berth/v1\nkind: Instance\nmetadata:\n  name: vm-%06d\n"
			 "  labels: {tier: standard, billing: monthly, customer: customer-%d, region: eu-west, support: basic, backup: nightly}\n"
			 "  description: \"instance of customer %d, created through the panel, renewed monthly\"\n"
			 "spec:\n  plan: plan-%d\n  image: image-%d\n  project: tenants\n"
			 "  host: host-%05d\n  state: running\n  owner: customer-%d\n",
			 i, i % 997, i % 997, plan, plan % images, host, i % 997);
		if (i % 100 == 99 || i == instances - 1) {
			snprintf(name, sizeof(name), "instances-%04d.yaml", i / 100);
			write_file(dir, name, &b);
			total += b.len;
			buf_reset(&b);
		}
	}
	buf_release(&b);
	return total;
}

static size_t
bare_parse(const struct src_files *files)
{
	size_t i, events = 0;

	for (i = 0; i < files->n; i++) {
		yaml_parser_t p;
		yaml_event_t e;
		int done = 0;

		yaml_parser_initialize(&p);
		yaml_parser_set_input_string(&p, (const unsigned char *)files->v[i].data,
					     files->v[i].len);
		while (!done) {
			if (!yaml_parser_parse(&p, &e)) {
				fprintf(stderr, "libyaml: %s\n", p.problem);
				exit(1);
			}
			done = e.type == YAML_STREAM_END_EVENT;
			yaml_event_delete(&e);
			events++;
		}
		yaml_parser_delete(&p);
	}
	return events;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Time the floor and berth over the repository so points at; print the results. */
static int
measure(const char *label, const struct source_opts *so, int rounds)
{
	struct src_files files = SRC_FILES_INIT;
	struct diags d = DIAGS_INIT;
	struct berr err;
	struct rusage ru;
	double tb[32], tf[32], mb, mf;
	size_t docs = 0;
	int i;

	printf("\n%s\n", label);
	if (source_load(so, &files, &d, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	for (i = 0; i < rounds; i++) {
		struct manifest_result res;
		struct diags dd = DIAGS_INIT;
		double t0 = now();

		bare_parse(&files);
		tf[i] = now() - t0;
		t0 = now();
		if (manifest_load(so, MANIFEST_CHECK, &res, &dd, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
		tb[i] = now() - t0;
		if (dd.nerrors || !res.fleet) {
			diags_sort(&dd);
			fprintf(stderr, "generated fleet does not validate: %zu errors, first: %s:%u: %s: %s\n",
				dd.nerrors, dd.n ? dd.v[0].file : "", dd.n ? dd.v[0].line : 0,
				dd.n ? dd.v[0].path : "", dd.n ? dd.v[0].msg : "");
			return -1;
		}
		docs = res.fleet->docs.n;
		manifest_result_release(&res);
		diags_release(&dd);
	}
	qsort(tb, (size_t)rounds, sizeof(double), cmp);
	qsort(tf, (size_t)rounds, sizeof(double), cmp);
	mb = tb[rounds / 2];
	mf = tf[rounds / 2];
	getrusage(RUSAGE_SELF, &ru);
	printf("documents validated: %zu\n", docs);
	printf("floor (libyaml events only):   %.3f s\n", mf);
	printf("berth (git+yaml+schema+check): %.3f s  (%.0f manifests/s)\n", mb, docs / mb);
	printf("ratio berth/floor: %.2fx  (goal <= 3x; goal < 1 s: %s)\n", mb / mf,
	       mb < 1.0 ? "met" : "missed");
	printf("peak RSS: %ld MiB\n", ru.ru_maxrss / 1024);
	src_files_release(&files);
	diags_release(&d);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = 10000, rounds = 5, keep = 0, opt;
	char dir[] = "/tmp/berth-bench.XXXXXX", cmd[8192];
	size_t bytes;
	struct source_opts so = { 0 };

	while ((opt = getopt(argc, argv, "n:r:k")) != -1) {
		if (opt == 'n')
			n = (int)strtol(optarg, NULL, 10);
		else if (opt == 'r')
			rounds = (int)strtol(optarg, NULL, 10);
		else if (opt == 'k')
			keep = 1;
		else
			return 2;
	}
	if (rounds < 1 || rounds > 32 || n < 100)
		return 2;
	if (!mkdtemp(dir))
		return 1;
	bytes = generate(dir, n);
	snprintf(cmd, sizeof(cmd), "cd %s && git -c init.defaultBranch=main init -q && git add -A && "
		 "git -c user.name=bench -c user.email=bench@berth.invalid commit -qm bench && git gc -q", dir);
	if (system(cmd) != 0)
		return 1;
	printf("repository: %d manifests, %.1f MB of YAML\n", n, bytes / 1e6);

	source_global_init();
	so.repo = dir;
	so.state_dir = dir;
	if (measure("loose objects (a repository just committed to)", &so, rounds) < 0)
		return 1;
	snprintf(cmd, sizeof(cmd), "cd %s && git gc -q", dir);
	if (system(cmd) != 0)
		return 1;
	if (measure("packed (a fetched or garbage-collected repository)", &so, rounds) < 0)
		return 1;
	source_global_shutdown();
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	} else {
		printf("kept %s\n", dir);
	}
	return 0;
}
