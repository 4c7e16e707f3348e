/*
 * collect.h - what the berth agent measures on its host: the "host_stats"
 * and "instances" parts of a report body, in the format of report.h, and
 * the boot id of the envelope.
 *
 * Host figures come from /proc and /sys (roots configurable, so tests point
 * them at fixtures), storage pools and instances from the local Incus
 * daemon. Counters are raw uint64 as the kernel and Incus give them; in
 * JSON they are integers, values above INT64_MAX written as INT64_MAX, and
 * a negative Incus value (Incus's "unknown") as 0.
 *
 * An answer beyond the limits of report.h (REPORT_MAX_INSTANCES,
 * REPORT_MAX_NICS, REPORT_MAX_POOLS, REPORT_MAX_NAME) is an error, never a
 * truncated report. /proc files are read up to COLLECT_MAX_PROC bytes.
 *
 * The parsers (collect_parse_*) take the text of one file and never touch
 * the file system; their messages start with "line N: " where one applies,
 * and the callers put the file's path in front.
 */
#ifndef BERTH_AGENT_COLLECT_H
#define BERTH_AGENT_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "incus/client.h"
#include "util/err.h"

#define COLLECT_MAX_PROC	(16 * 1024 * 1024)	/* bytes of one /proc file */
#define COLLECT_MAX_NET_DEV	100000	/* lines of /proc/net/dev (veths too) */
#define COLLECT_IFNAME_MAX	15	/* Linux IFNAMSIZ - 1 */

#define COLLECT_DEFAULT_ENDPOINT "unix:///var/lib/incus/unix.socket"
#define COLLECT_DEFAULT_SAMPLE_MS 250

struct collect_opts {
	const char *proc_root;		/* NULL: "/proc" */
	const char *sys_root;		/* NULL: "/sys" */
	const char *modules_root;	/* NULL: "/lib/modules" (drivers.h) */
	const char *incus_endpoint;	/* NULL or "": COLLECT_DEFAULT_ENDPOINT */
	const char *const *interfaces;	/* billable host NICs, exactly these;
					   ninterfaces 0: the default rule */
	size_t ninterfaces;
	const char *member;		/* on a cluster member: its name; the
					   instances of other members (listed
					   too) are left out. NULL: keep all */
	long cpu_sample_ms;		/* gap between two /proc/stat samples
					   when there is no previous one;
					   <= 0: 250, at most 10000 */
};

/* A /proc/stat sample, kept by the caller between reports. */
struct collect_cpu {
	uint64_t total;		/* jiffies: user..steal (guest is in user) */
	uint64_t idle;		/* idle + iowait */
	int valid;		/* 0: no sample yet */
};

/* One line of /proc/net/dev. */
struct collect_nic {
	char name[COLLECT_IFNAME_MAX + 1];
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

/* ---- parsers of /proc text (pure) ---------------------------------------- */

/*
 * /proc/stat: the aggregate "cpu" line into cpu (total, idle, valid = 1)
 * and the number of "cpuN" lines into threads (at least 1). Needs the four
 * fields user, nice, system, idle; reads up to steal; ignores later ones.
 */
int collect_parse_stat(const char *text, struct collect_cpu *cpu,
		       uint64_t *threads, struct berr *err);

/* /proc/loadavg: the three load averages (e.g. "0.52 0.58 0.59 1/123 45"). */
int collect_parse_loadavg(const char *text, double load[3], struct berr *err);

/* /proc/meminfo: MemTotal and MemAvailable (both required), in bytes. */
int collect_parse_meminfo(const char *text, uint64_t *total,
			  uint64_t *available, struct berr *err);

/*
 * /proc/net/dev: every interface, in file order. *nics is a new array of
 * *n entries (NULL when 0); caller free()s it, also after an error.
 */
int collect_parse_net_dev(const char *text, struct collect_nic **nics,
			  size_t *n, struct berr *err);

/*
 * The fraction of CPU time used between two samples, in [0, 1]: 1 -
 * d(idle)/d(total). 0 when either sample is not valid or no time passed.
 */
double collect_cpu_use(const struct collect_cpu *before,
		       const struct collect_cpu *after);

/*
 * 1 when host interface name is billable: with o->interfaces, exactly
 * those; otherwise a physical NIC (<sys_root>/class/net/<name>/device
 * exists), never "lo". o may be NULL (defaults).
 */
int collect_billable(const struct collect_opts *o, const char *name);

/* ---- conversions of Incus answers (pure) -------------------------------- */

/*
 * The "instances" array of a report from the metadata of GET
 * /1.0/instances?recursion=2&all-projects=true (borrowed). A null or
 * missing "state" (a stopped instance) gives zero counters, no NICs and
 * started_at null. New reference, caller json_decref()s; NULL with err
 * naming the instance and the key.
 */
json_t *collect_instances_from(const json_t *list, struct berr *err);

/*
 * One "storage_pools" entry from a pool object of GET
 * /1.0/storage-pools?recursion=1 and the metadata of GET
 * /1.0/storage-pools/<name>/resources (both borrowed); free is total -
 * used, never below 0. New reference; NULL with err.
 */
json_t *collect_pool_from(const json_t *pool, const json_t *resources,
			  struct berr *err);

/* ---- collection (I/O) ---------------------------------------------------- */

/*
 * A connection to o->incus_endpoint (a unix socket needs no identity),
 * allowing 256 MiB responses (recursion=2 of 10,000 instances). Free with
 * incus_conn_free(). NULL with err.
 */
struct incus_conn *collect_connect(const struct collect_opts *o,
				   struct berr *err);

/*
 * The "network" array of host_stats: the billable interfaces of
 * <proc_root>/net/dev (collect_billable()), in file order. New reference,
 * caller json_decref()s; NULL with err.
 */
json_t *collect_host_network(const struct collect_opts *o, struct berr *err);

/*
 * The "host_stats" object of a report body. prev (may be NULL) is the
 * /proc/stat sample of the previous report: cpu_use covers the time since
 * it; without a valid one (or when the counters went backwards), two
 * samples cpu_sample_ms apart are taken. On success *prev becomes this
 * report's sample; on failure it is left as it was. c may be NULL: a
 * connection to o->incus_endpoint is opened for this call. Requests: 1 +
 * one per storage pool. "storage_drivers" is drivers_detect() of the
 * roots. New reference, caller json_decref()s; NULL with
 * err naming the file or request.
 */
json_t *collect_host_stats(const struct collect_opts *o, struct incus_conn *c,
			   struct collect_cpu *prev, struct berr *err);

/*
 * The "instances" array of a report body, from one request: GET
 * /1.0/instances?recursion=2&all-projects=true. c may be NULL as above.
 * New reference, caller json_decref()s; NULL with err.
 */
json_t *collect_instances(const struct collect_opts *o, struct incus_conn *c,
			  struct berr *err);

/*
 * The boot id from <proc_root>/sys/kernel/random/boot_id: 36 characters,
 * 8-4-4-4-12 lowercase hex digits, one trailing newline allowed. 0 with
 * out filled; -1 with err naming the file and what it held.
 */
int collect_boot_id(const struct collect_opts *o, char out[37],
		    struct berr *err);

#endif
