/*
 * text_case.h — lowercase UTF-8 text the way Python's str.lower() does.
 *
 * scikit-learn's vectorizers lowercase with str.lower(); this reproduces
 * it with utf8proc's simple lowercase mapping plus the two rules where
 * Python's full mapping differs: U+0130 (capital I with dot) becomes
 * "i" + U+0307, and a capital sigma becomes the final form U+03C2 when it
 * ends a word (preceded by a cased letter and not followed by one, case-
 * ignorable characters skipped on both sides).  Remaining difference: the
 * Unicode version of utf8proc's tables versus Python's.  Invalid UTF-8
 * bytes are passed through unchanged.
 */
#ifndef LM_CLASSIC_TEXT_CASE_H
#define LM_CLASSIC_TEXT_CASE_H

#include <stddef.h>

#include "util/lm_error.h"

/* Lowercase s into a malloc'd, NUL-terminated *out (length in *out_len). */
int			lm_text_lower(const char *s, size_t len, char **out, size_t *out_len,
						  LmError *err);

#endif
