/*
 * wordvec.c — the word-vector store and its queries (see wordvec.h).
 *
 * Rows live in two row-major matrices: the vectors as loaded and their
 * unit-length copies, so that cosines with every word are one sgemv.
 */
#include "classic/wordvec.h"

#include "nn/blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "classic/text_case.h"
#include "util/strmap.h"
#include "util/utf8.h"

#define WORDVEC_MIN_CAPACITY 64
#define WORDVEC_DUPLICATE (-2)

struct LmWordVectors
{
	int			dim;
	int32_t		count;
	size_t		capacity;		/* rows allocated */
	const char **words;			/* owned by the map */
	size_t	   *word_lens;
	float	   *vectors;		/* count x dim, as loaded */
	float	   *units;			/* count x dim, unit length (zero rows stay zero) */
	LmStrMap   *index;			/* word -> row */
};

LmWordVectors *
lm_wordvec_new(int dim, size_t expected_count, LmError *err)
{
	LmWordVectors *wv;

	if (dim < 1 || dim > LM_WORDVEC_MAX_DIM)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "vector dimension %d is outside 1..%d", dim,
				LM_WORDVEC_MAX_DIM);
		return NULL;
	}
	wv = lm_calloc(1, sizeof(LmWordVectors), err);
	if (wv == NULL)
		return NULL;
	wv->dim = dim;
	wv->index = lm_strmap_new(expected_count, err);
	if (wv->index == NULL)
	{
		free(wv);
		return NULL;
	}
	return wv;
}

void
lm_wordvec_free(LmWordVectors *wv)
{
	if (wv == NULL)
		return;
	free(wv->words);
	free(wv->word_lens);
	free(wv->vectors);
	free(wv->units);
	lm_strmap_free(wv->index);
	free(wv);
}

static int
grow(LmWordVectors *wv, LmError *err)
{
	size_t		cap = wv->capacity ? wv->capacity * 2 : WORDVEC_MIN_CAPACITY;
	size_t		row_bytes = sizeof(float) * (size_t) wv->dim;
	void	   *p;

	if (cap > (SIZE_MAX / 2) / row_bytes || cap > INT32_MAX)
		return lm_fail(err, LM_ERR_NO_MEMORY, "too many word vectors");
	if ((p = lm_realloc(wv->words, cap * sizeof(char *), err)) == NULL)
		return -1;
	wv->words = p;
	if ((p = lm_realloc(wv->word_lens, cap * sizeof(size_t), err)) == NULL)
		return -1;
	wv->word_lens = p;
	if ((p = lm_realloc(wv->vectors, cap * row_bytes, err)) == NULL)
		return -1;
	wv->vectors = p;
	if ((p = lm_realloc(wv->units, cap * row_bytes, err)) == NULL)
		return -1;
	wv->units = p;
	wv->capacity = cap;
	return 0;
}

int32_t
lm_wordvec_add(LmWordVectors *wv, const char *word, size_t len, const float *vec,
			   LmError *err)
{
	int32_t		existing;
	int32_t		row = wv->count;
	float	   *dst;
	float	   *unit;
	double		norm = 0.0;

	if (lm_strmap_get(wv->index, word, len, &existing))
		return WORDVEC_DUPLICATE;
	if ((size_t) row == wv->capacity && grow(wv, err) < 0)
		return -1;
	if (lm_strmap_put(wv->index, word, len, row, &wv->words[row], err) < 0)
		return -1;
	wv->word_lens[row] = len;
	dst = wv->vectors + (size_t) row * wv->dim;
	unit = wv->units + (size_t) row * wv->dim;
	memcpy(dst, vec, sizeof(float) * (size_t) wv->dim);
	for (int j = 0; j < wv->dim; j++)
		norm += (double) dst[j] * dst[j];
	norm = sqrt(norm);
	for (int j = 0; j < wv->dim; j++)
		unit[j] = norm > 0 && isfinite(norm) ? (float) (dst[j] / norm) : 0.0f;
	wv->count++;
	return row;
}

int32_t
lm_wordvec_count(const LmWordVectors *wv)
{
	return wv->count;
}

int
lm_wordvec_dim(const LmWordVectors *wv)
{
	return wv->dim;
}

const char *
lm_wordvec_word(const LmWordVectors *wv, int32_t i, size_t *len)
{
	if (i < 0 || i >= wv->count)
		return NULL;
	if (len != NULL)
		*len = wv->word_lens[i];
	return wv->words[i];
}

const float *
lm_wordvec_vector(const LmWordVectors *wv, int32_t i)
{
	if (i < 0 || i >= wv->count)
		return NULL;
	return wv->vectors + (size_t) i * wv->dim;
}

const float *
lm_wordvec_unit_vector(const LmWordVectors *wv, int32_t i)
{
	if (i < 0 || i >= wv->count)
		return NULL;
	return wv->units + (size_t) i * wv->dim;
}

int32_t
lm_wordvec_lookup(const LmWordVectors *wv, const char *word, size_t len)
{
	int32_t		row;

	return lm_strmap_get(wv->index, word, len, &row) ? row : -1;
}

/* ---------------------------------------------------------------- */
/* Nearest neighbours                                               */
/* ---------------------------------------------------------------- */

/* Keep the k best hits in a min-heap on score. */
static void
hits_push(LmWordVecHit *heap, int *n, int k, int32_t index, float score)
{
	int			i;

	if (*n == k)
	{
		if (!(score > heap[0].score))
			return;
		i = 0;
		heap[0].index = index;
		heap[0].score = score;
		for (;;)
		{
			int			l = 2 * i + 1,
						r = l + 1,
						s = i;
			LmWordVecHit tmp;

			if (l < *n && heap[l].score < heap[s].score)
				s = l;
			if (r < *n && heap[r].score < heap[s].score)
				s = r;
			if (s == i)
				return;
			tmp = heap[i];
			heap[i] = heap[s];
			heap[s] = tmp;
			i = s;
		}
	}
	i = (*n)++;
	heap[i].index = index;
	heap[i].score = score;
	while (i > 0 && heap[(i - 1) / 2].score > heap[i].score)
	{
		LmWordVecHit tmp = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static int
compare_hits_desc(const void *a, const void *b)
{
	const LmWordVecHit *x = a;
	const LmWordVecHit *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index < y->index ? -1 : (x->index > y->index);
}

static bool
is_excluded(int32_t i, const int32_t *exclude, int n_exclude)
{
	for (int e = 0; e < n_exclude; e++)
		if (exclude[e] == i)
			return true;
	return false;
}

int
lm_wordvec_most_similar_vector(const LmWordVectors *wv, const float *query,
							   const int32_t *exclude, int n_exclude, int k,
							   LmWordVecHit *out, LmError *err)
{
	int			dim = wv->dim;
	float	   *unit_query;
	float	   *scores;
	double		norm = 0.0;
	int			n = 0;

	if (k <= 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "k must be at least 1, not %d", k);
	if (wv->count == 0)
		return 0;
	unit_query = lm_malloc(sizeof(float) * (size_t) dim, err);
	scores = lm_malloc(sizeof(float) * (size_t) wv->count, err);
	if (unit_query == NULL || scores == NULL)
	{
		free(unit_query);
		free(scores);
		return -1;
	}
	for (int j = 0; j < dim; j++)
		norm += (double) query[j] * query[j];
	norm = sqrt(norm);
	for (int j = 0; j < dim; j++)
		unit_query[j] = norm > 0 ? (float) (query[j] / norm) : 0.0f;
	lm_sgemv(CblasRowMajor, CblasNoTrans, wv->count, dim, 1.0f, wv->units, dim,
				unit_query, 1, 0.0f, scores, 1);
	for (int32_t i = 0; i < wv->count; i++)
		if (!is_excluded(i, exclude, n_exclude))
			hits_push(out, &n, k, i, scores[i]);
	qsort(out, (size_t) n, sizeof(LmWordVecHit), compare_hits_desc);
	free(unit_query);
	free(scores);
	return n;
}

static int32_t
require_word(const LmWordVectors *wv, const char *word, LmError *err)
{
	int32_t		row = lm_wordvec_lookup(wv, word, strlen(word));

	if (row < 0)
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word \"%s\" is not in the vocabulary", word);
	return row;
}

int
lm_wordvec_most_similar(const LmWordVectors *wv,
						const char *const *positive, int n_positive,
						const char *const *negative, int n_negative,
						LmWordVecCombine combine, int k, LmWordVecHit *out, LmError *err)
{
	int			n_terms = n_positive + n_negative;
	int32_t    *rows;
	float	   *sum;
	int			rc = -1;

	if (n_positive < 0 || n_negative < 0 || n_terms == 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "most_similar needs at least one word");
	rows = lm_malloc(sizeof(int32_t) * (size_t) n_terms, err);
	sum = lm_calloc((size_t) wv->dim, sizeof(float), err);
	if (rows == NULL || sum == NULL)
		goto done;
	for (int t = 0; t < n_terms; t++)
	{
		bool		is_positive = t < n_positive;
		const char *word = is_positive ? positive[t] : negative[t - n_positive];
		const float *v;

		rows[t] = require_word(wv, word, err);
		if (rows[t] < 0)
			goto done;
		v = combine == LM_WORDVEC_COMBINE_UNIT ? lm_wordvec_unit_vector(wv, rows[t])
			: lm_wordvec_vector(wv, rows[t]);
		for (int j = 0; j < wv->dim; j++)
			sum[j] += is_positive ? v[j] : -v[j];
	}
	/* gensim divides by the count; no cosine changes */
	rc = lm_wordvec_most_similar_vector(wv, sum, rows, n_terms, k, out, err);

done:
	free(rows);
	free(sum);
	return rc;
}

int
lm_wordvec_analogy(const LmWordVectors *wv, const char *a, const char *b, const char *c,
				   LmWordVecCombine combine, int k, LmWordVecHit *out, LmError *err)
{
	const char *positive[2] = {b, c};
	const char *negative[1] = {a};

	return lm_wordvec_most_similar(wv, positive, 2, negative, 1, combine, k, out, err);
}

void
lm_wordvec_analogy_query(const float *a, const float *b, const float *c, int dim,
						 LmWordVecCombine combine, float *out)
{
	const float *vecs[3] = {a, b, c};
	static const double sign[3] = {-1, 1, 1};	/* b - a + c */

	memset(out, 0, sizeof(float) * dim);
	for (int w = 0; w < 3; w++)
	{
		double		norm = 0;

		for (int i = 0; i < dim; i++)
			norm += (double) vecs[w][i] * vecs[w][i];
		norm = (combine == LM_WORDVEC_COMBINE_UNIT && norm > 0) ? sqrt(norm) : 1.0;
		for (int i = 0; i < dim; i++)
			out[i] += (float) (sign[w] * vecs[w][i] / norm);
	}
}

int
lm_wordvec_similarity(const LmWordVectors *wv, const char *w1, const char *w2,
					  double *similarity, LmError *err)
{
	int32_t		r1 = require_word(wv, w1, err);
	int32_t		r2 = r1 < 0 ? -1 : require_word(wv, w2, err);
	const float *u1,
			   *u2;
	double		dot = 0.0;

	if (r1 < 0 || r2 < 0)
		return -1;
	u1 = lm_wordvec_unit_vector(wv, r1);
	u2 = lm_wordvec_unit_vector(wv, r2);
	for (int j = 0; j < wv->dim; j++)
		dot += (double) u1[j] * u2[j];
	*similarity = dot;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Mean vector of a text                                            */
/* ---------------------------------------------------------------- */

static bool
is_word_char(int32_t cp)
{
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
		case UTF8PROC_CATEGORY_ND:
		case UTF8PROC_CATEGORY_NL:
		case UTF8PROC_CATEGORY_NO:
		case UTF8PROC_CATEGORY_PC:
			return true;
		default:
			return false;
	}
}

static bool
is_space_char(int32_t cp)
{
	utf8proc_category_t cat = utf8proc_category(cp);

	return (cp >= 0x09 && cp <= 0x0D) || cat == UTF8PROC_CATEGORY_ZS ||
		cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

/* Row of a token, as is or lowercased; -1 when absent. */
static int32_t
lookup_token(const LmWordVectors *wv, const char *tok, size_t len, LmError *err)
{
	int32_t		row = lm_wordvec_lookup(wv, tok, len);
	char	   *lower;
	size_t		lower_len;

	if (row >= 0)
		return row;
	if (lm_text_lower(tok, len, &lower, &lower_len, err) < 0)
		return -2;
	row = lm_wordvec_lookup(wv, lower, lower_len);
	free(lower);
	return row;
}

int
lm_wordvec_text_mean(const LmWordVectors *wv, const char *text, size_t len,
					 bool pre_normalize, float *out, int *n_found, LmError *err)
{
	size_t		pos = 0;
	int			found = 0;

	memset(out, 0, sizeof(float) * (size_t) wv->dim);
	while (pos < len)
	{
		size_t		start = pos;
		int32_t		cp;
		int			step = lm_utf8_next(text + pos, len - pos, &cp);
		int32_t		row;

		pos += step < 0 ? (size_t) -step : (size_t) step;
		if (is_space_char(cp))
			continue;
		if (is_word_char(cp))
		{
			while (pos < len)
			{
				step = lm_utf8_next(text + pos, len - pos, &cp);
				if (!is_word_char(cp))
					break;
				pos += step < 0 ? (size_t) -step : (size_t) step;
			}
		}
		row = lookup_token(wv, text + start, pos - start, err);
		if (row == -2 || lm_check_cancel(err) < 0)
			return -1;
		if (row < 0)
			continue;
		{
			const float *v = pre_normalize ? lm_wordvec_unit_vector(wv, row)
				: lm_wordvec_vector(wv, row);

			for (int j = 0; j < wv->dim; j++)
				out[j] += v[j];
			found++;
		}
	}
	if (found > 0)
		for (int j = 0; j < wv->dim; j++)
			out[j] /= (float) found;
	if (n_found != NULL)
		*n_found = found;
	return 0;
}
