/*
 * tokenizer.h — the engine's one tokenizer interface.
 *
 * A tokenizer comes either from a Hugging Face tokenizer.json (hf_tokenizer.h)
 * or from a SentencePiece .model file (spm.h); callers see the same API.
 * Strings are UTF-8; nothing here knows about PostgreSQL.
 */
#ifndef LM_TOKENIZER_H
#define LM_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmTokenizer LmTokenizer;

/* The result of encoding one text. */
typedef struct LmEncoding
{
	size_t		n;				/* number of tokens */
	size_t		capacity;
	int32_t    *ids;
	char	  **tokens;			/* token strings as the vocabulary spells them */
	size_t		limit;			/* > 0: encoding stops, LM_ERR_TOO_LONG, past this many */
} LmEncoding;

LmTokenizer *lm_tokenizer_from_json(const char *json, size_t len, LmError *err);
LmTokenizer *lm_tokenizer_from_spm(const uint8_t *data, size_t len, LmError *err);
void		lm_tokenizer_free(LmTokenizer *tok);

/* Encode; with add_special_tokens the post-processor (BOS/EOS, [CLS]/[SEP])
 * is applied.  out must be zeroed or freed before; it is filled on success. */
int			lm_tokenizer_encode(const LmTokenizer *tok, const char *text, size_t len,
								bool add_special_tokens, LmEncoding *out, LmError *err);
/*
 * The same, stopping with LM_ERR_TOO_LONG as soon as more than max_tokens
 * tokens are made (0: no limit): a text far longer than a model's context
 * is refused without tokenizing all of it.
 */
int			lm_tokenizer_encode_at_most(const LmTokenizer *tok, const char *text, size_t len,
										bool add_special_tokens, size_t max_tokens, LmEncoding *out,
										LmError *err);

/*
 * Encode a text that spells its special tokens, as a rendered chat template
 * does ("<s>[INST] ... [/INST]"), as transformers' apply_chat_template and
 * llama.cpp (parse_special) tokenize it: nothing is added (no BOS), and the
 * special tokens' strings are those tokens (a tokenizer.json's added tokens;
 * a SentencePiece model's control and unknown pieces).  max_tokens as for
 * lm_tokenizer_encode_at_most.
 */
int			lm_tokenizer_encode_special_text(const LmTokenizer *tok, const char *text, size_t len,
											 size_t max_tokens, LmEncoding *out, LmError *err);

/* Decode ids to text (malloc'd, NUL-terminated); NULL on error. */
char	   *lm_tokenizer_decode(const LmTokenizer *tok, const int32_t *ids, size_t n,
								bool skip_special_tokens, LmError *err);

int32_t		lm_tokenizer_vocab_size(const LmTokenizer *tok);
/* NULL for an id outside the vocabulary. */
const char *lm_tokenizer_id_to_token(const LmTokenizer *tok, int32_t id);
/* -1 when the token is not in the vocabulary. */
int32_t		lm_tokenizer_token_to_id(const LmTokenizer *tok, const char *token);

/* Append one token to an encoding (used by the implementations). */
int			lm_encoding_push(LmEncoding *enc, int32_t id, const char *token,
							 size_t token_len, LmError *err);
/* Make room for extra more tokens at once (growing at least twofold). */
int			lm_encoding_reserve(LmEncoding *enc, size_t extra, LmError *err);
void		lm_encoding_free(LmEncoding *enc);

#endif
