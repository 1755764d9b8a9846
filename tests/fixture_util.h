/*
 * fixture_util.h — helpers shared by the model tests (test_models.c,
 * test_rnn.c, test_seq2seq.c) that compare the engine with the reference
 * outputs of the fixtures: reference tensors, the relative error metric,
 * token ids from reference.json and config edits; and model directories
 * loaded whole as task models (test_tasks.c, test_parallel.c).
 *
 * Each test keeps its own Fixture struct (they differ), so these helpers
 * take the pieces they need rather than a Fixture.
 */
#ifndef LM_FIXTURE_UTIL_H
#define LM_FIXTURE_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cancel_util.h"
#include "device/device.h"
#include "formats/safetensors.h"
#include "formats/tensor.h"
#include "tasks/task.h"
#include "util/file.h"

/* Path of the real (larger) models: $PG_LM_MODELS, or ../shared/models. */
static inline const char *
models_dir(void)
{
	const char *dir = getenv("PG_LM_MODELS");

	return dir ? dir : "../shared/models";
}

/*
 * "caseI.NAME" of a reference set as float32 with the expected element
 * count, else NULL.  With i < 0, a plain NAME is accepted too.
 */
static inline const float *
ref_tensor(const LmTensorSet *ref, int i, const char *name, long count)
{
	char		key[128];
	const LmTensor *t;

	snprintf(key, sizeof(key), "case%d.%s", i, name);
	t = lm_tensorset_find(ref, key);
	if (t == NULL && i < 0)
		t = lm_tensorset_find(ref, name);
	if (t == NULL || t->dtype != LM_DTYPE_F32 || lm_tensor_numel(t) != count ||
		((uintptr_t) t->data % sizeof(float)) != 0)
		return NULL;
	return t->data;
}

/* The fixtures' metric: max|x - ref| / max|ref| (infinite when x has a NaN). */
static inline double
rel_error(const float *x, const float *ref, long count)
{
	double		max_diff = 0.0;
	double		max_ref = 0.0;

	for (long i = 0; i < count; i++)
	{
		double		d = fabs((double) x[i] - ref[i]);

		if (!(d <= max_diff))	/* NaN counts as a failure */
			max_diff = isnan(d) ? INFINITY : d;
		if (fabs(ref[i]) > max_ref)
			max_ref = fabs(ref[i]);
	}
	return max_ref > 0 ? max_diff / max_ref : max_diff;
}

/* A JSON array of integers into ids, at most max of them; returns how many. */
static inline int
json_ids(const json_t *arr, int32_t *ids, int max)
{
	size_t		i;
	json_t	   *v;
	int			n = 0;

	json_array_foreach(arr, i, v)
	{
		if (n < max)
			ids[n++] = (int32_t) json_integer_value(v);
	}
	return n;
}

/* Whether two id sequences are equal. */
static inline bool
same_ids(const int32_t *a, int na, const int32_t *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * A config (JSON text) with one edit applied through jansson: key drop
 * removed and/or key set to value (whose reference is stolen).  The caller
 * frees the result.
 */
static inline char *
edited_config(const char *config, size_t config_len, const char *drop, const char *key,
			  json_t *value)
{
	json_t	   *cfg = json_loadb(config, config_len, 0, NULL);
	char	   *text;

	if (drop)
		json_object_del(cfg, drop);
	if (key)
		json_object_set_new(cfg, key, value);
	text = json_dumps(cfg, 0);
	json_decref(cfg);
	return text;
}

/*
 * The device the model tests run their models on: $PG_LM_TEST_DEVICE
 * ("reference", or "cuda" with the module at $PG_LM_CUDA_MODULE, default
 * build/pg_lm_cuda.so), else LM_TEST_DEVICE where the program was built
 * with it; opened once; NULL for the CPU.  A device that
 * does not open ends the program: the run asked for it.
 */
static inline LmDevice *
test_device(void)
{
	static LmDevice *dev;
	static bool opened;
	const char *kind = getenv("PG_LM_TEST_DEVICE");

#ifdef LM_TEST_DEVICE
	/* the programs built to run on the reference device (Makefile) */
	if (kind == NULL)
		kind = LM_TEST_DEVICE;
#endif
	const char *module = getenv("PG_LM_CUDA_MODULE");
	LmError		err;

	if (opened || kind == NULL || kind[0] == '\0')
		return dev;
	opened = true;
	test_error_init(&err);
	dev = lm_device_open(kind, module ? module : "build/pg_lm_cuda.so", &err);
	if (dev == NULL)
	{
		test_check(0, "device %s: %s", kind, err.message);
		exit(1);
	}
	printf("# models run on %s\n", lm_device_description(dev));
	return dev;
}

/*
 * Move a loaded model to the test device, if any.  Returns -1 (after a
 * "not ok" line) when moving failed.
 */
static inline int
test_use_device(LmModel *model, const char *name)
{
	LmDevice   *dev = test_device();
	LmError		err;
	int			rc;

	if (dev == NULL || model == NULL)
		return 0;
	test_error_init(&err);
	rc = lm_model_use_device(model, dev, &err);
	if (rc < 0)
		test_check(0, "%s: to the device: %s", name, err.message);
	else if (rc == 0)
		printf("# %s: no device path for this architecture, it runs on the CPU\n", name);
	return rc < 0 ? -1 : 0;
}

/*
 * $PG_LM_TEST_ONLY, a comma-separated list of fixture names, limits a run
 * to them (bench/gpu/check.sh runs four on a GPU); the others are skipped
 * with a line saying so.
 */
static inline bool
test_fixture_wanted(const char *name)
{
	const char *only = getenv("PG_LM_TEST_ONLY");
	size_t		len = strlen(name);

	if (only == NULL || only[0] == '\0')
		return true;
	for (const char *p = only; (p = strstr(p, name)) != NULL; p += len)
		if ((p == only || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return true;
	printf("# skipped: %s (not in PG_LM_TEST_ONLY)\n", name);
	return false;
}

/*
 * The tolerance to compare a fixture with: tol, or $PG_LM_TEST_TOL where
 * that is larger (a GPU's float32 products sum in another order; the GPU
 * check runs at 1e-3).
 */
static inline double
test_tolerance(double tol)
{
	const char *env = getenv("PG_LM_TEST_TOL");
	double		t = env ? atof(env) : 0;

	return t > tol ? t : tol;
}

/* A whole text file, NUL-terminated (malloc'd), or NULL. */
static inline char *
test_read_text(const char *path)
{
	uint8_t    *data;
	size_t		len;
	LmError		err;

	test_error_init(&err);
	if (lm_read_file(path, 64 << 20, &data, &len, &err) != 0)
		return NULL;
	data = realloc(data, len + 1);
	data[len] = '\0';
	return (char *) data;
}

/*
 * A model directory (config.json, generation_config.json if any,
 * tokenizer.json if any, model.safetensors) as an LmTaskModel with every
 * part; name is its name in messages.  NULL (with a "#" line) when it does
 * not load.
 */
static inline LmTaskModel *
test_load_task_model(const char *dir, const char *name, const char *architecture,
					 const char *pooling, bool normalize)
{
	char		path[4096 + 64];	/* dir, up to 4096, and a file name */
	char	   *config,
			   *tok_json,
			   *gen;
	LmModelDesc desc = {name, architecture, NULL, NULL, pooling, normalize};
	LmTaskModel *m;
	LmTensorSet set;
	LmError		err;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	if ((config = test_read_text(path)) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/generation_config.json", dir);
	gen = test_read_text(path);
	desc.config = config;
	desc.generation_config = gen;
	test_error_init(&err);
	m = lm_task_model_new(&desc, &err);
	free(config);
	free(gen);
	if (m == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
	if ((tok_json = test_read_text(path)) != NULL)
	{
		lm_task_model_set_tokenizer(m, lm_tokenizer_from_json(tok_json, strlen(tok_json), &err));
		free(tok_json);
	}
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	if (lm_safetensors_load(path, &set, &err) != 0 || lm_task_model_build(m, &set, &err) != 0 ||
		(test_device() != NULL && lm_task_model_use_device(m, test_device(), &err) < 0))
	{
		printf("# %s: %s\n", name, err.message);
		lm_task_model_free(m);
		return NULL;
	}
	return m;
}

#endif
