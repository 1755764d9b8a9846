/*
 * vmath.h — vectorised activations and softmax exponentials (vmath.c),
 * used by activation.c and attention.c when the CPU has AVX2 and FMA.
 *
 * The element-wise functions handle a prefix of their input (a multiple of
 * the vector width, possibly none) and return its length; the caller
 * finishes the rest with the scalar code.
 */
#ifndef LM_NN_VMATH_H
#define LM_NN_VMATH_H

#include "nn/ops.h"

/* x[i] = act(x[i]), times up[i] when up is not NULL (SwiGLU). */
long		lm_vec_activate(float *x, const float *up, long count, LmActivation act);

/* x[i] = exp(scale · x[i] - shift), adding the results to *sum. */
long		lm_vec_exp_scaled(float *x, long count, float scale, float shift, double *sum);

/* *max = the largest of *max and the prefix's elements. */
long		lm_vec_max(const float *x, long count, float *max);

/* x[i] *= s. */
long		lm_vec_scale(float *x, long count, float s);

/* lm_layernorm's rows on AVX2; false (nothing done) without it. */
bool		lm_vec_layernorm(float *out, const float *x, const float *weight,
							 const float *bias, int n, int dim, float eps);

#endif
