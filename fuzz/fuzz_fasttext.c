/*
 * fuzz_fasttext.c — libFuzzer harness for the fastText reader: any byte
 * string must load cleanly or fail with an error, and a model that loads
 * must predict and give vectors without reading out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classic/fasttext.h"

#define FUZZ_TOP_K 5
#define FUZZ_TEXT "Le chat est sur le toit. __label__x der Hund \xc3\xa9t\xc3\xa9 \xff\xfe"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmError		err;
	LmFastText *ft;
	LmFastTextPrediction pred[FUZZ_TOP_K];
	float	   *vec;

	lm_error_clear(&err);
	ft = lm_fasttext_load(data, size, &err);
	if (ft == NULL)
		return 0;
	vec = malloc(sizeof(float) * (size_t) lm_fasttext_dim(ft));
	if (vec != NULL)
	{
		lm_fasttext_word_vector(ft, "chat", 4, vec, &err);
		lm_fasttext_word_vector(ft, "</s>", 4, vec, &err);
		lm_fasttext_sentence_vector(ft, FUZZ_TEXT, strlen(FUZZ_TEXT), vec, &err);
		free(vec);
	}
	lm_fasttext_predict(ft, FUZZ_TEXT, strlen(FUZZ_TEXT), FUZZ_TOP_K, 0.0f, pred, &err);
	lm_fasttext_predict(ft, "", 0, 1, 0.0f, pred, &err);
	lm_fasttext_free(ft);
	return 0;
}
