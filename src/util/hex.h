/*
 * hex.h - bytes as lowercase hexadecimal.
 */
#ifndef BERTH_UTIL_HEX_H
#define BERTH_UTIL_HEX_H

#include <stddef.h>

/* Write the 2n hex digits of the n bytes at in, and a NUL, to out (2n + 1 bytes). */
void hex_encode(const void *in, size_t n, char *out);

#endif
