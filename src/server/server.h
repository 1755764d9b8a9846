/*
 * server.h — pg_lm_server, the model server a PostgreSQL cluster's
 * supervising background worker starts (src/pg/supervisor.c).
 *
 * It runs in the data directory as the cluster's OS user, outside
 * PostgreSQL's shared memory: a crash here is not a crash of the cluster.
 * It listens on a Unix socket there, serves connections of its own OS user
 * only, and exits when its parent (the supervisor) goes away.
 */
#ifndef LM_SERVER_SERVER_H
#define LM_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct LmServerOptions
{
	const char *data_dir;
	const char *socket_path;	/* relative to the data directory */
	int			threads;		/* compute threads */
	int			max_batch;		/* encoder requests run together at most */
	size_t		memory_limit;	/* bytes of loaded models */
	int			restarts;		/* how many servers the supervisor started before this one */
	bool		crash_test;		/* a generate prompt "pg_lm-crash-test" raises SIGSEGV */
	const char *device;			/* --device: "cuda", "reference" or NULL (the CPU) */
	const char *device_module;	/* --device-module: pg_lm_cuda.so's path */
	const char *device_description; /* the device opened, or "cpu" (the status says it) */
} LmServerOptions;

void		lm_session_init(const LmServerOptions *opts);

/* Serve a connected backend on a thread of its own (which closes fd). */
int			lm_session_start(int fd);

#endif
