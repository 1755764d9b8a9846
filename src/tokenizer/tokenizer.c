/*
 * tokenizer.c — dispatch from the common tokenizer API to the tokenizer.json
 * pipeline or to the SentencePiece model, and the LmEncoding helpers.
 */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/spm.h"

#define ENCODING_MIN_CAPACITY 16

struct LmTokenizer
{
	LmHfTokenizer *hf;			/* exactly one of these is set */
	LmSpmTokenizer *spm;
};

LmTokenizer *
lm_tokenizer_from_json(const char *json, size_t len, LmError *err)
{
	LmTokenizer *tok = lm_calloc(1, sizeof(LmTokenizer), err);

	if (tok == NULL)
		return NULL;
	tok->hf = lm_hf_tokenizer_load(json, len, err);
	if (tok->hf == NULL)
	{
		free(tok);
		return NULL;
	}
	return tok;
}

LmTokenizer *
lm_tokenizer_from_spm(const uint8_t *data, size_t len, LmError *err)
{
	LmTokenizer *tok = lm_calloc(1, sizeof(LmTokenizer), err);

	if (tok == NULL)
		return NULL;
	tok->spm = lm_spm_load(data, len, err);
	if (tok->spm == NULL)
	{
		free(tok);
		return NULL;
	}
	return tok;
}

void
lm_tokenizer_free(LmTokenizer *tok)
{
	if (tok == NULL)
		return;
	if (tok->hf)
		lm_hf_tokenizer_free(tok->hf);
	if (tok->spm)
		lm_spm_free(tok->spm);
	free(tok);
}

int
lm_tokenizer_encode(const LmTokenizer *tok, const char *text, size_t len,
					bool add_special_tokens, LmEncoding *out, LmError *err)
{
	return lm_tokenizer_encode_at_most(tok, text, len, add_special_tokens, 0, out, err);
}

int
lm_tokenizer_encode_at_most(const LmTokenizer *tok, const char *text, size_t len,
							bool add_special_tokens, size_t max_tokens, LmEncoding *out, LmError *err)
{
	int			rc;

	memset(out, 0, sizeof(*out));
	if (tok->hf)
		rc = lm_hf_tokenizer_encode(tok->hf, text, len, add_special_tokens, max_tokens, out, err);
	else
		rc = lm_spm_encode(tok->spm, text, len, add_special_tokens, max_tokens, out, err);
	out->limit = 0;
	return rc;
}

int
lm_tokenizer_encode_special_text(const LmTokenizer *tok, const char *text, size_t len,
								 size_t max_tokens, LmEncoding *out, LmError *err)
{
	int			rc;

	memset(out, 0, sizeof(*out));
	/* a tokenizer.json matches its added tokens in any text */
	if (tok->hf)
		rc = lm_hf_tokenizer_encode(tok->hf, text, len, false, max_tokens, out, err);
	else
		rc = lm_spm_encode_special_text(tok->spm, text, len, max_tokens, out, err);
	out->limit = 0;
	return rc;
}

char *
lm_tokenizer_decode(const LmTokenizer *tok, const int32_t *ids, size_t n,
					bool skip_special_tokens, LmError *err)
{
	if (tok->hf)
		return lm_hf_tokenizer_decode(tok->hf, ids, n, skip_special_tokens, err);
	return lm_spm_decode(tok->spm, ids, n, skip_special_tokens, err);
}

int32_t
lm_tokenizer_vocab_size(const LmTokenizer *tok)
{
	return tok->hf ? lm_hf_tokenizer_vocab_size(tok->hf) : lm_spm_vocab_size(tok->spm);
}

const char *
lm_tokenizer_id_to_token(const LmTokenizer *tok, int32_t id)
{
	return tok->hf ? lm_hf_tokenizer_id_to_token(tok->hf, id) : lm_spm_id_to_token(tok->spm, id);
}

int32_t
lm_tokenizer_token_to_id(const LmTokenizer *tok, const char *token)
{
	return tok->hf ? lm_hf_tokenizer_token_to_id(tok->hf, token) : lm_spm_token_to_id(tok->spm, token);
}

/*
 * Reserving room for many tokens at once matters for long texts: growing a
 * large array copies it, and copying hundreds of megabytes is a long stretch
 * in which no cancel can get through.
 */
int
lm_encoding_reserve(LmEncoding *enc, size_t extra, LmError *err)
{
	size_t		need = enc->n + extra;
	size_t		cap = enc->capacity ? enc->capacity * 2 : ENCODING_MIN_CAPACITY;
	int32_t    *ids;
	char	  **tokens;

	if (need <= enc->capacity)
		return 0;
	if (cap < need)
		cap = need;
	ids = lm_realloc(enc->ids, cap * sizeof(int32_t), err);
	if (ids == NULL)
		return -1;
	enc->ids = ids;
	tokens = lm_realloc(enc->tokens, cap * sizeof(char *), err);
	if (tokens == NULL)
		return -1;
	enc->tokens = tokens;
	enc->capacity = cap;
	return 0;
}

int
lm_encoding_push(LmEncoding *enc, int32_t id, const char *token, size_t token_len,
				 LmError *err)
{
	if (enc->limit > 0 && enc->n >= enc->limit)
		return lm_fail(err, LM_ERR_TOO_LONG, "text is more than %zu tokens long", enc->limit);
	if (enc->n == enc->capacity && lm_encoding_reserve(enc, 1, err) != 0)
		return -1;
	enc->tokens[enc->n] = lm_strndup(token, token_len, err);
	if (enc->tokens[enc->n] == NULL)
		return -1;
	enc->ids[enc->n] = id;
	enc->n++;
	return 0;
}

void
lm_encoding_free(LmEncoding *enc)
{
	if (enc == NULL)
		return;
	for (size_t i = 0; i < enc->n; i++)
		free(enc->tokens[i]);
	free(enc->tokens);
	free(enc->ids);
	memset(enc, 0, sizeof(*enc));
}
