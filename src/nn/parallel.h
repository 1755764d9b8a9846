/*
 * parallel.h — compute threads for one engine call.
 *
 * A call may use several threads (LmCall.threads; the model server gives
 * its calls pg_lm.threads, a backend one): the matrix products split their
 * outputs among them.  Each output element is computed by exactly the code
 * and in exactly the order one thread would use, so results are identical
 * bit for bit whatever the number of threads.
 *
 * The threads are one pool per process, started on first use and shared by
 * the calls running at once: a call that finds the pool busy with another
 * call's product computes its own product alone.  Idle workers spin for a
 * short while between products (a decoding step asks for dozens of them a
 * few microseconds apart) and then sleep.
 */
#ifndef LM_NN_PARALLEL_H
#define LM_NN_PARALLEL_H

/* Threads the calling thread's current engine call may use (1 unless set). */
int			lm_parallel_threads(void);

/* Set them for the calling thread (lm_run does, from its LmCall); returns the old value. */
int			lm_parallel_set_threads(int threads);

/*
 * Run fn(arg, job) for job = 0 .. n_jobs-1, on up to lm_parallel_threads()
 * threads, the caller's included; returns when all are done.
 */
void		lm_parallel_run(int n_jobs, void (*fn) (void *arg, int job), void *arg);

/*
 * Run fn(arg, start, n) over 0 .. count: alone in one range, or, with
 * several threads and at least min_count items, in one range per thread,
 * each but the last a multiple of align items.  For work whose items do
 * not depend on where the ranges are cut (rows of a norm; elements of an
 * activation cut at multiples of its vector width).
 */
void		lm_parallel_ranges(long count, long align, long min_count,
							   void (*fn) (void *arg, long start, long n), void *arg);

/*
 * Inside a job of lm_parallel_run: which of the set's threads runs it, 0
 * (the caller) to lm_parallel_threads() - 1, so that a job can use scratch
 * of that thread's own.  0 outside a set.
 */
int			lm_parallel_thread_index(void);

/* Sets of jobs that ran on more than one thread since the process started. */
long		lm_parallel_sets_shared(void);

#endif
