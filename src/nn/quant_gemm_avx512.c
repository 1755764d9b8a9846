/*
 * quant_gemm_avx512.c — products of many rows of activations (a prompt)
 * with quantized weights, in integers, with AVX-512 VNNI.
 *
 * The weights are taken a tile of 16 rows at a time and rewritten as
 * unsigned bytes (lm_quant_unsigned_row: value = scale·(u − zero) +
 * offset), four consecutive elements of each row side by side, so that one
 * register holds the same four elements of the 16 rows; the activations,
 * 8 rows at a time, are interleaved the same way.  One vpdpbusd then adds
 * four products for each of the 16 rows of one row of activations, its
 * four bytes broadcast: the sums of a sub-block for 16 outputs in one
 * register, with no horizontal sums.  Each sub-block's integer sum is
 * scaled as llama.cpp scales it (the zero taken off in integers, the
 * weights' and the activations' scales, the offsets times the activations'
 * sums), so the result is lm_quant_matmul's up to the order of float
 * additions.  Every output is computed in its own lane in the same order
 * whatever the tiling or the threads.
 */
#include <immintrin.h>
#include <string.h>

#include "nn/quant_blocks.h"
#include "nn/quant_gemm.h"
#include "nn/simd.h"

#define TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/* ---- layouts ------------------------------------------------------------------ */

/*
 * A chunk of QGEMM_ACTS rows of activations: q [cols/4][ACTS][4] bytes,
 * then per group d [ACTS] floats, per sub-block zero·Σq [ACTS] (int32,
 * forms with a zero) and the sums the offsets multiply [ACTS] (floats,
 * forms with offsets).
 */
typedef struct ChunkParts
{
	int8_t	   *q;
	float	   *d;
	int32_t    *zero_sums;
	float	   *offset_sums;
} ChunkParts;

static ChunkParts
chunk_parts(const QuantForm *f, void *chunk, int cols)
{
	ChunkParts	p;
	char	   *at = chunk;

	p.q = (int8_t *) at;
	at += (size_t) cols * QGEMM_ACTS;
	p.d = (float *) at;
	at += sizeof(float) * QGEMM_ACTS * (cols / f->group);
	p.zero_sums = (int32_t *) at;
	at += f->zero ? sizeof(int32_t) * QGEMM_ACTS * (cols / f->sub) : 0;
	p.offset_sums = (float *) at;
	return p;
}

size_t
lm_qgemm_chunk_bytes(const QuantForm *f, int cols)
{
	size_t		bytes = (size_t) cols * QGEMM_ACTS + sizeof(float) * QGEMM_ACTS * (cols / f->group);

	if (f->zero)
		bytes += sizeof(int32_t) * QGEMM_ACTS * (cols / f->sub);
	if (f->offset)
		bytes += sizeof(float) * QGEMM_ACTS * (cols / f->sub);
	return (bytes + 63) & ~(size_t) 63;
}

void
lm_qgemm_pack_chunk(LmDType dtype, const QuantForm *f, const void *xq, size_t xq_row, int rows, int cols,
					void *chunk, void *scratch)
{
	ChunkParts	p = chunk_parts(f, chunk, cols);
	int			subs = cols / f->sub,
				groups = cols / f->group;
	int8_t	   *q = scratch;
	float	   *d = (float *) (q + cols);
	int32_t    *sums = (int32_t *) (d + groups);
	float	   *carried = (float *) (sums + subs);

	memset(chunk, 0, lm_qgemm_chunk_bytes(f, cols));
	for (int a = 0; a < rows; a++)
	{
		lm_quant_act_parts(dtype, (const char *) xq + a * xq_row, cols, q, d, sums, carried);
		for (int k = 0; k < cols; k += 4)
			memcpy(p.q + (size_t) k * QGEMM_ACTS + 4 * a, q + k, 4);
		for (int g = 0; g < groups; g++)
			p.d[g * QGEMM_ACTS + a] = d[g];
		for (int s = 0; s < subs; s++)
		{
			if (f->zero)
				p.zero_sums[s * QGEMM_ACTS + a] = f->zero * sums[s];
			if (f->offset)
				p.offset_sums[s * QGEMM_ACTS + a] = f->group == f->sub ? carried[s] : (float) sums[s];
		}
	}
}

size_t
lm_qgemm_chunk_scratch_bytes(int cols)
{
	return (size_t) cols + 4 * sizeof(float) * (cols / 16 + 1);
}

/*
 * A tile of QGEMM_ROWS rows of weights: u [cols/4][ROWS][4] bytes (cols
 * rounded up to 64: they are rearranged 64 at a time), then per sub-block
 * the scales [ROWS] and (forms with offsets) the offsets [ROWS].
 */
static size_t
tile_u_bytes(int cols)
{
	return (size_t) ((cols + 63) & ~63) * QGEMM_ROWS;
}

size_t
lm_qgemm_tile_bytes(const QuantForm *f, int cols)
{
	return tile_u_bytes(cols) + sizeof(float) * QGEMM_ROWS * (cols / f->sub) * (f->offset ? 2 : 1);
}

size_t
lm_qgemm_tile_scratch_bytes(const QuantForm *f, int cols)
{
	return tile_u_bytes(cols) + 2 * sizeof(float) * (cols / f->sub);
}

TARGET_VNNI void
lm_qgemm_pack_tile(LmDType dtype, const QuantForm *f, const void *w, size_t w_row, int rows, int cols,
				   void *tile, void *scratch)
{
	const int	stride = (cols + 63) & ~63;
	uint8_t    *u = tile;
	float	   *scales = (float *) (u + tile_u_bytes(cols));
	float	   *offsets = scales + QGEMM_ROWS * (cols / f->sub);
	uint8_t    *row_u = scratch;
	float	   *row_scale = (float *) (row_u + tile_u_bytes(cols));
	float	   *row_offset = row_scale + cols / f->sub;
	int			subs = cols / f->sub;

	for (int r = 0; r < QGEMM_ROWS; r++)
	{
		memset(row_u + (size_t) r * stride + cols, 0, stride - cols);
		if (r < rows)
			lm_quant_unsigned_row((const char *) w + r * w_row, dtype, cols, row_u + (size_t) r * stride,
								  row_scale, row_offset);
		else
		{
			memset(row_u + (size_t) r * stride, 0, cols);
			memset(row_scale, 0, sizeof(float) * subs);
			memset(row_offset, 0, sizeof(float) * subs);
		}
		for (int s = 0; s < subs; s++)
		{
			scales[s * QGEMM_ROWS + r] = row_scale[s];
			if (f->offset)
				offsets[s * QGEMM_ROWS + r] = row_offset[s];
		}
	}
	/* 64 elements of the 16 rows at a time: 16 words of 4 bytes each, transposed */
	for (int k = 0; k < cols; k += 64)
	{
		__m512		r[16];

		for (int i = 0; i < 16; i++)
			r[i] = _mm512_castsi512_ps(_mm512_loadu_si512(row_u + (size_t) i * stride + k));
		avx512_transpose16(r);
		for (int i = 0; i < 16; i++)
			_mm512_storeu_si512(u + (size_t) (k / 4 + i) * 64, _mm512_castps_si512(r[i]));
	}
}

/* ---- the kernel -------------------------------------------------------------- */

static ALWAYS_INLINE int32_t
load32(const int8_t *p)
{
	int32_t		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * y[a][0 .. 16) += the tile's 16 outputs for the chunk's rows a < acts
 * (lanes past `rows` not stored).  sub, group, zero and offset are the
 * form's, constants where this is inlined.
 */
static ALWAYS_INLINE TARGET_VNNI void
tile_chunk(const uint8_t *tile, const ChunkParts *c, int cols, float *y, long ldy, int acts, int rows,
		   const int sub, const int group, const bool zero, const bool offset)
{
	const uint8_t *u = tile;
	const float *scales = (const float *) (u + tile_u_bytes(cols));
	const float *offsets = scales + QGEMM_ROWS * (cols / sub);
	const int	subs_per_group = group / sub;
	const __mmask16 lanes = (__mmask16) ((1u << rows) - 1);
	__m512		acc[QGEMM_ACTS],
				part[QGEMM_ACTS];

	_Pragma("GCC unroll 8")
	for (int a = 0; a < QGEMM_ACTS; a++)
		acc[a] = part[a] = _mm512_setzero_ps();
	for (int g = 0; g < cols / group; g++)
	{
		for (int s = 0; s < subs_per_group; s++)
		{
			const int	sb = g * subs_per_group + s;
			__m512i		sums[QGEMM_ACTS];
			__m512		scale,
						off = _mm512_setzero_ps();

			_Pragma("GCC unroll 8")
			for (int a = 0; a < QGEMM_ACTS; a++)
				sums[a] = _mm512_setzero_si512();
			_Pragma("GCC unroll 8")
			for (int k4 = 0; k4 < sub / 4; k4++)
			{
				const int	at = sb * (sub / 4) + k4;
				const __m512i wv = _mm512_loadu_si512(u + (size_t) at * 64);
				const int8_t *q = c->q + (size_t) at * 4 * QGEMM_ACTS;

				_Pragma("GCC unroll 8")
				for (int a = 0; a < QGEMM_ACTS; a++)
					sums[a] = _mm512_dpbusd_epi32(sums[a], wv, _mm512_set1_epi32(load32(q + 4 * a)));
			}
			scale = _mm512_loadu_ps(scales + sb * QGEMM_ROWS);
			if (offset)
				off = _mm512_loadu_ps(offsets + sb * QGEMM_ROWS);
			_Pragma("GCC unroll 8")
			for (int a = 0; a < QGEMM_ACTS; a++)
			{
				__m512i		v = sums[a];

				if (zero)
					v = _mm512_sub_epi32(v, _mm512_set1_epi32(c->zero_sums[sb * QGEMM_ACTS + a]));
				if (group == sub)
				{
					/* llama.cpp: (d_w·d_a)·Σ, plus m·s */
					acc[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v),
											 _mm512_mul_ps(scale, _mm512_set1_ps(c->d[g * QGEMM_ACTS + a])), acc[a]);
					if (offset)
						acc[a] = _mm512_fmadd_ps(off, _mm512_set1_ps(c->offset_sums[sb * QGEMM_ACTS + a]), acc[a]);
				}
				else
				{
					part[a] = s == 0 ? _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale)
						: _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), scale, part[a]);
					if (offset)
						part[a] = _mm512_fmadd_ps(off, _mm512_set1_ps(c->offset_sums[sb * QGEMM_ACTS + a]), part[a]);
				}
			}
		}
		if (group != sub)
		{
			_Pragma("GCC unroll 8")
			for (int a = 0; a < QGEMM_ACTS; a++)
				acc[a] = _mm512_fmadd_ps(part[a], _mm512_set1_ps(c->d[g * QGEMM_ACTS + a]), acc[a]);
		}
	}
	for (int a = 0; a < acts; a++)
	{
		float	   *ya = y + a * ldy;

		_mm512_mask_storeu_ps(ya, lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, ya), acc[a]));
	}
}

TARGET_VNNI void
lm_qgemm_tile_chunk(const QuantForm *f, const void *tile, const void *chunk, int cols, float *y, long ldy,
					int acts, int rows)
{
	ChunkParts	c = chunk_parts(f, (void *) chunk, cols);

	if (f->group == f->sub && f->zero)
		tile_chunk(tile, &c, cols, y, ldy, acts, rows, 32, 32, true, false);
	else if (f->group == f->sub)
		tile_chunk(tile, &c, cols, y, ldy, acts, rows, 32, 32, false, true);
	else if (f->sub == 32)
		tile_chunk(tile, &c, cols, y, ldy, acts, rows, 32, QK_K, false, true);
	else
		tile_chunk(tile, &c, cols, y, ldy, acts, rows, 16, QK_K, true, false);
}
