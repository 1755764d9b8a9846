/*
 * fuzz_gguf.c — libFuzzer harness for the GGUF reader: any byte string
 * must parse cleanly or fail with an error, never crash; what parses is
 * walked (every string of every array, the first and last byte of every
 * tensor), rendered as JSON, and read as a model and a tokenizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "formats/gguf_hf.h"
#include "formats/gguf_tokenizer.h"

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
				free(config);
				lm_tensorset_free(&set);
			}
		}
		lm_gguf_free(&g);
	}
	(void) sink;
	return 0;
}
