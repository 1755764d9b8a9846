/*
 * ngram_model.c — MLE, Lidstone/Laplace and interpolated Kneser-Ney scores
 * (NLTK nltk.lm semantics; formulas in ngram_model.h).
 */
#include "classic/ngram_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Check for cancellation once per this many scored n-grams. */
#define CANCEL_CHECK_INTERVAL 4096

int
lm_ngram_estimator_parse(const char *name, LmNgramEstimator *estimator, double *param,
						 LmError *err)
{
	if (name == NULL)
		name = "";
	*param = NAN;
	if (strcasecmp(name, "mle") == 0)
		*estimator = LM_NGRAM_MLE;
	else if (strcasecmp(name, "laplace") == 0)
	{
		*estimator = LM_NGRAM_LIDSTONE;
		*param = LM_NGRAM_LAPLACE_GAMMA;
	}
	else if (strcasecmp(name, "lidstone") == 0)
		*estimator = LM_NGRAM_LIDSTONE;
	else if (strcasecmp(name, "kneser_ney") == 0 || strcasecmp(name, "kneser-ney") == 0 ||
			 strcasecmp(name, "kn") == 0)
	{
		*estimator = LM_NGRAM_KNESER_NEY;
		*param = LM_NGRAM_KN_DEFAULT_DISCOUNT;
	}
	else
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "unknown n-gram estimator \"%s\"", name);
		lm_hint(err, "Use mle, laplace, lidstone (with gamma) or kneser_ney.");
		return -1;
	}
	return 0;
}

int
lm_ngram_model_init(LmNgramModel *model, LmNgramCounts *counts, LmNgramEstimator estimator,
					double param, LmError *err)
{
	memset(model, 0, sizeof(*model));
	if (counts == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram model without counts");
	if (estimator == LM_NGRAM_LIDSTONE && !(param > 0.0 && isfinite(param)))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "lidstone gamma must be a positive number");
	if (estimator == LM_NGRAM_KNESER_NEY)
	{
		if (!(param >= 0.0 && param <= 1.0))
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
						   "Kneser-Ney discount must be between 0 and 1");
		if (counts->order < 2)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "Kneser-Ney needs an order of at least 2");
			lm_hint(err, "Its unigram estimate counts the words seen before each word.");
			return -1;
		}
	}
	if (lm_ngram_counts_finish(counts, err) != 0)
		return -1;
	if (lm_ngram_counts_get(counts, NULL, 0) <= 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the n-gram model has no training data");
		return -1;
	}
	model->counts = counts;
	model->estimator = estimator;
	model->gamma = estimator == LM_NGRAM_LIDSTONE ? param : 0.0;
	model->discount = estimator == LM_NGRAM_KNESER_NEY ? param : 0.0;
	return 0;
}

int
lm_ngram_model_check(const LmNgramModel *model, LmError *err)
{
	if (model == NULL || model->counts == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram model is not initialised");
	if (!model->counts->finished)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram counts changed after the model was set up");
		lm_hint(err, "Call lm_ngram_model_init() again after adding counts.");
		return -1;
	}
	return 0;
}

/* The table entry of ids[0..n), or NULL. */
static const LmNgramEntry *
entry_of(const LmNgramCounts *c, const int32_t *ids, int n)
{
	return lm_ngram_table_find(c->tables[n], ids);
}

/* count(ctx w) and count(ctx •), the context's follower distribution. */
static void
context_counts(const LmNgramCounts *c, int32_t word, const int32_t *context, int n_context,
			   double *word_count, double *total)
{
	int32_t		ngram[LM_NGRAM_MAX_ORDER];
	const LmNgramEntry *ctx = entry_of(c, context, n_context);
	const LmNgramEntry *e;

	*word_count = 0.0;
	*total = ctx != NULL ? (double) ctx->follow_total : 0.0;
	if (ctx == NULL)
		return;
	memcpy(ngram, context, n_context * sizeof(int32_t));
	ngram[n_context] = word;
	e = entry_of(c, ngram, n_context + 1);
	if (e != NULL)
		*word_count = (double) e->count;
}

static double
mle_score(const LmNgramModel *m, int32_t word, const int32_t *context, int n_context)
{
	double		word_count;
	double		total;

	context_counts(m->counts, word, context, n_context, &word_count, &total);
	return total == 0.0 ? 0.0 : word_count / total;
}

static double
lidstone_score(const LmNgramModel *m, int32_t word, const int32_t *context, int n_context)
{
	double		word_count;
	double		total;

	context_counts(m->counts, word, context, n_context, &word_count, &total);
	return (word_count + m->gamma) / (total + (double) m->counts->vocab_size * m->gamma);
}

/* N1+(• w) / N1+(• •) */
static double
kn_unigram_score(const LmNgramCounts *c, int32_t word)
{
	const LmNgramEntry *all = entry_of(c, NULL, 0);
	const LmNgramEntry *e = entry_of(c, &word, 1);

	if (all == NULL || all->middle_types == 0)
		return 0.0;
	return (double) (e != NULL ? e->continuations : 0) / (double) all->middle_types;
}

static double
kn_score(const LmNgramModel *m, int32_t word, const int32_t *context, int n_context)
{
	const LmNgramCounts *c = m->counts;
	const LmNgramEntry *ctx;
	int32_t		ngram[LM_NGRAM_MAX_ORDER];
	const LmNgramEntry *e;
	double		word_count;
	double		total;
	double		alpha;
	double		gamma;

	if (n_context == 0)
		return kn_unigram_score(c, word);
	ctx = entry_of(c, context, n_context);
	if (ctx == NULL || ctx->followers == 0)
		return kn_score(m, word, context + 1, n_context - 1);

	memcpy(ngram, context, n_context * sizeof(int32_t));
	ngram[n_context] = word;
	e = entry_of(c, ngram, n_context + 1);
	if (n_context + 1 == c->order)
	{
		word_count = e != NULL ? (double) e->count : 0.0;
		total = (double) ctx->follow_total;
	}
	else
	{
		word_count = e != NULL ? (double) e->continuations : 0.0;
		total = (double) ctx->middle_types;
	}
	/* Only imported counts can leave a seen context without continuations (NLTK divides by 0). */
	if (total == 0.0)
		return kn_score(m, word, context + 1, n_context - 1);
	alpha = fmax(word_count - m->discount, 0.0) / total;
	gamma = m->discount * (double) ctx->followers / total;
	return alpha + gamma * kn_score(m, word, context + 1, n_context - 1);
}

double
lm_ngram_score_ids(const LmNgramModel *model, int32_t word, const int32_t *context,
				   int n_context)
{
	if (n_context > model->counts->order - 1)
	{
		context += n_context - (model->counts->order - 1);
		n_context = model->counts->order - 1;
	}
	switch (model->estimator)
	{
		case LM_NGRAM_MLE:
			return mle_score(model, word, context, n_context);
		case LM_NGRAM_LIDSTONE:
			return lidstone_score(model, word, context, n_context);
		case LM_NGRAM_KNESER_NEY:
			return kn_score(model, word, context, n_context);
	}
	return 0.0;
}

int
lm_ngram_context_ids(const LmNgramModel *model, const char *const *context, size_t n_context,
					 int32_t *ids)
{
	size_t		keep = (size_t) model->counts->order - 1;
	size_t		skip = n_context > keep ? n_context - keep : 0;

	for (size_t i = skip; i < n_context; i++)
		ids[i - skip] = lm_ngram_counts_lookup(model->counts, context[i]);
	return (int) (n_context - skip);
}

int
lm_ngram_score(const LmNgramModel *model, const char *word, const char *const *context,
			   size_t n_context, double *probability, LmError *err)
{
	int32_t		ids[LM_NGRAM_MAX_ORDER];
	int			n;

	*probability = 0.0;
	if (lm_ngram_model_check(model, err) != 0)
		return -1;
	if (word == NULL || (n_context > 0 && context == NULL))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram score needs a word");
	n = lm_ngram_context_ids(model, context, n_context, ids);
	*probability = lm_ngram_score_ids(model, lm_ngram_counts_lookup(model->counts, word), ids, n);
	return 0;
}

/* NLTK's log_base2: math.log(x, 2), i.e. log(x) / log(2). */
static double
log_base2(double x)
{
	return x == 0.0 ? -INFINITY : log(x) / log(2.0);
}

int
lm_ngram_logscore(const LmNgramModel *model, const char *word, const char *const *context,
				  size_t n_context, double *logscore, LmError *err)
{
	double		p;

	*logscore = -INFINITY;
	if (lm_ngram_score(model, word, context, n_context, &p, err) != 0)
		return -1;
	*logscore = log_base2(p);
	return 0;
}

int
lm_ngram_perplexity(const LmNgramModel *model, const char *const *tokens, size_t n_tokens,
					double *perplexity, LmError *err)
{
	int			order;
	size_t		pad;
	size_t		len;
	int32_t    *ids;
	size_t		n_ngrams;
	double		log_sum = 0.0;

	*perplexity = INFINITY;
	if (lm_ngram_model_check(model, err) != 0)
		return -1;
	order = model->counts->order;
	pad = (size_t) order - 1;
	len = n_tokens + 2 * pad;
	if (len < (size_t) order)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "perplexity of a text without words");
	n_ngrams = len - order + 1;
	ids = lm_malloc(len * sizeof(int32_t), err);
	if (ids == NULL)
		return -1;
	for (size_t i = 0; i < pad; i++)
	{
		ids[i] = lm_ngram_counts_lookup(model->counts, LM_NGRAM_BOS);
		ids[pad + n_tokens + i] = lm_ngram_counts_lookup(model->counts, LM_NGRAM_EOS);
	}
	for (size_t i = 0; i < n_tokens; i++)
	{
		if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
		{
			free(ids);
			return -1;
		}
		ids[pad + i] = lm_ngram_counts_lookup(model->counts, tokens[i]);
	}

	for (size_t i = 0; i < n_ngrams; i++)
	{
		if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
		{
			free(ids);
			return -1;
		}
		log_sum += log_base2(lm_ngram_score_ids(model, ids[i + order - 1], ids + i, order - 1));
	}
	free(ids);
	/* NLTK: pow(2.0, -1 * (sum / len)) */
	*perplexity = pow(2.0, -1.0 * (log_sum / (double) n_ngrams));
	return 0;
}
