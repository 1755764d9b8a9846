/*
 * vectorizer.c — fitting a vocabulary (with document frequencies and idf)
 * and turning a text into bag-of-words or TF-IDF rows (see vectorizer.h).
 *
 * While fitting only per-term document and total frequencies are kept
 * (not the count matrix): they are all that min_df, max_df, max_features
 * and idf need.
 */
#include "classic/vectorizer_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"

#define FIT_MIN_CAPACITY 256
/* Check for cancellation once per this many terms. */
#define CANCEL_CHECK_INTERVAL 65536

typedef struct FitTerm
{
	const char *term;			/* owned by the fitting map */
	size_t		len;
	int64_t		df;				/* documents containing the term */
	int64_t		tf;				/* occurrences over all documents */
	int64_t		last_doc;		/* last document that counted towards df */
} FitTerm;

struct LmVectorizer
{
	LmVectorizerOptions options;
	char	   *token_pattern;	/* our copy */
	VecAnalyzer analyzer;
	int64_t		n_docs;
	bool		fitted;
	/* while fitting */
	LmStrMap   *fit_map;
	FitTerm    *fit_terms;
	size_t		fit_count;
	size_t		fit_capacity;
	/* once fitted */
	int32_t		n_terms;
	const char **terms;			/* owned by vocab, sorted by code point */
	size_t	   *term_lens;
	double	   *idf;
	LmStrMap   *vocab;
};

void
lm_vectorizer_default_options(LmVectorizerOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->lowercase = true;
	o->token_pattern = NULL;
	o->ngram_min = 1;
	o->ngram_max = 1;
	o->min_df = 1;
	o->min_df_is_fraction = false;
	o->max_df = 1.0;
	o->max_df_is_fraction = true;
	o->max_features = 0;
	o->binary = false;
	o->use_idf = true;
	o->smooth_idf = true;
	o->sublinear_tf = false;
	o->norm = LM_VECTORIZER_NORM_L2;
}

static int
check_options(const LmVectorizerOptions *o, LmError *err)
{
	if (o->ngram_min < 1 || o->ngram_max < o->ngram_min || o->ngram_max > LM_VECTORIZER_MAX_NGRAM)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "ngram_range (%d, %d) is invalid: need 1 <= min <= max <= %d",
					   o->ngram_min, o->ngram_max, LM_VECTORIZER_MAX_NGRAM);
	if (!(o->min_df >= 0) || !(o->max_df >= 0) ||
		(o->min_df_is_fraction && o->min_df > 1.0) ||
		(o->max_df_is_fraction && o->max_df > 1.0))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "min_df and max_df must be counts >= 0 or proportions in [0, 1]");
	if (o->max_features < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_features must be positive or 0 (no limit)");
	if (o->norm != LM_VECTORIZER_NORM_NONE && o->norm != LM_VECTORIZER_NORM_L1 &&
		o->norm != LM_VECTORIZER_NORM_L2)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "unknown norm %d", (int) o->norm);
	return 0;
}

LmVectorizer *
lm_vectorizer_new(const LmVectorizerOptions *options, LmError *err)
{
	LmVectorizer *v;

	if (check_options(options, err) < 0)
		return NULL;
	v = lm_calloc(1, sizeof(LmVectorizer), err);
	if (v == NULL)
		return NULL;
	v->options = *options;
	if (options->token_pattern != NULL)
	{
		v->token_pattern = lm_strndup(options->token_pattern, strlen(options->token_pattern), err);
		if (v->token_pattern == NULL)
			goto fail;
		v->options.token_pattern = v->token_pattern;
	}
	if (vec_analyzer_init(&v->analyzer, &v->options, err) < 0)
		goto fail;
	v->fit_map = lm_strmap_new(FIT_MIN_CAPACITY, err);
	if (v->fit_map == NULL)
		goto fail;
	return v;

fail:
	lm_vectorizer_free(v);
	return NULL;
}

static void
free_fitting_state(LmVectorizer *v)
{
	lm_strmap_free(v->fit_map);
	free(v->fit_terms);
	v->fit_map = NULL;
	v->fit_terms = NULL;
	v->fit_count = v->fit_capacity = 0;
}

void
lm_vectorizer_free(LmVectorizer *v)
{
	if (v == NULL)
		return;
	free_fitting_state(v);
	vec_analyzer_free(&v->analyzer);
	free(v->token_pattern);
	free(v->terms);
	free(v->term_lens);
	free(v->idf);
	lm_strmap_free(v->vocab);
	free(v);
}

/* ---------------------------------------------------------------- */
/* Fitting                                                          */
/* ---------------------------------------------------------------- */

static int
count_fit_term(void *ctx, const char *term, size_t len, LmError *err)
{
	LmVectorizer *v = ctx;
	int32_t		id;
	FitTerm    *t;

	if (!lm_strmap_get(v->fit_map, term, len, &id))
	{
		if (v->fit_count == v->fit_capacity)
		{
			size_t		cap = v->fit_capacity ? v->fit_capacity * 2 : FIT_MIN_CAPACITY;
			FitTerm    *grown;

			if (cap > INT32_MAX)
				return lm_fail(err, LM_ERR_NO_MEMORY, "vocabulary too large");
			grown = lm_realloc(v->fit_terms, cap * sizeof(FitTerm), err);
			if (grown == NULL)
				return -1;
			v->fit_terms = grown;
			v->fit_capacity = cap;
		}
		id = (int32_t) v->fit_count;
		t = &v->fit_terms[id];
		if (lm_strmap_put(v->fit_map, term, len, id, &t->term, err) < 0)
			return -1;
		t->len = len;
		t->df = t->tf = 0;
		t->last_doc = -1;
		v->fit_count++;
	}
	t = &v->fit_terms[id];
	t->tf++;
	if (t->last_doc != v->n_docs)
	{
		t->df++;
		t->last_doc = v->n_docs;
	}
	return 0;
}

int
lm_vectorizer_add_document(LmVectorizer *v, const char *text, size_t len, LmError *err)
{
	if (v->fitted)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the vectorizer is already fitted");
	if (vec_analyze(&v->analyzer, text, len, count_fit_term, v, err) < 0)
		return -1;
	v->n_docs++;
	return lm_check_cancel(err);
}

static int
compare_terms(const char *a, size_t alen, const char *b, size_t blen)
{
	int			c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : (alen > blen);
}

static int
compare_fit_by_term(const void *a, const void *b)
{
	const FitTerm *x = *(const FitTerm *const *) a;
	const FitTerm *y = *(const FitTerm *const *) b;

	return compare_terms(x->term, x->len, y->term, y->len);
}

/* Most frequent first; equal frequencies keep vocabulary order. */
static int
compare_fit_by_tf(const void *a, const void *b)
{
	const FitTerm *x = *(const FitTerm *const *) a;
	const FitTerm *y = *(const FitTerm *const *) b;

	if (x->tf != y->tf)
		return x->tf > y->tf ? -1 : 1;
	return compare_terms(x->term, x->len, y->term, y->len);
}

static int
set_vocabulary(LmVectorizer *v, const char *const *terms, const size_t *lens,
			   const double *idf, int32_t n, LmError *err)
{
	v->vocab = lm_strmap_new((size_t) n, err);
	v->terms = lm_malloc(sizeof(char *) * ((size_t) n + 1), err);
	v->term_lens = lm_malloc(sizeof(size_t) * ((size_t) n + 1), err);
	v->idf = lm_malloc(sizeof(double) * ((size_t) n + 1), err);
	if (v->vocab == NULL || v->terms == NULL || v->term_lens == NULL || v->idf == NULL)
		return -1;
	for (int32_t i = 0; i < n; i++)
	{
		int32_t		existing;

		if (lm_strmap_get(v->vocab, terms[i], lens[i], &existing))
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "term \"%.*s\" appears twice in the vocabulary",
						   (int) (lens[i] > 100 ? 100 : lens[i]), terms[i]);
		if (lm_strmap_put(v->vocab, terms[i], lens[i], i, &v->terms[i], err) < 0)
			return -1;
		v->term_lens[i] = lens[i];
		v->idf[i] = idf ? idf[i] : 1.0;
	}
	v->n_terms = n;
	v->fitted = true;
	return 0;
}

int
lm_vectorizer_finish(LmVectorizer *v, LmError *err)
{
	const LmVectorizerOptions *o = &v->options;
	double		max_docs = o->max_df_is_fraction ? o->max_df * (double) v->n_docs : o->max_df;
	double		min_docs = o->min_df_is_fraction ? o->min_df * (double) v->n_docs : o->min_df;
	const FitTerm **order = NULL;
	const char **terms = NULL;
	size_t	   *lens = NULL;
	double	   *idf = NULL;
	size_t		kept = 0;
	int			rc = -1;

	if (v->fitted)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the vectorizer is already fitted");
	if (v->fit_count == 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "empty vocabulary: the documents have no tokens");
		lm_hint(err, "check the token pattern; the default needs words of two or more characters");
		return -1;
	}
	if (max_docs < min_docs)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_df corresponds to < documents than min_df");
	order = lm_malloc(sizeof(FitTerm *) * v->fit_count, err);
	terms = lm_malloc(sizeof(char *) * v->fit_count, err);
	lens = lm_malloc(sizeof(size_t) * v->fit_count, err);
	idf = lm_malloc(sizeof(double) * v->fit_count, err);
	if (order == NULL || terms == NULL || lens == NULL || idf == NULL)
		goto done;
	for (size_t i = 0; i < v->fit_count; i++)
	{
		const FitTerm *t = &v->fit_terms[i];

		if ((double) t->df <= max_docs && (double) t->df >= min_docs)
			order[kept++] = t;
	}
	if (o->max_features > 0 && kept > (size_t) o->max_features)
	{
		qsort(order, kept, sizeof(FitTerm *), compare_fit_by_tf);
		kept = (size_t) o->max_features;
	}
	qsort(order, kept, sizeof(FitTerm *), compare_fit_by_term);
	if (kept == 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "after pruning, no terms remain");
		lm_hint(err, "try a lower min_df or a higher max_df");
		goto done;
	}
	for (size_t i = 0; i < kept; i++)
	{
		const FitTerm *t = order[i];
		double		smooth = o->smooth_idf ? 1.0 : 0.0;

		terms[i] = t->term;
		lens[i] = t->len;
		idf[i] = o->use_idf ? log(((double) v->n_docs + smooth) / ((double) t->df + smooth)) + 1.0
			: 1.0;
	}
	rc = set_vocabulary(v, terms, lens, idf, (int32_t) kept, err);

done:
	free(order);
	free(terms);
	free(lens);
	free(idf);
	if (rc == 0)
		free_fitting_state(v);
	return rc;
}

LmVectorizer *
lm_vectorizer_restore(const LmVectorizerOptions *options, const char *const *terms,
					  const size_t *term_lens, const double *idf, int32_t n_terms,
					  LmError *err)
{
	LmVectorizer *v;

	if (n_terms < 1)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a vocabulary needs at least one term");
		return NULL;
	}
	if (options->use_idf && idf == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "use_idf needs the idf of every term");
		return NULL;
	}
	v = lm_vectorizer_new(options, err);
	if (v == NULL)
		return NULL;
	free_fitting_state(v);
	if (set_vocabulary(v, terms, term_lens, options->use_idf ? idf : NULL, n_terms, err) < 0)
	{
		lm_vectorizer_free(v);
		return NULL;
	}
	return v;
}

int32_t
lm_vectorizer_vocabulary_size(const LmVectorizer *v)
{
	return v->n_terms;
}

const char *
lm_vectorizer_term(const LmVectorizer *v, int32_t i, size_t *len)
{
	if (i < 0 || i >= v->n_terms)
		return NULL;
	if (len != NULL)
		*len = v->term_lens[i];
	return v->terms[i];
}

int32_t
lm_vectorizer_term_index(const LmVectorizer *v, const char *term, size_t len)
{
	int32_t		i;

	if (v->vocab == NULL || !lm_strmap_get(v->vocab, term, len, &i))
		return -1;
	return i;
}

double
lm_vectorizer_idf(const LmVectorizer *v, int32_t i)
{
	if (i < 0 || i >= v->n_terms)
		return 0.0;
	return v->idf[i];
}

int64_t
lm_vectorizer_document_count(const LmVectorizer *v)
{
	return v->n_docs;
}

/* ---------------------------------------------------------------- */
/* Transforming                                                     */
/* ---------------------------------------------------------------- */

typedef struct Hits
{
	const LmVectorizer *v;
	int32_t    *ids;
	size_t		n;
	size_t		cap;
} Hits;

static int
collect_vocab_term(void *ctx, const char *term, size_t len, LmError *err)
{
	Hits	   *h = ctx;
	int32_t		i = lm_vectorizer_term_index(h->v, term, len);

	if (i < 0)
		return 0;
	if (h->n == h->cap)
	{
		size_t		cap = h->cap ? h->cap * 2 : 64;
		int32_t    *grown = lm_realloc(h->ids, cap * sizeof(int32_t), err);

		if (grown == NULL)
			return -1;
		h->ids = grown;
		h->cap = cap;
	}
	h->ids[h->n++] = i;
	return 0;
}

static int
compare_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * Sort the hits by term index.  A text with more hits than the vocabulary
 * has terms is sorted by counting (linear, and checked for cancellation);
 * a shorter one by qsort.
 */
static int
sort_hits(Hits *h, int32_t vocab_size, LmError *err)
{
	uint32_t   *counts;
	size_t		out = 0;

	if (h->n < (size_t) vocab_size)
	{
		qsort(h->ids, h->n, sizeof(int32_t), compare_int32);
		return 0;
	}
	counts = lm_calloc((size_t) vocab_size, sizeof(uint32_t), err);
	if (counts == NULL)
		return -1;
	for (size_t i = 0; i < h->n; i++)
		counts[h->ids[i]]++;
	for (int32_t term = 0; term < vocab_size; term++)
	{
		if (term % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
		{
			free(counts);
			return -1;
		}
		for (uint32_t k = 0; k < counts[term]; k++)
			h->ids[out++] = term;
	}
	free(counts);
	return 0;
}

int
lm_vectorizer_counts(const LmVectorizer *v, const char *text, size_t len,
					 LmSparseEntry **out, int32_t *n, LmError *err)
{
	Hits		h = {v, NULL, 0, 0};
	LmSparseEntry *row;
	int32_t		used = 0;

	*out = NULL;
	*n = 0;
	if (!v->fitted)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the vectorizer is not fitted yet");
	if (vec_analyze(&v->analyzer, text, len, collect_vocab_term, &h, err) < 0)
	{
		free(h.ids);
		return -1;
	}
	if (sort_hits(&h, lm_vectorizer_vocabulary_size(v), err) != 0)
	{
		free(h.ids);
		return -1;
	}
	row = lm_malloc(sizeof(LmSparseEntry) * (h.n + 1), err);
	if (row == NULL)
	{
		free(h.ids);
		return -1;
	}
	for (size_t i = 0; i < h.n; i++)
	{
		if (used > 0 && row[used - 1].index == h.ids[i])
		{
			if (!v->options.binary)
				row[used - 1].value += 1.0;
			continue;
		}
		row[used].index = h.ids[i];
		row[used].value = 1.0;
		used++;
	}
	free(h.ids);
	*out = row;
	*n = used;
	return 0;
}

int
lm_vectorizer_tfidf(const LmVectorizer *v, const char *text, size_t len,
					LmSparseEntry **out, int32_t *n, LmError *err)
{
	const LmVectorizerOptions *o = &v->options;
	LmSparseEntry *row;
	double		norm = 0.0;

	if (lm_vectorizer_counts(v, text, len, out, n, err) < 0)
		return -1;
	row = *out;
	for (int32_t i = 0; i < *n; i++)
	{
		double		tf = row[i].value;

		if (o->sublinear_tf)
			tf = log(tf) + 1.0;
		row[i].value = tf * v->idf[row[i].index];
	}
	if (o->norm == LM_VECTORIZER_NORM_NONE)
		return 0;
	for (int32_t i = 0; i < *n; i++)
		norm += o->norm == LM_VECTORIZER_NORM_L2 ? row[i].value * row[i].value
			: fabs(row[i].value);
	if (o->norm == LM_VECTORIZER_NORM_L2)
		norm = sqrt(norm);
	if (norm > 0)
		for (int32_t i = 0; i < *n; i++)
			row[i].value /= norm;
	return 0;
}

typedef int (*SparseFn) (const LmVectorizer *, const char *, size_t, LmSparseEntry **,
						 int32_t *, LmError *);

static int
to_dense(SparseFn fn, const LmVectorizer *v, const char *text, size_t len, double *out,
		 LmError *err)
{
	LmSparseEntry *row;
	int32_t		n;

	if (fn(v, text, len, &row, &n, err) < 0)
		return -1;
	memset(out, 0, sizeof(double) * (size_t) v->n_terms);
	for (int32_t i = 0; i < n; i++)
		out[row[i].index] = row[i].value;
	free(row);
	return 0;
}

int
lm_vectorizer_counts_dense(const LmVectorizer *v, const char *text, size_t len,
						   double *out, LmError *err)
{
	return to_dense(lm_vectorizer_counts, v, text, len, out, err);
}

int
lm_vectorizer_tfidf_dense(const LmVectorizer *v, const char *text, size_t len,
						  double *out, LmError *err)
{
	return to_dense(lm_vectorizer_tfidf, v, text, len, out, err);
}
