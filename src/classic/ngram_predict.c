/*
 * ngram_predict.c — score every candidate word, keep the k best.
 */
#include "classic/ngram_predict.h"

#include <stdlib.h>
#include <string.h>

/* Check for cancellation once per this many candidate words. */
#define CANCEL_CHECK_INTERVAL 4096

typedef struct Candidate
{
	int32_t		id;
	double		probability;
} Candidate;

/* Higher probability first; among equals the word seen first in training. */
static int
compare_candidates(const void *a, const void *b)
{
	const Candidate *x = a;
	const Candidate *y = b;

	if (x->probability != y->probability)
		return x->probability > y->probability ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

int
lm_ngram_next_words(const LmNgramModel *model, const char *const *context, size_t n_context,
					bool sentence_start, int k, LmNgramPrediction *out, int *n_out, LmError *err)
{
	const LmNgramCounts *c;
	int32_t		ids[2 * LM_NGRAM_MAX_ORDER];
	int			n_ids = 0;
	int			keep;
	Candidate  *candidates;
	size_t		n_candidates = 0;

	*n_out = 0;
	if (lm_ngram_model_check(model, err) != 0)
		return -1;
	c = model->counts;
	if (k < 1 || k > LM_NGRAM_MAX_PREDICTIONS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "the number of predicted words must be between 1 and %d, not %d",
					   LM_NGRAM_MAX_PREDICTIONS, k);
	if (n_context > 0 && context == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram context is missing");

	/* The last order-1 words of ("<s>" x (order-1) when starting a sentence, context). */
	if (sentence_start)
	{
		int32_t		bos = lm_ngram_counts_lookup(c, LM_NGRAM_BOS);

		for (int i = 0; i < c->order - 1; i++)
			ids[n_ids++] = bos;
	}
	n_ids += lm_ngram_context_ids(model, context, n_context, ids + n_ids);
	keep = n_ids < c->order - 1 ? n_ids : c->order - 1;

	candidates = lm_malloc(c->n_words * sizeof(Candidate), err);
	if (candidates == NULL)
		return -1;
	for (size_t i = 0; i < c->n_words; i++)
	{
		int32_t		id = (int32_t) i;
		double		p;

		if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
		{
			free(candidates);
			return -1;
		}
		if (id == LM_NGRAM_UNK_ID || id == c->bos_id || lm_ngram_counts_get(c, &id, 1) <= 0)
			continue;
		p = lm_ngram_score_ids(model, id, ids + n_ids - keep, keep);
		if (p > 0.0)
			candidates[n_candidates++] = (Candidate) {id, p};
	}
	qsort(candidates, n_candidates, sizeof(Candidate), compare_candidates);
	for (size_t i = 0; i < n_candidates && (int) i < k; i++)
	{
		out[i].word = c->words[candidates[i].id];
		out[i].probability = candidates[i].probability;
		(*n_out)++;
	}
	free(candidates);
	return 0;
}
