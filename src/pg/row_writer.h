/*
 * row_writer.h — rows of one of pg_lm's tables written many to a statement.
 *
 * A model is thousands of rows (word vectors, n-gram counts, a vocabulary's
 * terms, tensors and their chunks).  One INSERT a row costs an executor
 * start each; on a Citus cluster, where pg_lm's tables are reference tables,
 * every statement is also a round trip to each node, which made an import
 * 10 to 130 times slower than on one node.  A writer buffers rows and sends
 * them as multi-row INSERTs: up to 1,000 rows, or max_bytes of values, to a
 * statement.  Inside SPI; raises on failure.
 */
#ifndef PG_LM_ROW_WRITER_H
#define PG_LM_ROW_WRITER_H

#include "postgres.h"

typedef struct LmRowWriter LmRowWriter;

/*
 * A writer of rows of target, a table and its columns as INSERT names them
 * ("_lm.ngram (model_id, words, count)"), ncols values of the given types a
 * row.
 */
LmRowWriter *lm_rows_begin(const char *target, int ncols, const Oid *types, Size max_bytes);

/* One row; its values are copied (nulls as SPI takes them: 'n' for NULL, or NULL for none). */
void		lm_rows_add(LmRowWriter *w, const Datum *values, const char *nulls);

/* Write what is buffered. */
void		lm_rows_flush(LmRowWriter *w);

/* Write what is buffered and free the writer. */
void		lm_rows_end(LmRowWriter *w);

#endif
