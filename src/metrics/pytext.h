/*
 * pytext.h — Python str semantics the reference metrics depend on.
 *
 * sacrebleu works on Python strings: it splits on str.isspace() characters,
 * strips with str.strip()/rstrip() and counts characters as code points.
 * These helpers reproduce exactly that on UTF-8 bytes, so that our n-grams
 * are the same as sacrebleu's.  Invalid UTF-8 counts as one U+FFFD per
 * maximal invalid subsequence (Python's errors="replace").
 */
#ifndef LM_PYTEXT_H
#define LM_PYTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

/* A run of bytes inside a text: text + start, len bytes. */
typedef struct LmSpan
{
	size_t		start;
	size_t		len;
} LmSpan;

/* Python's str.isspace() for one code point. */
bool		lm_py_isspace(int32_t cp);

/*
 * Decode the code point at s (len > 0 bytes available); returns the number of
 * bytes it occupies (invalid sequences decode as U+FFFD).
 */
size_t		lm_py_next(const char *s, size_t len, int32_t *cp);

/* Length of text once trailing whitespace is removed (str.rstrip()). */
size_t		lm_py_rstrip_len(const char *text, size_t len);

/*
 * Code points of text, skipping whitespace when drop_space is true
 * (''.join(text.split())).  *cps is malloc'd (never NULL on success).
 */
int			lm_py_codepoints(const char *text, size_t len, bool drop_space,
							 int32_t **cps, size_t *n_cps, LmError *err);

/* Words of text.split(): byte spans, malloc'd (never NULL on success). */
int			lm_py_split(const char *text, size_t len, LmSpan **spans, size_t *n_spans,
						LmError *err);

#endif
