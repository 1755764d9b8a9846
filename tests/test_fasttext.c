/*
 * test_fasttext.c — fastText reader and predictor against the official
 * fastText 0.9.2 output (lid.176.ftz, `predict-prob - 3`), plus hostile
 * files: wrong magic, every kind of truncation, sizes that lie.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classic/fasttext.h"
#include "testutil.h"
#include "util/file.h"

#define LID_TOP_K 3
#define PROB_TOLERANCE 1e-4
#define MAX_LINE 8192
#define ARGS_OFFSET 8			/* after magic and version */
#define DICT_OFFSET (ARGS_OFFSET + 12 * 4 + 8)

static const char *
models_dir(void)
{
	const char *dir = getenv("PG_LM_MODELS");

	return dir ? dir : "../shared/models";
}

/* Compare one reference row: "text\tlabel p label p label p". */
static void
check_reference_rows(const LmFastText *ft, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[MAX_LINE];
	int			rows = 0,
				labels_ok = 0,
				probs_ok = 0;
	double		max_err = 0.0;

	if (!CHECK(f != NULL, "open %s", path))
		return;
	while (fgets(line, sizeof(line), f))
	{
		char	   *tab = strrchr(line, '\t');
		char	   *rest;
		LmFastTextPrediction pred[LID_TOP_K];
		LmError		err;
		int			n,
					label_match = 1,
					prob_match = 1;

		if (tab == NULL)
			continue;
		*tab = '\0';
		rest = tab + 1;
		rows++;
		test_error_init(&err);
		n = lm_fasttext_predict(ft, line, strlen(line), LID_TOP_K, 0.0f, pred, &err);
		for (int i = 0; i < LID_TOP_K; i++)
		{
			char		label[128];
			double		prob;
			int			used;

			if (sscanf(rest, "%127s %lf%n", label, &prob, &used) != 2)
			{
				label_match = 0;
				break;
			}
			rest += used;
			if (i >= n || strcmp(lm_fasttext_label(ft, pred[i].label), label) != 0)
			{
				label_match = 0;
				printf("# row %d \"%s\": rank %d expected %s got %s\n", rows, line, i + 1,
					   label, i < n ? lm_fasttext_label(ft, pred[i].label) : "(none)");
				continue;
			}
			if (fabs(pred[i].prob - prob) > max_err)
				max_err = fabs(pred[i].prob - prob);
			if (fabs(pred[i].prob - prob) > PROB_TOLERANCE)
				prob_match = 0;
		}
		labels_ok += label_match;
		probs_ok += label_match && prob_match;
	}
	fclose(f);
	CHECK(rows > 0 && labels_ok == rows, "lid176 top3 labels %d/%d rows", labels_ok, rows);
	CHECK(rows > 0 && probs_ok == rows, "lid176 top3 probabilities within %g: %d/%d rows (max error %.3g)",
		  PROB_TOLERANCE, probs_ok, rows, max_err);
}

static void
check_basic_facts(const LmFastText *ft)
{
	LmFastTextPrediction pred[200];
	LmError		err;
	float		vec[16];
	int			n;

	CHECK(lm_fasttext_dim(ft) == 16, "lid176 dim 16 (got %d)", lm_fasttext_dim(ft));
	CHECK(lm_fasttext_nlabels(ft) == 176, "lid176 has 176 labels (got %d)", lm_fasttext_nlabels(ft));
	CHECK(lm_fasttext_is_quantized(ft), "lid176 is quantized");
	CHECK(lm_fasttext_model_kind(ft) == LM_FASTTEXT_SUPERVISED, "lid176 is supervised");
	CHECK(lm_fasttext_loss(ft) == LM_FASTTEXT_LOSS_HS, "lid176 uses hierarchical softmax");
	CHECK(strcmp(lm_fasttext_word(ft, 0), "</s>") == 0, "word 0 is </s>");
	CHECK(lm_fasttext_label(ft, 176) == NULL && lm_fasttext_word(ft, -1) == NULL,
		  "out-of-range word and label give NULL");

	test_error_init(&err);
	n = lm_fasttext_predict(ft, "", 0, 500, 0.0f, pred, &err);
	CHECK(n > 0 && n <= 176, "empty text still predicts from </s> (%d labels)", n);
	n = lm_fasttext_predict(ft, "Hello world", 11, 0, 0.0f, pred, &err);
	CHECK(n == -1 && err.code == LM_ERR_INVALID_ARGUMENT, "k = 0 is refused");
	test_error_init(&err);
	n = lm_fasttext_predict(ft, "Der Hund", 8, 176, 0.5f, pred, &err);
	CHECK(n == 1 && strcmp(lm_fasttext_label(ft, pred[0].label), "__label__de") == 0,
		  "threshold 0.5 keeps only the top label (%d)", n);
	test_error_init(&err);
	CHECK(lm_fasttext_sentence_vector(ft, "Der Hund schläft.", strlen("Der Hund schläft."),
									  vec, &err) == 0 && isfinite(vec[0]),
		  "sentence vector of a supervised model");
	CHECK(lm_fasttext_word_vector(ft, "Hund", 4, vec, &err) == 0 && isfinite(vec[0]),
		  "word vector of a supervised model");
}

/* Load a buffer that must fail; return the error code. */
static LmErrorCode
load_error(const uint8_t *data, size_t len)
{
	LmError		err;
	LmFastText *ft;

	test_error_init(&err);
	ft = lm_fasttext_load(data, len, &err);
	if (ft != NULL)
	{
		lm_fasttext_free(ft);
		return LM_OK;
	}
	return err.code;
}

static void
put_i32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

static void
put_i64(uint8_t *p, int64_t v)
{
	memcpy(p, &v, 8);
}

static void
check_hostile(const uint8_t *data, size_t len)
{
	uint8_t    *copy = malloc(len);
	int			truncations = 0,
				truncations_failed = 0;
	LmError		err;
	LmFastText *ft;

	memcpy(copy, data, len);
	put_i32(copy, 12345);
	CHECK(load_error(copy, len) == LM_ERR_CORRUPT, "wrong magic number is refused");
	test_error_init(&err);
	ft = lm_fasttext_load(copy, len, &err);
	printf("# wrong magic: %s (hint: %s)\n", err.message, err.hint);
	CHECK(ft == NULL && strstr(err.message, "magic") != NULL, "the message names the magic number");

	memcpy(copy, data, len);
	put_i32(copy + 4, 99);
	CHECK(load_error(copy, len) == LM_ERR_UNSUPPORTED, "future version is unsupported");

	CHECK(load_error(data, 0) == LM_ERR_CORRUPT, "empty file is refused");

	/* Truncations: every length near the start, then a spread over the file. */
	for (size_t cut = 0; cut < len; cut += (cut < 4096 ? 1 : 997))
	{
		truncations++;
		truncations_failed += load_error(data, cut) == LM_ERR_CORRUPT;
	}
	CHECK(truncations_failed == truncations, "truncated files refused: %d/%d",
		  truncations_failed, truncations);

	/* Sizes that lie. */
	memcpy(copy, data, len);
	put_i32(copy + ARGS_OFFSET, 1 << 20);
	CHECK(load_error(copy, len) == LM_ERR_CORRUPT, "absurd dimension is refused");
	memcpy(copy, data, len);
	put_i32(copy + ARGS_OFFSET, 17);
	CHECK(load_error(copy, len) == LM_ERR_CORRUPT, "dimension mismatch (17 vs 16) is refused");
	memcpy(copy, data, len);
	put_i32(copy + DICT_OFFSET, 0x7fffffff);
	CHECK(load_error(copy, len) == LM_ERR_CORRUPT, "dictionary size beyond the file is refused");
	memcpy(copy, data, len);
	put_i64(copy + DICT_OFFSET + 20, INT64_C(1) << 40);
	CHECK(load_error(copy, len) == LM_ERR_CORRUPT, "prune index beyond the file is refused");
	memcpy(copy, data, len);
	put_i32(copy + ARGS_OFFSET + 8 * 4, -5);
	CHECK(load_error(copy, len) == LM_ERR_CORRUPT, "negative bucket count is refused");
	free(copy);
}


/* ---------------------------------------------------------------- */
/* A tiny synthetic model written here, checked against a plain      */
/* re-computation of fastText's rules (ASCII words only).            */
/* ---------------------------------------------------------------- */

#define SYN_DIM 4
#define SYN_BUCKET 10
#define SYN_MINN 2
#define SYN_MAXN 3

typedef struct Buf
{
	uint8_t		data[4096];
	size_t		len;
} Buf;

static void
buf_add(Buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
buf_i32(Buf *b, int32_t v)
{
	buf_add(b, &v, 4);
}

static void
buf_i64(Buf *b, int64_t v)
{
	buf_add(b, &v, 8);
}

static float
syn_row_value(int row, int j)
{
	return (float) (row + 1) * (j + 1) * 0.25f - (float) j;
}

/* model 2 (skipgram) with loss 2, or model 3 (supervised) with softmax (3) */
static size_t
write_synthetic(Buf *b, int model, int loss, const char **words, int nwords,
				const char **labels, int nlabels)
{
	int32_t		args[12] = {SYN_DIM, 5, 5, 1, 5, 1, loss, model, SYN_BUCKET, SYN_MINN, SYN_MAXN, 100};
	double		t = 1e-4;
	int			rows = nwords + SYN_BUCKET;
	int			out_rows = model == 3 ? nlabels : nwords;
	uint8_t		flag = 0;

	b->len = 0;
	buf_i32(b, 793712314);
	buf_i32(b, 12);
	for (int i = 0; i < 12; i++)
		buf_i32(b, args[i]);
	buf_add(b, &t, 8);
	buf_i32(b, nwords + nlabels);
	buf_i32(b, nwords);
	buf_i32(b, nlabels);
	buf_i64(b, 100);
	buf_i64(b, -1);
	for (int i = 0; i < nwords + nlabels; i++)
	{
		const char *w = i < nwords ? words[i] : labels[i - nwords];
		uint8_t		type = i < nwords ? 0 : 1;

		buf_add(b, w, strlen(w) + 1);
		buf_i64(b, 10 - i);
		buf_add(b, &type, 1);
	}
	buf_add(b, &flag, 1);
	buf_i64(b, rows);
	buf_i64(b, SYN_DIM);
	for (int r = 0; r < rows; r++)
		for (int j = 0; j < SYN_DIM; j++)
		{
			float		v = syn_row_value(r, j);

			buf_add(b, &v, 4);
		}
	buf_add(b, &flag, 1);
	buf_i64(b, out_rows);
	buf_i64(b, SYN_DIM);
	for (int r = 0; r < out_rows; r++)
		for (int j = 0; j < SYN_DIM; j++)
		{
			float		v = (r == 0 ? 0.3f : -0.2f) * (j + 1);

			buf_add(b, &v, 4);
		}
	return b->len;
}

static uint32_t
plain_fnv(const char *s, size_t n)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619u;
	return h;
}

/* Expected rows of an ASCII word: its id (if any) and its n-grams. */
static int
expected_rows(const char *word, int wid, int nwords, int *rows)
{
	char		br[64];
	int			n = 0,
				len;

	snprintf(br, sizeof(br), "<%s>", word);
	len = (int) strlen(br);
	if (wid >= 0)
		rows[n++] = wid;
	for (int i = 0; i < len; i++)
		for (int k = SYN_MINN; k <= SYN_MAXN && i + k <= len; k++)
			rows[n++] = nwords + (int) (plain_fnv(br + i, (size_t) k) % SYN_BUCKET);
	return n;
}

static void
check_synthetic(void)
{
	static Buf	b;
	const char *words[] = {"</s>", "cat", "dog"};
	const char *labels[] = {"__label__pos", "__label__neg"};
	const char *probes[] = {"cat", "cats", "zebra"};
	LmError		err;
	LmFastText *ft;
	int			ok = 0;
	float		max_err = 0.0f;

	write_synthetic(&b, 2, 2, words, 3, NULL, 0);
	test_error_init(&err);
	ft = lm_fasttext_load(b.data, b.len, &err);
	if (!CHECK(ft != NULL, "synthetic skipgram model loads: %s", err.message))
		return;
	for (int p = 0; p < 3; p++)
	{
		int			rows[256];
		int			wid = lm_fasttext_word_id(ft, probes[p], strlen(probes[p]));
		int			n = expected_rows(probes[p], wid, 3, rows);
		float		got[SYN_DIM],
					want[SYN_DIM] = {0};
		int			match = 1;

		lm_fasttext_word_vector(ft, probes[p], strlen(probes[p]), got, &err);
		for (int i = 0; i < n; i++)
			for (int j = 0; j < SYN_DIM; j++)
				want[j] += syn_row_value(rows[i], j);
		for (int j = 0; j < SYN_DIM; j++)
		{
			want[j] /= n;
			if (fabsf(want[j] - got[j]) > max_err)
				max_err = fabsf(want[j] - got[j]);
			match &= fabsf(want[j] - got[j]) < 1e-5f;
		}
		ok += match;
	}
	CHECK(ok == 3, "word vectors (known, unseen, unseen) from subwords %d/3 (max error %.2g)",
		  ok, max_err);
	{
		LmFastTextPrediction pred[1];

		test_error_init(&err);
		CHECK(lm_fasttext_predict(ft, "cat", 3, 1, 0.0f, pred, &err) == -1 &&
			  err.code == LM_ERR_INVALID_ARGUMENT, "predict on an unsupervised model is refused");
	}
	lm_fasttext_free(ft);

	write_synthetic(&b, 3, 3, words, 3, labels, 2);
	test_error_init(&err);
	ft = lm_fasttext_load(b.data, b.len, &err);
	if (!CHECK(ft != NULL, "synthetic softmax model loads: %s", err.message))
		return;
	{
		LmFastTextPrediction pred[2];
		int			n = lm_fasttext_predict(ft, "cat dog", 7, 2, 0.0f, pred, &err);

		CHECK(n == 2 && fabsf(pred[0].prob + pred[1].prob - 1.0f - 2e-5f) < 1e-5f &&
			  pred[0].prob >= pred[1].prob,
			  "softmax probabilities (+1e-5 each, as fastText) sum to one: %g + %g",
			  n == 2 ? pred[0].prob : 0, n == 2 ? pred[1].prob : 0);
	}
	lm_fasttext_free(ft);
}

int
main(void)
{
	char		path[1024];
	char		tsv[1024];
	uint8_t    *data;
	size_t		len;
	LmError		err;
	LmFastText *ft;

	snprintf(path, sizeof(path), "%s/fasttext-lid176/lid.176.ftz", models_dir());
	snprintf(tsv, sizeof(tsv), "%s/fasttext-lid176/reference_predictions.tsv", models_dir());
	test_error_init(&err);
	ft = lm_fasttext_load_file(path, &err);
	if (!CHECK(ft != NULL, "load %s: %s", path, err.message))
		return test_done();
	check_basic_facts(ft);
	check_reference_rows(ft, tsv);
	lm_fasttext_free(ft);

	check_synthetic();
	test_error_init(&err);
	CHECK(lm_fasttext_load_file("/nonexistent/model.bin", &err) == NULL &&
		  err.code == LM_ERR_IO, "missing file gives an I/O error");
	if (lm_read_file(path, (size_t) 1 << 30, &data, &len, &err) == 0)
	{
		check_hostile(data, len);
		free(data);
	}
	return test_done();
}
