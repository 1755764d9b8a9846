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
	const LmTaskModel *tm = lm_store_prepare_arg(fcinfo, LM_DO_EMBED, lm_pg_input_is_text(fcinfo, 1));
	LmInput		input = lm_pg_input(fcinfo, 1);
	LmFloats	v;
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_task_embed(tm, &input, &v, &err) != 0)
		lm_pg_raise(&err);
	lm_pg_own(v.v);
	PG_RETURN_ARRAYTYPE_P(lm_pg_float4_array(v.v, v.n));
}

Datum
pglm_similarity(PG_FUNCTION_ARGS)
{
	const LmTaskModel *tm = lm_store_prepare_arg(fcinfo, LM_DO_EMBED, lm_pg_input_is_text(fcinfo, 1));
	LmInput		a,
				b;
	double		cosine;
	bool		defined;
	LmError		err;

	/* both arguments have the same type: one preparation serves them */
	a = lm_pg_input(fcinfo, 1);
	b = lm_pg_input(fcinfo, 2);
	lm_pg_error_init(&err);
	if (lm_task_similarity(tm, &a, &b, &cosine, &defined, &err) != 0)
		lm_pg_raise(&err);
	if (!defined)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cosine);
}

/* Class probabilities of argument 1, best first, at most k. */
static LmScored
classify(FunctionCallInfo fcinfo, int k)
{
	const LmTaskModel *tm = lm_store_prepare_arg(fcinfo, LM_DO_CLASSIFY, lm_pg_input_is_text(fcinfo, 1));
	LmInput		input = lm_pg_input(fcinfo, 1);
	LmScored	scored;
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_task_classify(tm, &input, k, &scored, &err) != 0)
		lm_pg_raise(&err);
	lm_pg_own_scored(&scored);
	return scored;
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
	const LmTaskModel *tm = lm_store_prepare_arg(fcinfo, LM_DO_FILL_MASK, lm_pg_input_is_text(fcinfo, 1));
	text	   *input = PG_GETARG_TEXT_PP(1);
	LmScored	scored;
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_task_fill_mask(tm, VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), PG_GETARG_INT32(2),
						  &scored, &err) != 0)
		lm_pg_raise(&err);
	lm_pg_own_scored(&scored);
	lm_pg_scored_srf(fcinfo, &scored);
	return (Datum) 0;
}
