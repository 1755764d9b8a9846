/*
 * hf_intmap.h — a hash map from 64-bit keys to 64-bit values (open
 * addressing, linear probing, at most half full), for BPE merge pairs and
 * the edges of byte tries.  The key UINT64_MAX is reserved.
 */
#ifndef LM_HF_INTMAP_H
#define LM_HF_INTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

#define HF_INTMAP_EMPTY UINT64_MAX

typedef struct HfIntMapSlot
{
	uint64_t	key;			/* HF_INTMAP_EMPTY: unused */
	uint64_t	value;
} HfIntMapSlot;

typedef struct HfIntMap
{
	HfIntMapSlot *slots;
	size_t		n_slots;		/* a power of two */
	size_t		count;
} HfIntMap;

int			hf_intmap_init(HfIntMap *map, size_t expected, LmError *err);
void		hf_intmap_free(HfIntMap *map);
/* Insert or overwrite. */
int			hf_intmap_put(HfIntMap *map, uint64_t key, uint64_t value, LmError *err);

static inline size_t
hf_intmap_hash(uint64_t key)
{
	/* splitmix64's finalizer */
	key ^= key >> 30;
	key *= UINT64_C(0xbf58476d1ce4e5b9);
	key ^= key >> 27;
	key *= UINT64_C(0x94d049bb133111eb);
	key ^= key >> 31;
	return (size_t) key;
}

static inline bool
hf_intmap_get(const HfIntMap *map, uint64_t key, uint64_t *value)
{
	size_t		mask = map->n_slots - 1;
	size_t		i;

	if (map->n_slots == 0)
		return false;
	for (i = hf_intmap_hash(key) & mask;; i = (i + 1) & mask)
	{
		const HfIntMapSlot *slot = &map->slots[i];

		if (slot->key == key)
		{
			if (value)
				*value = slot->value;
			return key != HF_INTMAP_EMPTY;
		}
		if (slot->key == HF_INTMAP_EMPTY)
			return false;
	}
}

#endif
