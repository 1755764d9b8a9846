/*
 * text_case.c — Python's str.lower() for UTF-8 text (see text_case.h).
 */
#include "classic/text_case.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/utf8.h"

#define CAPITAL_I_WITH_DOT 0x0130
#define COMBINING_DOT_ABOVE 0x0307
#define CAPITAL_SIGMA 0x03A3
#define SMALL_SIGMA 0x03C3
#define SMALL_FINAL_SIGMA 0x03C2
#define LOWER_MAX_GROWTH 3		/* U+0130 (2 bytes) becomes 3 bytes */
/* Check for cancellation once per this many characters. */
#define CANCEL_CHECK_INTERVAL 65536

/* Cased: has a case mapping or is an uppercase/lowercase/titlecase letter. */
static bool
is_cased(int32_t cp)
{
	utf8proc_category_t cat = utf8proc_category(cp);

	return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
		cat == UTF8PROC_CATEGORY_LT || utf8proc_tolower(cp) != cp ||
		utf8proc_toupper(cp) != cp;
}

/* Case_Ignorable: marks, format characters, modifiers and word-internal punctuation. */
static bool
is_case_ignorable(int32_t cp)
{
	static const int32_t mid_letter[] = {0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x5F4, 0x2018,
	0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
	utf8proc_category_t cat = utf8proc_category(cp);

	if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME ||
		cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_LM ||
		cat == UTF8PROC_CATEGORY_SK)
		return true;
	for (size_t i = 0; i < sizeof(mid_letter) / sizeof(mid_letter[0]); i++)
		if (cp == mid_letter[i])
			return true;
	return false;
}

/* Decode the character before byte offset pos (valid UTF-8 assumed), or -1. */
static int32_t
char_before(const char *s, size_t *pos)
{
	size_t		p = *pos;
	int32_t		cp;

	if (p == 0)
		return -1;
	do
		p--;
	while (p > 0 && ((unsigned char) s[p] & 0xC0) == 0x80 && *pos - p < LM_UTF8_MAX_BYTES);
	if (lm_utf8_next(s + p, *pos - p, &cp) < 0)
		cp = LM_REPLACEMENT_CHAR;
	*pos = p;
	return cp;
}

/* Python's Final_Sigma: a cased letter before, none after (skipping case-ignorables). */
static bool
is_final_sigma(const char *s, size_t len, size_t start, size_t end)
{
	size_t		pos = start;
	int32_t		cp;
	bool		cased_before = false;

	while ((cp = char_before(s, &pos)) >= 0)
	{
		if (!is_case_ignorable(cp))
		{
			cased_before = is_cased(cp);
			break;
		}
	}
	if (!cased_before)
		return false;
	pos = end;
	while (pos < len)
	{
		int			n = lm_utf8_next(s + pos, len - pos, &cp);

		pos += n < 0 ? (size_t) -n : (size_t) n;
		if (!is_case_ignorable(cp))
			return !is_cased(cp);
	}
	return true;
}

int
lm_text_lower(const char *s, size_t len, char **out, size_t *out_len, LmError *err)
{
	char	   *buf = lm_malloc(len * LOWER_MAX_GROWTH / 2 + LM_UTF8_MAX_BYTES + 1, err);
	size_t		capacity = len * LOWER_MAX_GROWTH / 2 + LM_UTF8_MAX_BYTES + 1;
	size_t		n = 0;
	size_t		pos = 0;

	if (buf == NULL)
		return -1;
	for (size_t chars = 0; pos < len; chars++)
	{
		int32_t		cp;
		int			step = lm_utf8_next(s + pos, len - pos, &cp);

		if (chars % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
		{
			free(buf);
			return -1;
		}

		if (n + 2 * LM_UTF8_MAX_BYTES >= capacity)
		{
			char	   *grown = lm_realloc(buf, capacity * 2, err);

			if (grown == NULL)
			{
				free(buf);
				return -1;
			}
			buf = grown;
			capacity *= 2;
		}
		if (step < 0)
		{
			memcpy(buf + n, s + pos, (size_t) -step);	/* invalid bytes pass through */
			n += (size_t) -step;
			pos += (size_t) -step;
			continue;
		}
		if (cp == CAPITAL_I_WITH_DOT)
		{
			n += (size_t) lm_utf8_encode('i', buf + n);
			n += (size_t) lm_utf8_encode(COMBINING_DOT_ABOVE, buf + n);
		}
		else if (cp == CAPITAL_SIGMA)
			n += (size_t) lm_utf8_encode(is_final_sigma(s, len, pos, pos + (size_t) step) ?
										 SMALL_FINAL_SIGMA : SMALL_SIGMA, buf + n);
		else
			n += (size_t) lm_utf8_encode(utf8proc_tolower(cp), buf + n);
		pos += (size_t) step;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}
