/*
 * rnn_generate.c — decoding with an RNN generator (RNNSeq2Seq): the encoder
 * reads the source, its final states seed the decoder, which is fed its
 * previous token from the start token on.  Greedy decoding, beam search
 * with transformers' semantics, and teacher-forced scoring.
 */
#include "models/rnn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

/* Candidates kept per beam-search step, as transformers does: 2 · beams. */
#define CANDIDATES_PER_BEAM 2

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

static void
log_softmax(float *x, int count)
{
	double		lse = lm_logsumexp(x, count);

	for (int i = 0; i < count; i++)
		x[i] = (float) (x[i] - lse);
}

/* ----------------------------------------------------------------------------
 * Greedy */

static int
generate_greedy(RnnDecoding *d, int max_len, int32_t *out, int *n_out, LmError *err)
{
	const LmRnnInfo *info = &d->m->info;
	float	   *logits = lm_malloc(info->vocab_size * sizeof(float), err);
	int32_t		token = info->decoder_start_token_id;
	int			n = 0;

	if (logits == NULL)
		return -1;
	while (n < max_len)
	{
		if (decoder_step(d, token, d->h0, d->c0, logits, err) < 0)
		{
			free(logits);
			return -1;
		}
		token = lm_argmax(logits, info->vocab_size);
		out[n++] = token;
		if (token == info->eos_token_id)
			break;
	}
	free(logits);
	*n_out = n;
	return 0;
}

/* ----------------------------------------------------------------------------
 * Beam search */

typedef struct Candidate
{
	double		score;			/* sum of log-probabilities */
	int			beam;
	int32_t		token;
} Candidate;

typedef struct BeamSearch
{
	int			beams;
	int			max_len;
	int			n_live;
	int32_t    *tokens[2];		/* live hypotheses [beams][max_len], two generations */
	float	   *h[2];			/* their states [beams][state_size] */
	float	   *c[2];
	double	   *score[2];		/* [beams] */
	float	   *logprobs;		/* [beams][vocab] */
	Candidate  *cand;			/* [CANDIDATES_PER_BEAM · beams] */
	int32_t    *fin_tokens;		/* finished hypotheses [beams][max_len] */
	int		   *fin_len;
	double	   *fin_score;		/* sum of log-probabilities / length */
	int			n_fin;
} BeamSearch;

static void
beam_free(BeamSearch *bs)
{
	for (int g = 0; g < 2; g++)
	{
		free(bs->tokens[g]);
		free(bs->h[g]);
		free(bs->c[g]);
		free(bs->score[g]);
	}
	free(bs->logprobs);
	free(bs->cand);
	free(bs->fin_tokens);
	free(bs->fin_len);
	free(bs->fin_score);
}

static int
beam_alloc(BeamSearch *bs, int beams, int max_len, int state_size, int vocab, LmError *err)
{
	size_t		b = beams;

	memset(bs, 0, sizeof(*bs));
	bs->beams = beams;
	bs->max_len = max_len;
	for (int g = 0; g < 2; g++)
	{
		if (!(bs->tokens[g] = lm_malloc(b * max_len * sizeof(int32_t), err)) ||
			!(bs->h[g] = lm_malloc(b * state_size * sizeof(float), err)) ||
			!(bs->c[g] = lm_malloc(b * state_size * sizeof(float), err)) ||
			!(bs->score[g] = lm_malloc(b * sizeof(double), err)))
			return -1;
	}
	if (!(bs->logprobs = lm_malloc(b * vocab * sizeof(float), err)) ||
		!(bs->cand = lm_malloc(CANDIDATES_PER_BEAM * b * sizeof(Candidate), err)) ||
		!(bs->fin_tokens = lm_malloc(b * max_len * sizeof(int32_t), err)) ||
		!(bs->fin_len = lm_malloc(b * sizeof(int), err)) ||
		!(bs->fin_score = lm_malloc(b * sizeof(double), err)))
		return -1;
	return 0;
}

/*
 * The best k continuations over all live beams, best first; ties keep the
 * lower (beam, token), as torch.topk over the flattened scores tends to.
 */
static int
top_candidates(const BeamSearch *bs, const double *score, int vocab, int k, Candidate *cand)
{
	int			n = 0;

	for (int b = 0; b < bs->n_live; b++)
	{
		const float *lp = bs->logprobs + (size_t) b * vocab;

		for (int v = 0; v < vocab; v++)
		{
			double		s = score[b] + lp[v];
			int			i;

			if (n == k && !(s > cand[n - 1].score))
				continue;
			i = n < k ? n++ : n - 1;
			while (i > 0 && s > cand[i - 1].score)
			{
				cand[i] = cand[i - 1];
				i--;
			}
			cand[i].score = s;
			cand[i].beam = b;
			cand[i].token = v;
		}
	}
	return n;
}

/* Keep a finished hypothesis if it is among the best `beams` so far. */
static void
add_finished(BeamSearch *bs, const int32_t *prefix, int prefix_len, int32_t token,
			 double norm_score)
{
	int			slot = bs->n_fin;

	if (bs->n_fin == bs->beams)
	{
		slot = 0;
		for (int i = 1; i < bs->n_fin; i++)
			if (bs->fin_score[i] < bs->fin_score[slot])
				slot = i;
		if (!(norm_score > bs->fin_score[slot]))
			return;
	}
	else
		bs->n_fin++;
	memcpy(bs->fin_tokens + (size_t) slot * bs->max_len, prefix, prefix_len * sizeof(int32_t));
	bs->fin_tokens[(size_t) slot * bs->max_len + prefix_len] = token;
	bs->fin_len[slot] = prefix_len + 1;
	bs->fin_score[slot] = norm_score;
}

/*
 * transformers' beam search (length_penalty 1, early_stopping true): each
 * step keeps the best 2·beams continuations; one ending in eos among the
 * best `beams` finishes, scored by its sum of log-probabilities over its
 * length; the others continue until `beams` are live.  Search stops when
 * `beams` hypotheses have finished, or at max_len, where the best `beams`
 * continuations finish as they are.
 */
static int
generate_beam(RnnDecoding *d, int beams, int max_len, int32_t *out, int *n_out, LmError *err)
{
	const LmRnnInfo *info = &d->m->info;
	int			vocab = info->vocab_size;
	int			ss = d->state_size;
	BeamSearch	bs;
	int			cur = 0;
	int			best = 0;

	if (beam_alloc(&bs, beams, max_len, ss, vocab, err) < 0)
	{
		beam_free(&bs);
		return -1;
	}
	/* one live hypothesis to start with: the encoder's states, score 0 */
	bs.n_live = 1;
	memcpy(bs.h[0], d->h0, ss * sizeof(float));
	memcpy(bs.c[0], d->c0, ss * sizeof(float));
	bs.score[0][0] = 0.0;

	for (int step = 0; step < max_len && bs.n_live > 0; step++)
	{
		int			next = 1 - cur;
		int			n_next = 0;
		bool		last_step = step == max_len - 1;
		int			n_cand;

		for (int b = 0; b < bs.n_live; b++)
		{
			int32_t		token = step == 0 ? info->decoder_start_token_id
				: bs.tokens[cur][(size_t) b * max_len + step - 1];
			float	   *lp = bs.logprobs + (size_t) b * vocab;

			if (decoder_step(d, token, bs.h[cur] + (size_t) b * ss, bs.c[cur] + (size_t) b * ss,
							 lp, err) < 0)
			{
				beam_free(&bs);
				return -1;
			}
			log_softmax(lp, vocab);
		}
		n_cand = top_candidates(&bs, bs.score[cur], vocab, CANDIDATES_PER_BEAM * beams,
								bs.cand);

		for (int r = 0; r < n_cand && n_next < beams; r++)
		{
			const Candidate *c = &bs.cand[r];
			const int32_t *prefix = bs.tokens[cur] + (size_t) c->beam * max_len;

			if (c->token == info->eos_token_id || last_step)
			{
				if (r < beams)
					add_finished(&bs, prefix, step, c->token, c->score / (step + 1));
				continue;
			}
			memcpy(bs.tokens[next] + (size_t) n_next * max_len, prefix, step * sizeof(int32_t));
			bs.tokens[next][(size_t) n_next * max_len + step] = c->token;
			memcpy(bs.h[next] + (size_t) n_next * ss, bs.h[cur] + (size_t) c->beam * ss,
				   ss * sizeof(float));
			memcpy(bs.c[next] + (size_t) n_next * ss, bs.c[cur] + (size_t) c->beam * ss,
				   ss * sizeof(float));
			bs.score[next][n_next] = c->score;
			n_next++;
		}
		cur = next;
		bs.n_live = last_step ? 0 : n_next;
		if (bs.n_fin == beams)
			break;
	}

	for (int i = 1; i < bs.n_fin; i++)
		if (bs.fin_score[i] > bs.fin_score[best])
			best = i;
	*n_out = bs.n_fin ? bs.fin_len[best] : 0;
	memcpy(out, bs.fin_tokens + (size_t) best * max_len, *n_out * sizeof(int32_t));
	beam_free(&bs);
	return 0;
}

/* ----------------------------------------------------------------------------
 * Entry points */

int
lm_rnn_generate(const LmRnnModel *m, const int32_t *src, int n, int max_len, int beams,
				int32_t *out, int *n_out, LmError *err)
{
	RnnDecoding d;
	int			rc;

	if (max_len < 1 || max_len > LM_RNN_MAX_NEW_TOKENS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_len %d is outside 1..%d",
					   max_len, LM_RNN_MAX_NEW_TOKENS);
	if (beams > LM_RNN_MAX_BEAMS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%d beams are more than %d",
					   beams, LM_RNN_MAX_BEAMS);
	rc = decoding_start(&d, m, src, n, err);
	if (rc == 0)
		rc = beams <= 1 ? generate_greedy(&d, max_len, out, n_out, err)
			: generate_beam(&d, beams, max_len, out, n_out, err);
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
