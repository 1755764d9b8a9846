/*
 * ops.h — the element-wise and matrix kernels the architectures share.
 *
 * Everything is float32, row-major; n is the number of rows (tokens) and
 * rows are contiguous unless a stride says otherwise.
 */
#ifndef LM_NN_OPS_H
#define LM_NN_OPS_H

#include <stdbool.h>

#include "util/lm_error.h"

/* ---- matrix products (matmul.c: gemv.c, gemm.c) ---------------------------- */

/*
 * y[n][out] = x[n][in] · Wᵀ + b, with W stored [out][in] as torch.nn.Linear
 * does.  b may be NULL.  With accumulate, the product is added to y
 * instead (a residual connection for free).
 */
void		lm_linear(float *y, const float *x, const float *w, const float *b,
					  int n, int in, int out, bool accumulate);

/* The same with W stored [in][out], as GPT-2's Conv1D does. */
void		lm_linear_io(float *y, const float *x, const float *w, const float *b,
						 int n, int in, int out, bool accumulate);

/* ---- normalisation ---------------------------------------------------- */

/* LayerNorm over rows of dim: (x - mean) / sqrt(var + eps) · weight + bias. */
void		lm_layernorm(float *out, const float *x, const float *weight,
						 const float *bias, int n, int dim, float eps);

/* RMSNorm over rows of dim: x / sqrt(mean(x²) + eps) · weight. */
void		lm_rmsnorm(float *out, const float *x, const float *weight,
					   int n, int dim, float eps);

/* ---- activations ------------------------------------------------------ */

typedef enum LmActivation
{
	LM_ACT_GELU,				/* exact: x · Φ(x), with erf */
	LM_ACT_GELU_TANH,			/* tanh approximation ("gelu_new") */
	LM_ACT_QUICK_GELU,			/* x · σ(1.702 x) */
	LM_ACT_RELU,
	LM_ACT_SILU					/* x · σ(x), also called swish */
} LmActivation;

/* Map a transformers activation name ("gelu", "gelu_new", "silu", ...). */
int			lm_activation_from_name(const char *name, LmActivation *act, LmError *err);

/* x[i] = act(x[i]) for count elements. */
void		lm_activate(float *x, long count, LmActivation act);

/* SwiGLU's gate: gate[i] = act(gate[i]) · up[i]. */
void		lm_gated(float *gate, const float *up, long count, LmActivation act);

/* ---- probabilities ---------------------------------------------------- */

/* In-place softmax of count values (subtracting the maximum first). */
void		lm_softmax(float *x, int count);

/* log Σ exp(x), computed in double for a stable log-softmax. */
double		lm_logsumexp(const float *x, int count);

/* ---- small vector helpers -------------------------------------------- */

/* y[i] += x[i] */
void		lm_add(float *y, const float *x, long count);

/* Index of the largest value (the first one on ties). */
int			lm_argmax(const float *x, int count);

#endif
