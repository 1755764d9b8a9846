/*
 * ngram_table.c — open addressing over a dense entry array.
 */
#include "classic/ngram_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_MIN_SLOTS 16
#define TABLE_MIN_ENTRIES 8
#define HASH_SEED UINT64_C(0x9E3779B97F4A7C15)
#define HASH_MULTIPLIER UINT64_C(0xff51afd7ed558ccd)
#define EMPTY_SLOT UINT32_MAX
/* Entries are indexed by uint32 slots; stay below the empty marker. */
#define TABLE_MAX_ENTRIES (UINT32_MAX - 1)

struct LmNgramTable
{
	int			length;			/* ids per n-gram */
	LmNgramEntry *entries;
	int32_t    *ids;			/* length ids per entry, same order */
	uint64_t   *hashes;
	size_t		n_entries;
	size_t		capacity;		/* of the three arrays above */
	uint32_t   *slots;			/* entry index or EMPTY_SLOT */
	size_t		n_slots;		/* a power of two, at least 2 * n_entries */
};

static uint64_t
hash_ids(const int32_t *ids, int length)
{
	uint64_t	h = HASH_SEED ^ (uint64_t) length;

	for (int i = 0; i < length; i++)
	{
		h ^= (uint32_t) ids[i];
		h *= HASH_MULTIPLIER;
		h ^= h >> 29;
	}
	return h;
}

LmNgramTable *
lm_ngram_table_new(int length, LmError *err)
{
	LmNgramTable *t = lm_calloc(1, sizeof(LmNgramTable), err);

	if (t == NULL)
		return NULL;
	t->length = length;
	t->n_slots = TABLE_MIN_SLOTS;
	t->slots = lm_malloc(t->n_slots * sizeof(uint32_t), err);
	if (t->slots == NULL)
	{
		free(t);
		return NULL;
	}
	memset(t->slots, 0xFF, t->n_slots * sizeof(uint32_t));
	return t;
}

void
lm_ngram_table_free(LmNgramTable *table)
{
	if (table == NULL)
		return;
	free(table->entries);
	free(table->ids);
	free(table->hashes);
	free(table->slots);
	free(table);
}

/* Slot holding ids, or the empty slot where they would go. */
static size_t
probe(const LmNgramTable *t, const int32_t *ids, uint64_t hash)
{
	size_t		mask = t->n_slots - 1;
	size_t		i = (size_t) hash & mask;

	for (;;)
	{
		uint32_t	e = t->slots[i];

		if (e == EMPTY_SLOT)
			return i;
		if (t->hashes[e] == hash &&
			(t->length == 0 ||
			 memcmp(t->ids + (size_t) e * t->length, ids, t->length * sizeof(int32_t)) == 0))
			return i;
		i = (i + 1) & mask;
	}
}

LmNgramEntry *
lm_ngram_table_find(const LmNgramTable *table, const int32_t *ids)
{
	uint32_t	e = table->slots[probe(table, ids, hash_ids(ids, table->length))];

	return e == EMPTY_SLOT ? NULL : &table->entries[e];
}

static int
grow_entries(LmNgramTable *t, LmError *err)
{
	size_t		capacity = t->capacity ? t->capacity * 2 : TABLE_MIN_ENTRIES;
	LmNgramEntry *entries;
	int32_t    *ids;
	uint64_t   *hashes;

	if (capacity > TABLE_MAX_ENTRIES)
		capacity = TABLE_MAX_ENTRIES;
	if (capacity <= t->n_entries)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "too many distinct %d-grams", t->length);
	entries = lm_realloc(t->entries, capacity * sizeof(LmNgramEntry), err);
	if (entries == NULL)
		return -1;
	t->entries = entries;
	ids = lm_realloc(t->ids, capacity * (t->length + 1) * sizeof(int32_t), err);
	if (ids == NULL)
		return -1;
	t->ids = ids;
	hashes = lm_realloc(t->hashes, capacity * sizeof(uint64_t), err);
	if (hashes == NULL)
		return -1;
	t->hashes = hashes;
	t->capacity = capacity;
	return 0;
}

static int
grow_slots(LmNgramTable *t, LmError *err)
{
	size_t		n_slots = t->n_slots * 2;
	uint32_t   *slots = lm_malloc(n_slots * sizeof(uint32_t), err);

	if (slots == NULL)
		return -1;
	memset(slots, 0xFF, n_slots * sizeof(uint32_t));
	free(t->slots);
	t->slots = slots;
	t->n_slots = n_slots;
	for (size_t e = 0; e < t->n_entries; e++)
	{
		size_t		i = (size_t) t->hashes[e] & (n_slots - 1);

		while (slots[i] != EMPTY_SLOT)
			i = (i + 1) & (n_slots - 1);
		slots[i] = (uint32_t) e;
	}
	return 0;
}

LmNgramEntry *
lm_ngram_table_upsert(LmNgramTable *table, const int32_t *ids, LmError *err)
{
	uint64_t	hash = hash_ids(ids, table->length);
	size_t		slot = probe(table, ids, hash);
	size_t		e;

	if (table->slots[slot] != EMPTY_SLOT)
		return &table->entries[table->slots[slot]];
	if (table->n_entries == table->capacity && grow_entries(table, err) != 0)
		return NULL;
	if (2 * (table->n_entries + 1) > table->n_slots)
	{
		if (grow_slots(table, err) != 0)
			return NULL;
		slot = probe(table, ids, hash);
	}
	e = table->n_entries++;
	memset(&table->entries[e], 0, sizeof(LmNgramEntry));
	if (table->length > 0)
		memcpy(table->ids + e * table->length, ids, table->length * sizeof(int32_t));
	table->hashes[e] = hash;
	table->slots[slot] = (uint32_t) e;
	return &table->entries[e];
}

size_t
lm_ngram_table_size(const LmNgramTable *table)
{
	return table->n_entries;
}

LmNgramEntry *
lm_ngram_table_at(const LmNgramTable *table, size_t index, const int32_t **ids)
{
	if (ids != NULL)
		*ids = table->ids + index * table->length;
	return &table->entries[index];
}
