/*
 * weights.h — turning named tensors into float32 weight pointers.
 *
 * A weight store looks tensors up in an LmTensorSet, checks their shapes
 * against what the architecture expects, and hands out float pointers:
 * float32 tensors whose data is suitably aligned are used in place (the set
 * must then outlive the store), anything else (F16, BF16, F64, unaligned
 * F32) is converted once into memory the store owns.
 *
 * Weight matrices (lm_weight_matrix) keep F16 and BF16 in 16 bits: they are
 * used in place too, and only F64 or unaligned data is copied.
 */
#ifndef LM_NN_WEIGHTS_H
#define LM_NN_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/tensor.h"
#include "nn/matrix.h"

/* Longest tensor name we build with a format string. */
#define LM_WEIGHT_NAME_MAX 256

typedef struct LmWeightStore
{
	const LmTensorSet *set;		/* borrowed */
	void	  **owned;			/* converted copies, freed with the store */
	int			n_owned;
	int			cap_owned;
	int64_t		n_params;		/* elements handed out so far */
	bool		conv1d_out_in;	/* lm_weight_matrix_io: float weights stored [out][in] too (GGUF) */
} LmWeightStore;

void		lm_weights_init(LmWeightStore *ws, const LmTensorSet *set);
void		lm_weights_free(LmWeightStore *ws);

/* Does the set hold a tensor of this name?  (printf-style name) */
bool		lm_weights_has(const LmWeightStore *ws, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * The tensor named by fmt as float32, checked to have shape [d0] (1-D) or
 * [d0, d1] (2-D).  NULL with err set when it is missing (the error names it),
 * has another shape (the error names both), or has a dtype we cannot read.
 */
const float *lm_weight_1d(LmWeightStore *ws, LmError *err, int64_t d0,
						  const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
const float *lm_weight_2d(LmWeightStore *ws, LmError *err, int64_t d0, int64_t d1,
						  const char *fmt,...)
			__attribute__((format(printf, 5, 6)));

/*
 * The 2-D tensor named by fmt, shape [d0, d1], as a matrix in its stored
 * width (F32, F16 or BF16; F64 becomes F32).  NULL with err as above.  The
 * LmMatrix belongs to the store.
 */
const LmMatrix *lm_weight_matrix(LmWeightStore *ws, LmError *err, int64_t d0, int64_t d1,
								 const char *fmt,...)
			__attribute__((format(printf, 5, 6)));

/*
 * A weight used as y = x · W (GPT-2's Conv1D): [in][out] as lm_weight_matrix
 * gives it when in float, [out][in] (out_in set) when quantized (quant.h:
 * blocks run along the inputs) or when the store's conv1d_out_in says so
 * (a GGUF file keeps them so); lm_matmul_io reads either.
 */
const LmMatrix *lm_weight_matrix_io(LmWeightStore *ws, LmError *err, int64_t in, int64_t out,
									const char *fmt,...)
			__attribute__((format(printf, 5, 6)));

/* Element conversions, exposed for tests and for later 16-bit kernels. */
float		lm_f16_to_f32(uint16_t h);
float		lm_bf16_to_f32(uint16_t b);

#endif
