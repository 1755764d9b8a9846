/*
 * test_models.c — parity of the transformer engine with transformers.
 *
 * For each model under ../shared/fixtures/models and ../shared/models: load
 * config.json + model.safetensors, run every case of reference.json (token
 * ids, so no tokenizer is involved) and compare with reference.safetensors
 * using the fixtures' metric max|x - ref| / max|ref|.  Then bad inputs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "nn/ops.h"
#include "nn/weights.h"
#include "fixture_util.h"
#include "testutil.h"
#include "util/file.h"

#define TOL_F32 1e-4
#define TOL_HALF 1e-3
#define GREEDY_MARGIN_MIN 1e-3
#define MAX_CONFIG_BYTES (1 << 20)
#define MAX_IDS 1024

typedef struct Fixture
{
	char		dir[512];
	char	   *config;
	size_t		config_len;
	LmTensorSet weights;
	LmTensorSet ref;
	json_t	   *reference;
	LmModel    *model;
	double		tol;
} Fixture;

static int
fixture_open(Fixture *f, const char *base, const char *name, double tol)
{
	char		path[768];
	LmError		err;
	uint8_t    *data;
	json_error_t jerr;

	memset(f, 0, sizeof(*f));
	if (!test_fixture_wanted(name))
		return -1;
	test_error_init(&err);
	snprintf(f->dir, sizeof(f->dir), "%s/%s", base, name);
	f->tol = test_tolerance(tol);
	snprintf(path, sizeof(path), "%s/config.json", f->dir);
	if (lm_read_file(path, MAX_CONFIG_BYTES, &data, &f->config_len, &err) < 0)
		goto fail;
	f->config = (char *) data;
	snprintf(path, sizeof(path), "%s/model.safetensors", f->dir);
	if (lm_safetensors_load(path, &f->weights, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/reference.safetensors", f->dir);
	if (lm_safetensors_load(path, &f->ref, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/reference.json", f->dir);
	f->reference = json_load_file(path, 0, &jerr);
	if (f->reference == NULL)
	{
		lm_fail(&err, LM_ERR_CORRUPT, "%s: %s", path, jerr.text);
		goto fail;
	}
	f->model = lm_model_load(f->config, f->config_len, &f->weights, &err);
	if (f->model == NULL)
		goto fail;
	if (test_use_device(f->model, name) < 0)
		return -1;
	CHECK(1, "%s: loaded %s (%lld parameters)", name, lm_model_info(f->model)->architecture,
		  (long long) lm_model_info(f->model)->n_params);
	return 0;

fail:
	CHECK(0, "%s: load: %s (%s)", name, err.message, err.hint);
	return -1;
}

static void
fixture_close(Fixture *f)
{
	lm_model_free(f->model);
	lm_tensorset_free(&f->weights);
	lm_tensorset_free(&f->ref);
	json_decref(f->reference);
	free(f->config);
}

/* ----------------------------------------------------------------------------
 * Causal LMs */

static void
test_causal_case(Fixture *f, const char *name, int ci, const json_t *c)
{
	const LmModelInfo *info = lm_model_info(f->model);
	int32_t		ids[MAX_IDS];
	int32_t		want[MAX_IDS];
	int32_t		got[MAX_IDS];
	int			n = json_ids(json_object_get(c, "input_ids"), ids, MAX_IDS);
	int			n_want = json_ids(json_object_get(c, "greedy_ids"), want, MAX_IDS);
	double		margin = json_real_value(json_object_get(c, "greedy_min_margin"));
	int			vocab = info->vocab_size;
	float	   *logits = malloc((size_t) n * vocab * sizeof(float));
	float	   *hidden = malloc((size_t) n * info->hidden_size * sizeof(float));
	const float *ref;
	LmError		err;
	double		e;

	test_error_init(&err);

	/* logits at every position */
	ref = ref_tensor(&f->ref, ci, "logits", (long) n * vocab);
	if (lm_model_logits(f->model, ids, n, true, logits, &err) < 0 || ref == NULL)
		CHECK(0, "%s case %d logits: %s", name, ci, ref ? err.message : "no reference");
	else
	{
		e = rel_error(logits, ref, (long) n * vocab);
		CHECK(e < f->tol, "%s case %d logits: rel error %.3g (tol %g)", name, ci, e, f->tol);
	}

	/* final hidden states, where the reference has them */
	ref = ref_tensor(&f->ref, ci, "last_hidden", (long) n * info->hidden_size);
	if (ref != NULL)
	{
		if (lm_model_encode(f->model, ids, NULL, n, hidden, &err) < 0)
			CHECK(0, "%s case %d last_hidden: %s", name, ci, err.message);
		else
		{
			e = rel_error(hidden, ref, (long) n * info->hidden_size);
			CHECK(e < f->tol, "%s case %d last_hidden: rel error %.3g", name, ci, e);
		}
	}

	/* incremental decoding reproduces the full pass row by row */
	ref = ref_tensor(&f->ref, ci, "logits", (long) n * vocab);
	if (ref != NULL)
	{
		LmDecoder  *dec = lm_decoder_start(f->model, n, &err);
		double		worst = 0.0;
		int			ok = dec != NULL;

		for (int t = 0; ok && t < n; t++)
		{
			ok = lm_decoder_step(dec, ids[t], logits, &err) == 0;
			if (ok)
			{
				e = rel_error(logits, ref + (long) t * vocab, vocab);
				if (e > worst)
					worst = e;
			}
		}
		lm_decoder_free(dec);
		CHECK(ok && worst < f->tol, "%s case %d KV-cache step logits: rel error %.3g %s",
			  name, ci, worst, ok ? "" : err.message);
	}

	/*
	 * A one-pass call (run as a batch of one, keys and values where the
	 * product put them) and a decoder fed the same prompt (keys and values
	 * through the cache) run the same operations: the last logits agree to
	 * the bit.
	 */
	{
		LmDecoder  *dec = lm_decoder_start(f->model, n, &err);
		float	   *fed = malloc(sizeof(float) * vocab);
		int			ok = dec != NULL && fed != NULL &&
			lm_decoder_feed(dec, ids, n, fed, &err) == 0 &&
			lm_model_logits(f->model, ids, n, false, logits, &err) == 0;

		CHECK(ok && memcmp(fed, logits, sizeof(float) * vocab) == 0,
			  "%s case %d one pass = decoder prefill, bit for bit %s", name, ci, ok ? "" : err.message);
		lm_decoder_free(dec);
		free(fed);
	}

	/* score: sum of log-probabilities of the input */
	{
		double		want_lp = json_real_value(json_object_get(c, "sum_logprob_of_input"));
		double		lp;
		int			scored;

		if (lm_model_score(f->model, ids, n, &lp, &scored, &err) < 0)
			CHECK(0, "%s case %d score: %s", name, ci, err.message);
		else
		{
			e = fabs(lp - want_lp) / fabs(want_lp);
			CHECK(e < f->tol && scored == n - 1,
				  "%s case %d sum_logprob %.6f vs %.6f: rel error %.3g", name, ci, lp, want_lp, e);
		}
	}

	/* greedy generation */
	{
		LmGenerateParams gp = {.max_new_tokens = n_want, .sampling = LM_SAMPLING_GREEDY};
		int			n_got = 0;

		if (lm_generate(f->model, ids, n, &gp, got, &n_got, &err) < 0)
			CHECK(0, "%s case %d greedy: %s", name, ci, err.message);
		else if (margin >= GREEDY_MARGIN_MIN)
		{
			bool		same = same_ids(got, n_got, want, n_want);

			CHECK(same, "%s case %d greedy ids (%d tokens, min margin %.3g) %s", name, ci,
				  n_got, margin, same ? "match" : "differ");
		}
		else
		{
			/*
			 * Too close to call exactly: teacher-force the reference ids and
			 * check that each was within the margin of our best logit.
			 */
			LmDecoder  *dec = lm_decoder_start(f->model, n + n_want, &err);
			double		worst = 0.0;
			int			ok = dec && lm_decoder_feed(dec, ids, n, logits, &err) == 0;

			for (int i = 0; ok && i < n_want; i++)
			{
				double		gap = logits[lm_argmax(logits, vocab)] - logits[want[i]];

				if (gap > worst)
					worst = gap;
				if (i + 1 < n_want)
					ok = lm_decoder_step(dec, want[i], logits, &err) == 0;
			}
			lm_decoder_free(dec);
			CHECK(ok && worst < GREEDY_MARGIN_MIN,
				  "%s case %d greedy (min margin %.3g < %g): reference ids within %.3g of our best logit",
				  name, ci, margin, GREEDY_MARGIN_MIN, worst);
		}
	}
	free(logits);
	free(hidden);
}

static void
test_causal(const char *base, const char *name, double tol)
{
	Fixture		f;
	size_t		i;
	json_t	   *c;

	if (fixture_open(&f, base, name, tol) < 0)
		return;
	json_array_foreach(json_object_get(f.reference, "cases"), i, c)
		test_causal_case(&f, name, (int) i, c);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * BERT: masked LM, classification, sentence embeddings */

static void
test_mlm(const char *base, const char *name)
{
	Fixture		f;
	size_t		ci;
	json_t	   *c;

	if (fixture_open(&f, base, name, TOL_F32) < 0)
		return;
	json_array_foreach(json_object_get(f.reference, "cases"), ci, c)
	{
		int32_t		ids[MAX_IDS];
		int32_t		want[8];
		int32_t		top[8];
		float		probs[8];
		int			n = json_ids(json_object_get(c, "input_ids"), ids, MAX_IDS);
		int			mask_pos = (int) json_integer_value(json_object_get(c, "mask_pos"));
		int			n_want = json_ids(json_object_get(c, "top5_ids"), want, 8);
		int			vocab = lm_model_info(f.model)->vocab_size;
		float	   *logits = malloc((size_t) n * vocab * sizeof(float));
		const float *ref = ref_tensor(&f.ref, (int) ci, "logits", (long) n * vocab);
		int			n_top;
		LmError		err;

		test_error_init(&err);
		if (ref == NULL || lm_model_logits(f.model, ids, n, true, logits, &err) < 0)
			CHECK(0, "%s case %d logits: %s", name, (int) ci, ref ? err.message : "no reference");
		else
		{
			double		e = rel_error(logits, ref, (long) n * vocab);

			CHECK(e < f.tol, "%s case %d logits: rel error %.3g", name, (int) ci, e);
		}
		if (lm_model_fill_mask(f.model, ids, n, mask_pos, n_want, top, probs, &n_top, &err) < 0)
			CHECK(0, "%s case %d fill-mask: %s", name, (int) ci, err.message);
		else
		{
			bool		same = same_ids(top, n_top, want, n_want);

			CHECK(same, "%s case %d fill-mask top-%d ids %s (best %d p=%.3f)", name, (int) ci,
				  n_want, same ? "match" : "differ", top[0], probs[0]);
		}
		free(logits);
	}
	fixture_close(&f);
}

static void
test_classifier(const char *base, const char *name)
{
	Fixture		f;
	size_t		ci;
	json_t	   *c;

	if (fixture_open(&f, base, name, TOL_F32) < 0)
		return;
	json_array_foreach(json_object_get(f.reference, "cases"), ci, c)
	{
		int32_t		ids[MAX_IDS];
		int			n = json_ids(json_object_get(c, "input_ids"), ids, MAX_IDS);
		int			k = lm_model_info(f.model)->num_labels;
		float		logits[16];
		const float *ref = ref_tensor(&f.ref, (int) ci, "logits", k);
		const char *want_label = json_string_value(json_object_get(c, "label"));
		json_t	   *want_probs = json_object_get(c, "probs");
		LmError		err;

		test_error_init(&err);
		if (k > 16 || ref == NULL || lm_model_classify(f.model, ids, n, logits, &err) < 0)
		{
			CHECK(0, "%s case %d classify: %s", name, (int) ci, ref ? err.message : "no reference");
			continue;
		}
		{
			double		e = rel_error(logits, ref, k);
			double		worst_p = 0.0;
			const char *label = lm_model_label(f.model, lm_argmax(logits, k));

			CHECK(e < f.tol, "%s case %d logits: rel error %.3g", name, (int) ci, e);
			lm_softmax(logits, k);
			for (int i = 0; i < k; i++)
			{
				double		d = fabs(logits[i] - json_real_value(json_array_get(want_probs, i)));

				if (d > worst_p)
					worst_p = d;
			}
			CHECK(strcmp(label, want_label) == 0 && worst_p < f.tol,
				  "%s case %d label %s (want %s), probs max abs error %.3g", name, (int) ci,
				  label, want_label, worst_p);
		}
	}
	fixture_close(&f);
}

static void
test_sentence_embeddings(const char *base, const char *name)
{
	Fixture		f;
	json_t	   *c;
	json_t	   *inputs;
	json_t	   *cosine;
	int			dim;
	int			n_texts;
	float	   *emb;
	const float *ref;
	char		path[768];
	uint8_t    *pool_json;
	size_t		pool_len;
	LmPooling	pooling = LM_POOL_CLS;
	LmError		err;

	test_error_init(&err);
	if (fixture_open(&f, base, name, TOL_F32) < 0)
		return;
	snprintf(path, sizeof(path), "%s/1_Pooling/config.json", f.dir);
	if (lm_read_file(path, MAX_CONFIG_BYTES, &pool_json, &pool_len, &err) < 0 ||
		lm_pooling_parse_config((char *) pool_json, pool_len, &pooling, &err) < 0)
		CHECK(0, "%s pooling config: %s", name, err.message);
	else
	{
		CHECK(pooling == LM_POOL_MEAN, "%s pooling config reads as %s", name, lm_pooling_name(pooling));
		free(pool_json);
	}

	c = json_array_get(json_object_get(f.reference, "cases"), 0);
	inputs = json_object_get(c, "input_ids");
	cosine = json_object_get(c, "cosine");
	n_texts = (int) json_array_size(inputs);
	dim = lm_model_info(f.model)->hidden_size;
	emb = calloc((size_t) n_texts * dim, sizeof(float));
	ref = ref_tensor(&f.ref, -1, "embeddings", (long) n_texts * dim);

	for (int i = 0; i < n_texts; i++)
	{
		int32_t		ids[MAX_IDS];
		int			n = json_ids(json_array_get(inputs, i), ids, MAX_IDS);

		if (lm_model_embed(f.model, ids, NULL, n, pooling, true, emb + (long) i * dim, &err) < 0)
			CHECK(0, "%s text %d embed: %s", name, i, err.message);
	}
	if (ref == NULL)
		CHECK(0, "%s: no reference embeddings", name);
	else
	{
		double		e = rel_error(emb, ref, (long) n_texts * dim);

		CHECK(e < f.tol, "%s embeddings (%d texts, mean + normalize): rel error %.3g", name, n_texts, e);
	}
	{
		double		worst = 0.0;

		for (int i = 0; i < n_texts; i++)
			for (int j = 0; j < n_texts; j++)
			{
				double		dot = 0.0;

				for (int d = 0; d < dim; d++)
					dot += (double) emb[(long) i * dim + d] * emb[(long) j * dim + d];
				dot -= json_real_value(json_array_get(json_array_get(cosine, i), j));
				if (fabs(dot) > worst)
					worst = fabs(dot);
			}
		CHECK(worst < f.tol, "%s cosine matrix %dx%d: max abs error %.3g", name, n_texts,
			  n_texts, worst);
	}

	/* padding: the same text padded to 20 tokens with a mask gives the same vector */
	{
		int32_t		ids[MAX_IDS];
		uint8_t		mask[MAX_IDS];
		float	   *padded = malloc(dim * sizeof(float));
		int			n = json_ids(json_array_get(inputs, 0), ids, MAX_IDS);
		int			n_pad = 20;

		for (int t = 0; t < n_pad; t++)
		{
			mask[t] = t < n;
			if (t >= n)
				ids[t] = 0;
		}
		if (lm_model_embed(f.model, ids, mask, n_pad, pooling, true, padded, &err) < 0)
			CHECK(0, "%s padded embed: %s", name, err.message);
		else
		{
			double		e = rel_error(padded, emb, dim);

			CHECK(e < 1e-5, "%s padded to %d tokens with an attention mask: rel error %.3g",
				  name, n_pad, e);
		}
		free(padded);
	}
	free(emb);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Sampling */

static void
test_sampling(const char *base)
{
	Fixture		f;
	int32_t		prompt[] = {46, 746, 1739};
	int32_t		a[32],
				b[32],
				g[32];
	int			na,
				nb,
				ng;
	int			rc;
	LmError		err;
	LmGenerateParams p = {.max_new_tokens = 20, .ignore_eos = true};

	test_error_init(&err);
	if (fixture_open(&f, base, "gpt2-tiny", TOL_F32) < 0)
		return;

	p.sampling = (LmSamplingParams) {1.0, 0, 1.0, 42};
	lm_generate(f.model, prompt, 3, &p, a, &na, &err);
	lm_generate(f.model, prompt, 3, &p, b, &nb, &err);
	CHECK(na == 20 && nb == 20 && memcmp(a, b, sizeof(int32_t) * 20) == 0,
		  "sampling with seed 42 is reproducible");
	p.sampling.seed = 43;
	lm_generate(f.model, prompt, 3, &p, b, &nb, &err);
	CHECK(memcmp(a, b, sizeof(int32_t) * 20) != 0, "another seed gives another continuation");

	p.sampling = LM_SAMPLING_GREEDY;
	lm_generate(f.model, prompt, 3, &p, g, &ng, &err);
	p.sampling = (LmSamplingParams) {0.7, 1, 1.0, 7};
	lm_generate(f.model, prompt, 3, &p, a, &na, &err);
	CHECK(memcmp(a, g, sizeof(int32_t) * 20) == 0, "top_k = 1 is greedy");
	p.sampling = (LmSamplingParams) {1.3, 0, 1e-6, 7};
	lm_generate(f.model, prompt, 3, &p, a, &na, &err);
	CHECK(memcmp(a, g, sizeof(int32_t) * 20) == 0, "a tiny top_p is greedy");
	p.sampling = (LmSamplingParams) {0.9, 40, 0.9, 11};
	rc = lm_generate(f.model, prompt, 3, &p, a, &na, &err);
	CHECK(rc == 0 && na == 20, "temperature + top_k + top_p generate %d tokens", na);

	/* the draws follow the distribution: frequency of the best token */
	{
		LmSampler	s;
		float		logits[4] = {1.0f, 2.0f, 0.5f, -1.0f};
		float		probs[4];
		int			hits = 0;
		int			draws = 20000;
		LmSamplingParams sp = {1.0, 0, 1.0, 5};

		memcpy(probs, logits, sizeof(probs));
		lm_softmax(probs, 4);
		lm_sampler_init(&s, 4, &sp, &err);
		for (int i = 0; i < draws; i++)
			hits += lm_sampler_next(&s, logits) == 1;
		lm_sampler_free(&s);
		CHECK(fabs((double) hits / draws - probs[1]) < 0.02,
			  "sampled frequency %.3f of the best token vs probability %.3f",
			  (double) hits / draws, probs[1]);
	}

	p.sampling = (LmSamplingParams) {-1.0, 0, 1.0, 0};
	CHECK(lm_generate(f.model, prompt, 3, &p, a, &na, &err) < 0, "negative temperature refused: %s",
		  err.message);
	p.sampling = (LmSamplingParams) {1.0, 0, 0.0, 0};
	CHECK(lm_generate(f.model, prompt, 3, &p, a, &na, &err) < 0, "top_p 0 refused: %s",
		  err.message);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Bad input */

static void
test_bad_inputs(const char *base)
{
	Fixture		f;
	LmError		err;
	LmModel    *m;
	int32_t		ids[300];
	float	   *out;
	const LmModelInfo *info;

	test_error_init(&err);
	if (fixture_open(&f, base, "gpt2-tiny", TOL_F32) < 0)
		return;
	info = lm_model_info(f.model);

	/* unknown model_type / architecture */
	{
		const char *cfg1 = "{\"model_type\": \"mamba\", \"vocab_size\": 10}";
		const char *cfg2 = "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2ForTokenClassification\"]}";

		m = lm_model_load(cfg1, strlen(cfg1), &f.weights, &err);
		CHECK(m == NULL && err.code == LM_ERR_UNSUPPORTED && strstr(err.message, "mamba"),
			  "unknown model_type: %s (%s)", err.message, err.hint);
		m = lm_model_load(cfg2, strlen(cfg2), &f.weights, &err);
		CHECK(m == NULL && strstr(err.message, "GPT2ForTokenClassification"),
			  "unsupported architecture: %s", err.message);
		m = lm_model_load("{\"model_type\": ", 15, &f.weights, &err);
		CHECK(m == NULL && err.code == LM_ERR_CORRUPT, "malformed config: %s", err.message);
	}

	/* a missing tensor, and one with the wrong shape, in a copy of the set */
	{
		LmTensorSet set = f.weights;
		LmTensor   *copy = malloc(set.n * sizeof(LmTensor));
		const char *victim = "transformer.h.1.mlp.c_fc.weight";
		LmTensor   *t = NULL;

		memcpy(copy, set.tensors, set.n * sizeof(LmTensor));
		set.tensors = copy;
		set.owned_block = NULL;
		for (size_t i = 0; i < set.n; i++)
			if (strcmp(copy[i].name, victim) == 0)
				t = &copy[i];
		if (t != NULL)
		{
			char	   *name = t->name;

			t->name = "transformer.h.1.mlp.renamed";
			m = lm_model_load(f.config, f.config_len, &set, &err);
			CHECK(m == NULL && strstr(err.message, victim) && strstr(err.message, "missing"),
				  "missing tensor: %s", err.message);
			t->name = name;
			t->shape[1] = 128;
			t->nbytes /= 2;
			m = lm_model_load(f.config, f.config_len, &set, &err);
			CHECK(m == NULL && strstr(err.message, victim) && strstr(err.message, "[64, 128]") &&
				  strstr(err.message, "[64, 256]"), "wrong shape: %s", err.message);
		}
		else
			CHECK(0, "tensor %s not found", victim);
		free(copy);
	}

	/* ids outside the vocabulary, too long, empty, wrong task */
	out = malloc((size_t) info->vocab_size * sizeof(float));
	for (int i = 0; i < 300; i++)
		ids[i] = i;
	ids[3] = info->vocab_size;
	CHECK(lm_model_logits(f.model, ids, 5, false, out, &err) < 0 && strstr(err.message, "position 3"),
		  "id out of range: %s", err.message);
	ids[3] = -1;
	CHECK(lm_model_logits(f.model, ids, 5, false, out, &err) < 0 && err.code == LM_ERR_INVALID_ARGUMENT,
		  "negative id: %s", err.message);
	ids[3] = 3;
	CHECK(lm_model_logits(f.model, ids, info->max_positions + 1, false, out, &err) < 0 &&
		  err.hint[0] != '\0', "too long: %s (%s)", err.message, err.hint);
	CHECK(lm_model_logits(f.model, ids, info->max_positions, false, out, &err) == 0,
		  "exactly max_positions (%d) tokens is fine", info->max_positions);
	CHECK(lm_model_logits(f.model, ids, 0, false, out, &err) < 0, "empty input: %s", err.message);
	CHECK(lm_model_classify(f.model, ids, 3, out, &err) < 0, "wrong task: %s (%s)", err.message,
		  err.hint);
	{
		LmDecoder  *dec = lm_decoder_start(f.model, 4, &err);

		CHECK(dec && lm_decoder_feed(dec, ids, 3, out, &err) == 0 &&
			  lm_decoder_feed(dec, ids, 2, out, &err) < 0,
			  "decoder past its capacity: %s", err.message);
		lm_decoder_free(dec);
	}
	/* generation stops when the context is full */
	{
		LmGenerateParams p = {.max_new_tokens = 50, .sampling = LM_SAMPLING_GREEDY, .ignore_eos = true};
		int32_t		gen[50];
		int			n_gen;
		int			n_prompt = info->max_positions - 10;

		int			rc = lm_generate(f.model, ids, n_prompt, &p, gen, &n_gen, &err);

		CHECK(rc == 0 && n_gen == 11,
			  "generation stops at the end of the context (%d new tokens)", n_gen);
	}
	free(out);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Config variants and cancellation */

static void
test_variants(const char *base)
{
	Fixture		f;
	LmError		err;
	LmModel    *m;
	char	   *cfg;
	int32_t		ids[] = {1, 499, 1355, 403, 410};
	int			vocab;
	float	   *a,
			   *b;

	test_error_init(&err);
	if (fixture_open(&f, base, "llama-tiny", TOL_F32) < 0)
		return;
	vocab = lm_model_info(f.model)->vocab_size;
	a = malloc(vocab * sizeof(float));
	b = malloc(vocab * sizeof(float));
	lm_model_logits(f.model, ids, 5, false, a, &err);

	/* transformers 4.x: rope_theta at the top level */
	cfg = edited_config(f.config, f.config_len, "rope_parameters", "rope_theta",
						json_real(10000.0));
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	CHECK(m && lm_model_logits(m, ids, 5, false, b, &err) == 0 && rel_error(b, a, vocab) == 0.0,
		  "llama config with a top-level rope_theta (4.x) gives the same logits");
	lm_model_free(m);
	free(cfg);

	/* another theta changes the logits (the key is read) */
	cfg = edited_config(f.config, f.config_len, "rope_parameters", "rope_theta",
						json_real(500.0));
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	CHECK(m && lm_model_logits(m, ids, 5, false, b, &err) == 0 && rel_error(b, a, vocab) > 1e-4,
		  "rope_theta 500 changes the logits");
	lm_model_free(m);
	free(cfg);

	/* an unsupported rope type */
	cfg = edited_config(f.config, f.config_len, NULL, "rope_parameters",
						json_pack("{s:f, s:s}", "rope_theta", 10000.0, "rope_type", "yarn"));
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	CHECK(m == NULL && err.code == LM_ERR_UNSUPPORTED && strstr(err.message, "yarn"),
		  "unsupported rope type: %s", err.message);
	free(cfg);

	/* untied without lm_head.weight: an error naming it; tied: the embedding */
	{
		LmTensorSet set = f.weights;
		LmTensor   *copy = malloc(set.n * sizeof(LmTensor));
		size_t		kept = 0;

		for (size_t i = 0; i < set.n; i++)
			if (strcmp(set.tensors[i].name, "lm_head.weight") != 0)
				copy[kept++] = set.tensors[i];
		set.tensors = copy;
		set.n = kept;
		set.owned_block = NULL;
		m = lm_model_load(f.config, f.config_len, &set, &err);
		CHECK(m == NULL && strstr(err.message, "lm_head.weight"), "untied, no head: %s", err.message);
		cfg = edited_config(f.config, f.config_len, NULL, "tie_word_embeddings",
							json_true());
		m = lm_model_load(cfg, strlen(cfg), &set, &err);
		CHECK(m && lm_model_logits(m, ids, 5, false, b, &err) == 0,
			  "tied llama without lm_head.weight loads and runs");
		lm_model_free(m);
		free(cfg);
		free(copy);
	}

	/* cancellation stops a forward pass with LM_ERR_CANCELLED */
	test_cancel_hook = always_cancel;
	CHECK(lm_model_logits(f.model, ids, 5, false, b, &err) < 0 && err.code == LM_ERR_CANCELLED,
		  "cancel hook stops the forward pass: %s", err.message);
	test_cancel_hook = NULL;

	/* wrong task for an encoder-only entry point */
	{
		int32_t		top[5];
		float		probs[5];
		int			n_top;

		CHECK(lm_model_fill_mask(f.model, ids, 5, 1, 5, top, probs, &n_top, &err) < 0,
			  "fill-mask on a causal LM: %s", err.message);
	}
	free(a);
	free(b);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Kernels */

static void
test_kernels(void)
{
	float		x[3] = {1.0f, 2.0f, 3.0f};
	float		w[6] = {1, 0, 0, 0, 1, 1};	/* [2][3] */
	float		b[2] = {0.5f, -0.5f};
	float		y[2];
	LmActivation act;
	LmError		err;

	CHECK(lm_f16_to_f32(0x3c00) == 1.0f && lm_f16_to_f32(0xc000) == -2.0f &&
		  lm_f16_to_f32(0x0001) == 5.9604644775390625e-8f && isinf(lm_f16_to_f32(0x7c00)),
		  "f16 conversion (normal, subnormal, inf)");
	CHECK(lm_bf16_to_f32(0x3f80) == 1.0f && lm_bf16_to_f32(0xc040) == -3.0f, "bf16 conversion");
	lm_linear(y, x, w, b, 1, 3, 2, false);
	CHECK(y[0] == 1.5f && y[1] == 4.5f, "linear with bias: %g %g", y[0], y[1]);
	lm_activation_from_name("gelu", &act, &err);
	x[0] = 1.0f;
	lm_activate(x, 1, act);
	CHECK(fabs(x[0] - 0.8413447460685429) < 1e-6, "gelu(1) = %.7f", x[0]);
	CHECK(lm_activation_from_name("softsign", &act, &err) < 0, "unknown activation: %s", err.message);
}

int
main(void)
{
	char		fixtures[512];
	const char *models = models_dir();

	snprintf(fixtures, sizeof(fixtures), "%s/models", test_fixtures_dir());
	test_kernels();
	test_causal(fixtures, "gpt2-tiny", TOL_F32);
	test_causal(fixtures, "gpt2-tiny-f16", TOL_HALF);
	test_causal(models, "captions-gpt2", TOL_F32);
	test_causal(fixtures, "llama-tiny", TOL_F32);
	test_causal(fixtures, "llama-tiny-bf16", TOL_HALF);
	test_mlm(fixtures, "bert-tiny-mlm");
	test_classifier(fixtures, "bert-tiny-langid");
	test_classifier(models, "sentiment-rt");
	test_sentence_embeddings(fixtures, "minilm-tiny-st");
	test_sampling(fixtures);
	test_bad_inputs(fixtures);
	test_variants(fixtures);
	return test_done();
}
