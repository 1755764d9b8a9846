/*
 * base64.h — decoding standard base64 (RFC 4648, "+/" alphabet, optional
 * "=" padding), as used for tokenizer.json's precompiled_charsmap.
 */
#ifndef LM_BASE64_H
#define LM_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

/* *out is malloc'd; fails on any character outside the alphabet. */
int			lm_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
							 LmError *err);

#endif
