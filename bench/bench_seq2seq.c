/*
 * bench_seq2seq.c — translation speed of the encoder-decoder engine on
 * ../shared/models/mt-en-de (NLLB architecture, float16 weights computed in
 * float32): greedy and beam-4 generation of the reference sentences, in
 * milliseconds per sentence and generated tokens per second.
 *
 *   bench_seq2seq                          reference.json's cases, 10 times
 *   bench_seq2seq FILE N ROUNDS [IDS_OUT]  the first N lines of FILE, best of
 *                                          ROUNDS, in sentences per second
 *                                          (wall clock and CPU time)
 *
 * With FILE, each sentence goes the way lm_translate(..., 'eng_Latn',
 * 'deu_Latn', beams, 128, NULL, 'true') takes it, all inside the timing:
 * tokenize (tokenizer.json, no special tokens), [eng_Latn] ids </s>,
 * generate (forced first token deu_Latn, max_new_tokens 128, early
 * stopping, length penalty 1.0 from generation_config.json), decode.
 * Greedy, then beam 4.  IDS_OUT receives one line per sentence:
 * source ids, TAB, greedy output ids, TAB, beam-4 output ids (spaces
 * between ids), for bench_seq2seq_torch.py.
 *
 * Build from the project root: make bench-build (build/bench/bench_seq2seq),
 * and run with PG_LM_MODELS pointing at ../shared/models (the default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"
#include "util/file.h"

#include "bench_util.h"

#define MODEL "mt-en-de"
#define TARGET_LANG_ID 8001		/* deu_Latn in its tokenizer.json */
#define MAX_NEW_TOKENS 64
#define MAX_IDS 256
#define REPEATS 10
#define FILE_MAX_NEW_TOKENS 128
#define FILE_MAX_SENTENCES 100000

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* The source ids of one sentence: [src_lang] tokens </s>, as lm_translate builds them. */
static int32_t *
source_ids(const LmTokenizer *tok, const char *text, int32_t src_lang, int32_t eos, int *n,
		   LmError *err)
{
	LmEncoding	enc = {0};
	int32_t    *ids;

	if (lm_tokenizer_encode(tok, text, strlen(text), false, &enc, err) < 0)
		return NULL;
	ids = malloc(sizeof(int32_t) * (enc.n + 2));
	ids[0] = src_lang;
	memcpy(ids + 1, enc.ids, sizeof(int32_t) * enc.n);
	ids[enc.n + 1] = eos;
	*n = (int) enc.n + 2;
	lm_encoding_free(&enc);
	return ids;
}

/*
 * Translate sentences[0..n) with num_beams, best of `rounds`; the output
 * ids of the last round go to outs[i] (n_outs[i] ids) when outs is given.
 */
static int
bench_file(const LmModel *m, const LmTokenizer *tok, const char *gen_config, size_t gen_len,
		   const char *label, int num_beams, char **sentences, int n, int rounds,
		   int32_t **srcs, int *n_srcs, int32_t **outs, int *n_outs)
{
	const LmModelInfo *info = lm_model_info(m);
	LmSeq2SeqParams p;
	LmError		err;
	int32_t		out[FILE_MAX_NEW_TOKENS + 1];
	int32_t		src_lang = lm_tokenizer_token_to_id(tok, "eng_Latn");
	double		best = 1e30;
	double		best_cpu = 1e30;
	long		tokens = 0;
	long		chars = 0;

	lm_error_clear(&err);
	if (lm_seq2seq_params_init(m, gen_config, gen_len, &p, &err) < 0)
	{
		fprintf(stderr, "%s: %s\n", label, err.message);
		return -1;
	}
	p.num_beams = num_beams;
	p.max_new_tokens = FILE_MAX_NEW_TOKENS;
	p.early_stopping = LM_EARLY_STOPPING_ON;
	p.forced_bos_token_id = lm_tokenizer_token_to_id(tok, "deu_Latn");
	if (src_lang < 0 || p.forced_bos_token_id < 0 || info->n_eos < 1)
	{
		fprintf(stderr, "%s: the tokenizer lacks eng_Latn or deu_Latn, or no eos\n", label);
		return -1;
	}
	for (int r = 0; r < rounds; r++)
	{
		double		t0 = now();
		double		cpu0 = cpu_now();

		tokens = chars = 0;
		for (int i = 0; i < n; i++)
		{
			int			n_src;
			int			n_out;
			int			first;
			int			last;
			int32_t    *src = source_ids(tok, sentences[i], src_lang, info->eos_token_ids[0], &n_src, &err);
			char	   *text;

			if (src == NULL || lm_seq2seq_generate(m, src, n_src, &p, out, &n_out, &err) < 0)
			{
				fprintf(stderr, "%s, sentence %d: %s\n", label, i + 1, err.message);
				return -1;
			}
			/* as lm_translate: drop the start token and the final eos, decode */
			first = n_out > 0 && out[0] == p.decoder_start_token_id ? 1 : 0;
			last = n_out > first && out[n_out - 1] == p.eos_token_ids[0] ? n_out - 1 : n_out;
			text = lm_tokenizer_decode(tok, out + first, last - first, true, &err);
			if (text == NULL)
			{
				fprintf(stderr, "%s, sentence %d: %s\n", label, i + 1, err.message);
				return -1;
			}
			chars += strlen(text);
			free(text);
			tokens += n_out - 1;
			if (r == rounds - 1 && outs != NULL)
			{
				outs[i] = malloc(sizeof(int32_t) * n_out);
				memcpy(outs[i], out, sizeof(int32_t) * n_out);
				n_outs[i] = n_out;
				if (srcs != NULL)
				{
					srcs[i] = src;
					n_srcs[i] = n_src;
					src = NULL;
				}
			}
			free(src);
		}
		if (now() - t0 < best)
			best = now() - t0;
		if (cpu_now() - cpu0 < best_cpu)
			best_cpu = cpu_now() - cpu0;
	}
	printf("engine %s sentences=%d seconds=%.4f sentences_per_second=%.2f cpu_seconds=%.4f "
		   "sentences_per_cpu_second=%.2f generated_tokens=%ld tokens_per_second=%.1f output_chars=%ld\n",
		   label, n, best, n / best, best_cpu, n / best_cpu, tokens, tokens / best, chars);
	fflush(stdout);
	return 0;
}

static void
write_ids(FILE *f, const int32_t *ids, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(f, i ? " %d" : "%d", ids[i]);
}

static int
run_file(const LmModel *m, const char *base, const char *file, int n_max, int rounds,
		 const char *ids_out)
{
	char		path[512];
	uint8_t    *tok_json;
	uint8_t    *gen_config = NULL;
	size_t		len;
	size_t		gen_len = 0;
	LmTokenizer *tok;
	LmError		err;
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	char	  **sentences;
	int			n = 0;
	int32_t   **srcs;
	int32_t   **greedy;
	int32_t   **beam;
	int		   *n_srcs;
	int		   *n_greedy;
	int		   *n_beam;

	lm_error_clear(&err);
	snprintf(path, sizeof(path), "%s/%s/tokenizer.json", base, MODEL);
	if (lm_read_file(path, 64 << 20, &tok_json, &len, &err) < 0 ||
		(tok = lm_tokenizer_from_json((char *) tok_json, len, &err)) == NULL)
	{
		fprintf(stderr, "%s: %s\n", path, err.message);
		return 1;
	}
	free(tok_json);
	snprintf(path, sizeof(path), "%s/%s/generation_config.json", base, MODEL);
	if (lm_read_file(path, 1 << 20, &gen_config, &gen_len, &err) < 0)
	{
		gen_config = NULL;
		gen_len = 0;
		lm_error_clear(&err);
	}
	if ((f = fopen(file, "r")) == NULL)
	{
		perror(file);
		return 1;
	}
	if (n_max < 1 || n_max > FILE_MAX_SENTENCES)
		n_max = FILE_MAX_SENTENCES;
	sentences = calloc(n_max, sizeof(char *));
	while (n < n_max && getline(&line, &cap, f) > 0)
	{
		line[strcspn(line, "\r\n")] = '\0';
		sentences[n++] = strdup(line);
	}
	fclose(f);
	free(line);
	srcs = calloc(n, sizeof(int32_t *));
	greedy = calloc(n, sizeof(int32_t *));
	beam = calloc(n, sizeof(int32_t *));
	n_srcs = calloc(n, sizeof(int));
	n_greedy = calloc(n, sizeof(int));
	n_beam = calloc(n, sizeof(int));
	if (bench_file(m, tok, (char *) gen_config, gen_len, "greedy", 1, sentences, n, rounds,
				   srcs, n_srcs, greedy, n_greedy) < 0 ||
		bench_file(m, tok, (char *) gen_config, gen_len, "beam-4", 4, sentences, n, rounds,
				   NULL, NULL, beam, n_beam) < 0)
		return 1;
	if (ids_out != NULL)
	{
		if ((f = fopen(ids_out, "w")) == NULL)
		{
			perror(ids_out);
			return 1;
		}
		for (int i = 0; i < n; i++)
		{
			write_ids(f, srcs[i], n_srcs[i]);
			fputc('\t', f);
			write_ids(f, greedy[i], n_greedy[i]);
			fputc('\t', f);
			write_ids(f, beam[i], n_beam[i]);
			fputc('\n', f);
		}
		fclose(f);
	}
	for (int i = 0; i < n; i++)
	{
		free(sentences[i]);
		free(srcs[i]);
		free(greedy[i]);
		free(beam[i]);
	}
	free(sentences);
	free(srcs);
	free(greedy);
	free(beam);
	free(n_srcs);
	free(n_greedy);
	free(n_beam);
	free(gen_config);
	lm_tokenizer_free(tok);
	return 0;
}

int
main(int argc, char **argv)
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
	if (argc >= 4)
	{
		int			rc = run_file(m, base, argv[1], atoi(argv[2]), atoi(argv[3]),
								  argc >= 5 ? argv[4] : NULL);

		lm_model_free(m);
		lm_tensorset_free(&set);
		return rc;
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
