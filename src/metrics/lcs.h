/*
 * lcs.h — length of the longest common subsequence of two texts, by words
 * (split on whitespace as Python's str.split() does) or by characters
 * (Unicode code points, whitespace included).
 *
 * Dynamic programming in O(n·m) time and O(min(n, m)) memory; checks for
 * cancellation once per row.
 */
#ifndef LM_LCS_H
#define LM_LCS_H

#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

/* LCS length of two int32 sequences, or -1 (cancelled, out of memory). */
int64_t		lm_lcs_sequence(const int32_t *a, size_t a_len, const int32_t *b, size_t b_len,
							LmError *err);

/* LCS length over whitespace-separated words of two NUL-terminated UTF-8 texts, or -1. */
int64_t		lm_lcs_words(const char *a, const char *b, LmError *err);

/* LCS length over the characters of two NUL-terminated UTF-8 texts, or -1. */
int64_t		lm_lcs_chars(const char *a, const char *b, LmError *err);

#endif
