/*
 * rope.c — rotary position embeddings (see rope.h).
 */
#include "nn/rope.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
lm_rope_init(LmRope *rope, int head_dim, const LmRopeConfig *config, LmError *err)
{
	int			half = head_dim / 2;

	rope->head_dim = head_dim;
	rope->inv_freq = NULL;
	rope->freq_factors = NULL;
	rope->llama_cpp_angles = config->llama_cpp_angles &&
		(config->type == LM_ROPE_DEFAULT || config->type == LM_ROPE_LINEAR);
	rope->theta_scale = powf((float) config->theta, -2.0f / head_dim);
	rope->freq_scale = config->type == LM_ROPE_LINEAR ? 1.0f / (float) config->factor : 1.0f;
	if (head_dim <= 0 || head_dim % 2 != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "rotary embeddings need an even head dimension, not %d",
					   head_dim);
	if (!(config->theta > 0.0))
		return lm_fail(err, LM_ERR_CORRUPT, "rope_theta must be positive, not %g", config->theta);
	if (config->type != LM_ROPE_DEFAULT && !(config->factor > 0.0))
		return lm_fail(err, LM_ERR_CORRUPT, "rope scaling factor must be positive, not %g",
					   config->factor);
	rope->inv_freq = lm_malloc(half * sizeof(double), err);
	if (rope->inv_freq == NULL)
		return -1;
	if (config->freq_factors != NULL)
	{
		for (int i = 0; i < half; i++)
			if (!(config->freq_factors[i] > 0.0f) || !isfinite(config->freq_factors[i]))
				return lm_fail(err, LM_ERR_CORRUPT, "rope frequency factor %d is %g, not a positive number", i,
							   config->freq_factors[i]);
		if ((rope->freq_factors = lm_malloc(half * sizeof(float), err)) == NULL)
			return -1;
		memcpy(rope->freq_factors, config->freq_factors, half * sizeof(float));
	}

	for (int i = 0; i < half; i++)
	{
		double		f = 1.0 / pow(config->theta, (2.0 * i) / head_dim);

		if (config->type == LM_ROPE_LINEAR)
			f /= config->factor;
		else if (config->type == LM_ROPE_LLAMA3)
		{
			double		low_wavelen = config->original_max_positions / config->low_freq_factor;
			double		high_wavelen = config->original_max_positions / config->high_freq_factor;
			double		wavelen = 2.0 * M_PI / f;

			if (wavelen > low_wavelen)
				f /= config->factor;
			else if (wavelen >= high_wavelen)
			{
				double		smooth = (config->original_max_positions / wavelen - config->low_freq_factor) /
					(config->high_freq_factor - config->low_freq_factor);

				f = (1.0 - smooth) * f / config->factor + smooth * f;
			}
		}
		if (config->freq_factors != NULL)
			f /= config->freq_factors[i];
		rope->inv_freq[i] = f;
	}
	return 0;
}

void
lm_rope_free(LmRope *rope)
{
	free(rope->inv_freq);
	free(rope->freq_factors);
	rope->inv_freq = NULL;
	rope->freq_factors = NULL;
}

void
lm_rope_tables(const LmRope *rope, int first_pos, int n, float *cos_out, float *sin_out)
{
	int			half = rope->head_dim / 2;

	for (int t = 0; t < n; t++)
	{
		float		theta = (float) (first_pos + t);

		for (int i = 0; rope->llama_cpp_angles && i < half; i++)
		{
			/* as ggml's rope: θ_i / factor_i, times 1/linear factor */
			float		angle = rope->freq_scale *
				(rope->freq_factors != NULL ? theta / rope->freq_factors[i] : theta);

			cos_out[t * half + i] = cosf(angle);
			sin_out[t * half + i] = sinf(angle);
			theta *= rope->theta_scale;
		}
		for (int i = 0; !rope->llama_cpp_angles && i < half; i++)
		{
			double		angle = (double) (first_pos + t) * rope->inv_freq[i];

			cos_out[t * half + i] = (float) cos(angle);
			sin_out[t * half + i] = (float) sin(angle);
		}
	}
}

void
lm_rope_apply(const LmRope *rope, float *x, int n, int stride, int n_heads,
			  const float *cos_table, const float *sin_table)
{
	int			hd = rope->head_dim;
	int			half = hd / 2;

	for (int t = 0; t < n; t++)
	{
		const float *c = cos_table + t * half;
		const float *s = sin_table + t * half;

		for (int h = 0; h < n_heads; h++)
		{
			float	   *v = x + (long) t * stride + h * hd;

			for (int i = 0; i < half; i++)
			{
				float		a = v[i];
				float		b = v[i + half];

				v[i] = a * c[i] - b * s[i];
				v[i + half] = b * c[i] + a * s[i];
			}
		}
	}
}
