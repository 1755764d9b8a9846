/*
 * word2vec.h — training word vectors: skip-gram with negative sampling, as
 * Mikolov's word2vec.c and gensim's Word2Vec(sg=1, hs=0) do it.
 *
 * The steps, in gensim's terms:
 *   1. Sentences.  lm_word2vec_add_text() splits a text with the n-gram
 *      word tokenizer (words.h) lowercased: every text is one sentence, and
 *      a sentence longer than LM_WORD2VEC_MAX_SENTENCE words is cut into
 *      pieces of that length (gensim's LineSentence does the same).
 *      lm_word2vec_add_sentence() takes words already split.
 *   2. Vocabulary.  Words seen at least min_count times, most frequent first
 *      (ties in the order the words first appeared).  Other words are
 *      dropped from the sentences before windows are taken.
 *   3. Subsampling of frequent words: with t = sample * (words kept), a word
 *      seen c times is kept with probability (sqrt(c / t) + 1) * t / c
 *      (capped at 1), drawn again for every occurrence in every epoch;
 *      sample 0 keeps every word.
 *   4. Noise words are drawn from counts^0.75, gensim's distribution, with
 *      Walker's alias method (one table lookup a draw; gensim bisects a
 *      cumulative table, which gives the same distribution more slowly).
 *   5. For each center word a window b is drawn uniformly in [1, window]
 *      and each context word at most b words away is trained to predict the
 *      center word: the context word's input vector against the center
 *      word's output vector (label 1) and `negative` noise words' output
 *      vectors (label 0; a draw of the center word itself is skipped).  The
 *      logistic function comes from a table over [-6, 6]; a dot product
 *      outside it gives no update (gensim, word2vec.c).
 *   6. The learning rate falls linearly from alpha to min_alpha over all
 *      epochs, by the share of the corpus's words already seen.
 *   7. Input vectors start uniform in [-1, 1) / dim (gensim 4), output
 *      vectors at zero.  The result is the input vectors (gensim's wv).
 *
 * Random numbers: the 48-bit linear congruential generator of word2vec.c
 * and gensim for subsampling, windows and noise words, and splitmix64 for
 * the initial vectors, both seeded from `seed`.  Training is single
 * threaded, so a seed gives the same vectors every time on one machine
 * (the SIMD kernel chosen at run time may round differently elsewhere).
 *
 * Memory: the corpus is kept as 4-byte word ids (the training runs over it
 * epochs times), plus the vocabulary and two dim x vocabulary float tables.
 * The training loop allocates nothing.
 */
#ifndef LM_CLASSIC_WORD2VEC_H
#define LM_CLASSIC_WORD2VEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classic/wordvec.h"
#include "util/lm_error.h"

/* Sentences are cut into pieces of at most this many words (gensim's MAX_WORDS_IN_BATCH). */
#define LM_WORD2VEC_MAX_SENTENCE 10000

/* Limits and defaults of the options (gensim's defaults). */
#define LM_WORD2VEC_MAX_DIM 10000
#define LM_WORD2VEC_MAX_WINDOW 1000
#define LM_WORD2VEC_MAX_NEGATIVE 1000
#define LM_WORD2VEC_MAX_EPOCHS 100000
#define LM_WORD2VEC_DEFAULT_DIM 100
#define LM_WORD2VEC_DEFAULT_WINDOW 5
#define LM_WORD2VEC_DEFAULT_NEGATIVE 5
#define LM_WORD2VEC_DEFAULT_EPOCHS 5
#define LM_WORD2VEC_DEFAULT_MIN_COUNT 5
#define LM_WORD2VEC_DEFAULT_SAMPLE 1e-3
#define LM_WORD2VEC_DEFAULT_ALPHA 0.025
#define LM_WORD2VEC_DEFAULT_MIN_ALPHA 0.0001
/* The most distinct words (before min_count) a corpus may have. */
#define LM_WORD2VEC_MAX_WORDS ((int64_t) INT32_MAX - 1)

typedef struct LmWord2VecOptions
{
	int			dim;			/* vector size, 1..LM_WORD2VEC_MAX_DIM */
	int			window;			/* largest distance to a context word, >= 1 */
	int			negative;		/* noise words per pair, >= 1 */
	int			epochs;			/* passes over the corpus, >= 1 */
	int64_t		min_count;		/* words seen fewer times are dropped, >= 1 */
	double		sample;			/* subsampling threshold in [0, 1); 0 is off */
	double		alpha;			/* first learning rate, > 0 */
	double		min_alpha;		/* last learning rate, 0 <= min_alpha <= alpha */
	uint64_t	seed;
} LmWord2VecOptions;

/* What the corpus and the training came to. */
typedef struct LmWord2VecStats
{
	int64_t		texts;			/* lm_word2vec_add_text/add_sentence calls */
	int64_t		sentences;		/* non-empty sentences (after cutting long ones) */
	int64_t		corpus_words;	/* tokens */
	int64_t		distinct_words; /* distinct tokens, before min_count */
	int32_t		vocabulary;		/* words kept by min_count (0 before training) */
	int64_t		retained_words; /* tokens of vocabulary words */
	int32_t		downsampled;	/* vocabulary words that subsampling thins */
	double		expected_words; /* retained words expected to survive subsampling, per epoch */
	int64_t		trained_words;	/* words that survived subsampling, all epochs together */
	int64_t		trained_pairs;	/* (context, center) pairs trained */
	double		seconds;		/* time spent in the training loop */
	double		words_per_second;	/* corpus_words * epochs / seconds */
} LmWord2VecStats;

typedef struct LmWord2Vec LmWord2Vec;

/* gensim's defaults: dim 100, window 5, negative 5, epochs 5, min_count 5, sample 1e-3, seed 1. */
void		lm_word2vec_default_options(LmWord2VecOptions *o);

/* 0 when the options are usable, else -1 with LM_ERR_INVALID_ARGUMENT naming the bad one. */
int			lm_word2vec_check_options(const LmWord2VecOptions *o, LmError *err);

/* A trainer with no sentences yet (the options are checked and copied). */
LmWord2Vec *lm_word2vec_new(const LmWord2VecOptions *o, LmError *err);

/* Tokenize a text (lm_words_tokenize, lowercased) and add it as a sentence. */
int			lm_word2vec_add_text(LmWord2Vec *w, const char *text, size_t len, LmError *err);

/* Add a sentence of NUL-terminated words. */
int			lm_word2vec_add_sentence(LmWord2Vec *w, const char *const *words, size_t n,
									 LmError *err);

/*
 * Build the vocabulary and train (once).  LM_ERR_INVALID_ARGUMENT when the
 * corpus has no words or no word is seen min_count times; LM_ERR_CANCELLED
 * when the call's context asked to stop.
 */
int			lm_word2vec_train(LmWord2Vec *w, LmError *err);

/* The trained input vectors, most frequent word first (a new store). */
LmWordVectors *lm_word2vec_vectors(const LmWord2Vec *w, LmError *err);

/* The vocabulary after training: word i (NUL-terminated) and its count; NULL if out of range. */
int32_t		lm_word2vec_vocabulary_size(const LmWord2Vec *w);
const char *lm_word2vec_vocabulary_word(const LmWord2Vec *w, int32_t i, int64_t *count);

/* The trained input vector of vocabulary word i (dim floats); NULL if out of range. */
const float *lm_word2vec_vector(const LmWord2Vec *w, int32_t i);

/* Counts of the corpus (and of the training, once done). */
void		lm_word2vec_stats(const LmWord2Vec *w, LmWord2VecStats *out);

/*
 * Write the sentences as added, one a line, words joined by single spaces
 * (what gensim's LineSentence reads back as the same sentences).
 */
int			lm_word2vec_write_corpus(const LmWord2Vec *w, const char *path, LmError *err);

void		lm_word2vec_free(LmWord2Vec *w);

#endif
