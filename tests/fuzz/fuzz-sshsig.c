/*
 * fuzz-sshsig.c - libFuzzer target for the SSH signatures of signed
 * commits, read from a commit's gpgsig header before anything else.
 */
#include <stddef.h>
#include <stdint.h>

#include "manifest/sshsig.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshsig s = SSHSIG_INIT;
	struct berr err;

	if (sshsig_parse((const char *)data, size, &s, &err) == 0) {
		sshsig_key_supported(s.keytype);
		sshsig_verify(&s, data, size, &err);
	}
	sshsig_release(&s);
	return 0;
}
