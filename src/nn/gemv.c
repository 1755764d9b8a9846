/*
 * gemv.c — matrix-vector products over float32, float16 and bfloat16
 * weights, and widening to float32 (see matrix.h).
 *
 * Decoding one token reads every weight once, so these products are bound
 * by memory bandwidth: the kernels stream the weights in their stored width
 * and widen them in registers (F16C's vcvtph2ps, or a 16-bit shift for
 * bfloat16), accumulating in float32.  Each instruction set gets its own
 * copy of the kernels through GCC target attributes, and the best one the
 * CPU runs is chosen the first time a kernel is called: the build needs no
 * -march flag.
 *
 * Two layouts: lm_gemv takes dot products of rows with x (torch.nn.Linear's
 * [out][in]); lm_gemv_t adds rows scaled by x's elements into y ([in][out],
 * GPT-2's Conv1D).  Both work on four rows at a time, which is four
 * sequential streams for the hardware prefetcher and, for lm_gemv_t, a
 * quarter of the loads and stores of y.  With 16-bit weights, lm_gemv takes
 * short rows one at a time instead, and both hint the rows to come to the
 * cache, which the hardware prefetcher alone fetches late (see below).  On
 * AVX-512, lm_gemv reads every row one at a time with no hints (see
 * avx512_gemv).
 */
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/quant.h"
#include "nn/scratch.h"
#include "nn/simd.h"

#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*GemvFn) (const void *w, int rows, int cols, const float *x, float *y);
typedef void (*GemvTFn) (const void *w, int rows, int cols, int stride, const float *x, float *y);
/*
 * gemv_t of nv vectors at once (1 to GEMV_T_MAX_VECTORS): x_v = x + v · xs,
 * y_v = y + v · ys; ahead: the rows to read next (hinted to the cache
 * meanwhile), or NULL.
 */
typedef void (*GemvTNFn) (const void *w, int rows, int cols, int stride, const float *x, long xs,
						  float *y, long ys, int nv, const void *ahead);

#define GEMV_T_MAX_VECTORS 8


/* ----------------------------------------------------------------------------
 * Plain C */

static ALWAYS_INLINE void
c_gemv(const void *w, int rows, int cols, const float *x, float *y, LmDType t)
{
	for (int r = 0; r < rows; r++)
	{
		const long	base = (long) r * cols;
		float		s[4] = {0, 0, 0, 0};
		int			c = 0;

		for (; c + 4 <= cols; c += 4)
			for (int k = 0; k < 4; k++)
				s[k] += load1(w, base + c + k, t) * x[c + k];
		for (; c < cols; c++)
			s[0] += load1(w, base + c, t) * x[c];
		y[r] += (s[0] + s[1]) + (s[2] + s[3]);
	}
}

static ALWAYS_INLINE void
c_gemv_t(const void *w, int rows, int cols, int stride, const float *x, float *y, LmDType t)
{
	for (int r = 0; r < rows; r++)
	{
		const long	base = (long) r * stride;
		const float xr = x[r];

		for (int c = 0; c < cols; c++)
			y[c] += xr * load1(w, base + c, t);
	}
}

static ALWAYS_INLINE void
c_widen(const void *src, long count, float *dst, LmDType t)
{
	for (long i = 0; i < count; i++)
		dst[i] = load1(src, i, t);
}

/* ----------------------------------------------------------------------------
 * Helping the hardware prefetcher with 16-bit weights
 *
 * The kernels read four rows at a time.  In 16 bits a row of GPT-2's is 1.5
 * to 6 KB, so each block starts four short streams in new pages, where the
 * hardware prefetcher starts cold: asking for the next block's cache line at
 * the same column while this block is read keeps memory busy, and F16
 * decoding of GPT-2 went from 1.47 to about 1.7 times float32's speed on an
 * AVX2 machine.  Float32 rows are twice as long and the same hints made them
 * about 8% slower, so float32 goes without.  next is the element offset of
 * the next block, or -1 if none.
 */

static ALWAYS_INLINE long
next_block(int r, int rows, int cols)
{
	return r + 8 <= rows ? (long) (r + 4) * cols : -1;
}

static ALWAYS_INLINE void
prefetch_block(const void *w, long next, int cols, int c, LmDType t)
{
	const size_t esize = t == LM_DTYPE_F32 ? 4 : 2;

	/* one hint per 64-byte line of each row */
	if (t != LM_DTYPE_F32 && next >= 0 && (((size_t) c * esize) & 63) == 0)
	{
		const char *p = (const char *) w + (next + c) * esize;
		const size_t stride = (size_t) cols * esize;

		_mm_prefetch(p, _MM_HINT_T0);
		_mm_prefetch(p + stride, _MM_HINT_T0);
		_mm_prefetch(p + 2 * stride, _MM_HINT_T0);
		_mm_prefetch(p + 3 * stride, _MM_HINT_T0);
	}
}

/*
 * The four rows at r of the piece a multi-vector kernel will read next,
 * hinted one 64-byte line at a time while it computes this one (its
 * weights stay in cache for several vectors, so the hardware prefetcher
 * alone leaves the next piece's first reads waiting on memory).
 */
static ALWAYS_INLINE void
prefetch_ahead(const void *ahead, int r, int stride, int c, LmDType t)
{
	const size_t esize = t == LM_DTYPE_F32 ? 4 : 2;

	if (ahead != NULL && (((size_t) c * esize) & 63) == 0)
	{
		const char *p = (const char *) ahead + ((size_t) r * stride + c) * esize;
		const size_t row = (size_t) stride * esize;

		_mm_prefetch(p, _MM_HINT_T0);
		_mm_prefetch(p + row, _MM_HINT_T0);
		_mm_prefetch(p + 2 * row, _MM_HINT_T0);
		_mm_prefetch(p + 3 * row, _MM_HINT_T0);
	}
}

/* Column c of row r of the piece to read next, hinted to the cache once per 64-byte line. */
static ALWAYS_INLINE void
prefetch_line(const void *ahead, int r, int stride, int c, LmDType t)
{
	const size_t esize = t == LM_DTYPE_F32 ? 4 : 2;

	if (ahead != NULL && (((size_t) c * esize) & 63) == 0)
		_mm_prefetch((const char *) ahead + ((size_t) r * stride + c) * esize, _MM_HINT_T0);
}

/*
 * What the several-vector gemv_t kernels leave to the one-vector kernel
 * `single`, exactly as it does them alone: columns past the last whole
 * register (width floats) of the first rows & ~3 rows, and the rows past
 * those.
 */
static ALWAYS_INLINE void
gemv_t_leftovers(const void *w, int rows, int cols, int stride, const float *x, long xs,
				 float *y, long ys, int nv, int width, LmDType t, GemvTFn single)
{
	const size_t esize = t == LM_DTYPE_F32 ? 4 : 2;
	const int	rows4 = rows & ~3;
	const int	whole = cols - cols % width;

	if (whole < cols && rows4 > 0)
		for (int v = 0; v < nv; v++)
			single((const char *) w + (size_t) whole * esize, rows4, cols - whole, stride,
				   x + v * xs, y + v * ys + whole);
	if (rows4 < rows)
		for (int v = 0; v < nv; v++)
			single((const char *) w + (size_t) rows4 * stride * esize, rows - rows4, cols, stride,
				   x + v * xs + rows4, y + v * ys);
}

/*
 * 16-bit rows shorter than this many bytes are read one at a time (the rows
 * of GPT-2's and BERT's output heads: 768 or 384 wide): four interleaved
 * streams of a kilobyte or two are each too short for the hardware
 * prefetcher, one sequential stream with the next row hinted ahead reads
 * them about 1.5 times as fast.  (Float32 reads as fast either way.)
 */
#define SHORT_ROW_BYTES 4096

static ALWAYS_INLINE bool
short_rows(int cols, LmDType t)
{
	return t != LM_DTYPE_F32 && (size_t) cols * 2 < SHORT_ROW_BYTES;
}

static ALWAYS_INLINE void
prefetch_row(const void *w, int r, int rows, int cols, LmDType t)
{
	const size_t esize = t == LM_DTYPE_F32 ? 4 : 2;
	const size_t bytes = (size_t) cols * esize;

	if (r + 1 < rows)
	{
		const char *p = (const char *) w + (size_t) (r + 1) * bytes;

		for (size_t off = 0; off < bytes; off += 64)
			_mm_prefetch(p + off, _MM_HINT_T0);
	}
}

/* ----------------------------------------------------------------------------
 * AVX2 + FMA + F16C: 8 floats a register */

/* The four horizontal sums of a, b, c, d. */
static ALWAYS_INLINE TARGET_AVX2 __m128
avx2_hsum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
	__m256		abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));

	return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

static ALWAYS_INLINE TARGET_AVX2 float
avx2_hsum(__m256 a)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* One row at a time, four accumulators (see SHORT_ROW_BYTES). */
static ALWAYS_INLINE TARGET_AVX2 void
avx2_gemv_by_row(const void *w, int rows, int cols, const float *x, float *y, LmDType t)
{
	const int	c32 = cols & ~31;
	const int	c8 = cols & ~7;

	for (int r = 0; r < rows; r++)
	{
		const long	b0 = (long) r * cols;
		__m256		a0 = _mm256_setzero_ps(),
					a1 = a0, a2 = a0, a3 = a0;
		float		tail = 0;
		int			c = 0;

		prefetch_row(w, r, rows, cols, t);
		for (; c < c32; c += 32)
		{
			a0 = _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), _mm256_loadu_ps(x + c), a0);
			a1 = _mm256_fmadd_ps(avx2_load8(w, b0 + c + 8, t), _mm256_loadu_ps(x + c + 8), a1);
			a2 = _mm256_fmadd_ps(avx2_load8(w, b0 + c + 16, t), _mm256_loadu_ps(x + c + 16), a2);
			a3 = _mm256_fmadd_ps(avx2_load8(w, b0 + c + 24, t), _mm256_loadu_ps(x + c + 24), a3);
		}
		for (; c < c8; c += 8)
			a0 = _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), _mm256_loadu_ps(x + c), a0);
		for (; c < cols; c++)
			tail += load1(w, b0 + c, t) * x[c];
		y[r] += avx2_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + tail;
	}
}

static ALWAYS_INLINE TARGET_AVX2 void
avx2_gemv(const void *w, int rows, int cols, const float *x, float *y, LmDType t)
{
	const int	c16 = cols & ~15;
	const int	c8 = cols & ~7;
	int			r = 0;

	if (short_rows(cols, t))
	{
		avx2_gemv_by_row(w, rows, cols, x, y, t);
		return;
	}

	for (; r + 4 <= rows; r += 4)
	{
		const long	b0 = (long) r * cols,
					b1 = b0 + cols,
					b2 = b1 + cols,
					b3 = b2 + cols;
		__m256		a0 = _mm256_setzero_ps(),
					a1 = a0, a2 = a0, a3 = a0,
					e0 = a0, e1 = a0, e2 = a0, e3 = a0;
		float		tail[4] = {0, 0, 0, 0};
		int			c = 0;
		const long	next = next_block(r, rows, cols);

		for (; c < c16; c += 16)
		{
			__m256		x0 = _mm256_loadu_ps(x + c);
			__m256		x1 = _mm256_loadu_ps(x + c + 8);

			prefetch_block(w, next, cols, c, t);

			a0 = _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), x0, a0);
			e0 = _mm256_fmadd_ps(avx2_load8(w, b0 + c + 8, t), x1, e0);
			a1 = _mm256_fmadd_ps(avx2_load8(w, b1 + c, t), x0, a1);
			e1 = _mm256_fmadd_ps(avx2_load8(w, b1 + c + 8, t), x1, e1);
			a2 = _mm256_fmadd_ps(avx2_load8(w, b2 + c, t), x0, a2);
			e2 = _mm256_fmadd_ps(avx2_load8(w, b2 + c + 8, t), x1, e2);
			a3 = _mm256_fmadd_ps(avx2_load8(w, b3 + c, t), x0, a3);
			e3 = _mm256_fmadd_ps(avx2_load8(w, b3 + c + 8, t), x1, e3);
		}
		for (; c < c8; c += 8)
		{
			__m256		x0 = _mm256_loadu_ps(x + c);

			a0 = _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), x0, a0);
			a1 = _mm256_fmadd_ps(avx2_load8(w, b1 + c, t), x0, a1);
			a2 = _mm256_fmadd_ps(avx2_load8(w, b2 + c, t), x0, a2);
			a3 = _mm256_fmadd_ps(avx2_load8(w, b3 + c, t), x0, a3);
		}
		for (; c < cols; c++)
		{
			tail[0] += load1(w, b0 + c, t) * x[c];
			tail[1] += load1(w, b1 + c, t) * x[c];
			tail[2] += load1(w, b2 + c, t) * x[c];
			tail[3] += load1(w, b3 + c, t) * x[c];
		}
		_mm_storeu_ps(y + r, _mm_add_ps(_mm_loadu_ps(y + r),
										_mm_add_ps(avx2_hsum4(_mm256_add_ps(a0, e0),
															  _mm256_add_ps(a1, e1),
															  _mm256_add_ps(a2, e2),
															  _mm256_add_ps(a3, e3)),
												   _mm_loadu_ps(tail))));
	}
	for (; r < rows; r++)
	{
		const long	b0 = (long) r * cols;
		__m256		a0 = _mm256_setzero_ps();
		float		tail = 0;
		int			c = 0;

		for (; c < c8; c += 8)
			a0 = _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), _mm256_loadu_ps(x + c), a0);
		for (; c < cols; c++)
			tail += load1(w, b0 + c, t) * x[c];
		y[r] += avx2_hsum(a0) + tail;
	}
}

static ALWAYS_INLINE TARGET_AVX2 void
avx2_gemv_t(const void *w, int rows, int cols, int stride, const float *x, float *y, LmDType t)
{
	const int	c8 = cols & ~7;
	int			r = 0;

	for (; r + 4 <= rows; r += 4)
	{
		const long	b0 = (long) r * stride,
					b1 = b0 + stride,
					b2 = b1 + stride,
					b3 = b2 + stride;
		const __m256 x0 = _mm256_set1_ps(x[r]),
					x1 = _mm256_set1_ps(x[r + 1]),
					x2 = _mm256_set1_ps(x[r + 2]),
					x3 = _mm256_set1_ps(x[r + 3]);
		int			c = 0;
		const long	next = next_block(r, rows, stride);

		for (; c < c8; c += 8)
		{
			__m256		acc = _mm256_loadu_ps(y + c);

			prefetch_block(w, next, stride, c, t);

			acc = _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), x0, acc);
			acc = _mm256_fmadd_ps(avx2_load8(w, b1 + c, t), x1, acc);
			acc = _mm256_fmadd_ps(avx2_load8(w, b2 + c, t), x2, acc);
			acc = _mm256_fmadd_ps(avx2_load8(w, b3 + c, t), x3, acc);
			_mm256_storeu_ps(y + c, acc);
		}
		for (; c < cols; c++)
			y[c] += x[r] * load1(w, b0 + c, t) + x[r + 1] * load1(w, b1 + c, t) +
				x[r + 2] * load1(w, b2 + c, t) + x[r + 3] * load1(w, b3 + c, t);
	}
	for (; r < rows; r++)
	{
		const long	b0 = (long) r * stride;
		const __m256 x0 = _mm256_set1_ps(x[r]);
		int			c = 0;

		for (; c < c8; c += 8)
			_mm256_storeu_ps(y + c, _mm256_fmadd_ps(avx2_load8(w, b0 + c, t), x0,
													_mm256_loadu_ps(y + c)));
		for (; c < cols; c++)
			y[c] += x[r] * load1(w, b0 + c, t);
	}
}

/*
 * avx2_gemv_t for nv vectors (x_v = x + v · xs, y_v = y + v · ys; V = nv
 * and S are constants where this is inlined): S registers of columns of
 * every y_v are held in registers across all the rows of the piece, so
 * each weight register is loaded once for all the vectors and y is read and
 * written once per piece.  Every y_v element gets the very FMAs, in the same
 * order, that avx2_gemv_t gives it alone: one per row, in row order.
 */
static ALWAYS_INLINE TARGET_AVX2 void
avx2_gemv_t_strips(const void *w, int rows, int c0, int c1, int stride, const float *x, long xs,
				   float *y, long ys, const void *ahead, LmDType t, const int V, const int S)
{
	for (int c = c0; c + 8 * S <= c1; c += 8 * S)
	{
		__m256		acc[8][4];

#pragma GCC unroll 8
		for (int v = 0; v < V; v++)
#pragma GCC unroll 4
			for (int s = 0; s < S; s++)
				acc[v][s] = _mm256_loadu_ps(y + v * ys + c + 8 * s);
		for (int r = 0; r < rows; r++)
		{
			__m256		wv[4];

#pragma GCC unroll 4
			for (int s = 0; s < S; s++)
			{
				wv[s] = avx2_load8(w, (long) r * stride + c + 8 * s, t);
				prefetch_line(ahead, r, stride, c + 8 * s, t);
			}
#pragma GCC unroll 8
			for (int v = 0; v < V; v++)
			{
				const __m256 xb = _mm256_set1_ps(x[v * xs + r]);

#pragma GCC unroll 4
				for (int s = 0; s < S; s++)
					acc[v][s] = _mm256_fmadd_ps(wv[s], xb, acc[v][s]);
			}
		}
#pragma GCC unroll 8
		for (int v = 0; v < V; v++)
#pragma GCC unroll 4
			for (int s = 0; s < S; s++)
				_mm256_storeu_ps(y + v * ys + c + 8 * s, acc[v][s]);
	}
}

/* Columns 0 .. cols & ~7 of the rows' first rows & ~3 rows, for V vectors: wide strips, then one register at a time. */
static ALWAYS_INLINE TARGET_AVX2 void
avx2_gemv_t_v(const void *w, int rows, int cols, int stride, const float *x, long xs,
			  float *y, long ys, const void *ahead, LmDType t, const int V)
{
	const int	c8 = cols & ~7;
	const int	S = V <= 2 ? 4 : V <= 4 ? 3 : 1;
	const int	wide = c8 - c8 % (8 * S);

	avx2_gemv_t_strips(w, rows, 0, wide, stride, x, xs, y, ys, ahead, t, V, S);
	if (S > 1)
		avx2_gemv_t_strips(w, rows, wide, c8, stride, x, xs, y, ys, ahead, t, V, 1);
}

static ALWAYS_INLINE TARGET_AVX2 void
avx2_gemv_tn(const void *w, int rows, int cols, int stride, const float *x, long xs,
			 float *y, long ys, int nv, const void *ahead, LmDType t, GemvTFn single)
{
	const int	rows4 = rows & ~3;

	switch (nv)
	{
		case 1: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 1); break;
		case 2: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 2); break;
		case 3: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 3); break;
		case 4: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 4); break;
		case 5: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 5); break;
		case 6: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 6); break;
		case 7: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 7); break;
		default: avx2_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 8); break;
	}
	gemv_t_leftovers(w, rows, cols, stride, x, xs, y, ys, nv, 8, t, single);
}

static ALWAYS_INLINE TARGET_AVX2 void
avx2_widen(const void *src, long count, float *dst, LmDType t)
{
	long		i = 0;

	for (; i + 8 <= count; i += 8)
		_mm256_storeu_ps(dst + i, avx2_load8(src, i, t));
	for (; i < count; i++)
		dst[i] = load1(src, i, t);
}

/* ----------------------------------------------------------------------------
 * AVX-512F: 16 floats a register */

/*
 * Rows one at a time, of any length, four accumulators, and no hints: a
 * model's matrices lie one after another in memory, and this one
 * sequential stream reads them fastest.  16-bit: Llama-0.48B's 24 layers
 * of F16 stream at 23.4–23.8 GB/s, against 17.5 for four rows at a time
 * with the next block hinted.  Float32, with the tensors on 64-byte
 * boundaries as the model server holds them: 11–19% more tokens/s decoding
 * GPT-2 and up to 20% the Llama shape than four rows at a time without
 * hints (alternated runs, 5 of 5 and 4 of 5).  Several vectors (batched
 * decoding) take this kernel in turn over each piece of rows, still in
 * cache, so each keeps its own bits.
 */
static ALWAYS_INLINE TARGET_AVX512 void
avx512_gemv(const void *w, int rows, int cols, const float *x, float *y, LmDType t)
{
	const int	c64 = cols & ~63;
	const int	c16 = cols & ~15;

	for (int r = 0; r < rows; r++)
	{
		const long	b0 = (long) r * cols;
		__m512		a0 = _mm512_setzero_ps(),
					a1 = a0, a2 = a0, a3 = a0;
		float		tail = 0;
		int			c = 0;

		/* no hints: one sequential stream (see avx512_gemv) */
		for (; c < c64; c += 64)
		{
			a0 = _mm512_fmadd_ps(avx512_load16(w, b0 + c, t), _mm512_loadu_ps(x + c), a0);
			a1 = _mm512_fmadd_ps(avx512_load16(w, b0 + c + 16, t), _mm512_loadu_ps(x + c + 16), a1);
			a2 = _mm512_fmadd_ps(avx512_load16(w, b0 + c + 32, t), _mm512_loadu_ps(x + c + 32), a2);
			a3 = _mm512_fmadd_ps(avx512_load16(w, b0 + c + 48, t), _mm512_loadu_ps(x + c + 48), a3);
		}
		for (; c < c16; c += 16)
			a0 = _mm512_fmadd_ps(avx512_load16(w, b0 + c, t), _mm512_loadu_ps(x + c), a0);
		for (; c < cols; c++)
			tail += load1(w, b0 + c, t) * x[c];
		y[r] += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))) + tail;
	}
}

static ALWAYS_INLINE TARGET_AVX512 void
avx512_gemv_t(const void *w, int rows, int cols, int stride, const float *x, float *y, LmDType t)
{
	const int	c16 = cols & ~15;
	int			r = 0;

	for (; r + 4 <= rows; r += 4)
	{
		const long	b0 = (long) r * stride,
					b1 = b0 + stride,
					b2 = b1 + stride,
					b3 = b2 + stride;
		const __m512 x0 = _mm512_set1_ps(x[r]),
					x1 = _mm512_set1_ps(x[r + 1]),
					x2 = _mm512_set1_ps(x[r + 2]),
					x3 = _mm512_set1_ps(x[r + 3]);
		int			c = 0;
		const long	next = next_block(r, rows, stride);

		for (; c < c16; c += 16)
		{
			__m512		acc = _mm512_loadu_ps(y + c);

			prefetch_block(w, next, stride, c, t);

			acc = _mm512_fmadd_ps(avx512_load16(w, b0 + c, t), x0, acc);
			acc = _mm512_fmadd_ps(avx512_load16(w, b1 + c, t), x1, acc);
			acc = _mm512_fmadd_ps(avx512_load16(w, b2 + c, t), x2, acc);
			acc = _mm512_fmadd_ps(avx512_load16(w, b3 + c, t), x3, acc);
			_mm512_storeu_ps(y + c, acc);
		}
		for (; c < cols; c++)
			y[c] += x[r] * load1(w, b0 + c, t) + x[r + 1] * load1(w, b1 + c, t) +
				x[r + 2] * load1(w, b2 + c, t) + x[r + 3] * load1(w, b3 + c, t);
	}
	for (; r < rows; r++)
	{
		const long	b0 = (long) r * stride;
		const __m512 x0 = _mm512_set1_ps(x[r]);
		int			c = 0;

		for (; c < c16; c += 16)
			_mm512_storeu_ps(y + c, _mm512_fmadd_ps(avx512_load16(w, b0 + c, t), x0,
													_mm512_loadu_ps(y + c)));
		for (; c < cols; c++)
			y[c] += x[r] * load1(w, b0 + c, t);
	}
}

/*
 * avx512_gemv_t for nv vectors (x_v = x + v · xs, y_v = y + v · ys; V = nv
 * and S are constants where this is inlined): S registers of columns of
 * every y_v are held in registers across all the rows of the piece, so
 * each weight register is loaded once for all the vectors and y is read and
 * written once per piece.  Every y_v element gets the very FMAs, in the same
 * order, that avx512_gemv_t gives it alone: one per row, in row order.
 */
static ALWAYS_INLINE TARGET_AVX512 void
avx512_gemv_t_strips(const void *w, int rows, int c0, int c1, int stride, const float *x, long xs,
				   float *y, long ys, const void *ahead, LmDType t, const int V, const int S)
{
	for (int c = c0; c + 16 * S <= c1; c += 16 * S)
	{
		__m512		acc[8][4];

#pragma GCC unroll 8
		for (int v = 0; v < V; v++)
#pragma GCC unroll 4
			for (int s = 0; s < S; s++)
				acc[v][s] = _mm512_loadu_ps(y + v * ys + c + 16 * s);
		for (int r = 0; r < rows; r++)
		{
			__m512		wv[4];

#pragma GCC unroll 4
			for (int s = 0; s < S; s++)
			{
				wv[s] = avx512_load16(w, (long) r * stride + c + 16 * s, t);
				prefetch_line(ahead, r, stride, c + 16 * s, t);
			}
#pragma GCC unroll 8
			for (int v = 0; v < V; v++)
			{
				const __m512 xb = _mm512_set1_ps(x[v * xs + r]);

#pragma GCC unroll 4
				for (int s = 0; s < S; s++)
					acc[v][s] = _mm512_fmadd_ps(wv[s], xb, acc[v][s]);
			}
		}
#pragma GCC unroll 8
		for (int v = 0; v < V; v++)
#pragma GCC unroll 4
			for (int s = 0; s < S; s++)
				_mm512_storeu_ps(y + v * ys + c + 16 * s, acc[v][s]);
	}
}

/* Columns 0 .. cols & ~15 of the rows' first rows & ~3 rows, for V vectors: wide strips, then one register at a time. */
static ALWAYS_INLINE TARGET_AVX512 void
avx512_gemv_t_v(const void *w, int rows, int cols, int stride, const float *x, long xs,
			  float *y, long ys, const void *ahead, LmDType t, const int V)
{
	const int	c16 = cols & ~15;
	const int	S = V <= 4 ? 4 : 2;
	const int	wide = c16 - c16 % (16 * S);

	avx512_gemv_t_strips(w, rows, 0, wide, stride, x, xs, y, ys, ahead, t, V, S);
	if (S > 1)
		avx512_gemv_t_strips(w, rows, wide, c16, stride, x, xs, y, ys, ahead, t, V, 1);
}

static ALWAYS_INLINE TARGET_AVX512 void
avx512_gemv_tn(const void *w, int rows, int cols, int stride, const float *x, long xs,
			 float *y, long ys, int nv, const void *ahead, LmDType t, GemvTFn single)
{
	const int	rows4 = rows & ~3;

	switch (nv)
	{
		case 1: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 1); break;
		case 2: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 2); break;
		case 3: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 3); break;
		case 4: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 4); break;
		case 5: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 5); break;
		case 6: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 6); break;
		case 7: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 7); break;
		default: avx512_gemv_t_v(w, rows4, cols, stride, x, xs, y, ys, ahead, t, 8); break;
	}
	gemv_t_leftovers(w, rows, cols, stride, x, xs, y, ys, nv, 16, t, single);
}

static ALWAYS_INLINE TARGET_AVX512 void
avx512_widen(const void *src, long count, float *dst, LmDType t)
{
	long		i = 0;

	for (; i + 16 <= count; i += 16)
		_mm512_storeu_ps(dst + i, avx512_load16(src, i, t));
	for (; i < count; i++)
		dst[i] = load1(src, i, t);
}

/* ----------------------------------------------------------------------------
 * Sums of partial products: y[i] += p_0[i], then p_1[i], ... (p_k = p + k ·
 * stride), each element in that order whatever the width of the registers. */

static void
c_add_rows(float *y, const float *p, long stride, int count, long n)
{
	for (int k = 0; k < count; k++)
		for (long i = 0; i < n; i++)
			y[i] += p[k * stride + i];
}

static TARGET_AVX2 void
avx2_add_rows(float *y, const float *p, long stride, int count, long n)
{
	long		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		acc = _mm256_loadu_ps(y + i);

		for (int k = 0; k < count; k++)
			acc = _mm256_add_ps(acc, _mm256_loadu_ps(p + k * stride + i));
		_mm256_storeu_ps(y + i, acc);
	}
	for (; i < n; i++)
		for (int k = 0; k < count; k++)
			y[i] += p[k * stride + i];
}

static TARGET_AVX512 void
avx512_add_rows(float *y, const float *p, long stride, int count, long n)
{
	long		i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m512		acc = _mm512_loadu_ps(y + i);

		for (int k = 0; k < count; k++)
			acc = _mm512_add_ps(acc, _mm512_loadu_ps(p + k * stride + i));
		_mm512_storeu_ps(y + i, acc);
	}
	for (; i < n; i++)
		for (int k = 0; k < count; k++)
			y[i] += p[k * stride + i];
}

/* ----------------------------------------------------------------------------
 * One function per instruction set, operation and dtype */

typedef void (*WidenFn) (const void *src, long count, float *dst);

#define DEFINE_GEMVS(isa, attr, dt, suffix) \
	static attr void isa##_gemv_##suffix(const void *w, int rows, int cols, const float *x, float *y) \
	{ isa##_gemv(w, rows, cols, x, y, dt); } \
	static attr void isa##_gemv_t_##suffix(const void *w, int rows, int cols, int stride, const float *x, float *y) \
	{ isa##_gemv_t(w, rows, cols, stride, x, y, dt); } \
	static attr void isa##_widen_##suffix(const void *src, long count, float *dst) \
	{ isa##_widen(src, count, dst, dt); }

#define DEFINE_ISA(isa, attr) \
	DEFINE_GEMVS(isa, attr, LM_DTYPE_F32, f32) \
	DEFINE_GEMVS(isa, attr, LM_DTYPE_F16, f16) \
	DEFINE_GEMVS(isa, attr, LM_DTYPE_BF16, bf16)

/* The several-vector gemv_t, whose leftovers call the one-vector function above. */
#define DEFINE_TN(isa, attr, dt, suffix) \
	static attr void isa##_gemv_tn_##suffix(const void *w, int rows, int cols, int stride, \
											const float *x, long xs, float *y, long ys, \
											int nv, const void *ahead) \
	{ isa##_gemv_tn(w, rows, cols, stride, x, xs, y, ys, nv, ahead, dt, isa##_gemv_t_##suffix); }

#define DEFINE_ISA_TN(isa, attr) \
	DEFINE_TN(isa, attr, LM_DTYPE_F32, f32) \
	DEFINE_TN(isa, attr, LM_DTYPE_F16, f16) \
	DEFINE_TN(isa, attr, LM_DTYPE_BF16, bf16)

DEFINE_ISA(c, )
DEFINE_ISA(avx2, TARGET_AVX2)
DEFINE_ISA(avx512, TARGET_AVX512)
DEFINE_ISA_TN(avx2, TARGET_AVX2)
DEFINE_ISA_TN(avx512, TARGET_AVX512)

typedef struct Kernels
{
	const char *name;
	/* indexed by dtype: LM_DTYPE_F32, LM_DTYPE_F16, LM_DTYPE_BF16 */
	GemvFn		gemv[3];
	GemvTFn		gemv_t[3];
	WidenFn		widen[3];
	GemvTNFn	gemv_tn[3];		/* NULL: one call of gemv_t per vector */
	void		(*add_rows) (float *y, const float *p, long stride, int count, long n);
} Kernels;

#define KERNELS(isa, name, tn) \
	{name, {isa##_gemv_f32, isa##_gemv_f16, isa##_gemv_bf16}, \
	 {isa##_gemv_t_f32, isa##_gemv_t_f16, isa##_gemv_t_bf16}, \
	 {isa##_widen_f32, isa##_widen_f16, isa##_widen_bf16}, tn, isa##_add_rows}

#define TN(isa) {isa##_gemv_tn_f32, isa##_gemv_tn_f16, isa##_gemv_tn_bf16}

/* Indexed by LmSimd. */
static const Kernels kernel_sets[] = {
	KERNELS(c, "C", {NULL}),
	KERNELS(avx2, "AVX2+FMA+F16C", TN(avx2)),
	KERNELS(avx512, "AVX-512F", TN(avx512)),
};

_Static_assert(LM_DTYPE_F32 == 0 && LM_DTYPE_F16 == 1 && LM_DTYPE_BF16 == 2,
			   "kernel tables are indexed by dtype");

/* ----------------------------------------------------------------------------
 * Choosing */

static const Kernels *current;	/* NULL until the first call */

/* CPUID.1:ECX.F16C[bit 29] (clang's __builtin_cpu_supports does not know "f16c") */
static bool
has_f16c(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;

	return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

LmSimd
lm_simd_best(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
		__builtin_cpu_supports("fma"))
		return LM_SIMD_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c())
		return LM_SIMD_AVX2;
	return LM_SIMD_C;
}

static const Kernels *
kernels(void)
{
	/* a race here stores the same pointer twice, harmlessly */
	if (current == NULL)
		current = &kernel_sets[lm_simd_best()];
	return current;
}

LmSimd
lm_simd_current(void)
{
	return (LmSimd) (kernels() - kernel_sets);
}

const char *
lm_simd_name(LmSimd simd)
{
	return kernel_sets[simd].name;
}

bool
lm_simd_use(LmSimd simd)
{
	if (simd > lm_simd_best())
		return false;
	current = &kernel_sets[simd];
	return true;
}

/* ----------------------------------------------------------------------------
 * Threads and several vectors.
 *
 * Each thread computes a slice of the outputs, with the kernel and the order
 * of operations one thread uses, so the result is the same bit for bit.
 * Slices are whole blocks of 16 outputs (the widest vector), so the
 * kernels' remainder code runs on the same outputs as with one thread.
 *
 * Several vectors (the decoding steps of several sequences, lm_gemv_rows)
 * share each read of the weights: a piece of rows is multiplied with every
 * vector while it is in cache, with the very kernel calls one vector would
 * make on those rows, so each vector's result is the one lm_gemv gives. */

/* Products smaller than this many weights are not worth waking threads for. */
#define PARALLEL_MIN_WEIGHTS (64 * 1024)
#define SLICE_ALIGN 16
/* Rows of weights multiplied with every vector before the next: about this many bytes. */
#define PIECE_BYTES (64 * 1024)

typedef struct Slices
{
	const LmMatrix *w;
	const float *x;				/* n_vec vectors, one after another */
	float	   *y;
	int			per_job;		/* outputs per slice, a multiple of SLICE_ALIGN */
	int			outputs;
	int			n_vec;
} Slices;

/* How many slices of how many outputs each; 1 when one thread should do it all. */
static int
plan_slices(const LmMatrix *w, int outputs, int *per_job)
{
	int			threads = lm_parallel_threads();
	int			blocks = (outputs + SLICE_ALIGN - 1) / SLICE_ALIGN;
	int			jobs;

	*per_job = outputs;
	if (threads <= 1 || (long) w->rows * w->cols < PARALLEL_MIN_WEIGHTS || blocks < 2)
		return 1;
	jobs = 4 * threads < blocks ? 4 * threads : blocks;
	*per_job = (blocks + jobs - 1) / jobs * SLICE_ALIGN;
	return (outputs + *per_job - 1) / *per_job;
}

/* Rows per piece: a multiple of 16 (kernels take rows four at a time). */
static int
piece_rows(const LmMatrix *w)
{
	int			rows = (int) (PIECE_BYTES / ((size_t) w->cols * lm_dtype_size(w->dtype)));

	rows &= ~15;
	return rows < 16 ? 16 : rows;
}

static const char *
row_at(const LmMatrix *w, long r)
{
	return (const char *) w->data + (size_t) r * w->cols * lm_dtype_size(w->dtype);
}

/* Rows r0 .. r0+n of y = W · x, for every vector. */
static void
gemv_range(const Slices *s, int r0, int n)
{
	const LmMatrix *w = s->w;
	int			piece = piece_rows(w);

	if (s->n_vec == 1)
	{
		kernels()->gemv[w->dtype] (row_at(w, r0), n, w->cols, s->x, s->y + r0);
		return;
	}
	for (int r = r0; r < r0 + n; r += piece)
	{
		int			rows = r0 + n - r < piece ? r0 + n - r : piece;

		for (int v = 0; v < s->n_vec; v++)
			kernels()->gemv[w->dtype] (row_at(w, r), rows, w->cols, s->x + (size_t) v * w->cols,
									   s->y + (size_t) v * w->rows + r);
	}
}

static void
gemv_slice(void *arg, int job)
{
	const Slices *s = arg;
	int			r0 = job * s->per_job;

	gemv_range(s, r0, s->outputs - r0 < s->per_job ? s->outputs - r0 : s->per_job);
}

static void
gemv_t_slice(void *arg, int job)
{
	const Slices *s = arg;
	const LmMatrix *w = s->w;
	int			c0 = job * s->per_job;
	int			n = s->outputs - c0 < s->per_job ? s->outputs - c0 : s->per_job;

	for (int v = 0; v < s->n_vec; v++)
		kernels()->gemv_t[w->dtype] ((const char *) w->data + (size_t) c0 * lm_dtype_size(w->dtype),
									 w->rows, n, w->cols, s->x + (size_t) v * w->rows,
									 s->y + (size_t) v * w->cols + c0);
}

void
lm_gemv_rows(const LmMatrix *w, const float *x, int n_vec, float *y)
{
	Slices		s = {w, x, y, 0, w->rows, n_vec};
	int			jobs = plan_slices(w, w->rows, &s.per_job);

	if (jobs <= 1)
		gemv_range(&s, 0, w->rows);
	else
		lm_parallel_run(jobs, gemv_slice, &s);
}

void
lm_gemv(const LmMatrix *w, const float *x, float *y)
{
	lm_gemv_rows(w, x, 1, y);
}

/*
 * y += x · W for W [rows][cols] reads whole rows, so threads should take
 * whole rows too (slices of columns make each thread stream short pieces of
 * every row, and two threads then read barely faster than one).  A large
 * product is therefore always computed in blocks of GEMV_T_BLOCK_ROWS rows:
 * each block's x_b · W_b into a partial sum of its own, and the partials
 * added to y in block order.  The blocks are fixed by the shape, not by the
 * threads, so any number of threads gives the same bits.
 */
#define GEMV_T_BLOCK_ROWS 64
#define GEMV_T_PIECE_ROWS 16

static __thread LmThreadScratch partial_sums;	/* this thread's RowBlocks.partials */

void
lm_gemv_scratch_release(void)
{
	lm_thread_scratch_free(&partial_sums);
}

size_t
lm_gemv_scratch_held(void)
{
	return partial_sums.cap * sizeof(float);
}

typedef struct RowBlocks
{
	const LmMatrix *w;
	const float *x;
	int			n_vec;
	int			blocks;
	float	   *partials;		/* [n_vec][blocks][cols] */
	float	   *y;				/* where the partials are added */
} RowBlocks;

/*
 * Rows r0 .. r0+n of W into acc_v (+= x_v[r] · W[r]) for every vector, a
 * piece of rows at a time: the kernel takes rows four by four in order, so
 * pieces of a multiple of four rows add up exactly as one call would.
 */
static void
gemv_t_rows(const LmMatrix *w, const float *x, int n_vec, int r0, int n, float *acc,
			size_t acc_stride)
{
	GemvTNFn	several = kernels()->gemv_tn[w->dtype];

	for (int r = r0; r < r0 + n; r += GEMV_T_PIECE_ROWS)
	{
		int			rows = r0 + n - r < GEMV_T_PIECE_ROWS ? r0 + n - r : GEMV_T_PIECE_ROWS;
		int			v = 0;

		/* the first vectors' pass hints the next piece's rows */
		const void *ahead = r + GEMV_T_PIECE_ROWS < w->rows ? row_at(w, r + GEMV_T_PIECE_ROWS) : NULL;

		for (; several != NULL && v < n_vec; v += GEMV_T_MAX_VECTORS)
		{
			int			nv = n_vec - v < GEMV_T_MAX_VECTORS ? n_vec - v : GEMV_T_MAX_VECTORS;

			several(row_at(w, r), rows, w->cols, w->cols, x + (size_t) v * w->rows + r, w->rows,
					acc + v * acc_stride, (long) acc_stride, nv, v == 0 ? ahead : NULL);
		}
		for (; v < n_vec; v++)
			kernels()->gemv_t[w->dtype] (row_at(w, r), rows, w->cols, w->cols,
										 x + (size_t) v * w->rows + r, acc + v * acc_stride);
	}
}

static void
gemv_t_block(void *arg, int block)
{
	const RowBlocks *b = arg;
	const LmMatrix *w = b->w;
	int			r0 = block * GEMV_T_BLOCK_ROWS;
	int			n = w->rows - r0 < GEMV_T_BLOCK_ROWS ? w->rows - r0 : GEMV_T_BLOCK_ROWS;
	float	   *p = b->partials + (size_t) block * w->cols;
	size_t		stride = (size_t) b->blocks * w->cols;

	for (int v = 0; v < b->n_vec; v++)
		memset(p + v * stride, 0, (size_t) w->cols * sizeof(float));
	if (b->n_vec == 1)
		kernels()->gemv_t[w->dtype] (row_at(w, r0), n, w->cols, w->cols, b->x + r0, p);
	else
		gemv_t_rows(w, b->x, b->n_vec, r0, n, p, stride);
}

/*
 * Columns c0 .. c0+n of the partial sums added to y, block after block in
 * order, for every vector: threads take slices of columns, and every
 * element sums its blocks in the same order whoever adds them.
 */
static void
add_partials(void *arg, long c0, long n)
{
	const RowBlocks *b = arg;
	int			cols = b->w->cols;

	for (int v = 0; v < b->n_vec; v++)
	{
		kernels()->add_rows(b->y + (size_t) v * cols + c0,
							b->partials + (size_t) v * b->blocks * cols + c0, cols, b->blocks, n);
	}
}

void
lm_gemv_t_rows(const LmMatrix *w, const float *x, int n_vec, float *y)
{
	int			blocks = (w->rows + GEMV_T_BLOCK_ROWS - 1) / GEMV_T_BLOCK_ROWS;
	RowBlocks	b = {w, x, n_vec, blocks, NULL, NULL};

	if ((long) w->rows * w->cols < PARALLEL_MIN_WEIGHTS || blocks < 2 ||
		(b.partials = lm_thread_scratch(&partial_sums, (size_t) n_vec * blocks * w->cols)) == NULL)
	{
		Slices		s = {w, x, y, 0, w->cols, n_vec};
		int			jobs = plan_slices(w, w->cols, &s.per_job);

		if (jobs > 1)
			lm_parallel_run(jobs, gemv_t_slice, &s);
		else if (n_vec == 1)
			kernels()->gemv_t[w->dtype] (w->data, w->rows, w->cols, w->cols, x, y);
		else
			gemv_t_rows(w, x, n_vec, 0, w->rows, y, (size_t) w->cols);
		return;
	}
	lm_parallel_run(blocks, gemv_t_block, &b);
	b.y = y;
	lm_parallel_ranges(w->cols, SLICE_ALIGN, 256, add_partials, &b);
}

void
lm_gemv_t(const LmMatrix *w, const float *x, float *y)
{
	lm_gemv_t_rows(w, x, 1, y);
}

void
lm_widen(const void *src, LmDType dtype, long count, float *dst)
{
	if (lm_dtype_is_quantized(dtype))
		lm_dequantize(src, dtype, count, dst);	/* count: whole blocks */
	else
		kernels()->widen[dtype] (src, count, dst);
}
