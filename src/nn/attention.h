/*
 * attention.h — multi-head scaled dot-product attention (causal or
 * bidirectional, with an optional padding mask, grouped-query heads) and
 * the key/value cache that incremental decoding keeps between steps.
 */
#ifndef LM_NN_ATTENTION_H
#define LM_NN_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmAttention
{
	int			n_heads;		/* query heads */
	int			n_kv_heads;		/* key/value heads; divides n_heads (GQA) */
	int			head_dim;
	float		scale;			/* usually 1 / sqrt(head_dim) */
	bool		causal;			/* query i sees keys 0 .. first_pos + i only */
	int			window;			/* causal, > 0: only the last `window` of those (Mistral) */
} LmAttention;

/*
 * out[i] = Σ_j softmax_j(scale · q_i · k_j) v_j, per head.
 *
 * q:   n rows of q_stride floats; head h starts at column h · head_dim.
 * k,v: n_keys rows of kv_stride floats; kv head g at column g · head_dim;
 *      query head h reads kv head h / (n_heads / n_kv_heads).
 * out: n rows of out_stride floats, same column layout as q.
 * first_pos: position of query row 0 among the keys (causal masking).
 * key_mask: NULL, or n_keys bytes where 0 marks padding that no query
 *      attends to (a query row that sees no key gets zeros).
 * scratch: at least n · n_keys floats.
 */
void		lm_attention(const LmAttention *a, float *out, int out_stride,
						 const float *q, int q_stride,
						 const float *k, const float *v, int kv_stride,
						 int n, int n_keys, int first_pos,
						 const uint8_t *key_mask, float *scratch);

/*
 * lm_attention with an additive bias on the scores before the softmax,
 * scale · q_i · k_j + bias[h][i][j] (T5's relative position bias).
 * bias: n_heads · n · n_keys floats, or NULL for none.
 */
void		lm_attention_biased(const LmAttention *a, float *out, int out_stride,
								const float *q, int q_stride,
								const float *k, const float *v, int kv_stride,
								int n, int n_keys, int first_pos,
								const uint8_t *key_mask, const float *bias,
								float *scratch);

/* Keys and values of every layer for up to `capacity` positions. */
typedef struct LmKVCache
{
	int			n_layers;
	int			capacity;		/* positions */
	int			kv_dim;			/* n_kv_heads · head_dim */
	float	   *k;				/* [n_layers][capacity][kv_dim] */
	float	   *v;
} LmKVCache;

int			lm_kv_cache_init(LmKVCache *cache, int n_layers, int capacity, int kv_dim,
							 LmError *err);
void		lm_kv_cache_free(LmKVCache *cache);

/*
 * A cache on the heap, as encoder-decoders keep their cross-attention keys
 * and values; NULL on error.  lm_kv_cache_delete frees it (NULL is fine) and
 * takes a void * so that it can serve as an architecture's cross_free.
 */
LmKVCache  *lm_kv_cache_new(int n_layers, int capacity, int kv_dim, LmError *err);
void		lm_kv_cache_delete(void *cache);

/*
 * Copy the first n positions of every layer from src to dst (caches of the
 * same shape): beam search gives a beam the history of another.
 */
void		lm_kv_cache_copy(LmKVCache *dst, const LmKVCache *src, int n);

/* Row `pos` of layer `layer`. */
static inline float *
lm_kv_cache_k(const LmKVCache *cache, int layer, int pos)
{
	return cache->k + ((long) layer * cache->capacity + pos) * cache->kv_dim;
}

static inline float *
lm_kv_cache_v(const LmKVCache *cache, int layer, int pos)
{
	return cache->v + ((long) layer * cache->capacity + pos) * cache->kv_dim;
}

#endif
