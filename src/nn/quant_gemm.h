/*
 * quant_gemm.h — the integer products of prompts with quantized weights
 * (quant_gemm_avx512.c, driven by quant_matmul.c).  Internal to src/nn.
 *
 * Weights go in tiles of QGEMM_ROWS rows, activations in chunks of
 * QGEMM_ACTS rows, each rearranged once; lm_qgemm_tile_chunk multiplies a
 * tile with a chunk.  The forms are lm_quant_form's (quant_blocks.h).
 */
#ifndef LM_NN_QUANT_GEMM_H
#define LM_NN_QUANT_GEMM_H

#include <stddef.h>

#include "nn/quant_blocks.h"

#define QGEMM_ROWS 16			/* rows of weights in a tile: one register of outputs */
#define QGEMM_ACTS 8			/* rows of activations in a chunk */

/* rows (≤ QGEMM_ACTS) rows of quantized activations, xq_row bytes apart, into a chunk. */
size_t		lm_qgemm_chunk_bytes(const QuantForm *f, int cols);
size_t		lm_qgemm_chunk_scratch_bytes(int cols);
void		lm_qgemm_pack_chunk(LmDType dtype, const QuantForm *f, const void *xq, size_t xq_row, int rows,
								int cols, void *chunk, void *scratch);

/* rows (≤ QGEMM_ROWS) rows of quantized weights, w_row bytes apart, into a tile (AVX-512). */
size_t		lm_qgemm_tile_bytes(const QuantForm *f, int cols);
size_t		lm_qgemm_tile_scratch_bytes(const QuantForm *f, int cols);
void		lm_qgemm_pack_tile(LmDType dtype, const QuantForm *f, const void *w, size_t w_row, int rows,
							   int cols, void *tile, void *scratch);

/*
 * y[a][0 .. rows) += the products of the tile's rows with the chunk's rows
 * a < acts (y's rows ldy floats apart); AVX-512 VNNI.
 */
void		lm_qgemm_tile_chunk(const QuantForm *f, const void *tile, const void *chunk, int cols, float *y,
								long ldy, int acts, int rows);

#endif
