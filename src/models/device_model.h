/*
 * device_model.h — what the device versions of the architectures
 * (gpt2_device.c, llama_device.c, bert_device.c) share: the host model they
 * were made from (kept for the small heads and to free it), the device
 * buffers of their weights, and a scratch area for the rows of one call.
 *
 * Every entry point of a device model holds the device's lock for the
 * whole call: one forward pass at a time on a device, as one queue runs
 * its kernels in order anyway.
 */
#ifndef LM_MODELS_DEVICE_MODEL_H
#define LM_MODELS_DEVICE_MODEL_H

#include "device/device.h"
#include "models/arch.h"

typedef struct LmDeviceModel
{
	LmDevice   *dev;
	const LmArchOps *host_ops;
	void	   *host_impl;
	LmDeviceAllocs weights;
	LmDeviceAllocs scratch;		/* the one block below */
	float	   *scratch_block;
	size_t		scratch_floats;
} LmDeviceModel;

/*
 * Host lists for sequences decoded together, one entry a sequence: where
 * its new key and value rows go, where its cache starts, how many keys it
 * has (the device's scatter_rows and attention_rows).
 */
typedef struct LmDeviceRowLists
{
	float	  **k_at,
			  **v_at,
			  **k_from,
			  **v_from;
	int		   *keys;
} LmDeviceRowLists;

/* Lists for n sequences (n = 0: none, nothing allocated); -1 when out of memory. */
int			lm_device_row_lists(LmDeviceRowLists *l, int n, LmError *err);
void		lm_device_row_lists_free(LmDeviceRowLists *l);

/* A decoder's KV cache on the device: [n_layers][capacity][kv_dim] keys and values. */
typedef struct LmDeviceCache
{
	LmDevice   *dev;			/* a state's free gets no impl */
	int			n_layers;
	int			capacity;
	int			kv_dim;
	LmDeviceAllocs allocs;
	float	   *k,
			   *v;
} LmDeviceCache;

/* A cache in *c (inside a state), or one of its own; the device's lock is taken. */
int			lm_device_cache_init(LmDeviceCache *c, LmDevice *dev, int n_layers, int capacity,
								 int kv_dim, LmError *err);
LmDeviceCache *lm_device_cache_new(LmDevice *dev, int n_layers, int capacity, int kv_dim,
								   LmError *err);
void		lm_device_cache_release(LmDeviceCache *c);
void		lm_device_cache_free(void *cache);	/* a state_free for lm_device_cache_new's */

/* Row pos of layer's keys (values). */
static inline float *
lm_device_cache_k(const LmDeviceCache *c, int layer, int pos)
{
	return c->k + ((size_t) layer * c->capacity + pos) * c->kv_dim;
}

static inline float *
lm_device_cache_v(const LmDeviceCache *c, int layer, int pos)
{
	return c->v + ((size_t) layer * c->capacity + pos) * c->kv_dim;
}

/*
 * Upload a model's weights with put(impl) under the device's lock and,
 * when that worked, make model run as ops (and seq2seq, for an
 * encoder-decoder) over impl; on failure what put uploaded is released
 * and model is unchanged.
 */
int			lm_device_model_move(LmModel *model, LmDeviceModel *dm,
								 int (*put) (void *impl, LmError *err), void *impl,
								 const LmArchOps *ops, const LmSeq2SeqOps *seq2seq, LmError *err);

/*
 * logits[n][vocab] = hidden[n][dim] (host) · headᵀ + bias (NULL: none),
 * with head [vocab][dim] on the device; takes the device's lock.
 */
int			lm_device_model_head(LmDeviceModel *dm, const float *head, const float *bias, int dim,
								 int vocab, const float *hidden, int n, float *logits, LmError *err);

/* The same, but only each row's argmax comes back: ids[n] (greedy decoding). */
int			lm_device_model_head_argmax(LmDeviceModel *dm, const float *head, const float *bias,
										int dim, int vocab, const float *hidden, int n, int32_t *ids,
										LmError *err);

/* Take over the host model's ops and impl (model->ops/impl stay until swapped). */
void		lm_device_model_init(LmDeviceModel *dm, const LmModel *model, LmDevice *dev);

/* Release the device buffers (taking the device's lock) and free the host model. */
void		lm_device_model_free(LmDeviceModel *dm);

/* Release only the device buffers, the lock held (a failed move: the host model lives on). */
void		lm_device_model_release(LmDeviceModel *dm);

/* A scratch block of at least floats floats, valid until the next call; NULL on error. */
float	   *lm_device_model_scratch(LmDeviceModel *dm, size_t floats, LmError *err);

/* Copy n rows of hidden states from the host to the device at dst. */
int			lm_device_model_put_rows(LmDeviceModel *dm, float *dst, const float *host,
									 int n, int dim, LmError *err);

#endif
