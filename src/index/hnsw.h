/*
 * hnsw.h — a hierarchical navigable small world graph over float vectors
 * (Malkov and Yashunin, 2016), in memory: what the lm_hnsw index builds
 * before it writes its pages, and the search it runs.
 *
 * Each element gets a random top layer (1/ln m per layer); layer 0 links
 * up to 2m neighbours, the others m, picked by the usual heuristic (a
 * candidate is kept when it is closer to the element than to every
 * neighbour already kept).  Distances: squared L2, negative inner product,
 * or cosine distance over vectors normalised when they are added.
 *
 * Searches come two ways: the k nearest for an ef (lm_hnsw_search), and a
 * scan that hands out elements nearest first, as long as it is asked
 * (lm_hnsw_scan_next): it looks ef elements ahead, and keeps walking the
 * graph until every element reachable from the entry point was handed out,
 * so a filter that drops most elements still gets all it asks for.
 */
#ifndef LM_INDEX_HNSW_H
#define LM_INDEX_HNSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef enum LmHnswMetric
{
	LM_HNSW_L2,					/* ordered by squared L2; reported as L2 */
	LM_HNSW_INNER,				/* negative inner product */
	LM_HNSW_COSINE				/* 1 − cosine; zero vectors are not added */
} LmHnswMetric;

typedef struct LmHnswParams
{
	int			dim;
	int			m;				/* links per element above layer 0 (2m on it) */
	int			ef_construction;	/* candidates kept while linking */
	LmHnswMetric metric;
	uint64_t	seed;			/* of the layer draws */
} LmHnswParams;

#define LM_HNSW_MAX_M 100
#define LM_HNSW_MAX_LEVEL 16

typedef struct LmHnsw LmHnsw;

typedef struct LmHnswHit
{
	int64_t		label;			/* what the caller added the vector with */
	double		distance;		/* as the metric's SQL operator gives it */
} LmHnswHit;

/* An empty graph; NULL with err for parameters out of range. */
LmHnsw	   *lm_hnsw_new(const LmHnswParams *params, LmError *err);
void		lm_hnsw_free(LmHnsw *h);

/*
 * Add a vector (copied) under label.  1 when added, 0 when skipped (a zero
 * vector under cosine has no direction), -1 with err (no memory, cancel).
 */
int			lm_hnsw_add(LmHnsw *h, const float *v, int64_t label, LmError *err);

size_t		lm_hnsw_count(const LmHnsw *h);

/* The k nearest to q found with ef candidates (ef >= k), nearest first; their count. */
int			lm_hnsw_search(const LmHnsw *h, const float *q, int k, int ef, LmHnswHit *out,
						   LmError *err);

typedef struct LmHnswScan LmHnswScan;

/* A scan from q (NULL with err); a zero q under cosine yields nothing. */
LmHnswScan *lm_hnsw_scan_begin(const LmHnsw *h, const float *q, int ef, LmError *err);

/* The next element, nearest first: 1 with *hit, 0 when all were handed out, -1 with err. */
int			lm_hnsw_scan_next(LmHnswScan *s, LmHnswHit *hit, LmError *err);
void		lm_hnsw_scan_end(LmHnswScan *s);

/* Read access for writing pages and for checks: element i's label, top layer and links. */
int64_t		lm_hnsw_label(const LmHnsw *h, size_t i);
int			lm_hnsw_level(const LmHnsw *h, size_t i);
const float *lm_hnsw_vector(const LmHnsw *h, size_t i);
int			lm_hnsw_links(const LmHnsw *h, size_t i, int level, const int32_t **ids);
int64_t		lm_hnsw_entry(const LmHnsw *h);	/* element index, -1 when empty */

#endif
