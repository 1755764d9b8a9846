/*
 * gpt2.h — GPT-2's configuration and weights as gpt2.c reads them, shared
 * with its device version (gpt2_device.c).
 */
#ifndef LM_MODELS_GPT2_H
#define LM_MODELS_GPT2_H

#include <math.h>

#include "models/arch.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/weights.h"

typedef struct Gpt2Config
{
	int			dim;			/* n_embd */
	int			n_layers;
	int			n_heads;
	int			head_dim;
	int			ffn_dim;		/* n_inner, default 4 · dim */
	int			vocab_size;
	int			max_positions;	/* n_positions */
	float		eps;
	LmActivation act;
	bool		scale_attn;		/* divide scores by sqrt(head_dim) */
	bool		scale_by_layer; /* and by layer index + 1 */
	bool		conv1d_out_in;	/* the Conv1D weights stored [out][in] (a GGUF file's) */
} Gpt2Config;

typedef struct Gpt2Layer
{
	const float *ln1_w,
			   *ln1_b;
	const LmMatrix *attn_w;		/* [dim][3 · dim], q | k | v */
	const float *attn_b;
	const LmMatrix *proj_w;		/* [dim][dim] */
	const float *proj_b;
	const float *ln2_w,
			   *ln2_b;
	const LmMatrix *fc_w;		/* [dim][ffn_dim] */
	const float *fc_b;
	const LmMatrix *fc_proj_w;	/* [ffn_dim][dim] */
	const float *fc_proj_b;
} Gpt2Layer;

typedef struct Gpt2Weights
{
	const LmMatrix *wte;		/* [vocab][dim] */
	const float *wpe;			/* [max_positions][dim] */
	Gpt2Layer  *layers;
	const float *lnf_w,
			   *lnf_b;
	const LmMatrix *head;		/* [vocab][dim]: lm_head or wte */
} Gpt2Weights;

typedef struct Gpt2
{
	Gpt2Config	c;
	Gpt2Weights w;
	LmWeightStore store;
} Gpt2;

/* Layer `layer`'s attention scale: 1/sqrt(head_dim) unless turned off, and by 1/(layer+1) if asked. */
static inline float
lm_gpt2_attention_scale(const Gpt2Config *c, int layer)
{
	float		scale = c->scale_attn ? 1.0f / sqrtf((float) c->head_dim) : 1.0f;

	return c->scale_by_layer ? scale / (float) (layer + 1) : scale;
}

int			lm_gpt2_to_device(LmModel *model, struct LmDevice *dev, LmError *err);

#endif
