/*
 * scratch.c — one allocation for a model state's float buffers (see scratch.h).
 */
#include "nn/scratch.h"

#include <stdint.h>
#include <stdlib.h>

/* Floats per cache line: parts start on one, so no two share a line. */
#define LINE_FLOATS (64 / sizeof(float))

/* count rounded up to whole cache lines. */
static size_t
padded(size_t count)
{
	return (count + LINE_FLOATS - 1) / LINE_FLOATS * LINE_FLOATS;
}

float *
lm_scratch_alloc(const LmScratchPart *parts, size_t n_parts, LmError *err)
{
	size_t		total = 0;
	void	   *block;

	for (size_t i = 0; i < n_parts; i++)
	{
		if (parts[i].count > SIZE_MAX / sizeof(float) - LINE_FLOATS ||
			total > SIZE_MAX / sizeof(float) - padded(parts[i].count))
		{
			lm_fail(err, LM_ERR_NO_MEMORY, "out of memory: scratch buffers of over %zu bytes",
					SIZE_MAX);
			return NULL;
		}
		total += padded(parts[i].count);
	}
	if ((block = lm_malloc_large(total * sizeof(float), err)) == NULL)
		return NULL;
	total = 0;
	for (size_t i = 0; i < n_parts; i++)
	{
		*parts[i].ptr = parts[i].count ? (float *) block + total : NULL;
		total += padded(parts[i].count);
	}
	return block;
}

float *
lm_thread_scratch(LmThreadScratch *s, size_t floats)
{
	if (s->cap < floats)
	{
		void	   *block;

		lm_thread_scratch_free(s);
		/* whole cache lines: vector loads that straddle two lines cost two */
		if (posix_memalign(&block, 64, floats * sizeof(float)) == 0)
		{
			s->buf = block;
			s->cap = floats;
		}
	}
	return s->buf;
}

void
lm_thread_scratch_free(LmThreadScratch *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}
