/*
 * tokenizer_bench.c — tokens per second of the engine's tokenizer alone:
 * encode every line of a text file with a tokenizer.json, several rounds,
 * and report the best round.
 *
 *   tokenizer_bench TOKENIZER_JSON TEXT_FILE [ROUNDS]
 *
 * Prints one line: lines, tokens, seconds, tokens/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer/tokenizer.h"
#include "util/file.h"

#include "bench_util.h"

int
main(int argc, char **argv)
{
	uint8_t    *json,
			   *text;
	size_t		json_len,
				text_len;
	LmError		err;
	LmTokenizer *tok;
	int			rounds = argc > 3 ? atoi(argv[3]) : 3;
	double		best = 1e30;
	long		tokens = 0,
				lines = 0;

	if (argc < 3)
	{
		fprintf(stderr, "usage: %s TOKENIZER_JSON TEXT_FILE [ROUNDS]\n", argv[0]);
		return 2;
	}
	lm_error_clear(&err);
	if (lm_read_file(argv[1], (size_t) 1 << 30, &json, &json_len, &err) != 0 ||
		lm_read_file(argv[2], (size_t) 1 << 30, &text, &text_len, &err) != 0 ||
		(tok = lm_tokenizer_from_json((char *) json, json_len, &err)) == NULL)
	{
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	for (int r = 0; r < rounds; r++)
	{
		double		t0 = now();
		char	   *line = (char *) text;

		tokens = lines = 0;
		while (line < (char *) text + text_len)
		{
			char	   *end = memchr(line, '\n', (char *) text + text_len - line);
			LmEncoding enc;

			if (end == NULL)
				end = (char *) text + text_len;
			if (lm_tokenizer_encode(tok, line, end - line, false, &enc, &err) != 0)
			{
				fprintf(stderr, "%s\n", err.message);
				return 1;
			}
			tokens += enc.n;
			lines++;
			lm_encoding_free(&enc);
			line = end + 1;
		}
		if (now() - t0 < best)
			best = now() - t0;
	}
	printf("lines=%ld tokens=%ld seconds=%.4f tokens_per_second=%.0f\n",
		   lines, tokens, best, tokens / best);
	lm_tokenizer_free(tok);
	free(json);
	free(text);
	return 0;
}
