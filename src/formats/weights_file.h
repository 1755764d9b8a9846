/*
 * weights_file.h — one model's weights as a read-only, memory-mappable file.
 *
 * The tables are the truth; this file is derived from them so that every
 * process that runs the model maps the same bytes, and the operating system's
 * page cache holds one copy however many processes use it.  It is a
 * safetensors file (any safetensors reader opens it) whose tensors start on
 * 64-byte boundaries, with two entries in its __metadata__:
 *
 *   "pg_lm.key"   what the writer says the file holds (the glue derives it
 *                 from the model's rows: a stale or foreign file has another)
 *   "pg_lm.xxh3"  the XXH3-64 hash of the data section, in hex
 *
 * Written to a temporary path and renamed into place when complete, so a
 * reader sees a whole file or none.
 */
#ifndef LM_WEIGHTS_FILE_H
#define LM_WEIGHTS_FILE_H

#include "formats/tensor.h"

/* Where tensors start in the data section (and the data section in the file). */
#define LM_WEIGHTS_ALIGN 64

typedef struct LmWeightsWriter LmWeightsWriter;

/*
 * Start writing tmp_path for the tensors of layout (names, dtypes, shapes,
 * nbytes; their data and offsets are ignored), in layout's order.  key is
 * recorded in the metadata.
 */
LmWeightsWriter *lm_weights_file_create(const char *tmp_path, const LmTensorSet *layout,
										const char *key, LmError *err);

/* Append the next len bytes of the data: the tensors' bytes in order, whole. */
int			lm_weights_file_append(LmWeightsWriter *w, const void *bytes, size_t len,
								   LmError *err);

/*
 * Check that every byte was written, record the hash, flush the file to disk
 * and rename it to path.  The writer is freed, whatever the outcome.
 */
int			lm_weights_file_finish(LmWeightsWriter *w, const char *path, LmError *err);

/* Give up: close and remove the temporary file; frees the writer. */
void		lm_weights_file_abort(LmWeightsWriter *w);

/*
 * Map path read-only and check it: a safetensors header that agrees with the
 * file, the metadata key equal to key, and (with verify) the data's hash.
 * The tensors of out point into the mapping, which lm_tensorset_free unmaps.
 * LM_ERR_IO when the file does not exist, LM_ERR_CORRUPT when it is not what
 * it should be (the caller writes it anew).
 */
int			lm_weights_file_map(const char *path, const char *key, bool verify, LmTensorSet *out,
								LmError *err);

/*
 * lm_weights_file_map, or with private_copy the file read into anonymous
 * memory of the process (on huge pages where the system gives them), and
 * its pages dropped from the page cache: what the model server does.  A
 * long-lived process reading its weights from a shared file mapping ran the
 * matrix products a fifth slower than from its own memory (BERT-base, 128
 * tokens: 140 against 110 ms); the copy is the one copy in memory.
 */
int			lm_weights_file_open(const char *path, const char *key, bool verify, bool private_copy,
								 LmTensorSet *out, LmError *err);

#endif
