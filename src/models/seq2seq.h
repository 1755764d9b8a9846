/*
 * seq2seq.h — what the encoder-decoder files share (seq2seq.c,
 * seq2seq_config.c): a decoding session that encodes the source once,
 * computes every decoder layer's cross-attention keys and values once, and
 * keeps one decoder state (self-attention cache) per hypothesis, which the
 * searches of decode_step.h drive as a stepper.
 */
#ifndef LM_MODELS_SEQ2SEQ_H
#define LM_MODELS_SEQ2SEQ_H

#include "models/arch.h"
#include "models/decode_step.h"

/* Decoder tokens per forward call when teacher-forcing a long sequence. */
#define LM_SEQ2SEQ_CHUNK 64

typedef struct LmSession
{
	const LmModel *model;
	const LmSeq2SeqOps *ops;
	int			n_src;
	void	   *cross;			/* cross-attention keys and values */
	int			n_states;
	void	  **states;			/* [n_states] decoder states */
	void	  **spare;			/* [n_states] scratch for reordering */
	int			capacity;		/* decoder positions per state */
	int			max_chunk;
	float	   *hidden;			/* [max_chunk][hidden_size] */
} LmSession;

/*
 * Encode src (checked) and open n_states decoder states of `capacity`
 * positions, fed up to max_chunk tokens at a time.
 */
int			lm_session_open(LmSession *s, const LmModel *model, const int32_t *src,
							int n_src, int n_states, int capacity, int max_chunk,
							LmError *err);
void		lm_session_close(LmSession *s);

/*
 * Feed n decoder ids at positions pos .. pos+n-1 to state i and write the
 * logits of every position (all_positions: logits[n][target_vocab]) or of
 * the last one (logits[target_vocab]).  Ids are not checked here.
 */
int			lm_session_feed(LmSession *s, int i, const int32_t *ids, int n, int pos,
							bool all_positions, float *logits, LmError *err);

/*
 * Feed one id to every state at the same position (the beams of a search,
 * in one pass: needs max_chunk >= n_states) and write their next-token
 * logits[n_states][target_vocab].
 */
int			lm_session_feed_all(LmSession *s, const int32_t *ids, int pos, float *logits,
								LmError *err);

/* State b takes the first n_pos positions of old state from[b], for every b. */
void		lm_session_reorder(LmSession *s, const int *from, int n_pos);

/* The session as a stepper of n_states beams (lm_session_feed_all, _reorder). */
LmDecodeStepper lm_session_stepper(LmSession *s);

/*
 * Check params against the model; *max_length receives the longest
 * decoder sequence, start token included: 1 + max_new_tokens, capped at
 * the model's max_target_positions.
 */
int			lm_seq2seq_check_params(const LmModel *model, const LmSeq2SeqParams *p,
									int *max_length, LmError *err);

#endif
