/*
 * fuzz-allowed-signers.c - libFuzzer target for allowed signers files,
 * which the keys of signed commits are looked up in.
 */
#include <stddef.h>
#include <stdint.h>

#include "manifest/allowed_signers.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* tests/data/sshsig/ed25519.pub */
	static const unsigned char key[51] = {
		0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32,
		0xbd, 0x47, 0xab, 0x41, 0xe5, 0xce, 0x31, 0x28, 0x24, 0xd4, 0xe2, 0x15, 0x8f,
		0x10, 0x6c, 0x2b, 0x10, 0x3d, 0x51, 0x30, 0xd6, 0x03, 0x52, 0x29, 0x41, 0xeb,
		0x32, 0x05, 0x54, 0x9f, 0xfa, 0xcc,
	};
	struct as_match m;
	struct berr err;

	allowed_signers_find("fuzz", (const char *)data, size, key, sizeof(key), "git",
			     INT64_C(1767225600), &m, &err);
	as_match_release(&m);
	return 0;
}
