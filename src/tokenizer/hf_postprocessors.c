/*
 * hf_postprocessors.c — tokenizer.json post-processors, applied when
 * encoding with add_special_tokens: TemplateProcessing (the "single"
 * template), BertProcessing ([CLS] A [SEP]), RobertaProcessing (<s> A </s>),
 * ByteLevel (offsets only: no change to ids) and Sequence.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

/* Tokens moved between two checks for a cancel (under a megabyte of copying). */
#define MOVE_SLICE 65536

typedef enum PostKind
{
	POST_TEMPLATE,
	POST_BERT,
	POST_ROBERTA,
	POST_BYTE_LEVEL,
	POST_SEQUENCE
} PostKind;

static const HfKindName postprocessor_names[] = {
	{"TemplateProcessing", POST_TEMPLATE},
	{"BertProcessing", POST_BERT},
	{"RobertaProcessing", POST_ROBERTA},
	{"ByteLevel", POST_BYTE_LEVEL},
	{"Sequence", POST_SEQUENCE},
};

/* One special token (or a run of them) the post-processor inserts. */
typedef struct SpecialPiece
{
	int32_t    *ids;
	char	  **tokens;
	size_t		n;
} SpecialPiece;

/* One element of a template: the sequence itself, or special tokens. */
typedef struct TemplateItem
{
	bool		is_sequence;
	SpecialPiece special;
} TemplateItem;

struct HfPostProcessor
{
	PostKind	kind;
	TemplateItem *items;		/* TemplateProcessing; Bert/Roberta: [cls, A, sep] */
	size_t		n_items;
	HfPostProcessor **children;
	size_t		n_children;
};

static void
special_free(SpecialPiece *sp)
{
	for (size_t i = 0; i < sp->n; i++)
		free(sp->tokens[i]);
	free(sp->tokens);
	free(sp->ids);
	memset(sp, 0, sizeof(*sp));
}

void
hf_postprocessor_free(HfPostProcessor *post)
{
	if (post == NULL)
		return;
	for (size_t i = 0; i < post->n_items; i++)
		special_free(&post->items[i].special);
	free(post->items);
	for (size_t i = 0; i < post->n_children; i++)
		hf_postprocessor_free(post->children[i]);
	free(post->children);
	free(post);
}

static int
special_alloc(SpecialPiece *sp, size_t n, LmError *err)
{
	sp->ids = lm_calloc(n, sizeof(int32_t), err);
	sp->tokens = lm_calloc(n, sizeof(char *), err);
	return sp->ids && sp->tokens ? 0 : -1;
}

/* Bert/Roberta's ["token", id]. */
static int
parse_token_pair(const json_t *json, const char *key, const char *what, SpecialPiece *sp,
				 LmError *err)
{
	const json_t *pair = json_object_get(json, key);
	const char *token;
	size_t		len;
	json_int_t	id;

	if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		(token = hf_json_str(json_array_get(pair, 0), &len)) == NULL ||
		!json_is_integer(json_array_get(pair, 1)) ||
		(id = json_integer_value(json_array_get(pair, 1))) < 0 || id >= INT32_MAX)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"%s\" must be [\"token\", id]", what,
					   key);
	if (special_alloc(sp, 1, err) != 0)
		return -1;
	sp->ids[0] = (int32_t) id;
	sp->tokens[0] = lm_strndup(token, len, err);
	if (sp->tokens[0] == NULL)
		return -1;
	sp->n = 1;
	return 0;
}

static int
parse_bert_like(HfPostProcessor *post, const json_t *json, const char *what, LmError *err)
{
	post->items = lm_calloc(3, sizeof(TemplateItem), err);
	if (post->items == NULL)
		return -1;
	post->n_items = 3;
	post->items[1].is_sequence = true;
	if (parse_token_pair(json, "cls", what, &post->items[0].special, err) != 0 ||
		parse_token_pair(json, "sep", what, &post->items[2].special, err) != 0)
		return -1;
	return 0;
}

/* The special_tokens entry named id: {"id": ..., "ids": [...], "tokens": [...]}. */
static int
parse_special(const json_t *specials, const char *name, SpecialPiece *sp, LmError *err)
{
	const json_t *entry = json_is_object(specials) ? json_object_get(specials, name) : NULL;
	const json_t *ids;
	const json_t *tokens;
	size_t		n;

	if (entry == NULL)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "TemplateProcessing: special token \"%s\" is missing from special_tokens",
					   name);
	ids = json_object_get(entry, "ids");
	tokens = json_object_get(entry, "tokens");
	if (!json_is_array(ids) || !json_is_array(tokens) ||
		json_array_size(ids) != json_array_size(tokens))
		return lm_fail(err, LM_ERR_CORRUPT,
					   "TemplateProcessing: special token \"%s\" needs \"ids\" and \"tokens\" of the same length",
					   name);
	n = json_array_size(ids);
	if (special_alloc(sp, n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
	{
		const json_t *id = json_array_get(ids, i);
		const char *tok;
		size_t		len;

		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
			json_integer_value(id) >= INT32_MAX ||
			(tok = hf_json_str(json_array_get(tokens, i), &len)) == NULL)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "TemplateProcessing: special token \"%s\" has a bad id or token",
						   name);
		sp->ids[i] = (int32_t) json_integer_value(id);
		sp->tokens[i] = lm_strndup(tok, len, err);
		if (sp->tokens[i] == NULL)
			return -1;
		sp->n++;
	}
	return 0;
}

/* A piece written as a string: "$A", "$", "$0" (sequence A) or a token, each maybe ":type_id". */
static int
parse_piece_string(const char *s, size_t len, const json_t *specials, TemplateItem *item,
				   LmError *err)
{
	char	   *name = lm_strndup(s, len, err);
	char	   *colon;
	int			rc = 0;

	if (name == NULL)
		return -1;
	colon = strrchr(name, ':');
	if (colon && colon != name && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1))
		*colon = '\0';			/* the type id does not change the ids */
	if (name[0] == '$')
	{
		const char *seq = name + 1;

		if (strcmp(seq, "") == 0 || strcmp(seq, "A") == 0 || strcmp(seq, "a") == 0 ||
			(seq[0] != '\0' && strspn(seq, "0123456789") == strlen(seq)))
			item->is_sequence = true;
		else
			rc = lm_fail(err, LM_ERR_CORRUPT,
						 "TemplateProcessing: the single template may only use sequence \"A\", not \"%s\"",
						 name);
	}
	else
		rc = parse_special(specials, name, &item->special, err);
	free(name);
	return rc;
}

/* A piece written as {"Sequence": {"id": "A"}} or {"SpecialToken": {"id": ...}}. */
static int
parse_piece_object(const json_t *piece, size_t index, const json_t *specials,
				   TemplateItem *item, LmError *err)
{
	const json_t *seq = json_object_get(piece, "Sequence");
	const json_t *special = json_object_get(piece, "SpecialToken");

	if (json_is_object(seq))
	{
		const char *id = hf_json_str(json_object_get(seq, "id"), NULL);

		if (id == NULL || strcmp(id, "A") != 0)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "TemplateProcessing: the single template may only use sequence \"A\"");
		item->is_sequence = true;
		return 0;
	}
	if (json_is_object(special))
	{
		const char *id = hf_json_str(json_object_get(special, "id"), NULL);

		if (id == NULL)
			return lm_fail(err, LM_ERR_CORRUPT, "TemplateProcessing: a SpecialToken has no \"id\"");
		return parse_special(specials, id, &item->special, err);
	}
	return lm_fail(err, LM_ERR_CORRUPT,
				   "TemplateProcessing: template piece %zu is neither Sequence nor SpecialToken",
				   index);
}

static int
parse_template(HfPostProcessor *post, const json_t *json, LmError *err)
{
	const json_t *single = json_object_get(json, "single");
	const json_t *specials = json_object_get(json, "special_tokens");
	size_t		len;
	const char *text = hf_json_str(single, &len);

	/* The template as one string: "[CLS] $A [SEP]". */
	if (text != NULL)
	{
		size_t		i = 0;

		post->items = lm_calloc(len / 2 + 1, sizeof(TemplateItem), err);
		if (post->items == NULL)
			return -1;
		while (i < len)
		{
			size_t		start;

			while (i < len && text[i] == ' ')
				i++;
			start = i;
			while (i < len && text[i] != ' ')
				i++;
			if (i > start &&
				parse_piece_string(text + start, i - start, specials,
								   &post->items[post->n_items++], err) != 0)
				return -1;
		}
		return 0;
	}
	if (!json_is_array(single))
		return lm_fail(err, LM_ERR_CORRUPT,
					   "TemplateProcessing: field \"single\" must be an array or a string");
	post->items = lm_calloc(json_array_size(single), sizeof(TemplateItem), err);
	if (post->items == NULL)
		return -1;
	for (size_t i = 0; i < json_array_size(single); i++)
	{
		const json_t *piece = json_array_get(single, i);
		TemplateItem *item = &post->items[post->n_items++];
		int			rc;

		text = hf_json_str(piece, &len);
		rc = text ? parse_piece_string(text, len, specials, item, err) :
			parse_piece_object(piece, i, specials, item, err);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
parse_sequence(HfPostProcessor *post, const json_t *json, int depth, LmError *err)
{
	const json_t *items;

	if (hf_json_array(json, "processors", &items, "Sequence post-processor", err) != 0)
		return -1;
	post->children = lm_calloc(json_array_size(items), sizeof(HfPostProcessor *), err);
	if (post->children == NULL)
		return -1;
	for (size_t i = 0; i < json_array_size(items); i++)
	{
		post->children[i] = hf_postprocessor_parse(json_array_get(items, i), depth + 1, err);
		if (post->children[i] == NULL)
			return -1;
		post->n_children++;
	}
	return 0;
}

HfPostProcessor *
hf_postprocessor_parse(const json_t *json, int depth, LmError *err)
{
	HfPostProcessor *post;
	int			kind;
	int			rc = 0;

	if (hf_json_kind(json, depth, postprocessor_names, HF_KINDS_LENGTH(postprocessor_names),
					 "post-processor", &kind, err) != 0)
		return NULL;
	post = lm_calloc(1, sizeof(HfPostProcessor), err);
	if (post == NULL)
		return NULL;
	post->kind = (PostKind) kind;
	switch (post->kind)
	{
		case POST_TEMPLATE:
			rc = parse_template(post, json, err);
			break;
		case POST_BERT:
			rc = parse_bert_like(post, json, "BertProcessing", err);
			break;
		case POST_ROBERTA:
			rc = parse_bert_like(post, json, "RobertaProcessing", err);
			break;
		case POST_BYTE_LEVEL:
			break;
		case POST_SEQUENCE:
			rc = parse_sequence(post, json, depth, err);
			break;
	}
	if (rc != 0)
	{
		hf_postprocessor_free(post);
		return NULL;
	}
	return post;
}

int
hf_postprocessor_check_ids(const HfPostProcessor *post, int32_t id_limit, LmError *err)
{
	for (size_t i = 0; i < post->n_items; i++)
		for (size_t k = 0; k < post->items[i].special.n; k++)
			if (post->items[i].special.ids[k] >= id_limit)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "post-processor token \"%s\" has id %d, outside the vocabulary of %d",
							   post->items[i].special.tokens[k], post->items[i].special.ids[k],
							   id_limit);
	for (size_t i = 0; i < post->n_children; i++)
		if (hf_postprocessor_check_ids(post->children[i], id_limit, err) != 0)
			return -1;
	return 0;
}

/*
 * Move all of from's tokens to the end of to, strings included: copying
 * millions of strings and then freeing them would take long.  Even the
 * pointers are copied a slice at a time, checking for a cancel in between;
 * from keeps its tokens until all are copied, and is then left empty.
 */
static int
move_tokens(LmEncoding *to, LmEncoding *from, LmError *err)
{
	size_t		need = to->n + from->n;

	if (lm_encoding_reserve(to, from->n, err) != 0)
		return -1;
	for (size_t k = 0; k < from->n; k += MOVE_SLICE)
	{
		size_t		n = from->n - k < MOVE_SLICE ? from->n - k : MOVE_SLICE;

		if (lm_check_cancel(err) != 0)
			return -1;
		memcpy(to->ids + to->n + k, from->ids + k, n * sizeof(int32_t));
		memcpy(to->tokens + to->n + k, from->tokens + k, n * sizeof(char *));
	}
	to->n = need;
	from->n = 0;
	return 0;
}

/* Copy tokens [first, first + n) of enc to its end. */
static int
copy_tokens(LmEncoding *enc, size_t first, size_t n, LmError *err)
{
	size_t		work = 0;

	for (size_t k = first; k < first + n; k++)
	{
		const char *token = enc->tokens[k];	/* stays put when enc grows */

		if (tok_cancel_step(&work, 1, err) != 0 ||
			lm_encoding_push(enc, enc->ids[k], token, strlen(token), err) != 0)
			return -1;
	}
	return 0;
}

static int
apply_items(const HfPostProcessor *post, LmEncoding *enc, LmError *err)
{
	LmEncoding	out = {0};
	size_t		n = enc->n;
	bool		moved = false;
	size_t		moved_at = 0;	/* where the sequence's tokens went in out */

	for (size_t i = 0; i < post->n_items; i++)
	{
		const TemplateItem *item = &post->items[i];

		if (item->is_sequence)
		{
			int			rc;

			/* The first occurrence takes the tokens, any later one copies them. */
			if (moved)
				rc = copy_tokens(&out, moved_at, n, err);
			else
			{
				moved_at = out.n;
				moved = true;
				rc = move_tokens(&out, enc, err);
			}
			if (rc != 0)
				goto fail;
			continue;
		}
		for (size_t k = 0; k < item->special.n; k++)
			if (lm_encoding_push(&out, item->special.ids[k], item->special.tokens[k],
								 strlen(item->special.tokens[k]), err) != 0)
				goto fail;
	}
	lm_encoding_free(enc);
	*enc = out;
	return 0;

fail:
	lm_encoding_free(&out);
	return -1;
}

int
hf_postprocessor_apply(const HfPostProcessor *post, LmEncoding *enc, LmError *err)
{
	switch (post->kind)
	{
		case POST_TEMPLATE:
		case POST_BERT:
		case POST_ROBERTA:
			return apply_items(post, enc, err);
		case POST_BYTE_LEVEL:
			return 0;
		case POST_SEQUENCE:
			for (size_t i = 0; i < post->n_children; i++)
				if (hf_postprocessor_apply(post->children[i], enc, err) != 0)
					return -1;
			return 0;
	}
	return lm_fail(err, LM_ERR_INTERNAL, "unhandled post-processor kind %d", (int) post->kind);
}
