/*
 * test_spm.c — SentencePiece .model tokenizers against sentencepiece's own
 * outputs (spm_cases.jsonl beside each model), and .model files and
 * charsmaps that lie.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel_util.h"
#include "testutil.h"
#include "tokenizer/charsmap.h"
#include "tokenizer/spm.h"
#include "util/file.h"

#define MAX_MODEL_BYTES (64u << 20)
#define MAX_REPORTED_MISMATCHES 3
#define PATH_MAX_LEN 1024

typedef struct FieldScore
{
	const char *name;
	int			ok;
	int			n;
	int			reported;
} FieldScore;

static uint8_t *
read_fixture(const char *rel, size_t *len)
{
	char		path[PATH_MAX_LEN];
	uint8_t    *data = NULL;
	LmError		err;

	test_error_init(&err);
	snprintf(path, sizeof(path), "%s/%s", test_fixtures_dir(), rel);
	if (lm_read_file(path, MAX_MODEL_BYTES, &data, len, &err) != 0)
	{
		printf("# cannot read %s: %s\n", path, err.message);
		return NULL;
	}
	return data;
}

/* Print a JSON value compactly after "# label field: ". */
static void
report(FieldScore *score, const char *label, const char *text, const char *detail)
{
	if (score->reported++ >= MAX_REPORTED_MISMATCHES)
		return;
	printf("# %s %s mismatch for %.80s: %s\n", label, score->name, text, detail);
}

static void
score_field(FieldScore *score, bool ok, const char *label, const char *text,
			json_t *expected, json_t *got)
{
	score->n++;
	if (ok)
	{
		score->ok++;
		return;
	}
	{
		char	   *want = json_dumps(expected, JSON_COMPACT | JSON_ENCODE_ANY);
		char	   *have = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		char		detail[600];

		snprintf(detail, sizeof(detail), "want %.250s got %.250s",
				 want ? want : "?", have ? have : "?");
		report(score, label, text, detail);
		free(want);
		free(have);
	}
}

static void
check_row(const LmSpmTokenizer *tok, const char *label, json_t *row,
		  FieldScore *ids_score, FieldScore *pieces_score, FieldScore *decoded_score)
{
	json_t	   *text_json = json_object_get(row, "text");
	json_t	   *want_ids = json_object_get(row, "ids");
	json_t	   *want_pieces = json_object_get(row, "pieces");
	json_t	   *want_decoded = json_object_get(row, "decoded");
	const char *text = json_string_value(text_json);
	size_t		text_len = json_string_length(text_json);
	LmEncoding	enc = {0};
	LmError		err;
	json_t	   *got_ids = json_array();
	json_t	   *got_pieces = json_array();

	test_error_init(&err);
	if (lm_spm_encode(tok, text, text_len, false, 0, &enc, &err) == 0)
		for (size_t i = 0; i < enc.n; i++)
		{
			json_array_append_new(got_ids, json_integer(enc.ids[i]));
			json_array_append_new(got_pieces, json_string(enc.tokens[i]));
		}
	else
		json_array_append_new(got_ids, json_string(err.message));
	score_field(ids_score, json_equal(want_ids, got_ids), label, text, want_ids, got_ids);
	score_field(pieces_score, json_equal(want_pieces, got_pieces), label, text,
				want_pieces, got_pieces);

	if (want_decoded != NULL)
	{
		size_t		n = json_array_size(want_ids);
		int32_t    *ids = calloc(n ? n : 1, sizeof(int32_t));
		char	   *decoded;
		json_t	   *got;

		for (size_t i = 0; i < n; i++)
			ids[i] = (int32_t) json_integer_value(json_array_get(want_ids, i));
		decoded = lm_spm_decode(tok, ids, n, true, &err);
		got = json_string(decoded ? decoded : err.message);
		score_field(decoded_score, decoded && json_equal(want_decoded, got), label, text,
					want_decoded, got);
		json_decref(got);
		free(decoded);
		free(ids);
	}
	json_decref(got_ids);
	json_decref(got_pieces);
	lm_encoding_free(&enc);
}

/* Every row of cases_rel against the model; one CHECK per field. */
static LmSpmTokenizer *
run_cases(const char *label, const char *model_rel, const char *cases_rel)
{
	FieldScore	ids_score = {.name = "ids"};
	FieldScore	pieces_score = {.name = "pieces"};
	FieldScore	decoded_score = {.name = "decoded"};
	char		path[PATH_MAX_LEN];
	size_t		len;
	uint8_t    *data = read_fixture(model_rel, &len);
	LmSpmTokenizer *tok = NULL;
	LmError		err;
	FILE	   *cases;
	char	   *line = NULL;
	size_t		line_cap = 0;

	test_error_init(&err);
	if (data != NULL)
		tok = lm_spm_load(data, len, &err);
	free(data);
	if (!CHECK(tok != NULL, "%s loads (%s)", label, tok ? "ok" : err.message))
		return NULL;

	snprintf(path, sizeof(path), "%s/%s", test_fixtures_dir(), cases_rel);
	cases = fopen(path, "r");
	if (!CHECK(cases != NULL, "%s cases open", label))
		return tok;
	while (getline(&line, &line_cap, cases) > 0)
	{
		json_error_t jerr;
		json_t	   *row = json_loads(line, 0, &jerr);

		if (row == NULL)
		{
			printf("# %s: bad JSON line: %s\n", label, jerr.text);
			ids_score.n++;
			continue;
		}
		check_row(tok, label, row, &ids_score, &pieces_score, &decoded_score);
		json_decref(row);
	}
	free(line);
	fclose(cases);

	CHECK(ids_score.ok == ids_score.n && ids_score.n > 0, "%s ids %d/%d", label,
		  ids_score.ok, ids_score.n);
	CHECK(pieces_score.ok == pieces_score.n && pieces_score.n > 0, "%s pieces %d/%d", label,
		  pieces_score.ok, pieces_score.n);
	if (decoded_score.n > 0)
		CHECK(decoded_score.ok == decoded_score.n, "%s decoded %d/%d", label,
			  decoded_score.ok, decoded_score.n);
	else
		printf("# %s: the cases carry no decoded text\n", label);
	return tok;
}

/* ---- the API around encode/decode, on Llama 2 ---------------------------- */

static void
check_llama_api(const LmSpmTokenizer *tok)
{
	LmEncoding	enc = {0};
	LmError		err;
	int32_t		bad_id = 32000;
	char	   *decoded;

	test_error_init(&err);
	CHECK(lm_spm_vocab_size(tok) == 32000, "llama2 vocab size %d", lm_spm_vocab_size(tok));
	CHECK(lm_spm_token_to_id(tok, "<s>") == 1 && lm_spm_token_to_id(tok, "▁Hello") == 15043,
		  "llama2 token_to_id");
	CHECK(lm_spm_token_to_id(tok, "no such piece") == -1, "llama2 token_to_id of a non-piece is -1");
	CHECK(lm_spm_id_to_token(tok, 13) != NULL && strcmp(lm_spm_id_to_token(tok, 13), "<0x0A>") == 0,
		  "llama2 id_to_token(13) is <0x0A>");
	CHECK(lm_spm_id_to_token(tok, -1) == NULL && lm_spm_id_to_token(tok, 32000) == NULL,
		  "llama2 id_to_token outside the vocabulary is NULL");

	CHECK(lm_spm_encode(tok, "Hello world", 11, true, 0, &enc, &err) == 0 &&
		  enc.n == 3 && enc.ids[0] == 1 && enc.ids[1] == 15043 && enc.ids[2] == 3186,
		  "llama2 add_special_tokens prepends <s>");
	lm_encoding_free(&enc);
	CHECK(lm_spm_encode(tok, "", 0, true, 0, &enc, &err) == 0 && enc.n == 1 && enc.ids[0] == 1,
		  "llama2 empty text with special tokens is just <s>");
	lm_encoding_free(&enc);

	{
		int32_t		ids[] = {1, 15043, 2};

		decoded = lm_spm_decode(tok, ids, 3, true, &err);
		CHECK(decoded != NULL && strcmp(decoded, "Hello") == 0, "llama2 decode drops <s> and </s>");
		free(decoded);
	}
	{
		/* <0xE2> <0x82> <0xAC> is the euro sign; a lone <0xFF> is U+FFFD */
		int32_t		ids[] = {229, 133, 175, 258};

		decoded = lm_spm_decode(tok, ids, 4, true, &err);
		CHECK(decoded != NULL && strcmp(decoded, "\xE2\x82\xAC\xEF\xBF\xBD") == 0,
			  "llama2 decode fuses byte pieces (%s)", decoded ? decoded : err.message);
		free(decoded);
	}

	decoded = lm_spm_decode(tok, &bad_id, 1, true, &err);
	CHECK(decoded == NULL && strstr(err.message, "outside the vocabulary") != NULL,
		  "decode rejects id 32000 (%s)", decoded ? "accepted" : err.message);
	free(decoded);
}

/* ---- hostile input ------------------------------------------------------- */

typedef struct Proto
{
	uint8_t		buf[4096];
	size_t		len;
} Proto;

static void
put_varint(Proto *p, uint64_t v)
{
	while (v >= 0x80)
	{
		p->buf[p->len++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	p->buf[p->len++] = (uint8_t) v;
}

static void
put_bytes(Proto *p, int field, const void *bytes, size_t len)
{
	put_varint(p, ((uint64_t) field << 3) | 2);
	put_varint(p, len);
	memcpy(p->buf + p->len, bytes, len);
	p->len += len;
}

static void
put_piece(Proto *p, const char *text, int type)
{
	Proto		piece = {{0}, 0};

	put_bytes(&piece, 1, text, strlen(text));
	put_varint(&piece, (3 << 3) | 0);
	put_varint(&piece, (uint64_t) type);
	put_bytes(p, 1, piece.buf, piece.len);
}

/* A small valid Unigram model: <unk>, "a", "▁a". */
static void
make_model(Proto *p)
{
	p->len = 0;
	put_piece(p, "<unk>", 2);
	put_piece(p, "a", 1);
	put_piece(p, "\xE2\x96\x81" "a", 1);
}

static void
expect_model_error(const char *label, const uint8_t *data, size_t len, const char *needle)
{
	LmError		err;
	LmSpmTokenizer *tok;

	test_error_init(&err);
	tok = lm_spm_load(data, len, &err);
	CHECK(tok == NULL && err.code != LM_OK && strstr(err.message, needle) != NULL,
		  "%s is rejected (%s)", label, tok ? "accepted" : err.message);
	lm_spm_free(tok);
}

static void
expect_charsmap_error(const char *label, const uint8_t *blob, size_t len, const char *needle)
{
	LmError		err;
	LmCharsmap *map;

	test_error_init(&err);
	map = lm_charsmap_load(blob, len, &err);
	CHECK(map == NULL && strstr(err.message, needle) != NULL,
		  "%s is rejected (%s)", label, map ? "accepted" : err.message);
	lm_charsmap_free(map);
}

static void
check_hostile_models(void)
{
	size_t		len;
	uint8_t    *llama = read_fixture("real-tokenizers/llama2/tokenizer.model", &len);
	Proto		p;
	LmError		err;
	LmSpmTokenizer *tok;

	if (llama != NULL)
	{
		expect_model_error("a .model truncated to half", llama, len / 2, "remain");
		expect_model_error("a .model cut inside a varint", llama, 1, "truncated varint");
		free(llama);
	}

	make_model(&p);
	test_error_init(&err);
	tok = lm_spm_load(p.buf, p.len, &err);
	CHECK(tok != NULL, "a hand-made three-piece model loads (%s)", tok ? "ok" : err.message);
	lm_spm_free(tok);

	/* eleven continuation bytes: a varint longer than 64 bits */
	{
		static const uint8_t long_varint[] = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0x01};

		expect_model_error("a varint of 11 bytes", long_varint, sizeof(long_varint),
						   "malformed varint");
	}
	/* a length that runs past the end of the file */
	{
		static const uint8_t long_length[] = {0x0A, 0xF0, 0xFF, 0x03, 0x0A, 0x01};

		expect_model_error("a piece longer than the file", long_length, sizeof(long_length),
						   "remain");
	}
	/* a known field with the wrong wire type */
	{
		static const uint8_t wrong_wire[] = {0x08, 0x01};

		expect_model_error("pieces given as a varint", wrong_wire, sizeof(wrong_wire),
						   "wire type");
	}
	/* a piece type out of the enum */
	{
		p.len = 0;
		put_piece(&p, "<unk>", 2);
		put_piece(&p, "a", 9);
		expect_model_error("a piece of type 9", p.buf, p.len, "unknown type");
	}
	/* no unknown piece */
	{
		p.len = 0;
		put_piece(&p, "a", 1);
		expect_model_error("a model without <unk>", p.buf, p.len, "no unknown piece");
	}
	/* the same piece twice */
	{
		make_model(&p);
		put_piece(&p, "a", 1);
		expect_model_error("a duplicated piece", p.buf, p.len, "already defined");
	}
	/* a byte piece without byte_fallback */
	{
		make_model(&p);
		put_piece(&p, "<0x41>", 6);
		expect_model_error("a byte piece without byte_fallback", p.buf, p.len, "byte_fallback");
	}
	/* a normalizer whose charsmap's trie size lies */
	{
		Proto		spec = {{0}, 0};
		static const uint8_t lying_charsmap[] = {0xFF, 0xFF, 0x00, 0x00, 1, 2, 3, 4, 0};

		put_bytes(&spec, 2, lying_charsmap, sizeof(lying_charsmap));
		make_model(&p);
		put_bytes(&p, 3, spec.buf, spec.len);
		expect_model_error("a .model whose charsmap trie size lies", p.buf, p.len,
						   "precompiled_charsmap: charsmap trie size");
	}
}

/* A varint of the test's own files (trusted): value, advancing *pos. */
static uint64_t
get_varint(const uint8_t *data, size_t len, size_t *pos)
{
	uint64_t	v = 0;

	for (int shift = 0; *pos < len && shift < 64; shift += 7)
	{
		uint8_t		b = data[(*pos)++];

		v |= (uint64_t) (b & 0x7F) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* The bytes of length-delimited field `field` in a message, or NULL. */
static const uint8_t *
find_len_field(const uint8_t *data, size_t len, int field, size_t *field_len)
{
	size_t		pos = 0;

	while (pos < len)
	{
		uint64_t	key = get_varint(data, len, &pos);
		uint64_t	n;

		switch (key & 7)
		{
			case 0:
				get_varint(data, len, &pos);
				break;
			case 1:
				pos += 8;
				break;
			case 5:
				pos += 4;
				break;
			case 2:
				n = get_varint(data, len, &pos);
				if (n > len - pos)
					return NULL;
				if ((int) (key >> 3) == field)
				{
					*field_len = (size_t) n;
					return data + pos;
				}
				pos += n;
				break;
			default:
				return NULL;
		}
	}
	return NULL;
}

/* ModelProto.normalizer_spec (3) .precompiled_charsmap (2) */
static const uint8_t *
find_normalizer_charsmap(const uint8_t *model, size_t len, size_t *blob_len)
{
	size_t		spec_len = 0;
	const uint8_t *spec = find_len_field(model, len, 3, &spec_len);

	return spec ? find_len_field(spec, spec_len, 2, blob_len) : NULL;
}

/*
 * A hand-built darts-clone charsmap mapping "a" to "b": the root (unit 0)
 * has its children at 256 ^ label, "a" is unit 353 with a leaf at 512
 * whose value is offset 0 of the pool "b\0".  Unused units get labels that
 * no transition expects, as darts-clone gives them; with zero_unused they
 * stay 0, which makes unit 256 its own child by label 0: a cycle.
 */
#define TINY_UNITS 768
static size_t
make_tiny_charsmap(uint8_t *blob, bool zero_unused)
{
	uint32_t	units[TINY_UNITS];
	size_t		len = 0;

	for (uint32_t i = 0; i < TINY_UNITS; i++)
		units[i] = zero_unused ? 0 : ((i & 0xFF) ^ 0xFF);
	units[0] = 256u << 10;						/* offset 256 */
	units[353] = (865u << 10) | (1u << 8) | 'a';	/* 353 ^ 865 = 512, has a leaf */
	units[512] = (1u << 31) | 0;				/* leaf: pool offset 0 */
	for (int b = 0; b < 4; b++)
		blob[len++] = (uint8_t) ((TINY_UNITS * 4) >> (8 * b));
	for (uint32_t i = 0; i < TINY_UNITS; i++)
		for (int b = 0; b < 4; b++)
			blob[len++] = (uint8_t) (units[i] >> (8 * b));
	blob[len++] = 'b';
	blob[len++] = '\0';
	return len;
}

static void
check_tiny_charsmaps(void)
{
	static uint8_t blob[4 + TINY_UNITS * 4 + 2];
	size_t		len = make_tiny_charsmap(blob, false);
	LmError		err;
	LmCharsmap *map;

	test_error_init(&err);
	map = lm_charsmap_load(blob, len, &err);
	CHECK(map != NULL, "a hand-built charsmap loads (%s)", map ? "ok" : err.message);
	if (map != NULL)
	{
		char	   *out = NULL;
		size_t		out_len;
		int			rc = lm_charsmap_normalize(map, "abca", 4, &out, &out_len, &err);

		CHECK(rc == 0 && strcmp(out, "bbcb") == 0, "the hand-built charsmap maps a to b (%s)",
			  rc == 0 ? out : err.message);
		free(out);
		lm_charsmap_free(map);
	}
	len = make_tiny_charsmap(blob, true);
	expect_charsmap_error("a charsmap whose trie has a cycle", blob, len, "cycle");
}

static void
check_hostile_charsmaps(void)
{
	size_t		len;
	uint8_t    *model = read_fixture("tokenizers/spm-unigram/spiece.model", &len);
	const uint8_t *blob = NULL;
	size_t		blob_len = 0;
	uint32_t	trie_size;
	uint8_t    *copy;
	LmError		err;
	LmCharsmap *map;

	if (model == NULL)
		return;
	blob = find_normalizer_charsmap(model, len, &blob_len);
	if (!CHECK(blob != NULL, "the T5 charsmap is found in spiece.model"))
	{
		free(model);
		return;
	}

	test_error_init(&err);
	map = lm_charsmap_load(blob, blob_len, &err);
	CHECK(map != NULL, "the T5 charsmap loads (%s)", map ? "ok" : err.message);
	if (map != NULL)
	{
		char	   *out = NULL;
		size_t		out_len;
		/* fullwidth h i, circled 1, space, the fi ligature, a stray 0xFF */
		const char *in = "\xEF\xBD\x88\xEF\xBD\x89\xE2\x91\xA0 \xEF\xAC\x81\xFF";
		int			rc = lm_charsmap_normalize(map, in, strlen(in), &out, &out_len, &err);

		CHECK(rc == 0 && strcmp(out, "hi1 fi\xEF\xBF\xBD") == 0,
			  "the T5 charsmap maps NFKC and invalid UTF-8 (%s)", rc == 0 ? out : err.message);
		free(out);
		lm_charsmap_free(map);
	}

	copy = malloc(blob_len);
	memcpy(copy, blob, blob_len);
	trie_size = (uint32_t) blob[0] | ((uint32_t) blob[1] << 8) | ((uint32_t) blob[2] << 16) |
		((uint32_t) blob[3] << 24);

	expect_charsmap_error("a charsmap of 3 bytes", copy, 3, "too short");
	/* the trie size says more than the blob holds */
	copy[0] = copy[1] = copy[2] = 0xFF;
	copy[3] = 0x0F;
	expect_charsmap_error("a charsmap whose trie size lies", copy, blob_len, "exceeds");
	memcpy(copy, blob, 4);
	/* the trie is intact but the pool is cut: values point past it */
	expect_charsmap_error("a charsmap with its replacement pool cut", copy,
						  4 + trie_size + 16, "replacement pool");
	/* a trie cut short: transitions point past its units */
	copy[0] = 0x00;
	copy[1] = 0x04;
	copy[2] = copy[3] = 0x00;
	expect_charsmap_error("a charsmap with its trie cut to 256 units", copy, blob_len,
						  "points past the end");
	free(copy);
	free(model);
}

/* ---- cancellation ---------------------------------------------------------
 * A hook that asks to cancel at its k-th call, for several k: encoding and
 * decoding stop with LM_ERR_CANCELLED and leave nothing behind; a hook that
 * never cancels changes nothing.
 */

/* These models check about every 4 KB of work: 64 KB gives each step a few. */
#define CANCEL_TEXT_BYTES 65536
#define N_CANCEL_POINTS 6

/* A text with accents, CJK, byte-fallback characters and runs of spaces. */
static char *
cancel_text(size_t *len)
{
	static const char snippet[] = "Hello, w\xc3\xb6rld! h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
		"\xf0\x9f\x98\x80 <s> x42\n\t   don't ";

	return repeated_text(snippet, CANCEL_TEXT_BYTES, len);
}

static bool
encodings_equal(const LmEncoding *a, const LmEncoding *b)
{
	if (a->n != b->n || (a->n > 0 && memcmp(a->ids, b->ids, a->n * sizeof(int32_t)) != 0))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->tokens[i], b->tokens[i]) != 0)
			return false;
	return true;
}

/* One encode (into *enc) or decode (returned) with the hook cancelling at call k. */
static char *
run_with_cancel(const LmSpmTokenizer *tok, const char *text, size_t len,
				const LmEncoding *ref, bool decode, long k, LmEncoding *enc, bool *stopped,
				LmError *err)
{
	char	   *s = NULL;

	test_error_init(err);
	cancel_arm(k);
	if (decode)
	{
		s = lm_spm_decode(tok, ref->ids, ref->n, false, err);
		*stopped = s == NULL;
	}
	else
		*stopped = lm_spm_encode(tok, text, len, true, 0, enc, err) != 0;
	test_cancel_hook = NULL;
	return s;
}

/*
 * Cancel at call k: fails as cancelled, asking no more after it, and leaves
 * the encoding zeroed; past the last check (n_checks), succeeds as before.
 */
static bool
cancels_at(const LmSpmTokenizer *tok, const char *text, size_t len, const LmEncoding *ref,
		   const char *ref_decoded, bool decode, long k, long n_checks)
{
	LmError		err;
	LmEncoding	enc = {0};
	LmEncoding	zero = {0};
	bool		stopped;
	char	   *s = run_with_cancel(tok, text, len, ref, decode, k, &enc, &stopped, &err);
	bool		ok;

	if (stopped)
		ok = err.code == LM_ERR_CANCELLED && memcmp(&enc, &zero, sizeof(enc)) == 0 &&
			k <= n_checks && cancel_calls == k;
	else
		ok = k > n_checks &&
			(decode ? strcmp(s, ref_decoded) == 0 : encodings_equal(&enc, ref));
	if (!ok)
		printf("#   %s cancelled at check %ld of %ld: %s (%ld calls)\n",
			   decode ? "decode" : "encode", k, n_checks, stopped ? err.message : "not stopped",
			   cancel_calls);
	free(s);
	lm_encoding_free(&enc);
	return ok;
}

static void
check_cancel(const char *label, const char *model_rel, const char *text, size_t len)
{
	size_t		model_len;
	uint8_t    *data = read_fixture(model_rel, &model_len);
	LmSpmTokenizer *tok = NULL;
	LmEncoding	ref = {0};
	char	   *ref_decoded = NULL;
	LmError		err;

	test_error_init(&err);
	if (data != NULL)
		tok = lm_spm_load(data, model_len, &err);
	free(data);
	if (!CHECK(tok != NULL, "%s loads for cancellation", label))
		return;
	if (CHECK(lm_spm_encode(tok, text, len, true, 0, &ref, &err) == 0 &&
			  (ref_decoded = lm_spm_decode(tok, ref.ids, ref.n, false, &err)) != NULL,
			  "%s encodes and decodes %zu bytes without a hook", label, len))
	{
		for (int decode = 0; decode < 2; decode++)
		{
			LmEncoding	enc = {0};
			bool		stopped;
			char	   *s = run_with_cancel(tok, text, len, &ref, decode, 0, &enc, &stopped,
											&err);
			bool		same = decode ? s != NULL && strcmp(s, ref_decoded) == 0 :
				!stopped && encodings_equal(&enc, &ref);
			long		n_checks = cancel_calls;
			long		points[N_CANCEL_POINTS] = {1, 2, 10, 1000, n_checks, n_checks + 1};
			bool		ok = true;

			free(s);
			lm_encoding_free(&enc);
			/* Many checks: each step lets a cancel through more than once. */
			CHECK(same && n_checks >= 10,
				  "%s %s: a hook that never cancels changes nothing (%ld checks)", label,
				  decode ? "decode" : "encode", n_checks);
			for (int p = 0; p < N_CANCEL_POINTS; p++)
				ok = cancels_at(tok, text, len, &ref, ref_decoded, decode, points[p],
								n_checks) && ok;
			CHECK(ok, "%s %s stops with LM_ERR_CANCELLED at checks 1, 2, 10, 1000 and the "
				  "last, leaving nothing", label, decode ? "decode" : "encode");
		}
	}
	free(ref_decoded);
	lm_encoding_free(&ref);
	lm_spm_free(tok);
}

static void
check_cancels(void)
{
	size_t		len;
	char	   *text = cancel_text(&len);

	check_cancel("spm-unigram", "tokenizers/spm-unigram/spiece.model", text, len);
	check_cancel("spm-bpe-nllb", "tokenizers/spm-bpe-nllb/sentencepiece.bpe.model", text, len);
	check_cancel("llama2", "real-tokenizers/llama2/tokenizer.model", text, len);
	free(text);
}

int
main(void)
{
	LmSpmTokenizer *tok;

	tok = run_cases("spm-unigram", "tokenizers/spm-unigram/spiece.model",
					"tokenizers/spm-unigram/spm_cases.jsonl");
	lm_spm_free(tok);
	tok = run_cases("spm-bpe-nllb", "tokenizers/spm-bpe-nllb/sentencepiece.bpe.model",
					"tokenizers/spm-bpe-nllb/spm_cases.jsonl");
	lm_spm_free(tok);
	tok = run_cases("llama2", "real-tokenizers/llama2/tokenizer.model",
					"real-tokenizers/llama2/spm_cases.jsonl");
	if (tok != NULL)
		check_llama_api(tok);
	lm_spm_free(tok);

	check_hostile_models();
	check_hostile_charsmaps();
	check_tiny_charsmaps();
	check_cancels();
	return test_done();
}
