/*
 * attention.c — multi-head attention over a block of keys, and the KV cache.
 *
 * Per head, two matrix products: scores = Q_h K_hᵀ (n × n_keys), then
 * out_h = P V_h, with a masked softmax in between.  Heads are column slices
 * of the row buffers, read in place through their row strides (gemm.c for
 * several queries, BLAS's sgemv for one).
 */
#include "nn/attention.h"

#include "nn/blas.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/vmath.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x[0 .. count) *= s */
static void
scale_row(float *x, long count, float s)
{
	for (long i = lm_vec_scale(x, count, s); i < count; i++)
		x[i] *= s;
}

/*
 * Softmax of scale · row[0 .. visible) (scale > 0) skipping padded keys;
 * everything else is 0.
 */
static void
masked_softmax(float *row, int visible, int n_keys, const uint8_t *key_mask, float scale)
{
	float		max = -INFINITY;
	float		shift;
	double		sum = 0.0;

	if (key_mask == NULL)
	{
		for (int j = (int) lm_vec_max(row, visible, &max); j < visible; j++)
			if (row[j] > max)
				max = row[j];
	}
	else
		for (int j = 0; j < visible; j++)
			if (key_mask[j] && row[j] > max)
				max = row[j];
	shift = scale * max;
	if (key_mask == NULL)
	{
		/* no padding: the visible keys are a prefix, vectorised where possible */
		int			j = (int) lm_vec_exp_scaled(row, visible, scale, shift, &sum);

		for (; j < visible; j++)
		{
			row[j] = expf(scale * row[j] - shift);
			sum += row[j];
		}
		for (; j < n_keys; j++)
			row[j] = 0.0f;
	}
	else
	{
		for (int j = 0; j < n_keys; j++)
		{
			if (j < visible && key_mask[j])
			{
				row[j] = expf(scale * row[j] - shift);
				sum += row[j];
			}
			else
				row[j] = 0.0f;
		}
	}
	if (sum > 0.0)
		scale_row(row, visible, (float) (1.0 / sum));
}

void
lm_attention(const LmAttention *a, float *out, int out_stride,
			 const float *q, int q_stride,
			 const float *k, const float *v, int kv_stride,
			 int n, int n_keys, int first_pos,
			 const uint8_t *key_mask, float *scratch)
{
	lm_attention_biased(a, out, out_stride, q, q_stride, k, v, kv_stride, n, n_keys,
						first_pos, key_mask, NULL, scratch);
}

typedef struct Heads
{
	const LmAttention *a;
	float	   *out;
	int			out_stride;
	const float *q;
	int			q_stride;
	const float *k;
	const float *v;
	int			kv_stride;
	int			n;
	int			n_keys;
	int			first_pos;
	const uint8_t *key_mask;
	const float *bias;
	float	   *scores;			/* threads: [threads][n][n_keys], a block per thread */
} Heads;

/*
 * Query rows i0 .. i0+rows of one head against keys 0 .. keys (the keys
 * past them masked for every one of these rows), into its columns of out.
 */
static void
attend_rows(const Heads *c, int h, int i0, int rows, int keys, float *scratch)
{
	const LmAttention *a = c->a;
	int			hd = a->head_dim;
	int			group = a->n_heads / a->n_kv_heads;
	int			n = c->n,
				kv_stride = c->kv_stride,
				q_stride = c->q_stride,
				out_stride = c->out_stride,
				first_pos = c->first_pos;
	const float *qh = c->q + (long) i0 * q_stride + h * hd;
	const float *kh = c->k + (h / group) * hd;
	const float *vh = c->v + (h / group) * hd;
	float	   *oh = c->out + (long) i0 * out_stride + h * hd;
	const float *bias = c->bias;
	const uint8_t *key_mask = c->key_mask;

	/* scores[i][j] = scale · q_i · k_j (one query, as in decoding: sgemv) */
	if (n == 1)
		lm_sgemv(CblasRowMajor, CblasNoTrans, keys, hd, a->scale, kh, kv_stride, qh, 1, 0.0f, scratch, 1);
	else
	{
		lm_gemm_strided(scratch, keys, qh, q_stride, rows, kh, kv_stride, keys, hd, false);
		/* the softmax scales the scores itself, unless a bias is to be added to them */
		if (bias != NULL || !(a->scale > 0.0f))
			scale_row(scratch, (long) rows * keys, a->scale);
	}
	for (int i = 0; bias != NULL && i < rows; i++)
		lm_add(scratch + (long) i * keys, bias + ((long) h * n + i0 + i) * c->n_keys, keys);
	for (int i = 0; i < rows; i++)
	{
		int			pos = first_pos + i0 + i;	/* the query's position among the keys */
		int			visible = keys;
		int			first = 0;	/* keys before it fell out of a sliding window */
		float	   *row = scratch + (long) i * keys;

		if (a->causal && pos + 1 < keys)
			visible = pos + 1;
		if (a->causal && a->window > 0 && pos + 1 > a->window)
			first = pos + 1 - a->window;
		memset(row, 0, sizeof(float) * first);
		masked_softmax(row + first, visible - first, keys - first, key_mask != NULL ? key_mask + first : NULL,
					   n > 1 && bias == NULL && a->scale > 0.0f ? a->scale : 1.0f);
	}
	/* out_h = P · V_h */
	if (n == 1)
		lm_sgemv(CblasRowMajor, CblasTrans, keys, hd, 1.0f, vh, kv_stride, scratch, 1, 0.0f, oh, 1);
	else
		lm_gemm_strided(oh, out_stride, scratch, keys, rows, vh, kv_stride, keys, hd, true);
}

/*
 * Causal attention over a long prompt takes its queries this many at a
 * time, each block against the keys up to its last query only: the scores
 * above the diagonal are never computed (about half of them).
 */
#define QUERY_BLOCK 128

/* One head's attention into its columns of out. */
static void
attend_head(const Heads *c, int h, float *scratch)
{
	if (!c->a->causal || c->n <= QUERY_BLOCK)
	{
		attend_rows(c, h, 0, c->n, c->n_keys, scratch);
		return;
	}
	for (int i0 = 0; i0 < c->n; i0 += QUERY_BLOCK)
	{
		int			rows = c->n - i0 < QUERY_BLOCK ? c->n - i0 : QUERY_BLOCK;
		int			keys = c->first_pos + i0 + rows < c->n_keys ? c->first_pos + i0 + rows : c->n_keys;

		attend_rows(c, h, i0, rows, keys, scratch);
	}
}

static void
head_job(void *arg, int h)
{
	const Heads *c = arg;

	/* each thread's own block, reused head after head: it stays in the core's cache */
	attend_head(c, h, c->scores + (size_t) lm_parallel_thread_index() * c->n * c->n_keys);
}

/* Several query rows: enough work per head to give each thread some heads. */
#define PARALLEL_MIN_SCORES 4096

void
lm_attention_biased(const LmAttention *a, float *out, int out_stride,
					const float *q, int q_stride,
					const float *k, const float *v, int kv_stride,
					int n, int n_keys, int first_pos,
					const uint8_t *key_mask, const float *bias, float *scratch)
{
	Heads		c = {a, out, out_stride, q, q_stride, k, v, kv_stride, n, n_keys, first_pos,
	key_mask, bias, NULL};

	/* threads take whole heads, each with scores of its own (or one thread, if no memory) */
	if (lm_parallel_threads() > 1 && n > 1 && (long) n * n_keys >= PARALLEL_MIN_SCORES &&
		(c.scores = malloc(sizeof(float) * (size_t) lm_parallel_threads() * n * n_keys)) != NULL)
	{
		lm_parallel_run(a->n_heads, head_job, &c);
		free(c.scores);
		return;
	}
	for (int h = 0; h < a->n_heads; h++)
		attend_head(&c, h, scratch);
}

int
lm_kv_cache_init(LmKVCache *cache, int n_layers, int capacity, int kv_dim, LmError *err)
{
	size_t		count = (size_t) n_layers * capacity * kv_dim;

	memset(cache, 0, sizeof(*cache));
	cache->k = lm_malloc_large(count * sizeof(float), err);
	cache->v = cache->k ? lm_malloc_large(count * sizeof(float), err) : NULL;
	if (cache->v == NULL)
	{
		free(cache->k);
		cache->k = NULL;
		return -1;
	}
	cache->n_layers = n_layers;
	cache->capacity = capacity;
	cache->kv_dim = kv_dim;
	return 0;
}

void
lm_kv_cache_free(LmKVCache *cache)
{
	free(cache->k);
	free(cache->v);
	memset(cache, 0, sizeof(*cache));
}

LmKVCache *
lm_kv_cache_new(int n_layers, int capacity, int kv_dim, LmError *err)
{
	LmKVCache  *cache = lm_calloc(1, sizeof(LmKVCache), err);

	if (cache != NULL && lm_kv_cache_init(cache, n_layers, capacity, kv_dim, err) < 0)
	{
		free(cache);
		return NULL;
	}
	return cache;
}

void
lm_kv_cache_delete(void *cache)
{
	if (cache == NULL)
		return;
	lm_kv_cache_free(cache);
	free(cache);
}

void
lm_kv_cache_copy(LmKVCache *dst, const LmKVCache *src, int n)
{
	size_t		row = (size_t) src->kv_dim * sizeof(float);

	for (int l = 0; l < src->n_layers; l++)
	{
		memcpy(lm_kv_cache_k(dst, l, 0), lm_kv_cache_k(src, l, 0), n * row);
		memcpy(lm_kv_cache_v(dst, l, 0), lm_kv_cache_v(src, l, 0), n * row);
	}
}
