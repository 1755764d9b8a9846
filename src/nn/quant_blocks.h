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

#endif
