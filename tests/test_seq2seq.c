/*
 * test_seq2seq.c — parity of the encoder-decoders (M2M100/NLLB, Marian, T5)
 * with transformers.
 *
 * For t5-tiny, nllb-tiny, marian-tiny (../shared/fixtures/models) and
 * mt-en-de (../shared/models, float16): every case of reference.json gives
 * token ids, so no tokenizer is involved.  We compare the encoder's output
 * and the teacher-forced decoder logits with reference.safetensors
 * (max|x - ref| / max|ref|), and greedy and beam-4 generations with the
 * reference ids.  Then bad inputs, parameters and config variants.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "formats/safetensors.h"
#include "models/model.h"
#include "nn/ops.h"
#include "fixture_util.h"
#include "testutil.h"
#include "util/file.h"

#define TOL_F32 1e-4
#define TOL_HALF 1e-3
#define GREEDY_MARGIN_MIN 1e-3
#define MAX_CONFIG_BYTES (1 << 20)
#define MAX_TOKENIZER_BYTES (64 << 20)
#define MAX_IDS 1024
/* The fixtures' generation settings. */
#define FIXTURE_MAX_NEW_TOKENS 20
#define FIXTURE_BEAMS 4

typedef struct Fixture
{
	char		dir[512];
	char	   *config;
	size_t		config_len;
	char	   *gen_config;		/* generation_config.json, NULL if none */
	size_t		gen_config_len;
	LmTensorSet weights;
	LmTensorSet ref;
	json_t	   *reference;
	LmModel    *model;
	double		tol;
	int			forced_bos;		/* target language token, -1 if none */
} Fixture;

/* The id of an added token (a language code) in DIR/tokenizer.json, else -1. */
static int
added_token_id(const char *dir, const char *content)
{
	char		path[768];
	json_t	   *tok;
	json_t	   *added;
	json_t	   *t;
	size_t		i;
	int			id = -1;

	snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
	tok = json_load_file(path, 0, NULL);
	added = json_object_get(tok, "added_tokens");
	json_array_foreach(added, i, t)
	{
		const char *s = json_string_value(json_object_get(t, "content"));

		if (s && strcmp(s, content) == 0)
			id = (int) json_integer_value(json_object_get(t, "id"));
	}
	json_decref(tok);
	return id;
}

static int
fixture_open(Fixture *f, const char *base, const char *name, double tol)
{
	char		path[768];
	LmError		err;
	uint8_t    *data;
	json_error_t jerr;
	const char *tgt_lang;

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
	snprintf(path, sizeof(path), "%s/generation_config.json", f->dir);
	if (lm_read_file(path, MAX_CONFIG_BYTES, &data, &f->gen_config_len, &err) == 0)
		f->gen_config = (char *) data;
	test_error_init(&err);
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
	/* NLLB: the target language code is forced as the first generated token */
	tgt_lang = json_string_value(json_object_get(json_object_get(f->reference, "meta"), "tgt_lang"));
	f->forced_bos = tgt_lang ? added_token_id(f->dir, tgt_lang) : -1;
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
	free(f->gen_config);
}

static void
format_ids(char *buf, size_t size, const int32_t *ids, int n)
{
	size_t		used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < size; i++)
		used += snprintf(buf + used, size - used, "%s%d", i ? " " : "", ids[i]);
}

/* The fixtures' settings on top of the model's generation defaults. */
static LmSeq2SeqParams
fixture_params(Fixture *f, int num_beams)
{
	LmSeq2SeqParams p;
	LmError		err;

	if (lm_seq2seq_params_init(f->model, f->gen_config, f->gen_config_len, &p, &err) < 0)
		CHECK(0, "generation defaults: %s", err.message);
	p.num_beams = num_beams;
	p.max_new_tokens = FIXTURE_MAX_NEW_TOKENS;
	p.length_penalty = 1.0;
	p.early_stopping = LM_EARLY_STOPPING_ON;
	if (f->forced_bos >= 0)
		p.forced_bos_token_id = f->forced_bos;
	return p;
}

/* ----------------------------------------------------------------------------
 * Parity */

static void
test_case(Fixture *f, const char *name, int ci, const json_t *c)
{
	const LmModelInfo *info = lm_model_info(f->model);
	int32_t		src[MAX_IDS];
	int32_t		greedy[MAX_IDS];
	int32_t		beam[MAX_IDS];
	int32_t		got[MAX_IDS];
	int			n_src = json_ids(json_object_get(c, "input_ids"), src, MAX_IDS);
	int			n_greedy = json_ids(json_object_get(c, "greedy_ids"), greedy, MAX_IDS);
	int			n_beam = json_ids(json_object_get(c, "beam4_ids"), beam, MAX_IDS);
	double		margin = json_real_value(json_object_get(c, "greedy_min_margin"));
	int			tv = info->target_vocab_size;
	float	   *hidden = malloc((size_t) n_src * info->hidden_size * sizeof(float));
	float	   *logits = malloc((size_t) n_greedy * tv * sizeof(float));
	const float *ref;
	LmSeq2SeqParams p;
	int			n_got;
	LmError		err;
	double		e;
	char		want_s[512],
				got_s[512];

	test_error_init(&err);

	/* the encoder's output */
	ref = ref_tensor(&f->ref, ci, "encoder_last_hidden", (long) n_src * info->hidden_size);
	if (ref == NULL || lm_seq2seq_encode(f->model, src, n_src, hidden, &err) < 0)
		CHECK(0, "%s case %d encoder: %s", name, ci, ref ? err.message : "no reference");
	else
	{
		e = rel_error(hidden, ref, (long) n_src * info->hidden_size);
		CHECK(e < f->tol, "%s case %d encoder_last_hidden: rel error %.3g (tol %g)", name, ci,
			  e, f->tol);
	}

	/* decoder logits, teacher-forced on the greedy output */
	ref = ref_tensor(&f->ref, ci, "decoder_logits", (long) n_greedy * tv);
	if (ref == NULL ||
		lm_seq2seq_logits(f->model, src, n_src, greedy, n_greedy, true, logits, &err) < 0)
		CHECK(0, "%s case %d decoder logits: %s", name, ci, ref ? err.message : "no reference");
	else
	{
		e = rel_error(logits, ref, (long) n_greedy * tv);
		CHECK(e < f->tol, "%s case %d decoder_logits (%d positions): rel error %.3g", name, ci,
			  n_greedy, e);
	}

	/* greedy: exact ids when the reference's choices were clear */
	p = fixture_params(f, 1);
	if (lm_seq2seq_generate(f->model, src, n_src, &p, got, &n_got, &err) < 0)
		CHECK(0, "%s case %d greedy: %s", name, ci, err.message);
	else if (margin >= GREEDY_MARGIN_MIN)
	{
		format_ids(got_s, sizeof(got_s), got, n_got);
		CHECK(same_ids(got, n_got, greedy, n_greedy), "%s case %d greedy ids [%s] (min margin %.3g)",
			  name, ci, got_s, margin);
	}
	else if (ref != NULL)
	{
		/* too close to call: each reference token within the margin of our best logit */
		double		worst = 0.0;

		for (int t = 0; t + 1 < n_greedy; t++)
		{
			const float *row = logits + (long) t * tv;
			double		gap;

			if (t == 0 && f->forced_bos >= 0)
				continue;		/* forced, whatever the logits say */
			gap = row[lm_argmax(row, tv)] - row[greedy[t + 1]];
			if (gap > worst)
				worst = gap;
		}
		CHECK(worst < GREEDY_MARGIN_MIN, "%s case %d greedy (min margin %.3g): reference within %.3g",
			  name, ci, margin, worst);
	}

	/* beam search, num_beams=4, length_penalty=1, early_stopping=True */
	p = fixture_params(f, FIXTURE_BEAMS);
	if (lm_seq2seq_generate(f->model, src, n_src, &p, got, &n_got, &err) < 0)
		CHECK(0, "%s case %d beam-4: %s", name, ci, err.message);
	else
	{
		format_ids(got_s, sizeof(got_s), got, n_got);
		format_ids(want_s, sizeof(want_s), beam, n_beam);
		CHECK(same_ids(got, n_got, beam, n_beam), "%s case %d beam-4 ids [%s]%s%s", name, ci,
			  got_s, same_ids(got, n_got, beam, n_beam) ? "" : ", want ",
			  same_ids(got, n_got, beam, n_beam) ? "" : want_s);
	}
	free(hidden);
	free(logits);
}

static void
test_model(const char *base, const char *name, double tol)
{
	Fixture		f;
	size_t		i;
	json_t	   *c;
	const LmModelInfo *info;

	if (fixture_open(&f, base, name, tol) < 0)
		return;
	info = lm_model_info(f.model);
	CHECK(info->encoder_decoder && info->task == LM_TASK_TEXT2TEXT && !info->causal &&
		  info->decoder_start_token_id >= 0 && info->target_vocab_size > 0,
		  "%s: info says %s, decoder start %d, %d + %d layers, %d target tokens", name,
		  lm_task_name(info->task), info->decoder_start_token_id, info->n_layers,
		  info->n_decoder_layers, info->target_vocab_size);
	json_array_foreach(json_object_get(f.reference, "cases"), i, c)
		test_case(&f, name, (int) i, c);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Generation parameters and search variants */

static void
test_generation(const char *base)
{
	Fixture		f;
	LmSeq2SeqParams p;
	LmError		err;
	int32_t		src[] = {688, 1};	/* marian-tiny case 2: greedy 0 7 41 939 1 */
	int32_t		out[512];
	int			n_out;
	int			rc;
	const char *gc;

	test_error_init(&err);
	if (fixture_open(&f, base, "marian-tiny", TOL_F32) < 0)
		return;

	/* defaults: config.json, then generation_config.json */
	rc = lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	CHECK(rc == 0 && p.num_beams == 1 &&
		  p.max_new_tokens == LM_SEQ2SEQ_DEFAULT_MAX_LENGTH - 1 && p.decoder_start_token_id == 0 &&
		  p.n_eos == 1 && p.eos_token_ids[0] == 1 && p.forced_eos_token_id == 0,
		  "defaults from config.json: start %d, eos %d, forced eos %d, %d new tokens",
		  p.decoder_start_token_id, p.eos_token_ids[0], p.forced_eos_token_id, p.max_new_tokens);
	gc = "{\"num_beams\": 6, \"max_length\": 50, \"early_stopping\": \"never\", "
		"\"length_penalty\": 0.6, \"bad_words_ids\": [[5], [9]], \"eos_token_id\": [1, 3], "
		"\"forced_bos_token_id\": 7, \"no_repeat_ngram_size\": 3, \"min_length\": 4}";
	CHECK(lm_seq2seq_params_init(f.model, gc, strlen(gc), &p, &err) == 0 && p.num_beams == 6 &&
		  p.max_new_tokens == 49 && p.early_stopping == LM_EARLY_STOPPING_NEVER &&
		  p.length_penalty == 0.6 && p.n_suppress == 2 && p.suppress_ids[1] == 9 &&
		  p.n_eos == 2 && p.eos_token_ids[1] == 3 && p.forced_bos_token_id == 7 &&
		  p.no_repeat_ngram_size == 3 && p.min_new_tokens == 3,
		  "generation_config.json overrides the defaults");
	gc = "{\"early_stopping\": \"sometimes\"}";
	CHECK(lm_seq2seq_params_init(f.model, gc, strlen(gc), &p, &err) < 0 &&
		  strstr(err.message, "early_stopping"), "bad early_stopping: %s", err.message);
	gc = "{\"bad_words_ids\": [[5, 6]]}";
	CHECK(lm_seq2seq_params_init(f.model, gc, strlen(gc), &p, &err) < 0 &&
		  err.code == LM_ERR_UNSUPPORTED, "multi-token bad words: %s", err.message);
	CHECK(lm_seq2seq_params_init(f.model, "{", 1, &p, &err) < 0 && err.code == LM_ERR_CORRUPT,
		  "malformed generation_config.json: %s", err.message);

	/* forced eos at max length: the last of 3 new tokens becomes forced_eos_token_id (0) */
	lm_seq2seq_params_init(f.model, f.gen_config, f.gen_config_len, &p, &err);
	p.max_new_tokens = 3;
	rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
	CHECK(rc == 0 && n_out == 4 && out[0] == 0 && out[1] == 7 && out[2] == 41 && out[3] == 0,
		  "greedy with max_new_tokens 3 ends with the forced eos: %d tokens, last %d", n_out,
		  n_out > 0 ? out[n_out - 1] : -1);
	p.max_new_tokens = 0;
	CHECK(lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err) == 0 && n_out == 1 &&
		  out[0] == 0, "max_new_tokens 0 gives the start token alone");

	/* no eos: generation runs to the end of the decoder's positions */
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.n_eos = 0;
	p.forced_eos_token_id = -1;
	p.max_new_tokens = 500;
	rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
	CHECK(rc == 0 && n_out == lm_model_info(f.model)->max_target_positions,
		  "greedy without eos stops at the %d target positions (%d tokens)",
		  lm_model_info(f.model)->max_target_positions, n_out);
	p.num_beams = 3;
	rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
	CHECK(rc == 0 && n_out == lm_model_info(f.model)->max_target_positions,
		  "beam search without eos stops there too (%d tokens)", n_out);

	/* the search variants run and end in eos */
	{
		LmEarlyStopping modes[] = {LM_EARLY_STOPPING_HEURISTIC, LM_EARLY_STOPPING_ON,
		LM_EARLY_STOPPING_NEVER};
		double		penalties[] = {1.0, 0.0, 2.0, -1.0};

		for (int m = 0; m < 3; m++)
			for (int l = 0; l < 4; l++)
			{
				lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
				p.num_beams = 5;
				p.max_new_tokens = 20;
				p.early_stopping = modes[m];
				p.length_penalty = penalties[l];
				rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
				CHECK(rc == 0 && n_out >= 2 && n_out <= 21 && out[0] == 0 &&
					  (out[n_out - 1] == 1 || n_out == 21),
					  "beam-5, early_stopping %d, length_penalty %g: %d tokens", m,
					  penalties[l], n_out);
			}
	}

	/* processors: suppressing the greedy choice changes it; min length delays eos */
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.n_suppress = 1;
	p.suppress_ids[0] = 41;
	rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
	CHECK(rc == 0 && n_out > 2 && out[2] != 41,
		  "a suppressed token is never generated (got %d)", out[2]);
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.min_new_tokens = 6;
	rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
	CHECK(rc == 0 && n_out >= 8,
		  "min_new_tokens 6 delays eos (%d tokens)", n_out);
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.no_repeat_ngram_size = 1;
	p.max_new_tokens = 10;
	{
		bool		repeated = false;

		rc = lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err);
		for (int i = 0; rc == 0 && i < n_out; i++)
			for (int j = 0; j < i; j++)
				repeated = repeated || out[i] == out[j];
		CHECK(rc == 0 && !repeated, "no_repeat_ngram_size 1: no token twice in %d", n_out);
	}

	/* bad parameters */
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.num_beams = 0;
	CHECK(lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err) < 0, "num_beams 0: %s",
		  err.message);
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.forced_bos_token_id = 1 << 20;
	CHECK(lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err) < 0 &&
		  strstr(err.message, "forced_bos_token_id"), "forced bos out of range: %s", err.message);
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.repetition_penalty = 0.0;
	CHECK(lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err) < 0,
		  "repetition_penalty 0: %s", err.message);

	/* cancellation */
	lm_seq2seq_params_init(f.model, NULL, 0, &p, &err);
	p.num_beams = 4;
	test_cancel_hook = always_cancel;
	CHECK(lm_seq2seq_generate(f.model, src, 2, &p, out, &n_out, &err) < 0 &&
		  err.code == LM_ERR_CANCELLED, "cancel hook stops beam search: %s", err.message);
	test_cancel_hook = NULL;
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Bad input */

/* A copy of the set with one tensor renamed, or reshaped to [d0, d1/2]. */
static void
test_bad_tensor(Fixture *f, const char *victim, const char *want_shape, const char *got_shape)
{
	LmTensorSet set = f->weights;
	LmTensor   *copy = malloc(set.n * sizeof(LmTensor));
	LmTensor   *t = NULL;
	LmModel    *m;
	LmError		err;

	memcpy(copy, set.tensors, set.n * sizeof(LmTensor));
	set.tensors = copy;
	set.owned_block = NULL;
	for (size_t i = 0; i < set.n; i++)
		if (strcmp(copy[i].name, victim) == 0)
			t = &copy[i];
	if (t == NULL)
	{
		CHECK(0, "tensor %s not found", victim);
		free(copy);
		return;
	}
	t->name = "renamed";
	m = lm_model_load(f->config, f->config_len, &set, &err);
	CHECK(m == NULL && strstr(err.message, victim) && strstr(err.message, "missing"),
		  "missing tensor: %s", err.message);
	lm_model_free(m);
	t->name = (char *) victim;
	t->shape[1] /= 2;
	t->nbytes /= 2;
	m = lm_model_load(f->config, f->config_len, &set, &err);
	CHECK(m == NULL && strstr(err.message, victim) && strstr(err.message, want_shape) &&
		  strstr(err.message, got_shape), "wrong shape: %s", err.message);
	lm_model_free(m);
	free(copy);
}

static void
test_bad_inputs(const char *base)
{
	Fixture		f;
	LmError		err;
	LmSeq2SeqParams p;
	const LmModelInfo *info;
	int32_t		ids[300];
	int32_t		out[64];
	int32_t		dec[2] = {2, 2001};
	int			n_out;
	float	   *buf;

	test_error_init(&err);
	if (fixture_open(&f, base, "nllb-tiny", TOL_F32) < 0)
		return;
	info = lm_model_info(f.model);
	test_bad_tensor(&f, "model.decoder.layers.1.fc1.weight", "[128, 64]", "[128, 32]");

	buf = malloc((size_t) 300 * (info->hidden_size + info->target_vocab_size) * sizeof(float));
	lm_seq2seq_params_init(f.model, f.gen_config, f.gen_config_len, &p, &err);
	p.max_new_tokens = 5;
	for (int i = 0; i < 300; i++)
		ids[i] = 5 + i;

	CHECK(lm_seq2seq_generate(f.model, ids, 0, &p, out, &n_out, &err) < 0 &&
		  err.code == LM_ERR_INVALID_ARGUMENT, "empty source: %s", err.message);
	CHECK(lm_seq2seq_encode(f.model, NULL, 0, buf, &err) < 0, "empty source to encode: %s",
		  err.message);
	ids[2] = info->vocab_size;
	CHECK(lm_seq2seq_generate(f.model, ids, 4, &p, out, &n_out, &err) < 0 &&
		  strstr(err.message, "position 2"), "source id out of range: %s", err.message);
	ids[2] = -3;
	CHECK(lm_seq2seq_logits(f.model, ids, 4, dec, 2, true, buf, &err) < 0,
		  "negative source id: %s", err.message);
	ids[2] = 7;
	dec[1] = info->target_vocab_size;
	CHECK(lm_seq2seq_logits(f.model, ids, 4, dec, 2, true, buf, &err) < 0 &&
		  strstr(err.message, "decoder"), "decoder id out of range: %s", err.message);
	CHECK(lm_seq2seq_logits(f.model, ids, 4, dec, 0, true, buf, &err) < 0,
		  "empty decoder input: %s", err.message);
	CHECK(lm_seq2seq_generate(f.model, ids, info->max_positions + 1, &p, out, &n_out, &err) < 0 &&
		  err.hint[0] != '\0', "source longer than %d positions: %s (%s)", info->max_positions,
		  err.message, err.hint);
	CHECK(lm_seq2seq_encode(f.model, ids, info->max_positions, buf, &err) == 0,
		  "a source of exactly %d tokens is fine", info->max_positions);
	CHECK(lm_model_logits(f.model, ids, 3, false, buf, &err) < 0,
		  "decoder-only logits on an encoder-decoder: %s", err.message);
	CHECK(lm_decoder_start(f.model, 8, &err) == NULL, "causal session on an encoder-decoder: %s",
		  err.message);
	free(buf);
	fixture_close(&f);

	/* seq2seq calls on a decoder-only model */
	if (fixture_open(&f, base, "gpt2-tiny", TOL_F32) == 0)
	{
		float		h[64 * 4];

		CHECK(lm_seq2seq_encode(f.model, ids, 3, h, &err) < 0 &&
			  strstr(err.message, "encoder-decoder"), "encode on GPT-2: %s", err.message);
		CHECK(lm_seq2seq_params_init(f.model, NULL, 0, &p, &err) < 0,
			  "generation params on GPT-2: %s", err.message);
		fixture_close(&f);
	}
}

/* ----------------------------------------------------------------------------
 * T5 config variants */

static void
test_t5_variants(const char *base)
{
	Fixture		f;
	LmError		err;
	LmModel    *m;
	char	   *cfg;
	int32_t		src[] = {1149, 97, 90, 1028, 1};
	int32_t		dec[] = {0, 7, 15};
	int			tv;
	float	   *a,
			   *b;

	test_error_init(&err);
	if (fixture_open(&f, base, "t5-tiny", TOL_F32) < 0)
		return;
	tv = lm_model_info(f.model)->target_vocab_size;
	a = malloc(3 * tv * sizeof(float));
	b = malloc(3 * tv * sizeof(float));
	lm_seq2seq_logits(f.model, src, 5, dec, 3, true, a, &err);

	/* transformers 4.x: no scale_decoder_outputs, tied → scaled by d_model^-0.5 */
	cfg = edited_config(f.config, f.config_len, "scale_decoder_outputs", NULL, NULL);
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	if (m && lm_seq2seq_logits(m, src, 5, dec, 3, true, b, &err) == 0)
	{
		for (int i = 0; i < 3 * tv; i++)
			a[i] *= 0.125f;		/* 64^-0.5 */
		CHECK(rel_error(b, a, 3 * tv) < 1e-6,
			  "T5 config without scale_decoder_outputs (4.x, tied) scales by d_model^-0.5");
	}
	else
		CHECK(0, "4.x T5 config: %s", err.message);
	lm_model_free(m);
	free(cfg);

	/* a ReLU config on gated weights: the missing tensor is named */
	cfg = edited_config(f.config, f.config_len, NULL, "feed_forward_proj", json_string("relu"));
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	CHECK(m == NULL && strstr(err.message, "DenseReluDense.wi.weight"),
		  "relu config on gated weights: %s", err.message);
	free(cfg);
	cfg = edited_config(f.config, f.config_len, NULL, "feed_forward_proj",
						json_string("gated-gelu-x"));
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	CHECK(m == NULL, "bad feed_forward_proj: %s", err.message);
	free(cfg);

	/* untied without lm_head.weight */
	cfg = edited_config(f.config, f.config_len, NULL, "tie_word_embeddings", json_false());
	m = lm_model_load(cfg, strlen(cfg), &f.weights, &err);
	CHECK(m == NULL && strstr(err.message, "lm_head.weight"), "untied T5 without a head: %s",
		  err.message);
	free(cfg);
	free(a);
	free(b);
	fixture_close(&f);
}

int
main(void)
{
	char		fixtures[512];
	const char *models = models_dir();

	snprintf(fixtures, sizeof(fixtures), "%s/models", test_fixtures_dir());
	test_model(fixtures, "nllb-tiny", TOL_F32);
	test_model(models, "mt-en-de", TOL_HALF);
	test_model(fixtures, "marian-tiny", TOL_F32);
	test_model(fixtures, "t5-tiny", TOL_F32);
	test_generation(fixtures);
	test_bad_inputs(fixtures);
	test_t5_variants(fixtures);
	return test_done();
}
