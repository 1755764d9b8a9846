/*
 * pg_lm.h — declarations shared by the PostgreSQL glue.
 */
#ifndef PG_LM_H
#define PG_LM_H

#include "postgres.h"

#include "fmgr.h"

#include "pg/pg_compat.h"
#include "tasks/task.h"
#include "util/lm_error.h"

/* Clear err for an engine call of this backend: its interrupts cancel it. */
void		lm_pg_error_init(LmError *err);

/* Report an engine error as an ereport(ERROR); never returns. */
pg_noreturn void lm_pg_raise(const LmError *err);

/* A regular file opened for reading with OpenTransientFile (ERROR for a pipe,
 * a device or a directory, without blocking on a FIFO). */
int			lm_pg_open_regular_file(const char *path);

/* Raise if the caller may not read server files (superuser or
 * pg_read_server_files). */
void		lm_pg_require_file_access(const char *what);

/*
 * SPI_connect and SPI_finish for pg_lm's internal queries, which run as the
 * owner of pg_lm's tables with search_path = pg_catalog, pg_temp (the
 * caller's path is not trusted).  Never run a caller's query inside.
 */
void		lm_pg_spi_connect(void);
void		lm_pg_spi_finish(void);

/* The role that called pg_lm (also inside lm_pg_spi_connect's scope). */
Oid			lm_pg_caller(void);

/* ---- who may use, grant and drop a model (model_acl.c) ---- */

struct ArrayType;
/* Superuser or a member of the owner. */
bool		lm_pg_owns_model(Oid role, const char *owner);
/* Owner, or a member of one of users (name[]), or 'public' among them. */
bool		lm_pg_may_use_model(Oid role, const char *owner, struct ArrayType *users);
/* ERROR insufficient_privilege unless the caller may use / owns the model. */
void		lm_pg_require_model_use(const char *model, const char *owner, struct ArrayType *users);
void		lm_pg_require_model_owner(const char *model, const char *owner, const char *what);
/* ERROR unless the caller may train models here (CREATE on the database). */
void		lm_pg_require_create_models(void);

/* ---- objects holding a model's results (model_dependents.c) ---- */

/* ERROR dependent_objects_still_exist, naming them, if any object holds results of model. */
void		lm_pg_check_no_dependents(const char *model);
/* When the transaction commits, every session of the database resets its plan cache. */
void		lm_pg_invalidate_plans_at_commit(void);

/* The token ids of an integer[] argument, palloc'd (ERROR for NULL
 * elements, more than one dimension, or an empty array unless allowed). */
struct ArrayType;
int32	   *lm_pg_token_ids(struct ArrayType *arr, bool allow_empty, int *n);

/* ---- SQL values and engine buffers (convert.c) ---- */

/* ERROR null_value_not_allowed ("<what> must not be NULL") when argument argno is NULL. */
void		lm_pg_require_arg(FunctionCallInfo fcinfo, int argno, const char *what);
/* Boolean argument argno, which must not be NULL. */
bool		lm_pg_bool_arg(FunctionCallInfo fcinfo, int argno, const char *what);

/* Is argument argno a text (else integer[] token ids)? */
bool		lm_pg_input_is_text(FunctionCallInfo fcinfo, int argno);

/* Argument argno, a text or integer[] token ids, as a task input. */
LmInput		lm_pg_input(FunctionCallInfo fcinfo, int argno);

/* Engine bytes as text; invalid UTF-8 (and NUL) becomes U+FFFD. */
text	   *lm_pg_text(const char *s, size_t len);

/* ERROR unless the n floats are all finite (not NaN or infinite). */
void		lm_pg_check_finite(const float *v, int n, const char *function);

/* real[] of n floats. */
struct ArrayType *lm_pg_float4_array(const float *v, int n);

/* Return (label, score) rows, best first, as the function's result set. */
void		lm_pg_scored_srf(FunctionCallInfo fcinfo, const LmScored *scored);

/* The strings of a text[] (palloc'd); ERROR null_message for a NULL element. */
const char **lm_pg_text_array(struct ArrayType *arr, const char *null_message, int *n);

/* ERROR beyond pg_lm.max_tokens; the hint asks for "longer <longer_what>". */
void		lm_pg_check_max_tokens(int max_tokens, const char *longer_what);

/* lm_generate's and lm_chat's sampling arguments (2 to 7), checked. */
LmGenerateRequest lm_pg_generate_args(FunctionCallInfo fcinfo, const char *longer_what);

/*
 * Engine objects live outside palloc.  A guard frees one with free_fn when
 * the current memory context is reset or deleted, at the end of the call or
 * when an error unwinds it, so no PG_TRY block is needed around engine
 * work; lm_pg_keep disarms it for an object that outlives the call.
 */
typedef struct LmPgGuard LmPgGuard;
LmPgGuard  *lm_pg_guard(void (*free_fn) (void *), void *obj);
void		lm_pg_keep(LmPgGuard *guard);

/* Defines static void name(void *) calling an engine free function of type *. */
#define LM_PG_FREE_FN(name, type, fn) \
	static void name(void *p) { fn((type *) p); }

/* Guard a malloc'd buffer (returns p), or every buffer of a result. */
void	   *lm_pg_own(void *p);
void		lm_pg_own_scored(LmScored *scored);

/* SHA-256 as lowercase hex (sha256.c): of a whole file, streamed (and its
 * size), or of bytes in memory. */
#define LM_SHA256_HEX_LENGTH 65
void		lm_pg_sha256_file(const char *path, char *hex, int64 *bytes);
void		lm_pg_sha256_bytes(const void *data, size_t len, char *hex);

/* ERROR unless name is a valid name no model has yet (import.c); inside SPI. */
void		lm_pg_check_new_model_name(const char *name);

/* Settings (guc.c). */
extern int	lm_guc_cache_models;
extern int	lm_guc_cache_memory_mb;
extern int	lm_guc_max_tokens;
extern bool lm_guc_weights_files;

/* Where models with networks run: the cluster's model server or this backend. */
typedef enum LmExecution
{
	LM_EXECUTION_BACKEND,
	LM_EXECUTION_SERVER
} LmExecution;

extern int	lm_guc_execution;
extern int	lm_guc_threads;
extern int	lm_guc_server_memory_mb;
extern int	lm_guc_max_batch;
extern int	lm_guc_server_wait_ms;
extern int	lm_guc_restore_wait;
extern bool lm_guc_server_crash_test;

/* Where the model server runs the models it can move to a device (pg_lm.device). */
typedef enum LmDeviceSetting
{
	LM_GUC_DEVICE_CPU,
	LM_GUC_DEVICE_CUDA,
	LM_GUC_DEVICE_REFERENCE			/* the reference device: for tests, not documented */
} LmDeviceSetting;

extern int	lm_guc_device;

void		lm_guc_define(void);

/* ---- the model server (supervisor.c, server_client.c, run.c) ---- */

/* Register the background worker that runs the model server (preload only). */
void		lm_supervisor_register(void);

struct LmStoredModel;
struct LmRunRequest;
struct LmRunResult;

/*
 * Run a network task on the model named by argument 0: in the model
 * server or in this backend, by pg_lm.execution.  The result is freed with
 * the current memory context.
 */
struct LmRunResult *lm_pg_run(FunctionCallInfo fcinfo, const struct LmRunRequest *req);

/* Run req on m in the model server (ERROR when it fails). */
void		lm_pg_server_run(struct LmStoredModel *m, const struct LmRunRequest *req,
							 struct LmRunResult *res);

#endif
