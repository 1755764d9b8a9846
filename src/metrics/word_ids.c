/*
 * word_ids.c — words to ids through a shared string map.
 */
#include "metrics/word_ids.h"

#include <limits.h>

/* Check for cancellation once per this many words. */
#define CANCEL_CHECK_INTERVAL 65536

int
lm_word_ids(LmStrMap *vocab, const char *text, const LmSpan *spans, size_t n_spans,
			int32_t *ids, LmError *err)
{
	for (size_t i = 0; i < n_spans; i++)
	{
		const char *word = text + spans[i].start;
		int32_t		id;

		if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
			return -1;
		if (!lm_strmap_get(vocab, word, spans[i].len, &id))
		{
			size_t		next = lm_strmap_count(vocab);

			if (next >= INT32_MAX)
				return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "too many distinct words");
			id = (int32_t) next;
			if (lm_strmap_put(vocab, word, spans[i].len, id, NULL, err) != 0)
				return -1;
		}
		ids[i] = id;
	}
	return 0;
}
