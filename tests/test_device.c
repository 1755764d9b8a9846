/*
 * test_device.c — devices around the device models: opening them (and
 * every way that fails), a model moved and moved back on failure, decoding
 * several sequences together on a device, and the CUDA module where it
 * was built.  The device models' parity with the fixtures is checked by
 * test_models_on_device and its siblings (Makefile), which run the model
 * tests with every model on the reference device.
 */
#include "device/device.h"
#include "models/model.h"
#include "nn/ops.h"
#include "fixture_util.h"
#include "testutil.h"

#include <unistd.h>

#define CUDA_MODULE "build/pg_lm_cuda.so"

static void
test_open_errors(void)
{
	LmError		err;
	LmDevice   *dev;

	test_error_init(&err);
	dev = lm_device_open("tpu", NULL, &err);
	CHECK(dev == NULL && strstr(err.message, "unknown device \"tpu\"") != NULL,
		  "an unknown device is refused: %s", err.message);
	test_error_init(&err);
	dev = lm_device_open("cuda", "/nonexistent/pg_lm_cuda.so", &err);
	CHECK(dev == NULL && strstr(err.message, "cannot load the CUDA module") != NULL && err.hint[0],
		  "a missing module is refused: %s", err.message);
	test_error_init(&err);
	dev = lm_device_open("cuda", "libjansson.so.4", &err);
	CHECK(dev == NULL && strstr(err.message, "is not a pg_lm device module") != NULL,
		  "a library that is no device module is refused: %s", err.message);
	test_error_init(&err);
	dev = lm_device_open("cuda", NULL, &err);
	CHECK(dev == NULL && err.code == LM_ERR_INVALID_ARGUMENT, "cuda without a module path: %s", err.message);
}

/* The CUDA module, where the build made one: it opens a GPU or says why not. */
static void
test_cuda_module(void)
{
	const char *module = getenv("PG_LM_CUDA_MODULE") ? getenv("PG_LM_CUDA_MODULE") : CUDA_MODULE;
	LmError		err;
	LmDevice   *dev;

	if (access(module, R_OK) != 0)
	{
		printf("# skipped: %s was not built (no nvcc at build time)\n", module);
		return;
	}
	test_error_init(&err);
	dev = lm_device_open("cuda", module, &err);
	if (dev != NULL)
	{
		CHECK(strncmp(lm_device_description(dev), "cuda: ", 6) == 0, "CUDA device: %s",
			  lm_device_description(dev));
		lm_device_close(dev);
	}
	else
		CHECK(strstr(err.message, "no usable cuda device:") != NULL ||
			  strstr(err.message, "cannot load the CUDA module") != NULL,
			  "without a GPU the CUDA module fails cleanly: %s", err.message);
}

/* ---- a reference device whose allocations fail after a while ------------- */

static LmDeviceOps failing_ops;
static int	allocs_left;

static void *
failing_alloc(void *ctx, size_t bytes)
{
	if (allocs_left-- <= 0)
		return NULL;
	return lm_device_reference_ops()->alloc(ctx, bytes);
}

static LmDevice *
failing_device(int allocs)
{
	LmError		err;
	LmDevice   *dev;

	test_error_init(&err);
	dev = lm_device_open("reference", NULL, &err);
	failing_ops = *dev->ops;
	failing_ops.alloc = failing_alloc;
	dev->ops = &failing_ops;
	allocs_left = allocs;
	return dev;
}

static LmModel *
load_fixture(const char *name, LmTensorSet *set, char **config)
{
	char		path[512];
	LmError		err;
	LmModel    *m;

	test_error_init(&err);
	snprintf(path, sizeof(path), "%s/models/%s/config.json", test_fixtures_dir(), name);
	*config = test_read_text(path);
	snprintf(path, sizeof(path), "%s/models/%s/model.safetensors", test_fixtures_dir(), name);
	if (*config == NULL || lm_safetensors_load(path, set, &err) < 0)
		return NULL;
	m = lm_model_load(*config, strlen(*config), set, &err);
	return m;
}

static double
max_abs_diff(const float *a, const float *b, long n)
{
	double		d = 0;

	for (long i = 0; i < n; i++)
		if (fabs((double) a[i] - b[i]) > d || isnan(a[i]) || isnan(b[i]))
			d = isnan(a[i]) || isnan(b[i]) ? INFINITY : fabs((double) a[i] - b[i]);
	return d;
}

/* Moving fails halfway: an error, the device memory given back, the model as it was. */
static void
test_failed_move(const char *name)
{
	static const int32_t ids[] = {1, 5, 9, 2};
	LmTensorSet set;
	char	   *config;
	LmModel    *m = load_fixture(name, &set, &config);
	LmDevice   *dev = failing_device(5);
	LmDecoder  *dec;
	LmError		err;
	float	   *before,
			   *after;
	int			vocab;
	int			rc;

	if (m == NULL)
	{
		CHECK(0, "%s: loads", name);
		return;
	}
	vocab = lm_model_info(m)->vocab_size;
	before = calloc(vocab, sizeof(float));
	after = calloc(vocab, sizeof(float));
	test_error_init(&err);
	dec = lm_decoder_start(m, 16, &err);
	lm_decoder_feed(dec, ids, 4, before, &err);
	lm_decoder_free(dec);

	test_error_init(&err);
	rc = lm_model_use_device(m, dev, &err);
	CHECK(rc == -1 && err.code == LM_ERR_NO_MEMORY && strstr(err.message, "cannot allocate"),
		  "%s: a device out of memory fails the move: %s", name, err.message);
	test_error_init(&err);
	dec = lm_decoder_start(m, 16, &err);
	rc = lm_decoder_feed(dec, ids, 4, after, &err);
	lm_decoder_free(dec);
	CHECK(rc == 0 && max_abs_diff(before, after, vocab) == 0,
		  "%s: the model still runs on the CPU, unchanged", name);
	lm_model_free(m);
	lm_device_close(dev);
	lm_tensorset_free(&set);
	free(config);
	free(before);
	free(after);
}

/*
 * Sequences decoded together on a device: each row as the sequence alone
 * gives it (within float32 rounding: a product of several rows may sum in
 * another order than one of one row).
 */
static void
test_rows_on_device(const char *name)
{
	static const int32_t prompts[3][4] = {{1, 5, 9, 2}, {3, 3}, {7, 1, 4}};
	static const int lengths[3] = {4, 2, 3};
	LmTensorSet set;
	char	   *config;
	LmModel    *m = load_fixture(name, &set, &config);
	LmError		err;
	LmDevice   *dev;
	LmDecoder  *together[3],
			   *alone[3];
	float	   *rows,
			   *one;
	int32_t		next[3] = {11, 12, 13};
	int			vocab;
	double		worst = 0;
	bool		ok = true;

	test_error_init(&err);
	dev = lm_device_open("reference", NULL, &err);
	if (m == NULL || lm_model_use_device(m, dev, &err) != 1)
	{
		CHECK(0, "%s: on the reference device: %s", name, err.message);
		return;
	}
	vocab = lm_model_info(m)->vocab_size;
	rows = calloc((size_t) 3 * vocab, sizeof(float));
	one = calloc(vocab, sizeof(float));
	for (int i = 0; i < 3; i++)
	{
		together[i] = lm_decoder_start(m, 32, &err);
		alone[i] = lm_decoder_start(m, 32, &err);
		ok &= lm_decoder_feed(together[i], prompts[i], lengths[i], NULL, &err) == 0;
		ok &= lm_decoder_feed(alone[i], prompts[i], lengths[i], NULL, &err) == 0;
	}
	for (int step = 0; step < 3 && ok; step++)
	{
		ok &= lm_decoders_step(together, next, 3, rows, &err) == 0;
		for (int i = 0; i < 3; i++)
		{
			double		d;

			ok &= lm_decoder_step(alone[i], next[i], one, &err) == 0;
			d = max_abs_diff(rows + (size_t) i * vocab, one, vocab);
			worst = d > worst ? d : worst;
			next[i] = lm_argmax(one, vocab);
		}
	}
	CHECK(ok && worst < 1e-4, "%s: 3 sequences stepped together on the device = each alone (max diff %.2g)%s%s",
		  name, worst, ok ? "" : ": ", ok ? "" : err.message);
	for (int i = 0; i < 3; i++)
	{
		lm_decoder_free(together[i]);
		lm_decoder_free(alone[i]);
	}
	lm_model_free(m);
	lm_device_close(dev);
	lm_tensorset_free(&set);
	free(config);
	free(rows);
	free(one);
}

/* The device named by PG_LM_TEST_DEVICE (bench/gpu/check.sh: cuda), else the reference one. */
static LmDevice *
greedy_device(LmError *err)
{
	return test_device() != NULL ? test_device() : lm_device_open("reference", NULL, err);
}

/* argmax_rows against lm_argmax: ties (the first wins), NaN (never larger, but first stays), -inf. */
static void
test_argmax_op(void)
{
	enum
	{
		ROWS = 6, COLS = 1000
	};
	float	   *x = malloc(sizeof(float) * ROWS * COLS);
	int32_t		got[ROWS];
	LmDeviceAllocs allocs = {0};
	LmError		err;
	LmDevice   *dev;
	float	   *buf;
	int			mismatches = 0;

	test_error_init(&err);
	dev = greedy_device(&err);
	for (int t = 0; t < ROWS; t++)
		for (int j = 0; j < COLS; j++)
			x[t * COLS + j] = (float) ((j * 7919 + t * 31) % 997) / 997.0f;
	x[0 * COLS + 500] = 5.0f;	/* ties: 500 comes first */
	x[0 * COLS + 700] = 5.0f;
	x[1 * COLS + 3] = NAN;		/* NaN in the middle: skipped */
	x[1 * COLS + 999] = 2.0f;
	x[2 * COLS + 0] = NAN;		/* NaN first: 0, as a scan keeps it */
	x[2 * COLS + 10] = 3.0f;
	for (int j = 0; j < COLS; j++)
		x[3 * COLS + j] = -INFINITY;	/* all equal: 0 */
	x[4 * COLS + COLS - 1] = 9.0f;	/* the last */
	buf = dev != NULL ? lm_device_alloc(dev, &allocs, sizeof(float) * ROWS * COLS, &err) : NULL;
	if (buf == NULL || LM_DEV(dev, &err, upload, buf, x, sizeof(float) * ROWS * COLS) != 0 ||
		LM_DEV(dev, &err, argmax_rows, got, buf, ROWS, COLS) != 0)
		CHECK(0, "argmax_rows on %s: %s", dev != NULL ? dev->ops->kind : "no device", err.message);
	else
	{
		for (int t = 0; t < ROWS; t++)
			if (got[t] != lm_argmax(x + t * COLS, COLS))
			{
				mismatches++;
				printf("# row %d: argmax_rows %d, lm_argmax %d\n", t, got[t], lm_argmax(x + t * COLS, COLS));
			}
		CHECK(mismatches == 0, "argmax_rows on %s = lm_argmax on %d rows (ties, NaN, -inf)",
			  dev->ops->kind, ROWS);
	}
	if (dev != NULL)
		lm_device_release_all(dev, &allocs);
	if (dev != test_device())
		lm_device_close(dev);
	free(x);
}

/*
 * Greedy decoding on a device takes each row's argmax where the logits
 * are: the same picks as the argmax of the logits brought back, for 3
 * sequences at once and for 1; and a whole greedy generation gives the
 * CPU's tokens (the reference device computes the CPU's very numbers).
 */
static void
test_greedy_on_device(const char *name)
{
	static const int32_t prompts[3][4] = {{1, 5, 9, 2}, {3, 3}, {7, 1, 4}};
	static const int lengths[3] = {4, 2, 3};
	LmTensorSet set,
				cpu_set;
	char	   *config,
			   *cpu_config;
	LmModel    *m = load_fixture(name, &set, &config);
	LmModel    *cpu = load_fixture(name, &cpu_set, &cpu_config);
	LmError		err;
	LmDevice   *dev;
	LmDecoder  *picking[3],
			   *logits_back[3];
	float	   *logits;
	int32_t		next[3] = {11, 12, 13},
				picks[3];
	int			vocab,
				mismatches = 0;
	bool		ok = true;

	test_error_init(&err);
	dev = greedy_device(&err);
	if (m == NULL || cpu == NULL || dev == NULL || lm_model_use_device(m, dev, &err) != 1)
	{
		CHECK(0, "%s: greedy on the device: %s", name, err.message);
		return;
	}
	vocab = lm_model_info(m)->vocab_size;
	logits = calloc((size_t) 3 * vocab, sizeof(float));
	for (int i = 0; i < 3; i++)
	{
		picking[i] = lm_decoder_start(m, 32, &err);
		logits_back[i] = lm_decoder_start(m, 32, &err);
		ok &= lm_decoder_feed(picking[i], prompts[i], lengths[i], NULL, &err) == 0;
		ok &= lm_decoder_feed(logits_back[i], prompts[i], lengths[i], NULL, &err) == 0;
	}
	for (int step = 0; step < 4 && ok; step++)
	{
		int			n = step % 2 == 0 ? 3 : 1;	/* all three, then the first alone */

		ok &= lm_decoders_step_greedy(picking, next, n, picks, &err) == 0;
		ok &= lm_decoders_step(logits_back, next, n, logits, &err) == 0;
		for (int i = 0; ok && i < n; i++)
		{
			mismatches += picks[i] != lm_argmax(logits + (size_t) i * vocab, vocab);
			next[i] = picks[i];
		}
	}
	CHECK(ok && mismatches == 0, "%s on %s: greedy picks made on the device = the argmax of the logits brought back%s%s",
		  name, dev->ops->kind, ok ? "" : ": ", ok ? "" : err.message);
	if (strcmp(dev->ops->kind, "reference") == 0)
	{
		LmGenerateParams params = {.max_new_tokens = 8, .sampling = LM_SAMPLING_GREEDY, .ignore_eos = true};
		int32_t		on_dev[8],
					on_cpu[8];
		int			n_dev = -1,
					n_cpu = -2;

		ok = lm_generate(m, prompts[0], lengths[0], &params, on_dev, &n_dev, &err) == 0 &&
			lm_generate(cpu, prompts[0], lengths[0], &params, on_cpu, &n_cpu, &err) == 0;
		CHECK(ok && n_dev == n_cpu && memcmp(on_dev, on_cpu, sizeof(int32_t) * n_dev) == 0,
			  "%s: a greedy generation on the reference device gives the CPU's %d tokens", name, n_cpu);
	}
	for (int i = 0; i < 3; i++)
	{
		lm_decoder_free(picking[i]);
		lm_decoder_free(logits_back[i]);
	}
	lm_model_free(m);
	lm_model_free(cpu);
	if (dev != test_device())
		lm_device_close(dev);
	lm_tensorset_free(&set);
	lm_tensorset_free(&cpu_set);
	free(config);
	free(cpu_config);
	free(logits);
}

/* Architectures without a device path stay on the CPU. */
static void
test_no_device_path(void)
{
	LmTensorSet set;
	char	   *config;
	char		path[512];
	LmModel    *m;
	LmError		err;
	LmDevice   *dev;

	snprintf(path, sizeof(path), "%s/models/t5-tiny", test_fixtures_dir());
	if (access(path, R_OK) != 0)
	{
		printf("# skipped: the t5-tiny fixture is not in %s\n", test_fixtures_dir());
		return;
	}
	m = load_fixture("t5-tiny", &set, &config);
	test_error_init(&err);
	dev = lm_device_open("reference", NULL, &err);
	CHECK(m != NULL && lm_model_use_device(m, dev, &err) == 0,
		  "t5-tiny has no device path: it stays on the CPU");
	lm_model_free(m);
	lm_device_close(dev);
	lm_tensorset_free(&set);
	free(config);
}

int
main(void)
{
	test_open_errors();
	test_cuda_module();
	test_failed_move("gpt2-tiny");
	test_failed_move("llama-tiny");
	test_rows_on_device("gpt2-tiny");
	test_rows_on_device("llama-tiny");
	test_argmax_op();
	test_greedy_on_device("gpt2-tiny");
	test_greedy_on_device("llama-tiny");
	test_no_device_path();
	return test_done();
}
