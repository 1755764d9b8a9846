/*
 * linear.c — fully connected layers through OpenBLAS.
 *
 * One row uses sgemv, several rows sgemm; the bias is written (or added)
 * first so that BLAS can accumulate onto it with beta = 1.
 */
#include "nn/ops.h"

#include "nn/blas.h"
#include <string.h>

/* Prepare y for a product accumulated onto it: bias rows, or zeros. */
static void
start_output(float *y, const float *b, int n, int out, bool accumulate)
{
	if (accumulate)
	{
		if (b != NULL)
			for (int i = 0; i < n; i++)
				lm_add(y + (long) i * out, b, out);
		return;
	}
	if (b != NULL)
		for (int i = 0; i < n; i++)
			memcpy(y + (long) i * out, b, out * sizeof(float));
	else
		memset(y, 0, (size_t) n * out * sizeof(float));
}

void
lm_linear(float *y, const float *x, const float *w, const float *b,
		  int n, int in, int out, bool accumulate)
{
	start_output(y, b, n, out, accumulate);
	if (n == 1)
		lm_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w, in,
					x, 1, 1.0f, y, 1);
	else
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in,
					1.0f, x, in, w, in, 1.0f, y, out);
}

void
lm_linear_io(float *y, const float *x, const float *w, const float *b,
			 int n, int in, int out, bool accumulate)
{
	start_output(y, b, n, out, accumulate);
	if (n == 1)
		lm_sgemv(CblasRowMajor, CblasTrans, in, out, 1.0f, w, out,
					x, 1, 1.0f, y, 1);
	else
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in,
					1.0f, x, in, w, out, 1.0f, y, out);
}

void
lm_add(float *y, const float *x, long count)
{
	for (long i = 0; i < count; i++)
		y[i] += x[i];
}
