/*
 * classic_internal.h — what the classic_*.c files share: the in-memory form
 * of a classic model (m->classic) and the helpers that load and check it.
 */
#ifndef PG_LM_CLASSIC_INTERNAL_H
#define PG_LM_CLASSIC_INTERNAL_H

#include "pg/pg_lm.h"

#include "access/tupdesc.h"

#include "classic/fasttext.h"
#include "classic/vectorizer.h"
#include "classic/wordvec.h"
#include "pg/classic.h"
#include "pg/store.h"

/* Rows fetched at a time when loading a model or reading a training query. */
#define LM_CLASSIC_FETCH 1000

typedef enum ClassicKind
{
	CLASSIC_WORD_VECTORS,
	CLASSIC_FASTTEXT,
	CLASSIC_TFIDF
} ClassicKind;

/* m->classic of a classic model; everything in it is engine (malloc) memory. */
typedef struct ClassicModel
{
	ClassicKind kind;
	/* word vectors; for fastText, its vocabulary's vectors, built on demand */
	LmWordVectors *wv;
	LmFastText *ft;
	LmVectorizer *vectorizer;
} ClassicModel;

/* The model loaded (on first use), or ERROR wrong_object_type when it is not classic. */
ClassicModel *lm_pg_classic_model(LmStoredModel *m);

/*
 * Words with vectors to rank for lm_most_similar and lm_analogy: the word
 * vectors, or a fastText model's vocabulary (built on first use); ERROR for
 * other kinds.
 */
const LmWordVectors *lm_pg_classic_word_table(LmStoredModel *m, ClassicModel *cm,
											  const char *function);

/* ERROR wrong_object_type naming what function needs. */
void		lm_pg_classic_wrong_kind(LmStoredModel *m, const char *function, const char *needs,
									 const char *hint) pg_attribute_noreturn();

/* Engine bytes as text, invalid UTF-8 (and NUL) replaced by U+FFFD. */
text	   *lm_pg_classic_text(const char *s, size_t len);

/* Loaders (classic_wordvec.c, classic_tfidf.c). */
LmWordVectors *lm_pg_wordvec_load(LmStoredModel *m);
LmVectorizer *lm_pg_tfidf_load(LmStoredModel *m);

/* ERROR unless the first column of a training query's rows is text. */
void		lm_pg_classic_require_text_column(TupleDesc desc);

#endif
