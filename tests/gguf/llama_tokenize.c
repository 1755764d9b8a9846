/*
 * llama_tokenize.c — llama.cpp's tokenizer on the texts of a fixture's
 * cases file, the reference test_gguf compares pg_lm's GGUF vocabularies
 * with: reads JSON lines with a "text", writes JSON lines {"ids": [...]},
 * no special tokens added (special tokens in the text are parsed).
 *   llama_tokenize VOCAB.gguf < cases.jsonl > VOCAB.llama_cpp_ids.jsonl
 * Built against libllama (vocab_only) by tests/gguf/make_llama_fixtures.sh.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

int
main(int argc, char **argv)
{
	struct llama_model_params mp;
	struct llama_model *model;
	const struct llama_vocab *vocab;
	char	   *line = NULL;
	size_t		cap = 0;
	int32_t    *ids = malloc(sizeof(int32_t) * 65536);

	if (argc != 2)
		return 2;
	llama_backend_init();
	mp = llama_model_default_params();
	mp.vocab_only = true;
	if ((model = llama_model_load_from_file(argv[1], mp)) == NULL)
		return 1;
	vocab = llama_model_get_vocab(model);
	while (getline(&line, &cap, stdin) > 0)
	{
		json_error_t jerr;
		json_t	   *c = json_loads(line, 0, &jerr);
		const char *text = json_string_value(json_object_get(c, "text"));
		int			n;

		if (text == NULL)
		{
			json_decref(c);
			continue;
		}
		n = llama_tokenize(vocab, text, (int32_t) strlen(text), ids, 65536, false, true);
		printf("{\"ids\": [");
		for (int i = 0; i < n; i++)
			printf("%s%d", i ? ", " : "", ids[i]);
		printf("]}\n");
		json_decref(c);
	}
	free(line);
	free(ids);
	llama_model_free(model);
	llama_backend_free();
	return 0;
}
