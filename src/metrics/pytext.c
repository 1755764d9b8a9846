/*
 * pytext.c — Python str semantics (whitespace, splitting, code points).
 */
#include "metrics/pytext.h"

#include <stdlib.h>

#include "util/utf8.h"

/* Characters between checks for cancellation (a 16 MB text is read in about 100 ms). */
#define PYTEXT_CANCEL_CHECK 65536

/* Initial capacity of the growing arrays below. */
#define PYTEXT_MIN_CAPACITY 16

bool
lm_py_isspace(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
	switch (cp)
	{
		case 0x85:
		case 0xA0:
		case 0x1680:
		case 0x2028:
		case 0x2029:
		case 0x202F:
		case 0x205F:
		case 0x3000:
			return true;
		default:
			return cp >= 0x2000 && cp <= 0x200A;
	}
}

size_t
lm_py_next(const char *s, size_t len, int32_t *cp)
{
	int			n = lm_utf8_next(s, len, cp);

	return (size_t) (n < 0 ? -n : n);
}

size_t
lm_py_rstrip_len(const char *text, size_t len)
{
	size_t		end = 0;
	size_t		pos = 0;

	/* Scan forwards: UTF-8 cannot be decoded reliably backwards when invalid. */
	while (pos < len)
	{
		int32_t		cp;
		size_t		n = lm_py_next(text + pos, len - pos, &cp);

		pos += n;
		if (!lm_py_isspace(cp))
			end = pos;
	}
	return end;
}

int
lm_py_codepoints(const char *text, size_t len, bool drop_space,
				 int32_t **cps, size_t *n_cps, LmError *err)
{
	int32_t    *out = lm_malloc((len + 1) * sizeof(int32_t), err);
	size_t		n = 0;
	size_t		pos = 0;

	*cps = NULL;
	*n_cps = 0;
	if (out == NULL)
		return -1;
	for (size_t i = 0; pos < len; i++)
	{
		int32_t		cp;

		if (i % PYTEXT_CANCEL_CHECK == PYTEXT_CANCEL_CHECK - 1 && lm_check_cancel(err) != 0)
		{
			free(out);
			return -1;
		}
		pos += lm_py_next(text + pos, len - pos, &cp);
		if (drop_space && lm_py_isspace(cp))
			continue;
		out[n++] = cp;
	}
	*cps = out;
	*n_cps = n;
	return 0;
}

int
lm_py_split(const char *text, size_t len, LmSpan **spans, size_t *n_spans, LmError *err)
{
	LmSpan	   *out = NULL;
	size_t		n = 0;
	size_t		capacity = PYTEXT_MIN_CAPACITY;
	size_t		pos = 0;
	size_t		word_start = 0;
	bool		in_word = false;

	*spans = NULL;
	*n_spans = 0;
	out = lm_malloc(capacity * sizeof(LmSpan), err);
	if (out == NULL)
		return -1;
	for (size_t i = 0; pos <= len; i++)
	{
		int32_t		cp = ' ';
		size_t		step = 1;

		if (i % PYTEXT_CANCEL_CHECK == PYTEXT_CANCEL_CHECK - 1 && lm_check_cancel(err) != 0)
		{
			free(out);
			return -1;
		}
		if (pos < len)
			step = lm_py_next(text + pos, len - pos, &cp);
		if (lm_py_isspace(cp))
		{
			if (in_word)
			{
				if (n == capacity)
				{
					LmSpan	   *grown;

					capacity *= 2;
					grown = lm_realloc(out, capacity * sizeof(LmSpan), err);
					if (grown == NULL)
					{
						free(out);
						return -1;
					}
					out = grown;
				}
				out[n].start = word_start;
				out[n].len = pos - word_start;
				n++;
				in_word = false;
			}
		}
		else if (!in_word)
		{
			in_word = true;
			word_start = pos;
		}
		pos += step;
	}
	*spans = out;
	*n_spans = n;
	return 0;
}
