/*
 * clock.h - wall and monotonic time, and RFC 3339 UTC times.
 */
#ifndef BERTH_UTIL_CLOCK_H
#define BERTH_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC, for intervals. */
int64_t clock_mono_ms(void);
/* Sleep ms milliseconds, resuming after signals (EINTR). */
void clock_sleep_ms(long ms);

/*
 * Parse an RFC 3339 time ("2026-11-22T05:00:00Z", "...:00.123456789Z",
 * "...:00+01:00") into milliseconds since the epoch (fraction beyond
 * milliseconds dropped). 0 on success, -1 when s is not such a time.
 * Incus's "0001-01-01T00:00:00Z" (never) parses to a negative number.
 */
int clock_parse_rfc3339(const char *s, int64_t *ms);

/* "2026-11-22T05:00:00Z" (seconds) or with ".123" when with_ms. */
void clock_format(int64_t ms, int with_ms, char *out, size_t outlen);

#endif
