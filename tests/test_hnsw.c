/*
 * test_hnsw.c — the in-memory HNSW graph against brute force: recall@10 of
 * searches, scans that hand out every element once and serve filters, the
 * graph's links within their bounds, and bad parameters.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/hnsw.h"
#include "index/hnsw_walk.h"
#include "testutil.h"

#define N 3000
#define DIM 32
#define QUERIES 100
#define K 10

static uint64_t rng = 12345;

static double
uniform(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (rng >> 11) / 9007199254740992.0;
}

/* Points around 30 centres, so that neighbourhoods mean something. */
static void
make_points(float *v, int n)
{
	static float centres[30][DIM];
	static bool made = false;

	if (!made)
	{
		for (int c = 0; c < 30; c++)
			for (int d = 0; d < DIM; d++)
				centres[c][d] = (float) (uniform() * 2 - 1);
		made = true;
	}
	for (int i = 0; i < n; i++)
	{
		int			c = (int) (uniform() * 30);

		for (int d = 0; d < DIM; d++)
			v[(size_t) i * DIM + d] = centres[c][d] + (float) (uniform() * 0.6 - 0.3);
	}
}

static double
exact(LmHnswMetric metric, const float *a, const float *b)
{
	double		dot = 0,
				aa = 0,
				bb = 0,
				l2 = 0;

	for (int d = 0; d < DIM; d++)
	{
		dot += (double) a[d] * b[d];
		aa += (double) a[d] * a[d];
		bb += (double) b[d] * b[d];
		l2 += ((double) a[d] - b[d]) * ((double) a[d] - b[d]);
	}
	switch (metric)
	{
		case LM_HNSW_L2:
			return sqrt(l2);
		case LM_HNSW_INNER:
			return -dot;
		case LM_HNSW_COSINE:
			return 1 - dot / sqrt(aa * bb);
	}
	return 0;
}

typedef struct Ranked
{
	double		d;
	int64_t		label;
} Ranked;

static int
by_distance(const void *a, const void *b)
{
	const Ranked *x = a,
			   *y = b;

	return x->d < y->d ? -1 : x->d > y->d;
}

/* The exact top K of q among the points whose label passes keep (every 1 in keep_every). */
static void
brute_force(LmHnswMetric metric, const float *points, const float *q, int keep_every, int64_t *top)
{
	Ranked	   *all = malloc(sizeof(Ranked) * N);
	int			n = 0;

	for (int i = 0; i < N; i++)
		if (i % keep_every == 0)
			all[n++] = (Ranked) {exact(metric, points + (size_t) i * DIM, q), i};
	qsort(all, n, sizeof(Ranked), by_distance);
	for (int i = 0; i < K; i++)
		top[i] = all[i].label;
	free(all);
}

static int
overlap(const int64_t *a, const int64_t *b)
{
	int			hits = 0;

	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++)
			hits += a[i] == b[j];
	return hits;
}

/* ---- the same graph behind callbacks, as the index's pages serve it ---- */

static int
mem_links(void *ctx, uint64_t id, int level, uint64_t *out, int max, LmError *err)
{
	const LmHnsw *h = ctx;
	const int32_t *ids;
	int			n;

	(void) err;
	if (level > lm_hnsw_level(h, id))
		return 0;
	n = lm_hnsw_links(h, id, level, &ids);
	n = n < max ? n : max;
	for (int i = 0; i < n; i++)
		out[i] = (uint64_t) ids[i];
	return n;
}

static LmHnswMetric mem_metric;

static int
mem_distances(void *ctx, const float *q, const uint64_t *ids, int n, float *d, LmError *err)
{
	(void) err;
	for (int i = 0; i < n; i++)
		d[i] = lm_hnsw_distance(mem_metric, q, lm_hnsw_vector(ctx, ids[i]), DIM);
	return 0;
}

static int
mem_each(void *ctx, const float *q, int (*emit) (void *, uint64_t, float, LmError *), void *arg,
		 LmError *err)
{
	for (size_t i = 0; i < lm_hnsw_count(ctx); i++)
		if (emit(arg, i, lm_hnsw_distance(mem_metric, q, lm_hnsw_vector(ctx, i), DIM), err) != 0)
			return -1;
	return 0;
}

/* Scans through the callbacks: full filtered results, and every element by the end. */
static void
test_walk(LmHnsw *h, LmHnswMetric metric, const char *name, const float *points, const float *queries)
{
	LmHnswGraph g = {h, DIM, metric, mem_links, mem_distances, mem_each};
	int64_t		entry = lm_hnsw_entry(h);
	int			top = lm_hnsw_level(h, (size_t) entry),
				hits = 0,
				filtered_hits = 0,
				short_filtered = 0,
				n_all = 0,
				twice = 0;
	char	   *seen = calloc(N, 1);
	LmError		err;

	test_error_init(&err);
	mem_metric = metric;
	for (int qi = 0; qi < QUERIES; qi++)
	{
		const float *q = queries + (size_t) qi * DIM;
		int64_t		want[K],
					got[K];
		int			n = 0;
		uint64_t	id;
		double		d;
		LmHnswGraphScan *s = lm_hnsw_graph_scan_begin(&g, q, false, (uint64_t) entry, top, N, 64, &err);

		brute_force(metric, points, q, 1, want);
		while (s && n < K && lm_hnsw_graph_scan_next(s, &id, &d, &err) == 1)
			got[n++] = (int64_t) id;
		lm_hnsw_graph_scan_end(s);
		for (int i = n; i < K; i++)
			got[i] = -1;
		hits += overlap(want, got);

		s = lm_hnsw_graph_scan_begin(&g, q, false, (uint64_t) entry, top, N, 40, &err);
		brute_force(metric, points, q, 50, want);
		n = 0;
		while (s && n < K && lm_hnsw_graph_scan_next(s, &id, &d, &err) == 1)
			if (id % 50 == 0)
				got[n++] = (int64_t) id;
		lm_hnsw_graph_scan_end(s);
		short_filtered += n < K;
		for (int i = n; i < K; i++)
			got[i] = -1;
		filtered_hits += overlap(want, got);
	}
	CHECK(hits >= 0.95 * QUERIES * K, "%s through callbacks: recall@10 at ef 64 is %.3f (at least 0.95)",
		  name, (double) hits / (QUERIES * K));
	CHECK(short_filtered == 0, "%s through callbacks: filtered scans always give 10 rows (%d short)", name,
		  short_filtered);
	CHECK(filtered_hits >= (metric == LM_HNSW_INNER ? 0.8 : 0.95) * QUERIES * K,
		  "%s through callbacks: filtered recall@10 is %.3f", name, (double) filtered_hits / (QUERIES * K));
	{
		LmHnswGraphScan *s = lm_hnsw_graph_scan_begin(&g, queries, false, (uint64_t) entry, top, N, 40, &err);
		uint64_t	id;
		double		d;

		while (s && lm_hnsw_graph_scan_next(s, &id, &d, &err) == 1)
		{
			twice += seen[id];
			seen[id] = 1;
			n_all++;
		}
		lm_hnsw_graph_scan_end(s);
	}
	CHECK(n_all == N && twice == 0, "%s through callbacks: a scan to the end hands out %d of %d, none twice",
		  name, n_all, N);
	free(seen);
}

static void
test_metric(LmHnswMetric metric, const char *name, const float *points, const float *queries)
{
	LmHnswParams p = {DIM, 16, 64, metric, 7};
	LmError		err;
	LmHnsw	   *h;
	int			hits = 0,
				filtered_hits = 0,
				short_filtered = 0;
	double		worst_distance = 0;
	bool		links_ok = true;

	test_error_init(&err);
	h = lm_hnsw_new(&p, &err);
	if (!CHECK(h != NULL, "%s: a graph", name))
		return;
	for (int i = 0; i < N; i++)
		if (lm_hnsw_add(h, points + (size_t) i * DIM, i, &err) != 1)
			break;
	CHECK(lm_hnsw_count(h) == N, "%s: %d vectors added", name, (int) lm_hnsw_count(h));

	/* links: within their layer's bound, to other elements that reach that layer */
	for (size_t i = 0; i < lm_hnsw_count(h); i++)
		for (int l = 0; l <= lm_hnsw_level(h, i); l++)
		{
			const int32_t *ids;
			int			n = lm_hnsw_links(h, i, l, &ids);

			links_ok &= n >= 0 && n <= (l == 0 ? 2 * p.m : p.m);
			for (int j = 0; j < n; j++)
				links_ok &= ids[j] >= 0 && (size_t) ids[j] < lm_hnsw_count(h) && (size_t) ids[j] != i &&
					lm_hnsw_level(h, ids[j]) >= l;
		}
	CHECK(links_ok, "%s: every link within its bound, to another element of its layer", name);

	for (int qi = 0; qi < QUERIES; qi++)
	{
		const float *q = queries + (size_t) qi * DIM;
		LmHnswHit	found[K];
		int64_t		want[K],
					got[K];
		int			n = lm_hnsw_search(h, q, K, 64, found, &err);

		brute_force(metric, points, q, 1, want);
		for (int i = 0; i < n; i++)
		{
			double		d = exact(metric, points + (size_t) found[i].label * DIM, q);

			got[i] = found[i].label;
			worst_distance = fmax(worst_distance, fabs(d - found[i].distance) / (1 + fabs(d)));
		}
		for (int i = n; i < K; i++)
			got[i] = -1;
		hits += overlap(want, got);

		/* a filter that keeps 1 in 50: a scan keeps handing out until K pass */
		{
			LmHnswScan *s = lm_hnsw_scan_begin(h, q, 40, &err);
			LmHnswHit	hit;
			int			passed = 0;

			brute_force(metric, points, q, 50, want);
			while (s && passed < K && lm_hnsw_scan_next(s, &hit, &err) == 1)
				if (hit.label % 50 == 0)
					got[passed++] = hit.label;
			lm_hnsw_scan_end(s);
			short_filtered += passed < K;
			for (int i = passed; i < K; i++)
				got[i] = -1;
			filtered_hits += overlap(want, got);
		}
	}
	CHECK(hits >= 0.95 * QUERIES * K, "%s: recall@10 at ef 64 is %.3f (at least 0.95)", name,
		  (double) hits / (QUERIES * K));
	CHECK(worst_distance < 1e-5, "%s: the distances found are the exact ones (worst %.2g)", name,
		  worst_distance);
	CHECK(short_filtered == 0, "%s: filtered scans (1 in 50 kept) always give 10 rows (%d short)", name,
		  short_filtered);
	/*
	 * Rounds of a scan hand out their finds nearest first, but a later,
	 * wider round can find nearer ones: the order is relaxed.  Under an
	 * inner product, which is no metric, the early rounds miss more, so its
	 * bound is lower (measured 0.815 here).
	 */
	{
		double		bound = metric == LM_HNSW_INNER ? 0.8 : 0.95;

		CHECK(filtered_hits >= bound * QUERIES * K, "%s: filtered recall@10 is %.3f (at least %.2f)", name,
			  (double) filtered_hits / (QUERIES * K), bound);
	}

	/* a scan to the end hands out every element once */
	{
		LmHnswScan *s = lm_hnsw_scan_begin(h, queries, 40, &err);
		LmHnswHit	hit;
		char	   *seen = calloc(N, 1);
		int			n = 0,
					twice = 0;

		while (s && lm_hnsw_scan_next(s, &hit, &err) == 1)
		{
			twice += seen[hit.label];
			seen[hit.label] = 1;
			n++;
		}
		lm_hnsw_scan_end(s);
		CHECK(twice == 0 && n >= N - N / 1000, "%s: a scan to the end hands out %d of %d, none twice", name,
			  n, N);
		free(seen);
	}
	test_walk(h, metric, name, points, queries);
	lm_hnsw_free(h);
}

int
main(void)
{
	float	   *points = malloc(sizeof(float) * N * DIM);
	float	   *queries = malloc(sizeof(float) * QUERIES * DIM);
	LmError		err;

	test_error_init(&err);
	make_points(points, N);
	make_points(queries, QUERIES);
	test_metric(LM_HNSW_L2, "L2", points, queries);
	test_metric(LM_HNSW_INNER, "inner product", points, queries);
	test_metric(LM_HNSW_COSINE, "cosine", points, queries);

	/* cosine: a zero vector is not added, a zero query finds nothing */
	{
		LmHnswParams p = {4, 4, 16, LM_HNSW_COSINE, 1};
		LmHnsw	   *h = lm_hnsw_new(&p, &err);
		float		zero[4] = {0},
					one[4] = {1, 0, 0, 0};
		LmHnswHit	hit;
		LmHnswScan *s;

		CHECK(lm_hnsw_add(h, zero, 1, &err) == 0 && lm_hnsw_add(h, one, 2, &err) == 1 &&
			  lm_hnsw_count(h) == 1, "cosine: a zero vector is skipped, a unit one added");
		s = lm_hnsw_scan_begin(h, zero, 10, &err);
		CHECK(s != NULL && lm_hnsw_scan_next(s, &hit, &err) == 0, "cosine: a zero query finds nothing");
		lm_hnsw_scan_end(s);
		lm_hnsw_free(h);
	}
	/* bad parameters */
	{
		LmHnswParams bad[] = {{0, 16, 64, LM_HNSW_L2, 1}, {8, 1, 64, LM_HNSW_L2, 1},
		{8, 16, 8, LM_HNSW_L2, 1}, {8, 101, 1000, LM_HNSW_L2, 1}};

		for (int i = 0; i < 4; i++)
			CHECK(lm_hnsw_new(&bad[i], &err) == NULL && err.code == LM_ERR_INVALID_ARGUMENT,
				  "bad parameters refused: %s", err.message);
	}
	free(points);
	free(queries);
	return test_done();
}
