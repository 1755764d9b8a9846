/*
 * hf_tokenizer.c — the Hugging Face tokenizer.json pipeline: loading the
 * document (jansson) into its components, and encoding and decoding the way
 * the tokenizers library does:
 *
 *   encode: split the raw text around the non-normalized added tokens;
 *           normalize each remaining part; split it around the normalized
 *           added tokens; pre-tokenize; run the model on each word; with
 *           add_special_tokens, apply the post-processor.
 *   decode: ids to tokens (added tokens first), special tokens skipped on
 *           request, then the decoder (or a join with spaces).
 */
#include "tokenizer/hf_tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf_internal.h"
#include "util/utf8.h"

#define DOCUMENT_NAME "tokenizer.json"
#define SUPPORTED_VERSION "1.0"

struct LmHfTokenizer
{
	HfNormalizer *normalizer;	/* each may be NULL */
	HfPreTokenizer *pretokenizer;
	HfModel    *model;			/* never NULL */
	HfPostProcessor *post;
	HfDecoder  *decoder;
	HfAddedVocab *added;		/* never NULL */
	int32_t		id_limit;		/* one past the largest id */
};

void
lm_hf_tokenizer_free(LmHfTokenizer *tok)
{
	if (tok == NULL)
		return;
	hf_normalizer_free(tok->normalizer);
	hf_pretokenizer_free(tok->pretokenizer);
	hf_model_free(tok->model);
	hf_postprocessor_free(tok->post);
	hf_decoder_free(tok->decoder);
	hf_added_vocab_free(tok->added);
	free(tok);
}

/* The component under key, or NULL (without error) when it is null or absent. */
static const json_t *
component(const json_t *root, const char *key)
{
	const json_t *v = json_object_get(root, key);

	return json_is_null(v) ? NULL : v;
}

static int
load_components(LmHfTokenizer *tok, const json_t *root, LmError *err)
{
	const json_t *j;
	const char *version;

	if (hf_json_string(root, "version", false, &version, NULL, DOCUMENT_NAME, err) != 0)
		return -1;
	if (version != NULL && strcmp(version, SUPPORTED_VERSION) != 0)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "unknown tokenizer.json version \"%s\"", version);
	if ((j = component(root, "normalizer")) != NULL &&
		(tok->normalizer = hf_normalizer_parse(j, 0, err)) == NULL)
		return -1;
	if ((j = component(root, "pre_tokenizer")) != NULL &&
		(tok->pretokenizer = hf_pretokenizer_parse(j, 0, err)) == NULL)
		return -1;
	if ((j = component(root, "model")) == NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "missing field \"model\"");
	if ((tok->model = hf_model_parse(j, err)) == NULL)
		return -1;
	if ((j = component(root, "post_processor")) != NULL &&
		(tok->post = hf_postprocessor_parse(j, 0, err)) == NULL)
		return -1;
	if ((j = component(root, "decoder")) != NULL &&
		(tok->decoder = hf_decoder_parse(j, 0, err)) == NULL)
		return -1;
	tok->added = hf_added_vocab_parse(component(root, "added_tokens"), tok->model,
									  tok->normalizer, err);
	if (tok->added == NULL)
		return -1;
	tok->id_limit = hf_model_id_limit(tok->model);
	if (hf_added_vocab_id_limit(tok->added) > tok->id_limit)
		tok->id_limit = hf_added_vocab_id_limit(tok->added);
	if (tok->post && hf_postprocessor_check_ids(tok->post, tok->id_limit, err) != 0)
		return -1;
	return 0;
}

LmHfTokenizer *
lm_hf_tokenizer_load(const char *json, size_t len, LmError *err)
{
	json_error_t jerr;
	json_t	   *root;
	LmHfTokenizer *tok;

	if (json == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, DOCUMENT_NAME ": no document");
		return NULL;
	}
	root = json_loadb(json, len, JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, DOCUMENT_NAME ": invalid JSON at line %d, column %d: %s",
				jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root))
	{
		json_decref(root);
		lm_fail(err, LM_ERR_CORRUPT, DOCUMENT_NAME ": the document is not a JSON object");
		return NULL;
	}
	tok = lm_calloc(1, sizeof(LmHfTokenizer), err);
	if (tok != NULL && load_components(tok, root, err) != 0)
	{
		lm_error_prefix(err, DOCUMENT_NAME);
		lm_hf_tokenizer_free(tok);
		tok = NULL;
	}
	json_decref(root);
	return tok;
}

/* ---- encoding ------------------------------------------------------------------- */

/* Scratch space reused across the parts of one text. */
typedef struct EncodeState
{
	HfBuf		normalized;
	HfAddedSplits raw_splits;
	HfAddedSplits norm_splits;
	HfPieces	pieces;
} EncodeState;

/* An added token is spelled as the text it matched (lstrip/rstrip included). */
static int
push_added(int32_t id, const char *text, size_t len, LmEncoding *out, LmError *err)
{
	return lm_encoding_push(out, id, text, len, err);
}

/* Pre-tokenize one normalized part and run the model on its words. */
static int
encode_words(const LmHfTokenizer *tok, const char *text, size_t len, bool at_origin,
			 EncodeState *st, LmEncoding *out, LmError *err)
{
	hf_pieces_clear(&st->pieces);
	if (hf_pieces_push(&st->pieces, text, len, at_origin, err) != 0)
		return -1;
	if (tok->pretokenizer && hf_pretokenizer_apply(tok->pretokenizer, &st->pieces, err) != 0)
		return -1;
	/* No model makes more tokens of a word than it has bytes. */
	if (lm_encoding_reserve(out, st->pieces.text.len, err) != 0)
		return -1;
	for (size_t i = 0; i < st->pieces.n; i++)
	{
		if (lm_check_cancel(err) != 0)
			return -1;
		if (st->pieces.items[i].len == 0)
			continue;
		if (hf_model_tokenize(tok->model, hf_piece_text(&st->pieces, i),
							  st->pieces.items[i].len, out, err) != 0)
			return -1;
	}
	return 0;
}

/* One part of the raw text that is not an added token. */
static int
encode_part(const LmHfTokenizer *tok, const char *text, size_t len, bool at_origin,
			EncodeState *st, LmEncoding *out, LmError *err)
{
	const char *norm = text;
	size_t		norm_len = len;
	size_t		work = 0;

	if (tok->normalizer)
	{
		if (hf_normalizer_apply(tok->normalizer, text, len, &st->normalized, err) != 0)
			return -1;
		norm = st->normalized.data;
		norm_len = st->normalized.len;
	}
	if (norm_len == 0)
		return 0;
	if (hf_added_vocab_split(tok->added, true, norm, norm_len, &st->norm_splits, err) != 0)
		return -1;
	for (size_t i = 0; i < st->norm_splits.n; i++)
	{
		const HfAddedSplit *s = &st->norm_splits.items[i];
		int			rc;

		if (tok_cancel_step(&work, s->end - s->start + 1, err) != 0)
			return -1;
		if (s->id >= 0)
			rc = push_added(s->id, norm + s->start, s->end - s->start, out, err);
		else
			rc = encode_words(tok, norm + s->start, s->end - s->start,
							  at_origin && s->start == 0, st, out, err);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* lm_utf8_valid, a slice at a time so that a cancel gets through. */
static int
validate_text(const char *text, size_t len, LmError *err)
{
	size_t		start = 0;

	while (start < len)
	{
		size_t		end = tok_slice_end(text, len, start);
		size_t		bad;

		if (!lm_utf8_valid(text + start, end - start, &bad))
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text is not valid UTF-8 (byte %zu)",
					start + bad);
			lm_hint(err, "Convert the text to UTF-8 before tokenizing it.");
			return -1;
		}
		if (lm_check_cancel(err) != 0)
			return -1;
		start = end;
	}
	return 0;
}

int
lm_hf_tokenizer_encode(const LmHfTokenizer *tok, const char *text, size_t len,
					   bool add_special_tokens, size_t max_tokens, LmEncoding *out, LmError *err)
{
	EncodeState st = {0};
	size_t		work = 0;
	int			rc = 0;

	memset(out, 0, sizeof(*out));
	out->limit = max_tokens;
	if (text == NULL && len > 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no text to encode");
	if (validate_text(text, len, err) != 0)
		return -1;
	if (len > 0)
		rc = hf_added_vocab_split(tok->added, false, text, len, &st.raw_splits, err);
	for (size_t i = 0; i < st.raw_splits.n && rc == 0; i++)
	{
		const HfAddedSplit *s = &st.raw_splits.items[i];

		if ((rc = tok_cancel_step(&work, s->end - s->start + 1, err)) != 0)
			break;
		if (s->id >= 0)
			rc = push_added(s->id, text + s->start, s->end - s->start, out, err);
		else
			rc = encode_part(tok, text + s->start, s->end - s->start, s->start == 0, &st,
							 out, err);
	}
	if (rc == 0 && add_special_tokens && tok->post)
		rc = hf_postprocessor_apply(tok->post, out, err);
	hf_buf_free(&st.normalized);
	hf_added_splits_free(&st.raw_splits);
	hf_added_splits_free(&st.norm_splits);
	hf_pieces_free(&st.pieces);
	if (rc != 0)
		lm_encoding_free(out);
	return rc;
}

/* ---- decoding and lookups -------------------------------------------------------- */

static const char *
id_to_token(const LmHfTokenizer *tok, int32_t id, size_t *len)
{
	const char *s = hf_added_vocab_id_to_token(tok->added, id, len);

	return s ? s : hf_model_id_to_token(tok->model, id, len);
}

char *
lm_hf_tokenizer_decode(const LmHfTokenizer *tok, const int32_t *ids, size_t n,
					   bool skip_special_tokens, LmError *err)
{
	HfPieces	tokens = {0};
	HfBuf		text = {0};
	size_t		work = 0;
	int			rc = hf_pieces_reserve(&tokens, n, err);

	for (size_t i = 0; i < n && rc == 0; i++)
	{
		size_t		len;
		const char *s = id_to_token(tok, ids[i], &len);

		if ((rc = lm_check_cancel(err)) != 0)
			break;
		if (s == NULL)
		{
			rc = lm_fail(err, LM_ERR_INVALID_ARGUMENT,
						 "token id %d is outside the vocabulary (%d ids)", ids[i],
						 tok->id_limit);
			break;
		}
		if (skip_special_tokens && hf_added_vocab_is_special(tok->added, s, len))
			continue;
		rc = hf_pieces_push(&tokens, s, len, false, err);
	}
	if (rc == 0 && tok->decoder)
		rc = hf_decoder_apply(tok->decoder, &tokens, err);
	for (size_t i = 0; i < tokens.n && rc == 0; i++)
	{
		if ((rc = tok_cancel_step(&work, tokens.items[i].len + 1, err)) != 0)
			break;
		/* Without a decoder the tokens are joined by spaces. */
		if (tok->decoder == NULL && i > 0)
			rc = hf_buf_append(&text, " ", 1, err);
		if (rc == 0)
			rc = hf_buf_append(&text, hf_piece_text(&tokens, i), tokens.items[i].len, err);
	}
	if (rc == 0)
		rc = hf_buf_append(&text, "", 0, err);
	hf_pieces_free(&tokens);
	if (rc != 0)
	{
		hf_buf_free(&text);
		return NULL;
	}
	return text.data;
}

int32_t
lm_hf_tokenizer_vocab_size(const LmHfTokenizer *tok)
{
	return tok->id_limit;
}

const char *
lm_hf_tokenizer_id_to_token(const LmHfTokenizer *tok, int32_t id)
{
	return id_to_token(tok, id, NULL);
}

int32_t
lm_hf_tokenizer_token_to_id(const LmHfTokenizer *tok, const char *token)
{
	size_t		len = token ? strlen(token) : 0;
	int32_t		id;

	if (token == NULL)
		return -1;
	if (hf_added_vocab_token_to_id(tok->added, token, len, &id) ||
		hf_model_token_to_id(tok->model, token, len, &id))
		return id;
	return -1;
}
