/*
 * model_rows.h — the one writer of the rows that make a model: lm.model,
 * its provenance in lm.model_file and, for word vectors, lm.word_vector.
 * Every import and every training function stores its model through these;
 * all run inside SPI and raise on failure.
 */
#ifndef PG_LM_MODEL_ROWS_H
#define PG_LM_MODEL_ROWS_H

#include "postgres.h"

/*
 * A new lm.model row; its id.  The JSON texts (config, tokenizer,
 * generation_config, pipeline) are stored as jsonb; any argument may be
 * NULL for a NULL column.
 */
int64		lm_pg_insert_model(const char *name, const char *architecture, const char *task,
							   const char *config_json, const char *tokenizer_json,
							   const char *generation_config_json, const char *pipeline_json,
							   const char *source);

/*
 * A model's chat template, its named others (JSON text) and the special
 * tokens' strings a template sees (JSON text); any may be NULL.
 */
void		lm_pg_set_model_chat(int64 model_id, const char *chat_template,
								 const char *chat_templates_json, const char *special_tokens_json);

/*
 * Record how many rows of each part table the model has (its last step,
 * inside SPI); lm_pg_model_complete compares them with what a fresh
 * snapshot sees (false too when the model's row is not there).
 */
void		lm_pg_seal_model(int64 model_id);
bool		lm_pg_model_complete(int64 model_id);

/* One lm.model_file row (content NULL when the bytes are not kept). */
void		lm_pg_insert_model_file(int64 model_id, const char *file, const char *source_path,
									const char *sha256, int64 bytes, bytea *content);

/*
 * Word i (from 0) of a word-vector model: its bytes in *word and *len, and
 * its vector (dim floats) as the result.
 */
typedef const float *(*LmPgWordVectorRow) (void *arg, int32 i, const char **word, size_t *len);

/* One lm.word_vector row for each of count words, index i + 1 for word i. */
void		lm_pg_insert_word_vectors(int64 model_id, int dim, int32 count,
									  LmPgWordVectorRow row, void *arg);

#endif
