/*
 * pooling.c — sentence-transformers pooling (see pooling.h).
 */
#include "models/pooling.h"

#include <math.h>
#include <string.h>

#include <jansson.h>

static const struct
{
	const char *name;			/* sentence-transformers 6.x "pooling_mode" */
	const char *flag;			/* 2.x-3.x boolean key */
	LmPooling	pooling;
}			pooling_modes[] =
{
	{"mean", "pooling_mode_mean_tokens", LM_POOL_MEAN},
	{"cls", "pooling_mode_cls_token", LM_POOL_CLS},
	{"max", "pooling_mode_max_tokens", LM_POOL_MAX},
	{"mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens", LM_POOL_MEAN_SQRT_LEN},
	{"lasttoken", "pooling_mode_lasttoken", LM_POOL_LAST_TOKEN},
};

#define N_MODES ((int) (sizeof(pooling_modes) / sizeof(pooling_modes[0])))

int
lm_pooling_from_name(const char *name, LmPooling *pooling, LmError *err)
{
	for (int i = 0; i < N_MODES; i++)
	{
		if (strcmp(name, pooling_modes[i].name) == 0)
		{
			*pooling = pooling_modes[i].pooling;
			return 0;
		}
	}
	lm_fail(err, LM_ERR_UNSUPPORTED, "pooling mode \"%s\" is not supported", name);
	lm_hint(err, "Supported: mean, cls, max, mean_sqrt_len_tokens, lasttoken.");
	return -1;
}

const char *
lm_pooling_name(LmPooling pooling)
{
	for (int i = 0; i < N_MODES; i++)
		if (pooling_modes[i].pooling == pooling)
			return pooling_modes[i].name;
	return "?";
}

int
lm_pooling_parse_config(const char *json, size_t len, LmPooling *pooling, LmError *err)
{
	json_error_t jerr;
	json_t	   *cfg = json_loadb(json, len, 0, &jerr);
	json_t	   *mode;
	int			chosen = 0;
	int			rc = 0;

	if (cfg == NULL || !json_is_object(cfg))
	{
		json_decref(cfg);
		return lm_fail(err, LM_ERR_CORRUPT, "pooling config is not a JSON object");
	}
	mode = json_object_get(cfg, "pooling_mode");
	if (json_is_string(mode))
		rc = lm_pooling_from_name(json_string_value(mode), pooling, err);
	else
	{
		for (int i = 0; i < N_MODES; i++)
		{
			if (json_is_true(json_object_get(cfg, pooling_modes[i].flag)))
			{
				*pooling = pooling_modes[i].pooling;
				chosen++;
			}
		}
		if (json_is_true(json_object_get(cfg, "pooling_mode_weightedmean_tokens")))
		{
			rc = lm_fail(err, LM_ERR_UNSUPPORTED, "weighted-mean pooling is not supported");
		}
		else if (chosen != 1)
		{
			rc = lm_fail(err, LM_ERR_UNSUPPORTED,
						 "pooling config selects %d modes; exactly one is supported", chosen);
			lm_hint(err, "Set exactly one pooling_mode_* flag, or \"pooling_mode\".");
		}
	}
	json_decref(cfg);
	return rc;
}

int
lm_pool(const float *hidden, const uint8_t *mask, int n, int dim, LmPooling pooling,
		bool normalize, float *out, LmError *err)
{
	int			kept = 0;
	int			last = -1;

	for (int t = 0; t < n; t++)
		if (mask == NULL || mask[t])
		{
			kept++;
			last = t;
		}
	if (kept == 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "pooling needs at least one unmasked token");

	switch (pooling)
	{
		case LM_POOL_CLS:
			memcpy(out, hidden, dim * sizeof(float));
			break;
		case LM_POOL_LAST_TOKEN:
			memcpy(out, hidden + (long) last * dim, dim * sizeof(float));
			break;
		case LM_POOL_MAX:
			for (int i = 0; i < dim; i++)
				out[i] = -INFINITY;
			for (int t = 0; t < n; t++)
				if (mask == NULL || mask[t])
					for (int i = 0; i < dim; i++)
						if (hidden[(long) t * dim + i] > out[i])
							out[i] = hidden[(long) t * dim + i];
			break;
		case LM_POOL_MEAN:
		case LM_POOL_MEAN_SQRT_LEN:
			{
				double		div = pooling == LM_POOL_MEAN ? kept : sqrt((double) kept);

				for (int i = 0; i < dim; i++)
				{
					double		sum = 0.0;

					for (int t = 0; t < n; t++)
						if (mask == NULL || mask[t])
							sum += hidden[(long) t * dim + i];
					out[i] = (float) (sum / div);
				}
				break;
			}
	}

	if (normalize)
	{
		/* torch.nn.functional.normalize: x / max(‖x‖, 1e-12) */
		double		ss = 0.0;
		double		norm;

		for (int i = 0; i < dim; i++)
			ss += (double) out[i] * out[i];
		norm = sqrt(ss);
		if (norm < 1e-12)
			norm = 1e-12;
		for (int i = 0; i < dim; i++)
			out[i] = (float) (out[i] / norm);
	}
	return 0;
}
