/*
 * hnsw_walk.h — HNSW searches over a graph kept anywhere: the lm_hnsw
 * index walks the graph on its pages through callbacks (an element is a
 * 64-bit id the owner chooses), with the same layer search, neighbour
 * selection and widening scan as the in-memory graph (hnsw.h).
 */
#ifndef LM_INDEX_HNSW_WALK_H
#define LM_INDEX_HNSW_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/hnsw.h"
#include "index/hnsw_heap.h"
#include "util/lm_error.h"

/* ---- what both graphs share ---------------------------------------------------- */

/* The order-preserving distance: squared L2, −a·b, or 1 − a·b of unit vectors. */
float		lm_hnsw_distance(LmHnswMetric metric, const float *a, const float *b, int dim);

/* What the metric's SQL operator says for an order-preserving distance. */
double		lm_hnsw_reported(LmHnswMetric metric, float d);

/* Scale to unit length (cosine stores and compares unit vectors); false for a zero vector. */
bool		lm_hnsw_normalize(float *v, int dim);

/* A new element's top layer, floor(−ln U / ln m), at most LM_HNSW_MAX_LEVEL. */
int			lm_hnsw_random_level(uint64_t *rng, int m);

/*
 * The neighbour heuristic: of n candidates (sorted nearest first, d their
 * distance to the element, vectors[i] candidate i's vector) keep at most
 * max, each closer to the element than to every one kept before it; then,
 * as long as there is room, the nearest of those it dropped ("keep pruned
 * connections": fuller lists, better recall at small ef).  Writes the
 * kept candidates' indexes to kept; returns their count.
 */
int			lm_hnsw_select(LmHnswMetric metric, int dim, const LmHnswCand *cands,
						   const float *const *vectors, int n, int max, int *kept);

/*
 * A full element meets a new neighbour: of its links and the new one
 * (cands, sorted nearest first, the new one at new_index, n = max + 1),
 * which link the new one replaces: the farthest one the heuristic drops,
 * or the farthest when it keeps them all; -1 when it drops the new one.
 * One link changes at most, so lists stay full.
 */
int			lm_hnsw_replaced(LmHnswMetric metric, int dim, const LmHnswCand *cands,
							 const float *const *vectors, int n, int max, int new_index);

/* ---- a graph behind callbacks -------------------------------------------------- */

typedef struct LmHnswGraph
{
	void	   *ctx;
	int			dim;
	LmHnswMetric metric;

	/* Element id's links on a layer into out (room for max): their count, or -1 with err. */
	int			(*links) (void *ctx, uint64_t id, int level, uint64_t *out, int max, LmError *err);

	/*
	 * Order-preserving distances from q to ids[0..n) into d; NAN for an id
	 * that is no longer an element.  0, or -1 with err.
	 */
	int			(*distances) (void *ctx, const float *q, const uint64_t *ids, int n, float *d,
							  LmError *err);

	/*
	 * Every element that can be handed out, with its distance from q, to
	 * emit (which returns 0, or -1 with err): the last round of a scan.
	 */
	int			(*each) (void *ctx, const float *q,
						 int (*emit) (void *arg, uint64_t id, float d, LmError *err), void *arg,
						 LmError *err);
} LmHnswGraph;

typedef struct LmHnswWalk LmHnswWalk;

/* What one walk needs, kept between searches (visited marks, heaps). */
LmHnswWalk *lm_hnsw_walk_new(const LmHnswGraph *g, LmError *err);
void		lm_hnsw_walk_free(LmHnswWalk *w);

/*
 * The ef nearest to q on a layer that a walk from eps finds, sorted nearest
 * first in *found (the walk's memory, good until its next search): their
 * count, or -1 with err.  eps carry their distances to q.
 */
int			lm_hnsw_walk_layer(LmHnswWalk *w, const float *q, const LmHnswCand *eps, int n_eps,
							   int ef, int level, const LmHnswCand **found, LmError *err);

/*
 * From the entry point (on layer top) greedily down to layer above, then
 * the ef nearest there: lm_hnsw_walk_layer's answer on layer `level`.
 */
int			lm_hnsw_walk_search(LmHnswWalk *w, const float *q, uint64_t entry, int top, int level,
								int ef, const LmHnswCand **found, LmError *err);

/*
 * A scan from q hands out elements nearest first for as long as it is
 * asked: it searches with ef, hands that out, searches again with twice the
 * ef skipping what it handed out, and once ef reaches the graph's size
 * (count) it adds every element no walk reached, so it ends exactly when
 * every element was handed out.  q is copied (normalised for cosine; a
 * zero q under cosine, which is as far from every element, hands out all
 * of them in no order).
 */
typedef struct LmHnswGraphScan LmHnswGraphScan;

LmHnswGraphScan *lm_hnsw_graph_scan_begin(const LmHnswGraph *g, const float *q, bool empty,
										  uint64_t entry, int top, size_t count, int ef,
										  LmError *err);

/* 1 with the next id and its distance (as the SQL operator gives it), 0 at the end, -1 with err. */
int			lm_hnsw_graph_scan_next(LmHnswGraphScan *s, uint64_t *id, double *distance,
									LmError *err);
void		lm_hnsw_graph_scan_end(LmHnswGraphScan *s);

#endif
