/*
 * tokenize_13a.c — mteval-v13a tokenization (sacrebleu's Tokenizer13a).
 *
 * sacrebleu applies four regular expressions one after another, each with
 * re.sub (non-overlapping matches, left to right).  Each pattern looks at one
 * or two characters, and every character it names is ASCII, so scanning the
 * UTF-8 bytes gives exactly the result of scanning code points: a multi-byte
 * character never equals a digit, "." or ",", and only its last byte can
 * stand right before an ASCII character.
 */
#include "metrics/tokenize_13a.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/pytext.h"

typedef struct Replacement
{
	const char *from;
	const char *to;
} Replacement;

/* The language-independent part, applied in this order. */
static const Replacement UNESCAPES[] = {
	{"<skipped>", ""},
	{"-\n", ""},
	{"\n", " "},
	{"&quot;", "\""},
	{"&amp;", "&"},
	{"&lt;", "<"},
	{"&gt;", ">"},
};

#define N_UNESCAPES (sizeof(UNESCAPES) / sizeof(UNESCAPES[0]))

/* Growth of the regex steps: " c " triples a character, "x . " doubles two. */
#define SYMBOL_EXPANSION 3
#define PERIOD_EXPANSION 2

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* [\{-\~\[-\` -\&\(-\+\:-\@\/] of the first regex. */
static bool
is_spaced_symbol(unsigned char c)
{
	return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') ||
		(c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
		(c >= ':' && c <= '@') || c == '/';
}

static bool
is_period_or_comma(unsigned char c)
{
	return c == '.' || c == ',';
}

/* Python's str.replace(from, to) in place; to is never longer than from. */
static size_t
replace_all(char *buf, size_t len, const Replacement *r)
{
	size_t		from_len = strlen(r->from);
	size_t		to_len = strlen(r->to);
	size_t		in = 0;
	size_t		out = 0;

	while (in < len)
	{
		/* Jump to the next byte that can start a match (most texts have none). */
		const char *hit = memchr(buf + in, r->from[0], len - in);
		size_t		skip = hit == NULL ? len - in : (size_t) (hit - (buf + in));

		memmove(buf + out, buf + in, skip);
		out += skip;
		in += skip;
		if (in == len)
			break;
		if (len - in >= from_len && memcmp(buf + in, r->from, from_len) == 0)
		{
			memcpy(buf + out, r->to, to_len);
			out += to_len;
			in += from_len;
		}
		else
			buf[out++] = buf[in++];
	}
	return out;
}

/* re.sub(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])', r' \1 ', s) */
static size_t
space_symbols(const char *in, size_t len, char *out)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];

		if (is_spaced_symbol(c))
		{
			out[n++] = ' ';
			out[n++] = (char) c;
			out[n++] = ' ';
		}
		else
			out[n++] = (char) c;
	}
	return n;
}

/* re.sub(r'([^0-9])([\.,])', r'\1 \2 ', s) */
static size_t
split_period_after_nondigit(const char *in, size_t len, char *out)
{
	size_t		n = 0;
	size_t		i = 0;

	while (i < len)
	{
		if (i + 1 < len && !is_digit(in[i]) && is_period_or_comma(in[i + 1]))
		{
			out[n++] = in[i];
			out[n++] = ' ';
			out[n++] = in[i + 1];
			out[n++] = ' ';
			i += 2;
		}
		else
			out[n++] = in[i++];
	}
	return n;
}

/* re.sub(r'([\.,])([^0-9])', r' \1 \2', s) */
static size_t
split_period_before_nondigit(const char *in, size_t len, char *out)
{
	size_t		n = 0;
	size_t		i = 0;

	while (i < len)
	{
		if (i + 1 < len && is_period_or_comma(in[i]) && !is_digit(in[i + 1]))
		{
			out[n++] = ' ';
			out[n++] = in[i];
			out[n++] = ' ';
			out[n++] = in[i + 1];
			i += 2;
		}
		else
			out[n++] = in[i++];
	}
	return n;
}

/* re.sub(r'([0-9])(-)', r'\1 \2 ', s) */
static size_t
split_dash_after_digit(const char *in, size_t len, char *out)
{
	size_t		n = 0;
	size_t		i = 0;

	while (i < len)
	{
		if (i + 1 < len && is_digit(in[i]) && in[i + 1] == '-')
		{
			out[n++] = in[i];
			out[n++] = ' ';
			out[n++] = '-';
			out[n++] = ' ';
			i += 2;
		}
		else
			out[n++] = in[i++];
	}
	return n;
}

/* ' '.join(s.split()) into out; returns the length. */
static size_t
collapse_whitespace(const char *in, size_t len, char *out)
{
	size_t		n = 0;
	size_t		pos = 0;
	bool		pending_space = false;

	while (pos < len)
	{
		int32_t		cp;
		size_t		step = lm_py_next(in + pos, len - pos, &cp);

		if (lm_py_isspace(cp))
			pending_space = n > 0;
		else
		{
			if (pending_space)
				out[n++] = ' ';
			pending_space = false;
			memcpy(out + n, in + pos, step);
			n += step;
		}
		pos += step;
	}
	return n;
}

/* One regex step: reads len bytes of in, writes at most expansion * len to out. */
typedef size_t (*TokenizeStep) (const char *in, size_t len, char *out);

typedef struct StepSpec
{
	TokenizeStep fn;
	size_t		expansion;
} StepSpec;

static const StepSpec STEPS[] = {
	{space_symbols, SYMBOL_EXPANSION},
	{split_period_after_nondigit, PERIOD_EXPANSION},
	{split_period_before_nondigit, PERIOD_EXPANSION},
	{split_dash_after_digit, PERIOD_EXPANSION},
	{collapse_whitespace, 1},
};

#define N_STEPS (sizeof(STEPS) / sizeof(STEPS[0]))

char *
lm_tokenize_13a(const char *line, size_t len, size_t *out_len, LmError *err)
{
	char	   *text;
	size_t		n;

	*out_len = 0;
	if (len > SIZE_MAX / (2 * SYMBOL_EXPANSION) - 2)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text of %zu bytes is too long to tokenize", len);
		return NULL;
	}

	/* " {} ".format(unescaped line) */
	text = lm_malloc(len + 3, err);
	if (text == NULL)
		return NULL;
	text[0] = ' ';
	memcpy(text + 1, line, len);
	n = len;
	for (size_t i = 0; i < N_UNESCAPES; i++)
		n = replace_all(text + 1, n, &UNESCAPES[i]);
	text[n + 1] = ' ';
	n += 2;

	for (size_t i = 0; i < N_STEPS; i++)
	{
		char	   *next;

		if (n > (SIZE_MAX - 1) / STEPS[i].expansion)
		{
			free(text);
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text of %zu bytes is too long to tokenize", len);
			return NULL;
		}
		next = lm_malloc(n * STEPS[i].expansion + 1, err);
		if (next == NULL)
		{
			free(text);
			return NULL;
		}
		n = STEPS[i].fn(text, n, next);
		free(text);
		text = next;
		/* A step over a few megabytes takes tens of milliseconds. */
		if (lm_check_cancel(err) != 0)
		{
			free(text);
			return NULL;
		}
	}
	text[n] = '\0';
	*out_len = n;
	return text;
}
