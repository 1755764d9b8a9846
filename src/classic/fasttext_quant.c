/*
 * fasttext_quant.c — fastText matrices: dense rows and product-quantized
 * rows (QuantMatrix), read from the file and used one row at a time.
 *
 * A quantized row is nsubq one-byte codes; code m picks one of 256
 * centroids of sub-quantizer m, each dsub wide (the last one lastdsub
 * wide).  With norm quantization the row is scaled by a 1-d centroid
 * picked by the row's norm code.
 */
#include "classic/fasttext_internal.h"

#include <stdlib.h>

static int
read_product_quantizer(ByteReader *r, FtProductQuantizer *pq, const char *what,
					   LmError *err)
{
	size_t		n_centroids;

	if (byte_reader_i32(r, &pq->dim, what, err) < 0 ||
		byte_reader_i32(r, &pq->nsubq, what, err) < 0 ||
		byte_reader_i32(r, &pq->dsub, what, err) < 0 ||
		byte_reader_i32(r, &pq->lastdsub, what, err) < 0)
		return -1;
	if (pq->dim < 1 || pq->dim > LM_FASTTEXT_MAX_DIM ||
		pq->dsub < 1 || pq->dsub > pq->dim ||
		pq->nsubq < 1 || pq->nsubq > pq->dim ||
		pq->lastdsub < 1 || pq->lastdsub > pq->dsub ||
		(int64_t) (pq->nsubq - 1) * pq->dsub + pq->lastdsub != pq->dim)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "%s has inconsistent sizes at offset %zu (dim %d, %d sub-quantizers of %d, last %d)",
					   what, r->pos, pq->dim, pq->nsubq, pq->dsub, pq->lastdsub);
	n_centroids = (size_t) pq->dim * FT_PQ_KSUB;
	pq->centroids = lm_malloc(n_centroids * sizeof(float), err);
	if (pq->centroids == NULL)
		return -1;
	return byte_reader_floats(r, pq->centroids, n_centroids, what, err);
}

/* Centroid i of sub-quantizer m (productquantizer.cc's get_centroids). */
static inline const float *
pq_centroid(const FtProductQuantizer *pq, int32_t m, uint8_t i)
{
	if (m == pq->nsubq - 1)
		return pq->centroids + (size_t) m * FT_PQ_KSUB * pq->dsub + (size_t) i * pq->lastdsub;
	return pq->centroids + ((size_t) m * FT_PQ_KSUB + i) * pq->dsub;
}

int
ft_quant_matrix_read(ByteReader *r, FtMatrix *m, LmError *err)
{
	uint8_t		qnorm;
	int32_t		codesize;
	const uint8_t *bytes;

	m->quantized = true;
	if (byte_reader_u8(r, &qnorm, "quantized matrix flag", err) < 0 ||
		byte_reader_i64(r, &m->rows, "quantized matrix rows", err) < 0 ||
		byte_reader_i64(r, &m->cols, "quantized matrix columns", err) < 0 ||
		byte_reader_i32(r, &codesize, "quantized matrix code size", err) < 0)
		return -1;
	m->qnorm = qnorm != 0;
	if (m->rows < 0 || m->cols < 1 || m->cols > LM_FASTTEXT_MAX_DIM || codesize < 0)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "quantized matrix has invalid sizes (%lld x %lld, %d codes)",
					   (long long) m->rows, (long long) m->cols, codesize);
	if (byte_reader_bytes(r, &bytes, (size_t) codesize, "quantized matrix codes", err) < 0)
		return -1;
	if (read_product_quantizer(r, &m->pq, "product quantizer", err) < 0)
		return -1;
	if (m->pq.dim != m->cols)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "product quantizer is %d wide but the matrix has %lld columns",
					   m->pq.dim, (long long) m->cols);
	if (m->rows > codesize / m->pq.nsubq)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "quantized matrix of %lld rows needs %d codes a row, the file has %d codes",
					   (long long) m->rows, m->pq.nsubq, codesize);
	m->codes = lm_malloc((size_t) codesize, err);
	if (m->codes == NULL)
		return -1;
	memcpy(m->codes, bytes, (size_t) codesize);
	if (m->qnorm)
	{
		if (byte_reader_bytes(r, &bytes, (size_t) m->rows, "norm codes", err) < 0)
			return -1;
		m->norm_codes = lm_malloc((size_t) m->rows, err);
		if (m->norm_codes == NULL)
			return -1;
		memcpy(m->norm_codes, bytes, (size_t) m->rows);
		if (read_product_quantizer(r, &m->npq, "norm quantizer", err) < 0)
			return -1;
		if (m->npq.dim != 1)
			return lm_fail(err, LM_ERR_CORRUPT, "norm quantizer must be 1 wide, not %d",
						   m->npq.dim);
	}
	return 0;
}

static inline float
row_norm(const FtMatrix *m, int64_t row)
{
	if (!m->qnorm)
		return 1.0f;
	return pq_centroid(&m->npq, 0, m->norm_codes[row])[0];
}

/* x += row (x has cols floats); row must be in range. */
void
ft_matrix_add_row(const FtMatrix *m, int64_t row, float *x)
{
	if (!m->quantized)
	{
		const float *v = m->dense + (size_t) row * m->cols;

		for (int64_t j = 0; j < m->cols; j++)
			x[j] += v[j];
		return;
	}
	{
		const FtProductQuantizer *pq = &m->pq;
		const uint8_t *code = m->codes + (size_t) row * pq->nsubq;
		float		alpha = row_norm(m, row);

		for (int32_t s = 0; s < pq->nsubq; s++)
		{
			const float *c = pq_centroid(pq, s, code[s]);
			int32_t		d = (s == pq->nsubq - 1) ? pq->lastdsub : pq->dsub;
			float	   *xs = x + (size_t) s * pq->dsub;

			for (int32_t j = 0; j < d; j++)
				xs[j] += alpha * c[j];
		}
	}
}

/* Dot product of row with x, accumulated in float as fastText does. */
float
ft_matrix_dot_row(const FtMatrix *m, int64_t row, const float *x)
{
	float		res = 0.0f;

	if (!m->quantized)
	{
		const float *v = m->dense + (size_t) row * m->cols;

		for (int64_t j = 0; j < m->cols; j++)
			res += v[j] * x[j];
		return res;
	}
	{
		const FtProductQuantizer *pq = &m->pq;
		const uint8_t *code = m->codes + (size_t) row * pq->nsubq;

		for (int32_t s = 0; s < pq->nsubq; s++)
		{
			const float *c = pq_centroid(pq, s, code[s]);
			int32_t		d = (s == pq->nsubq - 1) ? pq->lastdsub : pq->dsub;
			const float *xs = x + (size_t) s * pq->dsub;

			for (int32_t j = 0; j < d; j++)
				res += xs[j] * c[j];
		}
		return res * row_norm(m, row);
	}
}

void
ft_matrix_free(FtMatrix *m)
{
	free(m->dense);
	free(m->codes);
	free(m->pq.centroids);
	free(m->norm_codes);
	free(m->npq.centroids);
	memset(m, 0, sizeof(*m));
}
