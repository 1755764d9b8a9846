/*
 * bench_util.h — what the benchmark programs share: a monotonic clock,
 * stopping on an engine error, whole-number options, and the threads
 * OpenBLAS runs.  Messages start with the program's own name.
 */
#ifndef LM_BENCH_UTIL_H
#define LM_BENCH_UTIL_H

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/lm_error.h"

/* glibc's basename of argv[0] (declared by <errno.h> only under _GNU_SOURCE). */
extern char *program_invocation_short_name;

/* Seconds on a monotonic clock. */
static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Stop the program: what failed, and the engine's message when there is one. */
static inline void
die(const char *what, const LmError *err)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
			err ? err->message : "failed");
	exit(1);
}

/* The value of option opt, a whole number from min to max, or exit 2. */
static inline int
parse_count(const char *opt, const char *value, int min, int max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
	{
		fprintf(stderr, "%s: %s wants a whole number from %d to %d, not \"%s\"\n",
				program_invocation_short_name, opt, min, max, value);
		exit(2);
	}
	return (int) v;
}

/*
 * Which of opts (n of them, such as "--threads") argv[*i] names, written
 * "--opt value" or "--opt=value": its index, with *value set (NULL when the
 * value is missing) and *i past a separate value; -1 when none.
 */
static inline int
option_value(int argc, char **argv, int *i, const char *const *opts, int n, const char **value)
{
	const char *a = argv[*i];

	for (int o = 0; o < n; o++)
	{
		size_t		len = strlen(opts[o]);

		if (strncmp(a, opts[o], len) == 0 && (a[len] == '\0' || a[len] == '='))
		{
			*value = a[len] == '=' ? a + len + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
			return o;
		}
	}
	*value = NULL;
	return -1;
}

/* The threads OpenBLAS runs (after lm_blas_init), or -1 if it cannot say. */
static inline int
blas_threads(void)
{
	static const char *const libs[] = {"libopenblas.so.0", "libopenblas.so"};

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
	{
		void	   *lib = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);

		if (lib != NULL)
		{
			int			(*get) (void) = (int (*) (void)) dlsym(lib, "openblas_get_num_threads");
			int			n = get != NULL ? get() : -1;

			dlclose(lib);
			return n;
		}
	}
	return -1;
}

#endif
