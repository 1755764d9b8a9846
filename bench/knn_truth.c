/*
 * knn_truth — exact nearest neighbours by brute force, the ground truth of
 * the similarity-index benchmarks.
 *
 *   knn_truth VECTORS.tsv N_QUERIES SEED OUT
 *
 * VECTORS.tsv is bench/glove_wink.py's output (id, word, {real[]}, [vector]).
 * N_QUERIES ids drawn with SEED are held out as queries; for each, the ten
 * nearest of the other rows by cosine distance.  OUT gets one line per query:
 * its id, then the ten ids, nearest first; the held-out ids also go to
 * OUT.queries, one a line.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/distance.h"

#define K 10

static float *
read_vectors(const char *path, int *n_out, int *dim_out)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	int			n = 0,
				dim = 0,
				alloc = 0;
	float	   *v = NULL;

	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	while (getline(&line, &cap, f) > 0)
	{
		char	   *p = strchr(line, '{');
		int			d = 0;

		if (p == NULL)
			continue;
		if (dim == 0)
		{
			/* the first row fixes the dimension: its commas, plus one */
			dim = 1;
			for (char *c = p; *c && *c != '}'; c++)
				dim += *c == ',';
		}
		if (n == alloc)
		{
			alloc = alloc ? alloc * 2 : 65536;
			v = realloc(v, sizeof(float) * (size_t) alloc * dim);
		}
		for (p++; d < dim; d++)
			v[(size_t) n * dim + d] = strtof(p, &p), p++;
		n++;
	}
	free(line);
	fclose(f);
	*n_out = n;
	*dim_out = dim;
	return v;
}

int
main(int argc, char **argv)
{
	int			n,
				dim,
				n_queries;
	float	   *v;
	char	   *held;
	int		   *queries;
	uint64_t	seed;
	FILE	   *out,
			   *qout;
	char		qpath[4096];

	if (argc != 5)
	{
		fprintf(stderr, "usage: knn_truth VECTORS.tsv N_QUERIES SEED OUT\n");
		return 2;
	}
	v = read_vectors(argv[1], &n, &dim);
	n_queries = atoi(argv[2]);
	seed = strtoull(argv[3], NULL, 10);
	if (n_queries < 1 || n_queries >= n)
	{
		fprintf(stderr, "knn_truth: %d queries of %d rows\n", n_queries, n);
		return 2;
	}
	/* unit vectors: cosine distance is then 1 − dot */
	for (int i = 0; i < n; i++)
	{
		float	   *x = v + (size_t) i * dim;
		double		s = sqrt(lm_inner_product(x, x, dim));

		for (int d = 0; d < dim && s > 0; d++)
			x[d] /= s;
	}
	held = calloc(n, 1);
	queries = malloc(sizeof(int) * n_queries);
	for (int q = 0; q < n_queries;)
	{
		int			i;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (int) ((seed >> 33) % (uint64_t) n);
		if (!held[i])
		{
			held[i] = 1;
			queries[q++] = i;
		}
	}
	out = fopen(argv[4], "w");
	snprintf(qpath, sizeof(qpath), "%s.queries", argv[4]);
	qout = fopen(qpath, "w");
	if (out == NULL || qout == NULL)
	{
		perror(argv[4]);
		return 1;
	}
	for (int q = 0; q < n_queries; q++)
	{
		const float *x = v + (size_t) queries[q] * dim;
		double		best[K];
		int			ids[K];
		char		buf[256];
		int			len;

		for (int k = 0; k < K; k++)
			best[k] = INFINITY, ids[k] = -1;
		for (int i = 0; i < n; i++)
		{
			double		d;
			int			k;

			if (held[i])
				continue;
			d = 1 - lm_inner_product(x, v + (size_t) i * dim, dim);
			if (d >= best[K - 1])
				continue;
			for (k = K - 1; k > 0 && best[k - 1] > d; k--)
			{
				best[k] = best[k - 1];
				ids[k] = ids[k - 1];
			}
			best[k] = d;
			ids[k] = i;
		}
		/* ids in the table count from 1 */
		len = snprintf(buf, sizeof(buf), "%d", queries[q] + 1);
		for (int k = 0; k < K; k++)
			len += snprintf(buf + len, sizeof(buf) - len, " %d", ids[k] + 1);
		{
			fprintf(out, "%s\n", buf);
			fprintf(qout, "%d\n", queries[q] + 1);
		}
	}
	fclose(out);
	fclose(qout);
	return 0;
}
