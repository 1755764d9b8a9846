/*
 * wordvec.h — a store of word vectors (word2vec, GloVe, fastText .vec)
 * and the queries of gensim's KeyedVectors.
 *
 * The store keeps each word (UTF-8), its vector as read and its unit-length
 * copy; nearest neighbours are one matrix-vector product (cblas_sgemv)
 * over the unit rows.  most_similar and analogy add the input word
 * vectors with weight +1 (positive) or -1 (negative) and rank all words by
 * cosine with the result, leaving out the input words.  Two ways to
 * combine: the vectors as stored (3CosAdd on raw vectors, which is what
 * glove-reference.json holds: king - man + woman -> queen 0.7834), or
 * gensim 4's most_similar, which makes each input vector unit length
 * first (queen 0.7699).  A zero vector has cosine 0 with everything.
 *
 * Loading: word2vec binary ("N DIM\n" then per word "word " and DIM
 * little-endian float32), word2vec/fastText text (the same header, then
 * "word v1 ... vDIM" lines) and GloVe text (no header).  A word that
 * appears twice keeps its first vector, as gensim does; words that are not
 * valid UTF-8 have their bad bytes replaced by U+FFFD.
 */
#ifndef LM_CLASSIC_WORDVEC_H
#define LM_CLASSIC_WORDVEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

#define LM_WORDVEC_MAX_DIM 65536
#define LM_WORDVEC_MAX_FILE_BYTES ((size_t) 1 << 40)

typedef struct LmWordVectors LmWordVectors;

typedef enum LmWordVecFormat
{
	LM_WORDVEC_AUTO = 0,		/* header + binary, header + text, or GloVe */
	LM_WORDVEC_WORD2VEC_BINARY,
	LM_WORDVEC_WORD2VEC_TEXT,	/* also fastText .vec */
	LM_WORDVEC_GLOVE_TEXT		/* no header line */
} LmWordVecFormat;

/* How most_similar combines its input words. */
typedef enum LmWordVecCombine
{
	LM_WORDVEC_COMBINE_RAW = 0, /* sum of the vectors as stored */
	LM_WORDVEC_COMBINE_UNIT		/* mean of unit vectors (gensim's most_similar) */
} LmWordVecCombine;

/* One neighbour: the word's index and its cosine similarity. */
typedef struct LmWordVecHit
{
	int32_t		index;
	float		score;
} LmWordVecHit;

/* ---- building and loading ---- */

/* An empty store of dim-wide vectors; expected_count only sizes the tables. */
LmWordVectors *lm_wordvec_new(int dim, size_t expected_count, LmError *err);

/*
 * Append a word and its vector (dim floats, copied).  Returns the word's
 * index, or -2 when the word is already there (the store is unchanged),
 * or -1 on error.
 */
int32_t		lm_wordvec_add(LmWordVectors *wv, const char *word, size_t len, const float *vec,
						   LmError *err);

/* Parse a whole file held in memory. */
LmWordVectors *lm_wordvec_load(const uint8_t *data, size_t len, LmWordVecFormat format,
							   LmError *err);

/* Read and parse a file. */
LmWordVectors *lm_wordvec_load_file(const char *path, LmWordVecFormat format, LmError *err);

void		lm_wordvec_free(LmWordVectors *wv);

/* ---- the table ---- */

int32_t		lm_wordvec_count(const LmWordVectors *wv);
int			lm_wordvec_dim(const LmWordVectors *wv);

/* Word i, NUL-terminated (its byte length in *len when len is not NULL); NULL if out of range. */
const char *lm_wordvec_word(const LmWordVectors *wv, int32_t i, size_t *len);

/* Vector i as loaded (dim floats), or its unit-length copy; NULL if out of range. */
const float *lm_wordvec_vector(const LmWordVectors *wv, int32_t i);
const float *lm_wordvec_unit_vector(const LmWordVectors *wv, int32_t i);

/* Index of a word (exact bytes), or -1. */
int32_t		lm_wordvec_lookup(const LmWordVectors *wv, const char *word, size_t len);

/* ---- queries ---- */

/*
 * The k words whose vectors have the highest cosine with query (dim floats,
 * any length; not modified), best first, skipping the indices in exclude.
 * Returns the number written to out (room for k), or -1.
 */
int			lm_wordvec_most_similar_vector(const LmWordVectors *wv, const float *query,
										   const int32_t *exclude, int n_exclude, int k,
										   LmWordVecHit *out, LmError *err);

/*
 * most_similar(positive, negative, topn=k) over NUL-terminated words,
 * combined as `combine` says; the input words are left out of the answer.
 * An unknown word is an LM_ERR_INVALID_ARGUMENT error naming it.
 */
int			lm_wordvec_most_similar(const LmWordVectors *wv,
									const char *const *positive, int n_positive,
									const char *const *negative, int n_negative,
									LmWordVecCombine combine, int k, LmWordVecHit *out,
									LmError *err);

/*
 * The analogy a : b :: c : ? (3CosAdd): the words nearest b - a + c, i.e.
 * most_similar(positive=[b, c], negative=[a]).
 */
int			lm_wordvec_analogy(const LmWordVectors *wv, const char *a, const char *b,
							   const char *c, LmWordVecCombine combine, int k,
							   LmWordVecHit *out, LmError *err);

/*
 * The analogy query b - a + c of three vectors (dim floats each), each made
 * unit length first with LM_WORDVEC_COMBINE_UNIT: what lm_wordvec_analogy
 * ranks words against, for vectors that are not rows of a table (fastText
 * builds them from subwords).
 */
void		lm_wordvec_analogy_query(const float *a, const float *b, const float *c, int dim,
									 LmWordVecCombine combine, float *out);

/* Cosine similarity of two words (gensim's similarity). */
int			lm_wordvec_similarity(const LmWordVectors *wv, const char *w1, const char *w2,
								  double *similarity, LmError *err);

/*
 * Mean of the vectors of the words of text, into out (dim floats).  Words
 * are runs of letters, digits, marks and connector punctuation; every
 * other non-space character is a word of its own (GloVe's tokens split
 * punctuation off).  Each word is looked up as is, then lowercased; words
 * not found are skipped.  With pre_normalize each vector is made unit
 * length first (gensim's get_mean_vector); without, the vectors are
 * averaged as stored (spaCy's Doc.vector).  *n_found (if not NULL) gets
 * the number of words used; with none, out is all zeros.
 */
int			lm_wordvec_text_mean(const LmWordVectors *wv, const char *text, size_t len,
								 bool pre_normalize, float *out, int *n_found, LmError *err);

#endif
