/*
 * rx.h - a small, linear-time regular-expression matcher for the subset of
 * POSIX extended regular expressions berth's schemas use.
 *
 * Supported: ^ (first in the pattern or in an alternative), $ (last in
 * the pattern or in an alternative), literal bytes, backslash-escaped
 * punctuation, '.', bracket expressions with ranges and negation, groups
 * with |, and the quantifiers ? * + {n} {m,} {m,n} (counts up to 255).
 * Everything else (backreferences, [[:alpha:]], \d, \<, a quantifier on
 * something that can match the empty string or holds an anchor, a bracket
 * with a backslash in it, a range ending in '-', non-ASCII bytes, more
 * than RX_MAX_POSITIONS positions once {m,n} is expanded) is refused, so
 * the caller can fall back to regexec.
 * On what it accepts, rx_match answers as regexec(REG_EXTENDED|REG_NOSUB)
 * with REG_STARTEND does in the C locale.
 *
 * The pattern becomes a Glushkov NFA (one state per character position),
 * made into a DFA at compile time when that takes at most 512 states (one
 * table lookup per byte) and otherwise simulated with bitsets (time
 * O(len * positions / 64)). No backtracking, no allocation when matching.
 */
#ifndef BERTH_UTIL_RX_H
#define BERTH_UTIL_RX_H

#include <stddef.h>

/* Positions (characters of the pattern after {m,n} is expanded). */
#define RX_MAX_POSITIONS	512

struct rx;

/*
 * Compile pattern (NUL-terminated) into *out and return 0, or return -1
 * when it uses anything outside the subset above or is malformed (*out is
 * then NULL). The caller frees *out with rx_free().
 */
int rx_compile(struct rx **out, const char *pattern);

/*
 * Return 1 if the pattern matches anywhere in s[0..len) (a search: only ^
 * and $ anchor it), 0 if not. s may contain NUL bytes. Matching only reads
 * the compiled pattern, so one struct rx may be used from several threads
 * at once.
 */
int rx_match(const struct rx *rx, const char *s, size_t len);

/* Free a compiled pattern; accepts NULL. */
void rx_free(struct rx *rx);

#endif
