/*
 * marian.c — MarianMTModel: a post-norm fairseq transformer (bart.c)
 * without final layer norms, embeddings scaled by sqrt(d_model) when
 * scale_embedding, Marian's sinusoidal positions (row p is
 * [sin(p·ω_0) .. | cos(p·ω_0) ..], counted from 0), and final_logits_bias
 * added to the logits.  Encoder and decoder share model.shared unless
 * share_encoder_decoder_embeddings is false, in which case the decoder has
 * its own embeddings and vocabulary (decoder_vocab_size).
 */
#include "models/bart.h"

#include "models/config.h"

#include <math.h>
#include <stdlib.h>

/* The sinusoids' base: ω_k = 10000^(-2k / dim). */
#define SINUSOID_BASE 10000.0

/*
 * Marian's table: column k < ceil(dim/2) holds sin(p·ω_k), column
 * ceil(dim/2) + k holds cos(p·ω_k), computed in double precision.
 */
static float *
marian_sinusoids(int rows, int dim, LmError *err)
{
	int			sentinel = (dim + 1) / 2;
	float	   *table = lm_calloc((size_t) rows * dim, sizeof(float), err);

	if (table == NULL)
		return NULL;
	for (int p = 0; p < rows; p++)
	{
		float	   *row = table + (long) p * dim;

		for (int k = 0; k < sentinel; k++)
		{
			double		angle = p / pow(SINUSOID_BASE, 2.0 * k / dim);

			row[k] = (float) sin(angle);
			if (sentinel + k < dim)
				row[sentinel + k] = (float) cos(angle);
		}
	}
	return table;
}

int
lm_marian_build(LmModel *model, const json_t *config, const LmTensorSet *tensors, LmError *err)
{
	LmBartConfig c;
	bool		share;

	if (lm_bart_read_config(&c, config, false, "gelu", err) < 0 ||
		lm_cfg_bool(config, "share_encoder_decoder_embeddings", true, &share, err) < 0 ||
		lm_cfg_int(config, "decoder_vocab_size", c.vocab_size, 1, LM_MAX_VOCAB,
				   &c.target_vocab_size, err) < 0)
		return -1;
	if (share)
		c.target_vocab_size = c.vocab_size;
	c.shared_embeddings = share;
	c.pre_norm = false;
	c.final_norms = false;
	c.padding_positions = false;
	c.logits_bias = lm_tensorset_find(tensors, "final_logits_bias") != NULL;
	c.n_position_rows = c.max_positions;
	c.positions = marian_sinusoids(c.n_position_rows, c.dim, err);
	if (c.positions == NULL)
		return -1;
	return lm_bart_create(model, &c, tensors, err);
}
