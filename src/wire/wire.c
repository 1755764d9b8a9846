/*
 * wire.c — encoding and decoding the model server's messages (see wire.h).
 */
#include "wire/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NULL_STRING 0xFFFFFFFFu

/* ---- building --------------------------------------------------------------- */

static void
reserve(LmWireBuf *buf, size_t more)
{
	size_t		cap;
	uint8_t    *grown;

	if (buf->failed || buf->len + more <= buf->cap)
		return;
	cap = buf->cap ? buf->cap : 256;
	while (cap < buf->len + more)
		cap *= 2;
	if ((grown = realloc(buf->data, cap)) == NULL)
	{
		buf->failed = true;
		return;
	}
	buf->data = grown;
	buf->cap = cap;
}

static void
put(LmWireBuf *buf, const void *p, size_t len)
{
	reserve(buf, len);
	if (buf->failed)
		return;
	if (len > 0)
		memcpy(buf->data + buf->len, p, len);
	buf->len += len;
}

static void
put_le(LmWireBuf *buf, uint64_t v, int bytes)
{
	uint8_t		b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t) (v >> (8 * i));
	put(buf, b, bytes);
}

void
lm_wire_begin(LmWireBuf *buf, LmMsgType type)
{
	buf->len = 0;
	buf->failed = false;
	put_le(buf, 0, 4);
	put_le(buf, (uint32_t) type, 4);
}

void
lm_wire_u8(LmWireBuf *buf, uint8_t v)
{
	put_le(buf, v, 1);
}

void
lm_wire_u32(LmWireBuf *buf, uint32_t v)
{
	put_le(buf, v, 4);
}

void
lm_wire_i32(LmWireBuf *buf, int32_t v)
{
	put_le(buf, (uint32_t) v, 4);
}

void
lm_wire_u64(LmWireBuf *buf, uint64_t v)
{
	put_le(buf, v, 8);
}

void
lm_wire_f64(LmWireBuf *buf, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, 8);
	put_le(buf, bits, 8);
}

void
lm_wire_bytes(LmWireBuf *buf, const void *p, size_t len)
{
	if (len >= NULL_STRING)
	{
		buf->failed = true;
		return;
	}
	put_le(buf, len, 4);
	put(buf, p, len);
	put_le(buf, 0, 1);
}

void
lm_wire_str(LmWireBuf *buf, const char *s)
{
	if (s == NULL)
		put_le(buf, NULL_STRING, 4);
	else
		lm_wire_bytes(buf, s, strlen(s));
}

int
lm_wire_end(LmWireBuf *buf, LmError *err)
{
	size_t		payload;

	if (buf->failed)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory building a message for the model server");
	payload = buf->len - 4;
	if (payload > LM_WIRE_MAX_MESSAGE)
		return lm_fail(err, LM_ERR_TOO_LONG,
					   "a request of %zu bytes is larger than the model server accepts (%u)",
					   payload, LM_WIRE_MAX_MESSAGE);
	for (int i = 0; i < 4; i++)
		buf->data[i] = (uint8_t) (payload >> (8 * i));
	return 0;
}

void
lm_wire_buf_free(LmWireBuf *buf)
{
	free(buf->data);
	memset(buf, 0, sizeof(*buf));
}

/* ---- reading ------------------------------------------------------------------ */

static uint64_t
get_le(LmWireReader *r, int bytes)
{
	uint64_t	v = 0;

	if (r->bad || r->left < (size_t) bytes)
	{
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t) r->p[i] << (8 * i);
	r->p += bytes;
	r->left -= bytes;
	return v;
}

LmMsgType
lm_wire_open(LmWireReader *r, const void *payload, size_t len)
{
	r->p = payload;
	r->left = len;
	r->bad = false;
	return (LmMsgType) get_le(r, 4);
}

uint8_t
lm_wire_get_u8(LmWireReader *r)
{
	return (uint8_t) get_le(r, 1);
}

uint32_t
lm_wire_get_u32(LmWireReader *r)
{
	return (uint32_t) get_le(r, 4);
}

int32_t
lm_wire_get_i32(LmWireReader *r)
{
	return (int32_t) (uint32_t) get_le(r, 4);
}

uint64_t
lm_wire_get_u64(LmWireReader *r)
{
	return get_le(r, 8);
}

double
lm_wire_get_f64(LmWireReader *r)
{
	uint64_t	bits = get_le(r, 8);
	double		v;

	memcpy(&v, &bits, 8);
	return v;
}

const char *
lm_wire_get_str(LmWireReader *r, size_t *len)
{
	uint32_t	n = (uint32_t) get_le(r, 4);
	const char *s;

	if (len)
		*len = 0;
	if (r->bad || n == NULL_STRING)
		return NULL;
	if (r->left < (size_t) n + 1 || r->p[n] != 0)
	{
		r->bad = true;
		return NULL;
	}
	s = (const char *) r->p;
	r->p += n + 1;
	r->left -= n + 1;
	if (len)
		*len = n;
	return s;
}

/* ---- model references and requests ------------------------------------------ */

void
lm_wire_put_ref(LmWireBuf *buf, const LmWireModelRef *ref)
{
	lm_wire_u32(buf, ref->database);
	lm_wire_u64(buf, (uint64_t) ref->model_id);
	lm_wire_str(buf, ref->key);
}

void
lm_wire_get_ref(LmWireReader *r, LmWireModelRef *ref)
{
	ref->database = lm_wire_get_u32(r);
	ref->model_id = (int64_t) lm_wire_get_u64(r);
	ref->key = lm_wire_get_str(r, NULL);
	if (ref->key == NULL)
		r->bad = true;
}

static void
put_input(LmWireBuf *buf, const LmInput *in)
{
	if (in->ids != NULL)
	{
		lm_wire_u8(buf, 1);
		lm_wire_u32(buf, (uint32_t) in->n_ids);
		for (int i = 0; i < in->n_ids; i++)
			lm_wire_i32(buf, in->ids[i]);
	}
	else if (in->text != NULL)
	{
		lm_wire_u8(buf, 2);
		lm_wire_bytes(buf, in->text, in->len);
	}
	else
		lm_wire_u8(buf, 0);
}

static void
put_strings(LmWireBuf *buf, const char *const *s, int n)
{
	lm_wire_u32(buf, (uint32_t) n);
	for (int i = 0; i < n; i++)
		lm_wire_str(buf, s[i]);
}

void
lm_wire_put_request(LmWireBuf *buf, const LmRunRequest *req)
{
	const LmGenerateRequest *g = &req->generate;
	const LmTranslateRequest *t = &req->translate;

	lm_wire_u32(buf, (uint32_t) req->op);
	put_input(buf, &req->input);
	put_input(buf, &req->input2);
	lm_wire_i32(buf, req->k);
	put_strings(buf, req->labels, req->n_labels);
	lm_wire_str(buf, req->template);
	lm_wire_u32(buf, (uint32_t) req->n_examples);
	for (int i = 0; i < req->n_examples; i++)
	{
		lm_wire_str(buf, req->examples[i].text);
		lm_wire_str(buf, req->examples[i].label);
	}
	lm_wire_i32(buf, g->max_tokens);
	lm_wire_f64(buf, g->sampling.temperature);
	lm_wire_i32(buf, g->sampling.top_k);
	lm_wire_f64(buf, g->sampling.top_p);
	lm_wire_u64(buf, g->sampling.seed);
	put_strings(buf, g->stops, g->n_stops);
	lm_wire_u32(buf, (uint32_t) g->n_stop_ids);
	for (int i = 0; i < g->n_stop_ids; i++)
		lm_wire_i32(buf, g->stop_ids[i]);
	lm_wire_u8(buf, g->chat_prompt);
	lm_wire_str(buf, t->source_lang);
	lm_wire_str(buf, t->target_lang);
	lm_wire_i32(buf, t->beams);
	lm_wire_i32(buf, t->max_tokens);
	lm_wire_u8(buf, t->has_length_penalty);
	lm_wire_f64(buf, t->length_penalty);
	lm_wire_str(buf, t->early_stopping);
}

/* A count of items of at least min_bytes each that the rest of the message can hold. */
static uint32_t
get_count(LmWireReader *r, size_t min_bytes)
{
	uint32_t	n = lm_wire_get_u32(r);

	if (!r->bad && (size_t) n > r->left / min_bytes)
		r->bad = true;
	return r->bad ? 0 : n;
}

static void *
own(LmWireRequest *w, size_t bytes, LmError *err)
{
	for (int i = 0; i < LM_WIRE_OWNED_MAX; i++)
		if (w->owned[i] == NULL)
			return w->owned[i] = lm_calloc(1, bytes ? bytes : 1, err);
	lm_fail(err, LM_ERR_INTERNAL, "too many arrays in one request");
	return NULL;
}

static int
get_input(LmWireReader *r, LmWireRequest *w, LmInput *in, LmError *err)
{
	uint8_t		kind = lm_wire_get_u8(r);

	memset(in, 0, sizeof(*in));
	if (kind == 1)
	{
		uint32_t	n = get_count(r, 4);
		int32_t    *ids = own(w, n * sizeof(int32_t), err);

		if (ids == NULL)
			return -1;
		for (uint32_t i = 0; i < n; i++)
			ids[i] = lm_wire_get_i32(r);
		in->ids = ids;
		in->n_ids = (int) n;
	}
	else if (kind == 2)
		in->text = lm_wire_get_str(r, &in->len);
	else if (kind != 0)
		r->bad = true;
	return 0;
}

static const char **
get_strings(LmWireReader *r, LmWireRequest *w, int *n, LmError *err)
{
	uint32_t	count = get_count(r, 4);
	const char **s;

	*n = 0;
	if (count == 0)
		return NULL;
	if ((s = own(w, count * sizeof(char *), err)) == NULL)
		return NULL;
	for (uint32_t i = 0; i < count; i++)
		if ((s[i] = lm_wire_get_str(r, NULL)) == NULL)
			r->bad = true;
	*n = (int) count;
	return s;
}

int
lm_wire_get_request(LmWireReader *r, LmWireRequest *w, LmError *err)
{
	LmRunRequest *req = &w->req;
	LmGenerateRequest *g = &req->generate;
	LmTranslateRequest *t = &req->translate;
	uint32_t	n_examples;
	uint32_t	n_stop_ids;

	memset(w, 0, sizeof(*w));
	req->op = (LmRunOp) lm_wire_get_u32(r);
	if ((unsigned) req->op >= LM_RUN_N_OPS)
		r->bad = true;
	if (get_input(r, w, &req->input, err) != 0 || get_input(r, w, &req->input2, err) != 0)
		goto fail;
	req->k = lm_wire_get_i32(r);
	req->labels = get_strings(r, w, &req->n_labels, err);
	if (req->labels == NULL && err->code != LM_OK)
		goto fail;
	req->template = lm_wire_get_str(r, NULL);
	n_examples = get_count(r, 8);
	if (n_examples > 0)
	{
		LmExample  *ex = own(w, n_examples * sizeof(LmExample), err);

		if (ex == NULL)
			goto fail;
		for (uint32_t i = 0; i < n_examples; i++)
		{
			ex[i].text = lm_wire_get_str(r, NULL);
			ex[i].label = lm_wire_get_str(r, NULL);
			if (ex[i].text == NULL || ex[i].label == NULL)
				r->bad = true;
		}
		req->examples = ex;
		req->n_examples = (int) n_examples;
	}
	g->max_tokens = lm_wire_get_i32(r);
	g->sampling.temperature = lm_wire_get_f64(r);
	g->sampling.top_k = lm_wire_get_i32(r);
	g->sampling.top_p = lm_wire_get_f64(r);
	g->sampling.seed = lm_wire_get_u64(r);
	g->stops = get_strings(r, w, &g->n_stops, err);
	if (g->stops == NULL && err->code != LM_OK)
		goto fail;
	n_stop_ids = get_count(r, 4);
	if (n_stop_ids > 0)
	{
		int32_t    *ids = own(w, n_stop_ids * sizeof(int32_t), err);

		if (ids == NULL)
			goto fail;
		for (uint32_t i = 0; i < n_stop_ids; i++)
			ids[i] = lm_wire_get_i32(r);
		g->stop_ids = ids;
		g->n_stop_ids = (int) n_stop_ids;
	}
	g->chat_prompt = lm_wire_get_u8(r) != 0;
	t->source_lang = lm_wire_get_str(r, NULL);
	t->target_lang = lm_wire_get_str(r, NULL);
	t->beams = lm_wire_get_i32(r);
	t->max_tokens = lm_wire_get_i32(r);
	t->has_length_penalty = lm_wire_get_u8(r) != 0;
	t->length_penalty = lm_wire_get_f64(r);
	t->early_stopping = lm_wire_get_str(r, NULL);
	if (!r->bad && r->left == 0)
		return 0;
	lm_fail(err, LM_ERR_CORRUPT, "malformed request");
fail:
	lm_wire_request_free(w);
	return -1;
}

void
lm_wire_request_free(LmWireRequest *w)
{
	for (int i = 0; i < LM_WIRE_OWNED_MAX; i++)
	{
		free(w->owned[i]);
		w->owned[i] = NULL;
	}
}

/* ---- results and errors -------------------------------------------------------- */

void
lm_wire_put_result(LmWireBuf *buf, const LmRunResult *res)
{
	lm_wire_u32(buf, (uint32_t) res->floats.n);
	for (int i = 0; i < res->floats.n; i++)
	{
		uint32_t	bits;

		memcpy(&bits, &res->floats.v[i], 4);
		lm_wire_u32(buf, bits);
	}
	lm_wire_u32(buf, (uint32_t) res->scored.n);
	for (int i = 0; i < res->scored.n; i++)
	{
		lm_wire_str(buf, res->scored.labels[i]);
		lm_wire_f64(buf, res->scored.scores[i]);
	}
	lm_wire_f64(buf, res->number);
	lm_wire_i32(buf, res->count);
	lm_wire_u8(buf, res->defined);
	lm_wire_str(buf, res->text);
}

int
lm_wire_get_result(LmWireReader *r, LmRunResult *out, LmError *err)
{
	uint32_t	n;
	const char *text;
	size_t		text_len;

	memset(out, 0, sizeof(*out));
	n = get_count(r, 4);
	if (n > 0)
	{
		if ((out->floats.v = lm_malloc(n * sizeof(float), err)) == NULL)
			goto fail;
		out->floats.n = (int) n;
		for (uint32_t i = 0; i < n; i++)
		{
			uint32_t	bits = lm_wire_get_u32(r);

			memcpy(&out->floats.v[i], &bits, 4);
		}
	}
	n = get_count(r, 13);
	if (n > 0)
	{
		out->scored.labels = lm_calloc(n, sizeof(char *), err);
		out->scored.scores = lm_calloc(n, sizeof(double), err);
		if (out->scored.labels == NULL || out->scored.scores == NULL)
			goto fail;
		out->scored.n = (int) n;
		for (uint32_t i = 0; i < n; i++)
		{
			size_t		len;
			const char *label = lm_wire_get_str(r, &len);

			if (label == NULL)
			{
				r->bad = true;
				break;
			}
			if ((out->scored.labels[i] = lm_strndup(label, len, err)) == NULL)
				goto fail;
			out->scored.scores[i] = lm_wire_get_f64(r);
		}
	}
	out->number = lm_wire_get_f64(r);
	out->count = lm_wire_get_i32(r);
	out->defined = lm_wire_get_u8(r) != 0;
	text = lm_wire_get_str(r, &text_len);
	if (text != NULL && (out->text = lm_strndup(text, text_len, err)) == NULL)
		goto fail;
	if (!r->bad && r->left == 0)
		return 0;
	lm_fail(err, LM_ERR_CORRUPT, "malformed reply from the model server");
fail:
	lm_run_result_free(out);
	return -1;
}

void
lm_wire_put_error(LmWireBuf *buf, const LmError *e)
{
	lm_wire_u32(buf, (uint32_t) e->code);
	lm_wire_str(buf, e->message);
	lm_wire_str(buf, e->hint);
}

void
lm_wire_get_error(LmWireReader *r, LmError *e)
{
	LmErrorCode code = (LmErrorCode) lm_wire_get_u32(r);
	const char *message = lm_wire_get_str(r, NULL);
	const char *hint = lm_wire_get_str(r, NULL);

	if (r->bad || message == NULL || code == LM_OK || code > LM_ERR_INTERNAL)
	{
		lm_fail(e, LM_ERR_INTERNAL, "malformed error reply from the model server");
		return;
	}
	lm_fail(e, code, "%s", message);
	if (hint != NULL && hint[0] != '\0')
		lm_hint(e, "%s", hint);
}

/* ---- loading a model ------------------------------------------------------------ */

void
lm_wire_put_load(LmWireBuf *buf, const LmWireLoad *load)
{
	lm_wire_put_ref(buf, &load->ref);
	lm_wire_str(buf, load->weights_path);
	lm_wire_str(buf, load->desc.name);
	lm_wire_str(buf, load->desc.architecture);
	lm_wire_str(buf, load->desc.config);
	lm_wire_str(buf, load->desc.generation_config);
	lm_wire_str(buf, load->desc.pooling);
	lm_wire_u8(buf, load->desc.normalize);
	lm_wire_u8(buf, (uint8_t) load->tokenizer_format);
	if (load->tokenizer_format != LM_TOKENIZER_NONE)
		lm_wire_bytes(buf, load->tokenizer, load->tokenizer_len);
}

int
lm_wire_get_load(LmWireReader *r, LmWireLoad *out, LmError *err)
{
	memset(out, 0, sizeof(*out));
	lm_wire_get_ref(r, &out->ref);
	out->weights_path = lm_wire_get_str(r, NULL);
	out->desc.name = lm_wire_get_str(r, NULL);
	out->desc.architecture = lm_wire_get_str(r, NULL);
	out->desc.config = lm_wire_get_str(r, NULL);
	out->desc.generation_config = lm_wire_get_str(r, NULL);
	out->desc.pooling = lm_wire_get_str(r, NULL);
	out->desc.normalize = lm_wire_get_u8(r) != 0;
	out->tokenizer_format = (LmTokenizerFormat) lm_wire_get_u8(r);
	if (out->tokenizer_format > LM_TOKENIZER_SPM)
		r->bad = true;
	else if (out->tokenizer_format != LM_TOKENIZER_NONE)
		out->tokenizer = lm_wire_get_str(r, &out->tokenizer_len);
	if (r->bad || r->left != 0 || out->weights_path == NULL || out->desc.name == NULL ||
		out->desc.architecture == NULL ||
		(out->tokenizer_format != LM_TOKENIZER_NONE && out->tokenizer == NULL))
		return lm_fail(err, LM_ERR_CORRUPT, "malformed load message");
	return 0;
}

/* ---- blocking socket I/O ---------------------------------------------------------- */

int
lm_wire_send(int fd, const LmWireBuf *buf)
{
	size_t		done = 0;

	while (done < buf->len)
	{
		ssize_t		n = write(fd, buf->data + done, buf->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t) n;
	}
	return 0;
}

/* Read exactly len bytes; 0 at end of stream before any, -1 on error or a cut message. */

uint32_t
lm_wire_length(const uint8_t head[4])
{
	uint32_t	n = (uint32_t) head[0] | (uint32_t) head[1] << 8 | (uint32_t) head[2] << 16 |
		(uint32_t) head[3] << 24;

	return n < 4 || n > LM_WIRE_MAX_MESSAGE ? 0 : n;
}


/* ---- reading ahead ------------------------------------------------------------ */

#define INBOX_MIN_BYTES 4096

/* Room for at least need bytes in all; false (errno set) when out of memory or too large. */
static bool
inbox_reserve(LmWireInbox *in, size_t need)
{
	uint8_t    *grown;
	size_t		cap = in->cap ? in->cap : INBOX_MIN_BYTES;

	if (need <= in->cap)
		return true;
	while (cap < need)
		cap *= 2;
	if ((grown = realloc(in->buf, cap)) == NULL)
	{
		errno = ENOMEM;
		return false;
	}
	in->buf = grown;
	in->cap = cap;
	return true;
}

/* One read() into the free part of the buffer (flags as recv's). */
static void
inbox_read(int fd, LmWireInbox *in, int flags)
{
	ssize_t		n;

	do
		n = recv(fd, in->buf + in->have, in->cap - in->have, flags);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		in->have += (size_t) n;
	else if (n == 0)
		in->eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK)
		in->error = errno;
}

bool
lm_wire_try_read(int fd, LmWireInbox *in)
{
	size_t		before = in->have;

	if (in->eof || in->error || in->have > in->used)
		return true;
	if (!inbox_reserve(in, INBOX_MIN_BYTES))
	{
		in->error = errno;
		return true;
	}
	inbox_read(fd, in, MSG_DONTWAIT);
	return in->have > before || in->eof || in->error;
}

int
lm_wire_next(int fd, LmWireInbox *in, uint8_t **payload, size_t *len)
{
	size_t		need = 4;
	uint32_t	n = 0;

	/* drop the message returned last time, keep what came after it */
	if (in->used > 0)
	{
		memmove(in->buf, in->buf + in->used, in->have - in->used);
		in->have -= in->used;
		in->used = 0;
	}
	for (;;)
	{
		if (in->have >= 4 && n == 0)
		{
			if ((n = lm_wire_length(in->buf)) == 0)
			{
				errno = EPROTO;
				return -1;
			}
			need = 4 + (size_t) n;
		}
		if (in->have >= need && n != 0)
			break;
		if (in->error)
		{
			errno = in->error;
			return -1;
		}
		if (in->eof)
		{
			if (in->have == 0)
				return 0;
			errno = EPIPE;
			return -1;
		}
		if (!inbox_reserve(in, need > INBOX_MIN_BYTES ? need : INBOX_MIN_BYTES))
			return -1;
		inbox_read(fd, in, 0);
	}
	*payload = in->buf + 4;
	*len = n;
	in->used = need;
	return 1;
}

void
lm_wire_inbox_free(LmWireInbox *in)
{
	free(in->buf);
	memset(in, 0, sizeof(*in));
}
