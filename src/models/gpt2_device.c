/*
 * gpt2_device.c — GPT-2 on a device (device/device.h): gpt2.c's forward
 * pass with the weights and the KV cache in the device's memory.
 *
 * The fused q|k|v projection is split into three matrices when uploaded,
 * so that k and v of a prompt are written by their products straight into
 * the cache rows they belong to.
 */
#include "models/device_model.h"
#include "models/gpt2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Gpt2DevLayer
{
	float	   *ln1_w,
			   *ln1_b,
			   *wq,
			   *wk,
			   *wv,				/* [dim][dim] each, [in][out] */
			   *bq,
			   *bk,
			   *bv,
			   *proj_w,
			   *proj_b,
			   *ln2_w,
			   *ln2_b,
			   *fc_w,
			   *fc_b,
			   *fc_proj_w,
			   *fc_proj_b;
} Gpt2DevLayer;

typedef struct Gpt2Dev
{
	LmDeviceModel dm;
	const Gpt2 *host;
	float	   *wte,
			   *wpe,
			   *lnf_w,
			   *lnf_b,
			   *head;
	Gpt2DevLayer *layers;
} Gpt2Dev;

/* States are the sequences' KV caches, LmDeviceCache (device_model.h). */

/* ----------------------------------------------------------------------------
 * Moving the weights */

/*
 * Columns [c0, c0 + width) of the Conv1D weight m taken as [in][out], as a
 * float32 [in][width] copy: m's own columns, or, stored [out][in] (out_in),
 * its rows transposed.
 */
static float *
column_slice(const LmMatrix *m, int c0, int width, LmError *err)
{
	int			in = m->out_in ? m->cols : m->rows;
	float	   *row = lm_malloc(sizeof(float) * m->cols, err);
	float	   *out = lm_malloc(sizeof(float) * (size_t) in * width, err);

	if (row == NULL || out == NULL)
	{
		free(row);
		free(out);
		return NULL;
	}
	if (m->out_in)
		for (int j = 0; j < width; j++)
		{
			lm_matrix_row(m, c0 + j, 0, m->cols, row);
			for (int r = 0; r < in; r++)
				out[(size_t) r * width + j] = row[r];
		}
	else
		for (int r = 0; r < m->rows; r++)
		{
			lm_matrix_row(m, r, 0, m->cols, row);
			memcpy(out + (size_t) r * width, row + c0, sizeof(float) * width);
		}
	free(row);
	return out;
}

/* A Conv1D weight onto the device as [in][out] (LM_DEVICE_W_IN_OUT); quantized ones are refused. */
static int
put_conv1d(Gpt2Dev *d, const LmMatrix *m, float **out, LmError *err)
{
	float	   *all;
	int			rc;

	if (!m->out_in || lm_dtype_is_quantized(m->dtype))
		return lm_device_put_matrix(d->dm.dev, &d->dm.weights, m, out, err);
	if ((all = column_slice(m, 0, m->rows, err)) == NULL)
		return -1;
	rc = lm_device_put_floats(d->dm.dev, &d->dm.weights, all, (long) m->rows * m->cols, out, err);
	free(all);
	return rc;
}

static int
put_qkv(Gpt2Dev *d, Gpt2DevLayer *D, const Gpt2Layer *L, LmError *err)
{
	int			dim = d->host->c.dim;
	float	  **w[3] = {&D->wq, &D->wk, &D->wv};
	float	  **b[3] = {&D->bq, &D->bk, &D->bv};

	if (lm_dtype_is_quantized(L->attn_w->dtype))
		return lm_device_put_matrix(d->dm.dev, &d->dm.weights, L->attn_w, w[0], err);	/* refused */
	for (int i = 0; i < 3; i++)
	{
		float	   *part = column_slice(L->attn_w, i * dim, dim, err);
		int			rc;

		if (part == NULL)
			return -1;
		rc = lm_device_put_floats(d->dm.dev, &d->dm.weights, part, (long) dim * dim, w[i], err);
		free(part);
		if (rc < 0 ||
			lm_device_put_floats(d->dm.dev, &d->dm.weights, L->attn_b + i * dim, dim, b[i], err) < 0)
			return -1;
	}
	return 0;
}

static int
put_weights(void *impl, LmError *err)
{
	Gpt2Dev    *d = impl;
	const Gpt2Config *c = &d->host->c;
	const Gpt2Weights *w = &d->host->w;
	LmDevice   *dev = d->dm.dev;
	LmDeviceAllocs *a = &d->dm.weights;

	if (lm_device_put_matrix(dev, a, w->wte, &d->wte, err) < 0 ||
		lm_device_put_floats(dev, a, w->wpe, (long) c->max_positions * c->dim, &d->wpe, err) < 0 ||
		lm_device_put_floats(dev, a, w->lnf_w, c->dim, &d->lnf_w, err) < 0 ||
		lm_device_put_floats(dev, a, w->lnf_b, c->dim, &d->lnf_b, err) < 0)
		return -1;
	if (w->head == w->wte)
		d->head = d->wte;
	else if (lm_device_put_matrix(dev, a, w->head, &d->head, err) < 0)
		return -1;
	for (int l = 0; l < c->n_layers; l++)
	{
		const Gpt2Layer *L = &w->layers[l];
		Gpt2DevLayer *D = &d->layers[l];

		if (lm_check_cancel(err) < 0 ||
			lm_device_put_floats(dev, a, L->ln1_w, c->dim, &D->ln1_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln1_b, c->dim, &D->ln1_b, err) < 0 ||
			put_qkv(d, D, L, err) < 0 ||
			put_conv1d(d, L->proj_w, &D->proj_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->proj_b, c->dim, &D->proj_b, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln2_w, c->dim, &D->ln2_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln2_b, c->dim, &D->ln2_b, err) < 0 ||
			put_conv1d(d, L->fc_w, &D->fc_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->fc_b, c->ffn_dim, &D->fc_b, err) < 0 ||
			put_conv1d(d, L->fc_proj_w, &D->fc_proj_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->fc_proj_b, c->dim, &D->fc_proj_b, err) < 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * States */

static void
dev_free(void *impl)
{
	Gpt2Dev    *d = impl;

	lm_device_model_free(&d->dm);
	free(d->layers);
	free(d);
}

static void *
dev_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	const Gpt2Dev *d = impl;

	return lm_device_cache_new(d->dm.dev, d->host->c.n_layers, capacity, d->host->c.dim, err);
}

/* ----------------------------------------------------------------------------
 * The forward pass */

/* Buffers of one call for n rows, in the model's scratch. */
typedef struct Rows
{
	float	   *x,
			   *xb,
			   *q,
			   *k,
			   *v,
			   *hb;
	LmDeviceRowLists lists;		/* sequences decoded together */
} Rows;

static int
rows_scratch(Gpt2Dev *d, int n, Rows *r, LmError *err)
{
	const Gpt2Config *c = &d->host->c;
	size_t		row = (size_t) n * c->dim;
	float	   *p = lm_device_model_scratch(&d->dm, 5 * row + (size_t) n * c->ffn_dim, err);

	if (p == NULL)
		return -1;
	r->x = p;
	r->xb = p + row;
	r->q = p + 2 * row;
	r->k = p + 3 * row;
	r->v = p + 4 * row;
	r->hb = p + 5 * row;
	return 0;
}

/*
 * The layers over n rows.  Row t belongs to states[t] at position pos[t]
 * when rows is set (one token per sequence); otherwise all n rows are one
 * sequence in states[0] at positions pos[0] .. pos[0]+n-1.
 */
static int
run_layers(Gpt2Dev *d, LmDeviceCache *const *states, const int *pos, int n, bool rows,
		   const uint8_t *key_mask, Rows *r, LmError *err)
{
	const Gpt2Config *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int			dim = c->dim;
	LmDeviceAttention attn = {c->n_heads, c->n_heads, c->head_dim, 1.0f, 1};

	for (int l = 0; l < c->n_layers; l++)
	{
		const Gpt2DevLayer *L = &d->layers[l];
		const LmDeviceCache *s0 = states[0];
		float	   *k = rows ? r->k : lm_device_cache_k(s0, l, pos[0]);
		float	   *v = rows ? r->v : lm_device_cache_v(s0, l, pos[0]);

		if (lm_check_cancel(err) < 0 ||
			LM_DEV(dev, err, layernorm, r->xb, r->x, L->ln1_w, L->ln1_b, n, dim, c->eps) < 0 ||
			LM_DEV(dev, err, linear, r->q, r->xb, L->wq, L->bq, n, dim, dim, LM_DEVICE_W_IN_OUT, 0) < 0 ||
			LM_DEV(dev, err, linear, k, r->xb, L->wk, L->bk, n, dim, dim, LM_DEVICE_W_IN_OUT, 0) < 0 ||
			LM_DEV(dev, err, linear, v, r->xb, L->wv, L->bv, n, dim, dim, LM_DEVICE_W_IN_OUT, 0) < 0)
			return -1;
		attn.scale = lm_gpt2_attention_scale(c, l);
		if (!rows)
		{
			if (LM_DEV(dev, err, attention, &attn, r->xb, dim, r->q, dim,
					   lm_device_cache_k(s0, l, 0), lm_device_cache_v(s0, l, 0), dim,
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
			if (LM_DEV(dev, err, scatter_rows, r->lists.k_at, r->k, dim, n, dim) < 0 ||
				LM_DEV(dev, err, scatter_rows, r->lists.v_at, r->v, dim, n, dim) < 0 ||
				LM_DEV(dev, err, attention_rows, &attn, r->xb, dim, r->q, dim,
					   (const float *const *) r->lists.k_from, (const float *const *) r->lists.v_from, dim,
					   r->lists.keys, n) < 0)
				return -1;
		}
		if (LM_DEV(dev, err, linear, r->x, r->xb, L->proj_w, L->proj_b, n, dim, dim, LM_DEVICE_W_IN_OUT, 1) < 0 ||
			LM_DEV(dev, err, layernorm, r->xb, r->x, L->ln2_w, L->ln2_b, n, dim, c->eps) < 0 ||
			LM_DEV(dev, err, linear, r->hb, r->xb, L->fc_w, L->fc_b, n, dim, c->ffn_dim, LM_DEVICE_W_IN_OUT, 0) < 0 ||
			LM_DEV(dev, err, activate, r->hb, (long) n * c->ffn_dim, c->act) < 0 ||
			LM_DEV(dev, err, linear, r->x, r->hb, L->fc_proj_w, L->fc_proj_b, n, c->ffn_dim, dim, LM_DEVICE_W_IN_OUT, 1) < 0)
			return -1;
	}
	return 0;
}

/* Embeddings of n tokens at positions pos_ids, the layers, the final norm, hidden to the host. */
static int
forward_locked(Gpt2Dev *d, LmDeviceCache *const *states, const int32_t *ids, const int *pos,
			   const int32_t *pos_ids, int n, bool rows, const uint8_t *key_mask, float *hidden,
			   LmError *err)
{
	const Gpt2Config *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	Rows		r;
	int			rc = -1;

	if (lm_device_row_lists(&r.lists, rows ? n : 0, err) < 0)
		return -1;
	if (rows_scratch(d, n, &r, err) == 0 &&
		LM_DEV(dev, err, gather_rows, r.x, d->wte, ids, n, c->dim) == 0 &&
		LM_DEV(dev, err, gather_rows, r.xb, d->wpe, pos_ids, n, c->dim) == 0 &&
		LM_DEV(dev, err, add, r.x, r.xb, (long) n * c->dim) == 0 &&
		run_layers(d, states, pos, n, rows, key_mask, &r, err) == 0 &&
		LM_DEV(dev, err, layernorm, r.xb, r.x, d->lnf_w, d->lnf_b, n, c->dim, c->eps) == 0)
		rc = LM_DEV(dev, err, download, hidden, r.xb, sizeof(float) * (size_t) n * c->dim);
	lm_device_row_lists_free(&r.lists);
	return rc;
}

static int
dev_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
			int n, int pos, float *hidden, LmError *err)
{
	Gpt2Dev    *d = (Gpt2Dev *) impl;
	LmDeviceCache *s = state;
	int32_t    *pos_ids = lm_malloc(sizeof(int32_t) * n, err);
	int			rc;

	if (pos_ids == NULL)
		return -1;
	for (int t = 0; t < n; t++)
		pos_ids[t] = pos + t;
	pthread_mutex_lock(&d->dm.dev->lock);
	rc = forward_locked(d, &s, ids, &pos, pos_ids, n, false, key_mask, hidden, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	free(pos_ids);
	return rc;
}

static int
dev_forward_rows(const void *impl, void *const *states, const int32_t *ids, const int *pos,
				 int n, float *hidden, LmError *err)
{
	Gpt2Dev    *d = (Gpt2Dev *) impl;
	int			rc;

	pthread_mutex_lock(&d->dm.dev->lock);
	rc = forward_locked(d, (LmDeviceCache *const *) states, ids, pos, pos, n, true, NULL, hidden, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	return rc;
}

static int
dev_token_logits(const void *impl, void *state, const float *hidden, int n, float *logits,
				 LmError *err)
{
	Gpt2Dev    *d = (Gpt2Dev *) impl;

	return lm_device_model_head(&d->dm, d->head, NULL, d->host->c.dim, d->host->c.vocab_size,
								hidden, n, logits, err);
}

static int
dev_token_argmax_rows(const void *impl, void *state, const float *hidden, int n, int32_t *ids,
					  LmError *err)
{
	Gpt2Dev    *d = (Gpt2Dev *) impl;

	return lm_device_model_head_argmax(&d->dm, d->head, NULL, d->host->c.dim, d->host->c.vocab_size,
									   hidden, n, ids, err);
}

static const LmArchOps gpt2_device_ops = {
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
lm_gpt2_to_device(LmModel *model, LmDevice *dev, LmError *err)
{
	Gpt2Dev    *d = lm_calloc(1, sizeof(Gpt2Dev), err);

	if (d == NULL)
		return -1;
	lm_device_model_init(&d->dm, model, dev);
	d->host = model->impl;
	if ((d->layers = lm_calloc(d->host->c.n_layers, sizeof(Gpt2DevLayer), err)) == NULL ||
		lm_device_model_move(model, &d->dm, put_weights, d, &gpt2_device_ops, NULL, err) < 0)
	{
		free(d->layers);
		free(d);
		return -1;
	}
	return 0;
}
