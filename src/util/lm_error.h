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
	LM_ERR_CANCELLED,			/* the call's context asked us to stop */
	LM_ERR_WRONG_MODEL,			/* this model does not serve that task */
	LM_ERR_TOO_LONG,			/* an input past the model's limits */
	LM_ERR_INTERNAL
} LmErrorCode;

#define LM_ERROR_MESSAGE_MAX 1024
#define LM_ERROR_HINT_MAX 512

/*
 * What one call into the engine may do, given by its caller: when to stop
 * (a cancel callback with its own argument, asked between tokens, layers and
 * rows; NULL never stops) and how many threads it may compute on.  Each call
 * has its own, so several threads can run the same model at once, each
 * cancelled on its own.  Scratch memory is the call's too: every task
 * allocates what it needs and frees it before it returns, whatever the
 * outcome, and keeps nothing in the model it reads.
 */
typedef struct LmCall
{
	int			(*cancel) (void *arg);	/* non-zero: stop as soon as possible */
	void	   *cancel_arg;
	int			threads;		/* compute threads the call may use; 0 or 1: its own */
} LmCall;

/*
 * An engine call's outcome.  The error travels down every function that can
 * fail, so it also carries the call's context (call) to the loops that ask
 * whether to stop.
 */
typedef struct LmError
{
	LmErrorCode code;
	char		message[LM_ERROR_MESSAGE_MAX];
	char		hint[LM_ERROR_HINT_MAX];
	const LmCall *call;			/* NULL: never cancelled, one thread */
} LmError;

/* Clear an error before use; the call has no context (nothing cancels it). */
void		lm_error_clear(LmError *err);

/* Clear an error and attach the call's context (may be NULL). */
void		lm_error_init(LmError *err, const LmCall *call);

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
 * Cancellation.  Long loops (over tokens, layers, rows) call
 * lm_check_cancel(err); when it fails they clean up and return
 * LM_ERR_CANCELLED.  The PostgreSQL glue's context reports a pending
 * interrupt; a plain program passes none.
 */
static inline int
lm_cancelled(const LmError *err)
{
	return err != NULL && err->call != NULL && err->call->cancel != NULL &&
		err->call->cancel(err->call->cancel_arg);
}

/* Returns -1 with LM_ERR_CANCELLED recorded when cancellation is pending. */
int			lm_check_cancel(LmError *err);

/* Compute threads the call may use (at least 1). */
static inline int
lm_call_threads(const LmError *err)
{
	return err != NULL && err->call != NULL && err->call->threads > 1 ? err->call->threads : 1;
}

/* malloc wrappers that record LM_ERR_NO_MEMORY on failure. */
void	   *lm_malloc(size_t size, LmError *err);
void	   *lm_malloc_large(size_t size, LmError *err);
void	   *lm_calloc(size_t count, size_t size, LmError *err);
void	   *lm_realloc(void *ptr, size_t size, LmError *err);
char	   *lm_strndup(const char *s, size_t len, LmError *err);

#endif
