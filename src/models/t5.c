/*
 * t5.c — T5ForConditionalGeneration (T5, Flan-T5): an encoder-decoder with
 * RMS-style layer norms (T5LayerNorm: no mean, no bias), pre-norm blocks,
 * unscaled attention scores plus a learned relative position bias (a bucket
 * table in the first layer of each stack, shared by the later layers;
 * bidirectional buckets in the encoder, causal in the decoder), and a ReLU
 * or gated-GELU feed-forward.  The head is lm_head.weight, or the shared
 * embedding when tied; decoder outputs are scaled by d_model^-0.5 first
 * when scale_decoder_outputs (transformers 5.x) or, without that key,
 * tie_word_embeddings (4.x) says so.
 */
#include "models/arch.h"
#include "models/config.h"
#include "nn/attention.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/scratch.h"
#include "nn/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* T5 has no position table; inputs are capped at n_positions, default 512. */
#define T5_DEFAULT_POSITIONS 512

/* ----------------------------------------------------------------------------
 * The model: config, weights, state */

typedef struct T5Config
{
	int			dim;			/* d_model */
	int			inner;			/* num_heads · d_kv */
	int			n_heads;
	int			d_kv;
	int			ffn;			/* d_ff */
	int			enc_layers;
	int			dec_layers;
	int			vocab_size;
	int			max_positions;
	int			num_buckets;	/* relative_attention_num_buckets */
	int			max_distance;	/* relative_attention_max_distance */
	float		eps;
	LmActivation act;
	bool		gated;			/* feed_forward_proj "gated-*" */
	bool		tied;
	bool		scale_output;	/* decoder output · d_model^-0.5 before the head */
} T5Config;

typedef struct T5Attn
{
	const LmMatrix *wq,
			   *wk,
			   *wv;				/* [inner][dim] */
	const LmMatrix *wo;			/* [dim][inner] */
} T5Attn;

typedef struct T5Layer
{
	T5Attn		self;
	const float *self_ln;
	T5Attn		cross;			/* decoder only */
	const float *cross_ln;
	const LmMatrix *wi,
			   *wi_1,			/* [ffn][dim]; wi_1 only when gated */
			   *wo;				/* [dim][ffn] */
	const float *ffn_ln;
} T5Layer;

typedef struct T5
{
	T5Config	c;
	const LmMatrix *embed;		/* shared [vocab][dim] */
	const LmMatrix *head;		/* [vocab][dim] */
	const float *enc_rel_bias;	/* [num_buckets][n_heads] */
	const float *dec_rel_bias;
	T5Layer    *enc;
	T5Layer    *dec;
	const float *enc_final_ln;
	const float *dec_final_ln;
	LmWeightStore store;
} T5;

typedef struct T5State
{
	int			max_chunk;
	int			max_keys;
	LmKVCache	cache;			/* decoder self-attention */
	float	   *x,
			   *xb;				/* [chunk][dim] */
	float	   *q,
			   *k,
			   *v,
			   *att_out;		/* [chunk][inner] */
	float	   *hb,
			   *hb2;			/* [chunk][ffn] */
	float	   *att;			/* [chunk][max_keys] */
	float	   *bias;			/* [n_heads][chunk][max_keys] position bias */
	float	   *scratch;		/* the block the buffers above point into */
} T5State;

/* ----------------------------------------------------------------------------
 * Building */

/*
 * feed_forward_proj is "ACT" or "gated-ACT"; transformers runs "gated-gelu"
 * with gelu_new.
 */
static int
read_feed_forward(T5Config *c, const char *proj, LmError *err)
{
	const char *dash = strchr(proj, '-');
	const char *act = dash ? dash + 1 : proj;

	c->gated = dash != NULL;
	if (dash && (strncmp(proj, "gated-", 6) != 0 || strchr(act, '-') != NULL))
	{
		lm_fail(err, LM_ERR_CORRUPT, "feed_forward_proj \"%s\" is not ACT or gated-ACT", proj);
		return -1;
	}
	if (strcmp(proj, "gated-gelu") == 0)
		act = "gelu_new";
	return lm_activation_from_name(act, &c->act, err);
}

static int
read_config(T5Config *c, const json_t *cfg, LmError *err)
{
	const char *proj;
	double		eps;

	if (lm_cfg_int(cfg, "d_model", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &c->dim, err) < 0 ||
		lm_cfg_int(cfg, "d_kv", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &c->d_kv, err) < 0 ||
		lm_cfg_int(cfg, "d_ff", LM_CFG_REQUIRED, 1, 16 * LM_MAX_HIDDEN, &c->ffn, err) < 0 ||
		lm_cfg_int(cfg, "num_heads", LM_CFG_REQUIRED, 1, LM_MAX_HEADS, &c->n_heads, err) < 0 ||
		lm_cfg_int(cfg, "num_layers", LM_CFG_REQUIRED, 1, LM_MAX_LAYERS, &c->enc_layers, err) < 0 ||
		lm_cfg_int(cfg, "num_decoder_layers", c->enc_layers, 1, LM_MAX_LAYERS, &c->dec_layers, err) < 0 ||
		lm_cfg_int(cfg, "vocab_size", LM_CFG_REQUIRED, 1, LM_MAX_VOCAB, &c->vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "n_positions", T5_DEFAULT_POSITIONS, 1, LM_MAX_POSITIONS, &c->max_positions, err) < 0 ||
		lm_cfg_int(cfg, "relative_attention_num_buckets", 32, 2, 1 << 16, &c->num_buckets, err) < 0 ||
		lm_cfg_int(cfg, "relative_attention_max_distance", 128, 2, LM_MAX_POSITIONS, &c->max_distance, err) < 0 ||
		lm_cfg_double(cfg, "layer_norm_epsilon", 1e-6, &eps, err) < 0 ||
		lm_cfg_string(cfg, "feed_forward_proj", "relu", &proj, err) < 0 ||
		read_feed_forward(c, proj, err) < 0 ||
		lm_cfg_bool(cfg, "tie_word_embeddings", true, &c->tied, err) < 0 ||
		lm_cfg_bool(cfg, "scale_decoder_outputs", c->tied, &c->scale_output, err) < 0)
		return -1;
	if ((long) c->n_heads * c->d_kv > 4L * LM_MAX_HIDDEN)
		return lm_fail(err, LM_ERR_CORRUPT, "%d heads of %d dimensions are too wide",
					   c->n_heads, c->d_kv);
	/* the bucket formula needs max_exact = num_buckets / 4 >= 1 and a distance past it */
	if (c->num_buckets < 4 || c->max_distance <= c->num_buckets / 4)
		return lm_fail(err, LM_ERR_CORRUPT, "relative attention buckets %d / max distance %d are unusable",
					   c->num_buckets, c->max_distance);
	c->inner = c->n_heads * c->d_kv;
	c->eps = (float) eps;
	return 0;
}

static int
read_attn(LmWeightStore *ws, T5Attn *a, const T5Config *c, const char *stack, int l,
		  int sub, const char *name, LmError *err)
{
	const char *f = "%s.block.%d.layer.%d.%s.%s.weight";

	if (!(a->wq = lm_weight_matrix(ws, err, c->inner, c->dim, f, stack, l, sub, name, "q")) ||
		!(a->wk = lm_weight_matrix(ws, err, c->inner, c->dim, f, stack, l, sub, name, "k")) ||
		!(a->wv = lm_weight_matrix(ws, err, c->inner, c->dim, f, stack, l, sub, name, "v")) ||
		!(a->wo = lm_weight_matrix(ws, err, c->dim, c->inner, f, stack, l, sub, name, "o")))
		return -1;
	return 0;
}

/* Layer `l` of a stack: 0 self-attention, [1 cross-attention,] then the FFN. */
static int
read_layer(LmWeightStore *ws, T5Layer *L, const T5Config *c, const char *stack, int l,
		   bool decoder, LmError *err)
{
	int			ff = decoder ? 2 : 1;
	const char *ln = "%s.block.%d.layer.%d.layer_norm.weight";
	const char *dense = "%s.block.%d.layer.%d.DenseReluDense.%s.weight";

	if (read_attn(ws, &L->self, c, stack, l, 0, "SelfAttention", err) < 0 ||
		!(L->self_ln = lm_weight_1d(ws, err, c->dim, ln, stack, l, 0)))
		return -1;
	if (decoder &&
		(read_attn(ws, &L->cross, c, stack, l, 1, "EncDecAttention", err) < 0 ||
		 !(L->cross_ln = lm_weight_1d(ws, err, c->dim, ln, stack, l, 1))))
		return -1;
	if (c->gated)
	{
		if (!(L->wi = lm_weight_matrix(ws, err, c->ffn, c->dim, dense, stack, l, ff, "wi_0")) ||
			!(L->wi_1 = lm_weight_matrix(ws, err, c->ffn, c->dim, dense, stack, l, ff, "wi_1")))
			return -1;
	}
	else if (!(L->wi = lm_weight_matrix(ws, err, c->ffn, c->dim, dense, stack, l, ff, "wi")))
		return -1;
	if (!(L->wo = lm_weight_matrix(ws, err, c->dim, c->ffn, dense, stack, l, ff, "wo")) ||
		!(L->ffn_ln = lm_weight_1d(ws, err, c->dim, ln, stack, l, ff)))
		return -1;
	return 0;
}

static int
read_weights(T5 *m, LmError *err)
{
	const T5Config *c = &m->c;
	LmWeightStore *ws = &m->store;
	const char *bias = "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight";

	m->enc = lm_calloc(c->enc_layers, sizeof(T5Layer), err);
	m->dec = m->enc ? lm_calloc(c->dec_layers, sizeof(T5Layer), err) : NULL;
	if (m->dec == NULL)
		return -1;
	if (lm_weights_has(ws, "shared.weight"))
		m->embed = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "shared.weight");
	else
		m->embed = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "encoder.embed_tokens.weight");
	if (m->embed == NULL ||
		!(m->enc_rel_bias = lm_weight_2d(ws, err, c->num_buckets, c->n_heads, bias, "encoder")) ||
		!(m->dec_rel_bias = lm_weight_2d(ws, err, c->num_buckets, c->n_heads, bias, "decoder")))
		return -1;
	for (int l = 0; l < c->enc_layers; l++)
		if (read_layer(ws, &m->enc[l], c, "encoder", l, false, err) < 0)
			return -1;
	for (int l = 0; l < c->dec_layers; l++)
		if (read_layer(ws, &m->dec[l], c, "decoder", l, true, err) < 0)
			return -1;
	if (!(m->enc_final_ln = lm_weight_1d(ws, err, c->dim, "encoder.final_layer_norm.weight")) ||
		!(m->dec_final_ln = lm_weight_1d(ws, err, c->dim, "decoder.final_layer_norm.weight")))
		return -1;
	/* the checkpoint's lm_head wins; a tied model may omit it */
	if (lm_weights_has(ws, "lm_head.weight") || !c->tied)
		m->head = lm_weight_matrix(ws, err, c->vocab_size, c->dim, "lm_head.weight");
	else
		m->head = m->embed;
	return m->head ? 0 : -1;
}

static void
t5_free(void *impl)
{
	T5		   *m = impl;

	if (m == NULL)
		return;
	free(m->enc);
	free(m->dec);
	lm_weights_free(&m->store);
	free(m);
}

static void
t5_state_free(void *state)
{
	T5State    *s = state;

	if (s == NULL)
		return;
	lm_kv_cache_free(&s->cache);
	free(s->scratch);
	free(s);
}

/* A state for max_chunk tokens; capacity > 0 adds a decoder cache. */
static T5State *
state_new(const T5 *m, int capacity, int max_chunk, int max_keys, LmError *err)
{
	const T5Config *c = &m->c;
	T5State    *s = lm_calloc(1, sizeof(T5State), err);
	size_t		rows = max_chunk;
	size_t		row = c->dim;
	size_t		inner = c->inner;
	bool		encoder = capacity == 0;

	if (s == NULL)
		return NULL;
	s->max_chunk = max_chunk;
	s->max_keys = max_keys;

	/* hb2 (NULL, 0 floats) only for gated feed-forwards */
	LmScratchPart parts[] = {
		{&s->x, rows * row}, {&s->xb, rows * row},
		{&s->q, rows * inner}, {&s->k, rows * inner}, {&s->v, rows * inner},
		{&s->att_out, rows * inner},
		{&s->hb, rows * c->ffn}, {&s->hb2, c->gated ? rows * c->ffn : 0},
		{&s->att, rows * max_keys}, {&s->bias, (size_t) c->n_heads * rows * max_keys},
	};

	if ((!encoder && lm_kv_cache_init(&s->cache, c->dec_layers, capacity, c->inner, err) < 0) ||
		!(s->scratch = lm_scratch_alloc(parts, LM_SCRATCH_PARTS(parts), err)))
	{
		t5_state_free(s);
		return NULL;
	}
	return s;
}

static void *
t5_encoder_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	return state_new(impl, 0, max_chunk, max_chunk, err);
}

static void *
t5_decoder_state_new(const void *impl, int capacity, int max_chunk, int n_src, LmError *err)
{
	if (capacity < 1)
		capacity = 1;
	return state_new(impl, capacity, max_chunk, capacity > n_src ? capacity : n_src, err);
}

static void
t5_decoder_state_copy(void *dst, const void *src, int n)
{
	lm_kv_cache_copy(&((T5State *) dst)->cache, &((const T5State *) src)->cache, n);
}

/* ----------------------------------------------------------------------------
 * Relative position bias */

/*
 * T5's bucket of a key at relative position rel = key - query: exact for
 * small distances, logarithmic up to max_distance, with separate halves for
 * the two directions when bidirectional; the causal decoder only looks
 * back.  The logarithm is float32, as transformers computes it.
 */
static int
relative_bucket(int rel, bool bidirectional, int num_buckets, int max_distance)
{
	int			bucket = 0;
	int			n = num_buckets;
	int			max_exact;
	int			large;

	if (bidirectional)
	{
		n /= 2;
		if (rel > 0)
			bucket += n;
		rel = abs(rel);
	}
	else
		rel = rel < 0 ? -rel : 0;
	max_exact = n / 2;
	if (rel < max_exact)
		return bucket + rel;
	large = max_exact + (int) (logf((float) rel / (float) max_exact) /
							   (float) log((double) max_distance / max_exact) *
							   (float) (n - max_exact));
	return bucket + (large < n - 1 ? large : n - 1);
}

/*
 * bias[h][i][j] for queries at positions pos .. pos+n-1 and keys
 * 0 .. n_keys-1, from table[bucket][n_heads].
 */
static void
position_bias(const T5Config *c, const float *table, bool bidirectional, int n, int pos,
			  int n_keys, float *bias)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n_keys; j++)
		{
			int			bucket = relative_bucket(j - (pos + i), bidirectional,
												 c->num_buckets, c->max_distance);

			for (int h = 0; h < c->n_heads; h++)
				bias[((long) h * n + i) * n_keys + j] = table[(long) bucket * c->n_heads + h];
		}
}

/* ----------------------------------------------------------------------------
 * The forward passes */

/* x += wo(act(wi · LN(x))), or wo(act(wi_0 · LN(x)) ⊙ wi_1 · LN(x)) when gated. */
static void
feed_forward(const T5 *m, T5State *s, const T5Layer *L, int n)
{
	const T5Config *c = &m->c;

	lm_rmsnorm(s->xb, s->x, L->ffn_ln, n, c->dim, c->eps);
	lm_matmul(s->hb, s->xb, L->wi, NULL, n, false);
	if (c->gated)
	{
		lm_matmul(s->hb2, s->xb, L->wi_1, NULL, n, false);
		lm_gated(s->hb, s->hb2, (long) n * c->ffn, c->act);
	}
	else
		lm_activate(s->hb, (long) n * c->ffn, c->act);
	lm_matmul(s->x, s->hb, L->wo, NULL, n, true);
}

/* The encoder: n source ids → hidden[n][dim] after the final norm. */
static int
t5_encoder_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
				   int n, int pos, float *hidden, LmError *err)
{
	const T5   *m = impl;
	const T5Config *c = &m->c;
	T5State    *s = state;
	int			d = c->dim;
	LmAttention attn = {c->n_heads, c->n_heads, c->d_kv, 1.0f, false};

	if (pos != 0 || n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "the encoder runs whole inputs only");
	for (int t = 0; t < n; t++)
		lm_matrix_row(m->embed, ids[t], 0, d, s->x + (long) t * d);
	position_bias(c, m->enc_rel_bias, true, n, 0, n, s->bias);

	for (int l = 0; l < c->enc_layers; l++)
	{
		const T5Layer *L = &m->enc[l];

		if (lm_check_cancel(err) < 0)
			return -1;
		lm_rmsnorm(s->xb, s->x, L->self_ln, n, d, c->eps);
		lm_matmul(s->q, s->xb, L->self.wq, NULL, n, false);
		lm_matmul(s->k, s->xb, L->self.wk, NULL, n, false);
		lm_matmul(s->v, s->xb, L->self.wv, NULL, n, false);
		lm_attention_biased(&attn, s->att_out, c->inner, s->q, c->inner, s->k, s->v, c->inner,
							n, n, 0, key_mask, s->bias, s->att);
		lm_matmul(s->x, s->att_out, L->self.wo, NULL, n, true);
		feed_forward(m, s, L, n);
	}
	lm_rmsnorm(hidden, s->x, m->enc_final_ln, n, d, c->eps);
	return 0;
}

/* Cross-attention keys and values: [dec_layers][n_src][inner] each. */
static void *
t5_cross_new(const void *impl, const float *enc_hidden, int n_src, LmError *err)
{
	const T5   *m = impl;
	const T5Config *c = &m->c;
	LmKVCache  *cross = lm_kv_cache_new(c->dec_layers, n_src, c->inner, err);

	if (cross == NULL)
		return NULL;
	for (int l = 0; l < c->dec_layers; l++)
	{
		lm_matmul(lm_kv_cache_k(cross, l, 0), enc_hidden, m->dec[l].cross.wk, NULL, n_src, false);
		lm_matmul(lm_kv_cache_v(cross, l, 0), enc_hidden, m->dec[l].cross.wv, NULL, n_src, false);
	}
	return cross;
}

/*
 * The decoder: n ids at pos .. pos+n-1 for each state → hidden[n_states · n][dim],
 * scaled for the head.  The states' rows share the projections, the FFN
 * and the position bias (same positions); self-attention reads each
 * state's own cache.
 */
static int
t5_decoder_forward(const void *impl, void *const *states, int n_states, const void *cross_kv,
				   const int32_t *ids, int n, int pos, float *hidden, LmError *err)
{
	const T5   *m = impl;
	const T5Config *c = &m->c;
	T5State    *s = states[0];
	const LmKVCache *cross = cross_kv;
	int			d = c->dim;
	int			inner = c->inner;
	int			rows = n_states * n;
	LmAttention self_attn = {c->n_heads, c->n_heads, c->d_kv, 1.0f, true};
	LmAttention cross_attn = {c->n_heads, c->n_heads, c->d_kv, 1.0f, false};

	if (rows > s->max_chunk || cross->capacity > s->max_keys)
		return lm_fail(err, LM_ERR_INTERNAL, "%d decoder rows do not fit the scratch", rows);
	for (int i = 0; i < n_states; i++)
		if (pos + n > ((T5State *) states[i])->cache.capacity)
			return lm_fail(err, LM_ERR_INTERNAL, "decoder chunk of %d tokens at %d overflows the cache",
						   n, pos);
	for (int t = 0; t < rows; t++)
		lm_matrix_row(m->embed, ids[t], 0, d, s->x + (long) t * d);
	position_bias(c, m->dec_rel_bias, false, n, pos, pos + n, s->bias);

	for (int l = 0; l < c->dec_layers; l++)
	{
		const T5Layer *L = &m->dec[l];

		if (lm_check_cancel(err) < 0)
			return -1;

		/* causal self-attention with the position bias, each state over its own cache */
		lm_rmsnorm(s->xb, s->x, L->self_ln, rows, d, c->eps);
		lm_matmul(s->q, s->xb, L->self.wq, NULL, rows, false);
		lm_matmul(s->k, s->xb, L->self.wk, NULL, rows, false);
		lm_matmul(s->v, s->xb, L->self.wv, NULL, rows, false);
		for (int i = 0; i < n_states; i++)
		{
			LmKVCache  *cache = &((T5State *) states[i])->cache;
			size_t		off = (size_t) i * n * inner;

			memcpy(lm_kv_cache_k(cache, l, pos), s->k + off, (size_t) n * inner * sizeof(float));
			memcpy(lm_kv_cache_v(cache, l, pos), s->v + off, (size_t) n * inner * sizeof(float));
			lm_attention_biased(&self_attn, s->att_out + off, inner, s->q + off, inner,
								lm_kv_cache_k(cache, l, 0), lm_kv_cache_v(cache, l, 0), inner,
								n, pos + n, pos, NULL, s->bias, s->att);
		}
		lm_matmul(s->x, s->att_out, L->self.wo, NULL, rows, true);

		/* cross-attention, without position bias, all rows at once */
		lm_rmsnorm(s->xb, s->x, L->cross_ln, rows, d, c->eps);
		lm_matmul(s->q, s->xb, L->cross.wq, NULL, rows, false);
		lm_attention(&cross_attn, s->att_out, inner, s->q, inner,
					 lm_kv_cache_k(cross, l, 0), lm_kv_cache_v(cross, l, 0), inner,
					 rows, cross->capacity, 0, NULL, s->att);
		lm_matmul(s->x, s->att_out, L->cross.wo, NULL, rows, true);

		feed_forward(m, s, L, rows);
	}
	lm_rmsnorm(hidden, s->x, m->dec_final_ln, rows, d, c->eps);
	if (c->scale_output)
	{
		float		scale = 1.0f / sqrtf((float) d);

		for (long i = 0; i < (long) rows * d; i++)
			hidden[i] *= scale;
	}
	return 0;
}

static int
t5_logits(const void *impl, const float *hidden, int n, float *logits, LmError *err)
{
	const T5   *m = impl;

	lm_matmul(logits, hidden, m->head, NULL, n, false);
	return 0;
}

static const LmArchOps t5_encoder_ops = {
	.free = t5_free,
	.state_new = t5_encoder_state_new,
	.state_free = t5_state_free,
	.forward = t5_encoder_forward,
	.token_logits = NULL,
	.classify = NULL,
};

static const LmSeq2SeqOps t5_decoder_ops = {
	.cross_new = t5_cross_new,
	.cross_free = lm_kv_cache_delete,
	.dec_state_new = t5_decoder_state_new,
	.dec_state_free = t5_state_free,
	.dec_state_copy = t5_decoder_state_copy,
	.dec_forward = t5_decoder_forward,
	.dec_logits = t5_logits,
};

int
lm_t5_build(LmModel *model, const json_t *config, const LmTensorSet *tensors, LmError *err)
{
	T5		   *m = lm_calloc(1, sizeof(T5), err);

	if (m == NULL)
		return -1;
	lm_weights_init(&m->store, tensors);
	if (read_config(&m->c, config, err) < 0 || read_weights(m, err) < 0)
	{
		t5_free(m);
		return -1;
	}
	model->ops = &t5_encoder_ops;
	model->seq2seq = &t5_decoder_ops;
	model->impl = m;
	model->info.causal = false;
	model->info.encoder_decoder = true;
	model->info.vocab_size = m->c.vocab_size;
	model->info.target_vocab_size = m->c.vocab_size;
	model->info.hidden_size = m->c.dim;
	model->info.n_layers = m->c.enc_layers;
	model->info.n_decoder_layers = m->c.dec_layers;
	model->info.max_positions = m->c.max_positions;
	model->info.max_target_positions = m->c.max_positions;
	model->info.n_params = m->store.n_params;
	return 0;
}
