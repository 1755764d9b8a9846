/*
 * quantize_model.h — quantizing a model's float weights at import.
 *
 * What is quantized: the 2-D ".weight" tensors in F32, F16 or BF16 whose
 * inputs are whole blocks — the matrices of the linear layers and the
 * embeddings, as llama-quantize does; norms, biases and odd shapes stay.
 * A weight stored [in][out] (GPT-2's Conv1D) is transposed first, since a
 * quantized matrix is always [out][in] (nn/quant.h).
 */
#ifndef LM_NN_QUANTIZE_MODEL_H
#define LM_NN_QUANTIZE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/tensor.h"
#include "util/lm_error.h"

/*
 * Is t quantized to `to` in a model of this architecture; transposed first?
 * conv1d_out_in: GPT-2's Conv1D weights are already [out][in] (a GGUF file's).
 */
bool		lm_quantize_wanted(const char *architecture, bool conv1d_out_in, const LmTensor *t, LmDType to,
							   bool *transpose);

/* Bytes of t quantized (its shape then [out][in]). */
uint64_t	lm_quantized_bytes(const LmTensor *t, LmDType to, bool transpose);

/* out = t (its data in memory) quantized; only Q8_0 so far.  -1 with err when cancelled. */
int			lm_quantize_tensor(const LmTensor *t, LmDType to, bool transpose, void *out, LmError *err);

#endif
