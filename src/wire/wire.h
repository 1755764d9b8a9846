/*
 * wire.h — the model server's protocol: messages between a backend and the
 * server over a Unix stream socket.
 *
 * A message is a 4-byte length (little-endian, of what follows) and a
 * payload that starts with its type.  Inside, numbers are little-endian
 * fixed-width integers and IEEE doubles; a string is a 4-byte length
 * (0xFFFFFFFF for NULL), its bytes and a NUL, so a decoded string points
 * into the message as it is.  A backend sends one request and reads its
 * one reply before the next; the server answers in order.  To abandon a
 * request (a cancel, a timeout) the backend closes the connection, and the
 * server stops the task at its next check.
 *
 *   backend                                  server
 *   RUN   db, model id, key, LmRunRequest  ->  RESULT LmRunResult
 *                                              | ERROR code, message, hint
 *                                              | NEED_MODEL (send LOAD, then RUN again)
 *   LOAD  db, model id, key, weights path,
 *         description, tokenizer           ->  LOADED | ERROR
 *   STATUS                                 ->  STATUS_REPLY JSON text
 *   CRASH (test builds of the server only) ->  the server dies of SIGSEGV
 */
#ifndef LM_WIRE_H
#define LM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tasks/run.h"

/* Messages larger than this are refused (a text of 100 MB is past every model). */
#define LM_WIRE_MAX_MESSAGE (256u * 1024 * 1024)

typedef enum LmMsgType
{
	LM_MSG_RUN = 1,
	LM_MSG_LOAD,
	LM_MSG_STATUS,
	LM_MSG_CRASH,
	LM_MSG_RESULT = 100,
	LM_MSG_ERROR,
	LM_MSG_NEED_MODEL,
	LM_MSG_LOADED,
	LM_MSG_STATUS_REPLY
} LmMsgType;

/* ---- building a message --------------------------------------------------- */

typedef struct LmWireBuf
{
	uint8_t    *data;			/* 4 bytes of length, then the payload */
	size_t		len;
	size_t		cap;
	bool		failed;			/* out of memory: the message is unusable */
} LmWireBuf;

/* Start a message of type (resets buf; keeps its memory). */
void		lm_wire_begin(LmWireBuf *buf, LmMsgType type);
void		lm_wire_u8(LmWireBuf *buf, uint8_t v);
void		lm_wire_u32(LmWireBuf *buf, uint32_t v);
void		lm_wire_i32(LmWireBuf *buf, int32_t v);
void		lm_wire_u64(LmWireBuf *buf, uint64_t v);
void		lm_wire_f64(LmWireBuf *buf, double v);
void		lm_wire_bytes(LmWireBuf *buf, const void *p, size_t len);
void		lm_wire_str(LmWireBuf *buf, const char *s);	/* NULL allowed */

/* Set the length prefix; -1 (and err) when the buffer failed or is too large. */
int			lm_wire_end(LmWireBuf *buf, LmError *err);
void		lm_wire_buf_free(LmWireBuf *buf);

/* ---- reading a message ------------------------------------------------------ */

typedef struct LmWireReader
{
	const uint8_t *p;
	size_t		left;
	bool		bad;			/* read past the end or a malformed field */
} LmWireReader;

/* A reader over a payload (without its length prefix); its type read. */
LmMsgType	lm_wire_open(LmWireReader *r, const void *payload, size_t len);
uint8_t		lm_wire_get_u8(LmWireReader *r);
uint32_t	lm_wire_get_u32(LmWireReader *r);
int32_t		lm_wire_get_i32(LmWireReader *r);
uint64_t	lm_wire_get_u64(LmWireReader *r);
double		lm_wire_get_f64(LmWireReader *r);
/* A string or bytes field: points into the payload (NUL after it); NULL for NULL. */
const char *lm_wire_get_str(LmWireReader *r, size_t *len);

/* ---- the messages ------------------------------------------------------------- */

/* Which model: the database, the model's id and its weights file key. */
typedef struct LmWireModelRef
{
	uint32_t	database;
	int64_t		model_id;
	const char *key;
} LmWireModelRef;

void		lm_wire_put_ref(LmWireBuf *buf, const LmWireModelRef *ref);
void		lm_wire_get_ref(LmWireReader *r, LmWireModelRef *ref);

void		lm_wire_put_request(LmWireBuf *buf, const LmRunRequest *req);

/* A decoded request: points into the payload and into the arrays it owns
 * (token ids of two inputs, labels, examples, stop strings, stop ids). */
#define LM_WIRE_OWNED_MAX 6
typedef struct LmWireRequest
{
	LmRunRequest req;
	void	   *owned[LM_WIRE_OWNED_MAX];
} LmWireRequest;

int			lm_wire_get_request(LmWireReader *r, LmWireRequest *out, LmError *err);
void		lm_wire_request_free(LmWireRequest *w);

void		lm_wire_put_result(LmWireBuf *buf, const LmRunResult *res);
/* The result in malloc'd buffers, as lm_run gives it (lm_run_result_free). */
int			lm_wire_get_result(LmWireReader *r, LmRunResult *out, LmError *err);

void		lm_wire_put_error(LmWireBuf *buf, const LmError *e);
void		lm_wire_get_error(LmWireReader *r, LmError *e);

/* How the tokenizer travels in LOAD. */
typedef enum LmTokenizerFormat
{
	LM_TOKENIZER_NONE = 0,
	LM_TOKENIZER_JSON,			/* tokenizer.json */
	LM_TOKENIZER_SPM			/* a SentencePiece .model file */
} LmTokenizerFormat;

typedef struct LmWireLoad
{
	LmWireModelRef ref;
	const char *weights_path;	/* relative to the data directory */
	LmModelDesc desc;
	LmTokenizerFormat tokenizer_format;
	const char *tokenizer;
	size_t		tokenizer_len;
} LmWireLoad;

void		lm_wire_put_load(LmWireBuf *buf, const LmWireLoad *load);
int			lm_wire_get_load(LmWireReader *r, LmWireLoad *out, LmError *err);

/*
 * The payload length a message's first four bytes give; 0 when it is
 * outside 4 .. LM_WIRE_MAX_MESSAGE (a type at least, and not too large).
 */
uint32_t	lm_wire_length(const uint8_t head[4]);

/* ---- whole messages on a blocking socket (the server's side) ------------------ */

/* Write all of buf; -1 with errno on failure. */
int			lm_wire_send(int fd, const LmWireBuf *buf);

/*
 * Messages are read ahead: bytes come in as large reads into an inbox, so
 * that a short message costs one read() rather than one for its length
 * and one for the rest.
 */
typedef struct LmWireInbox
{
	uint8_t    *buf;
	size_t		cap;
	size_t		have;			/* bytes in buf */
	size_t		used;			/* bytes of the message last returned */
	bool		eof;			/* the peer closed after the bytes in buf */
	int			error;			/* errno of a failed read after them, or 0 */
} LmWireInbox;

/*
 * The next message from a blocking socket: *payload (inside the inbox,
 * valid until the next call) and its length.  1 when a message was read,
 * 0 at a clean end of stream, -1 with errno on an error, a message cut
 * short or a length over LM_WIRE_MAX_MESSAGE.
 */
int			lm_wire_next(int fd, LmWireInbox *in, uint8_t **payload, size_t *len);

/*
 * One read that does not wait: true when something came (bytes, the end
 * of the stream or an error, for lm_wire_next to return), false when the
 * socket had nothing.  For polling a socket without a poll() per try.
 */
bool		lm_wire_try_read(int fd, LmWireInbox *in);

void		lm_wire_inbox_free(LmWireInbox *in);

#endif
