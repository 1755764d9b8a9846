/*
 * vmath.h — vectorised activations and softmax exponentials (vmath.c),
 * used by activation.c and attention.c when the CPU has AVX2 and FMA.
 *
 * Each function handles a prefix of its input (a multiple of the vector
 * width, possibly none) and returns its length; the caller finishes the
 * rest with the scalar code.
 */
#ifndef LM_NN_VMATH_H
#define LM_NN_VMATH_H

#include "nn/ops.h"

/* x[i] = act(x[i]), times up[i] when up is not NULL (SwiGLU). */
long		lm_vec_activate(float *x, const float *up, long count, LmActivation act);

/* x[i] = exp(x[i] - shift), adding the results to *sum. */
long		lm_vec_exp_shifted(float *x, long count, float shift, double *sum);

#endif
