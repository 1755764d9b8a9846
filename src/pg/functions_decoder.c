/*
 * functions_decoder.c — lm_generate, lm_logits, lm_score, lm_perplexity and
 * zero-/few-shot lm_classify(model, text, labels, template, examples): each
 * reads its arguments, calls one engine task and builds the result.
 */
#include "pg/pg_lm.h"

#include "common/pg_prng.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "pg/store.h"
#include "tasks/run.h"

PG_FUNCTION_INFO_V1(pglm_generate);
PG_FUNCTION_INFO_V1(pglm_logits);
PG_FUNCTION_INFO_V1(pglm_score);
PG_FUNCTION_INFO_V1(pglm_perplexity);
PG_FUNCTION_INFO_V1(pglm_classify_labels);

/*
 * Arguments 2 to 7 of lm_generate and lm_chat: max_tokens, temperature,
 * top_k, top_p, seed (NULL: a new one), stop.
 */
LmGenerateRequest
lm_pg_generate_args(FunctionCallInfo fcinfo, const char *longer_what)
{
	LmGenerateRequest req = {0};

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_tokens, temperature, top_k and top_p must not be NULL")));
	req.max_tokens = PG_GETARG_INT32(2);
	req.sampling.temperature = PG_GETARG_FLOAT8(3);
	req.sampling.top_k = PG_GETARG_INT32(4);
	req.sampling.top_p = PG_GETARG_FLOAT8(5);
	req.sampling.seed = PG_ARGISNULL(6) ? pg_prng_uint64(&pg_global_prng_state) : (uint64) PG_GETARG_INT64(6);
	if (!PG_ARGISNULL(7))
		req.stops = lm_pg_text_array(PG_GETARG_ARRAYTYPE_P(7), "stop strings must not be NULL", &req.n_stops);
	lm_pg_check_max_tokens(req.max_tokens, longer_what);
	return req;
}

/* lm_generate(model, prompt, max_tokens, temperature, top_k, top_p, seed, stop) */
Datum
pglm_generate(PG_FUNCTION_ARGS)
{
	LmRunRequest run = {.op = LM_RUN_GENERATE};
	LmGenerateRequest req = {0};
	LmRunResult *res;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	req = lm_pg_generate_args(fcinfo, "generations");
	run.input = lm_pg_input(fcinfo, 1);
	run.generate = req;
	res = lm_pg_run(fcinfo, &run);
	PG_RETURN_TEXT_P(lm_pg_text(res->text, strlen(res->text)));
}

Datum
pglm_logits(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_LOGITS};
	int			n;
	int32	   *ids = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(1), false, &n);
	LmRunResult *res;

	req.input = LM_IDS_INPUT(ids, n);
	res = lm_pg_run(fcinfo, &req);
	PG_RETURN_ARRAYTYPE_P(lm_pg_float4_array(res->floats.v, res->floats.n));
}

Datum
pglm_score(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_SCORE, .input = lm_pg_input(fcinfo, 1)};

	PG_RETURN_FLOAT8(lm_pg_run(fcinfo, &req)->number);
}

Datum
pglm_perplexity(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_PERPLEXITY, .input = lm_pg_input(fcinfo, 1)};

	PG_RETURN_FLOAT8(lm_pg_run(fcinfo, &req)->number);
}

/* Few-shot examples: a jsonb array of {"text": ..., "label": ...} objects. */
static LmExample *
examples_arg(Jsonb *examples, int *n)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	LmExample  *out;
	LmExample	current = {NULL, NULL};
	char	   *key = NULL;
	int			depth = 0;

	if (!JB_ROOT_IS_ARRAY(examples) || JB_ROOT_IS_SCALAR(examples))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("examples must be a JSON array of {\"text\": ..., \"label\": ...} objects")));
	out = palloc(sizeof(LmExample) * Max(JB_ROOT_COUNT(examples), 1));
	*n = 0;
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
				current.text = pnstrdup(v.val.string.val, v.val.string.len);
			else if (strcmp(key, "label") == 0)
				current.label = pnstrdup(v.val.string.val, v.val.string.len);
		}
		else if (tok == WJB_END_OBJECT)
		{
			depth--;
			if (current.text == NULL || current.label == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("every example needs string fields \"text\" and \"label\"")));
			out[(*n)++] = current;
			current.text = current.label = NULL;
		}
		else if (depth == 1 && tok == WJB_ELEM)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("examples must be a JSON array of {\"text\": ..., \"label\": ...} objects")));
	}
	return out;
}

/* lm_classify(model, text, labels, template, examples) */
Datum
pglm_classify_labels(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_CLASSIFY_LABELS};
	text	   *input;
	const char **labels;
	LmRunResult *res;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	input = PG_GETARG_TEXT_PP(1);
	req.input = LM_TEXT_INPUT(text_to_cstring(input), VARSIZE_ANY_EXHDR(input));
	labels = lm_pg_text_array(PG_GETARG_ARRAYTYPE_P(2), "labels must not contain NULL", &req.n_labels);
	req.labels = labels;
	req.template = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
		req.examples = examples_arg(PG_GETARG_JSONB_P(4), &req.n_examples);
	res = lm_pg_run(fcinfo, &req);
	PG_RETURN_TEXT_P(cstring_to_text(labels[res->count]));
}
