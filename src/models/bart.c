/*
 * bart.c — the fairseq-style encoder-decoder shared by M2M100/NLLB and
 * Marian (see bart.h): weights, states and the two forward passes.
 *
 * Encoder layer, pre-norm (M2M100):   x += SelfAttn(LN(x));  x += FFN(LN(x))
 *                post-norm (Marian):  x = LN(x + SelfAttn(x)); x = LN(x + FFN(x))
 * Decoder layer: the same with causal self-attention, then cross-attention
 * over the encoder's states between it and the FFN.  Attention scales the
 * queries by head_dim^-0.5; FFN(x) = fc2(act(fc1(x))).
 */
#include "models/bart_impl.h"

#include "models/config.h"
#include "nn/attention.h"
#include "nn/matrix.h"
#include "nn/scratch.h"
#include "nn/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------
 * The model: weights and states */

/* Scratch for max_chunk tokens; the decoder's also holds its self-attention cache. */
typedef struct BartState
{
	int			max_chunk;
	int			max_keys;		/* columns of att */
	LmKVCache	cache;			/* decoder only */
	float	   *x;				/* [chunk][dim] residual stream */
	float	   *xb;				/* [chunk][dim] normalised input of a block */
	float	   *q,
			   *k,
			   *v;				/* [chunk][dim] */
	float	   *att_out;		/* [chunk][dim] */
	float	   *hb;				/* [chunk][ffn] */
	float	   *att;			/* [chunk][max_keys] */
	float	   *scratch;		/* the block the buffers above point into */
} BartState;

/* ----------------------------------------------------------------------------
 * Configuration and weights */

int
lm_bart_read_config(LmBartConfig *c, const json_t *cfg, bool default_scale,
					const char *default_act, LmError *err)
{
	const char *act;
	bool		scale;

	memset(c, 0, sizeof(*c));
	if (lm_cfg_int(cfg, "d_model", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &c->dim, err) < 0 ||
		lm_cfg_int(cfg, "encoder_layers", LM_CFG_REQUIRED, 1, LM_MAX_LAYERS, &c->enc_layers, err) < 0 ||
		lm_cfg_int(cfg, "decoder_layers", LM_CFG_REQUIRED, 1, LM_MAX_LAYERS, &c->dec_layers, err) < 0 ||
		lm_cfg_int(cfg, "encoder_attention_heads", LM_CFG_REQUIRED, 1, LM_MAX_HEADS, &c->enc_heads, err) < 0 ||
		lm_cfg_int(cfg, "decoder_attention_heads", LM_CFG_REQUIRED, 1, LM_MAX_HEADS, &c->dec_heads, err) < 0 ||
		lm_cfg_int(cfg, "encoder_ffn_dim", LM_CFG_REQUIRED, 1, 16 * LM_MAX_HIDDEN, &c->enc_ffn, err) < 0 ||
		lm_cfg_int(cfg, "decoder_ffn_dim", LM_CFG_REQUIRED, 1, 16 * LM_MAX_HIDDEN, &c->dec_ffn, err) < 0 ||
		lm_cfg_int(cfg, "vocab_size", LM_CFG_REQUIRED, 1, LM_MAX_VOCAB, &c->vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "max_position_embeddings", 1024, 1, LM_MAX_POSITIONS, &c->max_positions, err) < 0 ||
		lm_cfg_int(cfg, "pad_token_id", 1, 0, LM_MAX_VOCAB, &c->padding_idx, err) < 0 ||
		lm_cfg_bool(cfg, "scale_embedding", default_scale, &scale, err) < 0 ||
		lm_cfg_bool(cfg, "tie_word_embeddings", true, &c->tied_head, err) < 0 ||
		lm_cfg_string(cfg, "activation_function", default_act, &act, err) < 0 ||
		lm_activation_from_name(act, &c->act, err) < 0)
		return -1;
	if (c->dim % c->enc_heads != 0 || c->dim % c->dec_heads != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "d_model %d is not a multiple of the attention heads (%d, %d)",
					   c->dim, c->enc_heads, c->dec_heads);
	c->target_vocab_size = c->vocab_size;
	c->embed_scale = scale ? sqrtf((float) c->dim) : 1.0f;
	c->shared_embeddings = true;
	return 0;
}

static int
read_attn(LmWeightStore *ws, BartAttn *a, int d, const char *stack, int l, const char *name,
		  LmError *err)
{
	const char *f = "model.%s.layers.%d.%s.%s";

	if (!(a->wq = lm_weight_matrix(ws, err, d, d, f, stack, l, name, "q_proj.weight")) ||
		!(a->bq = lm_weight_1d(ws, err, d, f, stack, l, name, "q_proj.bias")) ||
		!(a->wk = lm_weight_matrix(ws, err, d, d, f, stack, l, name, "k_proj.weight")) ||
		!(a->bk = lm_weight_1d(ws, err, d, f, stack, l, name, "k_proj.bias")) ||
		!(a->wv = lm_weight_matrix(ws, err, d, d, f, stack, l, name, "v_proj.weight")) ||
		!(a->bv = lm_weight_1d(ws, err, d, f, stack, l, name, "v_proj.bias")) ||
		!(a->wo = lm_weight_matrix(ws, err, d, d, f, stack, l, name, "out_proj.weight")) ||
		!(a->bo = lm_weight_1d(ws, err, d, f, stack, l, name, "out_proj.bias")))
		return -1;
	return 0;
}

static int
read_layer(LmWeightStore *ws, BartLayer *L, int d, int ffn, const char *stack, int l,
		   bool cross, LmError *err)
{
	const char *f = "model.%s.layers.%d.%s";

	if (read_attn(ws, &L->self, d, stack, l, "self_attn", err) < 0 ||
		!(L->self_ln_w = lm_weight_1d(ws, err, d, f, stack, l, "self_attn_layer_norm.weight")) ||
		!(L->self_ln_b = lm_weight_1d(ws, err, d, f, stack, l, "self_attn_layer_norm.bias")))
		return -1;
	if (cross &&
		(read_attn(ws, &L->cross, d, stack, l, "encoder_attn", err) < 0 ||
		 !(L->cross_ln_w = lm_weight_1d(ws, err, d, f, stack, l, "encoder_attn_layer_norm.weight")) ||
		 !(L->cross_ln_b = lm_weight_1d(ws, err, d, f, stack, l, "encoder_attn_layer_norm.bias"))))
		return -1;
	if (!(L->fc1 = lm_weight_matrix(ws, err, ffn, d, f, stack, l, "fc1.weight")) ||
		!(L->fc1_b = lm_weight_1d(ws, err, ffn, f, stack, l, "fc1.bias")) ||
		!(L->fc2 = lm_weight_matrix(ws, err, d, ffn, f, stack, l, "fc2.weight")) ||
		!(L->fc2_b = lm_weight_1d(ws, err, d, f, stack, l, "fc2.bias")) ||
		!(L->final_ln_w = lm_weight_1d(ws, err, d, f, stack, l, "final_layer_norm.weight")) ||
		!(L->final_ln_b = lm_weight_1d(ws, err, d, f, stack, l, "final_layer_norm.bias")))
		return -1;
	return 0;
}

static int
read_weights(Bart *b, LmError *err)
{
	const LmBartConfig *c = &b->c;
	LmWeightStore *ws = &b->store;
	int			d = c->dim;
	int			tv = c->target_vocab_size;

	b->enc = lm_calloc(c->enc_layers, sizeof(BartLayer), err);
	b->dec = b->enc ? lm_calloc(c->dec_layers, sizeof(BartLayer), err) : NULL;
	if (b->dec == NULL)
		return -1;

	/* embeddings: model.shared, which the encoder (and usually the decoder) ties to */
	if (lm_weights_has(ws, "model.shared.weight"))
		b->enc_embed = lm_weight_matrix(ws, err, c->vocab_size, d, "model.shared.weight");
	else
		b->enc_embed = lm_weight_matrix(ws, err, c->vocab_size, d, "model.encoder.embed_tokens.weight");
	if (b->enc_embed == NULL)
		return -1;
	if (c->shared_embeddings)
		b->dec_embed = b->enc_embed;
	else if (!(b->dec_embed = lm_weight_matrix(ws, err, tv, d, "model.decoder.embed_tokens.weight")))
		return -1;

	for (int l = 0; l < c->enc_layers; l++)
		if (read_layer(ws, &b->enc[l], d, c->enc_ffn, "encoder", l, false, err) < 0)
			return -1;
	for (int l = 0; l < c->dec_layers; l++)
		if (read_layer(ws, &b->dec[l], d, c->dec_ffn, "decoder", l, true, err) < 0)
			return -1;
	if (c->final_norms &&
		(!(b->enc_ln_w = lm_weight_1d(ws, err, d, "model.encoder.layer_norm.weight")) ||
		 !(b->enc_ln_b = lm_weight_1d(ws, err, d, "model.encoder.layer_norm.bias")) ||
		 !(b->dec_ln_w = lm_weight_1d(ws, err, d, "model.decoder.layer_norm.weight")) ||
		 !(b->dec_ln_b = lm_weight_1d(ws, err, d, "model.decoder.layer_norm.bias"))))
		return -1;

	/* the checkpoint's lm_head wins; a tied model may omit it */
	if (lm_weights_has(ws, "lm_head.weight") || !c->tied_head)
		b->head = lm_weight_matrix(ws, err, tv, d, "lm_head.weight");
	else
		b->head = b->dec_embed;
	if (b->head == NULL)
		return -1;
	if (c->logits_bias &&
		!(b->logits_bias = lm_weight_2d(ws, err, 1, tv, "final_logits_bias")))
		return -1;
	return 0;
}

static void
bart_free(void *impl)
{
	Bart	   *b = impl;

	if (b == NULL)
		return;
	free(b->enc);
	free(b->dec);
	free(b->c.positions);
	lm_weights_free(&b->store);
	free(b);
}

static void
bart_state_free(void *state)
{
	BartState  *s = state;

	if (s == NULL)
		return;
	lm_kv_cache_free(&s->cache);
	free(s->scratch);
	free(s);
}

/* A state for max_chunk tokens; capacity > 0 adds a decoder cache. */
static BartState *
state_new(const Bart *b, int capacity, int max_chunk, int max_keys, LmError *err)
{
	const LmBartConfig *c = &b->c;
	BartState  *s = lm_calloc(1, sizeof(BartState), err);
	size_t		rows = max_chunk;
	size_t		row = c->dim;
	int			ffn = c->enc_ffn > c->dec_ffn ? c->enc_ffn : c->dec_ffn;
	bool		encoder = capacity == 0;

	if (s == NULL)
		return NULL;
	s->max_chunk = max_chunk;
	s->max_keys = max_keys;

	LmScratchPart parts[] = {
		{&s->x, rows * row}, {&s->xb, rows * row},
		{&s->q, rows * row}, {&s->k, rows * row}, {&s->v, rows * row},
		{&s->att_out, rows * row}, {&s->hb, rows * ffn}, {&s->att, rows * max_keys},
	};

	if ((!encoder && lm_kv_cache_init(&s->cache, c->dec_layers, capacity, c->dim, err) < 0) ||
		!(s->scratch = lm_scratch_alloc(parts, LM_SCRATCH_PARTS(parts), err)))
	{
		bart_state_free(s);
		return NULL;
	}
	return s;
}

static void *
bart_encoder_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	return state_new(impl, 0, max_chunk, max_chunk, err);
}

static void *
bart_decoder_state_new(const void *impl, int capacity, int max_chunk, int n_src, LmError *err)
{
	if (capacity < 1)
		capacity = 1;
	return state_new(impl, capacity, max_chunk, capacity > n_src ? capacity : n_src, err);
}

static void
bart_decoder_state_copy(void *dst, const void *src, int n)
{
	lm_kv_cache_copy(&((BartState *) dst)->cache, &((const BartState *) src)->cache, n);
}

/* ----------------------------------------------------------------------------
 * The forward passes */

long
lm_bart_position_row(const LmBartConfig *c, int32_t id, int at, int pos, int *seen)
{
	if (!c->padding_positions)
		return at;
	if (id == c->padding_idx)
		return c->padding_idx;
	return (long) c->padding_idx + pos + ++*seen;
}

/* x = token embedding · embed_scale + position embedding, for n ids at pos. */
static int
embed(const Bart *b, const LmMatrix *table, const int32_t *ids, int n, int pos, float *x,
	  LmError *err)
{
	const LmBartConfig *c = &b->c;
	int			d = c->dim;
	int			seen = 0;		/* non-padding tokens so far */

	for (int t = 0; t < n; t++)
	{
		const float *pe;
		float	   *xt = x + (long) t * d;
		long		row;

		row = lm_bart_position_row(c, ids[t], pos + t, pos, &seen);
		if (row >= c->n_position_rows)
			return lm_fail(err, LM_ERR_INTERNAL, "position %ld is past the position table", row);
		pe = c->positions + row * d;
		lm_matrix_row(table, ids[t], 0, d, xt);
		for (int i = 0; i < d; i++)
			xt[i] = xt[i] * c->embed_scale + pe[i];
	}
	return 0;
}

/* A block's input: LN(x) before it (pre-norm), else x itself. */
static const float *
block_in(const Bart *b, BartState *s, const float *ln_w, const float *ln_b, int n)
{
	if (!b->c.pre_norm)
		return s->x;
	lm_layernorm(s->xb, s->x, ln_w, ln_b, n, b->c.dim, LM_BART_LAYER_NORM_EPS);
	return s->xb;
}

/* After x += block(...): post-norm normalises the sum in place. */
static void
block_out(const Bart *b, BartState *s, const float *ln_w, const float *ln_b, int n)
{
	if (!b->c.pre_norm)
		lm_layernorm(s->x, s->x, ln_w, ln_b, n, b->c.dim, LM_BART_LAYER_NORM_EPS);
}

/* x += fc2(act(fc1(FFN input))) with its norm. */
static void
feed_forward(const Bart *b, BartState *s, const BartLayer *L, int ffn, int n)
{
	const float *h = block_in(b, s, L->final_ln_w, L->final_ln_b, n);

	lm_matmul(s->hb, h, L->fc1, L->fc1_b, n, false);
	lm_activate(s->hb, (long) n * ffn, b->c.act);
	lm_matmul(s->x, s->hb, L->fc2, L->fc2_b, n, true);
	block_out(b, s, L->final_ln_w, L->final_ln_b, n);
}

/* The encoder: n source ids (pos 0) → hidden[n][dim]. */
static int
bart_encoder_forward(const void *impl, void *state, const int32_t *ids,
					 const uint8_t *key_mask, int n, int pos, float *hidden, LmError *err)
{
	const Bart *b = impl;
	const LmBartConfig *c = &b->c;
	BartState  *s = state;
	int			d = c->dim;
	LmAttention attn = {c->enc_heads, c->enc_heads, d / c->enc_heads,
	1.0f / sqrtf((float) (d / c->enc_heads)), false};

	if (pos != 0 || n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "the encoder runs whole inputs only");
	if (embed(b, b->enc_embed, ids, n, 0, s->x, err) < 0)
		return -1;

	for (int l = 0; l < c->enc_layers; l++)
	{
		const BartLayer *L = &b->enc[l];
		const float *h;

		if (lm_check_cancel(err) < 0)
			return -1;

		/* self-attention */
		h = block_in(b, s, L->self_ln_w, L->self_ln_b, n);
		lm_matmul_many((LmGemmOut[]) {{s->q, L->self.wq, L->self.bq}, {s->k, L->self.wk, L->self.bk},
									  {s->v, L->self.wv, L->self.bv}}, 3, h, n);
		lm_attention(&attn, s->att_out, d, s->q, d, s->k, s->v, d, n, n, 0, key_mask, s->att);
		lm_matmul(s->x, s->att_out, L->self.wo, L->self.bo, n, true);
		block_out(b, s, L->self_ln_w, L->self_ln_b, n);

		feed_forward(b, s, L, c->enc_ffn, n);
	}
	if (c->final_norms)
		lm_layernorm(hidden, s->x, b->enc_ln_w, b->enc_ln_b, n, d, LM_BART_LAYER_NORM_EPS);
	else
		memcpy(hidden, s->x, (size_t) n * d * sizeof(float));
	return 0;
}

/* Cross-attention keys and values: [dec_layers][n_src][dim] each. */
static void *
bart_cross_new(const void *impl, const float *enc_hidden, int n_src, LmError *err)
{
	const Bart *b = impl;
	int			d = b->c.dim;
	LmKVCache  *cross = lm_kv_cache_new(b->c.dec_layers, n_src, d, err);

	if (cross == NULL)
		return NULL;
	for (int l = 0; l < b->c.dec_layers; l++)
	{
		const BartAttn *a = &b->dec[l].cross;

		lm_matmul(lm_kv_cache_k(cross, l, 0), enc_hidden, a->wk, a->bk, n_src, false);
		lm_matmul(lm_kv_cache_v(cross, l, 0), enc_hidden, a->wv, a->bv, n_src, false);
	}
	return cross;
}

/*
 * The decoder: n ids at pos .. pos+n-1 for each state → hidden[n_states · n][dim]
 * after the final norm.  The states' rows go through the projections and
 * the FFN together; self-attention reads each state's own cache, and
 * cross-attention the keys all of them share.
 */
static int
bart_decoder_forward(const void *impl, void *const *states, int n_states,
					 const void *cross_kv, const int32_t *ids, int n, int pos, float *hidden,
					 LmError *err)
{
	const Bart *b = impl;
	const LmBartConfig *c = &b->c;
	BartState  *s = states[0];
	const LmKVCache *cross = cross_kv;
	int			d = c->dim;
	int			hd = d / c->dec_heads;
	int			rows = n_states * n;
	LmAttention self_attn = {c->dec_heads, c->dec_heads, hd, 1.0f / sqrtf((float) hd), true};
	LmAttention cross_attn = {c->dec_heads, c->dec_heads, hd, 1.0f / sqrtf((float) hd), false};

	if (rows > s->max_chunk || cross->capacity > s->max_keys)
		return lm_fail(err, LM_ERR_INTERNAL, "%d decoder rows do not fit the scratch", rows);
	for (int i = 0; i < n_states; i++)
	{
		if (pos + n > ((BartState *) states[i])->cache.capacity)
			return lm_fail(err, LM_ERR_INTERNAL, "decoder chunk of %d tokens at %d overflows the cache",
						   n, pos);
		if (embed(b, b->dec_embed, ids + (long) i * n, n, pos, s->x + (long) i * n * d, err) < 0)
			return -1;
	}

	for (int l = 0; l < c->dec_layers; l++)
	{
		const BartLayer *L = &b->dec[l];
		const float *h;

		if (lm_check_cancel(err) < 0)
			return -1;

		/* causal self-attention, each state over its own cache */
		h = block_in(b, s, L->self_ln_w, L->self_ln_b, rows);
		lm_matmul(s->q, h, L->self.wq, L->self.bq, rows, false);
		lm_matmul(s->k, h, L->self.wk, L->self.bk, rows, false);
		lm_matmul(s->v, h, L->self.wv, L->self.bv, rows, false);
		for (int i = 0; i < n_states; i++)
		{
			LmKVCache  *cache = &((BartState *) states[i])->cache;
			size_t		off = (size_t) i * n * d;

			memcpy(lm_kv_cache_k(cache, l, pos), s->k + off, (size_t) n * d * sizeof(float));
			memcpy(lm_kv_cache_v(cache, l, pos), s->v + off, (size_t) n * d * sizeof(float));
			lm_attention(&self_attn, s->att_out + off, d, s->q + off, d,
						 lm_kv_cache_k(cache, l, 0), lm_kv_cache_v(cache, l, 0), d,
						 n, pos + n, pos, NULL, s->att);
		}
		lm_matmul(s->x, s->att_out, L->self.wo, L->self.bo, rows, true);
		block_out(b, s, L->self_ln_w, L->self_ln_b, rows);

		/* cross-attention over the encoder's states, all rows at once */
		h = block_in(b, s, L->cross_ln_w, L->cross_ln_b, rows);
		lm_matmul(s->q, h, L->cross.wq, L->cross.bq, rows, false);
		lm_attention(&cross_attn, s->att_out, d, s->q, d,
					 lm_kv_cache_k(cross, l, 0), lm_kv_cache_v(cross, l, 0), d,
					 rows, cross->capacity, 0, NULL, s->att);
		lm_matmul(s->x, s->att_out, L->cross.wo, L->cross.bo, rows, true);
		block_out(b, s, L->cross_ln_w, L->cross_ln_b, rows);

		feed_forward(b, s, L, c->dec_ffn, rows);
	}
	if (c->final_norms)
		lm_layernorm(hidden, s->x, b->dec_ln_w, b->dec_ln_b, rows, d, LM_BART_LAYER_NORM_EPS);
	else
		memcpy(hidden, s->x, (size_t) rows * d * sizeof(float));
	return 0;
}

/* logits = hidden · headᵀ (+ final_logits_bias). */
static int
bart_logits(const void *impl, const float *hidden, int n, float *logits, LmError *err)
{
	const Bart *b = impl;

	lm_matmul(logits, hidden, b->head, b->logits_bias, n, false);
	return 0;
}

static const LmArchOps bart_encoder_ops = {
	.free = bart_free,
	.state_new = bart_encoder_state_new,
	.state_free = bart_state_free,
	.forward = bart_encoder_forward,
	.token_logits = NULL,
	.classify = NULL,
	.to_device = lm_bart_to_device,
};

static const LmSeq2SeqOps bart_decoder_ops = {
	.cross_new = bart_cross_new,
	.cross_free = lm_kv_cache_delete,
	.dec_state_new = bart_decoder_state_new,
	.dec_state_free = bart_state_free,
	.dec_state_copy = bart_decoder_state_copy,
	.dec_forward = bart_decoder_forward,
	.dec_logits = bart_logits,
};

int
lm_bart_create(LmModel *model, LmBartConfig *c, const LmTensorSet *tensors, LmError *err)
{
	Bart	   *b = lm_calloc(1, sizeof(Bart), err);

	if (b == NULL)
	{
		free(c->positions);
		c->positions = NULL;
		return -1;
	}
	b->c = *c;
	c->positions = NULL;		/* the model owns the table now */
	lm_weights_init(&b->store, tensors);
	if (read_weights(b, err) < 0)
	{
		bart_free(b);
		return -1;
	}
	model->ops = &bart_encoder_ops;
	model->seq2seq = &bart_decoder_ops;
	model->impl = b;
	model->info.causal = false;
	model->info.encoder_decoder = true;
	model->info.vocab_size = b->c.vocab_size;
	model->info.target_vocab_size = b->c.target_vocab_size;
	model->info.hidden_size = b->c.dim;
	model->info.n_layers = b->c.enc_layers;
	model->info.n_decoder_layers = b->c.dec_layers;
	model->info.max_positions = b->c.max_positions;
	model->info.max_target_positions = b->c.max_positions;
	model->info.n_params = b->store.n_params;
	return 0;
}
