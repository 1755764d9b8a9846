/*
 * hf_bpe.c — the BPE model of tokenizer.json.
 *
 * A word starts as one symbol per character (with continuing_subword_prefix
 * on all but the first and end_of_word_suffix on the last; characters out of
 * the vocabulary become byte-fallback tokens or the unknown token, fused if
 * fuse_unk).  Then the applicable merge of lowest rank is applied, leftmost
 * first, until none applies: a binary heap of candidate merges keyed by
 * (rank, position), with stale entries skipped, as the tokenizers library
 * does.  Merge ranks live in a hash of (left id, right id).
 */
#include "tokenizer/hf_models.h"
#include "util/strmap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf_intmap.h"
#include "util/utf8.h"

#define WHAT "BPE model"
#define NO_SYMBOL (-1)
#define MERGE_KEY(a, b) (((uint64_t) (uint32_t) (a) << 32) | (uint32_t) (b))
#define MERGE_VALUE(rank, id) (((uint64_t) (uint32_t) (rank) << 32) | (uint32_t) (id))
#define MERGE_RANK(v) ((uint32_t) ((v) >> 32))
#define MERGE_NEW_ID(v) ((int32_t) (uint32_t) (v))
#define MERGES_VERSION_PREFIX "#version"
#define BPE_STACK_ITEMS 64		/* symbols and heap entries kept on the stack */

/*
 * Words seen before are looked up instead of merged again, as the tokenizers
 * library does: texts repeat their words, and merging is most of the cost.
 * The cache fills up to BPE_CACHE_WORDS words and then stops growing.
 *
 * A tokenizer is shared by every thread that encodes with it, and the cache
 * is its one changing part: a mutex guards it while it grows.  Once it is
 * sealed (full, or an allocation failed) it never changes again, and lookups
 * read it without the lock.
 */
#define BPE_CACHE_WORDS 10000
#define BPE_CACHE_MAX_WORD 64		/* bytes; longer words are not cached */

typedef struct BpeCache
{
	LmStrMap   *words;			/* word -> index into start/count */
	int32_t    *start;			/* first id of each word in ids */
	int32_t    *count;
	int32_t    *ids;
	size_t		n_ids;
	size_t		ids_capacity;
	int32_t		n_words;
	bool		failed;			/* an allocation failed: run without it */
	pthread_mutex_t lock;		/* held to read or change it until sealed */
	atomic_bool sealed;			/* full or failed: read-only from now on */
} BpeCache;

struct HfBpe
{
	HfVocab		vocab;
	BpeCache	cache;			/* grows during hf_bpe_tokenize, under its lock */
	HfIntMap	merges;			/* (left, right) -> (rank, merged id) */
	char	   *unk_token;		/* NULL: none */
	size_t		unk_len;
	char	   *prefix;			/* continuing_subword_prefix, or NULL */
	size_t		prefix_len;
	char	   *suffix;			/* end_of_word_suffix, or NULL */
	size_t		suffix_len;
	bool		fuse_unk;
	bool		byte_fallback;
	bool		ignore_merges;
	int32_t		byte_ids[256];	/* id of "<0xXX>", or -1 */
};

typedef struct Symbol
{
	int32_t		id;
	int32_t		prev;
	int32_t		next;
	bool		removed;
} Symbol;

typedef struct MergeCandidate
{
	uint32_t	rank;
	int32_t		pos;
	int32_t		new_id;
} MergeCandidate;

typedef struct MergeHeap
{
	MergeCandidate *items;
	size_t		n;
	size_t		cap;
	bool		on_heap;		/* else items is the caller's stack array */
} MergeHeap;

typedef struct SymbolList
{
	Symbol	   *items;
	int32_t		n;
	size_t		cap;
	bool		on_heap;
} SymbolList;

const HfVocab *
hf_bpe_vocab(const HfBpe *bpe)
{
	return &bpe->vocab;
}

void
hf_bpe_free(HfBpe *bpe)
{
	if (bpe == NULL)
		return;
	hf_vocab_free(&bpe->vocab);
	hf_intmap_free(&bpe->merges);
	pthread_mutex_destroy(&bpe->cache.lock);
	lm_strmap_free(bpe->cache.words);
	free(bpe->cache.start);
	free(bpe->cache.count);
	free(bpe->cache.ids);
	free(bpe->unk_token);
	free(bpe->prefix);
	free(bpe->suffix);
	free(bpe);
}

/* One merge rule as its two token strings: "a b" or ["a", "b"]. */
static int
merge_parts(const json_t *item, size_t rank, const char **a, size_t *a_len, const char **b,
			size_t *b_len, LmError *err)
{
	if (json_is_string(item))
	{
		size_t		len;
		const char *s = hf_json_str(item, &len);
		const char *space = memchr(s, ' ', len);

		/* Exactly two parts separated by one space. */
		if (space == NULL || memchr(space + 1, ' ', len - (space + 1 - s)) != NULL)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "%s: merge %zu \"%s\" is not two tokens separated by a space",
						   WHAT, rank, s);
		*a = s;
		*a_len = space - s;
		*b = space + 1;
		*b_len = len - *a_len - 1;
		return 0;
	}
	if (json_is_array(item) && json_array_size(item) == 2 &&
		json_is_string(json_array_get(item, 0)) && json_is_string(json_array_get(item, 1)))
	{
		*a = hf_json_str(json_array_get(item, 0), a_len);
		*b = hf_json_str(json_array_get(item, 1), b_len);
		return 0;
	}
	return lm_fail(err, LM_ERR_CORRUPT, "%s: merge %zu is neither \"a b\" nor [\"a\", \"b\"]",
				   WHAT, rank);
}

static int
parse_merges(HfBpe *bpe, const json_t *merges, LmError *err)
{
	HfBuf		joined = {0};
	size_t		rank = 0;
	int			rc = 0;

	if (hf_intmap_init(&bpe->merges, json_array_size(merges), err) != 0)
		return -1;
	for (size_t i = 0; i < json_array_size(merges) && rc == 0; i++)
	{
		const json_t *item = json_array_get(merges, i);
		const char *a = NULL;
		const char *b = NULL;
		size_t		a_len = 0;
		size_t		b_len = 0;
		int32_t		a_id,
					b_id,
					new_id;

		if ((rc = lm_check_cancel(err)) != 0)
			break;
		/* merges.txt's "#version" line may have been carried over. */
		if (json_is_string(item) &&
			strncmp(json_string_value(item), MERGES_VERSION_PREFIX,
					strlen(MERGES_VERSION_PREFIX)) == 0)
			continue;
		if ((rc = merge_parts(item, rank, &a, &a_len, &b, &b_len, err)) != 0)
			break;
		if (!hf_vocab_get(&bpe->vocab, a, a_len, &a_id) ||
			!hf_vocab_get(&bpe->vocab, b, b_len, &b_id))
		{
			const char *missing = hf_vocab_get(&bpe->vocab, a, a_len, &a_id) ? b : a;
			int			missing_len = (int) (missing == a ? a_len : b_len);

			rc = lm_fail(err, LM_ERR_CORRUPT,
						 "%s: merge %zu names token \"%.*s\", which is not in the vocabulary",
						 WHAT, rank, missing_len, missing);
			break;
		}
		if (bpe->prefix_len > b_len || (bpe->prefix_len > 0 &&
										memcmp(b, bpe->prefix, bpe->prefix_len) != 0))
		{
			rc = lm_fail(err, LM_ERR_CORRUPT,
						 "%s: merge %zu: \"%.*s\" does not start with the continuing_subword_prefix",
						 WHAT, rank, (int) b_len, b);
			break;
		}
		hf_buf_clear(&joined);
		if ((rc = hf_buf_append(&joined, a, a_len, err)) != 0 ||
			(rc = hf_buf_append(&joined, b + bpe->prefix_len, b_len - bpe->prefix_len,
								err)) != 0)
			break;
		if (!hf_vocab_get(&bpe->vocab, joined.data, joined.len, &new_id))
		{
			rc = lm_fail(err, LM_ERR_CORRUPT,
						 "%s: merge %zu makes token \"%s\", which is not in the vocabulary",
						 WHAT, rank, joined.data);
			break;
		}
		/* A repeated pair takes its last rank, as the library's hash map does. */
		rc = hf_intmap_put(&bpe->merges, MERGE_KEY(a_id, b_id),
						   MERGE_VALUE(rank, new_id), err);
		rank++;
	}
	hf_buf_free(&joined);
	return rc;
}

HfBpe *
hf_bpe_parse(const json_t *json, LmError *err)
{
	HfBpe	   *bpe = lm_calloc(1, sizeof(HfBpe), err);
	const json_t *merges = json_object_get(json, "merges");

	if (bpe == NULL)
		return NULL;
	pthread_mutex_init(&bpe->cache.lock, NULL);
	if (hf_vocab_from_object(&bpe->vocab, json_object_get(json, "vocab"), WHAT, err) != 0 ||
		hf_json_strdup(json, "unk_token", false, &bpe->unk_token, &bpe->unk_len, WHAT,
					   err) != 0 ||
		hf_json_strdup(json, "continuing_subword_prefix", false, &bpe->prefix,
					   &bpe->prefix_len, WHAT, err) != 0 ||
		hf_json_strdup(json, "end_of_word_suffix", false, &bpe->suffix, &bpe->suffix_len,
					   WHAT, err) != 0 ||
		hf_json_bool(json, "fuse_unk", false, &bpe->fuse_unk, WHAT, err) != 0 ||
		hf_json_bool(json, "byte_fallback", false, &bpe->byte_fallback, WHAT, err) != 0 ||
		hf_json_bool(json, "ignore_merges", false, &bpe->ignore_merges, WHAT, err) != 0)
		goto fail;
	if (merges == NULL || json_is_null(merges))
	{
		lm_fail(err, LM_ERR_CORRUPT, "%s: missing field \"merges\"", WHAT);
		goto fail;
	}
	if (!json_is_array(merges))
	{
		lm_fail(err, LM_ERR_CORRUPT, "%s: field \"merges\" must be an array", WHAT);
		goto fail;
	}
	if (parse_merges(bpe, merges, err) != 0)
		goto fail;
	for (int b = 0; b < 256; b++)
	{
		char		name[HF_BYTE_TOKEN_LEN + 1];

		hf_byte_token((uint8_t) b, name);
		if (!hf_vocab_get(&bpe->vocab, name, HF_BYTE_TOKEN_LEN, &bpe->byte_ids[b]))
			bpe->byte_ids[b] = -1;
	}
	return bpe;

fail:
	hf_bpe_free(bpe);
	return NULL;
}

/* ---- the merge heap: smallest rank first, then leftmost -------------------- */

static bool
candidate_before(const MergeCandidate *x, const MergeCandidate *y)
{
	return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static int
heap_push(MergeHeap *heap, MergeCandidate c, LmError *err)
{
	size_t		i;

	if (heap->n == heap->cap)
	{
		size_t		cap = heap->cap * 2;
		MergeCandidate *items;

		/* The first items live on the caller's stack. */
		if (heap->on_heap)
			items = lm_realloc(heap->items, cap * sizeof(MergeCandidate), err);
		else if ((items = lm_malloc(cap * sizeof(MergeCandidate), err)) != NULL)
			memcpy(items, heap->items, heap->n * sizeof(MergeCandidate));
		if (items == NULL)
			return -1;
		heap->items = items;
		heap->cap = cap;
		heap->on_heap = true;
	}
	i = heap->n++;
	while (i > 0)
	{
		size_t		parent = (i - 1) / 2;

		if (!candidate_before(&c, &heap->items[parent]))
			break;
		heap->items[i] = heap->items[parent];
		i = parent;
	}
	heap->items[i] = c;
	return 0;
}

static MergeCandidate
heap_pop(MergeHeap *heap)
{
	MergeCandidate top = heap->items[0];
	MergeCandidate last = heap->items[--heap->n];
	size_t		i = 0;

	for (;;)
	{
		size_t		child = 2 * i + 1;

		if (child >= heap->n)
			break;
		if (child + 1 < heap->n && candidate_before(&heap->items[child + 1], &heap->items[child]))
			child++;
		if (!candidate_before(&heap->items[child], &last))
			break;
		heap->items[i] = heap->items[child];
		i = child;
	}
	if (heap->n > 0)
		heap->items[i] = last;
	return top;
}

static int
push_candidate(const HfBpe *bpe, MergeHeap *heap, const Symbol *syms, int32_t pos,
			   LmError *err)
{
	uint64_t	v;
	int32_t		next = syms[pos].next;

	if (next == NO_SYMBOL)
		return 0;
	if (!hf_intmap_get(&bpe->merges, MERGE_KEY(syms[pos].id, syms[next].id), &v))
		return 0;
	return heap_push(heap, (MergeCandidate) {MERGE_RANK(v), pos, MERGE_NEW_ID(v)}, err);
}

static int
merge_all(const HfBpe *bpe, Symbol *syms, int32_t n, LmError *err)
{
	MergeCandidate stack_items[BPE_STACK_ITEMS];
	MergeHeap	heap = {stack_items, 0, BPE_STACK_ITEMS, false};
	size_t		work = 0;
	int			rc = 0;

	/*
	 * The heap never holds more than 2 (n - 1) candidates: n - 1 to start
	 * with, and each merge pops one and pushes at most two.  Sized once, a
	 * long word's heap is never copied as it grows.
	 */
	if (2 * (size_t) n > BPE_STACK_ITEMS)
	{
		heap.items = lm_malloc(2 * (size_t) n * sizeof(MergeCandidate), err);
		if (heap.items == NULL)
			return -1;
		heap.cap = 2 * (size_t) n;
		heap.on_heap = true;
	}
	for (int32_t i = 0; i + 1 < n && rc == 0; i++)
	{
		rc = tok_cancel_step(&work, 1, err);
		if (rc == 0)
			rc = push_candidate(bpe, &heap, syms, i, err);
	}
	while (heap.n > 0 && rc == 0)
	{
		MergeCandidate top;
		Symbol	   *left;
		int32_t		right_pos;
		uint64_t	v;

		/* A long word makes millions of candidates. */
		if ((rc = tok_cancel_step(&work, 1, err)) != 0)
			break;
		top = heap_pop(&heap);
		left = &syms[top.pos];
		right_pos = left->next;
		/* Skip entries made stale by earlier merges. */
		if (left->removed || right_pos == NO_SYMBOL)
			continue;
		if (!hf_intmap_get(&bpe->merges, MERGE_KEY(left->id, syms[right_pos].id), &v) ||
			MERGE_NEW_ID(v) != top.new_id)
			continue;
		left->id = top.new_id;
		left->next = syms[right_pos].next;
		syms[right_pos].removed = true;
		if (left->next != NO_SYMBOL)
			syms[left->next].prev = top.pos;
		if (left->prev != NO_SYMBOL)
			rc = push_candidate(bpe, &heap, syms, left->prev, err);
		if (rc == 0)
			rc = push_candidate(bpe, &heap, syms, top.pos, err);
	}
	if (heap.on_heap)
		free(heap.items);
	return rc;
}

/* ---- tokenizing a word ------------------------------------------------------- */

static int
add_symbol(SymbolList *list, int32_t id, LmError *err)
{
	int32_t		n = list->n;

	if ((size_t) n == list->cap)
	{
		size_t		cap = list->cap * 2;
		Symbol	   *items;

		if (cap > INT32_MAX)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word too long for BPE");
		if (list->on_heap)
			items = lm_realloc(list->items, cap * sizeof(Symbol), err);
		else if ((items = lm_malloc(cap * sizeof(Symbol), err)) != NULL)
			memcpy(items, list->items, n * sizeof(Symbol));
		if (items == NULL)
			return -1;
		list->items = items;
		list->cap = cap;
		list->on_heap = true;
	}
	list->items[n] = (Symbol) {id, n - 1, NO_SYMBOL, false};
	if (n > 0)
		list->items[n - 1].next = n;
	list->n++;
	return 0;
}

/*
 * The initial symbol(s) of one character, spelled s (the character, with
 * the prefix or suffix when they apply).
 */
static int
add_char(const HfBpe *bpe, const char *s, size_t len, SymbolList *syms, int32_t *pending_unk,
		 LmError *err)
{
	int32_t		id;

	if (hf_vocab_get(&bpe->vocab, s, len, &id))
	{
		if (*pending_unk >= 0)
		{
			if (add_symbol(syms, *pending_unk, err) != 0)
				return -1;
			*pending_unk = -1;
		}
		return add_symbol(syms, id, err);
	}
	if (bpe->byte_fallback)
	{
		bool		all_bytes = true;

		for (size_t k = 0; k < len; k++)
			if (bpe->byte_ids[(uint8_t) s[k]] < 0)
				all_bytes = false;
		/* As in the library, a pending unknown token waits behind the bytes. */
		if (all_bytes)
		{
			for (size_t k = 0; k < len; k++)
				if (add_symbol(syms, bpe->byte_ids[(uint8_t) s[k]], err) != 0)
					return -1;
			return 0;
		}
	}
	if (bpe->unk_token == NULL)
		return 0;				/* no unk_token: the character is dropped */
	if (!hf_vocab_get(&bpe->vocab, bpe->unk_token, bpe->unk_len, &id))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: unk_token \"%s\" is not in the vocabulary",
					   WHAT, bpe->unk_token);
	if (*pending_unk >= 0 && !bpe->fuse_unk && add_symbol(syms, *pending_unk, err) != 0)
		return -1;
	*pending_unk = id;
	return 0;
}

static int	bpe_tokenize_word(const HfBpe *bpe, const char *word, size_t len,
							  LmEncoding *out, LmError *err);

/* Push the cached ids of word, if it is cached. */
static bool
cache_lookup(const HfBpe *bpe, const char *word, size_t len, LmEncoding *out, int *rc,
			 LmError *err)
{
	BpeCache   *cache = (BpeCache *) &bpe->cache;
	bool		sealed = atomic_load_explicit(&cache->sealed, memory_order_acquire);
	bool		found;
	int32_t		w;

	if (len > BPE_CACHE_MAX_WORD)
		return false;
	if (!sealed)
		pthread_mutex_lock(&cache->lock);
	found = cache->words != NULL && lm_strmap_get(cache->words, word, len, &w);
	*rc = 0;
	for (int32_t k = 0; found && k < cache->count[w] && *rc == 0; k++)
		*rc = hf_vocab_push(&bpe->vocab, cache->ids[cache->start[w] + k], out, err);
	if (!sealed)
		pthread_mutex_unlock(&cache->lock);
	return found;
}

static void cache_add(BpeCache *cache, const char *word, size_t len, const int32_t *ids,
					  size_t n);

/* Remember the ids a word became (best effort: failures only disable it). */
static void
cache_store(BpeCache *cache, const char *word, size_t len, const int32_t *ids, size_t n)
{
	if (len > BPE_CACHE_MAX_WORD || atomic_load_explicit(&cache->sealed, memory_order_acquire))
		return;
	pthread_mutex_lock(&cache->lock);
	cache_add(cache, word, len, ids, n);
	if (cache->failed || cache->n_words >= BPE_CACHE_WORDS)
		atomic_store_explicit(&cache->sealed, true, memory_order_release);
	pthread_mutex_unlock(&cache->lock);
}

/* cache_store's work, under the lock. */
static void
cache_add(BpeCache *cache, const char *word, size_t len, const int32_t *ids, size_t n)
{
	int32_t		w;

	if (cache->failed || cache->n_words >= BPE_CACHE_WORDS ||
		(cache->words != NULL && lm_strmap_get(cache->words, word, len, &w)))
		return;					/* full, or another thread stored it meanwhile */
	if (cache->words == NULL)
	{
		cache->words = lm_strmap_new(BPE_CACHE_WORDS, NULL);
		cache->start = malloc(BPE_CACHE_WORDS * sizeof(int32_t));
		cache->count = malloc(BPE_CACHE_WORDS * sizeof(int32_t));
		if (cache->words == NULL || cache->start == NULL || cache->count == NULL)
		{
			cache->failed = true;
			return;
		}
	}
	if (cache->n_ids + n > cache->ids_capacity)
	{
		size_t		cap = (cache->ids_capacity ? cache->ids_capacity * 2 : 4096) + n;
		int32_t    *grown = realloc(cache->ids, cap * sizeof(int32_t));

		if (grown == NULL)
		{
			cache->failed = true;
			return;
		}
		cache->ids = grown;
		cache->ids_capacity = cap;
	}
	if (lm_strmap_put(cache->words, word, len, cache->n_words, NULL, NULL) != 0)
	{
		cache->failed = true;
		return;
	}
	memcpy(cache->ids + cache->n_ids, ids, n * sizeof(int32_t));
	cache->start[cache->n_words] = (int32_t) cache->n_ids;
	cache->count[cache->n_words] = (int32_t) n;
	cache->n_ids += n;
	cache->n_words++;
}

int
hf_bpe_tokenize(const HfBpe *bpe, const char *word, size_t len, LmEncoding *out,
				LmError *err)
{
	size_t		first_out = out->n;
	int			rc = 0;

	if (len == 0)
		return 0;
	if (cache_lookup(bpe, word, len, out, &rc, err))
		return rc;
	rc = bpe_tokenize_word(bpe, word, len, out, err);
	if (rc == 0)
		cache_store((BpeCache *) &bpe->cache, word, len, out->ids + first_out, out->n - first_out);
	return rc;
}

/* Split a word into characters (or bytes) and merge them by rank. */
static int
bpe_tokenize_word(const HfBpe *bpe, const char *word, size_t len, LmEncoding *out,
				  LmError *err)
{
	Symbol		stack_syms[BPE_STACK_ITEMS];
	SymbolList	syms = {stack_syms, 0, BPE_STACK_ITEMS, false};
	HfBuf		piece = {0};
	int32_t		pending_unk = -1;	/* an unknown token waiting to be added */
	bool		decorated = bpe->prefix != NULL || bpe->suffix != NULL;
	size_t		i = 0;
	size_t		work = 0;
	int			rc = 0;
	int32_t		id;

	if (len == 0)
		return 0;
	if (bpe->ignore_merges && hf_vocab_get(&bpe->vocab, word, len, &id))
		return hf_vocab_push(&bpe->vocab, id, out, err);
	/* A character makes at most one symbol per byte: size a long word's list once. */
	if (len > BPE_STACK_ITEMS && len <= INT32_MAX)
	{
		syms.items = lm_malloc(len * sizeof(Symbol), err);
		if (syms.items == NULL)
			return -1;
		syms.cap = len;
		syms.on_heap = true;
	}
	while (i < len && rc == 0)
	{
		int32_t		cp;
		int			clen = lm_utf8_next(word + i, len - i, &cp);

		if (clen < 0)
		{
			rc = lm_fail(err, LM_ERR_INVALID_ARGUMENT, "invalid UTF-8 in word");
			break;
		}
		if ((rc = tok_cancel_step(&work, clen, err)) != 0)
			break;
		if (!decorated)
			rc = add_char(bpe, word + i, clen, &syms, &pending_unk, err);
		else
		{
			bool		first = i == 0;
			bool		last = i + clen == len;

			hf_buf_clear(&piece);
			if ((!first && bpe->prefix &&
				 hf_buf_append(&piece, bpe->prefix, bpe->prefix_len, err)) ||
				hf_buf_append(&piece, word + i, clen, err) ||
				(last && bpe->suffix &&
				 hf_buf_append(&piece, bpe->suffix, bpe->suffix_len, err)))
				rc = -1;
			else
				rc = add_char(bpe, piece.data, piece.len, &syms, &pending_unk, err);
		}
		i += clen;
	}
	if (rc == 0 && pending_unk >= 0)
		rc = add_symbol(&syms, pending_unk, err);
	if (rc == 0)
		rc = merge_all(bpe, syms.items, syms.n, err);
	for (int32_t k = 0; k < syms.n && rc == 0; k++)
	{
		rc = tok_cancel_step(&work, 1, err);
		if (rc == 0 && !syms.items[k].removed)
			rc = hf_vocab_push(&bpe->vocab, syms.items[k].id, out, err);
	}
	hf_buf_free(&piece);
	if (syms.on_heap)
		free(syms.items);
	return rc;
}
