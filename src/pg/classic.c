/*
 * classic.c — the classic models (word vectors, fastText, TF-IDF) as the
 * generic SQL functions see them: loading into m->classic on first use, and
 * the hooks of lm_embed, lm_similarity, lm_classify and lm_classify_scores.
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

/* fastText's label prefix, left out of the labels lm_classify returns. */
#define LM_FASTTEXT_LABEL_PREFIX "__label__"

bool
lm_pg_is_classic(const LmStoredModel *m)
{
	return strcmp(m->architecture, LM_ARCH_WORD_VECTORS) == 0 ||
		strcmp(m->architecture, LM_ARCH_FASTTEXT) == 0 ||
		strcmp(m->architecture, LM_ARCH_TFIDF) == 0;
}

void
lm_pg_classic_wrong_kind(LmStoredModel *m, const char *function, const char *needs, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("%s needs %s, and \"%s\" is a %s model", function, needs, m->name, m->architecture),
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

text *
lm_pg_classic_text(const char *s, size_t len)
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

static void
free_classic(void *p)
{
	ClassicModel *cm = p;

	lm_wordvec_free(cm->wv);
	if (cm->ft)
		lm_fasttext_free(cm->ft);
	if (cm->vectorizer)
		lm_vectorizer_free(cm->vectorizer);
	free(cm);
}

/* A fastText model from the file bytes kept in lm.model_file. */
static LmFastText *
fasttext_load(LmStoredModel *m)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	bytea	   *data;
	bool		isnull;
	LmFastText *ft;
	LmError		err;

	SPI_connect();
	if (SPI_execute_with_args("SELECT content FROM lm.model_file WHERE model_id = $1 AND content IS NOT NULL "
							  "ORDER BY file LIMIT 1", 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lm.model_file");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("fastText model \"%s\" has no file in lm.model_file", m->name),
				 errhint("Import the .bin or .ftz file again under a new name.")));
	data = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lm_error_clear(&err);
	ft = lm_fasttext_load((const uint8_t *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), &err);
	if (ft == NULL)
	{
		lm_error_prefix(&err, "model \"%s\"", m->name);
		lm_pg_raise(&err);
	}
	SPI_finish();
	return ft;
}

ClassicModel *
lm_pg_classic_model(LmStoredModel *m)
{
	ClassicModel *cm;

	if (!lm_pg_is_classic(m))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not word vectors, fastText or TF-IDF",
						m->name, m->architecture),
				 errhint("lm_import() reads word2vec, GloVe, .vec and fastText files; lm_tfidf_train() makes TF-IDF models.")));
	if (m->classic)
		return m->classic;
	cm = calloc(1, sizeof(ClassicModel));
	if (cm == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	PG_TRY();
	{
		if (strcmp(m->architecture, LM_ARCH_WORD_VECTORS) == 0)
		{
			cm->kind = CLASSIC_WORD_VECTORS;
			cm->wv = lm_pg_wordvec_load(m);
		}
		else if (strcmp(m->architecture, LM_ARCH_FASTTEXT) == 0)
		{
			cm->kind = CLASSIC_FASTTEXT;
			cm->ft = fasttext_load(m);
		}
		else
		{
			cm->kind = CLASSIC_TFIDF;
			cm->vectorizer = lm_pg_tfidf_load(m);
		}
	}
	PG_CATCH();
	{
		free_classic(cm);
		PG_RE_THROW();
	}
	PG_END_TRY();
	m->classic = cm;
	m->classic_free = free_classic;
	return cm;
}

/* The vectors of every word of a fastText model's dictionary. */
static LmWordVectors *
fasttext_word_table(const LmFastText *ft)
{
	int			dim = lm_fasttext_dim(ft);
	int32_t		n = lm_fasttext_nwords(ft);
	LmWordVectors *wv;
	float	   *vec;
	LmError		err;

	lm_error_clear(&err);
	wv = lm_wordvec_new(dim, n, &err);
	if (wv == NULL)
		lm_pg_raise(&err);
	vec = palloc(sizeof(float) * dim);
	PG_TRY();
	{
		for (int32_t i = 0; i < n; i++)
		{
			const char *word = lm_fasttext_word(ft, i);

			CHECK_FOR_INTERRUPTS();
			if (lm_fasttext_word_vector(ft, word, strlen(word), vec, &err) != 0 ||
				lm_wordvec_add(wv, word, strlen(word), vec, &err) == -1)
				lm_pg_raise(&err);
		}
	}
	PG_CATCH();
	{
		lm_wordvec_free(wv);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(vec);
	return wv;
}

const LmWordVectors *
lm_pg_classic_word_table(LmStoredModel *m, ClassicModel *cm, const char *function)
{
	if (cm->kind == CLASSIC_TFIDF)
		lm_pg_classic_wrong_kind(m, function, "word vectors or a fastText model",
								 "lm_import() reads word2vec, GloVe, .vec and fastText files.");
	if (cm->wv == NULL)
		cm->wv = fasttext_word_table(cm->ft);
	return cm->wv;
}

/* Hooks of the generic functions ---------------------------------------- */

float *
lm_pg_classic_embed(LmStoredModel *m, text *input, int *dim)
{
	ClassicModel *cm = lm_pg_classic_model(m);
	const char *s = VARDATA_ANY(input);
	size_t		len = VARSIZE_ANY_EXHDR(input);
	float	   *out = NULL;
	LmError		err;
	int			rc = 0;

	lm_error_clear(&err);
	switch (cm->kind)
	{
		case CLASSIC_WORD_VECTORS:
			*dim = lm_wordvec_dim(cm->wv);
			out = palloc(sizeof(float) * *dim);
			/* the mean of the vectors as stored (the "sum" representation, scaled) */
			rc = lm_wordvec_text_mean(cm->wv, s, len, false, out, NULL, &err);
			break;
		case CLASSIC_FASTTEXT:
			*dim = lm_fasttext_dim(cm->ft);
			out = palloc(sizeof(float) * *dim);
			rc = lm_fasttext_sentence_vector(cm->ft, s, len, out, &err);
			break;
		case CLASSIC_TFIDF:
			{
				int32_t		n = lm_vectorizer_vocabulary_size(cm->vectorizer);
				double	   *row = palloc(sizeof(double) * n);

				rc = lm_vectorizer_tfidf_dense(cm->vectorizer, s, len, row, &err);
				*dim = n;
				out = palloc(sizeof(float) * n);
				for (int32_t i = 0; i < n; i++)
					out[i] = (float) row[i];
				pfree(row);
				break;
			}
	}
	if (rc != 0)
		lm_pg_raise(&err);
	return out;
}

double
lm_pg_classic_similarity(LmStoredModel *m, text *a, text *b, bool *isnull)
{
	int			dim;
	float	   *va = lm_pg_classic_embed(m, a, &dim);
	float	   *vb = lm_pg_classic_embed(m, b, &dim);
	bool		defined;
	double		cosine = lm_cosine(va, vb, dim, &defined);

	pfree(va);
	pfree(vb);
	*isnull = !defined;
	return cosine;
}

int
lm_pg_classic_classify(LmStoredModel *m, text *input, int k, char ***labels, double **probs)
{
	ClassicModel *cm = lm_pg_classic_model(m);
	LmFastTextPrediction *pred;
	LmError		err;
	int			n;

	if (cm->kind != CLASSIC_FASTTEXT || lm_fasttext_model_kind(cm->ft) != LM_FASTTEXT_SUPERVISED)
		lm_pg_classic_wrong_kind(m, "lm_classify", "a supervised fastText model",
								 cm->kind == CLASSIC_FASTTEXT
								 ? "This fastText model learnt word vectors: use lm_word_vector, lm_most_similar or lm_embed."
								 : "lm_import() a fastText classifier (.bin or .ftz trained with fasttext supervised).");
	k = Max(1, Min(k, lm_fasttext_nlabels(cm->ft)));
	pred = palloc(sizeof(LmFastTextPrediction) * k);
	lm_error_clear(&err);
	n = lm_fasttext_predict(cm->ft, VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), k, 0.0f, pred, &err);
	if (n < 0)
		lm_pg_raise(&err);
	*labels = palloc(sizeof(char *) * Max(n, 1));
	*probs = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		const char *label = lm_fasttext_label(cm->ft, pred[i].label);

		if (strncmp(label, LM_FASTTEXT_LABEL_PREFIX, strlen(LM_FASTTEXT_LABEL_PREFIX)) == 0)
			label += strlen(LM_FASTTEXT_LABEL_PREFIX);
		(*labels)[i] = text_to_cstring(lm_pg_classic_text(label, strlen(label)));
		(*probs)[i] = pred[i].prob;
	}
	pfree(pred);
	return n;
}

/*
 * Feed every non-NULL text the training query returns (its first column,
 * which must be text) to add(); returns how many texts there were.
 */
int64
lm_pg_classic_feed_query(const char *query, LmClassicAddText add, void *arg)
{
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);
	Portal		portal;
	int64		texts = 0;
	bool		checked = false;
	LmError		err;

	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("could not prepare the training query: %s", SPI_result_code_string(SPI_result))));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query must be a SELECT that returns texts")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	lm_error_clear(&err);
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
	return texts;
}
