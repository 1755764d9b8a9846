/*
 * store.h — models as the glue sees them: looked up by name in lm.model,
 * their tokenizer and tensors loaded from the tables on first use and
 * cached in the backend.
 */
#ifndef PG_LM_STORE_H
#define PG_LM_STORE_H

#include "postgres.h"

#include "formats/tensor.h"
#include "models/model.h"
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
	char	   *pooling;		/* sentence-transformers pooling mode, or NULL */
	bool		normalize;		/* sentence-transformers Normalize module */
	MemoryContext context;		/* holds the strings above */
	LmTokenizer *tokenizer;		/* engine objects, loaded on demand */
	LmTensorSet tensors;
	bool		tensors_loaded;
	LmModel    *model;			/* built from config + tensors on first use */
	void	   *classic;		/* an n-gram or word-vector model, when one */
	void		(*classic_free) (void *classic);
	uint64		last_used;
	uint64		checked_in;		/* the transaction generation of the last lookup */
} LmStoredModel;

/* The model called name, or ERROR undefined_object. */
LmStoredModel *lm_store_get(const char *name);

/* Its tokenizer (loaded on first use), or ERROR if it has none. */
const LmTokenizer *lm_store_tokenizer(LmStoredModel *model);

/* Its tensors (loaded on first use; the bytes live outside palloc). */
const LmTensorSet *lm_store_tensors(LmStoredModel *model);

/* The runnable model (loaded on first use), or ERROR when its architecture
 * cannot run. */
const LmModel *lm_store_model(LmStoredModel *model);

/*
 * Tokenize text for the model; ERROR when the result is empty or longer than
 * the model's context.  Returns palloc'd ids, *n their count.
 */
int32	   *lm_store_encode(LmStoredModel *model, text *input, bool add_special_tokens,
							int *n);

/* Let the store's queries see the current statement's own writes (for
 * lm_import's check of the model it wrote); reset it with false. */
void		lm_store_see_own_writes(bool see);

/* Drop a cached model by name (after lm_drop or a new import). */
void		lm_store_forget(const char *name);

#endif
