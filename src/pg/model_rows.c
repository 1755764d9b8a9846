/*
 * model_rows.c — the one writer of _lm.model, _lm.model_file and
 * _lm.word_vector rows (see model_rows.h).
 */
#include "pg/model_rows.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pg/classic_internal.h"
#include "pg/row_writer.h"

static Datum
text_or_null(const char *s, char *nulls, int i)
{
	nulls[i] = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * On a Citus cluster whose pg_lm tables are reference tables, a model is
 * created on the coordinator, which writes it to every node: a worker's own
 * sequence would hand out ids the other nodes already hold.
 */
static void
refuse_on_citus_worker(void)
{
	bool		isnull;

	if (SPI_execute("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up pg_extension");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return;
	if (SPI_execute("SELECT coalesce((SELECT groupid FROM pg_catalog.pg_dist_local_group), 0) <> 0 "
					"AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition "
					"WHERE logicalrelid = '_lm.model'::regclass)", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up Citus's metadata");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("models are imported and trained on the coordinator of a Citus cluster"),
				 errhint("Run it on the coordinator: pg_lm's tables are reference tables there, "
						 "and the coordinator writes them to every node.")));
}

int64
lm_pg_insert_model(const char *name, const char *architecture, const char *task,
				   const char *config_json, const char *tokenizer_json,
				   const char *generation_config_json, const char *pipeline_json,
				   const char *source)
{
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[9];
	char		nulls[9];
	bool		isnull;

	refuse_on_citus_worker();
	values[0] = text_or_null(name, nulls, 0);
	values[1] = text_or_null(architecture, nulls, 1);
	values[2] = text_or_null(task, nulls, 2);
	values[3] = text_or_null(config_json, nulls, 3);
	values[4] = text_or_null(tokenizer_json, nulls, 4);
	values[5] = text_or_null(generation_config_json, nulls, 5);
	values[6] = text_or_null(pipeline_json, nulls, 6);
	values[7] = text_or_null(source, nulls, 7);
	/* the role that called pg_lm owns what it imports or trains */
	values[8] = text_or_null(GetUserNameFromId(lm_pg_caller(), false), nulls, 8);
	if (SPI_execute_with_args("INSERT INTO _lm.model (name, architecture, task, config, tokenizer, "
							  "generation_config, pipeline, source, owner) "
							  "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9::name) "
							  "ON CONFLICT (name) DO NOTHING RETURNING id",
							  9, types, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert into _lm.model");
	/* another session imported the name since lm_pg_check_new_model_name looked, and committed */
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", name),
				 errdetail("Another session imported it at the same time."),
				 errhint("Models are immutable: import under a new name, or lm_drop('%s') first.", name)));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void
lm_pg_set_model_chat(int64 model_id, const char *chat_template, const char *chat_templates_json,
					 const char *special_tokens_json)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (chat_template == NULL && chat_templates_json == NULL && special_tokens_json == NULL)
		return;
	values[0] = Int64GetDatum(model_id);
	values[1] = text_or_null(chat_template, nulls, 1);
	values[2] = text_or_null(chat_templates_json, nulls, 2);
	values[3] = text_or_null(special_tokens_json, nulls, 3);
	if (SPI_execute_with_args("UPDATE _lm.model SET chat_template = $2, chat_templates = $3::jsonb, "
							  "special_tokens = $4::jsonb WHERE id = $1",
							  4, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update _lm.model");
}

/* The row counts of a model's parts, as SQL (the model's id is $1). */
#define PART_COUNTS_SQL \
	"jsonb_build_object(" \
	"'model_file', (SELECT count(*) FROM _lm.model_file WHERE model_id = $1), " \
	"'tensor', (SELECT count(*) FROM _lm.tensor WHERE model_id = $1), " \
	"'tensor_chunk', (SELECT count(*) FROM _lm.tensor_chunk WHERE model_id = $1), " \
	"'ngram', (SELECT count(*) FROM _lm.ngram WHERE model_id = $1), " \
	"'word_vector', (SELECT count(*) FROM _lm.word_vector WHERE model_id = $1), " \
	"'tfidf_term', (SELECT count(*) FROM _lm.tfidf_term WHERE model_id = $1))"

void
lm_pg_seal_model(int64 model_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};

	if (SPI_execute_with_args("UPDATE _lm.model SET parts = " PART_COUNTS_SQL " WHERE id = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update _lm.model");
}

bool
lm_pg_model_complete(int64 model_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};

	/* not read-only: a snapshot of its own, which sees what other sessions committed */
	if (SPI_execute_with_args("SELECT parts = " PART_COUNTS_SQL " FROM _lm.model WHERE id = $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read _lm.model");
	if (SPI_processed == 0)
		return false;
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		return !isnull && DatumGetBool(d);
	}
}

/*
 * ON CONFLICT DO NOTHING: an import that reads one file twice (under the
 * same name) records it once.
 */
void
lm_pg_insert_model_file(int64 model_id, const char *file, const char *source_path,
						const char *sha256, int64 bytes, bytea *content)
{
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, BYTEAOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', content ? ' ' : 'n'};

	values[0] = Int64GetDatum(model_id);
	values[1] = CStringGetTextDatum(file);
	values[2] = CStringGetTextDatum(source_path);
	values[3] = CStringGetTextDatum(sha256);
	values[4] = Int64GetDatum(bytes);
	values[5] = PointerGetDatum(content);
	if (SPI_execute_with_args("INSERT INTO _lm.model_file (model_id, file, source_path, sha256, bytes, content) "
							  "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
							  6, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into _lm.model_file");
}

void
lm_pg_insert_word_vectors(int64 model_id, int dim, int32 count, LmPgWordVectorRow row, void *arg)
{
	Oid			types[4] = {INT8OID, TEXTOID, FLOAT4ARRAYOID, INT4OID};
	LmRowWriter *rows = lm_rows_begin("_lm.word_vector (model_id, word, vector, index)", 4, types,
									  16 * 1024 * 1024);
	Datum	   *elems = palloc(sizeof(Datum) * dim);
	/* a row's text and array go with the row: a vocabulary can be millions */
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lm word vector row",
												  ALLOCSET_DEFAULT_SIZES);

	for (int32 i = 0; i < count; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(row_cxt);
		const char *word;
		size_t		len;
		const float *vec = row(arg, i, &word, &len);
		Datum		values[4];

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < dim; j++)
			elems[j] = Float4GetDatum(vec[j]);
		values[0] = Int64GetDatum(model_id);
		values[1] = PointerGetDatum(lm_pg_text(word, len));
		values[2] = PointerGetDatum(construct_array(elems, dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
		values[3] = Int32GetDatum(i + 1);
		MemoryContextSwitchTo(old);
		lm_rows_add(rows, values, NULL);
		MemoryContextReset(row_cxt);
	}
	lm_rows_end(rows);
	MemoryContextDelete(row_cxt);
	pfree(elems);
}
