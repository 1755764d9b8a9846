/*
 * chrf.c — chrF/chrF++ statistics and scores (sacrebleu 2.x CHRF).
 */
#include "metrics/chrf.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/ngram_match.h"
#include "metrics/pytext.h"
#include "metrics/word_ids.h"
#include "util/strmap.h"

/* Python's string.punctuation, which sacrebleu splits off words. */
static const char CHRF_PUNCTUATION[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/* Words per sentence the shared vocabulary is first sized for. */
#define CHRF_VOCAB_HINT 64

static bool
is_punct_byte(char c)
{
	return c != '\0' && strchr(CHRF_PUNCTUATION, c) != NULL;
}

int
lm_chrf_check_args(int char_order, int word_order, double beta, LmError *err)
{
	if (char_order < 0 || char_order > LM_CHRF_MAX_ORDER)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "chrF char_order must be between 0 and %d, not %d",
				LM_CHRF_MAX_ORDER, char_order);
		return -1;
	}
	if (word_order < 0 || word_order > LM_CHRF_MAX_ORDER)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "chrF word_order must be between 0 and %d, not %d",
				LM_CHRF_MAX_ORDER, word_order);
		return -1;
	}
	if (char_order + word_order == 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "chrF needs char_order or word_order above 0");
		lm_hint(err, "chrF uses char_order 6, word_order 0; chrF++ uses word_order 2.");
		return -1;
	}
	if (!(beta > 0) || !isfinite(beta))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "chrF beta must be a positive number");
	return 0;
}

/* Store one order's triple, zeroing the hypothesis count without reference n-grams. */
static void
store_order(double *triple, const LmNgramMatch *m)
{
	triple[0] = m->ref_total > 0 ? (double) m->hyp_total : 0.0;
	triple[1] = (double) m->ref_total;
	triple[2] = (double) m->matches;
}

static int
char_stats(const char *hyp, const char *ref, int char_order, double *stats, LmError *err)
{
	int32_t    *hyp_cps = NULL;
	int32_t    *ref_cps = NULL;
	size_t		n_hyp;
	size_t		n_ref;
	int			rc = -1;

	if (lm_py_codepoints(hyp, strlen(hyp), true, &hyp_cps, &n_hyp, err) != 0 ||
		lm_py_codepoints(ref, strlen(ref), true, &ref_cps, &n_ref, err) != 0)
		goto done;
	for (int n = 1; n <= char_order; n++)
	{
		LmNgramMatch m;

		if (lm_ngram_match(hyp_cps, n_hyp, ref_cps, n_ref, n, &m, err) != 0)
			goto done;
		store_order(stats + LM_CHRF_STATS_PER_ORDER * (n - 1), &m);
	}
	rc = 0;
done:
	free(hyp_cps);
	free(ref_cps);
	return rc;
}

/*
 * text.split(), then split one ASCII punctuation mark off the end of each word
 * of two or more characters, or else off its start.
 */
static int
punct_split_words(const char *text, LmSpan **words, size_t *n_words, LmError *err)
{
	LmSpan	   *raw;
	size_t		n_raw;
	LmSpan	   *out;
	size_t		n = 0;

	*words = NULL;
	*n_words = 0;
	if (lm_py_split(text, strlen(text), &raw, &n_raw, err) != 0)
		return -1;
	out = lm_malloc((2 * n_raw + 1) * sizeof(LmSpan), err);
	if (out == NULL)
	{
		free(raw);
		return -1;
	}
	for (size_t i = 0; i < n_raw; i++)
	{
		const char *w = text + raw[i].start;
		size_t		len = raw[i].len;
		int32_t		first_cp;
		bool		one_char = lm_py_next(w, len, &first_cp) == len;

		if (!one_char && is_punct_byte(w[len - 1]))
		{
			out[n++] = (LmSpan) {raw[i].start, len - 1};
			out[n++] = (LmSpan) {raw[i].start + len - 1, 1};
		}
		else if (!one_char && is_punct_byte(w[0]))
		{
			out[n++] = (LmSpan) {raw[i].start, 1};
			out[n++] = (LmSpan) {raw[i].start + 1, len - 1};
		}
		else
			out[n++] = raw[i];
	}
	free(raw);
	*words = out;
	*n_words = n;
	return 0;
}

static int
word_stats(const char *hyp, const char *ref, int word_order, double *stats, LmError *err)
{
	LmSpan	   *hyp_words = NULL;
	LmSpan	   *ref_words = NULL;
	size_t		n_hyp = 0;
	size_t		n_ref = 0;
	int32_t    *hyp_ids = NULL;
	int32_t    *ref_ids = NULL;
	LmStrMap   *vocab = NULL;
	int			rc = -1;

	if (punct_split_words(hyp, &hyp_words, &n_hyp, err) != 0 ||
		punct_split_words(ref, &ref_words, &n_ref, err) != 0)
		goto done;
	vocab = lm_strmap_new(CHRF_VOCAB_HINT, err);
	hyp_ids = lm_malloc((n_hyp + 1) * sizeof(int32_t), err);
	ref_ids = lm_malloc((n_ref + 1) * sizeof(int32_t), err);
	if (vocab == NULL || hyp_ids == NULL || ref_ids == NULL)
		goto done;
	if (lm_word_ids(vocab, ref, ref_words, n_ref, ref_ids, err) != 0 ||
		lm_word_ids(vocab, hyp, hyp_words, n_hyp, hyp_ids, err) != 0)
		goto done;
	for (int n = 1; n <= word_order; n++)
	{
		LmNgramMatch m;

		if (lm_ngram_match(hyp_ids, n_hyp, ref_ids, n_ref, n, &m, err) != 0)
			goto done;
		store_order(stats + LM_CHRF_STATS_PER_ORDER * (n - 1), &m);
	}
	rc = 0;
done:
	free(hyp_words);
	free(ref_words);
	free(hyp_ids);
	free(ref_ids);
	lm_strmap_free(vocab);
	return rc;
}

int
lm_chrf_stats(const char *hyp, const char *ref, int char_order, int word_order,
			  double *stats_out, LmError *err)
{
	if (hyp == NULL || ref == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "chrF needs a hypothesis and a reference");
	if (lm_chrf_check_args(char_order, word_order, LM_CHRF_DEFAULT_BETA, err) != 0)
		return -1;
	memset(stats_out, 0, LM_CHRF_N_STATS(char_order, word_order) * sizeof(double));
	if (char_stats(hyp, ref, char_order, stats_out, err) != 0)
		return -1;
	if (word_order > 0 &&
		word_stats(hyp, ref, word_order,
				   stats_out + LM_CHRF_STATS_PER_ORDER * char_order, err) != 0)
		return -1;
	return 0;
}

double
lm_chrf_from_stats(const double *stats, int char_order, int word_order, double beta)
{
	int			order = char_order + word_order;
	double		factor = beta * beta;
	double		avg_precision = 0.0;
	double		avg_recall = 0.0;
	int			effective_order = 0;
	double		score;

	for (int i = 0; i < order; i++)
	{
		double		n_hyp = stats[LM_CHRF_STATS_PER_ORDER * i];
		double		n_ref = stats[LM_CHRF_STATS_PER_ORDER * i + 1];
		double		n_match = stats[LM_CHRF_STATS_PER_ORDER * i + 2];

		if (n_hyp > 0 && n_ref > 0)
		{
			avg_precision += n_match / n_hyp;
			avg_recall += n_match / n_ref;
			effective_order++;
		}
	}
	if (effective_order == 0)
		return 0.0;
	avg_precision /= effective_order;
	avg_recall /= effective_order;
	if (avg_precision + avg_recall == 0.0)
		return 0.0;
	/* Same operation order as sacrebleu, so the last bits agree too. */
	score = (1.0 + factor) * avg_precision * avg_recall;
	score /= factor * avg_precision + avg_recall;
	return 100.0 * score;
}

int
lm_chrf(const char *hyp, const char *ref, int char_order, int word_order, double beta,
		double *score, LmError *err)
{
	double		stats[LM_CHRF_STATS_PER_ORDER * 2 * LM_CHRF_MAX_ORDER];

	*score = 0.0;
	if (lm_chrf_check_args(char_order, word_order, beta, err) != 0 ||
		lm_chrf_stats(hyp, ref, char_order, word_order, stats, err) != 0)
		return -1;
	*score = lm_chrf_from_stats(stats, char_order, word_order, beta);
	return 0;
}
