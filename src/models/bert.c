/*
 * bert.c — BERT encoders: BertModel (feature extraction), BertForMaskedLM
 * (transform + decoder tied to the word embeddings) and
 * BertForSequenceClassification (pooler on the first token + classifier).
 *
 * Embeddings are word + absolute position + token type 0, then LayerNorm;
 * each layer is post-norm: x = LN(x + attention(x)), x = LN(x + FFN(x)).
 * Attention is bidirectional with an optional padding mask.
 */
#include "models/bert.h"
#include "models/config.h"
#include "nn/attention.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/scratch.h"
#include "nn/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------
 * The model: config, weights, state */

typedef struct BertState
{
	int			capacity;		/* longest sequence */
	int			max_chunk;		/* tokens of all sequences together */
	float	   *x;				/* [n][dim] */
	float	   *xb;				/* [n][dim] */
	float	   *q,
			   *k,
			   *v;				/* [n][dim] */
	float	   *att_out;		/* [n][dim] */
	float	   *hb;				/* [n][ffn] */
	float	   *att;			/* [capacity][capacity]: one sequence's scores */
	float	   *pooled;			/* [dim] */
	float	   *scratch;		/* the block the buffers above point into */
} BertState;

/* ----------------------------------------------------------------------------
 * Building */

static int
read_config(BertConfig *c, const json_t *cfg, LmTask task, LmError *err)
{
	const char *act;
	const char *position_type;
	double		eps;
	const json_t *id2label = json_object_get(cfg, "id2label");
	int			default_labels = json_is_object(id2label) ? (int) json_object_size(id2label) : 2;

	if (lm_cfg_int(cfg, "hidden_size", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &c->dim, err) < 0 ||
		lm_cfg_int(cfg, "num_hidden_layers", LM_CFG_REQUIRED, 1, LM_MAX_LAYERS, &c->n_layers, err) < 0 ||
		lm_cfg_int(cfg, "num_attention_heads", LM_CFG_REQUIRED, 1, LM_MAX_HEADS, &c->n_heads, err) < 0 ||
		lm_cfg_int(cfg, "intermediate_size", LM_CFG_REQUIRED, 1, 16 * LM_MAX_HIDDEN, &c->ffn_dim, err) < 0 ||
		lm_cfg_int(cfg, "vocab_size", LM_CFG_REQUIRED, 1, LM_MAX_VOCAB, &c->vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "max_position_embeddings", 512, 1, LM_MAX_POSITIONS, &c->max_positions, err) < 0 ||
		lm_cfg_int(cfg, "type_vocab_size", 2, 1, LM_MAX_VOCAB, &c->type_vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "num_labels", default_labels, 1, LM_MAX_LABELS, &c->num_labels, err) < 0 ||
		lm_cfg_double(cfg, "layer_norm_eps", 1e-12, &eps, err) < 0 ||
		lm_cfg_string(cfg, "hidden_act", "gelu", &act, err) < 0 ||
		lm_activation_from_name(act, &c->act, err) < 0 ||
		lm_cfg_string(cfg, "position_embedding_type", "absolute", &position_type, err) < 0)
		return -1;
	if (strcmp(position_type, "absolute") != 0)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "BERT position_embedding_type \"%s\" is not supported",
				position_type);
		lm_hint(err, "Only absolute position embeddings are implemented.");
		return -1;
	}
	if (c->dim % c->n_heads != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "hidden_size %d is not a multiple of num_attention_heads %d",
					   c->dim, c->n_heads);
	if (task != LM_TASK_SEQUENCE_CLASSIFICATION)
		c->num_labels = 0;
	c->head_dim = c->dim / c->n_heads;
	c->eps = (float) eps;
	return 0;
}

static int
read_weights(Bert *b, LmError *err)
{
	BertConfig *c = &b->c;
	BertWeights *w = &b->w;
	LmWeightStore *ws = &b->store;
	int			d = c->dim;
	/* the task models nest the encoder in "bert."; BertModel does not */
	const char *p = lm_weights_has(ws, "bert.embeddings.word_embeddings.weight") ? "bert." : "";

	w->layers = lm_calloc(c->n_layers, sizeof(BertLayer), err);
	if (w->layers == NULL)
		return -1;
	if (!(w->word = lm_weight_matrix(ws, err, c->vocab_size, d, "%sembeddings.word_embeddings.weight", p)) ||
		!(w->position = lm_weight_2d(ws, err, c->max_positions, d, "%sembeddings.position_embeddings.weight", p)) ||
		!(w->token_type = lm_weight_2d(ws, err, c->type_vocab_size, d, "%sembeddings.token_type_embeddings.weight", p)) ||
		!(w->ln_emb_w = lm_weight_1d(ws, err, d, "%sembeddings.LayerNorm.weight", p)) ||
		!(w->ln_emb_b = lm_weight_1d(ws, err, d, "%sembeddings.LayerNorm.bias", p)))
		return -1;
	for (int l = 0; l < c->n_layers; l++)
	{
		BertLayer  *L = &w->layers[l];
		const char *e = "encoder.layer";

		if (!(L->wq = lm_weight_matrix(ws, err, d, d, "%s%s.%d.attention.self.query.weight", p, e, l)) ||
			!(L->bq = lm_weight_1d(ws, err, d, "%s%s.%d.attention.self.query.bias", p, e, l)) ||
			!(L->wk = lm_weight_matrix(ws, err, d, d, "%s%s.%d.attention.self.key.weight", p, e, l)) ||
			!(L->bk = lm_weight_1d(ws, err, d, "%s%s.%d.attention.self.key.bias", p, e, l)) ||
			!(L->wv = lm_weight_matrix(ws, err, d, d, "%s%s.%d.attention.self.value.weight", p, e, l)) ||
			!(L->bv = lm_weight_1d(ws, err, d, "%s%s.%d.attention.self.value.bias", p, e, l)) ||
			!(L->wo = lm_weight_matrix(ws, err, d, d, "%s%s.%d.attention.output.dense.weight", p, e, l)) ||
			!(L->bo = lm_weight_1d(ws, err, d, "%s%s.%d.attention.output.dense.bias", p, e, l)) ||
			!(L->ln_att_w = lm_weight_1d(ws, err, d, "%s%s.%d.attention.output.LayerNorm.weight", p, e, l)) ||
			!(L->ln_att_b = lm_weight_1d(ws, err, d, "%s%s.%d.attention.output.LayerNorm.bias", p, e, l)) ||
			!(L->w_in = lm_weight_matrix(ws, err, c->ffn_dim, d, "%s%s.%d.intermediate.dense.weight", p, e, l)) ||
			!(L->b_in = lm_weight_1d(ws, err, c->ffn_dim, "%s%s.%d.intermediate.dense.bias", p, e, l)) ||
			!(L->w_out = lm_weight_matrix(ws, err, d, c->ffn_dim, "%s%s.%d.output.dense.weight", p, e, l)) ||
			!(L->b_out = lm_weight_1d(ws, err, d, "%s%s.%d.output.dense.bias", p, e, l)) ||
			!(L->ln_out_w = lm_weight_1d(ws, err, d, "%s%s.%d.output.LayerNorm.weight", p, e, l)) ||
			!(L->ln_out_b = lm_weight_1d(ws, err, d, "%s%s.%d.output.LayerNorm.bias", p, e, l)))
			return -1;
	}

	if (b->task == LM_TASK_MASKED_LM)
	{
		if (!(w->mlm_dense_w = lm_weight_matrix(ws, err, d, d, "cls.predictions.transform.dense.weight")) ||
			!(w->mlm_dense_b = lm_weight_1d(ws, err, d, "cls.predictions.transform.dense.bias")) ||
			!(w->mlm_ln_w = lm_weight_1d(ws, err, d, "cls.predictions.transform.LayerNorm.weight")) ||
			!(w->mlm_ln_b = lm_weight_1d(ws, err, d, "cls.predictions.transform.LayerNorm.bias")))
			return -1;
		if (lm_weights_has(ws, "cls.predictions.decoder.weight"))
			w->mlm_decoder = lm_weight_matrix(ws, err, c->vocab_size, d, "cls.predictions.decoder.weight");
		else
			w->mlm_decoder = w->word;
		if (lm_weights_has(ws, "cls.predictions.bias"))
			w->mlm_bias = lm_weight_1d(ws, err, c->vocab_size, "cls.predictions.bias");
		else
			w->mlm_bias = lm_weight_1d(ws, err, c->vocab_size, "cls.predictions.decoder.bias");
		if (w->mlm_decoder == NULL || w->mlm_bias == NULL)
			return -1;
	}
	else if (b->task == LM_TASK_SEQUENCE_CLASSIFICATION)
	{
		if (!(w->pooler_w = lm_weight_matrix(ws, err, d, d, "%spooler.dense.weight", p)) ||
			!(w->pooler_b = lm_weight_1d(ws, err, d, "%spooler.dense.bias", p)) ||
			!(w->cls_w = lm_weight_matrix(ws, err, c->num_labels, d, "classifier.weight")) ||
			!(w->cls_b = lm_weight_1d(ws, err, c->num_labels, "classifier.bias")))
			return -1;
	}
	return 0;
}

static void
bert_free(void *impl)
{
	Bert	   *b = impl;

	if (b == NULL)
		return;
	free(b->w.layers);
	lm_weights_free(&b->store);
	free(b);
}

static void
bert_state_free(void *state)
{
	BertState  *s = state;

	if (s == NULL)
		return;
	free(s->scratch);
	free(s);
}

static void *
bert_state_new(const void *impl, int capacity, int max_chunk, LmError *err)
{
	const BertConfig *c = &((const Bert *) impl)->c;
	BertState  *s = lm_calloc(1, sizeof(BertState), err);
	size_t		n = max_chunk;
	size_t		row = c->dim;

	if (s == NULL)
		return NULL;
	s->capacity = capacity;
	s->max_chunk = max_chunk;

	LmScratchPart parts[] = {
		{&s->x, n * row}, {&s->xb, n * row},
		{&s->q, n * row}, {&s->k, n * row}, {&s->v, n * row},
		{&s->att_out, n * row}, {&s->hb, n * c->ffn_dim},
		{&s->att, (size_t) capacity * capacity}, {&s->pooled, row},
	};

	if (!(s->scratch = lm_scratch_alloc(parts, LM_SCRATCH_PARTS(parts), err)))
	{
		bert_state_free(s);
		return NULL;
	}
	return s;
}

/* ----------------------------------------------------------------------------
 * The forward pass and the heads */

/*
 * Encode n_seq sequences at once: ids holds them one after another
 * (lengths[i] ids each), key_masks likewise (NULL: no padding).  Every
 * linear layer runs over all the tokens together; attention stays inside
 * each sequence (a block-diagonal mask, done block by block).
 */
static int
bert_forward_batch(const void *impl, void *state, const int32_t *ids, const uint8_t *key_masks,
				   const int *lengths, int n_seq, float *hidden, LmError *err)
{
	const Bert *b = impl;
	const BertConfig *c = &b->c;
	const BertWeights *w = &b->w;
	BertState  *s = state;
	int			d = c->dim;
	int			n = 0;
	LmAttention attn = {c->n_heads, c->n_heads, c->head_dim,
	1.0f / sqrtf((float) c->head_dim), false};

	for (int i = 0; i < n_seq; i++)
	{
		if (lengths[i] > s->capacity || lengths[i] > c->max_positions)
			return lm_fail(err, LM_ERR_INTERNAL, "a sequence is longer than the BERT state");
		n += lengths[i];
	}
	if (n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "too many tokens for the BERT state");

	/* word + position + token type 0, normalised */
	for (int i = 0, t = 0; i < n_seq; i++)
	{
		for (int p = 0; p < lengths[i]; p++, t++)
		{
			float	   *xb = s->xb + (long) t * d;

			lm_matrix_row(w->word, ids[t], 0, d, xb);
			lm_add(xb, w->position + (long) p * d, d);
			lm_add(xb, w->token_type, d);
		}
	}
	lm_layernorm(s->x, s->xb, w->ln_emb_w, w->ln_emb_b, n, d, c->eps);

	for (int l = 0; l < c->n_layers; l++)
	{
		const BertLayer *L = &w->layers[l];

		if (lm_check_cancel(err) < 0)
			return -1;

		/* self-attention, residual, LayerNorm */
		lm_matmul_many((LmGemmOut[]) {{s->q, L->wq, L->bq}, {s->k, L->wk, L->bk}, {s->v, L->wv, L->bv}},
					   3, s->x, n);
		for (int i = 0, t0 = 0; i < n_seq; t0 += lengths[i], i++)
		{
			long		off = (long) t0 * d;

			lm_attention(&attn, s->att_out + off, d, s->q + off, d, s->k + off, s->v + off, d,
						 lengths[i], lengths[i], 0, key_masks ? key_masks + t0 : NULL, s->att);
		}
		/* the residual sum in place, normalised in place */
		lm_matmul(s->x, s->att_out, L->wo, L->bo, n, true);
		lm_layernorm(s->x, s->x, L->ln_att_w, L->ln_att_b, n, d, c->eps);

		/* feed-forward, residual, LayerNorm */
		lm_matmul(s->hb, s->x, L->w_in, L->b_in, n, false);
		lm_activate(s->hb, (long) n * c->ffn_dim, c->act);
		lm_matmul(s->x, s->hb, L->w_out, L->b_out, n, true);
		lm_layernorm(s->x, s->x, L->ln_out_w, L->ln_out_b, n, d, c->eps);
	}
	memcpy(hidden, s->x, (size_t) n * d * sizeof(float));
	return 0;
}

static int
bert_forward(const void *impl, void *state, const int32_t *ids, const uint8_t *key_mask,
			 int n, int pos, float *hidden, LmError *err)
{
	if (pos != 0)
		return lm_fail(err, LM_ERR_INTERNAL, "BERT runs whole inputs only");
	return bert_forward_batch(impl, state, ids, key_mask, &n, 1, hidden, err);
}

/* Masked LM: dense → activation → LayerNorm → decoder + bias. */
static int
bert_token_logits(const void *impl, void *state, const float *hidden, int n,
				  float *logits, LmError *err)
{
	const Bert *b = impl;
	const BertWeights *w = &b->w;
	BertState  *s = state;
	int			d = b->c.dim;

	if (n > s->max_chunk)
		return lm_fail(err, LM_ERR_INTERNAL, "too many rows for the masked-LM head");
	lm_matmul(s->xb, hidden, w->mlm_dense_w, w->mlm_dense_b, n, false);
	lm_activate(s->xb, (long) n * d, b->c.act);
	lm_layernorm(s->att_out, s->xb, w->mlm_ln_w, w->mlm_ln_b, n, d, b->c.eps);
	lm_matmul(logits, s->att_out, w->mlm_decoder, w->mlm_bias, n, false);
	return 0;
}

/* Sequence classification: tanh(pooler(first token)) → classifier. */
static int
bert_classify(const void *impl, void *state, const float *hidden, int n, float *logits,
			  LmError *err)
{
	const Bert *b = impl;
	const BertWeights *w = &b->w;
	BertState  *s = state;
	int			d = b->c.dim;

	lm_matmul(s->pooled, hidden, w->pooler_w, w->pooler_b, 1, false);
	for (int i = 0; i < d; i++)
		s->pooled[i] = tanhf(s->pooled[i]);
	lm_matmul(logits, s->pooled, w->cls_w, w->cls_b, 1, false);
	return 0;
}

static const LmArchOps bert_ops = {
	.free = bert_free,
	.state_new = bert_state_new,
	.state_free = bert_state_free,
	.forward = bert_forward,
	.forward_batch = bert_forward_batch,
	.token_logits = NULL,
	.classify = NULL,
	.to_device = lm_bert_to_device,
};

static const LmArchOps bert_mlm_ops = {
	.free = bert_free,
	.state_new = bert_state_new,
	.state_free = bert_state_free,
	.forward = bert_forward,
	.forward_batch = bert_forward_batch,
	.token_logits = bert_token_logits,
	.classify = NULL,
	.to_device = lm_bert_to_device,
};

static const LmArchOps bert_classifier_ops = {
	.free = bert_free,
	.state_new = bert_state_new,
	.state_free = bert_state_free,
	.forward = bert_forward,
	.forward_batch = bert_forward_batch,
	.token_logits = NULL,
	.classify = bert_classify,
	.to_device = lm_bert_to_device,
};

int
lm_bert_build(LmModel *model, const json_t *config, const LmTensorSet *tensors, LmError *err)
{
	Bert	   *b = lm_calloc(1, sizeof(Bert), err);

	if (b == NULL)
		return -1;
	b->task = model->info.task;
	lm_weights_init(&b->store, tensors);
	if (read_config(&b->c, config, b->task, err) < 0 || read_weights(b, err) < 0)
	{
		bert_free(b);
		return -1;
	}
	switch (b->task)
	{
		case LM_TASK_MASKED_LM:
			model->ops = &bert_mlm_ops;
			break;
		case LM_TASK_SEQUENCE_CLASSIFICATION:
			model->ops = &bert_classifier_ops;
			break;
		default:
			model->ops = &bert_ops;
			break;
	}
	model->impl = b;
	model->info.causal = false;
	model->info.vocab_size = b->c.vocab_size;
	model->info.hidden_size = b->c.dim;
	model->info.n_layers = b->c.n_layers;
	model->info.max_positions = b->c.max_positions;
	model->info.num_labels = b->c.num_labels;
	model->info.n_params = b->store.n_params;
	return 0;
}
