/*
 * functions_distance.c — the distance operators over real[] that similarity
 * search orders by, with pgvector's meanings: <-> L2 distance, <=> cosine
 * distance, <#> negative inner product.
 */
#include "pg/pg_lm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "nn/distance.h"
#include "utils/array.h"
#include "utils/float.h"

PG_FUNCTION_INFO_V1(pglm_l2_distance);
PG_FUNCTION_INFO_V1(pglm_cosine_distance);
PG_FUNCTION_INFO_V1(pglm_negative_inner_product);

/* The floats of a real[] argument: one dimension, at least one element, no NULL. */
static const float *
vector_arg(FunctionCallInfo fcinfo, int argno, int *n)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(argno);

	if (ARR_ELEMTYPE(arr) != FLOAT4OID)
		elog(ERROR, "pg_lm: a distance takes real[]");
	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg(ARR_NDIM(arr) == 0 ? "a vector must have at least one element"
						: "a vector must be a one-dimensional array, not %d-dimensional", ARR_NDIM(arr))));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a vector must not contain NULL")));
	*n = ARR_DIMS(arr)[0];
	return (const float *) ARR_DATA_PTR(arr);
}

static void
same_dimensions(int na, int nb)
{
	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", na, nb),
				 errhint("Compare vectors of the same model.")));
}

/*
 * A distance that came out NaN or infinite: from a NaN or infinite element
 * (an ERROR naming it), or from finite elements too large to square (the
 * result stands).  Finite results never look at the elements again.
 */
static double
checked(double d, const float *a, const float *b, int n, const char *function)
{
	if (!isfinite(d))
	{
		lm_pg_check_finite(a, n, function);
		lm_pg_check_finite(b, n, function);
	}
	return d;
}

Datum
pglm_l2_distance(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	const float *a = vector_arg(fcinfo, 0, &na);
	const float *b = vector_arg(fcinfo, 1, &nb);

	same_dimensions(na, nb);
	PG_RETURN_FLOAT8(sqrt(checked(lm_l2_squared(a, b, na), a, b, na, "lm_l2_distance")));
}

/*
 * 1 − cos(a, b), clamped to [0, 2] against rounding; NaN when either vector
 * is zero (it has no direction), as pgvector answers.
 */
Datum
pglm_cosine_distance(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	const float *a = vector_arg(fcinfo, 0, &na);
	const float *b = vector_arg(fcinfo, 1, &nb);
	double		dot,
				aa,
				bb,
				cosine;

	same_dimensions(na, nb);
	lm_cosine_sums(a, b, na, &dot, &aa, &bb);
	(void) checked(dot + aa + bb, a, b, na, "lm_cosine_distance");
	if (aa == 0 || bb == 0)
		PG_RETURN_FLOAT8(get_float8_nan());
	cosine = dot / sqrt(aa * bb);
	if (cosine > 1)
		cosine = 1;
	else if (cosine < -1)
		cosine = -1;
	PG_RETURN_FLOAT8(1 - cosine);
}

Datum
pglm_negative_inner_product(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	const float *a = vector_arg(fcinfo, 0, &na);
	const float *b = vector_arg(fcinfo, 1, &nb);

	same_dimensions(na, nb);
	PG_RETURN_FLOAT8(-checked(lm_inner_product(a, b, na), a, b, na, "lm_negative_inner_product"));
}
