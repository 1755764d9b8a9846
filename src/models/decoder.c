/*
 * decoder.c — incremental decoding sessions over a causal LM: the state
 * (with its KV cache) lives between calls, so each new token costs one
 * position instead of the whole prefix.
 */
#include "models/arch.h"
#include "nn/ops.h"

#include <stdlib.h>

/* Tokens per forward call when feeding a long prompt. */
#define LM_DECODER_CHUNK 128

struct LmDecoder
{
	const LmModel *model;
	void	   *state;
	int			capacity;
	int			chunk;
	int			pos;			/* tokens held */
	float	   *hidden;			/* [chunk][hidden_size] */
};

LmDecoder *
lm_decoder_start(const LmModel *model, int capacity, LmError *err)
{
	LmDecoder  *dec;

	if (!model->info.causal)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%s is not a causal language model",
				model->info.architecture);
		lm_hint(err, "Incremental decoding needs a decoder such as GPT-2 or Llama.");
		return NULL;
	}
	if (capacity < 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "decoder capacity must not be negative");
		return NULL;
	}
	if (capacity == 0 || capacity > model->info.max_positions)
		capacity = model->info.max_positions;
	if ((dec = lm_calloc(1, sizeof(LmDecoder), err)) == NULL)
		return NULL;
	dec->model = model;
	dec->capacity = capacity;
	dec->chunk = capacity < LM_DECODER_CHUNK ? capacity : LM_DECODER_CHUNK;
	dec->hidden = lm_malloc((size_t) dec->chunk * model->info.hidden_size * sizeof(float), err);
	if (dec->hidden == NULL ||
		(dec->state = model->ops->state_new(model->impl, capacity, dec->chunk, err)) == NULL)
	{
		lm_decoder_free(dec);
		return NULL;
	}
	return dec;
}

void
lm_decoder_free(LmDecoder *dec)
{
	if (dec == NULL)
		return;
	if (dec->state)
		dec->model->ops->state_free(dec->state);
	free(dec->hidden);
	free(dec);
}

int
lm_decoder_feed(LmDecoder *dec, const int32_t *ids, int n, float *logits, LmError *err)
{
	const LmModel *model = dec->model;
	int			last = 0;

	if (lm_model_check_ids(model, ids, n, dec->pos, err) < 0)
		return -1;
	if (n > dec->capacity - dec->pos)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT,
				"%d more tokens do not fit in the decoder's %d positions (%d used)",
				n, dec->capacity, dec->pos);
		lm_hint(err, "Start the session with a larger capacity.");
		return -1;
	}
	for (int done = 0; done < n; done += last)
	{
		last = n - done < dec->chunk ? n - done : dec->chunk;
		if (model->ops->forward(model->impl, dec->state, ids + done, NULL, last, dec->pos,
								dec->hidden, err) < 0)
			return -1;
		dec->pos += last;
	}
	if (logits == NULL)
		return 0;
	return model->ops->token_logits(model->impl, dec->state,
									dec->hidden + (size_t) (last - 1) * model->info.hidden_size,
									1, logits, err);
}

int
lm_decoder_step(LmDecoder *dec, int32_t id, float *logits, LmError *err)
{
	return lm_decoder_feed(dec, &id, 1, logits, err);
}

int
lm_decoder_position(const LmDecoder *dec)
{
	return dec->pos;
}

int
lm_decoder_rewind(LmDecoder *dec, int pos, LmError *err)
{
	if (pos < 0 || pos > dec->pos)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "cannot rewind a decoder at position %d to %d",
					   dec->pos, pos);
	dec->pos = pos;
	return 0;
}

/*
 * One token for each of n decoders; their logits into logits[n][vocab], or,
 * with picks, only each row's argmax into picks[n] (computed where the
 * logits are when the architecture can: a device).
 */
static int
step_decoders(LmDecoder *const *decs, const int32_t *ids, int n, float *logits, int32_t *picks,
			  LmError *err)
{
	const LmModel *model;
	void	  **states = NULL;
	int		   *pos = NULL;
	float	   *hidden = NULL;
	bool		argmax_there;
	int			rc = -1;

	if (n <= 0)
		return 0;
	model = decs[0]->model;
	for (int i = 0; i < n; i++)
	{
		if (decs[i]->model != model)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "decoders stepped together must share their model");
		if (lm_model_check_ids(model, &ids[i], 1, decs[i]->pos, err) < 0)
			return -1;
		if (decs[i]->pos >= decs[i]->capacity)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
						   "1 more token does not fit in the decoder's %d positions", decs[i]->capacity);
	}
	argmax_there = picks != NULL && lm_arch_picks_where_logits_are(model->ops);
	/* one at a time where the architecture cannot do rows */
	if (!argmax_there &&
		(n == 1 || model->ops->forward_rows == NULL || model->ops->token_logits_rows == NULL))
	{
		for (int i = 0; i < n; i++)
			if (lm_decoder_step(decs[i], ids[i], logits + (size_t) i * model->info.vocab_size, err) < 0)
				return -1;
		rc = 0;
		goto picked;
	}
	states = lm_malloc(sizeof(void *) * n, err);
	pos = lm_malloc(sizeof(int) * n, err);
	hidden = lm_malloc(sizeof(float) * (size_t) n * model->info.hidden_size, err);
	if (states == NULL || pos == NULL || hidden == NULL)
		goto done;
	for (int i = 0; i < n; i++)
	{
		states[i] = decs[i]->state;
		pos[i] = decs[i]->pos;
	}
	if (model->ops->forward_rows(model->impl, states, ids, pos, n, hidden, err) < 0 ||
		(argmax_there
		 ? model->ops->token_argmax_rows(model->impl, decs[0]->state, hidden, n, picks, err)
		 : model->ops->token_logits_rows(model->impl, decs[0]->state, hidden, n, logits, err)) < 0)
		goto done;
	for (int i = 0; i < n; i++)
		decs[i]->pos++;
	rc = 0;
picked:
	if (rc == 0 && picks != NULL && !argmax_there)
		for (int i = 0; i < n; i++)
			picks[i] = lm_argmax(logits + (size_t) i * model->info.vocab_size, model->info.vocab_size);
done:
	free(states);
	free(pos);
	free(hidden);
	return rc;
}

int
lm_decoders_step(LmDecoder *const *decs, const int32_t *ids, int n, float *logits, LmError *err)
{
	return step_decoders(decs, ids, n, logits, NULL, err);
}

int
lm_decoders_step_greedy(LmDecoder *const *decs, const int32_t *ids, int n, int32_t *picks,
						LmError *err)
{
	const LmModel *model;
	float	   *logits = NULL;
	int			rc;

	if (n <= 0)
		return 0;
	model = decs[0]->model;
	/* the logits only where they must come to the host to be compared */
	if (!lm_arch_picks_where_logits_are(model->ops) &&
		(logits = lm_malloc(sizeof(float) * (size_t) n * model->info.vocab_size, err)) == NULL)
		return -1;
	rc = step_decoders(decs, ids, n, logits, picks, err);
	free(logits);
	return rc;
}
