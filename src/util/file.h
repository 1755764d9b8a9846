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

#endif
