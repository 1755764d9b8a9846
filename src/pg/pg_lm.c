/*
 * pg_lm.c — module initialisation and the bridge from engine errors and
 * cancellation to PostgreSQL's.
 */
#include "pg/pg_lm.h"
#include "pg/hnsw_am.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "executor/spi.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

LM_PG_MODULE_MAGIC;

void		_PG_init(void);

/* The engine asks this between tokens and layers; a pending cancel or
 * termination makes it unwind, and the glue then raises it properly. */
static int
pending_interrupt(void *arg)
{
	(void) arg;
	return QueryCancelPending || ProcDiePending;
}

/* Every engine call a backend makes: cancelled by its interrupts, one thread. */
static const LmCall backend_call = {pending_interrupt, NULL, 1};

void
_PG_init(void)
{
	lm_guc_define();
	lm_hnsw_define();
	if (process_shared_preload_libraries_in_progress)
		lm_supervisor_register();
}

void
lm_pg_error_init(LmError *err)
{
	lm_error_init(err, &backend_call);
}

static int
sqlstate_of(LmErrorCode code)
{
	switch (code)
	{
		case LM_ERR_INVALID_ARGUMENT:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case LM_ERR_CORRUPT:
			return ERRCODE_DATA_CORRUPTED;
		case LM_ERR_UNSUPPORTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case LM_ERR_IO:
			return ERRCODE_IO_ERROR;
		case LM_ERR_NO_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case LM_ERR_CANCELLED:
			return ERRCODE_QUERY_CANCELED;
		case LM_ERR_WRONG_MODEL:
			return ERRCODE_WRONG_OBJECT_TYPE;
		case LM_ERR_TOO_LONG:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		default:
			return ERRCODE_INTERNAL_ERROR;
	}
}

void
lm_pg_raise(const LmError *err)
{
	if (err->code == LM_ERR_CANCELLED)
		CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(sqlstate_of(err->code)),
			 errmsg("%s", err->message),
			 err->hint[0] ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

int
lm_pg_open_regular_file(const char *path)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait, deaf to cancel, for a writer */
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not open file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a regular file", path),
				 errhint("Import files and directories, not pipes or devices.")));
	}
	return fd;
}

void
lm_pg_require_file_access(const char *what)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errhint("Only superusers and members of pg_read_server_files may read model files on the server.")));
}

/*
 * pg_lm's own queries run as the owner of its tables (the tables are no
 * one else's to read or write: pg_lm checks each model's owner and users
 * itself) and resolve names (operators, functions, casts) in pg_catalog
 * alone: a caller's search_path may put a schema with its own "=" for text
 * before pg_catalog.  Scopes nest; only the outermost switches.  An error
 * unwinds both settings with the (sub)transaction, and the depth with it:
 * no user code runs inside a scope.
 */
static int	spi_depth = 0;
static Oid	spi_caller = InvalidOid;
static Oid	spi_saved_user = InvalidOid;
static int	spi_saved_context = 0;
static int	spi_guc_level = 0;

static void
reset_spi_scope(void)
{
	spi_depth = 0;
	spi_caller = InvalidOid;
}

static void
spi_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		reset_spi_scope();
}

static void
spi_subxact_callback(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		reset_spi_scope();
}

/*
 * Citus settings pg_lm's own reads of its tables run under, where Citus is
 * installed (pg_lm's tables are then reference tables, and every node holds
 * them, so the reads are local):
 * - a model function may run inside a shard's task on a worker, where Citus
 *   refuses to plan a query on a Citus table ("cannot execute a distributed
 *   query from a query on a shard") unless nested execution is allowed;
 * - in a parallel worker Citus counts every SELECT as opening a transaction
 *   block (the worker's transaction is one), makes the read a coordinated
 *   transaction and then refuses to commit it ("cannot use 2PC in
 *   transactions involving multiple servers"); a read-only local SELECT
 *   needs no transaction block of its own.
 */
static const char *const citus_read_settings[][2] = {
	{"citus.allow_nested_distributed_execution", "on"},
	{"citus.select_opens_transaction_block", "off"},
};

/* The owner of pg_lm's tables: the role that created the extension. */
static Oid
tables_owner(void)
{
	Oid			nsp = get_namespace_oid("_lm", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("model", nsp) : InvalidOid;
	HeapTuple	tuple;
	Oid			owner;

	if (!OidIsValid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("pg_lm's tables are missing in this database"),
				 errhint("CREATE EXTENSION pg_lm creates them.")));
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", rel);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

void
lm_pg_spi_connect(void)
{
	static bool callbacks = false;

	if (!callbacks)
	{
		RegisterXactCallback(spi_xact_callback, NULL);
		RegisterSubXactCallback(spi_subxact_callback, NULL);
		callbacks = true;
	}
	if (spi_depth == 0)
	{
		Oid			owner = tables_owner();

		spi_caller = GetUserId();
		GetUserIdAndSecContext(&spi_saved_user, &spi_saved_context);
		spi_guc_level = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);

		for (int i = 0; i < lengthof(citus_read_settings); i++)
			if (GetConfigOption(citus_read_settings[i][0], true, false) != NULL)
				(void) set_config_option(citus_read_settings[i][0], citus_read_settings[i][1],
										 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
										 false);
		SetUserIdAndSecContext(owner, spi_saved_context | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
	}
	spi_depth++;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
lm_pg_spi_finish(void)
{
	SPI_finish();
	if (--spi_depth == 0)
	{
		SetUserIdAndSecContext(spi_saved_user, spi_saved_context);
		AtEOXact_GUC(true, spi_guc_level);
		spi_caller = InvalidOid;
	}
}

Oid
lm_pg_caller(void)
{
	return spi_depth > 0 ? spi_caller : GetUserId();
}

int32 *
lm_pg_token_ids(ArrayType *arr, bool allow_empty, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int32	   *ids;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("token ids must be a one-dimensional array")));
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, n);
	if (*n == 0 && !allow_empty)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token ids must not be empty")));
	ids = palloc(sizeof(int32) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("token ids must not contain NULL")));
		ids[i] = DatumGetInt32(elems[i]);
	}
	return ids;
}
