/*
 * functions_metrics.c — translation quality and memorisation measures:
 * lm_chrf, lm_bleu, their corpus-level aggregates, lm_lcs, and lm_cosine
 * of two vectors.
 *
 * The aggregates sum sufficient statistics row by row (as sacrebleu's corpus
 * scores do) and compute the score once at the end; the state is a float8[]
 * so that parallel workers can combine theirs by adding.
 */
#include "pg/pg_lm.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "metrics/bleu.h"
#include "metrics/chrf.h"
#include "metrics/cosine.h"
#include "metrics/lcs.h"

PG_FUNCTION_INFO_V1(pglm_chrf);
PG_FUNCTION_INFO_V1(pglm_bleu);
PG_FUNCTION_INFO_V1(pglm_lcs);
PG_FUNCTION_INFO_V1(pglm_cosine);
PG_FUNCTION_INFO_V1(pglm_chrf_agg_step);
PG_FUNCTION_INFO_V1(pglm_chrf_agg_final);
PG_FUNCTION_INFO_V1(pglm_bleu_agg_step);
PG_FUNCTION_INFO_V1(pglm_bleu_agg_final);
PG_FUNCTION_INFO_V1(pglm_chrf_agg_combine);
PG_FUNCTION_INFO_V1(pglm_bleu_agg_combine);

/* chrF state: char_order, word_order, beta, then the statistics. */
#define CHRF_HEADER 3

static void
check_chrf_args(int char_order, int word_order, double beta)
{
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_chrf_check_args(char_order, word_order, beta, &err) != 0)
		lm_pg_raise(&err);
}

Datum
pglm_chrf(PG_FUNCTION_ARGS)
{
	char	   *hyp = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *ref = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			char_order = PG_GETARG_INT32(2);
	int			word_order = PG_GETARG_INT32(3);
	double		beta = PG_GETARG_FLOAT8(4);
	double		score;
	LmError		err;

	check_chrf_args(char_order, word_order, beta);
	lm_pg_error_init(&err);
	if (lm_chrf(hyp, ref, char_order, word_order, beta, &score, &err) != 0)
		lm_pg_raise(&err);
	PG_RETURN_FLOAT8(score);
}

Datum
pglm_bleu(PG_FUNCTION_ARGS)
{
	char	   *hyp = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *ref = text_to_cstring(PG_GETARG_TEXT_PP(1));
	double		score;
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_bleu(hyp, ref, &score, &err) != 0)
		lm_pg_raise(&err);
	PG_RETURN_FLOAT8(score);
}

Datum
pglm_lcs(PG_FUNCTION_ARGS)
{
	char	   *a = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *b = text_to_cstring(PG_GETARG_TEXT_PP(1));
	LmError		err;
	int64		n;

	lm_pg_error_init(&err);
	n = lm_lcs_words(a, b, &err);
	if (n < 0)
		lm_pg_raise(&err);
	PG_RETURN_INT64(n);
}

/* The elements of a real[] argument: one dimension, no NULLs. */
static float *
vector_arg(ArrayType *arr, int *n)
{
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("lm_cosine takes one-dimensional arrays")));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lm_cosine's vectors must not contain NULL")));
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	lm_pg_check_finite((float *) ARR_DATA_PTR(arr), *n, "lm_cosine");
	return (float *) ARR_DATA_PTR(arr);
}

/* Cosine of two real[] vectors of one length; NULL when either is zero or empty. */
Datum
pglm_cosine(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	float	   *a = vector_arg(PG_GETARG_ARRAYTYPE_P(0), &na);
	float	   *b = vector_arg(PG_GETARG_ARRAYTYPE_P(1), &nb);
	bool		defined;
	double		cosine;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("vectors of %d and %d elements have no cosine", na, nb),
				 errhint("Compare vectors of the same model.")));
	cosine = lm_cosine(a, b, na, &defined);
	if (!defined)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cosine);
}

/* A float8[] of n zeros. */
static ArrayType *
zeros(int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(0);
	return construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* The state array's values (a copy we may change in an aggregate). */
static double *
state_values(ArrayType *state, int *n)
{
	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		elog(ERROR, "pg_lm: malformed aggregate state");
	*n = ArrayGetNItems(ARR_NDIM(state), ARR_DIMS(state));
	return (double *) ARR_DATA_PTR(state);
}

/* The aggregate's state, made writable in its memory context. */
static ArrayType *
writable_state(FunctionCallInfo fcinfo, ArrayType *initial)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "pg_lm: aggregate function called in non-aggregate context");
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);
		ArrayType  *copy = DatumGetArrayTypePCopy(PointerGetDatum(initial));

		MemoryContextSwitchTo(old);
		return copy;
	}
	return PG_GETARG_ARRAYTYPE_P(0);
}

Datum
pglm_chrf_agg_step(PG_FUNCTION_ARGS)
{
	int			char_order = PG_NARGS() > 3 && !PG_ARGISNULL(3) ? PG_GETARG_INT32(3) : LM_CHRF_DEFAULT_CHAR_ORDER;
	int			word_order = PG_NARGS() > 4 && !PG_ARGISNULL(4) ? PG_GETARG_INT32(4) : LM_CHRF_DEFAULT_WORD_ORDER;
	double		beta = PG_NARGS() > 5 && !PG_ARGISNULL(5) ? PG_GETARG_FLOAT8(5) : LM_CHRF_DEFAULT_BETA;
	int			n_stats;
	ArrayType  *state;
	double	   *values;
	int			n;
	double	   *stats;
	LmError		err;

	check_chrf_args(char_order, word_order, beta);
	n_stats = LM_CHRF_N_STATS(char_order, word_order);
	state = writable_state(fcinfo, PG_ARGISNULL(0) ? zeros(CHRF_HEADER + n_stats) : NULL);
	values = state_values(state, &n);
	if (PG_ARGISNULL(0))
	{
		values[0] = char_order;
		values[1] = word_order;
		values[2] = beta;
	}
	else if (n != CHRF_HEADER + n_stats ||
			 values[0] != char_order || values[1] != word_order || values[2] != beta)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lm_chrf_agg: char_order, word_order and beta must be the same on every row")));
	/* NULL hypotheses or references are skipped, as other aggregates skip NULLs. */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(state);
	stats = palloc(sizeof(double) * n_stats);
	lm_pg_error_init(&err);
	if (lm_chrf_stats(text_to_cstring(PG_GETARG_TEXT_PP(1)), text_to_cstring(PG_GETARG_TEXT_PP(2)),
					  char_order, word_order, stats, &err) != 0)
		lm_pg_raise(&err);
	for (int i = 0; i < n_stats; i++)
		values[CHRF_HEADER + i] += stats[i];
	PG_RETURN_ARRAYTYPE_P(state);
}

Datum
pglm_chrf_agg_final(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *values;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	values = state_values(PG_GETARG_ARRAYTYPE_P(0), &n);
	if (n < CHRF_HEADER || n != CHRF_HEADER + LM_CHRF_N_STATS((int) values[0], (int) values[1]))
		elog(ERROR, "pg_lm: malformed chrF state");
	PG_RETURN_FLOAT8(lm_chrf_from_stats(values + CHRF_HEADER, (int) values[0], (int) values[1], values[2]));
}

Datum
pglm_bleu_agg_step(PG_FUNCTION_ARGS)
{
	ArrayType  *state = writable_state(fcinfo, PG_ARGISNULL(0) ? zeros(LM_BLEU_N_STATS) : NULL);
	int			n;
	double	   *values = state_values(state, &n);
	double		stats[LM_BLEU_N_STATS];
	LmError		err;

	if (n != LM_BLEU_N_STATS)
		elog(ERROR, "pg_lm: malformed BLEU state");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(state);
	lm_pg_error_init(&err);
	if (lm_bleu_stats(text_to_cstring(PG_GETARG_TEXT_PP(1)), text_to_cstring(PG_GETARG_TEXT_PP(2)),
					  stats, &err) != 0)
		lm_pg_raise(&err);
	for (int i = 0; i < LM_BLEU_N_STATS; i++)
		values[i] += stats[i];
	PG_RETURN_ARRAYTYPE_P(state);
}

Datum
pglm_bleu_agg_final(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *values;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	values = state_values(PG_GETARG_ARRAYTYPE_P(0), &n);
	if (n != LM_BLEU_N_STATS)
		elog(ERROR, "pg_lm: malformed BLEU state");
	/* corpus BLEU: sacrebleu's corpus_bleu uses no effective order */
	PG_RETURN_FLOAT8(lm_bleu_from_stats(values, false));
}

/*
 * Combine two partial states by adding them (parallel aggregation).  chrF
 * states carry their orders and beta in the first three slots, which must
 * agree and are kept, not added.
 */
static Datum
combine_states(FunctionCallInfo fcinfo, int header)
{
	ArrayType  *a;
	ArrayType  *b;
	double	   *va,
			   *vb;
	int			na,
				nb;
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "pg_lm: aggregate function called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0));
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);
		ArrayType  *copy = PG_GETARG_ARRAYTYPE_P_COPY(1);

		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(copy);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	b = PG_GETARG_ARRAYTYPE_P(1);
	va = state_values(a, &na);
	vb = state_values(b, &nb);
	if (na != nb)
		elog(ERROR, "pg_lm: aggregate states of different sizes");
	for (int i = header; i < na; i++)
		va[i] += vb[i];
	PG_RETURN_ARRAYTYPE_P(a);
}

Datum
pglm_chrf_agg_combine(PG_FUNCTION_ARGS)
{
	return combine_states(fcinfo, CHRF_HEADER);
}

Datum
pglm_bleu_agg_combine(PG_FUNCTION_ARGS)
{
	return combine_states(fcinfo, 0);
}
