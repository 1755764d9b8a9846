/*
 * classic.c — the classic models (word vectors, fastText, TF-IDF) as their
 * own SQL functions see them, the fastText loader, and what the classic_*.c
 * files share.  lm_embed, lm_similarity and lm_classify reach them through
 * the engine's tasks.
 */
#include "pg/classic_internal.h"

#include <math.h>
#include <stdlib.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "metrics/cosine.h"

void
lm_pg_classic_wrong_kind(LmStoredModel *m, const char *function, const char *needs, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("%s needs %s, and \"%s\" is a %s model", function, needs, m->name,
					lm_task_model_kind(m->tm)->architecture),
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

void
lm_pg_classic_require_text_column(TupleDesc desc)
{
	Oid			type = getBaseType(SPI_gettypeid(desc, 1));

	if (type != TEXTOID && type != VARCHAROID && type != BPCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the training query returns %s, not text", format_type_be(SPI_gettypeid(desc, 1))),
				 errhint("Select one text column, e.g. SELECT body FROM reviews.")));
}

/* Loading ---------------------------------------------------------------- */

/* A fastText model from the file bytes kept in _lm.model_file. */
LmFastText *
lm_pg_fasttext_load(LmStoredModel *m)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	bytea	   *data;
	bool		isnull;
	LmFastText *ft;
	LmError		err;

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT content FROM _lm.model_file WHERE model_id = $1 AND content IS NOT NULL "
							  "ORDER BY file LIMIT 1", 1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read _lm.model_file");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("fastText model \"%s\" has no file in _lm.model_file", m->name),
				 errhint("Import the .bin or .ftz file again under a new name.")));
	data = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lm_pg_error_init(&err);
	ft = lm_fasttext_load((const uint8_t *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), &err);
	if (ft == NULL)
	{
		lm_error_prefix(&err, "model \"%s\"", m->name);
		lm_pg_raise(&err);
	}
	lm_pg_spi_finish();
	return ft;
}

ClassicModel *
lm_pg_classic_model(LmStoredModel *m)
{
	ClassicModel *cm;
	const LmTaskModel *tm;
	LmKind		kind = lm_store_kind(m);

	if (kind != LM_KIND_WORD_VECTORS && kind != LM_KIND_FASTTEXT && kind != LM_KIND_TFIDF)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not word vectors, fastText or TF-IDF",
						m->name, lm_task_model_kind(m->tm)->architecture),
				 errhint("lm_import() reads word2vec, GloVe, .vec and fastText files; lm_tfidf_train() makes TF-IDF models.")));
	tm = lm_store_prepare(m, LM_DO_WORDS, true);
	cm = palloc0(sizeof(ClassicModel));
	cm->kind = kind;
	cm->wv = kind == LM_KIND_WORD_VECTORS ? lm_task_model_word_vectors(tm) : m->fasttext_words;
	cm->ft = lm_task_model_fasttext(tm);
	cm->vectorizer = lm_task_model_vectorizer(tm);
	return cm;
}

LM_PG_FREE_FN(free_word_vectors, LmWordVectors, lm_wordvec_free)

/* The vectors of every word of a fastText model's dictionary. */
static LmWordVectors *
fasttext_word_table(const LmFastText *ft)
{
	int			dim = lm_fasttext_dim(ft);
	int32_t		n = lm_fasttext_nwords(ft);
	LmWordVectors *wv;
	LmPgGuard  *guard;
	float	   *vec;
	LmError		err;

	lm_pg_error_init(&err);
	wv = lm_wordvec_new(dim, n, &err);
	if (wv == NULL)
		lm_pg_raise(&err);
	guard = lm_pg_guard(free_word_vectors, wv);
	vec = palloc(sizeof(float) * dim);
	for (int32_t i = 0; i < n; i++)
	{
		const char *word = lm_fasttext_word(ft, i);

		CHECK_FOR_INTERRUPTS();
		if (lm_fasttext_word_vector(ft, word, strlen(word), vec, &err) != 0 ||
			lm_wordvec_add(wv, word, strlen(word), vec, &err) == -1)
			lm_pg_raise(&err);
	}
	lm_pg_keep(guard);
	pfree(vec);
	return wv;
}

const LmWordVectors *
lm_pg_classic_word_table(LmStoredModel *m, ClassicModel *cm, const char *function)
{
	if (cm->kind == LM_KIND_TFIDF)
		lm_pg_classic_wrong_kind(m, function, "word vectors or a fastText model",
								 "lm_import() reads word2vec, GloVe, .vec and fastText files.");
	if (cm->wv == NULL)
		cm->wv = m->fasttext_words = fasttext_word_table(cm->ft);
	return cm->wv;
}

/*
 * Feed every non-NULL text the training query returns (its first column,
 * which must be text) to add(); returns how many texts there were.  The
 * query is the caller's: it runs in a connection of its own, with the
 * caller's search_path and privileges (not pg_lm's).
 */
int64
lm_pg_classic_feed_query(const char *query, LmClassicAddText add, void *arg)
{
	SPIPlanPtr	plan;
	Portal		portal;
	int64		texts = 0;
	bool		checked = false;
	LmError		err;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("could not prepare the training query: %s", SPI_result_code_string(SPI_result))));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query must be a SELECT that returns texts")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	lm_pg_error_init(&err);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, LM_CLASSIC_FETCH);
		if (!checked)
		{
			lm_pg_classic_require_text_column(SPI_tuptable->tupdesc);
			checked = true;
		}
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			text	   *t;

			CHECK_FOR_INTERRUPTS();
			if (isnull)
				continue;
			t = DatumGetTextPP(d);
			if (add(arg, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &err) != 0)
				lm_pg_raise(&err);
			if ((Pointer) t != DatumGetPointer(d))
				pfree(t);
			texts++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return texts;
}
