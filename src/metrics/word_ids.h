/*
 * word_ids.h — turn words (byte spans of a text) into int32 ids so that word
 * n-grams can be matched like character n-grams.  Hypothesis and reference
 * share one LmStrMap, so equal words get equal ids.
 */
#ifndef LM_WORD_IDS_H
#define LM_WORD_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/pytext.h"
#include "util/lm_error.h"
#include "util/strmap.h"

/*
 * ids[i] = id of text[spans[i]] in vocab, adding new words with the next free
 * id.  ids must hold n_spans entries.
 */
int			lm_word_ids(LmStrMap *vocab, const char *text, const LmSpan *spans,
						size_t n_spans, int32_t *ids, LmError *err);

#endif
