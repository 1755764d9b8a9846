/*
 * tensor.c — dtype names and sizes, tensor-set lookup and cleanup.
 */
#include "formats/tensor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const struct
{
	const char *name;
	size_t		size;			/* bytes of one block */
	int			block;			/* elements of one block */
}			dtype_info[] = {
	[LM_DTYPE_F32] = {"F32", 4, 1},
	[LM_DTYPE_F16] = {"F16", 2, 1},
	[LM_DTYPE_BF16] = {"BF16", 2, 1},
	[LM_DTYPE_F64] = {"F64", 8, 1},
	[LM_DTYPE_I64] = {"I64", 8, 1},
	[LM_DTYPE_I32] = {"I32", 4, 1},
	[LM_DTYPE_I16] = {"I16", 2, 1},
	[LM_DTYPE_I8] = {"I8", 1, 1},
	[LM_DTYPE_U8] = {"U8", 1, 1},
	[LM_DTYPE_BOOL] = {"BOOL", 1, 1},
	/* llama.cpp's layouts (ggml-common.h): scales in float16 */
	[LM_DTYPE_Q8_0] = {"Q8_0", 34, 32},
	[LM_DTYPE_Q4_0] = {"Q4_0", 18, 32},
	[LM_DTYPE_Q4_1] = {"Q4_1", 20, 32},
	[LM_DTYPE_Q5_0] = {"Q5_0", 22, 32},
	[LM_DTYPE_Q5_1] = {"Q5_1", 24, 32},
	[LM_DTYPE_Q4_K] = {"Q4_K", 144, 256},
	[LM_DTYPE_Q5_K] = {"Q5_K", 176, 256},
	[LM_DTYPE_Q6_K] = {"Q6_K", 210, 256},
};

#define N_DTYPES (sizeof(dtype_info) / sizeof(dtype_info[0]))

const char *
lm_dtype_name(LmDType dtype)
{
	return (size_t) dtype < N_DTYPES ? dtype_info[dtype].name : "?";
}

int
lm_dtype_from_name(const char *name, LmDType *dtype, LmError *err)
{
	for (size_t i = 0; i < N_DTYPES; i++)
	{
		if (strcmp(name, dtype_info[i].name) == 0)
		{
			*dtype = (LmDType) i;
			return 0;
		}
	}
	lm_fail(err, LM_ERR_UNSUPPORTED, "unsupported dtype \"%.64s\"", name);
	lm_hint(err, "Supported dtypes are F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL "
			"and the quantized Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K.");
	return -1;
}

size_t
lm_dtype_size(LmDType dtype)
{
	return (size_t) dtype < N_DTYPES && dtype_info[dtype].block == 1 ? dtype_info[dtype].size : 0;
}

int
lm_dtype_block(LmDType dtype)
{
	return (size_t) dtype < N_DTYPES ? dtype_info[dtype].block : 1;
}

size_t
lm_dtype_row_bytes(LmDType dtype, int64_t count)
{
	int			block = lm_dtype_block(dtype);

	if ((size_t) dtype >= N_DTYPES || count < 0 || count % block != 0)
		return 0;
	return (size_t) (count / block) * dtype_info[dtype].size;
}

bool
lm_tensor_bytes(const LmTensor *t, uint64_t *bytes)
{
	int64_t		last = t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
	int64_t		rows = 1;
	size_t		row_bytes;

	for (int i = 0; i < t->ndim - 1; i++)
	{
		if (t->shape[i] < 0 || (t->shape[i] > 0 && rows > INT64_MAX / t->shape[i]))
			return false;
		rows *= t->shape[i];
	}
	if (last < 0 || (last > 0 && (size_t) (last / lm_dtype_block(t->dtype)) > SIZE_MAX / 1024))
		return false;
	row_bytes = lm_dtype_row_bytes(t->dtype, last);
	if (row_bytes == 0 && last != 0)
		return false;
	if (rows > 0 && row_bytes > (uint64_t) INT64_MAX / (uint64_t) rows)
		return false;
	*bytes = (uint64_t) rows * row_bytes;
	return true;
}

int64_t
lm_tensor_numel(const LmTensor *t)
{
	int64_t		n = 1;

	for (int i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

const LmTensor *
lm_tensorset_find(const LmTensorSet *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->tensors[i].name, name) == 0)
			return &set->tensors[i];
	return NULL;
}

void
lm_tensorset_free(LmTensorSet *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->tensors[i].name);
	free(set->tensors);
	free(set->owned_block);
	if (set->mapping != NULL)
		munmap(set->mapping, set->mapping_len);
	memset(set, 0, sizeof(*set));
}
