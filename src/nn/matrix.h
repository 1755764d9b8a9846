/*
 * matrix.h — weight matrices kept in the checkpoint's precision, and the
 * products that read them.
 *
 * A linear layer's weights stay as the checkpoint stores them: float32,
 * float16 or bfloat16 (16-bit weights are not widened at load, so they take
 * half the memory and half the bandwidth).  Arithmetic is float32 always.
 *
 * One row of activations (decoding) goes through a matrix-vector kernel
 * that widens the weights in registers (gemv.c): AVX-512F or AVX2+F16C
 * where the CPU has them, chosen at run time, plain C otherwise.  Several
 * rows (a prompt, a batch) go through the matrix-matrix kernels of gemm.c,
 * chosen the same way, which widen 16-bit weights a panel at a time, so
 * that no float32 copy of a whole model is ever kept.
 */
#ifndef LM_NN_MATRIX_H
#define LM_NN_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include "formats/tensor.h"

typedef struct LmMatrix
{
	const void *data;			/* rows · cols elements, row-major */
	LmDType		dtype;			/* LM_DTYPE_F32, F16, BF16, or a quantized type (quant.h) */
	int			rows;
	int			cols;
	/*
	 * A weight used as y = x · W (GPT-2's Conv1D) but stored [out][in]: a
	 * quantized one, or a GGUF file's; lm_matmul_io reads it as lm_matmul.
	 */
	bool		out_in;
} LmMatrix;

/* A float32 matrix over existing memory (tests, the bench). */
static inline LmMatrix
lm_matrix_f32(const float *data, int rows, int cols)
{
	LmMatrix	m = {data, LM_DTYPE_F32, rows, cols, false};

	return m;
}

/* Bytes of the weights: what one product reads. */
size_t		lm_matrix_bytes(const LmMatrix *m);

/* out[count] = elements [r][c0 .. c0+count) as float32 (embedding lookups). */
void		lm_matrix_row(const LmMatrix *m, long r, int c0, int count, float *out);

/*
 * y[n][rows] = x[n][cols] · Wᵀ + b for W stored [out][in] (torch.nn.Linear):
 * rows are outputs.  b may be NULL; with accumulate the product is added
 * to y.
 */
void		lm_matmul(float *y, const float *x, const LmMatrix *w, const float *b,
					  int n, bool accumulate);

/* y[n][cols] = x[n][rows] · W + b for W stored [in][out] (GPT-2's Conv1D). */
void		lm_matmul_io(float *y, const float *x, const LmMatrix *w, const float *b,
						 int n, bool accumulate);

/*
 * Free the calling thread's scratch (the partial sums of the matrix-vector
 * products): a thread that serves one request after
 * another calls it between them, so that memory does not stay with
 * threads that may not compute again.
 */
void		lm_matrix_scratch_release(void);
void		lm_gemv_scratch_release(void);
void		lm_gemm_scratch_release(void);
void		lm_quant_scratch_release(void);

/* Bytes of that scratch the calling thread holds now. */
size_t		lm_matrix_scratch_held(void);
size_t		lm_gemv_scratch_held(void);
size_t		lm_gemm_scratch_held(void);
size_t		lm_quant_scratch_held(void);

/* ---- several rows (gemm.c) ---------------------------------------------- */

/*
 * y[n][out] = x[n][in] · B + bias (bias may be NULL; with accumulate, y +=),
 * B = Wᵀ for W [out][in] or W for W [in][out] (io), on the engine's
 * threads; the same bits on any number of them.
 */
void		lm_gemm(float *y, const float *x, int n, const LmMatrix *w, bool io, const float *bias,
					bool accumulate);

/* One product of lm_gemm_many: y = x · Wᵀ + bias (bias may be NULL), W [out][in]. */
typedef struct LmGemmOut
{
	float	   *y;
	const LmMatrix *w;
	const float *bias;
} LmGemmOut;

#define LM_GEMM_MANY_MAX 4

/*
 * Several products of the same rows x[n][in] (attention's Q, K and V): the
 * same bits as one lm_gemm each, with the rows copied once for all.
 */
void		lm_gemm_many(const LmGemmOut *outs, int count, const float *x, int n);

/*
 * y = x · B over float32 operands with row strides (attention's heads), on
 * the calling thread: w is [w_rows][w_cols], Wᵀ's role unless io.
 */
void		lm_gemm_strided(float *y, long ldy, const float *x, long ldx, int n,
							const float *w, long ldw, int w_rows, int w_cols, bool io);

/*
 * y[n][w->rows] (rows ldy apart) += x[n][w->cols] · Wᵀ for a float32 W
 * [out][in], on the calling thread: for callers that give threads their
 * own outputs (quantized weights widened a piece at a time, quant_matmul.c).
 */
void		lm_gemm_block(float *y, long ldy, const float *x, int n, const LmMatrix *w);

/* ---- matrix-vector kernels (gemv.c) ----------------------------------- */

/* Instruction sets the kernels come in, best last. */
typedef enum LmSimd
{
	LM_SIMD_C,					/* plain C */
	LM_SIMD_AVX2,				/* AVX2 + FMA + F16C */
	LM_SIMD_AVX512				/* AVX-512F */
} LmSimd;

/* The best set this CPU runs, and the one in use (the best unless set). */
LmSimd		lm_simd_best(void);
LmSimd		lm_simd_current(void);
const char *lm_simd_name(LmSimd simd);

/* Use another set (tests compare them); false when the CPU lacks it. */
bool		lm_simd_use(LmSimd simd);

/* y[rows] += W · x[cols]: one dot product per row. */
void		lm_gemv(const LmMatrix *w, const float *x, float *y);

/* y[cols] += x[rows] · W: one scaled row added per row. */
void		lm_gemv_t(const LmMatrix *w, const float *x, float *y);

/*
 * The same for n_vec vectors, one after another in x and in y, each with
 * exactly lm_gemv's (lm_gemv_t's) result; the weights are read once for
 * all of them (the decoding steps of several sequences).
 */
void		lm_gemv_rows(const LmMatrix *w, const float *x, int n_vec, float *y);
void		lm_gemv_t_rows(const LmMatrix *w, const float *x, int n_vec, float *y);

/* lm_gemm_many through lm_matmul's choice: a few rows go to the gemv kernels. */
void		lm_matmul_many(const LmGemmOut *outs, int count, const float *x, int n);

/*
 * lm_matmul and lm_matmul_io for n rows computed each as one row would be
 * (by the matrix-vector kernels, weights read once for all rows): for
 * sequences decoded together that must give what each gives alone.
 */
void		lm_matmul_each(float *y, const float *x, const LmMatrix *w, const float *b,
						   int n, bool accumulate);
void		lm_matmul_io_each(float *y, const float *x, const LmMatrix *w, const float *b,
							  int n, bool accumulate);

/* dst[count] = src[count] widened from dtype to float32. */
void		lm_widen(const void *src, LmDType dtype, long count, float *dst);

#endif
