/*
 * logits_process.c — transformers' logits processors for encoder-decoder
 * generation, applied in its order to the scores of the next token:
 * RepetitionPenalty, NoRepeatNGram, NoBadWords (single tokens), MinLength /
 * MinNewTokens, ForcedBOS, ForcedEOS, SuppressTokens.
 */
#include "models/decode_step.h"

#include <math.h>

/* CTRL's penalty: scores of tokens already in seq move towards -inf. */
static void
repetition_penalty(double penalty, const int32_t *seq, int len, float *scores)
{
	/* each distinct token once, as transformers gathers then scatters */
	for (int i = 0; i < len; i++)
	{
		bool		seen = false;
		float		s;

		for (int j = 0; j < i && !seen; j++)
			seen = seq[j] == seq[i];
		if (seen)
			continue;
		s = scores[seq[i]];
		scores[seq[i]] = s < 0 ? (float) (s * penalty) : (float) (s / penalty);
	}
}

/* Ban every token that would repeat an n-gram of seq. */
static void
no_repeat_ngram(int n, const int32_t *seq, int len, float *scores)
{
	const int32_t *tail = seq + len - (n - 1);	/* the n-1 latest tokens */

	if (len + 1 < n)
		return;
	for (int start = 0; start + n <= len; start++)
	{
		bool		same = true;

		for (int k = 0; k < n - 1 && same; k++)
			same = seq[start + k] == tail[k];
		if (same)
			scores[seq[start + n - 1]] = -INFINITY;
	}
}

/* Only `id` remains possible. */
static void
force_token(float *scores, int vocab, int id)
{
	for (int i = 0; i < vocab; i++)
		scores[i] = -INFINITY;
	scores[id] = 0.0f;
}

void
lm_process_scores(const LmSeq2SeqParams *p, const int32_t *seq, int len, int max_length,
				  float *scores, int vocab)
{
	if (p->repetition_penalty != 1.0)
		repetition_penalty(p->repetition_penalty, seq, len, scores);
	if (p->no_repeat_ngram_size > 0)
		no_repeat_ngram(p->no_repeat_ngram_size, seq, len, scores);
	for (int i = 0; i < p->n_suppress; i++)
		scores[p->suppress_ids[i]] = -INFINITY;
	if (len - 1 < p->min_new_tokens)
		for (int i = 0; i < p->n_eos; i++)
			scores[p->eos_token_ids[i]] = -INFINITY;
	if (len == 1 && p->forced_bos_token_id >= 0)
		force_token(scores, vocab, p->forced_bos_token_id);
	if (len == max_length - 1 && p->forced_eos_token_id >= 0)
		force_token(scores, vocab, p->forced_eos_token_id);
}
