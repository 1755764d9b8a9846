/*
 * linear.c — fully connected layers over float32 pointers: thin wrappers of
 * lm_matmul (matmul.c), which picks the gemv kernels for a few rows and
 * gemm.c's for more.
 */
#include "nn/ops.h"

#include "nn/matrix.h"

void
lm_linear(float *y, const float *x, const float *w, const float *b,
		  int n, int in, int out, bool accumulate)
{
	LmMatrix	m = lm_matrix_f32(w, out, in);

	lm_matmul(y, x, &m, b, n, accumulate);
}

void
lm_linear_io(float *y, const float *x, const float *w, const float *b,
			 int n, int in, int out, bool accumulate)
{
	LmMatrix	m = lm_matrix_f32(w, in, out);

	lm_matmul_io(y, x, &m, b, n, accumulate);
}

void
lm_add(float *y, const float *x, long count)
{
	for (long i = 0; i < count; i++)
		y[i] += x[i];
}
