/*
 * clock.h — the server's two clocks: seconds for measuring, and deadlines
 * for the timed waits (pthread_cond_timedwait and sem_timedwait take
 * CLOCK_REALTIME).
 */
#ifndef LM_SERVER_CLOCK_H
#define LM_SERVER_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock. */
static inline double
lm_clock_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The realtime instant ns nanoseconds (less than a second) from now. */
static inline struct timespec
lm_deadline_after(long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += ns;
	if (t.tv_nsec >= 1000000000)
	{
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

#endif
