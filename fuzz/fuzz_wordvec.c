/*
 * fuzz_wordvec.c — libFuzzer harness for the word-vector readers: the
 * first byte picks the format, the rest is the file.  Any input must load
 * or fail cleanly; a store that loads must answer queries in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classic/wordvec.h"

#define FUZZ_FORMATS 4
#define FUZZ_K 3

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmError		err;
	LmWordVectors *wv;
	LmWordVecHit hits[FUZZ_K];
	float	   *mean;

	if (size < 1)
		return 0;
	lm_error_clear(&err);
	wv = lm_wordvec_load(data + 1, size - 1, (LmWordVecFormat) (data[0] % FUZZ_FORMATS), &err);
	if (wv == NULL)
		return 0;
	mean = malloc(sizeof(float) * (size_t) lm_wordvec_dim(wv));
	if (mean != NULL)
	{
		lm_wordvec_text_mean(wv, (const char *) data + 1, size - 1, data[0] & 4, mean, NULL, &err);
		free(mean);
	}
	if (lm_wordvec_count(wv) >= 3)
	{
		const char *a = lm_wordvec_word(wv, 0, NULL);
		const char *b = lm_wordvec_word(wv, 1, NULL);
		const char *c = lm_wordvec_word(wv, lm_wordvec_count(wv) - 1, NULL);

		lm_wordvec_analogy(wv, a, b, c, (LmWordVecCombine) (data[0] & 8 ? 1 : 0), FUZZ_K, hits, &err);
	}
	lm_wordvec_most_similar_vector(wv, lm_wordvec_vector(wv, 0), NULL, 0, FUZZ_K, hits, &err);
	lm_wordvec_free(wv);
	return 0;
}
