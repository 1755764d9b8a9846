/*
 * pooling.h — sentence-transformers pooling of an encoder's token states
 * into one vector, and reading the mode from 1_Pooling/config.json.
 */
#ifndef LM_MODELS_POOLING_H
#define LM_MODELS_POOLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef enum LmPooling
{
	LM_POOL_MEAN,				/* mean of the kept tokens */
	LM_POOL_CLS,				/* the first token */
	LM_POOL_MAX,				/* element-wise max of the kept tokens */
	LM_POOL_MEAN_SQRT_LEN,		/* sum / sqrt(count) */
	LM_POOL_LAST_TOKEN			/* the last kept token */
} LmPooling;

/* "mean", "cls", "max", "mean_sqrt_len_tokens", "lasttoken". */
int			lm_pooling_from_name(const char *name, LmPooling *pooling, LmError *err);
const char *lm_pooling_name(LmPooling pooling);

/*
 * The pooling mode of a sentence-transformers 1_Pooling/config.json, in
 * either layout: {"pooling_mode": "mean"} (6.x) or the flags
 * pooling_mode_{cls_token,mean_tokens,max_tokens,mean_sqrt_len_tokens,
 * lasttoken} (2.x-3.x).  Exactly one mode must be chosen.
 */
int			lm_pooling_parse_config(const char *json, size_t len, LmPooling *pooling,
									LmError *err);

/*
 * out[dim] = pooling of hidden[n][dim] over the rows whose mask byte is
 * non-zero (mask NULL = all rows), L2-normalised when normalize.
 */
int			lm_pool(const float *hidden, const uint8_t *mask, int n, int dim,
					LmPooling pooling, bool normalize, float *out, LmError *err);

#endif
