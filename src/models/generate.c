/*
 * generate.c — text generation: feed the prompt to a decoder session, then
 * pick a token (greedy or sampled), feed it back, until a stop token, the
 * token budget or the end of the context.
 */
#include "models/arch.h"

#include <stdlib.h>
#include <string.h>

static bool
is_stop(const LmModel *model, const LmGenerateParams *params, int32_t id)
{
	if (!params->ignore_eos)
		for (int i = 0; i < model->info.n_eos; i++)
			if (model->info.eos_token_ids[i] == id)
				return true;
	for (int i = 0; i < params->n_stop; i++)
		if (params->stop_ids[i] == id)
			return true;
	return false;
}

struct LmGeneration
{
	const LmModel *model;
	LmGenerateParams params;
	LmSampler	sampler;
	LmDecoder  *dec;
	float	   *logits;			/* the next token's, once fed */
	int32_t		greedy_pick;	/* the next token, when `picked`: found where the logits were */
	bool		picked;
	int32_t    *out;			/* max_new_tokens */
	int			count;
	int			capacity;
	bool		ended;
};

void
lm_generation_free(LmGeneration *g)
{
	if (g == NULL)
		return;
	free(g->logits);
	free(g->out);
	lm_decoder_free(g->dec);
	lm_sampler_free(&g->sampler);
	free(g);
}

LmGeneration *
lm_generation_start(const LmModel *model, const int32_t *prompt, int n_prompt,
					const LmGenerateParams *params, LmError *err)
{
	LmGeneration *g;

	if (params->max_new_tokens < 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_new_tokens must not be negative");
		return NULL;
	}
	if (params->n_stop < 0 || (params->n_stop > 0 && params->stop_ids == NULL))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "stop ids are missing");
		return NULL;
	}
	if (lm_model_check_ids(model, prompt, n_prompt, 0, err) < 0 ||
		(g = lm_calloc(1, sizeof(LmGeneration), err)) == NULL)
		return NULL;
	g->model = model;
	g->params = *params;
	if (params->max_new_tokens == 0)
	{
		g->ended = true;
		return g;
	}
	/* the last token generated is never fed back */
	g->capacity = n_prompt + params->max_new_tokens - 1;
	if (g->capacity > model->info.max_positions)
		g->capacity = model->info.max_positions;
	if (g->capacity < n_prompt)
		g->capacity = n_prompt;
	if (lm_sampler_init(&g->sampler, model->info.vocab_size, &params->sampling, err) < 0 ||
		(g->dec = lm_decoder_start(model, g->capacity, err)) == NULL ||
		(g->logits = lm_malloc((size_t) model->info.vocab_size * sizeof(float), err)) == NULL ||
		(g->out = lm_malloc((size_t) params->max_new_tokens * sizeof(int32_t), err)) == NULL ||
		lm_decoder_feed(g->dec, prompt, n_prompt, g->logits, err) < 0)
	{
		lm_generation_free(g);
		return NULL;
	}
	return g;
}

int
lm_generation_pick(LmGeneration *g, LmError *err)
{
	int32_t		id;

	if (g->ended)
		return 1;
	if (lm_check_cancel(err) < 0)
		return -1;
	id = g->picked ? g->greedy_pick : lm_sampler_next(&g->sampler, g->logits);
	g->picked = false;
	g->out[g->count++] = id;
	if (g->count == g->params.max_new_tokens || is_stop(g->model, &g->params, id) ||
		lm_decoder_position(g->dec) == g->capacity)
		g->ended = true;
	else if (g->params.after_token != NULL)
	{
		int			verdict = g->params.after_token(g->params.after_token_arg, g->out, g->count, err);

		if (verdict < 0)
			return -1;
		g->ended = verdict > 0;
	}
	return g->ended ? 1 : 0;
}

/* Greedy generations of a model that picks tokens where it computes logits (a device). */
static bool
pick_there(LmGeneration *const *gs, int n)
{
	if (!lm_arch_picks_where_logits_are(gs[0]->model->ops))
		return false;
	for (int i = 0; i < n; i++)
		if (gs[i]->params.sampling.temperature != 0.0)
			return false;
	return true;
}

int
lm_generations_feed(LmGeneration *const *gs, int n, LmError *err)
{
	LmDecoder **decs;
	int32_t    *ids;
	float	   *logits = NULL;
	int32_t    *picks = NULL;
	bool		greedy = n > 0 && pick_there(gs, n);
	size_t		vocab;
	int			rc = -1;

	if (n == 1 && !greedy)
		return lm_decoder_step(gs[0]->dec, gs[0]->out[gs[0]->count - 1], gs[0]->logits, err);
	vocab = (size_t) gs[0]->model->info.vocab_size;
	decs = lm_malloc(sizeof(LmDecoder *) * n, err);
	ids = lm_malloc(sizeof(int32_t) * n, err);
	if (greedy)
		picks = lm_malloc(sizeof(int32_t) * n, err);
	else
		logits = lm_malloc(sizeof(float) * vocab * n, err);
	if (decs != NULL && ids != NULL && (picks != NULL || logits != NULL))
	{
		for (int i = 0; i < n; i++)
		{
			decs[i] = gs[i]->dec;
			ids[i] = gs[i]->out[gs[i]->count - 1];
		}
		if (greedy)
		{
			if ((rc = lm_decoders_step_greedy(decs, ids, n, picks, err)) == 0)
				for (int i = 0; i < n; i++)
				{
					gs[i]->greedy_pick = picks[i];
					gs[i]->picked = true;
				}
		}
		else if ((rc = lm_decoders_step(decs, ids, n, logits, err)) == 0)
			for (int i = 0; i < n; i++)
				memcpy(gs[i]->logits, logits + i * vocab, sizeof(float) * vocab);
	}
	free(decs);
	free(ids);
	free(logits);
	free(picks);
	return rc;
}

const int32_t *
lm_generation_tokens(const LmGeneration *g, int *n)
{
	*n = g->count;
	return g->out;
}

int
lm_generate(const LmModel *model, const int32_t *prompt, int n_prompt,
			const LmGenerateParams *params, int32_t *out, int *n_out, LmError *err)
{
	LmGeneration *g = lm_generation_start(model, prompt, n_prompt, params, err);
	int			rc;

	*n_out = 0;
	if (g == NULL)
		return -1;
	while ((rc = lm_generation_pick(g, err)) == 0)
		if (lm_generations_feed(&g, 1, err) < 0)
		{
			rc = -1;
			break;
		}
	if (rc > 0)
	{
		memcpy(out, g->out, sizeof(int32_t) * g->count);
		*n_out = g->count;
		rc = 0;
	}
	lm_generation_free(g);
	return rc;
}
