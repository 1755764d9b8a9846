/*
 * cosine.c — cosine similarity (see cosine.h).
 */
#include "metrics/cosine.h"

#include <math.h>

double
lm_cosine(const float *a, const float *b, size_t n, bool *defined)
{
	double		dot = 0,
				na = 0,
				nb = 0;

	for (size_t i = 0; i < n; i++)
	{
		dot += (double) a[i] * b[i];
		na += (double) a[i] * a[i];
		nb += (double) b[i] * b[i];
	}
	*defined = na > 0 && nb > 0;
	return *defined ? dot / (sqrt(na) * sqrt(nb)) : 0;
}
