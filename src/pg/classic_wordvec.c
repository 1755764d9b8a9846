/*
 * classic_wordvec.c — word vectors in SQL: lm_word_vector, lm_most_similar
 * (of a word or of a vector) and lm_analogy, over word2vec/GloVe/.vec
 * models (rows of _lm.word_vector, loaded once per backend) and over the
 * vocabulary of fastText models.
 *
 * An unknown word is no error: lm_word_vector returns NULL and the
 * set-returning functions return no rows, so that one missing word does
 * not abort a query over a whole table.  fastText models know no unknown
 * words: they build vectors from the character n-grams (a word none of
 * whose n-grams the model kept gets zeros, and no neighbours).
 */
#include "pg/classic_internal.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

LM_PG_FREE_FN(free_word_vectors, LmWordVectors, lm_wordvec_free)

PG_FUNCTION_INFO_V1(pglm_word_vector);
PG_FUNCTION_INFO_V1(pglm_most_similar);
PG_FUNCTION_INFO_V1(pglm_most_similar_vector);
PG_FUNCTION_INFO_V1(pglm_analogy);

/* lm_most_similar and lm_analogy return at most this many rows. */
#define LM_MOST_SIMILAR_MAX_K 100000

/* Loading ------------------------------------------------------------------ */

LmWordVectors *
lm_pg_wordvec_load(LmStoredModel *m)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	LmWordVectors *wv;
	LmPgGuard  *guard;
	SPIPlanPtr	plan;
	Portal		portal;
	bool		isnull;
	int			dim;
	int64		count;
	int64		loaded = 0;
	MemoryContext batch_cxt;
	MemoryContext caller_cxt;
	LmError		err;

	lm_pg_error_init(&err);
	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT (config->>'dim')::int, (config->>'count')::bigint FROM _lm.model WHERE id = $1",
							  1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished while loading", m->name);
	dim = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || dim < 1 || dim > LM_WORDVEC_MAX_DIM)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("word vectors \"%s\": config has no valid dim", m->name)));
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull || count < 0 || count > PG_INT32_MAX)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("word vectors \"%s\": config has no valid count", m->name)));
	wv = lm_wordvec_new(dim, (size_t) count, &err);
	if (wv == NULL)
		lm_pg_raise(&err);
	guard = lm_pg_guard(free_word_vectors, wv);
	plan = SPI_prepare("SELECT word, vector FROM _lm.word_vector WHERE model_id = $1 ORDER BY index",
					   1, types);
	portal = SPI_cursor_open(NULL, plan, values, NULL, lm_store_read_only());
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lm word vector batch",
									  ALLOCSET_DEFAULT_SIZES);
	caller_cxt = CurrentMemoryContext;
	for (;;)
	{
		SPI_cursor_fetch(portal, true, LM_CLASSIC_FETCH);
		if (SPI_processed == 0)
			break;
		/* detoasted words and vectors go with the batch */
		MemoryContextSwitchTo(batch_cxt);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			text	   *word = DatumGetTextPP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			ArrayType  *vec = DatumGetArrayTypeP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

			CHECK_FOR_INTERRUPTS();
			if (ARR_NDIM(vec) != 1 || ARR_HASNULL(vec) || ARR_ELEMTYPE(vec) != FLOAT4OID ||
				ARR_DIMS(vec)[0] != dim)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("word vectors \"%s\": the vector of \"%s\" is not %d numbers",
								m->name, text_to_cstring(word), dim)));
			if (lm_wordvec_add(wv, VARDATA_ANY(word), VARSIZE_ANY_EXHDR(word),
							   (const float *) ARR_DATA_PTR(vec), &err) < 0)
			{
				if (err.code == LM_OK)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("word vectors \"%s\": \"%s\" appears twice",
									m->name, text_to_cstring(word))));
				lm_pg_raise(&err);
			}
			loaded++;
		}
		SPI_freetuptable(SPI_tuptable);
		MemoryContextSwitchTo(caller_cxt);
		MemoryContextReset(batch_cxt);
	}
	SPI_cursor_close(portal);
	if (loaded != count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("word vectors \"%s\": _lm.word_vector has " INT64_FORMAT " words, config says " INT64_FORMAT,
						m->name, loaded, count)));
	lm_pg_keep(guard);
	lm_pg_spi_finish();
	return wv;
}

/* Helpers ------------------------------------------------------------------- */

static LmStoredModel *
model_arg(FunctionCallInfo fcinfo)
{
	return lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
}

static int
k_arg(FunctionCallInfo fcinfo, int argno, const LmWordVectors *wv)
{
	int			k = PG_GETARG_INT32(argno);

	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k)));
	return Min(k, Min(LM_MOST_SIMILAR_MAX_K, Max(lm_wordvec_count(wv), 1)));
}

/*
 * The vector of a word (palloc'd, dim floats) and its index in the word
 * table (-1 when absent); NULL for an unknown word of a word-vector model.
 */
static float *
word_vector(ClassicModel *cm, const LmWordVectors *table, text *word, int32_t *index)
{
	const char *s = VARDATA_ANY(word);
	size_t		len = VARSIZE_ANY_EXHDR(word);
	float	   *out;
	int			dim;

	*index = table ? lm_wordvec_lookup(table, s, len) : -1;
	if (cm->kind == LM_KIND_FASTTEXT)
	{
		LmError		err;

		dim = lm_fasttext_dim(cm->ft);
		out = palloc(sizeof(float) * dim);
		lm_pg_error_init(&err);
		if (lm_fasttext_word_vector(cm->ft, s, len, out, &err) != 0)
			lm_pg_raise(&err);
		return out;
	}
	if (table == NULL)
		*index = lm_wordvec_lookup(cm->wv, s, len);
	if (*index < 0)
		return NULL;
	dim = lm_wordvec_dim(cm->wv);
	out = palloc(sizeof(float) * dim);
	memcpy(out, lm_wordvec_vector(cm->wv, *index), sizeof(float) * dim);
	return out;
}

static ArrayType *
float_array(const float *v, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(v[i]);
	return construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

/* Emit (word, similarity) rows. */
static void
emit_hits(FunctionCallInfo fcinfo, const LmWordVectors *wv, const LmWordVecHit *hits, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int i = 0; i < n; i++)
	{
		size_t		len;
		const char *word = lm_wordvec_word(wv, hits[i].index, &len);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = PointerGetDatum(lm_pg_text(word, len));
		values[1] = Float8GetDatum(hits[i].score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* The k words nearest query, leaving out the words in exclude. */
static void
most_similar(FunctionCallInfo fcinfo, const LmWordVectors *wv, const float *query,
			 const int32_t *exclude, int n_exclude, int k)
{
	LmWordVecHit *hits;
	LmError		err;
	int			n;
	int			dim = lm_wordvec_dim(wv);
	bool		zero = true;

	/* a zero vector (a fastText word without known n-grams) is like no word */
	for (int i = 0; i < dim && zero; i++)
		zero = query[i] == 0;
	if (zero)
		return;
	hits = palloc(sizeof(LmWordVecHit) * k);
	lm_pg_error_init(&err);
	n = lm_wordvec_most_similar_vector(wv, query, exclude, n_exclude, k, hits, &err);
	if (n < 0)
		lm_pg_raise(&err);
	emit_hits(fcinfo, wv, hits, n);
	pfree(hits);
}

/* SQL functions ------------------------------------------------------------- */

/* lm_word_vector(model, word): the word's vector, NULL for an unknown word. */
Datum
pglm_word_vector(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo);
	ClassicModel *cm = lm_pg_classic_model(m);
	int32_t		index;
	float	   *v;

	if (cm->kind == LM_KIND_TFIDF)
		lm_pg_classic_wrong_kind(m, "lm_word_vector", "word vectors or a fastText model",
								 "A TF-IDF model gives vectors of texts: lm_tfidf(model, text).");
	v = word_vector(cm, NULL, PG_GETARG_TEXT_PP(1), &index);
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(float_array(v, cm->kind == LM_KIND_FASTTEXT ? lm_fasttext_dim(cm->ft)
									  : lm_wordvec_dim(cm->wv)));
}

/* lm_most_similar(model, query text, k): the word's nearest words. */
Datum
pglm_most_similar(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo);
	ClassicModel *cm = lm_pg_classic_model(m);
	const LmWordVectors *wv = lm_pg_classic_word_table(m, cm, "lm_most_similar");
	int			k = k_arg(fcinfo, 2, wv);
	int32_t		index;
	float	   *query = word_vector(cm, wv, PG_GETARG_TEXT_PP(1), &index);

	InitMaterializedSRF(fcinfo, 0);
	if (query == NULL)
		return (Datum) 0;
	most_similar(fcinfo, wv, query, &index, index >= 0 ? 1 : 0, k);
	return (Datum) 0;
}

/* lm_most_similar(model, vector real[], k): the words nearest a vector. */
Datum
pglm_most_similar_vector(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo);
	ClassicModel *cm = lm_pg_classic_model(m);
	const LmWordVectors *wv = lm_pg_classic_word_table(m, cm, "lm_most_similar");
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	int			k = k_arg(fcinfo, 2, wv);
	int			dim = lm_wordvec_dim(wv);

	if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_DIMS(arr)[0] != dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the vector must be %d numbers without NULLs, the dimension of \"%s\"", dim, m->name),
				 errhint("lm_word_vector(model, word) gives vectors of the right size.")));
	lm_pg_check_finite((const float *) ARR_DATA_PTR(arr), dim, "lm_most_similar");
	InitMaterializedSRF(fcinfo, 0);
	most_similar(fcinfo, wv, (const float *) ARR_DATA_PTR(arr), NULL, 0, k);
	return (Datum) 0;
}

/*
 * lm_analogy(model, a, b, c, k, combine): a is to b as c is to ?, the words
 * nearest b - a + c (3CosAdd), leaving out a, b and c.  combine 'raw' adds
 * the vectors as stored; 'unit' makes each unit length first (gensim 4's
 * most_similar).
 */
/* Words of a word-vector table nearest b - a + c, leaving a, b and c out. */
static void
table_analogy(FunctionCallInfo fcinfo, const LmWordVectors *wv, LmWordVecCombine combine, int k)
{
	const char *words[3];
	LmWordVecHit *hits = palloc(sizeof(LmWordVecHit) * k);
	LmError		err;
	int			n;

	for (int w = 0; w < 3; w++)
	{
		text	   *t = PG_GETARG_TEXT_PP(w + 1);

		if (lm_wordvec_lookup(wv, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) < 0)
			return;				/* an unknown word: no answer */
		words[w] = text_to_cstring(t);
	}
	lm_pg_error_init(&err);
	n = lm_wordvec_analogy(wv, words[0], words[1], words[2], combine, k, hits, &err);
	if (n < 0)
		lm_pg_raise(&err);
	emit_hits(fcinfo, wv, hits, n);
}

/* fastText: the vectors of any word, from its subwords; its vocabulary ranks them. */
static void
fasttext_analogy(FunctionCallInfo fcinfo, ClassicModel *cm, const LmWordVectors *wv,
				 LmWordVecCombine combine, int k)
{
	float	   *v[3];
	int32_t		exclude[3];
	int			n_exclude = 0;
	float	   *query = palloc(sizeof(float) * lm_wordvec_dim(wv));

	for (int w = 0; w < 3; w++)
	{
		int32_t		index;

		if ((v[w] = word_vector(cm, wv, PG_GETARG_TEXT_PP(w + 1), &index)) == NULL)
			return;				/* an unknown word: no answer */
		if (index >= 0)
			exclude[n_exclude++] = index;
	}
	lm_wordvec_analogy_query(v[0], v[1], v[2], lm_wordvec_dim(wv), combine, query);
	most_similar(fcinfo, wv, query, exclude, n_exclude, k);
}

/*
 * lm_analogy(model, a, b, c, k, combine): a is to b as c is to ?, the words
 * nearest b - a + c (3CosAdd), leaving out a, b and c.  combine 'raw' adds
 * the vectors as stored; 'unit' makes each unit length first (gensim 4's
 * most_similar).
 */
Datum
pglm_analogy(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo);
	ClassicModel *cm = lm_pg_classic_model(m);
	const LmWordVectors *wv = lm_pg_classic_word_table(m, cm, "lm_analogy");
	int			k = k_arg(fcinfo, 4, wv);
	char	   *combine_name = text_to_cstring(PG_GETARG_TEXT_PP(5));
	LmWordVecCombine combine;

	if (strcmp(combine_name, "raw") == 0)
		combine = LM_WORDVEC_COMBINE_RAW;
	else if (strcmp(combine_name, "unit") == 0)
		combine = LM_WORDVEC_COMBINE_UNIT;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown combine \"%s\"", combine_name),
				 errhint("'raw' adds the vectors as stored (3CosAdd); 'unit' makes them unit length first, as gensim's most_similar.")));
	InitMaterializedSRF(fcinfo, 0);
	if (cm->kind == LM_KIND_WORD_VECTORS)
		table_analogy(fcinfo, wv, combine, k);
	else
		fasttext_analogy(fcinfo, cm, wv, combine, k);
	return (Datum) 0;
}
