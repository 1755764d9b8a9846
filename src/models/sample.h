/*
 * sample.h — choosing the next token from logits: greedy, or sampled with
 * temperature, top-k and top-p (nucleus), from a seeded PRNG of our own so
 * that a seed gives the same tokens on every machine and every run.
 */
#ifndef LM_MODELS_SAMPLE_H
#define LM_MODELS_SAMPLE_H

#include <stdint.h>

#include "util/lm_error.h"

/* xoshiro256** seeded through splitmix64. */
typedef struct LmRng
{
	uint64_t	s[4];
} LmRng;

void		lm_rng_seed(LmRng *rng, uint64_t seed);
uint64_t	lm_rng_next(LmRng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double		lm_rng_uniform(LmRng *rng);

typedef struct LmSamplingParams
{
	double		temperature;	/* 0 = greedy (argmax); otherwise > 0 */
	int			top_k;			/* 0 = no limit */
	double		top_p;			/* 1 = no limit; otherwise in (0, 1] */
	uint64_t	seed;
} LmSamplingParams;

/* Greedy decoding: temperature 0, no top-k/top-p. */
#define LM_SAMPLING_GREEDY ((LmSamplingParams) {0.0, 0, 1.0, 0})

typedef struct LmCandidate
{
	float		p;
	int			id;
} LmCandidate;

typedef struct LmSampler
{
	int			vocab_size;
	LmSamplingParams params;
	LmRng		rng;
	LmCandidate *cand;			/* [vocab_size] scratch */
} LmSampler;

/* Check params (an error names the bad one) and allocate the scratch. */
int			lm_sampler_init(LmSampler *s, int vocab_size, const LmSamplingParams *params,
							LmError *err);
void		lm_sampler_free(LmSampler *s);

/*
 * The next token for these logits ([vocab_size], not modified).  As in
 * transformers: logits / temperature, keep the top_k best, keep the
 * smallest set of most likely tokens whose probability reaches top_p,
 * renormalise and draw.
 */
int			lm_sampler_next(LmSampler *s, const float *logits);

#endif
