/*
 * main.c — pg_lm_server: options, the listening socket and the accept loop.
 *
 *   pg_lm_server DATADIR [--socket PATH] [--threads N] [--memory-mb N]
 *                        [--max-batch N] [--parent PID] [--restarts N] [--crash-test]
 *                        [--device cuda|reference] [--device-module PATH]
 *
 * With --device, the server opens the device at startup (cuda: by loading
 * the module at --device-module, pg_lm_cuda.so) and moves the models it
 * loads there when their architecture can; a device that cannot be opened
 * is a WARNING in the log, and the models run on the CPU.  Its messages go
 * to stderr, which is the PostgreSQL log.
 */
#include "server/server.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "device/device.h"
#include "server/clock.h"
#include "server/served.h"

/*
 * Every few seconds: unload the models of dropped or rewritten weights
 * files, and give the heap's free pages back to the system (each session's
 * thread allocates in one of a few arenas; what a burst of long requests
 * took would otherwise stay).
 */
static void *
sweeper_main(void *arg)
{
	for (;;)
	{
		sleep(5);
		lm_served_sweep();
		malloc_trim(0);
	}
	return NULL;
}

/*
 * A weights file written over in place (not replaced: pg_lm never does that)
 * faults when a mapped page is gone.  Say so before dying of it.
 */
static void
handle_sigbus(int sig)
{
	static const char msg[] = "pg_lm server: a mapped weights file was truncated or written over in place\n";

	(void) write(2, msg, sizeof(msg) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
usage(void)
{
	fprintf(stderr, "usage: pg_lm_server DATADIR [--socket PATH] [--threads N] [--memory-mb N] "
			"[--max-batch N] [--parent PID] [--restarts N] [--crash-test] "
			"[--device cuda|reference] [--device-module PATH]\n");
	exit(2);
}

static long
number_arg(int argc, char **argv, int *i, long min)
{
	char	   *end;
	long		v;

	if (*i + 1 >= argc)
		usage();
	v = strtol(argv[++*i], &end, 10);
	if (*end != '\0' || v < min)
		usage();
	return v;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int			fd;

	if (strlen(path) >= sizeof(addr.sun_path))
	{
		fprintf(stderr, "pg_lm server: socket path \"%s\" is too long\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	/* only the cluster's OS user may connect (the peer's uid is checked too) */
	umask(077);
	if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 || listen(fd, 128) != 0)
	{
		fprintf(stderr, "pg_lm server: cannot listen on \"%s\": %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Is the connected peer a process of our own OS user? */
static bool
peer_is_us(int fd)
{
	struct ucred cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	if (cred.uid == getuid())
		return true;
	fprintf(stderr, "pg_lm server: refused a connection of uid %d (pid %d)\n",
			(int) cred.uid, (int) cred.pid);
	return false;
}

/*
 * The device pg_lm.device asks for, or NULL: then, or when it cannot be
 * opened (no module, no GPU), the models run on the CPU and the log says why.
 */
static LmDevice *
open_device(const LmServerOptions *opts)
{
	LmDevice   *dev;
	LmError		err;

	if (opts->device == NULL)
		return NULL;
	lm_error_init(&err, NULL);
	if ((dev = lm_device_open(opts->device, opts->device_module, &err)) == NULL)
	{
		fprintf(stderr, "pg_lm server: WARNING:  pg_lm.device = '%s' is not usable, models run on the CPU: %s\n",
				opts->device, err.message);
		if (err.hint[0])
			fprintf(stderr, "pg_lm server: HINT:  %s\n", err.hint);
		return NULL;
	}
	fprintf(stderr, "pg_lm server: models whose architecture has a device path run on \"%s\"\n",
			lm_device_description(dev));
	return dev;
}

/*
 * SIGTERM (the supervisor stopping the server, or dying) ends the server
 * here rather than where it strikes: the device is closed first.  A forward
 * pass running on it ends first (it holds the device's lock); none starts
 * after.  The process exits at once, with sessions' threads where they are.
 */
static void
shut_down(LmDevice *dev)
{
	if (dev != NULL)
	{
		struct timespec until = lm_deadline_after(0);

		until.tv_sec += 2;
		if (pthread_mutex_timedlock(&dev->lock, &until) == 0)
			lm_device_close(dev);
		else
			fprintf(stderr, "pg_lm server: the device stayed busy, exiting without closing it\n");
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	LmServerOptions opts = {.socket_path = "pg_lm/server.sock", .threads = 1, .max_batch = 32,
	.memory_limit = (size_t) 4096 << 20};
	long		parent = 0;
	int			listen_fd;
	int			signal_fd;
	sigset_t	stop_signals;
	LmDevice   *dev;

	if (argc < 2 || argv[1][0] == '-')
		usage();
	opts.data_dir = argv[1];
	for (int i = 2; i < argc; i++)
	{
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			opts.socket_path = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0)
			opts.threads = (int) number_arg(argc, argv, &i, 1);
		else if (strcmp(argv[i], "--memory-mb") == 0)
			opts.memory_limit = (size_t) number_arg(argc, argv, &i, 1) << 20;
		else if (strcmp(argv[i], "--parent") == 0)
			parent = number_arg(argc, argv, &i, 1);
		else if (strcmp(argv[i], "--max-batch") == 0)
			opts.max_batch = (int) number_arg(argc, argv, &i, 1);
		else if (strcmp(argv[i], "--restarts") == 0)
			opts.restarts = (int) number_arg(argc, argv, &i, 0);
		else if (strcmp(argv[i], "--crash-test") == 0)
			opts.crash_test = true;
		else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
			opts.device = argv[++i];
		else if (strcmp(argv[i], "--device-module") == 0 && i + 1 < argc)
			opts.device_module = argv[++i];
		else
			usage();
	}

	if (opts.device != NULL && strcmp(opts.device, "cpu") == 0)
		opts.device = NULL;

	/* a few malloc arenas for all the session threads, not eight per core */
	mallopt(M_ARENA_MAX, 4);
	/*
	 * SIGTERM and SIGINT are read from a signalfd by the accept loop, in
	 * every thread blocked (the threads started below inherit the mask).
	 */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	if ((signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC)) < 0)
	{
		fprintf(stderr, "pg_lm server: signalfd: %s\n", strerror(errno));
		return 1;
	}
	/* Die with the supervisor; it may already be gone. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (parent != 0 && getppid() != (pid_t) parent)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* The server's own threads do the computing; OpenBLAS must not add its own. */
	setenv("OPENBLAS_NUM_THREADS", "1", 1);

	if (chdir(opts.data_dir) != 0)
	{
		fprintf(stderr, "pg_lm server: cannot enter \"%s\": %s\n", opts.data_dir, strerror(errno));
		return 1;
	}
	mkdir("pg_lm", 0700);
	if ((listen_fd = listen_on(opts.socket_path)) < 0)
		return 1;
	dev = open_device(&opts);
	opts.device_description = dev != NULL ? lm_device_description(dev) : "cpu";
	lm_served_init(opts.memory_limit, dev);
	lm_session_init(&opts);
	signal(SIGBUS, handle_sigbus);
	{
		pthread_t	sweeper;

		pthread_create(&sweeper, NULL, sweeper_main, NULL);
		pthread_detach(sweeper);
	}
	fprintf(stderr, "pg_lm server: pid %d listening on %s/%s, %d compute threads, batches of up to %d, %zu MB for models\n",
			(int) getpid(), opts.data_dir, opts.socket_path, opts.threads, opts.max_batch,
			opts.memory_limit >> 20);

	for (;;)
	{
		struct pollfd pfd[2] = {{listen_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
		int			fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
		{
			fprintf(stderr, "pg_lm server: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[1].revents & POLLIN)
			shut_down(dev);
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
		{
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
			{
				if (errno == EMFILE || errno == ENFILE)
					usleep(10000);
				continue;
			}
			fprintf(stderr, "pg_lm server: accept: %s\n", strerror(errno));
			return 1;
		}
		if (!peer_is_us(fd) || lm_session_start(fd) != 0)
			close(fd);
	}
}
