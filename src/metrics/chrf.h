/*
 * chrf.h — chrF and chrF++ (Popović 2015, 2017) with sacrebleu 2.x semantics.
 *
 * Character n-grams of orders 1..char_order are taken after removing all
 * whitespace; word n-grams of orders 1..word_order (chrF++: word_order 2)
 * are taken over the whitespace-split words after one leading or trailing
 * ASCII punctuation mark is split off each word (sacrebleu's
 * _remove_punctuation).  The score averages precision and recall over the
 * orders where both hypothesis and reference have n-grams ("effective order",
 * sacrebleu's default eps_smoothing=False) and returns the F-beta score in
 * [0, 100].
 *
 * Corpus level: lm_chrf_stats() gives each sentence pair's sufficient
 * statistics, the caller sums them element-wise over all rows and
 * lm_chrf_from_stats() turns the sums into the corpus score (what
 * sacrebleu's corpus_chrf does).
 */
#ifndef LM_CHRF_H
#define LM_CHRF_H

#include "util/lm_error.h"

#define LM_CHRF_DEFAULT_CHAR_ORDER 6
#define LM_CHRF_DEFAULT_WORD_ORDER 0
#define LM_CHRF_PLUSPLUS_WORD_ORDER 2
#define LM_CHRF_DEFAULT_BETA 2.0
#define LM_CHRF_MAX_ORDER 32		/* limit for char_order and word_order each */

/*
 * Statistics layout: for each order, three numbers (hypothesis n-grams,
 * reference n-grams, matches); character orders 1..char_order first, then
 * word orders 1..word_order.  The hypothesis count of an order is 0 when the
 * reference has no n-gram of that order (as in sacrebleu).
 */
#define LM_CHRF_STATS_PER_ORDER 3
#define LM_CHRF_N_STATS(char_order, word_order) \
	(LM_CHRF_STATS_PER_ORDER * ((char_order) + (word_order)))

/* Validate orders and beta; 0 when usable. */
int			lm_chrf_check_args(int char_order, int word_order, double beta, LmError *err);

/*
 * Sufficient statistics of one sentence pair (NUL-terminated UTF-8) into
 * stats_out[LM_CHRF_N_STATS(char_order, word_order)].
 */
int			lm_chrf_stats(const char *hyp, const char *ref, int char_order, int word_order,
						  double *stats_out, LmError *err);

/* Score in [0, 100] from (summed) statistics; arguments already validated. */
double		lm_chrf_from_stats(const double *stats, int char_order, int word_order,
							   double beta);

/* Sentence-level chrF: stats then score. */
int			lm_chrf(const char *hyp, const char *ref, int char_order, int word_order,
					double beta, double *score, LmError *err);

#endif
