/*
 * llama_device.c — Llama on a device (device/device.h): llama.c's forward
 * pass with the weights and the KV cache in the device's memory.  The
 * rotary tables are computed on the host, in double precision as llama.c
 * does, and travel with each rope call.
 */
#include "models/device_model.h"
#include "models/llama.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct LlamaDevLayer
{
	float	   *attn_norm,
			   *wq,
			   *wk,
			   *wv,
			   *wo,
			   *bq,
			   *bk,
			   *bv,
			   *bo,
			   *ffn_norm,
			   *w_gate,
			   *w_up,
			   *w_down,
			   *b_gate,
			   *b_up,
			   *b_down;
} LlamaDevLayer;

typedef struct LlamaDev
{
	LmDeviceModel dm;
	const Llama *host;
	float	   *embed,
			   *norm,
			   *head;
	LlamaDevLayer *layers;
} LlamaDev;

/* States are the sequences' KV caches, LmDeviceCache (device_model.h). */

/* ----------------------------------------------------------------------------
 * Moving the weights */

static int
put_weights(void *impl, LmError *err)
{
	LlamaDev   *d = impl;
	const LlamaConfig *c = &d->host->c;
	const LlamaWeights *w = &d->host->w;
	LmDevice   *dev = d->dm.dev;
	LmDeviceAllocs *a = &d->dm.weights;
	int			q_dim = c->n_heads * c->head_dim;
	int			kv_dim = c->n_kv_heads * c->head_dim;

	if (lm_device_put_matrix(dev, a, w->embed, &d->embed, err) < 0 ||
		lm_device_put_floats(dev, a, w->norm, c->dim, &d->norm, err) < 0)
		return -1;
	if (w->head == w->embed)
		d->head = d->embed;
	else if (lm_device_put_matrix(dev, a, w->head, &d->head, err) < 0)
		return -1;
	for (int l = 0; l < c->n_layers; l++)
	{
		const LlamaLayer *L = &w->layers[l];
		LlamaDevLayer *D = &d->layers[l];

		if (lm_check_cancel(err) < 0 ||
			lm_device_put_floats(dev, a, L->attn_norm, c->dim, &D->attn_norm, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wq, &D->wq, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wk, &D->wk, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wv, &D->wv, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wo, &D->wo, err) < 0 ||
			lm_device_put_floats(dev, a, L->bq, q_dim, &D->bq, err) < 0 ||
			lm_device_put_floats(dev, a, L->bk, kv_dim, &D->bk, err) < 0 ||
			lm_device_put_floats(dev, a, L->bv, kv_dim, &D->bv, err) < 0 ||
			lm_device_put_floats(dev, a, L->bo, c->dim, &D->bo, err) < 0 ||
			lm_device_put_floats(dev, a, L->ffn_norm, c->dim, &D->ffn_norm, err) < 0 ||
			lm_device_put_matrix(dev, a, L->w_gate, &D->w_gate, err) < 0 ||
			lm_device_put_matrix(dev, a, L->w_up, &D->w_up, err) < 0 ||
			lm_device_put_matrix(dev, a, L->w_down, &D->w_down, err) < 0 ||
			lm_device_put_floats(dev, a, L->b_gate, c->ffn_dim, &D->b_gate, err) < 0 ||
			lm_device_put_floats(dev, a, L->b_up, c->ffn_dim, &D->b_up, err) < 0 ||
			lm_device_put_floats(dev, a, L->b_down, c->dim, &D->b_down, err) < 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * States */

static void
dev_free(void *impl)
{
	LlamaDev   *d = impl;

	lm_device_model_free(&d->dm);
	free(d->layers);
	free(d);
}

static void *
dev_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	const LlamaConfig *c = &((const LlamaDev *) impl)->host->c;

	return lm_device_cache_new(((const LlamaDev *) impl)->dm.dev, c->n_layers, capacity,
							   c->n_kv_heads * c->head_dim, err);
}

/* ----------------------------------------------------------------------------
 * The forward pass */

/* Buffers of one call for n rows: device scratch, and the rotary tables on the host. */
typedef struct Rows
{
	float	   *x,
			   *xb,
			   *q,
			   *att_out,
			   *k,
			   *v,
			   *hb,
			   *hb2;
	float	   *cos,
			   *sin;			/* host, [n][head_dim / 2] */
	LmDeviceRowLists lists;		/* sequences decoded together */
} Rows;

static int
rows_scratch(LlamaDev *d, int n, Rows *r, LmError *err)
{
	const LlamaConfig *c = &d->host->c;
	size_t		dim = (size_t) n * c->dim;
	size_t		q = (size_t) n * c->n_heads * c->head_dim;
	size_t		kv = (size_t) n * c->n_kv_heads * c->head_dim;
	size_t		ffn = (size_t) n * c->ffn_dim;
	float	   *p = lm_device_model_scratch(&d->dm, 2 * dim + 2 * q + 2 * kv + 2 * ffn, err);

	if (p == NULL)
		return -1;
	r->x = p;
	r->xb = r->x + dim;
	r->q = r->xb + dim;
	r->att_out = r->q + q;
	r->k = r->att_out + q;
	r->v = r->k + kv;
	r->hb = r->v + kv;
	r->hb2 = r->hb + ffn;
	return 0;
}

/*
 * The layers over n rows.  Row t belongs to states[t] at position pos[t]
 * when rows is set (one token per sequence); otherwise all n rows are one
 * sequence in states[0] at positions pos[0] .. pos[0]+n-1.
 */
static int
run_layers(LlamaDev *d, LmDeviceCache *const *states, const int *pos, int n, bool rows,
		   const uint8_t *key_mask, Rows *r, LmError *err)
{
	const LlamaConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int			dim = c->dim;
	int			hd = c->head_dim;
	int			q_dim = c->n_heads * hd;
	int			kv_dim = c->n_kv_heads * hd;
	LmDeviceAttention attn = {c->n_heads, c->n_kv_heads, hd, 1.0f / sqrtf((float) hd), 1};

	for (int l = 0; l < c->n_layers; l++)
	{
		const LlamaDevLayer *L = &d->layers[l];
		const LmDeviceCache *s0 = states[0];
		float	   *k = rows ? r->k : lm_device_cache_k(s0, l, pos[0]);
		float	   *v = rows ? r->v : lm_device_cache_v(s0, l, pos[0]);

		if (lm_check_cancel(err) < 0 ||
			LM_DEV(dev, err, rmsnorm, r->xb, r->x, L->attn_norm, n, dim, c->eps) < 0 ||
			LM_DEV(dev, err, linear, r->q, r->xb, L->wq, L->bq, n, dim, q_dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, k, r->xb, L->wk, L->bk, n, dim, kv_dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, v, r->xb, L->wv, L->bv, n, dim, kv_dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, rope, r->q, n, q_dim, c->n_heads, hd, r->cos, r->sin) < 0 ||
			LM_DEV(dev, err, rope, k, n, kv_dim, c->n_kv_heads, hd, r->cos, r->sin) < 0)
			return -1;
		if (!rows)
		{
			if (LM_DEV(dev, err, attention, &attn, r->att_out, q_dim, r->q, q_dim,
					   lm_device_cache_k(s0, l, 0), lm_device_cache_v(s0, l, 0), kv_dim,
					   n, pos[0] + n, pos[0], key_mask) < 0)
				return -1;
		}
		else
		{
			/* each row's k and v into its own cache, then each row over its cache: one launch each */
			for (int t = 0; t < n; t++)
			{
				r->lists.k_at[t] = lm_device_cache_k(states[t], l, pos[t]);
				r->lists.v_at[t] = lm_device_cache_v(states[t], l, pos[t]);
				r->lists.k_from[t] = lm_device_cache_k(states[t], l, 0);
				r->lists.v_from[t] = lm_device_cache_v(states[t], l, 0);
				r->lists.keys[t] = pos[t] + 1;
			}
			if (LM_DEV(dev, err, scatter_rows, r->lists.k_at, r->k, kv_dim, n, kv_dim) < 0 ||
				LM_DEV(dev, err, scatter_rows, r->lists.v_at, r->v, kv_dim, n, kv_dim) < 0 ||
				LM_DEV(dev, err, attention_rows, &attn, r->att_out, q_dim, r->q, q_dim,
					   (const float *const *) r->lists.k_from, (const float *const *) r->lists.v_from, kv_dim,
					   r->lists.keys, n) < 0)
				return -1;
		}
		if (LM_DEV(dev, err, linear, r->x, r->att_out, L->wo, L->bo, n, q_dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0 ||
			LM_DEV(dev, err, rmsnorm, r->xb, r->x, L->ffn_norm, n, dim, c->eps) < 0 ||
			LM_DEV(dev, err, linear, r->hb, r->xb, L->w_gate, L->b_gate, n, dim, c->ffn_dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r->hb2, r->xb, L->w_up, L->b_up, n, dim, c->ffn_dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, gated, r->hb, r->hb2, (long) n * c->ffn_dim, c->act) < 0 ||
			LM_DEV(dev, err, linear, r->x, r->hb, L->w_down, L->b_down, n, c->ffn_dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0)
			return -1;
	}
	return 0;
}

static int
forward_locked(LlamaDev *d, LmDeviceCache *const *states, const int32_t *ids, const int *pos,
			   int n, bool rows, const uint8_t *key_mask, float *hidden, LmError *err)
{
	const LlamaConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int			half = c->head_dim / 2;
	Rows		r;
	int			rc = -1;

	r.cos = lm_malloc(sizeof(float) * 2 * (size_t) n * half, err);
	if (r.cos == NULL)
		return -1;
	if (lm_device_row_lists(&r.lists, rows ? n : 0, err) < 0)
	{
		free(r.cos);
		return -1;
	}
	r.sin = r.cos + (size_t) n * half;
	if (rows)
		for (int t = 0; t < n; t++)
			lm_rope_tables(&d->host->rope, pos[t], 1, r.cos + (size_t) t * half, r.sin + (size_t) t * half);
	else
		lm_rope_tables(&d->host->rope, pos[0], n, r.cos, r.sin);
	if (rows_scratch(d, n, &r, err) == 0 &&
		LM_DEV(dev, err, gather_rows, r.x, d->embed, ids, n, c->dim) == 0 &&
		run_layers(d, states, pos, n, rows, key_mask, &r, err) == 0 &&
		LM_DEV(dev, err, rmsnorm, r.xb, r.x, d->norm, n, c->dim, c->eps) == 0)
		rc = LM_DEV(dev, err, download, hidden, r.xb, sizeof(float) * (size_t) n * c->dim);
	lm_device_row_lists_free(&r.lists);
	free(r.cos);
	return rc;
}

static int
dev_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
			int n, int pos, float *hidden, LmError *err)
{
	LlamaDev   *d = (LlamaDev *) impl;
	LmDeviceCache *s = state;
	int			rc;

	pthread_mutex_lock(&d->dm.dev->lock);
	rc = forward_locked(d, &s, ids, &pos, n, false, key_mask, hidden, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	return rc;
}

static int
dev_forward_rows(const void *impl, void *const *states, const int32_t *ids, const int *pos,
				 int n, float *hidden, LmError *err)
{
	LlamaDev   *d = (LlamaDev *) impl;
	int			rc;

	pthread_mutex_lock(&d->dm.dev->lock);
	rc = forward_locked(d, (LmDeviceCache *const *) states, ids, pos, n, true, NULL, hidden, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	return rc;
}

static int
dev_token_logits(const void *impl, void *state, const float *hidden, int n, float *logits,
				 LmError *err)
{
	LlamaDev   *d = (LlamaDev *) impl;

	return lm_device_model_head(&d->dm, d->head, NULL, d->host->c.dim, d->host->c.vocab_size,
								hidden, n, logits, err);
}

static int
dev_token_argmax_rows(const void *impl, void *state, const float *hidden, int n, int32_t *ids,
					  LmError *err)
{
	LlamaDev   *d = (LlamaDev *) impl;

	return lm_device_model_head_argmax(&d->dm, d->head, NULL, d->host->c.dim, d->host->c.vocab_size,
									   hidden, n, ids, err);
}

static const LmArchOps llama_device_ops = {
	.free = dev_free,
	.state_new = dev_state_new,
	.state_free = lm_device_cache_free,
	.forward = dev_forward,
	.forward_rows = dev_forward_rows,
	.token_logits = dev_token_logits,
	.token_logits_rows = dev_token_logits,
	.token_argmax_rows = dev_token_argmax_rows,
	.classify = NULL,
	.to_device = NULL,
};

int
lm_llama_to_device(LmModel *model, LmDevice *dev, LmError *err)
{
	LlamaDev   *d;

	if (((const Llama *) model->impl)->c.qk_norm)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "Qwen3's q and k norms have no device version yet");
	if (((const Llama *) model->impl)->c.window > 0)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "sliding-window attention has no device version yet");
	if ((d = lm_calloc(1, sizeof(LlamaDev), err)) == NULL)
		return -1;
	lm_device_model_init(&d->dm, model, dev);
	d->host = model->impl;
	if ((d->layers = lm_calloc(d->host->c.n_layers, sizeof(LlamaDevLayer), err)) == NULL ||
		lm_device_model_move(model, &d->dm, put_weights, d, &llama_device_ops, NULL, err) < 0)
	{
		free(d->layers);
		free(d);
		return -1;
	}
	return 0;
}
