/*
 * functions_decoder.c — lm_generate, lm_logits, lm_score, lm_perplexity and
 * zero-/few-shot lm_classify(model, text, labels, template, examples).
 */
#include "pg/pg_lm.h"

#include <math.h>
#include <stdlib.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "pg/ngram.h"
#include "pg/rnn.h"
#include "pg/seq2seq.h"
#include "pg/store.h"

PG_FUNCTION_INFO_V1(pglm_generate);
PG_FUNCTION_INFO_V1(pglm_logits);
PG_FUNCTION_INFO_V1(pglm_score);
PG_FUNCTION_INFO_V1(pglm_perplexity);
PG_FUNCTION_INFO_V1(pglm_classify_labels);

/* The default prompt of zero-shot classification; {text} is replaced. */
#define LM_DEFAULT_CLASSIFY_TEMPLATE "Text: {text}\nLabel:"

static LmStoredModel *
decoder_arg(FunctionCallInfo fcinfo, const char *function)
{
	LmStoredModel *m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	const LmModelInfo *info = lm_model_info(lm_store_model(m));

	if (!info->causal)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s needs a generative (causal) language model, and \"%s\" is a %s model",
						function, m->name, lm_task_name(info->task)),
				 errhint("Encoders serve lm_embed, lm_similarity, lm_classify and lm_fill_mask.")));
	return m;
}

static bool
is_eos(const LmModelInfo *info, int32 id)
{
	for (int i = 0; i < info->n_eos; i++)
		if (info->eos_token_ids[i] == id)
			return true;
	return false;
}

/* Decode ids (skipping special tokens) into a palloc'd, verified string. */
static char *
decode_ids(LmStoredModel *m, const int32 *ids, int n)
{
	LmError		err;
	char	   *s;
	char	   *result;

	lm_error_clear(&err);
	s = lm_tokenizer_decode(lm_store_tokenizer(m), ids, n, true, &err);
	if (s == NULL)
		lm_pg_raise(&err);
	result = pstrdup(s);
	free(s);
	return result;
}

/* Where the first of the stop strings occurs in s, or -1. */
static int
find_stop(const char *s, Datum *stops, int n_stops)
{
	int			best = -1;

	for (int i = 0; i < n_stops; i++)
	{
		char	   *stop = TextDatumGetCString(stops[i]);
		char	   *at = stop[0] ? strstr(s, stop) : NULL;

		if (at != NULL && (best < 0 || at - s < best))
			best = at - s;
	}
	return best;
}

Datum
pglm_generate(PG_FUNCTION_ARGS)
{
	LmStoredModel *m;
	const LmModel *model;
	const LmModelInfo *info;
	int			max_tokens = PG_GETARG_INT32(2);
	LmSamplingParams params;
	Datum	   *stops = NULL;
	int			n_stops = 0;
	int			n_prompt;
	int32	   *prompt;
	int32	   *out;
	int			n_out = 0;
	float	   *logits = NULL;
	LmDecoder  *dec = NULL;
	LmSampler	sampler;
	bool		sampler_ready = false;
	LmError		err;
	char	   *result = NULL;
	int			stop_at = -1;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_tokens, temperature, top_k and top_p must not be NULL")));
	params.temperature = PG_GETARG_FLOAT8(3);
	params.top_k = PG_GETARG_INT32(4);
	params.top_p = PG_GETARG_FLOAT8(5);
	params.seed = PG_ARGISNULL(6) ? pg_prng_uint64(&pg_global_prng_state) : (uint64) PG_GETARG_INT64(6);
	if (max_tokens < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens must not be negative, got %d", max_tokens)));
	if (max_tokens > lm_guc_max_tokens)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens %d exceeds pg_lm.max_tokens (%d)", max_tokens, lm_guc_max_tokens),
				 errhint("Raise pg_lm.max_tokens to allow longer generations.")));
	if (!(params.temperature >= 0) || isinf(params.temperature))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("temperature must be 0 (greedy) or positive, got %g", params.temperature)));
	if (params.top_k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be 0 (no limit) or positive, got %d", params.top_k)));
	if (!(params.top_p > 0 && params.top_p <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_p must be in (0, 1], got %g", params.top_p)));
	if (!PG_ARGISNULL(7))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(7);
		bool	   *nulls;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &stops, &nulls, &n_stops);
		for (int i = 0; i < n_stops; i++)
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("stop strings must not be NULL")));
	}

	m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (lm_pg_is_rnn(m))
	{
		if (params.temperature != 0 || n_stops > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("sampling and stop strings are not supported for RNN generators")));
		if (max_tokens == 0)
			PG_RETURN_TEXT_P(cstring_to_text(""));
		PG_RETURN_TEXT_P(lm_pg_rnn_generate(m, PG_GETARG_TEXT_PP(1), 1, max_tokens));
	}
	if (lm_model_info(lm_store_model(m))->encoder_decoder)
	{
		/* text-to-text, greedy (lm_translate offers beam search) */
		if (params.temperature != 0 || n_stops > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("sampling and stop strings are not supported for encoder-decoder models")));
		if (max_tokens == 0)
			PG_RETURN_TEXT_P(cstring_to_text(""));
		PG_RETURN_TEXT_P(lm_pg_seq2seq_generate(m, PG_GETARG_TEXT_PP(1), NULL, NULL, 1, max_tokens,
												NULL, NULL));
	}
	m = decoder_arg(fcinfo, "lm_generate");
	model = lm_store_model(m);
	info = lm_model_info(model);
	prompt = lm_store_encode(m, PG_GETARG_TEXT_PP(1), true, &n_prompt);
	out = palloc(sizeof(int32) * Max(max_tokens, 1));
	if (max_tokens == 0)
		PG_RETURN_TEXT_P(cstring_to_text(""));

	lm_error_clear(&err);
	PG_TRY();
	{
		logits = malloc(sizeof(float) * info->vocab_size);
		dec = lm_decoder_start(model, Min(n_prompt + max_tokens, info->max_positions), &err);
		if (logits == NULL || dec == NULL)
			lm_pg_raise(&err);
		if (lm_sampler_init(&sampler, info->vocab_size, &params, &err) != 0)
			lm_pg_raise(&err);
		sampler_ready = true;
		if (lm_decoder_feed(dec, prompt, n_prompt, logits, &err) != 0)
			lm_pg_raise(&err);
		while (n_out < max_tokens)
		{
			int32		id = lm_sampler_next(&sampler, logits);

			CHECK_FOR_INTERRUPTS();
			if (is_eos(info, id))
				break;
			out[n_out++] = id;
			if (n_stops > 0)
			{
				result = decode_ids(m, out, n_out);
				if ((stop_at = find_stop(result, stops, n_stops)) >= 0)
					break;
			}
			/* The context is full: generation ends here. */
			if (n_out == max_tokens || lm_decoder_position(dec) >= info->max_positions)
				break;
			if (lm_decoder_step(dec, id, logits, &err) != 0)
				lm_pg_raise(&err);
		}
	}
	PG_FINALLY();
	{
		if (sampler_ready)
			lm_sampler_free(&sampler);
		lm_decoder_free(dec);
		free(logits);
	}
	PG_END_TRY();

	result = decode_ids(m, out, n_out);
	if (n_stops > 0 && (stop_at = find_stop(result, stops, n_stops)) >= 0)
		result[stop_at] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

Datum
pglm_logits(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = decoder_arg(fcinfo, "lm_logits");
	const LmModel *model = lm_store_model(m);
	const LmModelInfo *info = lm_model_info(model);
	int			n;
	int32	   *ids = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(1), false, &n);
	float	   *logits;
	Datum	   *out;
	LmError		err;

	if (n > info->max_positions)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%d token ids are more than the %d positions of model \"%s\"",
						n, info->max_positions, m->name)));
	logits = palloc(sizeof(float) * info->vocab_size);
	lm_error_clear(&err);
	if (lm_model_logits(model, ids, n, false, logits, &err) != 0)
		lm_pg_raise(&err);
	out = palloc(sizeof(Datum) * info->vocab_size);
	for (int i = 0; i < info->vocab_size; i++)
		out[i] = Float4GetDatum(logits[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, info->vocab_size, FLOAT4OID, 4, true, TYPALIGN_INT));
}

/* Sum of log-probabilities of a text's tokens after the first. */
static double
score_text(LmStoredModel *m, text *input, int *n_scored)
{
	int			n;
	int32	   *ids = lm_store_encode(m, input, true, &n);
	double		sum;
	LmError		err;

	lm_error_clear(&err);
	if (lm_model_score(lm_store_model(m), ids, n, &sum, n_scored, &err) != 0)
		lm_pg_raise(&err);
	return sum;
}

/* The model named by the first argument when it is an n-gram model, else NULL. */
static LmStoredModel *
ngram_arg(FunctionCallInfo fcinfo)
{
	LmStoredModel *m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	return strcmp(m->architecture, LM_ARCH_NGRAM) == 0 ? m : NULL;
}

Datum
pglm_score(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = ngram_arg(fcinfo);
	int			n_scored;

	if (m != NULL)
		PG_RETURN_FLOAT8(lm_pg_ngram_score(m, PG_GETARG_TEXT_PP(1), &n_scored));
	m = decoder_arg(fcinfo, "lm_score");

	PG_RETURN_FLOAT8(score_text(m, PG_GETARG_TEXT_PP(1), &n_scored));
}

Datum
pglm_perplexity(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = ngram_arg(fcinfo);
	int			n_scored;
	double		sum;

	if (m != NULL)
		PG_RETURN_FLOAT8(lm_pg_ngram_perplexity(m, PG_GETARG_TEXT_PP(1)));
	m = decoder_arg(fcinfo, "lm_perplexity");
	sum = score_text(m, PG_GETARG_TEXT_PP(1), &n_scored);

	if (n_scored == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text has a single token: perplexity needs at least two"),
				 errhint("The first token is given, not predicted.")));
	PG_RETURN_FLOAT8(exp(-sum / n_scored));
}

/* template with every {text} replaced by the text. */
static char *
fill_template(const char *template, const char *input)
{
	StringInfoData buf;
	const char *p = template;
	const char *at;

	initStringInfo(&buf);
	while ((at = strstr(p, "{text}")) != NULL)
	{
		appendBinaryStringInfo(&buf, p, at - p);
		appendStringInfoString(&buf, input);
		p = at + strlen("{text}");
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

/* log p(continuation | prefix) = score(prefix + continuation) - score(prefix). */
static double
continuation_logprob(LmStoredModel *m, const char *prefix, const char *continuation)
{
	char	   *full = psprintf("%s%s", prefix, continuation);
	int			n_scored;
	double		with = score_text(m, cstring_to_text(full), &n_scored);
	double		without = score_text(m, cstring_to_text(prefix), &n_scored);

	return with - without;
}

Datum
pglm_classify_labels(PG_FUNCTION_ARGS)
{
	LmStoredModel *m;
	char	   *input;
	ArrayType  *labels_arr;
	const char *template;
	Datum	   *labels;
	bool	   *nulls;
	int			n_labels;
	StringInfoData prompt;
	int			best = -1;
	double		best_score = -INFINITY;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	m = decoder_arg(fcinfo, "lm_classify(model, text, labels)");
	input = text_to_cstring(PG_GETARG_TEXT_PP(1));
	labels_arr = PG_GETARG_ARRAYTYPE_P(2);
	template = PG_ARGISNULL(3) ? LM_DEFAULT_CLASSIFY_TEMPLATE : text_to_cstring(PG_GETARG_TEXT_PP(3));
	deconstruct_array(labels_arr, TEXTOID, -1, false, TYPALIGN_INT, &labels, &nulls, &n_labels);
	if (n_labels == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must not be empty")));
	if (strstr(template, "{text}") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template must contain {text}"),
				 errhint("For example: 'Movie review: {text}\\nSentiment:'")));

	/* Few-shot examples: a jsonb array of {"text": ..., "label": ...}. */
	initStringInfo(&prompt);
	if (!PG_ARGISNULL(4))
	{
		Jsonb	   *examples = PG_GETARG_JSONB_P(4);
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;
		char	   *ex_text = NULL;
		char	   *ex_label = NULL;
		char	   *key = NULL;
		int			depth = 0;

		if (!JB_ROOT_IS_ARRAY(examples) || JB_ROOT_IS_SCALAR(examples))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("examples must be a JSON array of {\"text\": ..., \"label\": ...} objects")));
		it = JsonbIteratorInit(&examples->root);
		while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
		{
			if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
				depth++;
			else if (tok == WJB_END_ARRAY)
				depth--;
			else if (tok == WJB_KEY)
				key = pnstrdup(v.val.string.val, v.val.string.len);
			else if (tok == WJB_VALUE && depth == 2 && key && v.type == jbvString)
			{
				if (strcmp(key, "text") == 0)
					ex_text = pnstrdup(v.val.string.val, v.val.string.len);
				else if (strcmp(key, "label") == 0)
					ex_label = pnstrdup(v.val.string.val, v.val.string.len);
			}
			else if (tok == WJB_END_OBJECT)
			{
				depth--;
				if (ex_text == NULL || ex_label == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("every example needs string fields \"text\" and \"label\"")));
				appendStringInfo(&prompt, "%s %s\n\n", fill_template(template, ex_text), ex_label);
				ex_text = ex_label = NULL;
			}
			else if (depth == 1 && tok == WJB_ELEM)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("examples must be a JSON array of {\"text\": ..., \"label\": ...} objects")));
		}
	}
	appendStringInfoString(&prompt, fill_template(template, input));

	for (int i = 0; i < n_labels; i++)
	{
		char	   *label;
		double		s;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("labels must not contain NULL")));
		CHECK_FOR_INTERRUPTS();
		label = TextDatumGetCString(labels[i]);
		s = continuation_logprob(m, prompt.data, psprintf(" %s", label));
		if (s > best_score)
		{
			best_score = s;
			best = i;
		}
	}
	PG_RETURN_DATUM(labels[best]);
}
