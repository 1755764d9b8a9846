/*
 * greedy.c — greedy search over a decoder stepper: the best token after the
 * logits processors, until eos or max_length.
 */
#include "models/decode_step.h"

#include "nn/ops.h"

#include <stdlib.h>

int
lm_greedy_search(const LmDecodeStepper *st, const LmSeq2SeqParams *p, int max_length,
				 int32_t *out, int *n_out, LmError *err)
{
	float	   *logits = lm_malloc((size_t) st->vocab * sizeof(float), err);
	int			len = 1;

	if (logits == NULL)
		return -1;
	out[0] = p->decoder_start_token_id;
	while (len < max_length)
	{
		int32_t		id;

		/* the last token generated is never fed back */
		if (lm_check_cancel(err) < 0 ||
			st->step(st->self, &out[len - 1], 1, len - 1, logits, err) < 0)
		{
			free(logits);
			return -1;
		}
		lm_process_scores(p, out, len, max_length, logits, st->vocab);
		id = lm_argmax(logits, st->vocab);
		out[len++] = id;
		if (lm_seq2seq_is_eos(p, id))
			break;
	}
	free(logits);
	*n_out = len;
	return 0;
}
