/*
 * task_seq2seq.c — translation and text-to-text: encoder-decoder
 * transformers (T5, NLLB/M2M100, Marian) with language codes, greedy or beam
 * search, and RNN generators; and an encoder-decoder's next-token logits.
 */
#include "tasks/task_internal.h"

#include <stdlib.h>
#include <string.h>

/* The id of a language code, or -1 with an error naming it. */
static int32_t
language_id(const LmTaskModel *m, const char *code, const char *which, LmError *err)
{
	int32_t		id = m->tokenizer ? lm_tokenizer_token_to_id(m->tokenizer, code) : -1;
	const LmModelInfo *info = lm_model_info(m->transformer);
	bool		special = id >= 0 && (id == info->bos_token_id || id == info->pad_token_id ||
									  id == info->decoder_start_token_id);

	for (int i = 0; i < info->n_eos && !special; i++)
		special = id == info->eos_token_ids[i];
	/* a special token (</s>, <pad>, <s>) in a code's place would translate from or into nothing */
	if (special)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "\"%s\" is a special token of model \"%s\", not a %s language code",
				code, m->name, which);
		lm_hint(err, "Language codes name languages, such as eng_Latn or deu_Latn for NLLB models.");
		return -1;
	}
	if (id < 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "model \"%s\" does not know the %s language code \"%s\"",
				m->name, which, code);
		lm_hint(err, "Language codes are tokens of the model's vocabulary, such as eng_Latn or deu_Latn for NLLB models.");
	}
	return id;
}

/*
 * The source ids: with a source language, [code] text </s> as NLLB's
 * tokenizer builds them; otherwise the tokenizer's own special tokens, with
 * </s> appended when the tokenizer does not end with it.  Malloc'd.
 */
static int32_t *
source_ids(const LmTaskModel *m, const LmInput *input, const char *source_lang, int *n,
		   LmError *err)
{
	const LmModelInfo *info = lm_model_info(m->transformer);
	int32_t		eos = info->n_eos > 0 ? info->eos_token_ids[0] : -1;
	int32_t		lang = -1;
	LmEncoding	enc;
	int32_t    *out;
	int			at = 0;

	if (input->text == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "translation reads a text, not token ids");
		return NULL;
	}
	if (source_lang != NULL && (lang = language_id(m, source_lang, "source", err)) < 0)
		return NULL;
	if (lm_task_tokenize(m, input->text, input->len, source_lang == NULL, true, &enc, err) != 0)
		return NULL;
	if ((out = lm_malloc(sizeof(int32_t) * (enc.n + 2), err)) == NULL)
	{
		lm_encoding_free(&enc);
		return NULL;
	}
	if (source_lang != NULL)
		out[at++] = lang;
	memcpy(out + at, enc.ids, sizeof(int32_t) * enc.n);
	at += (int) enc.n;
	if (eos >= 0 && (source_lang != NULL || out[at - 1] != eos))
		out[at++] = eos;
	lm_encoding_free(&enc);
	*n = at;
	if (source_lang != NULL && at > info->max_positions)
	{
		free(out);
		lm_fail(err, LM_ERR_TOO_LONG, "text is %d tokens long, more than the %d positions of model \"%s\"",
				at, info->max_positions, m->name);
		lm_hint(err, "Translate sentence by sentence.");
		return NULL;
	}
	return out;
}

/* Generation settings: the model's defaults, then the request's. */
static int
seq2seq_params(const LmTaskModel *m, const LmTranslateRequest *req, LmSeq2SeqParams *params,
			   LmError *err)
{
	const char *gc = m->generation_config;

	if (lm_seq2seq_params_init(m->transformer, gc, gc ? strlen(gc) : 0, params, err) != 0)
		return -1;
	params->num_beams = req->beams;
	params->max_new_tokens = req->max_tokens;
	if (req->has_length_penalty)
		params->length_penalty = req->length_penalty;
	if (req->early_stopping != NULL)
	{
		if (strcmp(req->early_stopping, "true") == 0)
			params->early_stopping = LM_EARLY_STOPPING_ON;
		else if (strcmp(req->early_stopping, "false") == 0)
			params->early_stopping = LM_EARLY_STOPPING_HEURISTIC;
		else if (strcmp(req->early_stopping, "never") == 0)
			params->early_stopping = LM_EARLY_STOPPING_NEVER;
		else
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "early_stopping must be true, false or never, not \"%s\"",
					req->early_stopping);
			lm_hint(err, "These are transformers' values: true stops when num_beams hypotheses are done.");
			return -1;
		}
	}
	if (req->target_lang != NULL &&
		(params->forced_bos_token_id = language_id(m, req->target_lang, "target", err)) < 0)
		return -1;
	return 0;
}

static int
translate_transformer(const LmTaskModel *m, const LmInput *input, const LmTranslateRequest *req,
					  char **text_out, LmError *err)
{
	const LmModelInfo *info = m->transformer ? lm_model_info(m->transformer) : NULL;
	LmSeq2SeqParams params;
	int32_t    *src = NULL;
	int32_t    *out = NULL;
	int			n_src,
				n_out,
				first;
	int			rc = -1;

	if (info == NULL)
		return lm_task_wrong_kind(m, err);
	if (!info->encoder_decoder)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "lm_translate needs an encoder-decoder model, and \"%s\" is a %s model",
				m->name, lm_task_name(info->task));
		lm_hint(err, "Translation models are T5, NLLB (M2M100) and Marian checkpoints.");
		return -1;
	}
	if (req->beams < 1 || req->beams > LM_MAX_BEAMS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "beams must be between 1 and %d, got %d",
					   LM_MAX_BEAMS, req->beams);
	if (req->max_tokens < 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_tokens must be positive, got %d", req->max_tokens);
	/* without its code the source would be read as no language at all (NLLB puts it first) */
	if (req->target_lang != NULL && req->source_lang == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a target language needs a source language: source_lang is NULL");
		lm_hint(err, "Pass the language of the text, such as eng_Latn for NLLB models.");
		return -1;
	}
	if (seq2seq_params(m, req, &params, err) != 0 ||
		(src = source_ids(m, input, req->source_lang, &n_src, err)) == NULL ||
		(out = lm_malloc(sizeof(int32_t) * (req->max_tokens + 1), err)) == NULL ||
		lm_seq2seq_generate(m->transformer, src, n_src, &params, out, &n_out, err) != 0)
		goto finish;

	/*
	 * Drop the decoder start token and the final eos: converted tokenizers do
	 * not always mark them special, and they are not part of the text.
	 * Other special tokens are skipped in decoding.
	 */
	first = n_out > 0 && out[0] == params.decoder_start_token_id ? 1 : 0;
	for (int i = 0; i < params.n_eos && n_out > first; i++)
		if (out[n_out - 1] == params.eos_token_ids[i])
		{
			n_out--;
			break;
		}
	if ((*text_out = lm_task_detokenize(m, out + first, n_out - first, true, err)) != NULL)
		rc = 0;
finish:
	free(src);
	free(out);
	return rc;
}

static int
translate_rnn(const LmTaskModel *m, const LmInput *input, const LmTranslateRequest *req,
			  char **text_out, LmError *err)
{
	const LmRnnInfo *info = lm_rnn_info(m->rnn);
	const int32_t *ids;
	int32_t    *owned = NULL;
	int32_t    *out = NULL;
	int			n,
				n_out;
	int			rc = -1;

	if (info->task != LM_RNN_TASK_GENERATE)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "model \"%s\" is a %s, not a generator", m->name, info->architecture);
		lm_hint(err, "Classifiers serve lm_classify, lm_classify_scores, lm_embed and lm_similarity.");
		return -1;
	}
	if (req->source_lang != NULL || req->target_lang != NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "model \"%s\" has no language codes", m->name);
		lm_hint(err, "An RNN generator translates in the one direction it was trained for; pass NULL languages.");
		return -1;
	}
	if (req->beams < 1 || req->beams > LM_RNN_MAX_BEAMS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "beams must be between 1 and %d, got %d",
					   LM_RNN_MAX_BEAMS, req->beams);
	if (req->max_tokens < 1 || req->max_tokens > LM_RNN_MAX_NEW_TOKENS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_tokens must be between 1 and %d, got %d",
					   LM_RNN_MAX_NEW_TOKENS, req->max_tokens);
	if (lm_task_input_ids(m, input, true, &ids, &n, &owned, err) != 0 ||
		(out = lm_malloc(sizeof(int32_t) * req->max_tokens, err)) == NULL ||
		lm_rnn_generate(m->rnn, ids, n, req->max_tokens, req->beams, out, &n_out, err) != 0)
		goto finish;
	if (info->char_vocab)
		rc = lm_rnn_char_decode(m->rnn, out, n_out, text_out, NULL, err);
	else
	{
		if (n_out > 0 && out[n_out - 1] == info->eos_token_id)
			n_out--;
		rc = (*text_out = lm_task_detokenize(m, out, n_out, true, err)) == NULL ? -1 : 0;
	}
finish:
	free(owned);
	free(out);
	return rc;
}

int
lm_task_translate(const LmTaskModel *m, const LmInput *input, const LmTranslateRequest *req,
				  char **text_out, LmError *err)
{
	*text_out = NULL;
	if (m->kind->kind == LM_KIND_RNN)
		return translate_rnn(m, input, req, text_out, err);
	return translate_transformer(m, input, req, text_out, err);
}

int
lm_task_seq2seq_logits(const LmTaskModel *m, const int32_t *src_ids, int n_src,
					   const int32_t *dec_ids, int n_dec, LmFloats *out, LmError *err)
{
	const LmModelInfo *info = m->transformer ? lm_model_info(m->transformer) : NULL;

	memset(out, 0, sizeof(*out));
	if (info == NULL)
		return lm_task_wrong_kind(m, err);
	if (!info->encoder_decoder)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "lm_logits with source and decoder ids needs an encoder-decoder model, and \"%s\" is a %s model",
				m->name, lm_task_name(info->task));
		lm_hint(err, "Decoder-only models take lm_logits(model, ids).");
		return -1;
	}
	out->n = info->target_vocab_size;
	if ((out->v = lm_malloc(sizeof(float) * out->n, err)) == NULL ||
		lm_seq2seq_logits(m->transformer, src_ids, n_src, dec_ids, n_dec, false, out->v, err) != 0)
	{
		lm_floats_free(out);
		return -1;
	}
	return 0;
}
