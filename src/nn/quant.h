/*
 * quant.h — weights quantized in blocks, as llama.cpp stores them.
 *
 * A quantized row is a run of blocks of 32 (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1)
 * or 256 (the "K" types Q4_K, Q5_K, Q6_K) elements, each block with its own
 * float16 scale (and minimum, or sub-block scales).  Products read the blocks
 * directly: the activations are quantized to 8 bits first, in the type
 * llama.cpp pairs with the weights (Q8_0, Q8_1 or Q8_K), and each block's
 * products are summed in integers, then scaled — llama.cpp's arithmetic, so
 * both give the same numbers up to the order of float additions.
 *
 * A quantized matrix is always stored [out][in] (the blocks run along the
 * inputs), whatever the layout of the model's float weights.
 */
#ifndef LM_NN_QUANT_H
#define LM_NN_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tensor.h"
#include "nn/matrix.h"

/* out[n] = the n elements (whole blocks) of a quantized row, as float32. */
void		lm_dequantize(const void *blocks, LmDType dtype, long n, float *out);

/*
 * Quantize n elements (a multiple of 32) to Q8_0 as llama-quantize does
 * (the same bytes), for weights quantized at import.
 */
void		lm_quantize_q8_0(const float *x, long n, void *out);

/* float32 → float16, rounding to nearest even (as F16C and ggml do). */
uint16_t	lm_f32_to_f16(float f);

/*
 * y[n][rows] += x[n][cols] · Wᵀ for a quantized W [rows][cols] (matmul.c
 * sends quantized products here), on the engine's threads.  Each row of x
 * gives the same bits whatever n and the number of threads.
 */
void		lm_quant_matmul(float *y, const float *x, const LmMatrix *w, int n);

/*
 * The same product for many rows (a prompt).  With AVX-512 VNNI in
 * integers, weights and activations rearranged in tiles
 * (quant_gemm_avx512.c): each block's integer sum scaled as llama.cpp
 * scales it.  Otherwise the weights widened to float32 a piece at a time
 * and multiplied with the activations as their 8-bit rounding stands for
 * (each value d·q) by the float32 matrix kernels.  Either way within 1e-6
 * of lm_quant_matmul (the order of float additions differs), the same bits
 * on any number of threads.  Rows alone, or rows that must give what each
 * gives alone, go to lm_quant_matmul.
 */
void		lm_quant_gemm(float *y, const float *x, const LmMatrix *w, int n);

/* out[cols] = what a row of quantized activations stands for. */
void		lm_quant_activations_value(LmDType dtype, const void *xq, int cols, float *out);

/*
 * Q4_1 and Q5_1 (false for the others): a row's values without their
 * blocks' minimums (d·q), and the minimums (n / 32 of them); and the sums
 * s = d·Σq their activations carry, with which llama.cpp multiplies the
 * minimums.
 */
bool		lm_quant_split_minimums(const void *blocks, LmDType dtype, long n, float *values, float *minimums);
bool		lm_quant_activation_sums(LmDType dtype, const void *xq, int cols, float *sums);

/* ---- kernels, exposed for tests ----------------------------------------- */

/* Bytes of one row of cols activations quantized for weights of this dtype. */
size_t		lm_quant_act_row_bytes(LmDType dtype, int cols);

/* Quantize one row of activations (cols elements) for weights of this dtype. */
void		lm_quant_activations(LmDType dtype, const float *x, int cols, void *xq);

/*
 * The dot product of a row of weights with a row of quantized activations,
 * with the kernels of the given instruction set (lm_simd_current()'s in
 * lm_quant_matmul); false when that set has no kernel here.
 */
typedef float (*LmQuantDotFn) (const void *w, const void *xq, int cols);
LmQuantDotFn lm_quant_dot_kernel(LmDType dtype, LmSimd simd);

/* The instruction set lm_quant_matmul uses with lm_simd_current(). */
LmSimd		lm_quant_simd(void);

#endif
