/*
 * simd.h — what the kernels of gemv.c and gemm.c share: the target
 * attributes that give each instruction set its own copy of a kernel, and
 * loads that widen float32, float16 or bfloat16 weights to float32 (one
 * element, or one AVX2 or AVX-512 register).  Internal to src/nn.
 */
#ifndef LM_NN_SIMD_H
#define LM_NN_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "formats/tensor.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

/* One element, any width (tails and the plain C kernels). */
static ALWAYS_INLINE float
f16_to_f32(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exponent = (h >> 10) & 0x1f;
	uint32_t	mantissa = h & 0x3ff;
	uint32_t	bits;
	float		f;

	if (exponent == 0)
	{
		/* zero or subnormal: mantissa × 2^-24, exact in float32 */
		f = (float) mantissa * 5.9604644775390625e-8f;
		return sign ? -f : f;
	}
	if (exponent == 31)
		bits = sign | 0x7f800000u | (mantissa << 13);	/* inf, nan */
	else
		bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

static ALWAYS_INLINE float
load1(const void *p, long i, LmDType t)
{
	if (t == LM_DTYPE_F16)
		return f16_to_f32(((const uint16_t *) p)[i]);
	if (t == LM_DTYPE_BF16)
	{
		uint32_t	bits = (uint32_t) ((const uint16_t *) p)[i] << 16;
		float		f;

		memcpy(&f, &bits, sizeof(f));
		return f;
	}
	return ((const float *) p)[i];
}

/* One register of 8 (AVX2) or 16 (AVX-512) elements from p + i, as float32. */
static ALWAYS_INLINE TARGET_AVX2 __m256
avx2_load8(const void *p, long i, LmDType t)
{
	if (t == LM_DTYPE_F16)
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const uint16_t *) p + i)));
	if (t == LM_DTYPE_BF16)
		return _mm256_castsi256_ps(_mm256_slli_epi32(
				_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) ((const uint16_t *) p + i))), 16));
	return _mm256_loadu_ps((const float *) p + i);
}

static ALWAYS_INLINE TARGET_AVX512 __m512
avx512_load16(const void *p, long i, LmDType t)
{
	if (t == LM_DTYPE_F16)
		return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) ((const uint16_t *) p + i)));
	if (t == LM_DTYPE_BF16)
		return _mm512_castsi512_ps(_mm512_slli_epi32(
				_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) ((const uint16_t *) p + i))), 16));
	return _mm512_loadu_ps((const float *) p + i);
}

/* 16 rows of 16 floats (r[i] = row i) transposed in place: r[i] = column i. */
static ALWAYS_INLINE TARGET_AVX512 void
avx512_transpose16(__m512 r[16])
{
	__m512		t[16],
				u[16];

	for (int i = 0; i < 8; i++)
	{
		t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
	}
	/* u[4h + m], 128-bit lane l: column 4l + m of rows 4h .. 4h+3 */
	for (int h = 0; h < 4; h++)
	{
		u[4 * h + 0] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
		u[4 * h + 1] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
		u[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
		u[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
	}
	/* gather lane l of u[m], u[4 + m], u[8 + m], u[12 + m]: column 4l + m */
	for (int m = 0; m < 4; m++)
	{
		const __m512 even_lo = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88),
					even_hi = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88),
					odd_lo = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD),
					odd_hi = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);

		r[m] = _mm512_shuffle_f32x4(even_lo, even_hi, 0x88);
		r[8 + m] = _mm512_shuffle_f32x4(even_lo, even_hi, 0xDD);
		r[4 + m] = _mm512_shuffle_f32x4(odd_lo, odd_hi, 0x88);
		r[12 + m] = _mm512_shuffle_f32x4(odd_lo, odd_hi, 0xDD);
	}
}

#endif
