/*
 * test_tfidf.c — bag of words and TF-IDF against scikit-learn
 * (fixtures/metrics/bow_tfidf.json: CountVectorizer and TfidfVectorizer
 * with default options on 27 documents), the options checked against
 * quantities derived from the fixture's count matrix, Python's
 * str.lower() and re.findall on non-ASCII text, and bad options.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classic/text_case.h"
#include "classic/vectorizer.h"
#include "cancel_util.h"
#include "testutil.h"

#define TOLERANCE 1e-6

typedef struct Fixture
{
	json_t	   *root;
	json_t	   *docs;
	json_t	   *vocab;
	json_t	   *counts;
	json_t	   *tfidf_matrix;
	json_t	   *idf;
	size_t		n_docs;
	size_t		n_terms;
} Fixture;

static LmVectorizer *
fit(const Fixture *f, const LmVectorizerOptions *o, LmError *err)
{
	LmVectorizer *v = lm_vectorizer_new(o, err);

	if (v == NULL)
		return NULL;
	for (size_t d = 0; d < f->n_docs; d++)
	{
		const char *doc = json_string_value(json_array_get(f->docs, d));

		if (lm_vectorizer_add_document(v, doc, strlen(doc), err) < 0)
		{
			lm_vectorizer_free(v);
			return NULL;
		}
	}
	if (lm_vectorizer_finish(v, err) < 0)
	{
		lm_vectorizer_free(v);
		return NULL;
	}
	return v;
}

static double
cell(json_t *matrix, size_t r, size_t c)
{
	return json_number_value(json_array_get(json_array_get(matrix, r), c));
}

/* Document frequency of fixture term t, from the sklearn count matrix. */
static int
fixture_df(const Fixture *f, size_t t)
{
	int			df = 0;

	for (size_t d = 0; d < f->n_docs; d++)
		df += cell(f->counts, d, t) > 0;
	return df;
}

static void
check_defaults(const Fixture *f)
{
	LmVectorizerOptions o;
	LmError		err;
	LmVectorizer *v;
	size_t		same_terms = 0;
	double		count_err = 0.0,
				tfidf_err = 0.0,
				idf_err = 0.0;
	double	   *row;

	lm_vectorizer_default_options(&o);
	test_error_init(&err);
	v = fit(f, &o, &err);
	if (!CHECK(v != NULL, "fit 27 documents: %s", err.message))
		return;
	for (size_t t = 0; t < f->n_terms && t < (size_t) lm_vectorizer_vocabulary_size(v); t++)
	{
		size_t		len;
		const char *term = lm_vectorizer_term(v, (int32_t) t, &len);
		const char *want = json_string_value(json_array_get(f->vocab, t));

		same_terms += strlen(want) == len && memcmp(want, term, len) == 0;
	}
	CHECK((size_t) lm_vectorizer_vocabulary_size(v) == f->n_terms && same_terms == f->n_terms,
		  "vocabulary %zu/%zu terms in sklearn's order (size %d)", same_terms, f->n_terms,
		  lm_vectorizer_vocabulary_size(v));
	if ((size_t) lm_vectorizer_vocabulary_size(v) != f->n_terms)
	{
		lm_vectorizer_free(v);
		return;
	}
	row = malloc(sizeof(double) * f->n_terms);
	for (size_t d = 0; d < f->n_docs; d++)
	{
		const char *doc = json_string_value(json_array_get(f->docs, d));

		lm_vectorizer_counts_dense(v, doc, strlen(doc), row, &err);
		for (size_t t = 0; t < f->n_terms; t++)
			count_err = fmax(count_err, fabs(row[t] - cell(f->counts, d, t)));
		lm_vectorizer_tfidf_dense(v, doc, strlen(doc), row, &err);
		for (size_t t = 0; t < f->n_terms; t++)
			tfidf_err = fmax(tfidf_err, fabs(row[t] - cell(f->tfidf_matrix, d, t)));
	}
	for (size_t t = 0; t < f->n_terms; t++)
		idf_err = fmax(idf_err, fabs(lm_vectorizer_idf(v, (int32_t) t) -
									 json_number_value(json_array_get(f->idf, t))));
	CHECK(count_err == 0.0, "count matrix 27 x %zu equals CountVectorizer (max error %g)",
		  f->n_terms, count_err);
	CHECK(tfidf_err < TOLERANCE, "TF-IDF matrix equals TfidfVectorizer within 1e-6 (max error %.3g)",
		  tfidf_err);
	CHECK(idf_err < TOLERANCE, "idf equals within 1e-6 (max error %.3g)", idf_err);

	/* restoring from the stored vocabulary and idf gives the same rows */
	{
		const char **terms = malloc(sizeof(char *) * f->n_terms);
		size_t	   *lens = malloc(sizeof(size_t) * f->n_terms);
		double	   *idf = malloc(sizeof(double) * f->n_terms);
		LmVectorizer *r;
		double		restore_err = 0.0;
		double	   *row2 = malloc(sizeof(double) * f->n_terms);

		for (size_t t = 0; t < f->n_terms; t++)
		{
			terms[t] = lm_vectorizer_term(v, (int32_t) t, &lens[t]);
			idf[t] = lm_vectorizer_idf(v, (int32_t) t);
		}
		r = lm_vectorizer_restore(&o, terms, lens, idf, (int32_t) f->n_terms, &err);
		for (size_t d = 0; r != NULL && d < f->n_docs; d++)
		{
			const char *doc = json_string_value(json_array_get(f->docs, d));

			lm_vectorizer_tfidf_dense(v, doc, strlen(doc), row, &err);
			lm_vectorizer_tfidf_dense(r, doc, strlen(doc), row2, &err);
			for (size_t t = 0; t < f->n_terms; t++)
				restore_err = fmax(restore_err, fabs(row[t] - row2[t]));
		}
		CHECK(r != NULL && restore_err == 0.0, "restored vectorizer gives identical rows");
		lm_vectorizer_free(r);
		free(terms);
		free(lens);
		free(idf);
		free(row2);
	}
	{
		LmSparseEntry *sparse;
		int32_t		n;
		const char *unseen = "Paris has amazing zeppelins";

		lm_vectorizer_tfidf(v, unseen, strlen(unseen), &sparse, &n, &err);
		CHECK(n == 3, "an unseen word is ignored when transforming (%d terms)", n);
		free(sparse);
	}
	free(row);
	lm_vectorizer_free(v);
}

/* The terms kept by min_df / max_df are the fixture's terms with that df. */
static void
check_df_limits(const Fixture *f, double min_df, bool min_frac, double max_df, bool max_frac)
{
	LmVectorizerOptions o;
	LmError		err;
	LmVectorizer *v;
	size_t		expected = 0,
				matched = 0;
	double		lo = min_frac ? min_df * f->n_docs : min_df;
	double		hi = max_frac ? max_df * f->n_docs : max_df;

	lm_vectorizer_default_options(&o);
	o.min_df = min_df;
	o.min_df_is_fraction = min_frac;
	o.max_df = max_df;
	o.max_df_is_fraction = max_frac;
	test_error_init(&err);
	v = fit(f, &o, &err);
	for (size_t t = 0; t < f->n_terms; t++)
	{
		int			df = fixture_df(f, t);
		const char *term = json_string_value(json_array_get(f->vocab, t));

		if (df >= lo && df <= hi)
		{
			expected++;
			matched += v != NULL && lm_vectorizer_term_index(v, term, strlen(term)) >= 0;
		}
	}
	CHECK(v != NULL && matched == expected && (size_t) lm_vectorizer_vocabulary_size(v) == expected,
		  "min_df %g%s max_df %g%s keeps the %zu terms with that document frequency",
		  min_df, min_frac ? " (fraction)" : "", max_df, max_frac ? " (fraction)" : "", expected);
	lm_vectorizer_free(v);
}

static void
check_options(const Fixture *f)
{
	LmVectorizerOptions o;
	LmError		err;
	LmVectorizer *v;
	const char *docs[] = {"New York has amazing food", "the cat the cat the dog"};
	LmSparseEntry *row;
	int32_t		n;

	check_df_limits(f, 2, false, 1.0, true);
	check_df_limits(f, 1, false, 0.1, true);
	check_df_limits(f, 0.1, true, 20, false);

	lm_vectorizer_default_options(&o);
	o.max_features = 10;
	test_error_init(&err);
	v = fit(f, &o, &err);
	{
		int			min_kept = 1 << 30,
					max_dropped = 0;

		for (size_t t = 0; v != NULL && t < f->n_terms; t++)
		{
			const char *term = json_string_value(json_array_get(f->vocab, t));
			int			tf = 0;

			for (size_t d = 0; d < f->n_docs; d++)
				tf += (int) cell(f->counts, d, t);
			if (lm_vectorizer_term_index(v, term, strlen(term)) >= 0)
				min_kept = tf < min_kept ? tf : min_kept;
			else
				max_dropped = tf > max_dropped ? tf : max_dropped;
		}
		CHECK(v != NULL && lm_vectorizer_vocabulary_size(v) == 10 && min_kept >= max_dropped,
			  "max_features 10 keeps the most frequent terms (least kept %d >= most dropped %d)",
			  min_kept, max_dropped);
	}
	lm_vectorizer_free(v);

	lm_vectorizer_default_options(&o);
	o.ngram_min = 1;
	o.ngram_max = 2;
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, docs[0], strlen(docs[0]), &err);
	lm_vectorizer_finish(v, &err);
	CHECK(lm_vectorizer_vocabulary_size(v) == 9 && lm_vectorizer_term_index(v, "new york", 8) >= 0 &&
		  lm_vectorizer_term_index(v, "has amazing", 11) >= 0,
		  "ngram_range (1, 2): 5 words + 4 bigrams (%d)", lm_vectorizer_vocabulary_size(v));
	lm_vectorizer_free(v);

	lm_vectorizer_default_options(&o);
	o.sublinear_tf = true;
	o.norm = LM_VECTORIZER_NORM_NONE;
	o.smooth_idf = false;
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, docs[0], strlen(docs[0]), &err);
	lm_vectorizer_add_document(v, docs[1], strlen(docs[1]), &err);
	lm_vectorizer_finish(v, &err);
	lm_vectorizer_tfidf(v, docs[1], strlen(docs[1]), &row, &n, &err);
	/* "the" appears 3 times in doc 2, df 1 of 2: (1 + ln 3) * (ln(2/1) + 1) */
	CHECK(n == 3 && fabs(row[2].value - (1 + log(3.0)) * (log(2.0) + 1)) < 1e-12,
		  "sublinear_tf, no smoothing, no norm: the = %.6f", n == 3 ? row[2].value : 0.0);
	free(row);
	lm_vectorizer_free(v);

	lm_vectorizer_default_options(&o);
	o.binary = true;
	o.norm = LM_VECTORIZER_NORM_L1;
	o.use_idf = false;
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, docs[1], strlen(docs[1]), &err);
	lm_vectorizer_finish(v, &err);
	lm_vectorizer_counts(v, docs[1], strlen(docs[1]), &row, &n, &err);
	CHECK(n == 3 && row[0].value == 1 && row[2].value == 1, "binary counts are 0/1");
	free(row);
	lm_vectorizer_tfidf(v, docs[1], strlen(docs[1]), &row, &n, &err);
	CHECK(n == 3 && fabs(row[0].value - 1.0 / 3) < 1e-12, "l1 norm without idf: 1/3 each");
	free(row);
	lm_vectorizer_free(v);
}

/* Counting a text of a million words stops when cancelled. */
static void
check_cancel_counting(const LmVectorizer *v)
{
	const size_t words = 1000000;
	size_t		len;
	char	   *text = repeated_text("the ", words * 4, &len);
	LmSparseEntry *row;
	int32_t		n;
	LmError		err;

	for (int k = 1; k <= 8; k *= 2)
	{
		cancel_arm(k);
		test_error_init(&err);
		row = NULL;
		CHECK(lm_vectorizer_counts(v, text, words * 4, &row, &n, &err) == -1 &&
			  err.code == LM_ERR_CANCELLED && row == NULL,
			  "counting a %zu-word text stops at cancel check %d (%s)", words, k, err.message);
	}
	test_cancel_hook = NULL;
	free(text);
}

/*
 * A document with more words than the vocabulary has terms is counted by a
 * different sort than a short one: repeating every fixture document 1,000
 * times must give 1,000 times its counts, and a cancel request stops it.
 */
static void
check_long_document(const Fixture *f)
{
	const int	reps = 1000;
	LmVectorizerOptions o;
	LmError		err;
	LmVectorizer *v;
	int			docs_ok = 0;

	lm_vectorizer_default_options(&o);
	test_error_init(&err);
	v = fit(f, &o, &err);
	if (!CHECK(v != NULL, "fit for long documents: %s", err.message))
		return;
	for (size_t d = 0; d < f->n_docs; d++)
	{
		const char *doc = json_string_value(json_array_get(f->docs, d));
		size_t		len = strlen(doc);
		char	   *text = malloc(reps * (len + 1) + 1);
		LmSparseEntry *one = NULL,
				   *many = NULL;
		int32_t		n_one = 0,
					n_many = 0;
		bool		same;

		for (int r = 0; r < reps; r++)
		{
			memcpy(text + r * (len + 1), doc, len);
			text[r * (len + 1) + len] = ' ';
		}
		text[reps * (len + 1)] = '\0';
		lm_vectorizer_counts(v, doc, len, &one, &n_one, &err);
		lm_vectorizer_counts(v, text, reps * (len + 1), &many, &n_many, &err);
		same = one != NULL && many != NULL && n_one == n_many;
		for (int32_t i = 0; same && i < n_one; i++)
			same = one[i].index == many[i].index && many[i].value == reps * one[i].value;
		docs_ok += same;
		free(one);
		free(many);
		free(text);
	}
	CHECK(docs_ok == (int) f->n_docs,
		  "each document repeated %d times counts %d times as much (%d of %zu documents)",
		  reps, reps, docs_ok, f->n_docs);
	check_cancel_counting(v);
	lm_vectorizer_free(v);
}

/* str.lower() and re.findall(r'(?u)\b\w\w+\b') as Python 3.11 gives them. */
static void
check_python_text(void)
{
	struct
	{
		const char *in;
		const char *want;
	}			lower[] = {
		{"\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\x9f\xce\x94\xce\x9f\xce\xa3.",
		"\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xce\xbf\xce\xb4\xce\xbf\xcf\x82."},	/* final sigma */
		{"\xc4\xb0stanbul", "i\xcc\x87stanbul"},	/* I with dot */
		{"\xce\xa3\xce\x91", "\xcf\x83\xce\xb1"},	/* sigma starting a word */
		{"A\xce\xa3'\xce\xa3", "a\xcf\x83'\xcf\x82"},	/* apostrophe is case-ignorable */
		{"\xc7\x85 \xc7\x84 \xe1\xba\x9e \xe2\x84\xa6 \xe2\x84\xaa \xe2\x84\xab",
		"\xc7\x86 \xc7\x86 \xc3\x9f \xcf\x89 k \xc3\xa5"},
	};
	int			ok = 0;
	LmVectorizerOptions o;
	LmVectorizer *v;
	LmError		err;
	const char *hindi = "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 "
		"\xe0\xa4\xa6\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa4\xbf\xe0\xa4\xaf\xe0\xa4\xbe hello_world a1 \xc2\xb2\xc2\xb3 x";

	for (size_t i = 0; i < sizeof(lower) / sizeof(lower[0]); i++)
	{
		char	   *out;
		size_t		len;

		test_error_init(&err);
		if (lm_text_lower(lower[i].in, strlen(lower[i].in), &out, &len, &err) == 0)
		{
			if (len == strlen(lower[i].want) && memcmp(out, lower[i].want, len) == 0)
				ok++;
			else
				printf("# lower(%s) = %s, Python gives %s\n", lower[i].in, out, lower[i].want);
			free(out);
		}
	}
	CHECK(ok == (int) (sizeof(lower) / sizeof(lower[0])), "str.lower() cases %d/%zu",
		  ok, sizeof(lower) / sizeof(lower[0]));

	/* Python: ['नमस', 'hello_world', 'a1', '²³'] (combining marks are not \w) */
	lm_vectorizer_default_options(&o);
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, hindi, strlen(hindi), &err);
	lm_vectorizer_finish(v, &err);
	CHECK(lm_vectorizer_vocabulary_size(v) == 4 &&
		  lm_vectorizer_term_index(v, "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8", 9) >= 0 &&
		  lm_vectorizer_term_index(v, "hello_world", 11) >= 0 &&
		  lm_vectorizer_term_index(v, "\xc2\xb2\xc2\xb3", 4) >= 0,
		  "token pattern on Devanagari, '_' and superscripts matches re.findall (%d terms)",
		  lm_vectorizer_vocabulary_size(v));
	lm_vectorizer_free(v);

	o.token_pattern = "(?u)\\b(\\w)\\w*\\b";
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, "apple avocado banana", 20, &err);
	lm_vectorizer_finish(v, &err);
	CHECK(v != NULL && lm_vectorizer_vocabulary_size(v) == 2 && lm_vectorizer_term_index(v, "a", 1) == 0,
		  "a pattern with one group yields the group (first letters)");
	lm_vectorizer_free(v);
}

static void
check_bad_options(void)
{
	LmVectorizerOptions o;
	LmError		err;
	LmVectorizer *v;

	lm_vectorizer_default_options(&o);
	o.token_pattern = "(unclosed";
	test_error_init(&err);
	CHECK(lm_vectorizer_new(&o, &err) == NULL && err.code == LM_ERR_INVALID_ARGUMENT,
		  "invalid pattern refused: %s", err.message);
	o.token_pattern = "(a)(b)";
	CHECK(lm_vectorizer_new(&o, &err) == NULL, "two capturing groups refused: %s", err.message);
	lm_vectorizer_default_options(&o);
	o.ngram_min = 3;
	o.ngram_max = 2;
	CHECK(lm_vectorizer_new(&o, &err) == NULL, "ngram_range (3, 2) refused");
	lm_vectorizer_default_options(&o);
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, "a b c !", 7, &err);
	test_error_init(&err);
	CHECK(lm_vectorizer_finish(v, &err) == -1 && strstr(err.message, "empty vocabulary"),
		  "documents without tokens: %s", err.message);
	lm_vectorizer_free(v);
	o.min_df = 3;
	o.max_df = 2;
	o.max_df_is_fraction = false;
	v = lm_vectorizer_new(&o, &err);
	lm_vectorizer_add_document(v, "aa bb", 5, &err);
	test_error_init(&err);
	CHECK(lm_vectorizer_finish(v, &err) == -1, "max_df below min_df refused: %s", err.message);
	lm_vectorizer_free(v);
}

int
main(void)
{
	char		path[1024];
	json_error_t jerr;
	Fixture		f;

	snprintf(path, sizeof(path), "%s/metrics/bow_tfidf.json", test_fixtures_dir());
	f.root = json_load_file(path, 0, &jerr);
	if (!CHECK(f.root != NULL, "read %s", path))
		return test_done();
	f.docs = json_object_get(f.root, "docs");
	f.vocab = json_object_get(f.root, "vocabulary");
	f.counts = json_object_get(f.root, "counts");
	f.tfidf_matrix = json_object_get(json_object_get(f.root, "tfidf"), "matrix");
	f.idf = json_object_get(json_object_get(f.root, "tfidf"), "idf");
	f.n_docs = json_array_size(f.docs);
	f.n_terms = json_array_size(f.vocab);
	CHECK(json_equal(f.vocab, json_object_get(json_object_get(f.root, "tfidf"), "vocabulary")),
		  "fixture: CountVectorizer and TfidfVectorizer vocabularies agree");
	check_defaults(&f);
	check_options(&f);
	check_python_text();
	check_bad_options();
	check_long_document(&f);
	json_decref(f.root);
	return test_done();
}
