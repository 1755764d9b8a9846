/*
 * bleu.c — BLEU statistics and scores (sacrebleu 2.x BLEU, 13a tokens).
 */
#include "metrics/bleu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/ngram_match.h"
#include "metrics/pytext.h"
#include "metrics/tokenize_13a.h"
#include "metrics/word_ids.h"
#include "util/strmap.h"

/* sacrebleu's my_log(0): a floor that drives the geometric mean to 0. */
#define BLEU_LOG_OF_ZERO (-9999999999.0)
#define BLEU_VOCAB_HINT 64

/* One side: rstrip, 13a, split into tokens. */
typedef struct TokenizedText
{
	char	   *text;
	LmSpan	   *tokens;
	size_t		n_tokens;
} TokenizedText;

static void
free_tokenized(TokenizedText *t)
{
	free(t->text);
	free(t->tokens);
}

static int
tokenize_side(const char *raw, TokenizedText *out, LmError *err)
{
	size_t		len;

	memset(out, 0, sizeof(*out));
	out->text = lm_tokenize_13a(raw, lm_py_rstrip_len(raw, strlen(raw)), &len, err);
	if (out->text == NULL)
		return -1;
	return lm_py_split(out->text, len, &out->tokens, &out->n_tokens, err);
}

int
lm_bleu_stats(const char *hyp, const char *ref, double *stats_out, LmError *err)
{
	TokenizedText h;
	TokenizedText r;
	int32_t    *hyp_ids = NULL;
	int32_t    *ref_ids = NULL;
	LmStrMap   *vocab = NULL;
	int			rc = -1;

	if (hyp == NULL || ref == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "BLEU needs a hypothesis and a reference");
	memset(stats_out, 0, LM_BLEU_N_STATS * sizeof(double));
	memset(&h, 0, sizeof(h));
	memset(&r, 0, sizeof(r));
	if (tokenize_side(hyp, &h, err) != 0 || tokenize_side(ref, &r, err) != 0)
		goto done;

	vocab = lm_strmap_new(BLEU_VOCAB_HINT, err);
	hyp_ids = lm_malloc((h.n_tokens + 1) * sizeof(int32_t), err);
	ref_ids = lm_malloc((r.n_tokens + 1) * sizeof(int32_t), err);
	if (vocab == NULL || hyp_ids == NULL || ref_ids == NULL)
		goto done;
	if (lm_word_ids(vocab, r.text, r.tokens, r.n_tokens, ref_ids, err) != 0 ||
		lm_word_ids(vocab, h.text, h.tokens, h.n_tokens, hyp_ids, err) != 0)
		goto done;

	stats_out[LM_BLEU_STAT_HYP_LEN] = (double) h.n_tokens;
	stats_out[LM_BLEU_STAT_REF_LEN] = (double) r.n_tokens;
	for (int n = 1; n <= LM_BLEU_MAX_ORDER; n++)
	{
		LmNgramMatch m;

		if (lm_ngram_match(hyp_ids, h.n_tokens, ref_ids, r.n_tokens, n, &m, err) != 0)
			goto done;
		stats_out[LM_BLEU_STAT_MATCHES + n - 1] = (double) m.matches;
		stats_out[LM_BLEU_STAT_TOTALS + n - 1] = (double) m.hyp_total;
	}
	rc = 0;
done:
	free_tokenized(&h);
	free_tokenized(&r);
	free(hyp_ids);
	free(ref_ids);
	lm_strmap_free(vocab);
	return rc;
}

static double
floored_log(double x)
{
	return x == 0.0 ? BLEU_LOG_OF_ZERO : log(x);
}

double
lm_bleu_from_stats(const double *stats, bool effective_order)
{
	double		sys_len = stats[LM_BLEU_STAT_HYP_LEN];
	double		ref_len = stats[LM_BLEU_STAT_REF_LEN];
	const double *matches = stats + LM_BLEU_STAT_MATCHES;
	const double *totals = stats + LM_BLEU_STAT_TOTALS;
	double		precisions[LM_BLEU_MAX_ORDER] = {0};
	double		brevity_penalty = 1.0;
	double		smooth_mteval = 1.0;
	double		log_sum = 0.0;
	int			eff_order = LM_BLEU_MAX_ORDER;
	bool		any_match = false;

	if (sys_len < ref_len)
		brevity_penalty = sys_len > 0 ? exp(1.0 - ref_len / sys_len) : 0.0;

	for (int n = 0; n < LM_BLEU_MAX_ORDER; n++)
		any_match |= matches[n] != 0.0;
	if (!any_match)
		return 0.0;

	for (int n = 1; n <= LM_BLEU_MAX_ORDER; n++)
	{
		if (totals[n - 1] == 0.0)
			break;
		if (effective_order)
			eff_order = n;
		if (matches[n - 1] == 0.0)
		{
			smooth_mteval *= 2.0;
			precisions[n - 1] = 100.0 / (smooth_mteval * totals[n - 1]);
		}
		else
			precisions[n - 1] = 100.0 * matches[n - 1] / totals[n - 1];
	}

	for (int n = 0; n < eff_order; n++)
		log_sum += floored_log(precisions[n]);
	return brevity_penalty * exp(log_sum / eff_order);
}

int
lm_bleu(const char *hyp, const char *ref, double *score, LmError *err)
{
	double		stats[LM_BLEU_N_STATS];

	*score = 0.0;
	if (lm_bleu_stats(hyp, ref, stats, err) != 0)
		return -1;
	*score = lm_bleu_from_stats(stats, true);
	return 0;
}
