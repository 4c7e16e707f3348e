/*
 * fuzz-window.c - libFuzzer target for sync windows as an operator writes
 * them (--window, and the cron schedule inside): the parser, then the
 * verdict for a fixed moment when it parses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/window.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct window w;
	struct window_verdict v;
	struct berr err;
	char *s;

	if (size > 1024)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (window_parse(s, &w, &err) == 0)
		window_check(&w, 1, 1796601600000LL, &v);	/* 2026-12-07T00:00:00Z */
	free(s);
	return 0;
}
