/*
 * store.h — models as the glue sees them: looked up by name in lm.model,
 * the parts the engine asks for loaded from the tables on first use, and
 * cached in the backend.
 */
#ifndef PG_LM_STORE_H
#define PG_LM_STORE_H

#include "postgres.h"

#include "fmgr.h"

#include "tasks/task.h"

typedef struct LmStoredModel
{
	int64		id;
	int64		bytes;			/* its weights' size, as lm.models gives it */
	char	   *name;			/* in context */
	MemoryContext context;
	LmModelDesc desc;			/* lm.model's row (strings in context) */
	LmTaskModel *tm;			/* the engine's model; parts loaded on demand */
	LmWordVectors *fasttext_words;	/* a fastText model's vocabulary vectors, once built */
	uint64		last_used;
	uint64		checked_in;		/* the transaction generation of the last lookup */
	Oid			checked_for;	/* the role that lookup allowed */
	char	   *weights_path;	/* for the model server: its weights file, once written */
	char	   *weights_key;
} LmStoredModel;

/* The model called name, or ERROR undefined_object. */
LmStoredModel *lm_store_get(const char *name);

/* What kind of model it is (the engine's table of kinds). */
LmKind		lm_store_kind(const LmStoredModel *m);

/*
 * The model ready for a task on a text (text_input) or on token ids: the
 * parts the engine asks for (tokenizer, weights or classic data) are read
 * from the tables on first use.  ERROR when the model cannot serve it.
 */
const LmTaskModel *lm_store_prepare(LmStoredModel *m, LmTaskId task, bool text_input);

/* The model named by argument 0 of a SQL function, ready for task (lm_store_prepare). */
const LmTaskModel *lm_store_prepare_arg(FunctionCallInfo fcinfo, LmTaskId task, bool text_input);

/*
 * Raise the engine's error when the model never serves task (what
 * lm_store_prepare checks first), without loading anything.
 */
void		lm_store_check_task(LmStoredModel *m, LmTaskId task, bool text_input);

/*
 * The model's tokenizer as stored: tokenizer.json text or a SentencePiece
 * .model file (palloc'd; *format says which); LM_TOKENIZER_NONE when none.
 */
int			lm_store_tokenizer_bytes(LmStoredModel *m, const char **bytes, size_t *len);

/* Build a network stored as tensors (transformers, RNNs) now: lm_import's check. */
void		lm_store_build(LmStoredModel *m);

/* Let the store's queries see the current statement's own writes (for
 * lm_import's check of the model it wrote); reset it with false. */
void		lm_store_see_own_writes(bool see);

/* Drop a cached model by name (after lm_drop or a new import). */
void		lm_store_forget(const char *name);

/*
 * The model's tensors (tensors.c): mapped from its weights file in the data
 * directory, which is written from lm.tensor and lm.tensor_chunk when missing
 * or stale, else read from the tables into memory.  Allocated in the current
 * memory context; the engine's part of it is the caller's.
 */
LmTensorSet *lm_pg_load_tensors(LmStoredModel *m, bool read_only);

/*
 * Make sure the model's weights file is in the data directory for the model
 * server, without mapping it (sets m->weights_path and weights_key); with
 * rewrite, write it anew.  False when it cannot be written.
 */
bool		lm_pg_weights_file(LmStoredModel *m, bool rewrite);

/* Remove the weights file of a model dropped in this transaction once it commits. */
void		lm_pg_drop_weights_at_commit(int64 model_id);

/* Loaders of the classic models' data (ngram.c, classic_*.c). */
void		lm_pg_ngram_load(LmStoredModel *m);
LmWordVectors *lm_pg_wordvec_load(LmStoredModel *m);
LmFastText *lm_pg_fasttext_load(LmStoredModel *m);
LmVectorizer *lm_pg_tfidf_load(LmStoredModel *m);

/*
 * Whether the loaders may read with the statement's snapshot (the SPI
 * read_only flag): false while lm_import checks what it wrote, and in
 * pg_restore's sessions, where a model's rows arrive from other sessions.
 */
bool		lm_store_read_only(void);

/* Release the cached models another session dropped (at each lookup, too). */
void		lm_store_release_dropped(void);

/*
 * ERROR "model ... was dropped" when the model's row is gone from the
 * statement's snapshot (checked before any of its parts is read).
 */
void		lm_store_check_not_dropped(LmStoredModel *m);

#endif
