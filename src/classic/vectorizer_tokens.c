/*
 * vectorizer_tokens.c — scikit-learn's word analyzer: lowercase, find the
 * tokens with the token pattern (re.findall), then word n-grams.
 *
 * The default pattern (?u)\b\w\w+\b is written out as an explicit class so
 * that it means what Python's \w means (letters, numbers, "_"; no
 * combining marks) whatever PCRE2 version is installed: PCRE2 10.43 and
 * later add marks and connector punctuation to \w under UCP.
 */
#include "classic/vectorizer_internal.h"

#include <stdlib.h>
#include <string.h>

#include "classic/text_case.h"
#include "util/utf8.h"

#define PY_WORD_CLASS "[\\p{L}\\p{N}_]"
#define DEFAULT_TOKEN_PATTERN \
	"(?<!" PY_WORD_CLASS ")" PY_WORD_CLASS "{2,}(?!" PY_WORD_CLASS ")"
#define PYTHON_UNICODE_FLAG "(?u)"
#define PCRE2_ERROR_TEXT_MAX 256
/* Check for cancellation once per this many tokens or matches. */
#define CANCEL_CHECK_INTERVAL 65536

typedef struct Span
{
	size_t		start;
	size_t		len;
} Span;

int
vec_analyzer_init(VecAnalyzer *a, const LmVectorizerOptions *o, LmError *err)
{
	const char *pattern = o->token_pattern ? o->token_pattern : DEFAULT_TOKEN_PATTERN;
	int			error_code;
	PCRE2_SIZE	error_offset;
	uint32_t	captures = 0;

	memset(a, 0, sizeof(*a));
	a->lowercase = o->lowercase;
	a->ngram_min = o->ngram_min;
	a->ngram_max = o->ngram_max;
	/* Python str patterns are Unicode already; PCRE2 does not know (?u) */
	if (strncmp(pattern, PYTHON_UNICODE_FLAG, strlen(PYTHON_UNICODE_FLAG)) == 0)
		pattern += strlen(PYTHON_UNICODE_FLAG);
	a->pattern = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
							   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
							   &error_code, &error_offset, NULL);
	if (a->pattern == NULL)
	{
		PCRE2_UCHAR message[PCRE2_ERROR_TEXT_MAX];

		pcre2_get_error_message(error_code, message, sizeof(message));
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "invalid token pattern at offset %zu: %s", (size_t) error_offset,
					   (const char *) message);
	}
	pcre2_pattern_info(a->pattern, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures > 1)
	{
		vec_analyzer_free(a);
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "token pattern has %u capturing groups; at most one is allowed", captures);
	}
	a->use_group = captures == 1;
	pcre2_jit_compile(a->pattern, PCRE2_JIT_COMPLETE);	/* optional speed-up */
	return 0;
}

void
vec_analyzer_free(VecAnalyzer *a)
{
	pcre2_code_free(a->pattern);
	a->pattern = NULL;
}

static int
push_span(Span **spans, size_t *n, size_t *cap, size_t start, size_t len, LmError *err)
{
	if (*n == *cap)
	{
		size_t		grown_cap = *cap ? *cap * 2 : 64;
		Span	   *grown = lm_realloc(*spans, grown_cap * sizeof(Span), err);

		if (grown == NULL)
			return -1;
		*spans = grown;
		*cap = grown_cap;
	}
	(*spans)[*n].start = start;
	(*spans)[*n].len = len;
	(*n)++;
	return 0;
}

/* re.findall: every non-overlapping match (or its group), left to right. */
static int
find_tokens(const VecAnalyzer *a, const char *s, size_t len, Span **spans, size_t *n,
			LmError *err)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(a->pattern, NULL);
	size_t		cap = 0;
	size_t		pos = 0;
	int			rc = 0;

	if (md == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory for regex match data");
	*spans = NULL;
	*n = 0;
	for (size_t matches = 0; pos <= len; matches++)
	{
		int			m;
		PCRE2_SIZE *ov;
		int			g = a->use_group ? 1 : 0;

		if (matches % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 &&
			lm_check_cancel(err) != 0)
		{
			rc = -1;
			break;
		}
		m = pcre2_match(a->pattern, (PCRE2_SPTR) s, len, pos, 0, md, NULL);
		if (m == PCRE2_ERROR_NOMATCH)
			break;
		if (m < 0)
		{
			PCRE2_UCHAR message[256];

			pcre2_get_error_message(m, message, sizeof(message));
			rc = lm_fail(err, LM_ERR_INVALID_ARGUMENT, "token pattern failed on the text: %s", (char *) message);
			lm_hint(err, "Simplify token_pattern (PCRE2 error %d).", m);
			break;
		}
		ov = pcre2_get_ovector_pointer(md);
		if (ov[2 * g] != PCRE2_UNSET &&
			push_span(spans, n, &cap, ov[2 * g], ov[2 * g + 1] - ov[2 * g], err) < 0)
		{
			rc = -1;
			break;
		}
		if (ov[1] > pos)
			pos = ov[1];
		else
		{
			/* empty match: step over one character */
			int32_t		cp;
			int			step;

			if (pos >= len)
				break;
			step = lm_utf8_next(s + pos, len - pos, &cp);
			pos += step < 0 ? (size_t) -step : (size_t) step;
		}
	}
	pcre2_match_data_free(md);
	if (rc < 0)
	{
		free(*spans);
		*spans = NULL;
	}
	return rc;
}

/* sklearn's _word_ngrams: unigrams first (if wanted), then n = 2.. joined by spaces. */
static int
emit_ngrams(const VecAnalyzer *a, const char *s, const Span *tokens, size_t n_tokens,
			VecTermFn fn, void *ctx, LmError *err)
{
	int			min_n = a->ngram_min;
	char	   *joined = NULL;
	size_t		joined_cap = 0;
	int			rc = 0;

	if (min_n == 1)
	{
		for (size_t i = 0; i < n_tokens; i++)
		{
			if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
				return -1;
			if (fn(ctx, s + tokens[i].start, tokens[i].len, err) < 0)
				return -1;
		}
		min_n = 2;
	}
	for (int n = min_n; n <= a->ngram_max && (size_t) n <= n_tokens && rc == 0; n++)
	{
		for (size_t i = 0; i + (size_t) n <= n_tokens && rc == 0; i++)
		{
			size_t		total = 0;

			if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 &&
				(rc = lm_check_cancel(err)) != 0)
				break;
			for (int k = 0; k < n; k++)
				total += tokens[i + k].len + 1;
			if (total > joined_cap)
			{
				char	   *grown = lm_realloc(joined, total, err);

				if (grown == NULL)
				{
					rc = -1;
					break;
				}
				joined = grown;
				joined_cap = total;
			}
			total = 0;
			for (int k = 0; k < n; k++)
			{
				if (k > 0)
					joined[total++] = ' ';
				memcpy(joined + total, s + tokens[i + k].start, tokens[i + k].len);
				total += tokens[i + k].len;
			}
			rc = fn(ctx, joined, total, err);
		}
		if (rc == 0)
			rc = lm_check_cancel(err);
	}
	free(joined);
	return rc;
}

int
vec_analyze(const VecAnalyzer *a, const char *text, size_t len, VecTermFn fn, void *ctx,
			LmError *err)
{
	char	   *lowered = NULL;
	const char *s = text;
	Span	   *tokens = NULL;
	size_t		n_tokens = 0;
	int			rc;

	if (a->lowercase)
	{
		if (lm_text_lower(text, len, &lowered, &len, err) < 0)
			return -1;
		s = lowered;
	}
	rc = find_tokens(a, s, len, &tokens, &n_tokens, err);
	if (rc == 0)
		rc = emit_ngrams(a, s, tokens, n_tokens, fn, ctx, err);
	free(tokens);
	free(lowered);
	return rc;
}
