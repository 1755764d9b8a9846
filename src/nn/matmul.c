/*
 * matmul.c — products of activations with weight matrices of any width
 * (see matrix.h).
 *
 * A few rows go to the gemv kernels, more to gemm.c's kernels, which the
 * threads share.  16-bit weights are widened a panel
 * at a time as gemm.c copies them, so no float32 copy of a model is kept.
 */
#include "nn/matrix.h"

#include <string.h>

#include "nn/ops.h"
#include "nn/quant.h"

void
lm_matrix_scratch_release(void)
{
	lm_gemv_scratch_release();
	lm_gemm_scratch_release();
	lm_quant_scratch_release();
}

size_t
lm_matrix_scratch_held(void)
{
	return lm_gemv_scratch_held() + lm_gemm_scratch_held() + lm_quant_scratch_held();
}

size_t
lm_matrix_bytes(const LmMatrix *m)
{
	return (size_t) m->rows * lm_dtype_row_bytes(m->dtype, m->cols);
}

void
lm_matrix_row(const LmMatrix *m, long r, int c0, int count, float *out)
{
	const char *row = (const char *) m->data + (size_t) r * lm_dtype_row_bytes(m->dtype, m->cols);
	int			block = lm_dtype_block(m->dtype);

	if (block == 1)
	{
		lm_widen(row + (size_t) c0 * lm_dtype_size(m->dtype), m->dtype, count, out);
		return;
	}
	/* quantized: the blocks that hold the elements, one at a time */
	for (int c = c0; c < c0 + count;)
	{
		float		values[256];
		int			first = c / block * block;
		int			take = first + block - c < c0 + count - c ? first + block - c : c0 + count - c;

		lm_dequantize(row + lm_dtype_row_bytes(m->dtype, first), m->dtype, block, values);
		memcpy(out + (c - c0), values + (c - first), take * sizeof(float));
		c += take;
	}
}

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

/*
 * Up to this many rows are multiplied as that many vectors (the weights
 * read once, each row as it would be alone): a product of a few rows is
 * bound by reading the weights, which the matrix-vector kernels do in
 * order, at the memory's speed.
 */
#define FEW_ROWS 8

/*
 * Quantized weights, stored [out][in] whatever the layout asked for
 * (quant.h): a few rows, or rows that must each give what they give alone
 * (each), one dot product of blocks per output; many rows through the
 * float32 kernels, the weights widened a piece at a time.
 */
static void
quant_matmul(float *y, const float *x, const LmMatrix *w, const float *b, int n,
			 bool accumulate, bool each)
{
	start_output(y, b, n, w->rows, accumulate);
	if (n > FEW_ROWS && !each)
		lm_quant_gemm(y, x, w, n);
	else
		lm_quant_matmul(y, x, w, n);
}

void
lm_matmul(float *y, const float *x, const LmMatrix *w, const float *b, int n,
		  bool accumulate)
{
	if (lm_dtype_is_quantized(w->dtype))
	{
		quant_matmul(y, x, w, b, n, accumulate, false);
		return;
	}
	if (n > FEW_ROWS)
	{
		lm_gemm(y, x, n, w, false, b, accumulate);
		return;
	}
	start_output(y, b, n, w->rows, accumulate);
	lm_gemv_rows(w, x, n, y);
}

void
lm_matmul_io(float *y, const float *x, const LmMatrix *w, const float *b, int n,
			 bool accumulate)
{
	if (w->out_in || lm_dtype_is_quantized(w->dtype))
	{
		lm_matmul(y, x, w, b, n, accumulate);
		return;
	}
	if (n > FEW_ROWS)
	{
		lm_gemm(y, x, n, w, true, b, accumulate);
		return;
	}
	start_output(y, b, n, w->cols, accumulate);
	lm_gemv_t_rows(w, x, n, y);
}

void
lm_matmul_each(float *y, const float *x, const LmMatrix *w, const float *b, int n,
			   bool accumulate)
{
	if (lm_dtype_is_quantized(w->dtype))
	{
		quant_matmul(y, x, w, b, n, accumulate, true);
		return;
	}
	start_output(y, b, n, w->rows, accumulate);
	lm_gemv_rows(w, x, n, y);
}

void
lm_matmul_io_each(float *y, const float *x, const LmMatrix *w, const float *b, int n,
				  bool accumulate)
{
	if (w->out_in || lm_dtype_is_quantized(w->dtype))
	{
		lm_matmul_each(y, x, w, b, n, accumulate);
		return;
	}
	start_output(y, b, n, w->cols, accumulate);
	lm_gemv_t_rows(w, x, n, y);
}

void
lm_matmul_many(const LmGemmOut *outs, int count, const float *x, int n)
{
	bool		quantized = false;

	for (int i = 0; i < count; i++)
		quantized |= lm_dtype_is_quantized(outs[i].w->dtype);
	if (n > FEW_ROWS && !quantized)
	{
		lm_gemm_many(outs, count, x, n);
		return;
	}
	for (int i = 0; i < count; i++)
		lm_matmul(outs[i].y, x, outs[i].w, outs[i].bias, n, false);
}
