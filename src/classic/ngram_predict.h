/*
 * ngram_predict.h — the k likeliest next words after a context.
 *
 * Every vocabulary word except "<s>" and "<UNK>" is scored with the model's
 * estimator ("</s>", the end of the sentence, is a candidate); words of
 * probability 0 are left out.  Ties keep the order in which the words were
 * first seen in training, so the lecture's example (trigram MLE over "New
 * York has amazing food", "... nightlife", "Paris has amazing art",
 * "... culture") gives food, nightlife, art, culture at 0.25 each after
 * "has amazing".
 */
#ifndef LM_NGRAM_PREDICT_H
#define LM_NGRAM_PREDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "classic/ngram_model.h"
#include "util/lm_error.h"

#define LM_NGRAM_MAX_PREDICTIONS 1000

typedef struct LmNgramPrediction
{
	const char *word;			/* owned by the counts */
	double		probability;
} LmNgramPrediction;

/*
 * Fill out[0..*n_out) with at most k (1..LM_NGRAM_MAX_PREDICTIONS) words,
 * likeliest first.  With sentence_start, the context is taken to open a
 * sentence: it is preceded by order-1 "<s>" as in training.
 */
int			lm_ngram_next_words(const LmNgramModel *model, const char *const *context,
								size_t n_context, bool sentence_start, int k,
								LmNgramPrediction *out, int *n_out, LmError *err);

#endif
