/*
 * parallel.c — the process's pool of compute threads (see parallel.h).
 */
#include "nn/parallel.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

/* The pool never grows past this; more threads than cores would only wait. */
#define MAX_WORKERS 255
/*
 * How long a worker spins for the next set before it sleeps.  Counted in
 * time, not in pause instructions: a pause takes from about ten to over a
 * hundred cycles depending on the processor, and 20,000 of them spun some
 * 350 microseconds on a Zen 5, as long as a whole small request, so that a
 * worker of a model server kept a core from the backends beside it.
 */
#define SPIN_NS 30000
/* Pauses between two looks at the clock. */
#define SPIN_CHECK_EVERY 64

static _Thread_local int call_threads = 1;
/* 0 on the calling thread; worker w is 1 + w (they take part in order) */
static _Thread_local int thread_index = 0;

int
lm_parallel_threads(void)
{
	return call_threads;
}

int
lm_parallel_set_threads(int threads)
{
	int			old = call_threads;

	call_threads = threads > 1 ? threads : 1;
	return old;
}

/* One set of jobs at a time; everything below under mu but the atomics. */
static pthread_mutex_t owner = PTHREAD_MUTEX_INITIALIZER;	/* the call using the pool */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static void (*job_fn) (void *, int);
static void *job_arg;
static int	job_count;
static int	job_next;
static int	job_helpers;		/* workers that may take part in this set */
static unsigned job_generation;
static atomic_uint published;	/* job_generation, read by spinning workers */
static atomic_int jobs_done;
static int	n_workers;
static atomic_long sets_shared;
static int	sleeping;

/* Take the next job of the current set, if any (mu held); -1 when none is left. */
static int
claim(void)
{
	return job_next < job_count ? job_next++ : -1;
}

static long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *
worker_main(void *arg)
{
	int			me = (int) (long) arg;
	unsigned	seen = 0;
	bool		helped = false;

	thread_index = me + 1;

	for (;;)
	{
		/* a worker that took part in the last set expects the next soon: it spins */
		if (helped)
		{
			long		until = now_ns() + SPIN_NS;

			for (int i = 1; atomic_load_explicit(&published, memory_order_acquire) == seen; i++)
			{
				_mm_pause();
				if (i % SPIN_CHECK_EVERY == 0 && now_ns() >= until)
					break;
			}
		}
		pthread_mutex_lock(&mu);
		while (job_generation == seen)
		{
			sleeping++;
			pthread_cond_wait(&work_cv, &mu);
			sleeping--;
		}
		seen = job_generation;
		helped = me < job_helpers;
		if (helped)
		{
			int			job;

			while ((job = claim()) >= 0)
			{
				void		(*fn) (void *, int) = job_fn;
				void	   *fn_arg = job_arg;

				pthread_mutex_unlock(&mu);
				fn(fn_arg, job);
				atomic_fetch_add_explicit(&jobs_done, 1, memory_order_release);
				pthread_mutex_lock(&mu);
			}
		}
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* Start workers up to want (mu held); as many as could be started. */
static int
ensure_workers(int want)
{
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	while (n_workers < want)
	{
		pthread_t	t;
		pthread_attr_t attr;
		int			rc;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, worker_main, (void *) (long) n_workers);
		pthread_attr_destroy(&attr);
		if (rc != 0)
			break;
		n_workers++;
	}
	return n_workers;
}

void
lm_parallel_run(int n_jobs, void (*fn) (void *arg, int job), void *arg)
{
	int			helpers = call_threads - 1;
	int			job;

	if (n_jobs <= 0)
		return;
	if (helpers <= 0 || n_jobs == 1 || pthread_mutex_trylock(&owner) != 0)
	{
		for (int j = 0; j < n_jobs; j++)
			fn(arg, j);
		return;
	}
	pthread_mutex_lock(&mu);
	helpers = ensure_workers(helpers < n_jobs - 1 ? helpers : n_jobs - 1);
	job_fn = fn;
	job_arg = arg;
	job_count = n_jobs;
	job_next = 0;
	job_helpers = helpers;
	atomic_store_explicit(&jobs_done, 0, memory_order_relaxed);
	job_generation++;
	atomic_fetch_add_explicit(&sets_shared, 1, memory_order_relaxed);
	atomic_store_explicit(&published, job_generation, memory_order_release);
	if (sleeping > 0)
		pthread_cond_broadcast(&work_cv);
	while ((job = claim()) >= 0)
	{
		pthread_mutex_unlock(&mu);
		fn(arg, job);
		atomic_fetch_add_explicit(&jobs_done, 1, memory_order_release);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	/* the workers' last jobs */
	while (atomic_load_explicit(&jobs_done, memory_order_acquire) < n_jobs)
		_mm_pause();
	pthread_mutex_unlock(&owner);
}

int
lm_parallel_thread_index(void)
{
	return thread_index;
}

long
lm_parallel_sets_shared(void)
{
	return atomic_load(&sets_shared);
}

typedef struct Ranges
{
	void		(*fn) (void *arg, long start, long n);
	void	   *arg;
	long		count;
	long		per;
} Ranges;

static void
range_job(void *arg, int job)
{
	const Ranges *r = arg;
	long		start = job * r->per;

	r->fn(r->arg, start, r->count - start < r->per ? r->count - start : r->per);
}

void
lm_parallel_ranges(long count, long align, long min_count,
				   void (*fn) (void *arg, long start, long n), void *arg)
{
	Ranges		r = {fn, arg, count, 0};

	if (call_threads <= 1 || count < min_count)
	{
		fn(arg, 0, count);
		return;
	}
	r.per = ((count + call_threads - 1) / call_threads + align - 1) / align * align;
	lm_parallel_run((int) ((count + r.per - 1) / r.per), range_job, &r);
}
