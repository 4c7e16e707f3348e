/*
 * units.h - exact parsing of the quantities manifests use.
 *
 * Each parser takes a NUL-terminated string and returns 0 with the value,
 * or -1 with err set to "want ..., have \"...\"" (no path: the caller adds it).
 * None of them accepts a sign, spaces, or overflows silently.
 */
#ifndef BERTH_UTIL_UNITS_H
#define BERTH_UTIL_UNITS_H

#include <stdint.h>

#include "util/err.h"

/* "2GiB", "899GiB", "1TiB", "512MiB", "4096", "4096B": binary units only. */
int parse_size(const char *s, uint64_t *bytes, struct berr *err);
/* "30s", "5m", "2h", "30d", "250ms" -> milliseconds. */
int parse_duration(const char *s, uint64_t *ms, struct berr *err);
/* "70%", "12.5%", "0.25%" (at most two decimals, at most 100%) -> basis points (1% = 100). */
int parse_percent(const char *s, uint32_t *bp, struct berr *err);
/* Format bytes with the largest binary unit that divides them exactly ("64GiB", "1000B"). */
void format_size(uint64_t bytes, char *out, size_t outlen);

#endif
