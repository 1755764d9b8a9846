/*
 * gguf_tokenizer.c — GGUF vocabularies as tokenizer.json (see gguf_tokenizer.h).
 */
#include "formats/gguf_tokenizer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's token types (tokenizer.ggml.token_type) */
#define TOKEN_NORMAL 1
#define TOKEN_CONTROL 3
#define TOKEN_USER_DEFINED 4

bool
lm_gguf_has_tokenizer(const LmGguf *g)
{
	return lm_gguf_get_string(g, "tokenizer.ggml.model") != NULL;
}

static bool
is(const LmGgufString *s, const char *what)
{
	return s != NULL && s->len == strlen(what) && memcmp(s->s, what, s->len) == 0;
}

/* An array of strings under key, or NULL with err. */
static const LmGgufValue *
string_array(const LmGguf *g, const char *key, LmError *err)
{
	const LmGgufKv *kv = lm_gguf_find(g, key);

	if (kv == NULL || kv->value.type != LM_GGUF_ARRAY || kv->value.arr.type != LM_GGUF_STRING)
	{
		lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata lacks %s (an array of strings)", key);
		return NULL;
	}
	return &kv->value;
}

static int
token_type(const LmGguf *g, uint64_t i)
{
	const LmGgufKv *kv = lm_gguf_find(g, "tokenizer.ggml.token_type");
	int32_t		t;

	if (kv == NULL || kv->value.type != LM_GGUF_ARRAY || kv->value.arr.type != LM_GGUF_INT32 ||
		i >= kv->value.arr.n)
		return TOKEN_NORMAL;
	memcpy(&t, kv->value.arr.data + 4 * i, 4);
	return t;
}

static json_t *
byte_level(bool use_regex)
{
	return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
					 "use_regex", use_regex);
}

static char *
gpt2_bpe(const LmGguf *g, LmError *err)
{
	const LmGgufString *pre = lm_gguf_get_string(g, "tokenizer.ggml.pre");
	const LmGgufValue *tokens = string_array(g, "tokenizer.ggml.tokens", err);
	const LmGgufValue *merges = tokens ? string_array(g, "tokenizer.ggml.merges", err) : NULL;
	json_t	   *vocab,
			   *pairs,
			   *added,
			   *doc;
	char	   *out = NULL;
	LmGgufString *token_strings,
			   *merge_strings = NULL;

	if (merges == NULL)
		return NULL;
	if (pre != NULL && !is(pre, "gpt-2") && !is(pre, "default"))
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF pre-tokenizer \"%.*s\" is not supported yet", (int) (pre->len > 60 ? 60 : pre->len),
				pre->s);
		lm_hint(err, "pg_lm reads byte-level BPE vocabularies with the gpt-2 pre-tokenizer so far.");
		return NULL;
	}
	token_strings = lm_gguf_array_strings(tokens, err);
	merge_strings = token_strings ? lm_gguf_array_strings(merges, err) : NULL;
	if (merge_strings == NULL)
	{
		free(token_strings);
		return NULL;
	}
	vocab = json_pack("{}");	/* not json_object(): a PostgreSQL function has that name */
	pairs = json_array();
	added = json_array();
	for (uint64_t i = 0; i < tokens->arr.n; i++)
	{
		LmGgufString s = token_strings[i];
		json_t	   *tok = json_stringn(s.s, s.len);
		int			type = token_type(g, i);

		if (tok == NULL)
		{
			lm_fail(err, LM_ERR_CORRUPT, "GGUF token %llu is not valid UTF-8", (unsigned long long) i);
			goto done;
		}
		json_object_set_new(vocab, json_string_value(tok), json_integer((json_int_t) i));
		if (type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED)
			json_array_append_new(added, json_pack("{s:I, s:O, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t) i,
												   "content", tok, "single_word", 0, "lstrip", 0, "rstrip", 0,
												   "normalized", type == TOKEN_USER_DEFINED,
												   "special", type == TOKEN_CONTROL));
		json_decref(tok);
	}
	for (uint64_t i = 0; i < merges->arr.n; i++)
	{
		LmGgufString s = merge_strings[i];
		const char *space = memchr(s.s, ' ', s.len);
		json_t	   *a,
				   *b;

		if (space == NULL)
		{
			lm_fail(err, LM_ERR_CORRUPT, "GGUF merge %llu has no space between its two parts", (unsigned long long) i);
			goto done;
		}
		a = json_stringn(s.s, space - s.s);
		b = json_stringn(space + 1, s.len - (space - s.s) - 1);
		if (a == NULL || b == NULL)
		{
			json_decref(a);
			json_decref(b);
			lm_fail(err, LM_ERR_CORRUPT, "GGUF merge %llu is not valid UTF-8", (unsigned long long) i);
			goto done;
		}
		json_array_append_new(pairs, json_pack("[o, o]", a, b));
	}
	doc = json_pack("{s:s, s:n, s:n, s:O, s:n, s:o, s:o, s:n, s:o}", "version", "1.0", "truncation", "padding",
					"added_tokens", added, "normalizer", "pre_tokenizer", byte_level(true), "post_processor",
					byte_level(true), "decoder", "model",
					json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:O, s:O}", "type", "BPE", "dropout",
							  "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
							  "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", pairs));
	if (doc != NULL)
	{
		json_object_set_new(doc, "decoder", byte_level(true));
		out = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
	if (out == NULL)
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory writing the GGUF tokenizer");
done:
	free(token_strings);
	free(merge_strings);
	json_decref(vocab);
	json_decref(pairs);
	json_decref(added);
	return out;
}

char *
lm_gguf_tokenizer_json(const LmGguf *g, LmError *err)
{
	const LmGgufString *model = lm_gguf_get_string(g, "tokenizer.ggml.model");

	if (model == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata has no tokenizer (tokenizer.ggml.model)");
		return NULL;
	}
	if (is(model, "gpt2"))
		return gpt2_bpe(g, err);
	lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF tokenizer model \"%.*s\" is not supported yet",
			(int) (model->len > 60 ? 60 : model->len), model->s);
	lm_hint(err, "pg_lm reads byte-level BPE (\"gpt2\") vocabularies from GGUF so far.");
	return NULL;
}
