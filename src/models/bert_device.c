/*
 * bert_device.c — BERT encoders on a device (device/device.h): bert.c's
 * embeddings and layers with the weights in the device's memory.  The
 * heads (masked LM, classifier) read a few rows and stay on the host: they
 * run bert.c's own code on the hidden states the device returns.
 */
#include "models/bert.h"
#include "models/device_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct BertDevLayer
{
	float	   *wq,
			   *wk,
			   *wv,
			   *bq,
			   *bk,
			   *bv,
			   *wo,
			   *bo,
			   *ln_att_w,
			   *ln_att_b,
			   *w_in,
			   *b_in,
			   *w_out,
			   *b_out,
			   *ln_out_w,
			   *ln_out_b;
} BertDevLayer;

typedef struct BertDev
{
	LmDeviceModel dm;
	const Bert *host;
	float	   *word,
			   *position,
			   *token_type,
			   *ln_emb_w,
			   *ln_emb_b;
	BertDevLayer *layers;
} BertDev;

/* The host state serves the heads; the device needs nothing per state. */
typedef struct BertDevState
{
	int			capacity;
	int			max_chunk;
	void	   *host_state;
	void		(*host_state_free) (void *state);	/* state_free gets no impl */
} BertDevState;

static int
put_weights(void *impl, LmError *err)
{
	BertDev    *d = impl;
	const BertConfig *c = &d->host->c;
	const BertWeights *w = &d->host->w;
	LmDevice   *dev = d->dm.dev;
	LmDeviceAllocs *a = &d->dm.weights;

	if (lm_device_put_matrix(dev, a, w->word, &d->word, err) < 0 ||
		lm_device_put_floats(dev, a, w->position, (long) c->max_positions * c->dim, &d->position, err) < 0 ||
		lm_device_put_floats(dev, a, w->token_type, c->dim, &d->token_type, err) < 0 ||
		lm_device_put_floats(dev, a, w->ln_emb_w, c->dim, &d->ln_emb_w, err) < 0 ||
		lm_device_put_floats(dev, a, w->ln_emb_b, c->dim, &d->ln_emb_b, err) < 0)
		return -1;
	for (int l = 0; l < c->n_layers; l++)
	{
		const BertLayer *L = &w->layers[l];
		BertDevLayer *D = &d->layers[l];

		if (lm_check_cancel(err) < 0 ||
			lm_device_put_matrix(dev, a, L->wq, &D->wq, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wk, &D->wk, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wv, &D->wv, err) < 0 ||
			lm_device_put_floats(dev, a, L->bq, c->dim, &D->bq, err) < 0 ||
			lm_device_put_floats(dev, a, L->bk, c->dim, &D->bk, err) < 0 ||
			lm_device_put_floats(dev, a, L->bv, c->dim, &D->bv, err) < 0 ||
			lm_device_put_matrix(dev, a, L->wo, &D->wo, err) < 0 ||
			lm_device_put_floats(dev, a, L->bo, c->dim, &D->bo, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln_att_w, c->dim, &D->ln_att_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln_att_b, c->dim, &D->ln_att_b, err) < 0 ||
			lm_device_put_matrix(dev, a, L->w_in, &D->w_in, err) < 0 ||
			lm_device_put_floats(dev, a, L->b_in, c->ffn_dim, &D->b_in, err) < 0 ||
			lm_device_put_matrix(dev, a, L->w_out, &D->w_out, err) < 0 ||
			lm_device_put_floats(dev, a, L->b_out, c->dim, &D->b_out, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln_out_w, c->dim, &D->ln_out_w, err) < 0 ||
			lm_device_put_floats(dev, a, L->ln_out_b, c->dim, &D->ln_out_b, err) < 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * States */

static void
dev_free(void *impl)
{
	BertDev    *d = impl;

	lm_device_model_free(&d->dm);
	free(d->layers);
	free(d);
}

static void
dev_state_free(void *state)
{
	BertDevState *s = state;

	if (s == NULL)
		return;
	if (s->host_state != NULL)
		s->host_state_free(s->host_state);
	free(s);
}

static void *
dev_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	const BertDev *d = impl;
	BertDevState *s = lm_calloc(1, sizeof(BertDevState), err);

	if (s == NULL)
		return NULL;
	s->capacity = capacity;
	s->max_chunk = max_chunk;
	s->host_state_free = d->dm.host_ops->state_free;
	s->host_state = d->dm.host_ops->state_new(d->dm.host_impl, capacity, max_chunk, err);
	if (s->host_state == NULL)
	{
		free(s);
		return NULL;
	}
	return s;
}

/* ----------------------------------------------------------------------------
 * The forward pass */

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
rows_scratch(BertDev *d, int n, Rows *r, LmError *err)
{
	size_t		row = (size_t) n * d->host->c.dim;
	float	   *p = lm_device_model_scratch(&d->dm, 6 * row + (size_t) n * d->host->c.ffn_dim, err);

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

/* word + position + token type 0 into r->xb, normalised into r->x */
static int
embed(BertDev *d, const int32_t *ids, const int *lengths, int n_seq, int n, Rows *r,
	  LmError *err)
{
	const BertConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int32_t    *rows = lm_malloc(sizeof(int32_t) * 2 * (size_t) n, err);
	int32_t    *zeros;
	int			rc = -1;

	if (rows == NULL)
		return -1;
	zeros = rows + n;
	for (int i = 0, t = 0; i < n_seq; i++)
		for (int p = 0; p < lengths[i]; p++, t++)
		{
			rows[t] = p;
			zeros[t] = 0;
		}
	if (LM_DEV(dev, err, gather_rows, r->xb, d->word, ids, n, c->dim) == 0 &&
		LM_DEV(dev, err, gather_rows, r->x, d->position, rows, n, c->dim) == 0 &&
		LM_DEV(dev, err, add, r->xb, r->x, (long) n * c->dim) == 0 &&
		LM_DEV(dev, err, gather_rows, r->x, d->token_type, zeros, n, c->dim) == 0 &&
		LM_DEV(dev, err, add, r->xb, r->x, (long) n * c->dim) == 0)
		rc = LM_DEV(dev, err, layernorm, r->x, r->xb, d->ln_emb_w, d->ln_emb_b, n, c->dim, c->eps);
	free(rows);
	return rc;
}

static int
run_layers(BertDev *d, const uint8_t *key_masks, const int *lengths, int n_seq, int n,
		   Rows *r, LmError *err)
{
	const BertConfig *c = &d->host->c;
	LmDevice   *dev = d->dm.dev;
	int			dim = c->dim;
	LmDeviceAttention attn = {c->n_heads, c->n_heads, c->head_dim, 1.0f / sqrtf((float) c->head_dim), 0};

	for (int l = 0; l < c->n_layers; l++)
	{
		const BertDevLayer *L = &d->layers[l];

		if (lm_check_cancel(err) < 0 ||
			LM_DEV(dev, err, linear, r->q, r->x, L->wq, L->bq, n, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r->k, r->x, L->wk, L->bk, n, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, linear, r->v, r->x, L->wv, L->bv, n, dim, dim, LM_DEVICE_W_OUT_IN, 0) < 0)
			return -1;
		for (int i = 0, t0 = 0; i < n_seq; t0 += lengths[i], i++)
		{
			size_t		off = (size_t) t0 * dim;

			if (LM_DEV(dev, err, attention, &attn, r->att_out + off, dim, r->q + off, dim,
					   r->k + off, r->v + off, dim, lengths[i], lengths[i], 0,
					   key_masks ? key_masks + t0 : NULL) < 0)
				return -1;
		}
		/* residual sums and their LayerNorms in place, as bert.c */
		if (LM_DEV(dev, err, linear, r->x, r->att_out, L->wo, L->bo, n, dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0 ||
			LM_DEV(dev, err, layernorm, r->x, r->x, L->ln_att_w, L->ln_att_b, n, dim, c->eps) < 0 ||
			LM_DEV(dev, err, linear, r->hb, r->x, L->w_in, L->b_in, n, dim, c->ffn_dim, LM_DEVICE_W_OUT_IN, 0) < 0 ||
			LM_DEV(dev, err, activate, r->hb, (long) n * c->ffn_dim, c->act) < 0 ||
			LM_DEV(dev, err, linear, r->x, r->hb, L->w_out, L->b_out, n, c->ffn_dim, dim, LM_DEVICE_W_OUT_IN, 1) < 0 ||
			LM_DEV(dev, err, layernorm, r->x, r->x, L->ln_out_w, L->ln_out_b, n, dim, c->eps) < 0)
			return -1;
	}
	return 0;
}

static int
dev_forward_batch(const void *impl, void *state, const int32_t *ids, const uint8_t *key_masks,
				  const int *lengths, int n_seq, float *hidden, LmError *err)
{
	BertDev    *d = (BertDev *) impl;
	const BertConfig *c = &d->host->c;
	BertDevState *s = state;
	LmDevice   *dev = d->dm.dev;
	Rows		r;
	int			n = 0;
	int			rc = -1;

	for (int i = 0; i < n_seq; i++)
	{
		if (lengths[i] > s->capacity || lengths[i] > c->max_positions)
			return lm_fail(err, LM_ERR_INTERNAL, "a sequence is longer than the BERT state");
		n += lengths[i];
	}
	if (n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "too many tokens for the BERT state");
	pthread_mutex_lock(&dev->lock);
	if (rows_scratch(d, n, &r, err) == 0 &&
		embed(d, ids, lengths, n_seq, n, &r, err) == 0 &&
		run_layers(d, key_masks, lengths, n_seq, n, &r, err) == 0)
		rc = LM_DEV(dev, err, download, hidden, r.x, sizeof(float) * (size_t) n * c->dim);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

static int
dev_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
			int n, int pos, float *hidden, LmError *err)
{
	if (pos != 0)
		return lm_fail(err, LM_ERR_INTERNAL, "BERT runs whole inputs only");
	return dev_forward_batch(impl, state, ids, key_mask, &n, 1, hidden, err);
}

static int
dev_token_logits(const void *impl, void *state, const float *hidden, int n, float *logits,
				 LmError *err)
{
	const BertDev *d = impl;

	return d->dm.host_ops->token_logits(d->dm.host_impl, ((BertDevState *) state)->host_state,
										hidden, n, logits, err);
}

static int
dev_classify(const void *impl, void *state, const float *hidden, int n, float *logits,
			 LmError *err)
{
	const BertDev *d = impl;

	return d->dm.host_ops->classify(d->dm.host_impl, ((BertDevState *) state)->host_state,
									hidden, n, logits, err);
}

/* One table per head, as bert.c has: the facade reads which heads exist from the ops. */
static const LmArchOps bert_device_ops = {
	.free = dev_free,
	.state_new = dev_state_new,
	.state_free = dev_state_free,
	.forward = dev_forward,
	.forward_batch = dev_forward_batch,
};

static const LmArchOps bert_mlm_device_ops = {
	.free = dev_free,
	.state_new = dev_state_new,
	.state_free = dev_state_free,
	.forward = dev_forward,
	.forward_batch = dev_forward_batch,
	.token_logits = dev_token_logits,
};

static const LmArchOps bert_classifier_device_ops = {
	.free = dev_free,
	.state_new = dev_state_new,
	.state_free = dev_state_free,
	.forward = dev_forward,
	.forward_batch = dev_forward_batch,
	.classify = dev_classify,
};

int
lm_bert_to_device(LmModel *model, LmDevice *dev, LmError *err)
{
	BertDev    *d = lm_calloc(1, sizeof(BertDev), err);
	const LmArchOps *ops = model->ops->classify ? &bert_classifier_device_ops :
		model->ops->token_logits ? &bert_mlm_device_ops : &bert_device_ops;

	if (d == NULL)
		return -1;
	lm_device_model_init(&d->dm, model, dev);
	d->host = model->impl;
	if ((d->layers = lm_calloc(d->host->c.n_layers, sizeof(BertDevLayer), err)) == NULL ||
		lm_device_model_move(model, &d->dm, put_weights, d, ops, NULL, err) < 0)
	{
		free(d->layers);
		free(d);
		return -1;
	}
	return 0;
}
