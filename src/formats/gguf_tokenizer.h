/*
 * gguf_tokenizer.h — the tokenizer a GGUF file's metadata describes
 * (tokenizer.ggml.*), as a Hugging Face tokenizer.json that the engine's
 * tokenizer loads: the same document transformers would have beside the
 * model.
 *
 * So far: model "gpt2" (byte-level BPE: tokens, merges, token types) with
 * pre-tokenizer "gpt-2", as tokenizer.json; model "llama" (SentencePiece
 * BPE: tokens, scores, token types, with byte fallback when it has byte
 * tokens) as a SentencePiece ModelProto, the .model file it came from.
 * Others are refused, naming what is missing.
 */
#ifndef LM_GGUF_TOKENIZER_H
#define LM_GGUF_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"

/* True when g's metadata describes a tokenizer (tokenizer.ggml.model). */
bool		lm_gguf_has_tokenizer(const LmGguf *g);

/* True when the vocabulary is SentencePiece's (read it with lm_gguf_spm_model). */
bool		lm_gguf_tokenizer_is_spm(const LmGguf *g);

/* The tokenizer.json (malloc'd), or NULL with err. */
char	   *lm_gguf_tokenizer_json(const LmGguf *g, LmError *err);

/* A SentencePiece model (malloc'd protobuf bytes, *len of them), or NULL with err. */
uint8_t    *lm_gguf_spm_model(const LmGguf *g, size_t *len, LmError *err);

#endif
