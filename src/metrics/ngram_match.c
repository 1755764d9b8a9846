/*
 * ngram_match.c — clipped n-gram matches through an open-addressing table
 * keyed by the n-gram's symbols (pointers into the two sequences).
 */
#include "metrics/ngram_match.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_TABLE_MIN_SLOTS 16
#define HASH_SEED UINT64_C(0x9E3779B97F4A7C15)
#define HASH_MULTIPLIER UINT64_C(0xff51afd7ed558ccd)
/* Check for cancellation once per this many n-grams. */
#define CANCEL_CHECK_INTERVAL 65536

typedef struct MatchSlot
{
	const int32_t *ngram;		/* NULL: empty slot */
	uint64_t	hash;
	int64_t		ref_count;
	int64_t		hyp_count;
} MatchSlot;

static uint64_t
hash_ngram(const int32_t *s, int n)
{
	uint64_t	h = HASH_SEED;

	for (int i = 0; i < n; i++)
	{
		h ^= (uint32_t) s[i];
		h *= HASH_MULTIPLIER;
		h ^= h >> 29;
	}
	return h;
}

typedef struct MatchTable
{
	MatchSlot  *slots;
	size_t		mask;			/* slot count - 1; the count is a power of two */
	size_t		used;
} MatchTable;

/* Find the slot of ngram, or the empty slot where it belongs. */
static MatchSlot *
find_slot(const MatchTable *t, const int32_t *ngram, int n, uint64_t hash)
{
	size_t		i = (size_t) hash & t->mask;

	for (;;)
	{
		MatchSlot  *slot = &t->slots[i];

		if (slot->ngram == NULL)
			return slot;
		if (slot->hash == hash && memcmp(slot->ngram, ngram, n * sizeof(int32_t)) == 0)
			return slot;
		i = (i + 1) & t->mask;
	}
}

/*
 * Double the table.  It grows with the distinct n-grams, not with the
 * text's length: a long repetitive text keeps a small table.
 */
static int
grow_table(MatchTable *t, LmError *err)
{
	size_t		old_count = t->mask + 1;
	MatchSlot  *old = t->slots;
	MatchSlot  *slots = lm_calloc(old_count * 2, sizeof(MatchSlot), err);

	if (slots == NULL)
		return -1;
	t->slots = slots;
	t->mask = old_count * 2 - 1;
	for (size_t i = 0; i < old_count; i++)
	{
		size_t		j;

		if (old[i].ngram == NULL)
			continue;
		j = (size_t) old[i].hash & t->mask;
		while (slots[j].ngram != NULL)
			j = (j + 1) & t->mask;
		slots[j] = old[i];
	}
	free(old);
	return 0;
}

/* Add every n-gram of seq to the table, counting into ref or hyp counts. */
static int
add_ngrams(MatchTable *t, const int32_t *seq, size_t count, int n, bool is_ref, LmError *err)
{
	for (size_t i = 0; i < count; i++)
	{
		uint64_t	hash;
		MatchSlot  *slot;

		if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
			return -1;
		hash = hash_ngram(seq + i, n);
		slot = find_slot(t, seq + i, n, hash);
		if (slot->ngram == NULL)
		{
			/* At most half full, so probing stays short and always ends. */
			if (2 * (t->used + 1) > t->mask + 1)
			{
				if (grow_table(t, err) != 0)
					return -1;
				slot = find_slot(t, seq + i, n, hash);
			}
			slot->ngram = seq + i;
			slot->hash = hash;
			t->used++;
		}
		if (is_ref)
			slot->ref_count++;
		else
			slot->hyp_count++;
	}
	return 0;
}

int
lm_ngram_match(const int32_t *hyp, size_t hyp_len, const int32_t *ref, size_t ref_len,
			   int n, LmNgramMatch *out, LmError *err)
{
	size_t		hyp_count;
	size_t		ref_count;
	MatchTable	table = {0};
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	if (n < 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "n-gram order must be at least 1, not %d", n);
	hyp_count = hyp_len >= (size_t) n ? hyp_len - n + 1 : 0;
	ref_count = ref_len >= (size_t) n ? ref_len - n + 1 : 0;
	out->hyp_total = (int64_t) hyp_count;
	out->ref_total = (int64_t) ref_count;
	if (hyp_count == 0 || ref_count == 0)
		return 0;

	table.slots = lm_calloc(MATCH_TABLE_MIN_SLOTS, sizeof(MatchSlot), err);
	if (table.slots == NULL)
		return -1;
	table.mask = MATCH_TABLE_MIN_SLOTS - 1;
	if (add_ngrams(&table, ref, ref_count, n, true, err) != 0 ||
		add_ngrams(&table, hyp, hyp_count, n, false, err) != 0)
		goto done;
	for (size_t i = 0; i <= table.mask; i++)
	{
		const MatchSlot *slot = &table.slots[i];

		if (slot->ngram != NULL)
			out->matches += slot->hyp_count < slot->ref_count ? slot->hyp_count : slot->ref_count;
	}
	rc = 0;
done:
	free(table.slots);
	return rc;
}
