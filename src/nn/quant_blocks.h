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

/* Sub-block j's 6-bit scale and minimum of a Q4_K/Q5_K block (j < 8). */
static inline void
k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn)
{
	if (j < 4)
	{
		*sc = q[j] & 63;
		*mn = q[j + 4] & 63;
	}
	else
	{
		*sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
		*mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
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

#endif
