/*
 * test-check.c - the rules that span documents (manifest/check.c), each
 * with a fleet that breaks it and one that keeps it. Fleets are small
 * YAML texts taken the way manifest_load() takes them: yaml_load(), the
 * schema of each document (every case must pass it: the rules under test
 * are check.c's), fleet_build(), fleet_check(). Every diagnostic is
 * compared whole: severity, file:line:col, path and message.
 *
 * A document is four lines and its "---" a fifth, so the n-th document of
 * a file (from 0) has its metadata on line 5n + 3 and its spec on 5n + 4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/check.h"
#include "manifest/model.h"
#include "manifest/schema.h"
#include "manifest/yaml.h"
#include "util/buf.h"
#include "util/banned.h"

/* ---- documents ---------------------------------------------------------- */

#define DOC(kind, meta, spec) \
	"apiVersion: berth/v1\nkind: " kind "\nmetadata: " meta "\nspec: " spec "\n---\n"

#define CAP	"capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}"
#define INCUS	", storage_pools: [{name: incus, driver: dir}]"
#define FP	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PRICE	"price: {amount: \"4.50\", currency: EUR, cycle: monthly}"
#define SMALL	"type: container, cpu: 1, memory: 1GiB, disk: 10GiB, " PRICE

/* A platform host n, on a unix socket of its own. */
#define HOST_OS(n, meta, os, more) DOC("Host", meta, \
	"{endpoint: \"unix:///run/" n ".socket\", os: " os ", " CAP more "}")
#define HOST(n, meta, more)	HOST_OS(n, meta, "debian-12", more)
/* A provider's host n: https, its certificate's fingerprint fp. */
#define PHOST(n, fp, meta, more) DOC("Host", meta, \
	"{endpoint: \"https://" n ".example.net:8443\", fingerprint: \"" fp "\"," \
	" os: debian-12, " CAP more "}")
/* A platform host n at endpoint ep with fingerprint fp; a member of cluster c. */
#define SHOST(n, ep, fp, more) DOC("Host", "{name: " n "}", \
	"{endpoint: \"" ep "\", fingerprint: \"" fp "\", os: debian-12, " CAP more "}")
#define MEMBER(n, ep)	SHOST(n, ep, FP, ", cluster: c")
#define FP_AH	"abababababababababababababababababababababababababababababababab"
#define FP_ZH	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
#define CLUSTER(meta, more)	DOC("Cluster", meta, \
	"{endpoint: \"https://10.0.0.1:8443\", fingerprint: \"" FP "\"" more "}")
#define POOL(meta, spec)	DOC("Pool", meta, spec)
#define PLAN(meta, spec)	DOC("Plan", meta, spec)
#define IMAGE(meta, more)	DOC("Image", meta, \
	"{source: {server: \"https://images.example.net\", protocol: simplestreams," \
	" alias: debian/12}" more "}")
#define INSTANCE(meta, spec)	DOC("Instance", meta, spec)
#define PROVIDER(name)		DOC("Provider", "{name: " name "}", \
	"{display_name: X, revenue_share: 70%, currency: EUR}")
/* Provider name, and the platform's approvals of its hosts. */
#define APPROVING(name, approvals) DOC("Provider", "{name: " name "}", \
	"{display_name: X, revenue_share: 70%, currency: EUR, approvals: " approvals "}")
#define APPROVED(fp)	"{review: approved, fingerprint: \"" fp "\"}"
/* The Fleet: its sync windows, a flow list. */
#define FLEET(meta, windows)	DOC("Fleet", meta, "{sync_windows: " windows "}")
#define WEEKDAYS	"{kind: deny, schedule: \"0 9 * * 1-5\", duration: 8h," \
			" time_zone: Europe/Berlin}"
#define NIGHTS		"{kind: allow, schedule: \"0 22 * * *\", duration: 6h}"

/*
 * The smallest good fleet: host a (site x) in pool p (storage pool incus),
 * plan s on p offering image deb, cached on p. Documents 0 to 3.
 */
#define MIN \
	HOST("a", "{name: a, labels: {site: x}}", INCUS) \
	POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus}") \
	PLAN("{name: s}", "{pool: p, " SMALL ", images: [deb]}") \
	IMAGE("{name: deb}", ", type: container, pools: [p]")

/*
 * A fleet that keeps every rule: standalone hosts a and b, a cluster c of
 * m1 and m2 with its storage pool, pools p and pc, plans s and sc, image
 * deb on both pools, and provider acme with its own host (in pool p), plan
 * and instances, one of them on the platform's plan s.
 */
#define FLEET_YAML \
	HOST("a", "{name: a, labels: {site: x}}", INCUS) \
	HOST("b", "{name: b, labels: {site: x}}", INCUS) \
	POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus}") \
	PLAN("{name: s}", "{pool: p, " SMALL ", images: [deb]}") \
	IMAGE("{name: deb}", ", type: container, pools: [p, pc]") \
	INSTANCE("{name: i1}", "{plan: s, image: deb, host: a}")
#define CLUSTER_YAML \
	CLUSTER("{name: c}", ", storage_pools: [{name: incus, driver: dir," \
		" members: {m1: {source: x}, m2: {source: y}}}]") \
	HOST("m1", "{name: m1}", ", cluster: c") \
	HOST("m2", "{name: m2}", ", cluster: c") \
	POOL("{name: pc}", "{hosts: {names: [m1, m2]}, storage_pool: incus}") \
	PLAN("{name: sc}", "{pool: pc, " SMALL ", images: [deb]}")
#define ACME_YAML \
	PHOST("ah", FP_AH, "{name: ah, provider: acme, labels: {site: x}}", INCUS) \
	PLAN("{name: as, provider: acme}", "{pool: p, " SMALL "}") \
	INSTANCE("{name: ai, provider: acme}", "{plan: as, image: deb, host: ah}") \
	INSTANCE("{name: ai2, provider: acme}", "{plan: s, image: deb, host: ah}")

/* ---- cases -------------------------------------------------------------- */

#define MAX_FILES	4
#define MAX_WANT	3

struct file {
	const char *name;
	const char *text;
};

struct check_case {
	const char *what;
	struct file files[MAX_FILES];
	/* "error: file:line:col: path: message", sorted as diags_sort() does */
	const char *want[MAX_WANT];
};

static const struct check_case cases[] = {
	/* ---- passing */
	{ "a fleet that keeps every rule",
	  { { "fleet.yaml", FLEET_YAML }, { "cluster.yaml", CLUSTER_YAML },
	    { "providers.yaml", APPROVING("acme", "{ah: " APPROVED(FP_AH) "}") },
	    { "providers/acme/fleet.yaml", ACME_YAML } },
	  { NULL } },
	{ "one name in two kinds",
	  { { "f.yaml", MIN POOL("{name: a}", "{hosts: {names: [a]}, storage_pool: incus}") } },
	  { NULL } },
	{ "a plan that fills a host exactly after overcommit and reserve",
	  { { "f.yaml",
	      HOST("a", "{name: a, labels: {site: x}}", INCUS)
	      POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus,"
		   " overcommit: {cpu: 2}, reserve: {cpu: 25%}}")
	      PLAN("{name: s}", "{pool: p, type: container, cpu: 6, memory: 8GiB,"
		   " disk: 100GiB, " PRICE "}") } },
	  { NULL } },
	{ "the OSes berth knows",
	  { { "f.yaml",
	      HOST_OS("a", "{name: a}", "debian-13", "") HOST_OS("b", "{name: b}", "ubuntu-22.04", "")
	      HOST_OS("c", "{name: c}", "ubuntu-24.04", "") HOST_OS("d", "{name: d}", "ubuntu-26.04", "") } },
	  { NULL } },
	{ "a platform instance on a provider's host",
	  { { "f.yaml", MIN INSTANCE("{name: i1}", "{plan: s, image: deb, host: ah}") },
	    { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/h.yaml", PHOST("ah", FP_AH, "{name: ah, provider: acme, labels: {site: x}}", INCUS) } },
	  { NULL } },

	/* ---- names are unique per kind */
	{ "a second host of the same name",
	  { { "f.yaml", MIN HOST("a", "{name: a, labels: {site: y}}", INCUS) } },
	  { "error: f.yaml:23:18: metadata.name: duplicate Host name \"a\" (first declared"
	    " at f.yaml:3:18)" } },

	/* ---- references resolve */
	{ "metadata.provider names no Provider",
	  { { "f.yaml", MIN PHOST("b", FP_AH, "{name: b, provider: zeta}", INCUS) } },
	  { "error: f.yaml:23:31: metadata.provider: unknown provider \"zeta\": want the name"
	    " of a Provider declared in the manifests, or \"platform\"" } },
	{ "Plan.pool",
	  { { "f.yaml", HOST("a", "{name: a, labels: {site: x}}", INCUS)
		PLAN("{name: s}", "{pool: nope, " SMALL "}") } },
	  { "error: f.yaml:9:14: spec.pool: unknown pool \"nope\": want the name of a Pool"
	    " declared in the manifests" } },
	{ "Plan.images",
	  { { "f.yaml", HOST("a", "{name: a, labels: {site: x}}", INCUS)
		POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus}")
		PLAN("{name: s}", "{pool: p, " SMALL ", images: [nope]}") } },
	  { "error: f.yaml:14:134: spec.images[0]: unknown image \"nope\": want the name of"
	    " an Image declared in the manifests" } },
	{ "Image.pools",
	  { { "f.yaml", HOST("a", "{name: a, labels: {site: x}}", INCUS)
		POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus}")
		IMAGE("{name: deb}", ", pools: [p, nope]") } },
	  { "error: f.yaml:14:110: spec.pools[1]: unknown pool \"nope\": want the name of a"
	    " Pool declared in the manifests" } },
	{ "Instance.plan",
	  { { "f.yaml", MIN INSTANCE("{name: i}", "{plan: nope, image: deb}") } },
	  { "error: f.yaml:24:14: spec.plan: unknown plan \"nope\": want the name of a Plan"
	    " declared in the manifests" } },
	{ "Instance.image",
	  { { "f.yaml", MIN INSTANCE("{name: i}", "{plan: s, image: nope}") } },
	  { "error: f.yaml:24:24: spec.image: unknown image \"nope\": want the name of an"
	    " Image declared in the manifests" } },
	{ "Instance.host",
	  { { "f.yaml", MIN INSTANCE("{name: i}", "{plan: s, image: deb, host: nope}") } },
	  { "error: f.yaml:24:35: spec.host: unknown host \"nope\": want the name of a Host"
	    " declared in the manifests" } },
	{ "Host.cluster",
	  { { "f.yaml", MIN HOST("b", "{name: b}", ", cluster: nope") } },
	  { "error: f.yaml:24:114: spec.cluster: unknown cluster \"nope\": want the name of a"
	    " Cluster declared in the manifests" } },
	{ "Pool.hosts.names",
	  { { "f.yaml", MIN POOL("{name: q}", "{hosts: {names: [a, nope]}, storage_pool: incus}") } },
	  { "error: f.yaml:24:27: spec.hosts.names[1]: unknown host \"nope\": want the name"
	    " of a Host declared in the manifests" } },

	/* ---- pools */
	{ "a pool that selects no host",
	  { { "f.yaml", MIN POOL("{name: q}", "{hosts: {labels: {site: z}}, storage_pool: incus}") } },
	  { "warning: f.yaml:24:15: spec.hosts: pool \"q\" selects no host" } },
	{ "a host of the pool without its storage pool",
	  { { "f.yaml", MIN HOST("b", "{name: b, labels: {site: x}}",
				 ", storage_pools: [{name: other, driver: dir}]") } },
	  { "error: f.yaml:9:50: spec.storage_pool: storage pool \"incus\" is not declared on"
	    " host \"b\": want it in that Host's spec.storage_pools (adopt: true links an"
	    " existing one)" } },
	{ "a cluster of the pool without its storage pool",
	  { { "f.yaml", MIN CLUSTER("{name: c}", ", storage_pools: [{name: other, driver: dir}]")
		HOST("m1", "{name: m1, labels: {site: x}}", ", cluster: c") } },
	  { "error: f.yaml:9:50: spec.storage_pool: storage pool \"incus\" is not declared on"
	    " host \"m1\" (cluster \"c\"): want it in that Cluster's spec.storage_pools"
	    " (adopt: true links an existing one)" } },

	/* ---- clusters */
	{ "members with storage pools and projects of their own",
	  { { "f.yaml", CLUSTER("{name: c}", "")
		HOST("m1", "{name: m1}", ", cluster: c" INCUS)
		HOST("m2", "{name: m2}", ", cluster: c, projects: [{name: tenants}]") } },
	  { "error: f.yaml:9:133: spec.storage_pools: host is a member of cluster \"c\":"
	    " declare storage pools on the Cluster, not on its members",
	    "error: f.yaml:14:128: spec.projects: host is a member of cluster \"c\": declare"
	    " projects on the Cluster, not on its members" } },
	{ "a cluster storage pool naming a host outside the cluster",
	  { { "f.yaml", MIN CLUSTER("{name: c}", ", storage_pools: [{name: incus, driver: dir,"
					" members: {m1: {source: x}, a: {source: y}}}]")
		HOST("m1", "{name: m1}", ", cluster: c") } },
	  { "error: f.yaml:24:197: spec.storage_pools[0].members.a: \"a\" is not a member of"
	    " cluster \"c\": want a Host whose spec.cluster is \"c\"" } },
	{ "a cluster without members",
	  { { "f.yaml", MIN CLUSTER("{name: c}", "") } },
	  { "warning: f.yaml:23:18: metadata.name: cluster \"c\" has no members: no Host names"
	    " it in spec.cluster" } },

	/* ---- plans */
	{ "a plan that fits on no host",
	  { { "f.yaml",
	      HOST("a", "{name: a, labels: {site: x}}", INCUS)
	      POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus,"
		   " overcommit: {cpu: 2}, reserve: {cpu: 25%}}")
	      PLAN("{name: s}", "{pool: p, type: container, cpu: 7, memory: 8GiB,"
		   " disk: 100GiB, " PRICE "}") } },
	  { "error: f.yaml:14:7: spec: plan \"s\" fits on no host of pool \"p\": want 7 cpu,"
	    " 8GiB memory, 100GiB disk; the largest host (\"a\") has 6 cpu, 8GiB memory,"
	    " 100GiB disk after overcommit and reserve" } },
	{ "a plan's image not cached on its pool",
	  { { "f.yaml", HOST("a", "{name: a, labels: {site: x}}", INCUS)
		POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus}")
		PLAN("{name: s}", "{pool: p, " SMALL ", images: [deb]}")
		IMAGE("{name: deb}", "") } },
	  { "error: f.yaml:14:134: spec.images[0]: image \"deb\" is not cached on pool \"p\":"
	    " want \"p\" in that Image's spec.pools" } },
	{ "a plan's image of the other type",
	  { { "f.yaml", HOST("a", "{name: a, labels: {site: x}}", INCUS)
		POOL("{name: p}", "{hosts: {labels: {site: x}}, storage_pool: incus}")
		PLAN("{name: s}", "{pool: p, " SMALL ", images: [deb]}")
		IMAGE("{name: deb}", ", type: virtual-machine, pools: [p]") } },
	  { "error: f.yaml:14:134: spec.images[0]: image \"deb\" is a virtual-machine image:"
	    " want a container image for a container plan" } },

	/* ---- operating systems */
	{ "debian-11, and an OS berth does not know",
	  { { "f.yaml", HOST_OS("a", "{name: a}", "debian-11", "") HOST_OS("b", "{name: b}", "gentoo-2", "") } },
	  { "warning: f.yaml:4:46: spec.os: debian-11 is accepted for compatibility only:"
	    " want debian-12, debian-13 or ubuntu-22.04 and later",
	    "warning: f.yaml:9:46: spec.os: unknown OS \"gentoo-2\": berth knows debian-12,"
	    " debian-13, ubuntu-22.04, ubuntu-24.04 and ubuntu-26.04" } },

	/* ---- instances and their plan */
	{ "an instance's image the plan does not offer",
	  { { "f.yaml", MIN IMAGE("{name: deb2}", ", pools: [p]")
		INSTANCE("{name: i}", "{plan: s, image: deb2}") } },
	  { "error: f.yaml:29:24: spec.image: image \"deb2\" is not offered by plan \"s\":"
	    " want one of its spec.images" } },
	{ "an instance on a host outside its plan's pool",
	  { { "f.yaml", MIN HOST("b", "{name: b}", INCUS)
		INSTANCE("{name: i}", "{plan: s, image: deb, host: b}") } },
	  { "error: f.yaml:29:35: spec.host: host \"b\" is not in pool \"p\" of plan \"s\"" } },

	/* ---- providers */
	{ "a Pool under providers/",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/p.yaml",
	      POOL("{name: q, provider: acme}", "{hosts: {names: [a]}, storage_pool: incus}") } },
	  { "error: providers/acme/p.yaml:2:7: kind: a file under providers/acme/ may declare"
	    " only Host, Plan and Instance objects, have Pool" } },
	{ "objects under providers/ of no provider or another",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") PROVIDER("zeta") },
	    { "providers/acme/h.yaml", HOST("b", "{name: b}", INCUS)
		PHOST("c", FP_ZH, "{name: c, provider: zeta}", INCUS) } },
	  { "error: providers/acme/h.yaml:3:11: metadata.provider: want provider \"acme\""
	    " (files under providers/acme/ declare objects of that provider), have none"
	    " (platform)",
	    "error: providers/acme/h.yaml:8:31: metadata.provider: want provider \"acme\""
	    " (files under providers/acme/ declare objects of that provider), have \"zeta\"" } },
	{ "an instance on another provider's plan",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") PROVIDER("zeta") },
	    { "providers/zeta/z.yaml",
	      PHOST("zh", FP_ZH, "{name: zh, provider: zeta, labels: {site: x}}", INCUS)
	      PLAN("{name: zs, provider: zeta}", "{pool: p, " SMALL "}") },
	    { "providers/acme/i.yaml",
	      INSTANCE("{name: ai, provider: acme}", "{plan: zs, image: deb}") } },
	  { "error: providers/acme/i.yaml:4:14: spec.plan: plan \"zs\" belongs to provider"
	    " \"zeta\": an instance of \"acme\" may use only its own or the platform's plans" } },
	{ "an instance on another provider's host",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") PROVIDER("zeta") },
	    { "providers/zeta/z.yaml",
	      PHOST("zh", FP_ZH, "{name: zh, provider: zeta, labels: {site: x}}", INCUS) },
	    { "providers/acme/i.yaml",
	      INSTANCE("{name: ai, provider: acme}", "{plan: s, image: deb, host: zh}") } },
	  { "error: providers/acme/i.yaml:4:35: spec.host: host \"zh\" belongs to provider"
	    " \"zeta\": a provider may not place instances on another provider's hosts" } },
	{ "a provider's plan on a pool without its hosts",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/s.yaml", PLAN("{name: as, provider: acme}", "{pool: p, " SMALL "}") } },
	  { "error: providers/acme/s.yaml:4:14: spec.pool: pool \"p\" has no host of provider"
	    " \"acme\": a provider's plan draws only on pools that contain that provider's"
	    " hosts" } },

	/* ---- providers' hosts: the platform reviews them */
	{ "a provider's host that sets its own review",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/h.yaml",
	      PHOST("ah", FP_AH, "{name: ah, provider: acme}", ", review: approved") } },
	  { "error: providers/acme/h.yaml:4:201: spec.review: want no review on a host of"
	    " provider \"acme\" (the platform reviews it in spec.approvals of Provider"
	    " \"acme\"), have \"approved\"" } },
	{ "a provider's host on a unix socket",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/h.yaml",
	      DOC("Host", "{name: ah, provider: acme}",
		  "{endpoint: \"unix:///var/lib/incus/unix.socket\", os: debian-12, " CAP "}") } },
	  { "error: providers/acme/h.yaml:4:18: spec.endpoint: want an https endpoint on a"
	    " host of provider \"acme\" (a unix socket is a server on the control host), have"
	    " \"unix:///var/lib/incus/unix.socket\"" } },
	{ "a provider's host in the platform's cluster",
	  { { "f.yaml", MIN CLUSTER("{name: c}", "") MEMBER("m1", "https://10.0.0.1:8443") },
	    { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/h.yaml",
	      PHOST("ah", FP_AH, "{name: ah, provider: acme}", ", cluster: c") } },
	  { "error: providers/acme/h.yaml:4:202: spec.cluster: want no cluster on a host of"
	    " provider \"acme\" (clusters are the platform's), have \"c\"" } },
	{ "a provider's hosts that adopt without an approval that allows it",
	  { { "f.yaml", MIN }, { "providers.yaml", APPROVING("acme", "{ah: " APPROVED(FP_AH) "}") },
	    { "providers/acme/h.yaml",
	      PHOST("ah", FP_AH, "{name: ah, provider: acme}",
		    ", storage_pools: [{name: incus, driver: dir, adopt: true}]")
	      PHOST("bh", FP_ZH, "{name: bh, provider: acme}",
		    ", projects: [{name: tenants, adopt: true}]") } },
	  { "error: providers/acme/h.yaml:4:243: spec.storage_pools[0].adopt: want false: the"
	    " platform's approval of host \"ah\" (providers.yaml:4:76) does not allow adopt,"
	    " have true",
	    "error: providers/acme/h.yaml:9:227: spec.projects[0].adopt: want false: host"
	    " \"bh\" of provider \"acme\" has no approval that allows adopt (adopt: true in"
	    " spec.approvals.bh of Provider \"acme\"), have true" } },
	{ "a provider's host that adopts as its approval allows",
	  { { "f.yaml", MIN },
	    { "providers.yaml", APPROVING("acme", "{ah: {review: approved, fingerprint: \""
					  FP_AH "\", adopt: true}}") },
	    { "providers/acme/h.yaml",
	      PHOST("ah", FP_AH, "{name: ah, provider: acme}",
		    ", storage_pools: [{name: incus, driver: dir, adopt: true}],"
		    " projects: [{name: tenants, adopt: true}]") } },
	  { NULL } },
	{ "approvals of an unknown host, of the platform's and of another provider's",
	  { { "f.yaml", MIN },
	    { "providers.yaml", PROVIDER("zeta")
	      APPROVING("acme", "{nope: " APPROVED(FP_AH) ", a: " APPROVED(FP_AH)
			", zh: " APPROVED(FP_ZH) "}") },
	    { "providers/zeta/h.yaml", PHOST("zh", FP_ZH, "{name: zh, provider: zeta}", "") } },
	  { "warning: providers.yaml:9:78: spec.approvals.nope: unknown host \"nope\": want the"
	    " name of a Host of provider \"acme\" declared in the manifests (the approval holds"
	    " for no host)",
	    "error: providers.yaml:9:182: spec.approvals.a: host \"a\" is the platform's: want"
	    " a host of provider \"acme\" (the platform's own hosts set spec.review)",
	    "error: providers.yaml:9:287: spec.approvals.zh: host \"zh\" belongs to provider"
	    " \"zeta\": want a host of provider \"acme\" (approve it in spec.approvals of"
	    " Provider \"zeta\")" } },
	{ "an approval of another certificate",
	  { { "f.yaml", MIN }, { "providers.yaml", APPROVING("acme", "{ah: " APPROVED(FP_ZH) "}") },
	    { "providers/acme/h.yaml", PHOST("ah", FP_AH, "{name: ah, provider: acme}", "") } },
	  { "warning: providers/acme/h.yaml:4:62: spec.fingerprint: host \"ah\" is pending:"
	    " want \"" FP_ZH "\", the fingerprint the platform approved (providers.yaml:4:76),"
	    " have \"" FP_AH "\": a new certificate needs a new approval" } },

	/* ---- the Fleet: the platform's, one at most */
	{ "a Fleet and its sync windows",
	  { { "f.yaml", MIN FLEET("{name: main}", "[" WEEKDAYS ", " NIGHTS "]") } },
	  { NULL } },
	{ "two Fleets",
	  { { "f.yaml", MIN FLEET("{name: main}", "[" WEEKDAYS "]") },
	    { "g.yaml", FLEET("{name: other}", "[" NIGHTS "]") } },
	  { "error: g.yaml:3:18: metadata.name: second Fleet \"other\": want at most one Fleet"
	    " in the manifests, have \"main\" too (f.yaml:23:18)" } },
	{ "two Fleets of one name: one error, not a duplicate name too",
	  { { "f.yaml", MIN FLEET("{name: main}", "[]") FLEET("{name: main}", "[]") } },
	  { "error: f.yaml:28:18: metadata.name: second Fleet \"main\": want at most one Fleet"
	    " in the manifests, have \"main\" too (f.yaml:23:18)" } },
	{ "a Fleet under providers/",
	  { { "f.yaml", MIN }, { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/f.yaml", FLEET("{name: main, provider: acme}", "[" NIGHTS "]") } },
	  { "error: providers/acme/f.yaml:2:7: kind: a file under providers/acme/ may declare"
	    " only Host, Plan and Instance objects, have Fleet" } },
	{ "a provider's Fleet",
	  { { "f.yaml", MIN FLEET("{name: main, provider: acme}", "[" NIGHTS "]") },
	    { "providers.yaml", PROVIDER("acme") } },
	  { "error: f.yaml:23:34: metadata.provider: want no provider on a Fleet (the fleet's"
	    " settings are the platform's), have \"acme\"" } },

	/* ---- one server, one endpoint, one certificate */
	{ "a cluster's members share its certificate, and one of them its endpoint",
	  { { "f.yaml", CLUSTER("{name: c}", "") MEMBER("m1", "https://10.0.0.1:8443")
		MEMBER("m2", "https://10.0.0.2:8443") } },
	  { NULL } },
	{ "two hosts on one endpoint, written two ways",
	  { { "f.yaml", SHOST("h1", "https://Node-1.example.net", FP_AH, "")
		SHOST("h2", "https://node-1.example.net:443", FP_ZH, "") } },
	  { "error: f.yaml:9:18: spec.endpoint: want an endpoint no other host or cluster has,"
	    " have \"https://node-1.example.net:443\", the endpoint of host \"h1\" (f.yaml:4:18)" } },
	{ "two members on one endpoint",
	  { { "f.yaml", CLUSTER("{name: c}", "") MEMBER("m1", "https://10.0.0.2:8443")
		MEMBER("m2", "https://10.0.0.2:8443") } },
	  { "error: f.yaml:14:18: spec.endpoint: want an endpoint no other host or cluster has,"
	    " have \"https://10.0.0.2:8443\", the endpoint of host \"m1\" (f.yaml:9:18)" } },
	{ "a host with a cluster's endpoint and certificate, not its member",
	  { { "f.yaml", CLUSTER("{name: c}", "") MEMBER("m1", "https://10.0.0.2:8443")
		SHOST("h", "https://10.0.0.1:8443", FP, "") } },
	  { "error: f.yaml:14:18: spec.endpoint: want an endpoint no other host or cluster has,"
	    " have \"https://10.0.0.1:8443\", the endpoint of cluster \"c\" (f.yaml:4:18)",
	    "error: f.yaml:14:56: spec.fingerprint: want a fingerprint no other host or"
	    " cluster has, have \"" FP "\", the fingerprint of cluster \"c\" (f.yaml:4:56): a"
	    " member of cluster \"c\" says so in spec.cluster" } },
	{ "two clusters on one endpoint and certificate",
	  { { "f.yaml", CLUSTER("{name: c}", "") CLUSTER("{name: d}", "")
		MEMBER("m1", "https://10.0.0.2:8443") } },
	  { "warning: f.yaml:8:18: metadata.name: cluster \"d\" has no members: no Host names it"
	    " in spec.cluster",
	    "error: f.yaml:9:18: spec.endpoint: want an endpoint no other host or cluster has,"
	    " have \"https://10.0.0.1:8443\", the endpoint of cluster \"c\" (f.yaml:4:18)",
	    "error: f.yaml:9:56: spec.fingerprint: want a fingerprint no other host or cluster"
	    " has, have \"" FP "\", the fingerprint of cluster \"c\" (f.yaml:4:56)" } },
	{ "a provider's host with the certificate of a platform host",
	  { { "f.yaml", MIN SHOST("h1", "https://10.0.0.9:8443", FP_AH, "") },
	    { "providers.yaml", PROVIDER("acme") },
	    { "providers/acme/h.yaml", PHOST("ah", FP_AH, "{name: ah, provider: acme}", "") } },
	  { "error: providers/acme/h.yaml:4:62: spec.fingerprint: want a fingerprint no other"
	    " host or cluster has, have \"" FP_AH "\", the fingerprint of host \"h1\""
	    " (f.yaml:24:56)" } },
};

/* ---- running a case ----------------------------------------------------- */

struct schema_ctx {
	const char *what;
	const struct mdoc *doc;
};

static void
schema_problem(void *ctx, const char *path, const char *msg)
{
	const struct schema_ctx *s = ctx;

	fail_msg("%s: %s: the case's YAML fails its schema at %s: %s", s->what,
		 s->doc->file, path, msg);
}

/* The fleet of c's files, checked: its diagnostics into d. Caller frees. */
static struct fleet *
check_fleet(const struct check_case *c, const struct schema_set *schemas, struct diags *d)
{
	struct mdocs docs = MDOCS_INIT;
	struct fleet *f;
	char line[1024];
	size_t i;

	for (i = 0; i < MAX_FILES && c->files[i].name; i++)
		if (yaml_load(c->files[i].name, c->files[i].text, strlen(c->files[i].text),
			      &docs, d) < 0) {
			diag_format(&d->v[0], line, sizeof(line));
			fail_msg("%s: %s", c->what, line);
		}
	for (i = 0; i < docs.n; i++) {
		struct schema_ctx s = { c->what, &docs.v[i] };

		schema_validate_manifest(schemas, docs.v[i].root, schema_problem, &s);
	}
	f = fleet_build(&docs, d);
	if (d->n) {
		diag_format(&d->v[0], line, sizeof(line));
		fail_msg("%s: the model refuses the case: %s", c->what, line);
	}
	fleet_check(f, d);
	diags_sort(d);
	return f;
}

/* The diagnostics, one "error: ..." or "warning: ..." line each, onto out. */
static void
format_diags(const struct diags *d, struct buf *out)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char line[1024];

		diag_format(&d->v[i], line, sizeof(line));
		buf_addf(out, "%s: %s\n", d->v[i].severity == DIAG_ERROR ? "error" : "warning",
			 line);
	}
}

/* Every case, every mismatch reported (not only the first). */
static void
test_cases(void **state)
{
	struct berr err;
	struct schema_set *schemas = schema_set_load(&err);
	struct buf bad = BUF_INIT;
	size_t i, j, nbad = 0;

	(void)state;
	if (!schemas)
		fail_msg("%s", err.msg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct check_case *c = &cases[i];
		struct diags d = DIAGS_INIT;
		struct fleet *f = check_fleet(c, schemas, &d);
		struct buf want = BUF_INIT, have = BUF_INIT;

		for (j = 0; j < MAX_WANT && c->want[j]; j++)
			buf_addf(&want, "%s\n", c->want[j]);
		format_diags(&d, &have);
		if (strcmp(want.buf, have.buf)) {
			buf_addf(&bad, "\n%s:\nwant:\n%shave:\n%s", c->what, want.buf, have.buf);
			nbad++;
		}
		buf_release(&want);
		buf_release(&have);
		diags_release(&d);
		fleet_free(f);
	}
	schema_set_free(schemas);
	if (nbad)
		fail_msg("%zu of %zu cases differ:%s", nbad, sizeof(cases) / sizeof(cases[0]), bad.buf);
	buf_release(&bad);
}

/* The good fleet's references are resolved into pointers of the model. */
static void
test_pointers(void **state)
{
	struct berr err;
	struct schema_set *schemas = schema_set_load(&err);
	struct diags d = DIAGS_INIT;
	struct fleet *f;
	struct m_instance *i1, *ai2;
	struct m_offer *s;
	struct m_image *deb;
	struct m_cluster *c;
	struct m_pool *p, *pc;

	(void)state;
	if (!schemas)
		fail_msg("%s", err.msg);
	f = check_fleet(&cases[0], schemas, &d);
	assert_int_equal(d.n, 0);
	i1 = fleet_instance(f, "i1");
	s = fleet_offer(f, "s");
	deb = fleet_image(f, "deb");
	c = fleet_cluster(f, "c");
	p = fleet_pool(f, "p");
	pc = fleet_pool(f, "pc");
	assert_non_null(i1);
	assert_ptr_equal(i1->offer, s);
	assert_ptr_equal(i1->image, deb);
	assert_ptr_equal(i1->host, fleet_host(f, "a"));
	assert_ptr_equal(s->pool, p);
	assert_int_equal(s->nimages, 1);
	assert_ptr_equal(s->images[0], deb);
	assert_int_equal(deb->npools, 2);
	assert_ptr_equal(deb->pools[0], p);
	assert_ptr_equal(deb->pools[1], pc);
	assert_ptr_equal(fleet_host(f, "m1")->cluster, c);
	assert_null(fleet_host(f, "a")->cluster);
	assert_int_equal(c->nmembers, 2);
	assert_ptr_equal(c->members[0], fleet_host(f, "m1"));
	assert_ptr_equal(c->members[1], fleet_host(f, "m2"));
	/* pools hold the hosts they select, in fleet order */
	assert_int_equal(p->nhosts, 3);
	assert_ptr_equal(p->hosts[0], fleet_host(f, "a"));
	assert_ptr_equal(p->hosts[1], fleet_host(f, "b"));
	assert_ptr_equal(p->hosts[2], fleet_host(f, "ah"));
	assert_int_equal(pc->nhosts, 2);
	ai2 = fleet_instance(f, "ai2");
	assert_ptr_equal(ai2->offer, s);
	assert_ptr_equal(ai2->host, fleet_host(f, "ah"));
	assert_string_equal(ai2->meta.provider, "acme");
	/* the platform's approval of ah holds: it is approved */
	assert_int_equal(fleet_host(f, "ah")->review, REVIEW_APPROVED);
	assert_ptr_equal(fleet_host(f, "ah")->approval, &fleet_provider(f, "acme")->approvals[0]);
	assert_null(fleet_host(f, "a")->approval);
	diags_release(&d);
	fleet_free(f);
	schema_set_free(schemas);
}

/*
 * A provider's host takes its review from the platform's approval that
 * holds for it, and is pending without one; the platform's own hosts
 * take theirs from spec.review, approved when they set none.
 */
static void
test_reviews(void **state)
{
	static const struct check_case c = {
		"reviews",
		{ { "f.yaml", MIN HOST("r", "{name: r}", ", review: rejected") },
		  { "providers.yaml",
		    APPROVING("acme", "{ah: " APPROVED(FP_AH) ", bh: {review: rejected,"
			      " fingerprint: \"" FP_ZH "\"}, dh: " APPROVED(FP_AH) "}") },
		  { "providers/acme/h.yaml",
		    PHOST("ah", FP_AH, "{name: ah, provider: acme}", "")
		    PHOST("bh", FP_ZH, "{name: bh, provider: acme}", "")
		    PHOST("ch", "0000000000000000000000000000000000000000000000000000000000000001",
			  "{name: ch, provider: acme}", "")
		    PHOST("dh", "0000000000000000000000000000000000000000000000000000000000000002",
			  "{name: dh, provider: acme}", "") } },
		{ NULL } };
	struct berr err;
	struct schema_set *schemas = schema_set_load(&err);
	struct diags d = DIAGS_INIT;
	struct fleet *f;

	(void)state;
	if (!schemas)
		fail_msg("%s", err.msg);
	f = check_fleet(&c, schemas, &d);
	/* dh's approval is of another certificate: the one warning */
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].path, "spec.fingerprint");
	assert_int_equal(fleet_host(f, "a")->review, REVIEW_APPROVED);
	assert_int_equal(fleet_host(f, "r")->review, REVIEW_REJECTED);
	assert_int_equal(fleet_host(f, "ah")->review, REVIEW_APPROVED);
	assert_int_equal(fleet_host(f, "bh")->review, REVIEW_REJECTED);
	assert_ptr_equal(fleet_host(f, "bh")->approval, &fleet_provider(f, "acme")->approvals[1]);
	assert_int_equal(fleet_host(f, "ch")->review, REVIEW_PENDING);
	assert_null(fleet_host(f, "ch")->approval);
	assert_int_equal(fleet_host(f, "dh")->review, REVIEW_PENDING);
	assert_null(fleet_host(f, "dh")->approval);
	diags_release(&d);
	fleet_free(f);
	schema_set_free(schemas);
}

/*
 * A sync window of the Fleet is read as `berth reconcile --window` reads
 * one (window_parse()): the model says which field is wrong, what it wants
 * and what it has, at the field.
 */
static void
test_fleet_values(void **state)
{
	static const char yaml[] = MIN FLEET("{name: main}",
		"[{kind: deny, schedule: \"0 25 * * 1-5\", duration: 8d, time_zone: Europe/Nowhere},"
		" {kind: allow, schedule: \"*/15 * 31 2 *\", duration: 30s}]");
	static const char *const want =
		"error: f.yaml:24:46: spec.sync_windows[0].schedule: hour: want 0 to 23, have \"25\"\n"
		"error: f.yaml:24:72: spec.sync_windows[0].duration: want 1m to 7d, have \"8d\"\n"
		"error: f.yaml:24:87: spec.sync_windows[0].time_zone: want a name of the time zone"
		" database such as Europe/Berlin, have \"Europe/Nowhere\"\n"
		"error: f.yaml:24:155: spec.sync_windows[1].duration: want 1m to 7d, have \"30s\"\n";
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	struct buf have = BUF_INIT;
	struct berr err;
	struct schema_set *schemas = schema_set_load(&err);
	struct fleet *f;
	size_t i;

	(void)state;
	if (!schemas)
		fail_msg("%s", err.msg);
	assert_int_equal(yaml_load("f.yaml", yaml, strlen(yaml), &docs, &d), 0);
	for (i = 0; i < docs.n; i++) {
		struct schema_ctx s = { "fleet values", &docs.v[i] };

		schema_validate_manifest(schemas, docs.v[i].root, schema_problem, &s);
	}
	f = fleet_build(&docs, &d);
	diags_sort(&d);
	format_diags(&d, &have);
	assert_string_equal(have.buf, want);
	buf_release(&have);
	diags_release(&d);
	fleet_free(f);
	schema_set_free(schemas);
}

/* The Fleet's windows in the model, as --window would have them; none without a Fleet. */
static void
test_fleet_windows(void **state)
{
	static const struct check_case c = {
		"windows", { { "f.yaml", MIN FLEET("{name: main}", "[" WEEKDAYS ", " NIGHTS "]") } },
		{ NULL } };
	struct berr err;
	struct schema_set *schemas = schema_set_load(&err);
	struct diags d = DIAGS_INIT;
	const struct m_fleet *fl;
	struct window w;
	struct fleet *f;

	(void)state;
	if (!schemas)
		fail_msg("%s", err.msg);
	f = check_fleet(&c, schemas, &d);
	assert_int_equal(d.n, 0);
	fl = fleet_settings(f);
	assert_non_null(fl);
	assert_string_equal(fl->meta.name, "main");
	assert_int_equal(fl->nwindows, 2);
	assert_int_equal(fl->windows[0].kind, WINDOW_DENY);
	assert_string_equal(fl->windows[0].spec, "deny 0 9 * * 1-5 8h Europe/Berlin");
	assert_string_equal(fl->windows[0].zone, "Europe/Berlin");
	assert_true(fl->windows[0].duration_ms == 8 * 3600 * 1000LL);
	assert_int_equal(fl->windows[1].kind, WINDOW_ALLOW);
	assert_string_equal(fl->windows[1].spec, "allow 0 22 * * * 6h");
	assert_string_equal(fl->windows[1].zone, "UTC");
	/* read as window_parse() reads the same window */
	assert_int_equal(window_parse(fl->windows[0].spec, &w, &err), 0);
	assert_memory_equal(&w.cron, &fl->windows[0].cron, sizeof(w.cron));
	assert_int_equal(fl->windows[0].set, 0);
	diags_release(&d);
	fleet_free(f);
	f = check_fleet(&cases[1], schemas, &d);
	assert_null(fleet_settings(f));
	diags_release(&d);
	fleet_free(f);
	schema_set_free(schemas);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_reviews),
		cmocka_unit_test(test_fleet_values),
		cmocka_unit_test(test_fleet_windows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
