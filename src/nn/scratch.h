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

#endif
