/*
 * test_kernels.c — the matrix kernels (nn/matrix.h) against double-precision
 * references, on every instruction set this CPU runs, and the batched
 * encoder (lm_model_embed_batch) against one input at a time.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "nn/blas.h"
#include "nn/distance.h"
#include "nn/matrix.h"
#include "nn/ops.h"
#include "nn/weights.h"
#include "testutil.h"
#include "util/file.h"

/* float32 accumulation over up to ~1000 terms, relative to Σ|terms| */
#define TOL_SUM 1e-5
/* the batched encoder does the same arithmetic in larger products */
#define TOL_BATCH 1e-5

static uint64_t rng = 88172645463325252ull;

static float
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float) ((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Round a float to the nearest float16 through a table-free search-free path:
 * good enough for test data (normal range, ties are irrelevant). */
static uint16_t
to_f16(float f)
{
	uint32_t	x;
	uint32_t	sign;
	int			e;
	uint32_t	m;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	e = (int) ((x >> 23) & 0xff) - 127 + 15;
	m = x & 0x7fffff;
	if (e <= 0)
		return (uint16_t) sign;
	if (e >= 31)
		return (uint16_t) (sign | 0x7c00);
	return (uint16_t) (sign | ((uint32_t) e << 10) | (m >> 13));
}

/* Random weights of a dtype; *ref receives the exact float values. */
static void *
random_weights(LmDType dt, long count, double *ref)
{
	void	   *w = malloc(count * (dt == LM_DTYPE_F32 ? 4 : 2));

	for (long i = 0; i < count; i++)
	{
		float		f = uniform();

		if (dt == LM_DTYPE_F32)
		{
			((float *) w)[i] = f;
			ref[i] = f;
		}
		else if (dt == LM_DTYPE_F16)
		{
			uint16_t	h = to_f16(f);

			((uint16_t *) w)[i] = h;
			ref[i] = lm_f16_to_f32(h);
		}
		else
		{
			uint32_t	bits;
			uint16_t	h;

			memcpy(&bits, &f, 4);
			h = (uint16_t) (bits >> 16);
			((uint16_t *) w)[i] = h;
			ref[i] = lm_bf16_to_f32(h);
		}
	}
	return w;
}

static const char *
dtype_name(LmDType dt)
{
	return dt == LM_DTYPE_F32 ? "F32" : dt == LM_DTYPE_F16 ? "F16" : "BF16";
}

static const LmDType dtypes[] = {LM_DTYPE_F32, LM_DTYPE_F16, LM_DTYPE_BF16};

/* ----------------------------------------------------------------------------
 * Element conversions: every 16-bit pattern, every instruction set */

static void
test_widen(LmSimd simd)
{
	uint16_t   *all = malloc(65536 * sizeof(uint16_t));
	float	   *out = malloc(65537 * sizeof(float));

	for (int i = 0; i < 65536; i++)
		all[i] = (uint16_t) i;
	for (int d = 1; d < 3; d++)
	{
		LmDType		dt = dtypes[d];
		int			bad = 0;

		/* an odd count and an odd start exercise the tails */
		lm_widen(all + 1, dt, 65535, out + 1);
		for (int i = 1; i < 65536; i++)
		{
			float		want = dt == LM_DTYPE_F16 ? lm_f16_to_f32(all[i]) : lm_bf16_to_f32(all[i]);

			if (isnan(want) ? !isnan(out[i]) : memcmp(&want, &out[i], 4) != 0)
				bad++;
		}
		CHECK(bad == 0, "%s: widening every %s value is exact (%d differ)",
			  lm_simd_name(simd), dtype_name(dt), bad);
	}
	free(all);
	free(out);
}

/* ----------------------------------------------------------------------------
 * Matrix-vector products */

static void
test_gemv(LmSimd simd)
{
	/* 1030 and 2053 columns: rows longer than the kernels' short-row limit (4 KB) */
	static const int sizes[] = {1, 3, 4, 5, 8, 15, 16, 17, 31, 33, 64, 100, 257, 1030, 2053};
	const int	n_sizes = sizeof(sizes) / sizeof(sizes[0]);

	for (int d = 0; d < 3; d++)
	{
		LmDType		dt = dtypes[d];
		double		worst = 0,
					worst_t = 0;

		for (int a = 0; a < n_sizes; a++)
			for (int b = 0; b < n_sizes; b++)
			{
				int			rows = sizes[a],
							cols = sizes[b];
				double	   *ref = malloc((size_t) rows * cols * sizeof(double));
				void	   *w = random_weights(dt, (long) rows * cols, ref);
				LmMatrix	m = {w, dt, rows, cols};
				float	   *x = malloc(rows * cols * sizeof(float) + 4 * sizeof(float));
				float	   *y = malloc((rows + cols) * sizeof(float));
				float	   *y0 = malloc((rows + cols) * sizeof(float));
				int			longest = rows > cols ? rows : cols;

				for (int i = 0; i < longest; i++)
					x[i] = uniform();
				for (int i = 0; i < rows + cols; i++)
					y0[i] = y[i] = uniform();

				/* y[rows] += W · x[cols] */
				lm_gemv(&m, x, y);
				for (int r = 0; r < rows; r++)
				{
					double		sum = y0[r],
								mag = fabs(y0[r]);

					for (int c = 0; c < cols; c++)
					{
						sum += ref[(long) r * cols + c] * x[c];
						mag += fabs(ref[(long) r * cols + c] * x[c]);
					}
					if (fabs(y[r] - sum) / mag > worst)
						worst = fabs(y[r] - sum) / mag;
				}

				/* y[cols] += x[rows] · W */
				memcpy(y, y0, (rows + cols) * sizeof(float));
				lm_gemv_t(&m, x, y);
				for (int c = 0; c < cols; c++)
				{
					double		sum = y0[c],
								mag = fabs(y0[c]);

					for (int r = 0; r < rows; r++)
					{
						sum += ref[(long) r * cols + c] * x[r];
						mag += fabs(ref[(long) r * cols + c] * x[r]);
					}
					if (fabs(y[c] - sum) / mag > worst_t)
						worst_t = fabs(y[c] - sum) / mag;
				}
				free(ref);
				free(w);
				free(x);
				free(y);
				free(y0);
			}
		CHECK(worst < TOL_SUM, "%s: %s gemv matches a double reference (worst %.2g)",
			  lm_simd_name(simd), dtype_name(dt), worst);
		CHECK(worst_t < TOL_SUM, "%s: %s gemv_t matches a double reference (worst %.2g)",
			  lm_simd_name(simd), dtype_name(dt), worst_t);
	}
}

/* ----------------------------------------------------------------------------
 * Products of several rows (gemm.c) */

static double
check_matmul(LmDType dt, int n, int in, int out, bool io, bool accumulate, bool bias)
{
	int			rows = io ? in : out,
				cols = io ? out : in;
	double	   *ref = malloc((size_t) rows * cols * sizeof(double));
	void	   *w = random_weights(dt, (long) rows * cols, ref);
	LmMatrix	m = {w, dt, rows, cols};
	float	   *x = malloc((size_t) n * in * sizeof(float));
	float	   *y = malloc((size_t) n * out * sizeof(float));
	float	   *y0 = malloc((size_t) n * out * sizeof(float));
	float	   *b = malloc(out * sizeof(float));
	double		worst = 0;

	for (long i = 0; i < (long) n * in; i++)
		x[i] = uniform();
	for (long i = 0; i < (long) n * out; i++)
		y0[i] = y[i] = uniform();
	for (int j = 0; j < out; j++)
		b[j] = uniform();
	if (io)
		lm_matmul_io(y, x, &m, bias ? b : NULL, n, accumulate);
	else
		lm_matmul(y, x, &m, bias ? b : NULL, n, accumulate);
	for (int t = 0; t < n; t++)
		for (int j = 0; j < out; j++)
		{
			double		sum = (accumulate ? y0[(long) t * out + j] : 0) + (bias ? b[j] : 0);
			double		mag = fabs(sum);

			for (int i = 0; i < in; i++)
			{
				double		wij = io ? ref[(long) i * out + j] : ref[(long) j * in + i];

				sum += wij * x[(long) t * in + i];
				mag += fabs(wij * x[(long) t * in + i]);
			}
			if (fabs(y[(long) t * out + j] - sum) / mag > worst)
				worst = fabs(y[(long) t * out + j] - sum) / mag;
		}
	free(ref);
	free(w);
	free(x);
	free(y);
	free(y0);
	free(b);
	return worst;
}

/*
 * Shapes that reach every part of gemm.c: rows past a tile (12, 6 or 4) and
 * past a block (240 rows; for [out][in] weights on AVX-512, 512 KB of
 * copied rows), inner dimensions past a block (256) and not a multiple of
 * a register, outputs that end in a partial panel; and a few rows (up to
 * 8: the gemv kernels, one vector a row).
 */
static void
test_matmul(void)
{
	static const int shapes[][3] = {	/* n, in, out */
		{9, 300, 150}, {11, 37, 29}, {13, 64, 96}, {250, 40, 70}, {10, 517, 33}, {25, 768, 64},
		{200, 1100, 40}, {1, 300, 77}, {3, 37, 29}, {8, 517, 150}};
	LmSimd		best = lm_simd_best();

	for (int simd = LM_SIMD_C; simd <= (int) best; simd++)
	{
		lm_simd_use((LmSimd) simd);
		for (int d = 0; d < 3; d++)
		{
			LmDType		dt = dtypes[d];
			double		worst = 0;

			for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
				for (int io = 0; io < 2; io++)
				{
					double		e = check_matmul(dt, shapes[s][0], shapes[s][1], shapes[s][2], io,
												 s % 2 == 1, s % 3 != 2);

					worst = e > worst ? e : worst;
				}
			CHECK(worst < TOL_SUM, "%s: %s matmul and matmul_io (tiles, blocks, bias, accumulate) match a double reference (worst %.2g)",
				  lm_simd_name((LmSimd) simd), dtype_name(dt), worst);
		}
	}
	lm_simd_use(best);
}

/* ----------------------------------------------------------------------------
 * Activations (vectorised on AVX2) against double-precision formulas */

static double
act_ref(double x, LmActivation act)
{
	switch (act)
	{
		case LM_ACT_GELU:
			return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
		case LM_ACT_GELU_TANH:
			return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
		case LM_ACT_QUICK_GELU:
			return x / (1.0 + exp(-1.702 * x));
		case LM_ACT_RELU:
			return x > 0 ? x : 0;
		case LM_ACT_SILU:
			return x / (1.0 + exp(-x));
	}
	return x;
}

static void
test_activations(void)
{
	static const LmActivation acts[] = {LM_ACT_GELU, LM_ACT_GELU_TANH, LM_ACT_QUICK_GELU,
	LM_ACT_RELU, LM_ACT_SILU};
	static const char *const names[] = {"gelu", "gelu_tanh", "quick_gelu", "relu", "silu"};
	const long	n = 200003;			/* odd: the scalar tail runs too */
	float	   *in = malloc(n * sizeof(float));
	float	   *x = malloc(n * sizeof(float));
	float	   *up = malloc(n * sizeof(float));

	for (long i = 0; i < n; i++)
	{
		in[i] = -20.0f + 40.0f * (float) i / (float) (n - 1);
		up[i] = 0.5f + (float) (i % 7);
	}
	in[0] = 0.0f;
	in[1] = -0.0f;
	in[2] = 1e-30f;
	in[3] = -100.0f;
	in[4] = 100.0f;
	for (int a = 0; a < 5; a++)
	{
		double		worst = 0,
					worst_gated = 0;

		memcpy(x, in, n * sizeof(float));
		lm_activate(x, n, acts[a]);
		for (long i = 0; i < n; i++)
		{
			double		want = act_ref(in[i], acts[a]);
			/* relative to the value, absolute below 1 */
			double		e = fabs(x[i] - want) / fmax(fabs(want), 1.0);

			worst = e > worst ? e : worst;
		}
		memcpy(x, in, n * sizeof(float));
		lm_gated(x, up, n, acts[a]);
		for (long i = 0; i < n; i++)
		{
			double		want = act_ref(in[i], acts[a]) * up[i];
			double		e = fabs(x[i] - want) / fmax(fabs(want), up[i]);

			worst_gated = e > worst_gated ? e : worst_gated;
		}
		/* the vectorised erf is within about 1e-6 of erf (parity allows 1e-4) */
		CHECK(worst < 2e-6 && worst_gated < 2e-6,
			  "%s (%s) matches its double formula on [-20, 20] (worst %.2g, gated %.2g)",
			  names[a], lm_simd_name(lm_simd_current()), worst, worst_gated);
	}
	free(in);
	free(x);
	free(up);
}

/* ----------------------------------------------------------------------------
 * Weights: 16-bit matrices stay 16-bit */

static void
test_weight_matrix(void)
{
	static const char header[] =
		"{\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
		"\"b\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[12,24]},"
		"\"c\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[24,40]}}";
	size_t		hlen = sizeof(header) - 1;
	uint8_t    *buf = calloc(1, 8 + hlen + 40 + 1);
	LmTensorSet set = {0};
	LmWeightStore ws;
	LmError		err;
	const LmMatrix *a,
			   *b,
			   *c;
	float		row[3];
	uint64_t	len = hlen;
	double		d2[2] = {0.5, -2.0};

	test_error_init(&err);
	memcpy(buf, &len, 8);
	memcpy(buf + 8, header, hlen);
	for (int i = 0; i < 6; i++)
	{
		uint16_t	h = to_f16((float) (i + 1));
		uint16_t	bf = (uint16_t) (0x3f80 + (i << 7));	/* 1, 2, 4, ... */

		memcpy(buf + 8 + hlen + 2 * i, &h, 2);
		memcpy(buf + 8 + hlen + 12 + 2 * i, &bf, 2);
	}
	memcpy(buf + 8 + hlen + 24, d2, 16);
	if (!CHECK(lm_safetensors_parse(buf, 8 + hlen + 40, &set, &err) == 0,
			   "a small checkpoint parses: %s", err.message))
		return;
	lm_weights_init(&ws, &set);
	a = lm_weight_matrix(&ws, &err, 2, 3, "a");
	b = lm_weight_matrix(&ws, &err, 3, 2, "b");
	c = lm_weight_matrix(&ws, &err, 1, 2, "c");
	CHECK(a && a->dtype == LM_DTYPE_F16 && b && b->dtype == LM_DTYPE_BF16 && c &&
		  c->dtype == LM_DTYPE_F32, "F16 and BF16 matrices keep their width, F64 becomes F32");
	if (a && b && c)
	{
		bool		aligned = (uintptr_t) lm_tensorset_find(&set, "a")->data % 2 == 0;

		CHECK(!aligned || a->data == lm_tensorset_find(&set, "a")->data,
			  "an aligned F16 matrix is used in place, not copied");
		lm_matrix_row(a, 1, 0, 3, row);
		CHECK(row[0] == 4 && row[1] == 5 && row[2] == 6, "lm_matrix_row widens F16 rows");
		lm_matrix_row(b, 2, 1, 1, row);
		CHECK(row[0] == 32.0f, "lm_matrix_row widens BF16 elements from a column");
		CHECK(((const float *) c->data)[1] == -2.0f, "F64 matrices are converted");
		CHECK(ws.n_params == 14, "every matrix counts its parameters once (%lld)",
			  (long long) ws.n_params);
	}
	CHECK(lm_weight_matrix(&ws, &err, 3, 3, "a") == NULL && strstr(err.message, "shape") != NULL,
		  "a wrong shape is an error: %s", err.message);
	lm_weights_free(&ws);
	lm_tensorset_free(&set);
	free(buf);
}

/* ----------------------------------------------------------------------------
 * The batched encoder */

static LmModel *
load_fixture(const char *name, LmTensorSet *set, char **config)
{
	char		path[768];
	size_t		len;
	LmError		err;
	LmModel    *m = NULL;

	test_error_init(&err);
	snprintf(path, sizeof(path), "%s/models/%s/config.json", test_fixtures_dir(), name);
	if (lm_read_file(path, 1 << 20, (uint8_t **) config, &len, &err) == 0)
	{
		snprintf(path, sizeof(path), "%s/models/%s/model.safetensors", test_fixtures_dir(), name);
		if (lm_safetensors_load(path, set, &err) == 0)
			m = lm_model_load(*config, len, set, &err);
	}
	CHECK(m != NULL, "load %s: %s", name, m ? "ok" : err.message);
	return m;
}

static double
rel_diff(const float *a, const float *b, long n)
{
	double		num = 0,
				den = 0;

	for (long i = 0; i < n; i++)
	{
		if (fabs(a[i] - b[i]) > num)
			num = fabs(a[i] - b[i]);
		if (fabs(b[i]) > den)
			den = fabs(b[i]);
	}
	return den > 0 ? num / den : num;
}

/*
 * n_seq inputs of 1 .. max_len ids (the first max_len long when
 * longest_first), one after another: *lengths and *ids (malloc'd); returns
 * how many ids.
 */
static long
batch_inputs(int n_seq, int max_len, bool longest_first, int vocab, int **lengths, int32_t **ids)
{
	long		total = 0;

	*lengths = malloc(n_seq * sizeof(int));
	for (int i = 0; i < n_seq; i++)
	{
		(*lengths)[i] = i == 0 && longest_first ? max_len : 1 + (int) ((i * 37L + 5) % max_len);
		total += (*lengths)[i];
	}
	*ids = malloc(total * sizeof(int32_t));
	for (long i = 0; i < total; i++)
		(*ids)[i] = (int32_t) ((i * 7919 + 3) % vocab);
	return total;
}

typedef struct EmbedThread
{
	const LmModel *m;
	const int32_t *ids;
	const int  *lengths;
	int			n_seq;
	float	   *out;
	int			rc;
} EmbedThread;

/* Three batches in a row, mean-pooled, into out. */
static void *
embed_thread(void *arg)
{
	EmbedThread *t = arg;
	LmError		err;

	test_error_init(&err);
	for (int i = 0; i < 3 && t->rc == 0; i++)
		t->rc = lm_model_embed_batch(t->m, t->ids, NULL, t->lengths, t->n_seq, LM_POOL_MEAN, false,
									 t->out, &err);
	return NULL;
}

static void
test_embed_batch(const char *name, int n_seq, int max_len)
{
	LmTensorSet set = {0};
	char	   *config = NULL;
	LmModel    *m = load_fixture(name, &set, &config);
	const LmModelInfo *info;
	int		   *lengths;
	int32_t    *ids;
	uint8_t    *masks;
	float	   *batch,
			   *single;
	long		total = 0;
	LmError		err;

	if (m == NULL)
		return;
	info = lm_model_info(m);
	test_error_init(&err);
	total = batch_inputs(n_seq, max_len, true, info->vocab_size, &lengths, &ids);
	masks = malloc(total);
	memset(masks, 1, total);
	/* padding at the end of every other input */
	for (int i = 0, off = 0; i < n_seq; off += lengths[i], i++)
		if (i % 2 == 1 && lengths[i] > 2)
			masks[off + lengths[i] - 1] = masks[off + lengths[i] - 2] = 0;
	batch = malloc((size_t) n_seq * info->hidden_size * sizeof(float));
	single = malloc((size_t) n_seq * info->hidden_size * sizeof(float));

	for (int mode = 0; mode < 2; mode++)
	{
		LmPooling	pooling = mode == 0 ? LM_POOL_MEAN : LM_POOL_CLS;
		const uint8_t *mk = mode == 0 ? masks : NULL;
		int			rc = lm_model_embed_batch(m, ids, mk, lengths, n_seq, pooling, mode == 0,
											  batch, &err);
	double		worst = 0;

		if (!CHECK(rc == 0, "%s: embed a batch of %d inputs (%ld tokens): %s", name, n_seq, total,
				   rc == 0 ? "ok" : err.message))
			continue;
		for (int i = 0, off = 0; i < n_seq; off += lengths[i], i++)
		{
			double		e;

			if (lm_model_embed(m, ids + off, mk ? mk + off : NULL, lengths[i], pooling, mode == 0,
							   single + (long) i * info->hidden_size, &err) < 0)
			{
				worst = INFINITY;
				break;
			}
			e = rel_diff(batch + (long) i * info->hidden_size, single + (long) i * info->hidden_size,
						 info->hidden_size);
			worst = e > worst ? e : worst;
		}
		CHECK(worst < TOL_BATCH, "%s: batched %s embeddings%s match one at a time (worst %.2g)",
			  name, lm_pooling_name(pooling), mk ? " with padding" : "", worst);
	}

	/*
	 * The model keeps its batch scratch between calls: a batch without the
	 * longest input, the whole batch (the scratch grows), the first again;
	 * and two threads at once (one of them allocates its own).
	 */
	if (n_seq > 2)
	{
		size_t		row_bytes = info->hidden_size * sizeof(float);
		float	   *first = malloc((n_seq - 1) * row_bytes),
				   *again = malloc((n_seq - 1) * row_bytes);
		EmbedThread th[2];
		pthread_t	t[2];
		bool		same = true;

		lm_model_free(m);		/* a new model: its scratch starts empty */
		m = lm_model_load(config, strlen(config), &set, &err);
		if (m != NULL)
			info = lm_model_info(m);	/* the old model's info went with it */
		same = m != NULL &&
			lm_model_embed_batch(m, ids + lengths[0], NULL, lengths + 1, n_seq - 1, LM_POOL_MEAN, false, first, &err) == 0 &&
			lm_model_embed_batch(m, ids, NULL, lengths, n_seq, LM_POOL_MEAN, false, batch, &err) == 0 &&
			lm_model_embed_batch(m, ids + lengths[0], NULL, lengths + 1, n_seq - 1, LM_POOL_MEAN, false, again, &err) == 0 &&
			memcmp(first, again, (n_seq - 1) * row_bytes) == 0;
		CHECK(same, "%s: a smaller batch after a larger one (the kept scratch) gives the same bits", name);
		for (int i = 0; m != NULL && i < 2; i++)
		{
			th[i] = (EmbedThread) {m, ids, lengths, n_seq, malloc(n_seq * row_bytes), 0};
			pthread_create(&t[i], NULL, embed_thread, &th[i]);
		}
		for (int i = 0; m != NULL && i < 2; i++)
		{
			pthread_join(t[i], NULL);
			same &= th[i].rc == 0 && memcmp(th[i].out, batch, n_seq * row_bytes) == 0;
			free(th[i].out);
		}
		CHECK(same, "%s: two threads embedding batches with one model at once give the same bits", name);
		free(first);
		free(again);
		if (m == NULL)
			goto done;
	}

	/* bad batches */
	{
		int			bad_lengths[2] = {3, 0};
		int			long_lengths[1] = {info->max_positions + 1};
		int32_t    *long_ids = calloc(info->max_positions + 1, sizeof(int32_t));

		CHECK(lm_model_embed_batch(m, ids, NULL, lengths, 0, LM_POOL_MEAN, false, batch, &err) < 0,
			  "%s: an empty batch is an error: %s", name, err.message);
		CHECK(lm_model_embed_batch(m, ids, NULL, bad_lengths, 2, LM_POOL_MEAN, false, batch, &err) < 0 &&
			  strstr(err.message, "input 2") != NULL,
			  "%s: an empty input is an error naming it: %s", name, err.message);
		CHECK(lm_model_embed_batch(m, long_ids, NULL, long_lengths, 1, LM_POOL_MEAN, false, batch, &err) < 0 &&
			  strstr(err.message, "longer") != NULL,
			  "%s: an input past the context is an error: %s", name, err.message);
		free(long_ids);
	}
done:
	free(lengths);
	free(ids);
	free(masks);
	free(batch);
	free(single);
	lm_model_free(m);
	lm_tensorset_free(&set);
	free(config);
}

/* Classification logits of a batch: each input's as alone; a model without the head refuses. */
static void
test_classify_batch(const char *name, int n_seq, int max_len)
{
	LmTensorSet set = {0};
	char	   *config = NULL;
	LmModel    *m = load_fixture(name, &set, &config);
	const LmModelInfo *info;
	int		   *lengths;
	int32_t    *ids;
	float	   *batch,
			   *single;
	double		worst = 0;
	LmError		err;

	if (m == NULL)
		return;
	info = lm_model_info(m);
	test_error_init(&err);
	batch_inputs(n_seq, max_len, false, info->vocab_size, &lengths, &ids);
	batch = malloc((size_t) n_seq * (info->num_labels + 1) * sizeof(float));
	single = malloc((size_t) (info->num_labels + 1) * sizeof(float));
	if (info->num_labels == 0)
	{
		CHECK(lm_model_classify_batch(m, ids, lengths, n_seq, batch, &err) < 0 &&
			  strstr(err.message, "sequence-classification head") != NULL, "%s: no classification head: %s",
			  name, err.message);
		goto done;
	}
	if (!CHECK(lm_model_classify_batch(m, ids, lengths, n_seq, batch, &err) == 0,
			   "%s: classify a batch of %d inputs%s%s", name, n_seq, err.message[0] ? ": " : "",
			   err.message))
		goto done;
	for (int i = 0, off = 0; i < n_seq; off += lengths[i], i++)
	{
		double		e;

		if (lm_model_classify(m, ids + off, lengths[i], single, &err) < 0)
		{
			worst = INFINITY;
			break;
		}
		e = rel_diff(batch + (long) i * info->num_labels, single, info->num_labels);
		worst = e > worst ? e : worst;
	}
	CHECK(worst < TOL_BATCH, "%s: batched classification logits match one at a time (worst %.2g)",
		  name, worst);
done:
	free(lengths);
	free(ids);
	free(batch);
	free(single);
	lm_model_free(m);
	lm_tensorset_free(&set);
	free(config);
}

/* Scores of a batch (causal models, each input attending to itself): each as alone. */
static void
test_score_batch(const char *name, int n_seq, int max_len)
{
	LmTensorSet set = {0};
	char	   *config = NULL;
	LmModel    *m = load_fixture(name, &set, &config);
	int		   *lengths;
	int32_t    *ids;
	double	   *sums;
	double		worst = 0;
	LmError		err;

	if (m == NULL)
		return;
	test_error_init(&err);
	batch_inputs(n_seq, max_len, false, lm_model_info(m)->vocab_size, &lengths, &ids);
	sums = malloc(n_seq * sizeof(double));
	if (!lm_model_info(m)->causal)
	{
		CHECK(lm_model_score_batch(m, ids, lengths, n_seq, sums, &err) < 0 &&
			  strstr(err.message, "causal language-model head") != NULL,
			  "%s: not a causal model, no batch scores: %s", name, err.message);
		goto done;
	}
	if (!CHECK(lm_model_score_batch(m, ids, lengths, n_seq, sums, &err) == 0,
			   "%s: score a batch of %d inputs%s%s", name, n_seq, err.message[0] ? ": " : "", err.message))
		goto done;
	for (int i = 0, off = 0; i < n_seq; off += lengths[i], i++)
	{
		double		alone;
		int			scored;

		if (lm_model_score(m, ids + off, lengths[i], &alone, &scored, &err) < 0 || scored != lengths[i] - 1)
		{
			worst = INFINITY;
			break;
		}
		if (fabs(sums[i] - alone) / (fabs(alone) > 1 ? fabs(alone) : 1) > worst)
			worst = fabs(sums[i] - alone) / (fabs(alone) > 1 ? fabs(alone) : 1);
	}
	CHECK(worst < TOL_BATCH, "%s: batched scores match one at a time (worst %.2g)", name, worst);
done:
	free(lengths);
	free(ids);
	free(sums);
	lm_model_free(m);
	lm_tensorset_free(&set);
	free(config);
}

/*
 * Distances on one kernel set against double-precision sums, for lengths
 * around every register width (the tails) and typical embedding sizes.
 */
static void
test_distances(LmSimd simd)
{
	static const int lengths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 384, 1000};
	double		worst = 0;

	srand(7);
	for (int k = 0; k < (int) (sizeof(lengths) / sizeof(lengths[0])); k++)
	{
		int			n = lengths[k];
		float	   *a = malloc(n * sizeof(float)),
				   *b = malloc(n * sizeof(float));
		double		dot = 0,
					aa = 0,
					bb = 0,
					l2 = 0,
					got[5];

		for (int i = 0; i < n; i++)
		{
			a[i] = (float) rand() / RAND_MAX * 2 - 1;
			b[i] = (float) rand() / RAND_MAX * 2 - 1;
			dot += (double) a[i] * b[i];
			aa += (double) a[i] * a[i];
			bb += (double) b[i] * b[i];
			l2 += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
		}
		got[0] = lm_l2_squared(a, b, n);
		got[1] = lm_inner_product(a, b, n);
		lm_cosine_sums(a, b, n, &got[2], &got[3], &got[4]);
		{
			double		want[5] = {l2, dot, dot, aa, bb};

			for (int j = 0; j < 5; j++)
			{
				/* relative to the sum of magnitudes: a dot product near 0 has no relative size */
				double		e = fabs(got[j] - want[j]) / (aa + bb + 1e-30);

				worst = e > worst ? e : worst;
			}
		}
		free(a);
		free(b);
	}
	CHECK(worst < 1e-6, "%s: L2, inner product and cosine sums match double sums (worst %.2g)",
		  lm_simd_name(simd), worst);
}

int
main(void)
{
	LmSimd		best = lm_simd_best();
	LmError		err;

	test_error_init(&err);
	if (lm_blas_init(&err) < 0)
		printf("# OpenBLAS not loaded (%s): its routines run in plain C\n", err.message);
	printf("# best kernels on this CPU: %s\n", lm_simd_name(best));
	for (int s = LM_SIMD_C; s <= LM_SIMD_AVX512; s++)
	{
		if (!lm_simd_use((LmSimd) s))
		{
			printf("# %s: not supported by this CPU, skipped\n", lm_simd_name((LmSimd) s));
			continue;
		}
		test_widen((LmSimd) s);
		test_gemv((LmSimd) s);
		test_distances((LmSimd) s);
		test_activations();
	}
	lm_simd_use(best);
	CHECK(lm_simd_current() == best, "the best kernels are back in use");
	test_matmul();
	test_weight_matrix();

	/* within one chunk, then across LM_EMBED_BATCH_TOKENS (10 × up to 250 tokens) */
	test_embed_batch("minilm-tiny-st", 7, 40);
	test_embed_batch("bert-tiny-mlm", 20, 250);
	test_embed_batch("bert-tiny-langid", 3, 17);
	/* decoders: each input attends causally to itself */
	test_embed_batch("gpt2-tiny-f16", 4, 20);
	test_embed_batch("llama-tiny", 5, 24);
	test_classify_batch("bert-tiny-langid", 9, 30);
	test_classify_batch("bert-tiny-mlm", 2, 10);
	test_score_batch("gpt2-tiny", 7, 30);
	test_score_batch("llama-tiny-bf16", 6, 25);
	test_score_batch("bert-tiny-mlm", 2, 10);
	return test_done();
}
