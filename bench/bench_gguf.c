/*
 * bench_gguf.c — pg_lm's engine on a GGUF model, the work llama-bench
 * measures (bench/gguf.sh runs both in the same rounds): a prompt of
 * --prompt tokens in one forward pass (llama-bench's pp), and --decode
 * tokens decoded one at a time from an empty context (its tg).  One
 * thread, after an untimed warm-up round (as llama-bench's); tokens are
 * ids spread over the vocabulary.  The weights are held as the model
 * server holds them: the file's tensors written to a weights file (tensors
 * on 64-byte boundaries, where a GGUF file's are on 32), read back into
 * memory of the process's own, on huge pages where the system gives them
 * (lm_weights_file_open with a private copy); bench/gguf.sh runs
 * llama-bench with its weights read into buffers of its own (-lm none).
 * Prints
 * "pp TOKENS_PER_S" and "tg TOKENS_PER_S", the best of --rounds; the bytes
 * of weights one decoded token reads ("bytes_per_token": every tensor but
 * the token and position embeddings, of which a step reads a row); and
 * "read_gbs", what one thread can stream from memory (summing a 1 GB
 * buffer, best of the rounds): decoding reads bytes_per_token per token,
 * so tg × bytes_per_token ÷ read_gbs is the fraction of it reached.
 *   bench_gguf MODEL.gguf [--rounds N] [--prompt N] [--decode N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "formats/gguf.h"
#include "formats/gguf_hf.h"
#include "formats/weights_file.h"
#include "models/model.h"

/* One pass summing n floats (n a multiple of 64), vector adds in independent chains. */
typedef float v8 __attribute__((vector_size(32)));

#define READ_PASS(name) \
static float \
name(const float *buf, size_t n) \
{ \
	v8			acc[8] = {{0}}; \
	const v8   *p = (const v8 *) buf; \
	float		s = 0; \
 \
	for (size_t i = 0; i < n / 8; i += 8) \
		for (int j = 0; j < 8; j++) \
			acc[j] += p[i + j]; \
	for (int j = 0; j < 8; j++) \
		for (int k = 0; k < 8; k++) \
			s += acc[j][k]; \
	return s; \
}

READ_PASS(read_pass)
__attribute__((target("avx2"))) READ_PASS(read_pass_avx2)

/*
 * set (pointing into the GGUF file) replaced by the same tensors as the
 * model server holds them: written to a weights file beside nothing else
 * (TMPDIR), read back privately, the file removed.
 */
static void
held_as_server(LmTensorSet *set, LmError *err)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char		path[4096],
				tmp[4200];
	LmWeightsWriter *w;
	LmTensorSet held;

	snprintf(path, sizeof(path), "%s/bench_gguf.%d.weights", dir, (int) getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((w = lm_weights_file_create(tmp, set, "bench", err)) == NULL)
		die("weights file", err);
	for (size_t i = 0; i < set->n; i++)
		if (lm_weights_file_append(w, set->tensors[i].data, set->tensors[i].nbytes, err) != 0)
		{
			lm_weights_file_abort(w);
			die("weights file", err);
		}
	if (lm_weights_file_finish(w, path, err) != 0)
		die("weights file", err);
	if (lm_weights_file_open(path, "bench", false, true, &held, err) != 0)
		die("weights file", err);
	unlink(path);
	lm_tensorset_free(set);
	*set = held;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	int			rounds = 3,
				prompt = 512,
				decode = 128;
	LmGguf		g;
	LmTensorSet set;
	char	   *config;
	LmModel    *model;
	LmError		err;
	int32_t    *ids;
	float	   *logits;
	double		best_pp = 0,
				best_tg = 0;
	int			vocab;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = parse_count("--rounds", argv[++i], 1, 100);
		else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc)
			prompt = parse_count("--prompt", argv[++i], 1, 8192);
		else if (strcmp(argv[i], "--decode") == 0 && i + 1 < argc)
			decode = parse_count("--decode", argv[++i], 1, 8192);
		else
			path = argv[i];
	}
	if (path == NULL)
	{
		fprintf(stderr, "usage: bench_gguf MODEL.gguf [--rounds N] [--prompt N] [--decode N]\n");
		return 2;
	}
	lm_error_clear(&err);
	if (lm_gguf_load(path, &g, &err) != 0 || lm_gguf_as_hf(&g, &config, &set, &err) != 0)
		die("load", &err);
	held_as_server(&set, &err);
	lm_gguf_free(&g);
	if ((model = lm_model_load(config, strlen(config), &set, &err)) == NULL)
		die("build", &err);
	vocab = lm_model_info(model)->vocab_size;
	ids = malloc(sizeof(int32_t) * (prompt > decode ? prompt : decode));
	logits = malloc(sizeof(float) * vocab);
	for (int i = 0; i < (prompt > decode ? prompt : decode); i++)
		ids[i] = (int32_t) (((long) i * 7919 + 13) % vocab);
	/*
	 * A warm-up round first, untimed, as llama-bench does: the first pass
	 * touches every page of the mapped file and the scratch buffers.
	 */
	for (int r = -1; r < rounds; r++)
	{
		double		t0 = now();
		LmDecoder  *dec;

		if (lm_model_logits(model, ids, prompt, false, logits, &err) < 0)
			die("prompt", &err);
		if (r >= 0 && prompt / (now() - t0) > best_pp)
			best_pp = prompt / (now() - t0);
		if ((dec = lm_decoder_start(model, decode, &err)) == NULL)
			die("decoder", &err);
		t0 = now();
		for (int t = 0; t < decode; t++)
			if (lm_decoder_step(dec, ids[t], logits, &err) != 0)
				die("decode", &err);
		if (r >= 0 && decode / (now() - t0) > best_tg)
			best_tg = decode / (now() - t0);
		lm_decoder_free(dec);
	}
	{
		size_t		per_token = 0,
					n_floats = (size_t) 1 << 28;	/* 1 GB */
		float	   *buf = aligned_alloc(64, sizeof(float) * n_floats);
		double		best_read = 0;
		volatile float sink = 0;

		for (size_t i = 0; i < set.n; i++)
			if (strstr(set.tensors[i].name, "wte.") == NULL && strstr(set.tensors[i].name, "wpe.") == NULL &&
				strstr(set.tensors[i].name, "embed_tokens") == NULL)
				per_token += set.tensors[i].nbytes;
		for (size_t i = 0; buf != NULL && i < n_floats; i++)
			buf[i] = (float) (i & 1023);
		for (int r = 0; buf != NULL && r < rounds; r++)
		{
			double		t0 = now();

			sink += __builtin_cpu_supports("avx2") ? read_pass_avx2(buf, n_floats) : read_pass(buf, n_floats);
			if (sizeof(float) * n_floats / (now() - t0) / 1e9 > best_read)
				best_read = sizeof(float) * n_floats / (now() - t0) / 1e9;
		}
		(void) sink;
		free(buf);
		printf("pp %.2f\ntg %.2f\nbytes_per_token %zu\nread_gbs %.2f\n", best_pp, best_tg, per_token, best_read);
	}
	lm_model_free(model);
	lm_tensorset_free(&set);
	free(config);
	free(ids);
	free(logits);
	return 0;
}
