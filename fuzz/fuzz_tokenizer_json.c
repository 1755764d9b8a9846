/*
 * fuzz_tokenizer_json.c — libFuzzer harness for the tokenizer.json loader:
 * any document must load or fail with an error; a tokenizer that loads must
 * encode and decode a few texts without crashing, and unwind cleanly when a
 * cancel request arrives at any of its checks (the sanitizers catch leaks
 * and use-after-free on those paths).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cancel at the cancel_at-th check; 0: never. */
static int	cancel_at;
static int	checks;

static int
cancel_on_call(void *arg)
{
	(void) arg;
	return cancel_at > 0 && ++checks >= cancel_at;
}

static const LmCall fuzz_call = {cancel_on_call, NULL, 1};

static const char *const texts[] = {
	"", " ", "Hello, world! How's it going?", "El niño comió 日本語 👍🏽\t\n",
	"\xff\xfe invalid utf-8 \xc3", "[CLS] <s> </s> <unk> [MASK]",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmError		err;
	LmTokenizer *tok;

	cancel_at = 0;
	lm_error_init(&err, &fuzz_call);
	tok = lm_tokenizer_from_json((const char *) data, size, &err);
	if (tok == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		LmEncoding	enc;

		for (int special = 0; special <= 1; special++)
		{
			/* once to the end, once cancelled at a check the input picks */
			for (int cancelled = 0; cancelled <= 1; cancelled++)
			{
				cancel_at = cancelled ? 1 + (int) ((size + i * 7 + special) % 40) : 0;
				checks = 0;
				if (lm_tokenizer_encode(tok, texts[i], strlen(texts[i]), special, &enc, &err) == 0)
				{
					char	   *s = lm_tokenizer_decode(tok, enc.ids, enc.n, true, &err);

					free(s);
				}
				lm_encoding_free(&enc);
			}
		}
		cancel_at = 0;
	}
	{
		int32_t		ids[] = {0, 1, 2, 3, 100, 255, 256, 1000000, -1};
		char	   *s = lm_tokenizer_decode(tok, ids, sizeof(ids) / sizeof(ids[0]), false, &err);

		free(s);
	}
	lm_tokenizer_free(tok);
	return 0;
}
