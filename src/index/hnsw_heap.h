/*
 * hnsw_heap.h — the candidate heaps both graph walks use (the in-memory
 * graph's and the one over an index's pages): a candidate is an element
 * and its distance to the query; a heap is a min-heap, or a max-heap when
 * its max is set.
 */
#ifndef LM_INDEX_HNSW_HEAP_H
#define LM_INDEX_HNSW_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmHnswCand
{
	float		d;
	uint64_t	id;
} LmHnswCand;

typedef struct LmHnswHeap
{
	LmHnswCand *items;
	int			n;
	int			cap;
	bool		max;
} LmHnswHeap;

static inline bool
lm_hnsw_heap_before(const LmHnswHeap *h, LmHnswCand a, LmHnswCand b)
{
	return h->max ? a.d > b.d : a.d < b.d;
}

static inline int
lm_hnsw_heap_push(LmHnswHeap *h, LmHnswCand c, LmError *err)
{
	int			i;

	if (h->n == h->cap)
	{
		int			cap = h->cap ? h->cap * 2 : 64;
		LmHnswCand *items = lm_realloc(h->items, sizeof(LmHnswCand) * cap, err);

		if (items == NULL)
			return -1;
		h->items = items;
		h->cap = cap;
	}
	i = h->n++;
	while (i > 0 && lm_hnsw_heap_before(h, c, h->items[(i - 1) / 2]))
	{
		h->items[i] = h->items[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->items[i] = c;
	return 0;
}

static inline LmHnswCand
lm_hnsw_heap_pop(LmHnswHeap *h)
{
	LmHnswCand	top = h->items[0];
	LmHnswCand	last = h->items[--h->n];
	int			i = 0;

	for (;;)
	{
		int			l = 2 * i + 1,
					best = i;
		LmHnswCand	b = last;

		if (l < h->n && lm_hnsw_heap_before(h, h->items[l], b))
		{
			best = l;
			b = h->items[l];
		}
		if (l + 1 < h->n && lm_hnsw_heap_before(h, h->items[l + 1], b))
			best = l + 1;
		if (best == i)
			break;
		h->items[i] = h->items[best];
		i = best;
	}
	if (h->n > 0)
		h->items[i] = last;
	return top;
}

/* qsort order: nearest first, ties by id. */
static inline int
lm_hnsw_cand_order(const void *a, const void *b)
{
	const LmHnswCand *x = a,
			   *y = b;

	return x->d < y->d ? -1 : x->d > y->d ? 1 : (x->id > y->id) - (x->id < y->id);
}

#endif
