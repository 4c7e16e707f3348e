/*
 * fuzz-place.c - libFuzzer target for placement requests, which a panel
 * sends to POST /v1/place on the admin listener.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sched/place.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berr err;
	char *plan = NULL;
	size_t count = 0;

	if (place_request_parse((const char *)data, size, &plan, &count, &err) == 0 &&
	    (!plan || !*plan || count < 1 || count > PLACE_MAX_COUNT))
		abort();	/* a request it accepts is always a usable one */
	free(plan);
	return 0;
}
