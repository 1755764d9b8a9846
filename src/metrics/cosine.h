/*
 * cosine.h — cosine similarity of two float vectors, accumulated in double.
 */
#ifndef LM_COSINE_H
#define LM_COSINE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The cosine of a and b (n floats each).  A zero vector has no direction:
 * then *defined is false and the result 0.
 */
double		lm_cosine(const float *a, const float *b, size_t n, bool *defined);

#endif
