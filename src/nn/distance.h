/*
 * distance.h — distances between two float32 vectors, as similarity
 * search orders them: squared L2, inner product, and the three sums cosine
 * needs.  One pass each; AVX-512 or AVX2 picked at run time like the matrix
 * kernels (lm_simd_current), plain C otherwise.  Sums are float32 lanes,
 * added up in double at the end: what an index compares, not a reference
 * value (lm_cosine in metrics/ is that).
 */
#ifndef LM_NN_DISTANCE_H
#define LM_NN_DISTANCE_H

#include <stddef.h>

/* Σ (a_i − b_i)² */
double		lm_l2_squared(const float *a, const float *b, size_t n);

/* Σ a_i b_i */
double		lm_inner_product(const float *a, const float *b, size_t n);

/* Σ a_i b_i, Σ a_i², Σ b_i² in one pass. */
void		lm_cosine_sums(const float *a, const float *b, size_t n, double *dot, double *aa,
						   double *bb);

#endif
