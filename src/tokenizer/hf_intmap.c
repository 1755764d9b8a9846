/*
 * hf_intmap.c — a hash map from 64-bit keys to 64-bit values.
 */
#include "tokenizer/hf_intmap.h"

#include <stdlib.h>
#include <string.h>

#define INTMAP_MIN_SLOTS 16

static int
alloc_slots(HfIntMap *map, size_t n, LmError *err)
{
	HfIntMapSlot *slots = lm_malloc(n * sizeof(HfIntMapSlot), err);

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		slots[i].key = HF_INTMAP_EMPTY;
	map->slots = slots;
	map->n_slots = n;
	return 0;
}

int
hf_intmap_init(HfIntMap *map, size_t expected, LmError *err)
{
	size_t		n = INTMAP_MIN_SLOTS;

	memset(map, 0, sizeof(*map));
	while (n < expected * 2)
		n *= 2;
	return alloc_slots(map, n, err);
}

void
hf_intmap_free(HfIntMap *map)
{
	free(map->slots);
	memset(map, 0, sizeof(*map));
}

static HfIntMapSlot *
find_slot(HfIntMapSlot *slots, size_t n_slots, uint64_t key)
{
	size_t		mask = n_slots - 1;
	size_t		i = hf_intmap_hash(key) & mask;

	while (slots[i].key != key && slots[i].key != HF_INTMAP_EMPTY)
		i = (i + 1) & mask;
	return &slots[i];
}

static int
grow(HfIntMap *map, LmError *err)
{
	HfIntMapSlot *old = map->slots;
	size_t		old_n = map->n_slots;

	if (alloc_slots(map, old_n * 2, err) != 0)
		return -1;
	for (size_t i = 0; i < old_n; i++)
		if (old[i].key != HF_INTMAP_EMPTY)
			*find_slot(map->slots, map->n_slots, old[i].key) = old[i];
	free(old);
	return 0;
}

int
hf_intmap_put(HfIntMap *map, uint64_t key, uint64_t value, LmError *err)
{
	HfIntMapSlot *slot;

	if (key == HF_INTMAP_EMPTY)
		return lm_fail(err, LM_ERR_INTERNAL, "reserved hash key");
	/* Keep the table at most half full: most lookups are misses. */
	if ((map->count + 1) * 2 > map->n_slots && grow(map, err) != 0)
		return -1;
	slot = find_slot(map->slots, map->n_slots, key);
	if (slot->key == HF_INTMAP_EMPTY)
	{
		slot->key = key;
		map->count++;
	}
	slot->value = value;
	return 0;
}
