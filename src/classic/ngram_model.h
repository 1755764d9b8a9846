/*
 * ngram_model.h — probabilities of an n-gram model over LmNgramCounts, with
 * the formulas of NLTK's nltk.lm (3.8):
 *
 *   mle          count(ctx w) / count(ctx •)                     (MLE)
 *   lidstone     (count(ctx w) + γ) / (count(ctx •) + |V| γ)     (Lidstone)
 *   laplace      lidstone with γ = 1                             (Laplace)
 *   kneser_ney   interpolated Kneser-Ney, discount d (default 0.1):
 *                P(w | ctx) = max(c - d, 0) / total + d · N1+(ctx •) / total · P(w | ctx[1:])
 *                where at the highest order c = count(ctx w), total = count(ctx •),
 *                and below it c = N1+(• ctx w), total = N1+(• ctx •) (continuation
 *                counts); P(w) = N1+(• w) / N1+(• •); a context never seen
 *                contributes nothing and passes P(w | ctx[1:]) through unchanged
 *                (KneserNeyInterpolated).
 *
 * With an empty context the unigram estimate is used.  Words and context
 * words that were never counted are scored as "<UNK>" (NLTK's vocabulary
 * lookup).  A context longer than order-1 words keeps its last order-1
 * words.  log scores are base 2, -inf for probability 0.
 */
#ifndef LM_NGRAM_MODEL_H
#define LM_NGRAM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "classic/ngram_counts.h"
#include "util/lm_error.h"

typedef enum LmNgramEstimator
{
	LM_NGRAM_MLE,
	LM_NGRAM_LIDSTONE,			/* add-gamma; Laplace is gamma 1 */
	LM_NGRAM_KNESER_NEY
} LmNgramEstimator;

#define LM_NGRAM_LAPLACE_GAMMA 1.0
#define LM_NGRAM_KN_DEFAULT_DISCOUNT 0.1

typedef struct LmNgramModel
{
	LmNgramCounts *counts;		/* not owned; must outlive the model */
	LmNgramEstimator estimator;
	double		gamma;			/* lidstone */
	double		discount;		/* kneser_ney */
} LmNgramModel;

/*
 * Parse an estimator name: "mle", "laplace", "lidstone" (needs gamma),
 * "kneser_ney" (also "kn", "kneser-ney"); *param gets its default
 * (gamma 1 for laplace, discount 0.1 for kneser_ney, NAN where required).
 */
int			lm_ngram_estimator_parse(const char *name, LmNgramEstimator *estimator,
									 double *param, LmError *err);

/*
 * Set up a model; param is gamma (lidstone, > 0) or the discount
 * (kneser_ney, 0..1) and is ignored for mle.  Finishes the counts.
 */
int			lm_ngram_model_init(LmNgramModel *model, LmNgramCounts *counts,
								LmNgramEstimator estimator, double param, LmError *err);

/*
 * 0 when the model is set up and its counts have not changed since (adding
 * counts needs lm_ngram_model_init() again); the functions below check it.
 */
int			lm_ngram_model_check(const LmNgramModel *model, LmError *err);

/* P(word | context) for vocabulary ids (n_context <= order-1, UNK allowed). */
double		lm_ngram_score_ids(const LmNgramModel *model, int32_t word, const int32_t *context,
							   int n_context);

/* P(word | context) for words (NLTK's LanguageModel.score). */
int			lm_ngram_score(const LmNgramModel *model, const char *word,
						   const char *const *context, size_t n_context, double *probability,
						   LmError *err);

/* log2 P(word | context) (NLTK's logscore); -INFINITY when the probability is 0. */
int			lm_ngram_logscore(const LmNgramModel *model, const char *word,
							  const char *const *context, size_t n_context, double *logscore,
							  LmError *err);

/*
 * Perplexity of one tokenized sentence: pad it with order-1 "<s>" and "</s>"
 * as in training, take its n-grams of length order and return
 * 2 ** -mean(logscore(last word | preceding words)); NLTK's
 * model.perplexity(nltk.ngrams(pad_both_ends(tokens, n=order), order)).
 * +INFINITY when some n-gram has probability 0.
 */
int			lm_ngram_perplexity(const LmNgramModel *model, const char *const *tokens,
								size_t n_tokens, double *perplexity, LmError *err);

/* Map up to the last order-1 context words to ids; returns how many were kept. */
int			lm_ngram_context_ids(const LmNgramModel *model, const char *const *context,
								 size_t n_context, int32_t *ids);

#endif
