/*
 * batch.c — encoder requests of one model run together (see batch.h).
 */
#include "server/batch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/parallel.h"
#include "server/clock.h"

/* How long a batch waits for the requests of concurrent sessions. */
#define BATCH_WAIT_NS (1000 * 1000)
/* How often a queued request looks whether its session hung up. */
#define QUEUE_CHECK_NS (20 * 1000 * 1000)

struct LmBatchJob
{
	const LmInput *input;
	int			k;				/* classification: how many classes */
	bool		perplexity;		/* score: the perplexity rather than Σ log p */
	LmFloats	out;			/* embedding */
	LmScored	scored;			/* classification */
	double		number;			/* score, perplexity */
	int			count;			/* score: tokens scored */
	LmError		err;
	int			rc;
	bool		taken;			/* in a running batch */
	bool		done;
	LmBatchJob *next;
};

void
lm_batch_queue_init(LmBatchQueue *q, LmBatchKind kind)
{
	memset(q, 0, sizeof(*q));
	q->kind = kind;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->arrived, NULL);
}

void
lm_batch_queue_destroy(LmBatchQueue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->arrived);
}

static void
remove_job(LmBatchQueue *q, LmBatchJob *job)
{
	LmBatchJob **p = &q->head;

	while (*p != NULL && *p != job)
		p = &(*p)->next;
	if (*p == NULL)
		return;
	*p = job->next;
	if (q->tail == job)
	{
		q->tail = NULL;
		for (LmBatchJob *j = q->head; j != NULL; j = j->next)
			q->tail = j;
	}
}

/*
 * Run n inputs: alone, a batch of one is what the backend would run;
 * several go through the batch task.  -1 only when the batch as a whole
 * failed (err); otherwise each job has its result or its own error.
 */
static int
run_jobs(LmBatchKind kind, const LmTaskModel *m, LmBatchJob **jobs, int n, LmError *errs,
		 LmError *err)
{
	LmInput		inputs[256];
	LmFloats	outs[256];
	LmScored	scored[256];
	int			ks[256];
	bool		perplexity[256];
	double		numbers[256];
	int			counts[256];
	int			rc = 0;

	for (int i = 0; i < n; i++)
	{
		inputs[i] = *jobs[i]->input;
		ks[i] = jobs[i]->k;
		perplexity[i] = jobs[i]->perplexity;
		memset(&outs[i], 0, sizeof(outs[i]));
		memset(&scored[i], 0, sizeof(scored[i]));
		numbers[i] = 0;
		counts[i] = 0;
	}
	switch (kind)
	{
		/*
		 * One request too: the batched runs reuse the state the model keeps
		 * (a fresh one per request costs page faults in every call).
		 */
		case LM_BATCH_EMBED:
			rc = lm_task_embed_batch(m, inputs, n, outs, errs, err);
			break;
		case LM_BATCH_CLASSIFY:
			rc = lm_task_classify_batch(m, inputs, ks, n, scored, errs, err);
			break;
		case LM_BATCH_SCORE:
			if (n == 1 && perplexity[0])
				lm_task_perplexity(m, &inputs[0], &numbers[0], &errs[0]);
			else if (n == 1)
				lm_task_score(m, &inputs[0], &numbers[0], &counts[0], &errs[0]);
			else
				rc = lm_task_score_batch(m, inputs, perplexity, n, numbers, counts, errs, err);
			break;
	}
	for (int i = 0; i < n; i++)
	{
		jobs[i]->out = outs[i];
		jobs[i]->scored = scored[i];
		jobs[i]->number = numbers[i];
		jobs[i]->count = counts[i];
	}
	return rc;
}

/* Lead one batch: the first max_batch queued jobs (mu held on entry and exit). */
static void
lead_batch(LmBatchQueue *q, const LmTaskModel *m, const LmBatchHooks *hooks)
{
	LmBatchJob *jobs[256];
	LmError		errs[256];
	LmError		err;
	int			n = 0;
	int			limit = hooks->max_batch < 256 ? hooks->max_batch : 256;
	int			threads;
	int			rc;

	/* concurrent sessions: give their next requests a moment to arrive */
	if (q->last_size > 1 && q->queued < q->last_size && q->queued < limit)
	{
		struct timespec until = lm_deadline_after(BATCH_WAIT_NS);

		q->leading = true;
		q->gathering = true;
		while (q->queued < q->last_size && q->queued < limit &&
			   pthread_cond_timedwait(&q->arrived, &q->mu, &until) == 0)
			;
		q->gathering = false;
	}
	while (q->head != NULL && n < limit)
	{
		LmBatchJob *job = q->head;

		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
		job->taken = true;
		q->queued--;
		jobs[n++] = job;
	}
	q->leading = true;
	q->last_size = n;
	q->batches++;
	q->items += n;
	pthread_mutex_unlock(&q->mu);

	threads = hooks->take_slots(hooks->arg);
	lm_parallel_set_threads(threads);
	for (int i = 0; i < n; i++)
		lm_error_init(&errs[i], NULL);
	lm_error_init(&err, NULL);
	rc = run_jobs(q->kind, m, jobs, n, errs, &err);
	lm_parallel_set_threads(1);
	hooks->give_slots(threads);

	pthread_mutex_lock(&q->mu);
	for (int i = 0; i < n; i++)
	{
		LmBatchJob *job = jobs[i];

		if (rc != 0)
		{
			job->err = err;
			job->rc = -1;
		}
		else if (errs[i].code != LM_OK)
		{
			/* an input that failed has nothing else */
			lm_floats_free(&job->out);
			lm_scored_free(&job->scored);
			job->err = errs[i];
			job->rc = -1;
		}
		else
			job->rc = 0;
		job->done = true;
	}
	q->leading = false;
	pthread_cond_broadcast(&q->cv);
}

/* Queue job, lead batches until it is done or wait for the ones that others lead. */
static int
submit(LmBatchQueue *q, const LmTaskModel *m, LmBatchJob *job, const LmBatchHooks *hooks,
	   LmError *err)
{
	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->queued++;

	/*
	 * Only a gathering leader waits for arrivals; the sessions whose jobs
	 * are queued or running wait for the end of a batch (cv), and waking
	 * them at every arrival would cost each a futile wake-up.
	 */
	if (q->gathering)
		pthread_cond_signal(&q->arrived);
	while (!job->done)
	{
		if (!q->leading)
		{
			lead_batch(q, m, hooks);
			continue;
		}
		{
			struct timespec until = lm_deadline_after(QUEUE_CHECK_NS);

			pthread_cond_timedwait(&q->cv, &q->mu, &until);
		}
		/* a request still queued whose session hung up leaves the queue */
		if (!job->taken && !job->done && hooks->cancelled(hooks->arg))
		{
			remove_job(q, job);
			q->queued--;
			pthread_mutex_unlock(&q->mu);
			return lm_fail(err, LM_ERR_CANCELLED, "cancelled");
		}
	}
	pthread_mutex_unlock(&q->mu);
	if (job->rc != 0)
	{
		const LmCall *call = err->call;

		*err = job->err;
		err->call = call;
	}
	return job->rc;
}

int
lm_batch_embed(LmBatchQueue *q, const LmTaskModel *m, const LmInput *input,
			   const LmBatchHooks *hooks, LmFloats *out, LmError *err)
{
	LmBatchJob	job = {input};
	int			rc = submit(q, m, &job, hooks, err);

	*out = job.out;
	return rc;
}

int
lm_batch_score(LmBatchQueue *q, const LmTaskModel *m, const LmInput *input, bool perplexity,
			   const LmBatchHooks *hooks, double *number, int *count, LmError *err)
{
	LmBatchJob	job = {input, 0, perplexity};
	int			rc = submit(q, m, &job, hooks, err);

	*number = job.number;
	*count = job.count;
	return rc;
}

int
lm_batch_classify(LmBatchQueue *q, const LmTaskModel *m, const LmInput *input, int k,
				  const LmBatchHooks *hooks, LmScored *out, LmError *err)
{
	LmBatchJob	job = {input, k};
	int			rc = submit(q, m, &job, hooks, err);

	*out = job.scored;
	return rc;
}

/* ---- generation ------------------------------------------------------------ */

struct LmGenJob
{
	const LmTaskModel *m;
	const LmInput *prompt;
	const LmGenerateRequest *req;
	bool		started;
	char	   *text;			/* an answer that needed no decoding */
	LmTaskGeneration *g;
	LmError		err;			/* with the session's call: its hang-up cancels */
	int			rc;
	bool		done;
	LmGenJob   *next;
};

void
lm_gen_queue_init(LmGenQueue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

int
lm_gen_queue_length(const LmGenQueue *q)
{
	int			n = 0;

	for (const LmGenJob *j = q->head; j != NULL; j = j->next)
		n++;
	return n;
}

void
lm_gen_queue_destroy(LmGenQueue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

/*
 * One step (mu held on entry and exit): every running generation picks its
 * next token, and those that go on are fed together.
 */
static void
step(LmGenQueue *q, const LmBatchHooks *hooks)
{
	LmGenJob   *jobs[256];
	LmTaskGeneration *feed[256];
	LmGenJob   *fed[256];
	int			rcs[256];
	bool		ended[256];
	int			limit = hooks->max_batch < 256 ? hooks->max_batch : 256;
	int			n = 0,
				n_feed = 0;
	int			threads;
	double		t0;
	LmError		err;

	for (LmGenJob *j = q->head; j != NULL && n < limit; j = j->next)
		jobs[n++] = j;
	pthread_mutex_unlock(&q->mu);

	t0 = lm_clock_seconds();
	threads = hooks->take_slots(hooks->arg);
	lm_parallel_set_threads(threads);
	for (int i = 0; i < n; i++)
	{
		int			rc;

		/* a newcomer: its prompt first */
		if (!jobs[i]->started)
		{
			jobs[i]->started = true;
			if (lm_task_generation_start(jobs[i]->m, jobs[i]->prompt, jobs[i]->req, &jobs[i]->g,
										 &jobs[i]->text, &jobs[i]->err) != 0 || jobs[i]->g == NULL)
			{
				rcs[i] = jobs[i]->g == NULL && jobs[i]->text != NULL ? 0 : -1;
				ended[i] = true;
				continue;
			}
		}
		rc = lm_task_generation_pick(jobs[i]->g, &jobs[i]->err);

		rcs[i] = rc > 0 ? 0 : -1;
		ended[i] = rc != 0;
		if (rc == 0)
		{
			fed[n_feed] = jobs[i];
			feed[n_feed++] = jobs[i]->g;
		}
	}
	lm_error_init(&err, NULL);
	if (n_feed > 0 && lm_task_generations_feed(feed, n_feed, &err) != 0)
		for (int i = 0; i < n_feed; i++)
		{
			LmError    *e = &fed[i]->err;
			const LmCall *call = e->call;

			*e = err;
			e->call = call;
		}
	else
		n_feed = 0;
	lm_parallel_set_threads(1);
	hooks->give_slots(threads);

	pthread_mutex_lock(&q->mu);
	for (int i = 0; i < n; i++)
		if (ended[i])
		{
			jobs[i]->rc = rcs[i];
			jobs[i]->done = true;
		}
	/* a failed step fails the generations it fed */
	for (int i = 0; i < n_feed; i++)
	{
		fed[i]->rc = -1;
		fed[i]->done = true;
	}
	q->steps++;
	q->tokens += n;
	q->seconds += lm_clock_seconds() - t0;
	for (LmGenJob **p = &q->head; *p != NULL;)
		if ((*p)->done)
			*p = (*p)->next;
		else
			p = &(*p)->next;
	pthread_cond_broadcast(&q->cv);
}

int
lm_batch_generate(LmGenQueue *q, const LmTaskModel *m, const LmInput *prompt,
				  const LmGenerateRequest *req, const LmBatchHooks *hooks,
				  const LmCall *call, char **text_out, LmError *err)
{
	LmGenJob	job = {m, prompt, req};
	LmGenJob  **tail;

	lm_error_init(&job.err, call);
	pthread_mutex_lock(&q->mu);
	for (tail = &q->head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = &job;
	while (!job.done)
	{
		if (!q->leading)
		{
			/* lead until this generation ends, then hand the lead on */
			q->leading = true;
			while (!job.done)
				step(q, hooks);
			q->leading = false;
			pthread_cond_broadcast(&q->cv);
			break;
		}
		pthread_cond_wait(&q->cv, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	*text_out = NULL;
	if (job.rc == 0 && job.g != NULL)
		job.rc = lm_task_generation_finish(job.g, text_out, &job.err);
	else if (job.rc == 0)
		*text_out = job.text;
	lm_task_generation_free(job.g);
	if (job.rc != 0)
	{
		free(job.text);
		*err = job.err;
		err->call = call;
	}
	return job.rc;
}
