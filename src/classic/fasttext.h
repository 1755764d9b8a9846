/*
 * fasttext.h — fastText models (.bin and quantized .ftz) for inference.
 *
 * Reads the files that fastText 0.9 writes (magic 793712314, version 11 or
 * 12): training arguments, the dictionary of words and labels (with the
 * pruned n-gram index of quantized models), the input matrix (dense, or
 * product-quantized with optional norm quantization) and the output matrix.
 *
 * Supervised models predict labels exactly as `fasttext predict-prob` does
 * for one line: whitespace-separated tokens plus the end-of-sentence token
 * "</s>", each word as its own id and its character n-grams, word n-grams
 * hashed into buckets, the mean of their input rows, then softmax,
 * hierarchical softmax (Huffman tree from the label counts), one-vs-all or
 * negative sampling outputs.  Unsupervised models give word vectors,
 * out-of-vocabulary words included (from their character n-grams).
 *
 * Text handling: a newline inside the text counts as a space (fastText's
 * command line would start a new prediction there; its Python API refuses
 * such text); one "</s>" is appended at the end.
 *
 * Every size in the file is checked against the bytes that are there and
 * every row index against the matrix before use: a malformed file gives
 * LM_ERR_CORRUPT (or LM_ERR_UNSUPPORTED), never a crash.
 */
#ifndef LM_CLASSIC_FASTTEXT_H
#define LM_CLASSIC_FASTTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

#define LM_FASTTEXT_MAGIC 793712314
#define LM_FASTTEXT_VERSION 12
#define LM_FASTTEXT_MAX_DIM 65536
#define LM_FASTTEXT_MAX_FILE_BYTES ((size_t) 1 << 40)

typedef struct LmFastText LmFastText;

typedef enum LmFastTextModelKind
{
	LM_FASTTEXT_CBOW = 1,
	LM_FASTTEXT_SKIPGRAM = 2,
	LM_FASTTEXT_SUPERVISED = 3
} LmFastTextModelKind;

typedef enum LmFastTextLoss
{
	LM_FASTTEXT_LOSS_HS = 1,	/* hierarchical softmax */
	LM_FASTTEXT_LOSS_NS = 2,	/* negative sampling */
	LM_FASTTEXT_LOSS_SOFTMAX = 3,
	LM_FASTTEXT_LOSS_OVA = 4	/* one-vs-all (multi-label) */
} LmFastTextLoss;

/* One predicted label: its index (see lm_fasttext_label) and probability. */
typedef struct LmFastTextPrediction
{
	int32_t		label;
	float		prob;
} LmFastTextPrediction;

/*
 * Parse a model from memory (the whole .bin/.ftz file).  The bytes are
 * copied where needed; the caller may free data afterwards.  Returns NULL
 * with err filled on a malformed or unsupported file.
 */
LmFastText *lm_fasttext_load(const uint8_t *data, size_t len, LmError *err);

/* Read and parse a model file. */
LmFastText *lm_fasttext_load_file(const char *path, LmError *err);

void		lm_fasttext_free(LmFastText *ft);

/* Facts about a loaded model. */
int			lm_fasttext_dim(const LmFastText *ft);
LmFastTextModelKind lm_fasttext_model_kind(const LmFastText *ft);
LmFastTextLoss lm_fasttext_loss(const LmFastText *ft);
bool		lm_fasttext_is_quantized(const LmFastText *ft);
int32_t		lm_fasttext_nwords(const LmFastText *ft);
int32_t		lm_fasttext_nlabels(const LmFastText *ft);

/* Word i (0 <= i < nwords), NUL-terminated; NULL when out of range. */
const char *lm_fasttext_word(const LmFastText *ft, int32_t i);

/* Label i as stored, prefix included (e.g. "__label__en"); NULL when out of range. */
const char *lm_fasttext_label(const LmFastText *ft, int32_t i);

/* Index of a word in the dictionary, or -1. */
int32_t		lm_fasttext_word_id(const LmFastText *ft, const char *word, size_t len);

/*
 * Vector of a word (dim floats into out): the mean of the rows of the word
 * itself (when in the vocabulary) and of its character n-grams, as
 * fastText's get_word_vector.  An unknown word without n-grams gives zeros.
 */
int			lm_fasttext_word_vector(const LmFastText *ft, const char *word, size_t len,
									float *out, LmError *err);

/*
 * Sentence vector (dim floats into out), as fastText's
 * get_sentence_vector: for supervised models the mean of the input rows
 * of the line (words, subwords, word n-grams, "</s>"); for unsupervised
 * models the mean of the L2-normalised word vectors of the words.
 */
int			lm_fasttext_sentence_vector(const LmFastText *ft, const char *text, size_t len,
										float *out, LmError *err);

/*
 * Predict the k most likely labels of text (supervised models only), best
 * first, into out (room for k).  Labels with probability below threshold
 * are left out (fastText's default threshold is 0.0).  Returns how many
 * were written (fewer than k when the model has fewer labels or the
 * threshold cuts them, 0 when the text has no known tokens), or -1.
 * Probabilities are fastText's: exp(score) where score sums log(p + 1e-5).
 */
int			lm_fasttext_predict(const LmFastText *ft, const char *text, size_t len,
								int k, float threshold, LmFastTextPrediction *out,
								LmError *err);

#endif
