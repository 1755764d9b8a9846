/*
 * ngram_table.h — a hash table from n-grams of one fixed length (word-id
 * sequences) to their counts and the derived statistics the estimators need.
 *
 * Entries live in a dense array in insertion order, so iteration is
 * deterministic and an entry's index is stable; the hash slots only point
 * into it.  Entry pointers are invalidated by the next insertion into the
 * same table.
 */
#ifndef LM_NGRAM_TABLE_H
#define LM_NGRAM_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmNgramEntry
{
	int64_t		count;			/* times this n-gram was seen */
	/* Derived by lm_ngram_counts_finish(): */
	int64_t		continuations;	/* distinct v with (v, ngram) seen: N1+(• g) */
	int64_t		follow_total;	/* as a context: total count of (g, w) */
	int64_t		followers;		/* as a context: distinct w with (g, w) seen */
	int64_t		middle_types;	/* as a context: distinct (v, g, w) seen */
} LmNgramEntry;

typedef struct LmNgramTable LmNgramTable;

/* A table of n-grams of `length` ids (0 allowed: the empty context). */
LmNgramTable *lm_ngram_table_new(int length, LmError *err);
void		lm_ngram_table_free(LmNgramTable *table);

/* The entry of ids, or NULL when absent (ids may be NULL for length 0). */
LmNgramEntry *lm_ngram_table_find(const LmNgramTable *table, const int32_t *ids);

/* The entry of ids, inserted zeroed when absent; NULL only on error. */
LmNgramEntry *lm_ngram_table_upsert(LmNgramTable *table, const int32_t *ids, LmError *err);

size_t		lm_ngram_table_size(const LmNgramTable *table);

/* Entry number index (insertion order) and its ids. */
LmNgramEntry *lm_ngram_table_at(const LmNgramTable *table, size_t index, const int32_t **ids);

#endif
