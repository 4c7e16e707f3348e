/*
 * fuzz-known-hosts.c - libFuzzer target for known_hosts files, which the
 * host keys of berth's git remotes are checked against.
 */
#include <stddef.h>
#include <stdint.h>

#include "manifest/known_hosts.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[51] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2',
					       '5', '5', '1', '9', 0, 0, 0, 32 };

	known_hosts_check((const char *)data, size, "git.example.org", 22, "ssh-ed25519", key,
			  sizeof(key));
	known_hosts_check((const char *)data, size, "10.0.0.7", 2222, "ssh-ed25519", key,
			  sizeof(key));
	return 0;
}
