/*
 * utf8.c — UTF-8 decoding, encoding and validation.
 */
#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

static inline bool
is_continuation(unsigned char b)
{
	return (b & 0xC0) == 0x80;
}

int
lm_utf8_next(const char *str, size_t len, int32_t *cp)
{
	const unsigned char *s = (const unsigned char *) str;
	unsigned char b0 = s[0];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	int			need;
	int32_t		value;

	*cp = LM_REPLACEMENT_CHAR;
	if (b0 < 0x80)
	{
		*cp = b0;
		return 1;
	}
	if (b0 >= 0xC2 && b0 <= 0xDF)
	{
		need = 1;
		value = b0 & 0x1F;
	}
	else if (b0 >= 0xE0 && b0 <= 0xEF)
	{
		need = 2;
		value = b0 & 0x0F;
		if (b0 == 0xE0)
			lo = 0xA0;
		else if (b0 == 0xED)
			hi = 0x9F;
	}
	else if (b0 >= 0xF0 && b0 <= 0xF4)
	{
		need = 3;
		value = b0 & 0x07;
		if (b0 == 0xF0)
			lo = 0x90;
		else if (b0 == 0xF4)
			hi = 0x8F;
	}
	else
		return -1;

	/* The second byte has a restricted range; the others are plain continuations. */
	for (int i = 1; i <= need; i++)
	{
		unsigned char b;

		if ((size_t) i >= len)
			return -i;
		b = s[i];
		if (i == 1 ? (b < lo || b > hi) : !is_continuation(b))
			return -i;
		value = (value << 6) | (b & 0x3F);
	}
	*cp = value;
	return need + 1;
}

int
lm_utf8_encode(int32_t cp, char *out)
{
	unsigned char *o = (unsigned char *) out;

	if (cp < 0x80)
	{
		o[0] = (unsigned char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		o[0] = (unsigned char) (0xC0 | (cp >> 6));
		o[1] = (unsigned char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		o[0] = (unsigned char) (0xE0 | (cp >> 12));
		o[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char) (0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char) (0xF0 | (cp >> 18));
	o[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char) (0x80 | (cp & 0x3F));
	return 4;
}

bool
lm_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
	size_t		i = 0;

	while (i < len)
	{
		int32_t		cp;
		int			n;

		if ((unsigned char) s[i] < 0x80)
		{
			i++;
			continue;
		}
		n = lm_utf8_next(s + i, len - i, &cp);
		if (n < 0)
		{
			if (bad_offset)
				*bad_offset = i;
			return false;
		}
		i += n;
	}
	return true;
}

size_t
lm_utf8_count(const char *s, size_t len)
{
	size_t		count = 0;

	for (size_t i = 0; i < len; i++)
		if (!is_continuation((unsigned char) s[i]))
			count++;
	return count;
}

size_t
lm_utf8_last_len(const char *s, size_t len)
{
	size_t		n = 1;

	while (n < len && n < LM_UTF8_MAX_BYTES && is_continuation((unsigned char) s[len - n]))
		n++;
	return n;
}

int
lm_utf8_lossy(const char *s, size_t len, char **out, size_t *out_len, LmError *err)
{
	/* Each bad byte grows into at most three bytes (U+FFFD). */
	char	   *buf = lm_malloc(len * 3 + 1, err);
	size_t		used = 0;
	size_t		i = 0;

	if (buf == NULL)
		return -1;
	while (i < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(s + i, len - i, &cp);

		if (n > 0)
		{
			memcpy(buf + used, s + i, n);
			used += n;
			i += n;
		}
		else
		{
			used += lm_utf8_encode(LM_REPLACEMENT_CHAR, buf + used);
			i += -n;
		}
	}
	buf[used] = '\0';
	*out = buf;
	*out_len = used;
	return 0;
}
