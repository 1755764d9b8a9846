/*
 * ngram_counts.c — vocabulary, padded everygram counting, import/export and
 * the derived statistics of LmNgramCounts.
 */
#include "classic/ngram_counts.h"

#include <stdlib.h>
#include <string.h>

#include "classic/words.h"

#define VOCAB_INITIAL_WORDS 1024
/* Check for cancellation once per this many n-grams. */
#define CANCEL_CHECK_INTERVAL 65536

LmNgramCounts *
lm_ngram_counts_new(int order, LmError *err)
{
	LmNgramCounts *c;
	const char *stored;

	if (order < 1 || order > LM_NGRAM_MAX_ORDER)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram order must be between 1 and %d, not %d",
				LM_NGRAM_MAX_ORDER, order);
		return NULL;
	}
	c = lm_calloc(1, sizeof(LmNgramCounts), err);
	if (c == NULL)
		return NULL;
	c->order = order;
	c->bos_id = -1;
	c->eos_id = -1;
	c->vocab = lm_strmap_new(VOCAB_INITIAL_WORDS, err);
	if (c->vocab == NULL)
		goto fail;
	for (int k = 0; k <= order; k++)
	{
		c->tables[k] = lm_ngram_table_new(k, err);
		if (c->tables[k] == NULL)
			goto fail;
	}
	/* "<UNK>" is id 0; training never counts it. */
	c->words = lm_malloc(VOCAB_INITIAL_WORDS * sizeof(char *), err);
	if (c->words == NULL ||
		lm_strmap_put(c->vocab, LM_NGRAM_UNK, strlen(LM_NGRAM_UNK), LM_NGRAM_UNK_ID,
					  &stored, err) != 0)
		goto fail;
	c->words_capacity = VOCAB_INITIAL_WORDS;
	c->words[LM_NGRAM_UNK_ID] = stored;
	c->n_words = 1;
	return c;
fail:
	lm_ngram_counts_free(c);
	return NULL;
}

void
lm_ngram_counts_free(LmNgramCounts *counts)
{
	if (counts == NULL)
		return;
	for (int k = 0; k <= LM_NGRAM_MAX_ORDER; k++)
		lm_ngram_table_free(counts->tables[k]);
	lm_strmap_free(counts->vocab);
	free(counts->words);
	free(counts);
}

/* Id of word, adding it to the vocabulary when new; -1 on error. */
static int32_t
intern_word(LmNgramCounts *c, const char *word, LmError *err)
{
	size_t		len = strlen(word);
	int32_t		id;
	const char *stored;

	if (lm_strmap_get(c->vocab, word, len, &id))
		return id;
	if (c->n_words >= INT32_MAX)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "too many distinct words");
	if (c->n_words == c->words_capacity)
	{
		const char **grown = lm_realloc(c->words, 2 * c->words_capacity * sizeof(char *), err);

		if (grown == NULL)
			return -1;
		c->words = grown;
		c->words_capacity *= 2;
	}
	id = (int32_t) c->n_words;
	if (lm_strmap_put(c->vocab, word, len, id, &stored, err) != 0)
		return -1;
	c->words[c->n_words++] = stored;
	if (strcmp(word, LM_NGRAM_BOS) == 0)
		c->bos_id = id;
	else if (strcmp(word, LM_NGRAM_EOS) == 0)
		c->eos_id = id;
	return id;
}

static int
add_ids(LmNgramCounts *c, const int32_t *ids, int n, int64_t count, LmError *err)
{
	LmNgramEntry *e = lm_ngram_table_upsert(c->tables[n], ids, err);

	if (e == NULL)
		return -1;
	if (e->count > INT64_MAX - count)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram count overflows");
	e->count += count;
	c->finished = false;
	return 0;
}

int
lm_ngram_counts_add_sentence(LmNgramCounts *counts, const char *const *tokens, size_t n_tokens,
							 LmError *err)
{
	size_t		pad = (size_t) counts->order - 1;
	size_t		len = n_tokens + 2 * pad;
	int32_t    *ids = lm_malloc(len * sizeof(int32_t), err);
	int32_t		bos;
	int32_t		eos;
	int			rc = -1;

	if (ids == NULL)
		return -1;
	/* Intern in reading order so ids follow first appearance, as NLTK's vocabulary does. */
	bos = pad > 0 ? intern_word(counts, LM_NGRAM_BOS, err) : 0;
	if (bos < 0)
		goto done;
	for (size_t i = 0; i < pad; i++)
		ids[i] = bos;
	for (size_t i = 0; i < n_tokens; i++)
	{
		ids[pad + i] = intern_word(counts, tokens[i], err);
		if (ids[pad + i] < 0)
			goto done;
	}
	eos = pad > 0 ? intern_word(counts, LM_NGRAM_EOS, err) : 0;
	if (eos < 0)
		goto done;
	for (size_t i = 0; i < pad; i++)
		ids[pad + n_tokens + i] = eos;

	/* nltk.util.everygrams: every n-gram of length 1..order at every position. */
	for (size_t start = 0; start < len; start++)
	{
		for (int n = 1; n <= counts->order && start + n <= len; n++)
		{
			if (add_ids(counts, ids + start, n, 1, err) != 0)
				goto done;
		}
	}
	rc = 0;
done:
	free(ids);
	return rc;
}

int
lm_ngram_counts_add_text(LmNgramCounts *counts, const char *text, size_t len, bool lowercase,
						 LmError *err)
{
	LmWords		words;
	int			rc;

	if (lm_words_tokenize(text, len, lowercase, &words, err) != 0)
		return -1;
	rc = lm_ngram_counts_add_sentence(counts, (const char *const *) words.words,
									  words.n_words, err);
	lm_words_free(&words);
	return rc;
}

int
lm_ngram_counts_add(LmNgramCounts *counts, const char *const *words, int n, int64_t count,
					LmError *err)
{
	int32_t		ids[LM_NGRAM_MAX_ORDER];

	if (n < 1 || n > counts->order)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "an n-gram of %d words does not fit a model of order %d",
					   n, counts->order);
	if (count < 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram counts must be positive, not %lld",
					   (long long) count);
	for (int i = 0; i < n; i++)
	{
		if (words[i] == NULL || words[i][0] == '\0')
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram word %d is empty", i + 1);
		ids[i] = intern_word(counts, words[i], err);
		if (ids[i] < 0)
			return -1;
	}
	return add_ids(counts, ids, n, count, err);
}

/* Add one counted n-gram's contribution to its prefix, suffix and middle. */
static int
derive_from(LmNgramCounts *c, const int32_t *ids, int n, int64_t count, LmError *err)
{
	LmNgramEntry *e;

	/* As a context, the first n-1 words are followed by the last. */
	e = lm_ngram_table_upsert(c->tables[n - 1], ids, err);
	if (e == NULL)
		return -1;
	e->follow_total += count;
	e->followers++;
	if (n < 2)
		return 0;
	/* The last n-1 words have one more distinct word before them ... */
	e = lm_ngram_table_upsert(c->tables[n - 1], ids + 1, err);
	if (e == NULL)
		return -1;
	e->continuations++;
	/* ... and the middle n-2 words one more distinct (before, after) pair. */
	e = lm_ngram_table_upsert(c->tables[n - 2], ids + 1, err);
	if (e == NULL)
		return -1;
	e->middle_types++;
	return 0;
}

int
lm_ngram_counts_finish(LmNgramCounts *counts, LmError *err)
{
	if (counts->finished)
		return 0;
	for (int k = 0; k <= counts->order; k++)
	{
		size_t		size = lm_ngram_table_size(counts->tables[k]);

		for (size_t i = 0; i < size; i++)
		{
			LmNgramEntry *e = lm_ngram_table_at(counts->tables[k], i, NULL);

			e->continuations = e->follow_total = e->followers = e->middle_types = 0;
		}
	}
	if (lm_ngram_table_upsert(counts->tables[0], NULL, err) == NULL)
		return -1;

	counts->vocab_size = 1;		/* <UNK> */
	for (int n = 1; n <= counts->order; n++)
	{
		LmNgramTable *table = counts->tables[n];

		/* Entries added to tables[n] meanwhile have count 0 and are skipped. */
		for (size_t i = 0; i < lm_ngram_table_size(table); i++)
		{
			const int32_t *ids;
			int64_t		count = lm_ngram_table_at(table, i, &ids)->count;

			if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 &&
				lm_check_cancel(err) != 0)
				return -1;
			if (count <= 0)
				continue;
			if (n == 1 && ids[0] != LM_NGRAM_UNK_ID)
				counts->vocab_size++;
			if (derive_from(counts, ids, n, count, err) != 0)
				return -1;
		}
	}
	counts->finished = true;
	return 0;
}

int32_t
lm_ngram_counts_lookup(const LmNgramCounts *counts, const char *word)
{
	int32_t		id;

	if (word == NULL || !lm_strmap_get(counts->vocab, word, strlen(word), &id))
		return LM_NGRAM_UNK_ID;
	return lm_ngram_counts_get(counts, &id, 1) > 0 ? id : LM_NGRAM_UNK_ID;
}

int64_t
lm_ngram_counts_get(const LmNgramCounts *counts, const int32_t *ids, int n)
{
	const LmNgramEntry *e;

	if (n < 0 || n > counts->order)
		return 0;
	e = lm_ngram_table_find(counts->tables[n], ids);
	if (e == NULL)
		return 0;
	return n == 0 ? e->follow_total : e->count;
}

void
lm_ngram_iter_init(LmNgramIter *iter, const LmNgramCounts *counts)
{
	iter->counts = counts;
	iter->length = 1;
	iter->index = 0;
}

bool
lm_ngram_iter_next(LmNgramIter *iter, const char **words, int *n, int64_t *count)
{
	const LmNgramCounts *c = iter->counts;

	while (iter->length <= c->order)
	{
		LmNgramTable *table = c->tables[iter->length];

		while (iter->index < lm_ngram_table_size(table))
		{
			const int32_t *ids;
			const LmNgramEntry *e = lm_ngram_table_at(table, iter->index++, &ids);

			if (e->count <= 0)
				continue;
			for (int i = 0; i < iter->length; i++)
				words[i] = c->words[ids[i]];
			*n = iter->length;
			*count = e->count;
			return true;
		}
		iter->length++;
		iter->index = 0;
	}
	return false;
}
