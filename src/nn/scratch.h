/*
 * scratch.h — a model state's float buffers as one allocation: the state
 * lists where each buffer's pointer goes and how many floats it needs, gets
 * them all from one block, and frees the block alone.
 */
#ifndef LM_NN_SCRATCH_H
#define LM_NN_SCRATCH_H

#include <stddef.h>

#include "util/lm_error.h"

typedef struct LmScratchPart
{
	float	  **ptr;			/* set to the part's start, NULL for 0 floats */
	size_t		count;			/* floats */
} LmScratchPart;

/*
 * The block (for free()) that every part points into, each part starting
 * on a cache line; NULL with err set when it cannot be allocated.
 */
float	   *lm_scratch_alloc(const LmScratchPart *parts, size_t n_parts, LmError *err);

#define LM_SCRATCH_PARTS(parts) (sizeof(parts) / sizeof((parts)[0]))

/*
 * A buffer a thread keeps between products (declare it __thread): it grows
 * to the largest size asked for and stays, until freed.
 */
typedef struct LmThreadScratch
{
	float	   *buf;
	size_t		cap;			/* floats */
} LmThreadScratch;

/* At least floats floats (contents undefined); NULL when it cannot grow. */
float	   *lm_thread_scratch(LmThreadScratch *s, size_t floats);
void		lm_thread_scratch_free(LmThreadScratch *s);

#endif
