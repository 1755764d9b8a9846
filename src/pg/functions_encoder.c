/*
 * functions_encoder.c — lm_embed, lm_similarity, lm_classify,
 * lm_classify_scores and lm_fill_mask: each reads its arguments, calls one
 * engine task and builds the result.
 */
#include "pg/pg_lm.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pg/store.h"
#include "tasks/run.h"

/* lm_classify_scores lists at most this many labels (a fastText model may have many). */
#define LM_CLASSIFY_SCORES_MAX 1000

PG_FUNCTION_INFO_V1(pglm_embed);
PG_FUNCTION_INFO_V1(pglm_similarity);
PG_FUNCTION_INFO_V1(pglm_classify);
PG_FUNCTION_INFO_V1(pglm_classify_scores);
PG_FUNCTION_INFO_V1(pglm_fill_mask);

Datum
pglm_embed(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_EMBED, .input = lm_pg_input(fcinfo, 1)};
	LmRunResult *res = lm_pg_run(fcinfo, &req);

	PG_RETURN_ARRAYTYPE_P(lm_pg_float4_array(res->floats.v, res->floats.n));
}

Datum
pglm_similarity(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_SIMILARITY, .input = lm_pg_input(fcinfo, 1),
	.input2 = lm_pg_input(fcinfo, 2)};
	LmRunResult *res = lm_pg_run(fcinfo, &req);

	if (!res->defined)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(res->number);
}

/* Class probabilities of argument 1, best first, at most k. */
static LmScored
classify(FunctionCallInfo fcinfo, int k)
{
	LmRunRequest req = {.op = LM_RUN_CLASSIFY, .input = lm_pg_input(fcinfo, 1), .k = k};

	return lm_pg_run(fcinfo, &req)->scored;
}

Datum
pglm_classify(PG_FUNCTION_ARGS)
{
	LmScored	scored = classify(fcinfo, 1);

	/* a fastText classifier may find no label */
	if (scored.n == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(lm_pg_text(scored.labels[0], strlen(scored.labels[0])));
}

Datum
pglm_classify_scores(PG_FUNCTION_ARGS)
{
	LmScored	scored = classify(fcinfo, LM_CLASSIFY_SCORES_MAX);

	lm_pg_scored_srf(fcinfo, &scored);
	return (Datum) 0;
}

Datum
pglm_fill_mask(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(1);
	LmRunRequest req = {.op = LM_RUN_FILL_MASK,
		.input = LM_TEXT_INPUT(VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input)),
	.k = PG_GETARG_INT32(2)};

	lm_pg_scored_srf(fcinfo, &lm_pg_run(fcinfo, &req)->scored);
	return (Datum) 0;
}
