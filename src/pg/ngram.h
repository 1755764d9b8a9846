/*
 * ngram.h — n-gram language models stored in lm.ngram (see ngram.c).
 */
#ifndef PG_LM_NGRAM_H
#define PG_LM_NGRAM_H

#include "pg/store.h"

#define LM_ARCH_NGRAM "ngram"

/* Natural-log probability of a text's padded n-grams, and their count. */
double		lm_pg_ngram_score(LmStoredModel *m, text *input, int *n_scored);

/* NLTK's perplexity of the text as one sentence. */
double		lm_pg_ngram_perplexity(LmStoredModel *m, text *input);

#endif
