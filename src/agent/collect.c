/*
 * collect.c - what the agent measures: /proc and /sys of its host, and the
 * storage pools and instances of the local Incus daemon (see collect.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/collect.h"
#include "agent/drivers.h"
#include "agent/report.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_SAMPLE_MS 10000
#define MAX_RESPONSE (256u << 20)	/* recursion=2 of 10,000 instances */
#define MAX_BOOT_ID_FILE 64
#define SHOW 48				/* bytes of bad input quoted */

#define INSTANCES_PATH "/1.0/instances?recursion=2&all-projects=true"
#define POOLS_PATH "/1.0/storage-pools?recursion=1"

/* ---- small helpers ------------------------------------------------------ */

static const char *
proc_root(const struct collect_opts *o)
{
	return o && o->proc_root && *o->proc_root ? o->proc_root : "/proc";
}

static const char *
sys_root(const struct collect_opts *o)
{
	return o && o->sys_root && *o->sys_root ? o->sys_root : "/sys";
}

static long
sample_ms(const struct collect_opts *o)
{
	if (!o || o->cpu_sample_ms <= 0)
		return COLLECT_DEFAULT_SAMPLE_MS;
	return o->cpu_sample_ms > MAX_SAMPLE_MS ? MAX_SAMPLE_MS : o->cpu_sample_ms;
}

/*
 * At most SHOW bytes of s[0..n) for a message, quoted, with bytes that are
 * not printable ASCII as '?' and "..." when cut.
 */
static const char *
show(char out[SHOW + 8], const char *s, size_t n)
{
	size_t i, k = 0;

	out[k++] = '"';
	for (i = 0; i < n && i < SHOW; i++)
		out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[k++] = '"';
	if (n > SHOW) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

static const char *
jtype(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A counter as a JSON integer, clamped to INT64_MAX. */
static json_t *
counter(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *
nic_json(const char *name, uint64_t rxb, uint64_t txb, uint64_t rxp,
	 uint64_t txp)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "rx_bytes", counter(rxb));
	json_object_set_new(o, "tx_bytes", counter(txb));
	json_object_set_new(o, "rx_packets", counter(rxp));
	json_object_set_new(o, "tx_packets", counter(txp));
	return o;
}

/*
 * Read <root>/<rel> into out (NUL-terminated, at most max bytes, no NUL
 * byte inside) with fs_read_fd(); -1 with err naming the path. out is
 * initialised here; the caller releases it.
 */
static int
file_text(const char *root, const char *rel, size_t max, struct buf *out,
	  struct berr *err)
{
	char *path = xasprintf("%s/%s", root, rel);
	int fd, ret = -1;

	buf_init(out, max);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		berr_set(err, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (fs_read_fd(fd, out) < 0) {
		if (errno == EFBIG)
			berr_set(err, "%s: want at most %zu bytes, have more", path, max);
		else
			berr_set(err, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (memchr(out->buf, '\0', out->len)) {
		berr_set(err, "%s: want text, have a NUL byte", path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* ---- lines and numbers -------------------------------------------------- */

struct lines {
	const char *p;
	size_t no;		/* of the line last returned, from 1 */
};

/* The next line [*s, *s + *len) without its newline; 0 at the end. */
static int
next_line(struct lines *l, const char **s, size_t *len)
{
	const char *e;

	if (!*l->p)
		return 0;
	e = strchr(l->p, '\n');
	*s = l->p;
	*len = e ? (size_t)(e - l->p) : strlen(l->p);
	l->p = e ? e + 1 : l->p + *len;
	l->no++;
	return 1;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *
skip_blanks(const char *p, const char *end)
{
	while (p < end && blank(*p))
		p++;
	return p;
}

/* Length of the word at p (up to a blank or end). */
static size_t
word_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && !blank(*q))
		q++;
	return (size_t)(q - p);
}

enum { NUM_OK, NUM_END, NUM_BAD, NUM_BIG };

/*
 * Skip blanks, then read a decimal uint64 that ends at a blank or end.
 * NUM_END when only blanks are left; *pp is then at the word that failed.
 */
static int
get_u64(const char **pp, const char *end, uint64_t *v)
{
	const char *p = skip_blanks(*pp, end);
	uint64_t x = 0;

	*pp = p;
	if (p == end)
		return NUM_END;
	if (*p < '0' || *p > '9')
		return NUM_BAD;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return NUM_BIG;
		x = x * 10 + d;
	}
	if (p < end && !blank(*p))
		return NUM_BAD;
	*v = x;
	*pp = p;
	return NUM_OK;
}

/* The message for a get_u64() failure at p on line no, field what. */
static int
bad_u64(struct berr *err, size_t no, const char *what, int rc,
	const char *p, const char *end)
{
	char q[SHOW + 8];

	if (rc == NUM_END)
		return berr_set(err, "line %zu: %s: want an integer, have the end of the line",
				no, what);
	return berr_set(err, "line %zu: %s: want an integer %s, have %s", no,
			what, rc == NUM_BIG ? "that fits in 64 bits" : "of decimal digits",
			show(q, p, word_len(p, end)));
}

/*
 * Skip blanks, then read a decimal like 0.52 (at most 15 digits) that
 * ends at a blank or end. Locale-independent. -1 when it is not one.
 */
static int
get_decimal(const char **pp, const char *end, double *v)
{
	const char *p = skip_blanks(*pp, end);
	uint64_t mant = 0;
	double scale = 1;
	int digits = 0, frac = 0;

	*pp = p;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
		mant = mant * 10 + (uint64_t)(*p - '0');
	if (!digits)
		return -1;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, frac++)
			mant = mant * 10 + (uint64_t)(*p - '0');
		if (!frac)
			return -1;
	}
	if (digits + frac > 15 || (p < end && !blank(*p)))
		return -1;
	while (frac--)
		scale *= 10;
	*v = (double)mant / scale;
	*pp = p;
	return 0;
}

/* ---- /proc parsers ------------------------------------------------------ */

int
collect_parse_stat(const char *text, struct collect_cpu *cpu,
		   uint64_t *threads, struct berr *err)
{
	static const char *const field[] = { "user", "nice", "system", "idle",
		"iowait", "irq", "softirq", "steal" };
	struct lines l = { text, 0 };
	uint64_t v, total = 0, idle = 0, n = 0;
	const char *s, *p, *end;
	size_t len, i;
	int seen = 0, rc;

	while (next_line(&l, &s, &len)) {
		end = s + len;
		if (len < 4 || memcmp(s, "cpu", 3) != 0)
			continue;
		for (p = s + 3; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (p < end && !blank(*p))
			continue;	/* not a cpu line */
		if (p > s + 3) {
			n++;
			continue;
		}
		if (seen)
			return berr_set(err, "line %zu: want one \"cpu\" line, have a second",
					l.no);
		seen = 1;
		for (i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
			rc = get_u64(&p, end, &v);
			if (rc == NUM_END && i > 3)
				break;	/* old kernels: no iowait, irq, ... */
			if (rc != NUM_OK)
				return bad_u64(err, l.no, field[i], rc, p, end);
			if (total > UINT64_MAX - v)
				return berr_set(err, "line %zu: cpu: want a sum of fields that fits in 64 bits, have more",
						l.no);
			total += v;
			if (i == 3 || i == 4)
				idle += v;
		}
	}
	if (!seen)
		return berr_set(err, "want a \"cpu\" line (user nice system idle ...), have none");
	if (!n)
		return berr_set(err, "want \"cpuN\" lines (one per CPU thread), have none");
	cpu->total = total;
	cpu->idle = idle;
	cpu->valid = 1;
	*threads = n;
	return 0;
}

int
collect_parse_loadavg(const char *text, double load[3], struct berr *err)
{
	static const char *const what[] = { "1 minute", "5 minutes", "15 minutes" };
	const char *p = text, *end = text + strcspn(text, "\n");
	char q[SHOW + 8];
	int i;

	for (i = 0; i < 3; i++) {
		if (get_decimal(&p, end, &load[i]) < 0)
			return berr_set(err, "line 1: load average over %s: want a decimal like 0.52, have %s",
					what[i], p == end ? "the end of the line" :
					show(q, p, word_len(p, end)));
	}
	return 0;
}

/* "<value> kB" at p..end as bytes. */
static int
get_kb(const char *p, const char *end, size_t no, const char *key,
       uint64_t *bytes, struct berr *err)
{
	char q[SHOW + 8];
	uint64_t v;
	int rc;

	rc = get_u64(&p, end, &v);
	if (rc != NUM_OK)
		return bad_u64(err, no, key, rc, p, end);
	p = skip_blanks(p, end);
	if (word_len(p, end) != 2 || memcmp(p, "kB", 2) != 0 ||
	    skip_blanks(p + 2, end) != end)
		return berr_set(err, "line %zu: %s: want the unit kB, have %s",
				no, key, show(q, p, (size_t)(end - p)));
	if (v > UINT64_MAX / 1024)
		return berr_set(err, "line %zu: %s: want bytes that fit in 64 bits, have %llu kB",
				no, key, (unsigned long long)v);
	*bytes = v * 1024;
	return 0;
}

int
collect_parse_meminfo(const char *text, uint64_t *total, uint64_t *available,
		      struct berr *err)
{
	static const char *const key[] = { "MemTotal", "MemAvailable" };
	uint64_t *dst[] = { total, available };
	struct lines l = { text, 0 };
	const char *s, *colon;
	size_t len, klen;
	int i, seen[2] = { 0, 0 };

	while (next_line(&l, &s, &len)) {
		colon = memchr(s, ':', len);
		if (!colon)
			continue;
		klen = (size_t)(colon - s);
		for (i = 0; i < 2; i++) {
			if (klen != strlen(key[i]) || memcmp(s, key[i], klen) != 0)
				continue;
			if (seen[i])
				return berr_set(err, "line %zu: want one %s line, have a second",
						l.no, key[i]);
			if (get_kb(colon + 1, s + len, l.no, key[i], dst[i], err) < 0)
				return -1;
			seen[i] = 1;
		}
	}
	for (i = 0; i < 2; i++)
		if (!seen[i])
			return berr_set(err, "want a %s line (Linux 3.14 or later), have none",
					key[i]);
	return 0;
}

/*
 * 1 when s[0..n) is an interface name berth reports: what Linux allows
 * (no '/', ':' or blank; not "." or ".."), and printable ASCII only, so it
 * is a JSON string and a safe path segment under /sys/class/net.
 */
static int
valid_ifname(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > COLLECT_IFNAME_MAX)
		return 0;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] >= 0x7f)
			return 0;
	return 1;
}

int
collect_parse_net_dev(const char *text, struct collect_nic **nics, size_t *n,
		      struct berr *err)
{
	/* Receive: bytes packets errs drop fifo frame compressed multicast,
	   then Transmit: bytes packets errs drop fifo colls carrier compressed */
	static const char *const field[] = { "rx bytes", "rx packets", "rx errs",
		"rx drop", "rx fifo", "rx frame", "rx compressed", "rx multicast",
		"tx bytes", "tx packets", "tx errs", "tx drop", "tx fifo",
		"tx colls", "tx carrier", "tx compressed" };
	struct lines l = { text, 0 };
	struct collect_nic *v = NULL, *nic;
	const char *s, *p, *end, *colon;
	size_t len, alloc = 0, i;
	uint64_t num[16];
	char q[SHOW + 8];
	int rc;

	*nics = NULL;
	*n = 0;
	while (next_line(&l, &s, &len)) {
		end = s + len;
		if (l.no <= 2) {
			if (!memchr(s, '|', len))
				return berr_set(err, "line %zu: want the header \"%s\", have %s",
						l.no, l.no == 1 ? "Inter-|   Receive ..." :
						" face |bytes    packets ...",
						show(q, s, len));
			continue;
		}
		s = skip_blanks(s, end);
		if (s == end)
			continue;
		colon = memchr(s, ':', (size_t)(end - s));
		if (!colon)
			return berr_set(err, "line %zu: want \"<interface>: <16 counters>\", have %s",
					l.no, show(q, s, (size_t)(end - s)));
		if (!valid_ifname(s, (size_t)(colon - s)))
			return berr_set(err, "line %zu: want an interface name of 1 to %d printable ASCII bytes, have %s",
					l.no, COLLECT_IFNAME_MAX,
					show(q, s, (size_t)(colon - s)));
		if (*n == COLLECT_MAX_NET_DEV)
			return berr_set(err, "line %zu: want at most %d interfaces, have more",
					l.no, COLLECT_MAX_NET_DEV);
		p = colon + 1;
		for (i = 0; i < 16; i++) {
			rc = get_u64(&p, end, &num[i]);
			if (rc != NUM_OK)
				return bad_u64(err, l.no, field[i], rc, p, end);
		}
		ALLOC_GROW(v, *n + 1, alloc);
		*nics = v;
		nic = &v[(*n)++];
		memcpy(nic->name, s, (size_t)(colon - s));
		nic->name[colon - s] = '\0';
		nic->rx_bytes = num[0];
		nic->rx_packets = num[1];
		nic->tx_bytes = num[8];
		nic->tx_packets = num[9];
	}
	if (l.no < 2)
		return berr_set(err, "want the two header lines of /proc/net/dev, have %zu",
				l.no);
	return 0;
}

double
collect_cpu_use(const struct collect_cpu *a, const struct collect_cpu *b)
{
	uint64_t dt, di;

	if (!a || !b || !a->valid || !b->valid || b->total <= a->total)
		return 0;
	dt = b->total - a->total;
	/* iowait may go backwards (Documentation/filesystems/proc.rst) */
	di = b->idle > a->idle ? b->idle - a->idle : 0;
	if (di > dt)
		di = dt;
	return 1.0 - (double)di / (double)dt;
}

int
collect_billable(const struct collect_opts *o, const char *name)
{
	struct stat st;
	char *path;
	size_t i;
	int ok;

	if (!name || !valid_ifname(name, strlen(name)))
		return 0;
	if (o && o->ninterfaces) {
		for (i = 0; i < o->ninterfaces; i++)
			if (o->interfaces[i] && strcmp(o->interfaces[i], name) == 0)
				return 1;
		return 0;
	}
	if (strcmp(name, "lo") == 0)
		return 0;
	path = xasprintf("%s/class/net/%s/device", sys_root(o), name);
	ok = lstat(path, &st) == 0;
	free(path);
	return ok;
}

/* ---- Incus answers ------------------------------------------------------ */

/*
 * obj[key] as a string of at most REPORT_MAX_NAME bytes; NULL when absent
 * or null and !required. where and path name it in messages.
 */
static int
get_name(const json_t *obj, const char *key, int required, const char **out,
	 const char *where, struct berr *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if ((!v || json_is_null(v)) && !required)
		return 0;
	if (!json_is_string(v))
		return berr_set(err, "%s: %s: want a string, have %s", where,
				key, jtype(v));
	if (json_string_length(v) > REPORT_MAX_NAME)
		return berr_set(err, "%s: %s: want at most %d bytes, have %zu",
				where, key, REPORT_MAX_NAME, json_string_length(v));
	*out = json_string_value(v);
	return 0;
}

/* obj[key] as an object; *out NULL when absent or null. */
static int
get_object(const json_t *obj, const char *key, json_t **out,
	   const char *where, const char *path, struct berr *err)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return berr_set(err, "%s: %s: want an object, have %s", where,
				path, jtype(v));
	*out = v;
	return 0;
}

/*
 * obj[key] as a counter: 0 when obj or the key is absent or null, and for
 * a negative value (Incus's "unknown").
 */
static int
get_counter(const json_t *obj, const char *key, uint64_t *out,
	    const char *where, const char *path, struct berr *err)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return berr_set(err, "%s: %s: want an integer, have %s", where,
				path, jtype(v));
	if (json_integer_value(v) > 0)
		*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* state.network: every NIC but "lo". */
static json_t *
instance_nics(const json_t *state, const char *where, struct berr *err)
{
	static const char *const key[] = { "bytes_received", "bytes_sent",
		"packets_received", "packets_sent" };
	json_t *net, *nic, *counters, *out;
	const char *name;
	uint64_t c[4];
	char path[REPORT_MAX_NAME + 64];
	int i;

	if (get_object(state, "network", &net, where, "state.network", err) < 0)
		return NULL;
	out = json_array();
	/* jansson iterates in insertion order; it has no const iterator */
	json_object_foreach((json_t *)net, name, nic) {
		if (strcmp(name, "lo") == 0)
			continue;
		if (strlen(name) > REPORT_MAX_NAME) {
			berr_set(err, "%s: state.network: want NIC names of at most %d bytes, have %zu",
				 where, REPORT_MAX_NAME, strlen(name));
			goto fail;
		}
		if (json_array_size(out) == REPORT_MAX_NICS) {
			berr_set(err, "%s: state.network: want at most %d NICs, have more",
				 where, REPORT_MAX_NICS);
			goto fail;
		}
		snprintf(path, sizeof(path), "state.network.%s", name);
		if (!json_is_object(nic)) {
			berr_set(err, "%s: %s: want an object, have %s", where,
				 path, jtype(nic));
			goto fail;
		}
		snprintf(path, sizeof(path), "state.network.%s.counters", name);
		if (get_object(nic, "counters", &counters, where, path, err) < 0)
			goto fail;
		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "state.network.%s.counters.%s",
				 name, key[i]);
			if (get_counter(counters, key[i], &c[i], where, path, err) < 0)
				goto fail;
		}
		json_array_append_new(out, nic_json(name, c[0], c[1], c[2], c[3]));
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* state.started_at, or NULL when never started, stopped, or absent. */
static int
started_at(const json_t *state, const char *status, const char **out,
	   const char *where, struct berr *err)
{
	json_t *v = state ? json_object_get(state, "started_at") : NULL;

	*out = NULL;
	if (!v || json_is_null(v) || strcmp(status, "Stopped") == 0)
		return 0;
	if (!json_is_string(v))
		return berr_set(err, "%s: state.started_at: want a string, have %s",
				where, jtype(v));
	if (json_string_length(v) > REPORT_MAX_NAME)
		return berr_set(err, "%s: state.started_at: want at most %d bytes, have %zu",
				where, REPORT_MAX_NAME, json_string_length(v));
	/* Go's zero time.Time: "0001-01-01T00:00:00Z" */
	if (strncmp(json_string_value(v), "0001-01-01T00:00:00", 19) != 0)
		*out = json_string_value(v);
	return 0;
}

static json_t *
instance_from(const json_t *inst, size_t idx, struct berr *err)
{
	const char *name, *project, *type, *status, *plan, *started;
	json_t *config, *state, *cpu, *mem, *disk, *root, *nics, *out;
	uint64_t cpu_ns, memory, used;
	char where[2 * REPORT_MAX_NAME + 64];

	snprintf(where, sizeof(where), "instances[%zu]", idx);
	if (!json_is_object(inst)) {
		berr_set(err, "%s: want an object, have %s", where, jtype(inst));
		return NULL;
	}
	if (get_name(inst, "name", 1, &name, where, err) < 0 ||
	    get_name(inst, "project", 1, &project, where, err) < 0)
		return NULL;
	snprintf(where, sizeof(where), "instance \"%s\" in project \"%s\"",
		 name, project);
	if (get_name(inst, "type", 1, &type, where, err) < 0 ||
	    get_name(inst, "status", 1, &status, where, err) < 0 ||
	    get_object(inst, "config", &config, where, "config", err) < 0 ||
	    get_object(inst, "state", &state, where, "state", err) < 0)
		return NULL;
	plan = NULL;
	if (config && get_name(config, "user.berth.plan", 0, &plan, where, err) < 0)
		return NULL;
	if (started_at(state, status, &started, where, err) < 0 ||
	    get_object(state, "cpu", &cpu, where, "state.cpu", err) < 0 ||
	    get_object(state, "memory", &mem, where, "state.memory", err) < 0 ||
	    get_object(state, "disk", &disk, where, "state.disk", err) < 0 ||
	    get_object(disk, "root", &root, where, "state.disk.root", err) < 0 ||
	    get_counter(cpu, "usage", &cpu_ns, where, "state.cpu.usage", err) < 0 ||
	    get_counter(mem, "usage", &memory, where, "state.memory.usage", err) < 0 ||
	    get_counter(root, "usage", &used, where, "state.disk.root.usage", err) < 0)
		return NULL;
	if (!(nics = instance_nics(state, where, err)))
		return NULL;

	out = json_object();
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "project", json_string(project));
	json_object_set_new(out, "type", json_string(type));
	json_object_set_new(out, "status", json_string(status));
	json_object_set_new(out, "started_at", started ? json_string(started) : json_null());
	json_object_set_new(out, "plan", plan ? json_string(plan) : json_null());
	json_object_set_new(out, "cpu_ns", counter(cpu_ns));
	json_object_set_new(out, "memory", counter(memory));
	json_object_set_new(out, "disk", counter(used));
	json_object_set_new(out, "network", nics);
	return out;
}

json_t *
collect_instances_from(const json_t *list, struct berr *err)
{
	json_t *out, *one;
	size_t i;

	if (json_is_null(list))
		return json_array();
	if (!json_is_array(list)) {
		berr_set(err, "want a list of instances, have %s", jtype(list));
		return NULL;
	}
	if (json_array_size(list) > REPORT_MAX_INSTANCES) {
		berr_set(err, "want at most %d instances, have %zu",
			 REPORT_MAX_INSTANCES, json_array_size(list));
		return NULL;
	}
	out = json_array();
	for (i = 0; i < json_array_size(list); i++) {
		if (!(one = instance_from(json_array_get(list, i), i, err))) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, one);
	}
	return out;
}

json_t *
collect_pool_from(const json_t *pool, const json_t *res, struct berr *err)
{
	const char *name, *driver;
	uint64_t total, used;
	json_t *space, *v, *out;
	char where[REPORT_MAX_NAME + 32];

	if (!json_is_object(pool)) {
		berr_set(err, "storage pool: want an object, have %s", jtype(pool));
		return NULL;
	}
	if (get_name(pool, "name", 1, &name, "storage pool", err) < 0)
		return NULL;
	snprintf(where, sizeof(where), "storage pool \"%s\"", name);
	if (get_name(pool, "driver", 1, &driver, where, err) < 0)
		return NULL;
	if (!json_is_object(res)) {
		berr_set(err, "%s: resources: want an object, have %s", where,
			 jtype(res));
		return NULL;
	}
	if (get_object(res, "space", &space, where, "resources.space", err) < 0)
		return NULL;
	v = space ? json_object_get(space, "total") : NULL;
	if (!json_is_integer(v)) {
		berr_set(err, "%s: resources.space.total: want an integer, have %s",
			 where, jtype(v));
		return NULL;
	}
	if (get_counter(space, "total", &total, where, "resources.space.total", err) < 0 ||
	    get_counter(space, "used", &used, where, "resources.space.used", err) < 0)
		return NULL;

	out = json_object();
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "driver", json_string(driver));
	json_object_set_new(out, "total", counter(total));
	json_object_set_new(out, "used", counter(used));
	json_object_set_new(out, "free", counter(total > used ? total - used : 0));
	return out;
}

/* ---- collection --------------------------------------------------------- */

struct incus_conn *
collect_connect(const struct collect_opts *o, struct berr *err)
{
	struct incus_opts io = { 0 };
	const char *ep = o && o->incus_endpoint && *o->incus_endpoint ?
		o->incus_endpoint : COLLECT_DEFAULT_ENDPOINT;

	io.max_response = MAX_RESPONSE;
	return incus_conn_new("local", ep, NULL, NULL, &io, err);
}

/*
 * The entry of a pool the agent cannot read: why (at most REPORT_MAX_NAME
 * bytes, cut at a character boundary, control characters made spaces) and
 * 0 for its sizes.
 */
static json_t *
pool_unavailable(const char *name, const char *driver, const char *why)
{
	char msg[REPORT_MAX_NAME + 1];
	size_t n = strlen(why), i;
	json_t *out = json_object();

	if (n > REPORT_MAX_NAME) {
		n = REPORT_MAX_NAME;
		while (n > 0 && ((unsigned char)why[n] & 0xc0) == 0x80)
			n--;		/* not inside a UTF-8 sequence */
	}
	for (i = 0; i < n; i++)
		msg[i] = (unsigned char)why[i] < 0x20 || why[i] == 0x7f ? ' ' : why[i];
	msg[n] = '\0';
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "driver", json_string(driver));
	json_object_set_new(out, "total", json_integer(0));
	json_object_set_new(out, "used", json_integer(0));
	json_object_set_new(out, "free", json_integer(0));
	json_object_set_new(out, "error", json_string(*msg ? msg : "unavailable"));
	return out;
}

/*
 * Every storage pool with its space. A pool Incus does not have in state
 * "Created" (a disk gone after a reboot makes it "Unavailable"), or whose
 * resources cannot be read (an error, or no answer while the daemon still
 * answers GET /1.0), is reported with an error instead of failing the
 * whole report: the host's other numbers still matter.
 */
static json_t *
storage_pools(struct incus_conn *c, struct berr *err)
{
	struct buf path = BUF_INIT;
	json_t *list, *pool, *res, *one, *all = NULL, *out = NULL;
	const char *name;
	size_t i;

	if (!(list = incus_get(c, POOLS_PATH, err)))
		return NULL;
	if (!json_is_array(list) && !json_is_null(list)) {
		berr_set(err, "GET %s: want a list, have %s", POOLS_PATH, jtype(list));
		goto out;
	}
	if (json_array_size(list) > REPORT_MAX_POOLS) {
		berr_set(err, "GET %s: want at most %d storage pools, have %zu",
			 POOLS_PATH, REPORT_MAX_POOLS, json_array_size(list));
		goto out;
	}
	all = json_array();
	json_array_foreach(list, i, pool) {
		const char *driver, *status;
		struct berr why;
		char *msg;

		if (get_name(pool, "name", 1, &name, "storage pool", err) < 0) {
			berr_prefix(err, "GET %s", POOLS_PATH);
			goto out;
		}
		if (get_name(pool, "driver", 1, &driver, "storage pool", err) < 0) {
			berr_prefix(err, "GET %s", POOLS_PATH);
			goto out;
		}
		status = json_string_value(json_object_get(pool, "status"));
		if (status && strcmp(status, "Created")) {
			msg = xasprintf("Incus says the storage pool is %s", status);
			json_array_append_new(all, pool_unavailable(name, driver, msg));
			free(msg);
			continue;
		}
		buf_reset(&path);
		buf_addstr(&path, "/1.0/storage-pools/");
		incus_path_escape(&path, name);
		buf_addstr(&path, "/resources");
		if (!(res = incus_get(c, path.buf, &why))) {
			json_t *alive;

			/* No answer at all: a pool that hangs (stalled network
			 * storage), or the daemon that went away? Ask the daemon. */
			if (incus_conn_unreachable(c)) {
				if (!(alive = incus_get(c, "/1.0", err)))
					goto out;
				json_decref(alive);
			}
			json_array_append_new(all, pool_unavailable(name, driver, why.msg));
			continue;
		}
		one = collect_pool_from(pool, res, err);
		json_decref(res);
		if (!one) {
			berr_prefix(err, "GET %s", path.buf);
			goto out;
		}
		json_array_append_new(all, one);
	}
	out = all;
	all = NULL;
out:
	json_decref(all);
	json_decref(list);
	buf_release(&path);
	return out;
}

/* Billable host NICs from <proc_root>/net/dev. */
json_t *
collect_host_network(const struct collect_opts *o, struct berr *err)
{
	struct buf text;
	struct collect_nic *nics = NULL;
	json_t *out = NULL;
	size_t n = 0, i;

	if (file_text(proc_root(o), "net/dev", COLLECT_MAX_PROC, &text, err) < 0)
		goto out;
	if (collect_parse_net_dev(text.buf, &nics, &n, err) < 0) {
		berr_prefix(err, "%s/net/dev", proc_root(o));
		goto out;
	}
	out = json_array();
	for (i = 0; i < n; i++) {
		if (!collect_billable(o, nics[i].name))
			continue;
		if (json_array_size(out) == REPORT_MAX_NICS) {
			berr_set(err, "%s/net/dev: want at most %d billable interfaces, have more",
				 proc_root(o), REPORT_MAX_NICS);
			json_decref(out);
			out = NULL;
			goto out;
		}
		json_array_append_new(out, nic_json(nics[i].name, nics[i].rx_bytes,
			nics[i].tx_bytes, nics[i].rx_packets, nics[i].tx_packets));
	}
out:
	free(nics);
	buf_release(&text);
	return out;
}

static int
read_stat(const struct collect_opts *o, struct collect_cpu *cpu,
	  uint64_t *threads, struct berr *err)
{
	struct buf text;
	int ret = -1;

	if (file_text(proc_root(o), "stat", COLLECT_MAX_PROC, &text, err) < 0)
		goto out;
	if (collect_parse_stat(text.buf, cpu, threads, err) < 0) {
		berr_prefix(err, "%s/stat", proc_root(o));
		goto out;
	}
	ret = 0;
out:
	buf_release(&text);
	return ret;
}

static int
read_load_mem(const struct collect_opts *o, double load[3], uint64_t *total,
	      uint64_t *avail, struct berr *err)
{
	struct buf text;
	int ret = -1;

	if (file_text(proc_root(o), "loadavg", COLLECT_MAX_PROC, &text, err) < 0)
		goto out;
	if (collect_parse_loadavg(text.buf, load, err) < 0) {
		berr_prefix(err, "%s/loadavg", proc_root(o));
		goto out;
	}
	buf_release(&text);
	if (file_text(proc_root(o), "meminfo", COLLECT_MAX_PROC, &text, err) < 0)
		goto out;
	if (collect_parse_meminfo(text.buf, total, avail, err) < 0) {
		berr_prefix(err, "%s/meminfo", proc_root(o));
		goto out;
	}
	ret = 0;
out:
	buf_release(&text);
	return ret;
}

json_t *
collect_host_stats(const struct collect_opts *o, struct incus_conn *c,
		   struct collect_cpu *prev, struct berr *err)
{
	struct incus_conn *own = NULL;
	struct collect_cpu before, now;
	struct drivers_roots roots = { proc_root(o), sys_root(o),
				       o ? o->modules_root : NULL };
	uint64_t threads, mem_total, mem_avail;
	json_t *net = NULL, *pools = NULL, *mem, *out = NULL;
	double load[3], use;

	if (read_stat(o, &now, &threads, err) < 0)
		goto out;
	if (prev && prev->valid && now.total > prev->total) {
		use = collect_cpu_use(prev, &now);
	} else {
		before = now;
		clock_sleep_ms(sample_ms(o));
		if (read_stat(o, &now, &threads, err) < 0)
			goto out;
		use = collect_cpu_use(&before, &now);
	}
	if (read_load_mem(o, load, &mem_total, &mem_avail, err) < 0)
		goto out;
	if (!(net = collect_host_network(o, err)))
		goto out;
	if (!c && !(c = own = collect_connect(o, err)))
		goto out;
	if (!(pools = storage_pools(c, err)))
		goto out;

	out = json_object();
	json_object_set_new(out, "cpu_threads", counter(threads));
	json_object_set_new(out, "cpu_use", json_real(use));
	json_object_set_new(out, "load", json_pack("[f,f,f]", load[0], load[1], load[2]));
	mem = json_object();
	json_object_set_new(mem, "total", counter(mem_total));
	json_object_set_new(mem, "available", counter(mem_avail));
	json_object_set_new(out, "memory", mem);
	json_object_set_new(out, "storage_pools", pools);
	json_object_set_new(out, "storage_drivers", drivers_detect(&roots));
	json_object_set_new(out, "network", net);
	pools = net = NULL;
	if (prev)
		*prev = now;
out:
	json_decref(pools);
	json_decref(net);
	incus_conn_free(own);
	return out;
}

json_t *
collect_instances(const struct collect_opts *o, struct incus_conn *c,
		  struct berr *err)
{
	struct incus_conn *own = NULL;
	json_t *list = NULL, *out = NULL;

	if (!c && !(c = own = collect_connect(o, err)))
		goto out;
	if (!(list = incus_get(c, INSTANCES_PATH, err)))
		goto out;
	/* A cluster answers with every member's instances: keep this member's. */
	if (o->member && *o->member && json_is_array(list)) {
		for (size_t i = json_array_size(list); i-- > 0;) {
			const char *loc = json_string_value(json_object_get(json_array_get(list, i),
									    "location"));

			if (loc && *loc && strcmp(loc, o->member) != 0)
				json_array_remove(list, i);
		}
	}
	if (!(out = collect_instances_from(list, err)))
		berr_prefix(err, "GET %s", INSTANCES_PATH);
out:
	json_decref(list);
	incus_conn_free(own);
	return out;
}


int
collect_boot_id(const struct collect_opts *o, char out[37], struct berr *err)
{
	static const char rel[] = "sys/kernel/random/boot_id";
	struct buf text;
	char q[SHOW + 8], id[37];
	size_t len;
	int ret = -1;

	if (file_text(proc_root(o), rel, MAX_BOOT_ID_FILE, &text, err) < 0)
		goto out;
	len = text.len;
	if (len && text.buf[len - 1] == '\n')
		len--;
	/* The intake's own rule (report.h), on the text without its newline. */
	id[0] = '\0';
	if (len == 36 && !memchr(text.buf, '\0', len)) {
		memcpy(id, text.buf, 36);
		id[36] = '\0';
	}
	if (!report_valid_boot_id(id)) {
		berr_set(err, "%s/%s: want a boot id (8-4-4-4-12 lowercase hex digits), have %s",
			 proc_root(o), rel, show(q, text.buf, len));
		goto out;
	}
	memcpy(out, text.buf, 36);
	out[36] = '\0';
	ret = 0;
out:
	buf_release(&text);
	return ret;
}
