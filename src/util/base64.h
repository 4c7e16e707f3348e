/*
 * base64.h - decoding standard base64 (RFC 4648), padded or not.
 */
#ifndef BERTH_UTIL_BASE64_H
#define BERTH_UTIL_BASE64_H

#include <stddef.h>

/*
 * Decode len characters of in into out (room for outlen bytes): the number
 * of bytes, or -1 when in is not base64 or does not fit.
 */
int base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

#endif
