/*
 * classic_internal.h — what the classic_*.c files share: a classic model's
 * parts as their functions see them, and the helpers that check them.
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

/* A classic model's parts as its SQL functions use them (palloc'd view). */
typedef struct ClassicModel
{
	LmKind		kind;			/* LM_KIND_WORD_VECTORS, _FASTTEXT or _TFIDF */
	/* word vectors; for fastText, its vocabulary's vectors, built on demand */
	const LmWordVectors *wv;
	const LmFastText *ft;
	const LmVectorizer *vectorizer;
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
pg_noreturn void lm_pg_classic_wrong_kind(LmStoredModel *m, const char *function, const char *needs,
										  const char *hint);

/* ERROR unless the first column of a training query's rows is text. */
void		lm_pg_classic_require_text_column(TupleDesc desc);

#endif
