/*
 * decode_step.h — greedy and beam search over any decoder that goes one
 * token at a time: the stepper such a decoder offers (the encoder-decoder
 * sessions of seq2seq.c, the RNN generator of rnn_generate.c), the searches
 * that drive it (greedy.c, beam.c) and the logits processors they apply
 * (logits_process.c), all with the semantics of transformers' generate().
 */
#ifndef LM_MODELS_DECODE_STEP_H
#define LM_MODELS_DECODE_STEP_H

#include "models/model.h"

/* Most beams a search may keep. */
#define LM_MAX_BEAMS 64

/*
 * A decoder holding one hypothesis per beam.  The search asks for the
 * next-token logits of every beam at once, then tells it which beams carry
 * on (a beam may be continued by several new ones, or by none).
 */
typedef struct LmDecodeStepper
{
	void	   *self;
	int			vocab;			/* logits per beam */

	/*
	 * Feed tokens[b] to beam b, for the n_beams beams the stepper was made
	 * for, at position pos (the start token's is 0), and write their
	 * next-token logits[n_beams][vocab].
	 */
	int			(*step) (void *self, const int32_t *tokens, int n_beams, int pos,
						 float *logits, LmError *err);

	/* Beam b takes over old beam from[b]'s state; n_pos positions were fed. */
	void		(*reorder) (void *self, const int *from, int n_beams, int n_pos);
} LmDecodeStepper;

/*
 * How beam search keeps scores.  transformers sums log-probabilities in
 * float32 and scores what cannot happen -1e9, so its placeholder beams
 * (the num_beams - 1 copies of the start) and their continuations still
 * rank when real candidates run short; the RNN generator has always summed
 * in double and left placeholders out, as -inf does.
 */
typedef enum LmBeamScores
{
	LM_BEAM_SCORES_FLOAT32,		/* transformers: float32 sums, -1e9 */
	LM_BEAM_SCORES_DOUBLE		/* double sums, -inf */
} LmBeamScores;

/*
 * Greedy search (greedy.c) and beam search (beam.c) for up to max_length
 * (>= 2) ids, start token included.  p must have been checked (num_beams
 * at most LM_MAX_BEAMS, ids inside the stepper's vocabulary) and the
 * stepper made for 1 beam (greedy) or p->num_beams.  out (max_length ids)
 * receives the decoder start token, the generated tokens and the final
 * eos, if any.
 */
int			lm_greedy_search(const LmDecodeStepper *st, const LmSeq2SeqParams *p,
							 int max_length, int32_t *out, int *n_out, LmError *err);

int			lm_beam_search(const LmDecodeStepper *st, const LmSeq2SeqParams *p,
						   LmBeamScores scores, int max_length, int32_t *out, int *n_out,
						   LmError *err);

/* Is id one of the end-of-sequence ids? */
bool		lm_seq2seq_is_eos(const LmSeq2SeqParams *p, int32_t id);

/*
 * transformers' logits processors, in its order, on the scores (raw logits
 * for greedy, log-probabilities for beam search) of the token after seq[0
 * .. len): repetition penalty, no-repeat n-grams, suppressed tokens,
 * minimum length, forced BOS at len 1, forced EOS at len max_length - 1.
 */
void		lm_process_scores(const LmSeq2SeqParams *p, const int32_t *seq, int len,
							  int max_length, float *scores, int vocab);

#endif
