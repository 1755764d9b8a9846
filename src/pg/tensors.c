/*
 * tensors.c — a model's tensors, from its weights file or from the tables.
 *
 * _lm.tensor and _lm.tensor_chunk are the truth.  The first backend that needs
 * a model's weights writes them, chunk by chunk, into a memory-mappable file
 * in the data directory, $PGDATA/pg_lm/<database oid>/<model id>.safetensors
 * (written to a temporary name and renamed when complete), and every backend
 * maps that file: the operating system keeps one copy of the weights in its
 * page cache however many connections use the model.  The file's key, kept in
 * its metadata, is derived from the model's rows (id, creation time, each
 * tensor's name, dtype, shape and size), so a file left by another model is
 * never used; a missing, stale or damaged file is written anew (after a
 * restore, on a replica, after a crash).  lm_drop removes the file when its
 * transaction commits.  Where the file cannot be written, and for lm_import's
 * check of the rows it just wrote, the weights are read from the tables into
 * the backend's memory.
 */
#include "pg/pg_lm.h"

#include <ctype.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/file_perm.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "formats/weights_file.h"
#include "pg/store.h"

LM_PG_FREE_FN(free_tensor_set, LmTensorSet, lm_tensorset_free)
LM_PG_FREE_FN(abort_writer, LmWeightsWriter, lm_weights_file_abort)

/* Where tensors start in the in-memory block (the file aligns them the same). */
#define LM_TENSOR_ALIGN LM_WEIGHTS_ALIGN

/* Models dropped by this transaction: their files go when it commits. */
static List *dropped_ids = NIL;

/* Parse a bigint[] shape into the tensor. */
static void
read_shape(Datum d, LmTensor *t)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, INT8OID, 8, true, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n > LM_MAX_DIMS)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("tensor \"%s\" has %d dimensions", t->name, n)));
	t->ndim = n;
	for (int i = 0; i < n; i++)
		t->shape[i] = DatumGetInt64(elems[i]);
}

/* The model's tensors as _lm.tensor lists them, by name, without their bytes. */
static void
read_layout(LmStoredModel *m, bool read_only, LmTensorSet *set)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	LmError		err;

	lm_pg_error_init(&err);
	if (SPI_execute_with_args("SELECT name, dtype, shape, bytes FROM _lm.tensor WHERE model_id = $1 ORDER BY name",
							  1, types, values, NULL, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read _lm.tensor");
	set->tensors = calloc(Max(SPI_processed, 1), sizeof(LmTensor));
	if (set->tensors == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		LmTensor   *t = &set->tensors[i];
		uint64		bytes;
		bool		isnull;

		if ((t->name = strdup(SPI_getvalue(tup, desc, 1))) == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		set->n = i + 1;
		if (lm_dtype_from_name(SPI_getvalue(tup, desc, 2), &t->dtype, &err) != 0)
			lm_pg_raise(&err);
		read_shape(SPI_getbinval(tup, desc, 3, &isnull), t);
		t->nbytes = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		if (!lm_tensor_bytes(t, &bytes) || bytes != t->nbytes)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("tensor \"%s\" of model \"%s\": shape and byte count disagree",
								   t->name, m->name)));
	}
}

/* Receives each chunk's bytes, tensor after tensor, in the layout's order. */
typedef void (*ChunkSink) (void *arg, const LmTensor *t, uint64 at, const void *bytes, size_t len);

/*
 * Stream the model's chunks to sink through a cursor, so that one chunk at a
 * time is in backend memory; every tensor must come whole.
 */
static void
read_chunks(LmStoredModel *m, bool read_only, const LmTensorSet *set, ChunkSink sink, void *arg)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	SPIPlanPtr	plan;
	Portal		portal;
	uint64		ti = 0;
	uint64		filled = 0;

	/* Chunks arrive ordered by tensor name, as the tensors are. */
	plan = SPI_prepare("SELECT c.tensor, c.chunk, c.data FROM _lm.tensor_chunk c "
					   "WHERE c.model_id = $1 ORDER BY c.tensor, c.chunk", 1, types);
	portal = SPI_cursor_open(NULL, plan, values, NULL, read_only);
	for (;;)
	{
		HeapTuple	tup;
		bool		isnull;
		char	   *tname;
		bytea	   *data;
		size_t		len;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, 1);
		if (SPI_processed == 0)
			break;
		tup = SPI_tuptable->vals[0];
		tname = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		while (ti < set->n && strcmp(set->tensors[ti].name, tname) != 0 &&
			   filled == set->tensors[ti].nbytes)
		{
			ti++;
			filled = 0;
		}
		if (ti >= set->n || strcmp(set->tensors[ti].name, tname) != 0)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("model \"%s\": chunks of tensor \"%s\" do not match _lm.tensor",
								   m->name, tname)));
		data = DatumGetByteaPP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
		len = VARSIZE_ANY_EXHDR(data);
		if (filled + len > set->tensors[ti].nbytes)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("model \"%s\": tensor \"%s\" has more bytes than its shape",
								   m->name, tname)));
		sink(arg, &set->tensors[ti], filled, VARDATA_ANY(data), len);
		filled += len;
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	/* Every tensor must be complete. */
	for (uint64 i = 0; i < set->n; i++)
	{
		uint64		have = (i < ti) ? set->tensors[i].nbytes : (i == ti ? filled : 0);

		if (have != set->tensors[i].nbytes && set->tensors[i].nbytes != 0)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("model \"%s\": tensor \"%s\" is incomplete (%llu of %llu bytes)",
								   m->name, set->tensors[i].name, (unsigned long long) have,
								   (unsigned long long) set->tensors[i].nbytes)));
	}
}

/* ---- into memory --------------------------------------------------------- */

static void
memory_sink(void *arg, const LmTensor *t, uint64 at, const void *bytes, size_t len)
{
	memcpy((uint8 *) t->data + at, bytes, len);
}

/* Every tensor in one malloc'd block (outside palloc's 1 GB limit). */
static void
read_into_memory(LmStoredModel *m, bool read_only, LmTensorSet *set)
{
	uint64		total = 0;
	uint8	   *block;

	for (uint64 i = 0; i < set->n; i++)
	{
		set->tensors[i].offset = total;
		total += TYPEALIGN(LM_TENSOR_ALIGN, set->tensors[i].nbytes);
	}
	block = aligned_alloc(LM_TENSOR_ALIGN, Max(TYPEALIGN(LM_TENSOR_ALIGN, total), LM_TENSOR_ALIGN));
	if (block == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("out of memory loading %llu bytes of weights of model \"%s\"",
							   (unsigned long long) total, m->name)));
	set->owned_block = block;
	for (uint64 i = 0; i < set->n; i++)
		set->tensors[i].data = block + set->tensors[i].offset;
	read_chunks(m, read_only, set, memory_sink, NULL);
}

/* ---- the weights file ---------------------------------------------------- */

/* $PGDATA/pg_lm/<database oid>, made when missing; NULL when it cannot be. */
static char *
weights_directory(void)
{
	char	   *top = psprintf("%s/pg_lm", DataDir);
	char	   *dir = psprintf("%s/%u", top, MyDatabaseId);

	if ((MakePGDirectory(top) != 0 && errno != EEXIST) ||
		(MakePGDirectory(dir) != 0 && errno != EEXIST))
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir),
				 errdetail("Models are read from the tables into each backend's memory instead.")));
		return NULL;
	}
	return dir;
}

static char *
weights_path(const char *dir, int64 model_id)
{
	return psprintf("%s/" INT64_FORMAT ".safetensors", dir, model_id);
}

/* What the file must say it holds: the model's identity and its tensors. */
static char *
weights_key(LmStoredModel *m, bool read_only, const LmTensorSet *set)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	StringInfoData layout;
	char		hex[LM_SHA256_HEX_LENGTH];
	char	   *created;

	if (SPI_execute_with_args("SELECT created::text FROM _lm.model WHERE id = $1", 1, types, values,
							  NULL, read_only, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished while loading", m->name);
	created = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	initStringInfo(&layout);
	for (size_t i = 0; i < set->n; i++)
	{
		const LmTensor *t = &set->tensors[i];

		appendStringInfo(&layout, "%s\t%s\t" UINT64_FORMAT, t->name, lm_dtype_name(t->dtype),
						 (uint64) t->nbytes);
		for (int d = 0; d < t->ndim; d++)
			appendStringInfo(&layout, "\t" INT64_FORMAT, (int64) t->shape[d]);
		appendStringInfoChar(&layout, '\n');
	}
	lm_pg_sha256_bytes(layout.data, layout.len, hex);
	return psprintf("database %u, model " INT64_FORMAT ", created %s, tensors %s",
					MyDatabaseId, m->id, created ? created : "?", hex);
}

/* The writer and the first write error: a full disk is not the query's failure. */
typedef struct FileSink
{
	LmWeightsWriter *writer;
	LmError		err;
	bool		failed;
} FileSink;

static void
file_sink(void *arg, const LmTensor *t, uint64 at, const void *bytes, size_t len)
{
	FileSink   *sink = arg;

	if (!sink->failed && lm_weights_file_append(sink->writer, bytes, len, &sink->err) != 0)
		sink->failed = true;
}

static void
cannot_write(LmStoredModel *m, const LmError *err)
{
	ereport(WARNING,
			(errmsg("could not write the weights file of model \"%s\": %s", m->name, err->message),
			 errdetail("The model is read from the tables into this backend's memory instead.")));
}

/* Temporary files of writers that died: under the lock, nobody else is writing. */
static void
remove_stale_temporaries(const char *dir, int64 model_id)
{
	char	   *prefix = psprintf(INT64_FORMAT ".safetensors.tmp.", model_id);
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;

	while (d != NULL && (de = ReadDir(d, dir)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
		{
			char	   *stale = psprintf("%s/%s", dir, de->d_name);

			unlink(stale);
			pfree(stale);
		}
	if (d != NULL)
		FreeDir(d);
}

static int
compare_ids(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Weights files (and their lock files) of models that are gone.  lm_drop
 * removes a model's file where its DELETE runs (trigger model_deleted), but
 * no trigger fires on a streaming replica, and a crash between a drop's
 * commit and its unlink leaves the file too.  A backend about to write a
 * file removes those whose model its snapshot does not hold (one committed
 * since would only have its file written again).
 */
static void
remove_orphan_files(const char *dir)
{
	DIR		   *d;
	struct dirent *de;
	int64	   *ids;
	uint64		n;

	if (SPI_execute("SELECT id FROM _lm.model", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the models of _lm.model");
	n = SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	qsort(ids, n, sizeof(int64), compare_ids);
	d = AllocateDir(dir);
	while (d != NULL && (de = ReadDir(d, dir)) != NULL)
	{
		char	   *end;
		int64		id;

		/* <id>.safetensors and <id>.safetensors.lock, nothing else */
		if (!isdigit((unsigned char) de->d_name[0]))
			continue;
		errno = 0;
		id = strtoll(de->d_name, &end, 10);
		if (errno != 0 || (strcmp(end, ".safetensors") != 0 && strcmp(end, ".safetensors.lock") != 0) ||
			bsearch(&id, ids, n, sizeof(int64), compare_ids) != NULL)
			continue;
		{
			char	   *orphan = psprintf("%s/%s", dir, de->d_name);

			if (unlink(orphan) == 0)
				ereport(LOG, (errmsg("removed the weights file \"%s\" of a dropped model", orphan)));
			pfree(orphan);
		}
	}
	if (d != NULL)
		FreeDir(d);
	pfree(ids);
}

/*
 * Write the weights file from the tables; false (with a WARNING) when it
 * cannot be written (no space, no permission): the caller reads the weights
 * into memory instead.
 */
static bool
write_weights(LmStoredModel *m, bool read_only, const LmTensorSet *layout, const char *dir,
			  const char *path, const char *key)
{
	char	   *tmp = psprintf("%s.tmp.%d", path, MyProcPid);
	FileSink	sink = {NULL};
	LmPgGuard  *guard;

	lm_pg_error_init(&sink.err);
	remove_stale_temporaries(dir, m->id);
	remove_orphan_files(dir);
	if ((sink.writer = lm_weights_file_create(tmp, layout, key, &sink.err)) == NULL)
	{
		cannot_write(m, &sink.err);
		return false;
	}
	/* an error or a cancel while reading the chunks removes the temporary file */
	guard = lm_pg_guard(abort_writer, sink.writer);
	read_chunks(m, read_only, layout, file_sink, &sink);
	lm_pg_keep(guard);
	if (sink.failed || lm_weights_file_finish(sink.writer, path, &sink.err) != 0)
	{
		if (sink.failed)
			lm_weights_file_abort(sink.writer);
		cannot_write(m, &sink.err);
		return false;
	}
	/* the chunks passed through this backend's heap: give the memory back */
	malloc_trim(0);
	return true;
}

static void
close_lock(void *arg)
{
	close((int) (intptr_t) arg);
}

/*
 * Hold an exclusive lock on path's lock file until the current memory context
 * goes: one backend writes a model's file while the others wait, then map
 * what it wrote (each writing its own would leave them mapping replaced
 * copies).  Waits interruptibly.  False when the lock file cannot be opened.
 */
static bool
lock_weights(const char *path)
{
	char	   *lock_path = psprintf("%s.lock", path);
	int			fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, pg_file_create_mode);

	if (fd < 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not open \"%s\": %m", lock_path),
				 errdetail("Models are read from the tables into this backend's memory instead.")));
		return false;
	}
	lm_pg_guard(close_lock, (void *) (intptr_t) fd);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
	return true;
}

/*
 * Make path hold the model's weights file and map it into mapped: the file
 * as it is when it is this model's (its key, and with verify its hash),
 * else written from the tables under the lock, after a second look (another
 * backend may have written it while this one waited).  rewrite writes it
 * anew without looking.  False when it cannot be written.
 */
static bool
ensure_weights(LmStoredModel *m, bool read_only, const LmTensorSet *layout, const char *dir,
			   const char *path, const char *key, bool verify, bool rewrite, LmTensorSet *mapped)
{
	LmError		err;

	lm_pg_error_init(&err);
	if (!rewrite && lm_weights_file_map(path, key, verify, mapped, &err) == 0)
		return true;
	if (!lock_weights(path))
		return false;
	lm_pg_error_init(&err);
	if (!rewrite && lm_weights_file_map(path, key, verify, mapped, &err) == 0)
		return true;
	if (rewrite)
		ereport(LOG, (errmsg("rewriting the weights file of model \"%s\"", m->name)));
	else if (err.code != LM_ERR_IO)
		ereport(LOG,
				(errmsg("rewriting the weights file of model \"%s\": %s", m->name, err.message)));
	if (!write_weights(m, read_only, layout, dir, path, key))
		return false;
	lm_pg_error_init(&err);
	if (lm_weights_file_map(path, key, false, mapped, &err) != 0)
		lm_pg_raise(&err);
	return true;
}

/* Map the model's weights file into mapped, writing it first when missing or stale. */
static bool
map_weights(LmStoredModel *m, bool read_only, const LmTensorSet *layout, LmTensorSet *mapped)
{
	char	   *dir = weights_directory();

	return dir != NULL &&
		ensure_weights(m, read_only, layout, dir, weights_path(dir, m->id),
					   weights_key(m, read_only, layout), true, false, mapped);
}

/*
 * For the model server: make sure the model's weights file exists (written
 * from the tables when missing, or always with rewrite), without mapping its
 * weights here.  Its path relative to the data directory and its key are
 * remembered in m.  False when the file cannot be written.
 */
bool
lm_pg_weights_file(LmStoredModel *m, bool rewrite)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	LmTensorSet *layout;
	char	   *dir;
	char	   *key;
	bool		ok;

	if (m->weights_key != NULL && !rewrite)
		return true;
	if (!lm_guc_weights_files)
		return false;
	lm_store_check_not_dropped(m);
	work = AllocSetContextCreate(caller, "pg_lm weights file", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	layout = palloc0(sizeof(LmTensorSet));
	lm_pg_guard(free_tensor_set, layout);
	lm_pg_spi_connect();
	read_layout(m, lm_store_read_only(), layout);
	key = weights_key(m, lm_store_read_only(), layout);
	dir = weights_directory();
	if (dir == NULL)
		ok = false;
	else
	{
		/* the header says whether it is this model's file; the server hashes the data */
		LmTensorSet header = {0};

		ok = ensure_weights(m, lm_store_read_only(), layout, dir, weights_path(dir, m->id), key, false, rewrite,
							&header);
		lm_tensorset_free(&header);
	}
	lm_pg_spi_finish();
	if (ok)
	{
		m->weights_key = MemoryContextStrdup(m->context, key);
		m->weights_path = MemoryContextStrdup(m->context,
											  psprintf("pg_lm/%u/" INT64_FORMAT ".safetensors",
													   MyDatabaseId, m->id));
	}
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);
	return ok;
}

LmTensorSet *
lm_pg_load_tensors(LmStoredModel *m, bool read_only)
{
	LmTensorSet *set = palloc0(sizeof(LmTensorSet));
	LmTensorSet *mapped = palloc0(sizeof(LmTensorSet));
	LmPgGuard  *set_guard = lm_pg_guard(free_tensor_set, set);
	LmPgGuard  *mapped_guard = lm_pg_guard(free_tensor_set, mapped);

	lm_pg_spi_connect();
	read_layout(m, read_only, set);
	/* lm_import's check reads rows its transaction may still roll back: no file for them */
	if (read_only && lm_guc_weights_files && map_weights(m, read_only, set, mapped))
	{
		lm_tensorset_free(set);
		*set = *mapped;
		memset(mapped, 0, sizeof(*mapped));
	}
	else
		read_into_memory(m, read_only, set);
	lm_pg_spi_finish();
	lm_pg_keep(set_guard);
	lm_pg_keep(mapped_guard);
	return set;
}

/* ---- dropping ------------------------------------------------------------ */

/* The number of the column named name (a bigint) of the trigger's table. */
static AttrNumber
attnum_of(TriggerData *trigger, const char *name)
{
	TupleDesc	desc = RelationGetDescr(trigger->tg_relation);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0 && att->atttypid == INT8OID)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("table \"%s\" has no bigint column \"%s\"", RelationGetRelationName(trigger->tg_relation),
					name)));
}

/*
 * At the end of a transaction that dropped models: remove their files if it
 * committed, or if it was prepared.  A Citus worker's part of an lm_drop on
 * the coordinator is a prepared transaction, committed later by COMMIT
 * PREPARED, which runs no callback of this backend.  The file is derived
 * data: should a prepared drop be rolled back, the model's next use writes
 * it again.
 */
static void
end_of_transaction(XactEvent event, void *arg)
{
	bool		remove = event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE;
	ListCell   *lc;

	if (!remove && event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	foreach(lc, dropped_ids)
	{
		char	   *path = lfirst(lc);

		if (remove && unlink(path) != 0 && errno != ENOENT)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove weights file \"%s\": %m", path)));
		if (remove)
		{
			char	   *lock_path = psprintf("%s.lock", path);

			unlink(lock_path);
			pfree(lock_path);
		}
		pfree(path);
	}
	list_free(dropped_ids);
	dropped_ids = NIL;
}

void
lm_pg_drop_weights_at_commit(int64 model_id)
{
	static bool registered = false;
	MemoryContext old;

	if (!registered)
	{
		RegisterXactCallback(end_of_transaction, NULL);
		registered = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	dropped_ids = lappend(dropped_ids, psprintf("%s/pg_lm/%u/" INT64_FORMAT ".safetensors",
												DataDir, MyDatabaseId, model_id));
	MemoryContextSwitchTo(old);
}

/*
 * Trigger AFTER DELETE ON _lm.model, FOR EACH ROW: the model's weights file
 * goes when the transaction commits.  lm_drop's DELETE fires it on this
 * node, and on a Citus cluster, where _lm.model is a reference table, on
 * every node that holds a copy (Citus puts the trigger on each copy).
 */
PG_FUNCTION_INFO_V1(pglm_model_deleted);
Datum
pglm_model_deleted(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_DELETE(trigger->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigger->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_lm.model_deleted() is a row trigger for DELETE on _lm.model")));
	id = heap_getattr(trigger->tg_trigtuple, attnum_of(trigger, "id"),
					  RelationGetDescr(trigger->tg_relation), &isnull);
	if (!isnull)
		lm_pg_drop_weights_at_commit(DatumGetInt64(id));
	return PointerGetDatum(NULL);
}
