/*
 * test_word2vec.c — word2vec training (src/classic/word2vec.h): options,
 * vocabulary and min_count, subsampling counts, reproducibility with a seed,
 * a tiny corpus where words in the same contexts end up close, long
 * sentences, the corpus file, cancellation, and the quality check against
 * gensim.
 *
 * The quality check trains on fortunes-freedict.json ("en") and
 * multi30k.train.en (916,550 words) with gensim's defaults (dim 100, window
 * 5, negative 5, epochs 5, min_count 5, sample 1e-3), writes the tokenized
 * corpus and our vectors to a temporary folder, and runs
 * tests/word2vec_reference.py with Debian's /usr/bin/python3: gensim trains
 * on the same tokens with the same hyperparameters (one worker thread) and
 * both vector sets are scored by the same code on the analogy questions
 * built from tests/data/word2vec_pairs.txt.  It fails when our score is more
 * than 10% below gensim's.  Without python3-gensim that part is skipped,
 * and fails only when PG_LM_REQUIRE_GENSIM=1.  PG_LM_WORD2VEC_KEEP=DIR keeps
 * the corpus and vector files there (bench/word2vec_bench.sh uses them).
 */
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classic/word2vec.h"
#include "classic/wordvec.h"
#include "testutil.h"

#ifndef PYTHON
#define PYTHON "/usr/bin/python3"	/* Debian's, which sees python3-gensim */
#endif
#define REFERENCE_SCRIPT "word2vec_reference.py"
#define PAIRS_FILE "data/word2vec_pairs.txt"
#define FORTUNES_FILE "fortunes-freedict.json"
#define CAPTIONS_FILE "multi30k.train.en"
#define PATH_MAX_LEN 1024
#define LINE_MAX_LEN (1 << 16)
/* pg_lm's analogy score may be at most this much below gensim's (relative). */
#define QUALITY_TOLERANCE 0.10
/* The synthetic corpus of the "same contexts" check. */
#define TINY_SENTENCES 3000

/* ---------------------------------------------------------------- helpers */

static const char *
data_dir(void)
{
	const char *dir = getenv("PG_LM_DATA");

	return dir ? dir : "../shared/data";
}

/* A file beside this source file. */
static void
source_path(char *out, size_t size, const char *name)
{
	char		source[PATH_MAX_LEN];

	snprintf(source, sizeof(source), "%s", __FILE__);
	snprintf(out, size, "%s/%s", dirname(source), name);
}

static LmWord2VecOptions
options(int dim, int epochs, int64_t min_count, double sample, uint64_t seed)
{
	LmWord2VecOptions o;

	lm_word2vec_default_options(&o);
	o.dim = dim;
	o.epochs = epochs;
	o.min_count = min_count;
	o.sample = sample;
	o.seed = seed;
	return o;
}

static double
cosine(const float *a, const float *b, int n)
{
	double		ab = 0,
				aa = 0,
				bb = 0;

	for (int i = 0; i < n; i++)
	{
		ab += (double) a[i] * b[i];
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}
	return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static int32_t
vocabulary_index(const LmWord2Vec *w, const char *word)
{
	for (int32_t i = 0; i < lm_word2vec_vocabulary_size(w); i++)
		if (strcmp(lm_word2vec_vocabulary_word(w, i, NULL), word) == 0)
			return i;
	return -1;
}

static double
word_cosine(const LmWord2Vec *w, int dim, const char *a, const char *b)
{
	int32_t		i = vocabulary_index(w, a),
				j = vocabulary_index(w, b);

	if (i < 0 || j < 0)
		return NAN;
	return cosine(lm_word2vec_vector(w, i), lm_word2vec_vector(w, j), dim);
}

static int	cancel_after;

static int
cancel_countdown(void)
{
	return --cancel_after < 0;
}

/* ---------------------------------------------------------------- options */

static void
test_options(void)
{
	LmWord2VecOptions o;
	LmError		err;

	lm_word2vec_default_options(&o);
	test_error_init(&err);
	CHECK(o.dim == 100 && o.window == 5 && o.negative == 5 && o.epochs == 5 && o.min_count == 5 &&
		  o.sample == 1e-3 && o.alpha == 0.025 && o.min_alpha == 0.0001,
		  "defaults are gensim's (dim 100, window 5, negative 5, epochs 5, min_count 5, sample 1e-3)");
	CHECK(lm_word2vec_check_options(&o, &err) == 0, "the defaults are valid");

#define BAD_OPTION(field, value, text) \
	do { \
		LmWord2VecOptions b = o; \
		LmWord2Vec *w; \
		b.field = (value); \
		test_error_init(&err); \
		w = lm_word2vec_new(&b, &err); \
		CHECK(w == NULL && err.code == LM_ERR_INVALID_ARGUMENT && strstr(err.message, text) != NULL, \
			  "%s is refused: %s", #field " = " #value, err.message); \
		lm_word2vec_free(w); \
	} while (0)

	BAD_OPTION(dim, 0, "dim");
	BAD_OPTION(dim, -3, "dim");
	BAD_OPTION(dim, LM_WORD2VEC_MAX_DIM + 1, "dim");
	BAD_OPTION(window, 0, "window");
	BAD_OPTION(negative, 0, "negative");
	BAD_OPTION(negative, -1, "negative");
	BAD_OPTION(epochs, 0, "epochs");
	BAD_OPTION(min_count, 0, "min_count");
	BAD_OPTION(sample, -0.1, "sample");
	BAD_OPTION(sample, 1.0, "sample");
	BAD_OPTION(sample, NAN, "sample");
	BAD_OPTION(alpha, 0, "alpha");
	BAD_OPTION(alpha, NAN, "alpha");
	BAD_OPTION(min_alpha, 0.5, "min_alpha");
	BAD_OPTION(min_alpha, -0.001, "min_alpha");
#undef BAD_OPTION
}

/* ------------------------------------------------------- vocabulary, errors */

static void
test_vocabulary(void)
{
	LmWord2VecOptions o = options(8, 1, 2, 0, 1);
	LmWord2Vec *w;
	LmWord2VecStats s;
	LmError		err;
	int64_t		count;
	LmWordVectors *wv;

	test_error_init(&err);
	w = lm_word2vec_new(&o, &err);
	CHECK(w != NULL, "new trainer");
	/* counts: b 3, c 3, a 2, d 1; b appears before c */
	CHECK(lm_word2vec_add_sentence(w, (const char *[]) {"b", "c", "a"}, 3, &err) == 0 &&
		  lm_word2vec_add_sentence(w, (const char *[]) {"c", "b", "d"}, 3, &err) == 0 &&
		  lm_word2vec_add_sentence(w, NULL, 0, &err) == 0 &&
		  lm_word2vec_add_sentence(w, (const char *[]) {"a", "b", "c"}, 3, &err) == 0,
		  "add sentences");
	CHECK(lm_word2vec_add_text(w, "The Cat, the CAT!", 17, &err) == 0, "add a text");
	lm_word2vec_stats(w, &s);
	CHECK(s.texts == 5 && s.sentences == 4 && s.corpus_words == 15 && s.distinct_words == 8,
		  "corpus counts: 5 texts, 4 sentences, 15 words, 8 distinct (got %lld, %lld, %lld, %lld)",
		  (long long) s.texts, (long long) s.sentences, (long long) s.corpus_words,
		  (long long) s.distinct_words);
	CHECK(lm_word2vec_vectors(w, &err) == NULL, "no vectors before training");
	test_error_init(&err);
	CHECK(lm_word2vec_train(w, &err) == 0, "train: %s", err.message);
	lm_word2vec_stats(w, &s);
	/* the 2, cat 2, b 3, c 3, a 2; dropped: d, ",", "!" */
	CHECK(lm_word2vec_vocabulary_size(w) == 5 && s.vocabulary == 5 && s.retained_words == 12,
		  "min_count 2 keeps 5 words, 12 tokens (got %d, %lld)", s.vocabulary, (long long) s.retained_words);
	CHECK(strcmp(lm_word2vec_vocabulary_word(w, 0, &count), "b") == 0 && count == 3 &&
		  strcmp(lm_word2vec_vocabulary_word(w, 1, &count), "c") == 0 && count == 3 &&
		  strcmp(lm_word2vec_vocabulary_word(w, 2, &count), "a") == 0 && count == 2 &&
		  strcmp(lm_word2vec_vocabulary_word(w, 3, &count), "the") == 0 && count == 2 &&
		  strcmp(lm_word2vec_vocabulary_word(w, 4, &count), "cat") == 0 && count == 2,
		  "most frequent first, ties in order of first appearance, lowercased texts");
	CHECK(lm_word2vec_vocabulary_word(w, 5, NULL) == NULL && lm_word2vec_vector(w, -1) == NULL,
		  "out of range words have no entry");
	CHECK(s.trained_words == 12 && s.downsampled == 0, "sample 0 keeps every word (%lld trained)",
		  (long long) s.trained_words);
	test_error_init(&err);
	CHECK(lm_word2vec_add_text(w, "more", 4, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT,
		  "no text after training");
	test_error_init(&err);
	CHECK(lm_word2vec_train(w, &err) == -1, "no second training");
	test_error_init(&err);
	wv = lm_word2vec_vectors(w, &err);
	CHECK(wv != NULL && lm_wordvec_count(wv) == 5 && lm_wordvec_dim(wv) == 8 &&
		  lm_wordvec_lookup(wv, "the", 3) == 3 &&
		  memcmp(lm_wordvec_vector(wv, 3), lm_word2vec_vector(w, 3), 8 * sizeof(float)) == 0,
		  "the word-vector store holds the vocabulary and its vectors in order");
	lm_wordvec_free(wv);
	lm_word2vec_free(w);

	/* an empty corpus, and one where no word reaches min_count */
	w = lm_word2vec_new(&o, &err);
	lm_word2vec_add_text(w, "  \t ", 4, &err);
	test_error_init(&err);
	CHECK(lm_word2vec_train(w, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT &&
		  strstr(err.message, "no words") != NULL, "an empty corpus is an error: %s", err.message);
	lm_word2vec_free(w);
	o.min_count = 3;
	w = lm_word2vec_new(&o, &err);
	lm_word2vec_add_text(w, "one two two", 11, &err);
	test_error_init(&err);
	CHECK(lm_word2vec_train(w, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT &&
		  strstr(err.message, "min_count (3)") != NULL && strstr(err.message, "2 times") != NULL,
		  "no word reaching min_count is an error: %s", err.message);
	lm_word2vec_free(w);

	/* a word with white space cannot be written as a corpus line */
	w = lm_word2vec_new(&o, &err);
	test_error_init(&err);
	CHECK(lm_word2vec_add_sentence(w, (const char *[]) {"two words"}, 1, &err) == -1 &&
		  err.code == LM_ERR_INVALID_ARGUMENT, "a word with a space is refused");
	lm_word2vec_free(w);
}

/* --------------------------------------------------- subsampling and length */

static void
test_subsampling(void)
{
	LmWord2VecOptions o = options(4, 4, 1, 1e-2, 3);
	LmWord2Vec *w;
	LmWord2VecStats s;
	LmError		err;
	const char *sentence[10];
	double		expected = 0;

	test_error_init(&err);
	w = lm_word2vec_new(&o, &err);
	/* "the" is half of the corpus; w0..w499 once each per 100 sentences */
	for (int i = 0; i < 1000; i++)
	{
		char		words[5][32];

		for (int j = 0; j < 5; j++)
		{
			snprintf(words[j], sizeof(words[j]), "w%d", (i * 5 + j) % 500);
			sentence[2 * j] = "the";
			sentence[2 * j + 1] = words[j];
		}
		lm_word2vec_add_sentence(w, sentence, 10, &err);
	}
	CHECK(lm_word2vec_train(w, &err) == 0, "train on a skewed corpus");
	lm_word2vec_stats(w, &s);
	{
		/* gensim's keep probability: t = sample * 10000 = 100 */
		double		t = 1e-2 * 10000;

		expected += fmin(1.0, (sqrt(5000 / t) + 1) * t / 5000) * 5000;
		expected += 500 * fmin(1.0, (sqrt(10 / t) + 1) * t / 10) * 10;
	}
	CHECK(s.downsampled == 1, "only the frequent word is thinned (%d)", s.downsampled);
	CHECK(fabs(s.expected_words - expected) < 1e-6, "expected words %.3f = %.3f", s.expected_words, expected);
	CHECK(fabs((double) s.trained_words / o.epochs - expected) < 0.03 * expected,
		  "trained words per epoch %.1f within 3%% of the expected %.1f",
		  (double) s.trained_words / o.epochs, expected);
	lm_word2vec_free(w);

	/* a sentence longer than the limit is cut */
	w = lm_word2vec_new(&o, &err);
	{
		size_t		n = 2 * LM_WORD2VEC_MAX_SENTENCE + 5;
		const char **long_sentence = malloc(sizeof(char *) * n);

		for (size_t i = 0; i < n; i++)
			long_sentence[i] = i % 2 ? "x" : "y";
		CHECK(lm_word2vec_add_sentence(w, long_sentence, n, &err) == 0, "add a long sentence");
		free(long_sentence);
	}
	lm_word2vec_stats(w, &s);
	CHECK(s.sentences == 3 && s.texts == 1, "%d words make 3 sentences (got %lld)",
		  2 * LM_WORD2VEC_MAX_SENTENCE + 5, (long long) s.sentences);
	lm_word2vec_free(w);
}

/* ------------------------------------------------------------ reproducible */

static LmWord2Vec *
train_captions(const LmWord2VecOptions *o, size_t max_lines, LmError *err)
{
	char		path[PATH_MAX_LEN];
	char	   *line = malloc(LINE_MAX_LEN);
	LmWord2Vec *w = lm_word2vec_new(o, err);
	FILE	   *f;
	size_t		n = 0;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), CAPTIONS_FILE);
	f = fopen(path, "r");
	if (f == NULL || w == NULL)
	{
		printf("# cannot read %s\n", path);
		if (f)
			fclose(f);
		free(line);
		lm_word2vec_free(w);
		return NULL;
	}
	while (n < max_lines && fgets(line, LINE_MAX_LEN, f))
	{
		lm_word2vec_add_text(w, line, strlen(line), err);
		n++;
	}
	fclose(f);
	free(line);
	if (lm_word2vec_train(w, err) != 0)
	{
		lm_word2vec_free(w);
		return NULL;
	}
	return w;
}

static void
test_reproducible(void)
{
	LmWord2VecOptions o = options(24, 1, 5, 1e-3, 42);
	LmError		err;
	LmWord2Vec *a,
			   *b,
			   *c;
	LmWord2VecStats s;

	test_error_init(&err);
	a = train_captions(&o, 3000, &err);
	b = train_captions(&o, 3000, &err);
	o.seed = 43;
	c = train_captions(&o, 3000, &err);
	if (!CHECK(a && b && c, "train three models on 3,000 captions: %s", err.message))
		goto done;
	lm_word2vec_stats(a, &s);
	CHECK(s.vocabulary > 300 && s.vocabulary == lm_word2vec_vocabulary_size(b),
		  "same vocabulary (%d words)", s.vocabulary);
	{
		bool		same = true,
					differs = false;

		for (int32_t i = 0; i < s.vocabulary; i++)
		{
			same = same && memcmp(lm_word2vec_vector(a, i), lm_word2vec_vector(b, i), 24 * sizeof(float)) == 0;
			differs = differs || memcmp(lm_word2vec_vector(a, i), lm_word2vec_vector(c, i), 24 * sizeof(float)) != 0;
		}
		CHECK(same, "the same seed gives the same vectors");
		CHECK(differs, "another seed gives other vectors");
	}
	{
		bool		finite = true;

		for (int32_t i = 0; i < s.vocabulary; i++)
			for (int d = 0; d < 24; d++)
				finite = finite && isfinite(lm_word2vec_vector(a, i)[d]);
		CHECK(finite, "every vector is finite");
	}
	printf("# 3,000 captions, dim 24, 1 epoch: %lld words, %lld pairs, %.3f s, %.0f words/s\n",
		   (long long) s.corpus_words, (long long) s.trained_pairs, s.seconds, s.words_per_second);
done:
	lm_word2vec_free(a);
	lm_word2vec_free(b);
	lm_word2vec_free(c);
}

/* ------------------------------------------------------------ same contexts */

/*
 * Animals and vehicles in disjoint templates: the words of one group share
 * their contexts, so they must end up closer to each other than to the
 * other group's.
 */
static void
test_contexts(void)
{
	static const char *const animals[] = {"cat", "dog", "rabbit"};
	static const char *const vehicles[] = {"car", "bus", "truck"};
	static const char *const animal_verbs[] = {"eats", "sleeps", "purrs", "runs"};
	static const char *const vehicle_verbs[] = {"drives", "honks", "parks", "stops"};
	static const char *const animal_places[] = {"garden", "basket", "kitchen"};
	static const char *const vehicle_places[] = {"road", "garage", "highway"};
	LmWord2VecOptions o = options(20, 5, 1, 0, 9);
	LmError		err;
	LmWord2Vec *w;
	uint64_t	r = 12345;

	test_error_init(&err);
	w = lm_word2vec_new(&o, &err);
	for (int i = 0; i < TINY_SENTENCES; i++)
	{
		bool		animal = i % 2 == 0;
		const char *s[6];

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		s[0] = "the";
		s[1] = animal ? animals[(r >> 33) % 3] : vehicles[(r >> 33) % 3];
		s[2] = animal ? animal_verbs[(r >> 40) % 4] : vehicle_verbs[(r >> 40) % 4];
		s[3] = "in";
		s[4] = "the";
		s[5] = animal ? animal_places[(r >> 50) % 3] : vehicle_places[(r >> 50) % 3];
		lm_word2vec_add_sentence(w, s, 6, &err);
	}
	if (!CHECK(lm_word2vec_train(w, &err) == 0, "train on the animals and vehicles corpus"))
	{
		lm_word2vec_free(w);
		return;
	}
	{
		double		cat_dog = word_cosine(w, 20, "cat", "dog");
		double		cat_car = word_cosine(w, 20, "cat", "car");
		double		car_bus = word_cosine(w, 20, "car", "bus");
		double		bus_rabbit = word_cosine(w, 20, "bus", "rabbit");
		double		within = 0,
					across = 0;

		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++)
			{
				if (i != j)
					within += word_cosine(w, 20, animals[i], animals[j]) +
						word_cosine(w, 20, vehicles[i], vehicles[j]);
				across += word_cosine(w, 20, animals[i], vehicles[j]);
			}
		within /= 12;
		across /= 9;
		CHECK(cat_dog > cat_car, "cos(cat, dog) %.3f > cos(cat, car) %.3f", cat_dog, cat_car);
		CHECK(car_bus > bus_rabbit, "cos(car, bus) %.3f > cos(bus, rabbit) %.3f", car_bus, bus_rabbit);
		CHECK(within > across + 0.2, "mean cosine within a group %.3f, across groups %.3f", within, across);
	}
	lm_word2vec_free(w);
}

/* ------------------------------------------------------ corpus, cancelling */

static void
test_corpus_file(void)
{
	LmWord2VecOptions o = options(4, 1, 1, 0, 1);
	LmError		err;
	LmWord2Vec *w;
	char		dir[] = "/tmp/pg_lm_w2v_corpus.XXXXXX";
	char		path[PATH_MAX_LEN];
	char		line[256];
	FILE	   *f;
	bool		ok;

	test_error_init(&err);
	if (!CHECK(mkdtemp(dir) != NULL, "temporary folder"))
		return;
	snprintf(path, sizeof(path), "%s/corpus.txt", dir);
	w = lm_word2vec_new(&o, &err);
	lm_word2vec_add_text(w, "A man's hat — well-known.", strlen("A man's hat — well-known."), &err);
	lm_word2vec_add_text(w, "", 0, &err);
	lm_word2vec_add_text(w, "Two\nlines", 9, &err);
	CHECK(lm_word2vec_write_corpus(w, path, &err) == 0, "write the corpus");
	f = fopen(path, "r");
	ok = f != NULL && fgets(line, sizeof(line), f) && strcmp(line, "a man's hat — well - known .\n") == 0 &&
		fgets(line, sizeof(line), f) && strcmp(line, "two lines\n") == 0 && !fgets(line, sizeof(line), f);
	CHECK(ok, "the corpus file holds one tokenized sentence a line");
	if (f)
		fclose(f);
	test_error_init(&err);
	CHECK(lm_word2vec_write_corpus(w, "/nonexistent/dir/corpus.txt", &err) == -1 && err.code == LM_ERR_IO,
		  "an unwritable corpus path is an I/O error");
	unlink(path);
	rmdir(dir);
	lm_word2vec_free(w);
}

static void
test_cancel(void)
{
	LmWord2VecOptions o = options(16, 50, 1, 1e-3, 1);
	LmError		err;
	LmWord2Vec *w;

	test_error_init(&err);
	cancel_after = 100;
	test_cancel_hook = cancel_countdown;
	w = train_captions(&o, 2000, &err);
	test_cancel_hook = NULL;
	CHECK(w == NULL && err.code == LM_ERR_CANCELLED, "training stops when cancelled (%s)", err.message);
	lm_word2vec_free(w);

	/* the trainer that was cancelled hands out no vectors */
	o.epochs = 1;
	w = lm_word2vec_new(&o, &err);
	lm_word2vec_add_text(w, "a b c a b c", 11, &err);
	cancel_after = 0;
	test_cancel_hook = cancel_countdown;
	test_error_init(&err);
	CHECK(lm_word2vec_train(w, &err) == -1 && err.code == LM_ERR_CANCELLED, "cancelled at once");
	test_cancel_hook = NULL;
	test_error_init(&err);
	CHECK(lm_word2vec_vector(w, 0) == NULL && lm_word2vec_vectors(w, &err) == NULL,
		  "no vectors after a cancelled training");
	lm_word2vec_free(w);
}

/* -------------------------------------------------------- quality vs gensim */

static bool
gensim_available(void)
{
	return access(PYTHON, X_OK) == 0 &&
		system(PYTHON " -c 'import gensim' >/dev/null 2>&1") == 0;
}

/* Fortunes then captions, in file order, as bench/word2vec_bench.sh feeds SQL. */
static bool
add_quality_corpus(LmWord2Vec *w, LmError *err)
{
	char		path[PATH_MAX_LEN];
	json_error_t je;
	json_t	   *root,
			   *en,
			   *v;
	size_t		i;
	char	   *line;
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), FORTUNES_FILE);
	root = json_load_file(path, 0, &je);
	en = root ? json_object_get(root, "en") : NULL;
	if (!json_is_array(en))
	{
		printf("# cannot read %s: %s\n", path, je.text);
		json_decref(root);
		return false;
	}
	json_array_foreach(en, i, v)
	{
		if (json_is_string(v) &&
			lm_word2vec_add_text(w, json_string_value(v), json_string_length(v), err) != 0)
			break;
	}
	json_decref(root);
	snprintf(path, sizeof(path), "%s/%s", data_dir(), CAPTIONS_FILE);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	line = malloc(LINE_MAX_LEN);
	while (fgets(line, LINE_MAX_LEN, f))
		if (lm_word2vec_add_text(w, line, strlen(line), err) != 0)
			break;
	free(line);
	fclose(f);
	return err->code == LM_OK;
}

static bool
write_vectors(const LmWord2Vec *w, int dim, const char *path)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fprintf(f, "%d %d\n", lm_word2vec_vocabulary_size(w), dim);
	for (int32_t i = 0; i < lm_word2vec_vocabulary_size(w); i++)
	{
		const float *v = lm_word2vec_vector(w, i);

		fputs(lm_word2vec_vocabulary_word(w, i, NULL), f);
		for (int d = 0; d < dim; d++)
			fprintf(f, " %.9g", v[d]);
		fputc('\n', f);
	}
	return fclose(f) == 0;
}

static void
test_quality(void)
{
	LmWord2VecOptions o;
	LmWord2VecStats s;
	LmError		err;
	LmWord2Vec *w;
	const char *keep = getenv("PG_LM_WORD2VEC_KEEP");
	char		tmp[] = "/tmp/pg_lm_w2v.XXXXXX";
	const char *dir = keep;
	char		corpus[PATH_MAX_LEN],
				vectors[PATH_MAX_LEN],
				script[PATH_MAX_LEN],
				pairs[PATH_MAX_LEN],
				command[6 * PATH_MAX_LEN],
				line[512];
	double		gensim_score = -1,
				ours_score = -1,
				gensim_wps = 0;
	FILE	   *pipe;

	if (!gensim_available())
	{
		const char *require = getenv("PG_LM_REQUIRE_GENSIM");

		printf("# skipped: python3-gensim not installed\n");
		CHECK(require == NULL || strcmp(require, "1") != 0,
			  "gensim quality check (PG_LM_REQUIRE_GENSIM=1 requires python3-gensim)");
		return;
	}
	if (dir == NULL)
	{
		if (!CHECK(mkdtemp(tmp) != NULL, "temporary folder"))
			return;
		dir = tmp;
	}
	else
		mkdir(dir, 0755);
	snprintf(corpus, sizeof(corpus), "%s/corpus.txt", dir);
	snprintf(vectors, sizeof(vectors), "%s/pg_lm_vectors.txt", dir);
	source_path(script, sizeof(script), REFERENCE_SCRIPT);
	source_path(pairs, sizeof(pairs), PAIRS_FILE);

	lm_word2vec_default_options(&o);
	test_error_init(&err);
	w = lm_word2vec_new(&o, &err);
	if (!CHECK(w && add_quality_corpus(w, &err), "read the fortunes and Multi30k captions %s", err.message))
		goto done;
	CHECK(lm_word2vec_write_corpus(w, corpus, &err) == 0, "write the tokenized corpus to %s", corpus);
	if (!CHECK(lm_word2vec_train(w, &err) == 0, "train with the defaults: %s", err.message))
		goto done;
	lm_word2vec_stats(w, &s);
	CHECK(write_vectors(w, o.dim, vectors), "write our vectors to %s", vectors);
	printf("# pg_lm: %lld texts, %lld words, vocabulary %d, %lld words trained, %.2f s, %.0f words/s\n",
		   (long long) s.texts, (long long) s.corpus_words, s.vocabulary, (long long) s.trained_words,
		   s.seconds, s.words_per_second);
	snprintf(command, sizeof(command), "%s %s %s %s %s %d %d %d %d %lld %g %llu", PYTHON, script, corpus,
			 pairs, vectors, o.dim, o.window, o.negative, o.epochs, (long long) o.min_count, o.sample,
			 (unsigned long long) o.seed);
	printf("# running %s\n", command);
	fflush(stdout);
	pipe = popen(command, "r");
	if (!CHECK(pipe != NULL, "start the gensim reference"))
		goto done;
	while (fgets(line, sizeof(line), pipe))
	{
		char		key[128];
		double		value;

		printf("# gensim reference: %s", line);
		if (sscanf(line, "%127s %lf", key, &value) != 2)
			continue;
		if (strcmp(key, "gensim_score") == 0)
			gensim_score = value;
		else if (strcmp(key, "ours_score") == 0)
			ours_score = value;
		else if (strcmp(key, "gensim_words_per_second") == 0)
			gensim_wps = value;
		else if (strcmp(key, "gensim_vocabulary") == 0)
			CHECK((int) value == s.vocabulary, "gensim's vocabulary has our %d words (%d)", s.vocabulary, (int) value);
	}
	CHECK(pclose(pipe) == 0, "the gensim reference ran");
	printf("# analogy score: pg_lm %.4f, gensim %.4f; words/s: pg_lm %.0f, gensim %.0f (one thread each)\n",
		   ours_score, gensim_score, s.words_per_second, gensim_wps);
	CHECK(gensim_score > 0.05, "gensim's vectors answer the analogies (%.4f)", gensim_score);
	CHECK(ours_score >= (1 - QUALITY_TOLERANCE) * gensim_score,
		  "pg_lm's analogy score %.4f is within 10%% of gensim's %.4f (or above)", ours_score, gensim_score);
done:
	lm_word2vec_free(w);
	if (keep == NULL)
	{
		unlink(corpus);
		unlink(vectors);
		rmdir(tmp);
	}
}

int
main(void)
{
	test_options();
	test_vocabulary();
	test_subsampling();
	test_reproducible();
	test_contexts();
	test_corpus_file();
	test_cancel();
	test_quality();
	return test_done();
}
