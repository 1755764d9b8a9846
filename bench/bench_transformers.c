/*
 * bench_transformers.c — the transformer engine against the machine's
 * limits, on one thread.
 *
 * Models, random weights written by this program into a temporary
 * directory (config.json + model.safetensors, F32 and an F16 copy):
 *   GPT-2 small: 12 layers, 768 wide, 12 heads, vocabulary 50257, 1024
 *     positions (124M parameters): prompt of PROMPT tokens, then DECODE
 *     decoded tokens.
 *   MiniLM-L6 (BERT): 6 layers, 384 wide, 12 heads, intermediate 1536:
 *     SEQ-token inputs embedded one at a time (batch 1) and BATCH at once.
 * Limits, measured in the same rounds as the engine (alternating with it,
 * so that both see the same machine: a shared one drifts):
 *   memory bandwidth, a STREAM-like triad on one thread; the decoding bound
 *     is bandwidth ÷ bytes of weights read per token; and a plain read, what
 *     a kernel that only reads (as decoding does) can stream on one thread;
 *   OpenBLAS's sgemm on exactly the products of a prompt or a batch (the
 *     engine's rate for the same work is compared with it);
 *   and OpenBLAS's sgemv and the engine's kernels alone over one decoding
 *     step's weights.
 *
 * Timings are the best over the rounds; decoding steps and batch-1 inputs
 * each take their own best time (a burst of other work then spoils one
 * step, not a whole measurement).
 *
 * Prints "key value" lines (bench/run_transformers.sh makes the table).
 *   bench_transformers [rounds]
 * Build from the project root, see bench/run_transformers.sh.
 */
#include <emmintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "nn/blas.h"
#include "nn/matrix.h"
#include "util/file.h"

#define PROMPT 128
#define DECODE 64
#define SEQ 128
#define BATCH 32

#define GPT_DIM 768
#define GPT_LAYERS 12
#define GPT_VOCAB 50257
#define GPT_POS 1024
#define BERT_DIM 384
#define BERT_LAYERS 6
#define BERT_FFN 1536
#define BERT_VOCAB 30522
#define BERT_POS 512

#define TRIAD_FLOATS (32L * 1024 * 1024)	/* 128 MiB an array */

static int	rounds = 3;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
die(const char *what, const LmError *err)
{
	fprintf(stderr, "bench_transformers: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

/* ----------------------------------------------------------------------------
 * Writing a checkpoint of random weights */

typedef enum Init
{
	INIT_RANDOM,				/* uniform in ±0.04 (σ ≈ 0.023, GPT-2's 0.02) */
	INIT_ONES,
	INIT_ZEROS
} Init;

typedef struct Spec
{
	char		name[128];
	int			ndim;
	long		shape[2];
	Init		init;
} Spec;

typedef struct Specs
{
	Spec	   *v;
	int			n;
	int			cap;
} Specs;

static void
add(Specs *s, Init init, long d0, long d1, const char *fmt, int layer)
{
	Spec	   *p;

	if (s->n == s->cap)
	{
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(Spec));
	}
	p = &s->v[s->n++];
	snprintf(p->name, sizeof(p->name), fmt, layer);
	p->ndim = d1 ? 2 : 1;
	p->shape[0] = d0;
	p->shape[1] = d1;
	p->init = init;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float) ((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* float32 → float16, round to nearest even (finite, normal-range inputs) */
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
	{
		/* subnormal half (or zero) */
		if (e < -10)
			return sign;
		m |= 0x800000;
		{
			int			shift = 14 - e;
			uint32_t	half = m >> shift;
			uint32_t	rest = m & ((1u << shift) - 1);
			uint32_t	mid = 1u << (shift - 1);

			if (rest > mid || (rest == mid && (half & 1)))
				half++;
			return sign | half;
		}
	}
	if (e >= 31)
		return sign | 0x7c00;
	{
		uint32_t	h = ((uint32_t) e << 10) | (m >> 13);
		uint32_t	rest = m & 0x1fff;

		if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
			h++;
		return sign | h;
	}
}

static long
numel(const Spec *p)
{
	return p->ndim == 1 ? p->shape[0] : p->shape[0] * p->shape[1];
}

/* dir/config.json and dir/model.safetensors, F32 or F16 (same values). */
static void
write_model(const char *dir, const char *config, const Specs *s, bool f16)
{
	char		path[1024];
	FILE	   *f;
	size_t		esize = f16 ? 2 : 4;
	size_t		cap = 1 << 20,
				used = 0;
	char	   *header = malloc(cap);
	uint64_t	offset = 0;
	uint64_t	header_len;
	float	   *buf;
	long		longest = 0;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	if (f == NULL)
		die(path, NULL);
	fputs(config, f);
	fclose(f);

	used += snprintf(header + used, cap - used, "{");
	for (int i = 0; i < s->n; i++)
	{
		const Spec *p = &s->v[i];
		uint64_t	bytes = (uint64_t) numel(p) * esize;

		if (numel(p) > longest)
			longest = numel(p);
		if (p->ndim == 1)
			used += snprintf(header + used, cap - used,
							 "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%ld],\"data_offsets\":[%llu,%llu]}",
							 i ? "," : "", p->name, f16 ? "F16" : "F32", p->shape[0],
							 (unsigned long long) offset, (unsigned long long) (offset + bytes));
		else
			used += snprintf(header + used, cap - used,
							 "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%ld,%ld],\"data_offsets\":[%llu,%llu]}",
							 i ? "," : "", p->name, f16 ? "F16" : "F32", p->shape[0], p->shape[1],
							 (unsigned long long) offset, (unsigned long long) (offset + bytes));
		offset += bytes;
	}
	used += snprintf(header + used, cap - used, "}");
	/* pad so that the data starts 64-byte aligned in the file */
	while ((8 + used) % 64 != 0)
		header[used++] = ' ';
	header_len = used;

	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	f = fopen(path, "wb");
	if (f == NULL)
		die(path, NULL);
	fwrite(&header_len, 8, 1, f);
	fwrite(header, 1, used, f);
	buf = malloc(longest * sizeof(float));
	rng = 0x9E3779B97F4A7C15ull;	/* the same values in both copies */
	for (int i = 0; i < s->n; i++)
	{
		const Spec *p = &s->v[i];
		long		count = numel(p);

		for (long j = 0; j < count; j++)
			buf[j] = p->init == INIT_RANDOM ? 0.04f * uniform() : p->init == INIT_ONES ? 1.0f : 0.0f;
		if (f16)
		{
			uint16_t   *h = (uint16_t *) buf;

			/* in place: h[j] is written after buf[j] was read */
			for (long j = 0; j < count; j++)
				h[j] = to_f16(buf[j]);
		}
		fwrite(buf, esize, count, f);
	}
	fclose(f);
	free(buf);
	free(header);
}

static const char gpt2_config[] =
"{\"architectures\":[\"GPT2LMHeadModel\"],\"model_type\":\"gpt2\",\"n_embd\":768,\"n_layer\":12,"
"\"n_head\":12,\"vocab_size\":50257,\"n_positions\":1024,\"activation_function\":\"gelu_new\","
"\"layer_norm_epsilon\":1e-05}";

static const char bert_config[] =
"{\"architectures\":[\"BertModel\"],\"model_type\":\"bert\",\"hidden_size\":384,"
"\"num_hidden_layers\":6,\"num_attention_heads\":12,\"intermediate_size\":1536,"
"\"vocab_size\":30522,\"max_position_embeddings\":512,\"type_vocab_size\":2,"
"\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-12}";

static void
gpt2_specs(Specs *s)
{
	const long	d = GPT_DIM;

	add(s, INIT_RANDOM, GPT_VOCAB, d, "transformer.wte.weight", 0);
	add(s, INIT_RANDOM, GPT_POS, d, "transformer.wpe.weight", 0);
	for (int l = 0; l < GPT_LAYERS; l++)
	{
		add(s, INIT_ONES, d, 0, "transformer.h.%d.ln_1.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.ln_1.bias", l);
		add(s, INIT_RANDOM, d, 3 * d, "transformer.h.%d.attn.c_attn.weight", l);
		add(s, INIT_ZEROS, 3 * d, 0, "transformer.h.%d.attn.c_attn.bias", l);
		add(s, INIT_RANDOM, d, d, "transformer.h.%d.attn.c_proj.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.attn.c_proj.bias", l);
		add(s, INIT_ONES, d, 0, "transformer.h.%d.ln_2.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.ln_2.bias", l);
		add(s, INIT_RANDOM, d, 4 * d, "transformer.h.%d.mlp.c_fc.weight", l);
		add(s, INIT_ZEROS, 4 * d, 0, "transformer.h.%d.mlp.c_fc.bias", l);
		add(s, INIT_RANDOM, 4 * d, d, "transformer.h.%d.mlp.c_proj.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.mlp.c_proj.bias", l);
	}
	add(s, INIT_ONES, d, 0, "transformer.ln_f.weight", 0);
	add(s, INIT_ZEROS, d, 0, "transformer.ln_f.bias", 0);
}

static void
bert_specs(Specs *s)
{
	const long	d = BERT_DIM;
	const char *p = "encoder.layer.%d.";
	char		f[128];

	add(s, INIT_RANDOM, BERT_VOCAB, d, "embeddings.word_embeddings.weight", 0);
	add(s, INIT_RANDOM, BERT_POS, d, "embeddings.position_embeddings.weight", 0);
	add(s, INIT_RANDOM, 2, d, "embeddings.token_type_embeddings.weight", 0);
	add(s, INIT_ONES, d, 0, "embeddings.LayerNorm.weight", 0);
	add(s, INIT_ZEROS, d, 0, "embeddings.LayerNorm.bias", 0);
	for (int l = 0; l < BERT_LAYERS; l++)
	{
		static const char *const names[] = {"attention.self.query", "attention.self.key",
		"attention.self.value", "attention.output.dense"};

		for (int i = 0; i < 4; i++)
		{
			snprintf(f, sizeof(f), "%s%s.weight", p, names[i]);
			add(s, INIT_RANDOM, d, d, f, l);
			snprintf(f, sizeof(f), "%s%s.bias", p, names[i]);
			add(s, INIT_ZEROS, d, 0, f, l);
		}
		snprintf(f, sizeof(f), "%sattention.output.LayerNorm.weight", p);
		add(s, INIT_ONES, d, 0, f, l);
		snprintf(f, sizeof(f), "%sattention.output.LayerNorm.bias", p);
		add(s, INIT_ZEROS, d, 0, f, l);
		snprintf(f, sizeof(f), "%sintermediate.dense.weight", p);
		add(s, INIT_RANDOM, BERT_FFN, d, f, l);
		snprintf(f, sizeof(f), "%sintermediate.dense.bias", p);
		add(s, INIT_ZEROS, BERT_FFN, 0, f, l);
		snprintf(f, sizeof(f), "%soutput.dense.weight", p);
		add(s, INIT_RANDOM, d, BERT_FFN, f, l);
		snprintf(f, sizeof(f), "%soutput.dense.bias", p);
		add(s, INIT_ZEROS, d, 0, f, l);
		snprintf(f, sizeof(f), "%soutput.LayerNorm.weight", p);
		add(s, INIT_ONES, d, 0, f, l);
		snprintf(f, sizeof(f), "%soutput.LayerNorm.bias", p);
		add(s, INIT_ZEROS, d, 0, f, l);
	}
}

static LmModel *
load(const char *dir, LmTensorSet *set)
{
	char		path[1024];
	uint8_t    *config;
	size_t		len;
	LmError		err;
	LmModel    *m;

	lm_error_clear(&err);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (lm_read_file(path, 1 << 20, &config, &len, &err) < 0)
		die(path, &err);
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	if (lm_safetensors_load(path, set, &err) < 0)
		die(path, &err);
	m = lm_model_load((char *) config, len, set, &err);
	free(config);
	if (m == NULL)
		die(dir, &err);
	return m;
}

/* ----------------------------------------------------------------------------
 * Machine limits */

/* a[i] = b[i] + s · c[i], bytes counted as STREAM does (3 × 4 per element) */
static double
triad_gbs(void)
{
	float	   *a = malloc(TRIAD_FLOATS * sizeof(float));
	float	   *b = malloc(TRIAD_FLOATS * sizeof(float));
	float	   *c = malloc(TRIAD_FLOATS * sizeof(float));
	double		best = 1e30;

	for (long i = 0; i < TRIAD_FLOATS; i++)
	{
		a[i] = 0;
		b[i] = 1;
		c[i] = 2;
	}
	for (int r = 0; r < rounds + 2; r++)
	{
		double		t = now();

		for (long i = 0; i < TRIAD_FLOATS; i++)
			a[i] = b[i] + 3.0f * c[i];
		t = now() - t;
		if (t < best)
			best = t;
	}
	if (a[TRIAD_FLOATS / 2] != 7.0f)
		printf("# triad check failed\n");
	free(a);
	free(b);
	free(c);
	return 3.0 * 4.0 * TRIAD_FLOATS / best / 1e9;
}

/*
 * A plain read of 256 MiB on one thread (SSE2 loads, four independent xor
 * chains): what a kernel that only reads, as decoding does, can stream.
 */
static double
read_gbs(void)
{
	const long	n = 2 * TRIAD_FLOATS / 4;	/* 16-byte vectors */
	__m128i    *a = aligned_alloc(64, n * sizeof(__m128i));
	__m128i		x0 = _mm_setzero_si128(),
				x1 = x0, x2 = x0, x3 = x0;
	double		best = 1e30;

	memset(a, 1, n * sizeof(__m128i));
	for (int r = 0; r < rounds + 2; r++)
	{
		double		t = now();

		for (long i = 0; i < n; i += 4)
		{
			x0 = _mm_xor_si128(x0, _mm_load_si128(a + i));
			x1 = _mm_xor_si128(x1, _mm_load_si128(a + i + 1));
			x2 = _mm_xor_si128(x2, _mm_load_si128(a + i + 2));
			x3 = _mm_xor_si128(x3, _mm_load_si128(a + i + 3));
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	x0 = _mm_xor_si128(_mm_xor_si128(x0, x1), _mm_xor_si128(x2, x3));
	if (_mm_cvtsi128_si32(x0) != 0)		/* an even number of rounds of equal words */
		printf("# read check: %d\n", _mm_cvtsi128_si32(x0));
	free(a);
	return n * sizeof(__m128i) / best / 1e9;
}

/* Σ over shapes of sgemm(n × k) · (k × m): one prompt's or batch's layer products. */
typedef struct Shape
{
	int			in;
	int			out;
	bool		io;				/* W is [in][out] (Conv1D) */
	int			count;			/* how many in the model */
} Shape;

static const Shape gpt2_shapes[] = {
	{GPT_DIM, 3 * GPT_DIM, true, GPT_LAYERS},
	{GPT_DIM, GPT_DIM, true, GPT_LAYERS},
	{GPT_DIM, 4 * GPT_DIM, true, GPT_LAYERS},
	{4 * GPT_DIM, GPT_DIM, true, GPT_LAYERS},
};

static const Shape bert_shapes[] = {
	{BERT_DIM, BERT_DIM, false, 4 * BERT_LAYERS},
	{BERT_DIM, BERT_FFN, false, BERT_LAYERS},
	{BERT_FFN, BERT_DIM, false, BERT_LAYERS},
};

#define N_SHAPES(a) ((int) (sizeof(a) / sizeof(a[0])))

static double
shapes_flops(const Shape *shapes, int n_shapes, int n)
{
	double		flops = 0;

	for (int i = 0; i < n_shapes; i++)
		flops += 2.0 * n * shapes[i].in * shapes[i].out * shapes[i].count;
	return flops;
}

/* Weights (one buffer per product, like a model's) and activations for the shapes. */
typedef struct GemmRef
{
	const Shape *shapes;
	int			n_shapes;
	int			n;				/* rows */
	size_t		max_w;
	float	   *w,
			   *x,
			   *y;
	double		best;			/* seconds of one pass, best so far */
} GemmRef;

static void
gemm_ref_init(GemmRef *g, const Shape *shapes, int n_shapes, int n)
{
	size_t		max_io = 0;
	int			total = 0;

	memset(g, 0, sizeof(*g));
	g->shapes = shapes;
	g->n_shapes = n_shapes;
	g->n = n;
	g->best = 1e30;
	for (int i = 0; i < n_shapes; i++)
	{
		size_t		ws = (size_t) shapes[i].in * shapes[i].out;

		g->max_w = ws > g->max_w ? ws : g->max_w;
		max_io = (size_t) shapes[i].in > max_io ? (size_t) shapes[i].in : max_io;
		max_io = (size_t) shapes[i].out > max_io ? (size_t) shapes[i].out : max_io;
		total += shapes[i].count;
	}
	g->w = malloc(g->max_w * total * sizeof(float));
	g->x = malloc((size_t) n * max_io * sizeof(float));
	g->y = malloc((size_t) n * max_io * sizeof(float));
	for (size_t i = 0; i < g->max_w * total; i++)
		g->w[i] = 0.01f * uniform();
	for (size_t i = 0; i < (size_t) n * max_io; i++)
		g->x[i] = uniform();
}

/* One pass of OpenBLAS over every product of the shapes for n rows. */
static void
gemm_ref_round(GemmRef *g)
{
	double		t = now();
	int			k = 0;

	for (int i = 0; i < g->n_shapes; i++)
		for (int c = 0; c < g->shapes[i].count; c++, k++)
		{
			const Shape *s = &g->shapes[i];
			const float *wk = g->w + g->max_w * k;

			if (s->io)
				lm_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, s->out, s->in,
						 1.0f, g->x, s->in, wk, s->out, 1.0f, g->y, s->out);
			else
				lm_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->n, s->out, s->in,
						 1.0f, g->x, s->in, wk, s->in, 1.0f, g->y, s->out);
		}
	t = now() - t;
	if (t < g->best)
		g->best = t;
}

static void
gemm_ref_free(GemmRef *g)
{
	free(g->w);
	free(g->x);
	free(g->y);
}

/*
 * One decoding step's products over float32 weights laid out like GPT-2's
 * (the layers' Conv1D matrices and the [vocab][dim] head), by OpenBLAS's
 * sgemv and by the engine's kernels in every width: best_s[] keeps the best
 * seconds of each (OpenBLAS F32, engine F32, F16, BF16).
 */
static void
gemv_rates(double best_s[4])
{
	const int	d = GPT_DIM;
	size_t		layer = (size_t) d * 3 * d + d * d + 2 * (size_t) d * 4 * d;
	size_t		total = layer * GPT_LAYERS + (size_t) GPT_VOCAB * d;
	/* made once, kept for the later rounds */
	static float *w;
	static uint16_t *h,
			   *bh;
	float		x[4 * GPT_DIM],
				y[GPT_VOCAB];

	if (w == NULL)
	{
		w = malloc(total * sizeof(float));
		h = malloc(total * sizeof(uint16_t));
		bh = malloc(total * sizeof(uint16_t));
		for (size_t i = 0; i < total; i++)
		{
			uint32_t	bits;

			w[i] = 0.04f * uniform();
			h[i] = to_f16(w[i]);
			memcpy(&bits, &w[i], 4);
			bh[i] = (uint16_t) (bits >> 16);
		}
	}
	for (int i = 0; i < 4 * d; i++)
		x[i] = uniform();
	for (int kind = 0; kind < 4; kind++)
	{
		double		best = 1e30;
		LmDType		dt = kind == 2 ? LM_DTYPE_F16 : kind == 3 ? LM_DTYPE_BF16 : LM_DTYPE_F32;
		const void *base = kind == 3 ? (const void *) bh : kind == 2 ? (const void *) h : (const void *) w;
		size_t		esize = kind >= 2 ? 2 : 4;

		for (int r = 0; r < 3; r++)
		{
			double		t = now();
			const char *p = base;

			for (int l = 0; l < GPT_LAYERS; l++)
			{
				static const int rows_mul[4] = {1, 1, 1, 4};
				static const int cols_mul[4] = {3, 1, 4, 1};

				for (int m = 0; m < 4; m++)
				{
					int			rows = rows_mul[m] * d;
					int			cols = cols_mul[m] * d;
					LmMatrix	mat = {p, dt, rows, cols};

					if (kind == 0)
						lm_sgemv(CblasRowMajor, CblasTrans, rows, cols, 1.0f, (const float *) p, cols,
								 x, 1, 1.0f, y, 1);
					else
						lm_gemv_t(&mat, x, y);
					p += (size_t) rows * cols * esize;
				}
			}
			{
				LmMatrix	head = {p, dt, GPT_VOCAB, d};

				if (kind == 0)
					lm_sgemv(CblasRowMajor, CblasNoTrans, GPT_VOCAB, d, 1.0f, (const float *) p, d,
							 x, 1, 0.0f, y, 1);
				else
					lm_gemv(&head, x, y);
			}
			t = now() - t;
			if (t < best)
				best = t;
		}
		if (best < best_s[kind])
			best_s[kind] = best;
	}
}

/* ----------------------------------------------------------------------------
 * The engine */

/*
 * GPT-2: the best prompt time, and each decoding step's best time over the
 * rounds (every round does the same work at the same positions, so that a
 * burst of other work on a shared machine spoils one step, not a round).
 */
typedef struct Gpt2Best
{
	double		prompt;
	double		step[DECODE];
} Gpt2Best;

static void
gpt2_best_init(Gpt2Best *b)
{
	b->prompt = 1e30;
	for (int i = 0; i < DECODE; i++)
		b->step[i] = 1e30;
}

static double
gpt2_decode_seconds(const Gpt2Best *b)
{
	double		sum = 0;

	for (int i = 0; i < DECODE; i++)
		sum += b->step[i];
	return sum;
}

/* A PROMPT-token prompt, then DECODE greedy steps; returns the steps' seconds. */
static double
gpt2_round(const LmModel *m, Gpt2Best *b)
{
	double		decode = 0;
	int32_t		ids[PROMPT];
	float	   *logits = malloc(GPT_VOCAB * sizeof(float));
	LmDecoder  *dec;
	LmError		err;
	double		t;

	lm_error_clear(&err);
	for (int i = 0; i < PROMPT; i++)
		ids[i] = (int32_t) ((i * 7919L + 13) % GPT_VOCAB);
	if ((dec = lm_decoder_start(m, PROMPT + DECODE, &err)) == NULL)
		die("decoder", &err);
	t = now();
	if (lm_decoder_feed(dec, ids, PROMPT, logits, &err) < 0)
		die("prompt", &err);
	t = now() - t;
	if (t < b->prompt)
		b->prompt = t;
	for (int i = 0; i < DECODE; i++)
	{
		int32_t		next = 0;

		for (int j = 1; j < GPT_VOCAB; j++)
			if (logits[j] > logits[next])
				next = j;
		t = now();
		if (lm_decoder_step(dec, next, logits, &err) < 0)
			die("step", &err);
		t = now() - t;
		if (t < b->step[i])
			b->step[i] = t;
		decode += t;
	}
	lm_decoder_free(dec);
	free(logits);
	return decode;
}

/* MiniLM: each input's best time alone, and the batch's best time. */
typedef struct BertBest
{
	double		one[BATCH];
	double		batch;
} BertBest;

static void
bert_best_init(BertBest *b)
{
	b->batch = 1e30;
	for (int i = 0; i < BATCH; i++)
		b->one[i] = 1e30;
}

static double
bert_one_seconds(const BertBest *b)
{
	double		sum = 0;

	for (int i = 0; i < BATCH; i++)
		sum += b->one[i];
	return sum / BATCH;
}

/* BATCH inputs of SEQ tokens, one at a time, then all at once. */
static void
bert_round(const LmModel *m, BertBest *b)
{
	int32_t    *ids = malloc(BATCH * SEQ * sizeof(int32_t));
	int			lengths[BATCH];
	float	   *out = malloc((size_t) BATCH * BERT_DIM * sizeof(float));
	LmError		err;
	double		t;

	lm_error_clear(&err);
	for (int i = 0; i < BATCH * SEQ; i++)
		ids[i] = (int32_t) ((i * 7919L + 101) % BERT_VOCAB);
	for (int i = 0; i < BATCH; i++)
	{
		lengths[i] = SEQ;
		t = now();
		if (lm_model_embed(m, ids + i * SEQ, NULL, SEQ, LM_POOL_MEAN, true,
						   out + i * BERT_DIM, &err) < 0)
			die("embed", &err);
		t = now() - t;
		if (t < b->one[i])
			b->one[i] = t;
	}
	t = now();
	if (lm_model_embed_batch(m, ids, NULL, lengths, BATCH, LM_POOL_MEAN, true, out, &err) < 0)
		die("embed batch", &err);
	t = now() - t;
	if (t < b->batch)
		b->batch = t;
	free(ids);
	free(out);
}

/* Bytes of weights one decoding step reads: the layers' matrices and the head. */
static double
gpt2_weight_bytes(size_t esize)
{
	const double d = GPT_DIM;

	return esize * (GPT_LAYERS * (d * 3 * d + d * d + 2 * d * 4 * d) + (double) GPT_VOCAB * d);
}

int
main(int argc, char **argv)
{
	char		tmpl[] = "/tmp/bench_transformers.XXXXXX";
	char	   *dir;
	char		sub[512];
	LmError		err;
	Specs		gpt = {0},
				bert = {0};
	const char *const names[4] = {"gpt2-f32", "gpt2-f16", "bert-f32", "bert-f16"};
	LmTensorSet sets[4] = {{0}};
	LmModel    *models[4];
	GemmRef		ref_prompt,
				ref_b1,
				ref_b32;
	Gpt2Best	gpt_best[2];
	BertBest	bert_best[2];
	double		bw = 0,
				rd = 0;
	double		gemv_best[4] = {1e30, 1e30, 1e30, 1e30};

	if (argc > 1)
		rounds = atoi(argv[1]) > 0 ? atoi(argv[1]) : rounds;
	lm_error_clear(&err);
	if (lm_blas_init(&err) < 0)
		die("OpenBLAS", &err);
	if ((dir = mkdtemp(tmpl)) == NULL)
		die("mkdtemp", NULL);
	printf("cpu_kernels %s\n", lm_simd_name(lm_simd_current()));
	printf("openblas_core %s\n", lm_blas_core());
	printf("rounds %d\n", rounds);
	fflush(stdout);

	/* checkpoints, written and loaded (the engine reads them into memory) */
	gpt2_specs(&gpt);
	bert_specs(&bert);
	for (int i = 0; i < 4; i++)
	{
		snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
		if (mkdir(sub, 0700) < 0)
			die(sub, NULL);
		write_model(sub, i < 2 ? gpt2_config : bert_config, i < 2 ? &gpt : &bert, i % 2 == 1);
		models[i] = load(sub, &sets[i]);
		snprintf(sub, sizeof(sub), "rm -rf '%s/%s'", dir, names[i]);
		if (system(sub) != 0)
			fprintf(stderr, "could not remove %s/%s\n", dir, names[i]);
	}
	rmdir(dir);

	/*
	 * Rounds that alternate the limits and the engine, so that both see the
	 * same machine (a shared one drifts); the best of each is kept.
	 */
	gemm_ref_init(&ref_prompt, gpt2_shapes, N_SHAPES(gpt2_shapes), PROMPT);
	gemm_ref_init(&ref_b1, bert_shapes, N_SHAPES(bert_shapes), SEQ);
	gemm_ref_init(&ref_b32, bert_shapes, N_SHAPES(bert_shapes), BATCH * SEQ);
	for (int i = 0; i < 2; i++)
	{
		gpt2_best_init(&gpt_best[i]);
		bert_best_init(&bert_best[i]);
	}
	for (int r = 0; r < rounds; r++)
	{
		double		t = triad_gbs();

		bw = t > bw ? t : bw;
		t = read_gbs();
		rd = t > rd ? t : rd;
		gemv_rates(gemv_best);
		gemm_ref_round(&ref_prompt);

		/*
		 * Decoding beside the bandwidth of the same minutes: the triad and
		 * a plain read just before and after this round's decoding (the
		 * machine's bandwidth drifts by a third over a run, and the best-of
		 * figures compare each side with its own best moment).
		 */
		{
			double		triad_before = triad_gbs(),
						read_before = read_gbs(),
						f32 = gpt2_round(models[0], &gpt_best[0]),
						f16 = gpt2_round(models[1], &gpt_best[1]),
						read_after = read_gbs(),
						triad_after = triad_gbs();

			printf("round_decode %d f32_s=%.6f f16_s=%.6f read_before=%.2f read_after=%.2f "
				   "triad_before=%.2f triad_after=%.2f\n",
				   r, f32, f16, read_before, read_after, triad_before, triad_after);
			rd = read_before > rd ? read_before : rd;
			rd = read_after > rd ? read_after : rd;
			bw = triad_before > bw ? triad_before : bw;
			bw = triad_after > bw ? triad_after : bw;
		}
		t = triad_gbs();
		bw = t > bw ? t : bw;
		gemm_ref_round(&ref_b1);
		gemm_ref_round(&ref_b32);
		for (int i = 0; i < 2; i++)
			bert_round(models[2 + i], &bert_best[i]);
		fprintf(stderr, "round %d of %d done\n", r + 1, rounds);
	}

	printf("triad_gbs %.2f\n", bw);
	printf("read_gbs %.2f\n", rd);
	printf("gemv_openblas_f32_s %.6f\n", gemv_best[0]);
	printf("gemv_engine_f32_s %.6f\n", gemv_best[1]);
	printf("gemv_engine_f16_s %.6f\n", gemv_best[2]);
	printf("gemv_engine_bf16_s %.6f\n", gemv_best[3]);
	printf("gpt2_weight_bytes_f32 %.0f\n", gpt2_weight_bytes(4));
	printf("gpt2_weight_bytes_f16 %.0f\n", gpt2_weight_bytes(2));
	printf("gpt2_prompt_gemm_flops %.0f\n", shapes_flops(gpt2_shapes, N_SHAPES(gpt2_shapes), PROMPT));
	printf("bert_seq_gemm_flops %.0f\n", shapes_flops(bert_shapes, N_SHAPES(bert_shapes), SEQ));
	printf("openblas_gpt2_prompt_gemm_s %.6f\n", ref_prompt.best);
	printf("openblas_bert_b1_gemm_s %.6f\n", ref_b1.best);
	printf("openblas_bert_b32_gemm_s %.6f\n", ref_b32.best);
	for (int i = 0; i < 2; i++)
	{
		printf("engine_%s_prompt_s %.6f\n", names[i], gpt_best[i].prompt);
		printf("engine_%s_decode_s %.6f\n", names[i], gpt2_decode_seconds(&gpt_best[i]));
		printf("engine_%s_b1_s %.6f\n", names[2 + i], bert_one_seconds(&bert_best[i]));
		printf("engine_%s_b32_s %.6f\n", names[2 + i], bert_best[i].batch);
	}
	printf("prompt_tokens %d\ndecode_tokens %d\nseq_tokens %d\nbatch %d\n", PROMPT, DECODE, SEQ, BATCH);

	gemm_ref_free(&ref_prompt);
	gemm_ref_free(&ref_b1);
	gemm_ref_free(&ref_b32);
	for (int i = 0; i < 4; i++)
	{
		lm_model_free(models[i]);
		lm_tensorset_free(&sets[i]);
	}
	return 0;
}
