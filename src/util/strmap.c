/*
 * strmap.c — a hash map from byte strings to int32 values.
 */
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

#define STRMAP_MIN_SLOTS 16
#define STRMAP_ARENA_BLOCK (64 * 1024)	/* bytes per key block */
#define FNV_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

typedef struct StrMapSlot
{
	const char *key;			/* NULL: empty slot */
	uint32_t	len;
	uint32_t	hash;
	int32_t		value;
} StrMapSlot;

typedef struct ArenaBlock
{
	struct ArenaBlock *next;
	size_t		used;
	size_t		size;
	char		data[];
} ArenaBlock;

struct LmStrMap
{
	StrMapSlot *slots;
	size_t		n_slots;		/* a power of two */
	size_t		count;
	ArenaBlock *blocks;
};

/* FNV-1a followed by a murmur-style finalizer for better low bits. */
static uint32_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = FNV_OFFSET_BASIS;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= FNV_PRIME;
	}
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return (uint32_t) h;
}

LmStrMap *
lm_strmap_new(size_t expected, LmError *err)
{
	LmStrMap   *map = lm_calloc(1, sizeof(LmStrMap), err);
	size_t		n = STRMAP_MIN_SLOTS;

	if (map == NULL)
		return NULL;
	while (n < expected * 2 + 2)
		n *= 2;
	map->slots = lm_calloc(n, sizeof(StrMapSlot), err);
	if (map->slots == NULL)
	{
		free(map);
		return NULL;
	}
	map->n_slots = n;
	return map;
}

void
lm_strmap_free(LmStrMap *map)
{
	ArenaBlock *b;

	if (map == NULL)
		return;
	b = map->blocks;
	while (b)
	{
		ArenaBlock *next = b->next;

		free(b);
		b = next;
	}
	free(map->slots);
	free(map);
}

static const char *
arena_copy(LmStrMap *map, const char *key, size_t len, LmError *err)
{
	ArenaBlock *b = map->blocks;
	char	   *dst;

	if (b == NULL || b->size - b->used < len + 1)
	{
		size_t		size = len + 1 > STRMAP_ARENA_BLOCK ? len + 1 : STRMAP_ARENA_BLOCK;

		b = lm_malloc(sizeof(ArenaBlock) + size, err);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = map->blocks;
		map->blocks = b;
	}
	dst = b->data + b->used;
	memcpy(dst, key, len);
	dst[len] = '\0';
	b->used += len + 1;
	return dst;
}

static StrMapSlot *
find_slot(StrMapSlot *slots, size_t n_slots, const char *key, size_t len, uint32_t hash)
{
	size_t		mask = n_slots - 1;
	size_t		i = hash & mask;

	for (;;)
	{
		StrMapSlot *slot = &slots[i];

		if (slot->key == NULL)
			return slot;
		if (slot->hash == hash && slot->len == len && memcmp(slot->key, key, len) == 0)
			return slot;
		i = (i + 1) & mask;
	}
}

static int
grow(LmStrMap *map, LmError *err)
{
	size_t		n = map->n_slots * 2;
	StrMapSlot *slots = lm_calloc(n, sizeof(StrMapSlot), err);

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < map->n_slots; i++)
	{
		StrMapSlot *old = &map->slots[i];

		if (old->key != NULL)
			*find_slot(slots, n, old->key, old->len, old->hash) = *old;
	}
	free(map->slots);
	map->slots = slots;
	map->n_slots = n;
	return 0;
}

int
lm_strmap_put(LmStrMap *map, const char *key, size_t len, int32_t value,
			  const char **stored_key, LmError *err)
{
	uint32_t	hash;
	StrMapSlot *slot;

	if (len > UINT32_MAX)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "string key of %zu bytes is too long", len);
	/* Keep the table at most half full, so that misses stay short. */
	if ((map->count + 1) * 2 > map->n_slots && grow(map, err) != 0)
		return -1;
	hash = hash_bytes(key, len);
	slot = find_slot(map->slots, map->n_slots, key, len, hash);
	if (slot->key == NULL)
	{
		const char *copy = arena_copy(map, key, len, err);

		if (copy == NULL)
			return -1;
		slot->key = copy;
		slot->len = (uint32_t) len;
		slot->hash = hash;
		map->count++;
	}
	slot->value = value;
	if (stored_key)
		*stored_key = slot->key;
	return 0;
}

bool
lm_strmap_get(const LmStrMap *map, const char *key, size_t len, int32_t *value)
{
	const StrMapSlot *slot;

	if (len > UINT32_MAX)
		return false;
	slot = find_slot(map->slots, map->n_slots, key, len, hash_bytes(key, len));
	if (slot->key == NULL)
		return false;
	if (value)
		*value = slot->value;
	return true;
}

size_t
lm_strmap_count(const LmStrMap *map)
{
	return map->count;
}
