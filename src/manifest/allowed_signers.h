/*
 * allowed_signers.h - the keys allowed to sign the commits berth loads, in
 * the allowed signers format of `ssh-keygen -Y verify` (ssh-keygen(1),
 * ALLOWED SIGNERS):
 *
 *   PRINCIPALS [OPTIONS] KEYTYPE BASE64 [COMMENT]
 *
 * PRINCIPALS is a comma list of patterns (may be double-quoted); OPTIONS
 * a comma list of cert-authority, namespaces="PATTERNS",
 * valid-after="TIME" and valid-before="TIME", TIME being YYYYMMDD,
 * YYYYMMDDHHMM or YYYYMMDDHHMMSS, in UTC when followed by "Z" and in local
 * time otherwise (as ssh-keygen reads it). Blank lines and lines starting
 * with '#' are skipped.
 *
 * Stricter than ssh-keygen, which stops at the first bad line: any line
 * that does not parse makes the whole file an error, "FILE:LINE: want ...,
 * have ...", wherever the key sought is. At most AS_MAX_LINE bytes a line
 * and AS_MAX_FIELD bytes a key's base64.
 *
 * Matching is principal-agnostic: berth has no principal to ask for (a
 * commit's author is not authenticated), so any line whose key is the
 * signing key allows it, and the line's principals name the signer. A
 * cert-authority line names a CA, which signs certificates, never
 * commits: it matches no key here.
 */
#ifndef BERTH_MANIFEST_ALLOWED_SIGNERS_H
#define BERTH_MANIFEST_ALLOWED_SIGNERS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define AS_MAX_LINE 65536
#define AS_MAX_FIELD 16384

enum as_result {
	AS_ALLOWED,	/* a line has the key for ns, valid at the time */
	AS_UNKNOWN,	/* no line has the key */
	AS_NAMESPACE,	/* lines have the key, none for ns */
	AS_NOT_YET,	/* a line for ns has the key, valid only after the time */
	AS_EXPIRED,	/* a line for ns has the key, valid only before the time */
};

struct as_match {
	char *principals;	/* the line's principals (owned) */
	unsigned line;		/* its number, from 1 */
	int64_t valid_after;	/* seconds since the epoch; 0: none */
	int64_t valid_before;	/* 0: none */
};

/*
 * Look up the key blob (SSH wire form) for namespace ns at time when
 * (seconds since the epoch) in the allowed signers text data (len bytes),
 * read from file (for messages). Returns an enum as_result with m filled
 * for every result but AS_UNKNOWN (the first line that allows the key, else
 * the first line that has it); -1 with err ("FILE:LINE: ...") when the
 * text does not parse. Release m with as_match_release() whatever this
 * returns.
 */
int allowed_signers_find(const char *file, const char *data, size_t len,
			 const unsigned char *key, size_t keylen, const char *ns,
			 int64_t when, struct as_match *m, struct berr *err);

void as_match_release(struct as_match *m);

#endif
