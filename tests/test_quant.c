/*
 * test_quant.c — quantized weights against llama.cpp (fixtures made by
 * tests/gguf/make_quant_fixtures.sh in tests/data/gguf/quant):
 *   - each type's blocks dequantize to what gguf-py's dequantizer gives;
 *   - weights quantized to Q8_0 here are byte for byte llama-quantize's;
 *   - every kernel (C, AVX2, AVX-512 where the CPU has them) computes the
 *     dot product of the blocks with the quantized activations;
 *   - whole models, one per type, with every kernel set the CPU has: logits
 *     at 2,048 positions (32 sequences of 64) against
 *     llama.cpp's (top-1 agreement, mean KL divergence) and greedy
 *     continuations decoded token by token.
 */
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "formats/gguf_hf.h"
#include "models/model.h"
#include "nn/matrix.h"
#include "nn/parallel.h"
#include "nn/quant.h"
#include "nn/quant_blocks.h"
#include "nn/weights.h"
#include "testutil.h"

static const char *const TYPES[] = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"};
#define N_TYPES (int) (sizeof(TYPES) / sizeof(TYPES[0]))

static void
data_path(char *out, size_t size, const char *name)
{
	char		source[4096];

	snprintf(source, sizeof(source), "%s", __FILE__);
	snprintf(out, size, "%s/data/gguf/quant/%s", dirname(source), name);
}

static void *
read_file(const char *name, size_t *len)
{
	char		path[4300];
	FILE	   *f;
	void	   *buf = NULL;
	long		size;

	data_path(path, sizeof(path), name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
		(buf = malloc(size)) != NULL && fread(buf, 1, size, f) != (size_t) size)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = buf != NULL ? (size_t) size : 0;
	return buf;
}

static bool
load_gguf(const char *name, LmGguf *g)
{
	char		path[4300];
	LmError		err;

	test_error_init(&err);
	data_path(path, sizeof(path), name);
	if (lm_gguf_load(path, g, &err) != 0)
	{
		printf("# %s: %s\n", name, err.message);
		return false;
	}
	return true;
}

static LmDType
dtype_named(const char *name)
{
	LmDType		t = LM_DTYPE_F32;
	LmError		err;

	test_error_init(&err);
	lm_dtype_from_name(name, &t, &err);
	return t;
}

/* ---- blocks ------------------------------------------------------------------ */

/* token_embd.weight of each file dequantized, against gguf-py's dequantizer. */
static void
test_dequantize(void)
{
	for (int k = 0; k < N_TYPES; k++)
	{
		char		name[64];
		LmGguf		g;
		const LmGgufTensor *t;
		float	   *want,
				   *got;
		size_t		len;
		long		n,
					differ = 0;

		snprintf(name, sizeof(name), "llama-q-%s.token_embd.f32", TYPES[k]);
		want = read_file(name, &len);
		snprintf(name, sizeof(name), "llama-q-%s.gguf", TYPES[k]);
		if (!CHECK(want != NULL && load_gguf(name, &g), "%s: fixture and reference read", TYPES[k]))
			continue;
		t = lm_gguf_tensor(&g, "token_embd.weight");
		n = (long) (len / sizeof(float));
		got = malloc(len);
		if (CHECK(t != NULL && got != NULL && t->ne[0] * t->ne[1] == n, "%s: token_embd.weight of %ld elements",
				  TYPES[k], n))
		{
			/* with the best instruction set (AVX-512 has its own for some types), then in plain C */
			for (LmSimd simd = lm_simd_best();; simd = LM_SIMD_C)
			{
				lm_simd_use(simd);
				differ = 0;
				lm_dequantize(t->data, dtype_named(TYPES[k]), n, got);
				for (long i = 0; i < n; i++)
					differ += got[i] != want[i];
				CHECK(differ == 0, "%s: dequantized (%s) as gguf-py dequantizes (%ld of %ld elements differ)", TYPES[k],
					  lm_simd_name(simd), differ, n);
				if (simd == LM_SIMD_C)
					break;
			}
			lm_simd_use(lm_simd_best());
		}
		free(got);
		free(want);
		lm_gguf_free(&g);
	}
}

/* Every 2-D tensor of the F32 tiny Llama quantized to Q8_0, against llama-quantize's file. */
static void
test_quantize_q8_0(void)
{
	char		source[4096],
				path[4300];
	LmGguf		f32,
				q8;
	LmError		err;
	int			tensors = 0,
				same = 0;

	test_error_init(&err);
	snprintf(source, sizeof(source), "%s", __FILE__);
	snprintf(path, sizeof(path), "%s/data/gguf/llama-tiny-f32.gguf", dirname(source));
	if (!CHECK(lm_gguf_load(path, &f32, &err) == 0 && load_gguf("llama-tiny-q8_0.gguf", &q8),
			   "Q8_0 quantization: the F32 model and llama-quantize's Q8_0 of it"))
		return;
	for (size_t i = 0; i < f32.n_tensors; i++)
	{
		const LmGgufTensor *a = &f32.tensors[i];
		const LmGgufTensor *b = lm_gguf_tensor(&q8, a->name);
		long		n = (long) (a->nbytes / sizeof(float));
		void	   *mine;

		if (a->ndim != 2)
			continue;
		tensors++;
		if (b == NULL || b->type != LM_GGML_Q8_0 || b->nbytes != (uint64_t) n / QK * sizeof(BlockQ8_0) ||
			(mine = malloc(b->nbytes)) == NULL)
			continue;
		lm_quantize_q8_0((const float *) a->data, n, mine);
		same += memcmp(mine, b->data, b->nbytes) == 0;
		free(mine);
	}
	CHECK(tensors > 0 && same == tensors, "Q8_0 quantization: %d of %d matrices byte for byte llama-quantize's",
		  same, tensors);
	lm_gguf_free(&f32);
	lm_gguf_free(&q8);
}

/* ---- kernels ------------------------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static float
gaussian(void)
{
	double		u1,
				u2;

	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	u1 = ((rng >> 11) + 1.0) / 9007199254740994.0;
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	u2 = (rng >> 11) / 9007199254740992.0;
	return (float) (sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

/*
 * On rows of each fixture's blk.0.ffn_down.weight (real blocks written by
 * llama-quantize): the activations quantize to within half a step, and
 * every kernel gives Σ w·x̂ of the dequantized weights and activations.
 */
static void
test_kernels(void)
{
	enum
	{
		COLS = 256, ROWS = 8
	};
	static const char *const simd_names[] = {"C", "AVX2", "AVX-512"};

	printf("# kernels: this CPU runs %s; lm_quant_matmul uses %s\n", lm_simd_name(lm_simd_best()),
		   simd_names[lm_quant_simd()]);
	for (int k = 0; k < N_TYPES; k++)
	{
		LmDType		dtype = dtype_named(TYPES[k]);
		char		name[64];
		LmGguf		g;
		const LmGgufTensor *t;
		float		x[COLS],
					xhat[COLS],
					w[COLS];
		unsigned char xq[COLS / QK * sizeof(BlockQ8_1) + sizeof(BlockQ8_K)];
		double		worst_step = 0;

		snprintf(name, sizeof(name), "llama-q-%s.gguf", TYPES[k]);
		if (!load_gguf(name, &g) || (t = lm_gguf_tensor(&g, "blk.0.attn_q.weight")) == NULL || t->ne[0] != COLS)
		{
			CHECK(false, "%s: blk.0.attn_q.weight of %d columns", TYPES[k], COLS);
			continue;
		}
		for (int i = 0; i < COLS; i++)
			x[i] = gaussian() * (i % 7 == 0 ? 4.0f : 1.0f);
		lm_quant_activations(dtype, x, COLS, xq);
		lm_quant_activations_value(dtype, xq, COLS, xhat);
		for (int i = 0; i < COLS; i++)
		{
			int			block = dtype == LM_DTYPE_Q4_K || dtype == LM_DTYPE_Q5_K || dtype == LM_DTYPE_Q6_K ? QK_K : QK;
			float		amax = 0;

			for (int j = i / block * block; j < (i / block + 1) * block; j++)
				amax = fmaxf(amax, fabsf(x[j]));
			/* half a step of max|x|/127, and float16's rounding of the scale */
			worst_step = fmax(worst_step, fabs(xhat[i] - x[i]) / (amax / 127.0));
		}
		CHECK(worst_step <= 0.5 + 127 * 1e-3, "%s: activations quantized within half a step (%.3f steps)", TYPES[k],
			  worst_step);
		for (LmSimd simd = LM_SIMD_C; simd <= LM_SIMD_AVX512; simd++)
		{
			LmQuantDotFn dot = lm_quant_dot_kernel(dtype, simd);
			double		worst = 0;

			if (dot == NULL)
			{
				printf("# %s: no %s kernel %s\n", TYPES[k], simd_names[simd],
					   simd > lm_simd_best() || (simd == LM_SIMD_AVX512 && lm_quant_simd() < LM_SIMD_AVX512)
					   ? "(this CPU lacks the instructions)" : "(the AVX2 one serves)");
				continue;
			}
			for (int r = 0; r < ROWS; r++)
			{
				const char *row = (const char *) t->data + (size_t) r * (t->nbytes / t->ne[1]);
				double		want = 0,
							scale = 0;
				float		got;

				lm_dequantize(row, dtype, COLS, w);
				for (int i = 0; i < COLS; i++)
				{
					want += (double) w[i] * xhat[i];
					scale += fabs((double) w[i] * xhat[i]);
				}
				if (dtype == LM_DTYPE_Q4_1 || dtype == LM_DTYPE_Q5_1)
				{
					/*
					 * the minimums' share is m·s, s = d·Σq of the activations
					 * kept in float16 (llama.cpp's Q8_1): not quite m·Σx̂
					 */
					want = 0;
					for (int b = 0; b < COLS / QK; b++)
					{
						const BlockQ8_1 *xb = (const BlockQ8_1 *) xq + b;
						float		m = lm_f16_to_f32(dtype == LM_DTYPE_Q4_1 ? ((const BlockQ4_1 *) row)[b].m
													 : ((const BlockQ5_1 *) row)[b].m);

						for (int i = b * QK; i < (b + 1) * QK; i++)
							want += ((double) w[i] - m) * xhat[i];
						want += (double) m * lm_f16_to_f32(xb->s);
					}
				}
				got = dot(row, xq, COLS);
				worst = fmax(worst, fabs(got - want) / scale);
			}
			CHECK(worst <= 1e-5, "%s: %s kernel gives Σ w·x of the blocks (relative error %.2g)", TYPES[k],
				  simd_names[simd], worst);
			if (simd == LM_SIMD_AVX512 && lm_qdot4_avx512(dtype) != NULL)
			{
				size_t		row_bytes = t->nbytes / t->ne[1];
				float		four[4];
				bool		same = true;

				lm_qdot4_avx512(dtype) (t->data, row_bytes, xq, COLS, four);
				for (int r = 0; r < 4; r++)
					same &= four[r] == dot((const char *) t->data + r * row_bytes, xq, COLS);
				CHECK(same, "%s: the AVX-512 four-row kernel gives the one-row kernel's bits", TYPES[k]);
			}
		}
		lm_gguf_free(&g);
	}
}

/*
 * Products of several rows, per type: decoded together (lm_matmul_each) or
 * on two threads they give each row's one-row result bit for bit; as a
 * prompt (lm_quant_gemm: integer tiles with AVX-512 VNNI, else widened
 * weights) within 1e-5 of the blocks' products, the same bits on two
 * threads.  N is not a multiple of the tiles' 8 rows of activations, and
 * the 64-row slice leaves a partial tile of weights where the matrix has one.
 */
static void
test_matmul_rows_and_threads(void)
{
	for (int k = 0; k < N_TYPES; k++)
	{
		LmDType		dtype = dtype_named(TYPES[k]);
		char		name[64];
		LmGguf		g;
		const LmGgufTensor *t;

		snprintf(name, sizeof(name), "llama-q-%s.gguf", TYPES[k]);
		if (!load_gguf(name, &g) || (t = lm_gguf_tensor(&g, "blk.0.ffn_gate.weight")) == NULL)
		{
			CHECK(false, "%s ffn_gate for products", TYPES[k]);
			continue;
		}
		{
			/* rows: all but the last 8, so that the last tile of 16 is partial */
			LmMatrix	w = {t->data, dtype, (int) t->ne[1] - 8, (int) t->ne[0]};
			enum
			{
				N = 13
			};
			size_t		out = (size_t) N * w.rows;
			float	   *x = malloc(sizeof(float) * N * w.cols);
			float	   *one = calloc(out, sizeof(float));
			float	   *all = calloc(out, sizeof(float));
			float	   *two = calloc(out, sizeof(float));
			float	   *wide = calloc(out, sizeof(float));
			float	   *wide_two = calloc(out, sizeof(float));
			double		worst = 0,
						scale = 0;
			int			old;

			for (int i = 0; i < N * w.cols; i++)
				x[i] = gaussian();
			for (int i = 0; i < N; i++)
				lm_matmul(one + (size_t) i * w.rows, x + (size_t) i * w.cols, &w, NULL, 1, false);
			lm_matmul_each(all, x, &w, NULL, N, false);
			lm_matmul(wide, x, &w, NULL, N, false);
			old = lm_parallel_set_threads(2);
			lm_matmul_each(two, x, &w, NULL, N, false);
			lm_matmul(wide_two, x, &w, NULL, N, false);
			lm_parallel_set_threads(old);
			CHECK(memcmp(one, all, sizeof(float) * out) == 0,
				  "%s: %d rows decoded together (lm_matmul_each) give each row's own product bit for bit", TYPES[k], N);
			CHECK(memcmp(all, two, sizeof(float) * out) == 0, "%s: two threads give one thread's bits", TYPES[k]);
			for (size_t i = 0; i < out; i++)
			{
				worst = fmax(worst, fabs(wide[i] - one[i]));
				scale = fmax(scale, fabs(one[i]));
			}
			CHECK(worst <= 1e-5 * scale, "%s: %d rows as a prompt (%s) within 1e-5 of the blocks' products "
				  "(%.2g of the largest)", TYPES[k], N,
				  lm_quant_simd() == LM_SIMD_AVX512 ? "integer tiles" : "weights widened to float32", worst / scale);
			CHECK(memcmp(wide, wide_two, sizeof(float) * out) == 0,
				  "%s: as a prompt, two threads give one thread's bits", TYPES[k]);
			free(wide);
			free(wide_two);
			free(x);
			free(one);
			free(all);
			free(two);
		}
		lm_gguf_free(&g);
	}
}

/*
 * The AVX-512 quantizing of activations gives the C code's bytes: random
 * rows, a block of zeros, the largest magnitude twice with both signs (the
 * first sets the sign of Q8_K's scale), and halves to round to even.
 */
static void
test_activation_bytes(void)
{
	enum
	{
		COLS = 1024
	};
	float		x[COLS];
	unsigned char c_bytes[COLS / QK * sizeof(BlockQ8_1) + COLS / QK_K * sizeof(BlockQ8_K)],
				simd_bytes[sizeof(c_bytes)];

	if (lm_quant_simd() != LM_SIMD_AVX512)
	{
		printf("# activation bytes: this CPU has no AVX-512 VNNI, only the C code quantizes activations\n");
		return;
	}
	for (int i = 0; i < COLS; i++)
		x[i] = gaussian() * (i < 512 ? 1.0f : 1e-3f);
	memset(x + 256, 0, sizeof(float) * 256);	/* a whole K block of zeros */
	x[600] = 3.0f;
	x[601] = -3.0f;
	x[700] = -2.0f;
	x[701] = 2.0f;
	for (int i = 768; i < 800; i++)
		x[i] = (i % 2 ? 0.5f : -1.5f) + (float) (i - 768);	/* max 127.5/ ... halves everywhere */
	x[799] = 127.0f;
	for (int k = 0; k < N_TYPES; k++)
	{
		LmDType		dtype = dtype_named(TYPES[k]);
		size_t		bytes = lm_quant_act_row_bytes(dtype, COLS);

		memset(c_bytes, 0, sizeof(c_bytes));
		memset(simd_bytes, 0, sizeof(simd_bytes));
		lm_quant_activations(dtype, x, COLS, simd_bytes);
		lm_simd_use(LM_SIMD_C);
		lm_quant_activations(dtype, x, COLS, c_bytes);
		lm_simd_use(lm_simd_best());
		CHECK(memcmp(c_bytes, simd_bytes, bytes) == 0, "%s: activations quantized with AVX-512 are the C code's bytes",
			  TYPES[k]);
	}
}

/* ---- models against llama.cpp --------------------------------------------------- */

static void
log_softmax(const float *logits, int n, double *out)
{
	double		max = logits[0],
				sum = 0;

	for (int i = 1; i < n; i++)
		max = fmax(max, logits[i]);
	for (int i = 0; i < n; i++)
		sum += exp(logits[i] - max);
	for (int i = 0; i < n; i++)
		out[i] = logits[i] - max - log(sum);
}

static int
argmax(const float *v, int n)
{
	int			best = 0;

	for (int i = 1; i < n; i++)
		best = v[i] > v[best] ? i : best;
	return best;
}

static LmModel *
load_model(const char *name, LmTensorSet *set)
{
	LmGguf		g;
	char	   *config = NULL;
	LmModel    *model = NULL;
	LmError		err;

	test_error_init(&err);
	if (!load_gguf(name, &g))
		return NULL;
	if (lm_gguf_as_hf(&g, &config, set, &err) == 0)
		model = lm_model_load(config, strlen(config), set, &err);
	if (model == NULL)
		printf("# %s: %s\n", name, err.message);
	lm_gguf_free(&g);
	free(config);
	return model;
}

/*
 * The greedy continuations, token by token, fed llama.cpp's tokens: at
 * every step where llama.cpp's top-1 margin is at least GREEDY_MARGIN our
 * top-1 must be its token.  Below that, the two may part: one activation
 * rounded to the other 8-bit step (from float differences of 1e-7 in
 * softmax, SiLU or the order of sums) moves a product by about 1e-3 of its
 * size, and later roundings follow (measured with every kernel set: steps
 * lost at margins 0.003 to 0.03).  Those steps are counted and printed.
 */
#define GREEDY_MARGIN 0.05

static void
test_greedy(const char *type_name, const char *type, LmModel *model, int vocab)
{
	char		name[64],
				path[4300];
	json_t	   *ref;
	json_error_t jerr;
	int			steps = 0,
				same = 0,
				close_steps = 0,
				close_same = 0;
	float	   *logits = malloc(sizeof(float) * vocab);
	LmError		err;

	test_error_init(&err);
	snprintf(name, sizeof(name), "llama-q-%s.greedy.json", type_name);
	data_path(path, sizeof(path), name);
	ref = json_load_file(path, 0, &jerr);
	for (size_t p = 0; ref != NULL && p < json_array_size(json_object_get(ref, "prompts")); p++)
	{
		json_t	   *prompt = json_array_get(json_object_get(ref, "prompts"), p);
		json_t	   *cont = json_array_get(json_object_get(ref, "continuations"), p);
		json_t	   *margins = json_array_get(json_object_get(ref, "margins"), p);
		int			n = (int) json_array_size(prompt);
		int32_t		ids[64];
		LmDecoder  *dec = lm_decoder_start(model, 128, &err);
		bool		ok = dec != NULL && n <= 64;

		for (int i = 0; ok && i < n; i++)
			ids[i] = (int32_t) json_integer_value(json_array_get(prompt, i));
		ok = ok && lm_decoder_feed(dec, ids, n, logits, &err) == 0;
		for (size_t s = 0; ok && s < json_array_size(cont); s++)
		{
			int			want = (int) json_integer_value(json_array_get(cont, s));
			double		margin = json_number_value(json_array_get(margins, s));
			bool		agree = argmax(logits, vocab) == want;

			if (margin >= GREEDY_MARGIN)
			{
				steps++;
				same += agree;
			}
			else
			{
				close_steps++;
				close_same += agree;
			}
			if (!agree)
				printf("# %s: prompt %zu step %zu: %d where llama.cpp took %d (its margin %.3g)\n", type, p, s,
					   argmax(logits, vocab), want, margin);
			ok = lm_decoder_step(dec, want, logits, &err) == 0;
		}
		steps += ok ? 0 : 1000000;	/* a failed step fails the check */
		lm_decoder_free(dec);
	}
	CHECK(ref != NULL && steps > 0 && same == steps,
		  "%s: greedy decoding token by token picks llama.cpp's token at %d of %d steps with its margin >= %g "
		  "(and at %d of %d closer ones)", type, same, steps, GREEDY_MARGIN, close_same, close_steps);
	json_decref(ref);
	free(logits);
}

static void
test_model(const char *type_name)
{
	char		type[64];
	char		name[64];
	LmTensorSet set = {0};
	LmModel    *model;
	json_t	   *ids_json;
	json_error_t jerr;
	char		path[4300];
	float	   *want;
	size_t		len;
	int			n_seq,
				n_pos,
				vocab;

	snprintf(type, sizeof(type), "%s (%s)", type_name, lm_simd_name(lm_simd_current()));
	snprintf(name, sizeof(name), "llama-q-%s.gguf", type_name);
	model = load_model(name, &set);
	data_path(path, sizeof(path), "quant-ids.json");
	ids_json = json_load_file(path, 0, &jerr);
	snprintf(name, sizeof(name), "llama-q-%s.logits.bin", type_name);
	want = read_file(name, &len);
	n_seq = (int) json_integer_value(json_object_get(ids_json, "n_seq"));
	n_pos = (int) json_integer_value(json_object_get(ids_json, "n_pos"));
	vocab = (int) json_integer_value(json_object_get(ids_json, "n_vocab"));
	if (!CHECK(model != NULL && want != NULL && n_seq > 0 && n_pos > 0 && vocab > 0 &&
			   len == (size_t) n_seq * n_pos * vocab * sizeof(float),
			   "%s: the model loads, with llama.cpp's logits at %d positions", type, n_seq * n_pos))
		goto done;
	{
		float	   *got = malloc(sizeof(float) * (size_t) n_pos * vocab);
		int32_t    *ids = malloc(sizeof(int32_t) * n_pos);
		double	   *p = malloc(sizeof(double) * vocab),
				   *q = malloc(sizeof(double) * vocab);
		double		kl_sum = 0,
					kl_max = 0,
					diff_max = 0;
		int			top1 = 0,
					positions = 0;
		LmError		err;

		test_error_init(&err);
		for (int s = 0; s < n_seq; s++)
		{
			json_t	   *seq = json_array_get(json_object_get(ids_json, "ids"), s);

			for (int i = 0; i < n_pos; i++)
				ids[i] = (int32_t) json_integer_value(json_array_get(seq, i));
			if (lm_model_logits(model, ids, n_pos, true, got, &err) < 0)
			{
				printf("# %s: %s\n", type, err.message);
				break;
			}
			for (int i = 0; i < n_pos; i++)
			{
				const float *a = want + ((size_t) s * n_pos + i) * vocab;
				const float *b = got + (size_t) i * vocab;
				double		kl = 0;

				log_softmax(a, vocab, p);
				log_softmax(b, vocab, q);
				for (int v = 0; v < vocab; v++)
				{
					kl += exp(p[v]) * (p[v] - q[v]);
					diff_max = fmax(diff_max, fabs(a[v] - b[v]));
				}
				kl_sum += kl;
				kl_max = fmax(kl_max, kl);
				top1 += argmax(a, vocab) == argmax(b, vocab);
				positions++;
			}
		}
		CHECK(positions == n_seq * n_pos && top1 >= 0.99 * positions,
			  "%s: top-1 token as llama.cpp's at %d of %d positions (%.2f%%, at least 99%%)", type, top1,
			  positions, 100.0 * top1 / (positions ? positions : 1));
		CHECK(positions > 0 && kl_sum / positions <= 1e-3,
			  "%s: mean KL(llama.cpp || pg_lm) %.2g (at most 1e-3; largest %.2g; largest logit difference %.3g)",
			  type, kl_sum / (positions ? positions : 1), kl_max, diff_max);
		free(got);
		free(ids);
		free(p);
		free(q);
	}
	test_greedy(type_name, type, model, vocab);
done:
	free(want);
	json_decref(ids_json);
	lm_model_free(model);
	lm_tensorset_free(&set);
}

int
main(void)
{
	test_dequantize();
	test_quantize_q8_0();
	test_kernels();
	test_activation_bytes();
	test_matmul_rows_and_threads();
	/* every instruction set this CPU has: each sums in its own order */
	for (LmSimd simd = lm_simd_best();; simd--)
	{
		lm_simd_use(simd);
		printf("# whole models with the %s kernels (quantized: %s)\n", lm_simd_name(simd),
			   lm_quant_simd() == LM_SIMD_AVX512 ? "AVX-512 VNNI" : lm_quant_simd() == LM_SIMD_AVX2 ? "AVX2" : "C");
		for (int k = 0; k < N_TYPES; k++)
			test_model(TYPES[k]);
		if (simd == LM_SIMD_C)
			break;
	}
	return test_done();
}
