/*
 * quant_ref.c — quantized blocks in plain C: dequantizing them, quantizing
 * weights to Q8_0 and activations to Q8_0/Q8_1/Q8_K, and the dot products
 * of a row of weights with a row of quantized activations (the fallback
 * kernels, and the reference the SIMD ones are tested against).
 */
#include "nn/quant.h"

#include <math.h>
#include <string.h>

#include "nn/quant_blocks.h"
#include "nn/weights.h"

#define H2F(h) lm_f16_to_f32(h)

uint16_t
lm_f32_to_f16(float f)
{
	uint32_t	x;
	uint32_t	sign;
	uint32_t	a;

	memcpy(&x, &f, sizeof(x));
	sign = (x >> 16) & 0x8000;
	a = x & 0x7fffffff;
	if (a >= 0x7f800000)		/* inf, nan (kept a nan) */
		return sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0);
	if (a >= 0x477ff000)		/* 65520 and up round to inf */
		return sign | 0x7c00;
	if (a < 0x38800000)
	{
		/* below the smallest normal: a multiple of 2^-24, rounded to even */
		float		v;

		memcpy(&v, &a, sizeof(v));
		return sign | (uint16_t) nearbyintf(v * 16777216.0f);
	}
	/* rebias the exponent (127 → 15) and round the 13 dropped bits to even */
	a += 0xc8000fff + ((a >> 13) & 1);
	return sign | (uint16_t) (a >> 13);
}

/* ---- dequantizing -------------------------------------------------------- */

static void
dequant_q8_0(const BlockQ8_0 *b, float *y)
{
	float		d = H2F(b->d);

	for (int j = 0; j < QK; j++)
		y[j] = b->qs[j] * d;
}

/* The 4-bit values of a Q4_0/Q4_1 block, 0 .. 15: low nibbles first, then high. */
static void
q4_values(const uint8_t *qs, int *q)
{
	for (int j = 0; j < QK / 2; j++)
	{
		q[j] = qs[j] & 0xF;
		q[j + QK / 2] = qs[j] >> 4;
	}
}

/* The 5-bit values of a Q5_0/Q5_1 block, 0 .. 31. */
static void
q5_values(const uint8_t *qh_bytes, const uint8_t *qs, int *q)
{
	uint32_t	qh;

	memcpy(&qh, qh_bytes, sizeof(qh));
	for (int j = 0; j < QK / 2; j++)
	{
		q[j] = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
		q[j + QK / 2] = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
	}
}

static void
dequant_q4_0(const BlockQ4_0 *b, float *y)
{
	float		d = H2F(b->d);
	int			q[QK];

	q4_values(b->qs, q);
	for (int j = 0; j < QK; j++)
		y[j] = (q[j] - 8) * d;
}

static void
dequant_q4_1(const BlockQ4_1 *b, float *y)
{
	float		d = H2F(b->d);
	float		m = H2F(b->m);
	int			q[QK];

	q4_values(b->qs, q);
	for (int j = 0; j < QK; j++)
		y[j] = q[j] * d + m;
}

static void
dequant_q5_0(const BlockQ5_0 *b, float *y)
{
	float		d = H2F(b->d);
	int			q[QK];

	q5_values(b->qh, b->qs, q);
	for (int j = 0; j < QK; j++)
		y[j] = (q[j] - 16) * d;
}

static void
dequant_q5_1(const BlockQ5_1 *b, float *y)
{
	float		d = H2F(b->d);
	float		m = H2F(b->m);
	int			q[QK];

	q5_values(b->qh, b->qs, q);
	for (int j = 0; j < QK; j++)
		y[j] = q[j] * d + m;
}

/*
 * The values of a Q4_K/Q5_K block before scaling, 0 .. 15 (0 .. 31 with
 * qh), and each sub-block's scale and minimum.
 */
static void
k_values(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, int *q,
		 uint8_t *sc, uint8_t *mn)
{
	k_scales_mins(scales, sc, mn);
	for (int pair = 0; pair < 4; pair++)
	{
		const uint8_t *p = qs + 32 * pair;

		for (int l = 0; l < 32; l++)
		{
			int			lo = p[l] & 0xF;
			int			hi = p[l] >> 4;

			if (qh != NULL)
			{
				lo |= ((qh[l] >> (2 * pair)) & 1) << 4;
				hi |= ((qh[l] >> (2 * pair + 1)) & 1) << 4;
			}
			q[64 * pair + l] = lo;
			q[64 * pair + 32 + l] = hi;
		}
	}
}

static void
dequant_k(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh,
		  uint16_t d_bits, uint16_t dmin_bits, float *y)
{
	float		d = H2F(d_bits);
	float		dmin = H2F(dmin_bits);
	int			q[QK_K];
	uint8_t		sc[8],
				mn[8];

	k_values(scales, qs, qh, q, sc, mn);
	for (int s = 0; s < 8; s++)
	{
		float		ds = d * sc[s];
		float		ms = dmin * mn[s];

		for (int l = 0; l < 32; l++)
			y[32 * s + l] = ds * q[32 * s + l] - ms;
	}
}

/* The values of a Q6_K block, −32 .. 31. */
static void
q6_values(const BlockQ6_K *b, int *q)
{
	for (int half = 0; half < 2; half++)
	{
		const uint8_t *ql = b->ql + 64 * half;
		const uint8_t *qh = b->qh + 32 * half;
		int		   *o = q + 128 * half;

		for (int l = 0; l < 32; l++)
		{
			o[l] = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
			o[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
			o[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
			o[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
		}
	}
}

static void
dequant_q6_k(const BlockQ6_K *b, float *y)
{
	float		d = H2F(b->d);
	int			q[QK_K];

	q6_values(b, q);
	for (int j = 0; j < QK_K; j++)
		y[j] = d * b->scales[j / 16] * q[j];
}

void
lm_dequantize(const void *blocks, LmDType dtype, long n, float *out)
{
	long		nb = n / lm_dtype_block(dtype);
	DequantFn	fast = lm_quant_simd() == LM_SIMD_AVX512 ? lm_dequant_avx512(dtype) : NULL;

	if (fast != NULL)
	{
		fast(blocks, nb, out);
		return;
	}

	for (long i = 0; i < nb; i++)
	{
		switch (dtype)
		{
			case LM_DTYPE_Q8_0:
				dequant_q8_0((const BlockQ8_0 *) blocks + i, out + QK * i);
				break;
			case LM_DTYPE_Q4_0:
				dequant_q4_0((const BlockQ4_0 *) blocks + i, out + QK * i);
				break;
			case LM_DTYPE_Q4_1:
				dequant_q4_1((const BlockQ4_1 *) blocks + i, out + QK * i);
				break;
			case LM_DTYPE_Q5_0:
				dequant_q5_0((const BlockQ5_0 *) blocks + i, out + QK * i);
				break;
			case LM_DTYPE_Q5_1:
				dequant_q5_1((const BlockQ5_1 *) blocks + i, out + QK * i);
				break;
			case LM_DTYPE_Q4_K:
				{
					const BlockQ4_K *b = (const BlockQ4_K *) blocks + i;

					dequant_k(b->scales, b->qs, NULL, b->d, b->dmin, out + QK_K * i);
					break;
				}
			case LM_DTYPE_Q5_K:
				{
					const BlockQ5_K *b = (const BlockQ5_K *) blocks + i;

					dequant_k(b->scales, b->qs, b->qh, b->d, b->dmin, out + QK_K * i);
					break;
				}
			case LM_DTYPE_Q6_K:
				dequant_q6_k((const BlockQ6_K *) blocks + i, out + QK_K * i);
				break;
			default:
				return;
		}
	}
}

/* ---- unsigned bytes, for integer products of prompts ---------------------- */

bool
lm_quant_form(LmDType dtype, QuantForm *f)
{
	switch (dtype)
	{
		case LM_DTYPE_Q8_0:
			*f = (QuantForm) {QK, QK, 128, false};
			return true;
		case LM_DTYPE_Q4_0:
			*f = (QuantForm) {QK, QK, 8, false};
			return true;
		case LM_DTYPE_Q5_0:
			*f = (QuantForm) {QK, QK, 16, false};
			return true;
		case LM_DTYPE_Q4_1:
		case LM_DTYPE_Q5_1:
			*f = (QuantForm) {QK, QK, 0, true};
			return true;
		case LM_DTYPE_Q4_K:
		case LM_DTYPE_Q5_K:
			*f = (QuantForm) {32, QK_K, 0, true};
			return true;
		case LM_DTYPE_Q6_K:
			*f = (QuantForm) {16, QK_K, 32, false};
			return true;
		default:
			return false;
	}
}

void
lm_quant_unsigned_row(const void *blocks, LmDType dtype, int n, uint8_t *u, float *scale, float *offset)
{
	int			q[QK_K];

	for (int i = 0; i < n / lm_dtype_block(dtype); i++)
	{
		switch (dtype)
		{
			case LM_DTYPE_Q8_0:
				{
					const BlockQ8_0 *b = (const BlockQ8_0 *) blocks + i;

					for (int j = 0; j < QK; j++)
						u[QK * i + j] = (uint8_t) (b->qs[j] + 128);
					scale[i] = H2F(b->d);
					break;
				}
			case LM_DTYPE_Q4_0:
			case LM_DTYPE_Q4_1:
			case LM_DTYPE_Q5_0:
			case LM_DTYPE_Q5_1:
				{
					const BlockQ4_0 *b4 = (const BlockQ4_0 *) blocks + i;
					const BlockQ4_1 *b4m = (const BlockQ4_1 *) blocks + i;
					const BlockQ5_0 *b5 = (const BlockQ5_0 *) blocks + i;
					const BlockQ5_1 *b5m = (const BlockQ5_1 *) blocks + i;

					if (dtype == LM_DTYPE_Q4_0)
						q4_values(b4->qs, q), scale[i] = H2F(b4->d);
					else if (dtype == LM_DTYPE_Q4_1)
						q4_values(b4m->qs, q), scale[i] = H2F(b4m->d), offset[i] = H2F(b4m->m);
					else if (dtype == LM_DTYPE_Q5_0)
						q5_values(b5->qh, b5->qs, q), scale[i] = H2F(b5->d);
					else
						q5_values(b5m->qh, b5m->qs, q), scale[i] = H2F(b5m->d), offset[i] = H2F(b5m->m);
					for (int j = 0; j < QK; j++)
						u[QK * i + j] = (uint8_t) q[j];
					break;
				}
			case LM_DTYPE_Q4_K:
			case LM_DTYPE_Q5_K:
				{
					const BlockQ4_K *b4 = (const BlockQ4_K *) blocks + i;
					const BlockQ5_K *b5 = (const BlockQ5_K *) blocks + i;
					uint8_t		sc[8],
								mn[8];
					float		d,
								dmin;

					if (dtype == LM_DTYPE_Q4_K)
						k_values(b4->scales, b4->qs, NULL, q, sc, mn), d = H2F(b4->d), dmin = H2F(b4->dmin);
					else
						k_values(b5->scales, b5->qs, b5->qh, q, sc, mn), d = H2F(b5->d), dmin = H2F(b5->dmin);
					for (int s = 0; s < 8; s++)
					{
						scale[8 * i + s] = d * sc[s];
						offset[8 * i + s] = -(dmin * mn[s]);
					}
					for (int j = 0; j < QK_K; j++)
						u[QK_K * i + j] = (uint8_t) q[j];
					break;
				}
			case LM_DTYPE_Q6_K:
				{
					const BlockQ6_K *b = (const BlockQ6_K *) blocks + i;
					float		d = H2F(b->d);

					q6_values(b, q);
					for (int s = 0; s < 16; s++)
						scale[16 * i + s] = d * b->scales[s];
					for (int j = 0; j < QK_K; j++)
						u[QK_K * i + j] = (uint8_t) (q[j] + 32);
					break;
				}
			default:
				return;
		}
	}
}

/* ---- quantizing ------------------------------------------------------------ */

static float
abs_max(const float *x, int n)
{
	float		amax = 0.0f;

	for (int j = 0; j < n; j++)
	{
		float		a = fabsf(x[j]);

		amax = a > amax ? a : amax;
	}
	return amax;
}

/* llama-quantize's Q8_0: d = max|x|/127, q = round(x/d), halves away from zero. */
void
lm_quantize_q8_0(const float *x, long n, void *out)
{
	BlockQ8_0  *y = out;

	for (long i = 0; i < n / QK; i++, x += QK)
	{
		float		d = abs_max(x, QK) / 127.0f;
		float		id = d != 0.0f ? 1.0f / d : 0.0f;

		y[i].d = lm_f32_to_f16(d);
		for (int j = 0; j < QK; j++)
			y[i].qs[j] = (int8_t) roundf(x[j] * id);
	}
}

/*
 * Activations as llama.cpp's CPU backend quantizes them: Q8_0 (and Q8_1,
 * with s = d·Σq) scale by 127/max|x| and round halves to even.
 */
static void
act_q8_0(const float *x, int cols, BlockQ8_0 *y)
{
	for (int i = 0; i < cols / QK; i++, x += QK)
	{
		float		amax = abs_max(x, QK);
		float		id = amax != 0.0f ? 127.0f / amax : 0.0f;

		y[i].d = lm_f32_to_f16(amax / 127.0f);
		for (int j = 0; j < QK; j++)
			y[i].qs[j] = (int8_t) round_even(x[j] * id);
	}
}

static void
act_q8_1(const float *x, int cols, BlockQ8_1 *y)
{
	for (int i = 0; i < cols / QK; i++, x += QK)
	{
		float		amax = abs_max(x, QK);
		float		d = amax / 127.0f;
		float		id = amax != 0.0f ? 127.0f / amax : 0.0f;
		int			sum = 0;

		for (int j = 0; j < QK; j++)
		{
			y[i].qs[j] = (int8_t) round_even(x[j] * id);
			sum += y[i].qs[j];
		}
		y[i].d = lm_f32_to_f16(d);
		y[i].s = lm_f32_to_f16(d * (float) sum);
	}
}

/*
 * Q8_K: the element of largest magnitude becomes −127 (its sign kept in
 * the scale), the rest round to even, with the sums of each 16.
 */
static void
act_q8_k(const float *x, int cols, BlockQ8_K *y)
{
	for (int i = 0; i < cols / QK_K; i++, x += QK_K)
	{
		float		amax = 0.0f;
		float		max = 0.0f;
		float		iscale;

		for (int j = 0; j < QK_K; j++)
		{
			if (fabsf(x[j]) > amax)
			{
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		if (amax == 0.0f)
		{
			memset(&y[i], 0, sizeof(y[i]));
			continue;
		}
		iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j++)
		{
			int			v = round_even(iscale * x[j]);

			y[i].qs[j] = (int8_t) (v < 127 ? v : 127);
		}
		for (int g = 0; g < QK_K / 16; g++)
		{
			int			sum = 0;

			for (int j = 0; j < 16; j++)
				sum += y[i].qs[16 * g + j];
			y[i].bsums[g] = (int16_t) sum;
		}
		y[i].d = 1.0f / iscale;
	}
}

/* The activation type llama.cpp pairs with each weight type. */
typedef enum ActKind
{
	ACT_Q8_0,					/* Q8_0, Q4_0, Q5_0 */
	ACT_Q8_1,					/* Q4_1, Q5_1 */
	ACT_Q8_K					/* the K types */
} ActKind;

static ActKind
act_kind(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q4_1:
		case LM_DTYPE_Q5_1:
			return ACT_Q8_1;
		case LM_DTYPE_Q4_K:
		case LM_DTYPE_Q5_K:
		case LM_DTYPE_Q6_K:
			return ACT_Q8_K;
		default:
			return ACT_Q8_0;
	}
}

size_t
lm_quant_act_row_bytes(LmDType dtype, int cols)
{
	switch (act_kind(dtype))
	{
		case ACT_Q8_1:
			return (size_t) cols / QK * sizeof(BlockQ8_1);
		case ACT_Q8_K:
			return (size_t) cols / QK_K * sizeof(BlockQ8_K);
		default:
			return (size_t) cols / QK * sizeof(BlockQ8_0);
	}
}

void
lm_quant_activations(LmDType dtype, const float *x, int cols, void *xq)
{
	if (lm_quant_simd() == LM_SIMD_AVX512)
	{
		lm_act_quant_avx512(dtype) (x, cols, xq);
		return;
	}
	switch (act_kind(dtype))
	{
		case ACT_Q8_1:
			act_q8_1(x, cols, xq);
			break;
		case ACT_Q8_K:
			act_q8_k(x, cols, xq);
			break;
		default:
			act_q8_0(x, cols, xq);
			break;
	}
}

bool
lm_quant_split_minimums(const void *blocks, LmDType dtype, long n, float *values, float *minimums)
{
	if (dtype != LM_DTYPE_Q4_1 && dtype != LM_DTYPE_Q5_1)
		return false;
	for (long b = 0; b < n / QK; b++)
	{
		uint16_t	m_bits;
		int			q[QK];
		float		d;

		if (dtype == LM_DTYPE_Q4_1)
		{
			const BlockQ4_1 *x = (const BlockQ4_1 *) blocks + b;

			q4_values(x->qs, q);
			d = H2F(x->d);
			m_bits = x->m;
		}
		else
		{
			const BlockQ5_1 *x = (const BlockQ5_1 *) blocks + b;

			q5_values(x->qh, x->qs, q);
			d = H2F(x->d);
			m_bits = x->m;
		}
		for (int j = 0; j < QK; j++)
			values[QK * b + j] = q[j] * d;
		minimums[b] = H2F(m_bits);
	}
	return true;
}

bool
lm_quant_activation_sums(LmDType dtype, const void *xq, int cols, float *sums)
{
	if (act_kind(dtype) != ACT_Q8_1)
		return false;
	for (int b = 0; b < cols / QK; b++)
		sums[b] = H2F(((const BlockQ8_1 *) xq)[b].s);
	return true;
}

void
lm_quant_activations_value(LmDType dtype, const void *xq, int cols, float *out)
{
	switch (act_kind(dtype))
	{
		case ACT_Q8_1:
			for (int b = 0; b < cols / QK; b++)
			{
				const BlockQ8_1 *x = (const BlockQ8_1 *) xq + b;
				float		d = H2F(x->d);

				for (int j = 0; j < QK; j++)
					out[QK * b + j] = d * x->qs[j];
			}
			break;
		case ACT_Q8_K:
			for (int b = 0; b < cols / QK_K; b++)
			{
				const BlockQ8_K *x = (const BlockQ8_K *) xq + b;

				for (int j = 0; j < QK_K; j++)
					out[QK_K * b + j] = x->d * x->qs[j];
			}
			break;
		default:
			for (int b = 0; b < cols / QK; b++)
			{
				const BlockQ8_0 *x = (const BlockQ8_0 *) xq + b;
				float		d = H2F(x->d);

				for (int j = 0; j < QK; j++)
					out[QK * b + j] = d * x->qs[j];
			}
			break;
	}
}

void
lm_quant_act_parts(LmDType dtype, const void *xq, int cols, int8_t *q, float *d, int32_t *sums,
				   float *carried)
{
	switch (act_kind(dtype))
	{
		case ACT_Q8_1:
			for (int b = 0; b < cols / QK; b++)
			{
				const BlockQ8_1 *x = (const BlockQ8_1 *) xq + b;

				memcpy(q + QK * b, x->qs, QK);
				d[b] = H2F(x->d);
				carried[b] = H2F(x->s);
				sums[b] = 0;
				for (int j = 0; j < QK; j++)
					sums[b] += x->qs[j];
			}
			break;
		case ACT_Q8_K:
			for (int b = 0; b < cols / QK_K; b++)
			{
				const BlockQ8_K *x = (const BlockQ8_K *) xq + b;
				int			sub = dtype == LM_DTYPE_Q6_K ? 16 : 32;

				memcpy(q + QK_K * b, x->qs, QK_K);
				d[b] = x->d;
				for (int s = 0; s < QK_K / sub; s++)
					sums[QK_K / sub * b + s] = sub == 16 ? x->bsums[s] : x->bsums[2 * s] + x->bsums[2 * s + 1];
			}
			break;
		default:
			for (int b = 0; b < cols / QK; b++)
			{
				const BlockQ8_0 *x = (const BlockQ8_0 *) xq + b;

				memcpy(q + QK * b, x->qs, QK);
				d[b] = H2F(x->d);
				sums[b] = 0;
				for (int j = 0; j < QK; j++)
					sums[b] += x->qs[j];
			}
			break;
	}
}

/* ---- dot products, plain C --------------------------------------------- */

float
lm_qdot_c_q8_0(const void *w, const void *xq, int cols)
{
	const BlockQ8_0 *a = w;
	const BlockQ8_0 *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		int			isum = 0;

		for (int j = 0; j < QK; j++)
			isum += a[i].qs[j] * b[i].qs[j];
		sum += H2F(a[i].d) * H2F(b[i].d) * (float) isum;
	}
	return sum;
}

float
lm_qdot_c_q4_0(const void *w, const void *xq, int cols)
{
	const BlockQ4_0 *a = w;
	const BlockQ8_0 *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		int			q[QK];
		int			isum = 0;

		q4_values(a[i].qs, q);
		for (int j = 0; j < QK; j++)
			isum += (q[j] - 8) * b[i].qs[j];
		sum += H2F(a[i].d) * H2F(b[i].d) * (float) isum;
	}
	return sum;
}

float
lm_qdot_c_q4_1(const void *w, const void *xq, int cols)
{
	const BlockQ4_1 *a = w;
	const BlockQ8_1 *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		int			q[QK];
		int			isum = 0;

		q4_values(a[i].qs, q);
		for (int j = 0; j < QK; j++)
			isum += q[j] * b[i].qs[j];
		sum += H2F(a[i].d) * H2F(b[i].d) * (float) isum + H2F(a[i].m) * H2F(b[i].s);
	}
	return sum;
}

float
lm_qdot_c_q5_0(const void *w, const void *xq, int cols)
{
	const BlockQ5_0 *a = w;
	const BlockQ8_0 *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		int			q[QK];
		int			isum = 0;

		q5_values(a[i].qh, a[i].qs, q);
		for (int j = 0; j < QK; j++)
			isum += (q[j] - 16) * b[i].qs[j];
		sum += H2F(a[i].d) * H2F(b[i].d) * (float) isum;
	}
	return sum;
}

float
lm_qdot_c_q5_1(const void *w, const void *xq, int cols)
{
	const BlockQ5_1 *a = w;
	const BlockQ8_1 *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK; i++)
	{
		int			q[QK];
		int			isum = 0;

		q5_values(a[i].qh, a[i].qs, q);
		for (int j = 0; j < QK; j++)
			isum += q[j] * b[i].qs[j];
		sum += H2F(a[i].d) * H2F(b[i].d) * (float) isum + H2F(a[i].m) * H2F(b[i].s);
	}
	return sum;
}

/* Q4_K and Q5_K: Σ sub-blocks d·sc·Σq·x − dmin·mn·Σx, with Σx from the bsums. */
static float
dot_k(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t d_bits,
	  uint16_t dmin_bits, const BlockQ8_K *b)
{
	int			q[QK_K];
	uint8_t		sc[8],
				mn[8];
	int			sumi = 0;
	int			summ = 0;

	k_values(scales, qs, qh, q, sc, mn);
	for (int s = 0; s < 8; s++)
	{
		int			isum = 0;

		for (int l = 0; l < 32; l++)
			isum += q[32 * s + l] * b->qs[32 * s + l];
		sumi += sc[s] * isum;
		summ += mn[s] * (b->bsums[2 * s] + b->bsums[2 * s + 1]);
	}
	return b->d * H2F(d_bits) * (float) sumi - b->d * H2F(dmin_bits) * (float) summ;
}

float
lm_qdot_c_q4_k(const void *w, const void *xq, int cols)
{
	const BlockQ4_K *a = w;
	const BlockQ8_K *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
		sum += dot_k(a[i].scales, a[i].qs, NULL, a[i].d, a[i].dmin, &b[i]);
	return sum;
}

float
lm_qdot_c_q5_k(const void *w, const void *xq, int cols)
{
	const BlockQ5_K *a = w;
	const BlockQ8_K *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
		sum += dot_k(a[i].scales, a[i].qs, a[i].qh, a[i].d, a[i].dmin, &b[i]);
	return sum;
}

float
lm_qdot_c_q6_k(const void *w, const void *xq, int cols)
{
	const BlockQ6_K *a = w;
	const BlockQ8_K *b = xq;
	float		sum = 0.0f;

	for (int i = 0; i < cols / QK_K; i++)
	{
		int			q[QK_K];
		int			sumi = 0;

		q6_values(&a[i], q);
		for (int g = 0; g < QK_K / 16; g++)
		{
			int			isum = 0;

			for (int l = 0; l < 16; l++)
				isum += q[16 * g + l] * b[i].qs[16 * g + l];
			sumi += a[i].scales[g] * isum;
		}
		sum += b[i].d * H2F(a[i].d) * (float) sumi;
	}
	return sum;
}
