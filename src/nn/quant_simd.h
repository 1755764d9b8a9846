/*
 * quant_simd.h — unpacking quantized blocks into bytes with AVX2, shared by
 * the AVX2 and AVX-512 kernels (quant_avx2.c, quant_avx512.c: a function of
 * a narrower target inlines into a wider one).  Internal to src/nn.
 */
#ifndef LM_NN_QUANT_SIMD_H
#define LM_NN_QUANT_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "nn/quant_blocks.h"
#include "nn/simd.h"

/* 16 bytes of nibbles as 32 bytes 0..15: the low nibbles first, then the high ones. */
static ALWAYS_INLINE TARGET_AVX2 __m256i
nibbles(const uint8_t *qs)
{
	__m128i		b = _mm_loadu_si128((const __m128i *) qs);
	__m128i		lo = _mm_and_si128(b, _mm_set1_epi8(0xF));
	__m128i		hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0xF));

	return _mm256_set_m128i(hi, lo);
}

/* The 32 bits of qh as 32 bytes, 0x10 where the bit is set (Q5's fifth bits). */
static ALWAYS_INLINE TARGET_AVX2 __m256i
fifth_bits(const uint8_t *qh)
{
	uint32_t	bits;
	__m256i		v;
	const __m256i byte_of = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
											  0x0101010101010101, 0x0000000000000000);
	const __m256i bit_of = _mm256_set1_epi64x((long long) 0x8040201008040201ULL);

	memcpy(&bits, qh, sizeof(bits));
	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int) bits), byte_of);
	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit_of), bit_of);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/*
 * Half a Q6_K block (128 values) as four runs of 32 unsigned values 0..63
 * (q − 32 is the weight): run k is elements 32k .. 32k+31 of the half, its
 * low 4 bits from ql (runs 0, 1: low nibbles of ql's two 32-byte halves;
 * runs 2, 3: high nibbles) and its high 2 bits from bits 2k, 2k+1 of qh.
 */
static ALWAYS_INLINE TARGET_AVX2 void
q6_k_half(const BlockQ6_K *b, int half, __m256i q[4])
{
	const uint8_t *ql = b->ql + 64 * half;
	const __m256i h = _mm256_loadu_si256((const __m256i *) (b->qh + 32 * half)),
				l0 = _mm256_loadu_si256((const __m256i *) ql),
				l1 = _mm256_loadu_si256((const __m256i *) (ql + 32)),
				low4 = _mm256_set1_epi8(0xF),
				three = _mm256_set1_epi8(3);

	q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(h, three), 4));
	q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4),
						   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), three), 4));
	q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
						   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), three), 4));
	q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
						   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), three), 4));
}

#endif
