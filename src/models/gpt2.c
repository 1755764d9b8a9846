/*
 * gpt2.c — GPT-2 (GPT2LMHeadModel): learned absolute positions, pre-norm
 * blocks of LayerNorm → fused-QKV causal attention → LayerNorm → MLP, a
 * final LayerNorm and an output head tied to the token embedding (unless
 * the checkpoint has lm_head.weight).  Linear layers are Conv1D: [in][out].
 */
#include "models/gpt2.h"
#include "models/config.h"
#include "nn/attention.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/scratch.h"
#include "nn/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------
 * The model: config, weights, state */

typedef struct Gpt2State
{
	int			capacity;
	int			max_chunk;
	LmKVCache	cache;
	float	   *x;				/* [chunk][dim] residual stream */
	float	   *xb;				/* [chunk][dim] */
	float	   *qkv;			/* [chunk][3 · dim] */
	float	   *hb;				/* [chunk][ffn_dim] */
	float	   *att;			/* [chunk][capacity] attention scores */
	float	   *scratch;		/* the block the buffers above point into */
} Gpt2State;

/* ----------------------------------------------------------------------------
 * Building */

static int
read_config(Gpt2Config *c, const json_t *cfg, LmError *err)
{
	const char *act;
	double		eps;

	if (lm_cfg_int(cfg, "n_embd", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &c->dim, err) < 0 ||
		lm_cfg_int(cfg, "n_layer", LM_CFG_REQUIRED, 1, LM_MAX_LAYERS, &c->n_layers, err) < 0 ||
		lm_cfg_int(cfg, "n_head", LM_CFG_REQUIRED, 1, LM_MAX_HEADS, &c->n_heads, err) < 0 ||
		lm_cfg_int(cfg, "vocab_size", LM_CFG_REQUIRED, 1, LM_MAX_VOCAB, &c->vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "n_positions", 1024, 1, LM_MAX_POSITIONS, &c->max_positions, err) < 0 ||
		lm_cfg_int(cfg, "n_inner", 4 * c->dim, 1, 4 * LM_MAX_HIDDEN, &c->ffn_dim, err) < 0 ||
		lm_cfg_double(cfg, "layer_norm_epsilon", 1e-5, &eps, err) < 0 ||
		lm_cfg_string(cfg, "activation_function", "gelu_new", &act, err) < 0 ||
		lm_activation_from_name(act, &c->act, err) < 0 ||
		lm_cfg_bool(cfg, "scale_attn_weights", true, &c->scale_attn, err) < 0 ||
		lm_cfg_bool(cfg, "scale_attn_by_inverse_layer_idx", false, &c->scale_by_layer, err) < 0 ||
		lm_cfg_bool(cfg, "conv1d_out_in", false, &c->conv1d_out_in, err) < 0)
		return -1;
	if (c->dim % c->n_heads != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "n_embd %d is not a multiple of n_head %d",
					   c->dim, c->n_heads);
	c->head_dim = c->dim / c->n_heads;
	c->eps = (float) eps;
	return 0;
}

static int
read_weights(Gpt2 *g, LmError *err)
{
	Gpt2Config *c = &g->c;
	Gpt2Weights *w = &g->w;
	LmWeightStore *ws = &g->store;
	/* GPT2LMHeadModel nests the body in "transformer."; GPT2Model does not */
	const char *p = lm_weights_has(ws, "transformer.wte.weight") ? "transformer." : "";

	w->layers = lm_calloc(c->n_layers, sizeof(Gpt2Layer), err);
	if (w->layers == NULL)
		return -1;
	ws->conv1d_out_in = c->conv1d_out_in;
	if (!(w->wte = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "%swte.weight", p)) ||
		!(w->wpe = lm_weight_2d(ws, err, c->max_positions, c->dim, "%swpe.weight", p)) ||
		!(w->lnf_w = lm_weight_1d(ws, err, c->dim, "%sln_f.weight", p)) ||
		!(w->lnf_b = lm_weight_1d(ws, err, c->dim, "%sln_f.bias", p)))
		return -1;
	for (int l = 0; l < c->n_layers; l++)
	{
		Gpt2Layer  *L = &w->layers[l];

		if (!(L->ln1_w = lm_weight_1d(ws, err, c->dim, "%sh.%d.ln_1.weight", p, l)) ||
			!(L->ln1_b = lm_weight_1d(ws, err, c->dim, "%sh.%d.ln_1.bias", p, l)) ||
			!(L->attn_w = lm_weight_matrix_io(ws, err, c->dim, 3 * c->dim, "%sh.%d.attn.c_attn.weight", p, l)) ||
			!(L->attn_b = lm_weight_1d(ws, err, 3 * c->dim, "%sh.%d.attn.c_attn.bias", p, l)) ||
			!(L->proj_w = lm_weight_matrix_io(ws, err, c->dim, c->dim, "%sh.%d.attn.c_proj.weight", p, l)) ||
			!(L->proj_b = lm_weight_1d(ws, err, c->dim, "%sh.%d.attn.c_proj.bias", p, l)) ||
			!(L->ln2_w = lm_weight_1d(ws, err, c->dim, "%sh.%d.ln_2.weight", p, l)) ||
			!(L->ln2_b = lm_weight_1d(ws, err, c->dim, "%sh.%d.ln_2.bias", p, l)) ||
			!(L->fc_w = lm_weight_matrix_io(ws, err, c->dim, c->ffn_dim, "%sh.%d.mlp.c_fc.weight", p, l)) ||
			!(L->fc_b = lm_weight_1d(ws, err, c->ffn_dim, "%sh.%d.mlp.c_fc.bias", p, l)) ||
			!(L->fc_proj_w = lm_weight_matrix_io(ws, err, c->ffn_dim, c->dim, "%sh.%d.mlp.c_proj.weight", p, l)) ||
			!(L->fc_proj_b = lm_weight_1d(ws, err, c->dim, "%sh.%d.mlp.c_proj.bias", p, l)))
			return -1;
	}
	if (lm_weights_has(ws, "lm_head.weight"))
		w->head = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "lm_head.weight");
	else
		w->head = w->wte;
	return w->head ? 0 : -1;
}

static void
gpt2_free(void *impl)
{
	Gpt2	   *g = impl;

	if (g == NULL)
		return;
	free(g->w.layers);
	lm_weights_free(&g->store);
	free(g);
}

static void
gpt2_state_free(void *state)
{
	Gpt2State  *s = state;

	if (s == NULL)
		return;
	lm_kv_cache_free(&s->cache);
	free(s->scratch);
	free(s);
}

static void *
gpt2_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	const Gpt2Config *c = &((const Gpt2 *) impl)->c;
	Gpt2State  *s = lm_calloc(1, sizeof(Gpt2State), err);
	size_t		chunk = max_chunk;

	if (s == NULL)
		return NULL;
	s->capacity = capacity;
	s->max_chunk = max_chunk;

	LmScratchPart parts[] = {
		{&s->x, chunk * c->dim}, {&s->xb, chunk * c->dim}, {&s->qkv, chunk * 3 * c->dim},
		{&s->hb, chunk * c->ffn_dim}, {&s->att, chunk * capacity},
	};

	if (lm_kv_cache_init(&s->cache, c->n_layers, capacity, c->dim, err) < 0 ||
		!(s->scratch = lm_scratch_alloc(parts, LM_SCRATCH_PARTS(parts), err)))
	{
		gpt2_state_free(s);
		return NULL;
	}
	return s;
}

/* ----------------------------------------------------------------------------
 * The forward pass */

/* After attention wrote s->xb: its projection added to the residual, then the MLP block. */
static void
attention_out_and_mlp(const Gpt2Config *c, const Gpt2Layer *L, Gpt2State *s, int n)
{
	lm_matmul_io(s->x, s->xb, L->proj_w, L->proj_b, n, true);
	lm_layernorm(s->xb, s->x, L->ln2_w, L->ln2_b, n, c->dim, c->eps);
	lm_matmul_io(s->hb, s->xb, L->fc_w, L->fc_b, n, false);
	lm_activate(s->hb, (long) n * c->ffn_dim, c->act);
	lm_matmul_io(s->x, s->hb, L->fc_proj_w, L->fc_proj_b, n, true);
}

static int
gpt2_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
			 int n, int pos, float *hidden, LmError *err)
{
	const Gpt2 *g = impl;
	const Gpt2Config *c = &g->c;
	const Gpt2Weights *w = &g->w;
	Gpt2State  *s = state;
	int			dim = c->dim;
	LmAttention attn = {c->n_heads, c->n_heads, c->head_dim, 1.0f, true};

	/* token embedding + position embedding */
	for (int t = 0; t < n; t++)
	{
		float	   *x = s->x + (long) t * dim;

		lm_matrix_row(w->wte, ids[t], 0, dim, x);
		lm_add(x, w->wpe + (long) (pos + t) * dim, dim);
	}

	for (int l = 0; l < c->n_layers; l++)
	{
		const Gpt2Layer *L = &w->layers[l];

		if (lm_check_cancel(err) < 0)
			return -1;

		/* attention: q, k, v from one product; k, v go to the cache */
		lm_layernorm(s->xb, s->x, L->ln1_w, L->ln1_b, n, dim, c->eps);
		lm_matmul_io(s->qkv, s->xb, L->attn_w, L->attn_b, n, false);
		for (int t = 0; t < n; t++)
		{
			const float *row = s->qkv + (long) t * 3 * dim;

			memcpy(lm_kv_cache_k(&s->cache, l, pos + t), row + dim, dim * sizeof(float));
			memcpy(lm_kv_cache_v(&s->cache, l, pos + t), row + 2 * dim, dim * sizeof(float));
		}
		attn.scale = lm_gpt2_attention_scale(c, l);
		lm_attention(&attn, s->xb, dim, s->qkv, 3 * dim,
					 lm_kv_cache_k(&s->cache, l, 0), lm_kv_cache_v(&s->cache, l, 0), dim,
					 n, pos + n, pos, key_mask, s->att);
		attention_out_and_mlp(c, L, s, n);
	}

	lm_layernorm(hidden, s->x, w->lnf_w, w->lnf_b, n, dim, c->eps);
	return 0;
}

/*
 * n_seq independent sequences at once (several texts scored together):
 * each at positions 0 .. lengths[i]-1 and attending, causally, to itself
 * only; the products run over the rows of all of them.  The KV cache is
 * not used.
 */
static int
gpt2_forward_batch(const void *impl, void *state, const int32_t *ids, const uint8_t *key_masks,
				   const int *lengths, int n_seq, float *hidden, LmError *err)
{
	const Gpt2 *g = impl;
	const Gpt2Config *c = &g->c;
	const Gpt2Weights *w = &g->w;
	Gpt2State  *s = state;
	int			dim = c->dim;
	int			n = 0;
	LmAttention attn = {c->n_heads, c->n_heads, c->head_dim, 1.0f, true};

	for (int i = 0; i < n_seq; i++)
	{
		if (lengths[i] > s->capacity || lengths[i] > s->max_chunk)
			return lm_fail(err, LM_ERR_INTERNAL, "a sequence is longer than the GPT-2 state");
		n += lengths[i];
	}
	if (n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "too many tokens for the GPT-2 state");
	for (int i = 0, t = 0; i < n_seq; i++)
		for (int p = 0; p < lengths[i]; p++, t++)
		{
			float	   *x = s->x + (long) t * dim;

			lm_matrix_row(w->wte, ids[t], 0, dim, x);
			lm_add(x, w->wpe + (long) p * dim, dim);
		}
	for (int l = 0; l < c->n_layers; l++)
	{
		const Gpt2Layer *L = &w->layers[l];

		if (lm_check_cancel(err) < 0)
			return -1;
		lm_layernorm(s->xb, s->x, L->ln1_w, L->ln1_b, n, dim, c->eps);
		lm_matmul_io(s->qkv, s->xb, L->attn_w, L->attn_b, n, false);
		attn.scale = lm_gpt2_attention_scale(c, l);
		for (int i = 0, t0 = 0; i < n_seq; t0 += lengths[i], i++)
		{
			const float *qkv = s->qkv + (long) t0 * 3 * dim;

			lm_attention(&attn, s->xb + (long) t0 * dim, dim, qkv, 3 * dim, qkv + dim, qkv + 2 * dim,
						 3 * dim, lengths[i], lengths[i], 0, key_masks ? key_masks + t0 : NULL, s->att);
		}
		attention_out_and_mlp(c, L, s, n);
	}
	lm_layernorm(hidden, s->x, w->lnf_w, w->lnf_b, n, dim, c->eps);
	return 0;
}

/*
 * One more token for each of n sequences, each with its own state and
 * position: what gpt2_forward computes for one token, row by row, with the
 * products of all rows reading the weights once (lm_matmul_io_each gives
 * every row what a one-row product gives).
 */
static int
gpt2_forward_rows(const void *impl, void *const *states, const int32_t *ids, const int *pos,
				  int n, float *hidden, LmError *err)
{
	const Gpt2 *g = impl;
	const Gpt2Config *c = &g->c;
	const Gpt2Weights *w = &g->w;
	int			dim = c->dim;
	LmAttention attn = {c->n_heads, c->n_heads, c->head_dim, 1.0f, true};
	float	   *x = lm_malloc(sizeof(float) * (size_t) n * (2 * dim + 3 * dim + c->ffn_dim), err);
	float	   *xb,
			   *qkv,
			   *hb;

	if (x == NULL)
		return -1;
	xb = x + (size_t) n * dim;
	qkv = xb + (size_t) n * dim;
	hb = qkv + (size_t) n * 3 * dim;
	for (int t = 0; t < n; t++)
	{
		lm_matrix_row(w->wte, ids[t], 0, dim, x + (long) t * dim);
		lm_add(x + (long) t * dim, w->wpe + (long) pos[t] * dim, dim);
	}
	for (int l = 0; l < c->n_layers; l++)
	{
		const Gpt2Layer *L = &w->layers[l];

		if (lm_check_cancel(err) < 0)
		{
			free(x);
			return -1;
		}
		lm_layernorm(xb, x, L->ln1_w, L->ln1_b, n, dim, c->eps);
		lm_matmul_io_each(qkv, xb, L->attn_w, L->attn_b, n, false);
		attn.scale = lm_gpt2_attention_scale(c, l);
		for (int t = 0; t < n; t++)
		{
			Gpt2State  *s = states[t];
			const float *row = qkv + (long) t * 3 * dim;

			memcpy(lm_kv_cache_k(&s->cache, l, pos[t]), row + dim, dim * sizeof(float));
			memcpy(lm_kv_cache_v(&s->cache, l, pos[t]), row + 2 * dim, dim * sizeof(float));
			lm_attention(&attn, xb + (long) t * dim, dim, row, 3 * dim,
						 lm_kv_cache_k(&s->cache, l, 0), lm_kv_cache_v(&s->cache, l, 0), dim,
						 1, pos[t] + 1, pos[t], NULL, s->att);
		}
		lm_matmul_io_each(x, xb, L->proj_w, L->proj_b, n, true);
		lm_layernorm(xb, x, L->ln2_w, L->ln2_b, n, dim, c->eps);
		lm_matmul_io_each(hb, xb, L->fc_w, L->fc_b, n, false);
		/* row by row: the vector code covers a row as it does alone */
		for (int t = 0; t < n; t++)
			lm_activate(hb + (long) t * c->ffn_dim, c->ffn_dim, c->act);
		lm_matmul_io_each(x, hb, L->fc_proj_w, L->fc_proj_b, n, true);
	}
	lm_layernorm(hidden, x, w->lnf_w, w->lnf_b, n, dim, c->eps);
	free(x);
	return 0;
}

static int
gpt2_token_logits(const void *impl, void *state, const float *hidden, int n,
				  float *logits, LmError *err)
{
	const Gpt2 *g = impl;

	lm_matmul(logits, hidden, g->w.head, NULL, n, false);
	return 0;
}

static int
gpt2_token_logits_rows(const void *impl, void *state, const float *hidden, int n,
					   float *logits, LmError *err)
{
	const Gpt2 *g = impl;

	lm_matmul_each(logits, hidden, g->w.head, NULL, n, false);
	return 0;
}

static const LmArchOps gpt2_ops = {
	.free = gpt2_free,
	.state_new = gpt2_state_new,
	.state_free = gpt2_state_free,
	.forward = gpt2_forward,
	.forward_batch = gpt2_forward_batch,
	.forward_rows = gpt2_forward_rows,
	.token_logits = gpt2_token_logits,
	.token_logits_rows = gpt2_token_logits_rows,
	.classify = NULL,
	.to_device = lm_gpt2_to_device,
};

int
lm_gpt2_build(LmModel *model, const json_t *config, const LmTensorSet *tensors, LmError *err)
{
	Gpt2	   *g = lm_calloc(1, sizeof(Gpt2), err);

	if (g == NULL)
		return -1;
	lm_weights_init(&g->store, tensors);
	if (read_config(&g->c, config, err) < 0 || read_weights(g, err) < 0)
	{
		gpt2_free(g);
		return -1;
	}
	model->ops = &gpt2_ops;
	model->impl = g;
	model->info.causal = true;
	model->info.vocab_size = g->c.vocab_size;
	model->info.hidden_size = g->c.dim;
	model->info.n_layers = g->c.n_layers;
	model->info.max_positions = g->c.max_positions;
	model->info.n_params = g->store.n_params;
	return 0;
}
