/*
 * fuzz_gguf.c — libFuzzer harness for the GGUF reader: any byte string
 * must parse cleanly or fail with an error, never crash; what parses is
 * walked (every string of every array, the first and last byte of every
 * tensor), rendered as JSON, and read as a model and a tokenizer; a model
 * that builds computes the logits of two tokens (quantized blocks included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "formats/gguf_hf.h"
#include "formats/gguf_tokenizer.h"
#include "models/model.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmGguf		g;
	LmError		err;
	volatile uint8_t sink = 0;

	lm_error_clear(&err);
	if (lm_gguf_parse(data, size, "fuzz", &g, &err) == 0)
	{
		char	   *json;

		for (size_t i = 0; i < g.n_tensors; i++)
			if (g.tensors[i].nbytes > 0)
				sink ^= g.tensors[i].data[0] ^ g.tensors[i].data[g.tensors[i].nbytes - 1];
		for (size_t i = 0; i < g.n_kv; i++)
			if (g.kv[i].value.type == LM_GGUF_ARRAY && g.kv[i].value.arr.type == LM_GGUF_STRING)
				for (uint64_t k = 0; k < g.kv[i].value.arr.n && k < 1000; k++)
				{
					LmGgufString s = lm_gguf_array_string(&g.kv[i].value, k);

					if (s.len > 0)
						sink ^= (uint8_t) s.s[s.len - 1];
				}
		json = lm_gguf_metadata_json(&g, 64, &err);
		free(json);
		if (lm_gguf_tokenizer_is_spm(&g))
		{
			size_t		len;

			free(lm_gguf_spm_model(&g, &len, &err));
		}
		else if (lm_gguf_has_tokenizer(&g))
			free(lm_gguf_tokenizer_json(&g, &err));
		{
			char	   *config = NULL;
			LmTensorSet set;

			if (lm_gguf_as_hf(&g, &config, &set, &err) == 0)
			{
				/* a model that builds runs two tokens: its kernels on whatever the blocks hold */
				LmModel    *model = lm_model_load(config, strlen(config), &set, &err);

				if (model != NULL && lm_model_info(model)->causal && lm_model_info(model)->vocab_size < (1 << 16))
				{
					int32_t		ids[2] = {0, 1};
					float	   *logits = malloc(sizeof(float) * 2 * lm_model_info(model)->vocab_size);

					if (logits != NULL && lm_model_info(model)->vocab_size > 1)
						(void) lm_model_logits(model, ids, 2, true, logits, &err);
					free(logits);
				}
				lm_model_free(model);
				free(config);
				lm_tensorset_free(&set);
			}
		}
		lm_gguf_free(&g);
	}
	(void) sink;
	return 0;
}
