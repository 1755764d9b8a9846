/*
 * quant_avx512.c — the quantized dot products (quant.h) with AVX-512
 * (F, BW, VL and VNNI): the 32-element types two blocks to a register,
 * multiplied by vpdpbusd (bytes multiplied and summed four at a time into
 * 32 bits); the K types a pair of sub-blocks (64 elements) to a register.
 * Q4_1 and Q5_1 use the AVX2 kernels.
 */
#include <immintrin.h>
#include <string.h>

#include "nn/quant_blocks.h"
#include "nn/simd.h"

#define TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define H2F(h) _cvtsh_ss(h)

/* Two 256-bit halves as one register. */
static ALWAYS_INLINE TARGET_VNNI __m512i
join(__m256i lo, __m256i hi)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

static ALWAYS_INLINE TARGET_VNNI __m512
join_ps(__m256 lo, __m256 hi)
{
	return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
											   _mm256_castps_pd(hi), 1));
}

/* Σ a·b of signed bytes, 16 sums of four: |a| times b with a's sign. */
static ALWAYS_INLINE TARGET_VNNI __m512i
dot_i8(__m512i a, __m512i b)
{
	__mmask64	negative = _mm512_movepi8_mask(a);
	__m512i		signed_b = _mm512_mask_sub_epi8(b, negative, _mm512_setzero_si512(), b);

	return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(a), signed_b);
}

/* 16 bytes of nibbles as 32 bytes 0..15: the low nibbles first, then the high ones. */
static ALWAYS_INLINE TARGET_VNNI __m256i
nibbles(const uint8_t *qs)
{
	__m128i		b = _mm_loadu_si128((const __m128i *) qs);
	__m128i		lo = _mm_and_si128(b, _mm_set1_epi8(0xF));
	__m128i		hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0xF));

	return _mm256_set_m128i(hi, lo);
}

/* The 32 bits of qh as 32 bytes, 0x10 where the bit is set. */
static ALWAYS_INLINE TARGET_VNNI __m256i
fifth_bits(const uint8_t *qh)
{
	uint32_t	bits;

	memcpy(&bits, qh, sizeof(bits));
	return _mm256_maskz_mov_epi8((__mmask32) bits, _mm256_set1_epi8(0x10));
}

/* The 32 weights of a Q8_0/Q4_0/Q5_0 block as signed bytes. */
typedef __m256i (*BlockBytes) (const void *blocks, int i);

static ALWAYS_INLINE TARGET_VNNI __m256i
q8_0_bytes(const void *blocks, int i)
{
	return _mm256_loadu_si256((const __m256i *) ((const BlockQ8_0 *) blocks)[i].qs);
}

static ALWAYS_INLINE TARGET_VNNI __m256i
q4_0_bytes(const void *blocks, int i)
{
	return _mm256_sub_epi8(nibbles(((const BlockQ4_0 *) blocks)[i].qs), _mm256_set1_epi8(8));
}

static ALWAYS_INLINE TARGET_VNNI __m256i
q5_0_bytes(const void *blocks, int i)
{
	const BlockQ5_0 *b = (const BlockQ5_0 *) blocks + i;

	return _mm256_sub_epi8(_mm256_or_si256(nibbles(b->qs), fifth_bits(b->qh)), _mm256_set1_epi8(16));
}

/* Blocks paired with Q8_0 activations, two at a time; scale(i) is block i's d. */
#define DOT_WITH_Q8_0(name, Block, bytes) \
static TARGET_VNNI float \
name(const void *w, const void *xq, int cols) \
{ \
	const Block *a = w; \
	const BlockQ8_0 *b = xq; \
	int			nb = cols / QK; \
	__m512		acc = _mm512_setzero_ps(); \
	__m256		acc1 = _mm256_setzero_ps(); \
	int			i = 0; \
	for (; i + 1 < nb; i += 2) \
	{ \
		__m512i		s = dot_i8(join(bytes(a, i), bytes(a, i + 1)), \
							   join(_mm256_loadu_si256((const __m256i *) b[i].qs), \
									_mm256_loadu_si256((const __m256i *) b[i + 1].qs))); \
		__m512		d = join_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), \
							_mm256_set1_ps(H2F(a[i + 1].d) * H2F(b[i + 1].d))); \
		acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc); \
	} \
	for (; i < nb; i++) \
	{ \
		__m256i		x = _mm256_loadu_si256((const __m256i *) b[i].qs); \
		__m256i		q = bytes(a, i); \
		__m256i		s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q), \
											_mm256_sign_epi8(x, q)); \
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(s), acc1); \
	} \
	return _mm512_reduce_add_ps(acc) + _mm512_reduce_add_ps(join_ps(acc1, _mm256_setzero_ps())); \
}

DOT_WITH_Q8_0(dot_q8_0, BlockQ8_0, q8_0_bytes)
DOT_WITH_Q8_0(dot_q4_0, BlockQ4_0, q4_0_bytes)
DOT_WITH_Q8_0(dot_q5_0, BlockQ5_0, q5_0_bytes)

/*
 * Q4_K and Q5_K: one pair of sub-blocks (64 elements: the low nibbles of
 * 32 bytes of qs, then the high ones) per register, each half weighted by
 * its sub-block's scale in vpmaddwd.
 */
static ALWAYS_INLINE TARGET_VNNI float
dot_k(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t d_bits,
	  uint16_t dmin_bits, const BlockQ8_K *b, __m512 *acc)
{
	uint8_t		sc[8],
				mn[8];
	__m512i		sumi = _mm512_setzero_si512();
	const __m256i low4 = _mm256_set1_epi8(0xF);
	int			summ = 0;

	for (int s = 0; s < 8; s++)
	{
		k_scale_min(s, scales, &sc[s], &mn[s]);
		summ += mn[s] * (b->bsums[2 * s] + b->bsums[2 * s + 1]);
	}
	for (int pair = 0; pair < 4; pair++)
	{
		__m256i		q = _mm256_loadu_si256((const __m256i *) (qs + 32 * pair));
		__m256i		lo = _mm256_and_si256(q, low4);
		__m256i		hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
		__m512i		p;

		if (qh != NULL)
		{
			__m256i		h = _mm256_loadu_si256((const __m256i *) qh);
			__mmask32	lo_bits = _mm256_test_epi8_mask(h, _mm256_set1_epi8((char) (1 << (2 * pair))));
			__mmask32	hi_bits = _mm256_test_epi8_mask(h, _mm256_set1_epi8((char) (2 << (2 * pair))));

			lo = _mm256_or_si256(lo, _mm256_maskz_mov_epi8(lo_bits, _mm256_set1_epi8(0x10)));
			hi = _mm256_or_si256(hi, _mm256_maskz_mov_epi8(hi_bits, _mm256_set1_epi8(0x10)));
		}
		p = _mm512_maddubs_epi16(join(lo, hi), _mm512_loadu_si512(b->qs + 64 * pair));
		sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p, join(_mm256_set1_epi16(sc[2 * pair]),
																 _mm256_set1_epi16(sc[2 * pair + 1]))));
	}
	*acc = _mm512_fmadd_ps(_mm512_set1_ps(b->d * H2F(d_bits)), _mm512_cvtepi32_ps(sumi), *acc);
	return b->d * H2F(dmin_bits) * (float) summ;
}

static TARGET_VNNI float
dot_q4_k(const void *w, const void *xq, int cols)
{
	const BlockQ4_K *a = w;
	const BlockQ8_K *b = xq;
	__m512		acc = _mm512_setzero_ps();
	float		mins = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
		mins += dot_k(a[i].scales, a[i].qs, NULL, a[i].d, a[i].dmin, &b[i], &acc);
	return _mm512_reduce_add_ps(acc) - mins;
}

static TARGET_VNNI float
dot_q5_k(const void *w, const void *xq, int cols)
{
	const BlockQ5_K *a = w;
	const BlockQ8_K *b = xq;
	__m512		acc = _mm512_setzero_ps();
	float		mins = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
		mins += dot_k(a[i].scales, a[i].qs, a[i].qh, a[i].d, a[i].dmin, &b[i], &acc);
	return _mm512_reduce_add_ps(acc) - mins;
}

/*
 * Q6_K: per half block, the 64 bytes of ql give elements 0..63 (low
 * nibbles, high bits from qh's bits 0-1 and 2-3) and 64..127 (high
 * nibbles, bits 4-5 and 6-7); 32 is subtracted as Σ32x; four sub-blocks of
 * 16 per register, each with its scale.
 */
static TARGET_VNNI float
dot_q6_k(const void *w, const void *xq, int cols)
{
	const BlockQ6_K *a = w;
	const BlockQ8_K *b = xq;
	__m512		acc = _mm512_setzero_ps();
	const __m512i low4 = _mm512_set1_epi8(0xF);
	const __m512i three = _mm512_set1_epi8(3);
	const __m512i k32 = _mm512_set1_epi8(32);
	const __m512i first4 = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2,
											1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m512i next4 = _mm512_add_epi16(first4, _mm512_set1_epi16(4));

	for (int i = 0; i < cols / QK_K; i++)
	{
		__m512i		sumi = _mm512_setzero_si512();

		for (int half = 0; half < 2; half++)
		{
			__m512i		l = _mm512_loadu_si512(a[i].ql + 64 * half);
			__m256i		h256 = _mm256_loadu_si256((const __m256i *) (a[i].qh + 32 * half));
			__m512i		h = join(h256, _mm256_srli_epi16(h256, 2));
			__m512i		q01 = _mm512_or_si512(_mm512_and_si512(l, low4),
											  _mm512_slli_epi16(_mm512_and_si512(h, three), 4));
			__m512i		q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
											  _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h, 4), three), 4));
			__m512i		x01 = _mm512_loadu_si512(b[i].qs + 128 * half);
			__m512i		x23 = _mm512_loadu_si512(b[i].qs + 128 * half + 64);
			__m512i		sc = _mm512_castsi128_si512(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *) (a[i].scales + 8 * half))));
			__m512i		p01 = _mm512_sub_epi16(_mm512_maddubs_epi16(q01, x01), _mm512_maddubs_epi16(k32, x01));
			__m512i		p23 = _mm512_sub_epi16(_mm512_maddubs_epi16(q23, x23), _mm512_maddubs_epi16(k32, x23));

			sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p01, _mm512_permutexvar_epi16(first4, sc)));
			sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p23, _mm512_permutexvar_epi16(next4, sc)));
		}
		acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * H2F(a[i].d)), _mm512_cvtepi32_ps(sumi), acc);
	}
	return _mm512_reduce_add_ps(acc);
}

QuantDotFn
lm_qdot_avx512(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q8_0:
			return dot_q8_0;
		case LM_DTYPE_Q4_0:
			return dot_q4_0;
		case LM_DTYPE_Q5_0:
			return dot_q5_0;
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
