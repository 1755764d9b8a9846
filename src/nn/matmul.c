/*
 * matmul.c — products of activations with weight matrices of any width
 * (see matrix.h).
 *
 * One row goes to the gemv kernels.  Several rows of float32 weights go to
 * OpenBLAS's sgemm as they are.  Several rows of 16-bit weights go to sgemm
 * a tile at a time: a block of whole rows (or, for the [in][out] layout, of
 * columns) is widened into a per-thread scratch buffer of 4 MB, and sgemm
 * multiplies it.  Widening costs one pass over the weights per call, small
 * beside the n · in · out multiply-adds of a prompt or a batch; and as
 * sgemm packs the activations again for every call, the tiles are as large
 * as the scratch allows (a 384- or 768-wide layer is one or two tiles).
 * Keeping a float32 copy of the weights instead would double the resident
 * memory of every backend that loads the model, for a few per cent of
 * prompt speed.
 */
#include "nn/matrix.h"

#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/ops.h"

/* Per-thread tile scratch; it grows once and is kept for the next call. */
static __thread float *tile_buf;
static __thread size_t tile_cap;

static float *
tile_scratch(size_t floats)
{
	if (tile_cap < floats)
	{
		free(tile_buf);
		tile_cap = 0;
		tile_buf = malloc(floats * sizeof(float));
		if (tile_buf != NULL)
			tile_cap = floats;
	}
	return tile_buf;
}

size_t
lm_matrix_bytes(const LmMatrix *m)
{
	return (size_t) m->rows * m->cols * lm_dtype_size(m->dtype);
}

void
lm_matrix_row(const LmMatrix *m, long r, int c0, int count, float *out)
{
	const char *row = (const char *) m->data +
		((size_t) r * m->cols + c0) * lm_dtype_size(m->dtype);

	lm_widen(row, m->dtype, count, out);
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

/* Rows (or columns) per tile: a multiple of 16 when there is room for 16. */
static int
tile_span(int other_dim, int total)
{
	int			span = LM_MATMUL_TILE_FLOATS / other_dim;

	if (span >= 16)
		span &= ~15;
	if (span < 1)
		span = 1;
	return span < total ? span : total;
}

void
lm_matmul(float *y, const float *x, const LmMatrix *w, const float *b, int n,
		  bool accumulate)
{
	const int	out = w->rows;
	const int	in = w->cols;
	const size_t esize = lm_dtype_size(w->dtype);
	int			span;
	float	   *tile;

	start_output(y, b, n, out, accumulate);
	if (n == 1)
	{
		lm_gemv(w, x, y);
		return;
	}
	if (w->dtype == LM_DTYPE_F32)
	{
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in,
				 1.0f, x, in, w->data, in, 1.0f, y, out);
		return;
	}
	span = tile_span(in, out);
	tile = tile_scratch((size_t) span * in);
	if (tile == NULL)
	{
		/* no scratch: one pass over the weights per row, but no failure */
		for (int t = 0; t < n; t++)
			lm_gemv(w, x + (long) t * in, y + (long) t * out);
		return;
	}
	for (int j0 = 0; j0 < out; j0 += span)
	{
		int			nj = out - j0 < span ? out - j0 : span;

		lm_widen((const char *) w->data + (size_t) j0 * in * esize, w->dtype,
				 (long) nj * in, tile);
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nj, in,
				 1.0f, x, in, tile, in, 1.0f, y + j0, out);
	}
}

void
lm_matmul_io(float *y, const float *x, const LmMatrix *w, const float *b, int n,
			 bool accumulate)
{
	const int	in = w->rows;
	const int	out = w->cols;
	const size_t esize = lm_dtype_size(w->dtype);
	int			span;
	float	   *tile;

	start_output(y, b, n, out, accumulate);
	if (n == 1)
	{
		lm_gemv_t(w, x, y);
		return;
	}
	if (w->dtype == LM_DTYPE_F32)
	{
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in,
				 1.0f, x, in, w->data, out, 1.0f, y, out);
		return;
	}
	if (out <= LM_MATMUL_TILE_FLOATS && (tile = tile_scratch(LM_MATMUL_TILE_FLOATS)) != NULL)
	{
		/*
		 * Tiles of whole rows: contiguous to widen, and each a slice of the
		 * inner dimension, so sgemm packs every part of x once in all
		 * (y accumulates the slices).
		 */
		span = LM_MATMUL_TILE_FLOATS / out;
		for (int i0 = 0; i0 < in; i0 += span)
		{
			int			ni = in - i0 < span ? in - i0 : span;

			lm_widen((const char *) w->data + (size_t) i0 * out * esize, w->dtype,
					 (long) ni * out, tile);
			lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, ni,
					 1.0f, x + i0, in, tile, out, 1.0f, y, out);
		}
		return;
	}
	/* very wide rows: tiles of columns */
	span = tile_span(in, out);
	tile = tile_scratch((size_t) span * in);
	if (tile == NULL)
	{
		for (int t = 0; t < n; t++)
			lm_gemv_t(w, x + (long) t * in, y + (long) t * out);
		return;
	}
	for (int j0 = 0; j0 < out; j0 += span)
	{
		int			nj = out - j0 < span ? out - j0 : span;

		for (int i = 0; i < in; i++)
			lm_widen((const char *) w->data + ((size_t) i * out + j0) * esize, w->dtype,
					 nj, tile + (size_t) i * nj);
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nj, in,
				 1.0f, x, in, tile, nj, 1.0f, y + j0, out);
	}
}
