/*
 * bench_rnn.c — sequences per second of the RNN engine's LSTM classifier
 * (the rnn-lstm-langid fixture: embedding 32, 2-layer bidirectional LSTM
 * of 48, linear head) on 1,000 random sequences of 32 tokens, one at a
 * time, one thread, best of ROUNDS in wall-clock and in CPU time.
 * bench_rnn_torch.py runs the same in PyTorch.
 *
 * Build from the project root: make bench-build (build/bench/bench_rnn,
 * linked with the engine library).
 * Run with PG_LM_FIXTURES pointing at ../shared/fixtures (the default);
 * OpenBLAS runs one thread unless OPENBLAS_NUM_THREADS says otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/safetensors.h"
#include "models/rnn.h"
#include "nn/blas.h"
#include "util/file.h"

#define MODEL_NAME "rnn-lstm-langid"
#define N_SEQUENCES 1000
#define SEQ_LEN 32
#define ROUNDS 5
#define RANDOM_SEED 12345u

static double
clock_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A small LCG, so that every run (and the PyTorch script) sees fixed ids. */
static uint32_t
next_random(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

int
main(void)
{
	const char *base = getenv("PG_LM_FIXTURES") ? getenv("PG_LM_FIXTURES") : "../shared/fixtures";
	char		path[512];
	uint8_t    *config = NULL;
	size_t		len;
	LmTensorSet set = {0};
	LmRnnModel *m = NULL;
	LmError		err;
	int32_t    *ids;
	float		logits[16];
	uint32_t	rng = RANDOM_SEED;
	double		best = 1e30;
	double		best_cpu = 1e30;
	double		checksum = 0.0;

	lm_error_clear(&err);
	snprintf(path, sizeof(path), "%s/models/%s/config.json", base, MODEL_NAME);
	if (lm_read_file(path, 1 << 20, &config, &len, &err) == 0)
	{
		snprintf(path, sizeof(path), "%s/models/%s/model.safetensors", base, MODEL_NAME);
		if (lm_safetensors_load(path, &set, &err) == 0)
			m = lm_rnn_load((char *) config, len, &set, &err);
	}
	if (m == NULL)
	{
		fprintf(stderr, "%s: %s\n", MODEL_NAME, err.message);
		return 1;
	}
	if (lm_rnn_info(m)->num_labels > 16)
		return 1;

	ids = malloc(sizeof(int32_t) * N_SEQUENCES * SEQ_LEN);
	for (int i = 0; i < N_SEQUENCES * SEQ_LEN; i++)
		ids[i] = (int32_t) (next_random(&rng) % (uint32_t) lm_rnn_info(m)->vocab_size);

	/* warm up: caches, OpenBLAS's first call */
	for (int s = 0; s < N_SEQUENCES / 10; s++)
		lm_rnn_classify(m, ids + s * SEQ_LEN, SEQ_LEN, logits, &err);

	for (int r = 0; r < ROUNDS; r++)
	{
		double		t0 = clock_seconds(CLOCK_MONOTONIC);
		double		cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);

		for (int s = 0; s < N_SEQUENCES; s++)
		{
			if (lm_rnn_classify(m, ids + s * SEQ_LEN, SEQ_LEN, logits, &err) < 0)
			{
				fprintf(stderr, "classify: %s\n", err.message);
				return 1;
			}
			if (r == 0)
				checksum += logits[0];
		}
		if (clock_seconds(CLOCK_MONOTONIC) - t0 < best)
			best = clock_seconds(CLOCK_MONOTONIC) - t0;
		if (clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0 < best_cpu)
			best_cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	}
	/* CPU time too: the development machines are shared, wall time swings */
	printf("engine lstm-classifier sequences=%d tokens=%d seconds=%.4f sequences_per_second=%.0f "
		   "cpu_seconds=%.4f sequences_per_cpu_second=%.0f blas=%s checksum=%.4f\n",
		   N_SEQUENCES, SEQ_LEN, best, N_SEQUENCES / best, best_cpu, N_SEQUENCES / best_cpu,
		   lm_blas_core(), checksum);

	free(ids);
	lm_rnn_free(m);
	lm_tensorset_free(&set);
	free(config);
	return 0;
}
