/*
 * llama.c — Llama (LlamaForCausalLM): RMSNorm, grouped-query attention
 * with rotary positions, a SwiGLU MLP, a final RMSNorm and an output head
 * (lm_head.weight, or the token embedding when tied).  Linear layers are
 * torch.nn.Linear: [out][in], optionally with biases.
 */
#include "models/llama.h"
#include "models/config.h"
#include "nn/attention.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/rope.h"
#include "nn/scratch.h"
#include "nn/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------
 * The model: config, weights, state */

typedef struct LlamaState
{
	int			capacity;
	int			max_chunk;
	LmKVCache	cache;
	float	   *x;				/* [chunk][dim] residual stream */
	float	   *xb;				/* [chunk][dim] */
	float	   *q;				/* [chunk][n_heads·hd] */
	float	   *att_out;		/* [chunk][n_heads·hd] */
	float	   *hb;				/* [chunk][ffn] gate */
	float	   *hb2;			/* [chunk][ffn] up */
	float	   *att;			/* [chunk][capacity] */
	float	   *rope_cos;		/* [chunk][hd/2] */
	float	   *rope_sin;
	float	   *scratch;		/* the block the buffers above point into */
} LlamaState;

/* ----------------------------------------------------------------------------
 * Building */

/* Rotary settings: rope_parameters (transformers 5.x) or rope_theta + rope_scaling (4.x). */
static int
read_rope(LmRopeConfig *r, const json_t *cfg, LmError *err)
{
	const json_t *params = json_object_get(cfg, "rope_parameters");
	const json_t *scaling = json_object_get(cfg, "rope_scaling");
	const char *type = "default";
	const char *angles;

	memset(r, 0, sizeof(*r));
	if (lm_cfg_double(cfg, "rope_theta", 10000.0, &r->theta, err) < 0 ||
		lm_cfg_string(cfg, "rope_angles", "transformers", &angles, err) < 0)
		return -1;
	/* pg_lm's own key, set for GGUF models: see LmRopeConfig */
	r->llama_cpp_angles = strcmp(angles, "llama.cpp") == 0;
	if (json_is_object(params))
	{
		if (lm_cfg_double(params, "rope_theta", r->theta, &r->theta, err) < 0)
			return -1;
		scaling = params;
	}
	if (json_is_object(scaling))
	{
		if (lm_cfg_string(scaling, "rope_type", NULL, &type, err) < 0)
			return -1;
		if (type == NULL && lm_cfg_string(scaling, "type", "default", &type, err) < 0)
			return -1;
		if (lm_cfg_double(scaling, "factor", 1.0, &r->factor, err) < 0 ||
			lm_cfg_double(scaling, "low_freq_factor", 1.0, &r->low_freq_factor, err) < 0 ||
			lm_cfg_double(scaling, "high_freq_factor", 4.0, &r->high_freq_factor, err) < 0 ||
			lm_cfg_double(scaling, "original_max_position_embeddings", 8192.0,
						  &r->original_max_positions, err) < 0)
			return -1;
	}
	if (strcmp(type, "default") == 0)
		r->type = LM_ROPE_DEFAULT;
	else if (strcmp(type, "linear") == 0)
		r->type = LM_ROPE_LINEAR;
	else if (strcmp(type, "llama3") == 0)
	{
		r->type = LM_ROPE_LLAMA3;
		if (!(r->high_freq_factor > r->low_freq_factor))
			return lm_fail(err, LM_ERR_CORRUPT, "llama3 rope scaling needs high_freq_factor > low_freq_factor");
	}
	else
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "rope type \"%s\" is not supported", type);
		lm_hint(err, "Supported rope types: default, linear, llama3.");
		return -1;
	}
	return 0;
}

static int
read_config(LlamaConfig *c, const json_t *cfg, LmError *err)
{
	const char *act;
	double		eps;

	if (lm_cfg_int(cfg, "hidden_size", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &c->dim, err) < 0 ||
		lm_cfg_int(cfg, "num_hidden_layers", LM_CFG_REQUIRED, 1, LM_MAX_LAYERS, &c->n_layers, err) < 0 ||
		lm_cfg_int(cfg, "num_attention_heads", LM_CFG_REQUIRED, 1, LM_MAX_HEADS, &c->n_heads, err) < 0 ||
		lm_cfg_int(cfg, "num_key_value_heads", c->n_heads, 1, c->n_heads, &c->n_kv_heads, err) < 0 ||
		lm_cfg_int(cfg, "head_dim", c->dim / c->n_heads, 1, LM_MAX_HIDDEN, &c->head_dim, err) < 0 ||
		lm_cfg_int(cfg, "intermediate_size", LM_CFG_REQUIRED, 1, 16 * LM_MAX_HIDDEN, &c->ffn_dim, err) < 0 ||
		lm_cfg_int(cfg, "vocab_size", LM_CFG_REQUIRED, 1, LM_MAX_VOCAB, &c->vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "max_position_embeddings", 2048, 1, LM_MAX_POSITIONS, &c->max_positions, err) < 0 ||
		lm_cfg_double(cfg, "rms_norm_eps", 1e-6, &eps, err) < 0 ||
		lm_cfg_string(cfg, "hidden_act", "silu", &act, err) < 0 ||
		lm_activation_from_name(act, &c->act, err) < 0 ||
		lm_cfg_bool(cfg, "attention_bias", false, &c->attention_bias, err) < 0 ||
		lm_cfg_bool(cfg, "mlp_bias", false, &c->mlp_bias, err) < 0 ||
		lm_cfg_bool(cfg, "tie_word_embeddings", false, &c->tied, err) < 0 ||
		read_rope(&c->rope, cfg, err) < 0)
		return -1;
	/* Qwen2 is Llama with biases on the query, key and value projections; Qwen3 normalises q and k */
	{
		const char *model_type;
		bool		sliding;

		if (lm_cfg_string(cfg, "model_type", "llama", &model_type, err) < 0 ||
			lm_cfg_bool(cfg, "use_sliding_window", false, &sliding, err) < 0)
			return -1;
		c->qkv_bias = c->attention_bias || strcmp(model_type, "qwen2") == 0;
		c->qk_norm = strcmp(model_type, "qwen3") == 0;
		/*
		 * Sliding windows: Mistral's on every layer (sliding_window, null for
		 * none); Qwen2's where use_sliding_window says, from layer
		 * max_window_layers on, as transformers builds its layer_types.
		 */
		c->window = 0;
		c->window_from_layer = 0;
		if (strcmp(model_type, "mistral") == 0 || sliding)
		{
			if (lm_cfg_int(cfg, "sliding_window", 0, 0, LM_MAX_POSITIONS, &c->window, err) < 0)
				return -1;
			if (sliding && strcmp(model_type, "qwen2") != 0)
				return lm_fail(err, LM_ERR_UNSUPPORTED, "use_sliding_window is read for Qwen2 only, not for \"%s\"",
							   model_type);
			if (sliding && lm_cfg_int(cfg, "max_window_layers", 0, 0, LM_MAX_LAYERS, &c->window_from_layer,
									  err) < 0)
				return -1;
		}
	}
	if (c->n_heads % c->n_kv_heads != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "num_attention_heads %d is not a multiple of num_key_value_heads %d",
					   c->n_heads, c->n_kv_heads);
	if ((long) c->n_heads * c->head_dim > 4L * LM_MAX_HIDDEN)
		return lm_fail(err, LM_ERR_CORRUPT, "%d heads of %d dimensions are too wide",
					   c->n_heads, c->head_dim);
	c->eps = (float) eps;
	return 0;
}

static int
read_weights(Llama *m, LmError *err)
{
	LlamaConfig *c = &m->c;
	LlamaWeights *w = &m->w;
	LmWeightStore *ws = &m->store;
	int			q_dim = c->n_heads * c->head_dim;
	int			kv_dim = c->n_kv_heads * c->head_dim;
	const char *p = "model.";

	w->layers = lm_calloc(c->n_layers, sizeof(LlamaLayer), err);
	if (w->layers == NULL)
		return -1;
	if (!(w->embed = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "%sembed_tokens.weight", p)) ||
		!(w->norm = lm_weight_1d(ws, err, c->dim, "%snorm.weight", p)))
		return -1;
	for (int l = 0; l < c->n_layers; l++)
	{
		LlamaLayer *L = &w->layers[l];
		bool		ab = c->attention_bias; /* biases only when configured */
		bool		qb = c->qkv_bias;
		bool		mb = c->mlp_bias;

		if (!(L->attn_norm = lm_weight_1d(ws, err, c->dim, "%slayers.%d.input_layernorm.weight", p, l)) ||
			!(L->wq = lm_weight_matrix(ws, err, q_dim, c->dim, "%slayers.%d.self_attn.q_proj.weight", p, l)) ||
			!(L->wk = lm_weight_matrix(ws, err, kv_dim, c->dim, "%slayers.%d.self_attn.k_proj.weight", p, l)) ||
			!(L->wv = lm_weight_matrix(ws, err, kv_dim, c->dim, "%slayers.%d.self_attn.v_proj.weight", p, l)) ||
			!(L->wo = lm_weight_matrix(ws, err, c->dim, q_dim, "%slayers.%d.self_attn.o_proj.weight", p, l)) ||
			(qb && !(L->bq = lm_weight_1d(ws, err, q_dim, "%slayers.%d.self_attn.q_proj.bias", p, l))) ||
			(qb && !(L->bk = lm_weight_1d(ws, err, kv_dim, "%slayers.%d.self_attn.k_proj.bias", p, l))) ||
			(qb && !(L->bv = lm_weight_1d(ws, err, kv_dim, "%slayers.%d.self_attn.v_proj.bias", p, l))) ||
			(ab && !(L->bo = lm_weight_1d(ws, err, c->dim, "%slayers.%d.self_attn.o_proj.bias", p, l))) ||
			(c->qk_norm && !(L->q_norm = lm_weight_1d(ws, err, c->head_dim, "%slayers.%d.self_attn.q_norm.weight", p, l))) ||
			(c->qk_norm && !(L->k_norm = lm_weight_1d(ws, err, c->head_dim, "%slayers.%d.self_attn.k_norm.weight", p, l))) ||
			!(L->ffn_norm = lm_weight_1d(ws, err, c->dim, "%slayers.%d.post_attention_layernorm.weight", p, l)) ||
			!(L->w_gate = lm_weight_matrix(ws, err, c->ffn_dim, c->dim, "%slayers.%d.mlp.gate_proj.weight", p, l)) ||
			!(L->w_up = lm_weight_matrix(ws, err, c->ffn_dim, c->dim, "%slayers.%d.mlp.up_proj.weight", p, l)) ||
			!(L->w_down = lm_weight_matrix(ws, err, c->dim, c->ffn_dim, "%slayers.%d.mlp.down_proj.weight", p, l)) ||
			(mb && !(L->b_gate = lm_weight_1d(ws, err, c->ffn_dim, "%slayers.%d.mlp.gate_proj.bias", p, l))) ||
			(mb && !(L->b_up = lm_weight_1d(ws, err, c->ffn_dim, "%slayers.%d.mlp.up_proj.bias", p, l))) ||
			(mb && !(L->b_down = lm_weight_1d(ws, err, c->dim, "%slayers.%d.mlp.down_proj.bias", p, l))))
			return -1;
	}
	/* the checkpoint's lm_head wins; a tied model may omit it */
	if (lm_weights_has(ws, "lm_head.weight") || !c->tied)
		w->head = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "lm_head.weight");
	else
		w->head = w->embed;
	return w->head ? 0 : -1;
}

static void
llama_free(void *impl)
{
	Llama	   *m = impl;

	if (m == NULL)
		return;
	free(m->w.layers);
	lm_rope_free(&m->rope);
	lm_weights_free(&m->store);
	free(m);
}

static void
llama_state_free(void *state)
{
	LlamaState *s = state;

	if (s == NULL)
		return;
	lm_kv_cache_free(&s->cache);
	free(s->scratch);
	free(s);
}

static void *
llama_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	const LlamaConfig *c = &((const Llama *) impl)->c;
	LlamaState *s = lm_calloc(1, sizeof(LlamaState), err);
	size_t		chunk = max_chunk;
	size_t		q_dim = (size_t) c->n_heads * c->head_dim;

	if (s == NULL)
		return NULL;
	s->capacity = capacity;
	s->max_chunk = max_chunk;

	LmScratchPart parts[] = {
		{&s->x, chunk * c->dim}, {&s->xb, chunk * c->dim},
		{&s->q, chunk * q_dim}, {&s->att_out, chunk * q_dim},
		{&s->hb, chunk * c->ffn_dim}, {&s->hb2, chunk * c->ffn_dim},
		{&s->att, chunk * capacity},
		{&s->rope_cos, chunk * (c->head_dim / 2)}, {&s->rope_sin, chunk * (c->head_dim / 2)},
	};

	if (lm_kv_cache_init(&s->cache, c->n_layers, capacity, c->n_kv_heads * c->head_dim, err) < 0 ||
		!(s->scratch = lm_scratch_alloc(parts, LM_SCRATCH_PARTS(parts), err)))
	{
		llama_state_free(s);
		return NULL;
	}
	return s;
}

/* ----------------------------------------------------------------------------
 * The forward pass */

/*
 * After attention wrote s->att_out: its projection added to the residual,
 * then the SwiGLU MLP, down(act(gate(x)) · up(x)).
 */
static void
attention_out_and_mlp(const LlamaConfig *c, const LlamaLayer *L, LlamaState *s, int n)
{
	lm_matmul(s->x, s->att_out, L->wo, L->bo, n, true);
	lm_rmsnorm(s->xb, s->x, L->ffn_norm, n, c->dim, c->eps);
	lm_matmul(s->hb, s->xb, L->w_gate, L->b_gate, n, false);
	lm_matmul(s->hb2, s->xb, L->w_up, L->b_up, n, false);
	lm_gated(s->hb, s->hb2, (long) n * c->ffn_dim, c->act);
	lm_matmul(s->x, s->hb, L->w_down, L->b_down, n, true);
}

/* Qwen3: each head's q and k rows RMS-normalised (n positions), before RoPE. */
static void
qk_norms(const LlamaConfig *c, const LlamaLayer *L, float *q, float *k, int n)
{
	if (L->q_norm == NULL)
		return;
	lm_rmsnorm(q, q, L->q_norm, n * c->n_heads, c->head_dim, c->eps);
	lm_rmsnorm(k, k, L->k_norm, n * c->n_kv_heads, c->head_dim, c->eps);
}

static int
llama_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
			  int n, int pos, float *hidden, LmError *err)
{
	const Llama *m = impl;
	const LlamaConfig *c = &m->c;
	const LlamaWeights *w = &m->w;
	LlamaState *s = state;
	int			dim = c->dim;
	int			q_dim = c->n_heads * c->head_dim;
	int			kv_dim = c->n_kv_heads * c->head_dim;
	LmAttention attn = {c->n_heads, c->n_kv_heads, c->head_dim,
	1.0f / sqrtf((float) c->head_dim), true};

	for (int t = 0; t < n; t++)
		lm_matrix_row(w->embed, ids[t], 0, dim, s->x + (long) t * dim);
	lm_rope_tables(&m->rope, pos, n, s->rope_cos, s->rope_sin);

	for (int l = 0; l < c->n_layers; l++)
	{
		attn.window = l >= c->window_from_layer ? c->window : 0;
		const LlamaLayer *L = &w->layers[l];
		float	   *k = lm_kv_cache_k(&s->cache, l, pos);
		float	   *v = lm_kv_cache_v(&s->cache, l, pos);

		if (lm_check_cancel(err) < 0)
			return -1;

		/* attention: k and v are written straight into the cache */
		lm_rmsnorm(s->xb, s->x, L->attn_norm, n, dim, c->eps);
		lm_matmul_many((LmGemmOut[]) {{s->q, L->wq, L->bq}, {k, L->wk, L->bk}, {v, L->wv, L->bv}},
					   3, s->xb, n);
		qk_norms(c, L, s->q, k, n);
		lm_rope_apply(&m->rope, s->q, n, q_dim, c->n_heads, s->rope_cos, s->rope_sin);
		lm_rope_apply(&m->rope, k, n, kv_dim, c->n_kv_heads, s->rope_cos, s->rope_sin);
		lm_attention(&attn, s->att_out, q_dim, s->q, q_dim,
					 lm_kv_cache_k(&s->cache, l, 0), lm_kv_cache_v(&s->cache, l, 0), kv_dim,
					 n, pos + n, pos, key_mask, s->att);
		attention_out_and_mlp(c, L, s, n);
	}

	lm_rmsnorm(hidden, s->x, w->norm, n, dim, c->eps);
	return 0;
}

/*
 * n_seq independent sequences at once (several texts scored together):
 * each at positions 0 .. lengths[i]-1 and attending, causally, to itself
 * only; the products run over the rows of all of them.  Keys and values
 * stay in buffers of this call, not in the cache.
 */
static int
llama_forward_batch(const void *impl, void *state, const int32_t *ids, const uint8_t *key_masks,
					const int *lengths, int n_seq, float *hidden, LmError *err)
{
	const Llama *m = impl;
	const LlamaConfig *c = &m->c;
	const LlamaWeights *w = &m->w;
	LlamaState *s = state;
	int			dim = c->dim;
	int			q_dim = c->n_heads * c->head_dim;
	int			kv_dim = c->n_kv_heads * c->head_dim;
	LmAttention attn = {c->n_heads, c->n_kv_heads, c->head_dim,
	1.0f / sqrtf((float) c->head_dim), true};
	int			n = 0;
	float	   *k,
			   *v;

	for (int i = 0; i < n_seq; i++)
	{
		if (lengths[i] > s->capacity || lengths[i] > s->max_chunk)
			return lm_fail(err, LM_ERR_INTERNAL, "a sequence is longer than the Llama state");
		n += lengths[i];
	}
	if (n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "too many tokens for the Llama state");
	if ((k = lm_malloc_large(sizeof(float) * 2 * (size_t) n * kv_dim, err)) == NULL)
		return -1;
	v = k + (size_t) n * kv_dim;
	for (int t = 0; t < n; t++)
		lm_matrix_row(w->embed, ids[t], 0, dim, s->x + (long) t * dim);
	/* every sequence starts at position 0: the longest's table serves them all */
	for (int i = 0, longest = 0; i < n_seq; i++)
		if (lengths[i] > longest)
		{
			longest = lengths[i];
			lm_rope_tables(&m->rope, 0, longest, s->rope_cos, s->rope_sin);
		}
	for (int l = 0; l < c->n_layers; l++)
	{
		attn.window = l >= c->window_from_layer ? c->window : 0;
		const LlamaLayer *L = &w->layers[l];

		if (lm_check_cancel(err) < 0)
		{
			free(k);
			return -1;
		}
		lm_rmsnorm(s->xb, s->x, L->attn_norm, n, dim, c->eps);
		lm_matmul_many((LmGemmOut[]) {{s->q, L->wq, L->bq}, {k, L->wk, L->bk}, {v, L->wv, L->bv}},
					   3, s->xb, n);
		qk_norms(c, L, s->q, k, n);
		for (int i = 0, t0 = 0; i < n_seq; t0 += lengths[i], i++)
		{
			float	   *qi = s->q + (long) t0 * q_dim;
			float	   *ki = k + (long) t0 * kv_dim;

			lm_rope_apply(&m->rope, qi, lengths[i], q_dim, c->n_heads, s->rope_cos, s->rope_sin);
			lm_rope_apply(&m->rope, ki, lengths[i], kv_dim, c->n_kv_heads, s->rope_cos, s->rope_sin);
			lm_attention(&attn, s->att_out + (long) t0 * q_dim, q_dim, qi, q_dim, ki,
						 v + (long) t0 * kv_dim, kv_dim, lengths[i], lengths[i], 0,
						 key_masks ? key_masks + t0 : NULL, s->att);
		}
		attention_out_and_mlp(c, L, s, n);
	}
	lm_rmsnorm(hidden, s->x, w->norm, n, dim, c->eps);
	free(k);
	return 0;
}

/*
 * One more token for each of n sequences (states[t] at position pos[t]):
 * llama_forward for one token, row by row, the products of all rows reading
 * the weights once, each row exactly as alone.
 */
static int
llama_forward_rows(const void *impl, void *const *states, const int32_t *ids, const int *pos,
				   int n, float *hidden, LmError *err)
{
	const Llama *m = impl;
	const LlamaConfig *c = &m->c;
	const LlamaWeights *w = &m->w;
	int			dim = c->dim;
	int			q_dim = c->n_heads * c->head_dim;
	int			kv_dim = c->n_kv_heads * c->head_dim;
	LmAttention attn = {c->n_heads, c->n_kv_heads, c->head_dim,
	1.0f / sqrtf((float) c->head_dim), true};
	size_t		per_row = 2 * dim + 2 * q_dim + 2 * kv_dim + 2 * c->ffn_dim + c->head_dim;
	float	   *x = lm_malloc(sizeof(float) * (size_t) n * per_row, err);
	float	   *xb,
			   *q,
			   *att_out,
			   *k,
			   *v,
			   *hb,
			   *hb2,
			   *rope;

	if (x == NULL)
		return -1;
	xb = x + (size_t) n * dim;
	q = xb + (size_t) n * dim;
	att_out = q + (size_t) n * q_dim;
	k = att_out + (size_t) n * q_dim;
	v = k + (size_t) n * kv_dim;
	hb = v + (size_t) n * kv_dim;
	hb2 = hb + (size_t) n * c->ffn_dim;
	rope = hb2 + (size_t) n * c->ffn_dim;	/* cos, sin: head_dim / 2 each */
	for (int t = 0; t < n; t++)
		lm_matrix_row(w->embed, ids[t], 0, dim, x + (long) t * dim);
	for (int l = 0; l < c->n_layers; l++)
	{
		attn.window = l >= c->window_from_layer ? c->window : 0;
		const LlamaLayer *L = &w->layers[l];

		if (lm_check_cancel(err) < 0)
		{
			free(x);
			return -1;
		}
		lm_rmsnorm(xb, x, L->attn_norm, n, dim, c->eps);
		lm_matmul_each(q, xb, L->wq, L->bq, n, false);
		lm_matmul_each(k, xb, L->wk, L->bk, n, false);
		lm_matmul_each(v, xb, L->wv, L->bv, n, false);
		qk_norms(c, L, q, k, n);
		for (int t = 0; t < n; t++)
		{
			LlamaState *s = states[t];
			float	   *kc = lm_kv_cache_k(&s->cache, l, pos[t]);
			float	   *vc = lm_kv_cache_v(&s->cache, l, pos[t]);

			lm_rope_tables(&m->rope, pos[t], 1, rope, rope + c->head_dim / 2);
			lm_rope_apply(&m->rope, q + (long) t * q_dim, 1, q_dim, c->n_heads, rope,
						  rope + c->head_dim / 2);
			memcpy(kc, k + (long) t * kv_dim, sizeof(float) * kv_dim);
			memcpy(vc, v + (long) t * kv_dim, sizeof(float) * kv_dim);
			lm_rope_apply(&m->rope, kc, 1, kv_dim, c->n_kv_heads, rope, rope + c->head_dim / 2);
			lm_attention(&attn, att_out + (long) t * q_dim, q_dim, q + (long) t * q_dim, q_dim,
						 lm_kv_cache_k(&s->cache, l, 0), lm_kv_cache_v(&s->cache, l, 0), kv_dim,
						 1, pos[t] + 1, pos[t], NULL, s->att);
		}
		lm_matmul_each(x, att_out, L->wo, L->bo, n, true);
		lm_rmsnorm(xb, x, L->ffn_norm, n, dim, c->eps);
		lm_matmul_each(hb, xb, L->w_gate, L->b_gate, n, false);
		lm_matmul_each(hb2, xb, L->w_up, L->b_up, n, false);
		/* row by row: the vector code covers a row as it does alone */
		for (int t = 0; t < n; t++)
			lm_gated(hb + (long) t * c->ffn_dim, hb2 + (long) t * c->ffn_dim, c->ffn_dim, c->act);
		lm_matmul_each(x, hb, L->w_down, L->b_down, n, true);
	}
	lm_rmsnorm(hidden, x, w->norm, n, dim, c->eps);
	free(x);
	return 0;
}

static int
llama_token_logits(const void *impl, void *state, const float *hidden, int n,
				   float *logits, LmError *err)
{
	const Llama *m = impl;

	lm_matmul(logits, hidden, m->w.head, NULL, n, false);
	return 0;
}

static int
llama_token_logits_rows(const void *impl, void *state, const float *hidden, int n,
						float *logits, LmError *err)
{
	const Llama *m = impl;

	lm_matmul_each(logits, hidden, m->w.head, NULL, n, false);
	return 0;
}

static const LmArchOps llama_ops = {
	.free = llama_free,
	.state_new = llama_state_new,
	.state_free = llama_state_free,
	.forward = llama_forward,
	.forward_batch = llama_forward_batch,
	.forward_rows = llama_forward_rows,
	.token_logits = llama_token_logits,
	.token_logits_rows = llama_token_logits_rows,
	.classify = NULL,
	.to_device = lm_llama_to_device,
};

/* Llama 3.1's rope frequency factors when the weights carry them (GGUF's rope_freqs.weight). */
static int
rope_factors(Llama *m, LmError *err)
{
	if (!lm_weights_has(&m->store, "rope_freqs.weight"))
		return 0;
	if (m->c.rope.type != LM_ROPE_DEFAULT)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "rope frequency factors together with rope scaling are not supported");
	m->c.rope.freq_factors = lm_weight_1d(&m->store, err, m->c.head_dim / 2, "rope_freqs.weight");
	return m->c.rope.freq_factors != NULL ? 0 : -1;
}

int
lm_llama_build(LmModel *model, const json_t *config, const LmTensorSet *tensors, LmError *err)
{
	Llama	   *m = lm_calloc(1, sizeof(Llama), err);

	if (m == NULL)
		return -1;
	lm_weights_init(&m->store, tensors);
	if (read_config(&m->c, config, err) < 0 ||
		rope_factors(m, err) < 0 ||
		lm_rope_init(&m->rope, m->c.head_dim, &m->c.rope, err) < 0 ||
		read_weights(m, err) < 0)
	{
		llama_free(m);
		return -1;
	}
	model->ops = &llama_ops;
	model->impl = m;
	model->info.causal = true;
	model->info.vocab_size = m->c.vocab_size;
	model->info.hidden_size = m->c.dim;
	model->info.n_layers = m->c.n_layers;
	model->info.max_positions = m->c.max_positions;
	model->info.n_params = m->store.n_params;
	return 0;
}
