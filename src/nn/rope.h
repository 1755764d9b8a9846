/*
 * rope.h — rotary position embeddings (RoPE) as transformers applies them:
 * the "rotate half" layout, where dimension i pairs with i + head_dim/2.
 *
 * Frequencies come from rope_theta in double precision, never from a table
 * stored with the weights' dtype.
 */
#ifndef LM_NN_ROPE_H
#define LM_NN_ROPE_H

#include <stdbool.h>

#include "util/lm_error.h"

typedef enum LmRopeType
{
	LM_ROPE_DEFAULT,			/* θ^(-2i/d) */
	LM_ROPE_LINEAR,				/* positions divided by factor */
	LM_ROPE_LLAMA3				/* Llama 3.1 smooth wavelength-dependent scaling */
} LmRopeType;

typedef struct LmRopeConfig
{
	LmRopeType	type;
	/*
	 * Angles as llama.cpp computes them (θ_i = p·s^i by repeated float32
	 * products, s = θ^(-2/d), cos and sin in float32), for models read from
	 * GGUF files; else in double precision.  Quantized models amplify the
	 * difference: their activations round to 8 bits at every product.
	 */
	bool		llama_cpp_angles;
	const float *freq_factors;	/* [head_dim / 2] frequencies divided by these (GGUF rope_freqs), or NULL */
	double		theta;
	double		factor;			/* linear, llama3 */
	double		low_freq_factor;	/* llama3 */
	double		high_freq_factor;	/* llama3 */
	double		original_max_positions; /* llama3 */
} LmRopeConfig;

typedef struct LmRope
{
	int			head_dim;
	bool		llama_cpp_angles;
	float		theta_scale;	/* llama_cpp_angles: θ^(-2/d) in float32 */
	float		freq_scale;		/* llama_cpp_angles: 1/factor (linear scaling), else 1 */
	float	   *freq_factors;	/* llama_cpp_angles: a copy of the config's, or NULL */
	double	   *inv_freq;		/* [head_dim / 2] */
} LmRope;

int			lm_rope_init(LmRope *rope, int head_dim, const LmRopeConfig *config,
						 LmError *err);
void		lm_rope_free(LmRope *rope);

/* cos and sin, each [n][head_dim / 2], for positions first_pos .. first_pos+n-1. */
void		lm_rope_tables(const LmRope *rope, int first_pos, int n, float *cos_out,
						   float *sin_out);

/* Rotate n rows (row stride `stride`) of n_heads heads in place. */
void		lm_rope_apply(const LmRope *rope, float *x, int n, int stride, int n_heads,
						  const float *cos_table, const float *sin_table);

#endif
