/*
 * hf_files.h — the small JSON files of a Hugging Face model directory:
 * config.json, model.safetensors.index.json, and sentence-transformers'
 * modules.json and pooling config.  The glue reads the files; these parse
 * and check them.  Strings returned are malloc'd.
 */
#ifndef LM_HF_FILES_H
#define LM_HF_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/lm_error.h"

/* Is the text a well-formed JSON object?  The error gives line and column. */
int			lm_json_check_object(const char *text, size_t len, LmError *err);

/* config.json: model_type (required) and the first of "architectures"
 * (NULL when absent). */
int			lm_hf_config_info(const char *text, size_t len, char **model_type,
							  char **architecture, LmError *err);

/* model.safetensors.index.json: the distinct shard file names of weight_map,
 * in first-seen order.  Names with '/' or a leading '.' are refused. */
int			lm_safetensors_index_shards(const char *text, size_t len, char ***shards,
										size_t *n_shards, LmError *err);

/* modules.json: the Pooling module's directory (NULL when none) and whether
 * a Normalize module follows.  Module types are matched by their last
 * dotted component, as their names vary between sentence-transformers
 * versions. */
int			lm_st_modules(const char *text, size_t len, char **pooling_dir,
						  bool *normalize, LmError *err);

/* 1_Pooling/config.json in either layout: "mean", "cls", "max" or
 * "mean_sqrt_len". */
int			lm_st_pooling_mode(const char *text, size_t len, char **mode, LmError *err);

void		lm_free_strings(char **strings, size_t n);

#endif
