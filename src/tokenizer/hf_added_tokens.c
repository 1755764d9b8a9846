/*
 * hf_added_tokens.c — tokenizer.json's "added_tokens": the tokens matched
 * in the text before the model sees it.
 *
 * As in the tokenizers library, tokens with normalized = false are matched
 * on the raw text, the others on the normalized text (their own content
 * normalized); matching is leftmost-longest over a byte trie, then
 * single_word drops matches inside words and lstrip/rstrip widen a match
 * over the whitespace beside it.  Ids follow the library's rule: a content
 * the model knows keeps the model's id, a new one takes the next free id.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf_intmap.h"
#include "util/strmap.h"
#include "util/utf8.h"

#define WHAT "added token"
#define TRIE_ROOT 0
#define TRIE_EDGE(node, byte) (((uint64_t) (node) << 8) | (uint8_t) (byte))

typedef struct AddedToken
{
	char	   *content;
	size_t		len;
	int32_t		id;
	bool		single_word;
	bool		lstrip;
	bool		rstrip;
	bool		normalized;
	bool		special;
} AddedToken;

/* A byte trie of the patterns: node -> index of the token ending there. */
typedef struct Matcher
{
	HfIntMap	edges;
	int32_t    *node_token;
	size_t		n_nodes;
	size_t		cap;
} Matcher;

struct HfAddedVocab
{
	AddedToken *tokens;
	size_t		n;
	LmStrMap   *by_content;		/* content -> index in tokens */
	HfIntMap	by_id;			/* id -> index in tokens */
	LmStrMap   *special;		/* contents of the special tokens */
	Matcher		raw;			/* normalized = false */
	Matcher		normalized;		/* normalized = true, on normalized content */
	int32_t		id_limit;		/* one past the largest id of an added token */
};

static void
matcher_free(Matcher *m)
{
	hf_intmap_free(&m->edges);
	free(m->node_token);
	memset(m, 0, sizeof(*m));
}

static int32_t
matcher_new_node(Matcher *m, LmError *err)
{
	if (m->n_nodes == m->cap)
	{
		size_t		cap = m->cap ? m->cap * 2 : 64;
		int32_t    *nodes = lm_realloc(m->node_token, cap * sizeof(int32_t), err);

		if (nodes == NULL)
			return -1;
		m->node_token = nodes;
		m->cap = cap;
	}
	m->node_token[m->n_nodes] = -1;
	return (int32_t) m->n_nodes++;
}

static int
matcher_init(Matcher *m, LmError *err)
{
	memset(m, 0, sizeof(*m));
	if (hf_intmap_init(&m->edges, 64, err) != 0)
		return -1;
	return matcher_new_node(m, err) == TRIE_ROOT ? 0 : -1;
}

/* The first pattern inserted wins over a later identical one. */
static int
matcher_add(Matcher *m, const char *pattern, size_t len, int32_t token, LmError *err)
{
	int32_t		node = TRIE_ROOT;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
	{
		uint64_t	child;

		if (!hf_intmap_get(&m->edges, TRIE_EDGE(node, pattern[i]), &child))
		{
			int32_t		fresh = matcher_new_node(m, err);

			if (fresh < 0 ||
				hf_intmap_put(&m->edges, TRIE_EDGE(node, pattern[i]), (uint64_t) fresh, err) != 0)
				return -1;
			child = (uint64_t) fresh;
		}
		node = (int32_t) child;
	}
	if (m->node_token[node] < 0)
		m->node_token[node] = token;
	return 0;
}

/* The longest pattern starting at text[0]: its length, or 0. */
static size_t
matcher_longest(const Matcher *m, const char *text, size_t len, int32_t *token)
{
	int32_t		node = TRIE_ROOT;
	size_t		best = 0;

	for (size_t i = 0; i < len; i++)
	{
		uint64_t	child;

		if (!hf_intmap_get(&m->edges, TRIE_EDGE(node, text[i]), &child))
			break;
		node = (int32_t) child;
		if (m->node_token[node] >= 0)
		{
			best = i + 1;
			*token = m->node_token[node];
		}
	}
	return best;
}

void
hf_added_vocab_free(HfAddedVocab *added)
{
	if (added == NULL)
		return;
	for (size_t i = 0; i < added->n; i++)
		free(added->tokens[i].content);
	free(added->tokens);
	lm_strmap_free(added->by_content);
	lm_strmap_free(added->special);
	hf_intmap_free(&added->by_id);
	matcher_free(&added->raw);
	matcher_free(&added->normalized);
	free(added);
}

static int
parse_entry(const json_t *entry, size_t index, AddedToken *tok, int64_t *json_id,
			LmError *err)
{
	const char *content;
	size_t		len;

	memset(tok, 0, sizeof(*tok));
	if (!json_is_object(entry))
		return lm_fail(err, LM_ERR_CORRUPT, "added_tokens[%zu] must be an object", index);
	if (hf_json_string(entry, "content", true, &content, &len, WHAT, err) != 0 ||
		hf_json_int(entry, "id", -1, json_id, WHAT, err) != 0 ||
		hf_json_bool(entry, "special", false, &tok->special, WHAT, err) != 0 ||
		hf_json_bool(entry, "single_word", false, &tok->single_word, WHAT, err) != 0 ||
		hf_json_bool(entry, "lstrip", false, &tok->lstrip, WHAT, err) != 0 ||
		hf_json_bool(entry, "rstrip", false, &tok->rstrip, WHAT, err) != 0 ||
		hf_json_bool(entry, "normalized", !tok->special, &tok->normalized, WHAT, err) != 0)
		return -1;
	if (*json_id < 0 || *json_id >= INT32_MAX)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "added token \"%s\" has no id from 0 to %d", content, INT32_MAX - 1);
	tok->content = lm_strndup(content, len, err);
	tok->len = len;
	return tok->content ? 0 : -1;
}

/* The library's next id for a new token. */
static int32_t
next_free_id(const HfAddedVocab *added, const HfModel *model)
{
	int32_t		model_size = hf_model_vocab_count(model);
	int32_t		max_id = added->id_limit - 1;

	if (max_id < 0)
		return model_size;
	if (max_id >= model_size || model_size == 0)
		return max_id + 1;
	return model_size;
}

static int
add_token(HfAddedVocab *added, AddedToken *tok, int64_t json_id, const HfModel *model,
		  LmError *err)
{
	int32_t		index;
	int32_t		id;

	if (lm_strmap_get(added->by_content, tok->content, tok->len, &index))
	{
		/* The same content again: its options change, its id does not. */
		AddedToken *old = &added->tokens[index];

		if (json_id != old->id)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "added token \"%s\" appears with ids %d and %lld",
						   tok->content, old->id, (long long) json_id);
		tok->special = tok->special || old->special;
		free(old->content);
		tok->id = old->id;
		*old = *tok;
		tok->content = NULL;
		return 0;
	}
	if (!hf_model_token_to_id(model, tok->content, tok->len, &id))
		id = next_free_id(added, model);
	if (id != json_id)
	{
		lm_fail(err, LM_ERR_CORRUPT,
				"added token \"%s\" has id %lld, but the vocabulary gives it id %d",
				tok->content, (long long) json_id, id);
		lm_hint(err, "Ids of added tokens must follow the model's vocabulary without gaps.");
		return -1;
	}
	tok->id = id;
	index = (int32_t) added->n;
	if (lm_strmap_put(added->by_content, tok->content, tok->len, index, NULL, err) != 0 ||
		hf_intmap_put(&added->by_id, (uint64_t) id, (uint64_t) index, err) != 0)
		return -1;
	added->tokens[added->n++] = *tok;
	tok->content = NULL;
	if (id >= added->id_limit)
		added->id_limit = id + 1;
	return 0;
}

/* Build both tries: special tokens first, then the others, in file order. */
static int
build_matchers(HfAddedVocab *added, const HfNormalizer *norm, LmError *err)
{
	HfBuf		pattern = {0};
	int			rc = 0;

	if (matcher_init(&added->raw, err) != 0 || matcher_init(&added->normalized, err) != 0)
		return -1;
	for (int pass = 0; pass < 2 && rc == 0; pass++)
	{
		for (size_t i = 0; i < added->n && rc == 0; i++)
		{
			const AddedToken *tok = &added->tokens[i];

			if (tok->special != (pass == 0))
				continue;
			if (!tok->normalized)
			{
				rc = matcher_add(&added->raw, tok->content, tok->len, (int32_t) i, err);
				continue;
			}
			if (norm)
				rc = hf_normalizer_apply(norm, tok->content, tok->len, &pattern, err);
			else
			{
				hf_buf_clear(&pattern);
				rc = hf_buf_append(&pattern, tok->content, tok->len, err);
			}
			if (rc == 0)
				rc = matcher_add(&added->normalized, pattern.data, pattern.len, (int32_t) i,
								 err);
		}
	}
	hf_buf_free(&pattern);
	return rc;
}

HfAddedVocab *
hf_added_vocab_parse(const json_t *json, const HfModel *model, const HfNormalizer *norm,
					 LmError *err)
{
	HfAddedVocab *added = lm_calloc(1, sizeof(HfAddedVocab), err);
	size_t		n = json_is_array(json) ? json_array_size(json) : 0;

	if (added == NULL)
		return NULL;
	if (json != NULL && !json_is_null(json) && !json_is_array(json))
	{
		lm_fail(err, LM_ERR_CORRUPT, "field \"added_tokens\" must be an array");
		goto fail;
	}
	added->tokens = lm_calloc(n, sizeof(AddedToken), err);
	added->by_content = lm_strmap_new(n, err);
	added->special = lm_strmap_new(n, err);
	if (added->tokens == NULL || added->by_content == NULL || added->special == NULL ||
		hf_intmap_init(&added->by_id, n, err) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
	{
		AddedToken	tok = {0};
		int64_t		json_id;
		int			rc;

		if (lm_check_cancel(err) != 0 ||
			parse_entry(json_array_get(json, i), i, &tok, &json_id, err) != 0)
		{
			free(tok.content);
			goto fail;
		}
		if (tok.len == 0)
		{
			free(tok.content);	/* the library ignores empty tokens */
			continue;
		}
		if (tok.special &&
			lm_strmap_put(added->special, tok.content, tok.len, 1, NULL, err) != 0)
		{
			free(tok.content);
			goto fail;
		}
		rc = add_token(added, &tok, json_id, model, err);
		free(tok.content);
		if (rc != 0)
			goto fail;
	}
	if (build_matchers(added, norm, err) != 0)
		goto fail;
	return added;

fail:
	hf_added_vocab_free(added);
	return NULL;
}

int32_t
hf_added_vocab_id_limit(const HfAddedVocab *added)
{
	return added->id_limit;
}

const char *
hf_added_vocab_id_to_token(const HfAddedVocab *added, int32_t id, size_t *len)
{
	uint64_t	index;

	if (id < 0 || !hf_intmap_get(&added->by_id, (uint64_t) id, &index))
		return NULL;
	if (len)
		*len = added->tokens[index].len;
	return added->tokens[index].content;
}

bool
hf_added_vocab_token_to_id(const HfAddedVocab *added, const char *token, size_t len,
						   int32_t *id)
{
	int32_t		index;

	if (!lm_strmap_get(added->by_content, token, len, &index))
		return false;
	*id = added->tokens[index].id;
	return true;
}

bool
hf_added_vocab_is_special(const HfAddedVocab *added, const char *token, size_t len)
{
	return lm_strmap_get(added->special, token, len, NULL);
}

/* ---- splitting text around added tokens ---------------------------------------- */

static int
splits_push(HfAddedSplits *splits, size_t start, size_t end, int32_t id, LmError *err)
{
	if (splits->n == splits->cap)
	{
		size_t		cap = splits->cap ? splits->cap * 2 : 16;
		HfAddedSplit *items = lm_realloc(splits->items, cap * sizeof(HfAddedSplit), err);

		if (items == NULL)
			return -1;
		splits->items = items;
		splits->cap = cap;
	}
	splits->items[splits->n++] = (HfAddedSplit) {start, end, id};
	return 0;
}

void
hf_added_splits_free(HfAddedSplits *splits)
{
	free(splits->items);
	memset(splits, 0, sizeof(*splits));
}

static bool
first_char_is_word(const char *text, size_t len)
{
	int32_t		cp;

	return len > 0 && lm_utf8_next(text, len, &cp) > 0 && hf_is_word_char(cp);
}

static bool
last_char_is_word(const char *text, size_t len)
{
	int32_t		cp;
	size_t		n;

	if (len == 0)
		return false;
	n = lm_utf8_last_len(text, len);
	return lm_utf8_next(text + len - n, n, &cp) > 0 && hf_is_word_char(cp);
}

/* Where the whitespace that ends text[0..len) begins, in *start. */
static int
trailing_space_start(const char *text, size_t len, size_t *start, LmError *err)
{
	size_t		work = 0;

	while (len > 0)
	{
		size_t		n = lm_utf8_last_len(text, len);
		int32_t		cp;

		if (lm_utf8_next(text + len - n, n, &cp) < 0 || !hf_is_whitespace(cp))
			break;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		len -= n;
	}
	*start = len;
	return 0;
}

/* How many bytes of whitespace start text, in *space_len. */
static int
leading_space_len(const char *text, size_t len, size_t *space_len, LmError *err)
{
	size_t		i = 0;
	size_t		work = 0;

	while (i < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(text + i, len - i, &cp);

		if (n < 0 || !hf_is_whitespace(cp))
			break;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		i += n;
	}
	*space_len = i;
	return 0;
}

int
hf_added_vocab_split(const HfAddedVocab *added, bool normalized_tokens, const char *text,
					 size_t len, HfAddedSplits *out, LmError *err)
{
	const Matcher *m = normalized_tokens ? &added->normalized : &added->raw;
	size_t		pos = 0;
	size_t		done = 0;		/* text before this is already split */
	size_t		work = 0;

	out->n = 0;
	/* No tokens of this kind: the text is one ordinary split. */
	if (m->n_nodes <= 1)
		return len > 0 ? splits_push(out, 0, len, -1, err) : 0;
	while (pos < len)
	{
		int32_t		index = -1;
		size_t		match_len = matcher_longest(m, text + pos, len - pos, &index);
		const AddedToken *tok;
		size_t		start,
					stop;

		if (tok_cancel_step(&work, match_len + 1, err) != 0)
			return -1;
		if (match_len == 0)
		{
			pos++;
			continue;
		}
		tok = &added->tokens[index];
		start = pos;
		stop = pos + match_len;
		pos = stop;				/* the next match starts after this one */
		if (tok->single_word &&
			((start > 0 && last_char_is_word(text, start)) ||
			 (stop < len && first_char_is_word(text + stop, len - stop))))
			continue;
		/* Whitespace before done belongs to the previous split: stop there. */
		if (tok->lstrip)
		{
			size_t		space_start;

			if (trailing_space_start(text + done, start - done, &space_start, err) != 0)
				return -1;
			start = done + space_start;
		}
		if (tok->rstrip)
		{
			size_t		space_len;

			if (leading_space_len(text + stop, len - stop, &space_len, err) != 0)
				return -1;
			stop += space_len;
		}
		if (start < done)
			start = done;
		if (start > done && splits_push(out, done, start, -1, err) != 0)
			return -1;
		if (splits_push(out, start, stop, tok->id, err) != 0)
			return -1;
		done = stop;
		if (pos < done)
			pos = done;
	}
	if (done < len && splits_push(out, done, len, -1, err) != 0)
		return -1;
	return 0;
}
