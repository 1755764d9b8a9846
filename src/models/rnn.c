/*
 * rnn.c — RNN models in pg_lm's format (see rnn.h): reading config.json,
 * looking the weights up, and the encoder side: encodings, classification,
 * similarity.  Decoding is in rnn_generate.c, characters in rnn_chars.c.
 */
#include "models/rnn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/cosine.h"
#include "models/config.h"
#include "nn/blas.h"
#include "nn/ops.h"

#define RNN_MODEL_TYPE "rnn"
#define ARCH_CLASSIFIER "TextRNNClassifier"
#define ARCH_SEQ2SEQ "RNNSeq2Seq"
#define ARCH_GENERATOR "TextRNNGenerator"	/* the lecture's name, an alias */
#define POOLING_FINAL_CONCAT "final_hidden_concat"
#define TOKENIZATION_CHARS "chars"

/* ----------------------------------------------------------------------------
 * config.json */

bool
lm_rnn_is_rnn_config(const char *config_json, size_t len)
{
	json_t	   *cfg = json_loadb(config_json, len, 0, NULL);
	json_t	   *mt = json_object_get(cfg, "model_type");
	bool		yes = json_is_string(mt) && strcmp(json_string_value(mt), RNN_MODEL_TYPE) == 0;

	json_decref(cfg);
	return yes;
}

/* The cell from "cell" (and nn.RNN's "nonlinearity"). */
static int
read_cell(LmRnnModel *m, const json_t *cfg, LmError *err)
{
	const char *name;
	const char *nonlinearity;

	if (lm_cfg_string(cfg, "cell", NULL, &name, err) < 0)
		return -1;
	if (name == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json has no \"cell\"");
		lm_hint(err, "An RNN config names its cell: \"lstm\", \"gru\", \"rnn_tanh\" or \"rnn_relu\".");
		return -1;
	}
	if (!lm_rnn_cell_from_name(name, &m->info.cell))
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "config.json key \"cell\" is \"%.64s\", which is not an RNN cell",
				name);
		lm_hint(err, "Supported cells: \"lstm\", \"gru\", \"rnn_tanh\", \"rnn_relu\".");
		return -1;
	}
	if (strcmp(name, "rnn") == 0)
	{
		if (lm_cfg_string(cfg, "nonlinearity", "tanh", &nonlinearity, err) < 0)
			return -1;
		if (strcmp(nonlinearity, "relu") == 0)
			m->info.cell = LM_RNN_CELL_RELU;
		else if (strcmp(nonlinearity, "tanh") != 0)
			return lm_fail(err, LM_ERR_UNSUPPORTED,
						   "config.json key \"nonlinearity\" is \"%.64s\", not \"tanh\" or \"relu\"",
						   nonlinearity);
	}
	m->info.cell_name = lm_rnn_cell_name(m->info.cell);
	return 0;
}

/* architectures[0], or the classifier when absent. */
static int
read_architecture(LmRnnModel *m, const json_t *cfg, LmError *err)
{
	json_t	   *archs = json_object_get(cfg, "architectures");
	const char *model_type;
	const char *arch = ARCH_CLASSIFIER;

	if (lm_cfg_string(cfg, "model_type", NULL, &model_type, err) < 0)
		return -1;
	if (model_type == NULL || strcmp(model_type, RNN_MODEL_TYPE) != 0)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "config.json key \"model_type\" is %s%.64s%s, not \"rnn\"",
				model_type ? "\"" : "", model_type ? model_type : "absent", model_type ? "\"" : "");
		lm_hint(err, "lm_rnn_load reads pg_lm's RNN format; transformers models go through lm_model_load.");
		return -1;
	}
	if (json_is_array(archs) && json_array_size(archs) > 0)
	{
		if (!json_is_string(json_array_get(archs, 0)))
			return lm_fail(err, LM_ERR_CORRUPT, "config.json \"architectures\" is not a list of names");
		arch = json_string_value(json_array_get(archs, 0));
	}
	if (strcmp(arch, ARCH_CLASSIFIER) == 0)
		m->info.task = LM_RNN_TASK_CLASSIFY;
	else if (strcmp(arch, ARCH_SEQ2SEQ) == 0 || strcmp(arch, ARCH_GENERATOR) == 0)
		m->info.task = LM_RNN_TASK_GENERATE;
	else
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "config.json architecture \"%.64s\" is not an RNN model pg_lm knows",
				arch);
		lm_hint(err, "Supported: %s, %s (alias %s).", ARCH_CLASSIFIER, ARCH_SEQ2SEQ, ARCH_GENERATOR);
		return -1;
	}
	m->architecture = lm_strndup(arch, strlen(arch), err);
	m->info.architecture = m->architecture;
	return m->architecture ? 0 : -1;
}

static int
read_dimensions(LmRnnModel *m, const json_t *cfg, bool *bias, LmError *err)
{
	LmRnnInfo  *info = &m->info;
	int			proj_size;
	const char *pooling;

	if (lm_cfg_int(cfg, "vocab_size", LM_CFG_REQUIRED, 1, LM_MAX_VOCAB, &info->vocab_size, err) < 0 ||
		lm_cfg_int(cfg, "embedding_dim", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &info->embedding_dim, err) < 0 ||
		lm_cfg_int(cfg, "hidden_size", LM_CFG_REQUIRED, 1, LM_MAX_HIDDEN, &info->hidden_size, err) < 0 ||
		lm_cfg_int(cfg, "num_layers", 1, 1, LM_RNN_MAX_LAYERS, &info->num_layers, err) < 0 ||
		lm_cfg_bool(cfg, "bidirectional", false, &info->bidirectional, err) < 0 ||
		lm_cfg_bool(cfg, "bias", true, bias, err) < 0 ||
		lm_cfg_int(cfg, "max_length", 0, 0, LM_RNN_MAX_TOKENS, &info->max_length, err) < 0 ||
		lm_cfg_int(cfg, "proj_size", 0, 0, LM_MAX_HIDDEN, &proj_size, err) < 0 ||
		lm_cfg_string(cfg, "pooling", POOLING_FINAL_CONCAT, &pooling, err) < 0)
		return -1;
	if (proj_size != 0)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "config.json key \"proj_size\" is %d: LSTM projections are not supported",
					   proj_size);
	if (strcmp(pooling, POOLING_FINAL_CONCAT) != 0)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "config.json key \"pooling\" is \"%.64s\", which is not supported",
				pooling);
		lm_hint(err, "The only pooling is \"%s\".", POOLING_FINAL_CONCAT);
		return -1;
	}
	info->encoding_size = (info->bidirectional ? 2 : 1) * info->hidden_size;
	return 0;
}

/* A token id key: absent or null is -1, else inside the vocabulary. */
static int
read_token_id(const json_t *cfg, const char *key, int def, int vocab, int *out, LmError *err)
{
	return lm_cfg_int(cfg, key, def, -1, vocab - 1, out, err);
}

static int
read_special_ids(LmRnnModel *m, const json_t *cfg, LmError *err)
{
	LmRnnInfo  *info = &m->info;
	int			v = info->vocab_size;

	if (read_token_id(cfg, "pad_token_id", -1, v, &info->pad_token_id, err) < 0 ||
		read_token_id(cfg, "bos_token_id", -1, v, &info->bos_token_id, err) < 0 ||
		read_token_id(cfg, "eos_token_id", -1, v, &info->eos_token_id, err) < 0 ||
		read_token_id(cfg, "unk_token_id", -1, v, &info->unk_token_id, err) < 0 ||
		read_token_id(cfg, "decoder_start_token_id", info->bos_token_id, v,
					  &info->decoder_start_token_id, err) < 0)
		return -1;
	if (info->task == LM_RNN_TASK_GENERATE && info->decoder_start_token_id < 0)
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json has neither \"bos_token_id\" nor \"decoder_start_token_id\"");
		lm_hint(err, "A generator's decoder starts from one of them.");
		return -1;
	}
	return 0;
}

/* Labels from id2label, else num_labels (or the head's rows) as LABEL_i. */
static int
read_labels(LmRnnModel *m, const json_t *cfg, LmError *err)
{
	json_t	   *id2label = json_object_get(cfg, "id2label");
	int			n;

	if (json_is_object(id2label) && json_object_size(id2label) > 0)
		n = (int) json_object_size(id2label);
	else
	{
		const LmTensor *t = lm_tensorset_find(m->ws.set, "classifier.weight");
		int			rows = t && t->ndim == 2 ? (int) t->shape[0] : LM_CFG_REQUIRED;

		if (lm_cfg_int(cfg, "num_labels", rows, 1, LM_MAX_LABELS, &n, err) < 0)
			return -1;
	}
	if (n > LM_MAX_LABELS)
		return lm_fail(err, LM_ERR_CORRUPT, "config.json \"id2label\" has %d labels, more than %d",
					   n, LM_MAX_LABELS);
	m->info.num_labels = n;
	if ((m->labels = lm_calloc(n, sizeof(char *), err)) == NULL)
		return -1;
	for (int i = 0; i < n; i++)
	{
		char		key[32];
		const char *s = key;

		snprintf(key, sizeof(key), "%d", i);
		if (json_is_object(id2label) && json_object_size(id2label) > 0)
		{
			json_t	   *v = json_object_get(id2label, key);

			if (!json_is_string(v))
				return lm_fail(err, LM_ERR_CORRUPT, "config.json \"id2label\" has no string for \"%s\"",
							   key);
			s = json_string_value(v);
		}
		else
			snprintf(key, sizeof(key), "LABEL_%d", i);
		if ((m->labels[i] = lm_strndup(s, strlen(s), err)) == NULL)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Loading */

static int
build_classifier(LmRnnModel *m, const json_t *cfg, bool bias, LmError *err)
{
	LmRnnInfo  *info = &m->info;

	if (lm_rnn_stack_load(&m->encoder, &m->ws, "rnn", info->cell, info->embedding_dim,
						  info->hidden_size, info->num_layers, info->bidirectional, bias,
						  err) < 0 ||
		read_labels(m, cfg, err) < 0)
		return -1;
	m->head_w = lm_weight_2d(&m->ws, err, info->num_labels, info->encoding_size,
							 "classifier.weight");
	if (m->head_w == NULL)
		return -1;
	m->head_b = lm_weight_1d(&m->ws, err, info->num_labels, "classifier.bias");
	return m->head_b ? 0 : -1;
}

static int
build_generator(LmRnnModel *m, const json_t *cfg, bool bias, LmError *err)
{
	LmRnnInfo  *info = &m->info;
	const char *tokenization;

	if (info->bidirectional)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "config.json key \"bidirectional\" is true for a %s",
				info->architecture);
		lm_hint(err, "A generator's decoder is seeded with a unidirectional encoder's states.");
		return -1;
	}
	if (read_special_ids(m, cfg, err) < 0 ||
		lm_rnn_stack_load(&m->encoder, &m->ws, "encoder", info->cell, info->embedding_dim,
						  info->hidden_size, info->num_layers, false, bias, err) < 0 ||
		lm_rnn_stack_load(&m->decoder, &m->ws, "decoder", info->cell, info->embedding_dim,
						  info->hidden_size, info->num_layers, false, bias, err) < 0)
		return -1;
	m->head_w = lm_weight_2d(&m->ws, err, info->vocab_size, info->hidden_size, "out.weight");
	if (m->head_w == NULL)
		return -1;
	m->head_b = lm_weight_1d(&m->ws, err, info->vocab_size, "out.bias");
	if (m->head_b == NULL)
		return -1;

	if (lm_cfg_string(cfg, "tokenization", NULL, &tokenization, err) < 0)
		return -1;
	if (tokenization != NULL && strcmp(tokenization, TOKENIZATION_CHARS) != 0)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "config.json key \"tokenization\" is \"%.64s\", not \"%s\"",
					   tokenization, TOKENIZATION_CHARS);
	if (tokenization != NULL)
	{
		if (lm_rnn_chars_build(&m->chars, json_object_get(cfg, "vocab"), info, err) < 0)
			return -1;
		info->char_vocab = true;
	}
	return 0;
}

LmRnnModel *
lm_rnn_load(const char *config_json, size_t len, const LmTensorSet *tensors, LmError *err)
{
	json_error_t jerr;
	json_t	   *cfg;
	LmRnnModel *m = NULL;
	bool		bias;

	if (config_json == NULL || tensors == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "an RNN model needs a config and tensors");
		return NULL;
	}
	if (len > LM_RNN_MAX_CONFIG_BYTES)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "config.json of %zu bytes is larger than %d",
				len, LM_RNN_MAX_CONFIG_BYTES);
		return NULL;
	}
	if (lm_blas_init(err) != 0)
		return NULL;
	cfg = json_loadb(config_json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (cfg == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json is not valid JSON: %s at line %d, column %d",
				jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(cfg))
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json is not a JSON object");
		goto fail;
	}
	if ((m = lm_calloc(1, sizeof(LmRnnModel), err)) == NULL)
		goto fail;
	lm_weights_init(&m->ws, tensors);
	m->info.pad_token_id = m->info.bos_token_id = m->info.eos_token_id = -1;
	m->info.unk_token_id = m->info.decoder_start_token_id = -1;
	if (read_architecture(m, cfg, err) < 0 ||
		read_cell(m, cfg, err) < 0 ||
		read_dimensions(m, cfg, &bias, err) < 0)
		goto fail;
	m->embedding = lm_weight_2d(&m->ws, err, m->info.vocab_size, m->info.embedding_dim,
								"embedding.weight");
	if (m->embedding == NULL)
		goto fail;
	if (m->info.task == LM_RNN_TASK_CLASSIFY ? build_classifier(m, cfg, bias, err) < 0
		: build_generator(m, cfg, bias, err) < 0)
		goto fail;
	m->info.n_params = m->ws.n_params;
	json_decref(cfg);
	return m;

fail:
	json_decref(cfg);
	lm_rnn_free(m);
	return NULL;
}

void
lm_rnn_free(LmRnnModel *m)
{
	if (m == NULL)
		return;
	if (m->labels != NULL)
		for (int i = 0; i < m->info.num_labels; i++)
			free(m->labels[i]);
	free(m->labels);
	free(m->architecture);
	lm_rnn_stack_free(&m->encoder);
	lm_rnn_stack_free(&m->decoder);
	lm_rnn_chars_free(&m->chars);
	lm_weights_free(&m->ws);
	free(m);
}

const LmRnnInfo *
lm_rnn_info(const LmRnnModel *m)
{
	return &m->info;
}

const char *
lm_rnn_label(const LmRnnModel *m, int i)
{
	if (m->labels == NULL || i < 0 || i >= m->info.num_labels)
		return NULL;
	return m->labels[i];
}

/* ----------------------------------------------------------------------------
 * The encoder side */

int
lm_rnn_check_ids(const LmRnnModel *m, const int32_t *ids, int n, LmError *err)
{
	int			max = m->info.max_length ? m->info.max_length : LM_RNN_MAX_TOKENS;

	if (ids == NULL || n <= 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the input has no tokens");
		lm_hint(err, "Pass at least one token id.");
		return -1;
	}
	if (n > max)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "input of %d tokens is longer than the model's limit of %d tokens",
				n, max);
		lm_hint(err, "Shorten the input, or truncate it to %d tokens.", max);
		return -1;
	}
	for (int i = 0; i < n; i++)
	{
		if (ids[i] < 0 || ids[i] >= m->info.vocab_size)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					"token id %d at position %d is outside the vocabulary (0..%d)",
					ids[i], i, m->info.vocab_size - 1);
			lm_hint(err, "Use ids from this model's own tokenizer.");
			return -1;
		}
	}
	return 0;
}

int
lm_rnn_run_encoder(const LmRnnModel *m, const int32_t *ids, int n, float *h_n, float *c_n,
				   LmError *err)
{
	int			emb = m->info.embedding_dim;
	float	   *x = lm_malloc((size_t) n * emb * sizeof(float), err);
	float	   *scratch = x ? lm_malloc(lm_rnn_run_scratch(&m->encoder, n) * sizeof(float), err) : NULL;
	int			rc = -1;

	if (scratch != NULL)
	{
		for (int t = 0; t < n; t++)
			memcpy(x + (size_t) t * emb, m->embedding + (size_t) ids[t] * emb,
				   emb * sizeof(float));
		rc = lm_rnn_stack_run(&m->encoder, x, n, NULL, NULL, NULL, h_n, c_n, scratch, err);
	}
	free(scratch);
	free(x);
	return rc;
}

int
lm_rnn_encode(const LmRnnModel *m, const int32_t *ids, int n, float *out, LmError *err)
{
	const LmRnnStack *s = &m->encoder;
	size_t		states = (size_t) s->num_layers * s->num_dirs * s->hidden_size;
	float	   *h_n;
	int			rc;

	if (lm_rnn_check_ids(m, ids, n, err) < 0)
		return -1;
	if ((h_n = lm_malloc(states * sizeof(float), err)) == NULL)
		return -1;
	rc = lm_rnn_run_encoder(m, ids, n, h_n, NULL, err);
	/* h_n's last layer: [forward, backward], already side by side */
	if (rc == 0)
		memcpy(out, h_n + states - m->info.encoding_size,
			   m->info.encoding_size * sizeof(float));
	free(h_n);
	return rc;
}

int
lm_rnn_classify(const LmRnnModel *m, const int32_t *ids, int n, float *logits, LmError *err)
{
	float	   *enc;
	int			rc;

	if (m->info.task != LM_RNN_TASK_CLASSIFY)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "classification needs a %s, and this model is a %s",
				ARCH_CLASSIFIER, m->info.architecture);
		lm_hint(err, "Use lm_rnn_generate with a generator.");
		return -1;
	}
	if ((enc = lm_malloc(m->info.encoding_size * sizeof(float), err)) == NULL)
		return -1;
	rc = lm_rnn_encode(m, ids, n, enc, err);
	if (rc == 0)
		lm_linear(logits, enc, m->head_w, m->head_b, 1, m->info.encoding_size,
				  m->info.num_labels, false);
	free(enc);
	return rc;
}

int
lm_rnn_similarity(const LmRnnModel *m, const int32_t *a, int na, const int32_t *b, int nb,
				  double *cosine, LmError *err)
{
	int			dim = m->info.encoding_size;
	float	   *ea = lm_malloc(2 * (size_t) dim * sizeof(float), err);
	float	   *eb = ea + dim;
	bool		defined;

	if (ea == NULL)
		return -1;
	if (lm_rnn_encode(m, a, na, ea, err) < 0 || lm_rnn_encode(m, b, nb, eb, err) < 0)
	{
		free(ea);
		return -1;
	}
	/* a zero encoding (all-ReLU-dead) has no direction: cosine 0 */
	*cosine = lm_cosine(ea, eb, dim, &defined);
	free(ea);
	return 0;
}
