/*
 * device_ops.h — the operations a compute device offers the engine's device
 * models (models/<arch>_device.c): buffers in the device's memory and the few
 * kernels a transformer needs.  A plain C table with no engine types, so
 * that a module built apart (the CUDA one, device/cuda/device_cuda.cu, by
 * nvcc into pg_lm_cuda.so) can fill it in; device/reference.c fills it in
 * over host memory with the engine's own kernels, for the tests.
 *
 * Conventions:
 * - Pointers named buffers are device memory from alloc; parameters that
 *   end in _host are host memory the op reads before it returns.
 * - Everything is float32, row-major, rows contiguous unless a stride says
 *   otherwise.  Matrices are uploaded float32 (16-bit weights are widened
 *   by the engine first).
 * - Every op returns 0, or -1 with a message from error(ctx).  Ops run in
 *   order on one queue; download and sync wait for what came before.
 * - A context serves one thread at a time (the engine locks around it).
 */
#ifndef LM_DEVICE_OPS_H
#define LM_DEVICE_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever the table below changes; a module with another is refused. */
#define LM_DEVICE_ABI 3

/* The symbol a device module exports: const LmDeviceOps *lm_device_module(void). */
#define LM_DEVICE_MODULE_SYMBOL "lm_device_module"

/* Activations, the same numbers as LmActivation in nn/ops.h. */
enum
{
	LM_DEVICE_ACT_GELU = 0,		/* x · Φ(x), with erf */
	LM_DEVICE_ACT_GELU_TANH = 1,	/* 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) */
	LM_DEVICE_ACT_QUICK_GELU = 2,	/* x · σ(1.702 x) */
	LM_DEVICE_ACT_RELU = 3,
	LM_DEVICE_ACT_SILU = 4		/* x · σ(x) */
};

/* Weight layouts for linear. */
enum
{
	LM_DEVICE_W_OUT_IN = 0,		/* w[out][in], torch.nn.Linear */
	LM_DEVICE_W_IN_OUT = 1		/* w[in][out], GPT-2's Conv1D */
};

typedef struct LmDeviceAttention
{
	int			n_heads;		/* query heads */
	int			n_kv_heads;		/* divides n_heads; query head h reads kv head h / (n_heads / n_kv_heads) */
	int			head_dim;
	float		scale;			/* scores are scale · q · k */
	int			causal;			/* query i sees keys 0 .. first_pos + i only */
} LmDeviceAttention;

typedef struct LmDeviceOps
{
	int			abi;			/* LM_DEVICE_ABI */
	const char *kind;			/* "cuda", "reference" */

	/* A context on the first usable device, or NULL with the reason in why. */
	void	   *(*open) (char *why, size_t why_len);
	void		(*close) (void *ctx);
	/* The device in words, e.g. "NVIDIA H100 80GB HBM3, 79.1 GiB, CUDA 13.0". */
	void		(*describe) (void *ctx, char *out, size_t out_len);
	/* The message of the last failed op. */
	const char *(*error) (void *ctx);

	/* ---- memory ---- */
	void	   *(*alloc) (void *ctx, size_t bytes);	/* zeroed; NULL on failure */
	void		(*release) (void *ctx, void *buffer);	/* NULL is fine */
	int			(*upload) (void *ctx, void *buffer, const void *src_host, size_t bytes);
	int			(*download) (void *ctx, void *dst_host, const void *buffer, size_t bytes);
	int			(*copy) (void *ctx, void *dst, const void *src, size_t bytes);
	int			(*sync) (void *ctx);

	/* ---- kernels ---- */

	/* out[t][0..dim) = table[ids_host[t]][0..dim) for t < n (embedding rows). */
	int			(*gather_rows) (void *ctx, float *out, const float *table,
								const int32_t *ids_host, int n, int dim);

	/* y[i] += x[i] for i < count. */
	int			(*add) (void *ctx, float *y, const float *x, long count);

	/* x[i] *= factor for i < count. */
	int			(*scale) (void *ctx, float *x, long count, float factor);

	/*
	 * y[n][out] = x[n][in] · Wᵀ + b (b may be NULL), W in the given layout;
	 * with accumulate != 0 the result is added to y instead.  This is the
	 * GEMM (cuBLAS); float32 arithmetic, no TF32.
	 */
	int			(*linear) (void *ctx, float *y, const float *x, const float *w,
						   const float *b, int n, int in, int out, int layout, int accumulate);

	/* out = (x - mean) / sqrt(var + eps) · w + b over each of n rows of dim (b may be NULL). */
	int			(*layernorm) (void *ctx, float *out, const float *x, const float *w,
							  const float *b, int n, int dim, float eps);

	/* out = x / sqrt(mean(x²) + eps) · w over each of n rows of dim. */
	int			(*rmsnorm) (void *ctx, float *out, const float *x, const float *w,
							int n, int dim, float eps);

	/* x[i] = act(x[i]) for i < count (LM_DEVICE_ACT_*). */
	int			(*activate) (void *ctx, float *x, long count, int act);

	/* gate[i] = act(gate[i]) · up[i] for i < count (SwiGLU). */
	int			(*gated) (void *ctx, float *gate, const float *up, long count, int act);

	/*
	 * Rotary embeddings, "rotate half" layout, in place: for each of n rows
	 * (row t at x + t · stride) and each of n_heads heads of head_dim,
	 * dimension i < head_dim/2 pairs with i + head_dim/2:
	 *   x'[i]      = x[i] · cos[t][i] - x[i + h/2] · sin[t][i]
	 *   x'[i + h/2] = x[i + h/2] · cos[t][i] + x[i] · sin[t][i]
	 * cos_host and sin_host are [n][head_dim / 2] (each row its own position).
	 */
	int			(*rope) (void *ctx, float *x, int n, int stride, int n_heads, int head_dim,
						 const float *cos_host, const float *sin_host);

	/*
	 * out[i] = Σ_j softmax_j(scale · q_i · k_j) v_j per head, as
	 * lm_attention in nn/attention.h: q has n rows of q_stride floats (head
	 * h at column h · head_dim), k and v n_keys rows of kv_stride floats,
	 * out n rows of out_stride floats laid out as q.  Causal: query i sees
	 * keys 0 .. first_pos + i.  key_mask_host: NULL or n_keys bytes, 0 for
	 * padding no query attends to; a query that sees no key gets zeros.
	 * The softmax subtracts the row's maximum first.
	 */
	int			(*attention) (void *ctx, const LmDeviceAttention *a, float *out, int out_stride,
							  const float *q, int q_stride, const float *k, const float *v,
							  int kv_stride, int n, int n_keys, int first_pos,
							  const uint8_t *key_mask_host);

	/*
	 * Sequences decoded together, one row each, in one launch rather than
	 * one per sequence.  scatter_rows: row t of src (src + t · src_stride,
	 * width floats) to dst_host[t], for t < n (device pointers listed in
	 * host memory: each sequence's cache row).
	 */
	int			(*scatter_rows) (void *ctx, float *const *dst_host, const float *src,
								 int src_stride, int n, int width);

	/*
	 * attention_rows: row t of q (n rows) attends to all of the first
	 * n_keys_host[t] rows of its own keys and values, k_host[t] and
	 * v_host[t] (device pointers listed in host memory, rows of kv_stride
	 * floats); out as attention's.  a->causal is not read: every key given
	 * is visible (the row is its sequence's last position).
	 */
	int			(*attention_rows) (void *ctx, const LmDeviceAttention *a, float *out, int out_stride,
								   const float *q, int q_stride, const float *const *k_host,
								   const float *const *v_host, int kv_stride,
								   const int *n_keys_host, int n);

	/*
	 * Greedy decoding's pick on the device, so that only the ids come back
	 * to the host: ids_host[t] = the index of the largest of the cols floats
	 * of row t of x (x + t · cols), for t < n, as a scan from index 0 that
	 * keeps the first of equal values finds it (NaN is never larger; a row
	 * that starts with NaN gives 0), exactly as lm_argmax in nn/ops.h.
	 */
	int			(*argmax_rows) (void *ctx, int32_t *ids_host, const float *x, int n, int cols);
} LmDeviceOps;

#endif
