/*
 * kinds.h — the one table of the kinds of model pg_lm stores and runs.
 *
 * Each row names an architecture as lm.model stores it (config.json's
 * model_type for Hugging Face checkpoints, pg_lm's own name for the others),
 * the kind of engine object that runs it and, for transformers, the class in
 * config.json's "architectures" with the builder that reads its weights.
 * Import (which model_types it accepts), loading (which builder), the task
 * API (which tasks a model serves) and the error hints all read this table:
 * adding an architecture is a row here and a builder in src/models.
 */
#ifndef LM_TASKS_KINDS_H
#define LM_TASKS_KINDS_H

#include <stdbool.h>

#include "models/model.h"

typedef enum LmKind
{
	LM_KIND_TOKENIZER,			/* a tokenizer alone */
	LM_KIND_TRANSFORMER,		/* config.json + safetensors, src/models */
	LM_KIND_RNN,				/* pg_lm's RNN format, src/models/rnn.c */
	LM_KIND_NGRAM,				/* counts in lm.ngram */
	LM_KIND_WORD_VECTORS,		/* rows of lm.word_vector */
	LM_KIND_FASTTEXT,			/* a fastText file kept in lm.model_file */
	LM_KIND_TFIDF,				/* a vocabulary in lm.tfidf_term */
	LM_KIND_STORED				/* imported and kept, not run yet (CLIP) */
} LmKind;

/* Architectures of the models pg_lm makes itself (training, classic imports). */
#define LM_ARCH_TOKENIZER "tokenizer"
#define LM_ARCH_NGRAM "ngram"
#define LM_ARCH_WORD_VECTORS "word_vectors"
#define LM_ARCH_FASTTEXT "fasttext"
#define LM_ARCH_TFIDF "tfidf"

struct json_t;

/* Reads a transformer's config and weights into model (models/arch.h). */
typedef int (*LmBuildFn) (LmModel *model, const struct json_t *config,
						  const LmTensorSet *tensors, LmError *err);

typedef struct LmKindInfo
{
	const char *architecture;	/* as lm.model stores it */
	const char *hf_class;		/* config.json "architectures"; NULL if none */
	const char *label;			/* its name in a list of supported architectures */
	LmKind		kind;
	LmTask		head;			/* transformers: what the class computes */
	LmBuildFn	build;			/* transformers: the builder; else NULL */
	bool		from_config_json;	/* lm_import reads it from a config.json */
} LmKindInfo;

/* The row of a stored architecture, or NULL when no row names it. */
const LmKindInfo *lm_kind_of(const char *architecture);

/*
 * The transformer row for a config.json: by its class (architectures[0])
 * when given, else the first row of its model_type.  NULL with an error
 * listing the supported classes when there is none.
 */
const LmKindInfo *lm_kind_of_config(const char *model_type, const char *hf_class,
									LmError *err);

/*
 * Can lm_import store a config.json of this model_type?  -1 with an error
 * naming it (and path, the file it came from) and listing the supported
 * ones when not.
 */
int			lm_kind_check_import(const char *model_type, const char *path, LmError *err);

/* Human name of a kind ("tokenizer", "n-gram model", ...). */
const char *lm_kind_name(LmKind kind);

#endif
