/*
 * batch.h — encoder requests of one model from different sessions, run as
 * one batch.
 *
 * A session that brings an embedding, classification or scoring request
 * queues it on the model (one queue for each).  If no
 * batch of that model is running, it leads one: it takes up to max_batch
 * queued requests (its own among them), runs them through the encoder
 * together, hands every request its result and wakes their sessions; the
 * requests that arrived meanwhile form the next batch, led by one of their
 * sessions.  So a lone request runs at once, alone, and requests that come
 * while the model is busy wait only for the batch before theirs.  While
 * batches hold several requests, a new batch waits up to a millisecond for
 * as many as the last one had (their sessions are still sending them).
 */
#ifndef LM_SERVER_BATCH_H
#define LM_SERVER_BATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tasks/task.h"

typedef struct LmBatchJob LmBatchJob;

/* What a queue's requests ask for: each queue batches one kind. */
typedef enum LmBatchKind
{
	LM_BATCH_EMBED,
	LM_BATCH_CLASSIFY,
	LM_BATCH_SCORE				/* lm_score and lm_perplexity of causal LMs */
} LmBatchKind;

typedef struct LmBatchQueue
{
	LmBatchKind kind;
	pthread_mutex_t mu;
	pthread_cond_t cv;			/* a batch ended: its jobs are done, a leader is wanted */
	pthread_cond_t arrived;		/* a job was queued while the leader gathers */
	LmBatchJob *head;
	LmBatchJob *tail;
	int			leading;		/* a batch is being gathered or is running */
	int			gathering;		/* the leader waits for concurrent requests */
	int			queued;			/* requests waiting */
	int			last_size;		/* of the last batch */
	uint64_t	batches;		/* statistics, under mu */
	uint64_t	items;
} LmBatchQueue;

void		lm_batch_queue_init(LmBatchQueue *q, LmBatchKind kind);
void		lm_batch_queue_destroy(LmBatchQueue *q);

/* What a session lends the batch it leads: its compute slots, and its hang-up check. */
typedef struct LmBatchHooks
{
	int			(*take_slots) (void *arg);	/* blocks; returns the threads it may use */
	void		(*give_slots) (int taken);
	int			(*cancelled) (void *arg);
	void	   *arg;
	int			max_batch;
} LmBatchHooks;

/*
 * The embedding of input, computed in a batch with other sessions'
 * requests of the same model.  -1 with err as lm_task_embed fails, or
 * LM_ERR_CANCELLED when the session hung up before its request ran.
 */
int			lm_batch_embed(LmBatchQueue *q, const LmTaskModel *m, const LmInput *input,
						   const LmBatchHooks *hooks, LmFloats *out, LmError *err);

/* The same for scoring: Σ log p (and the tokens scored), or the perplexity. */
int			lm_batch_score(LmBatchQueue *q, const LmTaskModel *m, const LmInput *input,
						   bool perplexity, const LmBatchHooks *hooks, double *number, int *count,
						   LmError *err);

/* The same for classification: the k most likely classes, as lm_task_classify gives them. */
int			lm_batch_classify(LmBatchQueue *q, const LmTaskModel *m, const LmInput *input, int k,
							  const LmBatchHooks *hooks, LmScored *out, LmError *err);

/*
 * Generation with continuous batching: the generations of one model that
 * are running decode together, one token each per step (the weights read
 * once per step for all of them), and a generation joins or leaves between
 * two steps (the step it joins in feeds its prompt).  The session of one of them leads the steps; when its own
 * generation ends it hands the lead to another.  Each generation picks its
 * tokens with its own sampling settings, seed and stop strings, and gives
 * exactly what it gives alone.
 */
typedef struct LmGenJob LmGenJob;

typedef struct LmGenQueue
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	LmGenJob   *head;			/* the running generations, in arrival order */
	int			leading;
	uint64_t	steps;			/* statistics, under mu */
	uint64_t	tokens;
	double		seconds;
} LmGenQueue;

void		lm_gen_queue_init(LmGenQueue *q);
void		lm_gen_queue_destroy(LmGenQueue *q);

/* Generations running or about to join the next step (mu held). */
int			lm_gen_queue_length(const LmGenQueue *q);

/*
 * Generate for prompt with the model's other generations: the step that
 * takes it in feeds its prompt, the following ones decode it with the
 * others.  call is the session's context (its hang-up cancels the
 * generation); req must stay valid until this returns.  0 with *text_out
 * (malloc'd), or -1 with err.
 */
int			lm_batch_generate(LmGenQueue *q, const LmTaskModel *m, const LmInput *prompt,
							  const LmGenerateRequest *req, const LmBatchHooks *hooks,
							  const LmCall *call, char **text_out, LmError *err);

#endif
