/*
 * bart.h — the fairseq-style encoder-decoder transformer that M2M100/NLLB
 * (m2m100.c) and Marian (marian.c) share: scaled token embeddings plus a
 * sinusoidal position table, layers of self-attention (+ cross-attention in
 * the decoder) and a two-layer FFN with LayerNorm either before each block
 * (pre-norm) or after the residual sum (post-norm), and a head tied to the
 * decoder embeddings.  The architecture files read their configs, build
 * their position tables and describe their variant in an LmBartConfig.
 */
#ifndef LM_MODELS_BART_H
#define LM_MODELS_BART_H

#include <jansson.h>

#include "models/arch.h"
#include "nn/ops.h"

/* torch.nn.LayerNorm's default epsilon, which these models use. */
#define LM_BART_LAYER_NORM_EPS 1e-5

typedef struct LmBartConfig
{
	int			dim;			/* d_model */
	int			enc_layers;
	int			dec_layers;
	int			enc_heads;
	int			dec_heads;
	int			enc_ffn;
	int			dec_ffn;
	int			vocab_size;		/* encoder (and shared) embeddings */
	int			target_vocab_size;	/* decoder embeddings, head, logits */
	int			max_positions;	/* max_position_embeddings */
	int			padding_idx;	/* pad_token_id */
	float		embed_scale;	/* sqrt(d_model) with scale_embedding, else 1 */
	LmActivation act;
	bool		pre_norm;		/* LN(x) before each block, else LN after the sum */
	bool		final_norms;	/* model.encoder.layer_norm, model.decoder.layer_norm */
	bool		shared_embeddings;	/* the decoder embeds with model.shared too */
	bool		tied_head;		/* tie_word_embeddings: head = decoder embeddings */
	bool		logits_bias;	/* final_logits_bias [1][target_vocab] */

	/*
	 * Positions: row r of positions[n_position_rows][dim].  With
	 * padding_positions (fairseq, M2M100) token t of a chunk at pos takes
	 * row padding_idx + pos + (non-padding tokens up to t), padding tokens
	 * row padding_idx; otherwise row pos + t.
	 */
	bool		padding_positions;
	int			n_position_rows;
	float	   *positions;		/* malloc'd; lm_bart_create takes it over */
} LmBartConfig;

/*
 * The row of the position table for the token id at position `at` of a
 * chunk that starts at pos (see padding_positions); *seen counts the
 * chunk's non-padding tokens so far, 0 before its first.  The caller checks
 * the row against n_position_rows.
 */
long		lm_bart_position_row(const LmBartConfig *c, int32_t id, int at, int pos, int *seen);

/*
 * The keys both architectures share: d_model, encoder_/decoder_layers,
 * _attention_heads, _ffn_dim, vocab_size, max_position_embeddings,
 * pad_token_id, scale_embedding, activation_function, tie_word_embeddings.
 * The defaults of scale_embedding and activation_function differ.  Sets
 * target_vocab_size = vocab_size and shared_embeddings; the rest is zero.
 */
int			lm_bart_read_config(LmBartConfig *c, const json_t *cfg, bool default_scale,
								const char *default_act, LmError *err);

/*
 * Look up and check the weights (model.shared, model.encoder.*,
 * model.decoder.*, lm_head, final_logits_bias as the config says), set
 * model->ops, ->seq2seq, ->impl and the info dimensions.  Takes over
 * c->positions, also on failure.
 */
int			lm_bart_create(LmModel *model, LmBartConfig *c, const LmTensorSet *tensors,
						   LmError *err);

#endif
