/*
 * bench_seq2seq.c — translation speed of the encoder-decoder engine on
 * ../shared/models/mt-en-de (NLLB architecture, float16 weights computed in
 * float32): greedy and beam-4 generation of the reference sentences, in
 * milliseconds per sentence and generated tokens per second.
 *
 * Build from the project root with -Isrc, linking src/util/lm_error.c,
 * src/util/file.c and the .c files of src/formats, src/nn and src/models,
 * with -ljansson -ldl -lm; run with PG_LM_MODELS pointing at
 * ../shared/models (the default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "util/file.h"

#define MODEL "mt-en-de"
#define TARGET_LANG_ID 8001		/* deu_Latn in its tokenizer.json */
#define MAX_NEW_TOKENS 64
#define MAX_IDS 256
#define REPEATS 10

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Translate every source REPEATS times; report per sentence and per token. */
static void
bench(const LmModel *m, const char *label, int num_beams, json_t *cases)
{
	LmSeq2SeqParams p;
	LmError		err;
	int32_t		out[MAX_NEW_TOKENS + 1];
	long		tokens = 0;
	int			sentences = 0;
	double		t0;
	size_t		i;
	json_t	   *c;

	lm_error_clear(&err);
	lm_seq2seq_params_init(m, NULL, 0, &p, &err);
	p.num_beams = num_beams;
	p.max_new_tokens = MAX_NEW_TOKENS;
	p.early_stopping = LM_EARLY_STOPPING_ON;
	p.forced_bos_token_id = TARGET_LANG_ID;
	t0 = now();
	for (int r = 0; r < REPEATS; r++)
		json_array_foreach(cases, i, c)
	{
		int32_t		src[MAX_IDS];
		int			n_src = 0;
		int			n_out;
		size_t		j;
		json_t	   *v;

		json_array_foreach(json_object_get(c, "input_ids"), j, v)
			if (n_src < MAX_IDS)
			src[n_src++] = (int32_t) json_integer_value(v);
		if (lm_seq2seq_generate(m, src, n_src, &p, out, &n_out, &err) < 0)
		{
			fprintf(stderr, "%s: %s\n", label, err.message);
			return;
		}
		tokens += n_out - 1;
		sentences++;
	}
	{
		double		secs = now() - t0;

		printf("%-8s %6.2f ms/sentence  %8.1f tokens/s  (%d sentences, %ld tokens)\n", label,
			   1e3 * secs / sentences, tokens / secs, sentences, tokens);
	}
}

int
main(void)
{
	const char *base = getenv("PG_LM_MODELS") ? getenv("PG_LM_MODELS") : "../shared/models";
	char		path[512];
	uint8_t    *config;
	size_t		len;
	LmTensorSet set;
	LmModel    *m = NULL;
	json_t	   *ref;
	LmError		err;

	lm_error_clear(&err);
	snprintf(path, sizeof(path), "%s/%s/config.json", base, MODEL);
	if (lm_read_file(path, 1 << 20, &config, &len, &err) == 0)
	{
		snprintf(path, sizeof(path), "%s/%s/model.safetensors", base, MODEL);
		if (lm_safetensors_load(path, &set, &err) == 0)
			m = lm_model_load((char *) config, len, &set, &err);
		free(config);
	}
	if (m == NULL)
	{
		fprintf(stderr, "%s: %s\n", MODEL, err.message);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s/reference.json", base, MODEL);
	ref = json_load_file(path, 0, NULL);
	if (ref == NULL)
	{
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	bench(m, "greedy", 1, json_object_get(ref, "cases"));
	bench(m, "beam-4", 4, json_object_get(ref, "cases"));
	json_decref(ref);
	lm_model_free(m);
	lm_tensorset_free(&set);
	return 0;
}
