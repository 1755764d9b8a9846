/*
 * spm_special.c — a SentencePiece model reading a text that spells its
 * special tokens (a rendered chat template: "<s>[INST] ... [/INST]"), as
 * llama.cpp tokenizes with parse_special and transformers' Llama tokenizers
 * split on their special tokens: the control and unknown pieces' strings
 * (<s>, </s>, <unk>) are those tokens, and each stretch of text between
 * them is encoded on its own (so each gets sentencepiece's dummy prefix).
 * sentencepiece itself never matches control pieces in a text.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

static bool
is_special(const SpmPiece *p)
{
	return (p->type == SPM_PIECE_CONTROL || p->type == SPM_PIECE_UNKNOWN) && p->len > 0;
}

/* Where needle first occurs in text[0..len), or len. */
static size_t
find(const char *text, size_t len, const char *needle, size_t n)
{
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (text[i] == needle[0] && memcmp(text + i, needle, n) == 0)
			return i;
	return len;
}

/* The first of the special pieces in text[0..len) (the longest where several start there), or -1. */
static int32_t
next_special(const LmSpmTokenizer *tok, const int32_t *special, int n_special, const char *text,
			 size_t len, size_t *at)
{
	int32_t		best = -1;

	*at = len;
	for (int i = 0; i < n_special; i++)
	{
		const SpmPiece *p = &tok->proto.pieces[special[i]];
		size_t		found = find(text, len, p->text, p->len);

		if (found < len && (found < *at || (found == *at && p->len > tok->proto.pieces[best].len)))
		{
			best = special[i];
			*at = found;
		}
	}
	return best;
}

/* Encode text[0..len) without special tokens and append it to out. */
static int
append_plain(const LmSpmTokenizer *tok, const char *text, size_t len, LmEncoding *out, LmError *err)
{
	LmEncoding	part;
	int			rc = 0;

	if (len == 0)
		return 0;
	if (lm_spm_encode(tok, text, len, false, 0, &part, err) != 0)
		return -1;
	for (size_t i = 0; i < part.n && rc == 0; i++)
		rc = lm_encoding_push(out, part.ids[i], part.tokens[i], strlen(part.tokens[i]), err);
	lm_encoding_free(&part);
	return rc;
}

int
lm_spm_encode_special_text(const LmSpmTokenizer *tok, const char *text, size_t len,
						   size_t max_tokens, LmEncoding *out, LmError *err)
{
	int32_t    *special;
	int			n_special = 0;

	memset(out, 0, sizeof(*out));
	out->limit = max_tokens;
	if (text == NULL && len > 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no text to encode");
	if ((special = lm_malloc(sizeof(int32_t) * (tok->proto.n_pieces + 1), err)) == NULL)
		return -1;
	for (int32_t id = 0; id < tok->proto.n_pieces; id++)
		if (is_special(&tok->proto.pieces[id]))
			special[n_special++] = id;
	while (len > 0)
	{
		size_t		at;
		int32_t		id = next_special(tok, special, n_special, text, len, &at);

		if (append_plain(tok, text, at, out, err) != 0)
			goto fail;
		if (id < 0)
			break;
		if (lm_encoding_push(out, id, tok->proto.pieces[id].text, tok->proto.pieces[id].len, err) != 0)
			goto fail;
		text += at + tok->proto.pieces[id].len;
		len -= at + tok->proto.pieces[id].len;
	}
	free(special);
	return 0;
fail:
	free(special);
	lm_encoding_free(out);
	return -1;
}
