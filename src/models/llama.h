/*
 * llama.h — Llama's configuration and weights as llama.c reads them, shared
 * with its device version (llama_device.c).
 */
#ifndef LM_MODELS_LLAMA_H
#define LM_MODELS_LLAMA_H

#include "models/arch.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/rope.h"
#include "nn/weights.h"

typedef struct LlamaConfig
{
	int			dim;			/* hidden_size */
	int			n_layers;
	int			n_heads;
	int			n_kv_heads;
	int			head_dim;
	int			ffn_dim;		/* intermediate_size */
	int			vocab_size;
	int			max_positions;
	float		eps;
	LmActivation act;
	bool		attention_bias;	/* biases on q, k, v and o */
	bool		qkv_bias;		/* biases on q, k, v (Qwen2: always, o none) */
	bool		qk_norm;		/* RMSNorm of each head's q and k before RoPE (Qwen3) */
	bool		mlp_bias;
	bool		tied;
	LmRopeConfig rope;
	int			window;			/* sliding-window attention over this many keys, 0: none */
	int			window_from_layer;	/* the first layer that uses it (Qwen2's max_window_layers) */
} LlamaConfig;

typedef struct LlamaLayer
{
	const float *attn_norm;		/* input_layernorm */
	const LmMatrix *wq,
			   *wk,
			   *wv,
			   *wo;				/* [n_heads·hd][dim], [kv_dim][dim] ×2, [dim][n_heads·hd] */
	const float *bq,
			   *bk,
			   *bv,
			   *bo;				/* NULL without attention_bias */
	const float *q_norm,
			   *k_norm;			/* [head_dim], NULL without qk_norm */
	const float *ffn_norm;		/* post_attention_layernorm */
	const LmMatrix *w_gate,
			   *w_up,
			   *w_down;			/* [ffn][dim] ×2, [dim][ffn] */
	const float *b_gate,
			   *b_up,
			   *b_down;			/* NULL without mlp_bias */
} LlamaLayer;

typedef struct LlamaWeights
{
	const LmMatrix *embed;		/* [vocab][dim] */
	LlamaLayer *layers;
	const float *norm;
	const LmMatrix *head;		/* [vocab][dim] */
} LlamaWeights;

typedef struct Llama
{
	LlamaConfig c;
	LlamaWeights w;
	LmRope		rope;
	LmWeightStore store;
} Llama;

int			lm_llama_to_device(LmModel *model, struct LmDevice *dev, LmError *err);

#endif
