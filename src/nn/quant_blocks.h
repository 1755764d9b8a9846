/*
 * quant_blocks.h — the block layouts of llama.cpp's quantized types
 * (ggml-common.h), and of the 8-bit activations they are multiplied with.
 * Internal to src/nn (quant_*.c).
 *
 * Scales are float16 bits.  A value is, per type:
 *   Q8_0  d·q                      q int8
 *   Q4_0  d·(q − 8)                q 4 bits: element j in the low nibble of qs[j],
 *                                  element j+16 in the high nibble
 *   Q4_1  d·q + m                  as Q4_0
 *   Q5_0  d·(q − 16)               q's 5th bit j in bit j of qh (little endian)
 *   Q5_1  d·q + m
 *   Q4_K  d·sc·q − dmin·mn         8 sub-blocks of 32 with 6-bit sc, mn (packed in
 *                                  scales[12]); 64 elements share 32 bytes of qs:
 *                                  the first 32 low nibbles, the next 32 high ones
 *   Q5_K  as Q4_K, 5th bits in qh[32]: bit 2i / 2i+1 for the pair of sub-blocks i
 *   Q6_K  d·sc·(q − 32)            16 sub-blocks of 16 with int8 sc; q's low 4 bits
 *                                  in ql, high 2 in qh (see lm_dequantize)
 */
#ifndef LM_NN_QUANT_BLOCKS_H
#define LM_NN_QUANT_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "formats/tensor.h"

#define QK 32					/* elements of a small block */
#define QK_K 256				/* elements of a K block */

typedef struct
{
	uint16_t	d;
	int8_t		qs[QK];
} BlockQ8_0;

typedef struct
{
	uint16_t	d;
	uint8_t		qs[QK / 2];
} BlockQ4_0;

typedef struct
{
	uint16_t	d;
	uint16_t	m;
	uint8_t		qs[QK / 2];
} BlockQ4_1;

typedef struct
{
	uint16_t	d;
	uint8_t		qh[4];
	uint8_t		qs[QK / 2];
} BlockQ5_0;

typedef struct
{
	uint16_t	d;
	uint16_t	m;
	uint8_t		qh[4];
	uint8_t		qs[QK / 2];
} BlockQ5_1;

typedef struct
{
	uint16_t	d;
	uint16_t	dmin;
	uint8_t		scales[12];
	uint8_t		qs[QK_K / 2];
} BlockQ4_K;

typedef struct
{
	uint16_t	d;
	uint16_t	dmin;
	uint8_t		scales[12];
	uint8_t		qh[QK_K / 8];
	uint8_t		qs[QK_K / 2];
} BlockQ5_K;

typedef struct
{
	uint8_t		ql[QK_K / 2];
	uint8_t		qh[QK_K / 4];
	int8_t		scales[QK_K / 16];
	uint16_t	d;
} BlockQ6_K;

/* Activations for Q4_1 and Q5_1: s = d·Σq, for the minimums' share. */
typedef struct
{
	uint16_t	d;
	uint16_t	s;
	int8_t		qs[QK];
} BlockQ8_1;

/* Activations for the K types: a float scale and the sums of each 16. */
typedef struct
{
	float		d;
	int8_t		qs[QK_K];
	int16_t		bsums[QK_K / 16];
} BlockQ8_K;

_Static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block");
_Static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block");
_Static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block");
_Static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block");
_Static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block");
_Static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block");
_Static_assert(sizeof(BlockQ8_1) == 36, "Q8_1 block");
_Static_assert(sizeof(BlockQ8_K) == 292, "Q8_K block");

/*
 * The 8 sub-blocks' 6-bit scales and minimums of a Q4_K/Q5_K block, from its
 * 12 bytes: scales 0-3 are the low 6 bits of bytes 0-3 and minimums 0-3 of
 * bytes 4-7; scales 4-7 take their low 4 bits from the low nibbles of bytes
 * 8-11 and their top 2 from the top bits of bytes 0-3, minimums 4-7 the high
 * nibbles of bytes 8-11 and the top bits of bytes 4-7.  Four at a time in
 * 32-bit words.
 */
static inline void
k_scales_mins(const uint8_t *q, uint8_t sc[8], uint8_t mn[8])
{
	uint32_t	a,
				b,
				c,
				w;

	memcpy(&a, q, 4);
	memcpy(&b, q + 4, 4);
	memcpy(&c, q + 8, 4);
	w = a & 0x3f3f3f3f;
	memcpy(sc, &w, 4);
	w = (c & 0x0f0f0f0f) | (((a >> 6) & 0x03030303) << 4);
	memcpy(sc + 4, &w, 4);
	w = b & 0x3f3f3f3f;
	memcpy(mn, &w, 4);
	w = ((c >> 4) & 0x0f0f0f0f) | (((b >> 6) & 0x03030303) << 4);
	memcpy(mn + 4, &w, 4);
}

/* Round to the nearest integer, halves to even, for |v| < 2^22 (llama.cpp's nearest_int). */
static inline int
round_even(float v)
{
	float		shifted = v + 12582912.0f;	/* 1.5 · 2^23: the integer lands in the low mantissa bits */
	int32_t		bits;

	memcpy(&bits, &shifted, sizeof(bits));
	return (bits & 0x007fffff) - 0x00400000;
}

/*
 * A row of weights as unsigned bytes u, for the integer products of prompts
 * (quant_gemm_avx512.c): value = scale·(u − zero) + offset, a scale and
 * an offset per sub-block; the activations carry a scale per group.
 */
typedef struct QuantForm
{
	int			sub;			/* elements per scale: 32, or 16 (Q6_K) */
	int			group;			/* elements per activation scale: 32, or 256 (K types) */
	int			zero;			/* 128 (Q8_0), 8, 16, 32 (Q6_K), or 0 */
	bool		offset;			/* Q4_1, Q5_1: + offset·s (Q8_1's carried sum); K: + offset·d·Σq */
} QuantForm;

bool		lm_quant_form(LmDType dtype, QuantForm *form);

/* u[n], scale and offset (n / sub of each; offset only where the form has one). */
void		lm_quant_unsigned_row(const void *blocks, LmDType dtype, int n, uint8_t *u, float *scale,
								  float *offset);

/*
 * A row of quantized activations (lm_quant_activations) taken apart: q[cols],
 * d per group, sums (Σq per sub-block of the weights' form) and, for Q8_1,
 * its carried sums per block (else untouched).
 */
void		lm_quant_act_parts(LmDType dtype, const void *xq, int cols, int8_t *q, float *d,
							   int32_t *sums, float *carried);

/* The C kernels (quant_ref.c), also the fallback of the SIMD ones. */
float		lm_qdot_c_q8_0(const void *w, const void *xq, int cols);
float		lm_qdot_c_q4_0(const void *w, const void *xq, int cols);
float		lm_qdot_c_q4_1(const void *w, const void *xq, int cols);
float		lm_qdot_c_q5_0(const void *w, const void *xq, int cols);
float		lm_qdot_c_q5_1(const void *w, const void *xq, int cols);
float		lm_qdot_c_q4_k(const void *w, const void *xq, int cols);
float		lm_qdot_c_q5_k(const void *w, const void *xq, int cols);
float		lm_qdot_c_q6_k(const void *w, const void *xq, int cols);

/* The AVX2 and AVX-512 ones (quant_avx2.c, quant_avx512.c), by dtype; NULL: none. */
typedef float (*QuantDotFn) (const void *w, const void *xq, int cols);
QuantDotFn	lm_qdot_avx2(LmDType dtype);
QuantDotFn	lm_qdot_avx512(LmDType dtype);

/*
 * Four rows at once (row_bytes apart) with the same activations: out[r] is
 * what the one-row kernel of the same set gives for row r, bit for bit.
 */
typedef void (*QuantDot4Fn) (const void *w, size_t row_bytes, const void *xq, int cols, float *out);
QuantDot4Fn lm_qdot4_avx512(LmDType dtype);

/*
 * Dequantizing nb blocks with AVX-512 (quant_avx512.c), the same bits as the
 * C code (the same products and differences, no fused multiply-adds); NULL
 * for types without one.
 */
typedef void (*DequantFn) (const void *blocks, long nb, float *out);
DequantFn	lm_dequant_avx512(LmDType dtype);

/* Quantizing a row of activations with AVX-512 (quant_avx512.c): the same bytes as the C code. */
typedef void (*ActQuantFn) (const float *x, int cols, void *xq);
ActQuantFn	lm_act_quant_avx512(LmDType dtype);

#endif
