/*
 * beam.c — beam search with the semantics of transformers 5.x
 * (generation/utils.py, _beam_search) over a decoder stepper.
 *
 * Each step, every running beam's log-softmax (after the logits processors)
 * is added to its score, and the best K = max(2, 1 + n_eos) · num_beams
 * continuations are kept.  A continuation that ends in eos, or reaches
 * max_length, "hits the stopping criteria": among the first num_beams of
 * the K it may enter the num_beams finished slots, scored
 *     Σ log p / (generated tokens, eos included) ^ length_penalty;
 * the best num_beams that do not hit become the running beams.  The search
 * ends when every slot is finished and early_stopping is true, when no
 * running beam can beat the worst finished one (early_stopping false or
 * "never"), or when max_length is reached.  The best finished slot is the
 * answer.
 *
 * With LM_BEAM_SCORES_FLOAT32, scores are float32 sums and "impossible" is
 * -1e9, as in transformers, so that ties and pruning come out the same.
 * With LM_BEAM_SCORES_DOUBLE, the RNN generator's rules, they are double
 * sums and "impossible" is -inf, so that placeholder beams never rank.
 * Both are held in doubles: float32's are rounded after every sum and
 * quotient, which gives float32 arithmetic's results exactly (a double
 * has more than twice a float's precision, so rounding twice is harmless).
 */
#include "models/decode_step.h"

#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* transformers' stand-in for minus infinity in beam bookkeeping. */
#define BEAM_IMPOSSIBLE_FLOAT32 (-1.0e9)

typedef struct Candidate
{
	double		score;			/* running score + log p */
	int			beam;			/* running beam it continues */
	int32_t		token;
	bool		hits;			/* eos, or max_length reached */
} Candidate;

typedef struct BeamSearch
{
	int			num_beams;
	int			k;				/* candidates kept per step */
	int			max_length;
	int			vocab;
	bool		float32;		/* LM_BEAM_SCORES_FLOAT32 */
	double		impossible;		/* -1e9 or -inf */
	/* running beams */
	int32_t    *run_ids;		/* [num_beams][max_length] */
	double	   *run_scores;		/* [num_beams] */
	/* finished slots */
	int32_t    *fin_ids;		/* [num_beams][max_length] */
	int		   *fin_len;
	double	   *fin_scores;
	bool	   *fin_done;		/* transformers' is_sent_finished */
	/* one step's scratch */
	float	   *logprobs;		/* [num_beams][vocab] */
	Candidate  *cand;			/* [k] */
	int32_t    *new_ids;		/* [num_beams][max_length] next running beams */
	double	   *new_scores;
	int32_t    *gather;			/* [num_beams][max_length] finished slots being merged */
	int			from[LM_MAX_BEAMS];
} BeamSearch;

static void
beams_free(BeamSearch *bs)
{
	free(bs->run_ids);
	free(bs->run_scores);
	free(bs->fin_ids);
	free(bs->fin_len);
	free(bs->fin_scores);
	free(bs->fin_done);
	free(bs->logprobs);
	free(bs->cand);
	free(bs->new_ids);
	free(bs->new_scores);
	free(bs->gather);
}

static int
beams_init(BeamSearch *bs, const LmSeq2SeqParams *p, LmBeamScores scores, int max_length,
		   int vocab, LmError *err)
{
	size_t		nb = p->num_beams;
	size_t		seqs = nb * max_length * sizeof(int32_t);

	memset(bs, 0, sizeof(*bs));
	bs->num_beams = p->num_beams;
	bs->k = (p->n_eos + 1 > 2 ? p->n_eos + 1 : 2) * p->num_beams;
	bs->max_length = max_length;
	bs->vocab = vocab;
	bs->float32 = scores == LM_BEAM_SCORES_FLOAT32;
	bs->impossible = bs->float32 ? BEAM_IMPOSSIBLE_FLOAT32 : -INFINITY;
	if (!(bs->run_ids = lm_malloc(seqs, err)) ||
		!(bs->run_scores = lm_malloc(nb * sizeof(double), err)) ||
		!(bs->fin_ids = lm_malloc(seqs, err)) ||
		!(bs->fin_len = lm_calloc(nb, sizeof(int), err)) ||
		!(bs->fin_scores = lm_malloc(nb * sizeof(double), err)) ||
		!(bs->fin_done = lm_calloc(nb, sizeof(bool), err)) ||
		!(bs->logprobs = lm_malloc(nb * vocab * sizeof(float), err)) ||
		!(bs->cand = lm_malloc(bs->k * sizeof(Candidate), err)) ||
		!(bs->new_ids = lm_malloc(seqs, err)) ||
		!(bs->new_scores = lm_malloc(nb * sizeof(double), err)) ||
		!(bs->gather = lm_malloc(seqs, err)))
	{
		beams_free(bs);
		return -1;
	}
	/* only beam 0 is live at first, so the beams do not all pick the same tokens */
	for (int b = 0; b < bs->num_beams; b++)
	{
		bs->run_ids[(long) b * max_length] = p->decoder_start_token_id;
		bs->run_scores[b] = b == 0 ? 0.0 : bs->impossible;
		bs->fin_ids[(long) b * max_length] = p->decoder_start_token_id;
		bs->fin_len[b] = 1;
		bs->fin_scores[b] = bs->impossible;
	}
	return 0;
}

/* A score just computed, rounded as the search keeps them. */
static inline double
kept(const BeamSearch *bs, double score)
{
	return bs->float32 ? (float) score : score;
}

/* log-softmax of a row of logits, in place. */
static void
log_softmax(float *x, int count)
{
	double		lse = lm_logsumexp(x, count);

	for (int i = 0; i < count; i++)
		x[i] = (float) (x[i] - lse);
}

/*
 * Insert (score, index) into best[0 .. *n) kept sorted by descending score,
 * at most cap long; equal scores keep the lower index first.
 */
static void
keep_best(double *best, long *index, int *n, int cap, double score, long i)
{
	int			at = *n;

	if (*n == cap && !(score > best[cap - 1]))
		return;
	while (at > 0 && score > best[at - 1])
		at--;
	if (*n < cap)
		(*n)++;
	for (int j = *n - 1; j > at; j--)
	{
		best[j] = best[j - 1];
		index[j] = index[j - 1];
	}
	best[at] = score;
	index[at] = i;
}

/* The k best continuations over all beams (transformers' topk of beams · vocab). */
static void
top_candidates(BeamSearch *bs, const LmSeq2SeqParams *p, int cur_len)
{
	double		best[2 * (LM_MAX_EOS_IDS + 1) * LM_MAX_BEAMS];
	long		index[2 * (LM_MAX_EOS_IDS + 1) * LM_MAX_BEAMS];
	int			n = 0;

	for (int b = 0; b < bs->num_beams; b++)
	{
		const float *row = bs->logprobs + (long) b * bs->vocab;

		for (int v = 0; v < bs->vocab; v++)
			keep_best(best, index, &n, bs->k, kept(bs, row[v] + bs->run_scores[b]),
					  (long) b * bs->vocab + v);
	}
	for (int i = 0; i < bs->k; i++)
	{
		Candidate  *c = &bs->cand[i];

		c->score = best[i];
		c->beam = (int) (index[i] / bs->vocab);
		c->token = (int32_t) (index[i] % bs->vocab);
		c->hits = lm_seq2seq_is_eos(p, c->token) || cur_len + 1 >= bs->max_length;
	}
}

/* The num_beams best continuations that did not hit a stop become the running beams. */
static void
next_running(BeamSearch *bs, int cur_len)
{
	double		best[LM_MAX_BEAMS];
	long		index[LM_MAX_BEAMS];
	int			n = 0;

	for (int i = 0; i < bs->k; i++)
		keep_best(best, index, &n, bs->num_beams,
				  kept(bs, bs->cand[i].score + (bs->cand[i].hits ? bs->impossible : 0.0)), i);
	for (int b = 0; b < bs->num_beams; b++)
	{
		const Candidate *c = &bs->cand[index[b]];
		int32_t    *seq = bs->new_ids + (long) b * bs->max_length;

		memcpy(seq, bs->run_ids + (long) c->beam * bs->max_length, cur_len * sizeof(int32_t));
		seq[cur_len] = c->token;
		bs->new_scores[b] = best[b];
		bs->from[b] = c->beam;
	}
}

/*
 * Merge the finished slots with the candidates that just finished (the top
 * num_beams of them, length-penalised) and keep the best num_beams.
 */
static void
update_finished(BeamSearch *bs, const LmSeq2SeqParams *p, int cur_len, bool improvable)
{
	int			nb = bs->num_beams;
	double		denom = kept(bs, pow(cur_len, p->length_penalty));	/* generated tokens */
	bool		full = p->early_stopping == LM_EARLY_STOPPING_ON;
	double		merged[LM_MAX_BEAMS + 2 * (LM_MAX_EOS_IDS + 1) * LM_MAX_BEAMS];
	double		best[LM_MAX_BEAMS];
	long		index[LM_MAX_BEAMS];
	int			n = 0;
	int32_t    *ids = bs->gather;
	int			len[LM_MAX_BEAMS];
	double		score[LM_MAX_BEAMS];
	bool		done[LM_MAX_BEAMS];

	for (int b = 0; b < nb; b++)
		full = full && bs->fin_done[b];
	for (int b = 0; b < nb; b++)
		merged[b] = bs->fin_scores[b];
	for (int i = 0; i < bs->k; i++)
	{
		double		s = kept(bs, bs->cand[i].score / denom);

		if (full)
			s = kept(bs, s + bs->impossible);
		if (!improvable)
			s = kept(bs, s + bs->impossible);
		if (!(bs->cand[i].hits && i < nb))
			s = kept(bs, s + bs->impossible);
		merged[nb + i] = s;
	}
	for (int i = 0; i < nb + bs->k; i++)
		keep_best(best, index, &n, nb, merged[i], i);

	/* gather into scratch first: a slot may move */
	for (int b = 0; b < nb; b++)
	{
		int32_t    *seq = ids + (long) b * bs->max_length;
		long		i = index[b];

		if (i < nb)
		{
			memcpy(seq, bs->fin_ids + i * bs->max_length, bs->fin_len[i] * sizeof(int32_t));
			len[b] = bs->fin_len[i];
			done[b] = bs->fin_done[i];
		}
		else
		{
			const Candidate *c = &bs->cand[i - nb];

			memcpy(seq, bs->run_ids + (long) c->beam * bs->max_length, cur_len * sizeof(int32_t));
			seq[cur_len] = c->token;
			len[b] = cur_len + 1;
			done[b] = c->hits && i - nb < nb;
		}
		score[b] = best[b];
	}
	for (int b = 0; b < nb; b++)
	{
		memcpy(bs->fin_ids + (long) b * bs->max_length, ids + (long) b * bs->max_length,
			   len[b] * sizeof(int32_t));
		bs->fin_len[b] = len[b];
		bs->fin_scores[b] = score[b];
		bs->fin_done[b] = done[b];
	}
}

/*
 * Can a running beam still beat the worst finished one?  Its best possible
 * score is assumed at the current length ("never" with a positive penalty:
 * at max_length).  Always yes while a slot is unfinished.
 */
static bool
still_improvable(const BeamSearch *bs, const LmSeq2SeqParams *p, int cur_len)
{
	int			length = cur_len - 1;
	double		best_possible;
	double		worst = bs->fin_scores[0];

	if (p->early_stopping == LM_EARLY_STOPPING_NEVER && p->length_penalty > 0.0)
		length = bs->max_length - 1;
	best_possible = kept(bs, bs->run_scores[0] / kept(bs, pow(length, p->length_penalty)));
	for (int b = 1; b < bs->num_beams; b++)
		if (bs->fin_scores[b] < worst)
			worst = bs->fin_scores[b];
	for (int b = 0; b < bs->num_beams; b++)
		if (best_possible > (bs->fin_done[b] ? worst : bs->impossible))
			return true;
	return false;
}

int
lm_beam_search(const LmDecodeStepper *st, const LmSeq2SeqParams *p, LmBeamScores scores,
			   int max_length, int32_t *out, int *n_out, LmError *err)
{
	BeamSearch	bs;
	int			vocab = st->vocab;
	int			nb = p->num_beams;
	int			cur_len = 1;
	int32_t		last[LM_MAX_BEAMS];
	bool		improvable = true;
	int			rc = -1;

	if ((long) nb * vocab < (long) (p->n_eos + 1 > 2 ? p->n_eos + 1 : 2) * nb)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a vocabulary of %d tokens is too small for beam search",
					   vocab);
	if (beams_init(&bs, p, scores, max_length, vocab, err) < 0)
		return -1;

	for (;;)
	{
		bool		all_hit = true;
		bool		all_done = true;
		double	   *swap_scores;
		int32_t    *swap_ids;

		/* a. every beam's next-token log-probabilities, the beams in one pass */
		for (int b = 0; b < nb; b++)
			last[b] = bs.run_ids[(long) b * max_length + cur_len - 1];
		if (lm_check_cancel(err) < 0 ||
			st->step(st->self, last, nb, cur_len - 1, bs.logprobs, err) < 0)
			goto done;
		for (int b = 0; b < nb; b++)
		{
			float	   *row = bs.logprobs + (long) b * vocab;

			if (bs.run_scores[b] == -INFINITY)
			{
				/* a dead beam's continuations are all -inf (never NaN) */
				for (int v = 0; v < vocab; v++)
					row[v] = -INFINITY;
				continue;
			}
			log_softmax(row, vocab);
			lm_process_scores(p, bs.run_ids + (long) b * max_length, cur_len, max_length, row,
							  vocab);
		}

		/* b. the best continuations, c. the next running beams, d. finished slots */
		top_candidates(&bs, p, cur_len);
		next_running(&bs, cur_len);
		update_finished(&bs, p, cur_len, improvable);

		swap_ids = bs.run_ids;
		bs.run_ids = bs.new_ids;
		bs.new_ids = swap_ids;
		swap_scores = bs.run_scores;
		bs.run_scores = bs.new_scores;
		bs.new_scores = swap_scores;
		st->reorder(st->self, bs.from, nb, cur_len);
		cur_len++;

		/* e. stop? */
		improvable = improvable && still_improvable(&bs, p, cur_len);
		for (int i = 0; i < bs.k; i++)
			all_hit = all_hit && bs.cand[i].hits;
		for (int b = 0; b < nb; b++)
			all_done = all_done && bs.fin_done[b];
		if (!improvable || (all_done && p->early_stopping == LM_EARLY_STOPPING_ON) || all_hit)
			break;
	}
	memcpy(out, bs.fin_ids, bs.fin_len[0] * sizeof(int32_t));
	*n_out = bs.fin_len[0];
	rc = 0;

done:
	beams_free(&bs);
	return rc;
}
