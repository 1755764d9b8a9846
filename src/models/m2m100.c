/*
 * m2m100.c — M2M100ForConditionalGeneration, the architecture of M2M100
 * and NLLB: a pre-norm fairseq transformer (bart.c) with final layer norms,
 * embeddings scaled by sqrt(d_model), and fairseq's sinusoidal positions,
 * which start at padding_idx + 1 and give padding tokens a zero row.
 *
 * The position table is computed in double precision from the config,
 * never taken from a buffer stored in the weights' dtype.
 */
#include "models/bart.h"

#include "models/config.h"

#include <math.h>
#include <stdlib.h>

/* log(10000): the sinusoids' wavelengths run from 2π to 10000 · 2π. */
#define SINUSOID_LOG_BASE 9.210340371976184

/*
 * fairseq's table: row r = [sin(r·ω_0) .. sin(r·ω_{h-1}), cos(r·ω_0) ..
 * cos(r·ω_{h-1})] with h = dim/2 and ω_i = exp(-i · log(10000) / (h - 1)),
 * a zero column when dim is odd, and a zero row at padding_idx.
 */
static float *
fairseq_sinusoids(int rows, int dim, int padding_idx, LmError *err)
{
	int			half = dim / 2;
	float	   *table;

	if (half < 2)
	{
		lm_fail(err, LM_ERR_CORRUPT, "d_model %d is too small for sinusoidal positions", dim);
		return NULL;
	}
	table = lm_calloc((size_t) rows * dim, sizeof(float), err);
	if (table == NULL)
		return NULL;
	for (int r = 0; r < rows; r++)
	{
		float	   *row = table + (long) r * dim;

		if (r == padding_idx)
			continue;
		for (int i = 0; i < half; i++)
		{
			double		angle = r * exp(-i * SINUSOID_LOG_BASE / (half - 1));

			row[i] = (float) sin(angle);
			row[half + i] = (float) cos(angle);
		}
	}
	return table;
}

int
lm_m2m100_build(LmModel *model, const json_t *config, const LmTensorSet *tensors, LmError *err)
{
	LmBartConfig c;

	if (lm_bart_read_config(&c, config, true, "relu", err) < 0)
		return -1;
	c.pre_norm = true;
	c.final_norms = true;
	c.padding_positions = true;
	c.n_position_rows = c.padding_idx + 1 + c.max_positions;
	c.positions = fairseq_sinusoids(c.n_position_rows, c.dim, c.padding_idx, err);
	if (c.positions == NULL)
		return -1;
	return lm_bart_create(model, &c, tensors, err);
}
