/*
 * quant_avx512.c — the quantized dot products (quant.h) with AVX-512
 * (F, BW, VL and VNNI): the 32-element types two blocks to a register,
 * multiplied by vpdpbusd (bytes multiplied and summed four at a time into
 * 32 bits); Q4_K and Q5_K a pair of sub-blocks (64 elements) to a register,
 * Q6_K four sub-blocks.  Decoding takes four rows of weights at a time with
 * the activations loaded once (the same bits as one row).  Q4_1 and Q5_1
 * use the AVX2 kernels.  Also dequantizing Q8_0, Q4_K and Q6_K.
 */
#include <immintrin.h>
#include <string.h>

#include "nn/quant.h"
#include "nn/quant_blocks.h"
#include "nn/quant_simd.h"
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

/* The 32 weights of a Q8_0/Q4_0/Q5_0 block as signed bytes. */
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

/* Block i's scale d, as float32. */
static ALWAYS_INLINE TARGET_VNNI float
block_d(const void *blocks, int i, LmDType dtype)
{
	if (dtype == LM_DTYPE_Q8_0)
		return H2F(((const BlockQ8_0 *) blocks)[i].d);
	if (dtype == LM_DTYPE_Q4_0)
		return H2F(((const BlockQ4_0 *) blocks)[i].d);
	return H2F(((const BlockQ5_0 *) blocks)[i].d);
}

/*
 * Blocks paired with Q8_0 activations, two blocks to a register; nrows (1
 * or 4) rows of them, row_bytes apart, with the same operations per row.
 */
static ALWAYS_INLINE TARGET_VNNI void
q8_rows(const void *w, size_t row_bytes, const void *xq, int cols, float *out, int nrows, LmDType dtype)
{
	const BlockQ8_0 *b = xq;
	int			nb = cols / QK;
	__m512		acc[4];
	__m256		acc1[4];
	int			i = 0;

	for (int r = 0; r < nrows; r++)
	{
		acc[r] = _mm512_setzero_ps();
		acc1[r] = _mm256_setzero_ps();
	}
	for (; i + 1 < nb; i += 2)
	{
		__m512i		x = join(_mm256_loadu_si256((const __m256i *) b[i].qs),
							 _mm256_loadu_si256((const __m256i *) b[i + 1].qs));
		float		dx0 = H2F(b[i].d),
					dx1 = H2F(b[i + 1].d);

#pragma GCC unroll 4
		for (int r = 0; r < nrows; r++)
		{
			const void *a = (const char *) w + r * row_bytes;
			__m512i		q;
			__m512		d;

			if (dtype == LM_DTYPE_Q8_0)
				q = join(q8_0_bytes(a, i), q8_0_bytes(a, i + 1));
			else if (dtype == LM_DTYPE_Q4_0)
				q = join(q4_0_bytes(a, i), q4_0_bytes(a, i + 1));
			else
				q = join(q5_0_bytes(a, i), q5_0_bytes(a, i + 1));
			d = join_ps(_mm256_set1_ps(block_d(a, i, dtype) * dx0), _mm256_set1_ps(block_d(a, i + 1, dtype) * dx1));
			acc[r] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dot_i8(q, x)), acc[r]);
		}
	}
	for (; i < nb; i++)
	{
		__m256i		x = _mm256_loadu_si256((const __m256i *) b[i].qs);

		for (int r = 0; r < nrows; r++)
		{
			const void *a = (const char *) w + r * row_bytes;
			__m256i		q = dtype == LM_DTYPE_Q8_0 ? q8_0_bytes(a, i) : dtype == LM_DTYPE_Q4_0 ? q4_0_bytes(a, i)
				: q5_0_bytes(a, i);
			__m256i		s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q),
												_mm256_sign_epi8(x, q));

			acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(block_d(a, i, dtype) * H2F(b[i].d)), _mm256_cvtepi32_ps(s),
									  acc1[r]);
		}
	}
	for (int r = 0; r < nrows; r++)
		out[r] = _mm512_reduce_add_ps(acc[r]) + _mm512_reduce_add_ps(join_ps(acc1[r], _mm256_setzero_ps()));
}

#define Q8_ROWS_KERNELS(type, suffix) \
static TARGET_VNNI float \
dot_##suffix(const void *w, const void *xq, int cols) \
{ \
	float		out; \
	q8_rows(w, 0, xq, cols, &out, 1, type); \
	return out; \
} \
static TARGET_VNNI void \
dot4_##suffix(const void *w, size_t row_bytes, const void *xq, int cols, float *out) \
{ \
	q8_rows(w, row_bytes, xq, cols, out, 4, type); \
}

Q8_ROWS_KERNELS(LM_DTYPE_Q8_0, q8_0)
Q8_ROWS_KERNELS(LM_DTYPE_Q4_0, q4_0)
Q8_ROWS_KERNELS(LM_DTYPE_Q5_0, q5_0)

/*
 * Q4_K and Q5_K: 64 bytes of qs at a time, whose low nibbles are sub-blocks
 * 4h and 4h+2 and high nibbles 4h+1 and 4h+3; the activations rearranged
 * to match once per block for all rows.  Each register of products
 * (vpmaddubsw, pairs) is weighted by its two sub-blocks' scales and summed
 * in one vpdpwssd; the minimums' share from the activations' sums of 16.
 * Rows are taken 1 or 4 at a time (k_rows), with the same operations per
 * row: the same bits either way.
 */

/* [sc(a) ×16 | sc(b) ×16]: the scale each 16-bit lane of a register of sub-blocks a, b takes. */
static ALWAYS_INLINE TARGET_VNNI __m512i
scale_lanes(__m512i sc16, int a, int b)
{
	return _mm512_permutexvar_epi16(join(_mm256_set1_epi16((short) a), _mm256_set1_epi16((short) b)), sc16);
}

/* Q5_K's fifth bits of sub-blocks a (lower half) and b: bits a and b of qh's 32 bytes, as 0x10. */
static ALWAYS_INLINE TARGET_VNNI __m512i
fifth_bits_k(__m512i qh2, int a, int b)
{
	__m512i		bit = join(_mm256_set1_epi8((char) (1 << a)), _mm256_set1_epi8((char) (1 << b)));

	return _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(qh2, bit), _mm512_set1_epi8(0x10));
}

/* One block of a row against its rearranged activations: Σ sc·q·x in 16 int32 lanes, Σ mn·Σx in 8. */
static ALWAYS_INLINE TARGET_VNNI void
k_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, const __m512i *xv, __m256i bsums,
		__m512i *sumi, __m256i *mins)
{
	uint8_t		sc[8],
				mn[8];
	const __m512i low4 = _mm512_set1_epi8(0xF);
	__m512i		sc16,
				qh2 = _mm512_setzero_si512();
	__m128i		mn8;

	k_scales_mins(scales, sc, mn);
	sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) sc)));
	mn8 = _mm_loadl_epi64((const __m128i *) mn);
	*mins = _mm256_madd_epi16(bsums, _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8)));
	*sumi = _mm512_setzero_si512();
	if (qh != NULL)
		qh2 = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) qh));
#pragma GCC unroll 2
	for (int h = 0; h < 2; h++)
	{
		__m512i		q = _mm512_loadu_si512(qs + 64 * h);
		__m512i		lo = _mm512_and_si512(q, low4);
		__m512i		hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);

		if (qh != NULL)
		{
			lo = _mm512_or_si512(lo, fifth_bits_k(qh2, 4 * h, 4 * h + 2));
			hi = _mm512_or_si512(hi, fifth_bits_k(qh2, 4 * h + 1, 4 * h + 3));
		}
		*sumi = _mm512_dpwssd_epi32(*sumi, _mm512_maddubs_epi16(lo, xv[2 * h]), scale_lanes(sc16, 4 * h, 4 * h + 2));
		*sumi = _mm512_dpwssd_epi32(*sumi, _mm512_maddubs_epi16(hi, xv[2 * h + 1]),
									scale_lanes(sc16, 4 * h + 1, 4 * h + 3));
	}
}

/* nrows (1 or 4) rows of Q4_K (qh_offset 0) or Q5_K blocks, row_bytes apart. */
static ALWAYS_INLINE TARGET_VNNI void
k_rows(const void *w, size_t row_bytes, const void *xq, int cols, float *out, int nrows, bool q5)
{
	const BlockQ8_K *x = xq;
	__m512		acc[4];
	__m256		macc[4];

#pragma GCC unroll 4
	for (int r = 0; r < nrows; r++)
	{
		acc[r] = _mm512_setzero_ps();
		macc[r] = _mm256_setzero_ps();
	}
	for (int i = 0; i < cols / QK_K; i++)
	{
		__m512i		xv[4];
		__m256i		bsums = _mm256_loadu_si256((const __m256i *) x[i].bsums);

		/* sub-blocks [4h | 4h+2] and [4h+1 | 4h+3], as the nibbles of qs's 64 bytes h lie */
		for (int h = 0; h < 2; h++)
		{
			__m512i		a = _mm512_loadu_si512(x[i].qs + 128 * h),
						b = _mm512_loadu_si512(x[i].qs + 128 * h + 64);

			xv[2 * h] = _mm512_shuffle_i64x2(a, b, 0x44);
			xv[2 * h + 1] = _mm512_shuffle_i64x2(a, b, 0xEE);
		}
	#pragma GCC unroll 4
	for (int r = 0; r < nrows; r++)
		{
			const char *row = (const char *) w + r * row_bytes;
			__m512i		sumi;
			__m256i		mins;
			uint16_t	d,
						dmin;

			if (q5)
			{
				const BlockQ5_K *a = (const BlockQ5_K *) row + i;

				k_block(a->scales, a->qs, a->qh, xv, bsums, &sumi, &mins);
				d = a->d;
				dmin = a->dmin;
			}
			else
			{
				const BlockQ4_K *a = (const BlockQ4_K *) row + i;

				k_block(a->scales, a->qs, NULL, xv, bsums, &sumi, &mins);
				d = a->d;
				dmin = a->dmin;
			}
			acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[i].d * H2F(d)), _mm512_cvtepi32_ps(sumi), acc[r]);
			macc[r] = _mm256_fmadd_ps(_mm256_set1_ps(x[i].d * H2F(dmin)), _mm256_cvtepi32_ps(mins), macc[r]);
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < nrows; r++)
		out[r] = _mm512_reduce_add_ps(acc[r]) - _mm512_reduce_add_ps(join_ps(macc[r], _mm256_setzero_ps()));
}

static TARGET_VNNI float
dot_q4_k(const void *w, const void *xq, int cols)
{
	float		out;

	k_rows(w, 0, xq, cols, &out, 1, false);
	return out;
}

static TARGET_VNNI void
dot4_q4_k(const void *w, size_t row_bytes, const void *xq, int cols, float *out)
{
	k_rows(w, row_bytes, xq, cols, out, 4, false);
}

static TARGET_VNNI float
dot_q5_k(const void *w, const void *xq, int cols)
{
	float		out;

	k_rows(w, 0, xq, cols, &out, 1, true);
	return out;
}

static TARGET_VNNI void
dot4_q5_k(const void *w, size_t row_bytes, const void *xq, int cols, float *out)
{
	k_rows(w, row_bytes, xq, cols, out, 4, true);
}

/*
 * Q6_K: per half block, the 64 bytes of ql give elements 0..63 (low
 * nibbles, high bits from qh's bits 0-1 and 2-3) and 64..127 (high
 * nibbles, bits 4-5 and 6-7); 32 is subtracted as Σ32x (computed once per
 * block for all the rows); four sub-blocks of 16 per register, each with
 * its scale.  nrows (1 or 4) rows, row_bytes apart.
 */
static ALWAYS_INLINE TARGET_VNNI void
q6_rows(const void *w, size_t row_bytes, const void *xq, int cols, float *out, int nrows)
{
	const BlockQ8_K *b = xq;
	__m512		acc[4];
	const __m512i low4 = _mm512_set1_epi8(0xF);
	const __m512i three = _mm512_set1_epi8(3);
	const __m512i k32 = _mm512_set1_epi8(32);
	const __m512i first4 = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2,
											1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m512i next4 = _mm512_add_epi16(first4, _mm512_set1_epi16(4));

	for (int r = 0; r < nrows; r++)
		acc[r] = _mm512_setzero_ps();
	for (int i = 0; i < cols / QK_K; i++)
	{
		__m512i		x01[2],
					x23[2],
					m01[2],
					m23[2];

		for (int half = 0; half < 2; half++)
		{
			x01[half] = _mm512_loadu_si512(b[i].qs + 128 * half);
			x23[half] = _mm512_loadu_si512(b[i].qs + 128 * half + 64);
			m01[half] = _mm512_maddubs_epi16(k32, x01[half]);
			m23[half] = _mm512_maddubs_epi16(k32, x23[half]);
		}
		for (int r = 0; r < nrows; r++)
		{
			const BlockQ6_K *a = (const BlockQ6_K *) ((const char *) w + r * row_bytes) + i;
			__m512i		sumi = _mm512_setzero_si512();

			for (int half = 0; half < 2; half++)
			{
				__m512i		l = _mm512_loadu_si512(a->ql + 64 * half);
				__m256i		h256 = _mm256_loadu_si256((const __m256i *) (a->qh + 32 * half));
				__m512i		h = join(h256, _mm256_srli_epi16(h256, 2));
				__m512i		q01 = _mm512_or_si512(_mm512_and_si512(l, low4),
												  _mm512_slli_epi16(_mm512_and_si512(h, three), 4));
				__m512i		q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
												  _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h, 4), three), 4));
				__m512i		sc = _mm512_castsi128_si512(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *) (a->scales + 8 * half))));
				__m512i		p01 = _mm512_sub_epi16(_mm512_maddubs_epi16(q01, x01[half]), m01[half]);
				__m512i		p23 = _mm512_sub_epi16(_mm512_maddubs_epi16(q23, x23[half]), m23[half]);

				sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p01, _mm512_permutexvar_epi16(first4, sc)));
				sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p23, _mm512_permutexvar_epi16(next4, sc)));
			}
			acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * H2F(a->d)), _mm512_cvtepi32_ps(sumi), acc[r]);
		}
	}
	for (int r = 0; r < nrows; r++)
		out[r] = _mm512_reduce_add_ps(acc[r]);
}

static TARGET_VNNI float
dot_q6_k(const void *w, const void *xq, int cols)
{
	float		out;

	q6_rows(w, 0, xq, cols, &out, 1);
	return out;
}

static TARGET_VNNI void
dot4_q6_k(const void *w, size_t row_bytes, const void *xq, int cols, float *out)
{
	q6_rows(w, row_bytes, xq, cols, out, 4);
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

QuantDot4Fn
lm_qdot4_avx512(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q8_0:
			return dot4_q8_0;
		case LM_DTYPE_Q4_0:
			return dot4_q4_0;
		case LM_DTYPE_Q5_0:
			return dot4_q5_0;
		case LM_DTYPE_Q4_K:
			return dot4_q4_k;
		case LM_DTYPE_Q5_K:
			return dot4_q5_k;
		case LM_DTYPE_Q6_K:
			return dot4_q6_k;
		default:
			return NULL;
	}
}

/* ---- dequantizing ---------------------------------------------------------------- */

static TARGET_VNNI void
dequant_q8_0(const void *blocks, long nb, float *out)
{
	const BlockQ8_0 *b = blocks;

	for (long i = 0; i < nb; i++, out += QK)
	{
		__m512		d = _mm512_set1_ps(H2F(b[i].d));
		__m256i		q = _mm256_loadu_si256((const __m256i *) b[i].qs);

		_mm512_storeu_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q))), d));
		_mm512_storeu_ps(out + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1))), d));
	}
}

/* Q4_K: per sub-block, d·sc (then ·q) minus dmin·mn, as the C code computes it. */
static TARGET_VNNI void
dequant_q4_k(const void *blocks, long nb, float *out)
{
	const BlockQ4_K *b = blocks;

	for (long i = 0; i < nb; i++, out += QK_K)
	{
		uint8_t		sc[8],
					mn[8];
		float		d = H2F(b[i].d),
					dmin = H2F(b[i].dmin);

		k_scales_mins(b[i].scales, sc, mn);
		for (int pair = 0; pair < 4; pair++)
		{
			__m256i		q = _mm256_loadu_si256((const __m256i *) (b[i].qs + 32 * pair));
			__m256i		nib[2] = {_mm256_and_si256(q, _mm256_set1_epi8(0xF)),
				_mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0xF))};

			for (int h = 0; h < 2; h++)
			{
				int			s = 2 * pair + h;
				__m512		ds = _mm512_set1_ps(d * sc[s]);
				__m512		ms = _mm512_set1_ps(dmin * mn[s]);
				float	   *o = out + 32 * s;

				_mm512_storeu_ps(o, _mm512_sub_ps(_mm512_mul_ps(ds, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_castsi256_si128(nib[h])))), ms));
				_mm512_storeu_ps(o + 16, _mm512_sub_ps(_mm512_mul_ps(ds, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_extracti128_si256(nib[h], 1)))), ms));
			}
		}
	}
}

/* Q6_K: d·sc (then ·q), q − 32 from its low 4 bits in ql and high 2 in qh. */
static TARGET_VNNI void
dequant_q6_k(const void *blocks, long nb, float *out)
{
	const BlockQ6_K *b = blocks;

	for (long i = 0; i < nb; i++, out += QK_K)
	{
		float		d = H2F(b[i].d);

		for (int half = 0; half < 2; half++)
		{
			__m256i		q[4];

			q6_k_half(&b[i], half, q);
			for (int k = 0; k < 4; k++)
			{
				__m256i		v = _mm256_sub_epi8(q[k], _mm256_set1_epi8(32));
				float	   *o = out + 128 * half + 32 * k;
				const int8_t *sc = b[i].scales + 8 * half + 2 * k;

				_mm512_storeu_ps(o, _mm512_mul_ps(_mm512_set1_ps(d * sc[0]),
												  _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(v)))));
				_mm512_storeu_ps(o + 16, _mm512_mul_ps(_mm512_set1_ps(d * sc[1]),
													   _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(v, 1)))));
			}
		}
	}
}

DequantFn
lm_dequant_avx512(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q8_0:
			return dequant_q8_0;
		case LM_DTYPE_Q4_K:
			return dequant_q4_k;
		case LM_DTYPE_Q6_K:
			return dequant_q6_k;
		default:
			return NULL;
	}
}

/* ---- quantizing activations: the C code's bits (quant_ref.c) ----------------------- */

/* 32 floats times id, rounded to even (the default rounding mode), as bytes; their sum. */
static ALWAYS_INLINE TARGET_VNNI int
round_block32(const float *x, __m512 id, int8_t *q)
{
	__m512i		a = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id));
	__m512i		b = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), id));

	_mm_storeu_si128((__m128i *) q, _mm512_cvtepi32_epi8(a));
	_mm_storeu_si128((__m128i *) (q + 16), _mm512_cvtepi32_epi8(b));
	return _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
}

/* max |x| of 32 floats, NaN skipped as the C code's comparison skips it */
static ALWAYS_INLINE TARGET_VNNI float
abs_max32(const float *x)
{
	__m512		a = _mm512_abs_ps(_mm512_loadu_ps(x));
	__m512		b = _mm512_abs_ps(_mm512_loadu_ps(x + 16));

	return _mm512_reduce_max_ps(_mm512_max_ps(a, _mm512_max_ps(b, _mm512_setzero_ps())));
}

static TARGET_VNNI void
act_q8_0(const float *x, int cols, void *out)
{
	BlockQ8_0  *y = out;

	for (int i = 0; i < cols / QK; i++, x += QK)
	{
		float		amax = abs_max32(x);

		y[i].d = lm_f32_to_f16(amax / 127.0f);
		(void) round_block32(x, _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f), y[i].qs);
	}
}

static TARGET_VNNI void
act_q8_1(const float *x, int cols, void *out)
{
	BlockQ8_1  *y = out;

	for (int i = 0; i < cols / QK; i++, x += QK)
	{
		float		amax = abs_max32(x);
		float		d = amax / 127.0f;
		int			sum = round_block32(x, _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f), y[i].qs);

		y[i].d = lm_f32_to_f16(d);
		y[i].s = lm_f32_to_f16(d * (float) sum);
	}
}

static TARGET_VNNI void
act_q8_k(const float *x, int cols, void *out)
{
	BlockQ8_K  *y = out;

	for (int i = 0; i < cols / QK_K; i++, x += QK_K)
	{
		__m512		m = _mm512_setzero_ps();
		__m512		amax_v;
		float		amax,
					max = 0.0f,
					iscale;
		__m512		scale;

		for (int j = 0; j < QK_K; j += 16)
			m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), m);
		amax = _mm512_reduce_max_ps(m);
		if (amax == 0.0f)
		{
			memset(&y[i], 0, sizeof(y[i]));
			continue;
		}
		/* the first element of that magnitude, with its sign */
		amax_v = _mm512_set1_ps(amax);
		for (int j = 0; j < QK_K; j += 16)
		{
			__mmask16	at = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)), amax_v, _CMP_EQ_OQ);

			if (at != 0)
			{
				max = x[j + __builtin_ctz(at)];
				break;
			}
		}
		iscale = -127.0f / max;
		scale = _mm512_set1_ps(iscale);
		for (int g = 0; g < QK_K / 16; g++)
		{
			__m512i		v = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), scale)),
											 _mm512_set1_epi32(127));

			_mm_storeu_si128((__m128i *) (y[i].qs + 16 * g), _mm512_cvtepi32_epi8(v));
			y[i].bsums[g] = (int16_t) _mm512_reduce_add_epi32(v);
		}
		y[i].d = 1.0f / iscale;
	}
}

ActQuantFn
lm_act_quant_avx512(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q4_1:
		case LM_DTYPE_Q5_1:
			return act_q8_1;
		case LM_DTYPE_Q4_K:
		case LM_DTYPE_Q5_K:
		case LM_DTYPE_Q6_K:
			return act_q8_k;
		default:
			return act_q8_0;
	}
}
