/*
 * lm_error.c — error values, cancellation and checked allocation.
 */
#include "util/lm_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void
lm_error_clear(LmError *err)
{
	lm_error_init(err, NULL);
}

void
lm_error_init(LmError *err, const LmCall *call)
{
	if (err == NULL)
		return;
	err->code = LM_OK;
	err->message[0] = '\0';
	err->hint[0] = '\0';
	err->call = call;
}

int
lm_fail(LmError *err, LmErrorCode code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

void
lm_hint(LmError *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void
lm_error_prefix(LmError *err, const char *fmt,...)
{
	char		prefix[LM_ERROR_MESSAGE_MAX];
	char		old[LM_ERROR_MESSAGE_MAX];
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	/* prefix + ": " + old, cut to fit */
	{
		size_t		n = strlen(prefix);

		if (n > sizeof(err->message) - 3)
			n = sizeof(err->message) - 3;
		memcpy(err->message, prefix, n);
		memcpy(err->message + n, ": ", 2);
		n += 2;
		strncpy(err->message + n, old, sizeof(err->message) - n - 1);
		err->message[sizeof(err->message) - 1] = '\0';
	}
}

int
lm_check_cancel(LmError *err)
{
	if (lm_cancelled(err))
		return lm_fail(err, LM_ERR_CANCELLED, "canceled");
	return 0;
}

void *
lm_malloc(size_t size, LmError *err)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory allocating %zu bytes", size);
	return p;
}

/*
 * Buffers of megabytes filled anew on every call (a model state's
 * activations, a KV cache) on 2 MB pages where the system gives them
 * (transparent huge pages on request): first writing them then costs a
 * fault per 2 MB instead of per 4 KB, which on a virtual machine was a
 * tenth of a 512-token prompt's time.  Aligned to a cache line at least;
 * freed with free().
 */
#define HUGE_PAGE ((size_t) 2 << 20)

void *
lm_malloc_large(size_t size, LmError *err)
{
	void	   *p;

	if (posix_memalign(&p, size >= HUGE_PAGE ? HUGE_PAGE : 64, size ? size : 1) != 0)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory allocating %zu bytes", size);
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	if (size >= HUGE_PAGE)
		(void) madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

void *
lm_calloc(size_t count, size_t size, LmError *err)
{
	void	   *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory allocating %zu x %zu bytes",
				count, size);
	return p;
}

void *
lm_realloc(void *ptr, size_t size, LmError *err)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory allocating %zu bytes", size);
	return p;
}

char *
lm_strndup(const char *s, size_t len, LmError *err)
{
	char	   *p = lm_malloc(len + 1, err);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
