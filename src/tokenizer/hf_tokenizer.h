/*
 * hf_tokenizer.h — the Hugging Face tokenizer.json pipeline:
 * added tokens, normalizer, pre-tokenizer, model, post-processor, decoder.
 */
#ifndef LM_HF_TOKENIZER_H
#define LM_HF_TOKENIZER_H

#include "tokenizer/tokenizer.h"

typedef struct LmHfTokenizer LmHfTokenizer;

LmHfTokenizer *lm_hf_tokenizer_load(const char *json, size_t len, LmError *err);
void		lm_hf_tokenizer_free(LmHfTokenizer *tok);
int			lm_hf_tokenizer_encode(const LmHfTokenizer *tok, const char *text, size_t len,
								   bool add_special_tokens, size_t max_tokens, LmEncoding *out, LmError *err);
char	   *lm_hf_tokenizer_decode(const LmHfTokenizer *tok, const int32_t *ids, size_t n,
								   bool skip_special_tokens, LmError *err);
int32_t		lm_hf_tokenizer_vocab_size(const LmHfTokenizer *tok);
const char *lm_hf_tokenizer_id_to_token(const LmHfTokenizer *tok, int32_t id);
int32_t		lm_hf_tokenizer_token_to_id(const LmHfTokenizer *tok, const char *token);

#endif
