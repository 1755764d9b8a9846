/*
 * wordvec_formats.c — read word2vec binary, word2vec/fastText text and
 * GloVe text files into a word-vector store.
 *
 * word2vec binary: "COUNT DIM\n", then COUNT times: the word up to a space
 * (newlines before it skipped, as gensim does), then DIM little-endian
 * float32.  Text: the same header (absent in GloVe files), then one line
 * per word: the word and DIM numbers separated by spaces or tabs; when a
 * line has more than DIM + 1 fields the word is everything before the last
 * DIM (GloVe 840B has words with spaces).  Text after COUNT vectors is
 * ignored, as gensim does; fewer than COUNT is an error.
 */
#include "classic/wordvec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classic/byte_reader.h"
#include "util/file.h"
#include "util/utf8.h"

#define HEADER_MAX_BYTES 64		/* "COUNT DIM\n" */
#define NUMBER_MAX_CHARS 64		/* longest float we parse */
#define AUTO_DETECT_BYTES 256	/* bytes inspected to tell binary from text */
#define MIN_TEXT_VALUE_BYTES 2	/* a digit and a separator */

typedef struct Header
{
	bool		present;
	int64_t		count;
	int64_t		dim;
	size_t		end;			/* offset after the header line */
} Header;

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
parse_uint(const char *s, size_t len, int64_t *out)
{
	int64_t		v = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* A first line of exactly two unsigned integers is a header. */
static void
read_header(const char *data, size_t len, Header *h)
{
	const char *nl = memchr(data, '\n', len < HEADER_MAX_BYTES ? len : HEADER_MAX_BYTES);
	size_t		line_len = nl ? (size_t) (nl - data) : 0;
	size_t		p = 0,
				a,
				b;

	memset(h, 0, sizeof(*h));
	if (nl == NULL)
		return;
	while (p < line_len && is_blank(data[p]))
		p++;
	a = p;
	while (p < line_len && !is_blank(data[p]))
		p++;
	if (parse_uint(data + a, p - a, &h->count) < 0)
		return;
	while (p < line_len && is_blank(data[p]))
		p++;
	b = p;
	while (p < line_len && !is_blank(data[p]))
		p++;
	if (parse_uint(data + b, p - b, &h->dim) < 0)
		return;
	while (p < line_len && is_blank(data[p]))
		p++;
	if (p != line_len)
		return;
	h->present = true;
	h->end = line_len + 1;
}

/* Add a word, repairing invalid UTF-8; duplicates are skipped. */
static int
add_word(LmWordVectors *wv, const char *word, size_t len, const float *vec, LmError *err)
{
	char	   *fixed;
	size_t		fixed_len;
	int32_t		rc;

	if (lm_utf8_valid(word, len, NULL))
		return lm_wordvec_add(wv, word, len, vec, err) == -1 ? -1 : 0;
	if (lm_utf8_lossy(word, len, &fixed, &fixed_len, err) < 0)
		return -1;
	rc = lm_wordvec_add(wv, fixed, fixed_len, vec, err);
	free(fixed);
	return rc == -1 ? -1 : 0;
}

static int
check_header_dim(const Header *h, LmError *err)
{
	if (h->dim < 1 || h->dim > LM_WORDVEC_MAX_DIM)
		return lm_fail(err, LM_ERR_CORRUPT, "header gives dimension %lld, expected 1..%d",
					   (long long) h->dim, LM_WORDVEC_MAX_DIM);
	return 0;
}

/* ---------------------------------------------------------------- */
/* word2vec binary                                                  */
/* ---------------------------------------------------------------- */

static LmWordVectors *
load_binary(const uint8_t *data, size_t len, const Header *h, LmError *err)
{
	ByteReader	r;
	LmWordVectors *wv;
	float	   *vec;
	size_t		dim = (size_t) h->dim;

	if (!h->present)
	{
		lm_fail(err, LM_ERR_CORRUPT, "word2vec binary file lacks its \"COUNT DIM\" header line");
		return NULL;
	}
	if (check_header_dim(h, err) < 0)
		return NULL;
	byte_reader_init(&r, data, len);
	r.pos = h->end;
	if ((uint64_t) h->count > byte_reader_left(&r) / (dim * sizeof(float) + 1))
	{
		lm_fail(err, LM_ERR_CORRUPT,
				"header promises %lld vectors of %zu floats but the file has only %zu bytes after it",
				(long long) h->count, dim, byte_reader_left(&r));
		lm_hint(err, "the file is truncated, or it is a text file: try the text format");
		return NULL;
	}
	wv = lm_wordvec_new((int) dim, (size_t) h->count, err);
	vec = lm_malloc(dim * sizeof(float), err);
	if (wv == NULL || vec == NULL)
		goto fail;
	for (int64_t i = 0; i < h->count; i++)
	{
		const uint8_t *start;
		const uint8_t *space;

		while (r.pos < r.len && r.data[r.pos] == '\n')
			r.pos++;
		start = r.data + r.pos;
		space = memchr(start, ' ', byte_reader_left(&r));
		if (space == NULL)
		{
			lm_fail(err, LM_ERR_CORRUPT, "vector %lld at offset %zu: no space after the word",
					(long long) i, r.pos);
			goto fail;
		}
		r.pos += (size_t) (space - start) + 1;
		if (byte_reader_floats(&r, vec, dim, "vector", err) < 0)
		{
			lm_error_prefix(err, "vector %lld of %lld", (long long) i, (long long) h->count);
			goto fail;
		}
		if (add_word(wv, (const char *) start, (size_t) (space - start), vec, err) < 0 ||
			lm_check_cancel(err) < 0)
			goto fail;
	}
	free(vec);
	return wv;

fail:
	free(vec);
	lm_wordvec_free(wv);
	return NULL;
}

/* ---------------------------------------------------------------- */
/* Text: word2vec / fastText .vec (with header) and GloVe (without)  */
/* ---------------------------------------------------------------- */

typedef struct Field
{
	size_t		start;
	size_t		end;
} Field;

static int
parse_float(const char *s, size_t len, float *out)
{
	char		buf[NUMBER_MAX_CHARS];
	char	   *end;

	if (len == 0 || len >= NUMBER_MAX_CHARS)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtof(buf, &end);
	if (end != buf + len)
		return -1;
	return 0;
}

/* Split a line into blank-separated fields; returns how many (at most max). */
static size_t
split_fields(const char *line, size_t len, Field *fields, size_t max, size_t *total)
{
	size_t		n = 0,
				p = 0;

	*total = 0;
	while (p < len)
	{
		size_t		start;

		while (p < len && is_blank(line[p]))
			p++;
		if (p == len)
			break;
		start = p;
		while (p < len && !is_blank(line[p]))
			p++;
		if (n < max)
		{
			fields[n].start = start;
			fields[n].end = p;
			n++;
		}
		else
		{
			/* keep the last max - 1 fields as values; the word absorbs the rest */
			fields[0].end = fields[1].end;
			memmove(fields + 1, fields + 2, sizeof(Field) * (max - 2));
			fields[max - 1].start = start;
			fields[max - 1].end = p;
		}
		(*total)++;
	}
	return n;
}

static LmWordVectors *
load_text(const char *data, size_t len, const Header *h, bool glove, LmError *err)
{
	size_t		pos = glove ? 0 : h->end;
	int64_t		line_no = glove ? 0 : 1;
	int64_t		dim = glove ? 0 : h->dim;
	int64_t		wanted = glove ? -1 : h->count;
	int64_t		read = 0;
	LmWordVectors *wv = NULL;
	float	   *vec = NULL;
	Field	   *fields = NULL;

	if (!glove)
	{
		if (check_header_dim(h, err) < 0)
			return NULL;
		if ((uint64_t) h->count > len / ((uint64_t) dim * MIN_TEXT_VALUE_BYTES))
		{
			lm_fail(err, LM_ERR_CORRUPT,
					"header promises %lld vectors of %lld numbers, more than a %zu-byte file can hold",
					(long long) h->count, (long long) dim, len);
			return NULL;
		}
	}
	while (pos < len && (wanted < 0 || read < wanted))
	{
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t		line_len = nl ? (size_t) (nl - line) : len - pos;
		size_t		n_fields,
					total;

		pos += line_len + (nl ? 1 : 0);
		line_no++;
		if (dim == 0)
		{
			/* GloVe: the first line tells the dimension */
			Field		f[2];

			split_fields(line, line_len, f, 2, &total);
			if (total == 0)
				continue;
			if (total < 2 || total - 1 > LM_WORDVEC_MAX_DIM)
			{
				lm_fail(err, LM_ERR_CORRUPT, "line %lld has %zu fields: not a word and a vector",
						(long long) line_no, total);
				goto fail;
			}
			dim = (int64_t) total - 1;
		}
		if (wv == NULL)
		{
			wv = lm_wordvec_new((int) dim, wanted > 0 ? (size_t) wanted : 0, err);
			vec = lm_malloc(sizeof(float) * (size_t) dim, err);
			fields = lm_malloc(sizeof(Field) * ((size_t) dim + 1), err);
			if (wv == NULL || vec == NULL || fields == NULL)
				goto fail;
		}
		n_fields = split_fields(line, line_len, fields, (size_t) dim + 1, &total);
		if (total == 0)
			continue;			/* blank line */
		if (n_fields < (size_t) dim + 1)
		{
			lm_fail(err, LM_ERR_CORRUPT, "line %lld has %zu numbers, expected %lld",
					(long long) line_no, total - 1, (long long) dim);
			lm_hint(err, "every line must hold a word and the same number of values");
			goto fail;
		}
		for (int64_t j = 0; j < dim; j++)
		{
			const Field *f = &fields[j + 1];

			if (parse_float(line + f->start, f->end - f->start, &vec[j]) < 0)
			{
				lm_fail(err, LM_ERR_CORRUPT, "line %lld: \"%.*s\" is not a number",
						(long long) line_no, (int) (f->end - f->start > 40 ? 40 : f->end - f->start),
						line + f->start);
				goto fail;
			}
		}
		/* the word is everything before the last dim fields */
		{
			size_t		word_end = fields[0].end;
			size_t		word_start = 0;

			while (word_start < word_end && is_blank(line[word_start]))
				word_start++;
			if (add_word(wv, line + word_start, word_end - word_start, vec, err) < 0)
				goto fail;
		}
		read++;
		if ((read & 1023) == 0 && lm_check_cancel(err) < 0)
			goto fail;
	}
	if (wanted >= 0 && read < wanted)
	{
		lm_fail(err, LM_ERR_CORRUPT, "file truncated: header promises %lld vectors, found %lld",
				(long long) wanted, (long long) read);
		goto fail;
	}
	if (wv == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "no word vectors in the file");
		goto fail;
	}
	free(vec);
	free(fields);
	return wv;

fail:
	free(vec);
	free(fields);
	lm_wordvec_free(wv);
	return NULL;
}

/* After the header: is this DIM float32 values, or text? */
static bool
looks_binary(const uint8_t *data, size_t len, const Header *h)
{
	size_t		p = h->end;
	size_t		end;

	while (p < len && data[p] != ' ')
		p++;
	end = p + AUTO_DETECT_BYTES < len ? p + AUTO_DETECT_BYTES : len;
	for (p++; p < end; p++)
	{
		uint8_t		c = data[p];

		if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
			  c == 'E' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return true;
	}
	return false;
}

LmWordVectors *
lm_wordvec_load(const uint8_t *data, size_t len, LmWordVecFormat format, LmError *err)
{
	Header		h;

	if (len == 0)
	{
		lm_fail(err, LM_ERR_CORRUPT, "empty word-vector file");
		return NULL;
	}
	read_header((const char *) data, len, &h);
	if (format == LM_WORDVEC_AUTO)
	{
		if (!h.present)
			format = LM_WORDVEC_GLOVE_TEXT;
		else
			format = looks_binary(data, len, &h) ? LM_WORDVEC_WORD2VEC_BINARY
				: LM_WORDVEC_WORD2VEC_TEXT;
	}
	switch (format)
	{
		case LM_WORDVEC_WORD2VEC_BINARY:
			return load_binary(data, len, &h, err);
		case LM_WORDVEC_WORD2VEC_TEXT:
			if (!h.present)
			{
				lm_fail(err, LM_ERR_CORRUPT, "text vectors lack their \"COUNT DIM\" header line");
				lm_hint(err, "GloVe files have no header: use the GloVe format");
				return NULL;
			}
			return load_text((const char *) data, len, &h, false, err);
		case LM_WORDVEC_GLOVE_TEXT:
			return load_text((const char *) data, len, &h, true, err);
		default:
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "unknown word-vector format %d", (int) format);
			return NULL;
	}
}

LmWordVectors *
lm_wordvec_load_file(const char *path, LmWordVecFormat format, LmError *err)
{
	uint8_t    *data;
	size_t		len;
	LmWordVectors *wv;

	if (lm_read_file(path, LM_WORDVEC_MAX_FILE_BYTES, &data, &len, err) < 0)
		return NULL;
	wv = lm_wordvec_load(data, len, format, err);
	free(data);
	if (wv == NULL)
		lm_error_prefix(err, "%s", path);
	return wv;
}
