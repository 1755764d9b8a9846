/*
 * gemm.c — products of several rows of activations with a weight matrix
 * (prompts, batches of inputs, attention's heads): y[n][j] = Σ_k x[n][k] ·
 * B[k][j] (+ bias, + y), B being Wᵀ for torch.nn.Linear's [out][in] or W
 * itself for GPT-2's [in][out].
 *
 * Three ways, all with MR × NR sums held in registers while every
 * multiply-add takes one register of one operand and one broadcast element
 * of the other:
 * - [out][in] weights from memory (AVX-512, gemm_nt): the rows of x are
 *   copied, transposed, into panels of 32, and W's rows read in place;
 *   each tile's sums (12 outputs × 32 rows) are transposed into y.
 * - [in][out] weights from memory (gemm_io_packed): KC whole rows of W are
 *   copied into panels of NR columns, read in order as memory likes.
 * - otherwise (attention's operands, in cache; or no memory for a copy;
 *   AVX2 and plain C for [out][in]): a panel's block of B at a time,
 *   [KC][NR], copied (transposed, widened) or read in place.
 *
 * Every output is its start (0 or y, plus the bias) and then its products
 * in order of k by fused multiply-adds, whatever the panel, block, way or
 * thread it is computed in; so threads may split rows or outputs in any
 * way and give the same bits as one thread.
 */
#include "nn/matrix.h"

#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/scratch.h"
#include "nn/simd.h"

#define KC 256					/* inner dimension per block: a panel's block is 32 KB */
#define MC 240					/* rows per block: a multiple of every MR */
#define MAX_NR 32				/* the widest panel: [KC][MAX_NR] floats, 32 KB, on the stack */

/* A product, its operands anywhere in memory (row strides ld*). */
typedef struct GemmPart
{
	float	   *y;				/* [n][out] */
	long		ldy;
	const float *x;				/* [n][in] */
	long		ldx;
	int			n;
	const void *w;				/* [out][in], or [in][out] with io */
	LmDType		dtype;
	long		ldw;
	bool		io;
	int			in,
				out;
	const float *bias;			/* [out] added to every row, or NULL */
	bool		accumulate;		/* y += the product (else y's contents are ignored) */
} GemmPart;

/* Each thread's copies of activations or weights (gemm_nt, gemm_io_packed), kept for its next call. */
static __thread LmThreadScratch nt_scratch;
static __thread LmThreadScratch io_scratch;

void
lm_gemm_scratch_release(void)
{
	lm_thread_scratch_free(&nt_scratch);
	lm_thread_scratch_free(&io_scratch);
}

size_t
lm_gemm_scratch_held(void)
{
	return (nt_scratch.cap + io_scratch.cap) * sizeof(float);
}

/* ----------------------------------------------------------------------------
 * Copying a panel's block of B: dst[k][0 .. NR) = B[k0 + k][j0 .. j0 + nj),
 * zeros past nj. */

static ALWAYS_INLINE void
pack_scalar(float *dst, int nr, const GemmPart *p, int j0, int nj, int k0, int kc)
{
	for (int k = 0; k < kc; k++)
		for (int j = 0; j < nr; j++)
		{
			long		at = p->io ? (k0 + k) * p->ldw + j0 + j : (j0 + j) * p->ldw + k0 + k;

			dst[(long) k * nr + j] = j < nj ? load1(p->w, at, p->dtype) : 0.0f;
		}
}

/* [in][out] weights: rows of B are rows of W, widened. */
static ALWAYS_INLINE void
pack_rows(float *dst, int nr, const GemmPart *p, int j0, int nj, int k0, int kc,
		  void (*widen) (const void *src, LmDType t, long count, float *dst))
{
	if (nj < nr)
	{
		pack_scalar(dst, nr, p, j0, nj, k0, kc);
		return;
	}
	for (int k = 0; k < kc; k++)
		widen(p->w, p->dtype, (k0 + k) * p->ldw + j0, dst + (long) k * nr);
}

/* ----------------------------------------------------------------------------
 * Plain C: NR 8, MR 4 */

#define C_NR 8
#define C_MR 4

static void
c_widen_at(const void *src, LmDType t, long at, float *dst)
{
	for (int j = 0; j < C_NR; j++)
		dst[j] = load1(src, at + j, t);
}

static void
c_tile(float *y, long ldy, const float *x, long ldx, const float *b, long ldb, int kc,
	   int nj, int mr, bool load_y, const float *bias)
{
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nj; j++)
		{
			float		acc = load_y ? y[i * ldy + j] : 0.0f;

			if (bias != NULL)
				acc += bias[j];
			for (int k = 0; k < kc; k++)
				acc = __builtin_fmaf(x[i * ldx + k], b[(long) k * ldb + j], acc);
			y[i * ldy + j] = acc;
		}
}

static void
c_pack(float *dst, const GemmPart *p, int j0, int nj, int k0, int kc)
{
	if (p->io)
		pack_rows(dst, C_NR, p, j0, nj, k0, kc, c_widen_at);
	else
		pack_scalar(dst, C_NR, p, j0, nj, k0, kc);
}

/* ----------------------------------------------------------------------------
 * AVX2: NR 16 (two registers), MR 6 */

#define AVX2_NR 16
#define AVX2_MR 6

static TARGET_AVX2 void
avx2_widen_at(const void *src, LmDType t, long at, float *dst)
{
	_mm256_storeu_ps(dst, avx2_load8(src, at, t));
	_mm256_storeu_ps(dst + 8, avx2_load8(src, at + 8, t));
}

/* 8 rows of 8 floats (r[i] = row i) transposed in place: r[i] = column i. */
static ALWAYS_INLINE TARGET_AVX2 void
avx2_transpose8(__m256 r[8])
{
	__m256		t[8],
				u[8];

	for (int i = 0; i < 4; i++)
	{
		t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
	}
	/* u[4h + m], lane l: column 4l + m of rows 4h .. 4h+3 */
	for (int h = 0; h < 2; h++)
	{
		u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
		u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
		u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
		u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
	}
	for (int m = 0; m < 4; m++)
	{
		r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
		r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
	}
}

static TARGET_AVX2 void
avx2_pack(float *dst, const GemmPart *p, int j0, int nj, int k0, int kc)
{
	int			k = 0;

	if (p->io)
	{
		pack_rows(dst, AVX2_NR, p, j0, nj, k0, kc, avx2_widen_at);
		return;
	}
	if (nj < AVX2_NR)
	{
		pack_scalar(dst, AVX2_NR, p, j0, nj, k0, kc);
		return;
	}
	/* [out][in]: 8 × 8 blocks of W transposed into the panel */
	for (; k + 8 <= kc; k += 8)
		for (int jb = 0; jb < AVX2_NR; jb += 8)
		{
			__m256		r[8];

			for (int i = 0; i < 8; i++)
				r[i] = avx2_load8(p->w, (j0 + jb + i) * p->ldw + k0 + k, p->dtype);
			avx2_transpose8(r);
			for (int i = 0; i < 8; i++)
				_mm256_storeu_ps(dst + (long) (k + i) * AVX2_NR + jb, r[i]);
		}
	if (k < kc)
		pack_scalar(dst + (long) k * AVX2_NR, AVX2_NR, p, j0, nj, k0 + k, kc - k);
}

/* Loads and stores of the first nj (< 8 for a partial register) of 8 floats. */
static ALWAYS_INLINE TARGET_AVX2 __m256i
avx2_mask(int nj)
{
	const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

	return _mm256_cmpgt_epi32(_mm256_set1_epi32(nj), lanes);
}

static ALWAYS_INLINE TARGET_AVX2 void
avx2_tile_rows(float *y, long ldy, const float *x, long ldx, const float *b, long ldb, int kc,
			   int nj, bool load_y, const float *bias, const int MR)
{
	const __m256i m0 = avx2_mask(nj),
				m1 = avx2_mask(nj - 8);
	const __m256 bias0 = bias != NULL ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps(),
				bias1 = bias != NULL ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();
	__m256		acc[AVX2_MR][2];

#pragma GCC unroll 6
	for (int i = 0; i < MR; i++)
	{
		acc[i][0] = load_y ? _mm256_maskload_ps(y + i * ldy, m0) : _mm256_setzero_ps();
		acc[i][1] = load_y ? _mm256_maskload_ps(y + i * ldy + 8, m1) : _mm256_setzero_ps();
		if (bias != NULL)
		{
			acc[i][0] = _mm256_add_ps(acc[i][0], bias0);
			acc[i][1] = _mm256_add_ps(acc[i][1], bias1);
		}
	}
	for (int k = 0; k < kc; k++)
	{
		const __m256 b0 = _mm256_maskload_ps(b + k * ldb, m0),
					b1 = _mm256_maskload_ps(b + k * ldb + 8, m1);

#pragma GCC unroll 6
		for (int i = 0; i < MR; i++)
		{
			const __m256 xi = _mm256_broadcast_ss(x + i * ldx + k);

			acc[i][0] = _mm256_fmadd_ps(b0, xi, acc[i][0]);
			acc[i][1] = _mm256_fmadd_ps(b1, xi, acc[i][1]);
		}
	}
#pragma GCC unroll 6
	for (int i = 0; i < MR; i++)
	{
		_mm256_maskstore_ps(y + i * ldy, m0, acc[i][0]);
		_mm256_maskstore_ps(y + i * ldy + 8, m1, acc[i][1]);
	}
}

static TARGET_AVX2 void
avx2_tile(float *y, long ldy, const float *x, long ldx, const float *b, long ldb, int kc,
		  int nj, int mr, bool load_y, const float *bias)
{
	switch (mr)
	{
		case 1: avx2_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 1); break;
		case 2: avx2_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 2); break;
		case 3: avx2_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 3); break;
		case 4: avx2_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 4); break;
		case 5: avx2_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 5); break;
		default: avx2_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 6); break;
	}
}

/* ----------------------------------------------------------------------------
 * AVX-512F: NR 32 (two registers), MR 12 */

#define AVX512_NR 32
#define AVX512_MR 12

static TARGET_AVX512 void
avx512_widen_at(const void *src, LmDType t, long at, float *dst)
{
	_mm512_storeu_ps(dst, avx512_load16(src, at, t));
	_mm512_storeu_ps(dst + 16, avx512_load16(src, at + 16, t));
}

static TARGET_AVX512 void
avx512_pack(float *dst, const GemmPart *p, int j0, int nj, int k0, int kc)
{
	int			k = 0;

	if (p->io)
	{
		pack_rows(dst, AVX512_NR, p, j0, nj, k0, kc, avx512_widen_at);
		return;
	}
	if (nj < AVX512_NR)
	{
		pack_scalar(dst, AVX512_NR, p, j0, nj, k0, kc);
		return;
	}
	/* [out][in]: 16 × 16 blocks of W transposed into the panel */
	for (; k + 16 <= kc; k += 16)
		for (int jb = 0; jb < AVX512_NR; jb += 16)
		{
			__m512		r[16];

			for (int i = 0; i < 16; i++)
				r[i] = avx512_load16(p->w, (j0 + jb + i) * p->ldw + k0 + k, p->dtype);
			avx512_transpose16(r);
			for (int i = 0; i < 16; i++)
				_mm512_storeu_ps(dst + (long) (k + i) * AVX512_NR + jb, r[i]);
		}
	if (k < kc)
		pack_scalar(dst + (long) k * AVX512_NR, AVX512_NR, p, j0, nj, k0 + k, kc - k);
}

static ALWAYS_INLINE TARGET_AVX512 void
avx512_tile_rows(float *y, long ldy, const float *x, long ldx, const float *b, long ldb, int kc,
				 int nj, bool load_y, const float *bias, const int MR)
{
	const __mmask16 m0 = nj >= 16 ? 0xFFFF : (__mmask16) ((1u << nj) - 1),
				m1 = nj >= 32 ? 0xFFFF : nj <= 16 ? 0 : (__mmask16) ((1u << (nj - 16)) - 1);
	const __m512 bias0 = bias != NULL ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps(),
				bias1 = bias != NULL ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
	__m512		acc[AVX512_MR][2];

#pragma GCC unroll 12
	for (int i = 0; i < MR; i++)
	{
		acc[i][0] = load_y ? _mm512_maskz_loadu_ps(m0, y + i * ldy) : _mm512_setzero_ps();
		acc[i][1] = load_y ? _mm512_maskz_loadu_ps(m1, y + i * ldy + 16) : _mm512_setzero_ps();
		if (bias != NULL)
		{
			acc[i][0] = _mm512_add_ps(acc[i][0], bias0);
			acc[i][1] = _mm512_add_ps(acc[i][1], bias1);
		}
	}
	for (int k = 0; k < kc; k++)
	{
		const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + k * ldb),
					b1 = _mm512_maskz_loadu_ps(m1, b + k * ldb + 16);

#pragma GCC unroll 12
		for (int i = 0; i < MR; i++)
		{
			const __m512 xi = _mm512_set1_ps(x[i * ldx + k]);

			acc[i][0] = _mm512_fmadd_ps(b0, xi, acc[i][0]);
			acc[i][1] = _mm512_fmadd_ps(b1, xi, acc[i][1]);
		}
	}
#pragma GCC unroll 12
	for (int i = 0; i < MR; i++)
	{
		_mm512_mask_storeu_ps(y + i * ldy, m0, acc[i][0]);
		_mm512_mask_storeu_ps(y + i * ldy + 16, m1, acc[i][1]);
	}
}

static TARGET_AVX512 void
avx512_tile(float *y, long ldy, const float *x, long ldx, const float *b, long ldb, int kc,
			int nj, int mr, bool load_y, const float *bias)
{
	switch (mr)
	{
		case 1: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 1); break;
		case 2: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 2); break;
		case 3: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 3); break;
		case 4: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 4); break;
		case 5: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 5); break;
		case 6: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 6); break;
		case 7: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 7); break;
		case 8: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 8); break;
		case 9: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 9); break;
		case 10: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 10); break;
		case 11: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 11); break;
		default: avx512_tile_rows(y, ldy, x, ldx, b, ldb, kc, nj, load_y, bias, 12); break;
	}
}

/*
 * [out][in] weights the other way round (AVX-512): the rows of x are what
 * gets copied, transposed, into panels of 32 (x is small and in cache,
 * where transposing W would read it from memory in 16 rows at a time),
 * and the rows of W are read in place, one broadcast element at a time.
 * A tile's sums are yᵀ: they are transposed in registers and added to y.
 */
#define NT_ROWS 32				/* rows of x in a panel */
#define NT_MR 12				/* rows of W (outputs) in a tile */

static ALWAYS_INLINE TARGET_AVX512 void
avx512_tile_nt_rows(float *y, long ldy, const float *w, long ldw, const float *xp, int kc,
					int ni, bool load_y, const float *bias, const int MR)
{
	__m512		acc[NT_MR][2];

#pragma GCC unroll 12
	for (int j = 0; j < MR; j++)
		acc[j][0] = acc[j][1] = _mm512_setzero_ps();
	for (int k = 0; k < kc; k++)
	{
		const __m512 b0 = _mm512_loadu_ps(xp + k * NT_ROWS),
					b1 = _mm512_loadu_ps(xp + k * NT_ROWS + 16);

#pragma GCC unroll 12
		for (int j = 0; j < MR; j++)
		{
			const __m512 wj = _mm512_set1_ps(w[j * ldw + k]);

			acc[j][0] = _mm512_fmadd_ps(b0, wj, acc[j][0]);
			acc[j][1] = _mm512_fmadd_ps(b1, wj, acc[j][1]);
		}
	}
	/* acc[j][h], lane l: the sum for row 16h + l of x and output j */
	for (int h = 0; h < 2 && 16 * h < ni; h++)
	{
		__m512		r[16];
		const __mmask16 outputs = (__mmask16) ((1u << MR) - 1);
		const __m512 b = bias != NULL ? _mm512_maskz_loadu_ps(outputs, bias) : _mm512_setzero_ps();

#pragma GCC unroll 16
		for (int j = 0; j < 16; j++)
			r[j] = j < MR ? acc[j][h] : _mm512_setzero_ps();
		avx512_transpose16(r);
		for (int l = 0; l < 16 && 16 * h + l < ni; l++)
		{
			float	   *yl = y + (16 * h + l) * ldy;

			__m512		start = load_y ? _mm512_maskz_loadu_ps(outputs, yl) : _mm512_setzero_ps();

			if (bias != NULL)
				start = _mm512_add_ps(start, b);
			_mm512_mask_storeu_ps(yl, outputs, _mm512_add_ps(start, r[l]));
		}
	}
}

static TARGET_AVX512 void
avx512_tile_nt(float *y, long ldy, const float *w, long ldw, const float *xp, int kc, int ni, int mr,
			   bool load_y, const float *bias)
{
	switch (mr)
	{
		case 1: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 1); break;
		case 2: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 2); break;
		case 3: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 3); break;
		case 4: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 4); break;
		case 5: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 5); break;
		case 6: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 6); break;
		case 7: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 7); break;
		case 8: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 8); break;
		case 9: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 9); break;
		case 10: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 10); break;
		case 11: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 11); break;
		default: avx512_tile_nt_rows(y, ldy, w, ldw, xp, kc, ni, load_y, bias, 12); break;
	}
}

/* dst[k][0 .. 32) = x[i][k0 + k] for i < ni, zeros past ni. */
static TARGET_AVX512 void
avx512_pack_x(float *dst, const float *x, long ldx, int ni, int k0, int kc)
{
	int			k = 0;

	if (ni == NT_ROWS)
		for (; k + 16 <= kc; k += 16)
			for (int ib = 0; ib < NT_ROWS; ib += 16)
			{
				__m512		r[16];

				for (int i = 0; i < 16; i++)
					r[i] = _mm512_loadu_ps(x + (ib + i) * ldx + k0 + k);
				avx512_transpose16(r);
				for (int i = 0; i < 16; i++)
					_mm512_storeu_ps(dst + (k + i) * NT_ROWS + ib, r[i]);
			}
	for (; k < kc; k++)
		for (int i = 0; i < NT_ROWS; i++)
			dst[k * NT_ROWS + i] = i < ni ? x[i * ldx + k0 + k] : 0.0f;
}

/*
 * y[n][j0 .. j0+nj) += x · Wᵀ for W [out][in], any dtype; false when there
 * is no memory for the copies (the caller takes the other way).  The whole
 * inner dimension at once: as many panels of x as make NT_BLOCK_BYTES (at
 * least one), and 16-bit rows of W widened NT_MR at a time, once per block
 * of panels.  The block is larger than the core's cache: the panels stream
 * from the shared cache fast enough, and widening 16-bit weights once for
 * a whole 512-token prompt instead of once per 128 rows made F16 prompts
 * 11-14% faster (GPT-2, a 0.5B Llama shape; float32 unchanged).
 */
#define NT_BLOCK_BYTES (8 * 1024 * 1024)

/* Rows m0 .. m0+rows of x into panels (in · NT_ROWS floats apart). */
static TARGET_AVX512 void
avx512_nt_pack(float *panels, const GemmPart *g, int m0, int rows)
{
	const size_t panel_floats = (size_t) g->in * NT_ROWS;

	for (int p = 0; p * NT_ROWS < rows; p++)
		avx512_pack_x(panels + p * panel_floats, g->x + (m0 + p * NT_ROWS) * g->ldx, g->ldx,
					  rows - p * NT_ROWS < NT_ROWS ? rows - p * NT_ROWS : NT_ROWS, 0, g->in);
}

/* Outputs j0 .. j0+nj of rows m0 .. m0+rows, whose panels are copied; widened: NT_MR rows of W. */
static TARGET_AVX512 void
avx512_nt_tiles(const GemmPart *g, const float *panels, int m0, int rows, int j0, int nj,
				float *widened)
{
	const int	in = g->in;
	const size_t panel_floats = (size_t) in * NT_ROWS;

	for (int j = j0; j < j0 + nj; j += NT_MR)
	{
		int			mr = j0 + nj - j < NT_MR ? j0 + nj - j : NT_MR;
		const float *wj = (const float *) g->w + j * g->ldw;
		long		ldw = g->ldw;

		if (g->dtype != LM_DTYPE_F32)
		{
			for (int r = 0; r < mr; r++)
				lm_widen((const char *) g->w + (size_t) (j + r) * g->ldw * lm_dtype_size(g->dtype),
						 g->dtype, in, widened + (long) r * in);
			wj = widened;
			ldw = in;
		}
		for (int p = 0; p * NT_ROWS < rows; p++)
			avx512_tile_nt(g->y + (m0 + p * NT_ROWS) * g->ldy + j, g->ldy, wj, ldw,
						   panels + p * panel_floats, in,
						   rows - p * NT_ROWS < NT_ROWS ? rows - p * NT_ROWS : NT_ROWS, mr,
						   g->accumulate, g->bias != NULL ? g->bias + j : NULL);
	}
}

/*
 * Several products of the same rows (count parts, all of one shape of x):
 * each block of rows is copied once for all of them (Q, K and V).
 */
static TARGET_AVX512 bool
avx512_gemm_nt_many(const GemmPart *parts, int count, int j0, int nj)
{
	const GemmPart *g = &parts[0];
	const int	in = g->in,
				n = g->n;
	const size_t panel_floats = (size_t) in * NT_ROWS;
	int			per_block = (int) (NT_BLOCK_BYTES / (panel_floats * sizeof(float)));
	float	   *panels,
			   *widened;

	if (per_block < 1)
		per_block = 1;
	if (per_block > (n + NT_ROWS - 1) / NT_ROWS)
		per_block = (n + NT_ROWS - 1) / NT_ROWS;
	panels = lm_thread_scratch(&nt_scratch, per_block * panel_floats + (size_t) NT_MR * in);
	if (panels == NULL)
		return false;
	widened = panels + per_block * panel_floats;
	for (int m0 = 0; m0 < n; m0 += per_block * NT_ROWS)
	{
		int			rows = n - m0 < per_block * NT_ROWS ? n - m0 : per_block * NT_ROWS;

		avx512_nt_pack(panels, g, m0, rows);
		for (int i = 0; i < count; i++)
			avx512_nt_tiles(&parts[i], panels, m0, rows, j0, nj < 0 ? parts[i].out : nj, widened);
	}
	return true;
}

static TARGET_AVX512 bool
avx512_gemm_nt(const GemmPart *g, int j0, int nj)
{
	return avx512_gemm_nt_many(g, 1, j0, nj);
}

/* ----------------------------------------------------------------------------
 * Choosing, and the loops around the tiles */

typedef struct GemmKernels
{
	int			nr;
	int			mr;
	/* [out][in] weights by their own loops, or NULL: those of the other layout */
	bool		(*gemm_nt) (const GemmPart *p, int j0, int nj);
	/* several products of the same rows, copied once (nj < 0: all outputs); false when no memory */
	bool		(*gemm_nt_many) (const GemmPart *parts, int count, int j0, int nj);
	/* dst[0 .. nr) = the nr elements of w at `at`, widened */
	void		(*widen_at) (const void *src, LmDType t, long at, float *dst);
	void		(*pack) (float *dst, const GemmPart *p, int j0, int nj, int k0, int kc);
	/* y's tile starts from y (load_y) or 0, plus bias if not NULL */
	void		(*tile) (float *y, long ldy, const float *x, long ldx, const float *b, long ldb,
						 int kc, int nj, int mr, bool load_y, const float *bias);
} GemmKernels;

/* Indexed by LmSimd. */
static const GemmKernels gemm_kernels[] = {
	{C_NR, C_MR, NULL, NULL, c_widen_at, c_pack, c_tile},
	{AVX2_NR, AVX2_MR, NULL, NULL, avx2_widen_at, avx2_pack, avx2_tile},
	{AVX512_NR, AVX512_MR, avx512_gemm_nt, avx512_gemm_nt_many, avx512_widen_at, avx512_pack, avx512_tile},
};

static const GemmKernels *
gemm_current(void)
{
	return &gemm_kernels[lm_simd_current()];
}

/*
 * [in][out] weights read from memory: KC whole rows (up to IO_COLUMNS
 * columns) are copied into panels reading each row in order (a panel at a
 * time would read 128 bytes of every row, which memory serves several
 * times slower), then multiplied panel by panel from the cache.  False
 * when there is no memory for the copy.
 */
#define IO_COLUMNS 4096			/* [KC][IO_COLUMNS] floats at most: 4 MB */

static bool
gemm_io_packed(const GemmPart *p, int j0, int nj)
{
	const GemmKernels *g = gemm_current();
	const int	nr = g->nr;
	const int	widest = nj < IO_COLUMNS ? nj : IO_COLUMNS;
	float	   *buf = lm_thread_scratch(&io_scratch, (size_t) KC * ((widest + nr - 1) / nr * nr));

	if (buf == NULL)
		return false;
	for (int jb = j0; jb < j0 + nj; jb += IO_COLUMNS)
	{
		int			nc = j0 + nj - jb < IO_COLUMNS ? j0 + nj - jb : IO_COLUMNS;
		int			panels = (nc + nr - 1) / nr;

		for (int k0 = 0; k0 < p->in; k0 += KC)
		{
			int			kc = p->in - k0 < KC ? p->in - k0 : KC;

			for (int k = 0; k < kc; k++)
				for (int q = 0; q < panels; q++)
				{
					int			cols = nc - q * nr < nr ? nc - q * nr : nr;
					float	   *dst = buf + (size_t) q * KC * nr + (size_t) k * nr;
					long		at = (k0 + k) * p->ldw + jb + q * nr;

					if (cols == nr)
						g->widen_at(p->w, p->dtype, at, dst);
					else
						for (int c = 0; c < nr; c++)
							dst[c] = c < cols ? load1(p->w, at + c, p->dtype) : 0.0f;
				}
			for (int m0 = 0; m0 < p->n; m0 += MC)
			{
				int			rows = p->n - m0 < MC ? p->n - m0 : MC;

				for (int q = 0; q < panels; q++)
				{
					int			j = jb + q * nr;
					int			cols = nc - q * nr < nr ? nc - q * nr : nr;

					for (int i = m0; i < m0 + rows; i += g->mr)
						g->tile(p->y + i * p->ldy + j, p->ldy, p->x + i * p->ldx + k0, p->ldx,
								buf + (size_t) q * KC * nr, nr, kc, cols,
								m0 + rows - i < g->mr ? m0 + rows - i : g->mr,
								k0 > 0 || p->accumulate, k0 == 0 && p->bias != NULL ? p->bias + j : NULL);
				}
			}
		}
	}
	return true;
}

/*
 * Outputs j0 .. j0+nj (j0 a multiple of the panel width) for every row.
 * big: weights come from memory, and may take gemm_nt's or
 * gemm_io_packed's way; otherwise (attention's operands, in cache) a panel
 * at a time.
 */
static void
gemm_part(const GemmPart *p, int j0, int nj, bool big)
{
	const GemmKernels *g = gemm_current();
	const bool	in_place = p->io && p->dtype == LM_DTYPE_F32;
	float		panel[KC * MAX_NR];

	if (big && !p->io && g->gemm_nt != NULL && g->gemm_nt(p, j0, nj))
		return;
	if (big && p->io && gemm_io_packed(p, j0, nj))
		return;
	for (int j = j0; j < j0 + nj; j += g->nr)
	{
		int			cols = j0 + nj - j < g->nr ? j0 + nj - j : g->nr;

		for (int m0 = 0; m0 < p->n; m0 += MC)
		{
			int			rows = p->n - m0 < MC ? p->n - m0 : MC;

			for (int k0 = 0; k0 < p->in; k0 += KC)
			{
				int			kc = p->in - k0 < KC ? p->in - k0 : KC;
				const float *b;
				long		ldb;

				if (in_place)
				{
					b = (const float *) p->w + k0 * p->ldw + j;
					ldb = p->ldw;
				}
				else
				{
					g->pack(panel, p, j, cols, k0, kc);
					b = panel;
					ldb = g->nr;
				}
				/* the first block starts from y or 0, and the bias; the next ones from y */
				for (int i = m0; i < m0 + rows; i += g->mr)
					g->tile(p->y + i * p->ldy + j, p->ldy, p->x + i * p->ldx + k0, p->ldx,
							b, ldb, kc, cols, m0 + rows - i < g->mr ? m0 + rows - i : g->mr,
							k0 > 0 || p->accumulate, k0 == 0 && p->bias != NULL ? p->bias + j : NULL);
			}
		}
	}
}

void
lm_gemm_strided(float *y, long ldy, const float *x, long ldx, int n,
				const float *w, long ldw, int w_rows, int w_cols, bool io)
{
	GemmPart	p = {y, ldy, x, ldx, n, w, LM_DTYPE_F32, ldw, io,
	io ? w_rows : w_cols, io ? w_cols : w_rows, NULL, false};

	gemm_part(&p, 0, p.out, false);
}

void
lm_gemm_block(float *y, long ldy, const float *x, int n, const LmMatrix *w)
{
	GemmPart	p = {y, ldy, x, w->cols, n, w->data, LM_DTYPE_F32, w->cols, false, w->cols, w->rows, NULL, true};

	gemm_part(&p, 0, p.out, true);
}

/* ----------------------------------------------------------------------------
 * Threads: each takes whole panels of rows of x (where the rows are what is
 * copied: [out][in] weights on AVX-512, enough rows) or of outputs. */

/* Fewer multiply-adds than this are done on the calling thread alone (same bits). */
#define PARALLEL_MIN_FLOPS (1L << 21)
/* [out][in] weights on AVX-512: threads split the rows of x from this many rows a thread. */
#define ROWS_PER_THREAD 64
/* Jobs per thread, small enough that the threads finish together. */
#define JOBS_PER_THREAD 8

/*
 * Jobs of gemm_threads: whole panels of rows of x, each for all of `parts`
 * (products of the same rows), or whole tiles of the outputs of parts[0].
 */
typedef struct GemmJobs
{
	const GemmPart *parts;
	int			n_parts;
	bool		by_rows;
	int			count;			/* rows or outputs */
	int			per_job;		/* a multiple of the panel width */
} GemmJobs;

/* All of several products of the same rows: the rows copied once where gemm_nt_many can. */
static void
gemm_rows(const GemmPart *parts, int n_parts)
{
	if (n_parts > 1 && gemm_current()->gemm_nt_many(parts, n_parts, 0, -1))
		return;
	for (int i = 0; i < n_parts; i++)
		gemm_part(&parts[i], 0, parts[i].out, true);
}

static void
gemm_job(void *arg, int job)
{
	const GemmJobs *g = arg;
	int			first = job * g->per_job;
	int			count = g->count - first < g->per_job ? g->count - first : g->per_job;
	GemmPart	rows[LM_GEMM_MANY_MAX];

	if (!g->by_rows)
	{
		gemm_part(&g->parts[0], first, count, true);
		return;
	}
	for (int i = 0; i < g->n_parts; i++)
	{
		rows[i] = g->parts[i];
		rows[i].y += first * rows[i].ldy;
		rows[i].x += first * rows[i].ldx;
		rows[i].n = count;
	}
	gemm_rows(rows, g->n_parts);
}

/* parts (1 to LM_GEMM_MANY_MAX products of the same rows; several only for gemm_nt_many) on the threads. */
static void
gemm_threads(const GemmPart *parts, int n_parts)
{
	const GemmKernels *k = gemm_current();
	const GemmPart *p = &parts[0];
	int			threads = lm_parallel_threads();
	GemmJobs	g = {parts, n_parts, false, p->out, 0};
	int			width = k->nr;
	int			units,
				jobs;

	if ((long) p->n * p->in * p->out < PARALLEL_MIN_FLOPS || threads <= 1)
	{
		gemm_rows(parts, n_parts);
		return;
	}
	if (!p->io && k->gemm_nt != NULL)
	{
		/*
		 * Rows when there are many (each thread then copies only its own);
		 * else whole tiles of outputs, so that each thread reads only its
		 * part of W.
		 */
		if (p->n >= ROWS_PER_THREAD * threads)
		{
			g.by_rows = true;
			g.count = p->n;
			width = NT_ROWS;
		}
		else
			width = 4 * NT_MR;
	}
	if (!g.by_rows && n_parts > 1)
	{
		for (int i = 0; i < n_parts; i++)
			gemm_threads(&parts[i], 1);
		return;
	}
	units = (g.count + width - 1) / width;
	jobs = threads * JOBS_PER_THREAD < units ? threads * JOBS_PER_THREAD : units;
	/* each row job reads all of W: no more of them than ROWS_PER_THREAD rows each */
	if (g.by_rows && jobs > g.count / ROWS_PER_THREAD)
		jobs = g.count / ROWS_PER_THREAD;
	g.per_job = (units + jobs - 1) / jobs * width;
	lm_parallel_run((g.count + g.per_job - 1) / g.per_job, gemm_job, &g);
}

void
lm_gemm(float *y, const float *x, int n, const LmMatrix *w, bool io, const float *bias,
		bool accumulate)
{
	int			in = io ? w->rows : w->cols,
				out = io ? w->cols : w->rows;
	GemmPart	p = {y, out, x, in, n, w->data, w->dtype, w->cols, io, in, out, bias, accumulate};

	gemm_threads(&p, 1);
}

void
lm_gemm_many(const LmGemmOut *outs, int count, const float *x, int n)
{
	GemmPart	parts[LM_GEMM_MANY_MAX];
	bool		together = gemm_current()->gemm_nt_many != NULL && count <= LM_GEMM_MANY_MAX;

	for (int i = 0; together && i < count; i++)
	{
		const LmMatrix *w = outs[i].w;

		parts[i] = (GemmPart) {outs[i].y, w->rows, x, w->cols, n, w->data, w->dtype, w->cols,
			false, w->cols, w->rows, outs[i].bias, false};
		together = w->cols == outs[0].w->cols;
	}
	if (together)
		gemm_threads(parts, count);
	else
		for (int i = 0; i < count; i++)
			lm_gemm(outs[i].y, x, n, outs[i].w, false, outs[i].bias, false);
}
