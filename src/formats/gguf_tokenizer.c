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

/*
 * The pre-tokenizers of tokenizer.ggml.pre that pg_lm reads, as the
 * tokenizer.json of the models they come from has them (llama.cpp applies
 * the same regexes, rewritten for its own engine where it lacks a class).
 */
typedef enum PreTokenizer
{
	PRE_GPT2,					/* GPT-2's ByteLevel regex */
	PRE_LLAMA3,					/* Llama 3: digits in runs of up to 3 */
	PRE_QWEN2,					/* Qwen2/2.5/3: Llama 3's split with single digits */
	PRE_SMOLLM,					/* SmolLM: every digit alone, then GPT-2's */
	PRE_TEKKEN					/* Mistral's Tekken: words split at case changes */
} PreTokenizer;

static const struct
{
	const char *name;
	PreTokenizer pre;
}			pre_names[] = {
	{"default", PRE_GPT2}, {"gpt-2", PRE_GPT2}, {"llama-bpe", PRE_LLAMA3}, {"llama3", PRE_LLAMA3},
	{"qwen2", PRE_QWEN2}, {"smollm", PRE_SMOLLM}, {"tekken", PRE_TEKKEN},
};

/* A Split of the text by regex (its matches kept as pieces), then bytes. */
static json_t *
split_then_bytes(const char *regex)
{
	return json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, o]}", "type", "Sequence", "pretokenizers", "type", "Split",
					 "pattern", "Regex", regex, "behavior", "Isolated", "invert", 0, byte_level(false));
}

static json_t *
pre_tokenizer(PreTokenizer pre)
{
	switch (pre)
	{
		case PRE_LLAMA3:
			return split_then_bytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
									"\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
		case PRE_QWEN2:
			return split_then_bytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
									"\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
		case PRE_TEKKEN:
			return split_then_bytes("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
									"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|"
									"\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
		case PRE_SMOLLM:
			return json_pack("{s:s, s:[{s:s, s:b}, o]}", "type", "Sequence", "pretokenizers", "type", "Digits",
							 "individual_digits", 1, byte_level(true));
		default:
			return byte_level(true);
	}
}

/* BOS (and EOS) around a text when the metadata says to add them; else nothing. */
static json_t *
post_processor(const LmGguf *g, const LmGgufString *tokens, uint64_t n)
{
	const LmGgufKv *add_bos = lm_gguf_find(g, "tokenizer.ggml.add_bos_token");
	const LmGgufKv *add_eos = lm_gguf_find(g, "tokenizer.ggml.add_eos_token");
	int64_t		bos = -1,
				eos = -1;
	json_t	   *single,
			   *pair,
			   *specials;
	bool		with_bos,
				with_eos;

	(void) lm_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &bos);
	(void) lm_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos);
	with_bos = add_bos && add_bos->value.type == LM_GGUF_BOOL && add_bos->value.u && bos >= 0 && (uint64_t) bos < n;
	with_eos = add_eos && add_eos->value.type == LM_GGUF_BOOL && add_eos->value.u && eos >= 0 && (uint64_t) eos < n;
	if (!with_bos && !with_eos)
		return byte_level(true);
	single = json_array();
	pair = json_array();
	specials = json_pack("{}");
	for (int part = 0; part < 2; part++)
	{
		json_t	   *seq = part == 0 ? single : pair;

		for (int text = 0; text <= part; text++)
		{
			if (with_bos)
				json_array_append_new(seq, json_pack("{s:{s:s%, s:i}}", "SpecialToken", "id", tokens[bos].s,
													 (size_t) tokens[bos].len, "type_id", text));
			json_array_append_new(seq, json_pack("{s:{s:s, s:i}}", "Sequence", "id", text ? "B" : "A",
												 "type_id", text));
			if (with_eos)
				json_array_append_new(seq, json_pack("{s:{s:s%, s:i}}", "SpecialToken", "id", tokens[eos].s,
													 (size_t) tokens[eos].len, "type_id", text));
		}
	}
	for (int k = 0; k < 2; k++)
	{
		int64_t		id = k == 0 ? bos : eos;

		if (k == 0 ? with_bos : with_eos)
		{
			char	   *key = strndup(tokens[id].s, tokens[id].len);

			if (key != NULL)
				json_object_set_new(specials, key,
									json_pack("{s:s%, s:[I], s:[s%]}", "id", tokens[id].s, (size_t) tokens[id].len,
											  "ids", (json_int_t) id, "tokens", tokens[id].s, (size_t) tokens[id].len));
			free(key);
		}
	}
	return json_pack("{s:s, s:o, s:o, s:o}", "type", "TemplateProcessing", "single", single, "pair", pair,
					 "special_tokens", specials);
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
	PreTokenizer pre_kind = PRE_GPT2;
	bool		known = pre == NULL;

	if (merges == NULL)
		return NULL;
	for (size_t i = 0; pre != NULL && i < sizeof(pre_names) / sizeof(pre_names[0]); i++)
		if (is(pre, pre_names[i].name))
		{
			pre_kind = pre_names[i].pre;
			known = true;
		}
	if (!known)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF pre-tokenizer \"%.*s\" is not supported yet", (int) (pre->len > 60 ? 60 : pre->len),
				pre->s);
		lm_hint(err, "pg_lm reads byte-level BPE vocabularies with the pre-tokenizers gpt-2, llama-bpe (Llama 3), "
				"qwen2, smollm and tekken so far.");
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
					"added_tokens", added, "normalizer", "pre_tokenizer", pre_tokenizer(pre_kind), "post_processor",
					post_processor(g, token_strings, tokens->arr.n), "decoder", "model",
					json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:O, s:O}", "type", "BPE", "dropout",
							  "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
							  "byte_fallback", 0, "ignore_merges", pre_kind == PRE_LLAMA3 || pre_kind == PRE_TEKKEN, "vocab", vocab, "merges", pairs));
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
	if (is(model, "llama"))
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF tokenizer model \"llama\" is SentencePiece's: read it with lm_gguf_spm_model");
		return NULL;
	}
	lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF tokenizer model \"%.*s\" is not supported yet",
			(int) (model->len > 60 ? 60 : model->len), model->s);
	lm_hint(err, "pg_lm reads byte-level BPE (\"gpt2\") vocabularies from GGUF so far.");
	return NULL;
}

/* ---- SentencePiece: a ModelProto written from the metadata ---------------------- */

bool
lm_gguf_tokenizer_is_spm(const LmGguf *g)
{
	return is(lm_gguf_get_string(g, "tokenizer.ggml.model"), "llama");
}

typedef struct Proto
{
	uint8_t    *b;
	size_t		len;
	size_t		cap;
	bool		failed;
	LmError    *err;
} Proto;

static void
put_bytes(Proto *p, const void *data, size_t n)
{
	if (p->failed)
		return;
	if (p->len + n > p->cap)
	{
		size_t		cap = (p->len + n) * 2 + 64;
		uint8_t    *b = lm_realloc(p->b, cap, p->err);

		if (b == NULL)
		{
			p->failed = true;
			return;
		}
		p->b = b;
		p->cap = cap;
	}
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static void
put_varint(Proto *p, uint64_t v)
{
	uint8_t		buf[10];
	int			n = 0;

	do
	{
		buf[n] = (uint8_t) (v & 0x7f);
		v >>= 7;
		if (v)
			buf[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(p, buf, n);
}

static void
put_key(Proto *p, int field, int wire)
{
	put_varint(p, (uint64_t) field << 3 | wire);
}

static void
put_len(Proto *p, int field, const void *data, size_t n)
{
	put_key(p, field, 2);
	put_varint(p, n);
	put_bytes(p, data, n);
}

static void
put_bool(Proto *p, int field, bool v)
{
	put_key(p, field, 0);
	put_varint(p, v);
}

/* A metadata flag, or its default. */
static bool
flag(const LmGguf *g, const char *key, bool dflt)
{
	const LmGgufKv *kv = lm_gguf_find(g, key);

	return kv != NULL && kv->value.type == LM_GGUF_BOOL ? kv->value.u != 0 : dflt;
}

uint8_t *
lm_gguf_spm_model(const LmGguf *g, size_t *len, LmError *err)
{
	const LmGgufValue *tokens = string_array(g, "tokenizer.ggml.tokens", err);
	const LmGgufKv *scores = lm_gguf_find(g, "tokenizer.ggml.scores");
	LmGgufString *strings;
	Proto		out = {NULL, 0, 0, false, err},
				piece = {NULL, 0, 0, false, err},
				spec = {NULL, 0, 0, false, err};
	bool		has_bytes = false;

	if (tokens == NULL)
		return NULL;
	if (scores == NULL || scores->value.type != LM_GGUF_ARRAY || scores->value.arr.type != LM_GGUF_FLOAT32 ||
		scores->value.arr.n != tokens->arr.n)
	{
		lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata lacks tokenizer.ggml.scores (a float for each token)");
		return NULL;
	}
	if ((strings = lm_gguf_array_strings(tokens, err)) == NULL)
		return NULL;
	for (uint64_t i = 0; i < tokens->arr.n && !out.failed; i++)
	{
		int			type = token_type(g, i);

		/* sentencepiece's piece types are llama.cpp's token types (1 normal … 6 byte) */
		if (type < 1 || type > 6)
			type = TOKEN_NORMAL;
		has_bytes |= type == 6;
		piece.len = 0;
		put_len(&piece, 1, strings[i].s, strings[i].len);
		put_key(&piece, 2, 5);
		put_bytes(&piece, scores->value.arr.data + 4 * i, 4);	/* little-endian float, as protobuf */
		put_key(&piece, 3, 0);
		put_varint(&piece, (uint64_t) type);
		put_len(&out, 1, piece.b, piece.len);
	}
	/* TrainerSpec: BPE, byte fallback when there are byte pieces */
	put_key(&spec, 3, 0);
	put_varint(&spec, 2);
	put_bool(&spec, 35, has_bytes);
	put_len(&out, 2, spec.b, spec.len);
	/* NormalizerSpec: identity, a dummy prefix and whitespace as llama.cpp reads them */
	spec.len = 0;
	put_len(&spec, 1, "identity", 8);
	put_bool(&spec, 3, flag(g, "tokenizer.ggml.add_space_prefix", true));
	put_bool(&spec, 4, flag(g, "tokenizer.ggml.remove_extra_whitespaces", false));
	put_bool(&spec, 5, true);
	put_len(&out, 3, spec.b, spec.len);
	free(strings);
	free(piece.b);
	free(spec.b);
	if (out.failed)
	{
		free(out.b);
		return NULL;
	}
	*len = out.len;
	return out.b;
}
