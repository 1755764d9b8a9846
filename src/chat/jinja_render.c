/*
 * jinja_render.c — a render's plumbing: its arena, its bounds, errors that
 * leave the render, and byte buffers.
 */
#include "chat/jinja_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arena chunks: at least this size, bigger for a bigger request. */
#define J_CHUNK_MIN (64 * 1024)
/* Steps between two cancellation checks. */
#define J_CANCEL_INTERVAL 4096

struct JArenaChunk
{
	JArenaChunk *next;
	size_t		size;
	size_t		used;
	char		data[];
};

void
j_fail(JRender *r, const char *fmt,...)
{
	char		msg[LM_ERROR_MESSAGE_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->err != NULL && r->err->code == LM_OK)
	{
		if (r->line > 0)
			lm_fail(r->err, LM_ERR_INVALID_ARGUMENT, "chat template line %d: %s", r->line, msg);
		else
			lm_fail(r->err, LM_ERR_INVALID_ARGUMENT, "chat template: %s", msg);
	}
	longjmp(r->fail, 1);
}

void *
j_alloc(JRender *r, size_t size)
{
	JArenaChunk *c = r->chunks;

	size = (size + 7) & ~(size_t) 7;
	if (c == NULL || c->size - c->used < size)
	{
		size_t		chunk = size > J_CHUNK_MIN ? size : J_CHUNK_MIN;

		if (r->used + chunk > r->limits.max_memory)
		{
			lm_fail(r->err, LM_ERR_TOO_LONG, "chat template line %d: the render needs more than %zu bytes of memory",
					r->line, r->limits.max_memory);
			lm_hint(r->err, "A loop in the template builds ever larger values, or the conversation is too large.");
			longjmp(r->fail, 1);
		}
		c = malloc(sizeof(JArenaChunk) + chunk);
		if (c == NULL)
		{
			lm_fail(r->err, LM_ERR_NO_MEMORY, "out of memory rendering a chat template");
			longjmp(r->fail, 1);
		}
		c->size = chunk;
		c->used = 0;
		c->next = r->chunks;
		r->chunks = c;
		r->used += chunk;
	}
	c->used += size;
	return c->data + c->used - size;
}

/* Free the arena (the end of a render). */
void
j_arena_free(JRender *r)
{
	while (r->chunks != NULL)
	{
		JArenaChunk *next = r->chunks->next;

		free(r->chunks);
		r->chunks = next;
	}
	r->used = 0;
}

void
j_step(JRender *r)
{
	if (++r->steps > r->limits.max_steps)
	{
		lm_fail(r->err, LM_ERR_TOO_LONG, "chat template line %d: the render took more than %llu steps",
				r->line, (unsigned long long) r->limits.max_steps);
		lm_hint(r->err, "The template loops too long for the conversation given.");
		longjmp(r->fail, 1);
	}
	if (r->steps % J_CANCEL_INTERVAL == 0 && lm_check_cancel(r->err) != 0)
		longjmp(r->fail, 1);
}

void
j_buf_put(JRender *r, JBuf *b, const char *p, size_t len)
{
	if (b->cap - b->len < len)
	{
		size_t		cap = b->cap ? b->cap : 64;
		char	   *np;

		while (cap - b->len < len)
			cap *= 2;
		np = j_alloc(r, cap);
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		b->p = np;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

void
j_buf_putc(JRender *r, JBuf *b, char c)
{
	j_buf_put(r, b, &c, 1);
}

void
j_buf_printf(JRender *r, JBuf *b, const char *fmt,...)
{
	char		tmp[512];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		j_fail(r, "formatting failed");
	if ((size_t) n < sizeof(tmp))
	{
		j_buf_put(r, b, tmp, n);
		return;
	}
	{
		char	   *big = j_alloc(r, (size_t) n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t) n + 1, fmt, ap);
		va_end(ap);
		j_buf_put(r, b, big, n);
	}
}

JStr
j_buf_str(const JBuf *b)
{
	return (JStr) {b->p, b->len};
}

/* Append rendered text to the output, within max_output. */
void
j_emit(JRender *r, const char *p, size_t len)
{
	if (len == 0)
		return;
	if (r->capture != NULL)
	{
		j_buf_put(r, r->capture, p, len);
		return;
	}
	if (r->out_len + len > r->limits.max_output)
	{
		lm_fail(r->err, LM_ERR_TOO_LONG, "chat template line %d: the rendered prompt is longer than %zu bytes",
				r->line, r->limits.max_output);
		longjmp(r->fail, 1);
	}
	if (r->out_cap - r->out_len < len + 1)
	{
		size_t		cap = r->out_cap ? r->out_cap : 4096;
		char	   *np;

		while (cap - r->out_len < len + 1)
			cap *= 2;
		np = realloc(r->out, cap);
		if (np == NULL)
		{
			lm_fail(r->err, LM_ERR_NO_MEMORY, "out of memory rendering a chat template");
			longjmp(r->fail, 1);
		}
		r->out = np;
		r->out_cap = cap;
	}
	memcpy(r->out + r->out_len, p, len);
	r->out_len += len;
	r->out[r->out_len] = '\0';
}
