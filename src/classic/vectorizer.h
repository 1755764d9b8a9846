/*
 * vectorizer.h — bag of words and TF-IDF with scikit-learn's semantics
 * (CountVectorizer / TfidfVectorizer).
 *
 * Analysis: lowercase as Python's str.lower() (see text_case.h), find the
 * tokens with the token pattern (default: runs of two or more word
 * characters, Python's (?u)\b\w\w+\b, where a word character is a letter,
 * a number or "_"; a custom pattern runs in PCRE2 with UTF and UCP, and a
 * pattern with one capturing group yields the group, as re.findall), then
 * word n-grams joined by a space for n in ngram_min..ngram_max.
 *
 * Fitting: documents are fed one at a time (the glue feeds the rows of a
 * query); finishing sorts the vocabulary by code point, drops terms whose
 * document frequency is outside min_df..max_df, keeps the max_features
 * most frequent terms (ties broken by vocabulary order, where numpy's
 * unstable argsort may pick differently), and computes
 * idf = ln((1 + n) / (1 + df)) + 1 (smooth_idf) or ln(n / df) + 1.
 *
 * Transforming: counts of the vocabulary terms in one text (1 for present
 * terms with binary), then for TF-IDF tf (or 1 + ln tf with sublinear_tf)
 * times idf, normalised by the L2 or L1 norm of the row (a zero row stays
 * zero).
 */
#ifndef LM_CLASSIC_VECTORIZER_H
#define LM_CLASSIC_VECTORIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

#define LM_VECTORIZER_MAX_NGRAM 16

typedef struct LmVectorizer LmVectorizer;

typedef enum LmVectorizerNorm
{
	LM_VECTORIZER_NORM_NONE = 0,
	LM_VECTORIZER_NORM_L1,
	LM_VECTORIZER_NORM_L2
} LmVectorizerNorm;

/*
 * Options, named as scikit-learn names them.  min_df and max_df are
 * document counts when the *_is_fraction flag is false and proportions of
 * the documents when it is true (sklearn: int versus float).
 */
typedef struct LmVectorizerOptions
{
	bool		lowercase;
	const char *token_pattern;	/* NULL: the default; copied by lm_vectorizer_new */
	int			ngram_min;
	int			ngram_max;
	double		min_df;
	bool		min_df_is_fraction;
	double		max_df;
	bool		max_df_is_fraction;
	int64_t		max_features;	/* 0: no limit */
	bool		binary;
	bool		use_idf;
	bool		smooth_idf;
	bool		sublinear_tf;
	LmVectorizerNorm norm;
} LmVectorizerOptions;

/* One non-zero entry of a sparse row. */
typedef struct LmSparseEntry
{
	int32_t		index;
	double		value;
} LmSparseEntry;

/* TfidfVectorizer's defaults (min_df 1, max_df 1.0, ngrams 1..1, l2, smooth idf). */
void		lm_vectorizer_default_options(LmVectorizerOptions *options);

/* A vectorizer ready to be fitted; checks the options and compiles the pattern. */
LmVectorizer *lm_vectorizer_new(const LmVectorizerOptions *options, LmError *err);

void		lm_vectorizer_free(LmVectorizer *v);

/* Fitting: feed each document, then finish once. */
int			lm_vectorizer_add_document(LmVectorizer *v, const char *text, size_t len,
									   LmError *err);
int			lm_vectorizer_finish(LmVectorizer *v, LmError *err);

/*
 * Rebuild a fitted vectorizer from a stored vocabulary (terms in index
 * order, sorted by code point) and, when use_idf, the idf of each term
 * (idf may be NULL otherwise).
 */
LmVectorizer *lm_vectorizer_restore(const LmVectorizerOptions *options,
									const char *const *terms, const size_t *term_lens,
									const double *idf, int32_t n_terms, LmError *err);

/* The fitted model. */
int32_t		lm_vectorizer_vocabulary_size(const LmVectorizer *v);
const char *lm_vectorizer_term(const LmVectorizer *v, int32_t i, size_t *len);
int32_t		lm_vectorizer_term_index(const LmVectorizer *v, const char *term, size_t len);
double		lm_vectorizer_idf(const LmVectorizer *v, int32_t i);	/* 1.0 without use_idf */
int64_t		lm_vectorizer_document_count(const LmVectorizer *v);

/*
 * Sparse rows of one text: *out (malloc'd, sorted by index, only non-zero
 * values) and its length *n.  counts gives the bag of words (CountVectorizer),
 * tfidf the TF-IDF row (TfidfVectorizer).
 */
int			lm_vectorizer_counts(const LmVectorizer *v, const char *text, size_t len,
								 LmSparseEntry **out, int32_t *n, LmError *err);
int			lm_vectorizer_tfidf(const LmVectorizer *v, const char *text, size_t len,
								LmSparseEntry **out, int32_t *n, LmError *err);

/* Dense forms: out has vocabulary_size doubles. */
int			lm_vectorizer_counts_dense(const LmVectorizer *v, const char *text, size_t len,
									   double *out, LmError *err);
int			lm_vectorizer_tfidf_dense(const LmVectorizer *v, const char *text, size_t len,
									  double *out, LmError *err);

#endif
