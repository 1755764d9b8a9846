/*
 * hf_model.c — choosing the tokenizer.json model by its "type" (BPE,
 * WordPiece, WordLevel, Unigram) and dispatching to it.
 */
#include "tokenizer/hf_models.h"

#include <stdlib.h>
#include <string.h>

typedef enum ModelKind
{
	MODEL_BPE,
	MODEL_WORDPIECE,
	MODEL_WORDLEVEL,
	MODEL_UNIGRAM
} ModelKind;

static const HfKindName model_names[] = {
	{"BPE", MODEL_BPE},
	{"WordPiece", MODEL_WORDPIECE},
	{"WordLevel", MODEL_WORDLEVEL},
	{"Unigram", MODEL_UNIGRAM},
};

struct HfModel
{
	ModelKind	kind;
	void	   *impl;
	const HfVocab *vocab;
};

/* Older files omit the type; these fields tell the models apart. */
static const char *
guess_type(const json_t *json)
{
	if (json_object_get(json, "merges"))
		return "BPE";
	if (json_is_array(json_object_get(json, "vocab")))
		return "Unigram";
	if (json_object_get(json, "continuing_subword_prefix") ||
		json_object_get(json, "max_input_chars_per_word"))
		return "WordPiece";
	return NULL;
}

HfModel *
hf_model_parse(const json_t *json, LmError *err)
{
	const char *type;
	HfModel    *model;
	int			kind;

	if (!json_is_object(json))
	{
		lm_fail(err, LM_ERR_CORRUPT, "field \"model\" must be an object");
		return NULL;
	}
	type = hf_json_type(json);
	if (type == NULL)
		type = guess_type(json);
	if (type == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "model has no \"type\"");
		return NULL;
	}
	if (hf_kind_lookup(type, model_names, HF_KINDS_LENGTH(model_names), "model", &kind, err) != 0)
		return NULL;
	model = lm_calloc(1, sizeof(HfModel), err);
	if (model == NULL)
		return NULL;
	model->kind = (ModelKind) kind;
	switch (model->kind)
	{
		case MODEL_BPE:
			model->impl = hf_bpe_parse(json, err);
			model->vocab = model->impl ? hf_bpe_vocab(model->impl) : NULL;
			break;
		case MODEL_WORDPIECE:
			model->impl = hf_wordpiece_parse(json, err);
			model->vocab = model->impl ? hf_wordpiece_vocab(model->impl) : NULL;
			break;
		case MODEL_WORDLEVEL:
			model->impl = hf_wordlevel_parse(json, err);
			model->vocab = model->impl ? hf_wordlevel_vocab(model->impl) : NULL;
			break;
		case MODEL_UNIGRAM:
			model->impl = hf_unigram_parse(json, err);
			model->vocab = model->impl ? hf_unigram_vocab(model->impl) : NULL;
			break;
	}
	if (model->impl == NULL)
	{
		free(model);
		return NULL;
	}
	return model;
}

void
hf_model_free(HfModel *model)
{
	if (model == NULL)
		return;
	switch (model->kind)
	{
		case MODEL_BPE:
			hf_bpe_free(model->impl);
			break;
		case MODEL_WORDPIECE:
			hf_wordpiece_free(model->impl);
			break;
		case MODEL_WORDLEVEL:
			hf_wordlevel_free(model->impl);
			break;
		case MODEL_UNIGRAM:
			hf_unigram_free(model->impl);
			break;
	}
	free(model);
}

int
hf_model_tokenize(const HfModel *model, const char *word, size_t len, LmEncoding *out,
				  LmError *err)
{
	switch (model->kind)
	{
		case MODEL_BPE:
			return hf_bpe_tokenize(model->impl, word, len, out, err);
		case MODEL_WORDPIECE:
			return hf_wordpiece_tokenize(model->impl, word, len, out, err);
		case MODEL_WORDLEVEL:
			return hf_wordlevel_tokenize(model->impl, word, len, out, err);
		case MODEL_UNIGRAM:
			return hf_unigram_tokenize(model->impl, word, len, out, err);
	}
	return lm_fail(err, LM_ERR_INTERNAL, "unhandled model kind %d", (int) model->kind);
}

int32_t
hf_model_vocab_count(const HfModel *model)
{
	/* Unigram counts every entry, duplicates included. */
	return model->kind == MODEL_UNIGRAM ? model->vocab->id_limit : model->vocab->count;
}

int32_t
hf_model_id_limit(const HfModel *model)
{
	return model->vocab->id_limit;
}

const char *
hf_model_id_to_token(const HfModel *model, int32_t id, size_t *len)
{
	if (id < 0 || id >= model->vocab->id_limit || model->vocab->tokens[id] == NULL)
		return NULL;
	if (len)
		*len = model->vocab->token_lens[id];
	return model->vocab->tokens[id];
}

bool
hf_model_token_to_id(const HfModel *model, const char *token, size_t len, int32_t *id)
{
	return hf_vocab_get(model->vocab, token, len, id);
}
