/*
 * weights.c — shape-checked float32 views of named tensors (see weights.h).
 */
#include "nn/weights.h"

#include "nn/quant.h"
#include "nn/simd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
lm_weights_init(LmWeightStore *ws, const LmTensorSet *set)
{
	memset(ws, 0, sizeof(*ws));
	ws->set = set;
}

void
lm_weights_free(LmWeightStore *ws)
{
	for (int i = 0; i < ws->n_owned; i++)
		free(ws->owned[i]);
	free(ws->owned);
	memset(ws, 0, sizeof(*ws));
}

float
lm_f16_to_f32(uint16_t h)
{
	return f16_to_f32(h);
}

float
lm_bf16_to_f32(uint16_t b)
{
	uint32_t	bits = (uint32_t) b << 16;
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

bool
lm_weights_has(const LmWeightStore *ws, const char *fmt,...)
{
	char		name[LM_WEIGHT_NAME_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return lm_tensorset_find(ws->set, name) != NULL;
}

static void
format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t		used = 0;

	used += snprintf(buf, size, "[");
	for (int i = 0; i < ndim && used < size; i++)
		used += snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
						 (long long) shape[i]);
	if (used < size)
		snprintf(buf + used, size - used, "]");
}

/* Remember a converted copy so that the store frees it. */
static int
keep_owned(LmWeightStore *ws, void *p, LmError *err)
{
	if (ws->n_owned == ws->cap_owned)
	{
		int			cap = ws->cap_owned ? 2 * ws->cap_owned : 32;
		void	  **grown = lm_realloc(ws->owned, cap * sizeof(void *), err);

		if (grown == NULL)
			return -1;
		ws->owned = grown;
		ws->cap_owned = cap;
	}
	ws->owned[ws->n_owned++] = p;
	return 0;
}

/* Look up and check the shape and size; NULL with err when they are wrong. */
static const LmTensor *
find_checked(LmWeightStore *ws, const char *name, int ndim, const int64_t *shape,
			 LmError *err)
{
	const LmTensor *t = lm_tensorset_find(ws->set, name);
	int64_t		numel = 1;
	uint64_t	bytes;
	bool		same = true;

	if (t == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "tensor \"%s\" is missing from the checkpoint", name);
		lm_hint(err, "The config.json describes an architecture whose weights are not all present.");
		return NULL;
	}
	if (t->ndim != ndim)
		same = false;
	for (int i = 0; same && i < ndim; i++)
		if (t->shape[i] != shape[i])
			same = false;
	if (!same)
	{
		char		got[128];
		char		want[128];

		format_shape(got, sizeof(got), t->ndim, t->shape);
		format_shape(want, sizeof(want), ndim, shape);
		lm_fail(err, LM_ERR_CORRUPT, "tensor \"%s\" has shape %s, expected %s",
				name, got, want);
		lm_hint(err, "The weights do not agree with the dimensions in config.json.");
		return NULL;
	}
	for (int i = 0; i < ndim; i++)
		numel *= shape[i];
	if (t->dtype != LM_DTYPE_F32 && t->dtype != LM_DTYPE_F16 &&
		t->dtype != LM_DTYPE_BF16 && t->dtype != LM_DTYPE_F64 && !lm_dtype_is_quantized(t->dtype))
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "tensor \"%s\" has dtype %s, which is not a floating-point type",
				name, lm_dtype_name(t->dtype));
		lm_hint(err, "Weights must be F32, F16, BF16, F64 or one of the quantized types.");
		return NULL;
	}
	if (t->data == NULL || !lm_tensor_bytes(t, &bytes) || t->nbytes != bytes)
	{
		lm_fail(err, LM_ERR_CORRUPT, "tensor \"%s\" has %llu bytes of data, expected %lld elements of %s",
				name, (unsigned long long) t->nbytes, (long long) numel,
				lm_dtype_name(t->dtype));
		if (lm_dtype_is_quantized(t->dtype))
			lm_hint(err, "A %s tensor's rows hold whole blocks of %d elements.",
					lm_dtype_name(t->dtype), lm_dtype_block(t->dtype));
		return NULL;
	}
	ws->n_params += numel;
	return t;
}

/* Look up, check the shape, convert when needed. */
static const float *
get_weight(LmWeightStore *ws, const char *name, int ndim, const int64_t *shape,
		   LmError *err)
{
	const LmTensor *t = find_checked(ws, name, ndim, shape, err);
	int64_t		numel;
	float	   *out;

	if (t == NULL)
		return NULL;
	numel = lm_tensor_numel(t);
	if (t->dtype == LM_DTYPE_F32 && ((uintptr_t) t->data % sizeof(float)) == 0)
		return (const float *) t->data;
	out = lm_malloc((size_t) numel * sizeof(float), err);
	if (out == NULL)
		return NULL;
	if (keep_owned(ws, out, err) < 0)
	{
		free(out);
		return NULL;
	}

	if (lm_dtype_is_quantized(t->dtype))
	{
		/* whole rows of blocks (aligned for the block's float16 scales) */
		void	   *aligned = (uintptr_t) t->data % sizeof(uint16_t) == 0 ? NULL : lm_malloc(t->nbytes, err);

		if ((uintptr_t) t->data % sizeof(uint16_t) != 0 && aligned == NULL)
			return NULL;
		if (aligned != NULL)
			memcpy(aligned, t->data, t->nbytes);
		lm_dequantize(aligned != NULL ? aligned : t->data, t->dtype, numel, out);
		free(aligned);
		return out;
	}

	/* Element by element through memcpy: the source may be unaligned. */
	{
		const uint8_t *src = t->data;

		for (int64_t i = 0; i < numel; i++)
		{
			switch (t->dtype)
			{
				case LM_DTYPE_F32:
					memcpy(&out[i], src + 4 * i, 4);
					break;
				case LM_DTYPE_F16:
				case LM_DTYPE_BF16:
					{
						uint16_t	h;

						memcpy(&h, src + 2 * i, 2);
						out[i] = t->dtype == LM_DTYPE_F16 ? lm_f16_to_f32(h) : lm_bf16_to_f32(h);
						break;
					}
				case LM_DTYPE_F64:
					{
						double		d;

						memcpy(&d, src + 8 * i, 8);
						out[i] = (float) d;
						break;
					}
				default:
					break;
			}
		}
	}
	return out;
}

const float *
lm_weight_1d(LmWeightStore *ws, LmError *err, int64_t d0, const char *fmt,...)
{
	char		name[LM_WEIGHT_NAME_MAX];
	int64_t		shape[1] = {d0};
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return get_weight(ws, name, 1, shape, err);
}

const float *
lm_weight_2d(LmWeightStore *ws, LmError *err, int64_t d0, int64_t d1, const char *fmt,...)
{
	char		name[LM_WEIGHT_NAME_MAX];
	int64_t		shape[2] = {d0, d1};
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return get_weight(ws, name, 2, shape, err);
}

static const LmMatrix *
weight_matrix(LmWeightStore *ws, LmError *err, int64_t d0, int64_t d1, const char *name)
{
	int64_t		shape[2] = {d0, d1};
	const LmTensor *t;
	LmMatrix   *m;

	if ((t = find_checked(ws, name, 2, shape, err)) == NULL)
		return NULL;
	if ((m = lm_malloc(sizeof(LmMatrix), err)) == NULL)
		return NULL;
	if (keep_owned(ws, m, err) < 0)
	{
		free(m);
		return NULL;
	}
	m->rows = (int) d0;
	m->cols = (int) d1;
	m->out_in = false;
	m->dtype = t->dtype;
	m->data = t->data;
	if ((t->dtype == LM_DTYPE_F16 || t->dtype == LM_DTYPE_BF16 || lm_dtype_is_quantized(t->dtype)) &&
		(uintptr_t) t->data % sizeof(uint16_t) != 0)
	{
		/* unaligned 16-bit data or blocks: an aligned copy, as stored */
		void	   *copy = lm_malloc(t->nbytes, err);

		if (copy == NULL)
			return NULL;
		if (keep_owned(ws, copy, err) < 0)
		{
			free(copy);
			return NULL;
		}
		memcpy(copy, t->data, t->nbytes);
		m->data = copy;
	}
	else if (t->dtype == LM_DTYPE_F32 || t->dtype == LM_DTYPE_F64)
	{
		/* float32 in place when aligned, else converted; F64 converted */
		ws->n_params -= d0 * d1;	/* get_weight counts it again */
		m->dtype = LM_DTYPE_F32;
		m->data = get_weight(ws, name, 2, shape, err);
		if (m->data == NULL)
			return NULL;
	}
	return m;
}

const LmMatrix *
lm_weight_matrix(LmWeightStore *ws, LmError *err, int64_t d0, int64_t d1, const char *fmt,...)
{
	char		name[LM_WEIGHT_NAME_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return weight_matrix(ws, err, d0, d1, name);
}

const LmMatrix *
lm_weight_matrix_io(LmWeightStore *ws, LmError *err, int64_t in, int64_t out, const char *fmt,...)
{
	char		name[LM_WEIGHT_NAME_MAX];
	const LmTensor *t;
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	t = lm_tensorset_find(ws->set, name);
	if (t != NULL && (lm_dtype_is_quantized(t->dtype) || ws->conv1d_out_in))
	{
		LmMatrix   *m = (LmMatrix *) weight_matrix(ws, err, out, in, name);

		if (m != NULL)
			m->out_in = true;
		return m;
	}
	return weight_matrix(ws, err, in, out, name);
}
