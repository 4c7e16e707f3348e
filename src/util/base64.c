/*
 * base64.c - see base64.h. OpenSSL's EVP_DecodeBlock wants padded input
 * and counts the padding in its result: both are taken care of here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

int
base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	char *padded;
	size_t n = len, pad;
	int got;

	while (n && in[n - 1] == '=')
		n--;
	if (n % 4 == 1 || (n + 3) / 4 * 3 > outlen)
		return -1;
	pad = (4 - n % 4) % 4;
	padded = xmalloc(n + pad + 1);
	memcpy(padded, in, n);
	memset(padded + n, '=', pad);
	padded[n + pad] = '\0';
	got = EVP_DecodeBlock(out, (const unsigned char *)padded, (int)(n + pad));
	free(padded);
	if (got < 0 || (size_t)got < pad)
		return -1;
	return got - (int)pad;
}
