/*
 * config.h — reading a transformers config.json (jansson), with defaults,
 * range checks and errors that name the key.
 */
#ifndef LM_MODELS_CONFIG_H
#define LM_MODELS_CONFIG_H

#include <stdbool.h>

#include <jansson.h>

#include "util/lm_error.h"

/* Pass as the default of a key that must be present. */
#define LM_CFG_REQUIRED (-2147483647 - 1)

/* Bounds on dimensions read from a config (before any tensor is looked at). */
#define LM_MAX_HIDDEN (1 << 16)
#define LM_MAX_LAYERS 1024
#define LM_MAX_HEADS 1024
#define LM_MAX_VOCAB (1 << 24)
#define LM_MAX_POSITIONS (1 << 20)
#define LM_MAX_LABELS 100000

/*
 * An integer key: absent or null gives def (an error when def is
 * LM_CFG_REQUIRED); present, it must be an integer in [min, max].
 */
int			lm_cfg_int(const json_t *cfg, const char *key, int def, int min, int max,
					   int *out, LmError *err);

/* A number key (integer or real); absent or null gives def. */
int			lm_cfg_double(const json_t *cfg, const char *key, double def, double *out,
						  LmError *err);

/* A boolean key; absent or null gives def. */
int			lm_cfg_bool(const json_t *cfg, const char *key, bool def, bool *out,
						LmError *err);

/* A string key; absent or null gives def (which may be NULL). */
int			lm_cfg_string(const json_t *cfg, const char *key, const char *def,
						  const char **out, LmError *err);

#endif
