/*
 * bench_encoder.c — the engine's sentence embeddings on a checkpoint
 * directory (config.json + model.safetensors): the engine side of
 * bench/run_ort.sh, which races it against ONNX Runtime on the same weights
 * (bench/ort_model.py writes them, bench/bench_ort.mjs is the peer).
 *
 *   bench_encoder [--rounds N | N] [--threads N] [--seq N] [--batch N]
 *                 [--embeddings FILE] DIR
 *
 * Inputs as bench_transformers.c's encoder: --batch inputs (default 32) of
 * --seq tokens (default 128), token i of the batch (counting across the
 * inputs) (i · 7919 + 101) mod the vocabulary, no padding.  Untimed first:
 * input 0 (mean-pooled, not normalised: the check compares that vector too)
 * and the batch once; then --rounds rounds (default 3) of: each input alone with
 * lm_model_embed (batch 1), then all of them with lm_model_embed_batch, mean
 * pooling, L2-normalised.  Prints "key value" lines: engine_b1_s is the mean
 * over the inputs of each input's best time over the rounds, engine_b32_s the
 * batch's best time.  --embeddings FILE writes float32 rows
 * [1 + 2 · batch][hidden]: the untimed call's vector, the inputs one at a
 * time, the batch (bench/ort_model.py compare reads them).
 *
 * --threads N gives the engine N threads of its own, as pg_lm.threads gives
 * the model server, with one OpenBLAS thread.  The engine
 * picks OpenBLAS's core type as the extension does, unless
 * OPENBLAS_CORETYPE is set.  Build from the project root: make bench-build.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "models/pooling.h"
#include "nn/blas.h"
#include "nn/parallel.h"
#include "nn/matrix.h"
#include "util/file.h"

#include "bench_util.h"

static void
usage(void)
{
	fprintf(stderr,
			"usage: bench_encoder [--rounds N | N] [--threads N] [--seq N] [--batch N]\n"
			"                     [--embeddings FILE] DIR\n"
			"  DIR holds config.json and model.safetensors of a BERT encoder\n");
	exit(2);
}

/* The threads OpenBLAS runs, as it reports them (-1 when it cannot say). */
int
main(int argc, char **argv)
{
	int			rounds = 3;
	int			threads = 0;
	int			seq = 128;
	int			batch = 32;
	const char *embeddings = NULL;
	const char *dir = NULL;
	char		path[4096];
	uint8_t    *config;
	size_t		len;
	LmTensorSet set = {0};
	LmModel    *model;
	const LmModelInfo *info;
	LmError		err;
	int32_t    *ids;
	int		   *lengths;
	float	   *rows;
	float	   *out;
	double	   *one_best;
	double		batch_best = 1e30;
	double		sum = 0;
	double		t;
	int			d;

	for (int i = 1; i < argc; i++)
	{
		static const char *const opts[] = {"--rounds", "--threads", "--seq", "--batch", "--embeddings"};
		const char *a = argv[i];
		const char *value = NULL;
		int			opt = -1;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage();
		if (a[0] != '-')
		{
			if (strspn(a, "0123456789") == strlen(a))
				rounds = parse_count("rounds", a, 1, 1000000);
			else if (dir == NULL)
				dir = a;
			else
				usage();
			continue;
		}
		opt = option_value(argc, argv, &i, opts, (int) (sizeof(opts) / sizeof(opts[0])), &value);
		if (opt < 0 || value == NULL)
			usage();
		switch (opt)
		{
			case 0:
				rounds = parse_count(a, value, 1, 1000000);
				break;
			case 1:
				threads = parse_count(a, value, 1, 1024);
				break;
			case 2:
				seq = parse_count(a, value, 1, 1 << 20);
				break;
			case 3:
				batch = parse_count(a, value, 1, 1 << 20);
				break;
			case 4:
				embeddings = value;
				break;
		}
	}
	if (dir == NULL)
		usage();

	/*
	 * The engine's own threads, as the model server runs it (pg_lm.threads),
	 * with one OpenBLAS thread: OpenBLAS reads its count when it loads.
	 */
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	setenv("OMP_NUM_THREADS", "1", 1);
	if (threads > 0)
		lm_parallel_set_threads(threads);
	lm_error_clear(&err);
	if (lm_blas_init(&err) < 0)
		die("OpenBLAS", &err);
	printf("cpu_kernels %s\n", lm_simd_name(lm_simd_current()));
	printf("openblas_core %s\n", lm_blas_core());
	printf("threads %d\n", lm_parallel_threads());
	printf("blas_threads %d\n", blas_threads());
	printf("rounds %d\n", rounds);

	/* the checkpoint, read into memory */
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (lm_read_file(path, 1 << 20, &config, &len, &err) < 0)
		die(path, &err);
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	t = now();
	if (lm_safetensors_load(path, &set, &err) < 0)
		die(path, &err);
	model = lm_model_load((char *) config, len, &set, &err);
	free(config);
	if (model == NULL)
		die(dir, &err);
	printf("engine_load_s %.3f\n", now() - t);
	info = lm_model_info(model);
	d = info->hidden_size;
	if (seq > info->max_positions)
	{
		fprintf(stderr, "bench_encoder: --seq %d exceeds the model's %d positions\n", seq, info->max_positions);
		exit(2);
	}
	printf("engine_params %ld\n", (long) info->n_params);

	ids = malloc((size_t) batch * seq * sizeof(int32_t));
	lengths = malloc(batch * sizeof(int));
	rows = malloc((size_t) (1 + 2 * batch) * d * sizeof(float));
	out = malloc((size_t) batch * d * sizeof(float));
	one_best = malloc(batch * sizeof(double));
	if (!ids || !lengths || !rows || !out || !one_best)
		die("out of memory", NULL);
	for (long i = 0; i < (long) batch * seq; i++)
		ids[i] = (int32_t) ((i * 7919L + 101) % info->vocab_size);
	for (int i = 0; i < batch; i++)
	{
		lengths[i] = seq;
		one_best[i] = 1e30;
	}

	/* untimed: input 0, mean-pooled, not normalised; then the batch once (first-call allocations) */
	if (lm_model_embed(model, ids, NULL, seq, LM_POOL_MEAN, false, rows, &err) < 0)
		die("embed", &err);
	if (lm_model_embed_batch(model, ids, NULL, lengths, batch, LM_POOL_MEAN, true, out, &err) < 0)
		die("embed batch", &err);

	for (int r = 0; r < rounds; r++)
	{
		for (int i = 0; i < batch; i++)
		{
			t = now();
			if (lm_model_embed(model, ids + (size_t) i * seq, NULL, seq, LM_POOL_MEAN, true,
							   rows + (size_t) (1 + i) * d, &err) < 0)
				die("embed", &err);
			t = now() - t;
			if (t < one_best[i])
				one_best[i] = t;
		}
		t = now();
		if (lm_model_embed_batch(model, ids, NULL, lengths, batch, LM_POOL_MEAN, true, out, &err) < 0)
			die("embed batch", &err);
		t = now() - t;
		if (t < batch_best)
			batch_best = t;
		memcpy(rows + (size_t) (1 + batch) * d, out, (size_t) batch * d * sizeof(float));
		fprintf(stderr, "engine round %d of %d done\n", r + 1, rounds);
	}

	if (embeddings != NULL)
	{
		FILE	   *f = fopen(embeddings, "wb");

		if (f == NULL || fwrite(rows, sizeof(float), (size_t) (1 + 2 * batch) * d, f) != (size_t) (1 + 2 * batch) * d ||
			fclose(f) != 0)
			die(embeddings, NULL);
	}
	for (int i = 0; i < batch; i++)
		sum += one_best[i];
	printf("engine_b1_s %.6f\n", sum / batch);
	printf("engine_b32_s %.6f\n", batch_best);
	printf("seq_tokens %d\nbatch %d\n", seq, batch);

	free(ids);
	free(lengths);
	free(rows);
	free(out);
	free(one_best);
	lm_model_free(model);
	lm_tensorset_free(&set);
	return 0;
}
