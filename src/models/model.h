/*
 * model.h — the engine's model facade: load a transformers checkpoint
 * (config.json text + tensors) and run it for a task.
 *
 * Supported: GPT2LMHeadModel, LlamaForCausalLM, BertModel, BertForMaskedLM,
 * BertForSequenceClassification, and the encoder-decoders
 * M2M100ForConditionalGeneration (M2M100, NLLB), MarianMTModel and
 * T5ForConditionalGeneration.  Weights may be F32, F16, BF16: F16 and BF16
 * weight matrices (linear layers, token embeddings, heads) stay in 16 bits
 * in memory (see nn/matrix.h); the small tensors (norms, biases, position
 * tables) are converted to float32 at load.  Computation is float32.
 *
 * Token ids are int32_t, as PostgreSQL's int4[].  Every function returns
 * -1 (or NULL) and fills err on failure; inputs are validated (empty,
 * longer than the context, ids outside the vocabulary, wrong task).
 *
 * A loaded LmModel is immutable: concurrent calls on one model are safe,
 * each call (or decoder session) allocates its own scratch.
 */
#ifndef LM_MODELS_MODEL_H
#define LM_MODELS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/tensor.h"
#include "models/pooling.h"
#include "models/sample.h"
#include "util/lm_error.h"

typedef struct LmModel LmModel;

typedef enum LmTask
{
	LM_TASK_CAUSAL_LM,			/* next-token logits, generation, score */
	LM_TASK_MASKED_LM,			/* fill-mask */
	LM_TASK_SEQUENCE_CLASSIFICATION,	/* labels */
	LM_TASK_FEATURE_EXTRACTION,	/* hidden states, embeddings */
	LM_TASK_TEXT2TEXT			/* encoder-decoder: translation, text-to-text */
} LmTask;

/* Up to this many end-of-sequence ids from config.json. */
#define LM_MAX_EOS_IDS 8

typedef struct LmModelInfo
{
	const char *model_type;		/* "gpt2", "llama", "bert" */
	const char *architecture;	/* "GPT2LMHeadModel", ... */
	LmTask		task;
	bool		causal;			/* decoder-only: lm_decoder_* work */
	int			vocab_size;
	int			hidden_size;	/* rows of lm_model_encode's output */
	int			n_layers;
	int			max_positions;	/* longest input, in tokens */
	int			num_labels;		/* classification heads, else 0 */
	int64_t		n_params;		/* distinct weight elements */
	int			bos_token_id;	/* -1 when none */
	int			pad_token_id;	/* -1 when none */
	int			n_eos;
	int			eos_token_ids[LM_MAX_EOS_IDS];
	/* encoder-decoders (zero or -1 for other models) */
	bool		encoder_decoder;	/* lm_seq2seq_* work */
	int			target_vocab_size;	/* columns of decoder logits */
	int			n_decoder_layers;
	int			max_target_positions;	/* longest decoder sequence, start token included */
	int			decoder_start_token_id; /* -1 when none */
	int			forced_bos_token_id;	/* from config.json; -1 when none */
	int			forced_eos_token_id;	/* from config.json; -1 when none */
} LmModelInfo;

/* ---- loading ----------------------------------------------------------- */

/*
 * Build a model from config.json (len bytes, not necessarily
 * NUL-terminated) and its tensors.  Dispatches on architectures[0] (or
 * model_type when absent); unsupported ones are an error naming them.
 * Every expected tensor is checked for presence and shape.
 *
 * The model keeps pointers into the tensors' data (float32 tensors and
 * 16-bit matrices are used in place, the rest is converted into memory it
 * owns): `tensors` must outlive the model.
 */
LmModel    *lm_model_load(const char *config_json, size_t len, const LmTensorSet *tensors,
						  LmError *err);
void		lm_model_free(LmModel *model);

const LmModelInfo *lm_model_info(const LmModel *model);
const char *lm_task_name(LmTask task);

/* Label of class i (from id2label, else "LABEL_i"); NULL when out of range. */
const char *lm_model_label(const LmModel *model, int i);

/* ---- whole-input tasks ------------------------------------------------- */

/*
 * Final hidden states, hidden_out[n][hidden_size]: after the final norm for
 * decoders, the encoder's last layer for BERT, the encoder's output for an
 * encoder-decoder.  attention_mask may be NULL
 * or n bytes with 0 for padding (keys never attended).
 */
int			lm_model_encode(const LmModel *model, const int32_t *ids,
							const uint8_t *attention_mask, int n, float *hidden_out,
							LmError *err);

/*
 * Vocabulary logits of a causal or masked LM: all_positions gives
 * out[n][vocab_size], otherwise out[vocab_size] for the last position
 * (the next-token distribution of a causal LM).
 */
int			lm_model_logits(const LmModel *model, const int32_t *ids, int n,
							bool all_positions, float *out, LmError *err);

/*
 * Σ_{t=1}^{n-1} log p(ids[t] | ids[<t]) for a causal LM (the first token
 * is given, not scored); *n_scored = n - 1 may be NULL.
 */
int			lm_model_score(const LmModel *model, const int32_t *ids, int n,
						   double *sum_logprob, int *n_scored, LmError *err);

/* Sequence classification logits, out[num_labels] (softmax for probs). */
int			lm_model_classify(const LmModel *model, const int32_t *ids, int n,
							  float *out, LmError *err);

/*
 * Masked LM: the k most likely tokens at mask_pos, best first, with their
 * probabilities.  k is capped at vocab_size; *n_out receives how many.
 */
int			lm_model_fill_mask(const LmModel *model, const int32_t *ids, int n,
							   int mask_pos, int k, int32_t *top_ids, float *top_probs,
							   int *n_out, LmError *err);

/*
 * Sentence embedding: encode, pool (see pooling.h) over the tokens the mask
 * keeps (NULL = all), optionally L2-normalise.  out[hidden_size].
 */
int			lm_model_embed(const LmModel *model, const int32_t *ids,
						   const uint8_t *attention_mask, int n, LmPooling pooling,
						   bool normalize, float *out, LmError *err);

/*
 * Sentence embeddings of n_seq inputs: ids holds them one after another
 * (lengths[i] ids each), attention_masks is NULL or laid out like ids (0 for
 * padding).  out[n_seq][hidden_size]; row i is what lm_model_embed gives
 * for input i alone.  Encoders that can (BERT) run up to
 * LM_EMBED_BATCH_TOKENS tokens through each layer together, which turns
 * the matrix-vector work of short inputs into larger, faster products.
 */
int			lm_model_embed_batch(const LmModel *model, const int32_t *ids,
								 const uint8_t *attention_masks, const int *lengths, int n_seq,
								 LmPooling pooling, bool normalize, float *out, LmError *err);

/*
 * Classification logits of n_seq inputs laid out as for
 * lm_model_embed_batch: out[n_seq][num_labels], row i what
 * lm_model_classify gives for input i alone (within float32 rounding:
 * products of several inputs may sum in another order).
 */
int			lm_model_classify_batch(const LmModel *model, const int32_t *ids, const int *lengths,
									int n_seq, float *out, LmError *err);

/*
 * lm_model_score of n_seq inputs laid out as for lm_model_embed_batch:
 * sums[i] for input i (lengths[i] - 1 tokens scored), each as alone within
 * float32 rounding.  Causal models run the inputs through their layers
 * together, each attending to itself only.
 */
int			lm_model_score_batch(const LmModel *model, const int32_t *ids, const int *lengths,
								 int n_seq, double *sums, LmError *err);

/* Tokens that lm_model_embed_batch runs through the encoder at once. */
#define LM_EMBED_BATCH_TOKENS 2048

/* ---- incremental decoding ---------------------------------------------- */

typedef struct LmDecoder LmDecoder;

/*
 * A decoding session over a causal LM with a KV cache for `capacity`
 * tokens (capped at max_positions; 0 means max_positions).
 */
LmDecoder  *lm_decoder_start(const LmModel *model, int capacity, LmError *err);
void		lm_decoder_free(LmDecoder *dec);

/*
 * Append n tokens (a prompt, or one token per step) and write the
 * next-token logits after the last of them to logits[vocab_size] (may be
 * NULL).  Going past the capacity is an error.
 */
int			lm_decoder_feed(LmDecoder *dec, const int32_t *ids, int n, float *logits,
							LmError *err);

/* lm_decoder_feed of a single token. */
int			lm_decoder_step(LmDecoder *dec, int32_t id, float *logits, LmError *err);

/* Tokens held so far; rewinding forgets the ones after `pos`. */
int			lm_decoder_position(const LmDecoder *dec);

/*
 * One token more for each of n decoders of the same model (ids[i] to
 * decs[i]), and their next-token logits[n][vocab]: row i is exactly what
 * lm_decoder_step(decs[i], ids[i]) gives, but architectures that can
 * (GPT-2) read the weights once for all of them.
 */
int			lm_decoders_step(LmDecoder *const *decs, const int32_t *ids, int n, float *logits,
							 LmError *err);

/*
 * The same, giving only each row's greedy pick (lm_argmax of its logits)
 * in picks[n]: on a device the logits stay there and only the ids come back.
 */
int			lm_decoders_step_greedy(LmDecoder *const *decs, const int32_t *ids, int n,
									int32_t *picks, LmError *err);
int			lm_decoder_rewind(LmDecoder *dec, int pos, LmError *err);

/* ---- generation --------------------------------------------------------- */

typedef struct LmGenerateParams
{
	int			max_new_tokens;
	LmSamplingParams sampling;	/* temperature 0 = greedy */
	const int32_t *stop_ids;	/* stop tokens besides the model's eos; may be NULL */
	int			n_stop;
	bool		ignore_eos;		/* do not stop at the model's eos ids */

	/*
	 * Asked after each token with the tokens so far (may be NULL): 1 ends
	 * generation there, -1 fails it (with err filled), 0 goes on.  Stop
	 * strings are checked this way.
	 */
	int			(*after_token) (void *arg, const int32_t *out, int n, LmError *err);
	void	   *after_token_arg;
} LmGenerateParams;

/*
 * Continue `prompt` with up to max_new_tokens tokens into out[] (which holds
 * max_new_tokens); *n_out receives the count.  A stop token ends generation
 * and is included in out (as transformers does with eos).  Generation also
 * ends when the context (max_positions) is full.
 */
int			lm_generate(const LmModel *model, const int32_t *prompt, int n_prompt,
						const LmGenerateParams *params, int32_t *out, int *n_out,
						LmError *err);

/*
 * lm_generate one step at a time, so that a server can decode many
 * generations together: start (checks, the prompt fed), then pick a token
 * from the current logits (1: the generation has ended; 0: feed it), feed
 * the picked tokens of any number of generations of the same model at once
 * (lm_decoders_step), and so on.  Each generation gives exactly what
 * lm_generate gives.
 */
typedef struct LmGeneration LmGeneration;

LmGeneration *lm_generation_start(const LmModel *model, const int32_t *prompt, int n_prompt,
								  const LmGenerateParams *params, LmError *err);
int			lm_generation_pick(LmGeneration *g, LmError *err);
int			lm_generations_feed(LmGeneration *const *gs, int n, LmError *err);
const int32_t *lm_generation_tokens(const LmGeneration *g, int *n);
void		lm_generation_free(LmGeneration *g);

/* ---- encoder-decoders (seq2seq.c, greedy.c, beam.c) -------------------- */

/* Default max_length of transformers' GenerationConfig, start token included. */
#define LM_SEQ2SEQ_DEFAULT_MAX_LENGTH 20
/* Single tokens never generated (generation_config bad_words_ids, suppress_tokens). */
#define LM_MAX_SUPPRESS_IDS 64

/* When beam search stops (transformers' early_stopping). */
typedef enum LmEarlyStopping
{
	LM_EARLY_STOPPING_HEURISTIC,	/* False: stop once no running beam can win */
	LM_EARLY_STOPPING_ON,		/* True: stop once num_beams hypotheses are done */
	LM_EARLY_STOPPING_NEVER		/* "never": canonical beam search */
} LmEarlyStopping;

typedef struct LmSeq2SeqParams
{
	int			num_beams;		/* 1 = greedy */
	int			max_new_tokens; /* tokens after the decoder start token */
	int			min_new_tokens; /* eos is suppressed before this many */
	double		length_penalty; /* finished beams score Σ log p / length^penalty */
	LmEarlyStopping early_stopping;
	double		repetition_penalty; /* 1 = none (CTRL-style, as transformers) */
	int			no_repeat_ngram_size;	/* 0 = none */
	int			decoder_start_token_id;
	int			forced_bos_token_id;	/* first generated token; -1 = none */
	int			forced_eos_token_id;	/* last token at max length; -1 = none */
	int			n_eos;			/* end-of-sequence ids (0 = never stop early) */
	int32_t		eos_token_ids[LM_MAX_EOS_IDS];
	int			n_suppress;
	int32_t		suppress_ids[LM_MAX_SUPPRESS_IDS];
} LmSeq2SeqParams;

/*
 * Generation defaults as transformers would use them: the model's
 * config.json values (decoder_start_token_id, eos, forced ids), then the
 * keys of generation_config.json (text of len bytes; NULL for none):
 * num_beams, max_new_tokens or max_length, min_new_tokens or min_length,
 * length_penalty, early_stopping (true, false or "never"),
 * repetition_penalty, no_repeat_ngram_size, decoder_start_token_id,
 * forced_bos_token_id, forced_eos_token_id, eos_token_id, bad_words_ids
 * (single tokens only) and suppress_tokens.  Without max_length or
 * max_new_tokens, max_new_tokens is LM_SEQ2SEQ_DEFAULT_MAX_LENGTH - 1.
 */
int			lm_seq2seq_params_init(const LmModel *model, const char *generation_config,
								   size_t len, LmSeq2SeqParams *params, LmError *err);

/*
 * The encoder's final hidden states for n source ids (no padding):
 * hidden_out[n][hidden_size].  Same as lm_model_encode, for encoder-decoders
 * only.
 */
int			lm_seq2seq_encode(const LmModel *model, const int32_t *ids, int n,
							  float *hidden_out, LmError *err);

/*
 * Teacher-forced decoder logits: encode src_ids, run the decoder over
 * dec_ids (which start with the decoder start token) and write
 * out[n_dec][target_vocab_size] with all_positions, else the next-token
 * logits after the last decoder id, out[target_vocab_size].
 */
int			lm_seq2seq_logits(const LmModel *model, const int32_t *src_ids, int n_src,
							  const int32_t *dec_ids, int n_dec, bool all_positions,
							  float *out, LmError *err);

/*
 * Generate a target sequence for src_ids with transformers' semantics:
 * greedy when num_beams is 1, else beam search.  out (which holds
 * max_new_tokens + 1 ids) receives the decoder start token followed by the
 * generated tokens, the final eos included, as transformers' generate()
 * returns them; *n_out the count.  Generation also ends when the decoder's
 * positions (max_target_positions) are used up.
 */
int			lm_seq2seq_generate(const LmModel *model, const int32_t *src_ids, int n_src,
								const LmSeq2SeqParams *params, int32_t *out, int *n_out,
								LmError *err);

#endif
