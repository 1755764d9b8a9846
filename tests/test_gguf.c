/*
 * test_gguf.c — the GGUF reader against llama.cpp's gguf-py: files that
 * gguf-py wrote (tests/data/gguf/NAME.gguf, by tests/gguf/make_fixtures.py)
 * read as gguf-py's own reader read them (NAME.json): every key's type and
 * value, every tensor's type, dimensions, offset and size.  Then bad files
 * made from a good one: every truncation, lying offsets and counts,
 * unknown types, overlaps, misalignment — each refused with the file and
 * an offset named, none crashing.
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_util.h"
#include "device/device.h"
#include "formats/gguf.h"
#include "formats/gguf_hf.h"
#include "formats/gguf_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "models/model.h"
#include "testutil.h"
#include "util/file.h"

static void
data_path(char *out, size_t size, const char *name)
{
	char		source[4096];

	snprintf(source, sizeof(source), "%s", __FILE__);
	snprintf(out, size, "%s/data/gguf/%s", dirname(source), name);
}

/* A value as gguf-py's reader gave it (json) against ours. */
static bool
same_value(const LmGgufValue *v, json_t *want)
{
	switch (v->type)
	{
		case LM_GGUF_STRING:
			return json_is_string(want) && strlen(json_string_value(want)) == v->str.len &&
				memcmp(json_string_value(want), v->str.s, v->str.len) == 0;
		case LM_GGUF_FLOAT32:
		case LM_GGUF_FLOAT64:
			return json_is_number(want) && json_number_value(want) == v->f;
		case LM_GGUF_BOOL:
			return json_is_boolean(want) && json_is_true(want) == (v->u != 0);
		case LM_GGUF_INT8:
		case LM_GGUF_INT16:
		case LM_GGUF_INT32:
		case LM_GGUF_INT64:
			return json_is_integer(want) && json_integer_value(want) == v->i;
		case LM_GGUF_UINT64:
			{
				/* beyond int64 the fixture writes the number as a string */
				char		digits[32];

				snprintf(digits, sizeof(digits), "%llu", (unsigned long long) v->u);
				return (json_is_integer(want) && (uint64_t) json_integer_value(want) == v->u) ||
					(json_is_string(want) && strcmp(json_string_value(want), digits) == 0);
			}
		case LM_GGUF_ARRAY:
			{
				if (!json_is_array(want) || json_array_size(want) != v->arr.n)
					return false;
				for (uint64_t i = 0; i < v->arr.n; i++)
				{
					json_t	   *w = json_array_get(want, i);

					if (v->arr.type == LM_GGUF_STRING)
					{
						LmGgufString s = lm_gguf_array_string(v, i);

						if (!json_is_string(w) || strlen(json_string_value(w)) != s.len ||
							memcmp(json_string_value(w), s.s, s.len) != 0)
							return false;
					}
					else
					{
						const uint8_t *e = v->arr.data;
						double		x;

						switch (v->arr.type)
						{
							case LM_GGUF_BOOL:
								if (!json_is_boolean(w) || json_is_true(w) != (e[i] != 0))
									return false;
								continue;
							case LM_GGUF_INT32:
								{
									int32_t		k;

									memcpy(&k, e + 4 * i, 4);
									x = k;
									break;
								}
							case LM_GGUF_FLOAT32:
								{
									float		f;

									memcpy(&f, e + 4 * i, 4);
									x = f;
									break;
								}
							default:
								return false;	/* the fixtures have no other arrays */
						}
						if (!json_is_number(w) || json_number_value(w) != x)
							return false;
					}
				}
				return true;
			}
		default:
			return json_is_integer(want) && (uint64_t) json_integer_value(want) == v->u;
	}
}

static void
test_reference(const char *name)
{
	char		path[4200],
				expected[4200];
	LmGguf		g;
	LmError		err;
	json_error_t jerr;
	json_t	   *want;
	size_t		i;
	json_t	   *item;
	int			kv_ok = 0,
				tensors_ok = 0;

	snprintf(expected, sizeof(expected), "%s.json", name);
	data_path(path, sizeof(path), expected);
	want = json_load_file(path, 0, &jerr);
	snprintf(expected, sizeof(expected), "%s.gguf", name);
	data_path(path, sizeof(path), expected);
	test_error_init(&err);
	if (!CHECK(want != NULL, "%s: gguf-py's reading loads (%s)", name, jerr.text) ||
		!CHECK(lm_gguf_load(path, &g, &err) == 0, "%s: reads (%s)", name, err.message))
		return;
	CHECK(g.version == json_integer_value(json_object_get(want, "version")) &&
		  g.alignment == (uint64_t) json_integer_value(json_object_get(want, "alignment")) &&
		  g.data_offset == (uint64_t) json_integer_value(json_object_get(want, "data_offset")),
		  "%s: version %u, alignment %llu, data at %llu, as gguf-py reads them", name, g.version,
		  (unsigned long long) g.alignment, (unsigned long long) g.data_offset);
	json_array_foreach(json_object_get(want, "kv"), i, item)
	{
		const LmGgufKv *kv = lm_gguf_find(&g, json_string_value(json_object_get(item, "key")));

		if (kv != NULL && (int) kv->value.type == json_integer_value(json_object_get(item, "type")) &&
			same_value(&kv->value, json_object_get(item, "value")))
			kv_ok++;
		else
			printf("# %s: key %s differs\n", name, json_string_value(json_object_get(item, "key")));
	}
	CHECK(kv_ok == (int) json_array_size(json_object_get(want, "kv")) &&
		  g.n_kv == json_array_size(json_object_get(want, "kv")) + 0,
		  "%s: %d of %zu metadata keys with gguf-py's types and values", name, kv_ok,
		  json_array_size(json_object_get(want, "kv")));
	json_array_foreach(json_object_get(want, "tensors"), i, item)
	{
		const LmGgufTensor *t = lm_gguf_tensor(&g, json_string_value(json_object_get(item, "name")));
		json_t	   *ne = json_object_get(item, "ne");
		bool		ok = t != NULL && (int) t->type == json_integer_value(json_object_get(item, "type")) &&
			t->ndim == (int) json_array_size(ne) &&
			t->offset == (uint64_t) json_integer_value(json_object_get(item, "offset")) &&
			t->nbytes == (uint64_t) json_integer_value(json_object_get(item, "nbytes"));

		for (int d = 0; ok && d < t->ndim; d++)
			ok = t->ne[d] == json_integer_value(json_array_get(ne, d));
		tensors_ok += ok;
		if (!ok)
			printf("# %s: tensor %s differs\n", name, json_string_value(json_object_get(item, "name")));
	}
	CHECK(tensors_ok == (int) json_array_size(json_object_get(want, "tensors")) &&
		  g.n_tensors == json_array_size(json_object_get(want, "tensors")),
		  "%s: %d tensors with gguf-py's types, dimensions, offsets and sizes", name, tensors_ok);
	{
		char	   *json = lm_gguf_metadata_json(&g, 3, &err);
		json_t	   *parsed = json ? json_loads(json, JSON_DECODE_INT_AS_REAL, &jerr) : NULL;
		json_t	   *summary = parsed ? json_object_get(parsed, "test.array_strings") : NULL;

		CHECK(parsed != NULL && json_is_string(json_object_get(parsed, "test.string")) &&
			  json_number_value(json_object_get(summary, "count")) == 4 &&
			  json_array_size(json_object_get(parsed, "test.array_ints")) == 0 &&
			  json_array_size(json_object_get(parsed, "test.array_f32")) == 3,
			  "%s: the metadata as JSON parses, long arrays summarised", name);
		json_decref(parsed);
		free(json);
	}
	lm_gguf_free(&g);
	json_decref(want);
}

/* ---- bad files, made from a good one ---------------------------------------------- */

static uint8_t *good;
static size_t good_len;

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* Where tensor NAME's info starts in the good file: its name's length field. */
static size_t
tensor_info_at(const char *name)
{
	size_t		n = strlen(name);

	for (size_t i = 8; i + n <= good_len; i++)
		if (memcmp(good + i, name, n) == 0 && good[i - 8] == n && good[i - 7] == 0 && good[i + n] <= 4 &&
			good[i + n + 1] == 0)
			return i - 8;
	return 0;
}

/* Parse a changed copy: it must fail with the file and "offset" in the message, and what. */
static void
expect_refused(const uint8_t *buf, size_t len, const char *what, const char *needle)
{
	LmGguf		g;
	LmError		err;
	int			rc;

	test_error_init(&err);
	rc = lm_gguf_parse(buf, len, "bad.gguf", &g, &err);
	if (rc == 0)
		lm_gguf_free(&g);
	CHECK(rc != 0 && strstr(err.message, "bad.gguf: offset ") != NULL &&
		  (needle == NULL || strstr(err.message, needle) != NULL),
		  "%s: refused (%s)", what, err.message);
}

static void
test_bad_files(void)
{
	char		path[4200];
	LmError		err;
	uint8_t    *b;
	size_t		ti,
				tq;
	int			truncated_refused = 0,
				truncated = 0;
	uint64_t	data_end = 0;
	LmGguf		whole;

	data_path(path, sizeof(path), "kinds.gguf");
	test_error_init(&err);
	if (!CHECK(lm_read_file(path, 1 << 26, &good, &good_len, &err) == 0, "the good file reads"))
		return;
	b = malloc(good_len);

	/* every prefix that cuts into the last tensor's data or before is refused; none crashes */
	if (lm_gguf_parse(good, good_len, "good.gguf", &whole, &err) == 0)
	{
		for (size_t i = 0; i < whole.n_tensors; i++)
			if (whole.tensors[i].offset + whole.tensors[i].nbytes > data_end)
				data_end = whole.tensors[i].offset + whole.tensors[i].nbytes;
		lm_gguf_free(&whole);
	}
	for (size_t len = 0; len < data_end; len++)
	{
		LmGguf		g;

		test_error_init(&err);
		truncated++;
		if (lm_gguf_parse(good, len, "bad.gguf", &g, &err) != 0)
			truncated_refused += strstr(err.message, "bad.gguf: offset ") != NULL;
		else
			lm_gguf_free(&g);
	}
	CHECK(data_end > 0 && truncated_refused == truncated,
		  "all %d truncations before the end of the data refused with an offset (%d)", truncated,
		  truncated_refused);

#define RESET() memcpy(b, good, good_len)
	RESET();
	memcpy(b, "GGUX", 4);
	expect_refused(b, good_len, "no magic", "not a GGUF file");
	RESET();
	put_u32(b + 4, 1);
	expect_refused(b, good_len, "version 1", "version 1");
	RESET();
	put_u64(b + 8, UINT64_MAX / 2);
	expect_refused(b, good_len, "an oversize tensor count", "tensor count");
	RESET();
	put_u64(b + 16, 1ULL << 40);
	expect_refused(b, good_len, "an oversize metadata count", "metadata count");
	RESET();
	put_u64(b + 24, 1ULL << 50);	/* the first key's length */
	expect_refused(b, good_len, "a key longer than the file", "claims more bytes");

	ti = tensor_info_at("t.f32");
	tq = tensor_info_at("t.q4_k");
	if (!CHECK(ti > 0 && tq > 0, "the tensor infos are found in the good file"))
		return;
	{
		/* t.f32: name (8 + 5), ndim (4), 2 dims (16), type (4), offset (8) */
		size_t		ndim_at = ti + 8 + 5,
					type_at = ndim_at + 4 + 16,
					offset_at = type_at + 4;
		size_t		q_type_at = tq + 8 + 6 + 4 + 16,
					q_offset_at = q_type_at + 4;

		RESET();
		put_u32(b + type_at, 99);
		expect_refused(b, good_len, "an unknown tensor type", "unknown ggml type 99");
		RESET();
		put_u32(b + ndim_at, 5);
		expect_refused(b, good_len, "five dimensions", "more than 4");
		RESET();
		put_u64(b + ndim_at + 4, 0);
		expect_refused(b, good_len, "a dimension of 0", "dimension of 0");
		RESET();
		put_u64(b + ndim_at + 4, 1ULL << 40);
		put_u64(b + ndim_at + 12, 1ULL << 40);
		expect_refused(b, good_len, "dimensions whose product overflows", NULL);
		RESET();
		put_u64(b + offset_at, 1ULL << 40);
		expect_refused(b, good_len, "a tensor offset past the end", "past the end");
		RESET();
		put_u64(b + offset_at, 4);
		expect_refused(b, good_len, "a misaligned tensor offset", "not aligned");
		RESET();
		put_u64(b + q_offset_at, 0);
		expect_refused(b, good_len, "two tensors at one offset", "overlap");
		RESET();
		put_u64(b + q_type_at - 16, 100);	/* a Q4_K row of 100 elements: not whole blocks */
		expect_refused(b, good_len, "a row that is not whole blocks", "blocks");
		RESET();
		memcpy(b + tq + 8, "t.f32", 5);
		b[tq] = 5;
		/* the shorter name shifts the rest: the reader must still say something sane */
		{
			LmGguf		g;

			test_error_init(&err);
			if (lm_gguf_parse(b, good_len, "bad.gguf", &g, &err) == 0)
				lm_gguf_free(&g);
			CHECK(strstr(err.message, "bad.gguf: offset ") != NULL, "a renamed tensor: refused (%s)",
				  err.message);
		}
	}
	{
		/* a metadata value of an unknown type: the first key's type field */
		uint64_t	klen = good[24] | (uint64_t) good[25] << 8;

		RESET();
		put_u32(b + 32 + klen, 77);
		expect_refused(b, good_len, "an unknown metadata type", "unknown metadata value type 77");
	}
#undef RESET
	free(b);
	free(good);
}

/* ---- a Llama from GGUF against the same weights from safetensors, and llama.cpp ---- */

#define MAX_POS 64

/* Logits at every position of ids for a loaded model; NULL on failure. */
static float *
all_logits(LmModel *model, const int32_t *ids, int n, int vocab)
{
	float	   *out = malloc(sizeof(float) * (size_t) n * vocab);
	LmError		err;

	test_error_init(&err);
	if (out != NULL && lm_model_logits(model, ids, n, true, out, &err) < 0)
	{
		printf("# logits: %s\n", err.message);
		free(out);
		return NULL;
	}
	return out;
}

static LmModel *
load_safetensors_dir(const char *dir, LmTensorSet *set)
	__attribute__((nonnull));

static LmModel *
load_safetensors_dir(const char *dir, LmTensorSet *set)
{
	char		path[4400];
	char	   *config;
	LmError		err;
	LmModel    *model = NULL;

	test_error_init(&err);
	snprintf(path, sizeof(path), "%.4000s/config.json", dir);
	config = test_read_text(path);
	snprintf(path, sizeof(path), "%.4000s/model.safetensors", dir);
	if (config != NULL && lm_safetensors_load(path, set, &err) == 0)
		model = lm_model_load(config, strlen(config), set, &err);
	if (model == NULL)
		printf("# %s: %s\n", dir, err.message);
	free(config);
	return model;
}

/* hf_dir: the same weights in transformers' layout (NULL: tests/data/gguf/MODEL-hf-KIND). */
static void
test_decoder(const char *model, const char *kind, double llama_cpp_tolerance, const char *hf_dir)
{
	char		path[4300],
				dir[4300],
				name[64];
	LmGguf		g;
	LmTensorSet gguf_set,
				hf_set;
	char	   *config = NULL;
	LmError		err;
	LmModel    *from_gguf = NULL,
			   *from_hf;
	json_t	   *ref;
	json_error_t jerr;
	int32_t		ids[MAX_POS];
	int			n,
				vocab;
	float	   *a = NULL,
			   *b = NULL,
			   *want = NULL;

	test_error_init(&err);
	snprintf(name, sizeof(name), "%s-%s.gguf", model, kind);
	data_path(path, sizeof(path), name);
	if (lm_gguf_load(path, &g, &err) == 0)
	{
		if (lm_gguf_as_hf(&g, &config, &gguf_set, &err) == 0)
			from_gguf = lm_model_load(config, strlen(config), &gguf_set, &err);
		lm_gguf_free(&g);
	}
	if (!CHECK(from_gguf != NULL, "%s %s: the GGUF file loads as a model (%s)", model, kind, err.message))
		return;
	snprintf(name, sizeof(name), "%s-hf-%s", model, kind);
	if (hf_dir != NULL)
		snprintf(dir, sizeof(dir), "%s/%s", test_fixtures_dir(), hf_dir);
	else
		data_path(dir, sizeof(dir), name);
	from_hf = load_safetensors_dir(dir, &hf_set);
	snprintf(name, sizeof(name), "%s-%s.llama_cpp.json", model, kind);
	data_path(path, sizeof(path), name);
	ref = json_load_file(path, 0, &jerr);
	n = json_ids(json_object_get(ref, "ids"), ids, MAX_POS);
	vocab = (int) json_array_size(json_array_get(json_object_get(ref, "logits"), 0));
	if (!CHECK(from_hf != NULL && ref != NULL && n > 0 && vocab > 0,
			   "%s %s: the same weights from safetensors, and llama.cpp's logits (%d positions)", model, kind, n))
		return;
	a = all_logits(from_gguf, ids, n, vocab);
	b = all_logits(from_hf, ids, n, vocab);
	want = calloc((size_t) n * vocab, sizeof(float));
	for (int i = 0; want != NULL && i < n; i++)
		for (int v = 0; v < vocab; v++)
			want[(size_t) i * vocab + v] =
				(float) json_number_value(json_array_get(json_array_get(json_object_get(ref, "logits"), i), v));
	if (a != NULL && b != NULL && want != NULL)
	{
		double		same = rel_error(a, b, (long) n * vocab),
					cpp = rel_error(a, want, (long) n * vocab);
		int			top1 = 0;

		for (int i = 0; i < n; i++)
		{
			int			x = 0,
						y = 0;

			for (int v = 1; v < vocab; v++)
			{
				x = a[(size_t) i * vocab + v] > a[(size_t) i * vocab + x] ? v : x;
				y = want[(size_t) i * vocab + v] > want[(size_t) i * vocab + y] ? v : y;
			}
			top1 += x == y;
		}
		CHECK(same <= 1e-5, "%s %s: GGUF and safetensors give the same logits (relative error %.2g, at most 1e-5)",
			  model, kind, same);
		CHECK(cpp <= llama_cpp_tolerance,
			  "%s %s: logits agree with llama.cpp's (relative error %.2g, at most %.0e; top-1 at %d of %d positions)",
			  model, kind, cpp, llama_cpp_tolerance, top1, n);
		/* token by token, two decoders stepped together, give the same logits as the whole input at once */
		{
			LmDecoder  *decs[2] = {lm_decoder_start(from_gguf, n, &err), lm_decoder_start(from_gguf, n, &err)};
			float	   *step = malloc(sizeof(float) * 2 * vocab);
			double		worst = 0;
			bool		ok = decs[0] != NULL && decs[1] != NULL && step != NULL;

			for (int i = 0; ok && i < n; i++)
			{
				int32_t		two[2] = {ids[i], ids[i]};

				ok = lm_decoders_step(decs, two, 2, step, &err) == 0;
				for (int r = 0; ok && r < 2; r++)
					worst = fmax(worst, rel_error(step + (size_t) r * vocab, a + (size_t) i * vocab, vocab));
			}
			CHECK(ok && worst <= 1e-5, "%s %s: stepping two decoders token by token gives the same logits (%.2g)",
				  model, kind, worst);
			lm_decoder_free(decs[0]);
			lm_decoder_free(decs[1]);
			free(step);
		}
	}
	else
		CHECK(false, "%s %s: logits computed", model, kind);
	free(a);
	free(b);
	free(want);
	free(config);
	json_decref(ref);
	lm_model_free(from_gguf);
	lm_model_free(from_hf);
	lm_tensorset_free(&gguf_set);
	lm_tensorset_free(&hf_set);
}

/* ---- vocabularies from GGUF metadata against HF tokenizers' and sentencepiece's output ---- */

/* Encode every case of a fixture's cases file; count the ids and decoded texts that agree. */
static void
check_cases(const LmTokenizer *tok, const char *what, const char *cases_file, bool with_special,
			const char *llama_cpp_file)
{
	char		path[4200];
	FILE	   *cases,
			   *cpp;
	char		cpp_line[1 << 16];
	int			cpp_ok = 0;
	char		line[1 << 16];
	int			n = 0,
				ids_ok = 0,
				special_ok = 0,
				same_text = 0;
	LmError		err;

	data_path(path, sizeof(path), llama_cpp_file);
	cpp = fopen(path, "r");
	snprintf(path, sizeof(path), "%s/%s", test_fixtures_dir(), cases_file);
	cases = fopen(path, "r");
	while (cases != NULL && fgets(line, sizeof(line), cases) != NULL)
	{
		json_error_t jerr;
		json_t	   *c = json_loads(line, 0, &jerr);
		const char *text = json_string_value(json_object_get(c, "text"));
		int32_t		want[4096];
		int			nw = json_ids(json_object_get(c, "ids"), want, 4096);
		LmEncoding	enc = {0};

		if (c == NULL || text == NULL)
		{
			json_decref(c);
			continue;
		}
		n++;
		test_error_init(&err);
		if (lm_tokenizer_encode(tok, text, strlen(text), false, &enc, &err) == 0)
		{
			char	   *back = lm_tokenizer_decode(tok, want, nw, true, &err);

			ids_ok += same_ids(enc.ids, (int) enc.n, want, nw);
			if (cpp != NULL && fgets(cpp_line, sizeof(cpp_line), cpp) != NULL)
			{
				json_t	   *r = json_loads(cpp_line, 0, &jerr);
				int32_t		theirs[4096];
				int			nt = json_ids(json_object_get(r, "ids"), theirs, 4096);

				cpp_ok += same_ids(enc.ids, (int) enc.n, theirs, nt);
				json_decref(r);
			}
			same_text += back != NULL && strcmp(back, json_string_value(json_object_get(c, "decoded"))) == 0;
			free(back);
		}
		lm_encoding_free(&enc);
		if (with_special)
		{
			LmEncoding	sp = {0};

			nw = json_ids(json_object_get(c, "ids_special"), want, 4096);
			if (lm_tokenizer_encode(tok, text, strlen(text), true, &sp, &err) == 0)
				special_ok += same_ids(sp.ids, (int) sp.n, want, nw);
			lm_encoding_free(&sp);
		}
		json_decref(c);
	}
	if (cases)
		fclose(cases);
	if (cpp)
		fclose(cpp);
	CHECK(n > 0 && ids_ok == n, "%s from GGUF: the reference's ids for %d of %d texts", what, ids_ok, n);
	CHECK(n > 0 && cpp_ok == n, "%s from GGUF: llama.cpp's tokenizer's ids on the same file for %d of %d texts",
		  what, cpp_ok, n);
	CHECK(n > 0 && same_text == n, "%s from GGUF: its ids decoded as the reference decodes them, %d of %d", what,
		  same_text, n);
	if (with_special)
		CHECK(n > 0 && special_ok == n, "%s from GGUF: with special tokens added, the reference's ids for %d of %d",
			  what, special_ok, n);
}

/* The byte-level BPE vocabulary of tests/data/gguf/FILE as a tokenizer; NULL with err. */
static LmTokenizer *
load_bpe_vocabulary(const char *file, LmError *err)
{
	char		path[4200];
	LmGguf		g;
	LmTokenizer *tok = NULL;

	data_path(path, sizeof(path), file);
	if (lm_gguf_load(path, &g, err) == 0)
	{
		char	   *json = lm_gguf_tokenizer_json(&g, err);

		if (json != NULL)
			tok = lm_tokenizer_from_json(json, strlen(json), err);
		free(json);
		lm_gguf_free(&g);
	}
	return tok;
}

/* Count the texts of one cases file whose ids are the next lines of cpp (llama.cpp's ids). */
static void
count_llama_cpp_ids(const LmTokenizer *tok, const char *path, FILE *cpp, int *n, int *same)
{
	FILE	   *cases = fopen(path, "r");
	char		line[1 << 16],
				cpp_line[1 << 16];

	while (cases != NULL && fgets(line, sizeof(line), cases) != NULL)
	{
		json_error_t jerr;
		json_t	   *c = json_loads(line, 0, &jerr);
		const char *text = json_string_value(json_object_get(c, "text"));
		LmEncoding	enc = {0};
		LmError		err;

		test_error_init(&err);
		if (text != NULL && fgets(cpp_line, sizeof(cpp_line), cpp) != NULL)
		{
			json_t	   *r = json_loads(cpp_line, 0, &jerr);
			int32_t		theirs[4096];
			int			nt = json_ids(json_object_get(r, "ids"), theirs, 4096);

			(*n)++;
			if (lm_tokenizer_encode(tok, text, strlen(text), false, &enc, &err) == 0)
				*same += same_ids(enc.ids, (int) enc.n, theirs, nt);
			else
				printf("# %s\n", err.message);
			lm_encoding_free(&enc);
			json_decref(r);
		}
		json_decref(c);
	}
	if (cases != NULL)
		fclose(cases);
}

/*
 * A vocabulary whose pre-tokenizer only llama.cpp gives here (qwen2, smollm,
 * tekken): its ids on a fixture's cases and then on
 * tests/gguf/pretokenizer_texts.jsonl (digits, contractions, case changes,
 * marks, spaces), in the order tests/gguf/make_llama_fixtures.sh wrote them.
 */
static void
test_llama_cpp_vocabulary(const char *file, const char *what, const char *cases_file, const char *llama_cpp_file)
{
	char		path[4300],
				source[4096];
	LmError		err;
	LmTokenizer *tok;
	FILE	   *cpp;
	int			n = 0,
				same = 0;

	test_error_init(&err);
	tok = load_bpe_vocabulary(file, &err);
	if (!CHECK(tok != NULL, "%s vocabulary from GGUF metadata loads as a tokenizer%s%s", what,
			   err.message[0] ? ": " : "", err.message))
		return;
	data_path(path, sizeof(path), llama_cpp_file);
	if ((cpp = fopen(path, "r")) != NULL)
	{
		snprintf(path, sizeof(path), "%s/%s", test_fixtures_dir(), cases_file);
		count_llama_cpp_ids(tok, path, cpp, &n, &same);
		snprintf(source, sizeof(source), "%s", __FILE__);
		snprintf(path, sizeof(path), "%s/gguf/pretokenizer_texts.jsonl", dirname(source));
		count_llama_cpp_ids(tok, path, cpp, &n, &same);
		fclose(cpp);
	}
	CHECK(n > 50 && same == n, "%s from GGUF: llama.cpp's tokenizer's ids for %d of %d texts", what, same, n);
	lm_tokenizer_free(tok);
}

/* A byte-level BPE vocabulary from GGUF metadata, checked against a fixture's cases. */
static void
test_bpe_vocabulary(const char *file, const char *what, const char *cases_file, bool with_special,
					const char *llama_cpp_file)
{
	LmError		err;
	LmTokenizer *tok;

	test_error_init(&err);
	tok = load_bpe_vocabulary(file, &err);
	if (CHECK(tok != NULL, "%s vocabulary from GGUF metadata loads as a tokenizer (%s)", what, err.message))
		check_cases(tok, what, cases_file, with_special, llama_cpp_file);
	lm_tokenizer_free(tok);
}

static void
test_vocabularies(void)
{
	char		path[4200];
	LmGguf		g;
	LmError		err;
	LmTokenizer *tok = NULL;

	/* byte-level BPE, as tokenizer.json: GPT-2's pre-tokenizer, and Llama 3's with its BOS */
	test_bpe_vocabulary("gpt2-vocab.gguf", "GPT-2", "real-tokenizers/gpt2/cases.jsonl", true,
						"gpt2-vocab.llama_cpp_ids.jsonl");
	test_bpe_vocabulary("llama3-style-vocab.gguf", "Llama 3-style", "tokenizers/bpe-regex-llama3/cases.jsonl", true,
						"llama3-style-vocab.llama_cpp_ids.jsonl");
	/* pre-tokenizers whose reference here is llama.cpp's tokenizer */
	test_llama_cpp_vocabulary("qwen2-style-vocab.gguf", "qwen2", "tokenizers/bpe-regex-llama3/cases.jsonl",
							  "qwen2-style-vocab.llama_cpp_ids.jsonl");
	test_llama_cpp_vocabulary("tekken-style-vocab.gguf", "tekken", "tokenizers/bpe-regex-llama3/cases.jsonl",
							  "tekken-style-vocab.llama_cpp_ids.jsonl");
	test_llama_cpp_vocabulary("smollm-style-vocab.gguf", "smollm", "real-tokenizers/gpt2/cases.jsonl",
							  "smollm-style-vocab.llama_cpp_ids.jsonl");

	/* Llama 2: SentencePiece BPE with byte fallback, as a ModelProto */
	tok = NULL;
	test_error_init(&err);
	data_path(path, sizeof(path), "llama2-vocab.gguf");
	if (lm_gguf_load(path, &g, &err) == 0)
	{
		size_t		len;
		uint8_t    *model = lm_gguf_tokenizer_is_spm(&g) ? lm_gguf_spm_model(&g, &len, &err) : NULL;

		if (model != NULL)
			tok = lm_tokenizer_from_spm(model, len, &err);
		free(model);
		lm_gguf_free(&g);
	}
	if (CHECK(tok != NULL, "Llama 2's vocabulary from GGUF metadata loads as a SentencePiece model (%s)", err.message))
		check_cases(tok, "Llama 2", "real-tokenizers/llama2/spm_cases.jsonl", false,
					"llama2-vocab.llama_cpp_ids.jsonl");
	lm_tokenizer_free(tok);
}

/* The first `n` rows of logits from stepping decs (1 or 2, stepped together) token by token. */
static double
stepped_error(LmModel *model, const int32_t *ids, int n, const float *whole, int vocab, int together)
{
	LmError		err;
	LmDecoder  *decs[2] = {NULL, NULL};
	float	   *step = malloc(sizeof(float) * 2 * vocab);
	double		worst = 0;

	test_error_init(&err);
	for (int d = 0; d < together; d++)
		decs[d] = lm_decoder_start(model, n, &err);
	for (int i = 0; step != NULL && decs[0] != NULL && (together == 1 || decs[1] != NULL) && i < n; i++)
	{
		int32_t		same[2] = {ids[i], ids[i]};

		if (lm_decoders_step(decs, same, together, step, &err) != 0)
		{
			worst = INFINITY;
			break;
		}
		for (int d = 0; d < together; d++)
			worst = fmax(worst, rel_error(step + (size_t) d * vocab, whole + (size_t) i * vocab, vocab));
	}
	for (int d = 0; d < together; d++)
		lm_decoder_free(decs[d]);
	free(step);
	return worst;
}

/* The weights of set (loaded from dir) under dir's config as edit(cfg) changes it. */
static LmModel *
load_edited(const char *dir, LmTensorSet *set, void (*edit) (json_t *cfg))
{
	char		path[4400];
	char	   *text;
	json_t	   *cfg;
	json_error_t jerr;
	LmModel    *model = NULL;
	LmError		err;

	snprintf(path, sizeof(path), "%.4000s/config.json", dir);
	text = test_read_text(path);
	cfg = text ? json_loads(text, 0, &jerr) : NULL;
	test_error_init(&err);
	if (cfg != NULL)
	{
		char	   *edited;

		edit(cfg);
		edited = json_dumps(cfg, 0);
		model = lm_model_load(edited, strlen(edited), set, &err);
		if (model == NULL)
			printf("# %s\n", err.message);
		free(edited);
	}
	json_decref(cfg);
	free(text);
	return model;
}

static void
as_mistral_4(json_t *cfg)
{
	json_object_set_new(cfg, "model_type", json_string("mistral"));
	json_object_set_new(cfg, "architectures", json_pack("[s]", "MistralForCausalLM"));
	json_object_set_new(cfg, "sliding_window", json_integer(4));
}

static void
one_layer(json_t *cfg)
{
	json_object_set_new(cfg, "num_hidden_layers", json_integer(1));
}

static void
one_layer_mistral_4(json_t *cfg)
{
	as_mistral_4(cfg);
	one_layer(cfg);
}

static void
qwen2_window_from_1(json_t *cfg)
{
	json_object_set_new(cfg, "use_sliding_window", json_true());
	json_object_set_new(cfg, "sliding_window", json_integer(4));
	json_object_set_new(cfg, "max_window_layers", json_integer(1));
}

/*
 * Sliding-window attention (Mistral; Qwen2 with use_sliding_window): the
 * tiny Llama's weights with a window of 4.  Within the window the logits
 * are Llama's exactly.  With one layer, a query attends to its last 4 keys
 * only, and rotary positions are relative: the logits at position p are
 * those of the same model on tokens p-3 .. p alone.  Stepping decoders,
 * alone or together, gives the whole pass's logits.
 */
static void
test_sliding_window(void)
{
	char		dir[4300];
	LmTensorSet set,
				qwen2_set;
	LmModel    *llama,
			   *mistral,
			   *llama1,
			   *mistral1,
			   *qwen2,
			   *qwen2_window;
	int32_t		ids[12] = {1, 11, 48, 85, 122, 159, 196, 233, 270, 307, 24, 61};
	int			vocab;
	float	   *a,
			   *b;

	data_path(dir, sizeof(dir), "llama-tiny-hf-f32");
	llama = load_safetensors_dir(dir, &set);
	mistral = load_edited(dir, &set, as_mistral_4);
	llama1 = load_edited(dir, &set, one_layer);
	mistral1 = load_edited(dir, &set, one_layer_mistral_4);
	data_path(dir, sizeof(dir), "qwen2-tiny-hf-f32");
	qwen2 = load_safetensors_dir(dir, &qwen2_set);
	qwen2_window = load_edited(dir, &qwen2_set, qwen2_window_from_1);
	if (!CHECK(llama && mistral && llama1 && mistral1 && qwen2 && qwen2_window,
			   "sliding window: the tiny Llama's weights load as Mistral and Qwen2 with a window of 4"))
		goto done;
	vocab = lm_model_info(llama)->vocab_size;
	a = all_logits(mistral, ids, 12, vocab);
	b = all_logits(llama, ids, 12, vocab);
	CHECK(a && b && rel_error(a, b, 4L * vocab) == 0 && rel_error(a + 4L * vocab, b + 4L * vocab, 8L * vocab) > 1e-3,
		  "mistral: Llama's logits exactly within the window, others after it");
	CHECK(a && stepped_error(mistral, ids, 12, a, vocab, 1) <= 1e-5 && stepped_error(mistral, ids, 12, a, vocab, 2) <= 1e-5,
		  "mistral: decoders stepped alone and together give the whole pass's logits past the window");
	free(a);
	free(b);
	a = all_logits(mistral1, ids, 12, vocab);
	{
		double		worst = 0;

		for (int p = 4; a && p < 12; p++)
		{
			float	   *alone = all_logits(llama1, ids + p - 3, 4, vocab);

			worst = fmax(worst, alone ? rel_error(a + (size_t) p * vocab, alone + 3L * vocab, vocab) : INFINITY);
			free(alone);
		}
		CHECK(a && worst <= 1e-4, "mistral, one layer: the logits at position p are those of tokens p-3 .. p alone "
			  "(relative error %.2g)", worst);
	}
	free(a);
	vocab = lm_model_info(qwen2)->vocab_size;
	a = all_logits(qwen2_window, ids, 12, vocab);
	b = all_logits(qwen2, ids, 12, vocab);
	CHECK(a && b && rel_error(a, b, 4L * vocab) == 0 && rel_error(a + 4L * vocab, b + 4L * vocab, 8L * vocab) > 1e-4 &&
		  stepped_error(qwen2_window, ids, 12, a, vocab, 2) <= 1e-5,
		  "qwen2 use_sliding_window from layer 1: Qwen2's logits within the window, others after it; "
		  "stepping gives the whole pass's");
	free(a);
	free(b);
done:
	lm_model_free(llama);
	lm_model_free(mistral);
	lm_model_free(llama1);
	lm_model_free(mistral1);
	lm_model_free(qwen2);
	lm_model_free(qwen2_window);
	lm_tensorset_free(&set);
	lm_tensorset_free(&qwen2_set);
}

/*
 * A prompt longer than attention's query blocks (128 rows, each against the
 * keys up to its last row only): the whole pass gives the logits of
 * stepping the same tokens one by one (GPT-2, 256 positions).
 */
static void
test_long_prompt(void)
{
	char		path[4300];
	LmGguf		g;
	LmTensorSet set = {0};
	char	   *config = NULL;
	LmModel    *model = NULL;
	LmError		err;
	enum
	{
		N = 200
	};
	int32_t		ids[N];

	test_error_init(&err);
	data_path(path, sizeof(path), "gpt2-tiny-f32.gguf");
	if (lm_gguf_load(path, &g, &err) == 0)
	{
		if (lm_gguf_as_hf(&g, &config, &set, &err) == 0)
			model = lm_model_load(config, strlen(config), &set, &err);
		lm_gguf_free(&g);
	}
	if (CHECK(model != NULL, "gpt2-tiny for a long prompt%s%s", err.message[0] ? ": " : "", err.message))
	{
		int			vocab = lm_model_info(model)->vocab_size;
		float	   *whole;

		for (int i = 0; i < N; i++)
			ids[i] = (int32_t) ((i * 7919 + 13) % vocab);
		whole = all_logits(model, ids, N, vocab);
		CHECK(whole != NULL && stepped_error(model, ids, N, whole, vocab, 1) <= 1e-5,
			  "a %d-token prompt (attention in blocks of queries) gives the logits of stepping token by token", N);
		free(whole);
	}
	free(config);
	lm_model_free(model);
	lm_tensorset_free(&set);
}

/*
 * A GGUF GPT-2 keeps its Conv1D weights [out][in] (conv1d_out_in): on the
 * reference device, which takes them [in][out], it gives the CPU's logits.
 */
static void
test_gpt2_out_in_on_device(void)
{
	char		path[4300];
	LmGguf		g;
	LmTensorSet set = {0},
				cpu_set = {0};
	char	   *config = NULL,
			   *cpu_config = NULL;
	LmModel    *model = NULL,
			   *cpu = NULL;
	LmDevice   *dev;
	LmError		err;
	const int32_t ids[6] = {5, 17, 2, 40, 9, 33};

	test_error_init(&err);
	data_path(path, sizeof(path), "gpt2-tiny-f32.gguf");
	for (int i = 0; i < 2; i++)
		if (lm_gguf_load(path, &g, &err) == 0)
		{
			if (lm_gguf_as_hf(&g, i ? &cpu_config : &config, i ? &cpu_set : &set, &err) == 0)
				*(i ? &cpu : &model) = lm_model_load(i ? cpu_config : config, strlen(i ? cpu_config : config),
													 i ? &cpu_set : &set, &err);
			lm_gguf_free(&g);
		}
	CHECK(config != NULL && strstr(config, "\"conv1d_out_in\": true") != NULL,
		  "a GGUF GPT-2's config says its Conv1D weights stay [out][in]");
	dev = lm_device_open("reference", NULL, &err);
	if (CHECK(model != NULL && cpu != NULL && dev != NULL && lm_model_use_device(model, dev, &err) == 1,
			  "gpt2-tiny (GGUF) moves to the reference device%s%s", err.message[0] ? ": " : "", err.message))
	{
		int			vocab = lm_model_info(cpu)->vocab_size;
		float	   *on_device = malloc(sizeof(float) * vocab),
				   *on_cpu = malloc(sizeof(float) * vocab);
		double		worst = 0,
					scale = 0;
		bool		ok = lm_model_logits(model, ids, 6, false, on_device, &err) >= 0 &&
			lm_model_logits(cpu, ids, 6, false, on_cpu, &err) >= 0;

		for (int i = 0; ok && i < vocab; i++)
		{
			worst = fmax(worst, fabs(on_device[i] - on_cpu[i]));
			scale = fmax(scale, fabs(on_cpu[i]));
		}
		CHECK(ok && worst <= 1e-5 * scale, "gpt2-tiny (GGUF, [out][in] weights) on the reference device: the CPU's "
			  "logits (largest difference %.2g of the largest logit)", scale > 0 ? worst / scale : worst);
		free(on_device);
		free(on_cpu);
	}
	lm_model_free(model);
	lm_model_free(cpu);
	if (dev != NULL)
		lm_device_close(dev);
	lm_tensorset_free(&set);
	lm_tensorset_free(&cpu_set);
	free(config);
	free(cpu_config);
}

static void
llama31_scaling(json_t *cfg)
{
	json_object_set_new(cfg, "rope_scaling",
						json_pack("{s:s, s:f, s:f, s:f, s:i}", "rope_type", "llama3", "factor", 8.0, "low_freq_factor", 1.0,
								  "high_freq_factor", 4.0, "original_max_position_embeddings", 256));
}

static void
linear_scaling(json_t *cfg)
{
	json_object_set_new(cfg, "rope_scaling", json_pack("{s:s, s:f}", "type", "linear", "factor", 4.0));
}

/*
 * Rotary scaling from GGUF (tests/gguf/make_rope_fixtures.sh): Llama 3.1's
 * rope_freqs.weight and linear scaling, against the same weights with the
 * rope_scaling transformers reads in config.json, and against llama.cpp.
 */
static void
test_rope_scaling(const char *name, void (*edit) (json_t *cfg))
{
	char		path[4300],
				dir[4300],
				file[64];
	LmGguf		g;
	LmTensorSet gguf_set = {0},
				plain_set = {0};
	char	   *config = NULL;
	LmModel    *from_gguf = NULL,
			   *from_hf,
			   *plain;
	json_t	   *ref;
	json_error_t jerr;
	int32_t		ids[MAX_POS];
	int			n,
				vocab;
	LmError		err;

	test_error_init(&err);
	snprintf(file, sizeof(file), "%s.gguf", name);
	data_path(path, sizeof(path), file);
	if (lm_gguf_load(path, &g, &err) == 0)
	{
		if (lm_gguf_as_hf(&g, &config, &gguf_set, &err) == 0)
			from_gguf = lm_model_load(config, strlen(config), &gguf_set, &err);
		lm_gguf_free(&g);
	}
	data_path(dir, sizeof(dir), "llama-tiny-hf-f32");
	plain = load_safetensors_dir(dir, &plain_set);
	from_hf = plain != NULL ? load_edited(dir, &plain_set, edit) : NULL;
	snprintf(file, sizeof(file), "%s.llama_cpp.json", name);
	data_path(path, sizeof(path), file);
	ref = json_load_file(path, 0, &jerr);
	n = json_ids(json_object_get(ref, "ids"), ids, MAX_POS);
	vocab = (int) json_array_size(json_array_get(json_object_get(ref, "logits"), 0));
	if (CHECK(from_gguf && from_hf && plain && ref && n > 0 && vocab > 0, "%s: loads, with transformers' "
			  "rope_scaling for the same weights and llama.cpp's logits%s%s", name, err.message[0] ? ": " : "", err.message))
	{
		float	   *a = all_logits(from_gguf, ids, n, vocab),
				   *b = all_logits(from_hf, ids, n, vocab),
				   *c = all_logits(plain, ids, n, vocab),
				   *want = calloc((size_t) n * vocab, sizeof(float));

		for (int i = 0; want != NULL && i < n; i++)
			for (int v = 0; v < vocab; v++)
				want[(size_t) i * vocab + v] =
					(float) json_number_value(json_array_get(json_array_get(json_object_get(ref, "logits"), i), v));
		if (a && b && c && want)
		{
			CHECK(rel_error(a, b, (long) n * vocab) <= 1e-5,
				  "%s: the same logits as transformers' rope_scaling on the same weights (relative error %.2g)", name,
				  rel_error(a, b, (long) n * vocab));
			CHECK(rel_error(a, want, (long) n * vocab) <= 1e-3 && rel_error(c, want, (long) n * vocab) > 1e-2,
				  "%s: llama.cpp's logits (relative error %.2g; %.2g without the scaling)", name,
				  rel_error(a, want, (long) n * vocab), rel_error(c, want, (long) n * vocab));
		}
		else
			CHECK(false, "%s: logits computed", name);
		free(a);
		free(b);
		free(c);
		free(want);
	}
	free(config);
	json_decref(ref);
	lm_model_free(from_gguf);
	lm_model_free(from_hf);
	lm_model_free(plain);
	lm_tensorset_free(&gguf_set);
	lm_tensorset_free(&plain_set);
}

int
main(void)
{
	test_reference("kinds");
	test_reference("aligned64");
	test_bad_files();
	/*
	 * llama.cpp with F32 weights and an F32 cache: 1e-3.  With 16-bit
	 * weights it multiplies in other orders and roundings than pg_lm (it
	 * may round activations to 16 bits): measured, not promised, bounds.
	 */
	test_decoder("llama-tiny", "f32", 1e-3, NULL);
	test_decoder("llama-tiny", "f16", 1e-2, NULL);
	test_decoder("llama-tiny", "bf16", 2e-2, NULL);
	test_decoder("qwen2-tiny", "f32", 1e-3, NULL);
	test_decoder("qwen3-tiny", "f32", 1e-3, NULL);
	/* GPT-2: the fixture model (transformers' safetensors), written as llama.cpp's converter writes it */
	test_decoder("gpt2-tiny", "f32", 1e-3, "models/gpt2-tiny");
	test_sliding_window();
	test_long_prompt();
	test_gpt2_out_in_on_device();
	test_rope_scaling("llama-tiny-rope-freqs", llama31_scaling);
	test_rope_scaling("llama-tiny-rope-linear", linear_scaling);
	test_vocabularies();
	return test_done();
}
