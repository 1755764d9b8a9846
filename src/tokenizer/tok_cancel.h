/*
 * tok_cancel.h — letting a cancel through in the tokenizers' loops.
 *
 * Each stage of encoding or decoding runs over the whole text, and a large
 * text takes seconds, so every loop whose length grows with the input checks
 * for cancellation.  A call per byte would show in the tight loops, so they
 * meter their work instead: each step adds what it did (a byte, a character,
 * a piece's bytes, a merge) to a counter local to the loop, and the cancel
 * hook is asked once the counter reaches TOK_CANCEL_INTERVAL.  An outer loop
 * adds the size of each element it hands to an inner one, and the inner one
 * meters its own steps, so neither runs long between two checks.
 */
#ifndef LM_TOK_CANCEL_H
#define LM_TOK_CANCEL_H

#include <stddef.h>

#include "util/lm_error.h"

/*
 * Units of work (about a byte's worth each) between two checks.  A test
 * build may define it (and TOK_CANCEL_SLICE) smaller, to reach every check.
 */
#ifndef TOK_CANCEL_INTERVAL
#define TOK_CANCEL_INTERVAL 4096
#endif

/*
 * Bytes handed at once to a library routine that cannot check by itself
 * (UTF-8 validation, Unicode normalization): about a millisecond's work.
 */
#ifndef TOK_CANCEL_SLICE
#define TOK_CANCEL_SLICE 65536
#endif

/* Count amount units of work; -1 with LM_ERR_CANCELLED when a cancel is pending. */
static inline int
tok_cancel_step(size_t *work, size_t amount, LmError *err)
{
	*work += amount;
	if (*work < TOK_CANCEL_INTERVAL)
		return 0;
	*work = 0;
	return lm_check_cancel(err);
}

/*
 * Where to end a slice of UTF-8 text that starts at start: about
 * TOK_CANCEL_SLICE bytes on, before the next byte that is not a continuation
 * byte (or at len).  No character, valid or not, straddles such a cut: a
 * decoder stops at it whether the text goes on or not.
 */
static inline size_t
tok_slice_end(const char *text, size_t len, size_t start)
{
	size_t		end = start + TOK_CANCEL_SLICE;

	if (end >= len || end < start)
		return len;
	while (end < len && ((unsigned char) text[end] & 0xC0) == 0x80)
		end++;
	return end;
}

#endif
