/*
 * hf_json.c — reading typed fields of tokenizer.json objects with clear
 * errors: a missing or null optional field takes its default, a field of the
 * wrong type names the component and the field.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

const char *
hf_json_type(const json_t *obj)
{
	const json_t *type = json_is_object(obj) ? json_object_get(obj, "type") : NULL;

	return json_is_string(type) ? json_string_value(type) : NULL;
}

int
hf_kind_lookup(const char *type, const HfKindName *kinds, size_t n_kinds, const char *what,
			   int *kind, LmError *err)
{
	for (size_t i = 0; i < n_kinds; i++)
		if (strcmp(kinds[i].name, type) == 0)
		{
			*kind = kinds[i].kind;
			return 0;
		}
	return lm_fail(err, LM_ERR_UNSUPPORTED, "unknown %s type \"%s\"", what, type);
}

int
hf_json_kind(const json_t *json, int depth, const HfKindName *kinds, size_t n_kinds,
			 const char *what, int *kind, LmError *err)
{
	const char *type = hf_json_type(json);

	/* what is singular: "normalizers nest ..." */
	if (depth > HF_MAX_NESTING)
		return lm_fail(err, LM_ERR_CORRUPT, "%ss nest more than %d deep", what, HF_MAX_NESTING);
	if (type == NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "%s must be an object with a string \"type\"", what);
	return hf_kind_lookup(type, kinds, n_kinds, what, kind, err);
}

const char *
hf_json_str(const json_t *value, size_t *len)
{
	if (!json_is_string(value))
		return NULL;
	if (len)
		*len = json_string_length(value);
	return json_string_value(value);
}

/* The field, or NULL when absent or JSON null. */
static const json_t *
field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

int
hf_json_bool(const json_t *obj, const char *key, bool dflt, bool *out, const char *what,
			 LmError *err)
{
	const json_t *v = field(obj, key);

	*out = dflt;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"%s\" must be true or false", what, key);
	*out = json_is_true(v);
	return 0;
}

int
hf_json_int(const json_t *obj, const char *key, int64_t dflt, int64_t *out, const char *what,
			LmError *err)
{
	const json_t *v = field(obj, key);

	*out = dflt;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"%s\" must be an integer", what, key);
	*out = json_integer_value(v);
	return 0;
}

int
hf_json_string(const json_t *obj, const char *key, bool required, const char **out,
			   size_t *len, const char *what, LmError *err)
{
	const json_t *v = field(obj, key);
	size_t		n = 0;

	*out = NULL;
	if (len)
		*len = 0;
	if (v == NULL)
	{
		if (required)
			return lm_fail(err, LM_ERR_CORRUPT, "%s: missing field \"%s\"", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"%s\" must be a string", what, key);
	*out = hf_json_str(v, &n);
	if (len)
		*len = n;
	return 0;
}

int
hf_json_strdup(const json_t *obj, const char *key, bool required, char **out, size_t *len,
			   const char *what, LmError *err)
{
	const char *s;
	size_t		n;

	*out = NULL;
	if (hf_json_string(obj, key, required, &s, &n, what, err) != 0)
		return -1;
	if (len)
		*len = n;
	if (s == NULL)
		return 0;
	*out = lm_strndup(s, n, err);
	return *out ? 0 : -1;
}

int
hf_json_char(const json_t *obj, const char *key, int32_t dflt, int32_t *out, const char *what,
			 LmError *err)
{
	const char *s;
	size_t		n;
	int			used;

	*out = dflt;
	if (hf_json_string(obj, key, false, &s, &n, what, err) != 0)
		return -1;
	if (s == NULL)
		return 0;
	if (n == 0 || (used = lm_utf8_next(s, n, out)) < 0 || (size_t) used != n)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"%s\" must be exactly one character",
					   what, key);
	return 0;
}

int
hf_json_array(const json_t *obj, const char *key, const json_t **out, const char *what,
			  LmError *err)
{
	const json_t *v = field(obj, key);

	*out = NULL;
	if (v == NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: missing field \"%s\"", what, key);
	if (!json_is_array(v))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"%s\" must be an array", what, key);
	*out = v;
	return 0;
}
