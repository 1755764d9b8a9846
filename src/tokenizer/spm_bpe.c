/*
 * spm_bpe.c — sentencepiece's BPE segmentation (bpe_model.cc): split the
 * normalized text into characters (user-defined pieces stay whole and are
 * never merged), then repeatedly merge the adjacent pair whose concatenation
 * is the highest-scoring piece, the leftmost on ties.  A merge that produced
 * an UNUSED piece is undone at the end (resegmentation), and every final
 * symbol gets its id by PieceToId (unknown when the vocabulary lacks it).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

typedef struct Symbol
{
	int64_t		prev;			/* -1 at the start */
	int64_t		next;			/* -1 at the end */
	size_t		start;			/* byte span in the normalized text */
	size_t		len;			/* 0 once merged into its left neighbour */
	bool		freeze;			/* user-defined: never merged */
} Symbol;

typedef struct SymbolPair
{
	int64_t		left;
	int64_t		right;
	float		score;
	size_t		size;			/* bytes of the merged piece when pushed */
} SymbolPair;

/* A max-heap of candidate merges. */
typedef struct Agenda
{
	SymbolPair *items;
	size_t		n;
	size_t		cap;
} Agenda;

/* A merge that produced an UNUSED piece: how to split it back. */
typedef struct ReverseMerge
{
	size_t		start;			/* the merged piece */
	size_t		len;
	size_t		left_start;
	size_t		left_len;
	size_t		right_start;
	size_t		right_len;
	int64_t		chain;			/* next record in the same hash bucket */
} ReverseMerge;

typedef struct ReverseMerges
{
	ReverseMerge *items;
	size_t		n;
	size_t		cap;
	int64_t    *buckets;		/* heads of the chains, -1 when empty */
	size_t		n_buckets;		/* a power of two */
} ReverseMerges;

typedef struct BpeState
{
	const LmSpmTokenizer *tok;
	const char *text;
	Symbol	   *symbols;
	Agenda		agenda;
	ReverseMerges rev;
} BpeState;

#define REV_MIN_BUCKETS 64
#define FNV_OFFSET_BASIS UINT64_C(14695981039346656037)
#define FNV_PRIME UINT64_C(1099511628211)

/* Does a rank below b?  (lower score, or equal score and further right) */
static inline bool
pair_below(const SymbolPair *a, const SymbolPair *b)
{
	return a->score < b->score || (a->score == b->score && a->left > b->left);
}

static int
agenda_push(Agenda *agenda, const SymbolPair *pair, LmError *err)
{
	size_t		i;

	if (agenda->n == agenda->cap)
	{
		size_t		cap = agenda->cap ? agenda->cap * 2 : 64;
		SymbolPair *grown = lm_realloc(agenda->items, cap * sizeof(SymbolPair), err);

		if (grown == NULL)
			return -1;
		agenda->items = grown;
		agenda->cap = cap;
	}
	i = agenda->n++;
	while (i > 0)
	{
		size_t		parent = (i - 1) / 2;

		if (!pair_below(&agenda->items[parent], pair))
			break;
		agenda->items[i] = agenda->items[parent];
		i = parent;
	}
	agenda->items[i] = *pair;
	return 0;
}

static SymbolPair
agenda_pop(Agenda *agenda)
{
	SymbolPair	top = agenda->items[0];
	SymbolPair	last = agenda->items[--agenda->n];
	size_t		i = 0;

	for (;;)
	{
		size_t		child = 2 * i + 1;

		if (child >= agenda->n)
			break;
		if (child + 1 < agenda->n && pair_below(&agenda->items[child], &agenda->items[child + 1]))
			child++;
		if (!pair_below(&last, &agenda->items[child]))
			break;
		agenda->items[i] = agenda->items[child];
		i = child;
	}
	if (agenda->n > 0)
		agenda->items[i] = last;
	return top;
}

static uint64_t
hash_span(const char *s, size_t len)
{
	uint64_t	h = FNV_OFFSET_BASIS;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (uint8_t) s[i];
		h *= FNV_PRIME;
	}
	return h;
}

static ReverseMerge *
rev_find(const BpeState *st, const char *s, size_t len)
{
	const ReverseMerges *rev = &st->rev;

	if (rev->n_buckets == 0)
		return NULL;
	for (int64_t i = rev->buckets[hash_span(s, len) & (rev->n_buckets - 1)]; i >= 0;
		 i = rev->items[i].chain)
	{
		ReverseMerge *m = &rev->items[i];

		if (m->len == len && memcmp(st->text + m->start, s, len) == 0)
			return m;
	}
	return NULL;
}

static int
rev_rehash(BpeState *st, size_t n_buckets, LmError *err)
{
	ReverseMerges *rev = &st->rev;
	int64_t    *buckets = lm_malloc(n_buckets * sizeof(int64_t), err);

	if (buckets == NULL)
		return -1;
	for (size_t b = 0; b < n_buckets; b++)
		buckets[b] = -1;
	for (size_t i = 0; i < rev->n; i++)
	{
		ReverseMerge *m = &rev->items[i];
		size_t		b = hash_span(st->text + m->start, m->len) & (n_buckets - 1);

		m->chain = buckets[b];
		buckets[b] = (int64_t) i;
	}
	free(rev->buckets);
	rev->buckets = buckets;
	rev->n_buckets = n_buckets;
	return 0;
}

/* rev_merge[piece] = (left, right), replacing an earlier entry. */
static int
rev_put(BpeState *st, const Symbol *left, const Symbol *right, LmError *err)
{
	ReverseMerges *rev = &st->rev;
	size_t		len = left->len + right->len;
	ReverseMerge *m = rev_find(st, st->text + left->start, len);

	if (m == NULL)
	{
		size_t		b;

		if (rev->n == rev->cap)
		{
			size_t		cap = rev->cap ? rev->cap * 2 : REV_MIN_BUCKETS;
			ReverseMerge *grown = lm_realloc(rev->items, cap * sizeof(ReverseMerge), err);

			if (grown == NULL)
				return -1;
			rev->items = grown;
			rev->cap = cap;
		}
		if (rev->n_buckets < 2 * (rev->n + 1) &&
			rev_rehash(st, rev->n_buckets ? rev->n_buckets * 2 : REV_MIN_BUCKETS, err) != 0)
			return -1;
		m = &rev->items[rev->n];
		m->start = left->start;
		m->len = len;
		b = hash_span(st->text + m->start, len) & (rev->n_buckets - 1);
		m->chain = rev->buckets[b];
		rev->buckets[b] = (int64_t) rev->n++;
	}
	m->left_start = left->start;
	m->left_len = left->len;
	m->right_start = right->start;
	m->right_len = right->len;
	return 0;
}

/* MaybeAddNewSymbolPair */
static int
maybe_add_pair(BpeState *st, int64_t left, int64_t right, LmError *err)
{
	const Symbol *l;
	const Symbol *r;
	int32_t		id;
	SymbolPair	pair;

	if (left < 0 || right < 0)
		return 0;
	l = &st->symbols[left];
	r = &st->symbols[right];
	if (l->freeze || r->freeze)
		return 0;
	id = spm_piece_map_find(&st->tok->normal_map, st->text + l->start, l->len + r->len);
	if (id < 0)
		return 0;
	pair.left = left;
	pair.right = right;
	pair.score = st->tok->proto.pieces[id].score;
	pair.size = l->len + r->len;
	if (agenda_push(&st->agenda, &pair, err) != 0)
		return -1;
	if (spm_is_type(st->tok, id, SPM_PIECE_UNUSED))
		return rev_put(st, l, r, err);
	return 0;
}

/* Emit a final symbol, splitting UNUSED pieces back along their merges. */
static int
resegment(BpeState *st, size_t start, size_t len, SpmSegments *out, LmError *err)
{
	size_t	   *stack;
	size_t		depth = 0;
	size_t		cap = 2 * (len + 1);
	int			rc = 0;

	stack = lm_malloc(cap * sizeof(size_t), err);
	if (stack == NULL)
		return -1;
	stack[depth++] = start;
	stack[depth++] = len;
	while (depth > 0 && rc == 0)
	{
		size_t		w_len = stack[--depth];
		size_t		w_start = stack[--depth];
		int32_t		id = spm_piece_to_id(st->tok, st->text + w_start, w_len);
		const ReverseMerge *m = NULL;

		if (spm_is_type(st->tok, id, SPM_PIECE_UNUSED))
			m = rev_find(st, st->text + w_start, w_len);
		/* each split halves nothing but shrinks: the stack holds < 2 * len entries */
		if (m == NULL || depth + 4 > cap)
		{
			rc = spm_segments_push(out, w_start, w_len, id, err);
			continue;
		}
		stack[depth++] = m->right_start;
		stack[depth++] = m->right_len;
		stack[depth++] = m->left_start;
		stack[depth++] = m->left_len;
	}
	free(stack);
	return rc;
}

int
spm_bpe_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
			   SpmSegments *out, LmError *err)
{
	BpeState	st = {tok, text, NULL, {0}, {0}};
	size_t		n_symbols = 0;
	size_t		work = 0;
	int			rc = -1;

	if (len == 0)
		return 0;
	st.symbols = lm_malloc(len * sizeof(Symbol), err);
	if (st.symbols == NULL)
		return -1;

	/* Split into characters; user-defined pieces are frozen. */
	for (size_t pos = 0; pos < len;)
	{
		Symbol	   *s = &st.symbols[n_symbols];
		size_t		user_len = spm_match_user_symbol(tok, text + pos, len - pos);

		if (tok_cancel_step(&work, 1, err) != 0)
			goto done;
		s->freeze = user_len > 0;
		s->start = pos;
		s->len = user_len > 0 ? user_len : spm_one_char_len(text + pos, len - pos);
		s->prev = (int64_t) n_symbols - 1;
		pos += s->len;
		s->next = pos < len ? (int64_t) n_symbols + 1 : -1;
		n_symbols++;
	}

	/* At most 2 (n - 1) pairs wait at once: n - 1 to start with, and each
	 * merge takes one and adds at most two.  Sized once, never copied. */
	st.agenda.cap = 2 * n_symbols;
	st.agenda.items = lm_malloc(st.agenda.cap * sizeof(SymbolPair), err);
	if (st.agenda.items == NULL)
		goto done;
	for (size_t i = 1; i < n_symbols; i++)
		if (tok_cancel_step(&work, 1, err) != 0 ||
			maybe_add_pair(&st, (int64_t) i - 1, (int64_t) i, err) != 0)
			goto done;

	while (st.agenda.n > 0)
	{
		SymbolPair	top;
		Symbol	   *left;
		Symbol	   *right;

		if (tok_cancel_step(&work, 1, err) != 0)
			goto done;
		top = agenda_pop(&st.agenda);
		left = &st.symbols[top.left];
		right = &st.symbols[top.right];
		/* stale: one side was merged away or grew since the pair was pushed */
		if (left->len == 0 || right->len == 0 || left->len + right->len != top.size)
			continue;
		left->len += right->len;
		left->next = right->next;
		if (right->next >= 0)
			st.symbols[right->next].prev = top.left;
		right->len = 0;
		if (maybe_add_pair(&st, left->prev, top.left, err) != 0 ||
			maybe_add_pair(&st, top.left, left->next, err) != 0)
			goto done;
	}

	/* Done with the agenda: freeing a large one takes a while, so not beside the rest. */
	free(st.agenda.items);
	st.agenda.items = NULL;

	/* Merging only joins symbols, and resegmenting splits them no further back. */
	if (spm_segments_reserve(out, n_symbols, err) != 0)
		goto done;
	for (int64_t i = 0; i >= 0; i = st.symbols[i].next)
		if (tok_cancel_step(&work, st.symbols[i].len, err) != 0 ||
			resegment(&st, st.symbols[i].start, st.symbols[i].len, out, err) != 0)
			goto done;
	rc = 0;

done:
	free(st.symbols);
	free(st.agenda.items);
	free(st.rev.items);
	free(st.rev.buckets);
	return rc;
}
