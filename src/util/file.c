/*
 * file.c — read a whole file into memory.
 */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
lm_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
			 LmError *err)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait, deaf to cancel, for a writer */
	int			fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	FILE	   *f;
	struct stat st;
	uint8_t    *buf;

	*data = NULL;
	*len = 0;
	if (fd < 0)
		return lm_fail(err, LM_ERR_IO, "could not open file \"%s\": %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return lm_fail(err, LM_ERR_IO, "\"%s\" is not a regular file", path);
	}
	if ((f = fdopen(fd, "rb")) == NULL)
	{
		close(fd);
		return lm_fail(err, LM_ERR_IO, "could not read file \"%s\": %s", path, strerror(errno));
	}
	if ((uint64_t) st.st_size > max_bytes)
	{
		fclose(f);
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "file \"%s\" is too large (%lld bytes, limit %zu)",
					   path, (long long) st.st_size, max_bytes);
	}
	buf = lm_malloc((size_t) st.st_size + 1, err);
	if (buf == NULL)
	{
		fclose(f);
		return -1;
	}
	if (st.st_size > 0 && fread(buf, 1, (size_t) st.st_size, f) != (size_t) st.st_size)
	{
		free(buf);
		fclose(f);
		return lm_fail(err, LM_ERR_IO, "could not read file \"%s\"", path);
	}
	fclose(f);
	buf[st.st_size] = '\0';
	*data = buf;
	*len = (size_t) st.st_size;
	return 0;
}

/*
 * The file's bytes in memory of the process's own, on huge pages where the
 * system gives them, read-only once filled; MAP_FAILED with errno set.
 * The file's pages then leave the page cache (those another process maps
 * stay), so that the weights are in memory once.
 */
void *
lm_read_private(int fd, size_t len)
{
	void	   *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t		done = 0;

	if (mem == MAP_FAILED)
		return MAP_FAILED;
	(void) madvise(mem, len, MADV_HUGEPAGE);
	while (done < len)
	{
		ssize_t		got = pread(fd, (char *) mem + done, len - done, (off_t) done);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
		{
			int			saved = got < 0 ? errno : EIO;	/* shorter than fstat said */

			munmap(mem, len);
			errno = saved;
			return MAP_FAILED;
		}
		done += (size_t) got;
	}
	(void) mprotect(mem, len, PROT_READ);
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return mem;
}
