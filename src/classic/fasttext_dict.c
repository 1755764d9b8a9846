/*
 * fasttext_dict.c — the fastText dictionary: reading it, and turning text
 * into input row ids the way dictionary.cc does.
 *
 * A known word contributes its own row and the rows of its character
 * n-grams ("<word>" cut into minn..maxn characters, UTF-8 aware); an
 * unknown word only its n-grams.  N-grams and word n-grams are hashed
 * (FNV-1a over *signed* chars, fastText's quirk kept for compatibility)
 * into `bucket` rows after the words; a pruned (quantized) model keeps
 * only some buckets and renumbers them through the prune index.
 */
#include "classic/fasttext_internal.h"

#include <stdlib.h>

#define FT_ENTRY_MIN_BYTES 10	/* NUL + int64 count + int8 type */
#define FT_PRUNE_PAIR_BYTES 8

bool
ft_is_space(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' ||
		c == '\f' || c == '\0';
}

uint32_t
ft_hash(const char *s, size_t len)
{
	uint32_t	h = FT_FNV_OFFSET;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (uint32_t) (int32_t) (int8_t) s[i];
		h *= FT_FNV_PRIME;
	}
	return h;
}

static inline uint32_t
hash_step(uint32_t h, unsigned char c)
{
	return (h ^ (uint32_t) (int32_t) (int8_t) c) * FT_FNV_PRIME;
}

int
ft_ids_push(FtIds *ids, int32_t id, LmError *err)
{
	if (ids->n == ids->cap)
	{
		size_t		cap = ids->cap ? ids->cap * 2 : 64;
		int32_t    *grown = lm_realloc(ids->ids, cap * sizeof(int32_t), err);

		if (grown == NULL)
			return -1;
		ids->ids = grown;
		ids->cap = cap;
	}
	ids->ids[ids->n++] = id;
	return 0;
}

/* ---------------------------------------------------------------- */
/* The prune index: bucket -> row among the kept buckets             */
/* ---------------------------------------------------------------- */

static uint32_t
prune_slot(int32_t key, size_t n_slots)
{
	return ((uint32_t) key * UINT32_C(2654435761)) & (uint32_t) (n_slots - 1);
}

static int
prune_index_init(FtPruneIndex *p, int64_t count, LmError *err)
{
	size_t		n = 16;

	p->count = count;
	if (count <= 0)
		return 0;
	while (n < (size_t) count * 2)
		n *= 2;
	p->keys = lm_malloc(n * sizeof(int32_t), err);
	p->values = lm_malloc(n * sizeof(int32_t), err);
	if (p->keys == NULL || p->values == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		p->keys[i] = -1;
	p->n_slots = n;
	return 0;
}

/* Insert or overwrite; negative keys can never be looked up, so are dropped. */
static void
prune_index_put(FtPruneIndex *p, int32_t key, int32_t value)
{
	uint32_t	i;

	if (key < 0)
		return;
	i = prune_slot(key, p->n_slots);
	while (p->keys[i] != -1 && p->keys[i] != key)
		i = (i + 1) & (uint32_t) (p->n_slots - 1);
	p->keys[i] = key;
	p->values[i] = value;
}

static bool
prune_index_get(const FtPruneIndex *p, int32_t key, int32_t *value)
{
	uint32_t	i = prune_slot(key, p->n_slots);

	while (p->keys[i] != -1)
	{
		if (p->keys[i] == key)
		{
			*value = p->values[i];
			return true;
		}
		i = (i + 1) & (uint32_t) (p->n_slots - 1);
	}
	return false;
}

/* ---------------------------------------------------------------- */
/* Reading                                                          */
/* ---------------------------------------------------------------- */

int
ft_dictionary_read(ByteReader *r, const FtArgs *args, FtDictionary *dict, LmError *err)
{
	int64_t		prune_count;

	(void) args;
	if (byte_reader_i32(r, &dict->size, "dictionary size", err) < 0 ||
		byte_reader_i32(r, &dict->nwords, "dictionary word count", err) < 0 ||
		byte_reader_i32(r, &dict->nlabels, "dictionary label count", err) < 0 ||
		byte_reader_i64(r, &dict->ntokens, "dictionary token count", err) < 0 ||
		byte_reader_i64(r, &prune_count, "dictionary prune index size", err) < 0)
		return -1;
	if (dict->size < 0 || dict->nwords < 0 || dict->nlabels < 0 ||
		(int64_t) dict->nwords + dict->nlabels != dict->size)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "dictionary sizes disagree: %d entries, %d words, %d labels",
					   dict->size, dict->nwords, dict->nlabels);
	if ((size_t) dict->size > byte_reader_left(r) / FT_ENTRY_MIN_BYTES)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "dictionary claims %d entries but only %zu bytes are left",
					   dict->size, byte_reader_left(r));
	dict->entries = lm_calloc((size_t) dict->size + 1, sizeof(FtEntry), err);
	dict->ids = lm_strmap_new((size_t) dict->size, err);
	if (dict->entries == NULL || dict->ids == NULL)
		return -1;

	for (int32_t i = 0; i < dict->size; i++)
	{
		FtEntry    *e = &dict->entries[i];
		const uint8_t *start = r->data + r->pos;
		const uint8_t *nul = memchr(start, 0, byte_reader_left(r));
		uint8_t		expected = i < dict->nwords ? FT_ENTRY_WORD : FT_ENTRY_LABEL;

		if (nul == NULL)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "dictionary entry %d at offset %zu is not terminated", i, r->pos);
		e->len = (size_t) (nul - start);
		r->pos += e->len + 1;
		if (lm_strmap_put(dict->ids, (const char *) start, e->len, i, &e->word, err) < 0)
			return -1;
		if (byte_reader_i64(r, &e->count, "dictionary entry count", err) < 0 ||
			byte_reader_u8(r, &e->type, "dictionary entry type", err) < 0)
			return -1;
		if (e->type != expected)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "dictionary entry %d has type %d, expected %s",
						   i, e->type, expected == FT_ENTRY_WORD ? "word (0)" : "label (1)");
	}

	if (prune_count > 0 &&
		(uint64_t) prune_count > byte_reader_left(r) / FT_PRUNE_PAIR_BYTES)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "prune index claims %lld pairs but only %zu bytes are left",
					   (long long) prune_count, byte_reader_left(r));
	if (prune_index_init(&dict->prune, prune_count, err) < 0)
		return -1;
	for (int64_t i = 0; i < prune_count; i++)
	{
		int32_t		bucket,
					row;

		if (byte_reader_i32(r, &bucket, "prune index", err) < 0 ||
			byte_reader_i32(r, &row, "prune index", err) < 0)
			return -1;
		if (row < 0)
			return lm_fail(err, LM_ERR_CORRUPT, "prune index maps bucket %d to row %d",
						   bucket, row);
		prune_index_put(&dict->prune, bucket, row);
	}
	return 0;
}

void
ft_dictionary_free(FtDictionary *dict)
{
	free(dict->entries);
	lm_strmap_free(dict->ids);
	free(dict->prune.keys);
	free(dict->prune.values);
	memset(dict, 0, sizeof(*dict));
}

int32_t
ft_dictionary_find(const FtDictionary *dict, const char *word, size_t len)
{
	int32_t		id;

	if (dict->ids != NULL && lm_strmap_get(dict->ids, word, len, &id))
		return id;
	return -1;
}

/* ---------------------------------------------------------------- */
/* Text to row ids                                                  */
/* ---------------------------------------------------------------- */

/* dictionary.cc's pushHash: map a bucket to its input row, or drop it. */
static int
push_bucket(const LmFastText *ft, int32_t bucket, FtIds *ids, LmError *err)
{
	const FtPruneIndex *prune = &ft->dict.prune;

	if (prune->count == 0 || bucket < 0)
		return 0;
	if (prune->count > 0 && !prune_index_get(prune, bucket, &bucket))
		return 0;
	return ft_ids_push(ids, ft->dict.nwords + bucket, err);
}

static inline unsigned char
bracketed_char(const char *word, size_t len, size_t pos)
{
	if (pos == 0)
		return FT_BOW;
	if (pos == len + 1)
		return FT_EOW;
	return (unsigned char) word[pos - 1];
}

/* computeSubwords on "<" + word + ">": the n-grams of minn..maxn characters. */
static int
push_char_ngrams(const LmFastText *ft, const char *word, size_t len, FtIds *ids,
				 LmError *err)
{
	const FtArgs *args = &ft->args;
	size_t		total = len + 2;

	if (args->bucket <= 0 || args->maxn <= 0)
		return 0;
	for (size_t i = 0; i < total; i++)
	{
		uint32_t	h = FT_FNV_OFFSET;
		size_t		j = i;

		if ((bracketed_char(word, len, i) & 0xC0) == 0x80)
			continue;
		for (int32_t n = 1; j < total && n <= args->maxn; n++)
		{
			h = hash_step(h, bracketed_char(word, len, j++));
			while (j < total && (bracketed_char(word, len, j) & 0xC0) == 0x80)
				h = hash_step(h, bracketed_char(word, len, j++));
			if (n >= args->minn && !(n == 1 && (i == 0 || j == total)))
			{
				if (push_bucket(ft, (int32_t) (h % (uint32_t) args->bucket), ids, err) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static bool
is_eos(const char *word, size_t len)
{
	return len == FT_EOS_LEN && memcmp(word, FT_EOS, FT_EOS_LEN) == 0;
}

/* Dictionary::getSubwords(word): the word's own row (if known) and its n-grams. */
int
ft_word_subwords(const LmFastText *ft, const char *word, size_t len, FtIds *ids,
				 LmError *err)
{
	int32_t		wid = ft_dictionary_find(&ft->dict, word, len);

	if (wid >= 0 && ft_ids_push(ids, wid, err) < 0)
		return -1;
	if (is_eos(word, len))
		return 0;
	return push_char_ngrams(ft, word, len, ids, err);
}

/* Dictionary::addSubwords: what one token of a line contributes. */
static int
add_token_rows(const LmFastText *ft, const char *token, size_t len, int32_t wid,
			   FtIds *ids, LmError *err)
{
	if (wid < 0)
	{
		if (is_eos(token, len))
			return 0;
		return push_char_ngrams(ft, token, len, ids, err);
	}
	if (ft->args.maxn <= 0)
		return ft_ids_push(ids, wid, err);
	return ft_word_subwords(ft, token, len, ids, err);
}

/* Dictionary::addWordNgrams, with its sign-extension of the int32 hashes. */
static int
add_word_ngrams(const LmFastText *ft, const int32_t *hashes, size_t n_hashes, FtIds *ids,
				LmError *err)
{
	int64_t		n = ft->args.word_ngrams;

	if (ft->args.bucket <= 0)
		return 0;
	for (size_t i = 0; i < n_hashes; i++)
	{
		uint64_t	h = (uint64_t) (int64_t) hashes[i];

		for (size_t j = i + 1; j < n_hashes && (int64_t) j < (int64_t) i + n; j++)
		{
			h = h * FT_WORD_NGRAM_MULTIPLIER + (uint64_t) (int64_t) hashes[j];
			if (push_bucket(ft, (int32_t) (h % (uint64_t) ft->args.bucket), ids, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
add_line_token(const LmFastText *ft, const char *token, size_t len, FtIds *ids,
			   FtIds *hashes, LmError *err)
{
	uint32_t	h = ft_hash(token, len);
	int32_t		wid = ft_dictionary_find(&ft->dict, token, len);
	bool		is_label;

	if (wid >= 0)
		is_label = ft->dict.entries[wid].type == FT_ENTRY_LABEL;
	else
		is_label = len >= FT_LABEL_PREFIX_LEN &&
			memcmp(token, FT_LABEL_PREFIX, FT_LABEL_PREFIX_LEN) == 0;
	if (is_label)
		return 0;
	if (add_token_rows(ft, token, len, wid, ids, err) < 0)
		return -1;
	return ft_ids_push(hashes, (int32_t) h, err);
}

/*
 * Dictionary::getLine for one line of text: every whitespace-separated
 * token, then "</s>", then the word n-grams.  Labels are skipped.
 */
int
ft_line_ids(const LmFastText *ft, const char *text, size_t len, FtIds *ids, LmError *err)
{
	FtIds		hashes = {0};
	size_t		pos = 0;
	int			rc = 0;

	while (pos < len && rc == 0)
	{
		size_t		start;

		while (pos < len && ft_is_space((unsigned char) text[pos]))
			pos++;
		if (pos == len)
			break;
		start = pos;
		while (pos < len && !ft_is_space((unsigned char) text[pos]))
			pos++;
		rc = add_line_token(ft, text + start, pos - start, ids, &hashes, err);
		if (rc == 0)
			rc = lm_check_cancel(err);
	}
	if (rc == 0)
		rc = add_line_token(ft, FT_EOS, FT_EOS_LEN, ids, &hashes, err);
	if (rc == 0)
		rc = add_word_ngrams(ft, hashes.ids, hashes.n, ids, err);
	free(hashes.ids);
	return rc;
}
