/*
 * hnsw_walk.c — HNSW searches over a graph behind callbacks (see hnsw_walk.h).
 */
#include "index/hnsw_walk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/distance.h"

/* ---- what both graphs share ---------------------------------------------------- */

float
lm_hnsw_distance(LmHnswMetric metric, const float *a, const float *b, int dim)
{
	switch (metric)
	{
		case LM_HNSW_L2:
			return (float) lm_l2_squared(a, b, dim);
		case LM_HNSW_INNER:
			return (float) -lm_inner_product(a, b, dim);
		case LM_HNSW_COSINE:
			return (float) (1 - lm_inner_product(a, b, dim));
	}
	return 0;
}

double
lm_hnsw_reported(LmHnswMetric metric, float d)
{
	return metric == LM_HNSW_L2 ? sqrt(d > 0 ? d : 0) : d;
}

bool
lm_hnsw_normalize(float *v, int dim)
{
	double		s = lm_inner_product(v, v, dim);

	if (!(s > 0) || !isfinite(s))
		return false;
	s = 1 / sqrt(s);
	for (int i = 0; i < dim; i++)
		v[i] = (float) (v[i] * s);
	return true;
}

static uint64_t
next_random(uint64_t *s)
{
	/* splitmix64 */
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
lm_hnsw_random_level(uint64_t *rng, int m)
{
	double		u = ((next_random(rng) >> 11) + 1) * (1.0 / 9007199254740993.0);
	int			level = (int) floor(-log(u) / log((double) m));

	return level > LM_HNSW_MAX_LEVEL ? LM_HNSW_MAX_LEVEL : level;
}

/* The heuristic alone: indexes of the candidates kept, in order; their count. */
static int
heuristic(LmHnswMetric metric, int dim, const LmHnswCand *cands, const float *const *vectors, int n,
		  int max, int *kept)
{
	int			k = 0;

	for (int i = 0; i < n && k < max; i++)
	{
		bool		good = true;

		for (int j = 0; j < k && good; j++)
			good = lm_hnsw_distance(metric, vectors[i], vectors[kept[j]], dim) >= cands[i].d;
		if (good)
			kept[k++] = i;
	}
	return k;
}

static bool
among(const int *kept, int k, int i)
{
	for (int j = 0; j < k; j++)
		if (kept[j] == i)
			return true;
	return false;
}

int
lm_hnsw_select(LmHnswMetric metric, int dim, const LmHnswCand *cands, const float *const *vectors,
			   int n, int max, int *kept)
{
	int			k = heuristic(metric, dim, cands, vectors, n, max, kept);

	/* "keep pruned connections": the nearest of the rest fill what the heuristic left */
	for (int i = 0; i < n && k < max; i++)
		if (!among(kept, k, i))
			kept[k++] = i;
	return k;
}

int
lm_hnsw_replaced(LmHnswMetric metric, int dim, const LmHnswCand *cands, const float *const *vectors,
				 int n, int max, int new_index)
{
	int			kept[2 * LM_HNSW_MAX_M + 1];
	int			k = heuristic(metric, dim, cands, vectors, n, max < n ? max : n, kept);

	if (!among(kept, k, new_index))
		return -1;
	for (int i = n - 1; i >= 0; i--)
		if (i != new_index && !among(kept, k, i))
			return i;
	return n - 1 != new_index ? n - 1 : n - 2;
}

/* ---- a set of ids: open addressing, id + 1 stored so that 0 means empty ----- */

typedef struct IdSet
{
	uint64_t   *slots;
	size_t		cap;			/* a power of two */
	size_t		n;
} IdSet;

static size_t
slot_of(const IdSet *s, uint64_t id)
{
	return (size_t) (((id + 1) * 0x9e3779b97f4a7c15ULL) >> 20) & (s->cap - 1);
}

static bool
set_has(const IdSet *s, uint64_t id)
{
	if (s->cap == 0)
		return false;
	for (size_t i = slot_of(s, id);; i = (i + 1) & (s->cap - 1))
	{
		if (s->slots[i] == id + 1)
			return true;
		if (s->slots[i] == 0)
			return false;
	}
}

static int set_add(IdSet *s, uint64_t id, LmError *err);

static int
set_grow(IdSet *s, LmError *err)
{
	IdSet		bigger = {0};

	bigger.cap = s->cap ? s->cap * 2 : 256;
	if ((bigger.slots = lm_calloc(bigger.cap, sizeof(uint64_t), err)) == NULL)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i] != 0)
			(void) set_add(&bigger, s->slots[i] - 1, err);
	free(s->slots);
	*s = bigger;
	return 0;
}

/* 1 when added, 0 when it was there, -1 with err. */
static int
set_add(IdSet *s, uint64_t id, LmError *err)
{
	size_t		i;

	if ((s->n + 1) * 2 > s->cap && set_grow(s, err) != 0)
		return -1;
	for (i = slot_of(s, id); s->slots[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == id + 1)
			return 0;
	s->slots[i] = id + 1;
	s->n++;
	return 1;
}

static void
set_clear(IdSet *s)
{
	if (s->n > 0)
		memset(s->slots, 0, s->cap * sizeof(uint64_t));
	s->n = 0;
}

/* ---- the walk ---------------------------------------------------------------- */

struct LmHnswWalk
{
	const LmHnswGraph *g;
	IdSet		visited;
	LmHnswHeap	cands;			/* min-heap: to expand */
	LmHnswHeap	found;			/* max-heap: the ef best so far */
	uint64_t   *links;			/* one element's links, and their distances */
	float	   *d;
	int			links_cap;
};

LmHnswWalk *
lm_hnsw_walk_new(const LmHnswGraph *g, LmError *err)
{
	LmHnswWalk *w = lm_calloc(1, sizeof(LmHnswWalk), err);

	if (w == NULL)
		return NULL;
	w->g = g;
	w->links_cap = 2 * LM_HNSW_MAX_M;
	w->links = lm_malloc(sizeof(uint64_t) * w->links_cap, err);
	w->d = lm_malloc(sizeof(float) * w->links_cap, err);
	if (w->links == NULL || w->d == NULL)
	{
		lm_hnsw_walk_free(w);
		return NULL;
	}
	w->found.max = true;
	return w;
}

void
lm_hnsw_walk_free(LmHnswWalk *w)
{
	if (w == NULL)
		return;
	free(w->visited.slots);
	free(w->cands.items);
	free(w->found.items);
	free(w->links);
	free(w->d);
	free(w);
}

int
lm_hnsw_walk_layer(LmHnswWalk *w, const float *q, const LmHnswCand *eps, int n_eps, int ef,
				   int level, const LmHnswCand **found, LmError *err)
{
	const LmHnswGraph *g = w->g;

	set_clear(&w->visited);
	w->cands.n = w->found.n = 0;
	for (int i = 0; i < n_eps; i++)
	{
		int			added = set_add(&w->visited, eps[i].id, err);

		if (added < 0)
			return -1;
		if (added == 0 || isnan(eps[i].d))
			continue;
		if (lm_hnsw_heap_push(&w->cands, eps[i], err) != 0 ||
			lm_hnsw_heap_push(&w->found, eps[i], err) != 0)
			return -1;
		if (w->found.n > ef)
			(void) lm_hnsw_heap_pop(&w->found);
	}
	while (w->cands.n > 0)
	{
		LmHnswCand	cur = lm_hnsw_heap_pop(&w->cands);
		int			n,
					fresh = 0;

		if (w->found.n >= ef && cur.d > w->found.items[0].d)
			break;
		if (lm_check_cancel(err) != 0)
			return -1;
		if ((n = g->links(g->ctx, cur.id, level, w->links, w->links_cap, err)) < 0)
			return -1;
		for (int j = 0; j < n; j++)
		{
			int			added = set_add(&w->visited, w->links[j], err);

			if (added < 0)
				return -1;
			if (added)
				w->links[fresh++] = w->links[j];
		}
		if (fresh == 0)
			continue;
		if (g->distances(g->ctx, q, w->links, fresh, w->d, err) != 0)
			return -1;
		for (int j = 0; j < fresh; j++)
		{
			LmHnswCand	c = {w->d[j], w->links[j]};

			if (isnan(c.d))
				continue;
			if (w->found.n < ef || c.d < w->found.items[0].d)
			{
				if (lm_hnsw_heap_push(&w->cands, c, err) != 0 ||
					lm_hnsw_heap_push(&w->found, c, err) != 0)
					return -1;
				if (w->found.n > ef)
					(void) lm_hnsw_heap_pop(&w->found);
			}
		}
	}
	/* sorted, the max-heap is no longer one: the next search empties it first */
	qsort(w->found.items, w->found.n, sizeof(LmHnswCand), lm_hnsw_cand_order);
	*found = w->found.items;
	return w->found.n;
}

int
lm_hnsw_walk_search(LmHnswWalk *w, const float *q, uint64_t entry, int top, int level, int ef,
					const LmHnswCand **found, LmError *err)
{
	LmHnswCand	ep = {0, entry};
	int			n;

	if (w->g->distances(w->g->ctx, q, &entry, 1, &ep.d, err) != 0)
		return -1;
	for (int lc = top; lc > level; lc--)
	{
		const LmHnswCand *best;

		if ((n = lm_hnsw_walk_layer(w, q, &ep, 1, 1, lc, &best, err)) < 0)
			return -1;
		if (n > 0)
			ep = best[0];
	}
	return lm_hnsw_walk_layer(w, q, &ep, 1, ef, level, found, err);
}

/* ---- the widening scan ------------------------------------------------------- */

struct LmHnswGraphScan
{
	const LmHnswGraph *g;
	LmHnswWalk *w;
	float	   *q;
	bool		done;			/* nothing (more) to search */
	bool		started;		/* the first round was searched */
	bool		all_only;		/* a zero query under cosine: every element, in no order */
	uint64_t	entry;
	int			top;
	size_t		count;
	int			ef;
	IdSet		handed;
	LmHnswCand *round;			/* this round's finds, nearest first */
	int			n_round;
	int			cap_round;
	int			at;
	bool		last_round;
	IdSet		in_round;		/* the last round: what the walk found */
};

static int
round_push(LmHnswGraphScan *s, LmHnswCand c, LmError *err)
{
	if (s->n_round == s->cap_round)
	{
		int			cap = s->cap_round ? s->cap_round * 2 : 256;
		LmHnswCand *r = lm_realloc(s->round, sizeof(LmHnswCand) * cap, err);

		if (r == NULL)
			return -1;
		s->round = r;
		s->cap_round = cap;
	}
	s->round[s->n_round++] = c;
	return 0;
}

static int
emit_unreached(void *arg, uint64_t id, float d, LmError *err)
{
	LmHnswGraphScan *s = arg;

	if (isnan(d) || set_has(&s->in_round, id) || set_has(&s->handed, id))
		return 0;
	return round_push(s, (LmHnswCand) {d, id}, err);
}

/* One round: search with the scan's ef; the last one adds what no walk reached. */
static int
search_round(LmHnswGraphScan *s, LmError *err)
{
	const LmHnswCand *found = NULL;
	int			n = s->all_only ? 0 : lm_hnsw_walk_search(s->w, s->q, s->entry, s->top, 0, s->ef, &found, err);
	int			walked;

	if (s->all_only)
	{
		s->n_round = s->at = 0;
		s->last_round = true;
		set_clear(&s->in_round);
		return s->g->each(s->g->ctx, s->q, emit_unreached, s, err);
	}
	if (n < 0)
		return -1;
	s->n_round = s->at = 0;
	for (int i = 0; i < n; i++)
		if (round_push(s, found[i], err) != 0)
			return -1;
	s->last_round = (size_t) s->ef >= s->count;
	if (!s->last_round)
		return 0;
	set_clear(&s->in_round);
	for (int i = 0; i < n; i++)
		if (set_add(&s->in_round, s->round[i].id, err) < 0)
			return -1;
	walked = s->n_round;
	if (s->g->each(s->g->ctx, s->q, emit_unreached, s, err) != 0)
		return -1;
	qsort(s->round + walked, s->n_round - walked, sizeof(LmHnswCand), lm_hnsw_cand_order);
	return 0;
}

LmHnswGraphScan *
lm_hnsw_graph_scan_begin(const LmHnswGraph *g, const float *q, bool empty, uint64_t entry,
						 int top, size_t count, int ef, LmError *err)
{
	LmHnswGraphScan *s = lm_calloc(1, sizeof(LmHnswGraphScan), err);

	if (s == NULL)
		return NULL;
	s->g = g;
	s->entry = entry;
	s->top = top;
	s->count = count > 0 ? count : 1;
	s->ef = ef < 1 ? 1 : ef;
	if ((s->w = lm_hnsw_walk_new(g, err)) == NULL ||
		(s->q = lm_malloc(sizeof(float) * g->dim, err)) == NULL)
	{
		lm_hnsw_graph_scan_end(s);
		return NULL;
	}
	memcpy(s->q, q, sizeof(float) * g->dim);
	s->done = empty;
	s->all_only = g->metric == LM_HNSW_COSINE && !lm_hnsw_normalize(s->q, g->dim);
	return s;
}

int
lm_hnsw_graph_scan_next(LmHnswGraphScan *s, uint64_t *id, double *distance, LmError *err)
{
	if (s->done)
		return 0;
	if (!s->started)
	{
		s->started = true;
		if (search_round(s, err) != 0)
			return -1;
	}
	for (;;)
	{
		while (s->at < s->n_round)
		{
			LmHnswCand	c = s->round[s->at++];
			int			added = set_add(&s->handed, c.id, err);

			if (added < 0)
				return -1;
			if (added == 0)
				continue;
			*id = c.id;
			*distance = lm_hnsw_reported(s->g->metric, c.d);
			return 1;
		}
		if (s->last_round)
		{
			s->done = true;
			return 0;
		}
		s->ef = (size_t) s->ef * 2 >= s->count ? (int) (s->count < INT32_MAX ? s->count : INT32_MAX)
			: s->ef * 2;
		if (search_round(s, err) != 0)
			return -1;
	}
}

void
lm_hnsw_graph_scan_end(LmHnswGraphScan *s)
{
	if (s == NULL)
		return;
	lm_hnsw_walk_free(s->w);
	free(s->q);
	free(s->handed.slots);
	free(s->in_round.slots);
	free(s->round);
	free(s);
}
