/*
 * fuzz_tokenizer_json.c — libFuzzer harness for the tokenizer.json loader:
 * any document must load or fail with an error; a tokenizer that loads must
 * encode and decode a few texts without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const texts[] = {
	"", " ", "Hello, world! How's it going?", "El niño comió 日本語 👍🏽\t\n",
	"\xff\xfe invalid utf-8 \xc3", "[CLS] <s> </s> <unk> [MASK]",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmError		err;
	LmTokenizer *tok;

	lm_error_clear(&err);
	tok = lm_tokenizer_from_json((const char *) data, size, &err);
	if (tok == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		LmEncoding	enc;

		for (int special = 0; special <= 1; special++)
		{
			if (lm_tokenizer_encode(tok, texts[i], strlen(texts[i]), special, &enc, &err) == 0)
			{
				char	   *s = lm_tokenizer_decode(tok, enc.ids, enc.n, true, &err);

				free(s);
			}
			lm_encoding_free(&enc);
		}
	}
	{
		int32_t		ids[] = {0, 1, 2, 3, 100, 255, 256, 1000000, -1};
		char	   *s = lm_tokenizer_decode(tok, ids, sizeof(ids) / sizeof(ids[0]), false, &err);

		free(s);
	}
	lm_tokenizer_free(tok);
	return 0;
}
