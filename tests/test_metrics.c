/*
 * test_metrics.c — chrF, chrF++ and BLEU against sacrebleu 2.6's numbers in
 * fixtures/metrics (every sentence row and the corpus level from summed
 * statistics), the 13a tokenizer and LCS on hand-checked cases, and bad input.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/bleu.h"
#include "metrics/chrf.h"
#include "metrics/lcs.h"
#include "metrics/tokenize_13a.h"
#include "cancel_util.h"
#include "testutil.h"
#include "util/file.h"

#define MAX_FIXTURE_BYTES (16u << 20)
#define PATH_MAX_LEN 1024
#define SCORE_TOLERANCE 0.01
#define MAX_ROWS 4096
#define CHRF_PP_WORD_ORDER LM_CHRF_PLUSPLUS_WORD_ORDER
#define CHRF_N_STATS LM_CHRF_N_STATS(LM_CHRF_DEFAULT_CHAR_ORDER, 0)
#define CHRF_PP_N_STATS LM_CHRF_N_STATS(LM_CHRF_DEFAULT_CHAR_ORDER, CHRF_PP_WORD_ORDER)

/* How one metric did over all rows. */
typedef struct Agreement
{
	const char *name;
	int			within;
	int			rows;
	double		worst;
	int			worst_row;
} Agreement;

static void
agree(Agreement *a, int row, double ours, double reference)
{
	double		diff = fabs(ours - reference);

	a->rows++;
	if (diff <= SCORE_TOLERANCE)
		a->within++;
	if (diff > a->worst || a->worst_row < 0)
	{
		a->worst = diff;
		a->worst_row = row;
	}
}

static char *
read_fixture(const char *rel, size_t *len)
{
	char		path[PATH_MAX_LEN];
	uint8_t    *data = NULL;
	LmError		err;

	test_error_init(&err);
	snprintf(path, sizeof(path), "%s/%s", test_fixtures_dir(), rel);
	if (lm_read_file(path, MAX_FIXTURE_BYTES, &data, len, &err) != 0)
	{
		printf("# cannot read %s: %s\n", path, err.message);
		return NULL;
	}
	return (char *) data;
}

static void
add_stats(double *sum, const double *stats, int n)
{
	for (int i = 0; i < n; i++)
		sum[i] += stats[i];
}

static void
test_fixture_rows(void)
{
	size_t		len;
	char	   *data = read_fixture("metrics/sentence_metrics.jsonl", &len);
	char	   *line;
	char	   *save = NULL;
	Agreement	chrf = {"chrf", 0, 0, 0.0, -1};
	Agreement	chrf_pp = {"chrf_pp", 0, 0, 0.0, -1};
	Agreement	bleu = {"bleu", 0, 0, 0.0, -1};
	double		chrf_sum[CHRF_N_STATS] = {0};
	double		chrf_pp_sum[CHRF_PP_N_STATS] = {0};
	double		bleu_sum[LM_BLEU_N_STATS] = {0};
	int			errors = 0;
	int			row = 0;
	char	   *corpus_text;
	json_t	   *corpus;
	json_error_t jerr;

	if (!CHECK(data != NULL, "read sentence_metrics.jsonl"))
		return;
	for (line = strtok_r(data, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		json_t	   *obj = json_loads(line, 0, &jerr);
		const char *hyp;
		const char *ref;
		double		stats[CHRF_PP_N_STATS];
		double		bstats[LM_BLEU_N_STATS];
		double		score;
		LmError		err;

		if (obj == NULL)
		{
			printf("# row %d: bad JSON: %s\n", row, jerr.text);
			errors++;
			continue;
		}
		hyp = json_string_value(json_object_get(obj, "hyp"));
		ref = json_string_value(json_object_get(obj, "ref"));
		test_error_init(&err);

		if (lm_chrf_stats(hyp, ref, LM_CHRF_DEFAULT_CHAR_ORDER, 0, stats, &err) != 0)
			errors++;
		else
		{
			score = lm_chrf_from_stats(stats, LM_CHRF_DEFAULT_CHAR_ORDER, 0, LM_CHRF_DEFAULT_BETA);
			agree(&chrf, row, score, json_real_value(json_object_get(obj, "chrf")));
			add_stats(chrf_sum, stats, CHRF_N_STATS);
		}

		if (lm_chrf_stats(hyp, ref, LM_CHRF_DEFAULT_CHAR_ORDER, CHRF_PP_WORD_ORDER, stats, &err) != 0)
			errors++;
		else
		{
			score = lm_chrf_from_stats(stats, LM_CHRF_DEFAULT_CHAR_ORDER, CHRF_PP_WORD_ORDER,
									   LM_CHRF_DEFAULT_BETA);
			agree(&chrf_pp, row, score, json_real_value(json_object_get(obj, "chrf_pp")));
			add_stats(chrf_pp_sum, stats, CHRF_PP_N_STATS);
		}

		if (lm_bleu_stats(hyp, ref, bstats, &err) != 0)
			errors++;
		else
		{
			score = lm_bleu_from_stats(bstats, true);
			agree(&bleu, row, score, json_real_value(json_object_get(obj, "bleu")));
			add_stats(bleu_sum, bstats, LM_BLEU_N_STATS);
		}
		if (err.code != LM_OK)
			printf("# row %d: %s\n", row, err.message);
		json_decref(obj);
		row++;
	}
	free(data);
	CHECK(errors == 0 && row > 0, "fixture rows computed without error (%d rows, %d errors)",
		  row, errors);
	{
		Agreement  *all[] = {&chrf, &chrf_pp, &bleu};

		for (int i = 0; i < 3; i++)
			CHECK(all[i]->within == all[i]->rows && all[i]->rows == row,
				  "sentence %s: %d/%d rows within %.2g of sacrebleu (worst %.3g at row %d)",
				  all[i]->name, all[i]->within, all[i]->rows, SCORE_TOLERANCE,
				  all[i]->worst, all[i]->worst_row);
	}

	/* Corpus level: the sums of the rows' statistics. */
	corpus_text = read_fixture("metrics/corpus_metrics.json", &len);
	if (!CHECK(corpus_text != NULL, "read corpus_metrics.json"))
		return;
	corpus = json_loads(corpus_text, 0, &jerr);
	free(corpus_text);
	if (!CHECK(corpus != NULL, "parse corpus_metrics.json"))
		return;
	{
		double		ours[3];
		const char *names[3] = {"chrf", "chrf_pp", "bleu"};

		ours[0] = lm_chrf_from_stats(chrf_sum, LM_CHRF_DEFAULT_CHAR_ORDER, 0, LM_CHRF_DEFAULT_BETA);
		ours[1] = lm_chrf_from_stats(chrf_pp_sum, LM_CHRF_DEFAULT_CHAR_ORDER, CHRF_PP_WORD_ORDER,
									 LM_CHRF_DEFAULT_BETA);
		ours[2] = lm_bleu_from_stats(bleu_sum, false);
		for (int i = 0; i < 3; i++)
		{
			double		reference = json_real_value(json_object_get(corpus, names[i]));

			CHECK(fabs(ours[i] - reference) <= SCORE_TOLERANCE,
				  "corpus %s from summed stats: %.6f vs sacrebleu %.6f (diff %.3g)",
				  names[i], ours[i], reference, fabs(ours[i] - reference));
		}
	}
	json_decref(corpus);
}

static void
check_13a(const char *input, const char *expected)
{
	size_t		len;
	LmError		err;
	char	   *out;

	test_error_init(&err);
	out = lm_tokenize_13a(input, strlen(input), &len, &err);
	CHECK(out != NULL && strcmp(out, expected) == 0 && len == strlen(expected),
		  "13a \"%s\" -> \"%s\" (got \"%s\")", input, expected, out ? out : "(null)");
	free(out);
}

static void
test_tokenize_13a(void)
{
	check_13a("Hello, world!", "Hello , world !");
	check_13a("It costs $1,000.50 today.", "It costs $ 1,000.50 today .");
	check_13a("pages 3-4, 1990-2000", "pages 3 - 4 , 1990 - 2000");
	check_13a("&quot;quoted&quot; &amp;quot; &lt;tag&gt;", "\" quoted \" & quot ; < tag >");
	check_13a("end-\nof line\nnext<skipped>", "endof line next");
	check_13a("(384-322 A.C.)", "( 384 - 322 A . C . )");
	check_13a("don't stop... ok", "don't stop . . . ok");
	check_13a("  día\u00a0y\tnoche  ", "día y noche");
	check_13a("", "");
}

static void
check_lcs_words(const char *a, const char *b, int64_t expected)
{
	LmError		err;
	int64_t		got;

	test_error_init(&err);
	got = lm_lcs_words(a, b, &err);
	CHECK(got == expected, "lcs_words(\"%s\", \"%s\") = %lld (expected %lld)",
		  a, b, (long long) got, (long long) expected);
}

static void
check_lcs_chars(const char *a, const char *b, int64_t expected)
{
	LmError		err;
	int64_t		got;

	test_error_init(&err);
	got = lm_lcs_chars(a, b, &err);
	CHECK(got == expected, "lcs_chars(\"%s\", \"%s\") = %lld (expected %lld)",
		  a, b, (long long) got, (long long) expected);
}

static void
test_lcs(void)
{
	LmError		err;

	check_lcs_words("the cat sat on the mat", "the cat sat on the mat", 6);
	check_lcs_words("the cat sat on the mat", "a cat was on a mat", 3);
	check_lcs_words("A B C D", "B D A C", 2);
	check_lcs_words("one two three", "three two one", 1);
	check_lcs_words("  spaced   out\twords\n", "spaced words", 2);
	check_lcs_words("", "anything here", 0);
	check_lcs_words("x y", "", 0);
	check_lcs_words("el perro se comió la tarea", "el niño se comió la tarea del perro", 5);
	check_lcs_chars("ABCBDAB", "BDCABA", 4);
	check_lcs_chars("día", "dia", 2);
	check_lcs_chars("", "", 0);

	test_cancel_hook = always_cancel;
	test_error_init(&err);
	CHECK(lm_lcs_words("a b c", "a b c", &err) == -1 && err.code == LM_ERR_CANCELLED,
		  "lcs_words stops when cancelled (%s)", err.message);
	test_cancel_hook = NULL;
}

static void
test_bad_input(void)
{
	LmError		err;
	double		score = -1.0;
	double		stats[CHRF_PP_N_STATS];
	int			rc;

	test_error_init(&err);
	CHECK(lm_chrf("", "", LM_CHRF_DEFAULT_CHAR_ORDER, 0, LM_CHRF_DEFAULT_BETA, &score, &err) == 0 &&
		  score == 0.0, "chrF of two empty strings is 0");
	CHECK(lm_chrf("", "ref", LM_CHRF_DEFAULT_CHAR_ORDER, 2, LM_CHRF_DEFAULT_BETA, &score, &err) == 0 &&
		  score == 0.0, "chrF++ of an empty hypothesis is 0");
	CHECK(lm_chrf("hyp", "", LM_CHRF_DEFAULT_CHAR_ORDER, 2, LM_CHRF_DEFAULT_BETA, &score, &err) == 0 &&
		  score == 0.0, "chrF++ against an empty reference is 0");
	CHECK(lm_chrf("  \t ", " ", LM_CHRF_DEFAULT_CHAR_ORDER, 0, LM_CHRF_DEFAULT_BETA, &score, &err) == 0 &&
		  score == 0.0, "chrF of whitespace only is 0");
	CHECK(lm_bleu("", "", &score, &err) == 0 && score == 0.0, "BLEU of two empty strings is 0");
	CHECK(lm_bleu("", "ref", &score, &err) == 0 && score == 0.0, "BLEU of an empty hypothesis is 0");
	CHECK(lm_bleu("hyp", "", &score, &err) == 0 && score == 0.0, "BLEU against an empty reference is 0");
	CHECK(lm_chrf("same words", "same words", LM_CHRF_DEFAULT_CHAR_ORDER, 2, LM_CHRF_DEFAULT_BETA,
				  &score, &err) == 0 && fabs(score - 100.0) < 1e-9, "chrF++ of identical text is 100");
	CHECK(lm_bleu("a b c d e", "a b c d e", &score, &err) == 0 && fabs(score - 100.0) < 1e-9,
		  "BLEU of identical text is 100");
	/* Shorter than four tokens: effective order keeps sentence BLEU above 0. */
	rc = lm_bleu("Buen día", "Buen dia", &score, &err);
	CHECK(rc == 0 && fabs(score - 50.0) < 1e-9,
		  "sentence BLEU of a two-word pair with one match is 50 (got %g)", score);

	test_error_init(&err);
	CHECK(lm_chrf_stats("a", "b", -1, 0, stats, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT,
		  "negative char_order is refused: %s", err.message);
	test_error_init(&err);
	CHECK(lm_chrf_stats("a", "b", 0, 0, stats, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT,
		  "zero total order is refused: %s (hint: %s)", err.message, err.hint);
	test_error_init(&err);
	CHECK(lm_chrf("a", "b", 6, 0, 0.0, &score, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT,
		  "beta 0 is refused: %s", err.message);
	test_error_init(&err);
	CHECK(lm_chrf_stats("a", "b", LM_CHRF_MAX_ORDER + 1, 0, stats, &err) == -1,
		  "char_order above %d is refused", LM_CHRF_MAX_ORDER);
	test_error_init(&err);
	CHECK(lm_bleu_stats(NULL, "b", stats, &err) == -1 && err.code == LM_ERR_INVALID_ARGUMENT,
		  "NULL hypothesis is refused: %s", err.message);
	/* Invalid UTF-8 is scored, not crashed on. */
	test_error_init(&err);
	CHECK(lm_chrf("\xff\xfe abc", "abc \xc3", 6, 2, 2.0, &score, &err) == 0 && score > 0.0 &&
		  lm_bleu("\xff\xfe abc", "abc \xc3", &score, &err) == 0,
		  "invalid UTF-8 is scored without error");
}

/* "w0 w1 w2 ..." with n distinct words, malloc'd. */
static char *
distinct_words(int n)
{
	char	   *text = malloc((size_t) n * 12 + 1);
	size_t		len = 0;

	for (int i = 0; i < n; i++)
		len += sprintf(text + len, "w%d ", i);
	text[len] = '\0';
	return text;
}

static void
test_long_texts(void)
{
	const int	n_words = 200000;
	char	   *text = distinct_words(n_words);
	double		stats[LM_BLEU_N_STATS];
	double		score;
	LmError		err;
	bool		all_matched = true;

	/* Every n-gram distinct: the match table grows far past its first size. */
	test_error_init(&err);
	CHECK(lm_bleu_stats(text, text, stats, &err) == 0, "BLEU of %d distinct words: %s", n_words,
		  err.message);
	for (int n = 1; n <= LM_BLEU_MAX_ORDER; n++)
		all_matched &= stats[LM_BLEU_STAT_MATCHES + n - 1] == n_words - n + 1 &&
			stats[LM_BLEU_STAT_TOTALS + n - 1] == n_words - n + 1;
	CHECK(all_matched, "every n-gram of a %d-word text matches itself once", n_words);

	for (int k = 1; k <= 8; k *= 2)
	{
		cancel_arm(k);
		test_error_init(&err);
		CHECK(lm_bleu(text, text, &score, &err) == -1 && err.code == LM_ERR_CANCELLED,
			  "BLEU of a long text stops at cancel check %d (%s)", k, err.message);
		cancel_arm(k);
		test_error_init(&err);
		CHECK(lm_chrf(text, text, LM_CHRF_DEFAULT_CHAR_ORDER, 2, LM_CHRF_DEFAULT_BETA, &score,
					  &err) == -1 && err.code == LM_ERR_CANCELLED,
			  "chrF++ of a long text stops at cancel check %d (%s)", k, err.message);
	}
	test_cancel_hook = NULL;
	free(text);
}

int
main(void)
{
	test_fixture_rows();
	test_tokenize_13a();
	test_lcs();
	test_bad_input();
	test_long_texts();
	return test_done();
}
