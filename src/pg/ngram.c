/*
 * ngram.c — lm_ngram_train and lm_next_word: n-gram language models trained
 * from a query's texts, stored as counts in _lm.ngram, rebuilt in memory on
 * first use.  Probabilities follow NLTK's nltk.lm (mle, laplace, lidstone,
 * interpolated Kneser-Ney).
 */
#include "pg/pg_lm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "classic/ngram_counts.h"
#include "classic/ngram_model.h"
#include "classic/ngram_predict.h"
#include "classic/words.h"
#include "pg/classic.h"
#include "pg/model_rows.h"
#include "pg/row_writer.h"
#include "pg/store.h"

LM_PG_FREE_FN(free_ngram_counts, LmNgramCounts, lm_ngram_counts_free)

PG_FUNCTION_INFO_V1(pglm_ngram_train);
PG_FUNCTION_INFO_V1(pglm_next_word);

#define LM_NGRAM_MAX_ORDER 10
/* Rows fetched from the training query at a time. */
#define LM_NGRAM_FETCH 1000
/* Check for cancellation once per this many words of a text. */
#define NGRAM_CANCEL_INTERVAL 65536

/* lm_pg_classic_feed_query's callback: count one text's n-grams. */
typedef struct CountArg
{
	LmNgramCounts *counts;
	bool		lowercase;
} CountArg;

static int
count_text(void *arg, const char *text, size_t len, LmError *err)
{
	CountArg   *c = arg;

	return lm_ngram_counts_add_text(c->counts, text, len, c->lowercase, err);
}

/* Store every count of the model in _lm.ngram. */
static void
store_counts(LmNgramCounts *counts, int64 model_id)
{
	Oid			types[3] = {INT8OID, TEXTARRAYOID, INT8OID};
	LmRowWriter *rows = lm_rows_begin("_lm.ngram (model_id, words, count)", 3, types, 16 * 1024 * 1024);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lm n-gram row",
												  ALLOCSET_DEFAULT_SIZES);
	LmNgramIter it;
	const char *words[LM_NGRAM_MAX_ORDER];
	int			n;
	int64_t		count;
	Datum		elems[LM_NGRAM_MAX_ORDER];

	lm_ngram_iter_init(&it, counts);
	while (lm_ngram_iter_next(&it, words, &n, &count))
	{
		MemoryContext old = MemoryContextSwitchTo(row_cxt);
		Datum		values[3];

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
			elems[i] = CStringGetTextDatum(words[i]);
		values[0] = Int64GetDatum(model_id);
		values[1] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
		values[2] = Int64GetDatum(count);
		MemoryContextSwitchTo(old);
		lm_rows_add(rows, values, NULL);
		MemoryContextReset(row_cxt);
	}
	lm_rows_end(rows);
	MemoryContextDelete(row_cxt);
}

Datum
pglm_ngram_train(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			order = PG_GETARG_INT32(2);
	char	   *smoothing = text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		lowercase = PG_GETARG_BOOL(4);
	LmNgramEstimator estimator;
	double		param;
	LmNgramCounts *counts;
	CountArg	arg;
	LmError		err;
	int64		texts;
	int64		model_id;

	lm_pg_require_create_models();
	lm_pg_error_init(&err);
	if (order < 1 || order > LM_NGRAM_MAX_ORDER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and %d, got %d", LM_NGRAM_MAX_ORDER, order)));
	if (lm_ngram_estimator_parse(smoothing, &estimator, &param, &err) != 0)
		lm_pg_raise(&err);
	if (estimator == LM_NGRAM_LIDSTONE && isnan(param))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("smoothing \"%s\" needs a gamma; use \"laplace\" (add-one)", smoothing)));
	if (estimator == LM_NGRAM_KNESER_NEY && order < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Kneser-Ney smoothing needs n of at least 2")));
	counts = lm_ngram_counts_new(order, &err);
	if (counts == NULL)
		lm_pg_raise(&err);

	lm_pg_guard(free_ngram_counts, counts);
	arg.counts = counts;
	arg.lowercase = lowercase;
	lm_pg_spi_connect();
	lm_pg_check_new_model_name(name);
	lm_pg_spi_finish();
	texts = lm_pg_classic_feed_query(query, count_text, &arg);
	if (texts == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query returned no text"),
				 errhint("An n-gram model needs at least one non-NULL text.")));
	if (lm_ngram_counts_finish(counts, &err) != 0)
		lm_pg_raise(&err);
	lm_pg_spi_connect();
	model_id = lm_pg_insert_model(name, LM_ARCH_NGRAM, "text-generation",
								  psprintf("{\"order\": %d, \"smoothing\": \"%s\", \"parameter\": %s, "
										   "\"lowercase\": %s, \"texts\": " INT64_FORMAT "}",
										   order, smoothing, isnan(param) ? "null" : psprintf("%.17g", param),
										   lowercase ? "true" : "false", texts),
								  NULL, NULL, NULL, query);
	store_counts(counts, model_id);
	lm_pg_seal_model(model_id);
	lm_pg_spi_finish();
	lm_store_forget(name);
	PG_RETURN_INT64(model_id);
}

/* Load the model's counts from _lm.ngram into its engine model (once per backend). */
void
lm_pg_ngram_load(LmStoredModel *m)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	SPIPlanPtr	plan;
	Portal		portal;
	LmNgramModel model;
	bool		lowercase;
	LmNgramCounts *counts;
	LmPgGuard  *guard;
	LmNgramEstimator estimator;
	double		param;
	int			order;
	char	   *smoothing;
	LmError		err;

	lm_pg_error_init(&err);
	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT (config->>'order')::int, config->>'smoothing', "
							  "coalesce((config->>'parameter')::float8, 'NaN'), "
							  "coalesce((config->>'lowercase')::boolean, false)::text "
							  "FROM _lm.model WHERE id = $1", 1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished while loading", m->name);
	{
		bool		isnull;

		order = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		smoothing = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		param = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	}
	lowercase = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), "true") == 0;
	if (lm_ngram_estimator_parse(smoothing, &estimator, &param, &err) != 0 && isnan(param))
		lm_pg_raise(&err);
	counts = lm_ngram_counts_new(order, &err);
	if (counts == NULL)
		lm_pg_raise(&err);
	guard = lm_pg_guard(free_ngram_counts, counts);
	plan = SPI_prepare("SELECT words, count FROM _lm.ngram WHERE model_id = $1", 1, types);
	portal = SPI_cursor_open(NULL, plan, values, NULL, lm_store_read_only());
	for (;;)
	{
		SPI_cursor_fetch(portal, true, LM_NGRAM_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			ArrayType  *arr = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			int64		count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			Datum	   *elems;
			bool	   *nulls;
			int			n;
			const char *words[LM_NGRAM_MAX_ORDER];

			CHECK_FOR_INTERRUPTS();
			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
			if (n < 1 || n > order)
				ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
								errmsg("model \"%s\": an n-gram of %d words in a model of order %d", m->name, n, order)));
			for (int j = 0; j < n; j++)
				words[j] = TextDatumGetCString(elems[j]);
			if (lm_ngram_counts_add(counts, words, n, count, &err) != 0)
				lm_pg_raise(&err);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if (lm_ngram_model_init(&model, counts, estimator, param, &err) != 0)
		lm_pg_raise(&err);
	lm_pg_keep(guard);
	lm_pg_spi_finish();
	lm_task_model_set_ngram(m->tm, counts, model, lowercase);
}

/* The words of a text, as the model was trained (palloc'd array of strings). */
static const char **
text_words(bool lowercase, text *input, size_t *n)
{
	LmWords		words;
	LmError		err;
	const char **out;

	lm_pg_error_init(&err);
	if (lm_words_tokenize(VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), lowercase, &words, &err) != 0)
		lm_pg_raise(&err);
	out = palloc(sizeof(char *) * Max(words.n_words, 1));
	for (size_t i = 0; i < words.n_words; i++)
	{
		/* words is malloc'd: free it before a cancel unwinds */
		if (i % NGRAM_CANCEL_INTERVAL == 0 && lm_cancelled(&err))
		{
			lm_words_free(&words);
			CHECK_FOR_INTERRUPTS();
		}
		out[i] = pstrdup(words.words[i]);
	}
	*n = words.n_words;
	lm_words_free(&words);
	return out;
}

Datum
pglm_next_word(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	const LmNgramModel *model;
	bool		lowercase;
	int			k = PG_GETARG_INT32(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		n_context;
	const char **context;
	LmNgramPrediction *out;
	int			n_out;
	LmError		err;

	if (lm_store_kind(m) != LM_KIND_NGRAM)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not an n-gram model", m->name,
						lm_task_model_kind(m->tm)->architecture),
				 errhint("lm_ngram_train() makes n-gram models.")));
	model = lm_task_model_ngram(lm_store_prepare(m, LM_DO_NEXT_WORD, true), &lowercase);
	context = text_words(lowercase, PG_GETARG_TEXT_PP(1), &n_context);
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k)));
	k = Min(k, (int) Min(model->counts->n_words, 100000));
	out = palloc(sizeof(LmNgramPrediction) * Max(k, 1));
	lm_pg_error_init(&err);
	/* The context is the start of a sentence: short ones are padded with <s>. */
	if (lm_ngram_next_words(model, context, n_context, true, k, out, &n_out, &err) != 0)
		lm_pg_raise(&err);
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n_out; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(out[i].word);
		values[1] = Float8GetDatum(out[i].probability);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
