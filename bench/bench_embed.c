/*
 * bench_embed.c — the engine alone doing what
 *   UPDATE t SET emb = lm_embed(model, body)
 * does per row: tokenize the text with the model's tokenizer.json (special
 * tokens added), then lm_model_embed with mean pooling, no normalisation
 * (lm_embed's defaults for a model without a sentence-transformers
 * pipeline).  The peer of bench/sql_overhead.sh.
 *
 *   bench_embed MODEL_DIR TEXT_FILE N ROUNDS
 *
 * reads the first N lines of TEXT_FILE, runs them one at a time, best of
 * ROUNDS, and prints rows per second (wall clock and CPU time), the longest input in tokens and a
 * checksum (the sum of every embedding's first component) to compare with
 * SQL's sum(emb[1]).
 *
 * Build from the project root: make bench-build (build/bench/bench_embed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"
#include "util/file.h"

static double
clock_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
fail(const char *what, const LmError *err)
{
	fprintf(stderr, "%s: %s\n", what, err->message);
	return 1;
}

int
main(int argc, char **argv)
{
	char		path[1024];
	uint8_t    *data;
	size_t		len;
	LmTensorSet set = {0};
	LmModel    *m;
	LmTokenizer *tok;
	LmError		err;
	FILE	   *f;
	char	  **lines;
	char	   *line = NULL;
	size_t		cap = 0;
	int			n = 0;
	int			n_max;
	int			rounds;
	int			longest = 0;
	long		tokens = 0;
	double		best = 1e30;
	double		best_cpu = 1e30;
	double		checksum = 0;
	float	   *out;

	if (argc < 5)
	{
		fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE N ROUNDS\n", argv[0]);
		return 2;
	}
	n_max = atoi(argv[3]);
	rounds = atoi(argv[4]);
	lm_error_clear(&err);

	snprintf(path, sizeof(path), "%s/config.json", argv[1]);
	if (lm_read_file(path, 1 << 20, &data, &len, &err) < 0)
		return fail(path, &err);
	snprintf(path, sizeof(path), "%s/model.safetensors", argv[1]);
	if (lm_safetensors_load(path, &set, &err) < 0)
		return fail(path, &err);
	if ((m = lm_model_load((char *) data, len, &set, &err)) == NULL)
		return fail("model", &err);
	free(data);
	snprintf(path, sizeof(path), "%s/tokenizer.json", argv[1]);
	if (lm_read_file(path, 64 << 20, &data, &len, &err) < 0 ||
		(tok = lm_tokenizer_from_json((char *) data, len, &err)) == NULL)
		return fail(path, &err);
	free(data);

	if ((f = fopen(argv[2], "r")) == NULL)
	{
		perror(argv[2]);
		return 1;
	}
	lines = calloc(n_max, sizeof(char *));
	while (n < n_max && getline(&line, &cap, f) > 0)
	{
		line[strcspn(line, "\r\n")] = '\0';
		lines[n++] = strdup(line);
	}
	fclose(f);
	free(line);
	out = malloc(sizeof(float) * lm_model_info(m)->hidden_size);

	for (int r = 0; r < rounds; r++)
	{
		double		t0 = clock_seconds(CLOCK_MONOTONIC);
		double		cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);

		checksum = 0;
		tokens = 0;
		for (int i = 0; i < n; i++)
		{
			LmEncoding	enc = {0};

			if (lm_tokenizer_encode(tok, lines[i], strlen(lines[i]), true, &enc, &err) < 0 ||
				lm_model_embed(m, enc.ids, NULL, (int) enc.n, LM_POOL_MEAN, false, out, &err) < 0)
			{
				fprintf(stderr, "line %d: %s\n", i + 1, err.message);
				return 1;
			}
			if ((int) enc.n > longest)
				longest = (int) enc.n;
			tokens += enc.n;
			checksum += out[0];
			lm_encoding_free(&enc);
		}
		if (clock_seconds(CLOCK_MONOTONIC) - t0 < best)
			best = clock_seconds(CLOCK_MONOTONIC) - t0;
		if (clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0 < best_cpu)
			best_cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	}
	printf("engine embed rows=%d tokens=%ld longest=%d max_positions=%d seconds=%.4f "
		   "rows_per_second=%.1f cpu_seconds=%.4f rows_per_cpu_second=%.1f checksum=%.4f\n",
		   n, tokens, longest, lm_model_info(m)->max_positions, best, n / best,
		   best_cpu, n / best_cpu, checksum);

	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(out);
	lm_tokenizer_free(tok);
	lm_model_free(m);
	lm_tensorset_free(&set);
	return 0;
}
