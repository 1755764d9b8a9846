/*
 * main.c — pg_lm_server: options, the listening socket and the accept loop.
 *
 *   pg_lm_server DATADIR [--socket PATH] [--threads N] [--memory-mb N]
 *                        [--max-batch N] [--parent PID] [--restarts N] [--crash-test]
 */
#include "server/server.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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
			"[--max-batch N] [--parent PID] [--restarts N] [--crash-test]\n");
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

int
main(int argc, char **argv)
{
	LmServerOptions opts = {.socket_path = "pg_lm/server.sock", .threads = 1, .max_batch = 32,
	.memory_limit = (size_t) 4096 << 20};
	long		parent = 0;
	int			listen_fd;

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
		else
			usage();
	}

	/* a few malloc arenas for all the session threads, not eight per core */
	mallopt(M_ARENA_MAX, 4);
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
	lm_served_init(opts.memory_limit);
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
		int			fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

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
