/*
 * convert.c — between SQL values and the engine's plain inputs and results:
 * task inputs from text or integer[] arguments, arrays and sets from results,
 * and engine buffers freed with the memory context that holds their copies.
 */
#include "pg/pg_lm.h"

#include <math.h>

#include <stdlib.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

void
lm_pg_require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

bool
lm_pg_bool_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	lm_pg_require_arg(fcinfo, argno, what);
	return PG_GETARG_BOOL(argno);
}

bool
lm_pg_input_is_text(FunctionCallInfo fcinfo, int argno)
{
	return get_fn_expr_argtype(fcinfo->flinfo, argno) != INT4ARRAYOID;
}

LmInput
lm_pg_input(FunctionCallInfo fcinfo, int argno)
{
	if (lm_pg_input_is_text(fcinfo, argno))
	{
		text	   *t = PG_GETARG_TEXT_PP(argno);

		return LM_TEXT_INPUT(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	else
	{
		int			n;
		int32	   *ids = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(argno), false, &n);

		return LM_IDS_INPUT(ids, n);
	}
}

text *
lm_pg_text(const char *s, size_t len)
{
	StringInfoData buf;
	size_t		i = 0;

	if (memchr(s, '\0', len) == NULL && pg_verify_mbstr(PG_UTF8, s, (int) len, true))
		return cstring_to_text_with_len(s, (int) len);
	initStringInfo(&buf);
	while (i < len)
	{
		int			l = pg_utf_mblen((const unsigned char *) s + i);

		if (s[i] != '\0' && (size_t) l <= len - i && pg_utf8_islegal((const unsigned char *) s + i, l))
		{
			appendBinaryStringInfo(&buf, s + i, l);
			i += l;
		}
		else
		{
			appendStringInfoString(&buf, "\xEF\xBF\xBD");
			i++;
		}
	}
	return cstring_to_text_with_len(buf.data, buf.len);
}

void
lm_pg_check_finite(const float *v, int n, const char *function)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: element %d of the vector is %s", function, i + 1,
							isnan(v[i]) ? "NaN" : "infinite"),
					 errhint("Vectors must hold finite numbers.")));
}

ArrayType *
lm_pg_float4_array(const float *v, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(v[i]);
	return construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

void
lm_pg_scored_srf(FunctionCallInfo fcinfo, const LmScored *scored)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < scored->n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = PointerGetDatum(lm_pg_text(scored->labels[i], strlen(scored->labels[i])));
		values[1] = Float8GetDatum(scored->scores[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

const char **
lm_pg_text_array(ArrayType *arr, const char *null_message, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	const char **out;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s", null_message)));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

void
lm_pg_check_max_tokens(int max_tokens, const char *longer_what)
{
	if (max_tokens > lm_guc_max_tokens)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens %d exceeds pg_lm.max_tokens (%d)", max_tokens, lm_guc_max_tokens),
				 errhint("Raise pg_lm.max_tokens to allow longer %s.", longer_what)));
}

/* A guard: the engine's free function and its object. */
typedef struct Guard
{
	MemoryContextCallback callback;
	void		(*free_fn) (void *);
	void	   *obj;
} Guard;

static void
run_guard(void *arg)
{
	Guard	   *g = arg;

	if (g->free_fn != NULL)
		g->free_fn(g->obj);
}

LmPgGuard *
lm_pg_guard(void (*free_fn) (void *), void *obj)
{
	Guard	   *g = MemoryContextAllocZero(CurrentMemoryContext, sizeof(Guard));

	g->free_fn = obj != NULL ? free_fn : NULL;
	g->obj = obj;
	g->callback.func = run_guard;
	g->callback.arg = g;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &g->callback);
	return (LmPgGuard *) g;
}

void
lm_pg_keep(LmPgGuard *guard)
{
	((Guard *) guard)->free_fn = NULL;
}

void *
lm_pg_own(void *p)
{
	lm_pg_guard(free, p);
	return p;
}

static void
free_scored(void *arg)
{
	lm_scored_free(arg);
}

void
lm_pg_own_scored(LmScored *scored)
{
	LmScored   *copy = MemoryContextAlloc(CurrentMemoryContext, sizeof(LmScored));

	*copy = *scored;
	lm_pg_guard(free_scored, copy);
}
