/*
 * store.h — models as the glue sees them: looked up by name in lm.model,
 * their tokenizer and tensors loaded from the tables on first use and
 * cached in the backend.
 */
#ifndef PG_LM_STORE_H
#define PG_LM_STORE_H

#include "postgres.h"

#include "formats/tensor.h"
#include "tokenizer/tokenizer.h"

typedef struct LmStoredModel
{
	int64		id;
	char	   *name;
	char	   *architecture;
	char	   *task;
	char	   *config;			/* JSON texts (NULL when absent) */
	char	   *generation_config;
	char	   *pipeline;
	MemoryContext context;		/* holds the strings above */
	LmTokenizer *tokenizer;		/* engine objects, loaded on demand */
	LmTensorSet tensors;
	bool		tensors_loaded;
	uint64		last_used;
} LmStoredModel;

/* The model called name, or ERROR undefined_object. */
LmStoredModel *lm_store_get(const char *name);

/* Its tokenizer (loaded on first use), or ERROR if it has none. */
const LmTokenizer *lm_store_tokenizer(LmStoredModel *model);

/* Its tensors (loaded on first use; the bytes live outside palloc). */
const LmTensorSet *lm_store_tensors(LmStoredModel *model);

/* Drop a cached model by name (after lm_drop or a new import). */
void		lm_store_forget(const char *name);

#endif
