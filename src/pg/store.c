/*
 * store.c — find models in _lm.model and keep what the engine built from them
 * in a per-backend cache.
 *
 * A model never changes in place, so a cached entry stays valid as long as a
 * model of that name still has the same id.  Each call looks the name up (one
 * index probe); a dropped or re-imported model therefore never serves stale
 * weights.  Beyond pg_lm.cache_models entries, or pg_lm.cache_memory of
 * weights, the least recently used ones are unloaded (a model larger than
 * pg_lm.cache_memory is still loaded, alone).
 */
#include "pg/store.h"

#include <stdlib.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "funcapi.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "pg/model_rows.h"
#include "pg/pg_lm.h"
#include "wire/wire.h"

#define LM_CACHE_SLOTS 1024		/* hard ceiling, pg_lm.cache_models is the limit */

static LmStoredModel *cache[LM_CACHE_SLOTS];

/*
 * A name looked up once in a transaction is not looked up again in it: a
 * model never changes in place, and the transaction keeps using the model
 * it found even if another session drops it meanwhile.  The generation
 * advances at every transaction end; lm_drop and lm_import forget their
 * name at once.
 */
static uint64 xact_generation = 1;
static bool xact_callback_registered = false;

/*
 * Model functions read the tables with the statement's snapshot; lm_import
 * checks the model it just wrote, which needs queries that see the
 * statement's own writes (lm_store_see_own_writes).
 */
static bool read_only = true;
static int	cache_count = 0;
static uint64 use_clock = 0;

static void
free_entry(LmStoredModel *m)
{
	lm_task_model_free(m->tm);
	lm_wordvec_free(m->fasttext_words);
	MemoryContextDelete(m->context);
}

static void
remove_slot(int i)
{
	free_entry(cache[i]);
	cache[i] = cache[--cache_count];
}

void
lm_store_see_own_writes(bool see)
{
	read_only = !see;
}

/*
 * pg_restore's sessions: the rows of a model may still be on their way
 * (pg_restore -j copies pg_lm's tables beside the user tables whose
 * generated columns call pg_lm), so they read with fresh snapshots, which
 * see what the other sessions of the restore committed.
 */
static bool
restoring(void)
{
	return application_name != NULL && strcmp(application_name, "pg_restore") == 0;
}

bool
lm_store_read_only(void)
{
	return read_only && !restoring();
}

/*
 * In a pg_restore session, wait until the model called name is there whole
 * (its row, and as many rows of each part as it was sealed with), up to
 * pg_lm.restore_wait seconds.  Inside SPI.
 */
static void
wait_until_restored(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	int			waited_ms = 0;

	for (;;)
	{
		bool		isnull;

		if (SPI_execute_with_args("SELECT id FROM _lm.model WHERE name = $1", 1, types, values,
								  NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not look up _lm.model");
		if (SPI_processed == 1 &&
			lm_pg_model_complete(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															  SPI_tuptable->tupdesc, 1, &isnull))))
			return;
		if (waited_ms >= lm_guc_restore_wait * 1000)
			return;				/* the lookup that follows says what is missing */
		if (waited_ms == 0)
			ereport(LOG,
					(errmsg("pg_lm: waiting up to %d s for model \"%s\" to be restored",
							lm_guc_restore_wait, name)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		waited_ms += 100;
	}
}

void
lm_store_forget(const char *name)
{
	for (int i = cache_count - 1; i >= 0; i--)
		if (strcmp(cache[i]->name, name) == 0)
			remove_slot(i);
}

static int64
cached_bytes(void)
{
	int64		total = 0;

	for (int i = 0; i < cache_count; i++)
		total += cache[i]->bytes;
	return total;
}

/* Make room for one more model of bytes. */
static void
evict_to(int limit, int64 bytes)
{
	int64		memory = (int64) lm_guc_cache_memory_mb * 1024 * 1024;

	while (cache_count > 0 && (cache_count >= limit || cached_bytes() + bytes > memory))
	{
		int			oldest = 0;

		for (int i = 1; i < cache_count; i++)
			if (cache[i]->last_used < cache[oldest]->last_used)
				oldest = i;
		remove_slot(oldest);
	}
}

static char *
copy_text_column(MemoryContext cxt, HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

static void
end_of_transaction(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		xact_generation++;
}

/*
 * lm_drop invalidates _lm's pg_namespace row when it commits (as does any
 * change of a schema): the next lookup then releases the cached models
 * whose rows are gone, so a dropped model's memory leaves every backend
 * at its next call, not when the cache evicts it.
 */
static bool recheck_cache = false;

static void
namespace_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	recheck_cache = true;
}

/* Inside SPI. */
static void
release_dropped_models(void)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum	   *ids;
	Datum		values[1];

	recheck_cache = false;
	if (cache_count == 0)
		return;
	ids = palloc(sizeof(Datum) * cache_count);
	for (int i = 0; i < cache_count; i++)
		ids[i] = Int64GetDatum(cache[i]->id);
	values[0] = PointerGetDatum(construct_array(ids, cache_count, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	if (SPI_execute_with_args("SELECT id FROM _lm.model WHERE id = ANY ($1)", 1, types, values,
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	for (int i = cache_count - 1; i >= 0; i--)
	{
		bool		found = false;

		for (uint64 r = 0; r < SPI_processed && !found; r++)
		{
			bool		isnull;

			found = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1,
												&isnull)) == cache[i]->id;
		}
		/* one this transaction used may still be in use by a call of it: at its next */
		if (!found && cache[i]->checked_in == xact_generation)
			recheck_cache = true;
		else if (!found)
			remove_slot(i);
	}
}

void
lm_store_release_dropped(void)
{
	if (!recheck_cache)
		return;
	lm_pg_spi_connect();
	release_dropped_models();
	lm_pg_spi_finish();
}

PG_FUNCTION_INFO_V1(pglm_loaded_models);

/* lm_loaded_models(): the models this session keeps loaded, most recently used first. */
Datum
pglm_loaded_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			order[LM_CACHE_SLOTS];

	lm_store_release_dropped();
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < cache_count; i++)
		order[i] = i;
	for (int i = 1; i < cache_count; i++)
		for (int j = i; j > 0 && cache[order[j]]->last_used > cache[order[j - 1]]->last_used; j--)
		{
			int			t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int i = 0; i < cache_count; i++)
	{
		Datum		values[3] = {CStringGetTextDatum(cache[order[i]]->name),
		Int64GetDatum(cache[order[i]]->id), Int64GetDatum(cache[order[i]]->bytes)};
		bool		nulls[3] = {false, false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Is a model of that name cached (so it was whole when it was loaded)? */
static bool
cached_by_name(const char *name)
{
	for (int i = 0; i < cache_count; i++)
		if (strcmp(cache[i]->name, name) == 0)
			return true;
	return false;
}

LmStoredModel *
lm_store_get(const char *name)
{
	int64		bytes;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	int64		id;
	bool		isnull;
	LmStoredModel *m;
	HeapTuple	tuple;
	TupleDesc	desc;
	LmModelDesc desc_in = {0};
	LmError		err;

	if (!xact_callback_registered)
	{
		RegisterXactCallback(end_of_transaction, NULL);
		CacheRegisterSyscacheCallback(NAMESPACEOID, namespace_changed, (Datum) 0);
		xact_callback_registered = true;
	}
	lm_store_release_dropped();
	for (int i = 0; i < cache_count && lm_store_read_only(); i++)
	{
		if (cache[i]->checked_in == xact_generation && cache[i]->checked_for == lm_pg_caller() &&
			strcmp(cache[i]->name, name) == 0)
		{
			cache[i]->last_used = ++use_clock;
			return cache[i];
		}
	}

	values[0] = CStringGetTextDatum(name);
	lm_pg_spi_connect();
	if (restoring() && !cached_by_name(name))
		wait_until_restored(name);
	if (SPI_execute_with_args("SELECT id, owner, users FROM _lm.model WHERE name = $1", 1, types, values,
							  NULL, lm_store_read_only(), 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("SELECT name FROM lm.models lists the imported models; lm_import() adds one.")));
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
	lm_pg_require_model_use(name, NameStr(*DatumGetName(SPI_getbinval(tuple, desc, 2, &isnull))),
							DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull)));

	for (int i = 0; i < cache_count; i++)
	{
		if (cache[i]->id == id)
		{
			lm_pg_spi_finish();
			cache[i]->last_used = ++use_clock;
			cache[i]->checked_in = xact_generation;
			cache[i]->checked_for = lm_pg_caller();
			return cache[i];
		}
	}
	lm_store_forget(name);		/* an older model of the same name */

	values[0] = Int64GetDatum(id);
	types[0] = INT8OID;
	/* its size as lm.models gives it: tensors, or a classic model's own count, and stored files */
	if (SPI_execute_with_args("SELECT coalesce((SELECT sum(bytes) FROM _lm.tensor WHERE model_id = $1), 0) "
							  "+ coalesce((SELECT sum(bytes) FROM _lm.model_file "
							  "            WHERE model_id = $1 AND content IS NOT NULL), 0) "
							  "+ coalesce((SELECT (config->>'bytes')::bigint FROM _lm.model WHERE id = $1 "
							  "            AND architecture IN ('word_vectors', 'fasttext', 'tfidf')), 0)",
							  1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished while loading", name);
	bytes = DatumGetInt64(DirectFunctionCall1(numeric_int8,
											  SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
															1, &isnull)));
	evict_to(lm_guc_cache_models, bytes);
	if (SPI_execute_with_args("SELECT name, architecture, config::text, generation_config::text, "
							  "pipeline->>'pooling', "
							  "coalesce((pipeline->>'normalize')::boolean, false)::text "
							  "FROM _lm.model WHERE id = $1",
							  1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished while loading", name);
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	m = MemoryContextAllocZero(TopMemoryContext, sizeof(LmStoredModel));
	m->context = AllocSetContextCreate(TopMemoryContext, "pg_lm model", ALLOCSET_SMALL_SIZES);
	m->id = id;
	m->bytes = bytes;
	m->name = copy_text_column(m->context, tuple, desc, 1);
	desc_in.name = m->name;
	desc_in.architecture = copy_text_column(m->context, tuple, desc, 2);
	desc_in.config = copy_text_column(m->context, tuple, desc, 3);
	desc_in.generation_config = copy_text_column(m->context, tuple, desc, 4);
	desc_in.pooling = copy_text_column(m->context, tuple, desc, 5);
	desc_in.normalize = strcmp(copy_text_column(m->context, tuple, desc, 6), "true") == 0;
	m->desc = desc_in;
	lm_pg_error_init(&err);
	if ((m->tm = lm_task_model_new(&desc_in, &err)) == NULL)
	{
		MemoryContextDelete(m->context);
		pfree(m);
		lm_pg_raise(&err);
	}
	m->last_used = ++use_clock;
	m->checked_in = xact_generation;
	m->checked_for = lm_pg_caller();
	lm_pg_spi_finish();
	cache[cache_count++] = m;
	return m;
}

LmKind
lm_store_kind(const LmStoredModel *m)
{
	return lm_task_model_kind(m->tm)->kind;
}

/* Fetch one bytea/text column of one row by model id; NULL when none. */
static bytea *
fetch_detoasted(const char *sql, int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args(sql, 1, types, values, NULL, lm_store_read_only(), 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read model data");
	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetByteaPP(d);
}

/*
 * The stored tokenizer: tokenizer.json in _lm.model, else a SentencePiece
 * .model file in _lm.model_file (palloc'd in the caller's context).
 */
int
lm_store_tokenizer_bytes(LmStoredModel *m, const char **bytes, size_t *len)
{
	MemoryContext caller = CurrentMemoryContext;
	LmTokenizerFormat format = LM_TOKENIZER_JSON;
	bytea	   *data;

	lm_pg_spi_connect();
	data = fetch_detoasted("SELECT convert_to(tokenizer::text, 'UTF8') FROM _lm.model WHERE id = $1 AND tokenizer IS NOT NULL", m->id);
	if (data == NULL)
	{
		format = LM_TOKENIZER_SPM;
		data = fetch_detoasted("SELECT content FROM _lm.model_file WHERE model_id = $1 "
							   "AND file LIKE '%.model' AND content IS NOT NULL ORDER BY file", m->id);
	}
	if (data == NULL)
		format = LM_TOKENIZER_NONE;
	else
	{
		*len = VARSIZE_ANY_EXHDR(data);
		*bytes = MemoryContextAlloc(caller, *len + 1);
		memcpy((char *) *bytes, VARDATA_ANY(data), *len);
		((char *) *bytes)[*len] = '\0';
	}
	lm_pg_spi_finish();
	return format;
}

/* Read the tokenizer into the model. */
static void
load_tokenizer(LmStoredModel *m)
{
	LmError		err;
	const char *bytes;
	size_t		len;
	LmTokenizer *tokenizer;

	lm_pg_error_init(&err);
	switch (lm_store_tokenizer_bytes(m, &bytes, &len))
	{
		case LM_TOKENIZER_JSON:
			tokenizer = lm_tokenizer_from_json(bytes, len, &err);
			break;
		case LM_TOKENIZER_SPM:
			tokenizer = lm_tokenizer_from_spm((const uint8 *) bytes, len, &err);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("model \"%s\" has no tokenizer", m->name),
					 errhint("Import a directory with tokenizer.json or a SentencePiece .model file.")));
	}
	pfree((char *) bytes);
	if (tokenizer == NULL)
	{
		lm_error_prefix(&err, "tokenizer of model \"%s\"", m->name);
		lm_pg_raise(&err);
	}
	lm_task_model_set_tokenizer(m->tm, tokenizer);
}

/* Build the network from its tensors: a weights file, or the tables (tensors.c). */
static void
load_tensors(LmStoredModel *m)
{
	LmTensorSet *set = lm_pg_load_tensors(m, lm_store_read_only());
	LmError		err;

	lm_pg_error_init(&err);
	/* the model takes the tensors, whatever happens */
	if (lm_task_model_build(m->tm, set, &err) != 0)
		lm_pg_raise(&err);
}

static void
load_network(LmStoredModel *m)
{
	switch (lm_store_kind(m))
	{
		case LM_KIND_TRANSFORMER:
		case LM_KIND_RNN:
			load_tensors(m);
			break;
		case LM_KIND_NGRAM:
			lm_pg_ngram_load(m);
			break;
		case LM_KIND_WORD_VECTORS:
			lm_task_model_set_word_vectors(m->tm, lm_pg_wordvec_load(m));
			break;
		case LM_KIND_FASTTEXT:
			lm_task_model_set_fasttext(m->tm, lm_pg_fasttext_load(m));
			break;
		case LM_KIND_TFIDF:
			lm_task_model_set_vectorizer(m->tm, lm_pg_tfidf_load(m));
			break;
		case LM_KIND_TOKENIZER:
		case LM_KIND_STORED:
			elog(ERROR, "model \"%s\" has no network to load", m->name);
	}
}

/*
 * ERROR if the model's row is gone from the statement's snapshot.  A name
 * found earlier in a READ COMMITTED transaction may have been dropped by
 * another session since; its parts read now would be missing, and a
 * half-found model must not be reported as a corrupt one.
 */
void
lm_store_check_not_dropped(LmStoredModel *m)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	bool		gone;

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM _lm.model WHERE id = $1", 1, types, values, NULL,
							  lm_store_read_only(), 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	gone = SPI_processed == 0;
	lm_pg_spi_finish();
	if (gone)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped", m->name),
				 errdetail("Another session dropped it after this transaction looked it up."),
				 errhint("Run the statement again: it will use the model that has the name now, if any.")));
}

const LmTaskModel *
lm_store_prepare(LmStoredModel *m, LmTaskId task, bool text_input)
{
	bool		checked = false;

	for (;;)
	{
		LmError		err;
		LmPart		part;

		lm_pg_error_init(&err);
		if (lm_task_next_part(m->tm, task, text_input, &part, &err) != 0)
			lm_pg_raise(&err);
		if (part == LM_PART_NONE)
			return m->tm;
		if (!checked)
		{
			lm_store_check_not_dropped(m);
			checked = true;
		}
		if (part == LM_PART_TOKENIZER)
			load_tokenizer(m);
		else
			load_network(m);
	}
}

void
lm_store_check_task(LmStoredModel *m, LmTaskId task, bool text_input)
{
	LmError		err;
	LmPart		part;

	lm_pg_error_init(&err);
	if (lm_task_next_part(m->tm, task, text_input, &part, &err) != 0)
		lm_pg_raise(&err);
}

const LmTaskModel *
lm_store_prepare_arg(FunctionCallInfo fcinfo, LmTaskId task, bool text_input)
{
	return lm_store_prepare(lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0))), task, text_input);
}

void
lm_store_build(LmStoredModel *m)
{
	LmKind		kind = lm_store_kind(m);

	if (kind == LM_KIND_TRANSFORMER || kind == LM_KIND_RNN)
		load_tensors(m);
}
