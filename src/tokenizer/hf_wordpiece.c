/*
 * hf_wordpiece.c — the WordPiece model of tokenizer.json: greedy longest
 * match from the left, later pieces spelled with the continuing prefix
 * ("##"); a word with any unmatched part, or longer than
 * max_input_chars_per_word characters, becomes the unknown token.
 */
#include "tokenizer/hf_models.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

#define WHAT "WordPiece model"
#define DEFAULT_UNK_TOKEN "[UNK]"
#define DEFAULT_PREFIX "##"
#define DEFAULT_MAX_INPUT_CHARS 100

struct HfWordPiece
{
	HfVocab		vocab;
	char	   *unk_token;
	size_t		unk_len;
	char	   *prefix;
	size_t		prefix_len;
	int64_t		max_input_chars;
};

const HfVocab *
hf_wordpiece_vocab(const HfWordPiece *wp)
{
	return &wp->vocab;
}

void
hf_wordpiece_free(HfWordPiece *wp)
{
	if (wp == NULL)
		return;
	hf_vocab_free(&wp->vocab);
	free(wp->unk_token);
	free(wp->prefix);
	free(wp);
}

static int
strdup_default(const json_t *json, const char *key, const char *dflt, char **out,
			   size_t *len, LmError *err)
{
	if (hf_json_strdup(json, key, false, out, len, WHAT, err) != 0)
		return -1;
	if (*out == NULL)
	{
		*len = strlen(dflt);
		*out = lm_strndup(dflt, *len, err);
	}
	return *out ? 0 : -1;
}

HfWordPiece *
hf_wordpiece_parse(const json_t *json, LmError *err)
{
	HfWordPiece *wp = lm_calloc(1, sizeof(HfWordPiece), err);

	if (wp == NULL)
		return NULL;
	if (hf_vocab_from_object(&wp->vocab, json_object_get(json, "vocab"), WHAT, err) != 0 ||
		strdup_default(json, "unk_token", DEFAULT_UNK_TOKEN, &wp->unk_token, &wp->unk_len,
					   err) != 0 ||
		strdup_default(json, "continuing_subword_prefix", DEFAULT_PREFIX, &wp->prefix,
					   &wp->prefix_len, err) != 0 ||
		hf_json_int(json, "max_input_chars_per_word", DEFAULT_MAX_INPUT_CHARS,
					&wp->max_input_chars, WHAT, err) != 0)
	{
		hf_wordpiece_free(wp);
		return NULL;
	}
	if (wp->max_input_chars < 0)
	{
		lm_fail(err, LM_ERR_CORRUPT, "%s: max_input_chars_per_word must not be negative", WHAT);
		hf_wordpiece_free(wp);
		return NULL;
	}
	return wp;
}

static int
push_unk(const HfWordPiece *wp, LmEncoding *out, LmError *err)
{
	int32_t		id;

	if (!hf_vocab_get(&wp->vocab, wp->unk_token, wp->unk_len, &id))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: unk_token \"%s\" is not in the vocabulary",
					   WHAT, wp->unk_token);
	return hf_vocab_push(&wp->vocab, id, out, err);
}

int
hf_wordpiece_tokenize(const HfWordPiece *wp, const char *word, size_t len, LmEncoding *out,
					  LmError *err)
{
	HfBuf		candidate = {0};
	size_t		first_token = out->n;
	size_t		start = 0;
	size_t		work = 0;
	bool		bad = false;
	int			rc = 0;

	if ((int64_t) lm_utf8_count(word, len) > wp->max_input_chars)
		return push_unk(wp, out, err);
	while (start < len && rc == 0)
	{
		size_t		end = len;
		int32_t		id = -1;

		/* No piece is longer than the longest vocabulary entry. */
		if (end - start > wp->vocab.max_token_len)
		{
			end = start + wp->vocab.max_token_len;
			while (end > start && (word[end] & 0xC0) == 0x80)
				end--;
		}
		while (end > start)
		{
			/* A word may be long when max_input_chars_per_word is. */
			if ((rc = tok_cancel_step(&work, end - start, err)) != 0)
				break;
			hf_buf_clear(&candidate);
			if ((start > 0 && hf_buf_append(&candidate, wp->prefix, wp->prefix_len, err)) ||
				hf_buf_append(&candidate, word + start, end - start, err))
			{
				rc = -1;
				break;
			}
			if (hf_vocab_get(&wp->vocab, candidate.data, candidate.len, &id))
				break;
			id = -1;
			end -= lm_utf8_last_len(word + start, end - start);
		}
		if (rc != 0)
			break;
		if (id < 0)
		{
			bad = true;
			break;
		}
		rc = hf_vocab_push(&wp->vocab, id, out, err);
		start = end;
	}
	hf_buf_free(&candidate);
	if (rc != 0)
		return -1;
	if (bad)
	{
		/* Drop the pieces found so far: the whole word is unknown. */
		while (out->n > first_token)
		{
			if (tok_cancel_step(&work, 1, err) != 0)
				return -1;		/* the caller frees the rest of out */
			free(out->tokens[--out->n]);
		}
		return push_unk(wp, out, err);
	}
	return 0;
}
