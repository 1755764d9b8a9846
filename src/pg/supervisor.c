/*
 * supervisor.c — the background worker that keeps the model server running.
 *
 * PostgreSQL restarts every session when any of its children dies
 * abnormally, so the model server is not one of them: this worker (a plain
 * loop that touches no model) starts the pg_lm_server program with
 * fork+exec, in a session of its own, detached from shared memory, and
 * starts it again, with back-off, whenever it exits.  The server dies with
 * this worker (PR_SET_PDEATHSIG), which dies with the postmaster.  Changing
 * pg_lm.threads, pg_lm.max_batch, pg_lm.server_memory, pg_lm.device or
 * pg_lm.server_crash_test and reloading restarts the server with the new
 * settings.  Only the server opens a device (and loads the CUDA module);
 * this worker and the backends never do.
 */
#include "pg/pg_lm.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PGDLLEXPORT void pglm_supervisor_main(Datum arg);

/* Back-off between restarts: doubles from the first to the last while the server keeps dying. */
#define RESTART_FIRST_MS 100
#define RESTART_MAX_MS 10000
/* A server that ran this long is healthy again: the back-off starts over. */
#define HEALTHY_AFTER_MS 30000

static volatile sig_atomic_t child_exited = false;

static void
handle_sigchld(SIGNAL_ARGS)
{
	int			save_errno = errno;

	child_exited = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

void
lm_supervisor_register(void)
{
	BackgroundWorker worker = {0};

	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_lm model server supervisor");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_lm supervisor");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_lm");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pglm_supervisor_main");
	RegisterBackgroundWorker(&worker);
}

/* The settings the server was started with. */
typedef struct ServerSettings
{
	int			threads;
	int			memory_mb;
	int			max_batch;
	int			device;			/* LmDeviceSetting */
	bool		crash_test;
} ServerSettings;

static ServerSettings
current_settings(void)
{
	ServerSettings s;

	/* zeroed padding too: settings are compared with memcmp */
	memset(&s, 0, sizeof(s));
	s.threads = lm_guc_threads;
	s.memory_mb = lm_guc_server_memory_mb;
	s.max_batch = lm_guc_max_batch;
	s.device = lm_guc_device;
	s.crash_test = lm_guc_server_crash_test;
	return s;
}

static pid_t
start_server(const ServerSettings *settings, int restarts)
{
	char		restarts_arg[16];
	char		bindir[MAXPGPATH];
	char		program[MAXPGPATH];
	char		threads[16];
	char		memory[16];
	char		parent[16];
	char		max_batch[16];
	char		module[MAXPGPATH];
	pid_t		pid;

	strlcpy(bindir, my_exec_path, MAXPGPATH);
	get_parent_directory(bindir);
	snprintf(program, MAXPGPATH, "%s/pg_lm_server", bindir);
	snprintf(threads, sizeof(threads), "%d", settings->threads);
	snprintf(memory, sizeof(memory), "%d", settings->memory_mb);
	snprintf(parent, sizeof(parent), "%d", (int) getpid());
	snprintf(max_batch, sizeof(max_batch), "%d", settings->max_batch);
	snprintf(restarts_arg, sizeof(restarts_arg), "%d", restarts);
	/* the CUDA module is installed beside pg_lm.so */
	snprintf(module, MAXPGPATH, "%s/pg_lm_cuda.so", pkglib_path);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
	{
		char	   *argv[20] = {program, DataDir, "--threads", threads, "--memory-mb", memory, "--max-batch", max_batch,
			"--parent", parent, "--restarts", restarts_arg};
		int			argc = 12;
		sigset_t	none;

		if (settings->device == LM_GUC_DEVICE_CUDA)
		{
			argv[argc++] = "--device";
			argv[argc++] = "cuda";
			argv[argc++] = "--device-module";
			argv[argc++] = module;
		}
		else if (settings->device == LM_GUC_DEVICE_REFERENCE)
		{
			argv[argc++] = "--device";
			argv[argc++] = "reference";
		}
		if (settings->crash_test)
			argv[argc++] = "--crash-test";
		argv[argc] = NULL;

		/* its own session: the postmaster's signals to this worker's group are not for it */
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close_range(3, ~0U, 0);
		execv(program, argv);
		fprintf(stderr, "pg_lm: could not run \"%s\": %s\n", program, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		ereport(LOG, (errmsg("pg_lm: could not start the model server: %m")));
	else
		ereport(LOG, (errmsg("pg_lm: started the model server \"%s\" (pid %d)", program, (int) pid)));
	return pid;
}

static void
log_exit(pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		ereport(LOG,
				(errmsg("pg_lm: the model server (pid %d) was terminated by signal %d: %s",
						(int) pid, WTERMSIG(status), pg_strsignal(WTERMSIG(status))),
				 errdetail("Queries running on it got an error; it is being restarted.")));
	else
		ereport(LOG,
				(errmsg("pg_lm: the model server (pid %d) exited with status %d",
						(int) pid, WEXITSTATUS(status)),
				 errdetail("It is being restarted.")));
}

static void
stop_server(pid_t pid)
{
	int			status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 50; i++)
	{
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		pg_usleep(100000L);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

void
pglm_supervisor_main(Datum arg)
{
	ServerSettings settings = current_settings();
	pid_t		server = -1;
	TimestampTz started = 0;
	TimestampTz next_start = 0;
	int			backoff_ms = RESTART_FIRST_MS;
	int			starts = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGCHLD, handle_sigchld);
	BackgroundWorkerUnblockSignals();

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		wait_ms = 1000;

		if (ShutdownRequestPending)
		{
			stop_server(server);
			proc_exit(0);
		}
		if (ConfigReloadPending)
		{
			ServerSettings wanted;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			wanted = current_settings();
			if (memcmp(&wanted, &settings, sizeof(settings)) != 0)
			{
				ereport(LOG, (errmsg("pg_lm: restarting the model server with new settings")));
				settings = wanted;
				stop_server(server);
				server = -1;
				next_start = 0;
				backoff_ms = RESTART_FIRST_MS;
			}
		}
		if (server > 0)
		{
			int			status;

			child_exited = false;
			if (waitpid(server, &status, WNOHANG) == server)
			{
				log_exit(server, status);
				if (TimestampDifferenceExceeds(started, now, HEALTHY_AFTER_MS))
					backoff_ms = RESTART_FIRST_MS;
				next_start = TimestampTzPlusMilliseconds(now, backoff_ms);
				backoff_ms = Min(backoff_ms * 2, RESTART_MAX_MS);
				server = -1;
			}
		}
		if (server <= 0)
		{
			if (now >= next_start)
			{
				server = start_server(&settings, starts++);
				started = now;
				if (server < 0)
				{
					next_start = TimestampTzPlusMilliseconds(now, backoff_ms);
					backoff_ms = Min(backoff_ms * 2, RESTART_MAX_MS);
				}
			}
			else
				wait_ms = Max(1, (long) ((next_start - now) / 1000));
		}
		if (!child_exited)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(wait_ms, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
