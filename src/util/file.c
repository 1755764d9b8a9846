/*
 * file.c — read a whole file into memory.
 */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
