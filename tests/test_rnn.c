/*
 * test_rnn.c — parity of the RNN engine (models/rnn.h) with PyTorch.
 *
 * For each rnn-*-langid fixture: every case's encoding and logits against
 * reference.safetensors (max|x - ref| / max|ref|), the label, and the
 * cosines of meta.similarity_pairs.  For rnn-gru-seq2seq-chars: the
 * character ids of every source, greedy ids and text, and beam search's
 * consistency.  Then bad inputs: missing tensors, wrong shapes, unknown
 * cells, empty input, ids out of range, wrong task, cancellation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "formats/safetensors.h"
#include "models/rnn.h"
#include "nn/rnn_cells.h"
#include "nn/ops.h"
#include "fixture_util.h"
#include "testutil.h"
#include "util/file.h"

#define TOL_F32 1e-4
#define TOL_COSINE 1e-4
#define MAX_CONFIG_BYTES (1 << 20)
#define MAX_IDS 1024
#define MAX_LABELS 16
#define GEN_MAX_LEN 50
#define TEST_BEAMS 4

typedef struct Fixture
{
	char		dir[512];
	char	   *config;
	size_t		config_len;
	LmTensorSet weights;
	LmTensorSet ref;
	json_t	   *reference;
	LmRnnModel *model;
} Fixture;

static int
fixture_open(Fixture *f, const char *name)
{
	char		path[768];
	LmError		err;
	uint8_t    *data;
	json_error_t jerr;

	memset(f, 0, sizeof(*f));
	test_error_init(&err);
	snprintf(f->dir, sizeof(f->dir), "%s/models/%s", test_fixtures_dir(), name);
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
	CHECK(lm_rnn_is_rnn_config(f->config, f->config_len), "%s: config.json is an RNN config", name);
	f->model = lm_rnn_load(f->config, f->config_len, &f->weights, &err);
	if (f->model == NULL)
		goto fail;
	CHECK(1, "%s: loaded %s, %s cell (%lld parameters)", name,
		  lm_rnn_info(f->model)->architecture, lm_rnn_info(f->model)->cell_name,
		  (long long) lm_rnn_info(f->model)->n_params);
	return 0;

fail:
	CHECK(0, "%s: load: %s (%s)", name, err.message, err.hint);
	return -1;
}

static void
fixture_close(Fixture *f)
{
	lm_rnn_free(f->model);
	lm_tensorset_free(&f->weights);
	lm_tensorset_free(&f->ref);
	json_decref(f->reference);
	free(f->config);
}

/* The input_ids of the case whose field `key` is text; 0 when none is. */
static int
ids_of_text(const Fixture *f, const char *key, const char *text, int32_t *ids)
{
	size_t		i;
	json_t	   *c;

	json_array_foreach(json_object_get(f->reference, "cases"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, key));

		if (t != NULL && strcmp(t, text) == 0)
			return json_ids(json_object_get(c, "input_ids"), ids, MAX_IDS);
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Classifiers */

static void
test_classifier(const char *name)
{
	Fixture		f;
	const LmRnnInfo *info;
	size_t		ci;
	json_t	   *c;
	int			n_cases = 0;
	int			n_labels_ok = 0;
	double		worst_enc = 0.0;
	double		worst_logits = 0.0;
	double		worst_cos = 0.0;
	float	   *enc;

	if (fixture_open(&f, name) < 0)
		return;
	info = lm_rnn_info(f.model);
	CHECK(info->task == LM_RNN_TASK_CLASSIFY && info->num_layers == 2 && info->bidirectional &&
		  info->hidden_size == 48 && info->encoding_size == 96 && info->num_labels == 2 &&
		  info->vocab_size == 4000 && info->max_length == 0 && !info->char_vocab &&
		  strcmp(lm_rnn_label(f.model, 1), "es") == 0 && lm_rnn_label(f.model, 2) == NULL,
		  "%s: info (2 layers, bidirectional, hidden 48, labels en/es)", name);
	enc = malloc(info->encoding_size * sizeof(float));

	json_array_foreach(json_object_get(f.reference, "cases"), ci, c)
	{
		int32_t		ids[MAX_IDS];
		int			n = json_ids(json_object_get(c, "input_ids"), ids, MAX_IDS);
		int			k = info->num_labels;
		float		logits[MAX_LABELS];
		const float *ref_enc = ref_tensor(&f.ref, (int) ci, "encoding", info->encoding_size);
		const float *ref_logits = ref_tensor(&f.ref, (int) ci, "logits", k);
		const char *want = json_string_value(json_object_get(c, "label"));
		const char *got;
		LmError		err;
		double		e_enc,
					e_logits;

		test_error_init(&err);
		n_cases++;
		if (ref_enc == NULL || ref_logits == NULL ||
			lm_rnn_encode(f.model, ids, n, enc, &err) < 0 ||
			lm_rnn_classify(f.model, ids, n, logits, &err) < 0)
		{
			CHECK(0, "%s case %d: %s", name, (int) ci, ref_enc ? err.message : "no reference");
			continue;
		}
		e_enc = rel_error(enc, ref_enc, info->encoding_size);
		e_logits = rel_error(logits, ref_logits, k);
		got = lm_rnn_label(f.model, lm_argmax(logits, k));
		worst_enc = fmax(worst_enc, e_enc);
		worst_logits = fmax(worst_logits, e_logits);
		CHECK(e_enc < TOL_F32, "%s case %d encoding (%d tokens): rel error %.3g", name, (int) ci,
			  n, e_enc);
		CHECK(e_logits < TOL_F32, "%s case %d logits: rel error %.3g", name, (int) ci, e_logits);
		if (CHECK(strcmp(got, want) == 0, "%s case %d label %s (want %s)", name, (int) ci, got, want))
			n_labels_ok++;
	}

	json_array_foreach(json_object_get(json_object_get(f.reference, "meta"), "similarity_pairs"),
					   ci, c)
	{
		int32_t		a[MAX_IDS],
					b[MAX_IDS];
		int			na = ids_of_text(&f, "text", json_string_value(json_object_get(c, "a")), a);
		int			nb = ids_of_text(&f, "text", json_string_value(json_object_get(c, "b")), b);
		double		want = json_real_value(json_object_get(c, "cosine"));
		double		cosine;
		LmError		err;

		test_error_init(&err);
		if (na == 0 || nb == 0)
		{
			printf("# %s pair %d skipped: its texts are not among the cases, so no ids\n",
				   name, (int) ci);
			continue;
		}
		if (lm_rnn_similarity(f.model, a, na, b, nb, &cosine, &err) < 0)
			CHECK(0, "%s pair %d: %s", name, (int) ci, err.message);
		else
		{
			worst_cos = fmax(worst_cos, fabs(cosine - want));
			CHECK(fabs(cosine - want) < TOL_COSINE, "%s pair %d cosine %.7f (want %.7f)", name,
				  (int) ci, cosine, want);
		}
	}
	printf("# %s: %d cases, %d labels right; worst rel error encoding %.3g, logits %.3g; "
		   "worst cosine error %.3g\n", name, n_cases, n_labels_ok, worst_enc, worst_logits,
		   worst_cos);
	free(enc);
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * The character seq2seq generator */

/*
 * Beam search written plainly from transformers' rules (length_penalty 1,
 * early_stopping true), scoring every continuation from scratch with
 * lm_rnn_score: the engine's version, which carries the decoder states
 * along, must pick the same hypothesis.
 */
typedef struct PlainHyp
{
	int32_t		ids[GEN_MAX_LEN];
	int			n;
	double		score;			/* sum of log-probabilities; / n when finished */
	int			from;			/* rank order of creation, for ties */
} PlainHyp;

static int
plain_by_score(const void *a, const void *b)
{
	const PlainHyp *x = a;
	const PlainHyp *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->from - y->from;
}

static int
plain_beam_search(const LmRnnModel *m, const int32_t *src, int n, int max_len, int beams,
				  int32_t *out, int *n_out, LmError *err)
{
	const LmRnnInfo *info = lm_rnn_info(m);
	int			vocab = info->vocab_size;
	PlainHyp   *live = calloc(beams, sizeof(PlainHyp));
	PlainHyp   *cand = calloc((size_t) beams * vocab, sizeof(PlainHyp));
	PlainHyp   *fin = calloc(beams + 1, sizeof(PlainHyp));
	int			n_live = 1,
				n_fin = 0,
				rc = 0;

	for (int step = 0; rc == 0 && step < max_len && n_live > 0 && n_fin < beams; step++)
	{
		int			n_cand = 0,
					n_next = 0;

		for (int b = 0; rc == 0 && b < n_live; b++)
			for (int v = 0; rc == 0 && v < vocab; v++)
			{
				PlainHyp   *c = &cand[n_cand];

				*c = live[b];
				c->ids[c->n++] = v;
				c->from = n_cand++;
				rc = lm_rnn_score(m, src, n, c->ids, c->n, &c->score, err);
			}
		qsort(cand, n_cand, sizeof(PlainHyp), plain_by_score);
		for (int r = 0; rc == 0 && r < 2 * beams && r < n_cand && n_next < beams; r++)
		{
			if (cand[r].ids[step] == info->eos_token_id || step == max_len - 1)
			{
				if (r < beams)
				{
					fin[n_fin] = cand[r];
					fin[n_fin].score /= cand[r].n;
					fin[n_fin].from = n_fin;
					n_fin++;
					qsort(fin, n_fin, sizeof(PlainHyp), plain_by_score);
					if (n_fin > beams)
						n_fin = beams;	/* drop the worst */
				}
				continue;
			}
			live[n_next++] = cand[r];
		}
		n_live = n_next;
	}
	if (rc == 0)
	{
		*n_out = fin[0].n;
		memcpy(out, fin[0].ids, fin[0].n * sizeof(int32_t));
	}
	free(live);
	free(cand);
	free(fin);
	return rc;
}

static void
test_seq2seq(const char *name)
{
	Fixture		f;
	const LmRnnInfo *info;
	size_t		ci;
	json_t	   *c;
	LmError		err;

	test_error_init(&err);
	if (fixture_open(&f, name) < 0)
		return;
	info = lm_rnn_info(f.model);
	CHECK(info->task == LM_RNN_TASK_GENERATE && info->char_vocab && info->vocab_size == 71 &&
		  info->bos_token_id == 1 && info->eos_token_id == 2 && info->unk_token_id == 3 &&
		  info->decoder_start_token_id == 1 && info->num_labels == 0,
		  "%s: info (chars, 71 symbols, <s>=1 </s>=2 <unk>=3)", name);

	json_array_foreach(json_object_get(f.reference, "cases"), ci, c)
	{
		const char *source = json_string_value(json_object_get(c, "source"));
		const char *want_text = json_string_value(json_object_get(c, "greedy_text"));
		int32_t		want_src[MAX_IDS],
					want[MAX_IDS],
					src[MAX_IDS],
					got[GEN_MAX_LEN],
					beam[GEN_MAX_LEN],
					one[GEN_MAX_LEN],
					plain[GEN_MAX_LEN];
		int			n_want_src = json_ids(json_object_get(c, "input_ids"), want_src, MAX_IDS);
		int			n_want = json_ids(json_object_get(c, "greedy_ids"), want, MAX_IDS);
		int			n_src = 0,
					n_got = 0,
					n_beam = 0,
					n_one = 0,
					n_plain = 0;
		char	   *text = NULL;

		if (lm_rnn_char_encode(f.model, source, strlen(source), src, &n_src, &err) < 0)
			CHECK(0, "%s case %d encode: %s", name, (int) ci, err.message);
		else
			CHECK(same_ids(src, n_src, want_src, n_want_src), "%s case %d \"%s\": input ids",
				  name, (int) ci, source);
		if (lm_rnn_generate(f.model, want_src, n_want_src, GEN_MAX_LEN, 1, got, &n_got, &err) < 0)
		{
			CHECK(0, "%s case %d greedy: %s", name, (int) ci, err.message);
			continue;
		}
		CHECK(same_ids(got, n_got, want, n_want), "%s case %d greedy ids (%d tokens) %s",
			  name, (int) ci, n_got, same_ids(got, n_got, want, n_want) ? "match" : "differ");
		if (lm_rnn_char_decode(f.model, got, n_got, &text, NULL, &err) < 0)
			CHECK(0, "%s case %d decode: %s", name, (int) ci, err.message);
		else
			CHECK(strcmp(text, want_text) == 0, "%s case %d greedy text \"%s\" (want \"%s\")",
				  name, (int) ci, text, want_text);
		free(text);
		text = NULL;

		/* beam search: beams <= 1 is greedy; four beams match the plain version */
		if (lm_rnn_generate(f.model, want_src, n_want_src, GEN_MAX_LEN, TEST_BEAMS, beam, &n_beam,
							&err) < 0 ||
			lm_rnn_generate(f.model, want_src, n_want_src, GEN_MAX_LEN, 0, one, &n_one, &err) < 0 ||
			plain_beam_search(f.model, want_src, n_want_src, GEN_MAX_LEN, TEST_BEAMS, plain,
							  &n_plain, &err) < 0)
			CHECK(0, "%s case %d beam search: %s", name, (int) ci, err.message);
		else
		{
			CHECK(same_ids(one, n_one, got, n_got), "%s case %d: beams=0 is greedy", name, (int) ci);
			lm_rnn_char_decode(f.model, beam, n_beam, &text, NULL, &err);
			CHECK(same_ids(beam, n_beam, plain, n_plain) && n_beam > 0 &&
				  beam[n_beam - 1] == info->eos_token_id,
				  "%s case %d beam search (%d beams) \"%s\" matches the plain version",
				  name, (int) ci, TEST_BEAMS, text ? text : "?");
			free(text);
		}
	}

	/* characters: unknown ones are <unk>, invalid UTF-8 is an error */
	{
		int32_t		ids[16];
		int			n = 0;
		int32_t		mixed[] = {41, 1, 3, 48, 0, 2, 54};
		char	   *text = NULL;
		size_t		len = 0;
		int			rc;

		CHECK(lm_rnn_char_encode(f.model, "h\xe2\x82\xac\xc3\xb1", 6, ids, &n, &err) == 0 &&
			  n == 3 && ids[0] == 41 && ids[1] == 3 && ids[2] == 65,
			  "char encode: a character outside the vocabulary is <unk>, ñ is one id");
		CHECK(lm_rnn_char_encode(f.model, "ab\xff", 3, ids, &n, &err) < 0 &&
			  strstr(err.message, "byte 2"), "char encode of invalid UTF-8: %s", err.message);
		rc = lm_rnn_char_decode(f.model, mixed, 7, &text, &len, &err);
		CHECK(rc == 0 && strcmp(text, "ho") == 0 && len == 2,
			  "char decode skips <s>, <unk>, <pad> and stops at </s>: \"%s\"", rc == 0 ? text : "?");
		free(text);
		mixed[0] = 71;
		CHECK(lm_rnn_char_decode(f.model, mixed, 7, &text, &len, &err) < 0,
			  "char decode of an id out of range: %s", err.message);
	}

	/* generation limits */
	{
		int32_t		src[] = {41, 48, 54, 52, 38};
		int32_t		out[3];
		int			n_out = 0;
		int			rc;

		CHECK(lm_rnn_generate(f.model, src, 5, 3, 1, out, &n_out, &err) == 0 && n_out == 3 &&
			  out[2] != info->eos_token_id, "greedy stops at max_len (3 tokens, no eos)");
		rc = lm_rnn_generate(f.model, src, 5, 3, TEST_BEAMS, out, &n_out, &err);
		CHECK(rc == 0 && n_out >= 1 && n_out <= 3, "beam search stops at max_len (%d tokens)", n_out);
		{
			int32_t		plain[3];
			int			n_plain = 0;

			CHECK(plain_beam_search(f.model, src, 5, 3, TEST_BEAMS, plain, &n_plain, &err) == 0 &&
				  same_ids(out, n_out, plain, n_plain),
				  "beam search cut at max_len matches the plain version");
		}
		CHECK(lm_rnn_generate(f.model, src, 5, 0, 1, out, &n_out, &err) < 0,
			  "max_len 0: %s", err.message);
		CHECK(lm_rnn_generate(f.model, src, 5, 3, LM_RNN_MAX_BEAMS + 1, out, &n_out, &err) < 0,
			  "too many beams: %s", err.message);
		CHECK(lm_rnn_generate(f.model, src, 0, 3, 1, out, &n_out, &err) < 0 &&
			  strstr(err.message, "no tokens"), "generate from empty input: %s", err.message);
		CHECK(lm_rnn_classify(f.model, src, 5, (float[2]) {0}, &err) < 0,
			  "classify with a generator: %s", err.message);
		{
			float		enc[96];

			CHECK(info->encoding_size == 96 && lm_rnn_encode(f.model, src, 5, enc, &err) == 0,
				  "a generator's encoder gives an encoding of %d floats", info->encoding_size);
		}
	}
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * Bad inputs */

/* Load with an edited config; the error (when it fails) is in err. */
static LmRnnModel *
load_edited(const Fixture *f, const char *drop, const char *key, json_t *value, LmError *err)
{
	char	   *cfg = edited_config(f->config, f->config_len, drop, key, value);
	LmRnnModel *m = lm_rnn_load(cfg, strlen(cfg), &f->weights, err);

	free(cfg);
	return m;
}

static void
test_bad_inputs(void)
{
	Fixture		f;
	LmError		err;
	LmRnnModel *m;
	int32_t		ids[] = {17, 164, 40, 1774, 81};
	float		logits[MAX_LABELS];
	float		ref_logits[MAX_LABELS];

	test_error_init(&err);
	if (fixture_open(&f, "rnn-lstm-langid") < 0)
		return;
	lm_rnn_classify(f.model, ids, 5, ref_logits, &err);

	/* a tensor missing, a tensor of the wrong shape */
	{
		LmTensorSet set = f.weights;
		LmTensor   *copy = malloc(set.n * sizeof(LmTensor));
		const char *victim = "rnn.weight_ih_l1_reverse";
		LmTensor   *t = NULL;

		memcpy(copy, set.tensors, set.n * sizeof(LmTensor));
		set.tensors = copy;
		set.owned_block = NULL;
		for (size_t i = 0; i < set.n; i++)
			if (strcmp(copy[i].name, victim) == 0)
				t = &copy[i];
		if (CHECK(t != NULL, "tensor %s is in the fixture", victim))
		{
			char	   *name = t->name;

			t->name = "rnn.renamed";
			m = lm_rnn_load(f.config, f.config_len, &set, &err);
			CHECK(m == NULL && strstr(err.message, victim) && strstr(err.message, "missing"),
				  "missing tensor: %s", err.message);
			t->name = name;
			t->shape[1] = 48;
			t->nbytes /= 2;
			m = lm_rnn_load(f.config, f.config_len, &set, &err);
			CHECK(m == NULL && strstr(err.message, victim) && strstr(err.message, "[192, 48]") &&
				  strstr(err.message, "[192, 96]"), "wrong shape: %s", err.message);
		}
		free(copy);
	}

	/* config errors name the key */
	m = load_edited(&f, NULL, "cell", json_string("transformer"), &err);
	CHECK(m == NULL && err.code == LM_ERR_UNSUPPORTED && strstr(err.message, "\"cell\"") &&
		  strstr(err.message, "transformer"), "unknown cell: %s (%s)", err.message, err.hint);
	m = load_edited(&f, "cell", NULL, NULL, &err);
	CHECK(m == NULL && strstr(err.message, "\"cell\""), "no cell: %s", err.message);
	m = load_edited(&f, "hidden_size", NULL, NULL, &err);
	CHECK(m == NULL && strstr(err.message, "hidden_size"), "no hidden_size: %s", err.message);
	m = load_edited(&f, NULL, "hidden_size", json_integer(64), &err);
	CHECK(m == NULL && strstr(err.message, "rnn.weight_ih_l0") && strstr(err.message, "[256, 32]"),
		  "hidden_size disagreeing with the weights: %s", err.message);
	m = load_edited(&f, NULL, "model_type", json_string("bert"), &err);
	CHECK(m == NULL && strstr(err.message, "model_type"), "not an RNN: %s", err.message);
	m = load_edited(&f, NULL, "architectures", json_pack("[s]", "TextCNN"), &err);
	CHECK(m == NULL && strstr(err.message, "TextCNN"), "unknown architecture: %s", err.message);
	m = load_edited(&f, NULL, "pooling", json_string("mean"), &err);
	CHECK(m == NULL && strstr(err.message, "pooling"), "unknown pooling: %s", err.message);
	m = load_edited(&f, NULL, "proj_size", json_integer(16), &err);
	CHECK(m == NULL && strstr(err.message, "proj_size"), "LSTM projection: %s", err.message);
	m = load_edited(&f, NULL, "num_layers", json_integer(3), &err);
	CHECK(m == NULL && strstr(err.message, "rnn.weight_ih_l2"), "a layer too many: %s", err.message);
	CHECK(lm_rnn_load("{\"model_type\": ", 15, &f.weights, &err) == NULL &&
		  strstr(err.message, "JSON"), "invalid JSON: %s", err.message);

	/* without id2label, labels come from classifier.weight's rows */
	m = load_edited(&f, "id2label", NULL, NULL, &err);
	CHECK(m && lm_rnn_info(m)->num_labels == 2 && strcmp(lm_rnn_label(m, 1), "LABEL_1") == 0,
		  "no id2label: labels LABEL_0, LABEL_1");
	lm_rnn_free(m);

	/* bias=false ignores the bias tensors: other logits */
	m = load_edited(&f, NULL, "bias", json_false(), &err);
	CHECK(m && lm_rnn_classify(m, ids, 5, logits, &err) == 0 && rel_error(logits, ref_logits, 2) > 1e-3,
		  "bias=false loads and changes the logits");
	lm_rnn_free(m);

	/* max_length limits the input */
	m = load_edited(&f, NULL, "max_length", json_integer(4), &err);
	CHECK(m && lm_rnn_info(m)->max_length == 4 && lm_rnn_classify(m, ids, 5, logits, &err) < 0 &&
		  strstr(err.message, "limit of 4"), "max_length 4: %s (%s)", err.message, err.hint);
	lm_rnn_free(m);

	/* bad ids, empty input, wrong task, cancellation */
	ids[3] = 4000;
	CHECK(lm_rnn_classify(f.model, ids, 5, logits, &err) < 0 && strstr(err.message, "position 3") &&
		  err.code == LM_ERR_INVALID_ARGUMENT, "id out of range: %s", err.message);
	ids[3] = -1;
	CHECK(lm_rnn_encode(f.model, ids, 5, logits, &err) < 0, "negative id: %s", err.message);
	ids[3] = 1774;
	CHECK(lm_rnn_classify(f.model, ids, 0, logits, &err) < 0 && strstr(err.message, "no tokens"),
		  "empty input: %s", err.message);
	CHECK(lm_rnn_encode(f.model, NULL, 3, logits, &err) < 0, "NULL input: %s", err.message);
	{
		int32_t		out[4];
		int			n_out;
		double		lp;

		CHECK(lm_rnn_generate(f.model, ids, 5, 4, 1, out, &n_out, &err) < 0 &&
			  strstr(err.message, "RNNSeq2Seq"), "generate with a classifier: %s", err.message);
		CHECK(lm_rnn_score(f.model, ids, 5, ids, 2, &lp, &err) < 0, "score with a classifier");
		CHECK(lm_rnn_char_encode(f.model, "ab", 2, out, &n_out, &err) < 0 &&
			  strstr(err.message, "character vocabulary"), "chars without a vocabulary: %s",
			  err.message);
	}
	test_cancel_hook = always_cancel;
	CHECK(lm_rnn_classify(f.model, ids, 5, logits, &err) < 0 && err.code == LM_ERR_CANCELLED,
		  "cancel hook stops the recurrence: %s", err.message);
	test_cancel_hook = NULL;
	CHECK(lm_rnn_classify(f.model, ids, 5, logits, &err) == 0 &&
		  rel_error(logits, ref_logits, 2) == 0.0, "the same input twice gives the same logits");
	fixture_close(&f);
}

/* nn.RNN's "nonlinearity" key picks ReLU for cell "rnn". */
static void
test_relu_variant(void)
{
	Fixture		f;
	LmError		err;
	LmRnnModel *m;
	int32_t		ids[] = {588, 675};
	float		a[MAX_LABELS],
				b[MAX_LABELS];

	test_error_init(&err);
	if (fixture_open(&f, "rnn-rnn_tanh-langid") < 0)
		return;
	lm_rnn_classify(f.model, ids, 2, a, &err);
	m = load_edited(&f, NULL, "cell", json_string("rnn"), &err);
	CHECK(m && lm_rnn_classify(m, ids, 2, b, &err) == 0 && rel_error(b, a, 2) == 0.0,
		  "cell \"rnn\" is tanh by default");
	lm_rnn_free(m);
	{
		char	   *cfg = edited_config(f.config, f.config_len, NULL, "cell", json_string("rnn"));
		json_t	   *j = json_loads(cfg, 0, NULL);

		json_object_set_new(j, "nonlinearity", json_string("relu"));
		free(cfg);
		cfg = json_dumps(j, 0);
		json_decref(j);
		m = lm_rnn_load(cfg, strlen(cfg), &f.weights, &err);
		CHECK(m && strcmp(lm_rnn_info(m)->cell_name, "rnn_relu") == 0 &&
			  lm_rnn_classify(m, ids, 2, b, &err) == 0 && rel_error(b, a, 2) > 1e-3,
			  "cell \"rnn\" with nonlinearity \"relu\" is rnn_relu");
		lm_rnn_free(m);
		free(cfg);
	}
	fixture_close(&f);
}

/* ----------------------------------------------------------------------------
 * The cells against a plain double-precision transcription of PyTorch's
 * formulas, on random weights: every cell, two layers, both directions,
 * given initial states; and steps against whole sequences. */

#define CELL_IN 5
#define CELL_HID 4
#define CELL_LAYERS 2
#define CELL_STEPS 6
/* Longer than the engine's block of input projections (1024 steps), twice. */
#define CELL_LONG_STEPS 2600
#define CELL_TENSORS (CELL_LAYERS * 2 * 4)
#define CELL_TOL 1e-5

static double
plain_sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* One layer-direction over the sequence, in double: PyTorch's formulas. */
static void
plain_direction(LmRnnCell cell, const LmRnnWeights *w, const double *x, int in, int n,
				bool reverse, double *h, double *c, double *out, int out_stride)
{
	int			gates = lm_rnn_cell_gates(cell);
	double		a[LM_RNN_MAX_GATES * CELL_HID];	/* W_ih x + b_ih */
	double		b[LM_RNN_MAX_GATES * CELL_HID];	/* W_hh h + b_hh */

	for (int step = 0; step < n; step++)
	{
		int			t = reverse ? n - 1 - step : step;

		for (int r = 0; r < gates * CELL_HID; r++)
		{
			a[r] = w->b_ih[r];
			b[r] = w->b_hh[r];
			for (int j = 0; j < in; j++)
				a[r] += (double) w->w_ih[r * in + j] * x[t * in + j];
			for (int j = 0; j < CELL_HID; j++)
				b[r] += (double) w->w_hh[r * CELL_HID + j] * h[j];
		}
		for (int k = 0; k < CELL_HID; k++)
		{
			const int	H = CELL_HID;

			switch (cell)
			{
				case LM_RNN_CELL_TANH:
					h[k] = tanh(a[k] + b[k]);
					break;
				case LM_RNN_CELL_RELU:
					h[k] = fmax(0.0, a[k] + b[k]);
					break;
				case LM_RNN_CELL_LSTM:
					c[k] = plain_sigmoid(a[H + k] + b[H + k]) * c[k] +
						plain_sigmoid(a[k] + b[k]) * tanh(a[2 * H + k] + b[2 * H + k]);
					h[k] = plain_sigmoid(a[3 * H + k] + b[3 * H + k]) * tanh(c[k]);
					break;
				case LM_RNN_CELL_GRU:
					{
						double		r = plain_sigmoid(a[k] + b[k]);
						double		z = plain_sigmoid(a[H + k] + b[H + k]);
						double		nn = tanh(a[2 * H + k] + r * b[2 * H + k]);

						h[k] = (1 - z) * nn + z * h[k];
						break;
					}
			}
			out[t * out_stride + k] = h[k];
		}
	}
}

static float
random_weight(void)
{
	return (float) (rand() / (double) RAND_MAX - 0.5);
}

static void
test_cell(LmRnnCell cell, bool bidirectional, int steps)
{
	int			dirs = bidirectional ? 2 : 1;
	int			gh = lm_rnn_cell_gates(cell) * CELL_HID;
	LmTensor	tensors[CELL_TENSORS];
	float	   *blocks[CELL_TENSORS];
	LmTensorSet set = {0, tensors, NULL};
	LmWeightStore ws;
	LmRnnStack	s;
	LmError		err;
	static float x[CELL_LONG_STEPS * CELL_IN];
	float		h0[CELL_LAYERS * 2 * CELL_HID],
				c0[CELL_LAYERS * 2 * CELL_HID];
	float		h_n[CELL_LAYERS * 2 * CELL_HID],
				c_n[CELL_LAYERS * 2 * CELL_HID];
	static float out[CELL_LONG_STEPS * 2 * CELL_HID];
	static double px[CELL_LONG_STEPS * 2 * CELL_HID],
				pout[CELL_LONG_STEPS * 2 * CELL_HID];
	double		worst = 0.0;
	float	   *scratch;
	static const char *const kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};

	test_error_init(&err);
	for (int l = 0; l < CELL_LAYERS; l++)
		for (int d = 0; d < dirs; d++)
			for (int k = 0; k < 4; k++)
			{
				LmTensor   *t = &tensors[set.n];
				int			cols = k == 0 ? (l == 0 ? CELL_IN : dirs * CELL_HID) : k == 1 ? CELL_HID : 0;
				int64_t		count = (int64_t) gh * (cols ? cols : 1);
				char		name[64];

				snprintf(name, sizeof(name), "rnn.%s_l%d%s", kinds[k], l, d ? "_reverse" : "");
				memset(t, 0, sizeof(*t));
				t->name = strdup(name);
				t->dtype = LM_DTYPE_F32;
				t->ndim = cols ? 2 : 1;
				t->shape[0] = gh;
				t->shape[1] = cols;
				t->nbytes = count * sizeof(float);
				blocks[set.n] = malloc(t->nbytes);
				for (int64_t i = 0; i < count; i++)
					blocks[set.n][i] = random_weight();
				t->data = blocks[set.n];
				set.n++;
			}
	for (int i = 0; i < steps * CELL_IN; i++)
		x[i] = 2 * random_weight();
	for (int i = 0; i < CELL_LAYERS * 2 * CELL_HID; i++)
	{
		h0[i] = random_weight();
		c0[i] = random_weight();
	}

	lm_weights_init(&ws, &set);
	if (!CHECK(lm_rnn_stack_load(&s, &ws, "rnn", cell, CELL_IN, CELL_HID, CELL_LAYERS,
								 bidirectional, true, &err) == 0,
			   "%s stack loads: %s", lm_rnn_cell_name(cell), err.message))
		goto done;
	scratch = malloc(lm_rnn_run_scratch(&s, steps) * sizeof(float));
	lm_rnn_stack_run(&s, x, steps, h0, c0, out, h_n, c_n, scratch, &err);
	free(scratch);

	/* the plain version, layer by layer */
	for (int i = 0; i < steps * CELL_IN; i++)
		px[i] = x[i];
	for (int l = 0; l < CELL_LAYERS; l++)
	{
		int			in = l == 0 ? CELL_IN : dirs * CELL_HID;

		for (int d = 0; d < dirs; d++)
		{
			int			idx = l * dirs + d;
			double		h[CELL_HID],
						c[CELL_HID];

			for (int k = 0; k < CELL_HID; k++)
			{
				h[k] = h0[idx * CELL_HID + k];
				c[k] = c0[idx * CELL_HID + k];
			}
			plain_direction(cell, &s.w[idx], px, in, steps, d == 1, h, c,
							pout + d * CELL_HID, dirs * CELL_HID);
			for (int k = 0; k < CELL_HID; k++)
			{
				worst = fmax(worst, fabs(h[k] - h_n[idx * CELL_HID + k]));
				if (cell == LM_RNN_CELL_LSTM)
					worst = fmax(worst, fabs(c[k] - c_n[idx * CELL_HID + k]));
			}
		}
		memcpy(px, pout, sizeof(double) * steps * dirs * CELL_HID);
	}
	for (int i = 0; i < steps * dirs * CELL_HID; i++)
		worst = fmax(worst, fabs(px[i] - out[i]));
	CHECK(worst < CELL_TOL, "%s, 2 layers%s, %d steps, initial states: outputs and final "
		  "states match the formulas (max error %.3g)", lm_rnn_cell_name(cell),
		  bidirectional ? ", bidirectional" : "", steps, worst);

	/* one step at a time gives the same states as the whole sequence */
	if (!bidirectional)
	{
		float		h[CELL_LAYERS * CELL_HID],
					c[CELL_LAYERS * CELL_HID];
		double		diff = 0.0;

		scratch = malloc(lm_rnn_step_scratch(&s) * sizeof(float));
		memcpy(h, h0, sizeof(h));
		memcpy(c, c0, sizeof(c));
		for (int t = 0; t < steps; t++)
			lm_rnn_stack_step(&s, x + t * CELL_IN, h, c, scratch, &err);
		free(scratch);
		for (int i = 0; i < CELL_LAYERS * CELL_HID; i++)
			diff = fmax(diff, fmax(fabs(h[i] - h_n[i]),
								   cell == LM_RNN_CELL_LSTM ? fabs(c[i] - c_n[i]) : 0.0));
		CHECK(diff < CELL_TOL, "%s: steps agree with the whole sequence (max difference %.3g)",
			  lm_rnn_cell_name(cell), diff);
	}
	lm_rnn_stack_free(&s);
done:
	lm_weights_free(&ws);
	for (size_t i = 0; i < set.n; i++)
	{
		free(tensors[i].name);
		free(blocks[i]);
	}
}

static void
test_cells(void)
{
	LmRnnCell	cell;

	srand(20240611);
	for (int c = LM_RNN_CELL_TANH; c <= LM_RNN_CELL_GRU; c++)
	{
		test_cell((LmRnnCell) c, false, CELL_STEPS);
		test_cell((LmRnnCell) c, true, CELL_STEPS);
	}
	/* ReLU cells with random weights can grow without bound over long runs. */
	test_cell(LM_RNN_CELL_TANH, true, CELL_LONG_STEPS);
	test_cell(LM_RNN_CELL_LSTM, true, CELL_LONG_STEPS);
	test_cell(LM_RNN_CELL_GRU, false, CELL_LONG_STEPS);
	CHECK(lm_rnn_cell_from_name("lstm", &cell) && cell == LM_RNN_CELL_LSTM &&
		  lm_rnn_cell_from_name("rnn_relu", &cell) && cell == LM_RNN_CELL_RELU &&
		  !lm_rnn_cell_from_name("LSTM", &cell), "cell names");
}

int
main(void)
{
	test_cells();
	test_classifier("rnn-lstm-langid");
	test_classifier("rnn-gru-langid");
	test_classifier("rnn-rnn_tanh-langid");
	test_seq2seq("rnn-gru-seq2seq-chars");
	test_bad_inputs();
	test_relu_variant();
	return test_done();
}
