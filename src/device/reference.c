/*
 * reference.c — the device ops over host memory, computed by the engine's
 * CPU kernels.  It exists so that the device models (models/<arch>_device.c)
 * can be checked against the fixtures on any machine: with it, a device
 * model must give what the CPU model gives, and the CUDA module is then
 * only its kernels.
 */
#include "device/device.h"

#include "nn/attention.h"
#include "nn/ops.h"
#include "nn/rope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Reference
{
	char		error[128];
} Reference;

static void *
ref_open(char *why, size_t why_len)
{
	Reference  *r = calloc(1, sizeof(Reference));

	if (r == NULL)
		snprintf(why, why_len, "out of memory");
	return r;
}

static void
ref_close(void *ctx)
{
	free(ctx);
}

static void
ref_describe(void *ctx, char *out, size_t out_len)
{
	snprintf(out, out_len, "host memory, the engine's CPU kernels");
}

static const char *
ref_error(void *ctx)
{
	return ((Reference *) ctx)->error;
}

static void *
ref_alloc(void *ctx, size_t bytes)
{
	void	   *p = calloc(1, bytes);

	if (p == NULL)
		snprintf(((Reference *) ctx)->error, sizeof(((Reference *) ctx)->error),
				 "out of memory for %zu bytes", bytes);
	return p;
}

static void
ref_release(void *ctx, void *buffer)
{
	free(buffer);
}

static int
ref_copy(void *ctx, void *dst, const void *src, size_t bytes)
{
	memmove(dst, src, bytes);
	return 0;
}

static int
ref_sync(void *ctx)
{
	return 0;
}

static int
ref_gather_rows(void *ctx, float *out, const float *table, const int32_t *ids, int n, int dim)
{
	for (int t = 0; t < n; t++)
		memcpy(out + (long) t * dim, table + (long) ids[t] * dim, sizeof(float) * dim);
	return 0;
}

static int
ref_add(void *ctx, float *y, const float *x, long count)
{
	lm_add(y, x, count);
	return 0;
}

static int
ref_scale(void *ctx, float *x, long count, float factor)
{
	for (long i = 0; i < count; i++)
		x[i] *= factor;
	return 0;
}

static int
ref_linear(void *ctx, float *y, const float *x, const float *w, const float *b,
		   int n, int in, int out, int layout, int accumulate)
{
	if (layout == LM_DEVICE_W_IN_OUT)
		lm_linear_io(y, x, w, b, n, in, out, accumulate != 0);
	else
		lm_linear(y, x, w, b, n, in, out, accumulate != 0);
	return 0;
}

static int
ref_layernorm(void *ctx, float *out, const float *x, const float *w, const float *b,
			  int n, int dim, float eps)
{
	lm_layernorm(out, x, w, b, n, dim, eps);
	return 0;
}

static int
ref_rmsnorm(void *ctx, float *out, const float *x, const float *w, int n, int dim, float eps)
{
	lm_rmsnorm(out, x, w, n, dim, eps);
	return 0;
}

static int
ref_activate(void *ctx, float *x, long count, int act)
{
	lm_activate(x, count, (LmActivation) act);
	return 0;
}

static int
ref_gated(void *ctx, float *gate, const float *up, long count, int act)
{
	lm_gated(gate, up, count, (LmActivation) act);
	return 0;
}

static int
ref_rope(void *ctx, float *x, int n, int stride, int n_heads, int head_dim,
		 const float *cos_host, const float *sin_host)
{
	/* lm_rope_apply reads only head_dim from the rope: the tables are given */
	LmRope		rope = {head_dim, NULL};

	lm_rope_apply(&rope, x, n, stride, n_heads, cos_host, sin_host);
	return 0;
}

static int
ref_attention(void *ctx, const LmDeviceAttention *a, float *out, int out_stride,
			  const float *q, int q_stride, const float *k, const float *v, int kv_stride,
			  int n, int n_keys, int first_pos, const uint8_t *key_mask)
{
	LmAttention attn = {a->n_heads, a->n_kv_heads, a->head_dim, a->scale, a->causal != 0};
	float	   *scratch = malloc(sizeof(float) * (size_t) n * n_keys);

	if (scratch == NULL)
	{
		snprintf(((Reference *) ctx)->error, sizeof(((Reference *) ctx)->error),
				 "out of memory for attention scores");
		return -1;
	}
	lm_attention(&attn, out, out_stride, q, q_stride, k, v, kv_stride, n, n_keys, first_pos,
				 key_mask, scratch);
	free(scratch);
	return 0;
}

static int
ref_scatter_rows(void *ctx, float *const *dst, const float *src, int src_stride, int n, int width)
{
	for (int t = 0; t < n; t++)
		memcpy(dst[t], src + (long) t * src_stride, sizeof(float) * width);
	return 0;
}

static int
ref_argmax_rows(void *ctx, int32_t *ids, const float *x, int n, int cols)
{
	for (int t = 0; t < n; t++)
		ids[t] = lm_argmax(x + (long) t * cols, cols);
	return 0;
}

static int
ref_attention_rows(void *ctx, const LmDeviceAttention *a, float *out, int out_stride,
				   const float *q, int q_stride, const float *const *k, const float *const *v,
				   int kv_stride, const int *n_keys, int n)
{
	LmDeviceAttention all = *a;

	all.causal = 0;
	for (int t = 0; t < n; t++)
		if (ref_attention(ctx, &all, out + (long) t * out_stride, out_stride, q + (long) t * q_stride,
						  q_stride, k[t], v[t], kv_stride, 1, n_keys[t], 0, NULL) < 0)
			return -1;
	return 0;
}

static const LmDeviceOps reference_ops = {
	.abi = LM_DEVICE_ABI,
	.kind = "reference",
	.open = ref_open,
	.close = ref_close,
	.describe = ref_describe,
	.error = ref_error,
	.alloc = ref_alloc,
	.release = ref_release,
	.upload = ref_copy,
	.download = ref_copy,
	.copy = ref_copy,
	.sync = ref_sync,
	.gather_rows = ref_gather_rows,
	.add = ref_add,
	.scale = ref_scale,
	.linear = ref_linear,
	.layernorm = ref_layernorm,
	.rmsnorm = ref_rmsnorm,
	.activate = ref_activate,
	.gated = ref_gated,
	.rope = ref_rope,
	.attention = ref_attention,
	.scatter_rows = ref_scatter_rows,
	.attention_rows = ref_attention_rows,
	.argmax_rows = ref_argmax_rows,
};

const LmDeviceOps *
lm_device_reference_ops(void)
{
	return &reference_ops;
}

/* The device's activation numbers are LmActivation's. */
_Static_assert((int) LM_DEVICE_ACT_GELU == (int) LM_ACT_GELU &&
			   (int) LM_DEVICE_ACT_GELU_TANH == (int) LM_ACT_GELU_TANH &&
			   (int) LM_DEVICE_ACT_QUICK_GELU == (int) LM_ACT_QUICK_GELU &&
			   (int) LM_DEVICE_ACT_RELU == (int) LM_ACT_RELU &&
			   (int) LM_DEVICE_ACT_SILU == (int) LM_ACT_SILU, "activation numbers differ");
