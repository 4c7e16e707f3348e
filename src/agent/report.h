/*
 * report.h - the agent's report: the signed envelope, the string the
 * signature covers, and the parser of report bodies (untrusted input).
 *
 * A report is one HTTP POST to /v1/reports. The body is the measurement,
 * JSON, fixed once the agent made it (it may wait in the spool and be sent
 * several times). The envelope is in headers, made afresh for each attempt:
 *
 *   Berth-Host: lab-1                      host name, as in the manifests
 *   Berth-Boot-Id: 8c0d...-...             /proc/sys/kernel/random/boot_id
 *   Berth-Seq: 42                          the agent's sequence number
 *   Berth-Time: 1795323600                 send time, Unix seconds
 *   Berth-Nonce: 32 lowercase hex digits   random, never reused
 *   Berth-Signature: ed25519=<base64 of the 64-byte signature>
 *
 * The signature is Ed25519 (pure, no pre-hash) over the signed string
 *
 *   "berth-report-v1\n" host "\n" boot_id "\n" seq "\n" time "\n" nonce "\n"
 *   hex(SHA-256(body bytes)) "\n"
 *
 * with seq and time in decimal. Every field is checked to hold no newline
 * (host: a manifest name; boot id: a UUID; nonce: hex), so two different
 * envelopes never give the same string. The intake checks the signature
 * before it parses the body, then that the body's host, boot_id and seq
 * are the envelope's.
 *
 * The body (schema 1; counters are raw uint64 as the kernel and Incus
 * give them, at most 2^63 - 1 as JSON integers):
 *
 *   {"schema": 1, "host": "lab-1", "boot_id": "...", "seq": 42,
 *    "time": "2026-11-22T05:00:00Z",          collection time (RFC 3339)
 *    "agent": {"version": "0.5.0", "build": "abc1234"},
 *    "interval": 30,                          seconds between reports
 *    "dropped": 0,                            reports the spool dropped
 *                                             since the last delivery
 *    "host_stats": {
 *      "cpu_threads": 8, "cpu_use": 0.125,    fraction of all threads
 *      "load": [0.5, 0.4, 0.3],
 *      "memory": {"total": 1, "available": 1},                  bytes
 *      "storage_pools": [{"name": "default", "driver": "dir",
 *                         "total": 1, "used": 1, "free": 1}],   bytes
 *                         a pool the agent could not read has
 *                         "error": "why" and 0 for the three sizes
 *      "storage_drivers": [{"name": "lvm", "usable": false,
 *                           "reason": "the kernel has no ..."},
 *                          {"name": "dir", "usable": true}],
 *                         optional (agents before it send none): the
 *                         drivers the kernel can run (drivers.h)
 *      "network": [{"name": "eth0", "rx_bytes": 1, "tx_bytes": 1,
 *                   "rx_packets": 1, "tx_packets": 1}]},
 *    "instances": [
 *      {"name": "c1", "project": "default", "type": "container",
 *       "status": "Running", "started_at": "2026-11-22T04:00:00Z" or null,
 *       "plan": "vps-s" or null,              user.berth.plan
 *       "cpu_ns": 1, "memory": 1, "disk": 1,  cpu time ns, bytes, bytes
 *       "network": [{"name": "eth0", "rx_bytes": 1, "tx_bytes": 1,
 *                    "rx_packets": 1, "tx_packets": 1}]}]}
 *
 * Unknown keys are refused (a typo is not silently dropped), as are wrong
 * types, negative counters, more than the limits below, and strings longer
 * than REPORT_MAX_NAME bytes.
 */
#ifndef BERTH_AGENT_REPORT_H
#define BERTH_AGENT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

#define REPORT_SCHEMA		1
#define REPORT_MAX_BODY		(1024 * 1024)	/* bytes */
#define REPORT_MAX_NAME		255		/* bytes of any string */
#define REPORT_MAX_INSTANCES	4000		/* ~225 bytes each: fits 1 MiB */
#define REPORT_MAX_NICS		256		/* per host and per instance */
#define REPORT_MAX_POOLS	256
#define REPORT_MAX_DRIVERS	32

#define REPORT_H_HOST		"Berth-Host"
#define REPORT_H_BOOT_ID	"Berth-Boot-Id"
#define REPORT_H_SEQ		"Berth-Seq"
#define REPORT_H_TIME		"Berth-Time"
#define REPORT_H_NONCE		"Berth-Nonce"
#define REPORT_H_SIGNATURE	"Berth-Signature"

#define REPORT_DOMAIN		"berth-report-v1"

struct report_envelope {
	char host[REPORT_MAX_NAME + 1];
	char boot_id[37];	/* 36 characters: 8-4-4-4-12 hex digits */
	uint64_t seq;
	int64_t time;		/* Unix seconds */
	char nonce[33];		/* 32 lowercase hex digits */
	unsigned char sig[64];
};

/*
 * Parse the six header values (any may be NULL: missing) into e. -1 with
 * err naming the header, what was wanted and what was found.
 */
int report_envelope_parse(struct report_envelope *e, const char *host,
			  const char *boot_id, const char *seq,
			  const char *time, const char *nonce,
			  const char *signature, struct berr *err);

/* The value of header i (0..5, in the order above) of e, NUL-terminated. */
void report_envelope_header(const struct report_envelope *e, int i,
			    char *out, size_t outlen);
extern const char *const report_header_names[6];

/* Append the signed string of e and the body's SHA-256 to out. */
void report_signed_string(const struct report_envelope *e,
			  const unsigned char body_sha256[32], struct buf *out);

/* 1 when s is a boot id: 8-4-4-4-12 lowercase hex digits. */
int report_valid_boot_id(const char *s);

struct report_nic {
	const char *name;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};

struct report_pool {
	const char *name;
	const char *driver;
	uint64_t total, used, free;
	const char *error;	/* NULL, or why the pool could not be read
				   (Incus says it is unavailable): sizes 0 */
};

struct report_driver {
	const char *name;	/* "lvm", "zfs", "btrfs", "dir" */
	int usable;
	const char *reason;	/* why not, or NULL when usable */
};

struct report_instance {
	const char *name;
	const char *project;
	const char *type;		/* "container" | "virtual-machine" */
	const char *status;		/* Incus's: "Running", "Stopped", ... */
	const char *started_at;		/* as Incus gave it, or NULL */
	int64_t started_ms;		/* parsed; 0 when NULL or never started */
	const char *plan;		/* user.berth.plan: a Plan's name, or NULL */
	uint64_t cpu_ns, memory, disk;
	struct report_nic *nics;
	size_t nnics;
};

/*
 * A parsed body. Strings are borrowed from root and live as long as the
 * report. Release with report_release().
 */
struct report {
	json_t *root;
	int schema;
	const char *host;
	const char *boot_id;
	uint64_t seq;
	const char *time;		/* as sent */
	int64_t time_ms;		/* parsed */
	const char *agent_version;
	const char *agent_build;
	uint64_t interval_s;
	uint64_t dropped;
	uint64_t cpu_threads;
	double cpu_use;			/* 0..1 */
	double load[3];
	uint64_t mem_total, mem_available;
	struct report_pool *pools;
	size_t npools;
	struct report_driver *drivers;	/* none from older agents */
	size_t ndrivers;
	struct report_nic *nics;
	size_t nnics;
	struct report_instance *instances;
	size_t ninstances;
};

/*
 * Parse and check a body of len bytes (it need not be NUL-terminated).
 * -1 with err for anything that is not a schema-1 report: "not JSON:
 * line 1 column 7: ...", "instances[3].network[0].rx_bytes: want an
 * integer from 0 to 9223372036854775807, have -1", "host_stats:
 * unknown key \"cpu\"". On failure r is left released.
 */
int report_parse(const char *body, size_t len, struct report *r,
		 struct berr *err);
/* Free r's contents; r is zeroed. Safe on a zeroed or released report (r
 * must not be NULL). */
void report_release(struct report *r);

/* The pool named name in r, or NULL. */
const struct report_pool *report_pool(const struct report *r,
				      const char *name);

/* The storage driver named name in r's storage_drivers, or NULL. */
const struct report_driver *report_driver(const struct report *r,
					  const char *name);

#endif
