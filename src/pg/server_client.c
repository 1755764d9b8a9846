/*
 * server_client.c — a backend's connection to the model server.
 *
 * One connection per backend, opened on first use, to the Unix socket in
 * the data directory (the backend's working directory).  The backend sends
 * a request and waits for the reply on its latch, so a cancel,
 * statement_timeout or termination interrupts the wait at once: the
 * connection is then closed, which tells the server to drop the request,
 * and the next request opens a new one.
 */
#include "pg/pg_lm.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "portability/instr_time.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "pg/store.h"
#include "wire/wire.h"

#define SERVER_SOCKET "pg_lm/server.sock"

PG_FUNCTION_INFO_V1(pglm_server_status);

static pgsocket server_fd = PGINVALID_SOCKET;
static LmWireBuf out;

/* The latch, the postmaster and the socket, kept with the connection (one epoll set). */
static WaitEventSet *wait_set;
static int	socket_event;		/* its position in wait_set */
static int	socket_events;		/* what it waits for now */

static void
disconnect(void)
{
	if (wait_set != NULL)
		FreeWaitEventSet(wait_set);
	wait_set = NULL;
	if (server_fd != PGINVALID_SOCKET)
		close(server_fd);
	server_fd = PGINVALID_SOCKET;
}

static void
make_wait_set(void)
{
	wait_set = lm_pg_session_wait_event_set(3);
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	socket_events = WL_SOCKET_READABLE;
	socket_event = AddWaitEventToSet(wait_set, socket_events, server_fd, NULL, NULL);
}

/* Wait on the socket for events (readable or writeable), interruptibly. */
static void
wait_socket(int events)
{
	WaitEvent	event;

	if (events != socket_events)
	{
		ModifyWaitEvent(wait_set, socket_event, events, NULL);
		socket_events = events;
	}
	if (WaitEventSetWait(wait_set, -1, &event, 1, PG_WAIT_EXTENSION) == 1 &&
		(event.events & WL_LATCH_SET))
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Is an idle connection still open?  (The server may have restarted since.) */
static bool
connection_alive(void)
{
	struct pollfd pfd = {server_fd, POLLIN, 0};

	/* an idle connection has nothing to read: readable means closed */
	return poll(&pfd, 1, 0) == 0;
}

pg_noreturn static void
server_unavailable(int wait_ms)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("the pg_lm model server is not running"),
			 errdetail("No server answered on \"%s\" in the data directory within %d ms.",
					   SERVER_SOCKET, wait_ms),
			 errhint("The server log says why.  It runs when pg_lm is in shared_preload_libraries; "
					 "SET pg_lm.execution = 'backend' runs models in this session instead.")));
}

/* Connect, waiting up to pg_lm.server_wait for a server that is (re)starting. */
static void
connect_server(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), lm_guc_server_wait_ms);

	if (server_fd != PGINVALID_SOCKET && connection_alive())
		return;
	disconnect();
	strlcpy(addr.sun_path, SERVER_SOCKET, sizeof(addr.sun_path));
	for (;;)
	{
		int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			ereport(ERROR, (errcode_for_socket_access(), errmsg("could not create a socket: %m")));
		if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0)
		{
			if (!pg_set_noblock(fd))
			{
				close(fd);
				ereport(ERROR, (errcode_for_socket_access(), errmsg("could not set a socket non-blocking: %m")));
			}
			server_fd = fd;
			make_wait_set();
			return;
		}
		close(fd);
		if (GetCurrentTimestamp() >= give_up)
			server_unavailable(lm_guc_server_wait_ms);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 50,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

pg_noreturn static void
lost_server(const char *what)
{
	disconnect();
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("the pg_lm model server %s", what),
			 errhint("The server log says why; the server restarts by itself and the next query "
					 "runs on the new one.")));
}

static void
send_all(const LmWireBuf *buf)
{
	size_t		done = 0;

	while (done < buf->len)
	{
		ssize_t		n = send(server_fd, buf->data + done, buf->len - done, MSG_NOSIGNAL);

		if (n > 0)
			done += (size_t) n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			wait_socket(WL_SOCKET_WRITEABLE);
		else
			lost_server("closed the connection");
	}
}

/*
 * A short request (an embedding of a short text) is answered within a few
 * hundred microseconds: the backend polls for that long before it sleeps,
 * which saves a sleep and a wake-up on each side of every short request.
 * It does so only while replies come that fast: on a busy server the
 * polling would take a core from the work itself.
 */
#define REPLY_SPIN_US 300

static bool replies_fast = true;

/* Bytes of a reply read with its first recv(); longer ones take more. */
#define REPLY_READ_AHEAD 8192

/*
 * Read until len bytes are in buf (which has room for cap), taking
 * whatever more the socket holds; returns how many bytes buf now has.
 */
static size_t
recv_at_least(uint8 *buf, size_t have, size_t len, size_t cap)
{
	instr_time	start;
	bool		spinning = replies_fast;

	INSTR_TIME_SET_CURRENT(start);
	while (have < len)
	{
		ssize_t		n = recv(server_fd, buf + have, cap - have, 0);

		if (n > 0)
			have += (size_t) n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		{
			if (spinning)
			{
				instr_time	now;

				CHECK_FOR_INTERRUPTS();
				INSTR_TIME_SET_CURRENT(now);
				INSTR_TIME_SUBTRACT(now, start);
				spinning = INSTR_TIME_GET_MICROSEC(now) < REPLY_SPIN_US;
				replies_fast = spinning;
				continue;
			}
			wait_socket(WL_SOCKET_READABLE);
		}
		else
			lost_server("ended while running the request");
	}
	return have;
}

/*
 * Send the message in out and read the reply (palloc'd payload).  Any error
 * or interrupt on the way closes the connection: the server then drops the
 * request.
 */
static uint8 *
exchange(size_t *len)
{
	uint8	   *payload = NULL;
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_wire_end(&out, &err) != 0)
		lm_pg_raise(&err);
	connect_server();
	PG_TRY();
	{
		uint32		n;
		size_t		have;
		instr_time	sent;

		send_all(&out);
		INSTR_TIME_SET_CURRENT(sent);
		/* one recv() usually brings the whole reply */
		payload = palloc(REPLY_READ_AHEAD);
		have = recv_at_least(payload, 0, 4, REPLY_READ_AHEAD);
		if ((n = lm_wire_length(payload)) == 0)
			lost_server("sent a malformed reply");
		if (4 + (size_t) n > REPLY_READ_AHEAD)
			payload = repalloc(payload, 4 + (size_t) n);
		have = recv_at_least(payload, have, 4 + (size_t) n, Max(4 + (size_t) n, REPLY_READ_AHEAD));
		/* the server answers one request with one message */
		if (have != 4 + (size_t) n)
			lost_server("sent more than one reply");
		memmove(payload, payload + 4, n);	/* the caller pfrees it */
		*len = n;
		if (!replies_fast)
		{
			instr_time	took;

			INSTR_TIME_SET_CURRENT(took);
			INSTR_TIME_SUBTRACT(took, sent);
			replies_fast = INSTR_TIME_GET_MICROSEC(took) < REPLY_SPIN_US;
		}
	}
	PG_CATCH();
	{
		disconnect();
		PG_RE_THROW();
	}
	PG_END_TRY();
	return payload;
}

pg_noreturn static void
raise_reply_error(LmWireReader *r)
{
	LmError		err;

	lm_pg_error_init(&err);
	lm_wire_get_error(r, &err);
	lm_pg_raise(&err);
}

/* Is the model's row still there, in a snapshot taken now (READ COMMITTED sees later commits)? */
static bool
model_row_exists(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		exists;

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM _lm.model WHERE id = $1", 1, types, values, NULL, false, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	exists = SPI_processed > 0;
	lm_pg_spi_finish();
	return exists;
}

/* Send LOAD for m; false when the server could not read its weights file. */
static bool
load_model(LmStoredModel *m, LmWireModelRef *ref, bool *file_problem)
{
	LmWireLoad	load = {0};
	LmWireReader r;
	uint8	   *reply;
	size_t		len;
	LmMsgType	type;
	LmError		err;

	load.ref = *ref;
	load.weights_path = m->weights_path;
	load.desc = m->desc;
	load.tokenizer_format = lm_store_tokenizer_bytes(m, &load.tokenizer, &load.tokenizer_len);
	lm_wire_begin(&out, LM_MSG_LOAD);
	lm_wire_put_load(&out, &load);
	reply = exchange(&len);
	type = lm_wire_open(&r, reply, len);
	if (type == LM_MSG_LOADED)
		return true;
	if (type != LM_MSG_ERROR)
		lost_server("sent an unexpected reply");
	lm_pg_error_init(&err);
	lm_wire_get_error(&r, &err);
	/*
	 * The file gone again after it was written: a transaction that dropped
	 * the model committed meanwhile (its files go at commit).  Say so, as a
	 * query started after that commit would.
	 */
	if (err.code == LM_ERR_IO && *file_problem && strstr(err.message, m->weights_path) != NULL &&
		!model_row_exists(m->id))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", m->name),
				 errdetail("It was dropped while this query was using it.")));
	/* a missing or damaged weights file is written again, once */
	if ((err.code == LM_ERR_IO || err.code == LM_ERR_CORRUPT) && !*file_problem &&
		strstr(err.message, m->weights_path) != NULL)
	{
		ereport(LOG, (errmsg("pg_lm: the model server could not use the weights file of model \"%s\": %s",
							 m->name, err.message)));
		*file_problem = true;
		return false;
	}
	lm_pg_raise(&err);
}

void
lm_pg_server_run(LmStoredModel *m, const LmRunRequest *req, LmRunResult *res)
{
	LmWireModelRef ref = {MyDatabaseId, m->id, m->weights_key};
	bool		file_problem = false;

	for (int attempt = 0; attempt < 3; attempt++)
	{
		LmWireReader r;
		uint8	   *reply;
		size_t		len;
		LmError		err;

		ref.key = m->weights_key;
		lm_wire_begin(&out, LM_MSG_RUN);
		lm_wire_put_ref(&out, &ref);
		lm_wire_put_request(&out, req);
		reply = exchange(&len);
		switch (lm_wire_open(&r, reply, len))
		{
			case LM_MSG_RESULT:
				lm_pg_error_init(&err);
				if (lm_wire_get_result(&r, res, &err) != 0)
					lm_pg_raise(&err);
				pfree(reply);
				return;
			case LM_MSG_ERROR:
				raise_reply_error(&r);
			case LM_MSG_NEED_MODEL:
				pfree(reply);
				if (!load_model(m, &ref, &file_problem) &&
					!lm_pg_weights_file(m, true))
					ereport(ERROR,
							(errcode(ERRCODE_IO_ERROR),
							 errmsg("could not write the weights file of model \"%s\" for the model server", m->name),
							 errhint("SET pg_lm.execution = 'backend' runs it in this session.")));
				break;
			default:
				lost_server("sent an unexpected reply");
		}
	}
	lost_server("did not load the model");
}

/* lm_server_status(): the server's own description of itself, as JSON. */
Datum
pglm_server_status(PG_FUNCTION_ARGS)
{
	LmWireReader r;
	uint8	   *reply;
	size_t		len;
	const char *json;

	lm_wire_begin(&out, LM_MSG_STATUS);
	lm_wire_u32(&out, MyDatabaseId);
	reply = exchange(&len);
	if (lm_wire_open(&r, reply, len) != LM_MSG_STATUS_REPLY || (json = lm_wire_get_str(&r, NULL)) == NULL)
		lost_server("sent an unexpected reply");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}
