/*
 * base64.c — standard base64 decoding.
 */
#include "util/base64.h"

#include <stdlib.h>

#define BASE64_BITS_PER_CHAR 6
#define BASE64_INVALID (-1)

static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return BASE64_INVALID;
}

int
lm_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len, LmError *err)
{
	uint8_t    *buf;
	size_t		used = 0;
	uint32_t	acc = 0;
	int			bits = 0;
	size_t		data_len = len;

	*out = NULL;
	*out_len = 0;
	/* Up to two '=' of padding at the end. */
	while (data_len > 0 && len - data_len < 2 && in[data_len - 1] == '=')
		data_len--;
	if (data_len % 4 == 1)
		return lm_fail(err, LM_ERR_CORRUPT, "base64 text of %zu characters is truncated", len);
	buf = lm_malloc(data_len / 4 * 3 + 3, err);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < data_len; i++)
	{
		int			v = base64_value((unsigned char) in[i]);

		if (v == BASE64_INVALID)
		{
			free(buf);
			return lm_fail(err, LM_ERR_CORRUPT,
						   "invalid base64 character 0x%02x at offset %zu",
						   (unsigned char) in[i], i);
		}
		acc = (acc << BASE64_BITS_PER_CHAR) | (uint32_t) v;
		bits += BASE64_BITS_PER_CHAR;
		if (bits >= 8)
		{
			bits -= 8;
			buf[used++] = (uint8_t) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out = buf;
	*out_len = used;
	return 0;
}
