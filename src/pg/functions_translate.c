/*
 * functions_translate.c — lm_translate, and lm_generate's text-to-text path
 * for encoder-decoder models (T5, NLLB/M2M100, Marian).
 */
#include "pg/pg_lm.h"

#include <stdlib.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pg/rnn.h"
#include "pg/seq2seq.h"
#include "pg/store.h"

PG_FUNCTION_INFO_V1(pglm_translate);
PG_FUNCTION_INFO_V1(pglm_seq2seq_logits);

/* Most beams lm_translate accepts. */
#define LM_MAX_BEAMS 64

/* The id of a language code, or ERROR naming it. */
static int32
language_id(LmStoredModel *m, const char *code, const char *which)
{
	int32		id = lm_tokenizer_token_to_id(lm_store_tokenizer(m), code);

	if (id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" does not know the %s language code \"%s\"", m->name, which, code),
				 errhint("Language codes are tokens of the model's vocabulary, such as eng_Latn or deu_Latn for NLLB models.")));
	return id;
}

/*
 * The source ids: with a source language, [code] text </s> as NLLB's
 * tokenizer builds them; otherwise the tokenizer's own special tokens, with
 * </s> appended when the tokenizer does not end with it.
 */
static int32 *
source_ids(LmStoredModel *m, text *input, const char *source_lang, int *n)
{
	const LmModelInfo *info = lm_model_info(lm_store_model(m));
	int			n_text;
	int32	   *ids;
	int32	   *out;
	int32		eos = info->n_eos > 0 ? info->eos_token_ids[0] : -1;

	if (source_lang == NULL)
	{
		ids = lm_store_encode(m, input, true, &n_text);
		if (eos < 0 || ids[n_text - 1] == eos)
		{
			*n = n_text;
			return ids;
		}
		out = palloc(sizeof(int32) * (n_text + 1));
		memcpy(out, ids, sizeof(int32) * n_text);
		out[n_text] = eos;
		*n = n_text + 1;
		return out;
	}
	ids = lm_store_encode(m, input, false, &n_text);
	out = palloc(sizeof(int32) * (n_text + 2));
	out[0] = language_id(m, source_lang, "source");
	memcpy(out + 1, ids, sizeof(int32) * n_text);
	*n = n_text + 1;
	if (eos >= 0)
		out[(*n)++] = eos;
	if (*n > info->max_positions)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text is %d tokens long, more than the %d positions of model \"%s\"",
						*n, info->max_positions, m->name),
				 errhint("Translate sentence by sentence.")));
	return out;
}

text *
lm_pg_seq2seq_generate(LmStoredModel *m, text *input, const char *source_lang,
					   const char *target_lang, int beams, int max_tokens,
					   const double *length_penalty, const char *early_stopping)
{
	const LmModel *model = lm_store_model(m);
	const LmModelInfo *info = lm_model_info(model);
	LmSeq2SeqParams params;
	LmError		err;
	int			n_src;
	int32	   *src;
	int32	   *out;
	int			n_out;
	int			first;
	char	   *decoded;
	text	   *result;

	if (!info->encoder_decoder)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("lm_translate needs an encoder-decoder model, and \"%s\" is a %s model",
						m->name, lm_task_name(info->task)),
				 errhint("Translation models are T5, NLLB (M2M100) and Marian checkpoints.")));
	if (beams < 1 || beams > LM_MAX_BEAMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("beams must be between 1 and %d, got %d", LM_MAX_BEAMS, beams)));
	if (max_tokens < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens must be positive, got %d", max_tokens)));
	if (max_tokens > lm_guc_max_tokens)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens %d exceeds pg_lm.max_tokens (%d)", max_tokens, lm_guc_max_tokens),
				 errhint("Raise pg_lm.max_tokens to allow longer outputs.")));
	lm_error_clear(&err);
	if (lm_seq2seq_params_init(model, m->generation_config,
							   m->generation_config ? strlen(m->generation_config) : 0,
							   &params, &err) != 0)
		lm_pg_raise(&err);
	params.num_beams = beams;
	params.max_new_tokens = max_tokens;
	if (length_penalty != NULL)
		params.length_penalty = *length_penalty;
	if (early_stopping != NULL)
	{
		if (strcmp(early_stopping, "true") == 0)
			params.early_stopping = LM_EARLY_STOPPING_ON;
		else if (strcmp(early_stopping, "false") == 0)
			params.early_stopping = LM_EARLY_STOPPING_HEURISTIC;
		else if (strcmp(early_stopping, "never") == 0)
			params.early_stopping = LM_EARLY_STOPPING_NEVER;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("early_stopping must be true, false or never, not \"%s\"", early_stopping),
					 errhint("These are transformers' values: true stops when num_beams hypotheses are done.")));
	}
	if (target_lang != NULL)
		params.forced_bos_token_id = language_id(m, target_lang, "target");
	src = source_ids(m, input, source_lang, &n_src);
	out = palloc(sizeof(int32) * (max_tokens + 1));
	if (lm_seq2seq_generate(model, src, n_src, &params, out, &n_out, &err) != 0)
		lm_pg_raise(&err);
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
	decoded = lm_tokenizer_decode(lm_store_tokenizer(m), out + first, n_out - first, true, &err);
	if (decoded == NULL)
		lm_pg_raise(&err);
	result = cstring_to_text(decoded);
	free(decoded);
	return result;
}

Datum
pglm_translate(PG_FUNCTION_ARGS)
{
	LmStoredModel *m;
	double		length_penalty = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("beams and max_tokens must not be NULL")));
	m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (lm_pg_is_rnn(m))
	{
		if (!PG_ARGISNULL(2) || !PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" has no language codes", m->name),
					 errhint("An RNN generator translates in the one direction it was trained for; pass NULL languages.")));
		PG_RETURN_TEXT_P(lm_pg_rnn_generate(m, PG_GETARG_TEXT_PP(1), PG_GETARG_INT32(4), PG_GETARG_INT32(5)));
	}
	if (!PG_ARGISNULL(6))
		length_penalty = PG_GETARG_FLOAT8(6);
	PG_RETURN_TEXT_P(lm_pg_seq2seq_generate(m, PG_GETARG_TEXT_PP(1),
											PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
											PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)),
											PG_GETARG_INT32(4), PG_GETARG_INT32(5),
											PG_ARGISNULL(6) ? NULL : &length_penalty,
											PG_ARGISNULL(7) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(7))));
}

/*
 * lm_logits(model, source_ids, decoder_ids): an encoder-decoder's next-token
 * logits after decoder_ids (which start with the decoder start token), the
 * source encoded from source_ids.
 */
Datum
pglm_seq2seq_logits(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	const LmModel *model = lm_store_model(m);
	const LmModelInfo *info = lm_model_info(model);
	int			n_src;
	int			n_dec;
	int32	   *src;
	int32	   *dec;
	float	   *logits;
	Datum	   *out;
	LmError		err;

	if (!info->encoder_decoder)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("lm_logits with source and decoder ids needs an encoder-decoder model, and \"%s\" is a %s model",
						m->name, lm_task_name(info->task)),
				 errhint("Decoder-only models take lm_logits(model, ids).")));
	src = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(1), false, &n_src);
	dec = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(2), false, &n_dec);
	logits = palloc(sizeof(float) * info->target_vocab_size);
	lm_error_clear(&err);
	if (lm_seq2seq_logits(model, src, n_src, dec, n_dec, false, logits, &err) != 0)
		lm_pg_raise(&err);
	out = palloc(sizeof(Datum) * info->target_vocab_size);
	for (int i = 0; i < info->target_vocab_size; i++)
		out[i] = Float4GetDatum(logits[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, info->target_vocab_size, FLOAT4OID, 4, true,
										  TYPALIGN_INT));
}
