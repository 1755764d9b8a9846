/*
 * spm.h — SentencePiece .model files (a serialized ModelProto): Unigram and
 * BPE models with their normalizer (precompiled charsmap), encoding and
 * decoding as the sentencepiece library does.
 */
#ifndef LM_SPM_H
#define LM_SPM_H

#include "tokenizer/tokenizer.h"

typedef struct LmSpmTokenizer LmSpmTokenizer;

LmSpmTokenizer *lm_spm_load(const uint8_t *data, size_t len, LmError *err);
void		lm_spm_free(LmSpmTokenizer *tok);
/* add_special_tokens adds BOS/EOS as the model's trainer spec says
 * (sentencepiece itself adds none by default; see spm.c). */
int			lm_spm_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
						  bool add_special_tokens, size_t max_tokens, LmEncoding *out, LmError *err);
/* A text that spells special tokens (control and unknown pieces) as text: see spm_special.c. */
int			lm_spm_encode_special_text(const LmSpmTokenizer *tok, const char *text, size_t len,
									   size_t max_tokens, LmEncoding *out, LmError *err);
char	   *lm_spm_decode(const LmSpmTokenizer *tok, const int32_t *ids, size_t n,
						  bool skip_special_tokens, LmError *err);
int32_t		lm_spm_vocab_size(const LmSpmTokenizer *tok);
const char *lm_spm_id_to_token(const LmSpmTokenizer *tok, int32_t id);
int32_t		lm_spm_token_to_id(const LmSpmTokenizer *tok, const char *token);

#endif
