/*
 * guc.c — pg_lm.* settings.
 */
#include "pg/pg_lm.h"

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

void
lm_guc_define(void)
{
	DefineCustomIntVariable("pg_lm.cache_models",
							"Models a backend keeps loaded in memory.",
							"The least recently used model is unloaded beyond this.",
							&lm_guc_cache_models,
							LM_CACHE_MODELS_DEFAULT, 1, LM_CACHE_MODELS_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
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
	MarkGUCPrefixReserved("pg_lm");
}
