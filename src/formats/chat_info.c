/*
 * chat_info.c — chat templates and special tokens' strings from
 * tokenizer_config.json, special_tokens_map.json, chat_template.json and
 * GGUF metadata (see chat_info.h).
 */
#include "formats/chat_info.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

/* The special tokens transformers hands a template, in its order (SPECIAL_TOKENS_ATTRIBUTES). */
static const char *const special_names[] = {
	"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"
};

#define N_SPECIAL (sizeof(special_names) / sizeof(special_names[0]))

/*
 * An empty object.  Not json_object(): in a backend that name resolves to
 * PostgreSQL's SQL function json_object, which the postgres binary exports.
 */
static json_t *
new_object(void)
{
	return json_pack("{}");
}

void
lm_chat_info_free(LmChatInfo *info)
{
	free(info->template);
	free(info->templates);
	free(info->special_tokens);
	memset(info, 0, sizeof(*info));
}

int
lm_chat_template_check(const char *template, size_t len, const char *what, LmError *err)
{
	size_t		bad;

	if (memchr(template, '\0', len) != NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: the chat template holds a NUL character", what);
	if (!lm_utf8_valid(template, len, &bad))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: the chat template is not valid UTF-8 (byte %zu)", what, bad);
	return 0;
}

static json_t *
load_object(const char *text, size_t len, const char *what, LmError *err)
{
	json_error_t jerr;
	/* model_max_length is often 1e30 written as an integer */
	json_t	   *doc = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &jerr);

	if (doc == NULL || !json_is_object(doc))
	{
		json_decref(doc);
		lm_fail(err, LM_ERR_CORRUPT, "%s is not a JSON object%s%s", what, doc == NULL ? ": " : "",
				doc == NULL ? jerr.text : "");
		return NULL;
	}
	return doc;
}

/* A malloc'd copy of a JSON string value (NUL bytes refused). */
static int
copy_template(const json_t *v, const char *what, char **out, LmError *err)
{
	const char *s = json_string_value(v);
	size_t		len = json_string_length(v);

	if (lm_chat_template_check(s, len, what, err) != 0)
		return -1;
	return (*out = lm_strndup(s, len, err)) == NULL ? -1 : 0;
}

/* A special token's string: the value itself, or an AddedToken's "content". */
static const json_t *
token_string(const json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "content");
	return json_is_string(v) ? v : NULL;
}

/* "chat_template": a string, a list of {"name", "template"}, or an object of name → template. */
static int
read_templates(const json_t *ct, LmChatInfo *out, LmError *err)
{
	const char *what = "tokenizer_config.json";
	json_t	   *named;
	size_t		i;
	json_t	   *e;
	const char *name;
	int			rc = -1;

	if (ct == NULL || json_is_null(ct))
		return 0;
	if (json_is_string(ct))
		return copy_template(ct, what, &out->template, err);
	if (!json_is_array(ct) && !json_is_object(ct))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: \"chat_template\" is neither a string nor a list of named templates",
					   what);
	if ((named = new_object()) == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
	if (json_is_array(ct))
	{
		json_array_foreach(ct, i, e)
		{
			const json_t *n = json_object_get(e, "name");
			const json_t *t = json_object_get(e, "template");

			if (!json_is_string(n) || !json_is_string(t))
			{
				lm_fail(err, LM_ERR_CORRUPT, "%s: each named chat template needs string fields \"name\" and \"template\"",
						what);
				goto done;
			}
			if (json_object_set(named, json_string_value(n), (json_t *) t) != 0)
				goto nomem;
		}
	}
	else
	{
		json_object_foreach((json_t *) ct, name, e)
		{
			if (!json_is_string(e))
			{
				lm_fail(err, LM_ERR_CORRUPT, "%s: chat template \"%s\" is not a string", what, name);
				goto done;
			}
		}
		if (json_object_update(named, (json_t *) ct) != 0)
			goto nomem;
	}
	json_object_foreach(named, name, e)
	{
		if (lm_chat_template_check(json_string_value(e), json_string_length(e), what, err) != 0)
			goto done;
	}
	if ((e = json_object_get(named, "default")) != NULL)
	{
		if (copy_template(e, what, &out->template, err) != 0)
			goto done;
		json_object_del(named, "default");
	}
	if (json_object_size(named) > 0 &&
		(out->templates = json_dumps(named, 0)) == NULL)
		goto nomem;
	rc = 0;
	goto done;
nomem:
	lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
done:
	json_decref(named);
	return rc;
}

/* {"bos_token": ..., ...} from the documents' special tokens (later documents win); NULL for none. */
static int
special_tokens_json(const json_t *const *docs, int n_docs, char **out, LmError *err)
{
	json_t	   *tokens = new_object();

	*out = NULL;
	if (tokens == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
	for (size_t k = 0; k < N_SPECIAL; k++)
		for (int d = 0; d < n_docs; d++)
		{
			const json_t *v = docs[d] ? token_string(json_object_get(docs[d], special_names[k])) : NULL;

			if (v != NULL && json_object_set(tokens, special_names[k], (json_t *) v) != 0)
			{
				json_decref(tokens);
				return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
			}
		}
	if (json_object_size(tokens) > 0 && (*out = json_dumps(tokens, 0)) == NULL)
	{
		json_decref(tokens);
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
	}
	json_decref(tokens);
	return 0;
}

int
lm_hf_chat_info(const char *tokenizer_config, size_t len, const char *special_tokens_map,
				size_t map_len, LmChatInfo *out, LmError *err)
{
	json_t	   *docs[2] = {NULL, NULL};
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	if (tokenizer_config != NULL &&
		(docs[0] = load_object(tokenizer_config, len, "tokenizer_config.json", err)) == NULL)
		return -1;
	if (special_tokens_map != NULL &&
		(docs[1] = load_object(special_tokens_map, map_len, "special_tokens_map.json", err)) == NULL)
		goto done;
	if ((docs[0] != NULL && read_templates(json_object_get(docs[0], "chat_template"), out, err) != 0) ||
		special_tokens_json((const json_t *const *) docs, 2, &out->special_tokens, err) != 0)
		goto done;
	rc = 0;
done:
	if (rc != 0)
		lm_chat_info_free(out);
	json_decref(docs[0]);
	json_decref(docs[1]);
	return rc;
}

char *
lm_hf_chat_template_json(const char *json, size_t len, LmError *err)
{
	json_t	   *doc = load_object(json, len, "chat_template.json", err);
	const json_t *t;
	char	   *out = NULL;

	if (doc == NULL)
		return NULL;
	t = json_object_get(doc, "chat_template");
	if (!json_is_string(t))
		lm_fail(err, LM_ERR_CORRUPT, "chat_template.json has no string \"chat_template\"");
	else
		(void) copy_template(t, "chat_template.json", &out, err);
	json_decref(doc);
	return out;
}

/* ---- GGUF ------------------------------------------------------------------ */

#define GGUF_TEMPLATE_KEY "tokenizer.chat_template"

/* The string of token id of the vocabulary, or NULL. */
static json_t *
gguf_token(const LmGguf *g, const char *key)
{
	const LmGgufKv *tokens = lm_gguf_find(g, "tokenizer.ggml.tokens");
	int64_t		id;
	LmGgufString s;

	if (tokens == NULL || tokens->value.type != LM_GGUF_ARRAY || tokens->value.arr.type != LM_GGUF_STRING ||
		!lm_gguf_get_int(g, key, &id) || id < 0 || (uint64_t) id >= tokens->value.arr.n)
		return NULL;
	s = lm_gguf_array_string(&tokens->value, (uint64_t) id);
	return json_stringn(s.s, s.len);	/* NULL for invalid UTF-8: left out */
}

int
lm_gguf_chat_info(const LmGguf *g, LmChatInfo *out, LmError *err)
{
	static const char *const id_keys[][2] = {
		{"bos_token", "tokenizer.ggml.bos_token_id"},
		{"eos_token", "tokenizer.ggml.eos_token_id"},
		{"unk_token", "tokenizer.ggml.unknown_token_id"},
		{"pad_token", "tokenizer.ggml.padding_token_id"},
	};
	json_t	   *tokens = new_object();
	json_t	   *named = new_object();
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	if (tokens == NULL || named == NULL)
		goto nomem;
	for (size_t i = 0; i < g->n_kv; i++)
	{
		const LmGgufKv *kv = &g->kv[i];
		const char *key = kv->key;

		if (strncmp(key, GGUF_TEMPLATE_KEY, strlen(GGUF_TEMPLATE_KEY)) != 0 ||
			kv->value.type != LM_GGUF_STRING)
			continue;
		key += strlen(GGUF_TEMPLATE_KEY);
		if (lm_chat_template_check(kv->value.str.s, kv->value.str.len, kv->key, err) != 0)
			goto done;
		if (*key == '\0')
		{
			if ((out->template = lm_strndup(kv->value.str.s, kv->value.str.len, err)) == NULL)
				goto done;
		}
		else if (*key == '.' && key[1] != '\0' &&
				 json_object_set_new(named, key + 1, json_stringn(kv->value.str.s, kv->value.str.len)) != 0)
			goto nomem;
	}
	for (size_t i = 0; i < sizeof(id_keys) / sizeof(id_keys[0]); i++)
	{
		json_t	   *s = gguf_token(g, id_keys[i][1]);

		if (s != NULL && json_object_set_new(tokens, id_keys[i][0], s) != 0)
			goto nomem;
	}
	if (json_object_size(named) > 0 && (out->templates = json_dumps(named, 0)) == NULL)
		goto nomem;
	if (json_object_size(tokens) > 0 && (out->special_tokens = json_dumps(tokens, 0)) == NULL)
		goto nomem;
	rc = 0;
	goto done;
nomem:
	lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
done:
	if (rc != 0)
		lm_chat_info_free(out);
	json_decref(tokens);
	json_decref(named);
	return rc;
}

char *
lm_chat_templates_set(const char *templates, const char *name, const char *text, size_t len,
					  const char *what, LmError *err)
{
	json_t	   *named = templates ? json_loads(templates, 0, NULL) : new_object();
	char	   *out = NULL;

	if (lm_chat_template_check(text, len, what, err) != 0)
		goto done;
	if (!json_is_object(named))
	{
		lm_fail(err, LM_ERR_INTERNAL, "named chat templates are not a JSON object");
		goto done;
	}
	if (json_object_set_new(named, name, json_stringn(text, len)) != 0 ||
		(out = json_dumps(named, 0)) == NULL)
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
done:
	json_decref(named);
	return out;
}
