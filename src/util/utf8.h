/*
 * utf8.h — UTF-8 decoding, encoding and validation.
 *
 * Decoding is strict (no overlongs, no surrogates, nothing past U+10FFFF).
 * lm_utf8_next() also reports how long an invalid sequence is, using the
 * "maximal subpart" rule that Rust's String::from_utf8_lossy and the WHATWG
 * decoder follow, so that lossy conversion replaces each one with one U+FFFD.
 */
#ifndef LM_UTF8_H
#define LM_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

#define LM_UTF8_MAX_BYTES 4
#define LM_UNICODE_MAX 0x10FFFF
#define LM_REPLACEMENT_CHAR 0xFFFD

/*
 * Decode the character at s (len bytes available).  Returns its length (1-4)
 * and sets *cp; for an invalid sequence returns minus the number of bytes to
 * skip (1-3) and sets *cp to U+FFFD.  len must be > 0.
 */
int			lm_utf8_next(const char *s, size_t len, int32_t *cp);

/* Encode cp (a valid scalar value) into out; returns the byte count. */
int			lm_utf8_encode(int32_t cp, char *out);

/* True when all of s is valid UTF-8; otherwise *bad_offset is the first bad byte. */
bool		lm_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Number of characters in valid UTF-8. */
size_t		lm_utf8_count(const char *s, size_t len);

/* Byte length of the last character of valid, non-empty UTF-8. */
size_t		lm_utf8_last_len(const char *s, size_t len);

/*
 * Convert arbitrary bytes to valid UTF-8, replacing each invalid sequence by
 * U+FFFD (Rust's from_utf8_lossy).  *out is malloc'd and NUL-terminated.
 */
int			lm_utf8_lossy(const char *s, size_t len, char **out, size_t *out_len,
						  LmError *err);

#endif
