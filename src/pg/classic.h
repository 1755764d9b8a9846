/*
 * classic.h — the glue of the lecture's classic models: word vectors
 * (word2vec, GloVe, fastText .vec), fastText .bin/.ftz models, and bag of
 * words / TF-IDF vectorizers: import, training and their own SQL functions
 * (classic_*.c).  lm_embed, lm_similarity and lm_classify reach them through
 * the engine's tasks.
 */
#ifndef PG_LM_CLASSIC_H
#define PG_LM_CLASSIC_H

#include "pg/store.h"

/*
 * lm_import for classic formats.  format is "auto" or a classic format name
 * ("word2vec", "glove", "vec", "fasttext").  Returns the new model id, or -1
 * when the path/format is not a classic one (auto detection: .ftz, a .bin
 * whose magic is fastText's, .vec, a .bin or .txt of word vectors).  Runs
 * inside SPI, after the caller checked privileges and the name.
 */
int64		lm_pg_import_classic(const char *name, const char *path, const char *format);

/*
 * Training from a query (n-grams, TF-IDF, word2vec): add() receives each
 * non-NULL text of its first column, which must be text.  Returns how many
 * texts there were.
 */
typedef int (*LmClassicAddText) (void *arg, const char *text, size_t len, LmError *err);
int64		lm_pg_classic_feed_query(const char *query, LmClassicAddText add, void *arg);

#endif
