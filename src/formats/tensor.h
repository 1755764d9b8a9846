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
	LM_DTYPE_BOOL
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
size_t		lm_dtype_size(LmDType dtype);

/* Number of elements; the shape was validated when it was read. */
int64_t		lm_tensor_numel(const LmTensor *t);

const LmTensor *lm_tensorset_find(const LmTensorSet *set, const char *name);
void		lm_tensorset_free(LmTensorSet *set);

#endif
