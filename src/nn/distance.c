/*
 * distance.c — vector distances (see distance.h).
 *
 * Each kernel keeps four accumulators of one register each, so that the
 * additions of consecutive elements do not wait on each other.
 */
#include "nn/distance.h"

#include "nn/matrix.h"
#include "nn/simd.h"

/* ---- plain C ---------------------------------------------------------------- */

static double
c_l2(const float *a, const float *b, size_t n)
{
	float		s = 0;

	for (size_t i = 0; i < n; i++)
		s += (a[i] - b[i]) * (a[i] - b[i]);
	return s;
}

static double
c_dot(const float *a, const float *b, size_t n)
{
	float		s = 0;

	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void
c_cosine(const float *a, const float *b, size_t n, double *dot, double *aa, double *bb)
{
	float		d = 0,
				x = 0,
				y = 0;

	for (size_t i = 0; i < n; i++)
	{
		d += a[i] * b[i];
		x += a[i] * a[i];
		y += b[i] * b[i];
	}
	*dot = d;
	*aa = x;
	*bb = y;
}

/* ---- AVX2 ------------------------------------------------------------------- */

static TARGET_AVX2 float
avx2_sum(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static TARGET_AVX2 double
avx2_l2(const float *a, const float *b, size_t n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	size_t		i = 0;
	float		tail = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));

		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	for (; i < n; i++)
		tail += (a[i] - b[i]) * (a[i] - b[i]);
	return (double) avx2_sum(_mm256_add_ps(s0, s1)) + tail;
}

static TARGET_AVX2 double
avx2_dot(const float *a, const float *b, size_t n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	size_t		i = 0;
	float		tail = 0;

	for (; i + 16 <= n; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	for (; i < n; i++)
		tail += a[i] * b[i];
	return (double) avx2_sum(_mm256_add_ps(s0, s1)) + tail;
}

static TARGET_AVX2 void
avx2_cosine(const float *a, const float *b, size_t n, double *dot, double *aa, double *bb)
{
	__m256		d0 = _mm256_setzero_ps(),
				d1 = _mm256_setzero_ps(),
				x0 = _mm256_setzero_ps(),
				x1 = _mm256_setzero_ps(),
				y0 = _mm256_setzero_ps(),
				y1 = _mm256_setzero_ps();
	size_t		i = 0;
	float		td = 0,
				tx = 0,
				ty = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		a0 = _mm256_loadu_ps(a + i),
					b0 = _mm256_loadu_ps(b + i),
					a1 = _mm256_loadu_ps(a + i + 8),
					b1 = _mm256_loadu_ps(b + i + 8);

		d0 = _mm256_fmadd_ps(a0, b0, d0);
		x0 = _mm256_fmadd_ps(a0, a0, x0);
		y0 = _mm256_fmadd_ps(b0, b0, y0);
		d1 = _mm256_fmadd_ps(a1, b1, d1);
		x1 = _mm256_fmadd_ps(a1, a1, x1);
		y1 = _mm256_fmadd_ps(b1, b1, y1);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		va = _mm256_loadu_ps(a + i);
		__m256		vb = _mm256_loadu_ps(b + i);

		d0 = _mm256_fmadd_ps(va, vb, d0);
		x0 = _mm256_fmadd_ps(va, va, x0);
		y0 = _mm256_fmadd_ps(vb, vb, y0);
	}
	for (; i < n; i++)
	{
		td += a[i] * b[i];
		tx += a[i] * a[i];
		ty += b[i] * b[i];
	}
	*dot = (double) avx2_sum(_mm256_add_ps(d0, d1)) + td;
	*aa = (double) avx2_sum(_mm256_add_ps(x0, x1)) + tx;
	*bb = (double) avx2_sum(_mm256_add_ps(y0, y1)) + ty;
}

/* ---- AVX-512 ---------------------------------------------------------------- */

static TARGET_AVX512 double
avx512_l2(const float *a, const float *b, size_t n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	for (; i < n; i += 16)
	{
		/* the last, partial register: masked loads read nothing past the end */
		__mmask16	m = n - i >= 16 ? 0xffff : (__mmask16) ((1u << (n - i)) - 1);
		__m512		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));

		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	return (double) _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static TARGET_AVX512 double
avx512_dot(const float *a, const float *b, size_t n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
	}
	for (; i < n; i += 16)
	{
		__mmask16	m = n - i >= 16 ? 0xffff : (__mmask16) ((1u << (n - i)) - 1);

		s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
	}
	return (double) _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static TARGET_AVX512 void
avx512_cosine(const float *a, const float *b, size_t n, double *dot, double *aa, double *bb)
{
	__m512		d0 = _mm512_setzero_ps(),
				d1 = _mm512_setzero_ps(),
				x0 = _mm512_setzero_ps(),
				x1 = _mm512_setzero_ps(),
				y0 = _mm512_setzero_ps(),
				y1 = _mm512_setzero_ps();
	size_t		i = 0;

	/* two sets of sums, so that consecutive registers do not wait on each other */
	for (; i + 32 <= n; i += 32)
	{
		__m512		a0 = _mm512_loadu_ps(a + i),
					b0 = _mm512_loadu_ps(b + i),
					a1 = _mm512_loadu_ps(a + i + 16),
					b1 = _mm512_loadu_ps(b + i + 16);

		d0 = _mm512_fmadd_ps(a0, b0, d0);
		x0 = _mm512_fmadd_ps(a0, a0, x0);
		y0 = _mm512_fmadd_ps(b0, b0, y0);
		d1 = _mm512_fmadd_ps(a1, b1, d1);
		x1 = _mm512_fmadd_ps(a1, a1, x1);
		y1 = _mm512_fmadd_ps(b1, b1, y1);
	}
	for (; i < n; i += 16)
	{
		__mmask16	m = n - i >= 16 ? 0xffff : (__mmask16) ((1u << (n - i)) - 1);
		__m512		va = _mm512_maskz_loadu_ps(m, a + i);
		__m512		vb = _mm512_maskz_loadu_ps(m, b + i);

		d0 = _mm512_fmadd_ps(va, vb, d0);
		x0 = _mm512_fmadd_ps(va, va, x0);
		y0 = _mm512_fmadd_ps(vb, vb, y0);
	}
	*dot = (double) _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
	*aa = (double) _mm512_reduce_add_ps(_mm512_add_ps(x0, x1));
	*bb = (double) _mm512_reduce_add_ps(_mm512_add_ps(y0, y1));
}

/* ---- dispatch --------------------------------------------------------------- */

double
lm_l2_squared(const float *a, const float *b, size_t n)
{
	switch (lm_simd_current())
	{
		case LM_SIMD_AVX512:
			return avx512_l2(a, b, n);
		case LM_SIMD_AVX2:
			return avx2_l2(a, b, n);
		default:
			return c_l2(a, b, n);
	}
}

double
lm_inner_product(const float *a, const float *b, size_t n)
{
	switch (lm_simd_current())
	{
		case LM_SIMD_AVX512:
			return avx512_dot(a, b, n);
		case LM_SIMD_AVX2:
			return avx2_dot(a, b, n);
		default:
			return c_dot(a, b, n);
	}
}

void
lm_cosine_sums(const float *a, const float *b, size_t n, double *dot, double *aa, double *bb)
{
	switch (lm_simd_current())
	{
		case LM_SIMD_AVX512:
			avx512_cosine(a, b, n, dot, aa, bb);
			break;
		case LM_SIMD_AVX2:
			avx2_cosine(a, b, n, dot, aa, bb);
			break;
		default:
			c_cosine(a, b, n, dot, aa, bb);
	}
}
