/*
 * vmath.c — activations and the softmax exponential, eight floats at a time
 * with AVX2 + FMA (chosen at run time, like the gemv kernels; see vmath.h).
 *
 * After the matrix products, a prompt or a batch spends most of its time in
 * erff, tanhf and expf, one element per call.  These kernels replace them
 * with polynomial approximations whose error (a few units in the last place
 * of a float) is far below what the parity tolerances allow:
 *   exp:  Cody-Waite range reduction and Cephes' degree-6 polynomial;
 *   erf:  a rational approximation on [-4, 4] (erf is ±1 in float outside);
 *   the tanh GELU as x · σ(2u), since (1 + tanh u) / 2 = σ(2u).
 */
#include "nn/vmath.h"

#include <immintrin.h>
#include <math.h>

#include "nn/matrix.h"

#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* sqrt(2 / π), 1 / sqrt(2), as in activation.c */
#define GELU_TANH_SCALE 0.7978845608028654f
#define GELU_TANH_CUBIC 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define QUICK_GELU_SCALE 1.702f

static ALWAYS_INLINE TARGET_AVX2 __m256
exp8(__m256 x)
{
	/* e^x = 2^n · e^r, n = round(x / ln 2), r = x - n ln 2 in two parts */
	const __m256 hi = _mm256_set1_ps(88.3762626647949f);
	const __m256 lo = _mm256_set1_ps(-87.3365447504f);	/* keeps 2^n normal */
	__m256		n,
				r,
				p;
	__m256i		scale;

	x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
	n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
						_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

/* 1 / (1 + e^-z) */
static ALWAYS_INLINE TARGET_AVX2 __m256
sigmoid8(__m256 z)
{
	const __m256 one = _mm256_set1_ps(1.0f);

	return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

static ALWAYS_INLINE TARGET_AVX2 __m256
erf8(__m256 x)
{
	__m256		x2,
				p,
				q;

	x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
	x2 = _mm256_mul_ps(x, x);
	p = _mm256_set1_ps(-2.72614225801306e-10f);
	p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
	p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
	p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
	p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
	p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
	p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
	p = _mm256_mul_ps(p, x);
	q = _mm256_set1_ps(-1.45660718464996e-05f);
	q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
	q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
	q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
	q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
	return _mm256_div_ps(p, q);
}

static ALWAYS_INLINE TARGET_AVX2 __m256
activate8(__m256 x, LmActivation act)
{
	const __m256 half = _mm256_set1_ps(0.5f);

	switch (act)
	{
		case LM_ACT_GELU:
			return _mm256_mul_ps(_mm256_mul_ps(half, x),
								 _mm256_add_ps(_mm256_set1_ps(1.0f),
											   erf8(_mm256_mul_ps(x, _mm256_set1_ps(INV_SQRT2)))));
		case LM_ACT_GELU_TANH:
			{
				/* u = s (x + c x³); 0.5 x (1 + tanh u) = x σ(2u) */
				__m256		x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
				__m256		u = _mm256_mul_ps(_mm256_set1_ps(GELU_TANH_SCALE),
											  _mm256_fmadd_ps(_mm256_set1_ps(GELU_TANH_CUBIC), x3, x));

				return _mm256_mul_ps(x, sigmoid8(_mm256_add_ps(u, u)));
			}
		case LM_ACT_QUICK_GELU:
			return _mm256_mul_ps(x, sigmoid8(_mm256_mul_ps(_mm256_set1_ps(QUICK_GELU_SCALE), x)));
		case LM_ACT_RELU:
			return _mm256_max_ps(x, _mm256_setzero_ps());
		case LM_ACT_SILU:
			return _mm256_mul_ps(x, sigmoid8(x));
	}
	return x;
}

static TARGET_AVX2 long
avx2_activate(float *x, const float *up, long count, LmActivation act)
{
	long		i = 0;

	for (; i + 8 <= count; i += 8)
	{
		__m256		v = activate8(_mm256_loadu_ps(x + i), act);

		if (up != NULL)
			v = _mm256_mul_ps(v, _mm256_loadu_ps(up + i));
		_mm256_storeu_ps(x + i, v);
	}
	return i;
}

static TARGET_AVX2 long
avx2_exp_scaled(float *x, long count, float scale, float shift, double *sum)
{
	__m256		acc = _mm256_setzero_ps();
	const __m256 a = _mm256_set1_ps(scale),
				s = _mm256_set1_ps(shift);
	float		lanes[8];
	long		i = 0;

	for (; i + 8 <= count; i += 8)
	{
		__m256		e = exp8(_mm256_fmsub_ps(_mm256_loadu_ps(x + i), a, s));

		_mm256_storeu_ps(x + i, e);
		acc = _mm256_add_ps(acc, e);
	}
	_mm256_storeu_ps(lanes, acc);
	for (int k = 0; k < 8; k++)
		*sum += lanes[k];
	return i;
}

static TARGET_AVX2 long
avx2_max(const float *x, long count, float *max)
{
	__m256		m = _mm256_set1_ps(*max);
	float		lanes[8];
	long		i = 0;

	for (; i + 8 <= count; i += 8)
		m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
	_mm256_storeu_ps(lanes, m);
	for (int k = 0; k < 8; k++)
		if (lanes[k] > *max)
			*max = lanes[k];
	return i;
}

static TARGET_AVX2 long
avx2_scale(float *x, long count, float s)
{
	const __m256 v = _mm256_set1_ps(s);
	long		i = 0;

	for (; i + 8 <= count; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), v));
	return i;
}

/* Σ x and Σ (x - mean)² need two passes; both accumulate in double. */
static TARGET_AVX2 void
avx2_layernorm_row(float *o, const float *row, const float *weight, const float *bias,
				   int dim, float eps)
{
	__m256d		s0 = _mm256_setzero_pd(),
				s1 = s0;
	double		mean,
				var,
				lanes[4];
	float		inv;
	int			j = 0;

	for (; j + 8 <= dim; j += 8)
	{
		__m256		v = _mm256_loadu_ps(row + j);

		s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
		s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
	}
	_mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
	mean = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
	for (; j < dim; j++)
		mean += row[j];
	mean /= dim;

	{
		const __m256d m = _mm256_set1_pd(mean);

		s0 = s1 = _mm256_setzero_pd();
		for (j = 0; j + 8 <= dim; j += 8)
		{
			__m256		v = _mm256_loadu_ps(row + j);
			__m256d		d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m);
			__m256d		d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);

			s0 = _mm256_fmadd_pd(d0, d0, s0);
			s1 = _mm256_fmadd_pd(d1, d1, s1);
		}
	}
	_mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
	var = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
	for (; j < dim; j++)
		var += (row[j] - mean) * (row[j] - mean);
	var /= dim;
	inv = (float) (1.0 / sqrt(var + eps));

	/* (x - mean) · inv · weight (+ bias), in float */
	{
		const __m256 mf = _mm256_set1_ps((float) mean);
		const __m256 vi = _mm256_set1_ps(inv);

		for (j = 0; j + 8 <= dim; j += 8)
		{
			__m256		v = _mm256_loadu_ps(row + j);
			__m256		d = _mm256_sub_ps(v, mf);
			__m256		r = _mm256_mul_ps(_mm256_mul_ps(d, vi), _mm256_loadu_ps(weight + j));

			if (bias != NULL)
				r = _mm256_add_ps(r, _mm256_loadu_ps(bias + j));
			_mm256_storeu_ps(o + j, r);
		}
	}
	for (; j < dim; j++)
	{
		float		v = ((float) (row[j] - mean)) * inv * weight[j];

		o[j] = bias != NULL ? v + bias[j] : v;
	}
}

static bool
use_avx2(void)
{
	return lm_simd_current() >= LM_SIMD_AVX2;
}

long
lm_vec_activate(float *x, const float *up, long count, LmActivation act)
{
	return use_avx2() ? avx2_activate(x, up, count, act) : 0;
}

long
lm_vec_exp_scaled(float *x, long count, float scale, float shift, double *sum)
{
	return use_avx2() ? avx2_exp_scaled(x, count, scale, shift, sum) : 0;
}

long
lm_vec_max(const float *x, long count, float *max)
{
	return use_avx2() ? avx2_max(x, count, max) : 0;
}

long
lm_vec_scale(float *x, long count, float s)
{
	return use_avx2() ? avx2_scale(x, count, s) : 0;
}

bool
lm_vec_layernorm(float *out, const float *x, const float *weight, const float *bias,
				 int n, int dim, float eps)
{
	if (!use_avx2())
		return false;
	for (int i = 0; i < n; i++)
		avx2_layernorm_row(out + (long) i * dim, x + (long) i * dim, weight, bias, dim, eps);
	return true;
}
