/*
 * fuzz_tfidf.c — libFuzzer harness for the bag-of-words analyzer: any
 * bytes (invalid UTF-8 included) are lowercased, tokenized and counted
 * without crashing; the input is split at NUL bytes into documents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classic/vectorizer.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmVectorizerOptions o;
	LmVectorizer *v;
	LmError		err;
	const char *text = (const char *) data;
	size_t		start = 0;
	double	   *dense;

	lm_vectorizer_default_options(&o);
	o.ngram_max = 1 + (size > 0 ? data[0] % 3 : 0);
	o.sublinear_tf = size > 1 && (data[1] & 1);
	lm_error_clear(&err);
	v = lm_vectorizer_new(&o, &err);
	if (v == NULL)
		return 0;
	for (size_t i = 0; i <= size; i++)
		if (i == size || data[i] == 0)
		{
			lm_vectorizer_add_document(v, text + start, i - start, &err);
			start = i + 1;
		}
	if (lm_vectorizer_finish(v, &err) == 0)
	{
		dense = malloc(sizeof(double) * (size_t) lm_vectorizer_vocabulary_size(v));
		if (dense != NULL)
			lm_vectorizer_tfidf_dense(v, text, size, dense, &err);
		free(dense);
	}
	lm_vectorizer_free(v);
	return 0;
}
