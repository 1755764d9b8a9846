/*
 * quant_matmul.c — products of activations with quantized weights (see
 * quant.h).
 *
 * A few rows (decoding): the activations' rows are quantized once, then
 * each output is one kernel call, a dot product of a row of blocks with a
 * quantized row (four rows of blocks at a time where the instruction set
 * has such a kernel, with the same bits).  Threads take slices of the
 * outputs; a slice goes through its weights a tile of rows at a time,
 * multiplying each tile with every row of activations while it is in
 * cache, and hints the rows ahead to the cache.  An output is the same call
 * whatever the slicing: the same bits on any number of threads and for one
 * row or many (lm_matmul_each).
 *
 * Many rows (a prompt, lm_quant_gemm): with AVX-512 VNNI, in integers: the
 * activations rearranged once in chunks, each thread rearranges a panel of
 * its rows of weights at a time and multiplies it with every chunk
 * (quant_gemm_avx512.c).  Without, each thread widens a piece of its rows
 * of weights to float32 and multiplies it with the activations' 8-bit
 * values by the float32 matrix kernels.
 */
#include "nn/quant.h"

#include <cpuid.h>
#include <string.h>

#include "nn/parallel.h"
#include "nn/quant_blocks.h"
#include "nn/quant_gemm.h"
#include "nn/scratch.h"

/* Weight rows multiplied with every row of activations before the next ones. */
#define TILE_ROWS 16
/* Products smaller than this many weights are not worth waking threads for. */
#define PARALLEL_MIN_WEIGHTS (64 * 1024)

static __thread LmThreadScratch act_scratch;	/* the quantized activations */
static __thread LmThreadScratch value_scratch;	/* lm_quant_gemm: what they stand for */
static __thread LmThreadScratch wide_scratch;	/* lm_quant_gemm: a piece of widened weights */
static __thread LmThreadScratch chunk_scratch;	/* lm_quant_gemm: activations in chunks */
static __thread LmThreadScratch tile_scratch;	/* lm_quant_gemm: a panel of tiles of weights */

void
lm_quant_scratch_release(void)
{
	lm_thread_scratch_free(&act_scratch);
	lm_thread_scratch_free(&value_scratch);
	lm_thread_scratch_free(&wide_scratch);
	lm_thread_scratch_free(&chunk_scratch);
	lm_thread_scratch_free(&tile_scratch);
}

size_t
lm_quant_scratch_held(void)
{
	return (act_scratch.cap + value_scratch.cap + wide_scratch.cap + chunk_scratch.cap + tile_scratch.cap) *
		sizeof(float);
}

/* ---- kernels ------------------------------------------------------------------ */

static QuantDotFn
c_kernel(LmDType dtype)
{
	switch (dtype)
	{
		case LM_DTYPE_Q8_0:
			return lm_qdot_c_q8_0;
		case LM_DTYPE_Q4_0:
			return lm_qdot_c_q4_0;
		case LM_DTYPE_Q4_1:
			return lm_qdot_c_q4_1;
		case LM_DTYPE_Q5_0:
			return lm_qdot_c_q5_0;
		case LM_DTYPE_Q5_1:
			return lm_qdot_c_q5_1;
		case LM_DTYPE_Q4_K:
			return lm_qdot_c_q4_k;
		case LM_DTYPE_Q5_K:
			return lm_qdot_c_q5_k;
		case LM_DTYPE_Q6_K:
			return lm_qdot_c_q6_k;
		default:
			return NULL;
	}
}

/* The 8-bit integer instructions the AVX-512 kernels use (AVX-512F alone is not enough). */
static bool
has_avx512_int8(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("avx512vnni");
}

LmSimd
lm_quant_simd(void)
{
	LmSimd		simd = lm_simd_current();

	if (simd == LM_SIMD_AVX512 && !has_avx512_int8())
		simd = LM_SIMD_AVX2;
	return simd;
}

LmQuantDotFn
lm_quant_dot_kernel(LmDType dtype, LmSimd simd)
{
	switch (simd)
	{
		case LM_SIMD_AVX512:
			return has_avx512_int8() ? lm_qdot_avx512(dtype) : NULL;
		case LM_SIMD_AVX2:
			return lm_simd_best() >= LM_SIMD_AVX2 ? lm_qdot_avx2(dtype) : NULL;
		default:
			return c_kernel(dtype);
	}
}

/*
 * The best kernel of the set in use: a set without one for this type lends
 * the next one's.  dot4: the same set's four-row kernel, if it has one.
 */
static QuantDotFn
kernel_for(LmDType dtype, QuantDot4Fn *dot4)
{
	*dot4 = NULL;
	for (LmSimd simd = lm_quant_simd();; simd--)
	{
		QuantDotFn	fn = lm_quant_dot_kernel(dtype, simd);

		if (fn != NULL && simd == LM_SIMD_AVX512)
			*dot4 = lm_qdot4_avx512(dtype);
		if (fn != NULL || simd == LM_SIMD_C)
			return fn;
	}
}

/* ---- products ---------------------------------------------------------------- */

typedef struct QuantProduct
{
	const LmMatrix *w;
	QuantDotFn	dot;
	QuantDot4Fn dot4;			/* four rows at once, the same bits as dot; or NULL */
	const char *xq;				/* n rows of quantized activations */
	size_t		xq_row;			/* bytes of one */
	size_t		w_row;			/* bytes of a row of weights */
	float	   *y;				/* [n][w->rows] */
	int			n;
	int			per_job;		/* outputs per slice */
} QuantProduct;

/*
 * Rows this far ahead are hinted to the cache: a decoding step reads each
 * weight once, in short rows (a few hundred bytes), which the hardware
 * prefetcher alone fetches late.
 */
#define PREFETCH_ROWS 8

static inline void
prefetch_rows(const char *wdata, size_t w_row, int r, int rows)
{
	if (r + 4 > rows)
		return;
	for (size_t off = 0; off < 4 * w_row; off += 64)
		__builtin_prefetch(wdata + (size_t) r * w_row + off, 0, 0);
}

static void
product_range(const QuantProduct *p, int r0, int r1)
{
	const char *wdata = p->w->data;

	for (int t = r0; t < r1; t += TILE_ROWS)
	{
		int			t1 = t + TILE_ROWS < r1 ? t + TILE_ROWS : r1;

		for (int i = 0; i < p->n; i++)
		{
			const char *xq = p->xq + (size_t) i * p->xq_row;
			float	   *y = p->y + (size_t) i * p->w->rows;
			int			r = t;

			for (; p->dot4 != NULL && r + 4 <= t1; r += 4)
			{
				float		four[4];

				prefetch_rows(wdata, p->w_row, r + PREFETCH_ROWS, r1);
				p->dot4(wdata + (size_t) r * p->w_row, p->w_row, xq, p->w->cols, four);
				for (int k = 0; k < 4; k++)
					y[r + k] += four[k];
			}
			for (; r < t1; r++)
			{
				if (r + PREFETCH_ROWS < r1)
					for (size_t off = 0; off < p->w_row; off += 64)
						__builtin_prefetch(wdata + (size_t) (r + PREFETCH_ROWS) * p->w_row + off, 0, 0);
				y[r] += p->dot(wdata + (size_t) r * p->w_row, xq, p->w->cols);
			}
		}
	}
}

static void
product_slice(void *arg, int job)
{
	const QuantProduct *p = arg;
	int			r0 = job * p->per_job;
	int			r1 = r0 + p->per_job < p->w->rows ? r0 + p->per_job : p->w->rows;

	product_range(p, r0, r1);
}

/*
 * Without memory for the quantized rows: each row in pieces of this many
 * columns, quantized on the stack (sums in another order, same kernels).
 */
#define FALLBACK_COLUMNS 4096

static void
product_without_scratch(float *y, const float *x, const LmMatrix *w, int n, QuantDotFn dot)
{
	char		xq[FALLBACK_COLUMNS / QK * sizeof(BlockQ8_1)];
	size_t		w_row = lm_dtype_row_bytes(w->dtype, w->cols);

	for (int i = 0; i < n; i++)
		for (int c0 = 0; c0 < w->cols; c0 += FALLBACK_COLUMNS)
		{
			int			cols = w->cols - c0 < FALLBACK_COLUMNS ? w->cols - c0 : FALLBACK_COLUMNS;
			size_t		skip = lm_dtype_row_bytes(w->dtype, c0);

			lm_quant_activations(w->dtype, x + (size_t) i * w->cols + c0, cols, xq);
			for (int r = 0; r < w->rows; r++)
				y[(size_t) i * w->rows + r] += dot((const char *) w->data + r * w_row + skip, xq, cols);
		}
}

/*
 * The product of W and n rows, all but the activations (xq NULL) set; its
 * kernels those of the instruction set in use; one slice of all outputs.
 */
static void
product_init(QuantProduct *p, float *y, const LmMatrix *w, int n)
{
	p->w = w;
	p->dot = kernel_for(w->dtype, &p->dot4);
	p->xq = NULL;
	p->xq_row = lm_quant_act_row_bytes(w->dtype, w->cols);
	p->w_row = lm_dtype_row_bytes(w->dtype, w->cols);
	p->y = y;
	p->n = n;
	p->per_job = w->rows;
}

/*
 * Slices of rows outputs, whole multiples of align, about per_thread of
 * them for each of threads threads: how many, with p->per_job set.
 */
static int
plan_slices(QuantProduct *p, int rows, int align, int per_thread, int threads)
{
	int			units = (rows + align - 1) / align;
	int			jobs = per_thread * threads < units ? per_thread * threads : units;

	p->per_job = (units + jobs - 1) / jobs * align;
	return (rows + p->per_job - 1) / p->per_job;
}

/* The calling thread's memory for p's n rows of quantized activations, or NULL. */
static char *
activation_rows(const QuantProduct *p)
{
	return (char *) lm_thread_scratch(&act_scratch, ((size_t) p->n * p->xq_row + sizeof(float) - 1) / sizeof(float));
}

/* x's n rows quantized into xq, xq_row bytes apart. */
static void
quantize_rows(const QuantProduct *p, const float *x, char *xq)
{
	for (int i = 0; i < p->n; i++)
		lm_quant_activations(p->w->dtype, x + (size_t) i * p->w->cols, p->w->cols, xq + (size_t) i * p->xq_row);
}

void
lm_quant_matmul(float *y, const float *x, const LmMatrix *w, int n)
{
	QuantProduct p;
	char	   *xq;
	int			threads = lm_parallel_threads();
	int			jobs = 1;

	product_init(&p, y, w, n);
	if ((xq = activation_rows(&p)) == NULL)
	{
		product_without_scratch(y, x, w, n, p.dot);
		return;
	}
	quantize_rows(&p, x, xq);
	p.xq = xq;
	if (threads > 1 && (long) w->rows * w->cols >= PARALLEL_MIN_WEIGHTS && w->rows >= 2 * TILE_ROWS)
		jobs = plan_slices(&p, w->rows, TILE_ROWS, 4, threads);
	if (jobs <= 1)
		product_range(&p, 0, w->rows);
	else
		lm_parallel_run(jobs, product_slice, &p);
}

/* ---- many rows: widened a piece at a time ------------------------------------ */

/* Weights widened at once by a thread: about this many bytes of float32 (at least 16 rows). */
#define WIDE_PIECE_BYTES (2 * 1024 * 1024)
#define WIDE_ALIGN 16

typedef struct WideProduct
{
	QuantProduct q;				/* the quantized rows, for a thread without memory to widen */
	const float *values;		/* n rows of what they stand for */
	const float *sums;			/* Q4_1, Q5_1: n rows of their blocks' sums (else NULL) */
} WideProduct;

static int
wide_piece_rows(int cols)
{
	int			rows = (int) (WIDE_PIECE_BYTES / ((size_t) cols * sizeof(float))) & ~(WIDE_ALIGN - 1);

	return rows < WIDE_ALIGN ? WIDE_ALIGN : rows;
}

static void
wide_slice(void *arg, int job)
{
	const WideProduct *p = arg;
	const LmMatrix *w = p->q.w;
	int			r0 = job * p->q.per_job;
	int			r1 = r0 + p->q.per_job < w->rows ? r0 + p->q.per_job : w->rows;
	int			piece = wide_piece_rows(w->cols);
	int			blocks = w->cols / QK;
	/* the rows' values, then (Q4_1, Q5_1) their minimums */
	float	   *wide = lm_thread_scratch(&wide_scratch, (size_t) piece * (w->cols + blocks));

	if (wide == NULL)
	{
		product_range(&p->q, r0, r1);
		return;
	}
	for (int r = r0; r < r1; r += piece)
	{
		int			rows = r1 - r < piece ? r1 - r : piece;
		float	   *mins = wide + (size_t) rows * w->cols;
		LmMatrix	m = {wide, LM_DTYPE_F32, rows, w->cols};
		LmMatrix	m_mins = {mins, LM_DTYPE_F32, rows, blocks};

		for (int i = 0; i < rows; i++)
		{
			const char *row = (const char *) w->data + (size_t) (r + i) * p->q.w_row;

			if (p->sums == NULL)
				lm_dequantize(row, w->dtype, w->cols, wide + (size_t) i * w->cols);
			else
				lm_quant_split_minimums(row, w->dtype, w->cols, wide + (size_t) i * w->cols, mins + (size_t) i * blocks);
		}
		lm_gemm_block(p->q.y + r, w->rows, p->values, p->q.n, &m);
		/* llama.cpp's share of the minimums: m·s, s the activations' block sums as they carry them */
		if (p->sums != NULL)
			lm_gemm_block(p->q.y + r, w->rows, p->sums, p->q.n, &m_mins);
	}
}

/* ---- many rows: integer tiles ----------------------------------------------- */

/* Tiles of weights rearranged before the chunks of activations go through them. */
#define PANEL_TILES 4

typedef struct IntProduct
{
	QuantProduct q;				/* the quantized rows, for a thread without memory for tiles */
	QuantForm	form;
	const char *chunks;			/* n rows of activations in chunks of QGEMM_ACTS */
	size_t		chunk_bytes;
} IntProduct;

static void
int_slice(void *arg, int job)
{
	const IntProduct *p = arg;
	const LmMatrix *w = p->q.w;
	int			r0 = job * p->q.per_job;
	int			r1 = r0 + p->q.per_job < w->rows ? r0 + p->q.per_job : w->rows;
	size_t		tile_bytes = lm_qgemm_tile_bytes(&p->form, w->cols);
	size_t		floats = (PANEL_TILES * tile_bytes + lm_qgemm_tile_scratch_bytes(&p->form, w->cols)) / sizeof(float) + 1;
	char	   *panel = (char *) lm_thread_scratch(&tile_scratch, floats);

	if (panel == NULL)
	{
		product_range(&p->q, r0, r1);
		return;
	}
	for (int r = r0; r < r1; r += PANEL_TILES * QGEMM_ROWS)
	{
		int			tiles = (r1 - r + QGEMM_ROWS - 1) / QGEMM_ROWS;

		tiles = tiles < PANEL_TILES ? tiles : PANEL_TILES;
		for (int t = 0; t < tiles; t++)
		{
			int			first = r + t * QGEMM_ROWS;

			lm_qgemm_pack_tile(w->dtype, &p->form, (const char *) w->data + (size_t) first * p->q.w_row, p->q.w_row,
							   r1 - first < QGEMM_ROWS ? r1 - first : QGEMM_ROWS, w->cols,
							   panel + t * tile_bytes, panel + PANEL_TILES * tile_bytes);
		}
		for (int a = 0; a < p->q.n; a += QGEMM_ACTS)
			for (int t = 0; t < tiles; t++)
			{
				int			first = r + t * QGEMM_ROWS;

				lm_qgemm_tile_chunk(&p->form, panel + t * tile_bytes, p->chunks + (size_t) (a / QGEMM_ACTS) * p->chunk_bytes,
									w->cols, p->q.y + (size_t) a * w->rows + first, w->rows,
									p->q.n - a < QGEMM_ACTS ? p->q.n - a : QGEMM_ACTS,
									r1 - first < QGEMM_ROWS ? r1 - first : QGEMM_ROWS);
			}
	}
}

/* lm_quant_gemm in integer tiles; false when this CPU or memory does not allow (nothing done). */
static bool
int_gemm(float *y, const float *x, const LmMatrix *w, int n)
{
	IntProduct	p;
	char	   *xq,
			   *chunks;
	int			threads = lm_parallel_threads();
	int			jobs = 1,
				n_chunks = (n + QGEMM_ACTS - 1) / QGEMM_ACTS;

	if (lm_quant_simd() != LM_SIMD_AVX512 || !lm_quant_form(w->dtype, &p.form))
		return false;
	product_init(&p.q, y, w, n);
	p.chunk_bytes = lm_qgemm_chunk_bytes(&p.form, w->cols);
	xq = activation_rows(&p.q);
	chunks = xq == NULL ? NULL :
		(char *) lm_thread_scratch(&chunk_scratch, (n_chunks * p.chunk_bytes + lm_qgemm_chunk_scratch_bytes(w->cols)) /
								   sizeof(float) + 1);
	if (chunks == NULL)
		return false;
	quantize_rows(&p.q, x, xq);
	for (int c = 0; c < n_chunks; c++)
		lm_qgemm_pack_chunk(w->dtype, &p.form, xq + (size_t) c * QGEMM_ACTS * p.q.xq_row, p.q.xq_row,
							n - c * QGEMM_ACTS < QGEMM_ACTS ? n - c * QGEMM_ACTS : QGEMM_ACTS, w->cols,
							chunks + (size_t) c * p.chunk_bytes, chunks + (size_t) n_chunks * p.chunk_bytes);
	p.q.xq = xq;
	p.chunks = chunks;
	if (threads > 1 && w->rows >= 2 * QGEMM_ROWS)
		jobs = plan_slices(&p.q, w->rows, QGEMM_ROWS, 2, threads);
	if (jobs <= 1)
		int_slice(&p, 0);
	else
		lm_parallel_run(jobs, int_slice, &p);
	return true;
}

void
lm_quant_gemm(float *y, const float *x, const LmMatrix *w, int n)
{
	WideProduct p;
	char	   *xq;
	float	   *values;
	bool		with_sums;
	int			threads = lm_parallel_threads();
	int			jobs = 1;

	if (int_gemm(y, x, w, n))
		return;
	product_init(&p.q, y, w, n);
	with_sums = w->dtype == LM_DTYPE_Q4_1 || w->dtype == LM_DTYPE_Q5_1;
	xq = activation_rows(&p.q);
	values = xq != NULL ? lm_thread_scratch(&value_scratch, (size_t) n * (w->cols + w->cols / QK)) : NULL;
	if (values == NULL)
	{
		lm_quant_matmul(y, x, w, n);
		return;
	}
	quantize_rows(&p.q, x, xq);
	for (int i = 0; i < n; i++)
	{
		char	   *row = xq + (size_t) i * p.q.xq_row;

		lm_quant_activations_value(w->dtype, row, w->cols, values + (size_t) i * w->cols);
		if (with_sums)
			lm_quant_activation_sums(w->dtype, row, w->cols, values + (size_t) n * w->cols + (size_t) i * (w->cols / QK));
	}
	p.q.xq = xq;
	p.values = values;
	p.sums = with_sums ? values + (size_t) n * w->cols : NULL;
	if (threads > 1 && w->rows >= 2 * WIDE_ALIGN)
		jobs = plan_slices(&p.q, w->rows, WIDE_ALIGN, 2, threads);
	if (jobs <= 1)
		wide_slice(&p, 0);
	else
		lm_parallel_run(jobs, wide_slice, &p);
}
