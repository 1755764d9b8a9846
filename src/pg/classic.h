/*
 * classic.h — the glue of the lecture's classic models: word vectors
 * (word2vec, GloVe, fastText .vec), fastText .bin/.ftz models, and bag of
 * words / TF-IDF vectorizers.  The generic SQL functions (lm_import,
 * lm_embed, lm_similarity, lm_classify, lm_classify_scores) call these when
 * the model is one of them; the classic-only functions live in classic_*.c.
 */
#ifndef PG_LM_CLASSIC_H
#define PG_LM_CLASSIC_H

#include "pg/store.h"

/* Architectures (lm.model.architecture) of classic models. */
#define LM_ARCH_WORD_VECTORS "word_vectors"
#define LM_ARCH_FASTTEXT "fasttext"
#define LM_ARCH_TFIDF "tfidf"

/* Is the model one of the classic kinds above? */
bool		lm_pg_is_classic(const LmStoredModel *m);

/*
 * lm_import for classic formats.  format is "auto" or a classic format name
 * ("word2vec", "glove", "vec", "fasttext").  Returns the new model id, or -1
 * when the path/format is not a classic one (auto detection: .ftz, a .bin
 * whose magic is fastText's, .vec, a .bin or .txt of word vectors).  Runs
 * inside SPI, after the caller checked privileges and the name.
 */
int64		lm_pg_import_classic(const char *name, const char *path, const char *format);

/* lm_embed: mean of word vectors, or fastText's sentence vector (palloc'd). */
float	   *lm_pg_classic_embed(LmStoredModel *m, text *input, int *dim);

/* lm_similarity: cosine of the two texts' embeddings (NULL when a vector is 0). */
double		lm_pg_classic_similarity(LmStoredModel *m, text *a, text *b, bool *isnull);

/*
 * lm_classify / lm_classify_scores for fastText supervised models: the k
 * likeliest labels (without the __label__ prefix) and their probabilities,
 * best first; returns how many.
 */
int			lm_pg_classic_classify(LmStoredModel *m, text *input, int k,
								   char ***labels, double **probs);

/*
 * Training from a query (n-grams, TF-IDF, word2vec): add() receives each
 * non-NULL text of its first column, which must be text.  Returns how many
 * texts there were.
 */
typedef int (*LmClassicAddText) (void *arg, const char *text, size_t len, LmError *err);
int64		lm_pg_classic_feed_query(const char *query, LmClassicAddText add, void *arg);

#endif
