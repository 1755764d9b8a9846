/*
 * generate.c — text generation: feed the prompt to a decoder session, then
 * pick a token (greedy or sampled), feed it back, until a stop token, the
 * token budget or the end of the context.
 */
#include "models/arch.h"

#include <stdlib.h>

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

int
lm_generate(const LmModel *model, const int32_t *prompt, int n_prompt,
			const LmGenerateParams *params, int32_t *out, int *n_out, LmError *err)
{
	LmSampler	sampler = {0};
	LmDecoder  *dec = NULL;
	float	   *logits = NULL;
	int			capacity;
	int			count = 0;
	int			rc = -1;

	*n_out = 0;
	if (params->max_new_tokens < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_new_tokens must not be negative");
	if (params->n_stop < 0 || (params->n_stop > 0 && params->stop_ids == NULL))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "stop ids are missing");
	if (lm_model_check_ids(model, prompt, n_prompt, 0, err) < 0)
		return -1;
	if (params->max_new_tokens == 0)
		return 0;

	/* the last token generated is never fed back */
	capacity = n_prompt + params->max_new_tokens - 1;
	if (capacity > model->info.max_positions)
		capacity = model->info.max_positions;
	if (capacity < n_prompt)
		capacity = n_prompt;
	if (lm_sampler_init(&sampler, model->info.vocab_size, &params->sampling, err) < 0 ||
		(dec = lm_decoder_start(model, capacity, err)) == NULL ||
		(logits = lm_malloc((size_t) model->info.vocab_size * sizeof(float), err)) == NULL ||
		lm_decoder_feed(dec, prompt, n_prompt, logits, err) < 0)
		goto done;

	for (;;)
	{
		int32_t		id;

		if (lm_check_cancel(err) < 0)
			goto done;
		id = lm_sampler_next(&sampler, logits);
		out[count++] = id;
		if (count == params->max_new_tokens || is_stop(model, params, id) ||
			lm_decoder_position(dec) == capacity)
			break;
		if (params->after_token != NULL)
		{
			int			verdict = params->after_token(params->after_token_arg, out, count, err);

			if (verdict < 0)
				goto done;
			if (verdict > 0)
				break;
		}
		if (lm_decoder_step(dec, id, logits, err) < 0)
			goto done;
	}
	*n_out = count;
	rc = 0;

done:
	free(logits);
	lm_decoder_free(dec);
	lm_sampler_free(&sampler);
	return rc;
}
