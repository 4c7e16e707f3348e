/*
 * fuzz-planfile.c - libFuzzer target for reading plan files, which
 * `berth apply FILE` takes from anywhere (CI artefacts, other machines).
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "plan/plan.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berr err;
	json_t *pf = plan_file_read((const char *)data, size, &err);

	json_decref(pf);
	return 0;
}
