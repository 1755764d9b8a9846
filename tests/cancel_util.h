/*
 * cancel_util.h — cancel hooks (test_cancel_hook) for the engine's tests, and
 * the long repeated texts those tests cancel.
 */
#ifndef LM_CANCEL_UTIL_H
#define LM_CANCEL_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/lm_error.h"

/* A cancel hook that always asks to cancel. */
static inline int
always_cancel(void)
{
	return 1;
}

static long cancel_calls;		/* calls since cancel_arm() */
static long cancel_at;			/* the call that cancels; 0: never */

/* Answers "cancel" at exactly the cancel_at-th call: code that ignored the
 * answer would run on, and the test would see it succeed. */
static inline int
cancel_at_call(void)
{
	return ++cancel_calls == cancel_at;
}

/* Install cancel_at_call, cancelling at its k-th call (k = 0: never). */
static inline void
cancel_arm(long k)
{
	cancel_calls = 0;
	cancel_at = k;
	test_cancel_hook = cancel_at_call;
}

/* snippet repeated to at most `bytes` bytes, NUL-terminated (malloc'd). */
static inline char *
repeated_text(const char *snippet, size_t bytes, size_t *len)
{
	size_t		n = strlen(snippet);
	size_t		reps = bytes / n;
	char	   *text = malloc(n * reps + 1);

	for (size_t i = 0; i < reps; i++)
		memcpy(text + i * n, snippet, n);
	text[n * reps] = '\0';
	*len = n * reps;
	return text;
}

#endif
