/*
 * quant_avx2.c — the quantized dot products (quant.h) with AVX2: 32 weights
 * at a time widened to bytes, multiplied with the activations' bytes by
 * vpmaddubsw (unsigned × signed bytes, pairs summed to 16 bits) and
 * vpmaddwd (pairs summed to 32 bits, by the sub-block's scale for the K
 * types), then scaled in float32 once per block.  Signed weights go through
 * vpmaddubsw as |w| times x with w's sign.
 */
#include <immintrin.h>
#include <string.h>

#include "nn/quant_blocks.h"
#include "nn/quant_simd.h"
#include "nn/simd.h"

#define H2F(h) _cvtsh_ss(h)

static ALWAYS_INLINE TARGET_AVX2 float
hsum_ps(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Σ a·b of signed bytes, as 8 int32 sums. */
static ALWAYS_INLINE TARGET_AVX2 __m256i
dot_i8(__m256i a, __m256i b)
{
	__m256i		p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));

	return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* Σ a·b of unsigned bytes a and signed bytes b, as 8 int32 sums. */
static ALWAYS_INLINE TARGET_AVX2 __m256i
dot_u8(__m256i a, __m256i b)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
}

static TARGET_AVX2 float
dot_q8_0(const void *w, const void *xq, int cols)
{
	const BlockQ8_0 *a = w;
	const BlockQ8_0 *b = xq;
	__m256		acc = _mm256_setzero_ps();

	for (int i = 0; i < cols / QK; i++)
	{
		__m256i		s = dot_i8(_mm256_loadu_si256((const __m256i *) a[i].qs),
							   _mm256_loadu_si256((const __m256i *) b[i].qs));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(s), acc);
	}
	return hsum_ps(acc);
}

static TARGET_AVX2 float
dot_q4_0(const void *w, const void *xq, int cols)
{
	const BlockQ4_0 *a = w;
	const BlockQ8_0 *b = xq;
	__m256		acc = _mm256_setzero_ps();

	for (int i = 0; i < cols / QK; i++)
	{
		__m256i		q = _mm256_sub_epi8(nibbles(a[i].qs), _mm256_set1_epi8(8));
		__m256i		s = dot_i8(q, _mm256_loadu_si256((const __m256i *) b[i].qs));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(s), acc);
	}
	return hsum_ps(acc);
}

static TARGET_AVX2 float
dot_q4_1(const void *w, const void *xq, int cols)
{
	const BlockQ4_1 *a = w;
	const BlockQ8_1 *b = xq;
	__m256		acc = _mm256_setzero_ps();
	float		mins = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		__m256i		s = dot_u8(nibbles(a[i].qs), _mm256_loadu_si256((const __m256i *) b[i].qs));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(s), acc);
		mins += H2F(a[i].m) * H2F(b[i].s);
	}
	return hsum_ps(acc) + mins;
}

static TARGET_AVX2 float
dot_q5_0(const void *w, const void *xq, int cols)
{
	const BlockQ5_0 *a = w;
	const BlockQ8_0 *b = xq;
	__m256		acc = _mm256_setzero_ps();

	for (int i = 0; i < cols / QK; i++)
	{
		__m256i		q = _mm256_or_si256(nibbles(a[i].qs), fifth_bits(a[i].qh));
		__m256i		s = dot_i8(_mm256_sub_epi8(q, _mm256_set1_epi8(16)),
							   _mm256_loadu_si256((const __m256i *) b[i].qs));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(s), acc);
	}
	return hsum_ps(acc);
}

static TARGET_AVX2 float
dot_q5_1(const void *w, const void *xq, int cols)
{
	const BlockQ5_1 *a = w;
	const BlockQ8_1 *b = xq;
	__m256		acc = _mm256_setzero_ps();
	float		mins = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		__m256i		q = _mm256_or_si256(nibbles(a[i].qs), fifth_bits(a[i].qh));
		__m256i		s = dot_u8(q, _mm256_loadu_si256((const __m256i *) b[i].qs));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(s), acc);
		mins += H2F(a[i].m) * H2F(b[i].s);
	}
	return hsum_ps(acc) + mins;
}

/*
 * Q4_K and Q5_K: per pair of sub-blocks, 32 bytes of qs hold the first's
 * values in their low nibbles and the second's in their high ones (fifth
 * bits in qh, bits 2·pair and 2·pair+1); each product is weighted by its
 * sub-block's scale in vpmaddwd.  The minimums come from the activations'
 * sums of 16.
 */
static ALWAYS_INLINE TARGET_AVX2 float
dot_k(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t d_bits,
	  uint16_t dmin_bits, const BlockQ8_K *b, __m256 *acc)
{
	uint8_t		sc[8],
				mn[8];
	__m256i		sumi = _mm256_setzero_si256();
	__m256i		hbits = qh != NULL ? _mm256_loadu_si256((const __m256i *) qh) : _mm256_setzero_si256();
	const __m256i low4 = _mm256_set1_epi8(0xF);
	int			summ = 0;

	k_scales_mins(scales, sc, mn);
	for (int s = 0; s < 8; s++)
		summ += mn[s] * (b->bsums[2 * s] + b->bsums[2 * s + 1]);
	for (int pair = 0; pair < 4; pair++)
	{
		__m256i		q = _mm256_loadu_si256((const __m256i *) (qs + 32 * pair));
		__m256i		lo = _mm256_and_si256(q, low4);
		__m256i		hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
		__m256i		plo,
					phi;

		if (qh != NULL)
		{
			const __m256i one = _mm256_set1_epi8(1);

			lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * pair), one), 4));
			hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * pair + 1), one), 4));
		}
		plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *) (b->qs + 64 * pair)));
		phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *) (b->qs + 64 * pair + 32)));
		sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, _mm256_set1_epi16(sc[2 * pair])));
		sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, _mm256_set1_epi16(sc[2 * pair + 1])));
	}
	*acc = _mm256_fmadd_ps(_mm256_set1_ps(b->d * H2F(d_bits)), _mm256_cvtepi32_ps(sumi), *acc);
	return b->d * H2F(dmin_bits) * (float) summ;
}

static TARGET_AVX2 float
dot_q4_k(const void *w, const void *xq, int cols)
{
	const BlockQ4_K *a = w;
	const BlockQ8_K *b = xq;
	__m256		acc = _mm256_setzero_ps();
	float		mins = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
		mins += dot_k(a[i].scales, a[i].qs, NULL, a[i].d, a[i].dmin, &b[i], &acc);
	return hsum_ps(acc) - mins;
}

static TARGET_AVX2 float
dot_q5_k(const void *w, const void *xq, int cols)
{
	const BlockQ5_K *a = w;
	const BlockQ8_K *b = xq;
	__m256		acc = _mm256_setzero_ps();
	float		mins = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
		mins += dot_k(a[i].scales, a[i].qs, a[i].qh, a[i].d, a[i].dmin, &b[i], &acc);
	return hsum_ps(acc) - mins;
}

/*
 * Q6_K: values 0..63 (32 subtracted after: Σ(q−32)x = Σqx − Σ32x), four
 * runs of 32 per half block, each two sub-blocks of 16 with their own scale.
 */
static TARGET_AVX2 float
dot_q6_k(const void *w, const void *xq, int cols)
{
	const BlockQ6_K *a = w;
	const BlockQ8_K *b = xq;
	__m256		acc = _mm256_setzero_ps();
	const __m256i k32 = _mm256_set1_epi8(32);

	for (int i = 0; i < cols / QK_K; i++)
	{
		__m256i		sumi = _mm256_setzero_si256();

		for (int half = 0; half < 2; half++)
		{
			const int8_t *sc = a[i].scales + 8 * half;
			const int8_t *x = b[i].qs + 128 * half;
			__m256i		q[4];

			q6_k_half(&a[i], half, q);
			for (int k = 0; k < 4; k++)
			{
				__m256i		xv = _mm256_loadu_si256((const __m256i *) (x + 32 * k));
				__m256i		p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], xv), _mm256_maddubs_epi16(k32, xv));
				__m256i		scales = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));

				sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scales));
			}
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * H2F(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
	}
	return hsum_ps(acc);
}

QuantDotFn
lm_qdot_avx2(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q8_0:
			return dot_q8_0;
		case LM_DTYPE_Q4_0:
			return dot_q4_0;
		case LM_DTYPE_Q4_1:
			return dot_q4_1;
		case LM_DTYPE_Q5_0:
			return dot_q5_0;
		case LM_DTYPE_Q5_1:
			return dot_q5_1;
		case LM_DTYPE_Q4_K:
			return dot_q4_k;
		case LM_DTYPE_Q5_K:
			return dot_q5_k;
		case LM_DTYPE_Q6_K:
			return dot_q6_k;
		default:
			return NULL;
	}
}
