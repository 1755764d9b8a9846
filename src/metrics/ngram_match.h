/*
 * ngram_match.h — clipped n-gram matches between two symbol sequences.
 *
 * Both chrF (characters, words) and BLEU (13a tokens) reduce a sentence pair
 * to: how many n-grams the hypothesis has, how many the reference has, and
 * how many of the hypothesis's are matched by the reference when each
 * distinct n-gram counts at most as often as the reference has it
 * (sum over n-grams of min(hyp count, ref count), Python's Counter '&').
 * Symbols are int32: code points, or word ids from word_ids.h.
 */
#ifndef LM_NGRAM_MATCH_H
#define LM_NGRAM_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmNgramMatch
{
	int64_t		hyp_total;		/* n-grams in the hypothesis */
	int64_t		ref_total;		/* n-grams in the reference */
	int64_t		matches;		/* clipped matches */
} LmNgramMatch;

/* Count the order-n statistics of hyp against ref (n >= 1). */
int			lm_ngram_match(const int32_t *hyp, size_t hyp_len,
						   const int32_t *ref, size_t ref_len,
						   int n, LmNgramMatch *out, LmError *err);

#endif
