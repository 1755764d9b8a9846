/*
 * hf_files.c — parse the small JSON files of a Hugging Face model directory.
 */
#include "formats/hf_files.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Shards a checkpoint may have; far above any published model. */
#define LM_MAX_SHARDS 4096

static json_t *
load_object_flags(const char *text, size_t len, size_t flags, LmError *err)
{
	json_error_t jerr;
	json_t	   *root = json_loadb(text, len, flags, &jerr);

	if (root == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "invalid JSON at line %d, column %d: %s",
				jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root) && !json_is_array(root))
	{
		json_decref(root);
		lm_fail(err, LM_ERR_CORRUPT, "not a JSON object");
		return NULL;
	}
	return root;
}

static json_t *
load_object(const char *text, size_t len, LmError *err)
{
	return load_object_flags(text, len, 0, err);
}

int
lm_json_check_object(const char *text, size_t len, LmError *err)
{
	/* every number read as a double: tokenizer_config.json's model_max_length
	 * is often 1e30 written as an integer, past jansson's integers */
	json_t	   *root = load_object_flags(text, len, JSON_DECODE_INT_AS_REAL, err);

	if (root == NULL)
		return -1;
	if (!json_is_object(root))
	{
		json_decref(root);
		return lm_fail(err, LM_ERR_CORRUPT, "not a JSON object");
	}
	json_decref(root);
	return 0;
}

int
lm_hf_config_info(const char *text, size_t len, char **model_type,
				  char **architecture, LmError *err)
{
	json_t	   *root = load_object(text, len, err);
	json_t	   *mt;
	json_t	   *archs;

	*model_type = NULL;
	*architecture = NULL;
	if (root == NULL)
		return -1;
	mt = json_object_get(root, "model_type");
	if (!json_is_string(mt))
	{
		json_decref(root);
		return lm_fail(err, LM_ERR_CORRUPT, "no \"model_type\" string");
	}
	*model_type = strdup(json_string_value(mt));
	archs = json_object_get(root, "architectures");
	if (json_is_array(archs) && json_is_string(json_array_get(archs, 0)))
		*architecture = strdup(json_string_value(json_array_get(archs, 0)));
	json_decref(root);
	if (*model_type == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
	return 0;
}

void
lm_free_strings(char **strings, size_t n)
{
	if (strings == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(strings[i]);
	free(strings);
}

int
lm_safetensors_index_shards(const char *text, size_t len, char ***shards,
							size_t *n_shards, LmError *err)
{
	json_t	   *root = load_object(text, len, err);
	json_t	   *map;
	const char *key;
	json_t	   *value;
	char	  **list = NULL;
	size_t		n = 0;

	*shards = NULL;
	*n_shards = 0;
	if (root == NULL)
		return -1;
	map = json_object_get(root, "weight_map");
	if (!json_is_object(map) || json_object_size(map) == 0)
	{
		json_decref(root);
		return lm_fail(err, LM_ERR_CORRUPT, "no \"weight_map\" object");
	}
	list = lm_calloc(LM_MAX_SHARDS, sizeof(char *), err);
	if (list == NULL)
	{
		json_decref(root);
		return -1;
	}
	json_object_foreach(map, key, value)
	{
		const char *shard = json_string_value(value);
		bool		seen = false;

		if (shard == NULL || shard[0] == '\0' || shard[0] == '.' || strchr(shard, '/') != NULL)
		{
			lm_fail(err, LM_ERR_CORRUPT, "tensor \"%.200s\" maps to an invalid shard name", key);
			goto fail;
		}
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(list[i], shard) == 0;
		if (seen)
			continue;
		if (n == LM_MAX_SHARDS)
		{
			lm_fail(err, LM_ERR_CORRUPT, "more than %d shards", LM_MAX_SHARDS);
			goto fail;
		}
		if ((list[n] = lm_strndup(shard, strlen(shard), err)) == NULL)
			goto fail;
		n++;
	}
	json_decref(root);
	*shards = list;
	*n_shards = n;
	return 0;
fail:
	lm_free_strings(list, n);
	json_decref(root);
	return -1;
}

/* The last dotted component of a module type name. */
static const char *
last_component(const char *type)
{
	const char *dot = strrchr(type, '.');

	return dot ? dot + 1 : type;
}

int
lm_st_modules(const char *text, size_t len, char **pooling_dir, bool *normalize,
			  LmError *err)
{
	json_t	   *root = load_object(text, len, err);
	size_t		i;
	json_t	   *module;

	*pooling_dir = NULL;
	*normalize = false;
	if (root == NULL)
		return -1;
	if (!json_is_array(root))
	{
		json_decref(root);
		return lm_fail(err, LM_ERR_CORRUPT, "not a JSON array of modules");
	}
	json_array_foreach(root, i, module)
	{
		const char *type = json_string_value(json_object_get(module, "type"));
		const char *path = json_string_value(json_object_get(module, "path"));

		if (type == NULL)
			continue;
		if (strcmp(last_component(type), "Normalize") == 0)
			*normalize = true;
		else if (strcmp(last_component(type), "Pooling") == 0)
		{
			if (path == NULL || path[0] == '\0' || path[0] == '/' || strstr(path, "..") != NULL)
			{
				json_decref(root);
				free(*pooling_dir);
				*pooling_dir = NULL;
				return lm_fail(err, LM_ERR_CORRUPT, "the Pooling module has an invalid path");
			}
			free(*pooling_dir);
			*pooling_dir = strdup(path);
		}
	}
	json_decref(root);
	return 0;
}

int
lm_st_pooling_mode(const char *text, size_t len, char **mode, LmError *err)
{
	json_t	   *root = load_object(text, len, err);
	json_t	   *v;
	const char *m = NULL;

	*mode = NULL;
	if (root == NULL)
		return -1;
	if ((v = json_object_get(root, "pooling_mode")) && json_is_string(v))
		m = json_string_value(v);	/* sentence-transformers 6 */
	else if (json_is_true(json_object_get(root, "pooling_mode_cls_token")))
		m = "cls";
	else if (json_is_true(json_object_get(root, "pooling_mode_max_tokens")))
		m = "max";
	else if (json_is_true(json_object_get(root, "pooling_mode_mean_sqrt_len_tokens")))
		m = "mean_sqrt_len";
	else if (json_is_true(json_object_get(root, "pooling_mode_mean_tokens")))
		m = "mean";
	if (m == NULL || (strcmp(m, "mean") != 0 && strcmp(m, "cls") != 0 &&
					  strcmp(m, "max") != 0 && strcmp(m, "mean_sqrt_len") != 0))
	{
		json_decref(root);
		return lm_fail(err, LM_ERR_UNSUPPORTED, "no supported pooling mode (mean, cls, max, mean_sqrt_len)");
	}
	*mode = strdup(m);
	json_decref(root);
	return 0;
}
