/*
 * bleu.h — BLEU (Papineni et al. 2002) with sacrebleu 2.x semantics.
 *
 * Both sides are right-stripped and tokenized with 13a (tokenize_13a.h);
 * n-grams of orders 1..4 are matched with clipping.  Smoothing is 'exp'
 * (mteval-v13a's: the k-th order with no match counts as 1 / 2^k matches),
 * the default of both sacrebleu.sentence_bleu and sacrebleu.corpus_bleu.
 * They differ in effective order: sentence_bleu uses it (orders beyond the
 * longest n-gram the hypothesis has are left out of the geometric mean),
 * corpus_bleu does not.
 *
 * Corpus level: sum lm_bleu_stats() over the rows element-wise, then call
 * lm_bleu_from_stats(sums, false).
 */
#ifndef LM_BLEU_H
#define LM_BLEU_H

#include <stdbool.h>

#include "util/lm_error.h"

#define LM_BLEU_MAX_ORDER 4

/* Statistics layout: hyp length, ref length, matches[4], totals[4]. */
#define LM_BLEU_STAT_HYP_LEN 0
#define LM_BLEU_STAT_REF_LEN 1
#define LM_BLEU_STAT_MATCHES 2
#define LM_BLEU_STAT_TOTALS (LM_BLEU_STAT_MATCHES + LM_BLEU_MAX_ORDER)
#define LM_BLEU_N_STATS (LM_BLEU_STAT_TOTALS + LM_BLEU_MAX_ORDER)

/* Sufficient statistics of one pair (NUL-terminated UTF-8) into stats_out[LM_BLEU_N_STATS]. */
int			lm_bleu_stats(const char *hyp, const char *ref, double *stats_out, LmError *err);

/*
 * Score in [0, 100] from (summed) statistics with 'exp' smoothing;
 * effective_order true for sentence level, false for corpus level.
 */
double		lm_bleu_from_stats(const double *stats, bool effective_order);

/* Sentence-level BLEU as sacrebleu.sentence_bleu(hyp, [ref]). */
int			lm_bleu(const char *hyp, const char *ref, double *score, LmError *err);

#endif
