/*
 * allowed_signers.c - the allowed signers file of ssh-keygen -Y (see
 * allowed_signers.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manifest/allowed_signers.h"
#include "manifest/known_hosts.h"
#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define KEY_MAX (AS_MAX_FIELD / 4 * 3 + 3)

/* One line, parsed. Its strings point into the line. */
struct as_line {
	const char *principals;
	const char *namespaces;		/* NULL: any */
	int cert_authority;
	int64_t valid_after, valid_before;
	unsigned char *key;		/* decoded, KEY_MAX room */
	size_t keylen;
};

/* Quote at most 40 characters of s for a message. */
static const char *
quoted(const char *s, char out[64])
{
	snprintf(out, 64, "\"%.40s%s\"", s, strlen(s) > 40 ? "..." : "");
	return out;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * The next whitespace-separated token of *p, NUL-terminated in place;
 * whitespace inside double quotes does not end it. NULL at the end of the
 * line; *bad set for an unterminated quote.
 */
static char *
token(char **p, int *bad)
{
	char *s = *p, *t;
	int inq = 0;

	while (is_space(*s))
		s++;
	if (!*s)
		return NULL;
	for (t = s; *t && (inq || !is_space(*t)); t++)
		if (*t == '"')
			inq = !inq;
	if (inq)
		*bad = 1;
	if (*t)
		*t++ = '\0';
	*p = t;
	return s;
}

/* Does a token look like a key type (and not like options)? */
static int
is_keytype(const char *t)
{
	return !strchr(t, '=') && !strchr(t, '"') &&
	       (!strncmp(t, "ssh-", 4) || !strncmp(t, "ecdsa-", 6) || !strncmp(t, "sk-", 3));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* ssh-keygen's times: YYYYMMDD[HHMM[SS]][Z]. 0 with *t, or -1. */
static int
parse_time(const char *s, int64_t *t)
{
	size_t n = strlen(s), i;
	int v[6] = { 0, 0, 0, 0, 0, 0 }, utc = 0;
	struct tm tm;
	time_t lt;

	if (n && (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
		utc = 1;
		n--;
	}
	if (n != 8 && n != 12 && n != 14)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	v[0] = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	for (i = 4; i < n; i += 2)
		v[(i - 2) / 2] = (s[i] - '0') * 10 + (s[i + 1] - '0');
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 ||
	    v[5] > 59)
		return -1;
	if (utc) {
		*t = days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 +
		     v[3] * 3600 + v[4] * 60 + v[5];
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	tm.tm_isdst = -1;
	if ((lt = mktime(&tm)) == (time_t)-1)
		return -1;
	*t = (int64_t)lt;
	return 0;
}

/* The options of a line, split in place at commas outside quotes. */
static int
parse_options(const char *file, unsigned ln, char *opts, struct as_line *l, struct berr *err)
{
	char *o = opts, q[64];
	int seen_ns = 0, seen_after = 0, seen_before = 0;

	while (o) {
		char *next = NULL, *t, *eq, *val = NULL;
		int inq = 0;

		for (t = o; *t; t++) {
			if (*t == '"')
				inq = !inq;
			else if (*t == ',' && !inq)
				break;
		}
		if (*t) {
			*t = '\0';
			next = t + 1;
		}
		if ((eq = strchr(o, '='))) {
			size_t vn;

			*eq = '\0';
			val = eq + 1;
			vn = strlen(val);
			if (vn < 2 || val[0] != '"' || val[vn - 1] != '"')
				return berr_set(err, "%s:%u: option %s: want a value in double "
						"quotes, have %s", file, ln, o, quoted(val, q));
			val[vn - 1] = '\0';
			val++;
		}
		if (!strcmp(o, "cert-authority") && !val) {
			l->cert_authority = 1;
		} else if (!strcmp(o, "namespaces") && val && !seen_ns++) {
			l->namespaces = val;
		} else if ((!strcmp(o, "valid-after") && val && !seen_after++) ||
			   (!strcmp(o, "valid-before") && val && !seen_before++)) {
			int64_t *t64 = o[6] == 'a' ? &l->valid_after : &l->valid_before;

			if (parse_time(val, t64) < 0)
				return berr_set(err, "%s:%u: %s: want a time like \"20260131\" or "
						"\"20260131235959Z\", have %s", file, ln, o,
						quoted(val, q));
		} else {
			return berr_set(err, "%s:%u: want an option cert-authority, "
					"namespaces=\"...\", valid-after=\"...\" or "
					"valid-before=\"...\" (each once), have %s", file, ln,
					quoted(o, q));
		}
		o = next;
	}
	return 0;
}

/* Parse line ln (NUL-terminated, in place). 1 with l filled, 0 blank, -1. */
static int
parse_line(const char *file, unsigned ln, char *line, struct as_line *l, struct berr *err)
{
	char *p = line, *t, *keytype, *b64, q[64], *fields[2] = { NULL, NULL };
	const unsigned char *kb;
	int bad = 0, k;
	size_t tn;

	while (is_space(*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	t = token(&p, &bad);
	if (bad)
		return berr_set(err, "%s:%u: principals: want a closing double quote, have "
				"none", file, ln);
	tn = strlen(t);
	if (t[0] == '"') {
		if (tn < 2 || t[tn - 1] != '"')
			return berr_set(err, "%s:%u: principals: want a quoted list, have %s",
					file, ln, quoted(t, q));
		t[tn - 1] = '\0';
		t++;
	}
	if (!*t)
		return berr_set(err, "%s:%u: want principals, have \"\"", file, ln);
	l->principals = t;
	fields[0] = token(&p, &bad);
	if (bad)
		return berr_set(err, "%s:%u: options: want a closing double quote, have none",
				file, ln);
	if (fields[0] && !is_keytype(fields[0])) {
		if (parse_options(file, ln, fields[0], l, err) < 0)
			return -1;
		fields[1] = token(&p, &bad);
		keytype = fields[1];
	} else {
		keytype = fields[0];
	}
	if (!keytype)
		return berr_set(err, "%s:%u: want a key type after the principals, have the "
				"end of the line", file, ln);
	if (!is_keytype(keytype))
		return berr_set(err, "%s:%u: want a key type such as \"ssh-ed25519\", have %s",
				file, ln, quoted(keytype, q));
	if (!(b64 = token(&p, &bad)))
		return berr_set(err, "%s:%u: want the base64 of the %s key, have the end of "
				"the line", file, ln, keytype);
	if (strlen(b64) > AS_MAX_FIELD ||
	    (k = base64_decode(b64, strlen(b64), l->key, KEY_MAX)) < 4)
		return berr_set(err, "%s:%u: want the base64 of the %s key, have %s", file, ln,
				keytype, quoted(b64, q));
	l->keylen = (size_t)k;
	kb = l->key;
	tn = (size_t)kb[0] << 24 | (size_t)kb[1] << 16 | (size_t)kb[2] << 8 | kb[3];
	if (tn > l->keylen - 4 || tn != strlen(keytype) || memcmp(kb + 4, keytype, tn))
		return berr_set(err, "%s:%u: want a key of type %s, have a key of another type",
				file, ln, keytype);
	return 1;
}

/* Does the comma list of patterns pats allow ns (a negated match forbids)? */
static int
namespaces_allow(const char *pats, const char *ns)
{
	char *list = xstrdup(pats), *save = NULL, *p;
	int yes = 0;

	for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		int neg = *p == '!';

		while (*p == ' ')
			p++;
		if (!ssh_pattern_match(p + neg, ns, 0))
			continue;
		if (neg) {
			yes = 0;
			break;
		}
		yes = 1;
	}
	free(list);
	return yes;
}

int
allowed_signers_find(const char *file, const char *data, size_t len,
		     const unsigned char *key, size_t keylen, const char *ns, int64_t when,
		     struct as_match *m, struct berr *err)
{
	char *line = xmalloc(AS_MAX_LINE + 1);
	struct as_line l;
	unsigned char *kbuf = xmalloc(KEY_MAX);
	size_t pos = 0;
	unsigned ln = 0;
	int ret = AS_UNKNOWN;

	memset(m, 0, sizeof(*m));
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = (nl ? (size_t)(nl - data) : len) - pos;
		int r, res;

		ln++;
		if (n > AS_MAX_LINE) {
			ret = berr_set(err, "%s:%u: want a line of at most %d bytes, have %zu", file,
				       ln, AS_MAX_LINE, n);
			goto out;
		}
		if (memchr(data + pos, '\0', n)) {
			ret = berr_set(err, "%s:%u: want text, have a NUL byte", file, ln);
			goto out;
		}
		memcpy(line, data + pos, n);
		line[n] = '\0';
		pos += n + 1;
		memset(&l, 0, sizeof(l));
		l.key = kbuf;
		if ((r = parse_line(file, ln, line, &l, err)) < 0) {
			ret = -1;
			goto out;
		}
		if (!r || l.cert_authority || l.keylen != keylen || memcmp(l.key, key, keylen))
			continue;
		if (l.namespaces && !namespaces_allow(l.namespaces, ns))
			res = AS_NAMESPACE;
		else if (l.valid_after && when < l.valid_after)
			res = AS_NOT_YET;
		else if (l.valid_before && when > l.valid_before)
			res = AS_EXPIRED;
		else
			res = AS_ALLOWED;
		if (ret == AS_ALLOWED || (ret != AS_UNKNOWN && res != AS_ALLOWED))
			continue;	/* keep the first allowing line, else the first line */
		free(m->principals);
		m->principals = xstrdup(l.principals);
		m->line = ln;
		m->valid_after = l.valid_after;
		m->valid_before = l.valid_before;
		ret = res;
	}
out:
	free(kbuf);
	free(line);
	return ret;
}

void
as_match_release(struct as_match *m)
{
	if (!m)
		return;
	free(m->principals);
	memset(m, 0, sizeof(*m));
}
