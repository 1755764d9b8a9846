/*
 * lm_error.h — how the engine reports failure.
 *
 * Engine functions never exit and never call into PostgreSQL: they return -1
 * (or NULL) and describe the problem in an LmError.  The PostgreSQL glue turns
 * the code into a SQLSTATE and the message and hint into an ereport.
 */
#ifndef LM_ERROR_H
#define LM_ERROR_H

#include <stddef.h>

typedef enum LmErrorCode
{
	LM_OK = 0,
	LM_ERR_INVALID_ARGUMENT,	/* the caller passed something unusable */
	LM_ERR_CORRUPT,				/* a file or document is malformed */
	LM_ERR_UNSUPPORTED,			/* well formed, but a feature we do not implement */
	LM_ERR_IO,					/* the operating system refused */
	LM_ERR_NO_MEMORY,
	LM_ERR_CANCELLED,			/* the cancel hook asked us to stop */
	LM_ERR_INTERNAL
} LmErrorCode;

#define LM_ERROR_MESSAGE_MAX 1024
#define LM_ERROR_HINT_MAX 512

typedef struct LmError
{
	LmErrorCode code;
	char		message[LM_ERROR_MESSAGE_MAX];
	char		hint[LM_ERROR_HINT_MAX];
} LmError;

/* Clear an error before use. */
void		lm_error_clear(LmError *err);

/* Record an error (printf-style message); always returns -1 so callers can
 * write "return lm_fail(err, ...)".  A NULL err is allowed. */
int			lm_fail(LmError *err, LmErrorCode code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Attach a hint to the error already recorded. */
void		lm_hint(LmError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Prefix the recorded message with context, e.g. the file name. */
void		lm_error_prefix(LmError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * Cancellation.  Long loops (over tokens, layers, rows) call lm_cancelled();
 * when it returns non-zero they clean up and return LM_ERR_CANCELLED.  The
 * PostgreSQL glue installs a hook that reports a pending interrupt; a plain
 * program leaves it NULL.
 */
extern int	(*lm_cancel_hook) (void);

static inline int
lm_cancelled(void)
{
	return lm_cancel_hook != NULL && lm_cancel_hook();
}

/* Returns -1 with LM_ERR_CANCELLED recorded when cancellation is pending. */
int			lm_check_cancel(LmError *err);

/* malloc wrappers that record LM_ERR_NO_MEMORY on failure. */
void	   *lm_malloc(size_t size, LmError *err);
void	   *lm_calloc(size_t count, size_t size, LmError *err);
void	   *lm_realloc(void *ptr, size_t size, LmError *err);
char	   *lm_strndup(const char *s, size_t len, LmError *err);

#endif
