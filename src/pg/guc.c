/*
 * guc.c — pg_lm.* settings.
 */
#include "pg/pg_lm.h"

#include <limits.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/guc.h"

/* How many models a backend keeps loaded at once. */
#define LM_CACHE_MODELS_DEFAULT 8
#define LM_CACHE_MODELS_MAX 1024

/* The most tokens one lm_generate call may produce. */
#define LM_MAX_TOKENS_DEFAULT 1024
#define LM_MAX_TOKENS_MAX 1000000

int			lm_guc_cache_models = LM_CACHE_MODELS_DEFAULT;
bool		lm_guc_weights_files = true;
int			lm_guc_max_tokens = LM_MAX_TOKENS_DEFAULT;
int			lm_guc_execution = LM_EXECUTION_BACKEND;
int			lm_guc_threads = 1;
int			lm_guc_server_memory_mb = 4096;
int			lm_guc_max_batch = 32;
int			lm_guc_server_wait_ms = 10000;
int			lm_guc_restore_wait = 600;
int			lm_guc_cache_memory_mb = 1024;
bool		lm_guc_server_crash_test = false;
int			lm_guc_device = LM_GUC_DEVICE_CPU;

static const struct config_enum_entry execution_options[] = {
	{"server", LM_EXECUTION_SERVER, false},
	{"backend", LM_EXECUTION_BACKEND, false},
	{NULL, 0, false}
};

/* reference: the device code over host memory, for the tests; not listed */
static const struct config_enum_entry device_options[] = {
	{"cpu", LM_GUC_DEVICE_CPU, false},
	{"cuda", LM_GUC_DEVICE_CUDA, false},
	{"reference", LM_GUC_DEVICE_REFERENCE, true},
	{NULL, 0, false}
};

void
lm_guc_define(void)
{
	DefineCustomIntVariable("pg_lm.cache_models",
							"Models a backend keeps loaded in memory.",
							"The least recently used model is unloaded beyond this.",
							&lm_guc_cache_models,
							LM_CACHE_MODELS_DEFAULT, 1, LM_CACHE_MODELS_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	/* superusers only: a role must not make every backend hold what it likes */
	DefineCustomIntVariable("pg_lm.cache_memory",
							"Most memory of model weights a backend keeps loaded.",
							"The least recently used models are unloaded beyond it; a larger model "
							"is still loaded, alone.",
							&lm_guc_cache_memory_mb,
							1024, 1, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_lm.max_tokens",
							"Most tokens one lm_generate call may produce.",
							NULL,
							&lm_guc_max_tokens,
							LM_MAX_TOKENS_DEFAULT, 0, LM_MAX_TOKENS_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_lm.weights_files",
							 "Map models' weights from files in the data directory.",
							 "The first backend that needs a model writes its weights file from the tables; "
							 "off reads the weights into each backend's memory instead.",
							 &lm_guc_weights_files,
							 true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_lm.restore_wait",
							"How long a pg_restore session waits for a model still being restored.",
							"pg_restore -j copies pg_lm's tables beside the user tables whose generated "
							"columns call pg_lm; such a call waits for the model's rows.",
							&lm_guc_restore_wait,
							600, 0, 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	/* the server runs only when pg_lm is preloaded: then it is the default */
	DefineCustomEnumVariable("pg_lm.execution",
							 "Where models run: the cluster's model server, or each backend.",
							 "server needs pg_lm in shared_preload_libraries; backend loads models "
							 "into each session.",
							 &lm_guc_execution,
							 process_shared_preload_libraries_in_progress ? LM_EXECUTION_SERVER
							 : LM_EXECUTION_BACKEND,
							 execution_options, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_lm.threads",
							"Compute threads of the model server.",
							"Changing it restarts the server.",
							&lm_guc_threads,
							Max((int) sysconf(_SC_NPROCESSORS_ONLN), 1), 1, 1024,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_lm.max_batch",
							"Most encoder requests the model server runs together.",
							"Requests for the same model that arrive while it is busy wait for the "
							"running batch and then run as one; 1 runs each alone.  Changing it restarts the server.",
							&lm_guc_max_batch,
							32, 1, 256,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_lm.server_memory",
							"Memory for the model server's loaded models.",
							"Beyond it the least recently used models are unloaded.  Changing it restarts the server.",
							&lm_guc_server_memory_mb,
							4096, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_lm.device",
							 "Where the model server runs GPT-2, Llama and BERT models: cpu or cuda.",
							 "cuda loads pg_lm_cuda.so in the model server only; without a usable GPU "
							 "the server logs a WARNING and uses the CPU.  Changing it restarts the server.",
							 &lm_guc_device,
							 LM_GUC_DEVICE_CPU, device_options, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_lm.server_wait",
							"How long a query waits for the model server to come up.",
							NULL,
							&lm_guc_server_wait_ms,
							10000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_lm.server_crash_test",
							 "For tests of crash isolation: a generation whose prompt contains "
							 "\"pg_lm-crash-test\" crashes the model server.",
							 NULL,
							 &lm_guc_server_crash_test,
							 false, PGC_SIGHUP, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	MarkGUCPrefixReserved("pg_lm");
}
