/*
 * strmap.h — a hash map from byte strings to int32 values.
 *
 * Open addressing with linear probing.  Keys are copied into an arena of
 * fixed blocks, so the stored copy of a key never moves: callers may keep the
 * pointer put() hands back (e.g. as an id-to-token table).  Keys may contain
 * NUL bytes; each stored copy is also NUL-terminated.
 */
#ifndef LM_STRMAP_H
#define LM_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmStrMap LmStrMap;

LmStrMap   *lm_strmap_new(size_t expected, LmError *err);
void		lm_strmap_free(LmStrMap *map);

/*
 * Insert key -> value, overwriting the value of an existing key.  When
 * stored_key is not NULL it receives the map's own, stable copy of the key.
 */
int			lm_strmap_put(LmStrMap *map, const char *key, size_t len, int32_t value,
						  const char **stored_key, LmError *err);

/* True (and *value set) when key is present. */
bool		lm_strmap_get(const LmStrMap *map, const char *key, size_t len, int32_t *value);

size_t		lm_strmap_count(const LmStrMap *map);

#endif
