/*
 * gguf_hf.h — a GGUF model as the engine's architectures read models: a
 * Hugging Face config.json and tensors under Hugging Face names, in their
 * layout.  llama.cpp's converter permutes Llama's query and key rows (its
 * rotary embedding pairs neighbouring dimensions, transformers' pairs the
 * two halves of a head); they are permuted back here.
 *
 * Architectures: llama (Llama 2/3, Mistral, TinyLlama, SmolLM), qwen2, qwen3, gpt2 (whose
 * Conv1D weights llama.cpp's converter transposes: transposed back).  Tensor
 * types: F32, F16, BF16, used in place; the others are refused for now.
 */
#ifndef LM_GGUF_HF_H
#define LM_GGUF_HF_H

#include "formats/gguf.h"
#include "formats/tensor.h"

/*
 * The config (malloc'd JSON) and tensors of g.  The tensors point into g's
 * mapping, which moves to *tensors (g keeps its metadata and may be freed
 * after); permuted tensors live in memory *tensors owns.
 */
int			lm_gguf_as_hf(LmGguf *g, char **config_json, LmTensorSet *tensors, LmError *err);

#endif
