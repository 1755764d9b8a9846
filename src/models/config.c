/*
 * config.c — typed, checked access to config.json keys (see config.h).
 */
#include "models/config.h"

#include <math.h>

int
lm_cfg_int(const json_t *cfg, const char *key, int def, int min, int max, int *out,
		   LmError *err)
{
	json_t	   *v = json_object_get(cfg, key);
	json_int_t	i;

	if (v == NULL || json_is_null(v))
	{
		if (def == LM_CFG_REQUIRED)
		{
			lm_fail(err, LM_ERR_CORRUPT, "config.json has no \"%s\"", key);
			lm_hint(err, "The model's configuration must give \"%s\".", key);
			return -1;
		}
		*out = def;
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
		fabs(json_real_value(v)) < 1e15)
		i = (json_int_t) json_real_value(v);
	else if (json_is_integer(v))
		i = json_integer_value(v);
	else
		return lm_fail(err, LM_ERR_CORRUPT, "config.json key \"%s\" is not an integer", key);
	if (i < min || i > max)
		return lm_fail(err, LM_ERR_CORRUPT, "config.json key \"%s\" is %lld, outside %d..%d",
					   key, (long long) i, min, max);
	*out = (int) i;
	return 0;
}

int
lm_cfg_double(const json_t *cfg, const char *key, double def, double *out, LmError *err)
{
	json_t	   *v = json_object_get(cfg, key);

	if (v == NULL || json_is_null(v))
	{
		*out = def;
		return 0;
	}
	if (!json_is_number(v))
		return lm_fail(err, LM_ERR_CORRUPT, "config.json key \"%s\" is not a number", key);
	*out = json_number_value(v);
	if (!isfinite(*out))
		return lm_fail(err, LM_ERR_CORRUPT, "config.json key \"%s\" is not finite", key);
	return 0;
}

int
lm_cfg_bool(const json_t *cfg, const char *key, bool def, bool *out, LmError *err)
{
	json_t	   *v = json_object_get(cfg, key);

	if (v == NULL || json_is_null(v))
	{
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return lm_fail(err, LM_ERR_CORRUPT, "config.json key \"%s\" is not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

int
lm_cfg_string(const json_t *cfg, const char *key, const char *def, const char **out,
			  LmError *err)
{
	json_t	   *v = json_object_get(cfg, key);

	if (v == NULL || json_is_null(v))
	{
		*out = def;
		return 0;
	}
	if (!json_is_string(v))
		return lm_fail(err, LM_ERR_CORRUPT, "config.json key \"%s\" is not a string", key);
	*out = json_string_value(v);
	return 0;
}
