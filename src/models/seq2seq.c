/*
 * seq2seq.c — encoder-decoder sessions (the source encoded once, decoder
 * states with self-attention caches and shared cross-attention keys and
 * values), and the facade's lm_seq2seq_encode, lm_seq2seq_logits and
 * lm_seq2seq_generate (a session driven by greedy.c or beam.c).
 */
#include "models/seq2seq.h"

#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
not_seq2seq(const LmModel *model, LmError *err)
{
	lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%s is not an encoder-decoder model",
			model->info.architecture);
	lm_hint(err, "Translation and text-to-text generation need a model such as T5, Marian or NLLB.");
	return -1;
}

/* Decoder ids: at least one, inside the target vocabulary and its positions. */
static int
check_decoder_ids(const LmModel *model, const int32_t *ids, int n, LmError *err)
{
	const LmModelInfo *info = &model->info;

	if (ids == NULL || n <= 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the decoder input has no tokens");
		lm_hint(err, "Start it with the decoder start token (%d).", info->decoder_start_token_id);
		return -1;
	}
	if (n > info->max_target_positions)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT,
				"decoder input of %d tokens is longer than the model's %d target positions",
				n, info->max_target_positions);
		return -1;
	}
	for (int i = 0; i < n; i++)
	{
		if (ids[i] < 0 || ids[i] >= info->target_vocab_size)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					"decoder token id %d at position %d is outside the target vocabulary (0..%d)",
					ids[i], i, info->target_vocab_size - 1);
			return -1;
		}
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Sessions */

int
lm_session_open(LmSession *s, const LmModel *model, const int32_t *src, int n_src,
				int n_states, int capacity, int max_chunk, LmError *err)
{
	void	   *enc_state = NULL;
	float	   *enc_hidden = NULL;
	int			rc = -1;

	memset(s, 0, sizeof(*s));
	s->model = model;
	s->ops = model->seq2seq;
	if (s->ops == NULL)
		return not_seq2seq(model, err);
	if (lm_model_check_ids(model, src, n_src, 0, err) < 0)
		return -1;

	/* the encoder runs once; only its keys and values for the decoder stay */
	enc_hidden = lm_malloc((size_t) n_src * model->info.hidden_size * sizeof(float), err);
	if (enc_hidden == NULL ||
		(enc_state = model->ops->state_new(model->impl, n_src, n_src, err)) == NULL ||
		model->ops->forward(model->impl, enc_state, src, NULL, n_src, 0, enc_hidden, err) < 0 ||
		(s->cross = s->ops->cross_new(model->impl, enc_hidden, n_src, err)) == NULL)
		goto done;
	s->n_src = n_src;
	s->capacity = capacity;
	s->max_chunk = max_chunk;
	s->states = lm_calloc(n_states, sizeof(void *), err);
	s->spare = s->states ? lm_calloc(n_states, sizeof(void *), err) : NULL;
	s->hidden = s->spare ? lm_malloc((size_t) max_chunk * model->info.hidden_size * sizeof(float), err) : NULL;
	if (s->hidden == NULL)
		goto done;
	for (int i = 0; i < n_states; i++)
	{
		s->states[i] = s->ops->dec_state_new(model->impl, capacity, max_chunk, n_src, err);
		if (s->states[i] == NULL)
			goto done;
		s->n_states++;
	}
	rc = 0;

done:
	if (enc_state)
		model->ops->state_free(enc_state);
	free(enc_hidden);
	if (rc < 0)
		lm_session_close(s);
	return rc;
}

void
lm_session_close(LmSession *s)
{
	if (s->ops == NULL)
		return;
	for (int i = 0; i < s->n_states; i++)
		s->ops->dec_state_free(s->states[i]);
	if (s->cross)
		s->ops->cross_free(s->cross);
	free(s->states);
	free(s->spare);
	free(s->hidden);
	memset(s, 0, sizeof(*s));
}

int
lm_session_feed(LmSession *s, int i, const int32_t *ids, int n, int pos, bool all_positions,
				float *logits, LmError *err)
{
	const LmModel *model = s->model;
	int			d = model->info.hidden_size;
	int			tv = model->info.target_vocab_size;
	int			last = 0;

	if (pos < 0 || n > s->capacity - pos)
		return lm_fail(err, LM_ERR_INTERNAL, "%d decoder tokens at %d overflow %d positions",
					   n, pos, s->capacity);
	for (int done = 0; done < n; done += last)
	{
		last = n - done < s->max_chunk ? n - done : s->max_chunk;
		if (s->ops->dec_forward(model->impl, &s->states[i], 1, s->cross, ids + done, last,
								pos + done, s->hidden, err) < 0)
			return -1;
		if (all_positions &&
			s->ops->dec_logits(model->impl, s->hidden, last, logits + (size_t) done * tv, err) < 0)
			return -1;
	}
	if (!all_positions)
		return s->ops->dec_logits(model->impl, s->hidden + (size_t) (last - 1) * d, 1, logits, err);
	return 0;
}

int
lm_session_feed_all(LmSession *s, const int32_t *ids, int pos, float *logits, LmError *err)
{
	const LmModel *model = s->model;

	if (pos < 0 || pos >= s->capacity || s->n_states > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "cannot feed %d states at position %d",
					   s->n_states, pos);
	if (s->ops->dec_forward(model->impl, s->states, s->n_states, s->cross, ids, 1, pos,
							s->hidden, err) < 0)
		return -1;
	return s->ops->dec_logits(model->impl, s->hidden, s->n_states, logits, err);
}

/*
 * A state chosen as source by one new beam moves there as it is; each
 * further beam that continues it gets a copy in a state nobody continues.
 */
void
lm_session_reorder(LmSession *s, const int *from, int n_pos)
{
	bool		moved[LM_MAX_BEAMS] = {false};
	bool		wanted[LM_MAX_BEAMS] = {false};
	void	   *unused[LM_MAX_BEAMS];
	void	  **swap;
	int			n_unused = 0;

	for (int b = 0; b < s->n_states; b++)
		wanted[from[b]] = true;
	for (int b = 0; b < s->n_states; b++)
		if (!wanted[b])
			unused[n_unused++] = s->states[b];
	for (int b = 0; b < s->n_states; b++)
	{
		void	   *src = s->states[from[b]];

		if (!moved[from[b]])
		{
			moved[from[b]] = true;
			s->spare[b] = src;
		}
		else
		{
			s->spare[b] = unused[--n_unused];
			s->ops->dec_state_copy(s->spare[b], src, n_pos);
		}
	}
	swap = s->states;
	s->states = s->spare;
	s->spare = swap;
}

/* n_beams is the session's n_states. */
static int
session_step(void *self, const int32_t *tokens, int n_beams, int pos, float *logits,
			 LmError *err)
{
	return lm_session_feed_all(self, tokens, pos, logits, err);
}

static void
session_reorder(void *self, const int *from, int n_beams, int n_pos)
{
	lm_session_reorder(self, from, n_pos);
}

LmDecodeStepper
lm_session_stepper(LmSession *s)
{
	LmDecodeStepper st = {s, s->model->info.target_vocab_size, session_step, session_reorder};

	return st;
}

/* ----------------------------------------------------------------------------
 * The facade */

int
lm_seq2seq_encode(const LmModel *model, const int32_t *ids, int n, float *hidden_out,
				  LmError *err)
{
	if (model->seq2seq == NULL)
		return not_seq2seq(model, err);
	return lm_model_encode(model, ids, NULL, n, hidden_out, err);
}

int
lm_seq2seq_logits(const LmModel *model, const int32_t *src_ids, int n_src,
				  const int32_t *dec_ids, int n_dec, bool all_positions, float *out,
				  LmError *err)
{
	LmSession	s;
	int			chunk;
	int			rc;

	if (model->seq2seq == NULL)
		return not_seq2seq(model, err);
	if (check_decoder_ids(model, dec_ids, n_dec, err) < 0)
		return -1;
	chunk = n_dec < LM_SEQ2SEQ_CHUNK ? n_dec : LM_SEQ2SEQ_CHUNK;
	if (lm_session_open(&s, model, src_ids, n_src, 1, n_dec, chunk, err) < 0)
		return -1;
	rc = lm_session_feed(&s, 0, dec_ids, n_dec, 0, all_positions, out, err);
	lm_session_close(&s);
	return rc;
}

int
lm_seq2seq_generate(const LmModel *model, const int32_t *src_ids, int n_src,
					const LmSeq2SeqParams *params, int32_t *out, int *n_out, LmError *err)
{
	LmSession	s;
	LmDecodeStepper st;
	int			max_length;
	int			rc;

	*n_out = 0;
	if (model->seq2seq == NULL)
		return not_seq2seq(model, err);
	if (params == NULL || out == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "generation needs parameters and an output array");
	if (lm_seq2seq_check_params(model, params, &max_length, err) < 0 ||
		lm_model_check_ids(model, src_ids, n_src, 0, err) < 0)
		return -1;
	if (max_length == 1)
	{
		out[0] = params->decoder_start_token_id;
		*n_out = 1;
		return 0;
	}

	/* one decoder state per beam, fed together; the last token generated is never fed */
	if (lm_session_open(&s, model, src_ids, n_src, params->num_beams, max_length - 1,
						params->num_beams, err) < 0)
		return -1;
	st = lm_session_stepper(&s);
	if (params->num_beams > 1)
		rc = lm_beam_search(&st, params, LM_BEAM_SCORES_FLOAT32, max_length, out, n_out, err);
	else
		rc = lm_greedy_search(&st, params, max_length, out, n_out, err);
	lm_session_close(&s);
	return rc;
}
