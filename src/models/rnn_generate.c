/*
 * rnn_generate.c — decoding with an RNN generator (RNNSeq2Seq): the encoder
 * reads the source, its final states seed the decoder, which is fed its
 * previous token from the start token on.  Generation is the greedy and
 * beam search of decode_step.h over the decoder, one state per beam;
 * teacher-forced scoring is here.
 */
#include "models/rnn_internal.h"
#include "models/decode_step.h"

#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

/* Every number of beams the generator accepts, beam.c must take. */
_Static_assert(LM_RNN_MAX_BEAMS <= LM_MAX_BEAMS, "LM_RNN_MAX_BEAMS exceeds LM_MAX_BEAMS");

/* Scratch for decoder steps, and the encoder's final states. */
typedef struct RnnDecoding
{
	const LmRnnModel *m;
	int			state_size;		/* layers · hidden floats per hypothesis */
	float	   *x;				/* [embedding_dim] */
	float	   *scratch;		/* lm_rnn_step_scratch */
	float	   *h0;				/* encoder's final h [state_size] */
	float	   *c0;				/* and c (LSTM; zeros otherwise) */
} RnnDecoding;

static void
decoding_free(RnnDecoding *d)
{
	free(d->x);
	free(d->scratch);
	free(d->h0);
	free(d->c0);
}

static int
wrong_task(const LmRnnModel *m, LmError *err)
{
	lm_fail(err, LM_ERR_INVALID_ARGUMENT, "generation needs an RNNSeq2Seq model, and this model is a %s",
			m->info.architecture);
	lm_hint(err, "Use lm_rnn_classify or lm_rnn_encode with a classifier.");
	return -1;
}

/* Check the source, run the encoder, allocate the step scratch. */
static int
decoding_start(RnnDecoding *d, const LmRnnModel *m, const int32_t *src, int n, LmError *err)
{
	memset(d, 0, sizeof(*d));
	d->m = m;
	d->state_size = m->decoder.num_layers * m->decoder.hidden_size;
	if (m->info.task != LM_RNN_TASK_GENERATE)
		return wrong_task(m, err);
	if (lm_rnn_check_ids(m, src, n, err) < 0)
		return -1;
	if (!(d->x = lm_malloc(m->info.embedding_dim * sizeof(float), err)) ||
		!(d->scratch = lm_malloc(lm_rnn_step_scratch(&m->decoder) * sizeof(float), err)) ||
		!(d->h0 = lm_malloc(d->state_size * sizeof(float), err)) ||
		!(d->c0 = lm_calloc(d->state_size, sizeof(float), err)))
		return -1;
	return lm_rnn_run_encoder(m, src, n, d->h0, d->c0, err);
}

/* Feed one token: states h, c advance; logits[vocab] for the next token. */
static int
decoder_step(RnnDecoding *d, int32_t token, float *h, float *c, float *logits, LmError *err)
{
	const LmRnnModel *m = d->m;
	int			emb = m->info.embedding_dim;
	int			hid = m->decoder.hidden_size;

	memcpy(d->x, m->embedding + (size_t) token * emb, emb * sizeof(float));
	if (lm_rnn_stack_step(&m->decoder, d->x, h, c, d->scratch, err) < 0)
		return -1;
	lm_linear(logits, h + (size_t) (m->decoder.num_layers - 1) * hid, m->head_w, m->head_b,
			  1, hid, m->info.vocab_size, false);
	return 0;
}

/* ----------------------------------------------------------------------------
 * The decoder as a stepper for greedy.c and beam.c */

/* One h (and c) per beam, all seeded with the encoder's, and spares for reordering. */
typedef struct RnnBeams
{
	RnnDecoding *d;
	float	   *h;				/* [beams][state_size] */
	float	   *c;
	float	   *spare_h;
	float	   *spare_c;
} RnnBeams;

static void
beams_free(RnnBeams *bm)
{
	free(bm->h);
	free(bm->c);
	free(bm->spare_h);
	free(bm->spare_c);
}

static int
beams_start(RnnBeams *bm, RnnDecoding *d, int beams, LmError *err)
{
	size_t		floats = (size_t) beams * d->state_size;

	memset(bm, 0, sizeof(*bm));
	bm->d = d;
	if (!(bm->h = lm_malloc(floats * sizeof(float), err)) ||
		!(bm->c = lm_malloc(floats * sizeof(float), err)) ||
		!(bm->spare_h = lm_malloc(floats * sizeof(float), err)) ||
		!(bm->spare_c = lm_malloc(floats * sizeof(float), err)))
		return -1;
	for (int b = 0; b < beams; b++)
	{
		memcpy(bm->h + (size_t) b * d->state_size, d->h0, d->state_size * sizeof(float));
		memcpy(bm->c + (size_t) b * d->state_size, d->c0, d->state_size * sizeof(float));
	}
	return 0;
}

static int
beams_step(void *self, const int32_t *tokens, int n_beams, int pos, float *logits, LmError *err)
{
	RnnBeams   *bm = self;
	size_t		ss = bm->d->state_size;
	size_t		vocab = bm->d->m->info.vocab_size;

	/* a recurrence needs no positions */
	for (int b = 0; b < n_beams; b++)
		if (decoder_step(bm->d, tokens[b], bm->h + b * ss, bm->c + b * ss, logits + b * vocab,
						 err) < 0)
			return -1;
	return 0;
}

static void
beams_reorder(void *self, const int *from, int n_beams, int n_pos)
{
	RnnBeams   *bm = self;
	size_t		ss = bm->d->state_size;
	float	   *swap;

	for (int b = 0; b < n_beams; b++)
	{
		memcpy(bm->spare_h + b * ss, bm->h + from[b] * ss, ss * sizeof(float));
		memcpy(bm->spare_c + b * ss, bm->c + from[b] * ss, ss * sizeof(float));
	}
	swap = bm->h;
	bm->h = bm->spare_h;
	bm->spare_h = swap;
	swap = bm->c;
	bm->c = bm->spare_c;
	bm->spare_c = swap;
}

/*
 * What the generator has always done, as search parameters: transformers'
 * generate(num_beams=beams, length_penalty=1.0, early_stopping=True) with
 * no logits processor, from the start token, stopping at eos if any.
 */
static void
search_params(const LmRnnInfo *info, int beams, int max_len, LmSeq2SeqParams *p)
{
	memset(p, 0, sizeof(*p));
	p->num_beams = beams;
	p->max_new_tokens = max_len;
	p->length_penalty = 1.0;
	p->early_stopping = LM_EARLY_STOPPING_ON;
	p->repetition_penalty = 1.0;
	p->decoder_start_token_id = info->decoder_start_token_id;
	p->forced_bos_token_id = -1;
	p->forced_eos_token_id = -1;
	if (info->eos_token_id >= 0)
	{
		p->n_eos = 1;
		p->eos_token_ids[0] = info->eos_token_id;
	}
}

/* ----------------------------------------------------------------------------
 * Entry points */

int
lm_rnn_generate(const LmRnnModel *m, const int32_t *src, int n, int max_len, int beams,
				int32_t *out, int *n_out, LmError *err)
{
	RnnDecoding d;
	RnnBeams	bm = {0};
	LmSeq2SeqParams p;
	int32_t    *seq = NULL;		/* the start token, then out */
	int			n_seq = 0;
	int			rc;

	if (max_len < 1 || max_len > LM_RNN_MAX_NEW_TOKENS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_len %d is outside 1..%d",
					   max_len, LM_RNN_MAX_NEW_TOKENS);
	if (beams > LM_RNN_MAX_BEAMS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%d beams are more than %d",
					   beams, LM_RNN_MAX_BEAMS);
	if (beams < 1)
		beams = 1;
	search_params(&m->info, beams, max_len, &p);
	rc = decoding_start(&d, m, src, n, err);
	if (rc == 0)
		rc = beams_start(&bm, &d, beams, err);
	if (rc == 0 && (seq = lm_malloc((max_len + 1) * sizeof(int32_t), err)) == NULL)
		rc = -1;
	if (rc == 0)
	{
		LmDecodeStepper st = {&bm, m->info.vocab_size, beams_step, beams_reorder};

		rc = beams > 1
			? lm_beam_search(&st, &p, LM_BEAM_SCORES_DOUBLE, max_len + 1, seq, &n_seq, err)
			: lm_greedy_search(&st, &p, max_len + 1, seq, &n_seq, err);
	}
	if (rc == 0)
	{
		*n_out = n_seq - 1;
		memcpy(out, seq + 1, *n_out * sizeof(int32_t));
	}
	free(seq);
	beams_free(&bm);
	decoding_free(&d);
	return rc;
}

int
lm_rnn_score(const LmRnnModel *m, const int32_t *src, int n, const int32_t *tgt, int n_tgt,
			 double *sum_logprob, LmError *err)
{
	RnnDecoding d;
	float	   *logits = NULL;
	double		sum = 0.0;
	int			rc;

	rc = decoding_start(&d, m, src, n, err);
	if (rc == 0 && lm_rnn_check_ids(m, tgt, n_tgt, err) < 0)
		rc = -1;
	if (rc == 0 && (logits = lm_malloc(m->info.vocab_size * sizeof(float), err)) == NULL)
		rc = -1;
	for (int i = 0; rc == 0 && i < n_tgt; i++)
	{
		int32_t		token = i == 0 ? m->info.decoder_start_token_id : tgt[i - 1];

		rc = decoder_step(&d, token, d.h0, d.c0, logits, err);
		if (rc == 0)
			sum += logits[tgt[i]] - lm_logsumexp(logits, m->info.vocab_size);
	}
	free(logits);
	decoding_free(&d);
	if (rc == 0)
		*sum_logprob = sum;
	return rc;
}
