/*
 * arch.h — what the facade (model.c) needs from each architecture file
 * (gpt2.c, llama.c, bert.c; m2m100.c, marian.c, t5.c for encoder-decoders),
 * and the LmModel they fill in together.
 *
 * An architecture owns immutable weights ("impl") and hands out states:
 * scratch buffers for up to max_chunk tokens per forward call and, for
 * decoders, a KV cache for `capacity` positions.
 */
#ifndef LM_MODELS_ARCH_H
#define LM_MODELS_ARCH_H

#include <jansson.h>
#include <pthread.h>

#include "models/model.h"

struct LmDevice;

typedef struct LmArchOps
{
	void		(*free) (void *impl);

	void	   *(*state_new) (const void *impl, int capacity, int max_chunk, LmError *err);
	void		(*state_free) (void *state);

	/*
	 * Run n <= max_chunk tokens at positions pos .. pos+n-1 (pos + n <=
	 * capacity; encoders need pos = 0) and write the final hidden states
	 * to hidden[n][hidden_size].  key_mask: NULL or pos+n bytes.
	 */
	int			(*forward) (const void *impl, void *state, const int32_t *ids,
							const uint8_t *key_mask, int n, int pos, float *hidden,
							LmError *err);

	/*
	 * Models may also run n_seq independent sequences in one call (NULL
	 * when they cannot): ids holds them one after another, lengths[i] ids
	 * each, every one at positions 0 .. lengths[i]-1 and attending only to
	 * itself (causally in a decoder, whose KV cache it leaves alone);
	 * key_masks is NULL or laid out like ids.  Writes
	 * hidden[Σ lengths][hidden_size].  Σ lengths <= max_chunk and every
	 * length <= capacity.
	 */
	int			(*forward_batch) (const void *impl, void *state, const int32_t *ids,
								  const uint8_t *key_masks, const int *lengths, int n_seq,
								  float *hidden, LmError *err);

	/*
	 * Decoders that can (NULL otherwise): one more token for each of n
	 * sequences, sequence i with its own state (states[i], made by
	 * state_new) at position pos[i].  Row i of hidden[n][hidden_size] is
	 * exactly what forward gives for that token alone; the weights are read
	 * once for all rows.
	 */
	int			(*forward_rows) (const void *impl, void *const *states, const int32_t *ids,
								 const int *pos, int n, float *hidden, LmError *err);

	/* Vocabulary logits[n][vocab] from hidden states; NULL if no LM head. */
	int			(*token_logits) (const void *impl, void *state, const float *hidden,
								 int n, float *logits, LmError *err);

	/* The same with each row exactly as token_logits gives it for one row (with forward_rows). */
	int			(*token_logits_rows) (const void *impl, void *state, const float *hidden,
									  int n, float *logits, LmError *err);

	/*
	 * ids[n]: the argmax of each row of token_logits_rows's logits, found
	 * where the logits are (a device), so that they need not be copied
	 * out; NULL: the caller takes lm_argmax of token_logits_rows.
	 */
	int			(*token_argmax_rows) (const void *impl, void *state, const float *hidden,
									  int n, int32_t *ids, LmError *err);

	/* Class logits[num_labels] from all n hidden states; NULL if none. */
	int			(*classify) (const void *impl, void *state, const float *hidden, int n,
							 float *logits, LmError *err);

	/*
	 * Move the model to a device (device/device.h): replace model->ops and
	 * ->impl with the architecture's device versions, which keep the host
	 * impl for its heads and to free it.  NULL where there is none.
	 */
	int			(*to_device) (LmModel *model, struct LmDevice *dev, LmError *err);
} LmArchOps;

/* Whether greedy picks can be made where the logits are computed (token_argmax_rows over forward_rows). */
static inline bool
lm_arch_picks_where_logits_are(const LmArchOps *ops)
{
	return ops->token_argmax_rows != NULL && ops->forward_rows != NULL;
}

/*
 * The decoder half of an encoder-decoder (t5.c, bart.c).  Its LmArchOps
 * run the encoder: forward at pos 0 gives the encoder's final states.
 */
typedef struct LmSeq2SeqOps
{
	/* Cross-attention keys and values of every decoder layer, from the encoder's n_src states. */
	void	   *(*cross_new) (const void *impl, const float *enc_hidden, int n_src, LmError *err);
	void		(*cross_free) (void *cross);

	/*
	 * A decoder state: self-attention cache for `capacity` positions and
	 * scratch for up to max_chunk tokens attending to n_src encoder states.
	 */
	void	   *(*dec_state_new) (const void *impl, int capacity, int max_chunk, int n_src,
								  LmError *err);
	void		(*dec_state_free) (void *state);
	/* Give dst the first n cached positions of src (beam reordering). */
	void		(*dec_state_copy) (void *dst, const void *src, int n);

	/*
	 * Run n decoder ids at positions pos .. pos+n-1 in each of n_states
	 * states (ids[n_states][n], one sequence per state, e.g. per beam) and
	 * write the states the head reads to hidden[n_states · n][hidden_size].
	 * states[0]'s scratch serves them all: n_states · n <= its max_chunk.
	 */
	int			(*dec_forward) (const void *impl, void *const *states, int n_states,
								const void *cross, const int32_t *ids, int n, int pos,
								float *hidden, LmError *err);

	/* logits[n][target_vocab_size] from dec_forward's hidden states. */
	int			(*dec_logits) (const void *impl, const float *hidden, int n, float *logits,
							   LmError *err);
} LmSeq2SeqOps;

/*
 * The scratch of the batched runs (lm_model_embed_batch and its kin), kept
 * between calls: a fresh state for thousands of tokens is tens of MB of new
 * pages, whose faults and cold caches cost about a tenth of a batch.  One
 * call at a time uses it (a concurrent one allocates its own).
 */
typedef struct LmBatchScratch
{
	pthread_mutex_t lock;
	void	   *state;
	float	   *hidden;
	int			chunk;			/* tokens the state and hidden hold */
	int			longest;		/* the longest input the state takes */
} LmBatchScratch;

struct LmModel
{
	LmModelInfo info;
	const LmArchOps *ops;
	void	   *impl;
	char	   *model_type;		/* owned copies behind info's strings */
	char	   *architecture;
	char	  **labels;			/* [info.num_labels] */
	const LmSeq2SeqOps *seq2seq;	/* encoder-decoders only, else NULL */
	LmBatchScratch batch;
};

/*
 * Builders: read config (an object), look the weights up in tensors, set
 * model->ops, ->impl and the dimensions in model->info (task, model_type
 * and architecture are already set).
 */
int			lm_gpt2_build(LmModel *model, const json_t *config, const LmTensorSet *tensors,
						  LmError *err);
int			lm_llama_build(LmModel *model, const json_t *config, const LmTensorSet *tensors,
						   LmError *err);
int			lm_bert_build(LmModel *model, const json_t *config, const LmTensorSet *tensors,
						  LmError *err);
int			lm_m2m100_build(LmModel *model, const json_t *config, const LmTensorSet *tensors,
							LmError *err);
int			lm_marian_build(LmModel *model, const json_t *config, const LmTensorSet *tensors,
							LmError *err);
int			lm_t5_build(LmModel *model, const json_t *config, const LmTensorSet *tensors,
						LmError *err);

/*
 * Input checks shared by the facade files: n >= 1 ids, all inside the
 * vocabulary, positions pos .. pos+n-1 inside the model's context.
 */
int			lm_model_check_ids(const LmModel *model, const int32_t *ids, int n, int pos,
							   LmError *err);

#endif
