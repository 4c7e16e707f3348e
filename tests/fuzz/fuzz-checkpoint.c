/*
 * fuzz-checkpoint.c - libFuzzer target for signed ledger checkpoints,
 * which `berth ledger verify --checkpoint FILE` reads from wherever they
 * were kept: the parser, then the signature and the marks against an
 * empty ledger of its own.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "ledger/ledger.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ledger *l;
static char dir[] = "/tmp/berth-fuzz-checkpoint.XXXXXX";

static void
cleanup(void)
{
	static const char *const files[] = { "berth.db", "berth.db-wal", "berth.db-shm" };
	char path[sizeof(dir) + 16];
	size_t i;

	ledger_close(l);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static struct ledger *
empty_ledger(void)
{
	struct berr err;

	if (!l && mkdtemp(dir)) {
		atexit(cleanup);
		if (ledger_open(dir, &l, &err) < 0)
			l = NULL;
	}
	return l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_verify_result r;
	struct ledger *led = empty_ledger();
	struct berr err;
	json_t *cp = ledger_checkpoint_parse((const char *)data, size, &err);

	if (cp && led)
		ledger_checkpoint_check(led, cp, NULL, &r, &err);
	json_decref(cp);
	return 0;
}
