/*
 * ngram_counts.h — the counts behind an n-gram language model, with NLTK's
 * nltk.lm conventions.
 *
 * Training pads each sentence with order-1 "<s>" on the left and order-1
 * "</s>" on the right and counts every n-gram of length 1..order in it
 * (nltk.lm.preprocessing.padded_everygram_pipeline).  The vocabulary is every
 * word counted at least once plus "<UNK>" (nltk.lm.Vocabulary, unk_cutoff 1);
 * words are numbered in order of first appearance, "<UNK>" being 0.
 *
 * The counts are the whole model: export them with LmNgramIter as
 * (words, count) rows, store them anywhere, and rebuild the same model with
 * lm_ngram_counts_add() per row.  lm_ngram_counts_finish() then derives what
 * the estimators need (context totals, Kneser-Ney continuation counts); the
 * model functions call it when counts changed.
 */
#ifndef LM_NGRAM_COUNTS_H
#define LM_NGRAM_COUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classic/ngram_table.h"
#include "util/lm_error.h"
#include "util/strmap.h"

#define LM_NGRAM_MAX_ORDER 10
#define LM_NGRAM_DEFAULT_ORDER 3
#define LM_NGRAM_BOS "<s>"
#define LM_NGRAM_EOS "</s>"
#define LM_NGRAM_UNK "<UNK>"
#define LM_NGRAM_UNK_ID 0

/* Read-only for the estimators; change it only through the functions below. */
typedef struct LmNgramCounts
{
	int			order;
	LmStrMap   *vocab;			/* word -> id */
	const char **words;			/* id -> word (the map's stable copies) */
	size_t		n_words;
	size_t		words_capacity;
	/* tables[k] holds the k-grams, k = 0 (the empty context) .. order */
	LmNgramTable *tables[LM_NGRAM_MAX_ORDER + 1];
	int32_t		bos_id;
	int32_t		eos_id;
	bool		finished;		/* derived statistics match the counts */
	int64_t		vocab_size;		/* NLTK's len(vocab): counted words + <UNK> */
} LmNgramCounts;

LmNgramCounts *lm_ngram_counts_new(int order, LmError *err);
void		lm_ngram_counts_free(LmNgramCounts *counts);

/* Pad one tokenized sentence and count all its n-grams of length 1..order. */
int			lm_ngram_counts_add_sentence(LmNgramCounts *counts, const char *const *tokens,
										 size_t n_tokens, LmError *err);

/* Tokenize text (words.h) and count it as one sentence. */
int			lm_ngram_counts_add_text(LmNgramCounts *counts, const char *text, size_t len,
									 bool lowercase, LmError *err);

/* Import: add count (>= 1) to the n-gram of n (1..order) words. */
int			lm_ngram_counts_add(LmNgramCounts *counts, const char *const *words, int n,
								int64_t count, LmError *err);

/* Derive context totals and continuation counts (idempotent). */
int			lm_ngram_counts_finish(LmNgramCounts *counts, LmError *err);

/* Id of a vocabulary word, or LM_NGRAM_UNK_ID when it was never counted. */
int32_t		lm_ngram_counts_lookup(const LmNgramCounts *counts, const char *word);

/* Count of the n-gram of ids (n = 0..order; 0 gives the number of tokens). */
int64_t		lm_ngram_counts_get(const LmNgramCounts *counts, const int32_t *ids, int n);

/* Export: every counted n-gram, unigrams first, each order in first-seen order. */
typedef struct LmNgramIter
{
	const LmNgramCounts *counts;
	int			length;
	size_t		index;
} LmNgramIter;

void		lm_ngram_iter_init(LmNgramIter *iter, const LmNgramCounts *counts);

/* Next n-gram: words[0..*n) (words must hold order entries) and its count. */
bool		lm_ngram_iter_next(LmNgramIter *iter, const char **words, int *n, int64_t *count);

#endif
