/*
 * bench_device.c — the engine on a device against the engine on the CPU:
 * batched decoding (tokens/s) and encoder batches (sequences/s), the same
 * work on each, in the same run.
 *
 *   bench_device --decoder DIR --encoder DIR [--device KIND]... [--module PATH]
 *                [--batches 1,8,32] [--prompt N] [--decode N] [--seq N] [--batch N]
 *                [--engine-threads N] [--rounds N]
 *
 * DIR holds config.json and model.safetensors (bench_transformers
 * --write-models makes GPT-2-small and BERT-base shapes with random
 * weights).  KIND is cpu (the engine's threads), cuda (the module at
 * --module, default build/pg_lm_cuda.so) or reference; each --device adds
 * one column.  Decoding: B sequences each get a --prompt token prompt,
 * then --decode steps of all B together (lm_decoders_step, greedy);
 * tokens/s counts decoded tokens only.  Encoding: --batch inputs of --seq
 * tokens through lm_model_embed_batch.  Best of --rounds.
 * Prints "key value" lines.  See bench/gpu/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/device.h"
#include "formats/safetensors.h"
#include "models/model.h"
#include "models/pooling.h"
#include "nn/ops.h"
#include "nn/parallel.h"
#include "util/file.h"

#include "bench_util.h"

#define MAX_DEVICES 4
#define MAX_BATCHES 8

static int	rounds = 3;
static int	prompt_tokens = 16;
static int	decode_tokens = 64;
static int	seq_tokens = 128;
static int	encode_batch = 32;
static int	batches[MAX_BATCHES] = {1, 8, 32};
static int	n_batches = 3;

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static int
random_id(int vocab)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (int) (rng % (uint64_t) vocab);
}

/* A model from DIR, moved to dev unless dev is NULL. */
static LmModel *
load(const char *dir, LmTensorSet *set, LmDevice *dev)
{
	char		path[4096];
	uint8_t    *config;
	size_t		len;
	LmError		err;
	LmModel    *m;

	lm_error_init(&err, NULL);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (lm_read_file(path, 1 << 20, &config, &len, &err) < 0)
		die(path, &err);
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	if (lm_safetensors_load(path, set, &err) < 0)
		die(path, &err);
	if ((m = lm_model_load((char *) config, len, set, &err)) == NULL)
		die("load", &err);
	free(config);
	if (dev != NULL && lm_model_use_device(m, dev, &err) != 1)
		die("to the device", &err);
	return m;
}

/* Decoded tokens per second for b sequences decoded together (best round). */
static double
decode_rate(const LmModel *m, int b)
{
	const LmModelInfo *info = lm_model_info(m);
	LmDecoder **decs = calloc(b, sizeof(LmDecoder *));
	int32_t    *ids = malloc(sizeof(int32_t) * (b > prompt_tokens ? b : prompt_tokens));
	float	   *logits = malloc(sizeof(float) * (size_t) b * info->vocab_size);
	double		best = 0;
	LmError		err;

	lm_error_init(&err, NULL);
	for (int r = 0; r < rounds; r++)
	{
		double		t0;

		for (int i = 0; i < b; i++)
		{
			if ((decs[i] = lm_decoder_start(m, prompt_tokens + decode_tokens, &err)) == NULL)
				die("decoder", &err);
			for (int t = 0; t < prompt_tokens; t++)
				ids[t] = random_id(info->vocab_size);
			if (lm_decoder_feed(decs[i], ids, prompt_tokens, NULL, &err) < 0)
				die("prompt", &err);
		}
		for (int i = 0; i < b; i++)
			ids[i] = random_id(info->vocab_size);
		t0 = now();
		for (int step = 0; step < decode_tokens; step++)
		{
			if (lm_decoders_step(decs, ids, b, logits, &err) < 0)
				die("step", &err);
			for (int i = 0; i < b; i++)
				ids[i] = lm_argmax(logits + (size_t) i * info->vocab_size, info->vocab_size);
		}
		if ((double) b * decode_tokens / (now() - t0) > best)
			best = (double) b * decode_tokens / (now() - t0);
		for (int i = 0; i < b; i++)
			lm_decoder_free(decs[i]);
	}
	free(decs);
	free(ids);
	free(logits);
	return best;
}

/* Sequences per second through lm_model_embed_batch (best round). */
static double
encode_rate(const LmModel *m)
{
	const LmModelInfo *info = lm_model_info(m);
	int			n = encode_batch * seq_tokens;
	int32_t    *ids = malloc(sizeof(int32_t) * n);
	int		   *lengths = malloc(sizeof(int) * encode_batch);
	float	   *out = malloc(sizeof(float) * (size_t) encode_batch * info->hidden_size);
	double		best = 0;
	LmError		err;

	lm_error_init(&err, NULL);
	for (int i = 0; i < n; i++)
		ids[i] = random_id(info->vocab_size);
	for (int i = 0; i < encode_batch; i++)
		lengths[i] = seq_tokens;
	for (int r = 0; r < rounds; r++)
	{
		double		t0 = now();

		if (lm_model_embed_batch(m, ids, NULL, lengths, encode_batch, LM_POOL_MEAN, false, out, &err) < 0)
			die("embed", &err);
		if (encode_batch / (now() - t0) > best)
			best = encode_batch / (now() - t0);
	}
	free(ids);
	free(lengths);
	free(out);
	return best;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: bench_device [--decoder DIR] [--encoder DIR] [--device cpu|cuda|reference]...\n"
			"                    [--module PATH] [--batches 1,8,32] [--prompt N] [--decode N]\n"
			"                    [--seq N] [--batch N] [--engine-threads N] [--rounds N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *decoder = NULL,
			   *encoder = NULL,
			   *module = "build/pg_lm_cuda.so";
	const char *kinds[MAX_DEVICES];
	int			n_kinds = 0;
	int			threads = 1;

	for (int i = 1; i < argc; i++)
	{
		static const char *const opts[] = {"--decoder", "--encoder", "--device", "--module",
			"--batches", "--prompt", "--decode", "--seq", "--batch", "--engine-threads", "--rounds"};
		const char *v;
		int			o = option_value(argc, argv, &i, opts, 11, &v);

		if (o >= 0 && v == NULL)
			usage();

		switch (o)
		{
			case 0:
				decoder = v;
				break;
			case 1:
				encoder = v;
				break;
			case 2:
				if (n_kinds == MAX_DEVICES)
					usage();
				kinds[n_kinds++] = v;
				break;
			case 3:
				module = v;
				break;
			case 4:
				n_batches = 0;
				for (char *s = strdup(v), *tok = strtok(s, ","); tok && n_batches < MAX_BATCHES;
					 tok = strtok(NULL, ","))
					batches[n_batches++] = parse_count("--batches", tok, 1, 256);
				break;
			case 5:
				prompt_tokens = parse_count("--prompt", v, 1, 4096);
				break;
			case 6:
				decode_tokens = parse_count("--decode", v, 1, 4096);
				break;
			case 7:
				seq_tokens = parse_count("--seq", v, 1, 4096);
				break;
			case 8:
				encode_batch = parse_count("--batch", v, 1, 1024);
				break;
			case 9:
				threads = parse_count("--engine-threads", v, 1, 1024);
				break;
			case 10:
				rounds = parse_count("--rounds", v, 1, 100);
				break;
			default:
				usage();
		}
	}
	if (n_kinds == 0)
		kinds[n_kinds++] = "cpu";
	lm_parallel_set_threads(threads);
	printf("engine_threads %d\n", threads);
	for (int k = 0; k < n_kinds; k++)
	{
		LmDevice   *dev = NULL;
		LmTensorSet set;
		LmModel    *m;
		LmError		err;

		lm_error_init(&err, NULL);
		if (strcmp(kinds[k], "cpu") != 0 &&
			(dev = lm_device_open(kinds[k], module, &err)) == NULL)
			die(kinds[k], &err);
		printf("device.%s %s\n", kinds[k], dev ? lm_device_description(dev) : "the engine's CPU kernels");
		fflush(stdout);
		if (decoder != NULL)
		{
			m = load(decoder, &set, dev);
			for (int b = 0; b < n_batches; b++)
			{
				printf("decode_tokens_per_s.%s.batch%d %.1f\n", kinds[k], batches[b], decode_rate(m, batches[b]));
				fflush(stdout);
			}
			lm_model_free(m);
			lm_tensorset_free(&set);
		}
		if (encoder != NULL)
		{
			m = load(encoder, &set, dev);
			printf("encode_sequences_per_s.%s.batch%d.seq%d %.1f\n", kinds[k], encode_batch, seq_tokens,
				   encode_rate(m));
			fflush(stdout);
			lm_model_free(m);
			lm_tensorset_free(&set);
		}
		lm_device_close(dev);
	}
	return 0;
}
