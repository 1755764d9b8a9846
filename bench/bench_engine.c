/*
 * bench_engine.c — throughput of the transformer engine on the real models
 * in ../shared/models: GPT-2 prefill and greedy decoding (captions-gpt2),
 * BERT classification (sentiment-rt).
 *
 * Build from the project root: make bench-build (build/bench/bench_engine,
 * linked with the engine library); run with OPENBLAS_NUM_THREADS=1 and
 * PG_LM_MODELS pointing at ../shared/models (the default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "util/file.h"

#include "bench_util.h"

#define PREFILL_TOKENS 64
#define DECODE_TOKENS 64
#define CLASSIFY_TOKENS 32
#define REPEATS 20

static LmModel *
load(const char *name, LmTensorSet *set)
{
	const char *base = getenv("PG_LM_MODELS") ? getenv("PG_LM_MODELS") : "../shared/models";
	char		path[512];
	uint8_t    *config;
	size_t		len;
	LmError		err;
	LmModel    *m = NULL;

	lm_error_clear(&err);
	snprintf(path, sizeof(path), "%s/%s/config.json", base, name);
	if (lm_read_file(path, 1 << 20, &config, &len, &err) == 0)
	{
		snprintf(path, sizeof(path), "%s/%s/model.safetensors", base, name);
		if (lm_safetensors_load(path, set, &err) == 0)
			m = lm_model_load((char *) config, len, set, &err);
		free(config);
	}
	if (m == NULL)
		fprintf(stderr, "%s: %s\n", name, err.message);
	return m;
}

int
main(void)
{
	LmTensorSet gpt_set = {0};
	LmTensorSet bert_set = {0};
	LmModel    *gpt = load("captions-gpt2", &gpt_set);
	LmModel    *bert = load("sentiment-rt", &bert_set);
	int32_t		ids[PREFILL_TOKENS];
	int32_t		out[DECODE_TOKENS];
	int			n_out;
	LmError		err;
	double		t;

	if (gpt == NULL || bert == NULL)
		return 1;
	for (int i = 0; i < PREFILL_TOKENS; i++)
		ids[i] = 100 + 7 * i;

	/* prefill: logits of the last position after 64 tokens */
	{
		float	   *logits = malloc(lm_model_info(gpt)->vocab_size * sizeof(float));

		t = now();
		for (int r = 0; r < REPEATS; r++)
			lm_model_logits(gpt, ids, PREFILL_TOKENS, false, logits, &err);
		t = now() - t;
		printf("captions-gpt2 prefill %d tokens: %.2f ms (%.0f tokens/s)\n", PREFILL_TOKENS,
			   1e3 * t / REPEATS, REPEATS * PREFILL_TOKENS / t);
		free(logits);
	}

	/* greedy decoding after an 8-token prompt */
	{
		LmGenerateParams p = {.max_new_tokens = DECODE_TOKENS, .sampling = LM_SAMPLING_GREEDY,
		.ignore_eos = true};

		t = now();
		for (int r = 0; r < REPEATS; r++)
			lm_generate(gpt, ids, 8, &p, out, &n_out, &err);
		t = now() - t;
		printf("captions-gpt2 greedy decode: %.0f tokens/s (%.2f ms/token)\n",
			   REPEATS * n_out / t, 1e3 * t / (REPEATS * n_out));
	}

	/* classification of 32-token inputs */
	{
		float		logits[2];

		t = now();
		for (int r = 0; r < REPEATS * 10; r++)
			lm_model_classify(bert, ids, CLASSIFY_TOKENS, logits, &err);
		t = now() - t;
		printf("sentiment-rt classify %d tokens: %.3f ms (%.0f inputs/s)\n", CLASSIFY_TOKENS,
			   1e3 * t / (REPEATS * 10), REPEATS * 10 / t);
	}

	lm_model_free(gpt);
	lm_model_free(bert);
	lm_tensorset_free(&gpt_set);
	lm_tensorset_free(&bert_set);
	return 0;
}
