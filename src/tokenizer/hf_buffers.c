/*
 * hf_buffers.c — growable byte buffers, lists of pieces and lists of spans
 * for the tokenizer.json pipeline.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

#define HF_MIN_CAPACITY 16

int
hf_buf_reserve(HfBuf *buf, size_t extra, LmError *err)
{
	size_t		need = buf->len + extra + 1;
	size_t		cap;
	char	   *grown;

	if (need <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : HF_MIN_CAPACITY;
	while (cap < need)
		cap *= 2;
	grown = lm_realloc(buf->data, cap, err);
	if (grown == NULL)
		return -1;
	buf->data = grown;
	buf->cap = cap;
	return 0;
}

int
hf_buf_append(HfBuf *buf, const char *s, size_t n, LmError *err)
{
	if (hf_buf_reserve(buf, n, err) != 0)
		return -1;
	if (n > 0)
		memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return 0;
}

int
hf_buf_append_cp(HfBuf *buf, int32_t cp, LmError *err)
{
	char		tmp[LM_UTF8_MAX_BYTES];
	int			n = lm_utf8_encode(cp, tmp);

	return hf_buf_append(buf, tmp, n, err);
}

void
hf_buf_free(HfBuf *buf)
{
	free(buf->data);
	memset(buf, 0, sizeof(*buf));
}

int
hf_pieces_reserve(HfPieces *pieces, size_t extra, LmError *err)
{
	size_t		need = pieces->n + extra;
	size_t		cap = pieces->cap ? pieces->cap * 2 : HF_MIN_CAPACITY;
	HfPiece    *items;

	if (need <= pieces->cap)
		return 0;
	if (cap < need)
		cap = need;
	items = lm_realloc(pieces->items, cap * sizeof(HfPiece), err);
	if (items == NULL)
		return -1;
	pieces->items = items;
	pieces->cap = cap;
	return 0;
}

int
hf_pieces_close(HfPieces *pieces, size_t start, bool at_origin, LmError *err)
{
	if (pieces->n == pieces->cap && hf_pieces_reserve(pieces, 1, err) != 0)
		return -1;
	/* Make sure the text buffer exists even for an empty first piece. */
	if (pieces->text.data == NULL && hf_buf_reserve(&pieces->text, 0, err) != 0)
		return -1;
	pieces->items[pieces->n].offset = start;
	pieces->items[pieces->n].len = pieces->text.len - start;
	pieces->items[pieces->n].at_origin = at_origin;
	pieces->n++;
	return 0;
}

int
hf_pieces_push(HfPieces *pieces, const char *s, size_t len, bool at_origin, LmError *err)
{
	size_t		start = hf_pieces_open(pieces);

	if (hf_buf_append(&pieces->text, s, len, err) != 0)
		return -1;
	return hf_pieces_close(pieces, start, at_origin, err);
}

void
hf_pieces_clear(HfPieces *pieces)
{
	hf_buf_clear(&pieces->text);
	pieces->n = 0;
}

void
hf_pieces_free(HfPieces *pieces)
{
	hf_buf_free(&pieces->text);
	free(pieces->items);
	memset(pieces, 0, sizeof(*pieces));
}

void
hf_pieces_swap(HfPieces *a, HfPieces *b)
{
	HfPieces	tmp = *a;

	*a = *b;
	*b = tmp;
}

int
hf_spans_push(HfSpans *spans, size_t start, size_t end, LmError *err)
{
	if (spans->n == spans->cap)
	{
		size_t		cap = spans->cap ? spans->cap * 2 : HF_MIN_CAPACITY;
		HfSpan	   *items = lm_realloc(spans->items, cap * sizeof(HfSpan), err);

		if (items == NULL)
			return -1;
		spans->items = items;
		spans->cap = cap;
	}
	spans->items[spans->n].start = start;
	spans->items[spans->n].end = end;
	spans->n++;
	return 0;
}

void
hf_spans_free(HfSpans *spans)
{
	free(spans->items);
	memset(spans, 0, sizeof(*spans));
}
