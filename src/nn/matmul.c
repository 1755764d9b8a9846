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
#include "nn/parallel.h"
#include "nn/scratch.h"

/* Per-thread tile scratch; it grows once and is kept for the next call. */
static __thread LmThreadScratch tiles;

void
lm_matrix_scratch_release(void)
{
	lm_thread_scratch_free(&tiles);
	lm_gemv_scratch_release();
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

/*
 * y[n][j0 .. j0+nj) of y = x · Wᵀ (W [out][in]): the outputs of rows j0 ..
 * j0+nj of W.  With several threads each takes a range of outputs; an
 * output's value does not depend on the range it is computed in.
 */
static void
matmul_range(float *y, const float *x, const LmMatrix *w, int n, int j0, int nj_total)
{
	const int	out = w->rows;
	const int	in = w->cols;
	const size_t esize = lm_dtype_size(w->dtype);
	int			span;
	float	   *tile;

	if (w->dtype == LM_DTYPE_F32)
	{
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nj_total, in,
				 1.0f, x, in, (const float *) w->data + (size_t) j0 * in, in, 1.0f, y + j0, out);
		return;
	}
	span = tile_span(in, nj_total);
	tile = lm_thread_scratch(&tiles, (size_t) span * in);
	if (tile == NULL)
	{
		/* no scratch: one pass over the weights per row, but no failure */
		LmMatrix	part = {(const char *) w->data + (size_t) j0 * in * esize, w->dtype, nj_total, in};

		for (int t = 0; t < n; t++)
			lm_gemv(&part, x + (long) t * in, y + (long) t * out + j0);
		return;
	}
	for (int j = j0; j < j0 + nj_total; j += span)
	{
		int			nj = j0 + nj_total - j < span ? j0 + nj_total - j : span;

		lm_widen((const char *) w->data + (size_t) j * in * esize, w->dtype,
				 (long) nj * in, tile);
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nj, in,
				 1.0f, x, in, tile, in, 1.0f, y + j, out);
	}
}

/* y[n][j0 .. j0+nj) of y = x · W (W [in][out]). */
static void
matmul_io_range(float *y, const float *x, const LmMatrix *w, int n, int j0, int nj_total)
{
	const int	in = w->rows;
	const int	out = w->cols;
	const size_t esize = lm_dtype_size(w->dtype);
	int			span;
	float	   *tile;

	if (w->dtype == LM_DTYPE_F32)
	{
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nj_total, in,
				 1.0f, x, in, (const float *) w->data + j0, out, 1.0f, y + j0, out);
		return;
	}
	if (j0 == 0 && nj_total == out && out <= LM_MATMUL_TILE_FLOATS &&
		(tile = lm_thread_scratch(&tiles, LM_MATMUL_TILE_FLOATS)) != NULL)
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
	/* very wide rows, or a range of columns: tiles of columns */
	span = tile_span(in, nj_total);
	tile = lm_thread_scratch(&tiles, (size_t) span * in);
	if (tile == NULL)
	{
		for (int t = 0; t < n; t++)
			for (int i = 0; i < in; i++)
				for (int j = j0; j < j0 + nj_total; j++)
				{
					float		wv;

					lm_widen((const char *) w->data + ((size_t) i * out + j) * esize, w->dtype, 1, &wv);
					y[(long) t * out + j] += x[(long) t * in + i] * wv;
				}
		return;
	}
	for (int j = j0; j < j0 + nj_total; j += span)
	{
		int			nj = j0 + nj_total - j < span ? j0 + nj_total - j : span;

		for (int i = 0; i < in; i++)
			lm_widen((const char *) w->data + ((size_t) i * out + j) * esize, w->dtype,
					 nj, tile + (size_t) i * nj);
		lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nj, in,
				 1.0f, x, in, tile, nj, 1.0f, y + j, out);
	}
}

/* ---- threads: ranges of outputs ------------------------------------------- */

/*
 * Several rows go through sgemm in ranges of RANGE_OUTPUTS outputs, always
 * (one thread too): OpenBLAS's result for an output depends on the shape of
 * the call it is computed in, so the ranges are fixed by the product's
 * shape and only their distribution depends on the threads.  (One call per
 * 256 outputs, or 128 for products narrower than 1536, packs the
 * activations again each time: a few per cent of the work of a 128-token
 * prompt, for products that two threads split evenly.)
 */
#define RANGE_OUTPUTS 256
/* Fewer multiply-adds than this are done on the calling thread alone (same ranges, same bits). */
#define PARALLEL_MIN_FLOPS (1L << 21)

typedef struct Ranges
{
	float	   *y;
	const float *x;
	const LmMatrix *w;
	int			n;
	int			outputs;
	bool		io;
} Ranges;

/* Outputs per range: half as many for narrow products, so that they make at least six ranges. */
static int
range_outputs(int outputs)
{
	return outputs >= 6 * RANGE_OUTPUTS ? RANGE_OUTPUTS : RANGE_OUTPUTS / 2;
}

static void
range_job(void *arg, int job)
{
	const Ranges *r = arg;
	int			per = range_outputs(r->outputs);
	int			j0 = job * per;
	int			nj = r->outputs - j0 < per ? r->outputs - j0 : per;

	(r->io ? matmul_io_range : matmul_range) (r->y, r->x, r->w, r->n, j0, nj);
}

static void
matmul_threads(float *y, const float *x, const LmMatrix *w, int n, bool io)
{
	int			outputs = io ? w->cols : w->rows;
	Ranges		r = {y, x, w, n, outputs, io};
	int			ranges = (outputs + range_outputs(outputs) - 1) / range_outputs(outputs);

	/* 16-bit [in][out] weights widen whole rows at once, in one call */
	if (io && w->dtype != LM_DTYPE_F32)
	{
		matmul_io_range(y, x, w, n, 0, outputs);
		return;
	}
	if ((long) n * w->rows * w->cols < PARALLEL_MIN_FLOPS)
	{
		for (int j = 0; j < ranges; j++)
			range_job(&r, j);
		return;
	}
	lm_parallel_run(ranges, range_job, &r);
}

void
lm_matmul(float *y, const float *x, const LmMatrix *w, const float *b, int n,
		  bool accumulate)
{
	start_output(y, b, n, w->rows, accumulate);
	if (n == 1)
		lm_gemv(w, x, y);
	else
		matmul_threads(y, x, w, n, false);
}

void
lm_matmul_io(float *y, const float *x, const LmMatrix *w, const float *b, int n,
			 bool accumulate)
{
	start_output(y, b, n, w->cols, accumulate);
	if (n == 1)
		lm_gemv_t(w, x, y);
	else
		matmul_threads(y, x, w, n, true);
}

void
lm_matmul_each(float *y, const float *x, const LmMatrix *w, const float *b, int n,
			   bool accumulate)
{
	start_output(y, b, n, w->rows, accumulate);
	lm_gemv_rows(w, x, n, y);
}

void
lm_matmul_io_each(float *y, const float *x, const LmMatrix *w, const float *b, int n,
				  bool accumulate)
{
	start_output(y, b, n, w->cols, accumulate);
	lm_gemv_t_rows(w, x, n, y);
}
