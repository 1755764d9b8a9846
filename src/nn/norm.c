/*
 * norm.c — LayerNorm (GPT-2, BERT) and RMSNorm (Llama).
 *
 * Statistics are accumulated in double: it costs nothing next to the
 * matrix products and keeps rows with a large mean exact.
 */
#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/vmath.h"

#include <math.h>

static void
layernorm_rows(float *out, const float *x, const float *weight, const float *bias,
			   int n, int dim, float eps)
{
	if (lm_vec_layernorm(out, x, weight, bias, n, dim, eps))
		return;
	for (int i = 0; i < n; i++)
	{
		const float *row = x + (long) i * dim;
		float	   *o = out + (long) i * dim;
		double		mean = 0.0;
		double		var = 0.0;
		float		inv;

		for (int j = 0; j < dim; j++)
			mean += row[j];
		mean /= dim;
		for (int j = 0; j < dim; j++)
			var += (row[j] - mean) * (row[j] - mean);
		var /= dim;
		inv = (float) (1.0 / sqrt(var + eps));
		for (int j = 0; j < dim; j++)
		{
			float		v = ((float) (row[j] - mean)) * inv * weight[j];

			o[j] = bias != NULL ? v + bias[j] : v;
		}
	}
}

static void
rmsnorm_rows(float *out, const float *x, const float *weight, const float *bias,
			 int n, int dim, float eps)
{
	(void) bias;
	for (int i = 0; i < n; i++)
	{
		const float *row = x + (long) i * dim;
		float	   *o = out + (long) i * dim;
		double		ss = 0.0;
		float		inv;

		for (int j = 0; j < dim; j++)
			ss += (double) row[j] * row[j];
		inv = (float) (1.0 / sqrt(ss / dim + eps));
		for (int j = 0; j < dim; j++)
			o[j] = weight[j] * (row[j] * inv);
	}
}

/* ---- threads: each takes whole rows, normalised as one thread would ---------- */

#define PARALLEL_MIN_ROWS 16

typedef void (*RowsFn) (float *out, const float *x, const float *weight, const float *bias,
						int n, int dim, float eps);

typedef struct NormRows
{
	RowsFn		fn;
	float	   *out;
	const float *x;
	const float *weight;
	const float *bias;
	int			dim;
	float		eps;
} NormRows;

static void
norm_rows(void *arg, long start, long n)
{
	const NormRows *r = arg;

	r->fn(r->out + start * r->dim, r->x + start * r->dim, r->weight, r->bias, (int) n, r->dim,
		  r->eps);
}

static void
norm_all(RowsFn fn, float *out, const float *x, const float *weight, const float *bias,
		 int n, int dim, float eps)
{
	NormRows	r = {fn, out, x, weight, bias, dim, eps};

	lm_parallel_ranges(n, 1, PARALLEL_MIN_ROWS, norm_rows, &r);
}

void
lm_layernorm(float *out, const float *x, const float *weight, const float *bias,
			 int n, int dim, float eps)
{
	norm_all(layernorm_rows, out, x, weight, bias, n, dim, eps);
}

void
lm_rmsnorm(float *out, const float *x, const float *weight, int n, int dim, float eps)
{
	norm_all(rmsnorm_rows, out, x, weight, NULL, n, dim, eps);
}
