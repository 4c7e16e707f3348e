/*
 * fuzz-auth.c - libFuzzer target for what a client of the admin API sends
 * about its token: the Authorization header's value, and a query argument
 * ("key=value": the bytes up to the first '=', then the rest) checked for
 * a token sent in the URL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/tokens.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[TOKEN_ID_LEN + 1], *s, *eq;
	unsigned char digest[32];

	/* not NUL-terminated: the parser must keep to size */
	if (token_parse_header((const char *)data, size, id, digest) == TOKEN_OK &&
	    (strlen(id) != TOKEN_ID_LEN || strncmp(id, "t-", 2)))
		abort();
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	eq = strchr(s, '=');
	if (eq)
		*eq++ = '\0';
	token_in_query(s, eq);
	free(s);
	return 0;
}
