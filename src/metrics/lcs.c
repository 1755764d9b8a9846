/*
 * lcs.c — longest common subsequence with one DP row over the shorter side.
 */
#include "metrics/lcs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/pytext.h"
#include "metrics/word_ids.h"
#include "util/strmap.h"

#define LCS_VOCAB_HINT 64

int64_t
lm_lcs_sequence(const int32_t *a, size_t a_len, const int32_t *b, size_t b_len, LmError *err)
{
	int64_t    *row;
	int64_t		result;

	/* Keep the row over the shorter sequence. */
	if (b_len > a_len)
	{
		const int32_t *t = a;
		size_t		t_len = a_len;

		a = b;
		a_len = b_len;
		b = t;
		b_len = t_len;
	}
	if (b_len == 0)
		return 0;
	row = lm_calloc(b_len + 1, sizeof(int64_t), err);
	if (row == NULL)
		return -1;

	/* row[j] = LCS of a[0..i) and b[0..j); diagonal holds the previous row's row[j-1]. */
	for (size_t i = 0; i < a_len; i++)
	{
		int64_t		diagonal = 0;

		if (lm_check_cancel(err) != 0)
		{
			free(row);
			return -1;
		}
		for (size_t j = 1; j <= b_len; j++)
		{
			int64_t		above = row[j];

			if (a[i] == b[j - 1])
				row[j] = diagonal + 1;
			else if (row[j - 1] > row[j])
				row[j] = row[j - 1];
			diagonal = above;
		}
	}
	result = row[b_len];
	free(row);
	return result;
}

/* Split text into words and map them to ids in vocab. */
static int
word_sequence(LmStrMap *vocab, const char *text, int32_t **ids, size_t *n_ids, LmError *err)
{
	LmSpan	   *spans;
	size_t		n;

	*ids = NULL;
	*n_ids = 0;
	if (lm_py_split(text, strlen(text), &spans, &n, err) != 0)
		return -1;
	*ids = lm_malloc((n + 1) * sizeof(int32_t), err);
	if (*ids == NULL || lm_word_ids(vocab, text, spans, n, *ids, err) != 0)
	{
		free(spans);
		free(*ids);
		*ids = NULL;
		return -1;
	}
	free(spans);
	*n_ids = n;
	return 0;
}

int64_t
lm_lcs_words(const char *a, const char *b, LmError *err)
{
	LmStrMap   *vocab;
	int32_t    *a_ids = NULL;
	int32_t    *b_ids = NULL;
	size_t		a_len = 0;
	size_t		b_len = 0;
	int64_t		result = -1;

	if (a == NULL || b == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "LCS needs two texts");
	vocab = lm_strmap_new(LCS_VOCAB_HINT, err);
	if (vocab == NULL)
		return -1;
	if (word_sequence(vocab, a, &a_ids, &a_len, err) == 0 &&
		word_sequence(vocab, b, &b_ids, &b_len, err) == 0)
		result = lm_lcs_sequence(a_ids, a_len, b_ids, b_len, err);
	free(a_ids);
	free(b_ids);
	lm_strmap_free(vocab);
	return result;
}

int64_t
lm_lcs_chars(const char *a, const char *b, LmError *err)
{
	int32_t    *a_cps = NULL;
	int32_t    *b_cps = NULL;
	size_t		a_len = 0;
	size_t		b_len = 0;
	int64_t		result = -1;

	if (a == NULL || b == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "LCS needs two texts");
	if (lm_py_codepoints(a, strlen(a), false, &a_cps, &a_len, err) == 0 &&
		lm_py_codepoints(b, strlen(b), false, &b_cps, &b_len, err) == 0)
		result = lm_lcs_sequence(a_cps, a_len, b_cps, b_len, err);
	free(a_cps);
	free(b_cps);
	return result;
}
