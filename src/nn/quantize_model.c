/*
 * quantize_model.c — a model's float weight matrices quantized at import
 * (lm_import(..., quantize => 'q8_0')), as llama-quantize would.
 */
#include "nn/quantize_model.h"

#include <stdlib.h>
#include <string.h>

#include "nn/matrix.h"
#include "nn/quant.h"

/* GPT-2's Conv1D weights, stored [in][out] (but for a GGUF file's): quantized as their transpose. */
static bool
conv1d_weight(const char *architecture, const char *name)
{
	static const char *const suffixes[] = {
		"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"
	};
	size_t		len = strlen(name);

	if (strcmp(architecture, "gpt2") != 0)
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
	{
		size_t		n = strlen(suffixes[i]);

		if (len >= n && strcmp(name + len - n, suffixes[i]) == 0)
			return true;
	}
	return false;
}

bool
lm_quantize_wanted(const char *architecture, bool conv1d_out_in, const LmTensor *t, LmDType to, bool *transpose)
{
	size_t		len = strlen(t->name);
	int64_t		inputs;

	*transpose = false;
	if (t->ndim != 2 || len < 7 || strcmp(t->name + len - 7, ".weight") != 0)
		return false;
	if (t->dtype != LM_DTYPE_F32 && t->dtype != LM_DTYPE_F16 && t->dtype != LM_DTYPE_BF16)
		return false;
	*transpose = !conv1d_out_in && conv1d_weight(architecture, t->name);
	inputs = *transpose ? t->shape[0] : t->shape[1];
	return inputs > 0 && inputs % lm_dtype_block(to) == 0 && t->shape[0] > 0 && t->shape[1] > 0 &&
		inputs <= INT32_MAX && (*transpose ? t->shape[1] : t->shape[0]) <= INT32_MAX;
}

uint64_t
lm_quantized_bytes(const LmTensor *t, LmDType to, bool transpose)
{
	int64_t		rows = transpose ? t->shape[1] : t->shape[0];
	int64_t		cols = transpose ? t->shape[0] : t->shape[1];

	return (uint64_t) rows * lm_dtype_row_bytes(to, cols);
}

int
lm_quantize_tensor(const LmTensor *t, LmDType to, bool transpose, void *out, LmError *err)
{
	int64_t		rows = transpose ? t->shape[1] : t->shape[0];
	int64_t		cols = transpose ? t->shape[0] : t->shape[1];
	size_t		row_bytes = lm_dtype_row_bytes(to, cols);
	float	   *wide;
	float	   *row;

	if (to != LM_DTYPE_Q8_0)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "quantizing to %s is not supported", lm_dtype_name(to));
	/* the transpose needs the whole matrix in float32; else a row at a time */
	if ((wide = lm_malloc(sizeof(float) * (transpose ? (size_t) rows * cols : (size_t) cols), err)) == NULL)
		return -1;
	if ((row = lm_malloc(sizeof(float) * (size_t) cols, err)) == NULL)
	{
		free(wide);
		return -1;
	}
	if (transpose)
		lm_widen(t->data, t->dtype, (long) (rows * cols), wide);
	for (int64_t r = 0; r < rows; r++)
	{
		if (transpose)
			for (int64_t c = 0; c < cols; c++)
				row[c] = wide[c * rows + r];
		else
			lm_widen((const char *) t->data + (size_t) r * cols * lm_dtype_size(t->dtype), t->dtype,
					 (long) cols, row);
		lm_quantize_q8_0(row, (long) cols, (char *) out + (size_t) r * row_bytes);
		if (lm_check_cancel(err) != 0)
		{
			free(wide);
			free(row);
			return -1;
		}
	}
	free(wide);
	free(row);
	return 0;
}
