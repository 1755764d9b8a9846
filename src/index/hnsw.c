/*
 * hnsw.c — the in-memory HNSW graph (see hnsw.h).
 */
#include "index/hnsw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/hnsw_heap.h"
#include "index/hnsw_walk.h"
#include "nn/distance.h"

struct LmHnsw
{
	LmHnswParams p;
	size_t		count;
	size_t		capacity;
	float	   *vectors;		/* [capacity][dim] */
	int64_t    *labels;
	uint8_t    *levels;
	int32_t   **links;			/* per element: per layer, a count then its slots */
	int64_t		entry;			/* -1 while empty */
	int			top;			/* the entry's layer */
	uint64_t	rng;
	uint32_t   *seen;			/* adds: stamp per element, this add's stamp marks visited */
	uint32_t	stamp;
};

/* ---- small helpers ------------------------------------------------------------ */

typedef LmHnswCand Cand;
typedef LmHnswHeap Heap;

#define heap_push lm_hnsw_heap_push
#define heap_pop lm_hnsw_heap_pop
#define cand_order lm_hnsw_cand_order

static const float *
vec(const LmHnsw *h, int32_t id)
{
	return h->vectors + (size_t) id * h->p.dim;
}

static float
dist(const LmHnsw *h, const float *a, const float *b)
{
	return lm_hnsw_distance(h->p.metric, a, b, h->p.dim);
}

static double
reported(const LmHnsw *h, float d)
{
	return lm_hnsw_reported(h->p.metric, d);
}

static int
max_links(const LmHnsw *h, int level)
{
	return level == 0 ? 2 * h->p.m : h->p.m;
}

/* Element id's links on a layer: [0] is their count, then the slots. */
static int32_t *
layer_links(const LmHnsw *h, int32_t id, int level)
{
	int32_t    *l = h->links[id];

	if (level > 0)
		l += 1 + 2 * h->p.m + (level - 1) * (1 + h->p.m);
	return l;
}

static bool
normalize(float *v, int dim)
{
	return lm_hnsw_normalize(v, dim);
}

/* ---- the graph ---------------------------------------------------------------- */

LmHnsw *
lm_hnsw_new(const LmHnswParams *params, LmError *err)
{
	LmHnsw	   *h;

	if (params->dim < 1 || params->dim > 16000)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "vectors must have 1 to 16000 dimensions, not %d", params->dim);
		return NULL;
	}
	if (params->m < 2 || params->m > LM_HNSW_MAX_M)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "m must be between 2 and %d, not %d", LM_HNSW_MAX_M, params->m);
		return NULL;
	}
	if (params->ef_construction < 2 * params->m || params->ef_construction > 1000)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT,
				"ef_construction must be between 2 × m (%d) and 1000, not %d", 2 * params->m,
				params->ef_construction);
		return NULL;
	}
	if ((h = lm_calloc(1, sizeof(LmHnsw), err)) == NULL)
		return NULL;
	h->p = *params;
	h->entry = -1;
	h->rng = params->seed ? params->seed : 1;
	return h;
}

void
lm_hnsw_free(LmHnsw *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->count; i++)
		free(h->links[i]);
	free(h->links);
	free(h->vectors);
	free(h->labels);
	free(h->levels);
	free(h->seen);
	free(h);
}

size_t
lm_hnsw_count(const LmHnsw *h)
{
	return h->count;
}

static int
grow(LmHnsw *h, LmError *err)
{
	size_t		cap = h->capacity ? h->capacity * 2 : 1024;
	void	   *p;

	if ((p = lm_realloc(h->vectors, cap * h->p.dim * sizeof(float), err)) == NULL)
		return -1;
	h->vectors = p;
	if ((p = lm_realloc(h->labels, cap * sizeof(int64_t), err)) == NULL)
		return -1;
	h->labels = p;
	if ((p = lm_realloc(h->levels, cap, err)) == NULL)
		return -1;
	h->levels = p;
	if ((p = lm_realloc(h->links, cap * sizeof(int32_t *), err)) == NULL)
		return -1;
	h->links = p;
	if ((p = lm_realloc(h->seen, cap * sizeof(uint32_t), err)) == NULL)
		return -1;
	h->seen = p;
	memset(h->seen + h->capacity, 0, (cap - h->capacity) * sizeof(uint32_t));
	h->capacity = cap;
	return 0;
}

/* A new visit: every element unvisited (wraps the stamps around once in 4 billion). */
static void
new_visit(LmHnsw *h)
{
	if (++h->stamp == 0)
	{
		memset(h->seen, 0, h->capacity * sizeof(uint32_t));
		h->stamp = 1;
	}
}

/*
 * The ef nearest to q on a layer that the walk from eps finds, in w (a
 * max-heap, emptied first).  Visited marks: seen[] with this visit's stamp
 * (adds), or the bitmap (searches, which must not write the graph).
 */
static int
search_layer(const LmHnsw *h, uint32_t *seen, uint32_t stamp, uint64_t *bits, const float *q,
			 const Cand *eps, int n_eps, int ef, int level, Heap *w, LmError *err)
{
	Heap		c = {0};
	int			rc = 0;

	w->n = 0;
	w->max = true;
	for (int i = 0; i < n_eps && rc == 0; i++)
	{
		if (bits)
			bits[eps[i].id / 64] |= 1ULL << (eps[i].id % 64);
		else
			seen[eps[i].id] = stamp;
		rc = heap_push(&c, eps[i], err) | heap_push(w, eps[i], err);
	}
	while (rc == 0 && c.n > 0)
	{
		Cand		cur = heap_pop(&c);
		const int32_t *l;

		if (w->n >= ef && cur.d > w->items[0].d)
			break;
		if (lm_check_cancel(err) != 0)
		{
			rc = -1;
			break;
		}
		l = layer_links(h, cur.id, level);
		for (int j = 1; j <= l[0] && rc == 0; j++)
		{
			int32_t		e = l[j];
			Cand		n;

			if (bits)
			{
				if (bits[e / 64] & (1ULL << (e % 64)))
					continue;
				bits[e / 64] |= 1ULL << (e % 64);
			}
			else
			{
				if (seen[e] == stamp)
					continue;
				seen[e] = stamp;
			}
			n.id = e;
			n.d = dist(h, q, vec(h, e));
			if (w->n < ef || n.d < w->items[0].d)
			{
				rc = heap_push(&c, n, err) | heap_push(w, n, err);
				if (w->n > ef)
					(void) heap_pop(w);
			}
		}
	}
	free(c.items);
	return rc;
}

/*
 * Keep at most max of the candidates (sorted nearest first, distances to
 * the element) by lm_hnsw_select; their ids into out, their count.
 */
static int
select_neighbours(const LmHnsw *h, const Cand *cands, int n, int max, int32_t *out, LmError *err)
{
	const float **vectors = lm_malloc(sizeof(float *) * (n > 0 ? n : 1), err);
	int		   *kept = lm_malloc(sizeof(int) * (n > 0 ? n : 1), err);
	int			k = -1;

	if (vectors != NULL && kept != NULL)
	{
		for (int i = 0; i < n; i++)
			vectors[i] = vec(h, (int32_t) cands[i].id);
		k = lm_hnsw_select(h->p.metric, h->p.dim, cands, vectors, n, max, kept);
		for (int i = 0; i < k; i++)
			out[i] = (int32_t) cands[kept[i]].id;
	}
	free(vectors);
	free(kept);
	return k;
}

/* Link e to new on a layer; a full e lets new replace one link (lm_hnsw_replaced), or not. */
static void
link_back(LmHnsw *h, int32_t e, int32_t new, int level)
{
	int32_t    *l = layer_links(h, e, level);
	int			max = max_links(h, level);
	Cand		cands[2 * LM_HNSW_MAX_M + 1];
	const float *vectors[2 * LM_HNSW_MAX_M + 1];
	int			new_index = 0,
				victim;

	if (l[0] < max)
	{
		l[++l[0]] = new;
		return;
	}
	for (int j = 0; j < max; j++)
		cands[j] = (Cand) {dist(h, vec(h, e), vec(h, l[j + 1])), l[j + 1]};
	cands[max] = (Cand) {dist(h, vec(h, e), vec(h, new)), new};
	qsort(cands, max + 1, sizeof(Cand), cand_order);
	for (int j = 0; j <= max; j++)
	{
		vectors[j] = vec(h, (int32_t) cands[j].id);
		if ((int32_t) cands[j].id == new)
			new_index = j;
	}
	victim = lm_hnsw_replaced(h->p.metric, h->p.dim, cands, vectors, max + 1, max, new_index);
	if (victim >= 0)
		for (int j = 1; j <= l[0]; j++)
			if (l[j] == (int32_t) cands[victim].id)
				l[j] = new;
}

int
lm_hnsw_add(LmHnsw *h, const float *v, int64_t label, LmError *err)
{
	int32_t		id;
	int			level;
	float	   *mine;
	Cand		ep;
	Heap		w = {0};
	Cand	   *sorted = NULL;
	int			rc = 0;

	if (h->count == h->capacity && grow(h, err) != 0)
		return -1;
	if (h->count >= INT32_MAX)
		return lm_fail(err, LM_ERR_TOO_LONG, "an index holds at most %d vectors", INT32_MAX);
	id = (int32_t) h->count;
	mine = h->vectors + (size_t) id * h->p.dim;
	memcpy(mine, v, sizeof(float) * h->p.dim);
	if (h->p.metric == LM_HNSW_COSINE && !normalize(mine, h->p.dim))
		return 0;

	level = lm_hnsw_random_level(&h->rng, h->p.m);
	h->links[id] = lm_calloc(1 + 2 * h->p.m + level * (1 + h->p.m), sizeof(int32_t), err);
	if (h->links[id] == NULL)
		return -1;
	h->labels[id] = label;
	h->levels[id] = (uint8_t) level;
	h->count++;
	if (h->entry < 0)
	{
		h->entry = id;
		h->top = level;
		return 1;
	}

	ep = (Cand) {dist(h, mine, vec(h, (int32_t) h->entry)), (int32_t) h->entry};
	/* above its top layer: the nearest element, greedily */
	for (int lc = h->top; lc > level && rc == 0; lc--)
	{
		new_visit(h);
		rc = search_layer(h, h->seen, h->stamp, NULL, mine, &ep, 1, 1, lc, &w, err);
		if (rc == 0)
			ep = w.items[0];
	}
	if (rc == 0 && (sorted = lm_malloc(sizeof(Cand) * (h->p.ef_construction + 1), err)) == NULL)
		rc = -1;
	{
		Cand	   *eps = &ep;
		int			n_eps = 1;

		for (int lc = level < h->top ? level : h->top; lc >= 0 && rc == 0; lc--)
		{
			int32_t    *l = layer_links(h, id, lc);
			int			n;

			new_visit(h);
			if ((rc = search_layer(h, h->seen, h->stamp, NULL, mine, eps, n_eps, h->p.ef_construction,
								   lc, &w, err)) != 0)
				break;
			n = w.n;
			memcpy(sorted, w.items, sizeof(Cand) * n);
			qsort(sorted, n, sizeof(Cand), cand_order);
			if ((l[0] = select_neighbours(h, sorted, n, max_links(h, lc), l + 1, err)) < 0)
			{
				l[0] = 0;
				rc = -1;
				break;
			}
			for (int j = 1; j <= l[0]; j++)
				link_back(h, l[j], id, lc);
			/* the next layer down starts from all of these */
			eps = sorted;
			n_eps = n;
		}
	}
	free(w.items);
	free(sorted);
	if (rc != 0)
		return -1;
	if (level > h->top)
	{
		h->entry = id;
		h->top = level;
	}
	return 1;
}

/* ---- searches ----------------------------------------------------------------- */

/* The query as the graph compares it (unit length for cosine); NULL for a zero one. */
static float *
query_copy(const LmHnsw *h, const float *q, bool *zero, LmError *err)
{
	float	   *c = lm_malloc(sizeof(float) * h->p.dim, err);

	*zero = false;
	if (c == NULL)
		return NULL;
	memcpy(c, q, sizeof(float) * h->p.dim);
	if (h->p.metric == LM_HNSW_COSINE && !normalize(c, h->p.dim))
		*zero = true;
	return c;
}

/* The ef best on layer 0 for q, sorted nearest first into *out (malloc'd); their count. */
static int
search_sorted(const LmHnsw *h, const float *q, int ef, Cand **out, LmError *err)
{
	uint64_t   *bits;
	Heap		w = {0};
	Cand		ep;
	int			rc = 0;

	*out = NULL;
	if (h->entry < 0)
		return 0;
	if ((bits = lm_calloc((h->count + 63) / 64, sizeof(uint64_t), err)) == NULL)
		return -1;
	ep = (Cand) {dist(h, q, vec(h, (int32_t) h->entry)), (int32_t) h->entry};
	for (int lc = h->top; lc > 0 && rc == 0; lc--)
	{
		memset(bits, 0, (h->count + 63) / 64 * sizeof(uint64_t));
		rc = search_layer(h, NULL, 0, bits, q, &ep, 1, 1, lc, &w, err);
		if (rc == 0)
			ep = w.items[0];
	}
	if (rc == 0)
	{
		memset(bits, 0, (h->count + 63) / 64 * sizeof(uint64_t));
		rc = search_layer(h, NULL, 0, bits, q, &ep, 1, ef, 0, &w, err);
	}
	free(bits);
	if (rc != 0)
	{
		free(w.items);
		return -1;
	}
	qsort(w.items, w.n, sizeof(Cand), cand_order);
	*out = w.items;
	return w.n;
}

int
lm_hnsw_search(const LmHnsw *h, const float *q, int k, int ef, LmHnswHit *out, LmError *err)
{
	bool		zero;
	float	   *c = query_copy(h, q, &zero, err);
	Cand	   *found;
	int			n;

	if (c == NULL)
		return -1;
	n = zero ? 0 : search_sorted(h, c, ef > k ? ef : k, &found, err);
	free(c);
	if (n <= 0)
		return n;
	if (n > k)
		n = k;
	for (int i = 0; i < n; i++)
		out[i] = (LmHnswHit) {h->labels[found[i].id], reported(h, found[i].d)};
	free(found);
	return n;
}

/*
 * A scan searches with ef, hands out what it found nearest first, and when
 * that runs out searches again with twice the ef, skipping what it handed
 * out: the work grows geometrically, so all rounds together cost about
 * twice the last.  Once ef is at least the graph's size the search reaches
 * every element connected to the entry point, and the scan ends after it.
 */
struct LmHnswScan
{
	const LmHnsw *h;
	float	   *q;
	bool		zero;
	int			ef;
	uint64_t   *handed;			/* bitmap of elements handed out */
	Cand	   *round;			/* this round's finds, nearest first */
	int			n_round;
	int			at;
	bool		last_round;
};

/*
 * The last round also takes the elements no walk reached (pruned links can
 * cut a few off the graph), by their distances, so that a scan to its end
 * hands out every element.
 */
static int
add_unreached(LmHnswScan *s, LmError *err)
{
	const LmHnsw *h = s->h;
	uint64_t   *found = lm_calloc((h->count + 63) / 64, sizeof(uint64_t), err);
	Cand	   *all;
	int			n = s->n_round;

	if (found == NULL)
		return -1;
	for (int i = 0; i < s->n_round; i++)
		found[s->round[i].id / 64] |= 1ULL << (s->round[i].id % 64);
	if ((all = lm_realloc(s->round, sizeof(Cand) * (h->count + 1), err)) == NULL)
	{
		free(found);
		return -1;
	}
	s->round = all;
	for (size_t i = 0; i < h->count; i++)
	{
		if ((found[i / 64] | s->handed[i / 64]) & (1ULL << (i % 64)))
			continue;
		if (i % 1024 == 0 && lm_check_cancel(err) != 0)
		{
			free(found);
			return -1;
		}
		all[n++] = (Cand) {dist(h, s->q, vec(h, (int32_t) i)), (int32_t) i};
	}
	free(found);
	qsort(all + s->n_round, n - s->n_round, sizeof(Cand), cand_order);
	s->n_round = n;
	return 0;
}

LmHnswScan *
lm_hnsw_scan_begin(const LmHnsw *h, const float *q, int ef, LmError *err)
{
	LmHnswScan *s = lm_calloc(1, sizeof(LmHnswScan), err);

	if (s == NULL)
		return NULL;
	s->h = h;
	s->ef = ef < 1 ? 1 : ef;
	if ((s->q = query_copy(h, q, &s->zero, err)) == NULL ||
		(s->handed = lm_calloc((h->count + 63) / 64 + 1, sizeof(uint64_t), err)) == NULL)
	{
		lm_hnsw_scan_end(s);
		return NULL;
	}
	s->last_round = s->zero || h->entry < 0;
	s->at = s->n_round = 0;
	if (!s->last_round)
	{
		if ((s->n_round = search_sorted(h, s->q, s->ef, &s->round, err)) < 0)
		{
			lm_hnsw_scan_end(s);
			return NULL;
		}
		s->last_round = (size_t) s->ef >= h->count;
		if (s->last_round && add_unreached(s, err) != 0)
		{
			lm_hnsw_scan_end(s);
			return NULL;
		}
	}
	return s;
}

int
lm_hnsw_scan_next(LmHnswScan *s, LmHnswHit *hit, LmError *err)
{
	for (;;)
	{
		while (s->at < s->n_round)
		{
			Cand		c = s->round[s->at++];

			if (s->handed[c.id / 64] & (1ULL << (c.id % 64)))
				continue;
			s->handed[c.id / 64] |= 1ULL << (c.id % 64);
			*hit = (LmHnswHit) {s->h->labels[c.id], reported(s->h, c.d)};
			return 1;
		}
		if (s->last_round)
			return 0;
		free(s->round);
		s->round = NULL;
		s->ef = (size_t) s->ef * 2 >= s->h->count ? (int) (s->h->count < INT32_MAX ? s->h->count : INT32_MAX)
			: s->ef * 2;
		s->at = 0;
		if ((s->n_round = search_sorted(s->h, s->q, s->ef, &s->round, err)) < 0)
			return -1;
		s->last_round = (size_t) s->ef >= s->h->count;
		if (s->last_round && add_unreached(s, err) != 0)
			return -1;
	}
}

void
lm_hnsw_scan_end(LmHnswScan *s)
{
	if (s == NULL)
		return;
	free(s->q);
	free(s->handed);
	free(s->round);
	free(s);
}

/* ---- read access -------------------------------------------------------------- */

int64_t
lm_hnsw_label(const LmHnsw *h, size_t i)
{
	return h->labels[i];
}

int
lm_hnsw_level(const LmHnsw *h, size_t i)
{
	return h->levels[i];
}

const float *
lm_hnsw_vector(const LmHnsw *h, size_t i)
{
	return vec(h, (int32_t) i);
}

int
lm_hnsw_links(const LmHnsw *h, size_t i, int level, const int32_t **ids)
{
	const int32_t *l = layer_links(h, (int32_t) i, level);

	*ids = l + 1;
	return l[0];
}

int64_t
lm_hnsw_entry(const LmHnsw *h)
{
	return h->entry;
}
