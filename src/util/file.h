/*
 * file.h — reading whole files, with limits and clear errors.
 */
#ifndef LM_FILE_H
#define LM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

/* Read at most max_bytes of path into a malloc'd, NUL-terminated buffer. */
int			lm_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
						 LmError *err);

/*
 * The len bytes of the open file fd in memory of the process's own (an
 * anonymous mapping, on huge pages where the system gives them), read-only
 * once filled; the file's pages then leave the page cache.  MAP_FAILED
 * with errno set.  munmap() frees it.
 */
void	   *lm_read_private(int fd, size_t len);

#endif
