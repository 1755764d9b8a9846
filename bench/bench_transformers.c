/*
 * bench_transformers.c — the transformer engine against the machine's
 * limits, on one thread by default (--threads N gives OpenBLAS N).
 *
 * Models, random weights written by this program into a temporary
 * directory (config.json + model.safetensors, F32 and an F16 copy), of the
 * shapes --shape names (by default GPT-2 small and MiniLM-L6):
 *   a decoder (GPT-2 architecture), by default GPT-2 small: 12 layers, 768
 *     wide, 12 heads, vocabulary 50257, 1024 positions (124M parameters):
 *     a prompt of --prompt tokens, then --decode decoded tokens;
 *   an encoder (BERT architecture), by default MiniLM-L6: 6 layers, 384
 *     wide, 12 heads, intermediate 1536 (or BERT-base: 12 layers, 768 wide,
 *     12 heads, intermediate 3072): --seq-token inputs embedded one at a
 *     time (batch 1) and --batch at once.
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
 *   bench_transformers [--rounds N | N] [--threads N] [--shape SHAPE]...
 *                      [--prompt N] [--decode N] [--seq N] [--batch N]
 * SHAPE is gpt2-small, minilm-l6 or bert-base, or gpt2 / bert followed by
 * explicit dimensions, e.g. bert:layers=4,hidden=256,heads=4,ffn=1024
 * (keys layers, hidden, heads, ffn, vocab, positions; the rest from
 * gpt2-small or bert-base, and ffn 4 · hidden unless given); --shape picks one decoder and/or one encoder,
 * and only the models it names run.  --threads N sets OpenBLAS's threads
 * (OPENBLAS_NUM_THREADS, before the library loads); --engine-threads N the
 * engine's own (its matrix-vector kernels, as the model server's
 * pg_lm.threads does); the memory-bandwidth limits run on one thread.
 * --write-models DIR writes the shapes' float32 checkpoints into
 * DIR/<shape> and exits (bench/server.sh imports them).
 * See bench/README.md.  Build from the project root: make bench-build.
 */
#include <dlfcn.h>
#include <emmintrin.h>
#include <errno.h>
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
#include "nn/parallel.h"
#include "util/file.h"

#include "bench_util.h"

#define TRIAD_FLOATS (32L * 1024 * 1024)	/* 128 MiB an array */

/* The dimensions of one model. */
typedef struct ModelShape
{
	char		name[128];		/* as given on the command line */
	bool		decoder;		/* GPT-2 architecture; else BERT */
	int			layers;
	int			hidden;
	int			heads;
	int			ffn;			/* intermediate size */
	int			vocab;
	int			positions;
} ModelShape;

static const ModelShape presets[] = {
	{"gpt2-small", true, 12, 768, 12, 3072, 50257, 1024},
	{"minilm-l6", false, 6, 384, 12, 1536, 30522, 512},
	{"bert-base", false, 12, 768, 12, 3072, 30522, 512},
};

static int	rounds = 3;
static int	prompt_tokens = 128;	/* decoder: prompt, then decode_tokens steps */
static int	decode_tokens = 64;
static int	seq_tokens = 128;		/* encoder: inputs of seq_tokens, batch 1 and batch */
static int	batch = 32;

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
		if (cap - used < 512)
			die("too many tensors for the safetensors header", NULL);
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

/* config.json for a shape */
static void
model_config(const ModelShape *m, char *buf, size_t size)
{
	if (m->decoder)
		snprintf(buf, size,
				 "{\"architectures\":[\"GPT2LMHeadModel\"],\"model_type\":\"gpt2\",\"n_embd\":%d,\"n_layer\":%d,"
				 "\"n_head\":%d,\"n_inner\":%d,\"vocab_size\":%d,\"n_positions\":%d,"
				 "\"activation_function\":\"gelu_new\",\"layer_norm_epsilon\":1e-05}",
				 m->hidden, m->layers, m->heads, m->ffn, m->vocab, m->positions);
	else
		snprintf(buf, size,
				 "{\"architectures\":[\"BertModel\"],\"model_type\":\"bert\",\"hidden_size\":%d,"
				 "\"num_hidden_layers\":%d,\"num_attention_heads\":%d,\"intermediate_size\":%d,"
				 "\"vocab_size\":%d,\"max_position_embeddings\":%d,\"type_vocab_size\":2,"
				 "\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-12}",
				 m->hidden, m->layers, m->heads, m->ffn, m->vocab, m->positions);
}

static void
gpt2_specs(Specs *s, const ModelShape *m)
{
	const long	d = m->hidden;
	const long	ffn = m->ffn;

	add(s, INIT_RANDOM, m->vocab, d, "transformer.wte.weight", 0);
	add(s, INIT_RANDOM, m->positions, d, "transformer.wpe.weight", 0);
	for (int l = 0; l < m->layers; l++)
	{
		add(s, INIT_ONES, d, 0, "transformer.h.%d.ln_1.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.ln_1.bias", l);
		add(s, INIT_RANDOM, d, 3 * d, "transformer.h.%d.attn.c_attn.weight", l);
		add(s, INIT_ZEROS, 3 * d, 0, "transformer.h.%d.attn.c_attn.bias", l);
		add(s, INIT_RANDOM, d, d, "transformer.h.%d.attn.c_proj.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.attn.c_proj.bias", l);
		add(s, INIT_ONES, d, 0, "transformer.h.%d.ln_2.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.ln_2.bias", l);
		add(s, INIT_RANDOM, d, ffn, "transformer.h.%d.mlp.c_fc.weight", l);
		add(s, INIT_ZEROS, ffn, 0, "transformer.h.%d.mlp.c_fc.bias", l);
		add(s, INIT_RANDOM, ffn, d, "transformer.h.%d.mlp.c_proj.weight", l);
		add(s, INIT_ZEROS, d, 0, "transformer.h.%d.mlp.c_proj.bias", l);
	}
	add(s, INIT_ONES, d, 0, "transformer.ln_f.weight", 0);
	add(s, INIT_ZEROS, d, 0, "transformer.ln_f.bias", 0);
}

static void
bert_specs(Specs *s, const ModelShape *m)
{
	const long	d = m->hidden;
	const long	ffn = m->ffn;
	const char *p = "encoder.layer.%d.";
	char		f[128];

	add(s, INIT_RANDOM, m->vocab, d, "embeddings.word_embeddings.weight", 0);
	add(s, INIT_RANDOM, m->positions, d, "embeddings.position_embeddings.weight", 0);
	add(s, INIT_RANDOM, 2, d, "embeddings.token_type_embeddings.weight", 0);
	add(s, INIT_ONES, d, 0, "embeddings.LayerNorm.weight", 0);
	add(s, INIT_ZEROS, d, 0, "embeddings.LayerNorm.bias", 0);
	for (int l = 0; l < m->layers; l++)
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
		add(s, INIT_RANDOM, ffn, d, f, l);
		snprintf(f, sizeof(f), "%sintermediate.dense.bias", p);
		add(s, INIT_ZEROS, ffn, 0, f, l);
		snprintf(f, sizeof(f), "%soutput.dense.weight", p);
		add(s, INIT_RANDOM, d, ffn, f, l);
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

#define MAX_SHAPES 4

/* A model's layer products: returns how many shapes it filled in. */
static int
layer_shapes(const ModelShape *m, Shape shapes[MAX_SHAPES])
{
	const int	d = m->hidden;

	if (m->decoder)
	{
		shapes[0] = (Shape) {d, 3 * d, true, m->layers};
		shapes[1] = (Shape) {d, d, true, m->layers};
		shapes[2] = (Shape) {d, m->ffn, true, m->layers};
		shapes[3] = (Shape) {m->ffn, d, true, m->layers};
		return 4;
	}
	shapes[0] = (Shape) {d, d, false, 4 * m->layers};
	shapes[1] = (Shape) {d, m->ffn, false, m->layers};
	shapes[2] = (Shape) {m->ffn, d, false, m->layers};
	return 3;
}

static double
shapes_flops(const Shape *shapes, int n_shapes, int n)
{
	double		flops = 0;

	for (int i = 0; i < n_shapes; i++)
		flops += 2.0 * n * shapes[i].in * shapes[i].out * shapes[i].count;
	return flops;
}

/*
 * Weights (one matrix after another, as a model's) and activations for the
 * shapes.  A GemmRef made with `share` uses that one's weights.
 */
typedef struct GemmRef
{
	Shape		shapes[MAX_SHAPES];
	int			n_shapes;
	int			n;				/* rows */
	float	   *w,
			   *x,
			   *y;
	bool		own_w;
	double		best;			/* seconds of one pass, best so far */
} GemmRef;

static void
gemm_ref_init(GemmRef *g, const ModelShape *m, int n, const GemmRef *share)
{
	size_t		max_io = 0;
	size_t		total = 0;

	memset(g, 0, sizeof(*g));
	g->n_shapes = layer_shapes(m, g->shapes);
	g->n = n;
	g->best = 1e30;
	for (int i = 0; i < g->n_shapes; i++)
	{
		const Shape *s = &g->shapes[i];

		total += (size_t) s->in * s->out * s->count;
		max_io = (size_t) s->in > max_io ? (size_t) s->in : max_io;
		max_io = (size_t) s->out > max_io ? (size_t) s->out : max_io;
	}
	g->x = malloc((size_t) n * max_io * sizeof(float));
	g->y = calloc((size_t) n * max_io, sizeof(float));
	if (share != NULL)
		g->w = share->w;
	else
	{
		g->w = malloc(total * sizeof(float));
		g->own_w = true;
		for (size_t i = 0; i < total; i++)
			g->w[i] = 0.01f * uniform();
	}
	if (g->x == NULL || g->y == NULL || g->w == NULL)
		die("out of memory", NULL);
	for (size_t i = 0; i < (size_t) n * max_io; i++)
		g->x[i] = uniform();
}

/* One pass of OpenBLAS over every product of the shapes for n rows. */
static void
gemm_ref_round(GemmRef *g)
{
	double		t = now();
	const float *wk = g->w;

	for (int i = 0; i < g->n_shapes; i++)
		for (int c = 0; c < g->shapes[i].count; c++, wk += (size_t) g->shapes[i].in * g->shapes[i].out)
		{
			const Shape *s = &g->shapes[i];

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
	if (g->own_w)
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
gemv_rates(const ModelShape *g, double best_s[4])
{
	const int	d = g->hidden;
	/* the layer's Conv1D matrices, [in][out] */
	const int	rows[4] = {d, d, d, g->ffn};
	const int	cols[4] = {3 * d, d, g->ffn, d};
	size_t		layer = (size_t) d * 3 * d + (size_t) d * d + 2 * (size_t) d * g->ffn;
	size_t		total = layer * g->layers + (size_t) g->vocab * d;
	int			widest = 3 * d > g->ffn ? 3 * d : g->ffn;

	/* made once, kept for the later rounds */
	static float *w;
	static uint16_t *h,
			   *bh;
	float	   *x = malloc((size_t) widest * sizeof(float));
	float	   *y = calloc(widest > g->vocab ? widest : g->vocab, sizeof(float));

	if (w == NULL)
	{
		w = malloc(total * sizeof(float));
		h = malloc(total * sizeof(uint16_t));
		bh = malloc(total * sizeof(uint16_t));
		if (w == NULL || h == NULL || bh == NULL)
			die("out of memory", NULL);
		for (size_t i = 0; i < total; i++)
		{
			uint32_t	bits;

			w[i] = 0.04f * uniform();
			h[i] = to_f16(w[i]);
			memcpy(&bits, &w[i], 4);
			bh[i] = (uint16_t) (bits >> 16);
		}
	}
	if (x == NULL || y == NULL)
		die("out of memory", NULL);
	for (int i = 0; i < widest; i++)
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

			for (int l = 0; l < g->layers; l++)
			{
				for (int m = 0; m < 4; m++)
				{
					LmMatrix	mat = {p, dt, rows[m], cols[m]};

					if (kind == 0)
						lm_sgemv(CblasRowMajor, CblasTrans, rows[m], cols[m], 1.0f, (const float *) p, cols[m],
								 x, 1, 1.0f, y, 1);
					else
						lm_gemv_t(&mat, x, y);
					p += (size_t) rows[m] * cols[m] * esize;
				}
			}
			{
				LmMatrix	head = {p, dt, g->vocab, d};

				if (kind == 0)
					lm_sgemv(CblasRowMajor, CblasNoTrans, g->vocab, d, 1.0f, (const float *) p, d,
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
	free(x);
	free(y);
}

/* ----------------------------------------------------------------------------
 * The engine */

/*
 * The decoder: the best prompt time, and each decoding step's best time
 * over the rounds (every round does the same work at the same positions,
 * so that a burst of other work on a shared machine spoils one step, not a
 * round).
 */
typedef struct Gpt2Best
{
	double		prompt;
	double	   *step;			/* decode_tokens of them */
} Gpt2Best;

static void
gpt2_best_init(Gpt2Best *b)
{
	b->prompt = 1e30;
	b->step = malloc(decode_tokens * sizeof(double));
	for (int i = 0; i < decode_tokens; i++)
		b->step[i] = 1e30;
}

static double
gpt2_decode_seconds(const Gpt2Best *b)
{
	double		sum = 0;

	for (int i = 0; i < decode_tokens; i++)
		sum += b->step[i];
	return sum;
}

/* A prompt_tokens prompt, then decode_tokens greedy steps; returns the steps' seconds. */
static double
gpt2_round(const LmModel *m, const ModelShape *shape, Gpt2Best *b)
{
	double		decode = 0;
	int32_t    *ids = malloc(prompt_tokens * sizeof(int32_t));
	float	   *logits = malloc(shape->vocab * sizeof(float));
	LmDecoder  *dec;
	LmError		err;
	double		t;

	lm_error_clear(&err);
	for (int i = 0; i < prompt_tokens; i++)
		ids[i] = (int32_t) ((i * 7919L + 13) % shape->vocab);
	if ((dec = lm_decoder_start(m, prompt_tokens + decode_tokens, &err)) == NULL)
		die("decoder", &err);
	t = now();
	if (lm_decoder_feed(dec, ids, prompt_tokens, logits, &err) < 0)
		die("prompt", &err);
	t = now() - t;
	if (t < b->prompt)
		b->prompt = t;
	for (int i = 0; i < decode_tokens; i++)
	{
		int32_t		next = 0;

		for (int j = 1; j < shape->vocab; j++)
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
	free(ids);
	return decode;
}

/* The encoder: each input's best time alone, and the batch's best time. */
typedef struct BertBest
{
	double	   *one;			/* batch of them */
	double		batch;
} BertBest;

static void
bert_best_init(BertBest *b)
{
	b->batch = 1e30;
	b->one = malloc(batch * sizeof(double));
	for (int i = 0; i < batch; i++)
		b->one[i] = 1e30;
}

static double
bert_one_seconds(const BertBest *b)
{
	double		sum = 0;

	for (int i = 0; i < batch; i++)
		sum += b->one[i];
	return sum / batch;
}

/* batch inputs of seq_tokens tokens, one at a time, then all at once. */
static void
bert_round(const LmModel *m, const ModelShape *shape, BertBest *b)
{
	int32_t    *ids = malloc((size_t) batch * seq_tokens * sizeof(int32_t));
	int		   *lengths = malloc(batch * sizeof(int));
	float	   *out = malloc((size_t) batch * shape->hidden * sizeof(float));
	LmError		err;
	double		t;

	lm_error_clear(&err);
	for (long i = 0; i < (long) batch * seq_tokens; i++)
		ids[i] = (int32_t) ((i * 7919L + 101) % shape->vocab);
	for (int i = 0; i < batch; i++)
	{
		lengths[i] = seq_tokens;
		t = now();
		if (lm_model_embed(m, ids + (size_t) i * seq_tokens, NULL, seq_tokens, LM_POOL_MEAN, true,
						   out + (size_t) i * shape->hidden, &err) < 0)
			die("embed", &err);
		t = now() - t;
		if (t < b->one[i])
			b->one[i] = t;
	}
	t = now();
	if (lm_model_embed_batch(m, ids, NULL, lengths, batch, LM_POOL_MEAN, true, out, &err) < 0)
		die("embed batch", &err);
	t = now() - t;
	if (t < b->batch)
		b->batch = t;
	free(ids);
	free(lengths);
	free(out);
}

/* Bytes of weights one decoding step reads: the layers' matrices and the head. */
static double
gpt2_weight_bytes(const ModelShape *g, size_t esize)
{
	const double d = g->hidden;

	return esize * (g->layers * (d * 3 * d + d * d + 2 * d * g->ffn) + (double) g->vocab * d);
}

/* ----------------------------------------------------------------------------
 * Command line */

static void
usage(void)
{
	fprintf(stderr,
			"usage: bench_transformers [--rounds N | N] [--threads N] [--shape SHAPE]...\n"
			"                          [--prompt N] [--decode N] [--seq N] [--batch N]\n"
			"  SHAPE: gpt2-small, minilm-l6, bert-base, or gpt2|bert|PRESET:KEY=N,...\n"
			"         (KEY: layers, hidden, heads, ffn, vocab, positions); one decoder\n"
			"         (gpt2) and/or one encoder (bert); default gpt2-small and minilm-l6\n"
			"  --threads N: OpenBLAS threads (default OPENBLAS_NUM_THREADS, else 1)\n"
			"  --engine-threads N: the engine's own threads (default 1)\n"
			"  --write-models DIR: write the shapes' checkpoints into DIR/<shape> and exit\n"
			"  --prompt N, --decode N: the decoder's prompt and decoded tokens (128, 64)\n"
			"  --seq N, --batch N: the encoder's input tokens and batch (128, 32)\n");
	exit(2);
}

/*
 * PRESET, or gpt2 / bert / PRESET followed by :KEY=N,... (gpt2 starts from
 * gpt2-small, bert from bert-base).  A hidden size without ffn brings
 * ffn = 4 · hidden, as in both architectures' defaults.
 */
static void
parse_shape(const char *arg, ModelShape *out)
{
	char		base[128];
	const char *colon = strchr(arg, ':');
	size_t		n = colon ? (size_t) (colon - arg) : strlen(arg);
	bool		found = false;

	if (n >= sizeof(base) || strlen(arg) >= sizeof(out->name))
		usage();
	memcpy(base, arg, n);
	base[n] = '\0';
	if (strcmp(base, "gpt2") == 0)
		strcpy(base, "gpt2-small");
	else if (strcmp(base, "bert") == 0)
		strcpy(base, "bert-base");
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, base) == 0)
		{
			*out = presets[i];
			found = true;
		}
	if (!found)
	{
		fprintf(stderr, "bench_transformers: unknown shape \"%s\" (gpt2-small, minilm-l6, bert-base, gpt2:..., bert:...)\n",
				base);
		exit(2);
	}
	strcpy(out->name, arg);
	if (colon != NULL)
	{
		char	   *list = strdup(colon + 1);
		char	   *save = NULL;
		bool		ffn_given = false;

		for (char *kv = strtok_r(list, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save))
		{
			char	   *eq = strchr(kv, '=');
			int		   *field = NULL;

			if (eq == NULL)
				usage();
			*eq = '\0';
			if (strcmp(kv, "layers") == 0)
				field = &out->layers;
			else if (strcmp(kv, "hidden") == 0)
				field = &out->hidden;
			else if (strcmp(kv, "heads") == 0)
				field = &out->heads;
			else if (strcmp(kv, "ffn") == 0)
			{
				field = &out->ffn;
				ffn_given = true;
			}
			else if (strcmp(kv, "vocab") == 0)
				field = &out->vocab;
			else if (strcmp(kv, "positions") == 0)
				field = &out->positions;
			else
			{
				fprintf(stderr, "bench_transformers: unknown shape key \"%s\" "
						"(layers, hidden, heads, ffn, vocab, positions)\n", kv);
				exit(2);
			}
			*field = parse_count(kv, eq + 1, 1, 1 << 20);
		}
		free(list);
		if (!ffn_given)
			out->ffn = 4 * out->hidden;
	}
	if (out->hidden % out->heads != 0)
	{
		fprintf(stderr, "bench_transformers: %s: hidden %d is not a multiple of heads %d\n",
				arg, out->hidden, out->heads);
		exit(2);
	}
}

static void
print_shape(const char *role, const ModelShape *m, const Specs *s)
{
	double		params = 0;

	for (int i = 0; i < s->n; i++)
		params += numel(&s->v[i]);
	printf("%s_shape %s layers=%d hidden=%d heads=%d ffn=%d vocab=%d positions=%d params=%.0f\n",
		   role, m->name, m->layers, m->hidden, m->heads, m->ffn, m->vocab, m->positions, params);
}

/* The threads OpenBLAS runs (after lm_blas_init), or -1 if it cannot say. */
int
main(int argc, char **argv)
{
	char		tmpl[] = "/tmp/bench_transformers.XXXXXX";
	char	   *dir;
	char		sub[512];
	char		config[1024];
	LmError		err;
	ModelShape	shapes[2];		/* [0] the decoder, [1] the encoder */
	bool		have[2] = {false, false};
	bool		shape_given = false;
	int			threads = 0;
	const char *write_to = NULL;
	Specs		specs[2] = {{0}};
	const char *const names[4] = {"gpt2-f32", "gpt2-f16", "bert-f32", "bert-f16"};
	LmTensorSet sets[4] = {{0}};
	LmModel    *models[4] = {NULL};
	GemmRef		ref_prompt,
				ref_b1,
				ref_b32;
	Gpt2Best	gpt_best[2];
	BertBest	bert_best[2];
	double		bw = 0,
				rd = 0;
	double		gemv_best[4] = {1e30, 1e30, 1e30, 1e30};
	const ModelShape *gpt = &shapes[0];
	const ModelShape *bert = &shapes[1];

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *value = NULL;
		static const char *const opts[] = {"--rounds", "--threads", "--shape", "--prompt",
		"--decode", "--seq", "--batch", "--engine-threads", "--write-models"};
		int			opt = -1;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage();
		if (a[0] != '-')
		{
			rounds = parse_count("rounds", a, 1, 1000000);
			continue;
		}
		opt = option_value(argc, argv, &i, opts, (int) (sizeof(opts) / sizeof(opts[0])), &value);
		if (opt < 0 || value == NULL)
			usage();
		switch (opt)
		{
			case 0:
				rounds = parse_count(a, value, 1, 1000000);
				break;
			case 1:
				threads = parse_count(a, value, 1, 1024);
				break;
			case 2:
				{
					ModelShape	m;

					parse_shape(value, &m);
					shape_given = true;
					if (have[m.decoder ? 0 : 1])
					{
						fprintf(stderr, "bench_transformers: one decoder shape and one encoder shape at most\n");
						exit(2);
					}
					shapes[m.decoder ? 0 : 1] = m;
					have[m.decoder ? 0 : 1] = true;
				}
				break;
			case 3:
				prompt_tokens = parse_count(a, value, 1, 1 << 20);
				break;
			case 4:
				decode_tokens = parse_count(a, value, 1, 1 << 20);
				break;
			case 5:
				seq_tokens = parse_count(a, value, 1, 1 << 20);
				break;
			case 6:
				batch = parse_count(a, value, 1, 1 << 20);
				break;
			case 7:
				lm_parallel_set_threads(parse_count(a, value, 1, 1024));
				break;
			case 8:
				write_to = value;
				break;
		}
	}
	if (!shape_given)
	{
		shapes[0] = presets[0];	/* gpt2-small */
		shapes[1] = presets[1];	/* minilm-l6 */
		have[0] = have[1] = true;
	}
	if (have[0] && prompt_tokens + decode_tokens > gpt->positions)
	{
		fprintf(stderr, "bench_transformers: --prompt + --decode (%d) exceed %s's %d positions\n",
				prompt_tokens + decode_tokens, gpt->name, gpt->positions);
		exit(2);
	}
	if (have[1] && seq_tokens > bert->positions)
	{
		fprintf(stderr, "bench_transformers: --seq %d exceeds %s's %d positions\n",
				seq_tokens, bert->name, bert->positions);
		exit(2);
	}

	/* --write-models: the checkpoints into DIR/<shape name>, for the SQL benchmarks, and stop */
	if (write_to != NULL)
	{
		for (int k = 0; k < 2; k++)
		{
			char		path[1024];

			if (!have[k])
				continue;
			(k == 0 ? gpt2_specs : bert_specs) (&specs[k], &shapes[k]);
			model_config(&shapes[k], config, sizeof(config));
			snprintf(path, sizeof(path), "%s/%s", write_to, shapes[k].name);
			if (mkdir(path, 0755) != 0 && errno != EEXIST)
				die(path, NULL);
			write_model(path, config, &specs[k], false);
			printf("wrote %s\n", path);
		}
		return 0;
	}

	/* OpenBLAS reads its thread count when it loads: set it before lm_blas_init. */
	if (threads > 0)
	{
		char		n[16];

		snprintf(n, sizeof(n), "%d", threads);
		setenv("OPENBLAS_NUM_THREADS", n, 1);
		setenv("OMP_NUM_THREADS", n, 1);
	}
	lm_error_clear(&err);
	if (lm_blas_init(&err) < 0)
		die("OpenBLAS", &err);
	if ((dir = mkdtemp(tmpl)) == NULL)
		die("mkdtemp", NULL);
	printf("cpu_kernels %s\n", lm_simd_name(lm_simd_current()));
	printf("openblas_core %s\n", lm_blas_core());
	printf("threads %s\n", getenv("OPENBLAS_NUM_THREADS"));
	printf("engine_threads %d\n", lm_parallel_threads());
	printf("blas_threads %d\n", blas_threads());
	printf("rounds %d\n", rounds);

	/* checkpoints, written and loaded (the engine reads them into memory) */
	if (have[0])
	{
		gpt2_specs(&specs[0], gpt);
		print_shape("decoder", gpt, &specs[0]);
	}
	if (have[1])
	{
		bert_specs(&specs[1], bert);
		print_shape("encoder", bert, &specs[1]);
	}
	fflush(stdout);
	for (int i = 0; i < 4; i++)
	{
		if (!have[i / 2])
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
		if (mkdir(sub, 0700) < 0)
			die(sub, NULL);
		model_config(&shapes[i / 2], config, sizeof(config));
		write_model(sub, config, &specs[i / 2], i % 2 == 1);
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
	if (have[0])
		gemm_ref_init(&ref_prompt, gpt, prompt_tokens, NULL);
	if (have[1])
	{
		gemm_ref_init(&ref_b1, bert, seq_tokens, NULL);
		gemm_ref_init(&ref_b32, bert, batch * seq_tokens, &ref_b1);
	}
	for (int i = 0; i < 2; i++)
	{
		if (have[0])
			gpt2_best_init(&gpt_best[i]);
		if (have[1])
			bert_best_init(&bert_best[i]);
	}
	for (int r = 0; r < rounds; r++)
	{
		double		t = triad_gbs();

		bw = t > bw ? t : bw;
		t = read_gbs();
		rd = t > rd ? t : rd;
		if (have[0])
		{
			gemv_rates(gpt, gemv_best);
			gemm_ref_round(&ref_prompt);

			/*
			 * Decoding beside the bandwidth of the same minutes: the triad
			 * and a plain read just before and after this round's decoding
			 * (the machine's bandwidth drifts by a third over a run, and
			 * the best-of figures compare each side with its own best
			 * moment).
			 */
			{
				double		triad_before = triad_gbs(),
							read_before = read_gbs(),
							f32 = gpt2_round(models[0], gpt, &gpt_best[0]),
							f16 = gpt2_round(models[1], gpt, &gpt_best[1]),
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
		}
		if (have[1])
		{
			gemm_ref_round(&ref_b1);
			gemm_ref_round(&ref_b32);
			for (int i = 0; i < 2; i++)
				bert_round(models[2 + i], bert, &bert_best[i]);
		}
		fprintf(stderr, "round %d of %d done\n", r + 1, rounds);
	}

	printf("triad_gbs %.2f\n", bw);
	printf("read_gbs %.2f\n", rd);
	if (have[0])
	{
		Shape		s[MAX_SHAPES];
		int			n = layer_shapes(gpt, s);

		printf("gemv_openblas_f32_s %.6f\n", gemv_best[0]);
		printf("gemv_engine_f32_s %.6f\n", gemv_best[1]);
		printf("gemv_engine_f16_s %.6f\n", gemv_best[2]);
		printf("gemv_engine_bf16_s %.6f\n", gemv_best[3]);
		printf("gpt2_weight_bytes_f32 %.0f\n", gpt2_weight_bytes(gpt, 4));
		printf("gpt2_weight_bytes_f16 %.0f\n", gpt2_weight_bytes(gpt, 2));
		printf("gpt2_prompt_gemm_flops %.0f\n", shapes_flops(s, n, prompt_tokens));
		printf("openblas_gpt2_prompt_gemm_s %.6f\n", ref_prompt.best);
	}
	if (have[1])
	{
		Shape		s[MAX_SHAPES];
		int			n = layer_shapes(bert, s);

		printf("bert_seq_gemm_flops %.0f\n", shapes_flops(s, n, seq_tokens));
		printf("openblas_bert_b1_gemm_s %.6f\n", ref_b1.best);
		printf("openblas_bert_b32_gemm_s %.6f\n", ref_b32.best);
	}
	for (int i = 0; i < 2; i++)
	{
		if (have[0])
		{
			printf("engine_%s_prompt_s %.6f\n", names[i], gpt_best[i].prompt);
			printf("engine_%s_decode_s %.6f\n", names[i], gpt2_decode_seconds(&gpt_best[i]));
		}
		if (have[1])
		{
			printf("engine_%s_b1_s %.6f\n", names[2 + i], bert_one_seconds(&bert_best[i]));
			printf("engine_%s_b32_s %.6f\n", names[2 + i], bert_best[i].batch);
		}
	}
	if (have[0])
		printf("prompt_tokens %d\ndecode_tokens %d\n", prompt_tokens, decode_tokens);
	if (have[1])
		printf("seq_tokens %d\nbatch %d\n", seq_tokens, batch);

	if (have[0])
	{
		gemm_ref_free(&ref_prompt);
		for (int i = 0; i < 2; i++)
			free(gpt_best[i].step);
	}
	if (have[1])
	{
		gemm_ref_free(&ref_b32);
		gemm_ref_free(&ref_b1);
		for (int i = 0; i < 2; i++)
			free(bert_best[i].one);
	}
	for (int i = 0; i < 4; i++)
	{
		if (models[i] == NULL)
			continue;
		lm_model_free(models[i]);
		lm_tensorset_free(&sets[i]);
	}
	for (int i = 0; i < 2; i++)
		free(specs[i].v);
	return 0;
}
