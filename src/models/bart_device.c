/*
 * bart_device.c — the fairseq-style encoder-decoder (M2M100/NLLB, Marian)
 * on a device (device/device.h): bart.c's two forward passes with the
 * weights, the decoders' self-attention caches and the cross-attention
 * keys and values in the device's memory.  Position rows are chosen on the
 * host (fairseq's padding-aware numbering) and gathered on the device.
 */
#include "models/bart_impl.h"
#include "models/device_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct BartDevAttn
{
	float	   *wq,
			   *wk,
			   *wv,
			   *wo,
			   *bq,
			   *bk,
			   *bv,
			   *bo;
} BartDevAttn;

typedef struct BartDevLayer
{
	BartDevAttn self,
				cross;
	float	   *self_ln_w,
			   *self_ln_b,
			   *cross_ln_w,
			   *cross_ln_b,
			   *fc1,
			   *fc1_b,
			   *fc2,
			   *fc2_b,
			   *final_ln_w,
			   *final_ln_b;
} BartDevLayer;

typedef struct BartDev
{
	LmDeviceModel dm;
	const Bart *host;
	float	   *enc_embed,
			   *dec_embed,
			   *head,
			   *logits_bias,
			   *positions,
			   *enc_ln_w,
			   *enc_ln_b,
			   *dec_ln_w,
			   *dec_ln_b;
	BartDevLayer *enc,
			   *dec;
} BartDev;

/* Encoder states only bound the input: the buffers are the model's scratch. */
typedef struct BartDevEncState
{
	int			max_chunk;
} BartDevEncState;

typedef struct BartDevDecState
{
	LmDeviceCache cache;		/* self-attention: [dec_layers][capacity][dim] */
	int			max_chunk;
	int			max_keys;
} BartDevDecState;

/* Cross-attention keys and values, [dec_layers][n_src][dim] each. */
typedef struct BartDevCross
{
	LmDevice   *dev;
	LmDeviceAllocs allocs;
	int			n_src;
	float	   *k,
			   *v;
} BartDevCross;

/* ----------------------------------------------------------------------------
 * Moving the weights */

static int
put_attn(BartDev *d, BartDevAttn *D, const BartAttn *A, LmError *err)
{
	LmDevice   *dev = d->dm.dev;
	LmDeviceAllocs *a = &d->dm.weights;
	int			dim = d->host->c.dim;

	return (lm_device_put_matrix(dev, a, A->wq, &D->wq, err) < 0 ||
			lm_device_put_matrix(dev, a, A->wk, &D->wk, err) < 0 ||
			lm_device_put_matrix(dev, a, A->wv, &D->wv, err) < 0 ||
			lm_device_put_matrix(dev, a, A->wo, &D->wo, err) < 0 ||
			lm_device_put_floats(dev, a, A->bq, dim, &D->bq, err) < 0 ||
			lm_device_put_floats(dev, a, A->bk, dim, &D->bk, err) < 0 ||
			lm_device_put_floats(dev, a, A->bv, dim, &D->bv, err) < 0 ||
			lm_device_put_floats(dev, a, A->bo, dim, &D->bo, err) < 0) ? -1 : 0;
}

static int
put_layer(BartDev *d, BartDevLayer *D, const BartLayer *L, int ffn, bool cross, LmError *err)
{
	LmDevice   *dev = d->dm.dev;
	LmDeviceAllocs *a = &d->dm.weights;
	int			dim = d->host->c.dim;

	if (lm_check_cancel(err) < 0 ||
		put_attn(d, &D->self, &L->self, err) < 0 ||
		lm_device_put_floats(dev, a, L->self_ln_w, dim, &D->self_ln_w, err) < 0 ||
		lm_device_put_floats(dev, a, L->self_ln_b, dim, &D->self_ln_b, err) < 0)
		return -1;
	if (cross &&
		(put_attn(d, &D->cross, &L->cross, err) < 0 ||
		 lm_device_put_floats(dev, a, L->cross_ln_w, dim, &D->cross_ln_w, err) < 0 ||
		 lm_device_put_floats(dev, a, L->cross_ln_b, dim, &D->cross_ln_b, err) < 0))
		return -1;
	return (lm_device_put_matrix(dev, a, L->fc1, &D->fc1, err) < 0 ||
			lm_device_put_floats(dev, a, L->fc1_b, ffn, &D->fc1_b, err) < 0 ||
			lm_device_put_matrix(dev, a, L->fc2, &D->fc2, err) < 0 ||
			lm_device_put_floats(dev, a, L->fc2_b, dim, &D->fc2_b, err) < 0 ||
			lm_device_put_floats(dev, a, L->final_ln_w, dim, &D->final_ln_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->final_ln_b, dim, &D->final_ln_b, err) < 0) ? -1 : 0;
}

static int
put_weights(void *impl, LmError *err)
{
	BartDev    *d = impl;
	const Bart *b = d->host;
	const LmBartConfig *c = &b->c;
	LmDevice   *dev = d->dm.dev;
	LmDeviceAllocs *a = &d->dm.weights;

	if (lm_device_put_matrix(dev, a, b->enc_embed, &d->enc_embed, err) < 0)
		return -1;
	if (b->dec_embed == b->enc_embed)
		d->dec_embed = d->enc_embed;
	else if (lm_device_put_matrix(dev, a, b->dec_embed, &d->dec_embed, err) < 0)
		return -1;
	if (b->head == b->dec_embed)
		d->head = d->dec_embed;
	else if (b->head == b->enc_embed)
		d->head = d->enc_embed;
	else if (lm_device_put_matrix(dev, a, b->head, &d->head, err) < 0)
		return -1;
	if (lm_device_put_floats(dev, a, b->logits_bias, c->target_vocab_size, &d->logits_bias, err) < 0 ||
		lm_device_put_floats(dev, a, c->positions, (long) c->n_position_rows * c->dim, &d->positions, err) < 0 ||
		lm_device_put_floats(dev, a, b->enc_ln_w, c->dim, &d->enc_ln_w, err) < 0 ||
		lm_device_put_floats(dev, a, b->enc_ln_b, c->dim, &d->enc_ln_b, err) < 0 ||
		lm_device_put_floats(dev, a, b->dec_ln_w, c->dim, &d->dec_ln_w, err) < 0 ||
		lm_device_put_floats(dev, a, b->dec_ln_b, c->dim, &d->dec_ln_b, err) < 0)
		return -1;
	for (int l = 0; l < c->enc_layers; l++)
		if (put_layer(d, &d->enc[l], &b->enc[l], c->enc_ffn, false, err) < 0)
			return -1;
	for (int l = 0; l < c->dec_layers; l++)
		if (put_layer(d, &d->dec[l], &b->dec[l], c->dec_ffn, true, err) < 0)
			return -1;
	return 0;
}

/* ----------------------------------------------------------------------------
 * States */

static void
dev_free(void *impl)
{
	BartDev    *d = impl;

	lm_device_model_free(&d->dm);
	free(d->enc);
	free(d->dec);
	free(d);
}

static void *
enc_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	BartDevEncState *s = lm_calloc(1, sizeof(BartDevEncState), err);

	if (s != NULL)
		s->max_chunk = max_chunk;
	return s;
}

static void
enc_state_free(void *state)
{
	free(state);
}

static void
dec_state_free(void *state)
{
	BartDevDecState *s = state;

	if (s == NULL)
		return;
	lm_device_cache_release(&s->cache);
	free(s);
}

static void *
dec_state_new(const void *impl, int capacity, int max_chunk, int n_src, LmError *err)
{
	const BartDev *d = impl;
	const LmBartConfig *c = &d->host->c;
	BartDevDecState *s = lm_calloc(1, sizeof(BartDevDecState), err);

	if (s == NULL)
		return NULL;
	if (capacity < 1)
		capacity = 1;
	s->max_chunk = max_chunk;
	s->max_keys = capacity > n_src ? capacity : n_src;
	if (lm_device_cache_init(&s->cache, d->dm.dev, c->dec_layers, capacity, c->dim, err) < 0)
	{
		free(s);
		return NULL;
	}
	return s;
}

/*
 * dec_state_copy cannot report an error: a failed copy leaves the device
 * queue in error, and the next forward pass reports it.
 */
static void
dec_state_copy(void *dst, const void *src, int n)
{
	LmDeviceCache *to = &((BartDevDecState *) dst)->cache;
	const LmDeviceCache *from = &((const BartDevDecState *) src)->cache;
	size_t		bytes = sizeof(float) * (size_t) n * from->kv_dim;
	LmDevice   *dev = to->dev;

	pthread_mutex_lock(&dev->lock);
	for (int l = 0; l < from->n_layers; l++)
	{
		dev->ops->copy(dev->ctx, lm_device_cache_k(to, l, 0), lm_device_cache_k(from, l, 0), bytes);
		dev->ops->copy(dev->ctx, lm_device_cache_v(to, l, 0), lm_device_cache_v(from, l, 0), bytes);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* ----------------------------------------------------------------------------
 * The forward passes */

typedef struct Rows
{
	float	   *x,
			   *xb,
			   *q,
			   *k,
			   *v,
			   *att_out,
			   *hb;
} Rows;

static int
rows_scratch(BartDev *d, int n, Rows *r, LmError *err)
{
	const LmBartConfig *c = &d->host->c;
	size_t		row = (size_t) n * c->dim;
	int			ffn = c->enc_ffn > c->dec_ffn ? c->enc_ffn : c->dec_ffn;
	float	   *p = lm_device_model_scratch(&d->dm, 6 * row + (size_t) n * ffn, err);

	if (p == NULL)
		return -1;
	r->x = p;
	r->xb = p + row;
	r->q = p + 2 * row;
	r->k = p + 3 * row;
	r->v = p + 4 * row;
	r->att_out = p + 5 * row;
	r->hb = p + 6 * row;
	return 0;
}

/* The rows of the position table that n_seq chunks of n ids each take, the chunks at pos. */
static int
position_rows(const LmBartConfig *c, const int32_t *ids, int n_seq, int n, int pos,
			  int32_t *rows, LmError *err)
{
	for (int i = 0; i < n_seq; i++)
	{
		int			seen = 0;

		for (int t = 0; t < n; t++)
		{
			long		row = lm_bart_position_row(c, ids[(long) i * n + t], pos + t, pos, &seen);

			if (row >= c->n_position_rows)
				return lm_fail(err, LM_ERR_INTERNAL, "position %ld is past the position table", row);
			rows[(long) i * n + t] = (int32_t) row;
		}
	}
	return 0;
}

/* x = table[ids] · embed_scale + positions[rows] for n_seq chunks of n ids at pos. */
static int
embed(BartDev *d, const float *table, const int32_t *ids, int n_seq, int n, int pos, Rows *r,
	  LmError *err)
{
	const LmBartConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	long		count = (long) n_seq * n * c->dim;
	int32_t    *rows = lm_malloc(sizeof(int32_t) * (size_t) n_seq * n, err);
	int			rc = -1;

	if (rows == NULL)
		return -1;
	if (position_rows(c, ids, n_seq, n, pos, rows, err) == 0 &&
		LM_DEV(dev, err, gather_rows, r->x, table, ids, n_seq * n, c->dim) == 0 &&
		(c->embed_scale == 1.0f || LM_DEV(dev, err, scale, r->x, count, c->embed_scale) == 0) &&
		LM_DEV(dev, err, gather_rows, r->xb, d->positions, rows, n_seq * n, c->dim) == 0)
		rc = LM_DEV(dev, err, add, r->x, r->xb, count);
	free(rows);
	return rc;
}

/* A block's input: LN(x) before it (pre-norm), else x itself. */
static const float *
block_in(BartDev *d, Rows *r, const float *ln_w, const float *ln_b, int n, LmError *err)
{
	if (!d->host->c.pre_norm)
		return r->x;
	if (LM_DEV(d->dm.dev, err, layernorm, r->xb, r->x, ln_w, ln_b, n, d->host->c.dim,
			   LM_BART_LAYER_NORM_EPS) < 0)
		return NULL;
	return r->xb;
}

/* After x += block(...): post-norm normalises the sum in place. */
static int
block_out(BartDev *d, Rows *r, const float *ln_w, const float *ln_b, int n, LmError *err)
{
	if (d->host->c.pre_norm)
		return 0;
	return LM_DEV(d->dm.dev, err, layernorm, r->x, r->x, ln_w, ln_b, n, d->host->c.dim,
				  LM_BART_LAYER_NORM_EPS);
}

/* x += fc2(act(fc1(FFN input))) with its norm. */
static int
feed_forward(BartDev *d, Rows *r, const BartDevLayer *L, int ffn, int n, LmError *err)
{
	LmDevice   *dev = d->dm.dev;
	int			dim = d->host->c.dim;
	const float *h = block_in(d, r, L->final_ln_w, L->final_ln_b, n, err);

	if (h == NULL ||
		LM_DEV(dev, err, linear, r->hb, h, L->fc1, L->fc1_b, n, dim, ffn, LM_DEVICE_W_OUT_IN, 0) < 0 ||
		LM_DEV(dev, err, activate, r->hb, (long) n * ffn, d->host->c.act) < 0 ||
		LM_DEV(dev, err, linear, r->x, r->hb, L->fc2, L->fc2_b, n, ffn, dim, LM_DEVICE_W_OUT_IN, 1) < 0)
		return -1;
	return block_out(d, r, L->final_ln_w, L->final_ln_b, n, err);
}

/* Final norm (where the model has one) into xb, and n rows of it to the host. */
static int
finish(BartDev *d, Rows *r, const float *ln_w, const float *ln_b, int n, float *hidden,
	   LmError *err)
{
	LmDevice   *dev = d->dm.dev;
	int			dim = d->host->c.dim;
	const float *out = r->x;

	if (d->host->c.final_norms)
	{
		if (LM_DEV(dev, err, layernorm, r->xb, r->x, ln_w, ln_b, n, dim, LM_BART_LAYER_NORM_EPS) < 0)
			return -1;
		out = r->xb;
	}
	return LM_DEV(dev, err, download, hidden, out, sizeof(float) * (size_t) n * dim);
}

static int
encoder_locked(BartDev *d, const int32_t *ids, const uint8_t *key_mask, int n, float *hidden,
			   LmError *err)
{
	const LmBartConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int			dim = c->dim;
	int			hd = dim / c->enc_heads;
	LmDeviceAttention attn = {c->enc_heads, c->enc_heads, hd, 1.0f / sqrtf((float) hd), 0};
	Rows		r;

	if (rows_scratch(d, n, &r, err) < 0 || embed(d, d->enc_embed, ids, 1, n, 0, &r, err) < 0)
		return -1;
	for (int l = 0; l < c->enc_layers; l++)
	{
		const BartDevLayer *L = &d->enc[l];
		const float *h;

		if (lm_check_cancel(err) < 0 ||
			(h = block_in(d, &r, L->self_ln_w, L->self_ln_b, n, err)) == NULL ||
			LM_DEV(dev, err, linear, r.q, h, L->self.wq, L->self.bq, n, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r.k, h, L->self.wk, L->self.bk, n, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r.v, h, L->self.wv, L->self.bv, n, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, attention, &attn, r.att_out, dim, r.q, dim, r.k, r.v, dim, n, n, 0, key_mask) < 0 ||
			LM_DEV(dev, err, linear, r.x, r.att_out, L->self.wo, L->self.bo, n, dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0 ||
			block_out(d, &r, L->self_ln_w, L->self_ln_b, n, err) < 0 ||
			feed_forward(d, &r, L, c->enc_ffn, n, err) < 0)
			return -1;
	}
	return finish(d, &r, d->enc_ln_w, d->enc_ln_b, n, hidden, err);
}

static int
encoder_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
				int n, int pos, float *hidden, LmError *err)
{
	BartDev    *d = (BartDev *) impl;
	int			rc;

	if (pos != 0 || n > ((BartDevEncState *) state)->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "the encoder runs whole inputs only");
	pthread_mutex_lock(&d->dm.dev->lock);
	rc = encoder_locked(d, ids, key_mask, n, hidden, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	return rc;
}

static void
cross_free(void *cross)
{
	BartDevCross *x = cross;

	if (x == NULL)
		return;
	pthread_mutex_lock(&x->dev->lock);
	lm_device_release_all(x->dev, &x->allocs);
	pthread_mutex_unlock(&x->dev->lock);
	free(x);
}

static int
cross_locked(BartDev *d, BartDevCross *x, const float *enc_hidden, int n_src, LmError *err)
{
	const LmBartConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	size_t		per_layer = (size_t) n_src * c->dim;
	float	   *h;

	if ((x->k = lm_device_alloc(dev, &x->allocs, sizeof(float) * per_layer * c->dec_layers, err)) == NULL ||
		(x->v = lm_device_alloc(dev, &x->allocs, sizeof(float) * per_layer * c->dec_layers, err)) == NULL ||
		(h = lm_device_model_scratch(&d->dm, per_layer, err)) == NULL ||
		lm_device_model_put_rows(&d->dm, h, enc_hidden, n_src, c->dim, err) < 0)
		return -1;
	for (int l = 0; l < c->dec_layers; l++)
	{
		const BartDevAttn *A = &d->dec[l].cross;

		if (LM_DEV(dev, err, linear, x->k + l * per_layer, h, A->wk, A->bk, n_src, c->dim, c->dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, x->v + l * per_layer, h, A->wv, A->bv, n_src, c->dim, c->dim, LM_DEVICE_W_OUT_IN, 0) < 0)
			return -1;
	}
	return 0;
}

static void *
cross_new(const void *impl, const float *enc_hidden, int n_src, LmError *err)
{
	BartDev    *d = (BartDev *) impl;
	BartDevCross *x = lm_calloc(1, sizeof(BartDevCross), err);
	int			rc;

	if (x == NULL)
		return NULL;
	x->dev = d->dm.dev;
	x->n_src = n_src;
	pthread_mutex_lock(&d->dm.dev->lock);
	rc = cross_locked(d, x, enc_hidden, n_src, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	if (rc < 0)
	{
		cross_free(x);
		return NULL;
	}
	return x;
}

static int
decoder_locked(BartDev *d, BartDevDecState *const *states, int n_states, const BartDevCross *cross,
			   const int32_t *ids, int n, int pos, float *hidden, LmError *err)
{
	const LmBartConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int			dim = c->dim;
	int			hd = dim / c->dec_heads;
	int			rows = n_states * n;
	LmDeviceAttention self_attn = {c->dec_heads, c->dec_heads, hd, 1.0f / sqrtf((float) hd), 1};
	LmDeviceAttention cross_attn = {c->dec_heads, c->dec_heads, hd, 1.0f / sqrtf((float) hd), 0};
	size_t		cross_layer = (size_t) cross->n_src * dim;
	Rows		r;

	if (rows_scratch(d, rows, &r, err) < 0 || embed(d, d->dec_embed, ids, n_states, n, pos, &r, err) < 0)
		return -1;
	for (int l = 0; l < c->dec_layers; l++)
	{
		const BartDevLayer *L = &d->dec[l];
		const float *h;

		if (lm_check_cancel(err) < 0 ||
			(h = block_in(d, &r, L->self_ln_w, L->self_ln_b, rows, err)) == NULL ||
			LM_DEV(dev, err, linear, r.q, h, L->self.wq, L->self.bq, rows, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r.k, h, L->self.wk, L->self.bk, rows, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r.v, h, L->self.wv, L->self.bv, rows, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0)
			return -1;
		for (int i = 0; i < n_states; i++)
		{
			const BartDevDecState *s = states[i];
			size_t		off = (size_t) i * n * dim;
			size_t		bytes = sizeof(float) * (size_t) n * dim;

			if (LM_DEV(dev, err, copy, lm_device_cache_k(&s->cache, l, pos), r.k + off, bytes) < 0 ||
				LM_DEV(dev, err, copy, lm_device_cache_v(&s->cache, l, pos), r.v + off, bytes) < 0 ||
				LM_DEV(dev, err, attention, &self_attn, r.att_out + off, dim, r.q + off, dim,
					   lm_device_cache_k(&s->cache, l, 0), lm_device_cache_v(&s->cache, l, 0), dim,
					   n, pos + n, pos, NULL) < 0)
				return -1;
		}
		if (LM_DEV(dev, err, linear, r.x, r.att_out, L->self.wo, L->self.bo, rows, dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0 ||
			block_out(d, &r, L->self_ln_w, L->self_ln_b, rows, err) < 0 ||
			(h = block_in(d, &r, L->cross_ln_w, L->cross_ln_b, rows, err)) == NULL ||
			LM_DEV(dev, err, linear, r.q, h, L->cross.wq, L->cross.bq, rows, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, attention, &cross_attn, r.att_out, dim, r.q, dim,
				   cross->k + l * cross_layer, cross->v + l * cross_layer, dim,
				   rows, cross->n_src, 0, NULL) < 0 ||
			LM_DEV(dev, err, linear, r.x, r.att_out, L->cross.wo, L->cross.bo, rows, dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0 ||
			block_out(d, &r, L->cross_ln_w, L->cross_ln_b, rows, err) < 0 ||
			feed_forward(d, &r, L, c->dec_ffn, rows, err) < 0)
			return -1;
	}
	return finish(d, &r, d->dec_ln_w, d->dec_ln_b, rows, hidden, err);
}

static int
decoder_forward(const void *impl, void *const *states, int n_states, const void *cross,
				const int32_t *ids, int n, int pos, float *hidden, LmError *err)
{
	BartDev    *d = (BartDev *) impl;
	const BartDevDecState *s0 = states[0];
	int			rc;

	if (n_states * n > s0->max_chunk || ((const BartDevCross *) cross)->n_src > s0->max_keys)
		return lm_fail(err, LM_ERR_INTERNAL, "%d decoder rows do not fit the scratch", n_states * n);
	for (int i = 0; i < n_states; i++)
		if (pos + n > ((const BartDevDecState *) states[i])->cache.capacity)
			return lm_fail(err, LM_ERR_INTERNAL, "decoder chunk of %d tokens at %d overflows the cache",
						   n, pos);
	pthread_mutex_lock(&d->dm.dev->lock);
	rc = decoder_locked(d, (BartDevDecState *const *) states, n_states, cross, ids, n, pos, hidden, err);
	pthread_mutex_unlock(&d->dm.dev->lock);
	return rc;
}

static int
decoder_logits(const void *impl, const float *hidden, int n, float *logits, LmError *err)
{
	BartDev    *d = (BartDev *) impl;

	return lm_device_model_head(&d->dm, d->head, d->logits_bias, d->host->c.dim,
								d->host->c.target_vocab_size, hidden, n, logits, err);
}

static const LmArchOps bart_device_encoder_ops = {
	.free = dev_free,
	.state_new = enc_state_new,
	.state_free = enc_state_free,
	.forward = encoder_forward,
};

static const LmSeq2SeqOps bart_device_decoder_ops = {
	.cross_new = cross_new,
	.cross_free = cross_free,
	.dec_state_new = dec_state_new,
	.dec_state_free = dec_state_free,
	.dec_state_copy = dec_state_copy,
	.dec_forward = decoder_forward,
	.dec_logits = decoder_logits,
};

int
lm_bart_to_device(LmModel *model, LmDevice *dev, LmError *err)
{
	BartDev    *d = lm_calloc(1, sizeof(BartDev), err);
	const LmBartConfig *c;

	if (d == NULL)
		return -1;
	lm_device_model_init(&d->dm, model, dev);
	d->host = model->impl;
	c = &d->host->c;
	if ((d->enc = lm_calloc(c->enc_layers, sizeof(BartDevLayer), err)) == NULL ||
		(d->dec = lm_calloc(c->dec_layers, sizeof(BartDevLayer), err)) == NULL ||
		lm_device_model_move(model, &d->dm, put_weights, d, &bart_device_encoder_ops,
							 &bart_device_decoder_ops, err) < 0)
	{
		free(d->enc);
		free(d->dec);
		free(d);
		return -1;
	}
	return 0;
}
