/*
 * charsmap.c — SentencePiece's precompiled normalization charsmap.
 *
 * The blob is <uint32 LE trie size><darts-clone double array><pool>, the pool
 * holding NUL-terminated replacement strings.  A lookup walks the double
 * array over the input bytes and keeps the longest key that has a value (an
 * offset into the pool).  Bytes with no entry are copied one UTF-8 character
 * at a time; a malformed byte becomes U+FFFD, as sentencepiece does.
 *
 * The double array is checked once, at load, by visiting every node reachable
 * from the root: every transition it can take stays inside the array, every
 * value points at a NUL-terminated string inside the pool, and there is no
 * cycle and no key longer than CHARSMAP_MAX_KEY_BYTES.  A lookup still checks
 * its indices, so a corrupt map can never read out of bounds.
 */
#include "tokenizer/charsmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

/* Layout of the blob. */
#define CHARSMAP_HEADER_SIZE 4	/* the uint32 trie size */

/* darts-clone's 32-bit unit (see darts.h, DoubleArrayUnit). */
#define DARTS_UNIT_SIZE 4
#define DARTS_LABEL_COUNT 256
#define DARTS_IS_LEAF_BIT (UINT32_C(1) << 31)
#define DARTS_HAS_LEAF_BIT (UINT32_C(1) << 8)
#define DARTS_EXTENSION_BIT (UINT32_C(1) << 9)
#define DARTS_OFFSET_SHIFT 10
#define DARTS_EXTENSION_SHIFT 6	/* bit 9 set: offset scaled by 2^8 */
#define DARTS_LABEL_MASK (DARTS_IS_LEAF_BIT | UINT32_C(0xFF))
#define DARTS_VALUE_MASK (DARTS_IS_LEAF_BIT - 1)

/*
 * The longest key we accept.  Real charsmaps' keys are a few characters
 * (NFKC's longest is 11 bytes); the limit bounds the work of one lookup.
 */
#define CHARSMAP_MAX_KEY_BYTES 256

/* U+FFFD REPLACEMENT CHARACTER, sentencepiece's output for a malformed byte. */
static const char kReplacementChar[] = "\xEF\xBF\xBD";
#define REPLACEMENT_CHAR_LEN 3

struct LmCharsmap
{
	uint32_t   *units;			/* the double array, host byte order */
	size_t		n_units;
	char	   *pool;			/* replacement strings, NUL-terminated */
	size_t		pool_len;
};

static inline uint32_t
darts_offset(uint32_t unit)
{
	return (unit >> DARTS_OFFSET_SHIFT) << ((unit & DARTS_EXTENSION_BIT) >> DARTS_EXTENSION_SHIFT);
}

static inline uint32_t
darts_label(uint32_t unit)
{
	return unit & DARTS_LABEL_MASK;
}

static inline bool
darts_has_leaf(uint32_t unit)
{
	return (unit & DARTS_HAS_LEAF_BIT) != 0;
}

static inline uint32_t
read_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Is pool[value] the start of a NUL-terminated string inside the pool? */
static bool
pool_string_ok(const LmCharsmap *map, uint32_t value)
{
	return value < map->pool_len &&
		memchr(map->pool + value, '\0', map->pool_len - value) != NULL;
}

/* Checks of one node: its 256 possible children lie inside the array, and
 * its value, if it has one, is a string of the pool. */
static int
check_node(const LmCharsmap *map, uint32_t node, LmError *err)
{
	uint32_t	unit = map->units[node];
	uint32_t	base = node ^ darts_offset(unit);

	/* base ^ label for label < 256 stays in base's 256-unit block */
	if ((size_t) (base | (DARTS_LABEL_COUNT - 1)) >= map->n_units)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "charsmap trie node %u points past the end of its %zu units",
					   node, map->n_units);
	if (darts_has_leaf(unit) && !pool_string_ok(map, map->units[base] & DARTS_VALUE_MASK))
		return lm_fail(err, LM_ERR_CORRUPT,
					   "charsmap trie value %u is not a string inside the %zu-byte replacement pool",
					   map->units[base] & DARTS_VALUE_MASK, map->pool_len);
	return 0;
}

typedef enum NodeState
{
	NODE_NEW = 0,
	NODE_OPEN,					/* on the DFS path */
	NODE_DONE
} NodeState;

typedef struct DfsFrame
{
	uint32_t	node;
	uint32_t	next_label;		/* the next child label to look at */
	uint32_t	height;			/* longest key suffix below this node so far */
} DfsFrame;

/*
 * Visit every node reachable from the root, depth first, and check what a
 * lookup could touch from it.  darts-clone may share nodes between parents
 * (the array is built from a DAWG) but never forms a cycle; a cycle, or a
 * key longer than CHARSMAP_MAX_KEY_BYTES, would let one lookup walk the
 * whole input, so both are rejected.
 */
static int
charsmap_validate(const LmCharsmap *map, LmError *err)
{
	size_t		n = map->n_units;
	uint8_t    *state = lm_calloc(n, 1, err);
	uint16_t   *heights = lm_malloc(n * sizeof(uint16_t), err);
	DfsFrame	stack[CHARSMAP_MAX_KEY_BYTES + 1];
	size_t		depth = 0;
	int			rc = 0;

	if (state == NULL || heights == NULL)
	{
		free(state);
		free(heights);
		return -1;
	}
	rc = check_node(map, 0, err);
	stack[depth++] = (DfsFrame) {0, 0, 0};
	state[0] = NODE_OPEN;
	while (depth > 0 && rc == 0)
	{
		DfsFrame   *top = &stack[depth - 1];
		uint32_t	base = top->node ^ darts_offset(map->units[top->node]);
		uint32_t	child;

		if (top->next_label == DARTS_LABEL_COUNT)
		{
			/* all children seen: the node is finished */
			state[top->node] = NODE_DONE;
			heights[top->node] = (uint16_t) top->height;
			depth--;
			if (depth > 0 && stack[depth - 1].height < top->height + 1)
				stack[depth - 1].height = top->height + 1;
			continue;
		}
		child = base ^ top->next_label;
		if (darts_label(map->units[child]) != top->next_label++)
			continue;
		if (state[child] == NODE_OPEN)
			rc = lm_fail(err, LM_ERR_CORRUPT, "charsmap trie has a cycle through unit %u",
						 child);
		else if (state[child] == NODE_DONE)
		{
			if (top->height < (uint32_t) heights[child] + 1)
				top->height = (uint32_t) heights[child] + 1;
			if (depth - 1 + top->height > CHARSMAP_MAX_KEY_BYTES)
				rc = lm_fail(err, LM_ERR_CORRUPT,
							 "charsmap has a key longer than %d bytes", CHARSMAP_MAX_KEY_BYTES);
		}
		else if (depth > CHARSMAP_MAX_KEY_BYTES)
			rc = lm_fail(err, LM_ERR_CORRUPT,
						 "charsmap has a key longer than %d bytes", CHARSMAP_MAX_KEY_BYTES);
		else if ((rc = check_node(map, child, err)) == 0)
		{
			state[child] = NODE_OPEN;
			stack[depth++] = (DfsFrame) {child, 0, 0};
		}
	}
	free(state);
	free(heights);
	return rc;
}

LmCharsmap *
lm_charsmap_load(const uint8_t *blob, size_t len, LmError *err)
{
	LmCharsmap *map;
	uint32_t	trie_size;

	if (blob == NULL || len <= CHARSMAP_HEADER_SIZE)
	{
		lm_fail(err, LM_ERR_CORRUPT, "charsmap is %zu bytes, too short for its header", len);
		return NULL;
	}
	trie_size = read_le32(blob);
	if (trie_size > len - CHARSMAP_HEADER_SIZE)
	{
		lm_fail(err, LM_ERR_CORRUPT,
				"charsmap trie size %u exceeds the %zu bytes after its header",
				trie_size, len - CHARSMAP_HEADER_SIZE);
		lm_hint(err, "The precompiled_charsmap is truncated or not a SentencePiece charsmap.");
		return NULL;
	}
	if (trie_size == 0 || trie_size % DARTS_UNIT_SIZE != 0)
	{
		lm_fail(err, LM_ERR_CORRUPT,
				"charsmap trie size %u is not a positive multiple of %d", trie_size,
				DARTS_UNIT_SIZE);
		return NULL;
	}

	map = lm_calloc(1, sizeof(LmCharsmap), err);
	if (map == NULL)
		return NULL;
	map->n_units = trie_size / DARTS_UNIT_SIZE;
	map->pool_len = len - CHARSMAP_HEADER_SIZE - trie_size;
	map->units = lm_malloc(map->n_units * sizeof(uint32_t), err);
	map->pool = lm_malloc(map->pool_len, err);
	if (map->units == NULL || map->pool == NULL)
	{
		lm_charsmap_free(map);
		return NULL;
	}
	for (size_t i = 0; i < map->n_units; i++)
		map->units[i] = read_le32(blob + CHARSMAP_HEADER_SIZE + i * DARTS_UNIT_SIZE);
	memcpy(map->pool, blob + CHARSMAP_HEADER_SIZE + trie_size, map->pool_len);

	if (charsmap_validate(map, err) != 0)
	{
		lm_charsmap_free(map);
		return NULL;
	}
	return map;
}

void
lm_charsmap_free(LmCharsmap *map)
{
	if (map == NULL)
		return;
	free(map->units);
	free(map->pool);
	free(map);
}

/*
 * sentencepiece's UTF-8 decoder (util.cc DecodeUTF8 + IsValidDecodeUTF8):
 * true with the character's length for a well-formed character (no
 * overlongs, no surrogates, nothing past U+10FFFF); false with *mblen = 1.
 */
bool
lm_spm_utf8_char(const char *text, size_t len, size_t *mblen)
{
	const uint8_t *s = (const uint8_t *) text;
	uint32_t	cp;

	*mblen = 1;
	if (len == 0)
		return false;
	if (s[0] < 0x80)
		return true;
	if (len >= 2 && (s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80)
	{
		cp = ((uint32_t) (s[0] & 0x1F) << 6) | (s[1] & 0x3F);
		if (cp >= 0x80)
		{
			*mblen = 2;
			return true;
		}
	}
	else if (len >= 3 && (s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 &&
			 (s[2] & 0xC0) == 0x80)
	{
		cp = ((uint32_t) (s[0] & 0x0F) << 12) | ((uint32_t) (s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		if (cp >= 0x800 && (cp < 0xD800 || cp >= 0xE000))
		{
			*mblen = 3;
			return true;
		}
	}
	else if (len >= 4 && (s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 &&
			 (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
	{
		cp = ((uint32_t) (s[0] & 0x07) << 18) | ((uint32_t) (s[1] & 0x3F) << 12) |
			((uint32_t) (s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		if (cp >= 0x10000 && cp <= 0x10FFFF)
		{
			*mblen = 4;
			return true;
		}
	}
	return false;
}

/*
 * Longest key of the trie that prefixes text: its length in *match_len (0 if
 * none) and its pool offset in *value.
 */
static int
charsmap_longest_match(const LmCharsmap *map, const uint8_t *text, size_t len,
					   size_t *match_len, uint32_t *value, LmError *err)
{
	uint32_t	pos = darts_offset(map->units[0]);

	*match_len = 0;
	*value = 0;
	for (size_t i = 0; i < len; i++)
	{
		uint32_t	unit;

		pos ^= text[i];
		if (pos >= map->n_units)
			return lm_fail(err, LM_ERR_CORRUPT, "charsmap trie index %u out of range", pos);
		unit = map->units[pos];
		if (darts_label(unit) != text[i])
			break;
		pos ^= darts_offset(unit);
		if (darts_has_leaf(unit))
		{
			if (pos >= map->n_units)
				return lm_fail(err, LM_ERR_CORRUPT, "charsmap trie index %u out of range", pos);
			*match_len = i + 1;
			*value = map->units[pos] & DARTS_VALUE_MASK;
		}
	}
	if (*match_len > 0 && !pool_string_ok(map, *value))
		return lm_fail(err, LM_ERR_CORRUPT, "charsmap value %u outside the replacement pool",
					   *value);
	return 0;
}

int
lm_charsmap_prefix(const LmCharsmap *map, const char *text, size_t len,
				   const char **out, size_t *out_len, size_t *consumed, LmError *err)
{
	size_t		match_len = 0;
	uint32_t	value = 0;

	*out = text;
	*out_len = 0;
	*consumed = 0;
	if (len == 0)
		return 0;
	if (map != NULL &&
		charsmap_longest_match(map, (const uint8_t *) text, len, &match_len, &value, err) != 0)
		return -1;
	if (match_len > 0)
	{
		*out = map->pool + value;
		*out_len = strlen(*out);
		*consumed = match_len;
	}
	else if (lm_spm_utf8_char(text, len, consumed))
		*out_len = *consumed;
	else
	{
		*out = kReplacementChar;
		*out_len = REPLACEMENT_CHAR_LEN;
		*consumed = 1;
	}
	return 0;
}

int
lm_charsmap_normalize(const LmCharsmap *map, const char *text, size_t len,
					  char **out, size_t *out_len, LmError *err)
{
	size_t		cap = len + 1;
	size_t		used = 0;
	size_t		work = 0;
	char	   *buf = lm_malloc(cap, err);

	*out = NULL;
	*out_len = 0;
	if (buf == NULL)
		return -1;
	while (len > 0)
	{
		const char *piece;
		size_t		piece_len;
		size_t		consumed;

		if (tok_cancel_step(&work, 1, err) != 0 ||
			lm_charsmap_prefix(map, text, len, &piece, &piece_len, &consumed, err) != 0)
		{
			free(buf);
			return -1;
		}
		if (used + piece_len + 1 > cap)
		{
			char	   *grown;

			cap = (used + piece_len + 1) * 2;
			grown = lm_realloc(buf, cap, err);
			if (grown == NULL)
			{
				free(buf);
				return -1;
			}
			buf = grown;
		}
		memcpy(buf + used, piece, piece_len);
		used += piece_len;
		text += consumed;
		len -= consumed;
	}
	buf[used] = '\0';
	*out = buf;
	*out_len = used;
	return 0;
}
