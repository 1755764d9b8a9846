/*
 * test_parallel.c — compute threads: the pool runs every job once, also for
 * callers on several threads at once; the matrix-vector products split
 * among 2, 3 and 5 threads give the same bits as one thread, for every
 * instruction set this CPU has and every weight dtype, and so do products
 * of several rows (OpenBLAS on ranges of outputs); and a real model
 * (captions-gpt2) generates and scores identically on 1 and 3 threads.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "fixture_util.h"
#include "formats/safetensors.h"
#include "nn/matrix.h"
#include "nn/parallel.h"
#include "tasks/run.h"
#include "util/file.h"

/* ---- the pool ---------------------------------------------------------------- */

static void
write_job(void *arg, int job)
{
	int		   *out = arg;

	out[job] += job * 2 + 1;
}

static bool
run_jobs(int n, int threads)
{
	int			out[512] = {0};

	lm_parallel_set_threads(threads);
	lm_parallel_run(n, write_job, out);
	for (int j = 0; j < n; j++)
		if (out[j] != j * 2 + 1)
			return false;
	return true;
}

static void *
caller_main(void *arg)
{
	bool	   *ok = arg;

	*ok = true;
	for (int i = 0; i < 300; i++)
		if (!run_jobs(1 + (i * 37) % 200, 3))
			*ok = false;
	return NULL;
}

static void
test_pool(void)
{
	pthread_t	t[3];
	bool		ok[3];

	CHECK(run_jobs(100, 4), "100 jobs on 4 threads: each once");
	CHECK(run_jobs(1, 4) && run_jobs(7, 1), "one job; one thread");
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, caller_main, &ok[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(ok[0] && ok[1] && ok[2], "three callers at once, 900 sets: every job once");
	lm_parallel_set_threads(1);
}

/* ---- the products -------------------------------------------------------------- */

static uint32_t rng_state = 12345;

static float
rnd(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return ((rng_state >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

/* Weights of dtype with random values (16-bit ones from float bits). */
static void *
random_weights(LmDType dtype, long count)
{
	size_t		esize = lm_dtype_size(dtype);
	uint8_t    *w = malloc(count * esize);

	for (long i = 0; i < count; i++)
	{
		float		f = rnd();
		uint32_t	bits;

		memcpy(&bits, &f, 4);
		if (dtype == LM_DTYPE_F32)
			memcpy(w + i * 4, &f, 4);
		else if (dtype == LM_DTYPE_BF16)
		{
			uint16_t	h = (uint16_t) (bits >> 16);

			memcpy(w + i * 2, &h, 2);
		}
		else
		{
			/* a float16 near f: sign, a small exponent, the top mantissa bits */
			uint16_t	h = (uint16_t) (((bits >> 16) & 0x8000) | (0x3800 + ((bits >> 13) & 0x3FF)));

			memcpy(w + i * 2, &h, 2);
		}
	}
	return w;
}

static void
test_products(void)
{
	static const int shapes[][2] = {{1000, 777}, {300, 4096}, {4096, 300}, {17, 50000}, {2304, 768}};
	static const int threads[] = {2, 3, 5};
	LmSimd		best = lm_simd_best();
	long		shared_before = lm_parallel_sets_shared();

	for (int simd = LM_SIMD_C; simd <= (int) best; simd++)
	{
		int			mismatches = 0;
		int			products = 0;

		lm_simd_use((LmSimd) simd);
		for (int dt = LM_DTYPE_F32; dt <= LM_DTYPE_BF16; dt++)
			for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
			{
				int			rows = shapes[s][0],
							cols = shapes[s][1];
				void	   *w = random_weights((LmDType) dt, (long) rows * cols);
				LmMatrix	m = {w, (LmDType) dt, rows, cols};
				int			longest = rows > cols ? rows : cols;
				float	   *x = malloc(longest * sizeof(float));
				float	   *y0 = malloc(longest * sizeof(float));
				float	   *ref = malloc(longest * sizeof(float));
				float	   *got = malloc(longest * sizeof(float));

				for (int i = 0; i < longest; i++)
				{
					x[i] = rnd();
					y0[i] = rnd();
				}
				for (int transposed = 0; transposed < 2; transposed++)
				{
					int			outputs = transposed ? cols : rows;

					lm_parallel_set_threads(1);
					memcpy(ref, y0, outputs * sizeof(float));
					(transposed ? lm_gemv_t : lm_gemv) (&m, x, ref);
					for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++)
					{
						lm_parallel_set_threads(threads[t]);
						memcpy(got, y0, outputs * sizeof(float));
						(transposed ? lm_gemv_t : lm_gemv) (&m, x, got);
						products++;
						if (memcmp(ref, got, outputs * sizeof(float)) != 0)
						{
							mismatches++;
							printf("# %s %s %s %dx%d on %d threads differs\n", lm_simd_name((LmSimd) simd),
								   lm_dtype_name((LmDType) dt), transposed ? "gemv_t" : "gemv",
								   rows, cols, threads[t]);
						}
					}
				}
				free(w);
				free(x);
				free(y0);
				free(ref);
				free(got);
			}
		CHECK(mismatches == 0, "%s: %d products on 2, 3 and 5 threads equal one thread's bit for bit",
			  lm_simd_name((LmSimd) simd), products);
	}
	lm_simd_use(best);
	lm_parallel_set_threads(1);
	CHECK(lm_parallel_sets_shared() > shared_before, "the products really ran on several threads (%ld sets)",
		  lm_parallel_sets_shared() - shared_before);
}

/* Several vectors at once (sequences decoded together): each as it would be alone. */
static void
test_rows(void)
{
	static const int shapes[][2] = {{1000, 777}, {768, 2304}, {3072, 768}, {50, 300}, {1003, 33}};
	static const int counts[] = {2, 3, 5, 8, 11};
	LmSimd		best = lm_simd_best();
	int			mismatches = 0;
	int			products = 0;

	for (int simd = LM_SIMD_C; simd <= (int) best; simd++)
	{
		lm_simd_use((LmSimd) simd);
		for (int dt = LM_DTYPE_F32; dt <= LM_DTYPE_BF16; dt++)
			for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
				for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
					for (int threads = 1; threads <= 3; threads += 2)
						for (int transposed = 0; transposed < 2; transposed++)
						{
							int			rows = shapes[s][0],
										cols = shapes[s][1],
										n = counts[k];
							void	   *w = random_weights((LmDType) dt, (long) rows * cols);
							LmMatrix	m = {w, (LmDType) dt, rows, cols};
							int			in = transposed ? rows : cols,
										out = transposed ? cols : rows;
							float	   *x = malloc((size_t) n * in * sizeof(float));
							float	   *ref = malloc((size_t) n * out * sizeof(float));
							float	   *got = malloc((size_t) n * out * sizeof(float));

							for (long i = 0; i < (long) n * in; i++)
								x[i] = rnd();
							for (long i = 0; i < (long) n * out; i++)
								ref[i] = got[i] = rnd();
							lm_parallel_set_threads(threads);
							for (int v = 0; v < n; v++)
								(transposed ? lm_gemv_t : lm_gemv) (&m, x + (size_t) v * in, ref + (size_t) v * out);
							(transposed ? lm_gemv_t_rows : lm_gemv_rows) (&m, x, n, got);
							products++;
							if (memcmp(ref, got, (size_t) n * out * sizeof(float)) != 0)
							{
								mismatches++;
								printf("# %s %s %s %dx%d, %d vectors, %d threads differs\n",
									   lm_simd_name((LmSimd) simd), lm_dtype_name((LmDType) dt),
									   transposed ? "gemv_t_rows" : "gemv_rows", rows, cols, n, threads);
							}
							free(w);
							free(x);
							free(ref);
							free(got);
						}
	}
	lm_simd_use(best);
	lm_parallel_set_threads(1);
	CHECK(mismatches == 0, "%d products of 2, 3, 5, 8 and 11 vectors at once equal each vector's alone, bit for bit",
		  products);
}

/* Q, K and V from the same rows: lm_matmul_many gives what three lm_matmul give, bit for bit. */
static void
test_matmul_many(void)
{
	static const int rows[] = {5, 37, 160};
	LmSimd		best = lm_simd_best();
	int			mismatches = 0;
	int			products = 0;

	for (int simd = LM_SIMD_AVX2; simd <= (int) best; simd++)
		for (int dt = LM_DTYPE_F32; dt <= LM_DTYPE_BF16; dt++)
			for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
				for (int threads = 1; threads <= 3; threads++)
				{
					enum
					{
						IN = 384, OUTS = 3
					};
					static const int outs[OUTS] = {384, 200, 96};
					int			n = rows[k];
					float	   *x = malloc(sizeof(float) * n * IN);
					void	   *w[OUTS];
					LmMatrix	m[OUTS];
					float	   *b[OUTS],
							   *ref[OUTS],
							   *got[OUTS];
					LmGemmOut	many[OUTS];

					lm_simd_use((LmSimd) simd);
					lm_parallel_set_threads(threads);
					for (long i = 0; i < (long) n * IN; i++)
						x[i] = rnd();
					for (int o = 0; o < OUTS; o++)
					{
						w[o] = random_weights((LmDType) dt, (long) outs[o] * IN);
						m[o] = (LmMatrix) {w[o], (LmDType) dt, outs[o], IN};
						b[o] = malloc(sizeof(float) * outs[o]);
						for (int j = 0; j < outs[o]; j++)
							b[o][j] = rnd();
						ref[o] = malloc(sizeof(float) * n * outs[o]);
						got[o] = malloc(sizeof(float) * n * outs[o]);
						lm_matmul(ref[o], x, &m[o], o == 1 ? NULL : b[o], n, false);
						many[o] = (LmGemmOut) {got[o], &m[o], o == 1 ? NULL : b[o]};
					}
					lm_matmul_many(many, OUTS, x, n);
					for (int o = 0; o < OUTS; o++)
					{
						products++;
						if (memcmp(ref[o], got[o], sizeof(float) * n * outs[o]) != 0)
						{
							mismatches++;
							printf("# %s %s %d rows, %d threads: product %d differs\n", lm_simd_name((LmSimd) simd),
								   lm_dtype_name((LmDType) dt), n, threads, o);
						}
						free(w[o]);
						free(b[o]);
						free(ref[o]);
						free(got[o]);
					}
					free(x);
				}
	lm_simd_use(best);
	lm_parallel_set_threads(1);
	CHECK(mismatches == 0, "%d products of lm_matmul_many (5, 37, 160 rows; 1 to 3 threads) = lm_matmul's, bit for bit",
		  products);
}

/* Several rows at once (prompts, batches): gemm.c, its panels split among the threads. */
static void
test_matmuls(void)
{
	static const int shapes[][2] = {{768, 768}, {2304, 768}, {1536, 384}, {384, 1536}};
	static const int rows[] = {5, 37, 160};
	int			mismatches = 0;
	int			products = 0;
	long		shared_before = lm_parallel_sets_shared();
	LmSimd		best = lm_simd_best();

	/* 160 rows: two threads split the rows, three the outputs (gemm.c) */
	for (int simd = LM_SIMD_AVX2; simd <= (int) best; simd++)
		for (int dt = LM_DTYPE_F32; dt <= LM_DTYPE_BF16; dt++)
			for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
				for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
					for (int io = 0; io < 2; io++)
					{
						int			wr = shapes[s][0],
									wc = shapes[s][1],
									n = rows[k];
						void	   *w = random_weights((LmDType) dt, (long) wr * wc);
						LmMatrix	m = {w, (LmDType) dt, wr, wc};
						int			in = io ? wr : wc,
									out = io ? wc : wr;
						float	   *x = malloc((size_t) n * in * sizeof(float));
						float	   *b = malloc((size_t) out * sizeof(float));
						float	   *ref = malloc((size_t) n * out * sizeof(float));
						float	   *got = malloc((size_t) n * out * sizeof(float));

						for (long i = 0; i < (long) n * in; i++)
							x[i] = rnd();
						for (int i = 0; i < out; i++)
							b[i] = rnd();
						lm_simd_use((LmSimd) simd);
						lm_parallel_set_threads(1);
						(io ? lm_matmul_io : lm_matmul) (ref, x, &m, b, n, false);
						for (int t = 2; t <= 3; t++)
						{
							lm_parallel_set_threads(t);
							(io ? lm_matmul_io : lm_matmul) (got, x, &m, b, n, false);
							products++;
							if (memcmp(ref, got, (size_t) n * out * sizeof(float)) != 0)
							{
								mismatches++;
								printf("# %s %s %s %dx%d, %d rows, on %d threads differs\n",
									   lm_simd_name((LmSimd) simd), lm_dtype_name((LmDType) dt),
									   io ? "matmul_io" : "matmul", wr, wc, n, t);
							}
						}
						free(w);
						free(x);
						free(b);
						free(ref);
						free(got);
					}
	lm_simd_use(best);
	lm_parallel_set_threads(1);
	CHECK(mismatches == 0, "%d products of 5, 37 and 160 rows on 2 and 3 threads equal one thread's bit for bit",
		  products);
	CHECK(lm_parallel_sets_shared() > shared_before, "and they ran on several threads");
}

/* ---- a real model ------------------------------------------------------------------ */

static LmTaskModel *
load_captions(void)
{
	char		dir[4096];

	snprintf(dir, sizeof(dir), "%s/captions-gpt2", models_dir());
	return test_load_task_model(dir, "captions-gpt2", "gpt2", NULL, false);
}

static int
run_on(const LmTaskModel *m, const LmRunRequest *req, int threads, LmRunResult *res)
{
	LmCall		call = {NULL, NULL, threads};
	LmError		err;

	lm_error_init(&err, &call);
	if (lm_run(m, req, res, &err) != 0)
	{
		printf("# %s\n", err.message);
		return -1;
	}
	return 0;
}

static void
test_model(void)
{
	LmTaskModel *m = load_captions();
	static const int32_t ids[] = {1, 32, 582, 287, 257};
	LmRunRequest greedy = {.op = LM_RUN_GENERATE, .input = LM_TEXT_INPUT("A man in a", 10)};
	LmRunRequest sampled = greedy;
	LmRunRequest logits = {.op = LM_RUN_LOGITS, .input = LM_IDS_INPUT(ids, 5)};
	LmRunResult a,
				b;
	long		shared_before = lm_parallel_sets_shared();
	bool		ok;

	if (m == NULL)
	{
		CHECK(0, "captions-gpt2 loads from %s", models_dir());
		return;
	}
	greedy.generate.max_tokens = 24;
	greedy.generate.sampling = LM_SAMPLING_GREEDY;
	sampled.generate.max_tokens = 24;
	sampled.generate.sampling = (LmSamplingParams) {0.9, 40, 0.95, 7};
	ok = run_on(m, &greedy, 1, &a) == 0 && run_on(m, &greedy, 3, &b) == 0;
	CHECK(ok && strlen(a.text) > 0 && strcmp(a.text, b.text) == 0,
		  "greedy generation: 1 and 3 threads give \"%s\"", ok ? a.text : "");
	lm_run_result_free(&a);
	lm_run_result_free(&b);
	CHECK(run_on(m, &sampled, 1, &a) == 0 && run_on(m, &sampled, 3, &b) == 0 && strcmp(a.text, b.text) == 0,
		  "seeded sampling: the same on 1 and 3 threads");
	lm_run_result_free(&a);
	lm_run_result_free(&b);
	ok = run_on(m, &logits, 1, &a) == 0 && run_on(m, &logits, 3, &b) == 0;
	CHECK(ok && a.floats.n == b.floats.n && a.floats.n > 0 &&
		  memcmp(a.floats.v, b.floats.v, a.floats.n * sizeof(float)) == 0,
		  "logits after a prompt: identical bits on 1 and 3 threads (%d values)", ok ? a.floats.n : 0);
	lm_run_result_free(&a);
	lm_run_result_free(&b);
	CHECK(lm_parallel_sets_shared() > shared_before, "the model's products used the threads");
	lm_task_model_free(m);
}

/* Decoding steps of several sequences together (lm_decoders_step) against one by one. */
static void
test_decoders_step(const char *dir, const char *name)
{
	char		path[4096];
	char	   *config;
	LmTensorSet set;
	LmModel    *model;
	LmError		err;
	const int	n = 3;
	LmDecoder  *together[3],
			   *alone[3];
	float	   *lt,
			   *la;
	int			vocab,
				mismatches = 0;
	static const int32_t prompts[3][4] = {{5, 9, 11, 3}, {7, 7, 2, 1}, {4, 12, 8, 6}};
	static const int	prompt_len[3] = {4, 2, 3};

	snprintf(path, sizeof(path), "%s/config.json", dir);
	config = test_read_text(path);
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	test_error_init(&err);
	if (config == NULL || lm_safetensors_load(path, &set, &err) != 0 ||
		(model = lm_model_load(config, strlen(config), &set, &err)) == NULL)
	{
		CHECK(0, "%s loads: %s", name, err.message);
		free(config);
		return;
	}
	vocab = lm_model_info(model)->vocab_size;
	lt = malloc(sizeof(float) * vocab * n);
	la = malloc(sizeof(float) * vocab * n);
	for (int i = 0; i < n; i++)
	{
		together[i] = lm_decoder_start(model, 64, &err);
		alone[i] = lm_decoder_start(model, 64, &err);
		lm_decoder_feed(together[i], prompts[i], prompt_len[i], la, &err);
		lm_decoder_feed(alone[i], prompts[i], prompt_len[i], la, &err);
	}
	for (int stepno = 0; stepno < 6; stepno++)
	{
		int32_t		ids[3] = {(int32_t) (stepno + 1), (int32_t) (2 * stepno + 3), 5};

		if (lm_decoders_step(together, ids, n, lt, &err) != 0)
		{
			mismatches++;
			printf("# %s\n", err.message);
			break;
		}
		for (int i = 0; i < n; i++)
			lm_decoder_step(alone[i], ids[i], la + (size_t) i * vocab, &err);
		if (memcmp(lt, la, sizeof(float) * vocab * n) != 0)
		{
			mismatches++;
			for (int i = 0; i < n && mismatches == 1; i++)
				for (int j = 0; j < vocab; j++)
					if (lt[(size_t) i * vocab + j] != la[(size_t) i * vocab + j])
					{
						printf("# step %d row %d logit %d: %.9g together, %.9g alone\n", stepno, i, j,
							   lt[(size_t) i * vocab + j], la[(size_t) i * vocab + j]);
						break;
					}
		}
	}
	CHECK(mismatches == 0, "%s: 3 sequences stepped together 6 times give each one's logits alone, bit for bit",
		  name);
	for (int i = 0; i < n; i++)
	{
		lm_decoder_free(together[i]);
		lm_decoder_free(alone[i]);
	}
	free(lt);
	free(la);
	lm_model_free(model);
	free(config);
}

int
main(void)
{
	test_pool();
	test_products();
	test_rows();
	test_matmuls();
	test_matmul_many();
	test_model();
	{
		char		dir[4096];

		snprintf(dir, sizeof(dir), "%s/captions-gpt2", models_dir());
		test_decoders_step(dir, "captions-gpt2");
		snprintf(dir, sizeof(dir), "%s/models/llama-tiny", test_fixtures_dir());
		test_decoders_step(dir, "llama-tiny");
		lm_parallel_set_threads(3);
		snprintf(dir, sizeof(dir), "%s/captions-gpt2", models_dir());
		test_decoders_step(dir, "captions-gpt2 on 3 threads");
		lm_parallel_set_threads(1);
	}
	return test_done();
}
