/*
 * tensor.c — dtype names and sizes, tensor-set lookup and cleanup.
 */
#include "formats/tensor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const struct
{
	const char *name;
	size_t		size;
}			dtype_info[] = {
	[LM_DTYPE_F32] = {"F32", 4},
	[LM_DTYPE_F16] = {"F16", 2},
	[LM_DTYPE_BF16] = {"BF16", 2},
	[LM_DTYPE_F64] = {"F64", 8},
	[LM_DTYPE_I64] = {"I64", 8},
	[LM_DTYPE_I32] = {"I32", 4},
	[LM_DTYPE_I16] = {"I16", 2},
	[LM_DTYPE_I8] = {"I8", 1},
	[LM_DTYPE_U8] = {"U8", 1},
	[LM_DTYPE_BOOL] = {"BOOL", 1},
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
	lm_hint(err, "Supported dtypes are F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL.");
	return -1;
}

size_t
lm_dtype_size(LmDType dtype)
{
	return (size_t) dtype < N_DTYPES ? dtype_info[dtype].size : 0;
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
