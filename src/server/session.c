/*
 * session.c — one thread per backend connection: read a request, run it on
 * a compute slot, write the reply.
 *
 * A backend that gives up on a request (a cancel, statement_timeout, its
 * exit) closes the connection.  The running task asks call_cancelled
 * between tokens and layers, which sees the connection readable (end of
 * stream) and stops it; nothing is written back.
 */
#include "server/server.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/matrix.h"
#include "nn/parallel.h"
#include "server/clock.h"
#include "server/served.h"

typedef struct Session
{
	int			fd;
	double		last_check;		/* when call_cancelled last looked */
	bool		gone;
	LmWireBuf	out;
} Session;

static sem_t compute_slots;
static atomic_int slot_waiters;	/* sessions waiting in take_slot */
static const LmServerOptions *options;
static atomic_long n_sessions;
static atomic_long n_requests;
static time_t started;

void
lm_session_init(const LmServerOptions *opts)
{
	options = opts;
	sem_init(&compute_slots, 0, opts->threads);
	started = time(NULL);
}

/* Has the backend hung up?  Looked at most once a millisecond. */
static int
call_cancelled(void *arg)
{
	Session    *s = arg;
	struct pollfd pfd = {s->fd, POLLIN, 0};

	if (s->gone)
		return 1;
	if (lm_clock_seconds() - s->last_check < 0.001)
		return 0;
	s->last_check = lm_clock_seconds();
	/* a backend sends nothing while it waits: anything readable is its hang-up */
	if (poll(&pfd, 1, 0) > 0)
		s->gone = true;
	return s->gone;
}

static int
reply_error(Session *s, const LmError *err)
{
	lm_wire_begin(&s->out, LM_MSG_ERROR);
	lm_wire_put_error(&s->out, err);
	if (lm_wire_end(&s->out, NULL) != 0)
		return -1;
	return lm_wire_send(s->fd, &s->out);
}

static int
reply_empty(Session *s, LmMsgType type)
{
	lm_wire_begin(&s->out, type);
	lm_wire_end(&s->out, NULL);
	return lm_wire_send(s->fd, &s->out);
}

static bool take_slot(Session *s);

/*
 * pg_lm.threads compute slots, one per thread that computes.  A request
 * waits for one and takes as many more as are free: a request alone uses
 * every thread, requests at once share them, and no more threads compute
 * than the setting allows.
 */

/* With one slot held, take the free ones too; returns how many are held. */
static int
take_free_slots(void)
{
	int			taken;

	for (taken = 1; taken < options->threads && sem_trywait(&compute_slots) == 0; taken++)
		;
	return taken;
}

/* Slots for a request; 0 when the backend hung up while it waited. */
static int
take_slots(Session *s)
{
	return take_slot(s) ? take_free_slots() : 0;
}

static void
give_slots(int taken)
{
	while (taken-- > 0)
		sem_post(&compute_slots);
}

/* Wait for a compute slot; false when the backend hung up meanwhile. */
static bool
take_slot(Session *s)
{
	bool		ok = false;

	atomic_fetch_add(&slot_waiters, 1);
	for (;;)
	{
		struct timespec until = lm_deadline_after(20 * 1000 * 1000);

		if (sem_timedwait(&compute_slots, &until) == 0)
		{
			ok = true;
			break;
		}
		s->last_check = 0;
		if (call_cancelled(s))
			break;
	}
	atomic_fetch_sub(&slot_waiters, 1);
	return ok;
}

/*
 * The batch queue a request goes through, or NULL: embeddings,
 * classifications and scores of transformers.
 */
static LmBatchQueue *
batch_queue(LmServed *served, const LmRunRequest *req)
{
	if (options->max_batch <= 1 ||
		lm_task_model_kind(lm_served_model(served))->kind != LM_KIND_TRANSFORMER)
		return NULL;
	if (req->op == LM_RUN_EMBED)
		return lm_served_queue(served);
	if (req->op == LM_RUN_CLASSIFY)
		return lm_served_classify_queue(served);
	if (req->op == LM_RUN_SCORE || req->op == LM_RUN_PERPLEXITY)
		return lm_served_score_queue(served);
	return NULL;
}

/*
 * take_slots for a batch: no hang-up check, the batch serves other sessions
 * too.  A batch takes slots again at every step: it lets sessions that wait
 * for one go first.
 */
static int
session_take_slots(void *arg)
{
	(void) arg;
	for (int i = 0; i < 100 && atomic_load(&slot_waiters) > 0; i++)
		sched_yield();
	while (sem_wait(&compute_slots) != 0)
		;
	return take_free_slots();
}

/* A generation, decoded with the model's others (its prompt fed by the step it joins). */
static int
run_generation(Session *s, LmServed *served, const LmRunRequest *req, LmRunResult *res,
			   LmCall *call, LmError *err)
{
	LmBatchHooks hooks = {session_take_slots, give_slots, call_cancelled, s, options->max_batch};

	return lm_batch_generate(lm_served_generations(served), lm_served_model(served), &req->input,
							 &req->generate, &hooks, call, &res->text, err);
}

static int
run_request(Session *s, LmServed *served, const LmRunRequest *req, LmRunResult *res,
			LmCall *call, LmError *err)
{
	LmBatchQueue *queue;
	int			rc;

	memset(res, 0, sizeof(*res));
	if (options->crash_test && req->op == LM_RUN_GENERATE && req->input.text != NULL &&
		strstr(req->input.text, "pg_lm-crash-test") != NULL)
		raise(SIGSEGV);
	if (req->op == LM_RUN_GENERATE)
		return run_generation(s, served, req, res, call, err);
	if ((queue = batch_queue(served, req)) != NULL)
	{
		/* an encoder request of a transformer: batched with other sessions' */
		LmBatchHooks hooks = {session_take_slots, give_slots, call_cancelled, s, options->max_batch};

		if (req->op == LM_RUN_CLASSIFY)
			return lm_batch_classify(queue, lm_served_model(served), &req->input, req->k, &hooks,
									 &res->scored, err);
		if (req->op == LM_RUN_SCORE || req->op == LM_RUN_PERPLEXITY)
			return lm_batch_score(queue, lm_served_model(served), &req->input,
								  req->op == LM_RUN_PERPLEXITY, &hooks, &res->number, &res->count, err);
		return lm_batch_embed(queue, lm_served_model(served), &req->input, &hooks, &res->floats, err);
	}
	if ((call->threads = take_slots(s)) == 0)
		return lm_fail(err, LM_ERR_CANCELLED, "cancelled");
	rc = lm_run(lm_served_model(served), req, res, err);
	give_slots(call->threads);
	return rc;
}

static int
handle_run(Session *s, LmWireReader *r)
{
	LmWireModelRef ref;
	LmWireRequest w;
	LmServed   *served;
	LmCall		call = {call_cancelled, s, 1};
	LmError		err;
	LmRunResult res;
	LmPart		part;
	double		t0;
	int			rc;

	lm_error_init(&err, &call);
	lm_wire_get_ref(r, &ref);
	if (r->bad)
	{
		lm_fail(&err, LM_ERR_CORRUPT, "malformed request");
		return reply_error(s, &err);
	}
	if (lm_wire_get_request(r, &w, &err) != 0)
		return reply_error(s, &err);
	if ((served = lm_served_acquire(&ref)) == NULL)
	{
		lm_wire_request_free(&w);
		return reply_empty(s, LM_MSG_NEED_MODEL);
	}
	atomic_fetch_add(&n_requests, 1);
	rc = lm_task_next_part(lm_served_model(served), lm_run_task(w.req.op),
						   lm_run_text_input(&w.req), &part, &err);
	if (rc == 0 && part == LM_PART_TOKENIZER)
	{
		rc = lm_fail(&err, LM_ERR_UNSUPPORTED, "model \"%s\" has no tokenizer",
					 lm_task_model_name(lm_served_model(served)));
		lm_hint(&err, "Import a directory with tokenizer.json or a SentencePiece .model file.");
	}
	else if (rc == 0 && part != LM_PART_NONE)
		rc = lm_fail(&err, LM_ERR_INTERNAL, "model \"%s\" is loaded without its network",
					 lm_task_model_name(lm_served_model(served)));
	t0 = lm_clock_seconds();
	if (rc == 0)
		rc = run_request(s, served, &w.req, &res, &call, &err);
	lm_served_release(served, lm_clock_seconds() - t0, rc != 0);
	lm_wire_request_free(&w);
	if (rc != 0)
		return s->gone || err.code == LM_ERR_CANCELLED ? -1 : reply_error(s, &err);
	lm_wire_begin(&s->out, LM_MSG_RESULT);
	lm_wire_put_result(&s->out, &res);
	lm_run_result_free(&res);
	if (lm_wire_end(&s->out, &err) != 0)
	{
		lm_wire_begin(&s->out, LM_MSG_ERROR);
		lm_wire_put_error(&s->out, &err);
		lm_wire_end(&s->out, NULL);
	}
	return lm_wire_send(s->fd, &s->out);
}

static int
handle_load(Session *s, LmWireReader *r)
{
	LmWireLoad	load;
	LmError		err;

	lm_error_init(&err, NULL);
	if (lm_wire_get_load(r, &load, &err) != 0 || lm_served_load(&load, &err) != 0)
		return reply_error(s, &err);
	return reply_empty(s, LM_MSG_LOADED);
}

static int
handle_status(Session *s, LmWireReader *r)
{
	uint32_t	database = lm_wire_get_u32(r);
	char	   *models = lm_served_status(database);
	json_t	   *device = json_string(options->device_description);
	char	   *device_json = device ? json_dumps(device, JSON_ENCODE_ANY) : NULL;
	char	   *text = NULL;
	int			rc;

	if (models == NULL || device_json == NULL ||
		asprintf(&text, "{\"pid\":%d,\"started\":%lld,\"restarts\":%d,\"device\":%s,"
				 "\"threads\":%d,\"memory_limit\":%zu,"
				 "\"sessions\":%ld,\"requests\":%ld,\"models\":%s}",
				 (int) getpid(), (long long) started, options->restarts, device_json, options->threads,
				 options->memory_limit,
				 atomic_load(&n_sessions), atomic_load(&n_requests), models) < 0)
		text = NULL;
	free(models);
	free(device_json);
	json_decref(device);
	lm_wire_begin(&s->out, LM_MSG_STATUS_REPLY);
	lm_wire_str(&s->out, text ? text : "{}");
	free(text);
	lm_wire_end(&s->out, NULL);
	rc = lm_wire_send(s->fd, &s->out);
	return rc;
}

/*
 * After a reply, a backend running a statement over many rows sends its
 * next request within microseconds: look for it for a little while before
 * sleeping in read(), which saves a wake-up per request.  Only while no
 * other request is running: then the polling would take a core from it.
 */
#define NEXT_REQUEST_SPIN_US 300

static atomic_int in_flight;		/* requests received and not yet answered */

static void
await_request(int fd, LmWireInbox *in)
{
	double		t0 = lm_clock_seconds();

	if (atomic_load(&in_flight) > 0)
		return;
	while (!lm_wire_try_read(fd, in) && (lm_clock_seconds() - t0) * 1e6 <= NEXT_REQUEST_SPIN_US)
		;
}

/* Matrix scratch a session's thread keeps between its requests (see session_main). */
#define SESSION_SCRATCH_BYTES (1 << 20)

static void *
session_main(void *arg)
{
	Session		s = {(int) (intptr_t) arg};
	LmWireInbox in = {0};
	uint8_t    *payload;
	size_t		len;

	atomic_fetch_add(&n_sessions, 1);
	while (lm_wire_next(s.fd, &in, &payload, &len) == 1)
	{
		LmWireReader r;
		int			rc;

		switch (lm_wire_open(&r, payload, len))
		{
			case LM_MSG_RUN:
				atomic_fetch_add(&in_flight, 1);
				rc = handle_run(&s, &r);
				atomic_fetch_sub(&in_flight, 1);
				/*
				 * This thread may not compute again soon (or ever): it keeps
				 * up to SESSION_SCRATCH_BYTES of copies for its next request
				 * (made anew, they cost a tenth of a short encoder call in
				 * page faults), and gives larger ones back.
				 */
				if (lm_matrix_scratch_held() > SESSION_SCRATCH_BYTES)
					lm_matrix_scratch_release();
				break;
			case LM_MSG_LOAD:
				rc = handle_load(&s, &r);
				break;
			case LM_MSG_STATUS:
				rc = handle_status(&s, &r);
				break;
			default:
				rc = -1;
				break;
		}
		if (rc != 0)
			break;
		await_request(s.fd, &in);
	}
	atomic_fetch_sub(&n_sessions, 1);
	lm_matrix_scratch_release();
	close(s.fd);
	lm_wire_inbox_free(&in);
	lm_wire_buf_free(&s.out);
	return NULL;
}

int
lm_session_start(int fd)
{
	pthread_t	thread;
	pthread_attr_t attr;
	int			rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thread, &attr, session_main, (void *) (intptr_t) fd);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}
