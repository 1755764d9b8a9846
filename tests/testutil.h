/*
 * testutil.h — a minimal TAP-style harness for the engine's C tests.
 *
 * CHECK(cond, fmt, ...) prints "ok N - ..." or "not ok N - ..."; test_done()
 * prints the summary line and returns the exit status.  The test runner
 * counts the "ok"/"not ok" lines of every test program.
 */
#ifndef LM_TESTUTIL_H
#define LM_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/lm_error.h"

static int	test_count = 0;
static int	test_failed = 0;

static inline int
test_check(int ok, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static inline int
test_check(int ok, const char *fmt,...)
{
	va_list		ap;

	test_count++;
	if (!ok)
		test_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok;
}

#define CHECK(cond, ...) test_check((cond) ? 1 : 0, __VA_ARGS__)

/*
 * The tests' calls into the engine share one context, whose cancel callback
 * asks test_cancel_hook (NULL: never cancel).  A test that cancels sets the
 * hook; every error made with test_error_init carries the context.
 */
static int	(*test_cancel_hook) (void);

static inline int
test_cancel_requested(void *arg)
{
	(void) arg;
	return test_cancel_hook != NULL && test_cancel_hook();
}

static const LmCall test_call __attribute__((unused)) = {test_cancel_requested, NULL, 1};

static inline void
test_error_init(LmError *err)
{
	lm_error_init(err, &test_call);
}

/* Path of the shared fixtures: $PG_LM_FIXTURES, or ../shared/fixtures. */
static inline const char *
test_fixtures_dir(void)
{
	const char *dir = getenv("PG_LM_FIXTURES");

	return dir ? dir : "../shared/fixtures";
}

static inline int
test_done(void)
{
	printf("# %d passed, %d failed\n", test_count - test_failed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
