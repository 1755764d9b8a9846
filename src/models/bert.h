/*
 * bert.h — Bert's configuration and weights as bert.c reads them, shared
 * with its device version (bert_device.c).
 */
#ifndef LM_MODELS_BERT_H
#define LM_MODELS_BERT_H

#include "models/arch.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/weights.h"

typedef struct BertConfig
{
	int			dim;
	int			n_layers;
	int			n_heads;
	int			head_dim;
	int			ffn_dim;
	int			vocab_size;
	int			max_positions;
	int			type_vocab_size;
	int			num_labels;
	float		eps;
	LmActivation act;
} BertConfig;

typedef struct BertLayer
{
	const LmMatrix *wq,
			   *wk,
			   *wv;				/* [dim][dim] */
	const float *bq,
			   *bk,
			   *bv;				/* [dim] */
	const LmMatrix *wo;			/* attention.output.dense */
	const float *bo;
	const float *ln_att_w,
			   *ln_att_b;		/* attention.output.LayerNorm */
	const LmMatrix *w_in;		/* intermediate.dense [ffn][dim] */
	const float *b_in;
	const LmMatrix *w_out;		/* output.dense [dim][ffn] */
	const float *b_out;
	const float *ln_out_w,
			   *ln_out_b;		/* output.LayerNorm */
} BertLayer;

typedef struct BertWeights
{
	const LmMatrix *word;		/* [vocab][dim] */
	const float *position;		/* [max_positions][dim] */
	const float *token_type;	/* [type_vocab][dim] */
	const float *ln_emb_w,
			   *ln_emb_b;
	BertLayer  *layers;
	/* masked LM head */
	const LmMatrix *mlm_dense_w;
	const float *mlm_dense_b,
			   *mlm_ln_w,
			   *mlm_ln_b;
	const LmMatrix *mlm_decoder;	/* [vocab][dim], tied to word */
	const float *mlm_bias;		/* [vocab] */
	/* classification head */
	const LmMatrix *pooler_w;
	const float *pooler_b;
	const LmMatrix *cls_w;		/* [num_labels][dim] */
	const float *cls_b;
} BertWeights;

typedef struct Bert
{
	BertConfig	c;
	BertWeights w;
	LmTask		task;
	LmWeightStore store;
} Bert;

int			lm_bert_to_device(LmModel *model, struct LmDevice *dev, LmError *err);

#endif
