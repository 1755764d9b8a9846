/*
 * llama_logits.c — llama.cpp's logits for given token ids, the reference
 * the GGUF tests compare with: every position's logits as JSON,
 *   llama_logits MODEL.gguf ID ID ...  >  reference.json
 * CPU, one thread, an F32 key/value cache, flash attention off.  Built
 * against llama.cpp's libllama by tests/gguf/make_llama_fixtures.sh.
 */
#include <stdio.h>
#include <stdlib.h>

#include "llama.h"

int
main(int argc, char **argv)
{
	int			n = argc - 2;
	struct llama_model_params mp;
	struct llama_context_params cp;
	struct llama_model *model;
	struct llama_context *ctx;
	struct llama_batch batch;
	int			n_vocab;

	if (n < 1)
	{
		fprintf(stderr, "usage: %s MODEL.gguf ID...\n", argv[0]);
		return 2;
	}
	llama_backend_init();
	mp = llama_model_default_params();
	mp.n_gpu_layers = 0;
	if ((model = llama_model_load_from_file(argv[1], mp)) == NULL)
		return 1;
	cp = llama_context_default_params();
	cp.n_ctx = 256;
	cp.n_batch = 256;
	cp.n_ubatch = 256;
	cp.n_threads = 1;
	cp.n_threads_batch = 1;
	cp.type_k = GGML_TYPE_F32;
	cp.type_v = GGML_TYPE_F32;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	if ((ctx = llama_init_from_model(model, cp)) == NULL)
		return 1;
	n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
	batch = llama_batch_init(n, 0, 1);
	for (int i = 0; i < n; i++)
	{
		batch.token[i] = atoi(argv[2 + i]);
		batch.pos[i] = i;
		batch.n_seq_id[i] = 1;
		batch.seq_id[i][0] = 0;
		batch.logits[i] = 1;
	}
	batch.n_tokens = n;
	if (llama_decode(ctx, batch) != 0)
		return 1;
	printf("{\"ids\": [");
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? ", " : "", batch.token[i]);
	printf("], \"logits\": [");
	for (int i = 0; i < n; i++)
	{
		const float *lg = llama_get_logits_ith(ctx, i);

		printf("%s[", i ? ",\n" : "\n");
		for (int v = 0; v < n_vocab; v++)
			printf("%s%.9g", v ? ", " : "", lg[v]);
		printf("]");
	}
	printf("]}\n");
	llama_batch_free(batch);
	llama_free(ctx);
	llama_model_free(model);
	llama_backend_free();
	return 0;
}
