/*
 * guc.c — pg_lm.* settings.
 */
#include "pg/pg_lm.h"

#include "utils/guc.h"

/* How many models a backend keeps loaded at once. */
#define LM_CACHE_MODELS_DEFAULT 8
#define LM_CACHE_MODELS_MAX 1024

int			lm_guc_cache_models = LM_CACHE_MODELS_DEFAULT;

void
lm_guc_define(void)
{
	DefineCustomIntVariable("pg_lm.cache_models",
							"Models a backend keeps loaded in memory.",
							"The least recently used model is unloaded beyond this.",
							&lm_guc_cache_models,
							LM_CACHE_MODELS_DEFAULT, 1, LM_CACHE_MODELS_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("pg_lm");
}
