/*
 * test_wordvec.c — word vectors against gensim's answers on GloVe 6B 100d
 * (glove-reference.json): analogies, nearest neighbours and cosines from
 * the word2vec binary file, the same from the GloVe text file for the
 * words it has, the speed of most_similar, and malformed files.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classic/wordvec.h"
#include "testutil.h"
#include "util/file.h"

#define SCORE_TOLERANCE 5e-4	/* "to 3 decimals" */
#define MAX_K 16
#define WIDE_K 400				/* neighbours from the .bin filtered to the .txt vocabulary */
#define TIMING_RUNS 200
#define MAX_MS_PER_QUERY 10.0

static const char *
models_dir(void)
{
	const char *dir = getenv("PG_LM_MODELS");

	return dir ? dir : "../shared/models";
}

/* Run the query named in the reference on wv; returns the hit count. */
static int
run_query(const LmWordVectors *wv, const char *name, int k, LmWordVecHit *hits, LmError *err)
{
	if (strcmp(name, "king-man+woman") == 0)
		return lm_wordvec_analogy(wv, "man", "king", "woman", LM_WORDVEC_COMBINE_RAW, k, hits, err);
	if (strcmp(name, "paris-france+spain") == 0)
		return lm_wordvec_analogy(wv, "france", "paris", "spain", LM_WORDVEC_COMBINE_RAW, k, hits,
								  err);
	if (strcmp(name, "nearest banana") == 0)
	{
		const char *positive[] = {"banana"};

		return lm_wordvec_most_similar(wv, positive, 1, NULL, 0, LM_WORDVEC_COMBINE_RAW, k, hits,
									   err);
	}
	return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "unknown query %s", name);
}

static void
check_reference(const LmWordVectors *wv, json_t *ref)
{
	const char *name;
	json_t	   *value;
	int			lists = 0,
				lists_ok = 0;
	double		max_err = 0.0;

	json_object_foreach(ref, name, value)
	{
		LmWordVecHit hits[MAX_K];
		LmError		err;
		size_t		k = json_array_size(value);
		int			n,
					ok = 1;

		if (!json_is_array(value))
			continue;
		lists++;
		test_error_init(&err);
		n = run_query(wv, name, (int) k, hits, &err);
		if (n != (int) k)
			ok = 0;
		for (size_t i = 0; ok && i < k; i++)
		{
			const char *want = json_string_value(json_array_get(json_array_get(value, i), 0));
			double		score = json_number_value(json_array_get(json_array_get(value, i), 1));
			const char *got = lm_wordvec_word(wv, hits[i].index, NULL);

			if (strcmp(want, got) != 0)
			{
				printf("# %s rank %zu: expected %s, got %s\n", name, i + 1, want, got);
				ok = 0;
			}
			if (fabs(hits[i].score - score) > max_err)
				max_err = fabs(hits[i].score - score);
			if (fabs(hits[i].score - score) > SCORE_TOLERANCE)
				ok = 0;
		}
		CHECK(ok, "%s: %d neighbours, words and scores match", name, n);
		lists_ok += ok;
	}
	CHECK(lists == 3 && lists_ok == lists, "glove reference lists %d/%d (max score error %.2g)",
		  lists_ok, lists, max_err);
	{
		double		mango,
					dog;
		LmError		err;

		test_error_init(&err);
		lm_wordvec_similarity(wv, "banana", "mango", &mango, &err);
		lm_wordvec_similarity(wv, "banana", "dog", &dog, &err);
		CHECK(fabs(mango - json_number_value(json_object_get(ref, "cos banana mango"))) < 1e-6 &&
			  fabs(dog - json_number_value(json_object_get(ref, "cos banana dog"))) < 1e-6,
			  "cosines banana/mango %.6f and banana/dog %.6f (within 1e-6)", mango, dog);
	}
}

/* The .txt answers equal the .bin answers restricted to the .txt words. */
static void
check_text_against_binary(const LmWordVectors *bin, const LmWordVectors *txt)
{
	const char *queries[] = {"king-man+woman", "paris-france+spain", "nearest banana"};
	int			same_vectors = 0;
	int			compared = 0,
				agreed = 0;
	double		max_diff = 0.0;

	for (int32_t i = 0; i < lm_wordvec_count(txt); i++)
	{
		size_t		len;
		const char *w = lm_wordvec_word(txt, i, &len);
		int32_t		j = lm_wordvec_lookup(bin, w, len);

		if (j >= 0 && memcmp(lm_wordvec_vector(bin, j), lm_wordvec_vector(txt, i),
							 sizeof(float) * 100) == 0)
			same_vectors++;
	}
	CHECK(same_vectors == lm_wordvec_count(txt), "all %d .txt vectors equal the .bin ones bit for bit (%d)",
		  lm_wordvec_count(txt), same_vectors);

	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++)
	{
		static LmWordVecHit wide[WIDE_K];
		LmWordVecHit hits[5];
		LmError		err;
		int			n_txt,
					n_bin,
					taken = 0,
					ok = 1;

		test_error_init(&err);
		n_txt = run_query(txt, queries[q], 5, hits, &err);
		if (n_txt < 0)
		{
			printf("# %s skipped on the .txt file: %s\n", queries[q], err.message);
			continue;
		}
		compared++;
		n_bin = run_query(bin, queries[q], WIDE_K, wide, &err);
		for (int i = 0; i < n_bin && taken < n_txt; i++)
		{
			size_t		len;
			const char *w = lm_wordvec_word(bin, wide[i].index, &len);
			int32_t		t = lm_wordvec_lookup(txt, w, len);

			if (t < 0)
				continue;
			if (t != hits[taken].index)
				ok = 0;
			if (fabs(wide[i].score - hits[taken].score) > max_diff)
				max_diff = fabs(wide[i].score - hits[taken].score);
			taken++;
		}
		agreed += ok && taken == n_txt;
	}
	CHECK(compared > 0 && agreed == compared,
		  "queries on the .txt file agree with the .bin file on its words: %d/%d (max diff %.2g)",
		  agreed, compared, max_diff);
	{
		double		a,
					b;
		LmError		err;

		int			rc;

		test_error_init(&err);
		rc = lm_wordvec_similarity(txt, "king", "queen", &a, &err);
		rc |= lm_wordvec_similarity(bin, "king", "queen", &b, &err);
		CHECK(rc == 0 && fabs(a - b) < 1e-9, "cos(king, queen) from .txt %.6f equals .bin %.6f", a, b);
	}
}

static void
check_speed_and_extras(const LmWordVectors *wv)
{
	LmWordVecHit hits[10];
	LmError		err;
	struct timespec t0,
				t1;
	const float *query = lm_wordvec_vector(wv, lm_wordvec_lookup(wv, "banana", 6));
	double		ms;
	float		mean[100],
				expect[100] = {0};
	int			found = 0;
	const char *words[] = {"the", "cat", "sat", "."};
	double		max_err = 0.0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < TIMING_RUNS; i++)
		lm_wordvec_most_similar_vector(wv, query, NULL, 0, 10, hits, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / TIMING_RUNS;
	CHECK(ms < MAX_MS_PER_QUERY, "most_similar over %d words: %.3f ms per query",
		  lm_wordvec_count(wv), ms);
	CHECK(hits[0].index == lm_wordvec_lookup(wv, "banana", 6) && fabsf(hits[0].score - 1.0f) < 1e-5f,
		  "a word's own vector is its nearest neighbour when not excluded");

	test_error_init(&err);
	found = lm_wordvec_analogy(wv, "man", "king", "woman", LM_WORDVEC_COMBINE_UNIT, 1, hits, &err);
	CHECK(found == 1 &&
		  strcmp(lm_wordvec_word(wv, hits[0].index, NULL), "queen") == 0 &&
		  fabsf(hits[0].score - 0.7699f) < 1e-4f,
		  "gensim-style analogy (unit inputs): queen %.4f", hits[0].score);
	lm_wordvec_text_mean(wv, "The cat sat.", 12, false, mean, &found, &err);
	for (int w = 0; w < 4; w++)
	{
		const float *v = lm_wordvec_vector(wv, lm_wordvec_lookup(wv, words[w], strlen(words[w])));

		for (int j = 0; j < 100; j++)
			expect[j] += v[j] / 4;
	}
	for (int j = 0; j < 100; j++)
		if (fabs(mean[j] - expect[j]) > max_err)
			max_err = fabs(mean[j] - expect[j]);
	CHECK(found == 4 && max_err < 1e-6, "mean of \"The cat sat.\" uses the, cat, sat, . (%d words, max error %.2g)",
		  found, max_err);
	lm_wordvec_text_mean(wv, "qwzxv", 5, true, mean, &found, &err);
	CHECK(found == 0 && mean[0] == 0.0f, "text of unknown words gives a zero mean");
	test_error_init(&err);
	CHECK(lm_wordvec_analogy(wv, "man", "kingxx", "woman", LM_WORDVEC_COMBINE_RAW, 3, hits, &err) == -1 &&
		  err.code == LM_ERR_INVALID_ARGUMENT && strstr(err.message, "kingxx") != NULL,
		  "an unknown word is named in the error: %s", err.message);
}

static LmErrorCode
load_code(const char *text, size_t len, LmWordVecFormat format)
{
	LmError		err;
	LmWordVectors *wv;

	test_error_init(&err);
	wv = lm_wordvec_load((const uint8_t *) text, len, format, &err);
	if (wv != NULL)
	{
		lm_wordvec_free(wv);
		return LM_OK;
	}
	printf("# refused: %s\n", err.message);
	return err.code;
}

static void
check_bad_input(const uint8_t *bin, size_t bin_len)
{
	int			cuts = 0,
				refused = 0;
	const char *glove_ok = "a 1 2 3\nb 4 5 6\n";
	const char *glove_short = "a 1 2 3\nb 4 5\n";
	const char *vec_lying = "3 2\nx 1 2\ny 3 4\n";
	const char *vec_nan = "1 2\nx 1 abc\n";
	const char *vec_ok = "2 2\nx 1 2\ny 3 4\nextra 9\n";
	const char *spaced = "new york 1 2\n";

	for (size_t cut = 12; cut < bin_len; cut += bin_len / 97)
	{
		cuts++;
		refused += load_code((const char *) bin, cut, LM_WORDVEC_WORD2VEC_BINARY) == LM_ERR_CORRUPT;
	}
	CHECK(cuts > 50 && refused == cuts, "truncated binary files refused %d/%d", refused, cuts);
	CHECK(load_code("", 0, LM_WORDVEC_AUTO) == LM_ERR_CORRUPT, "empty file is refused");
	CHECK(load_code("\n\n", 2, LM_WORDVEC_GLOVE_TEXT) == LM_ERR_CORRUPT, "blank file is refused");
	CHECK(load_code(glove_ok, strlen(glove_ok), LM_WORDVEC_AUTO) == LM_OK, "small GloVe text loads");
	CHECK(load_code(glove_short, strlen(glove_short), LM_WORDVEC_AUTO) == LM_ERR_CORRUPT,
		  "dimension mismatch on line 2 is refused");
	CHECK(load_code(vec_lying, strlen(vec_lying), LM_WORDVEC_AUTO) == LM_ERR_CORRUPT,
		  "header promising more vectors than the file has is refused");
	CHECK(load_code(vec_nan, strlen(vec_nan), LM_WORDVEC_AUTO) == LM_ERR_CORRUPT,
		  "a value that is not a number is refused");
	CHECK(load_code(vec_ok, strlen(vec_ok), LM_WORDVEC_AUTO) == LM_OK,
		  "text after the promised vectors is ignored (gensim)");
	CHECK(load_code("999999999 100\nx ", 16, LM_WORDVEC_WORD2VEC_BINARY) == LM_ERR_CORRUPT,
		  "binary header promising more than the file holds is refused");
	CHECK(load_code("1 100000000\nx ", 14, LM_WORDVEC_AUTO) == LM_ERR_CORRUPT,
		  "absurd dimension is refused");
	{
		LmError		err;
		LmWordVectors *wv;

		test_error_init(&err);
		wv = lm_wordvec_load((const uint8_t *) spaced, strlen(spaced), LM_WORDVEC_GLOVE_TEXT, &err);
		CHECK(wv == NULL, "a GloVe first line with a spaced word reads as 3 dimensions, then fails");
		lm_wordvec_free(wv);
		wv = lm_wordvec_load((const uint8_t *) "1 2\nnew york 1 2\n", 17, LM_WORDVEC_WORD2VEC_TEXT, &err);
		CHECK(wv != NULL && lm_wordvec_lookup(wv, "new york", 8) == 0,
			  "with a known dimension a word may contain spaces");
		lm_wordvec_free(wv);
	}
}

int
main(void)
{
	char		path[1024];
	json_t	   *ref;
	json_error_t jerr;
	LmError		err;
	LmWordVectors *bin,
			   *txt;
	uint8_t    *data;
	size_t		len;

	snprintf(path, sizeof(path), "%s/glove-6B-100d/glove-reference.json", models_dir());
	ref = json_load_file(path, 0, &jerr);
	if (!CHECK(ref != NULL, "read %s", path))
		return test_done();

	snprintf(path, sizeof(path), "%s/glove-6B-100d/glove-6B-100d-top30k.bin", models_dir());
	test_error_init(&err);
	bin = lm_wordvec_load_file(path, LM_WORDVEC_AUTO, &err);
	if (!CHECK(bin != NULL, "load %s (auto-detected as binary) %s", path, err.message))
		return test_done();
	CHECK(lm_wordvec_count(bin) == 30000 && lm_wordvec_dim(bin) == 100,
		  "30000 words of 100 dimensions (%d x %d)", lm_wordvec_count(bin), lm_wordvec_dim(bin));
	check_reference(bin, ref);

	snprintf(path, sizeof(path), "%s/glove-6B-100d/glove-6B-100d-top5k.txt", models_dir());
	txt = lm_wordvec_load_file(path, LM_WORDVEC_AUTO, &err);
	if (CHECK(txt != NULL, "load %s (auto-detected as GloVe text) %s", path, err.message))
	{
		CHECK(lm_wordvec_count(txt) == 5000 && lm_wordvec_dim(txt) == 100,
			  "5000 words of 100 dimensions (%d x %d)", lm_wordvec_count(txt), lm_wordvec_dim(txt));
		check_text_against_binary(bin, txt);
		lm_wordvec_free(txt);
	}
	check_speed_and_extras(bin);
	lm_wordvec_free(bin);

	snprintf(path, sizeof(path), "%s/glove-6B-100d/glove-6B-100d-top30k.bin", models_dir());
	if (lm_read_file(path, (size_t) 1 << 30, &data, &len, &err) == 0)
	{
		check_bad_input(data, len);
		free(data);
	}
	json_decref(ref);
	return test_done();
}
