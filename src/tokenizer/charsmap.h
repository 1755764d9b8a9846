/*
 * charsmap.h — SentencePiece's precompiled normalization map: a double-array
 * trie of UTF-8 prefixes and a pool of NUL-terminated replacements.  Used by
 * the .model reader and by tokenizer.json's "Precompiled" normalizer (whose
 * "precompiled_charsmap" is the same blob, base64-encoded).
 */
#ifndef LM_CHARSMAP_H
#define LM_CHARSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmCharsmap LmCharsmap;

/* The blob is copied; NULL with err set when it is malformed. */
LmCharsmap *lm_charsmap_load(const uint8_t *blob, size_t len, LmError *err);
void		lm_charsmap_free(LmCharsmap *map);

/* Normalize UTF-8 text by longest-prefix replacement (characters without an
 * entry are copied).  *out is malloc'd and NUL-terminated. */
int			lm_charsmap_normalize(const LmCharsmap *map, const char *text, size_t len,
								  char **out, size_t *out_len, LmError *err);

#endif
