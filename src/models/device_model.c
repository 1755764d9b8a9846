/*
 * device_model.c — the parts every device model shares (device_model.h).
 */
#include "models/device_model.h"

#include <stdlib.h>
#include <string.h>

void
lm_device_model_init(LmDeviceModel *dm, const LmModel *model, LmDevice *dev)
{
	memset(dm, 0, sizeof(*dm));
	dm->dev = dev;
	dm->host_ops = model->ops;
	dm->host_impl = model->impl;
}

void
lm_device_model_release(LmDeviceModel *dm)
{
	lm_device_release_all(dm->dev, &dm->weights);
	lm_device_release_all(dm->dev, &dm->scratch);
	dm->scratch_block = NULL;
	dm->scratch_floats = 0;
}

void
lm_device_model_free(LmDeviceModel *dm)
{
	/* another model may be running on the device: one user of it at a time */
	pthread_mutex_lock(&dm->dev->lock);
	lm_device_model_release(dm);
	pthread_mutex_unlock(&dm->dev->lock);
	dm->host_ops->free(dm->host_impl);
}

float *
lm_device_model_scratch(LmDeviceModel *dm, size_t floats, LmError *err)
{
	if (floats <= dm->scratch_floats)
		return dm->scratch_block;
	lm_device_release_all(dm->dev, &dm->scratch);
	dm->scratch_floats = 0;
	/* grow by half again, so that a batch growing by one row does not reallocate each step */
	floats += floats / 2;
	dm->scratch_block = lm_device_alloc(dm->dev, &dm->scratch, sizeof(float) * floats, err);
	if (dm->scratch_block != NULL)
		dm->scratch_floats = floats;
	return dm->scratch_block;
}

int
lm_device_model_put_rows(LmDeviceModel *dm, float *dst, const float *host, int n, int dim,
						 LmError *err)
{
	return LM_DEV(dm->dev, err, upload, dst, host, sizeof(float) * (size_t) n * dim);
}

int
lm_device_row_lists(LmDeviceRowLists *l, int n, LmError *err)
{
	float	  **p;

	memset(l, 0, sizeof(*l));
	if (n <= 0)
		return 0;
	/* one block: four lists of pointers, then the key counts */
	if ((p = lm_malloc((sizeof(float *) * 4 + sizeof(int)) * (size_t) n, err)) == NULL)
		return -1;
	l->k_at = p;
	l->v_at = p + n;
	l->k_from = p + 2 * n;
	l->v_from = p + 3 * n;
	l->keys = (int *) (p + 4 * n);
	return 0;
}

void
lm_device_row_lists_free(LmDeviceRowLists *l)
{
	free(l->k_at);
	memset(l, 0, sizeof(*l));
}

/* ----------------------------------------------------------------------------
 * KV caches */

int
lm_device_cache_init(LmDeviceCache *c, LmDevice *dev, int n_layers, int capacity, int kv_dim,
					 LmError *err)
{
	size_t		bytes = sizeof(float) * (size_t) n_layers * capacity * kv_dim;

	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->n_layers = n_layers;
	c->capacity = capacity;
	c->kv_dim = kv_dim;
	pthread_mutex_lock(&dev->lock);
	c->k = lm_device_alloc(dev, &c->allocs, bytes, err);
	c->v = c->k ? lm_device_alloc(dev, &c->allocs, bytes, err) : NULL;
	if (c->v == NULL)
		lm_device_release_all(dev, &c->allocs);
	pthread_mutex_unlock(&dev->lock);
	return c->v ? 0 : -1;
}

LmDeviceCache *
lm_device_cache_new(LmDevice *dev, int n_layers, int capacity, int kv_dim, LmError *err)
{
	LmDeviceCache *c = lm_malloc(sizeof(LmDeviceCache), err);

	if (c != NULL && lm_device_cache_init(c, dev, n_layers, capacity, kv_dim, err) < 0)
	{
		free(c);
		return NULL;
	}
	return c;
}

void
lm_device_cache_release(LmDeviceCache *c)
{
	if (c->dev == NULL)
		return;
	pthread_mutex_lock(&c->dev->lock);
	lm_device_release_all(c->dev, &c->allocs);
	pthread_mutex_unlock(&c->dev->lock);
}

void
lm_device_cache_free(void *cache)
{
	if (cache == NULL)
		return;
	lm_device_cache_release(cache);
	free(cache);
}

/* ----------------------------------------------------------------------------
 * Moving a model, and the output head */

int
lm_device_model_move(LmModel *model, LmDeviceModel *dm, int (*put) (void *impl, LmError *err),
					 void *impl, const LmArchOps *ops, const LmSeq2SeqOps *seq2seq, LmError *err)
{
	int			rc;

	pthread_mutex_lock(&dm->dev->lock);
	rc = put(impl, err);
	if (rc < 0)
		lm_device_model_release(dm);
	pthread_mutex_unlock(&dm->dev->lock);
	if (rc < 0)
		return -1;
	model->ops = ops;
	if (seq2seq != NULL)
		model->seq2seq = seq2seq;
	model->impl = impl;
	return 0;
}

/*
 * hidden's rows through the head into the device's scratch; then either
 * the logits come back (logits) or only each row's argmax (ids).
 */
static int
head_on_device(LmDeviceModel *dm, const float *head, const float *bias, int dim, int vocab,
			   const float *hidden, int n, float *logits, int32_t *ids, LmError *err)
{
	LmDevice   *dev = dm->dev;
	float	   *x;
	int			rc = -1;

	pthread_mutex_lock(&dev->lock);
	x = lm_device_model_scratch(dm, (size_t) n * (dim + vocab), err);
	if (x != NULL &&
		lm_device_model_put_rows(dm, x, hidden, n, dim, err) == 0 &&
		LM_DEV(dev, err, linear, x + (size_t) n * dim, x, head, bias, n, dim, vocab, LM_DEVICE_W_OUT_IN, 0) == 0)
		rc = logits != NULL
			? LM_DEV(dev, err, download, logits, x + (size_t) n * dim, sizeof(float) * (size_t) n * vocab)
			: LM_DEV(dev, err, argmax_rows, ids, x + (size_t) n * dim, n, vocab);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int
lm_device_model_head(LmDeviceModel *dm, const float *head, const float *bias, int dim, int vocab,
					 const float *hidden, int n, float *logits, LmError *err)
{
	return head_on_device(dm, head, bias, dim, vocab, hidden, n, logits, NULL, err);
}

int
lm_device_model_head_argmax(LmDeviceModel *dm, const float *head, const float *bias, int dim,
							int vocab, const float *hidden, int n, int32_t *ids, LmError *err)
{
	return head_on_device(dm, head, bias, dim, vocab, hidden, n, NULL, ids, err);
}
