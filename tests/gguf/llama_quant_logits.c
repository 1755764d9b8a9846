/*
 * llama_quant_logits.c — llama.cpp's outputs for the quantized GGUF
 * fixtures, the reference the per-type parity test compares with.  Token ids
 * come on stdin (whitespace-separated), cut into sequences of N ids; each
 * sequence runs from position 0 in an emptied key/value cache.
 *
 *   llama_quant_logits MODEL.gguf logits N  < ids  > MODEL.logits.bin
 *     each sequence in one batch; every position's logits as raw
 *     little-endian float32 [n_seq][N][n_vocab]
 *   llama_quant_logits MODEL.gguf greedy N N_NEW  < ids  > MODEL.greedy.json
 *     each sequence a prompt in one batch, then N_NEW greedy tokens decoded
 *     one at a time (a batch of one each); JSON {"prompts", "continuations",
 *     "margins"}: the argmax id at each step (the lowest id on a tie) and its
 *     logit minus the second largest
 *
 * CPU, one thread, an F32 key/value cache, flash attention off, and no
 * repacked weight layouts (use_extra_bufts off: the plain dot product of
 * each type, whatever the CPU).  Built against llama.cpp's libllama by
 * tests/gguf/make_quant_fixtures.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

#define MAX_IDS 65536

static struct llama_context *ctx;
static struct llama_batch batch;

/* ids[0..n) at positions pos0.., logits for all of them or only the last */
static void
decode(const int *ids, int n, int pos0, int all_logits)
{
	for (int i = 0; i < n; i++)
	{
		batch.token[i] = ids[i];
		batch.pos[i] = pos0 + i;
		batch.n_seq_id[i] = 1;
		batch.seq_id[i][0] = 0;
		batch.logits[i] = all_logits || i == n - 1;
	}
	batch.n_tokens = n;
	if (llama_decode(ctx, batch) != 0)
	{
		fprintf(stderr, "llama_decode failed\n");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	static int	ids[MAX_IDS];
	int			n_ids = 0,
				n,
				n_new = 0,
				greedy,
				n_vocab;
	struct llama_model_params mp;
	struct llama_context_params cp;
	struct llama_model *model;

	greedy = argc == 5 && strcmp(argv[2], "greedy") == 0;
	if (!(argc == 4 && strcmp(argv[2], "logits") == 0) && !greedy)
	{
		fprintf(stderr, "usage: %s MODEL.gguf logits N | greedy N N_NEW  < ids\n", argv[0]);
		return 2;
	}
	n = atoi(argv[3]);
	if (greedy)
		n_new = atoi(argv[4]);
	while (n_ids < MAX_IDS && scanf("%d", &ids[n_ids]) == 1)
		n_ids++;
	if (n < 1 || n + n_new > 512 || n_ids == 0 || n_ids % n != 0)
	{
		fprintf(stderr, "%d ids on stdin, not sequences of %d\n", n_ids, n);
		return 2;
	}

	llama_backend_init();
	mp = llama_model_default_params();
	mp.n_gpu_layers = 0;
	mp.use_extra_bufts = false;
	if ((model = llama_model_load_from_file(argv[1], mp)) == NULL)
		return 1;
	cp = llama_context_default_params();
	cp.n_ctx = 512;
	cp.n_batch = 512;
	cp.n_ubatch = 512;
	cp.n_seq_max = 1;
	cp.n_threads = 1;
	cp.n_threads_batch = 1;
	cp.type_k = GGML_TYPE_F32;
	cp.type_v = GGML_TYPE_F32;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	if ((ctx = llama_init_from_model(model, cp)) == NULL)
		return 1;
	n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
	batch = llama_batch_init(n, 0, 1);

	if (!greedy)
	{
		for (int s = 0; s < n_ids / n; s++)
		{
			llama_memory_clear(llama_get_memory(ctx), true);
			decode(ids + s * n, n, 0, 1);
			for (int i = 0; i < n; i++)
				fwrite(llama_get_logits_ith(ctx, i), sizeof(float), n_vocab, stdout);
		}
	}
	else
	{
		int		   *next = malloc(sizeof(int) * n_new * (n_ids / n));
		float	   *margin = malloc(sizeof(float) * n_new * (n_ids / n));

		for (int s = 0; s < n_ids / n; s++)
		{
			llama_memory_clear(llama_get_memory(ctx), true);
			decode(ids + s * n, n, 0, 0);
			for (int t = 0; t < n_new; t++)
			{
				const float *lg = llama_get_logits_ith(ctx, -1);
				int			best = 0,
							second = -1;

				for (int v = 1; v < n_vocab; v++)
				{
					if (lg[v] > lg[best])
					{
						second = best;
						best = v;
					}
					else if (second < 0 || lg[v] > lg[second])
						second = v;
				}
				next[s * n_new + t] = best;
				margin[s * n_new + t] = lg[best] - lg[second];
				if (t + 1 < n_new)
					decode(&best, 1, n + t, 1);
			}
		}
		printf("{\"prompts\": [");
		for (int s = 0; s < n_ids / n; s++)
		{
			printf("%s[", s ? ", " : "");
			for (int i = 0; i < n; i++)
				printf("%s%d", i ? ", " : "", ids[s * n + i]);
			printf("]");
		}
		printf("],\n\"continuations\": [");
		for (int s = 0; s < n_ids / n; s++)
		{
			printf("%s[", s ? ", " : "");
			for (int t = 0; t < n_new; t++)
				printf("%s%d", t ? ", " : "", next[s * n_new + t]);
			printf("]");
		}
		printf("],\n\"margins\": [");
		for (int s = 0; s < n_ids / n; s++)
		{
			printf("%s[", s ? ",\n" : "\n");
			for (int t = 0; t < n_new; t++)
				printf("%s%.9g", t ? ", " : "", margin[s * n_new + t]);
			printf("]");
		}
		printf("]}\n");
		free(next);
		free(margin);
	}
	llama_batch_free(batch);
	llama_free(ctx);
	llama_model_free(model);
	llama_backend_free();
	return 0;
}
