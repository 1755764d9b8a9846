/*
 * classic_tfidf.c — bag of words and TF-IDF with scikit-learn's semantics:
 * lm_tfidf_train fits a vectorizer on the texts a query returns and stores
 * its vocabulary and idf in _lm.tfidf_term (options in _lm.model.config);
 * lm_bow, lm_tfidf and lm_vocabulary use the vectorizer rebuilt from them.
 *
 * Term indexes are 1-based in SQL: term i is element i of the arrays lm_bow
 * and lm_tfidf return (scikit-learn's vocabulary_ value + 1).
 */
#include "pg/classic_internal.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "pg/model_rows.h"
#include "pg/row_writer.h"

LM_PG_FREE_FN(free_vectorizer, LmVectorizer, lm_vectorizer_free)

PG_FUNCTION_INFO_V1(pglm_tfidf_train);
PG_FUNCTION_INFO_V1(pglm_bow);
PG_FUNCTION_INFO_V1(pglm_tfidf);
PG_FUNCTION_INFO_V1(pglm_vocabulary);

/* Options ------------------------------------------------------------------- */

/*
 * min_df / max_df as scikit-learn's int (a document count) or float (a
 * proportion of the documents): values below 1 are proportions, whole
 * values above 1 are counts, and 1 is the count 1 for min_df (every term
 * of at least one document, sklearn's min_df=1) and the proportion 1.0 for
 * max_df (no upper bound, sklearn's max_df=1.0).
 */
static void
df_option(const char *what, double value, bool is_max, double *out, bool *is_fraction)
{
	if (isnan(value) || value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a proportion between 0 and 1 or a whole number of documents, not %g", what, value)));
	if (value < 1.0 || (is_max && value == 1.0))
	{
		*out = value;
		*is_fraction = true;
		return;
	}
	if (value != floor(value) || value > (double) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %g is neither a proportion (below 1) nor a whole number of documents", what, value),
				 errhint("Values below 1 are proportions of the documents, whole values above 1 are document counts.")));
	*out = value;
	*is_fraction = false;
}

static LmVectorizerNorm
norm_option(const char *name)
{
	if (strcmp(name, "l2") == 0)
		return LM_VECTORIZER_NORM_L2;
	if (strcmp(name, "l1") == 0)
		return LM_VECTORIZER_NORM_L1;
	if (strcmp(name, "none") == 0)
		return LM_VECTORIZER_NORM_NONE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown norm \"%s\"", name),
			 errhint("norm is 'l2' (scikit-learn's default), 'l1' or 'none'.")));
	pg_unreachable();
}

static const char *
norm_name(LmVectorizerNorm norm)
{
	return norm == LM_VECTORIZER_NORM_L2 ? "l2" : norm == LM_VECTORIZER_NORM_L1 ? "l1" : "none";
}

/* The options as the model's config (with the corpus facts). */
static char *
options_json(const LmVectorizerOptions *o, int64 documents, int32 terms)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"lowercase\": %s, \"min_df\": %.17g, \"min_df_is_fraction\": %s, "
					 "\"max_df\": %.17g, \"max_df_is_fraction\": %s, \"max_features\": ",
					 o->lowercase ? "true" : "false", o->min_df, o->min_df_is_fraction ? "true" : "false",
					 o->max_df, o->max_df_is_fraction ? "true" : "false");
	if (o->max_features > 0)
		appendStringInfo(&buf, INT64_FORMAT, (int64) o->max_features);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"ngram_min\": %d, \"ngram_max\": %d, \"sublinear_tf\": %s, "
					 "\"smooth_idf\": %s, \"norm\": \"%s\", \"token_pattern\": ",
					 o->ngram_min, o->ngram_max, o->sublinear_tf ? "true" : "false",
					 o->smooth_idf ? "true" : "false", norm_name(o->norm));
	if (o->token_pattern)
		escape_json(&buf, o->token_pattern);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"documents\": " INT64_FORMAT ", \"terms\": %d, \"parameters\": %d, "
					 "\"bytes\": " INT64_FORMAT ", \"dtype\": \"F64\"}",
					 documents, terms, terms, (int64) terms * (int64) sizeof(double));
	return buf.data;
}

/* Training -------------------------------------------------------------------- */

/* Feed every text the query returns (its first column); returns how many. */
static int
add_text(void *arg, const char *text, size_t len, LmError *err)
{
	return lm_vectorizer_add_document((LmVectorizer *) arg, text, len, err);
}

static int64
feed_query(LmVectorizer *v, const char *query)
{
	return lm_pg_classic_feed_query(query, add_text, v);
}

static void
store_terms(const LmVectorizer *v, int64 model_id)
{
	Oid			types[4] = {INT8OID, TEXTOID, INT4OID, FLOAT8OID};
	LmRowWriter *rows = lm_rows_begin("_lm.tfidf_term (model_id, term, index, idf)", 4, types,
									  16 * 1024 * 1024);
	int32_t		n = lm_vectorizer_vocabulary_size(v);

	for (int32_t i = 0; i < n; i++)
	{
		size_t		len;
		const char *term = lm_vectorizer_term(v, i, &len);
		Datum		values[4];
		text	   *t = lm_pg_text(term, len);

		CHECK_FOR_INTERRUPTS();
		values[0] = Int64GetDatum(model_id);
		values[1] = PointerGetDatum(t);
		values[2] = Int32GetDatum(i + 1);
		values[3] = Float8GetDatum(lm_vectorizer_idf(v, i));
		lm_rows_add(rows, values, NULL);
		pfree(t);
	}
	lm_rows_end(rows);
}

/* The vectorizer's options from lm_tfidf_train's arguments (NULL only where allowed). */
static void
options_arg(FunctionCallInfo fcinfo, LmVectorizerOptions *options)
{
	LmVectorizerOptions o;

	lm_pg_require_arg(fcinfo, 0, "name");
	lm_pg_require_arg(fcinfo, 1, "query");
	for (int i = 3; i <= 4; i++)
		lm_pg_require_arg(fcinfo, i, i == 3 ? "min_df" : "max_df");
	for (int i = 6; i <= 7; i++)
		lm_pg_require_arg(fcinfo, i, i == 6 ? "ngram_min" : "ngram_max");
	lm_pg_require_arg(fcinfo, 10, "norm");
	lm_vectorizer_default_options(&o);
	o.lowercase = lm_pg_bool_arg(fcinfo, 2, "lowercase");
	df_option("min_df", PG_GETARG_FLOAT8(3), false, &o.min_df, &o.min_df_is_fraction);
	df_option("max_df", PG_GETARG_FLOAT8(4), true, &o.max_df, &o.max_df_is_fraction);
	o.max_features = 0;
	if (!PG_ARGISNULL(5))
	{
		if (PG_GETARG_INT32(5) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_features must be at least 1, not %d", PG_GETARG_INT32(5)),
					 errhint("NULL keeps every term.")));
		o.max_features = PG_GETARG_INT32(5);
	}
	o.ngram_min = PG_GETARG_INT32(6);
	o.ngram_max = PG_GETARG_INT32(7);
	o.sublinear_tf = lm_pg_bool_arg(fcinfo, 8, "sublinear_tf");
	o.smooth_idf = lm_pg_bool_arg(fcinfo, 9, "smooth_idf");
	o.norm = norm_option(text_to_cstring(PG_GETARG_TEXT_PP(10)));
	o.token_pattern = PG_ARGISNULL(11) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(11));
	*options = o;
}

/*
 * lm_tfidf_train(name, query, lowercase, min_df, max_df, max_features,
 * ngram_min, ngram_max, sublinear_tf, smooth_idf, norm, token_pattern)
 */
Datum
pglm_tfidf_train(PG_FUNCTION_ARGS)
{
	LmVectorizerOptions o;
	char	   *name;
	char	   *query;
	LmVectorizer *v;
	LmError		err;
	int64		texts;
	int64		model_id = -1;

	lm_pg_require_create_models();
	options_arg(fcinfo, &o);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));

	lm_pg_error_init(&err);
	v = lm_vectorizer_new(&o, &err);
	if (v == NULL)
		lm_pg_raise(&err);
	lm_pg_guard(free_vectorizer, v);
	lm_pg_spi_connect();
	lm_pg_check_new_model_name(name);
	lm_pg_spi_finish();
	texts = feed_query(v, query);
	if (texts == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query returned no text"),
				 errhint("A vectorizer needs at least one non-NULL text.")));
	if (lm_vectorizer_finish(v, &err) != 0)
		lm_pg_raise(&err);
	lm_pg_spi_connect();
	model_id = lm_pg_insert_model(name, LM_ARCH_TFIDF, "feature-extraction",
								  options_json(&o, texts, lm_vectorizer_vocabulary_size(v)),
								  NULL, NULL, NULL, query);
	store_terms(v, model_id);
	lm_pg_seal_model(model_id);
	lm_pg_spi_finish();
	lm_store_forget(name);
	PG_RETURN_INT64(model_id);
}

/* Loading --------------------------------------------------------------------- */

LmVectorizer *
lm_pg_tfidf_load(LmStoredModel *m)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	LmVectorizerOptions o;
	LmVectorizer *v;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int32		n;
	const char **terms;
	size_t	   *lens;
	double	   *idf;
	LmError		err;
	static const char *const keys[] = {"lowercase", "min_df", "min_df_is_fraction", "max_df",
		"max_df_is_fraction", "max_features", "ngram_min", "ngram_max", "sublinear_tf", "smooth_idf", "norm"};

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT (config->>'lowercase')::boolean, (config->>'min_df')::float8, "
							  "(config->>'min_df_is_fraction')::boolean, (config->>'max_df')::float8, "
							  "(config->>'max_df_is_fraction')::boolean, coalesce((config->>'max_features')::int, 0), "
							  "(config->>'ngram_min')::int, (config->>'ngram_max')::int, "
							  "(config->>'sublinear_tf')::boolean, (config->>'smooth_idf')::boolean, "
							  "config->>'norm', config->>'token_pattern' FROM _lm.model WHERE id = $1",
							  1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished while loading", m->name);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	for (int i = 0; i < (int) lengthof(keys); i++)
	{
		SPI_getbinval(tup, desc, i + 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("TF-IDF model \"%s\": config lacks \"%s\"", m->name, keys[i])));
	}
	lm_vectorizer_default_options(&o);
	o.lowercase = DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull));
	o.min_df = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
	o.min_df_is_fraction = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	o.max_df = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
	o.max_df_is_fraction = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	o.max_features = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
	o.ngram_min = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
	o.ngram_max = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
	o.sublinear_tf = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
	o.smooth_idf = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
	o.norm = norm_option(SPI_getvalue(tup, desc, 11));
	o.token_pattern = SPI_getvalue(tup, desc, 12);

	if (SPI_execute_with_args("SELECT term, index, idf FROM _lm.tfidf_term WHERE model_id = $1 ORDER BY index",
							  1, types, values, NULL, lm_store_read_only(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read _lm.tfidf_term");
	if (SPI_processed > (uint64) PG_INT32_MAX)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("TF-IDF model \"%s\" has too many terms", m->name)));
	n = (int32) SPI_processed;
	terms = palloc(sizeof(char *) * Max(n, 1));
	lens = palloc(sizeof(size_t) * Max(n, 1));
	idf = palloc(sizeof(double) * Max(n, 1));
	for (int32 i = 0; i < n; i++)
	{
		text	   *t;

		CHECK_FOR_INTERRUPTS();
		tup = SPI_tuptable->vals[i];
		desc = SPI_tuptable->tupdesc;
		if (DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull)) != i + 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("TF-IDF model \"%s\": _lm.tfidf_term lacks the term of index %d", m->name, i + 1)));
		t = DatumGetTextPP(SPI_getbinval(tup, desc, 1, &isnull));
		terms[i] = VARDATA_ANY(t);
		lens[i] = VARSIZE_ANY_EXHDR(t);
		idf[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	}
	lm_pg_error_init(&err);
	v = lm_vectorizer_restore(&o, terms, lens, idf, n, &err);
	if (v == NULL)
	{
		lm_error_prefix(&err, "TF-IDF model \"%s\"", m->name);
		if (err.code == LM_ERR_INVALID_ARGUMENT)
			err.code = LM_ERR_CORRUPT;	/* the stored model, not the caller, is at fault */
		lm_pg_raise(&err);
	}
	lm_pg_spi_finish();
	return v;
}

/* SQL functions ----------------------------------------------------------------- */

static const LmVectorizer *
vectorizer_arg(FunctionCallInfo fcinfo, const char *function)
{
	LmStoredModel *m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	ClassicModel *cm = lm_pg_classic_model(m);

	if (cm->kind != LM_KIND_TFIDF)
		lm_pg_classic_wrong_kind(m, function, "a TF-IDF model",
								 "lm_tfidf_train(name, query) makes one; word vectors give texts' vectors through lm_embed.");
	return cm->vectorizer;
}

/* The dense row of a text as real[] (counts or TF-IDF). */
static Datum
dense_row(FunctionCallInfo fcinfo, const char *function, bool tfidf)
{
	const LmVectorizer *v = vectorizer_arg(fcinfo, function);
	text	   *input = PG_GETARG_TEXT_PP(1);
	int32_t		n = lm_vectorizer_vocabulary_size(v);
	double	   *row = palloc(sizeof(double) * n);
	Datum	   *elems = palloc(sizeof(Datum) * n);
	LmError		err;
	int			rc;

	lm_pg_error_init(&err);
	rc = tfidf ? lm_vectorizer_tfidf_dense(v, VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), row, &err)
		: lm_vectorizer_counts_dense(v, VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), row, &err);
	if (rc != 0)
		lm_pg_raise(&err);
	for (int32_t i = 0; i < n; i++)
		elems[i] = Float4GetDatum((float4) row[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

/* lm_bow(model, text): the counts of every vocabulary term, in vocabulary order. */
Datum
pglm_bow(PG_FUNCTION_ARGS)
{
	return dense_row(fcinfo, "lm_bow", false);
}

/* lm_tfidf(model, text): the TF-IDF row, in vocabulary order. */
Datum
pglm_tfidf(PG_FUNCTION_ARGS)
{
	return dense_row(fcinfo, "lm_tfidf", true);
}

/* lm_vocabulary(model): (index, term, idf) of every term. */
Datum
pglm_vocabulary(PG_FUNCTION_ARGS)
{
	const LmVectorizer *v = vectorizer_arg(fcinfo, "lm_vocabulary");
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32_t		n = lm_vectorizer_vocabulary_size(v);

	InitMaterializedSRF(fcinfo, 0);
	for (int32_t i = 0; i < n; i++)
	{
		size_t		len;
		const char *term = lm_vectorizer_term(v, i, &len);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		values[1] = PointerGetDatum(lm_pg_text(term, len));
		values[2] = Float8GetDatum(lm_vectorizer_idf(v, i));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
