/*
 * rnn.h — recurrent models in pg_lm's own RNN format: the lecture's
 * TextRNNClassifier (classification, encodings, similarity) and its
 * TextRNNGenerator (a GRU/LSTM/Elman encoder-decoder over characters or
 * words, with greedy decoding and beam search).
 *
 * The format: a PyTorch state dict (model.safetensors, F32/F16/BF16/F64)
 * plus a config.json object with these keys:
 *
 *   model_type      "rnn" (required)
 *   architectures   ["TextRNNClassifier"] (the default when absent) or
 *                   ["RNNSeq2Seq"] (alias "TextRNNGenerator")
 *   cell            "lstm", "gru", "rnn_tanh" or "rnn_relu" (required;
 *                   "rnn" means nn.RNN, whose "nonlinearity" key, "tanh" by
 *                   default or "relu", then picks the activation)
 *   vocab_size      rows of embedding.weight (required)
 *   embedding_dim   columns of embedding.weight (required)
 *   hidden_size     (required)
 *   num_layers      default 1
 *   bidirectional   default false (a generator's encoder must be
 *                   unidirectional)
 *   bias            default true: bias_ih_l* and bias_hh_l* tensors exist
 *   pooling         "final_hidden_concat" (the default and only value): the
 *                   encoding is the last layer's final forward state
 *                   followed by its final backward state
 *   id2label        {"0": "en", "1": "es", ...}: classifier labels; without
 *                   it, "num_labels" or the rows of classifier.weight, named
 *                   "LABEL_i"
 *   max_length      longest input in tokens; 0 or absent: no limit
 *   proj_size       absent or 0 (LSTM projections are not supported)
 *   batch_first, dropout, tensor_names: informational, ignored
 *
 * Generators also read:
 *   pad_token_id, bos_token_id, eos_token_id, unk_token_id   ids or -1/null;
 *                   decoding starts from decoder_start_token_id, by default
 *                   bos_token_id (one of them is required), and stops at eos
 *   tokenization    "chars" for a character vocabulary, else absent (token
 *                   ids come from the model's tokenizer.json)
 *   vocab           with "chars": vocab_size strings, id = position; the
 *                   special tokens' entries are free text ("<pad>"), every
 *                   other entry is exactly one Unicode character
 *
 * Tensors, named as PyTorch's state_dict() names them:
 *   classifier  embedding.weight [vocab, emb];  rnn.weight_ih_l{L}[_reverse]
 *               [gates·hidden, in], rnn.weight_hh_l{L}[_reverse]
 *               [gates·hidden, hidden], rnn.bias_ih_l{L}[_reverse],
 *               rnn.bias_hh_l{L}[_reverse] [gates·hidden];
 *               classifier.weight [labels, dirs·hidden], classifier.bias
 *   generator   embedding.weight (shared by encoder and decoder);
 *               encoder.* and decoder.* as rnn.* above (unidirectional,
 *               num_layers each, the decoder's input is the embedding);
 *               out.weight [vocab, hidden], out.bias [vocab]
 * where in = emb for layer 0 and dirs·hidden above it, and gates are 1
 * (Elman), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n), as PyTorch stores them.
 *
 * Semantics are PyTorch's (see nn/rnn_cells.h): zero initial states, the
 * generator's decoder seeded with the encoder's final h (and c) per layer,
 * fed the previous token (teacher forcing at training time).
 *
 * Token ids are int32_t.  Every function returns -1 (NULL) and fills err on
 * failure; inputs are checked (empty, too long, ids outside the
 * vocabulary, wrong task).  A loaded model is immutable and may be shared
 * by concurrent callers: each call allocates its own scratch.
 */
#ifndef LM_MODELS_RNN_H
#define LM_MODELS_RNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/tensor.h"
#include "nn/rnn_cells.h"
#include "util/lm_error.h"

/* Limits on inputs and generation (named so the glue can quote them). */
#define LM_RNN_MAX_TOKENS (1 << 20)
#define LM_RNN_MAX_BEAMS 32
#define LM_RNN_MAX_NEW_TOKENS 4096
#define LM_RNN_MAX_CONFIG_BYTES (16 << 20)

typedef struct LmRnnModel LmRnnModel;

typedef enum LmRnnTask
{
	LM_RNN_TASK_CLASSIFY,		/* TextRNNClassifier */
	LM_RNN_TASK_GENERATE		/* RNNSeq2Seq / TextRNNGenerator */
} LmRnnTask;

typedef struct LmRnnInfo
{
	const char *architecture;	/* "TextRNNClassifier" or "RNNSeq2Seq" */
	LmRnnTask	task;
	LmRnnCell	cell;
	const char *cell_name;		/* "lstm", "gru", "rnn_tanh", "rnn_relu" */
	int			num_layers;
	bool		bidirectional;
	int			hidden_size;
	int			embedding_dim;
	int			vocab_size;
	int			encoding_size;	/* floats from lm_rnn_encode: dirs·hidden */
	int			num_labels;		/* 0 for a generator */
	int			max_length;		/* longest input in tokens; 0 = no limit */
	bool		char_vocab;		/* lm_rnn_char_encode/decode work */
	int			pad_token_id;	/* -1 when none */
	int			bos_token_id;
	int			eos_token_id;
	int			unk_token_id;
	int			decoder_start_token_id;
	int64_t		n_params;
} LmRnnInfo;

/* ---- loading ----------------------------------------------------------- */

/*
 * Does this config.json (len bytes) say model_type "rnn"?  For the glue, to
 * choose between lm_rnn_load and lm_model_load.  False for invalid JSON.
 */
bool		lm_rnn_is_rnn_config(const char *config_json, size_t len);

/*
 * Build a model from config.json text (len bytes, not necessarily
 * NUL-terminated) and its tensors.  Float32 tensors are used in place, so
 * `tensors` must outlive the model.  Errors name the config key or tensor
 * at fault (a missing tensor, a wrong shape with both shapes, an unknown
 * cell type).
 */
LmRnnModel *lm_rnn_load(const char *config_json, size_t len, const LmTensorSet *tensors,
						LmError *err);
void		lm_rnn_free(LmRnnModel *model);

const LmRnnInfo *lm_rnn_info(const LmRnnModel *model);

/* Name of class i (id2label, else "LABEL_i"); NULL when out of range. */
const char *lm_rnn_label(const LmRnnModel *model, int i);

/* ---- encoders and classifiers ------------------------------------------ */

/*
 * The encoding of ids[n]: the last layer's final forward state followed by
 * its final backward state (when bidirectional), out[encoding_size].  For a
 * generator, its encoder's.  This is lm_embed's vector.
 */
int			lm_rnn_encode(const LmRnnModel *model, const int32_t *ids, int n, float *out,
						  LmError *err);

/* Class logits of a classifier, logits[num_labels] (softmax for probs). */
int			lm_rnn_classify(const LmRnnModel *model, const int32_t *ids, int n,
							float *logits, LmError *err);

/* Cosine similarity of the encodings of a[na] and b[nb] (lm_similarity). */
int			lm_rnn_similarity(const LmRnnModel *model, const int32_t *a, int na,
							  const int32_t *b, int nb, double *cosine, LmError *err);

/* ---- generators ---------------------------------------------------------- */

/*
 * Decode from src[n] up to max_len tokens into out[max_len]; *n_out gets
 * the count, which includes the final eos when one was produced.
 * beams <= 1 is greedy decoding; beams > 1 is beam search with the
 * semantics of transformers' generate(num_beams=beams, length_penalty=1.0,
 * early_stopping=True): hypotheses ranked by sum of log-probabilities /
 * generated length (eos included).  The start token is not in out.  Both
 * are the encoder-decoders' searches (decode_step.h), except that beam
 * scores are summed in double and transformers' placeholder beams are left
 * out (LM_BEAM_SCORES_DOUBLE), as this generator always did.
 */
int			lm_rnn_generate(const LmRnnModel *model, const int32_t *src, int n,
							int max_len, int beams, int32_t *out, int *n_out, LmError *err);

/*
 * Σ log p(tgt[i] | src, tgt[<i]) with the decoder fed the start token, then
 * tgt (teacher forcing): lm_score for a generator.
 */
int			lm_rnn_score(const LmRnnModel *model, const int32_t *src, int n,
						 const int32_t *tgt, int n_tgt, double *sum_logprob, LmError *err);

/* ---- character vocabularies ("tokenization": "chars") --------------------- */

/*
 * One id per Unicode character of text (len bytes of UTF-8), nothing
 * added: no bos, no eos.  A character outside the vocabulary becomes
 * unk_token_id (an error when the model has none).  ids_out must hold len
 * ids (a text never has more characters than bytes).  Invalid UTF-8 is an
 * error giving the byte offset.
 */
int			lm_rnn_char_encode(const LmRnnModel *model, const char *text, size_t len,
							   int32_t *ids_out, int *n_ids, LmError *err);

/*
 * The text of ids[n]: characters concatenated, stopping at the first eos,
 * skipping pad, bos and unk (as skip_special_tokens does).  *text is
 * malloc'd and NUL-terminated; *text_len may be NULL.
 */
int			lm_rnn_char_decode(const LmRnnModel *model, const int32_t *ids, int n,
							   char **text, size_t *text_len, LmError *err);

#endif
