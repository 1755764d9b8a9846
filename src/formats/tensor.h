/*
 * tensor.h — named tensors as the engine sees them: a dtype, a shape and a
 * pointer to the bytes (which a tensor set may or may not own).
 */
#ifndef LM_TENSOR_H
#define LM_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

#define LM_MAX_DIMS 8

typedef enum LmDType
{
	LM_DTYPE_F32,
	LM_DTYPE_F16,
	LM_DTYPE_BF16,
	LM_DTYPE_F64,
	LM_DTYPE_I64,
	LM_DTYPE_I32,
	LM_DTYPE_I16,
	LM_DTYPE_I8,
	LM_DTYPE_U8,
	LM_DTYPE_BOOL,
	/* llama.cpp's block-quantized weights (src/nn/quant.h has their layouts) */
	LM_DTYPE_Q8_0,
	LM_DTYPE_Q4_0,
	LM_DTYPE_Q4_1,
	LM_DTYPE_Q5_0,
	LM_DTYPE_Q5_1,
	LM_DTYPE_Q4_K,
	LM_DTYPE_Q5_K,
	LM_DTYPE_Q6_K
} LmDType;

typedef struct LmTensor
{
	char	   *name;
	LmDType		dtype;
	int			ndim;
	int64_t		shape[LM_MAX_DIMS];
	uint64_t	offset;			/* byte offset in its file's data section */
	uint64_t	nbytes;
	const void *data;			/* NULL until the bytes are loaded */
} LmTensor;

typedef struct LmTensorSet
{
	size_t		n;
	LmTensor   *tensors;
	void	   *owned_block;	/* freed with the set, when not NULL */
	void	   *mapping;		/* a mapped file the tensors point into: unmapped with the set */
	size_t		mapping_len;
} LmTensorSet;

const char *lm_dtype_name(LmDType dtype);
/* -1 (with err) for a name we do not know. */
int			lm_dtype_from_name(const char *name, LmDType *dtype, LmError *err);
/* Bytes of one element; 0 for the quantized types, whose elements share blocks. */
size_t		lm_dtype_size(LmDType dtype);

/* Elements per block: 1 for the plain types, 32 or 256 for the quantized ones. */
int			lm_dtype_block(LmDType dtype);
static inline bool
lm_dtype_is_quantized(LmDType dtype)
{
	return lm_dtype_block(dtype) > 1;
}

/*
 * Bytes of a row of `count` elements (a tensor's last dimension), or 0 when
 * count is not a whole number of blocks.
 */
size_t		lm_dtype_row_bytes(LmDType dtype, int64_t count);

/*
 * Bytes of the tensor as its shape and dtype say; false when a quantized
 * tensor's rows are not whole blocks or the size overflows.
 */
bool		lm_tensor_bytes(const LmTensor *t, uint64_t *bytes);

/* Number of elements; the shape was validated when it was read. */
int64_t		lm_tensor_numel(const LmTensor *t);

const LmTensor *lm_tensorset_find(const LmTensorSet *set, const char *name);
void		lm_tensorset_free(LmTensorSet *set);

#endif
