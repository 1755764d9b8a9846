/*
 * fuzz_spm_model.c — libFuzzer harness for the SentencePiece .model reader:
 * any byte string must load or fail with an error; a model that loads must
 * encode and decode without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm.h"

#define MAX_TEXT_FROM_INPUT 256

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kTexts[] = {
	"",
	"  Hello,  world!  ",
	"tabs\tand\nnewlines\r\n",
	"\xEF\xBD\x88\xEF\xBD\x89 \xE2\x91\xA0 caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC",
	"\xFF\xC3\x28 \xED\xA0\x80 \xF4\x90\x80\x80",	/* malformed UTF-8 */
	"<s> </s> <unk> <0x41> \xE2\x96\x81\xE2\x96\x81",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

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

static void
round_trip_once(const LmSpmTokenizer *tok, const char *text, size_t len)
{
	LmEncoding	enc;
	LmError		err;

	lm_error_clear(&err);
	if (lm_spm_encode(tok, text, len, true, 0, &enc, &err) == 0)
	{
		free(lm_spm_decode(tok, enc.ids, enc.n, true, &err));
		for (size_t i = 0; i < enc.n; i++)
			(void) lm_spm_token_to_id(tok, enc.tokens[i]);
		lm_encoding_free(&enc);
	}
}

/* To the end, then cancelled at a check the text picks: errors unwind cleanly. */
static void
round_trip(const LmSpmTokenizer *tok, const char *text, size_t len)
{
	cancel_at = 0;
	round_trip_once(tok, text, len);
	cancel_at = 1 + (int) (len % 40);
	checks = 0;
	round_trip_once(tok, text, len);
	cancel_at = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmError		err;
	LmSpmTokenizer *tok;
	int32_t		vocab;

	cancel_at = 0;
	lm_error_init(&err, &fuzz_call);
	tok = lm_spm_load(data, size, &err);
	if (tok == NULL)
		return 0;

	for (size_t i = 0; i < sizeof(kTexts) / sizeof(kTexts[0]); i++)
		round_trip(tok, kTexts[i], strlen(kTexts[i]));
	/* the input's own bytes as text: arbitrary, often malformed, UTF-8 */
	round_trip(tok, (const char *) data, size < MAX_TEXT_FROM_INPUT ? size : MAX_TEXT_FROM_INPUT);

	/* every piece decodes alone, and the whole vocabulary in one go */
	vocab = lm_spm_vocab_size(tok);
	{
		int32_t    *ids = malloc((size_t) vocab * sizeof(int32_t));

		for (int32_t id = 0; ids != NULL && id < vocab; id++)
		{
			ids[id] = id;
			free(lm_spm_decode(tok, &id, 1, true, &err));
			(void) lm_spm_id_to_token(tok, id);
		}
		if (ids != NULL)
			free(lm_spm_decode(tok, ids, (size_t) vocab, true, &err));
		free(ids);
	}
	lm_spm_free(tok);
	return 0;
}
