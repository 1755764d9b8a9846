/*
 * spm_vocab.c — lookups over a SentencePiece vocabulary: an open-addressing
 * hash map from piece to id, and a byte trie whose edges live in one hash
 * table keyed by (parent node, byte), for prefix searches.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

#define FNV_OFFSET_BASIS UINT64_C(14695981039346656037)
#define FNV_PRIME UINT64_C(1099511628211)
#define EDGE_HASH_MULTIPLIER UINT64_C(0x9E3779B97F4A7C15)
#define MIN_TABLE_SLOTS 16

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = FNV_OFFSET_BASIS;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (uint8_t) s[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* The smallest power of two holding n entries at most half full. */
static size_t
table_slots(size_t n)
{
	size_t		slots = MIN_TABLE_SLOTS;

	while (slots < 2 * n)
		slots *= 2;
	return slots;
}

int
spm_piece_map_build(SpmPieceMap *map, const SpmPiece *pieces, int32_t n,
					unsigned type_mask, LmError *err)
{
	size_t		slots = table_slots((size_t) n);

	map->pieces = pieces;
	map->mask = slots - 1;
	map->slots = lm_malloc(slots * sizeof(int32_t), err);
	if (map->slots == NULL)
		return -1;
	memset(map->slots, 0xFF, slots * sizeof(int32_t));	/* all -1 */
	for (int32_t id = 0; id < n; id++)
	{
		const SpmPiece *piece = &pieces[id];
		size_t		slot;

		if ((type_mask & SPM_TYPE_BIT(piece->type)) == 0)
			continue;
		slot = hash_bytes(piece->text, piece->len) & map->mask;
		while (map->slots[slot] >= 0)
		{
			const SpmPiece *other = &pieces[map->slots[slot]];

			if (other->len == piece->len && memcmp(other->text, piece->text, piece->len) == 0)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "piece %d \"%.64s\" is already defined as piece %d",
							   id, piece->text, map->slots[slot]);
			slot = (slot + 1) & map->mask;
		}
		map->slots[slot] = id;
	}
	return 0;
}

int32_t
spm_piece_map_find(const SpmPieceMap *map, const char *s, size_t len)
{
	size_t		slot;

	if (map->slots == NULL)
		return -1;
	slot = hash_bytes(s, len) & map->mask;
	while (map->slots[slot] >= 0)
	{
		const SpmPiece *piece = &map->pieces[map->slots[slot]];

		if (piece->len == len && memcmp(piece->text, s, len) == 0)
			return map->slots[slot];
		slot = (slot + 1) & map->mask;
	}
	return -1;
}

void
spm_piece_map_free(SpmPieceMap *map)
{
	free(map->slots);
	memset(map, 0, sizeof(*map));
}

static size_t
edge_slot(const SpmTrie *trie, uint32_t parent, uint8_t label)
{
	uint64_t	h = (((uint64_t) parent << 8) | label) * EDGE_HASH_MULTIPLIER;

	return (size_t) (h ^ (h >> 32)) & trie->edge_mask;
}

uint32_t
spm_trie_step(const SpmTrie *trie, uint32_t node, uint8_t label)
{
	size_t		slot;

	if (trie->edges == NULL)
		return SPM_TRIE_NONE;
	slot = edge_slot(trie, node, label);
	while (trie->edges[slot].child != SPM_TRIE_ROOT)
	{
		const SpmTrieEdge *edge = &trie->edges[slot];

		if (edge->parent == node && edge->label == label)
			return edge->child;
		slot = (slot + 1) & trie->edge_mask;
	}
	return SPM_TRIE_NONE;
}

/* The child of node by label, created when missing. */
static uint32_t
trie_add_edge(SpmTrie *trie, uint32_t node, uint8_t label)
{
	size_t		slot = edge_slot(trie, node, label);

	while (trie->edges[slot].child != SPM_TRIE_ROOT)
	{
		SpmTrieEdge *edge = &trie->edges[slot];

		if (edge->parent == node && edge->label == label)
			return edge->child;
		slot = (slot + 1) & trie->edge_mask;
	}
	trie->edges[slot].parent = node;
	trie->edges[slot].label = label;
	trie->edges[slot].child = (uint32_t) trie->n_nodes;
	trie->values[trie->n_nodes] = -1;
	return (uint32_t) trie->n_nodes++;
}

int
spm_trie_build(SpmTrie *trie, const SpmPiece *pieces, int32_t n, unsigned type_mask,
			   LmError *err)
{
	size_t		total_bytes = 0;
	size_t		slots;

	memset(trie, 0, sizeof(*trie));
	for (int32_t id = 0; id < n; id++)
		if (type_mask & SPM_TYPE_BIT(pieces[id].type))
			total_bytes += pieces[id].len;
	if (total_bytes >= SPM_TRIE_NONE)
		return lm_fail(err, LM_ERR_CORRUPT, "vocabulary too large for the piece trie");

	slots = table_slots(total_bytes);
	trie->edge_mask = slots - 1;
	trie->edges = lm_calloc(slots, sizeof(SpmTrieEdge), err);
	trie->values = lm_malloc((total_bytes + 1) * sizeof(int32_t), err);
	if (trie->edges == NULL || trie->values == NULL)
	{
		spm_trie_free(trie);
		return -1;
	}
	trie->values[SPM_TRIE_ROOT] = -1;
	trie->n_nodes = 1;
	for (int32_t id = 0; id < n; id++)
	{
		const SpmPiece *piece = &pieces[id];
		uint32_t	node = SPM_TRIE_ROOT;

		if ((type_mask & SPM_TYPE_BIT(piece->type)) == 0)
			continue;
		for (uint32_t i = 0; i < piece->len; i++)
			node = trie_add_edge(trie, node, (uint8_t) piece->text[i]);
		if (trie->values[node] < 0)
			trie->values[node] = id;
	}
	return 0;
}

void
spm_trie_free(SpmTrie *trie)
{
	free(trie->edges);
	free(trie->values);
	memset(trie, 0, sizeof(*trie));
}
