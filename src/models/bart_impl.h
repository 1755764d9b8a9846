/*
 * bart_impl.h — the weights of bart.c's model, shared with its device
 * version (bart_device.c).
 */
#ifndef LM_MODELS_BART_IMPL_H
#define LM_MODELS_BART_IMPL_H

#include "models/bart.h"
#include "nn/matrix.h"
#include "nn/weights.h"

typedef struct BartAttn
{
	const LmMatrix *wq,
			   *wk,
			   *wv,
			   *wo;				/* [dim][dim] each */
	const float *bq,
			   *bk,
			   *bv,
			   *bo;				/* [dim] each */
} BartAttn;

typedef struct BartLayer
{
	BartAttn	self;
	const float *self_ln_w,
			   *self_ln_b;
	BartAttn	cross;			/* decoder layers only */
	const float *cross_ln_w,
			   *cross_ln_b;
	const LmMatrix *fc1,		/* [ffn][dim] */
			   *fc2;			/* [dim][ffn] */
	const float *fc1_b,			/* [ffn] */
			   *fc2_b;			/* [dim] */
	const float *final_ln_w,
			   *final_ln_b;
} BartLayer;

typedef struct Bart
{
	LmBartConfig c;
	const LmMatrix *enc_embed;	/* [vocab][dim] */
	const LmMatrix *dec_embed;	/* [target_vocab][dim] */
	const LmMatrix *head;		/* [target_vocab][dim] */
	const float *logits_bias;	/* [target_vocab] or NULL */
	BartLayer  *enc;
	BartLayer  *dec;
	const float *enc_ln_w,
			   *enc_ln_b,
			   *dec_ln_w,
			   *dec_ln_b;		/* final norms, NULL without them */
	LmWeightStore store;
} Bart;

int			lm_bart_to_device(LmModel *model, struct LmDevice *dev, LmError *err);

#endif
