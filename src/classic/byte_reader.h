/*
 * byte_reader.h — a bounds-checked cursor over an in-memory file.
 *
 * Every read checks the bytes left first; a read past the end returns -1
 * with LM_ERR_CORRUPT naming the offset and what was being read, and
 * leaves the cursor where it was.  Integers and floats are little-endian
 * whatever the host is.
 */
#ifndef LM_CLASSIC_BYTE_READER_H
#define LM_CLASSIC_BYTE_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/lm_error.h"

typedef struct ByteReader
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
} ByteReader;

static inline void
byte_reader_init(ByteReader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
}

static inline size_t
byte_reader_left(const ByteReader *r)
{
	return r->len - r->pos;
}

/* Fail unless n more bytes are available. */
static inline int
byte_reader_need(const ByteReader *r, size_t n, const char *what, LmError *err)
{
	if (n > r->len - r->pos)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "file truncated at offset %zu: %s needs %zu bytes, %zu left",
					   r->pos, what, n, r->len - r->pos);
	return 0;
}

static inline uint32_t
byte_reader_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline float
byte_reader_le_float(const uint8_t *p)
{
	uint32_t	bits = byte_reader_le32(p);
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static inline int
byte_reader_u8(ByteReader *r, uint8_t *out, const char *what, LmError *err)
{
	if (byte_reader_need(r, 1, what, err) < 0)
		return -1;
	*out = r->data[r->pos++];
	return 0;
}

static inline int
byte_reader_i32(ByteReader *r, int32_t *out, const char *what, LmError *err)
{
	if (byte_reader_need(r, 4, what, err) < 0)
		return -1;
	*out = (int32_t) byte_reader_le32(r->data + r->pos);
	r->pos += 4;
	return 0;
}

static inline int
byte_reader_i64(ByteReader *r, int64_t *out, const char *what, LmError *err)
{
	uint64_t	lo,
				hi;

	if (byte_reader_need(r, 8, what, err) < 0)
		return -1;
	lo = byte_reader_le32(r->data + r->pos);
	hi = byte_reader_le32(r->data + r->pos + 4);
	*out = (int64_t) (lo | (hi << 32));
	r->pos += 8;
	return 0;
}

static inline int
byte_reader_f64(ByteReader *r, double *out, const char *what, LmError *err)
{
	int64_t		bits;

	if (byte_reader_i64(r, &bits, what, err) < 0)
		return -1;
	memcpy(out, &bits, sizeof(*out));
	return 0;
}

/* Copy n little-endian float32 values into out. */
static inline int
byte_reader_floats(ByteReader *r, float *out, size_t n, const char *what, LmError *err)
{
	if (n > (r->len - r->pos) / 4)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "file truncated at offset %zu: %s needs %zu floats, %zu bytes left",
					   r->pos, what, n, r->len - r->pos);
	for (size_t i = 0; i < n; i++)
		out[i] = byte_reader_le_float(r->data + r->pos + 4 * i);
	r->pos += 4 * n;
	return 0;
}

/* Point *out at the next n bytes and skip them. */
static inline int
byte_reader_bytes(ByteReader *r, const uint8_t **out, size_t n, const char *what,
				  LmError *err)
{
	if (byte_reader_need(r, n, what, err) < 0)
		return -1;
	*out = r->data + r->pos;
	r->pos += n;
	return 0;
}

#endif
