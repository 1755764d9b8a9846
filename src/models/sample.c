/*
 * sample.c — the seeded PRNG and the sampler (see sample.h).
 */
#include "models/sample.h"

#include <math.h>
#include <stdlib.h>

#include "nn/ops.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
lm_rng_seed(LmRng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
lm_rng_next(LmRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
lm_rng_uniform(LmRng *rng)
{
	return (lm_rng_next(rng) >> 11) * 0x1.0p-53;
}

int
lm_sampler_init(LmSampler *s, int vocab_size, const LmSamplingParams *params, LmError *err)
{
	s->cand = NULL;
	if (!(params->temperature >= 0.0) || !isfinite(params->temperature))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "temperature must be 0 (greedy) or positive, not %g",
				params->temperature);
		return -1;
	}
	if (params->top_k < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "top_k must be 0 (no limit) or positive, not %d",
					   params->top_k);
	if (!(params->top_p > 0.0 && params->top_p <= 1.0))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "top_p must be in (0, 1], not %g",
					   params->top_p);
	s->vocab_size = vocab_size;
	s->params = *params;
	lm_rng_seed(&s->rng, params->seed);
	if (params->temperature > 0.0)
	{
		s->cand = lm_malloc((size_t) vocab_size * sizeof(LmCandidate), err);
		if (s->cand == NULL)
			return -1;
	}
	return 0;
}

void
lm_sampler_free(LmSampler *s)
{
	free(s->cand);
	s->cand = NULL;
}

static int
by_p_desc(const void *a, const void *b)
{
	const LmCandidate *x = a;
	const LmCandidate *y = b;

	if (x->p != y->p)
		return x->p > y->p ? -1 : 1;
	return x->id - y->id;
}

/* Move the k largest of cand[0..n) to the front (unordered): quickselect. */
static void
select_top(LmCandidate *cand, int n, int k)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo < hi)
	{
		float		pivot = cand[(lo + hi) / 2].p;
		int			i = lo;
		int			j = hi;

		while (i <= j)
		{
			while (cand[i].p > pivot)
				i++;
			while (cand[j].p < pivot)
				j--;
			if (i <= j)
			{
				LmCandidate tmp = cand[i];

				cand[i++] = cand[j];
				cand[j--] = tmp;
			}
		}
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			break;
	}
}

int
lm_sampler_next(LmSampler *s, const float *logits)
{
	const LmSamplingParams *p = &s->params;
	LmCandidate *cand = s->cand;
	int			n = s->vocab_size;
	float		max;
	double		sum = 0.0;
	double		r;

	if (p->temperature == 0.0)
		return lm_argmax(logits, n);

	/* probabilities at this temperature */
	max = logits[lm_argmax(logits, n)];
	for (int i = 0; i < n; i++)
	{
		cand[i].id = i;
		cand[i].p = (float) exp((logits[i] - max) / p->temperature);
		sum += cand[i].p;
	}
	for (int i = 0; i < n; i++)
		cand[i].p = (float) (cand[i].p / sum);

	/* top-k, then top-p over what is left, best first */
	if (p->top_k > 0 && p->top_k < n)
	{
		select_top(cand, n, p->top_k);
		n = p->top_k;
	}
	else if (p->top_p < 1.0 && n > 1)
	{
		/*
		 * A token below (1 - top_p) / (n - 1) cannot be in the nucleus
		 * (llama2.c's observation): drop those before sorting.
		 */
		float		cutoff = (float) ((1.0 - p->top_p) / (n - 1));
		int			kept = 0;

		for (int i = 0; i < n; i++)
			if (cand[i].p >= cutoff)
				cand[kept++] = cand[i];
		n = kept;
	}
	if (p->top_k > 0 || p->top_p < 1.0)
		qsort(cand, n, sizeof(LmCandidate), by_p_desc);
	sum = 0.0;
	for (int i = 0; i < n; i++)
		sum += cand[i].p;
	if (p->top_p < 1.0)
	{
		double		cum = 0.0;
		int			keep = n;

		for (int i = 0; i < n; i++)
		{
			cum += cand[i].p / sum;
			if (cum >= p->top_p)
			{
				keep = i + 1;
				break;
			}
		}
		n = keep;
		sum = 0.0;
		for (int i = 0; i < n; i++)
			sum += cand[i].p;
	}

	/* draw */
	r = lm_rng_uniform(&s->rng) * sum;
	for (int i = 0; i < n; i++)
	{
		r -= cand[i].p;
		if (r < 0.0)
			return cand[i].id;
	}
	return cand[n - 1].id;
}
