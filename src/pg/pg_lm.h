/*
 * pg_lm.h — declarations shared by the PostgreSQL glue.
 */
#ifndef PG_LM_H
#define PG_LM_H

#include "postgres.h"

#include "util/lm_error.h"

/* Report an engine error as an ereport(ERROR); never returns. */
void		lm_pg_raise(const LmError *err) pg_attribute_noreturn();

/* Raise if the caller may not read server files (superuser or
 * pg_read_server_files). */
void		lm_pg_require_file_access(const char *what);

/* The token ids of an integer[] argument, palloc'd (ERROR for NULL
 * elements, more than one dimension, or an empty array unless allowed). */
struct ArrayType;
int32	   *lm_pg_token_ids(struct ArrayType *arr, bool allow_empty, int *n);

/* SHA-256 as lowercase hex (sha256.c): of a whole file, streamed (and its
 * size), or of bytes in memory. */
#define LM_SHA256_HEX_LENGTH 65
void		lm_pg_sha256_file(const char *path, char *hex, int64 *bytes);
void		lm_pg_sha256_bytes(const void *data, size_t len, char *hex);

/* ERROR unless name is a valid name no model has yet (import.c); inside SPI. */
void		lm_pg_check_new_model_name(const char *name);

/* Settings (guc.c). */
extern int	lm_guc_cache_models;
extern int	lm_guc_max_tokens;

void		lm_guc_define(void);

#endif
