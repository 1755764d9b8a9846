/*
 * test_hf_tokenizer.c — the tokenizer.json engine against the reference
 * outputs of the tokenizers library (fixtures tokenizers/ and
 * real-tokenizers/), and against hostile documents and inputs.
 *
 * For each case file: encode without and with special tokens, compare ids
 * and token strings, and decode the reference ids with skip_special_tokens.
 * One CHECK per tokenizer and field; the first mismatches are printed as
 * "# " comments.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cancel_util.h"
#include "testutil.h"
#include "tokenizer/hf_tokenizer.h"

#define MAX_SHOWN_MISMATCHES 3
#define SHOWN_TEXT_MAX 80

typedef struct Suite
{
	const char *dir;			/* under the fixtures directory */
	const char *name;
} Suite;

static const Suite suites[] = {
	{"tokenizers/bpe-bytelevel", "bpe-bytelevel"},
	{"tokenizers/bpe-regex-llama3", "bpe-regex-llama3"},
	{"tokenizers/wordpiece", "wordpiece"},
	{"tokenizers/spm-bpe-bytefallback", "spm-bpe-bytefallback"},
	{"tokenizers/spm-unigram", "spm-unigram"},
	{"tokenizers/spm-bpe-nllb", "spm-bpe-nllb"},
	{"tokenizers/wordlevel", "wordlevel"},
	{"real-tokenizers/gpt2", "gpt2"},
	{"real-tokenizers/llama2", "llama2"},
};

enum Field
{
	FIELD_IDS,
	FIELD_TOKENS,
	FIELD_IDS_SPECIAL,
	FIELD_DECODED,
	N_FIELDS
};

static const char *const field_names[N_FIELDS] = {"ids", "tokens", "ids_special", "decoded"};

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(size + 1);
	if (buf && fread(buf, 1, size, f) != (size_t) size)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
	{
		buf[size] = '\0';
		*len = (size_t) size;
	}
	return buf;
}

static LmHfTokenizer *
load_fixture(const char *dir, LmError *err)
{
	char		path[1024];
	size_t		len;
	char	   *json;
	LmHfTokenizer *tok;

	snprintf(path, sizeof(path), "%s/%s/tokenizer.json", test_fixtures_dir(), dir);
	json = read_file(path, &len);
	if (json == NULL)
	{
		lm_fail(err, LM_ERR_IO, "cannot read %s", path);
		return NULL;
	}
	tok = lm_hf_tokenizer_load(json, len, err);
	free(json);
	return tok;
}

/* Print text shortened and with control characters escaped. */
static void
show_text(const char *label, const char *s, size_t len)
{
	printf("#   %s: \"", label);
	for (size_t i = 0; i < len && i < SHOWN_TEXT_MAX; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("%s\"\n", len > SHOWN_TEXT_MAX ? "..." : "");
}

static void
show_ids(const char *label, const int32_t *ids, size_t n)
{
	printf("#   %s: [", label);
	for (size_t i = 0; i < n && i < 40; i++)
		printf("%s%d", i ? ", " : "", ids[i]);
	printf("%s]\n", n > 40 ? ", ..." : "");
}

static void
show_tokens(const char *label, char **tokens, size_t n)
{
	printf("#   %s: [", label);
	for (size_t i = 0; i < n && i < 30; i++)
		printf("%s\"%s\"", i ? ", " : "", tokens[i]);
	printf("%s]\n", n > 30 ? ", ..." : "");
}

static void
show_json_tokens(const char *label, const json_t *tokens)
{
	printf("#   %s: [", label);
	for (size_t i = 0; i < json_array_size(tokens) && i < 30; i++)
		printf("%s\"%s\"", i ? ", " : "", json_string_value(json_array_get(tokens, i)));
	printf("%s]\n", json_array_size(tokens) > 30 ? ", ..." : "");
}

/* Reference ids from a JSON array. */
static int32_t *
json_ids(const json_t *arr, size_t *n)
{
	int32_t    *ids;

	*n = json_array_size(arr);
	ids = calloc(*n + 1, sizeof(int32_t));
	for (size_t i = 0; i < *n; i++)
		ids[i] = (int32_t) json_integer_value(json_array_get(arr, i));
	return ids;
}

static bool
ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(int32_t)) == 0);
}

static bool
tokens_equal(const json_t *expected, const LmEncoding *enc)
{
	if (json_array_size(expected) != enc->n)
		return false;
	for (size_t i = 0; i < enc->n; i++)
		if (strcmp(json_string_value(json_array_get(expected, i)), enc->tokens[i]) != 0)
			return false;
	return true;
}

static void
run_suite(const Suite *suite)
{
	char		path[1024];
	LmError		err;
	LmHfTokenizer *tok;
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	int			ok[N_FIELDS] = {0};
	int			shown[N_FIELDS] = {0};
	int			n = 0;
	clock_t		started;

	test_error_init(&err);
	tok = load_fixture(suite->dir, &err);
	if (!CHECK(tok != NULL, "%s loads", suite->name))
	{
		printf("#   %s\n", err.message);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/cases.jsonl", test_fixtures_dir(), suite->dir);
	f = fopen(path, "r");
	if (!CHECK(f != NULL, "%s cases.jsonl opens", suite->name))
	{
		lm_hf_tokenizer_free(tok);
		return;
	}
	started = clock();
	while (getline(&line, &cap, f) > 0)
	{
		json_error_t jerr;
		json_t	   *row = json_loads(line, JSON_ALLOW_NUL, &jerr);
		const json_t *jtext = json_object_get(row, "text");
		const char *text = json_string_value(jtext);
		size_t		text_len = json_string_length(jtext);
		size_t		n_ids,
					n_special;
		int32_t    *ids = json_ids(json_object_get(row, "ids"), &n_ids);
		int32_t    *special = json_ids(json_object_get(row, "ids_special"), &n_special);
		const char *decoded_ref = json_string_value(json_object_get(row, "decoded"));
		LmEncoding	enc = {0};
		LmEncoding	enc_special = {0};
		char	   *decoded;
		bool		good[N_FIELDS];

		n++;
		test_error_init(&err);
		if (lm_hf_tokenizer_encode(tok, text, text_len, false, 0, &enc, &err) != 0)
			printf("# %s: encode failed: %s\n", suite->name, err.message);
		good[FIELD_IDS] = ids_equal(ids, n_ids, enc.ids, enc.n);
		good[FIELD_TOKENS] = tokens_equal(json_object_get(row, "tokens"), &enc);
		if (lm_hf_tokenizer_encode(tok, text, text_len, true, 0, &enc_special, &err) != 0)
			printf("# %s: encode failed: %s\n", suite->name, err.message);
		good[FIELD_IDS_SPECIAL] = ids_equal(special, n_special, enc_special.ids,
											enc_special.n);
		decoded = lm_hf_tokenizer_decode(tok, ids, n_ids, true, &err);
		if (decoded == NULL)
			printf("# %s: decode failed: %s\n", suite->name, err.message);
		good[FIELD_DECODED] = decoded && strcmp(decoded, decoded_ref) == 0;

		for (int fld = 0; fld < N_FIELDS; fld++)
		{
			if (good[fld])
			{
				ok[fld]++;
				continue;
			}
			if (shown[fld]++ >= MAX_SHOWN_MISMATCHES)
				continue;
			printf("# %s %s mismatch, row %d\n", suite->name, field_names[fld], n);
			show_text("text", text, text_len);
			if (fld == FIELD_IDS)
			{
				show_ids("expected", ids, n_ids);
				show_ids("got", enc.ids, enc.n);
			}
			else if (fld == FIELD_TOKENS)
			{
				show_json_tokens("expected", json_object_get(row, "tokens"));
				show_tokens("got", enc.tokens, enc.n);
			}
			else if (fld == FIELD_IDS_SPECIAL)
			{
				show_ids("expected", special, n_special);
				show_ids("got", enc_special.ids, enc_special.n);
			}
			else
			{
				show_text("expected", decoded_ref, strlen(decoded_ref));
				show_text("got", decoded ? decoded : "", decoded ? strlen(decoded) : 0);
			}
		}
		free(decoded);
		free(ids);
		free(special);
		lm_encoding_free(&enc);
		lm_encoding_free(&enc_special);
		json_decref(row);
	}
	printf("# %s: %d rows in %.1f ms\n", suite->name, n,
		   1000.0 * (double) (clock() - started) / CLOCKS_PER_SEC);
	free(line);
	fclose(f);
	for (int fld = 0; fld < N_FIELDS; fld++)
		CHECK(ok[fld] == n && n > 0, "%s %s %d/%d", suite->name, field_names[fld], ok[fld], n);
	lm_hf_tokenizer_free(tok);
}

/* ---- lookups and speed on the real GPT-2 vocabulary ---------------------------- */

static void
test_gpt2_lookups_and_speed(void)
{
	LmError		err;
	LmHfTokenizer *tok;
	LmEncoding	enc = {0};
	char	   *text;
	size_t		len = 0;
	char		path[1024];
	clock_t		started;
	double		seconds;

	test_error_init(&err);
	tok = load_fixture("real-tokenizers/gpt2", &err);
	if (!CHECK(tok != NULL, "gpt2 loads for lookups"))
		return;
	CHECK(lm_hf_tokenizer_vocab_size(tok) == 50257, "gpt2 vocab_size is 50257 (%d)",
		  lm_hf_tokenizer_vocab_size(tok));
	CHECK(lm_hf_tokenizer_token_to_id(tok, "<|endoftext|>") == 50256,
		  "gpt2 <|endoftext|> is id 50256");
	CHECK(lm_hf_tokenizer_id_to_token(tok, 50256) &&
		  strcmp(lm_hf_tokenizer_id_to_token(tok, 50256), "<|endoftext|>") == 0,
		  "gpt2 id 50256 is <|endoftext|>");
	CHECK(lm_hf_tokenizer_token_to_id(tok, "Hello") == 15496, "gpt2 Hello is id 15496");
	CHECK(lm_hf_tokenizer_token_to_id(tok, "no such token at all") == -1,
		  "gpt2 unknown token is -1");
	CHECK(lm_hf_tokenizer_id_to_token(tok, 50257) == NULL &&
		  lm_hf_tokenizer_id_to_token(tok, -1) == NULL, "gpt2 ids out of range have no token");

	/* Speed: the whole GPT-2 case file as one text, encoded 5 times. */
	snprintf(path, sizeof(path), "%s/real-tokenizers/gpt2/cases.jsonl", test_fixtures_dir());
	text = read_file(path, &len);
	if (CHECK(text != NULL, "gpt2 cases read for the speed test"))
	{
		size_t		tokens = 0;
		bool		ok = true;

		started = clock();
		for (int rep = 0; rep < 5 && ok; rep++)
		{
			ok = lm_hf_tokenizer_encode(tok, text, len, false, 0, &enc, &err) == 0;
			tokens += enc.n;
			lm_encoding_free(&enc);
		}
		seconds = (double) (clock() - started) / CLOCKS_PER_SEC;
		CHECK(ok, "gpt2 encodes %zu bytes x5", len);
		printf("# gpt2 speed: %.2f MB/s, %.0f tokens/s\n",
			   5.0 * len / 1e6 / (seconds > 0 ? seconds : 1e-9),
			   tokens / (seconds > 0 ? seconds : 1e-9));
	}
	free(text);
	lm_hf_tokenizer_free(tok);
}

/* ---- single components, on small documents ----------------------------------------
 * Expected outputs follow the tokenizers library's own unit tests and
 * documented behavior.  Token lists are written "a|b|c".
 */

/* A WordLevel document whose vocabulary is "<unk>" plus the given tokens. */
static char *
wordlevel_doc(const char *parts, const char *tokens)
{
	size_t		cap = strlen(parts) + strlen(tokens) * 8 + 512;
	char	   *doc = malloc(cap);
	size_t		used = 0;
	const char *t = tokens;
	int			id = 1;

	used += snprintf(doc + used, cap - used,
					 "{%s%s\"model\": {\"type\": \"WordLevel\", \"unk_token\": \"<unk>\", "
					 "\"vocab\": {\"<unk>\": 0", parts, parts[0] ? ", " : "");
	while (*t)
	{
		const char *bar = strchr(t, '|');
		size_t		n = bar ? (size_t) (bar - t) : strlen(t);
		char		key[256];

		/* Each distinct token once. */
		snprintf(key, sizeof(key), "\"%.*s\":", (int) n, t);
		if (strstr(doc, key) == NULL)
			used += snprintf(doc + used, cap - used, ", %s %d", key, id++);
		t += n;
		if (*t == '|')
			t++;
	}
	snprintf(doc + used, cap - used, "}}}");
	return doc;
}

/* Join the token strings of an encoding with "|". */
static char *
joined_tokens(const LmEncoding *enc)
{
	size_t		cap = 1;
	char	   *s;

	for (size_t i = 0; i < enc->n; i++)
		cap += strlen(enc->tokens[i]) + 1;
	s = calloc(cap, 1);
	for (size_t i = 0; i < enc->n; i++)
	{
		if (i)
			strcat(s, "|");
		strcat(s, enc->tokens[i]);
	}
	return s;
}

/* Encode text with a document and compare the tokens. */
static void
expect_tokens(const char *label, const char *doc, const char *text, bool special,
			  const char *expected)
{
	LmError		err;
	LmHfTokenizer *tok;
	LmEncoding	enc = {0};
	char	   *got = NULL;

	test_error_init(&err);
	tok = lm_hf_tokenizer_load(doc, strlen(doc), &err);
	if (tok && lm_hf_tokenizer_encode(tok, text, strlen(text), special, 0, &enc, &err) == 0)
		got = joined_tokens(&enc);
	if (!CHECK(got && strcmp(got, expected) == 0, "%s", label))
		printf("#   expected \"%s\", got \"%s\" %s\n", expected, got ? got : "",
			   got ? "" : err.message);
	free(got);
	lm_encoding_free(&enc);
	lm_hf_tokenizer_free(tok);
}

/* Split-style pre-tokenizer: the vocabulary is the expected pieces. */
static void
expect_pieces(const char *label, const char *parts, const char *text, const char *expected)
{
	char	   *doc = wordlevel_doc(parts, expected);

	expect_tokens(label, doc, text, false, expected);
	free(doc);
}

/* Decode the ids 1..n of a WordLevel vocabulary made of tokens. */
static void
expect_decoded(const char *label, const char *decoder, const char *tokens, const char *expected)
{
	char		parts[1024];
	char	   *doc;
	LmError		err;
	LmHfTokenizer *tok;
	int32_t		ids[64];
	size_t		n = 0;
	char	   *got = NULL;

	snprintf(parts, sizeof(parts), "\"decoder\": %s", decoder);
	doc = wordlevel_doc(parts, tokens);
	test_error_init(&err);
	tok = lm_hf_tokenizer_load(doc, strlen(doc), &err);
	if (tok)
	{
		const char *t = tokens;

		for (n = 0; *t && n < sizeof(ids) / sizeof(ids[0]); n++)
		{
			const char *bar = strchr(t, '|');
			size_t		len = bar ? (size_t) (bar - t) : strlen(t);
			char		token[256];

			snprintf(token, sizeof(token), "%.*s", (int) len, t);
			ids[n] = lm_hf_tokenizer_token_to_id(tok, token);
			t += len;
			if (*t == '|')
				t++;
		}
		got = lm_hf_tokenizer_decode(tok, ids, n, true, &err);
	}
	if (!CHECK(got && strcmp(got, expected) == 0, "%s", label))
		printf("#   expected \"%s\", got \"%s\" %s\n", expected, got ? got : "",
			   got ? "" : err.message);
	free(got);
	free(doc);
	lm_hf_tokenizer_free(tok);
}

#define SPLIT_DASH(behavior, invert) \
	"\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, " \
	"\"behavior\": \"" behavior "\", \"invert\": " invert "}"

static void
test_pretokenizers(void)
{
	const char *text = "the-final--countdown";

	expect_pieces("Split Removed", SPLIT_DASH("Removed", "false"), text, "the|final|countdown");
	expect_pieces("Split Isolated", SPLIT_DASH("Isolated", "false"), text,
				  "the|-|final|-|-|countdown");
	expect_pieces("Split MergedWithPrevious", SPLIT_DASH("MergedWithPrevious", "false"), text,
				  "the-|final-|-|countdown");
	expect_pieces("Split MergedWithNext", SPLIT_DASH("MergedWithNext", "false"), text,
				  "the|-final|-|-countdown");
	expect_pieces("Split Contiguous", SPLIT_DASH("Contiguous", "false"), text,
				  "the|-|final|--|countdown");
	expect_pieces("Split Removed inverted", SPLIT_DASH("Removed", "true"), text, "-|-|-");
	expect_pieces("Split on a regex",
				  "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\d+\"}, "
				  "\"behavior\": \"Isolated\", \"invert\": false}", "ab12cd345", "ab|12|cd|345");
	expect_pieces("Punctuation", "\"pre_tokenizer\": {\"type\": \"Punctuation\"}",
				  "Hey friend!     How are you?!?", "Hey friend|!|     How are you|?|!|?");
	expect_pieces("Digits grouped",
				  "\"pre_tokenizer\": {\"type\": \"Digits\", \"individual_digits\": false}",
				  "Hey 123 friend!", "Hey |123| friend!");
	expect_pieces("Digits one by one",
				  "\"pre_tokenizer\": {\"type\": \"Digits\", \"individual_digits\": true}",
				  "Hey 123 friend!", "Hey |1|2|3| friend!");
	expect_pieces("WhitespaceSplit", "\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}",
				  "Hey, man, Good?", "Hey,|man,|Good?");
	expect_pieces("Whitespace", "\"pre_tokenizer\": {\"type\": \"Whitespace\"}",
				  "How are you doing?", "How|are|you|doing|?");
	expect_pieces("Whitespace keeps accents and marks in words",
				  "\"pre_tokenizer\": {\"type\": \"Whitespace\"}", "e\xcc\x81t\xc3\xa9 ok",
				  "e\xcc\x81t\xc3\xa9|ok");
	expect_pieces("BertPreTokenizer", "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}",
				  "Hey friend!     How are you?!?", "Hey|friend|!|How|are|you|?|!|?");
	expect_pieces("Metaspace", "\"pre_tokenizer\": {\"type\": \"Metaspace\", "
				  "\"replacement\": \"\xe2\x96\x81\", \"prepend_scheme\": \"always\", \"split\": true}",
				  "Hey   friend!",
				  "\xe2\x96\x81Hey|\xe2\x96\x81|\xe2\x96\x81|\xe2\x96\x81" "friend!");
	expect_pieces("Metaspace never prepends",
				  "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"_\", "
				  "\"prepend_scheme\": \"never\", \"split\": true}", "Hey friend", "Hey|_friend");
	expect_pieces("CharDelimiterSplit",
				  "\"pre_tokenizer\": {\"type\": \"CharDelimiterSplit\", \"delimiter\": \"-\"}",
				  "a-b--c", "a|b|c");
	expect_pieces("ByteLevel with a prefix space",
				  "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
				  "\"use_regex\": true}", "Hello world", "\xc4\xa0Hello|\xc4\xa0world");
	expect_pieces("Sequence of pre-tokenizers",
				  "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
				  "{\"type\": \"WhitespaceSplit\"}, {\"type\": \"Digits\", "
				  "\"individual_digits\": true}]}", "ab12 c3", "ab|1|2|c|3");
}

static void
test_normalizers(void)
{
	expect_pieces("Strip", "\"normalizer\": {\"type\": \"Strip\", \"strip_left\": true, "
				  "\"strip_right\": true}", "  hello  ", "hello");
	expect_pieces("NFD + StripAccents + Lowercase",
				  "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFD\"}, "
				  "{\"type\": \"StripAccents\"}, {\"type\": \"Lowercase\"}]}",
				  "\xc3\x89l\xc3\xa9gant", "elegant");
	expect_pieces("Lowercase of dotted capital I",
				  "\"normalizer\": {\"type\": \"Lowercase\"}", "\xc4\xb0", "i\xcc\x87");
	expect_pieces("NFKC", "\"normalizer\": {\"type\": \"NFKC\"}", "\xef\xac\x81", "fi");
	expect_pieces("NFKD", "\"normalizer\": {\"type\": \"NFKD\"}", "\xc3\xa9", "e\xcc\x81");
	expect_pieces("NFC", "\"normalizer\": {\"type\": \"NFC\"}", "e\xcc\x81", "\xc3\xa9");
	expect_pieces("Replace with a regex",
				  "\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"[0-9]+\"}, "
				  "\"content\": \"#\"}", "a1b22c", "a#b#c");
	expect_pieces("Prepend", "\"normalizer\": {\"type\": \"Prepend\", \"prepend\": \"_\"}",
				  "hi", "_hi");
	expect_pieces("BertNormalizer: control characters, Chinese, accents",
				  "\"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, "
				  "\"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true}, "
				  "\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}",
				  "H\xc3\xa9\x01llo\xe4\xb8\xad\xe6\x96\x87", "hello|\xe4\xb8\xad|\xe6\x96\x87");
	expect_pieces("Nmt", "\"normalizer\": {\"type\": \"Nmt\"}, "
				  "\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}", "a\x01" "b\tc", "ab|c");
}

#define BPE_PREFIX_MODEL \
	"\"model\": {\"type\": \"BPE\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", " \
	"\"vocab\": {\"[UNK]\": 0, \"a\": 1, \"##b\": 2, \"##c\": 3, \"ab\": 4, \"abc\": 5}, " \
	"\"merges\": [\"a ##b\", \"ab ##c\"]}"

static void
test_models(void)
{
	expect_tokens("BPE with continuing_subword_prefix",
				  "{\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, " BPE_PREFIX_MODEL "}",
				  "abc ab a", false, "abc|ab|a");
	expect_tokens("BPE with continuing_subword_prefix and an unknown character",
				  "{\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, " BPE_PREFIX_MODEL "}",
				  "abx", false, "ab|[UNK]");
	expect_tokens("BPE with end_of_word_suffix",
				  "{\"model\": {\"type\": \"BPE\", \"end_of_word_suffix\": \"</w>\", \"vocab\": "
				  "{\"a\": 0, \"b</w>\": 1, \"ab</w>\": 2}, \"merges\": [\"a b</w>\"]}}",
				  "ab", false, "ab</w>");
	expect_tokens("BPE unknown characters fused",
				  "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "
				  "\"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2}, \"merges\": []}}",
				  "accb", false, "a|<unk>|b");
	expect_tokens("BPE unknown characters not fused",
				  "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": false, "
				  "\"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2}, \"merges\": []}}",
				  "accb", false, "a|<unk>|<unk>|b");
	expect_tokens("BPE byte fallback",
				  "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": true, "
				  "\"vocab\": {\"<unk>\": 0, \"<0x61>\": 1}, \"merges\": []}}",
				  "ac", false, "<0x61>|<unk>");
	expect_tokens("BPE without unk_token drops unknown characters",
				  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
				  "aza", false, "a|a");
	expect_tokens("Unigram best segmentation",
				  "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], "
				  "[\"a\", 0.0], [\"b\", 0.0], [\"c\", 0.0], [\"d\", 0.0], [\"cd\", 1.0], "
				  "[\"ab\", 2.0], [\"abc\", 5.0], [\"abcd\", 10.0]]}}",
				  "xabcabaabcdd", false, "x|abc|ab|a|abcd|d");
	expect_tokens("Unigram fuses unknown characters and keeps their text",
				  "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], "
				  "[\"a\", 0.0]]}}", "xyz\xe6\x9d\xb1" "a", false, "xyz\xe6\x9d\xb1|a");
	expect_tokens("Unigram byte fallback",
				  "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"byte_fallback\": true, "
				  "\"vocab\": [[\"<unk>\", 0.0], [\"<0x41>\", -0.1], [\"<0x42>\", -0.1]]}}",
				  "AB", false, "<0x41>|<0x42>");
	expect_tokens("WordPiece greedy longest match",
				  "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": "
				  "{\"[UNK]\": 0, \"un\": 1, \"##aff\": 2, \"##able\": 3}}, "
				  "\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}}",
				  "unaffable unx", false, "un|##aff|##able|[UNK]");
	expect_tokens("WordPiece: a dead end after a long match makes the word unknown",
				  "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"una\": 1, "
				  "\"un\": 2, \"##affable\": 3}}}", "unaffable", false, "[UNK]");
	expect_tokens("WordPiece too long a word",
				  "{\"model\": {\"type\": \"WordPiece\", \"max_input_chars_per_word\": 3, "
				  "\"vocab\": {\"[UNK]\": 0, \"abcd\": 1}}}", "abcd", false, "[UNK]");
}

static void
test_added_tokens_and_post(void)
{
	char		doc[2048];
	char	   *wl;

	/* lstrip: the token takes the spaces before it. */
	wl = wordlevel_doc("\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, "
					   "\"added_tokens\": [{\"id\": 3, \"content\": \"<mask>\", "
					   "\"single_word\": false, \"lstrip\": true, \"rstrip\": false, "
					   "\"normalized\": false, \"special\": true}]", "Hello|there");
	expect_tokens("added token with lstrip", wl, "Hello  <mask> there", false,
				  "Hello|  <mask>|there");
	free(wl);
	wl = wordlevel_doc("\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, "
					   "\"added_tokens\": [{\"id\": 3, \"content\": \"<mask>\", "
					   "\"single_word\": false, \"lstrip\": false, \"rstrip\": true, "
					   "\"normalized\": false, \"special\": true}]", "Hello|there");
	expect_tokens("added token with rstrip", wl, "Hello <mask>  there", false,
				  "Hello|<mask>  |there");
	free(wl);
	/* single_word: only whole words match. */
	wl = wordlevel_doc("\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, "
					   "\"added_tokens\": [{\"id\": 3, \"content\": \"ab\", "
					   "\"single_word\": true, \"lstrip\": false, \"rstrip\": false, "
					   "\"normalized\": false, \"special\": false}]", "abc|cab");
	expect_tokens("added token with single_word", wl, "ab abc cab ab", false, "ab|abc|cab|ab");
	free(wl);
	/* normalized: matched on the normalized text, spelled as normalized. */
	wl = wordlevel_doc("\"normalizer\": {\"type\": \"Lowercase\"}, "
					   "\"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, "
					   "\"added_tokens\": [{\"id\": 2, \"content\": \"HeLLo\", "
					   "\"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
					   "\"normalized\": true, \"special\": false}]", "say");
	expect_tokens("normalized added token", wl, "say HELLO", false, "say|hello");
	free(wl);
	/* Longest match wins, then leftmost. */
	wl = wordlevel_doc("\"added_tokens\": ["
					   "{\"id\": 1, \"content\": \"<a>\", \"special\": true, \"normalized\": false}, "
					   "{\"id\": 2, \"content\": \"<a><b>\", \"special\": true, \"normalized\": false}]",
					   "");
	expect_tokens("longest added token wins", wl, "<a><b><a>", false, "<a><b>|<a>");
	free(wl);
	snprintf(doc, sizeof(doc), "%s", "{\"post_processor\": {\"type\": \"BertProcessing\", "
			 "\"sep\": [\"[SEP]\", 2], \"cls\": [\"[CLS]\", 1]}, \"model\": {\"type\": "
			 "\"WordLevel\", \"unk_token\": \"x\", \"vocab\": {\"x\": 0, \"[CLS]\": 1, "
			 "\"[SEP]\": 2}}}");
	expect_tokens("BertProcessing", doc, "x", true, "[CLS]|x|[SEP]");
	expect_tokens("BertProcessing is skipped without special tokens", doc, "x", false, "x");
	snprintf(doc, sizeof(doc), "%s", "{\"post_processor\": {\"type\": \"Sequence\", "
			 "\"processors\": [{\"type\": \"ByteLevel\", \"trim_offsets\": false}, "
			 "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 1], "
			 "\"trim_offsets\": true, \"add_prefix_space\": true}]}, \"model\": {\"type\": "
			 "\"WordLevel\", \"unk_token\": \"x\", \"vocab\": {\"x\": 0, \"<s>\": 1, "
			 "\"</s>\": 2}}}");
	expect_tokens("Sequence of ByteLevel and RobertaProcessing", doc, "x", true, "<s>|x|</s>");
	snprintf(doc, sizeof(doc), "%s", "{\"post_processor\": {\"type\": \"TemplateProcessing\", "
			 "\"single\": \"<s> $A:0 </s>:1\", \"pair\": \"<s> $A </s> $B:1 </s>:1\", "
			 "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}, "
			 "\"</s>\": {\"id\": \"</s>\", \"ids\": [2], \"tokens\": [\"</s>\"]}}}, "
			 "\"model\": {\"type\": \"WordLevel\", \"unk_token\": \"x\", \"vocab\": "
			 "{\"x\": 0, \"<s>\": 1, \"</s>\": 2}}}");
	expect_tokens("TemplateProcessing written as a string", doc, "x", true, "<s>|x|</s>");
}

static void
test_decoders(void)
{
	expect_decoded("WordPiece decoder", "{\"type\": \"WordPiece\", \"prefix\": \"##\", "
				   "\"cleanup\": true}", "##uelo|Ara|##\xc3\xba" "j|##o|No|##guera",
				   "##uelo Ara\xc3\xbajo Noguera");
	expect_decoded("WordPiece decoder cleanup", "{\"type\": \"WordPiece\"}",
				   "I|do|n't|like|it|.", "I don't like it.");
	expect_decoded("BPEDecoder", "{\"type\": \"BPEDecoder\", \"suffix\": \"</w>\"}",
				   "My</w>|na|me</w>", "My name");
	expect_decoded("ByteFallback: bytes of one character",
				   "{\"type\": \"ByteFallback\"}", "<0xE5>|<0x8f>|<0xab>|a",
				   "\xe5\x8f\xab" "a");
	expect_decoded("ByteFallback: incomplete bytes become one U+FFFD each",
				   "{\"type\": \"ByteFallback\"}", "<0xE5>|<0x8f>|a",
				   "\xef\xbf\xbd\xef\xbf\xbd" "a");
	expect_decoded("Strip decoder", "{\"type\": \"Strip\", \"content\": \"H\", \"start\": 1, "
				   "\"stop\": 1}", "Hey| friend!|HHH", "ey friend!H");
	expect_decoded("CTC decoder", "{\"type\": \"CTC\", \"pad_token\": \"<pad>\", "
				   "\"word_delimiter_token\": \"|\", \"cleanup\": true}",
				   "<pad>|h|e|e|l|l|<pad>|l|o|o|o|<pad>", "hello");
	expect_decoded("Metaspace decoder", "{\"type\": \"Metaspace\", \"replacement\": \"_\", "
				   "\"prepend_scheme\": \"always\", \"split\": true}", "_Hey|_friend!",
				   "Hey friend!");
	expect_decoded("Metaspace decoder, never", "{\"type\": \"Metaspace\", \"replacement\": \"_\", "
				   "\"prepend_scheme\": \"never\", \"split\": true}", "_Hey|_friend!",
				   " Hey friend!");
	expect_decoded("ByteLevel decoder with invalid UTF-8",
				   "{\"type\": \"ByteLevel\"}", "a\xc3\xa5|b", "a\xef\xbf\xbd" "b");
	expect_decoded("Replace + Fuse", "{\"type\": \"Sequence\", \"decoders\": ["
				   "{\"type\": \"Replace\", \"pattern\": {\"String\": \"_\"}, \"content\": \" \"}, "
				   "{\"type\": \"Fuse\"}]}", "_a|_b", " a b");
}

/* ---- hostile documents ------------------------------------------------------------ */

/* Load a document that must fail with a message containing key. */
static void
expect_load_error(const char *label, const char *json, const char *key)
{
	LmError		err;
	LmHfTokenizer *tok;

	test_error_init(&err);
	tok = lm_hf_tokenizer_load(json, strlen(json), &err);
	if (!CHECK(tok == NULL && strstr(err.message, key) != NULL,
			   "bad document (%s) fails mentioning \"%s\"", label, key))
		printf("#   got: %s\n", tok ? "(loaded)" : err.message);
	lm_hf_tokenizer_free(tok);
}

#define MINIMAL_BPE_MODEL \
	"\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, " \
	"\"merges\": [\"a b\"]}"

static char *
nested_sequence(int depth)
{
	size_t		cap = (size_t) depth * 64 + 256;
	char	   *s = malloc(cap);
	size_t		used = 0;

	used += snprintf(s + used, cap - used, "{\"normalizer\": ");
	for (int i = 0; i < depth; i++)
		used += snprintf(s + used, cap - used, "{\"type\": \"Sequence\", \"normalizers\": [");
	used += snprintf(s + used, cap - used, "{\"type\": \"NFC\"}");
	for (int i = 0; i < depth; i++)
		used += snprintf(s + used, cap - used, "]}");
	snprintf(s + used, cap - used, ", " MINIMAL_BPE_MODEL "}");
	return s;
}

static void
test_bad_documents(void)
{
	char	   *deep;

	expect_load_error("not JSON", "{\"model\": ", "invalid JSON");
	expect_load_error("not an object", "[1, 2]", "not a JSON object");
	expect_load_error("no model", "{\"normalizer\": null}", "missing field \"model\"");
	expect_load_error("unknown normalizer",
					  "{\"normalizer\": {\"type\": \"Foo\"}, " MINIMAL_BPE_MODEL "}",
					  "tokenizer.json: unknown normalizer type \"Foo\"");
	expect_load_error("unknown pre-tokenizer",
					  "{\"pre_tokenizer\": {\"type\": \"Bar\"}, " MINIMAL_BPE_MODEL "}",
					  "unknown pre-tokenizer type \"Bar\"");
	expect_load_error("unknown decoder",
					  "{\"decoder\": {\"type\": \"Baz\"}, " MINIMAL_BPE_MODEL "}",
					  "unknown decoder type \"Baz\"");
	expect_load_error("unknown post-processor",
					  "{\"post_processor\": {\"type\": \"Qux\"}, " MINIMAL_BPE_MODEL "}",
					  "unknown post-processor type \"Qux\"");
	expect_load_error("unknown model",
					  "{\"model\": {\"type\": \"Magic\", \"vocab\": {}}}",
					  "unknown model type \"Magic\"");
	expect_load_error("component without type",
					  "{\"normalizer\": {\"lowercase\": true}, " MINIMAL_BPE_MODEL "}",
					  "\"type\"");
	expect_load_error("merge of unknown token",
					  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"ab\": 1}, "
					  "\"merges\": [\"a b\"]}}", "not in the vocabulary");
	expect_load_error("merge making unknown token",
					  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
					  "\"merges\": [[\"a\", \"b\"]]}}", "not in the vocabulary");
	expect_load_error("malformed merge",
					  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
					  "\"merges\": [\"a b c\"]}}", "merge 0");
	expect_load_error("missing merges",
					  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}",
					  "missing field \"merges\"");
	expect_load_error("empty BPE vocabulary",
					  "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "empty");
	expect_load_error("empty Unigram vocabulary",
					  "{\"model\": {\"type\": \"Unigram\", \"vocab\": [], \"unk_id\": null}}",
					  "empty");
	expect_load_error("vocab of the wrong type",
					  "{\"model\": {\"type\": \"WordPiece\", \"vocab\": [1, 2]}}",
					  "\"vocab\" must be an object");
	expect_load_error("negative id",
					  "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": -3}}}",
					  "id of token \"a\"");
	expect_load_error("absurd id",
					  "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 2000000000}}}",
					  "token ids reach");
	expect_load_error("unk_id out of range",
					  "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", -1.0]], "
					  "\"unk_id\": 5}}", "unk_id 5");
	expect_load_error("Unigram entry malformed",
					  "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}",
					  "vocabulary entry 0");
	expect_load_error("template token id out of range",
					  "{\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
					  "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, "
					  "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": "
					  "{\"<s>\": {\"id\": \"<s>\", \"ids\": [99], \"tokens\": [\"<s>\"]}}}, "
					  MINIMAL_BPE_MODEL "}", "outside the vocabulary");
	expect_load_error("template token missing",
					  "{\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
					  "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}], "
					  "\"special_tokens\": {}}, " MINIMAL_BPE_MODEL "}",
					  "missing from special_tokens");
	expect_load_error("added token with a wrong id",
					  "{\"added_tokens\": [{\"id\": 7, \"content\": \"<x>\", \"special\": true}], "
					  MINIMAL_BPE_MODEL "}", "has id 7");
	expect_load_error("added token without content",
					  "{\"added_tokens\": [{\"id\": 3}], " MINIMAL_BPE_MODEL "}",
					  "missing field \"content\"");
	expect_load_error("bad regex",
					  "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, "
					  "\"behavior\": \"Isolated\", \"invert\": false}, " MINIMAL_BPE_MODEL "}",
					  "regular expression");
	expect_load_error("bad split behavior",
					  "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, "
					  "\"behavior\": \"Sideways\", \"invert\": false}, " MINIMAL_BPE_MODEL "}",
					  "behavior \"Sideways\"");
	expect_load_error("bad base64 charsmap",
					  "{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": "
					  "\"@@@@\"}, " MINIMAL_BPE_MODEL "}", "base64");
	expect_load_error("truncated charsmap",
					  "{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": "
					  "\"AAEAAA==\"}, " MINIMAL_BPE_MODEL "}", "charsmap");
	expect_load_error("field of the wrong type",
					  "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": \"yes\"}, "
					  MINIMAL_BPE_MODEL "}", "\"lowercase\" must be true or false");
	expect_load_error("wrong version", "{\"version\": \"9.9\", " MINIMAL_BPE_MODEL "}",
					  "version \"9.9\"");
	expect_load_error("Metaspace replacement of two characters",
					  "{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"ab\"}, "
					  MINIMAL_BPE_MODEL "}", "exactly one character");

	deep = nested_sequence(100);
	expect_load_error("normalizers nested 100 deep", deep, "nest more than");
	free(deep);
	deep = malloc(200001);
	memset(deep, '[', 200000);
	deep[200000] = '\0';
	expect_load_error("JSON nested 200000 deep", deep, "invalid JSON");
	free(deep);
}

/* ---- hostile inputs to a good tokenizer ------------------------------------------ */

static void
test_bad_inputs(void)
{
	LmError		err;
	LmHfTokenizer *tok;
	LmEncoding	enc = {0};
	int32_t		ids[] = {100, 999999};
	int32_t		negative[] = {-1};
	char	   *s;

	test_error_init(&err);
	tok = load_fixture("tokenizers/bpe-bytelevel", &err);
	if (!CHECK(tok != NULL, "bpe-bytelevel loads for bad inputs"))
		return;

	CHECK(lm_hf_tokenizer_encode(tok, "ab\xff", 3, false, 0, &enc, &err) != 0 &&
		  strstr(err.message, "UTF-8") != NULL && enc.n == 0,
		  "invalid UTF-8 text fails mentioning UTF-8 (%s)", err.message);
	CHECK(lm_hf_tokenizer_encode(tok, "\xed\xa0\x80", 3, false, 0, &enc, &err) != 0,
		  "an encoded surrogate is invalid UTF-8");
	CHECK(lm_hf_tokenizer_encode(tok, "\xc0\xaf", 2, false, 0, &enc, &err) != 0,
		  "an overlong encoding is invalid UTF-8");

	test_error_init(&err);
	s = lm_hf_tokenizer_decode(tok, ids, 2, true, &err);
	CHECK(s == NULL && strstr(err.message, "outside the vocabulary") != NULL,
		  "decoding id 999999 fails (%s)", err.message);
	free(s);
	test_error_init(&err);
	s = lm_hf_tokenizer_decode(tok, negative, 1, false, &err);
	CHECK(s == NULL && strstr(err.message, "outside the vocabulary") != NULL,
		  "decoding id -1 fails");
	free(s);
	s = lm_hf_tokenizer_decode(tok, NULL, 0, true, &err);
	CHECK(s != NULL && s[0] == '\0', "decoding nothing gives an empty string");
	free(s);

	/* Text with NUL bytes and a long run of one character. */
	CHECK(lm_hf_tokenizer_encode(tok, "a\0b", 3, false, 0, &enc, &err) == 0 && enc.n > 0,
		  "text with a NUL byte encodes");
	lm_encoding_free(&enc);
	{
		size_t		n = 1 << 20;
		char	   *big = malloc(n);

		bool		ok;

		memset(big, 'x', n);
		ok = lm_hf_tokenizer_encode(tok, big, n, true, 0, &enc, &err) == 0 && enc.n > 0;
		CHECK(ok, "a 1 MiB word encodes (%zu tokens)", enc.n);
		lm_encoding_free(&enc);

		/* at most k tokens: the same encoding while it fits, LM_ERR_TOO_LONG past it */
		{
			LmEncoding	whole,
						limited;
			const char *text = "Hello world, this is a test of a limit";

			ok = lm_hf_tokenizer_encode(tok, text, strlen(text), true, 0, &whole, &err) == 0 &&
				lm_hf_tokenizer_encode(tok, text, strlen(text), true, whole.n, &limited, &err) == 0 &&
				limited.n == whole.n && memcmp(limited.ids, whole.ids, whole.n * sizeof(int32_t)) == 0;
			CHECK(ok, "a limit of exactly its %zu tokens changes nothing", whole.n);
			lm_encoding_free(&limited);
			ok = lm_hf_tokenizer_encode(tok, text, strlen(text), true, whole.n - 1, &limited, &err) != 0 &&
				err.code == LM_ERR_TOO_LONG && limited.n == 0;
			CHECK(ok, "one token fewer: LM_ERR_TOO_LONG, nothing left behind (%s)", err.message);
			lm_encoding_free(&whole);
		}
		memset(big, ' ', n);
		for (size_t i = 0; i < n; i += 2)
			big[i] = 'a';
		ok = lm_hf_tokenizer_encode(tok, big, n, false, 100, &enc, &err) != 0 && err.code == LM_ERR_TOO_LONG;
		CHECK(ok, "a 1 MiB text of one-letter words stops past 100 tokens: %s", err.message);
		free(big);
	}
	lm_hf_tokenizer_free(tok);
}

/* ---- cancellation ------------------------------------------------------------------
 * A hook that asks to cancel at its k-th call, for several k: encoding and
 * decoding stop with LM_ERR_CANCELLED and leave nothing behind; a hook that
 * never cancels changes nothing.
 */

#define CANCEL_TEXT_BYTES 8192
#define N_CANCEL_POINTS 6

/* A text that reaches added tokens, accents, CJK and whitespace runs. */
static char *
cancel_text(size_t *len)
{
	static const char snippet[] = "Hello, w\xc3\xb6rld! h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
		"<s> [MASK] </s> <|endoftext|> x42\n\t  don't ";

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

static bool
encoding_is_zero(const LmEncoding *enc)
{
	return enc->n == 0 && enc->capacity == 0 && enc->ids == NULL && enc->tokens == NULL;
}

/* The calls the hook gets in one encode (or decode); -1 if it fails. */
static long
count_checks(const LmHfTokenizer *tok, const char *text, size_t len, const LmEncoding *ref,
			 const char *ref_decoded, bool decode)
{
	LmError		err;
	LmEncoding	enc = {0};
	char	   *s = NULL;
	bool		same;

	test_error_init(&err);
	cancel_arm(0);
	if (decode)
	{
		s = lm_hf_tokenizer_decode(tok, ref->ids, ref->n, false, &err);
		same = s != NULL && strcmp(s, ref_decoded) == 0;
	}
	else
		same = lm_hf_tokenizer_encode(tok, text, len, true, 0, &enc, &err) == 0 &&
			encodings_equal(&enc, ref);
	test_cancel_hook = NULL;
	free(s);
	lm_encoding_free(&enc);
	return same ? cancel_calls : -1;
}

/* Cancel at call k: fails as cancelled (or, past the last check, succeeds as before). */
static bool
cancels_at(const LmHfTokenizer *tok, const char *text, size_t len, const LmEncoding *ref,
		   const char *ref_decoded, bool decode, long k, long n_checks)
{
	LmError		err;
	LmEncoding	enc = {0};
	char	   *s = NULL;
	bool		stopped;
	bool		ok;

	test_error_init(&err);
	cancel_arm(k);
	if (decode)
	{
		s = lm_hf_tokenizer_decode(tok, ref->ids, ref->n, false, &err);
		stopped = s == NULL;
		ok = stopped ? err.code == LM_ERR_CANCELLED : strcmp(s, ref_decoded) == 0;
	}
	else
	{
		stopped = lm_hf_tokenizer_encode(tok, text, len, true, 0, &enc, &err) != 0;
		ok = stopped ? err.code == LM_ERR_CANCELLED && encoding_is_zero(&enc) :
			encodings_equal(&enc, ref);
	}
	test_cancel_hook = NULL;
	free(s);
	lm_encoding_free(&enc);
	/* It stops at the k-th check, and asks no more after it. */
	if (k <= n_checks)
		ok = ok && stopped && cancel_calls == k;
	else
		ok = ok && !stopped;
	if (!ok)
		printf("#   %s cancelled at check %ld of %ld: %s (%ld calls)\n",
			   decode ? "decode" : "encode", k, n_checks, stopped ? err.message : "not stopped",
			   cancel_calls);
	return ok;
}

static void
test_cancel_suite(const Suite *suite, const char *text, size_t len)
{
	LmError		err;
	LmHfTokenizer *tok;
	LmEncoding	ref = {0};
	char	   *ref_decoded = NULL;

	test_error_init(&err);
	tok = load_fixture(suite->dir, &err);
	if (!CHECK(tok != NULL, "%s loads for cancellation", suite->name))
		return;
	if (CHECK(lm_hf_tokenizer_encode(tok, text, len, true, 0, &ref, &err) == 0 &&
			  (ref_decoded = lm_hf_tokenizer_decode(tok, ref.ids, ref.n, false, &err)) != NULL,
			  "%s encodes and decodes %zu bytes without a hook", suite->name, len))
	{
		for (int decode = 0; decode < 2; decode++)
		{
			long		n_checks = count_checks(tok, text, len, &ref, ref_decoded, decode);
			long		points[N_CANCEL_POINTS] = {1, 2, 10, 1000, n_checks, n_checks + 1};
			bool		ok = true;

			/* Many checks: each stage lets a cancel through more than once. */
			CHECK(n_checks >= 10, "%s %s: a hook that never cancels changes nothing (%ld checks)",
				  suite->name, decode ? "decode" : "encode", n_checks);
			for (int p = 0; p < N_CANCEL_POINTS && n_checks > 0; p++)
				ok = cancels_at(tok, text, len, &ref, ref_decoded, decode, points[p],
								n_checks) && ok;
			CHECK(ok && n_checks > 0, "%s %s stops with LM_ERR_CANCELLED at checks 1, 2, 10, "
				  "1000 and the last, leaving nothing", suite->name,
				  decode ? "decode" : "encode");
		}
	}
	free(ref_decoded);
	lm_encoding_free(&ref);
	lm_hf_tokenizer_free(tok);
}

static void
test_cancel(void)
{
	size_t		len;
	char	   *text = cancel_text(&len);

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		test_cancel_suite(&suites[i], text, len);
	free(text);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		run_suite(&suites[i]);
	test_gpt2_lookups_and_speed();
	test_pretokenizers();
	test_normalizers();
	test_models();
	test_added_tokens_and_post();
	test_decoders();
	test_bad_documents();
	test_bad_inputs();
	test_cancel();
	return test_done();
}
