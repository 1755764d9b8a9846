/*
 * fuzz_charsmap.c — libFuzzer harness for SentencePiece's precompiled
 * charsmap: any blob must load or fail with an error; a map that loads must
 * normalize any text without reading out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/charsmap.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kTexts[] = {
	"",
	"Hello, world!",
	"\xEF\xBD\x88\xEF\xBD\x89 \xE2\x91\xA0 \xEF\xAC\x81 caf\xC3\xA9",
	"\xFF\xC3\x28 \xED\xA0\x80 \xF4\x90\x80\x80",
	"a\0b",
};

static void
normalize(const LmCharsmap *map, const char *text, size_t len)
{
	char	   *out;
	size_t		out_len;
	LmError		err;

	lm_error_clear(&err);
	if (lm_charsmap_normalize(map, text, len, &out, &out_len, &err) == 0)
		free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmError		err;
	LmCharsmap *map;

	lm_error_clear(&err);
	map = lm_charsmap_load(data, size, &err);
	if (map == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(kTexts) / sizeof(kTexts[0]); i++)
		normalize(map, kTexts[i], i == 4 ? 3 : strlen(kTexts[i]));
	/* the blob itself as text walks the trie along arbitrary bytes */
	normalize(map, (const char *) data, size);
	lm_charsmap_free(map);
	return 0;
}
