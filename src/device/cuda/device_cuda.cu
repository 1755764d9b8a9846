/*
 * device_cuda.cu — the device operations of device_ops.h on an NVIDIA GPU,
 * with the CUDA runtime and cuBLAS.  Built apart by nvcc into pg_lm_cuda.so,
 * which the server dlopen()s; its one exported symbol is lm_device_module.
 *
 * One context holds device 0, one non-blocking stream that every op is
 * queued on (so ops run in the order they are called), a cuBLAS handle on
 * that stream, and a device scratch area for the small arguments an op
 * takes from host memory (token ids, rotary tables, key masks).
 *
 * Arithmetic is float32 throughout: cuBLAS runs in its default math mode,
 * which never uses TF32, and reductions are done in float.
 */
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C"
{
#include "device/device_ops.h"
}

#define ERROR_LEN 512
#define DESCRIPTION_LEN 640		/* room for the longest name snprintf can see */

/* Threads per block: elementwise kernels, normalisation rows, attention. */
#define ELEMENTWISE_THREADS 256
#define ATTENTION_THREADS 256

/* Elementwise kernels loop over the rest with a grid stride past this. */
#define MAX_BLOCKS 65536L

/* Dynamic shared memory any kernel may use without opting in. */
#define DEFAULT_SHARED_BYTES (48 * 1024)

/* The largest attention head (q and partial sums stay well within 48 KiB). */
#define MAX_HEAD_DIM 4096

/* Attention scores kept in global memory, when they don't fit shared: at most this many floats. */
#define GLOBAL_SCORES_FLOATS (16L * 1024 * 1024)

typedef struct CudaContext
{
	int			device;			/* 0, every host thread's default: no op needs cudaSetDevice */
	cudaStream_t stream;
	cublasHandle_t blas;
	void	   *scratch;		/* device memory for arguments from the host */
	size_t		scratch_bytes;
	size_t		shared_optin;	/* most shared memory a block may opt in to */
	size_t		attention_static;	/* attention_kernel's static shared memory */
	size_t		attention_shared;	/* what attention_kernel is opted in to so far */
	char		description[DESCRIPTION_LEN];
	char		error[ERROR_LEN];
} CudaContext;

/* ---- errors ---------------------------------------------------------------- */

static int
fail(CudaContext *ctx, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* 0, or -1 with "op: what: the CUDA error". */
static int
check_cuda(CudaContext *ctx, cudaError_t status, const char *op, const char *what)
{
	if (status == cudaSuccess)
		return 0;
	/* reset the runtime's last error, lest the next launch check report it again */
	(void) cudaGetLastError();
	return fail(ctx, "%s: %s: %s", op, what, cudaGetErrorString(status));
}

/* After a kernel launch: a bad configuration or an earlier fault shows here. */
static int
check_launch(CudaContext *ctx, const char *op)
{
	return check_cuda(ctx, cudaGetLastError(), op, "kernel launch");
}

static int
check_cublas(CudaContext *ctx, cublasStatus_t status, const char *op, const char *what)
{
	if (status == CUBLAS_STATUS_SUCCESS)
		return 0;
	return fail(ctx, "%s: %s: cuBLAS status %d", op, what, (int) status);
}

/* ---- host arguments ------------------------------------------------------- */

/*
 * Copy host memory to the device, in stream order, such that the host
 * memory may be reused as soon as this returns.  From pageable memory (what
 * malloc gives) cudaMemcpyAsync returns only once it has staged the source;
 * from page-locked memory it does not, so then wait for the copy.
 */
static int
from_host(CudaContext *ctx, void *dst, const void *src, size_t bytes, const char *op)
{
	cudaPointerAttributes attributes;

	if (check_cuda(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream),
				   op, "copy from the host"))
		return -1;
	if (cudaPointerGetAttributes(&attributes, src) != cudaSuccess)
	{
		(void) cudaGetLastError();
		return 0;
	}
	if (attributes.type == cudaMemoryTypeHost || attributes.type == cudaMemoryTypeManaged)
		return check_cuda(ctx, cudaStreamSynchronize(ctx->stream), op, "copy from the host");
	return 0;
}

/*
 * At least `bytes` of device scratch, or NULL.  Kernels queued earlier may
 * still read the old area, so wait for them before freeing it.
 */
static void *
scratch_reserve(CudaContext *ctx, size_t bytes, const char *op)
{
	size_t		size;
	void	   *area = NULL;

	if (bytes <= ctx->scratch_bytes)
		return ctx->scratch;
	if (check_cuda(ctx, cudaStreamSynchronize(ctx->stream), op, "scratch"))
		return NULL;
	if (ctx->scratch != NULL)
	{
		cudaFree(ctx->scratch);
		ctx->scratch = NULL;
		ctx->scratch_bytes = 0;
	}
	for (size = 64 * 1024; size < bytes; size *= 2)
		;
	if (check_cuda(ctx, cudaMalloc(&area, size), op, "scratch"))
		return NULL;
	ctx->scratch = area;
	ctx->scratch_bytes = size;
	return area;
}

/* Scratch offsets: each part starts on a 256-byte boundary. */
static size_t
align_up(size_t bytes)
{
	return (bytes + 255) & ~(size_t) 255;
}

static unsigned int
elementwise_blocks(long count)
{
	long		blocks = (count + ELEMENTWISE_THREADS - 1) / ELEMENTWISE_THREADS;

	return (unsigned int) (blocks < MAX_BLOCKS ? blocks : MAX_BLOCKS);
}

/* ---- reductions ------------------------------------------------------------- */

__device__ __forceinline__ float
warp_sum(float v)
{
	for (int offset = 16; offset > 0; offset >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, offset);
	return v;
}

__device__ __forceinline__ float
warp_max(float v)
{
	for (int offset = 16; offset > 0; offset >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
	return v;
}

/*
 * The sum (or maximum) of v over the block, returned to every thread.
 * Every thread must call it; blockDim.x is a multiple of 32.  shared holds
 * 33 floats; the leading barrier lets a block call this again at once.
 */
template <bool MAX>
__device__ float
block_reduce(float v, float *shared)
{
	int			lane = threadIdx.x & 31;
	int			warp = threadIdx.x >> 5;
	int			n_warps = blockDim.x >> 5;

	v = MAX ? warp_max(v) : warp_sum(v);
	__syncthreads();
	if (lane == 0)
		shared[warp] = v;
	__syncthreads();
	if (warp == 0)
	{
		float		identity = MAX ? -INFINITY : 0.0f;
		float		w = lane < n_warps ? shared[lane] : identity;

		w = MAX ? warp_max(w) : warp_sum(w);
		if (lane == 0)
			shared[32] = w;
	}
	__syncthreads();
	return shared[32];
}

/* ---- elementwise kernels ------------------------------------------------------ */

#define GELU_TANH_SCALE 0.7978845608028654f
#define GELU_TANH_CUBIC 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define QUICK_GELU_SCALE 1.702f

template <int ACT>
__device__ __forceinline__ float
activation(float x)
{
	switch (ACT)
	{
		case LM_DEVICE_ACT_GELU:
			return 0.5f * x * (1.0f + erff(x * INV_SQRT2));
		case LM_DEVICE_ACT_GELU_TANH:
			return 0.5f * x * (1.0f + tanhf(GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * x * x * x)));
		case LM_DEVICE_ACT_QUICK_GELU:
			return x / (1.0f + expf(-QUICK_GELU_SCALE * x));
		case LM_DEVICE_ACT_RELU:
			return x > 0.0f ? x : 0.0f;
		case LM_DEVICE_ACT_SILU:
			return x / (1.0f + expf(-x));
	}
	return x;
}

/* x[i] = act(x[i]), or act(x[i]) · up[i] where up is given. */
template <int ACT>
__global__ void
activate_kernel(float *x, const float *up, long count)
{
	long		step = (long) gridDim.x * blockDim.x;

	for (long i = (long) blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step)
	{
		float		a = activation<ACT>(x[i]);

		x[i] = up != NULL ? a * up[i] : a;
	}
}

__global__ void
add_kernel(float *y, const float *x, long count)
{
	long		step = (long) gridDim.x * blockDim.x;

	for (long i = (long) blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step)
		y[i] += x[i];
}

__global__ void
scale_kernel(float *x, long count, float factor)
{
	long		step = (long) gridDim.x * blockDim.x;

	for (long i = (long) blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step)
		x[i] *= factor;
}

/* y[r][j] += b[j] over n rows of `out`. */
__global__ void
bias_kernel(float *y, const float *b, long count, int out)
{
	long		step = (long) gridDim.x * blockDim.x;

	for (long i = (long) blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step)
		y[i] += b[i % out];
}

/* One block per row t: out[t] = table[ids[t]]. */
__global__ void
gather_kernel(float *out, const float *table, const int32_t *ids, int dim)
{
	const float *src = table + (long) ids[blockIdx.x] * dim;
	float	   *dst = out + (long) blockIdx.x * dim;

	for (int j = threadIdx.x; j < dim; j += blockDim.x)
		dst[j] = src[j];
}

/* One block per row t; threads take (head, i) pairs of the rotation. */
__global__ void
rope_kernel(float *x, int stride, int n_heads, int head_dim,
			const float *cos_table, const float *sin_table)
{
	int			half = head_dim / 2;
	int			t = blockIdx.x;
	float	   *row = x + (long) t * stride;
	const float *c = cos_table + (long) t * half;
	const float *s = sin_table + (long) t * half;

	for (int p = threadIdx.x; p < n_heads * half; p += blockDim.x)
	{
		int			h = p / half;
		int			i = p - h * half;
		float	   *head = row + (long) h * head_dim;
		float		a = head[i];
		float		b = head[i + half];

		head[i] = a * c[i] - b * s[i];
		head[i + half] = b * c[i] + a * s[i];
	}
}

/* ---- normalisation: one block per row ------------------------------------------ */

/*
 * Two passes over the row, the mean and then Σ(x - mean)², both reduced
 * before anything is written, so out may be x.
 */
__global__ void
layernorm_kernel(float *out, const float *x, const float *w, const float *b, int dim, float eps)
{
	__shared__ float shared[33];
	const float *row = x + (long) blockIdx.x * dim;
	float	   *o = out + (long) blockIdx.x * dim;
	float		sum = 0.0f;
	float		mean;
	float		var;
	float		inv;

	for (int j = threadIdx.x; j < dim; j += blockDim.x)
		sum += row[j];
	mean = block_reduce<false>(sum, shared) / dim;
	sum = 0.0f;
	for (int j = threadIdx.x; j < dim; j += blockDim.x)
	{
		float		d = row[j] - mean;

		sum += d * d;
	}
	var = block_reduce<false>(sum, shared) / dim;
	inv = 1.0f / sqrtf(var + eps);
	for (int j = threadIdx.x; j < dim; j += blockDim.x)
	{
		float		v = (row[j] - mean) * inv * w[j];

		o[j] = b != NULL ? v + b[j] : v;
	}
}

__global__ void
rmsnorm_kernel(float *out, const float *x, const float *w, int dim, float eps)
{
	__shared__ float shared[33];
	const float *row = x + (long) blockIdx.x * dim;
	float	   *o = out + (long) blockIdx.x * dim;
	float		sum = 0.0f;
	float		inv;

	for (int j = threadIdx.x; j < dim; j += blockDim.x)
		sum += row[j] * row[j];
	inv = 1.0f / sqrtf(block_reduce<false>(sum, shared) / dim + eps);
	for (int j = threadIdx.x; j < dim; j += blockDim.x)
		o[j] = w[j] * (row[j] * inv);
}

static unsigned int
norm_threads(int dim)
{
	if (dim <= 256)
		return 64;
	if (dim <= 1024)
		return 128;
	if (dim <= 4096)
		return 256;
	return 512;
}

/* ---- attention ------------------------------------------------------------------ */

typedef struct AttentionArgs
{
	float	   *out;
	const float *q;
	const float *k;
	const float *v;
	const uint8_t *key_mask;	/* device copy, or NULL */
	/* attention_rows: each row's own keys, values and key count (device copies), or NULL */
	const float *const *k_rows;
	const float *const *v_rows;
	const int  *keys_rows;
	int			out_stride;
	int			q_stride;
	int			kv_stride;
	int			n_heads;
	int			group;			/* query heads per kv head */
	int			head_dim;
	float		scale;
	int			causal;
	int			n_keys;
	int			first_pos;
} AttentionArgs;

/*
 * One block per (query row, head), blockIdx.x = (row - row0) · n_heads + head.
 *
 * Dynamic shared memory: q of the head [head_dim], partial sums
 * [max(blockDim.x, head_dim)], then the scores [n_keys] unless `scores` is
 * given (global memory, n_keys floats per block).
 *
 * Warps take keys, lanes split the dot product; after the max-subtracted
 * softmax, threads take (dimension, slice of the keys) for P·V and the
 * slices are summed at the end.
 */
__global__ void __launch_bounds__(ATTENTION_THREADS)
attention_kernel(AttentionArgs a, int row0, float *scores)
{
	extern __shared__ float dynamic_shared[];
	__shared__ float reduce_shared[33];
	int			hd = a.head_dim;
	int			h = blockIdx.x % a.n_heads;
	int			i = row0 + blockIdx.x / a.n_heads;
	int			kv_col = (h / a.group) * hd;
	float	   *q = dynamic_shared;
	float	   *partial = q + hd;
	const float *qrow = a.q + (long) i * a.q_stride + (long) h * hd;
	float	   *orow = a.out + (long) i * a.out_stride + (long) h * hd;
	long		visible = a.n_keys;
	const float *kbase = a.k;
	const float *vbase = a.v;
	int			lane = threadIdx.x & 31;
	int			warp = threadIdx.x >> 5;
	int			n_warps = blockDim.x >> 5;
	float		local;
	float		max;
	float		inv;
	int			groups;
	int			g;

	if (scores != NULL)
		scores += (long) blockIdx.x * a.n_keys;
	else
		scores = partial + (blockDim.x > (unsigned) hd ? blockDim.x : hd);

	if (a.k_rows != NULL)
	{
		/* a row of its own sequence: its cache, all of its keys visible */
		kbase = a.k_rows[i];
		vbase = a.v_rows[i];
		visible = a.keys_rows[i];
	}
	else if (a.causal && (long) a.first_pos + i + 1 < visible)
		visible = (long) a.first_pos + i + 1;
	if (visible <= 0)
	{
		/* the whole block leaves together, before any barrier */
		for (int d = threadIdx.x; d < hd; d += blockDim.x)
			orow[d] = 0.0f;
		return;
	}

	for (int d = threadIdx.x; d < hd; d += blockDim.x)
		q[d] = qrow[d];
	__syncthreads();

	/* scores, and their maximum; padded keys get -inf */
	local = -INFINITY;
	for (long j = warp; j < visible; j += n_warps)
	{
		float		s = -INFINITY;

		if (a.key_mask == NULL || a.key_mask[j])
		{
			const float *krow = kbase + j * a.kv_stride + kv_col;
			float		dot = 0.0f;

			for (int d = lane; d < hd; d += 32)
				dot += q[d] * krow[d];
			s = a.scale * warp_sum(dot);
		}
		if (lane == 0)
			scores[j] = s;
		local = fmaxf(local, s);
	}
	max = block_reduce<true>(local, reduce_shared);
	if (max == -INFINITY)
	{
		/* every visible key is padding: no key seen */
		for (int d = threadIdx.x; d < hd; d += blockDim.x)
			orow[d] = 0.0f;
		return;
	}

	local = 0.0f;
	for (long j = threadIdx.x; j < visible; j += blockDim.x)
	{
		float		s = scores[j];
		float		e = s == -INFINITY ? 0.0f : expf(s - max);

		scores[j] = e;
		local += e;
	}
	inv = 1.0f / block_reduce<false>(local, reduce_shared);

	/* out = P · V: `groups` slices of the keys, each over every dimension */
	groups = blockDim.x >= (unsigned) hd ? blockDim.x / hd : 1;
	g = threadIdx.x / hd;
	if (g < groups)
	{
		const float *vcol = vbase + kv_col;

		for (int d = threadIdx.x % hd; d < hd; d += blockDim.x)
		{
			float		acc = 0.0f;

			for (long j = g; j < visible; j += groups)
			{
				float		p = scores[j];

				if (p != 0.0f)
					acc += p * vcol[j * a.kv_stride + d];
			}
			partial[g * hd + d] = acc;
		}
	}
	__syncthreads();
	for (int d = threadIdx.x; d < hd; d += blockDim.x)
	{
		float		o = 0.0f;

		for (int s = 0; s < groups; s++)
			o += partial[s * hd + d];
		orow[d] = o * inv;
	}
}

/* ---- the operations ------------------------------------------------------------ */

static void
set_why(char *why, size_t why_len, const char *fmt,...)
{
	va_list		ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static void cuda_close(void *ctx);

static void *
cuda_open(char *why, size_t why_len)
{
	CudaContext *ctx;
	cudaDeviceProp prop;
	cudaFuncAttributes kernel;
	cudaError_t status;
	cublasStatus_t blas_status;
	const char *what = "";
	int			count = 0;
	int			runtime = 0;

	status = cudaGetDeviceCount(&count);
	if (status != cudaSuccess)
	{
		set_why(why, why_len, "no CUDA device: cudaGetDeviceCount: %s", cudaGetErrorString(status));
		(void) cudaGetLastError();
		return NULL;
	}
	if (count <= 0)
	{
		set_why(why, why_len, "no CUDA device: cudaGetDeviceCount found none");
		return NULL;
	}

	ctx = (CudaContext *) calloc(1, sizeof(CudaContext));
	if (ctx == NULL)
	{
		set_why(why, why_len, "CUDA: out of host memory");
		return NULL;
	}
	ctx->device = 0;

	if ((status = cudaSetDevice(ctx->device)) != cudaSuccess)
		what = "cudaSetDevice";
	else if ((status = cudaGetDeviceProperties(&prop, ctx->device)) != cudaSuccess)
		what = "cudaGetDeviceProperties";
	else if ((status = cudaRuntimeGetVersion(&runtime)) != cudaSuccess)
		what = "cudaRuntimeGetVersion";
	else if ((status = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking)) != cudaSuccess)
		what = "cudaStreamCreateWithFlags";
	if (status != cudaSuccess)
	{
		set_why(why, why_len, "CUDA device 0: %s: %s", what, cudaGetErrorString(status));
		(void) cudaGetLastError();
		cuda_close(ctx);
		return NULL;
	}
	if ((blas_status = cublasCreate(&ctx->blas)) != CUBLAS_STATUS_SUCCESS)
	{
		ctx->blas = NULL;
		set_why(why, why_len, "CUDA device 0: cublasCreate: cuBLAS status %d", (int) blas_status);
		cuda_close(ctx);
		return NULL;
	}
	/* the default math mode never uses TF32: float32 results, as on the CPU */
	if ((blas_status = cublasSetStream(ctx->blas, ctx->stream)) != CUBLAS_STATUS_SUCCESS)
		what = "cublasSetStream";
	else if ((blas_status = cublasSetMathMode(ctx->blas, CUBLAS_DEFAULT_MATH)) != CUBLAS_STATUS_SUCCESS)
		what = "cublasSetMathMode";
	else if ((blas_status = cublasSetPointerMode(ctx->blas, CUBLAS_POINTER_MODE_HOST)) != CUBLAS_STATUS_SUCCESS)
		what = "cublasSetPointerMode";
	if (blas_status != CUBLAS_STATUS_SUCCESS)
	{
		set_why(why, why_len, "CUDA device 0: %s: cuBLAS status %d", what, (int) blas_status);
		cuda_close(ctx);
		return NULL;
	}

	/* also tells whether this build has code for the device at all */
	if ((status = cudaFuncGetAttributes(&kernel, attention_kernel)) != cudaSuccess)
	{
		set_why(why, why_len, "CUDA device 0 (%s, compute %d.%d): kernels: %s", prop.name, prop.major,
				prop.minor, cudaGetErrorString(status));
		(void) cudaGetLastError();
		cuda_close(ctx);
		return NULL;
	}
	ctx->attention_static = kernel.sharedSizeBytes;
	ctx->shared_optin = prop.sharedMemPerBlockOptin;
	ctx->attention_shared = DEFAULT_SHARED_BYTES;
	snprintf(ctx->description, sizeof(ctx->description),
			 "%s, %.1f GiB, compute %d.%d, CUDA runtime %d.%d",
			 prop.name, (double) prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0),
			 prop.major, prop.minor, runtime / 1000, (runtime % 1000) / 10);
	return ctx;
}

static void
cuda_close(void *opaque)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (ctx == NULL)
		return;
	if (ctx->stream != NULL)
		cudaStreamSynchronize(ctx->stream);
	if (ctx->scratch != NULL)
		cudaFree(ctx->scratch);
	if (ctx->blas != NULL)
		cublasDestroy(ctx->blas);
	if (ctx->stream != NULL)
		cudaStreamDestroy(ctx->stream);
	(void) cudaGetLastError();
	free(ctx);
}

static void
cuda_describe(void *opaque, char *out, size_t out_len)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (out == NULL || out_len == 0)
		return;
	snprintf(out, out_len, "%s", ctx != NULL ? ctx->description : "no CUDA device");
}

static const char *
cuda_error(void *opaque)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (ctx == NULL)
		return "no CUDA context";
	return ctx->error[0] != '\0' ? ctx->error : "no error";
}

static void *
cuda_alloc(void *opaque, size_t bytes)
{
	CudaContext *ctx = (CudaContext *) opaque;
	void	   *buffer = NULL;
	cudaError_t status;

	if (bytes == 0)
		bytes = 1;				/* a real pointer, as malloc would give */
	status = cudaMalloc(&buffer, bytes);
	if (status != cudaSuccess)
	{
		(void) cudaGetLastError();
		fail(ctx, "alloc: cudaMalloc of %zu bytes: %s", bytes, cudaGetErrorString(status));
		return NULL;
	}
	/* queued on the stream, so every later op sees the zeros */
	if (check_cuda(ctx, cudaMemsetAsync(buffer, 0, bytes, ctx->stream), "alloc", "cudaMemsetAsync"))
	{
		cudaFree(buffer);
		return NULL;
	}
	return buffer;
}

static void
cuda_release(void *opaque, void *buffer)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (buffer == NULL)
		return;
	/* ops still queued may use it */
	check_cuda(ctx, cudaStreamSynchronize(ctx->stream), "release", "cudaStreamSynchronize");
	check_cuda(ctx, cudaFree(buffer), "release", "cudaFree");
}

static int
cuda_upload(void *opaque, void *buffer, const void *src_host, size_t bytes)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (bytes == 0)
		return 0;
	return from_host(ctx, buffer, src_host, bytes, "upload");
}

static int
cuda_download(void *opaque, void *dst_host, const void *buffer, size_t bytes)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (bytes == 0)
		return 0;
	if (check_cuda(ctx, cudaMemcpyAsync(dst_host, buffer, bytes, cudaMemcpyDeviceToHost, ctx->stream),
				   "download", "cudaMemcpyAsync"))
		return -1;
	return check_cuda(ctx, cudaStreamSynchronize(ctx->stream), "download", "cudaStreamSynchronize");
}

static int
cuda_copy(void *opaque, void *dst, const void *src, size_t bytes)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (bytes == 0)
		return 0;
	return check_cuda(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream),
					  "copy", "cudaMemcpyAsync");
}

static int
cuda_sync(void *opaque)
{
	CudaContext *ctx = (CudaContext *) opaque;

	return check_cuda(ctx, cudaStreamSynchronize(ctx->stream), "sync", "cudaStreamSynchronize");
}

static int
cuda_gather_rows(void *opaque, float *out, const float *table, const int32_t *ids_host,
				 int n, int dim)
{
	CudaContext *ctx = (CudaContext *) opaque;
	int32_t    *ids;

	if (n <= 0 || dim <= 0)
		return 0;
	ids = (int32_t *) scratch_reserve(ctx, (size_t) n * sizeof(int32_t), "gather_rows");
	if (ids == NULL || from_host(ctx, ids, ids_host, (size_t) n * sizeof(int32_t), "gather_rows"))
		return -1;
	gather_kernel<<<n, dim >= 1024 ? 256 : 128, 0, ctx->stream>>>(out, table, ids, dim);
	return check_launch(ctx, "gather_rows");
}

static int
cuda_add(void *opaque, float *y, const float *x, long count)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (count <= 0)
		return 0;
	add_kernel<<<elementwise_blocks(count), ELEMENTWISE_THREADS, 0, ctx->stream>>>(y, x, count);
	return check_launch(ctx, "add");
}

static int
cuda_scale(void *opaque, float *x, long count, float factor)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (count <= 0)
		return 0;
	scale_kernel<<<elementwise_blocks(count), ELEMENTWISE_THREADS, 0, ctx->stream>>>(x, count, factor);
	return check_launch(ctx, "scale");
}

static int
cuda_linear(void *opaque, float *y, const float *x, const float *w, const float *b,
			int n, int in, int out, int layout, int accumulate)
{
	CudaContext *ctx = (CudaContext *) opaque;
	const float alpha = 1.0f;
	const float beta = accumulate ? 1.0f : 0.0f;
	cublasStatus_t status;
	long		count = (long) n * out;

	if (n <= 0 || out <= 0)
		return 0;
	if (layout != LM_DEVICE_W_OUT_IN && layout != LM_DEVICE_W_IN_OUT)
		return fail(ctx, "linear: unknown weight layout %d", layout);

	if (in <= 0)
	{
		/* an empty product: y is b, or y + b */
		if (!accumulate &&
			check_cuda(ctx, cudaMemsetAsync(y, 0, (size_t) count * sizeof(float), ctx->stream),
					   "linear", "cudaMemsetAsync"))
			return -1;
	}
	else
	{
		/*
		 * cuBLAS is column-major: row-major y[n][out] is the column-major
		 * out × n matrix yᵀ (ld out), x likewise xᵀ (in × n, ld in).  So
		 * yᵀ = W xᵀ, where w[out][in] reads as Wᵀ (in × out, ld in), hence
		 * op T, and w[in][out] reads as W itself (out × in, ld out).
		 */
		cublasOperation_t op = layout == LM_DEVICE_W_OUT_IN ? CUBLAS_OP_T : CUBLAS_OP_N;
		int			ld = layout == LM_DEVICE_W_OUT_IN ? in : out;

		if (n == 1)
		{
			/* one row, as in decoding: a matrix-vector product */
			if (layout == LM_DEVICE_W_OUT_IN)
				status = cublasSgemv(ctx->blas, CUBLAS_OP_T, in, out, &alpha, w, ld,
									 x, 1, &beta, y, 1);
			else
				status = cublasSgemv(ctx->blas, CUBLAS_OP_N, out, in, &alpha, w, ld,
									 x, 1, &beta, y, 1);
			if (check_cublas(ctx, status, "linear", "cublasSgemv"))
				return -1;
		}
		else
		{
			status = cublasSgemm(ctx->blas, op, CUBLAS_OP_N, out, n, in, &alpha, w, ld,
								 x, in, &beta, y, out);
			if (check_cublas(ctx, status, "linear", "cublasSgemm"))
				return -1;
		}
	}

	/* after the product, so that with accumulate the result is y + x·Wᵀ + b */
	if (b != NULL)
	{
		bias_kernel<<<elementwise_blocks(count), ELEMENTWISE_THREADS, 0, ctx->stream>>>(y, b, count, out);
		return check_launch(ctx, "linear bias");
	}
	return 0;
}

static int
cuda_layernorm(void *opaque, float *out, const float *x, const float *w, const float *b,
			   int n, int dim, float eps)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (n <= 0 || dim <= 0)
		return 0;
	layernorm_kernel<<<n, norm_threads(dim), 0, ctx->stream>>>(out, x, w, b, dim, eps);
	return check_launch(ctx, "layernorm");
}

static int
cuda_rmsnorm(void *opaque, float *out, const float *x, const float *w, int n, int dim, float eps)
{
	CudaContext *ctx = (CudaContext *) opaque;

	if (n <= 0 || dim <= 0)
		return 0;
	rmsnorm_kernel<<<n, norm_threads(dim), 0, ctx->stream>>>(out, x, w, dim, eps);
	return check_launch(ctx, "rmsnorm");
}

/* x = act(x), or act(x) · up where up is given. */
static int
launch_activation(CudaContext *ctx, float *x, const float *up, long count, int act, const char *op)
{
	unsigned int blocks;

	if (count <= 0)
		return 0;
	blocks = elementwise_blocks(count);
	switch (act)
	{
		case LM_DEVICE_ACT_GELU:
			activate_kernel<LM_DEVICE_ACT_GELU><<<blocks, ELEMENTWISE_THREADS, 0, ctx->stream>>>(x, up, count);
			break;
		case LM_DEVICE_ACT_GELU_TANH:
			activate_kernel<LM_DEVICE_ACT_GELU_TANH><<<blocks, ELEMENTWISE_THREADS, 0, ctx->stream>>>(x, up, count);
			break;
		case LM_DEVICE_ACT_QUICK_GELU:
			activate_kernel<LM_DEVICE_ACT_QUICK_GELU><<<blocks, ELEMENTWISE_THREADS, 0, ctx->stream>>>(x, up, count);
			break;
		case LM_DEVICE_ACT_RELU:
			activate_kernel<LM_DEVICE_ACT_RELU><<<blocks, ELEMENTWISE_THREADS, 0, ctx->stream>>>(x, up, count);
			break;
		case LM_DEVICE_ACT_SILU:
			activate_kernel<LM_DEVICE_ACT_SILU><<<blocks, ELEMENTWISE_THREADS, 0, ctx->stream>>>(x, up, count);
			break;
		default:
			return fail(ctx, "%s: unknown activation %d", op, act);
	}
	return check_launch(ctx, op);
}

static int
cuda_activate(void *opaque, float *x, long count, int act)
{
	return launch_activation((CudaContext *) opaque, x, NULL, count, act, "activate");
}

static int
cuda_gated(void *opaque, float *gate, const float *up, long count, int act)
{
	return launch_activation((CudaContext *) opaque, gate, up, count, act, "gated");
}

static int
cuda_rope(void *opaque, float *x, int n, int stride, int n_heads, int head_dim,
		  const float *cos_host, const float *sin_host)
{
	CudaContext *ctx = (CudaContext *) opaque;
	int			half = head_dim / 2;
	size_t		table_bytes = (size_t) n * half * sizeof(float);
	char	   *area;
	float	   *cos_table;
	float	   *sin_table;
	int			pairs = n_heads * half;

	if (n <= 0 || n_heads <= 0 || half <= 0)
		return 0;
	area = (char *) scratch_reserve(ctx, 2 * align_up(table_bytes), "rope");
	if (area == NULL)
		return -1;
	cos_table = (float *) area;
	sin_table = (float *) (area + align_up(table_bytes));
	if (from_host(ctx, cos_table, cos_host, table_bytes, "rope") ||
		from_host(ctx, sin_table, sin_host, table_bytes, "rope"))
		return -1;
	rope_kernel<<<n, pairs >= 256 ? 256 : 64, 0, ctx->stream>>>(x, stride, n_heads, head_dim,
																cos_table, sin_table);
	return check_launch(ctx, "rope");
}

/*
 * attention and attention_rows: with k_rows_host, row t reads its own keys
 * and values (k_rows_host[t], v_rows_host[t], keys_host[t] of them, all
 * visible) and n_keys is the largest count.
 */
static int
attention_launch(CudaContext *ctx, const LmDeviceAttention *att, float *out, int out_stride,
				 const float *q, int q_stride, const float *k, const float *v,
				 int kv_stride, int n, int n_keys, int first_pos,
				 const uint8_t *key_mask_host, const float *const *k_rows_host,
				 const float *const *v_rows_host, const int *keys_host)
{
	AttentionArgs a;
	size_t		rows_bytes = 0;
	size_t		base_bytes;
	size_t		shared_bytes;
	size_t		mask_bytes;
	size_t		scores_bytes = 0;
	bool		scores_in_scratch = false;
	float	   *scores = NULL;
	long		rows_per_launch = n;

	if (n <= 0)
		return 0;
	if (att->n_heads <= 0 || att->n_kv_heads <= 0 || att->n_heads % att->n_kv_heads != 0 ||
		att->head_dim <= 0 || att->head_dim > MAX_HEAD_DIM)
		return fail(ctx, "attention: unsupported heads: %d query heads, %d key/value heads of %d",
					att->n_heads, att->n_kv_heads, att->head_dim);

	a.out = out;
	a.q = q;
	a.k = k;
	a.v = v;
	a.key_mask = NULL;
	a.k_rows = NULL;
	a.v_rows = NULL;
	a.keys_rows = NULL;
	a.out_stride = out_stride;
	a.q_stride = q_stride;
	a.kv_stride = kv_stride;
	a.n_heads = att->n_heads;
	a.group = att->n_heads / att->n_kv_heads;
	a.head_dim = att->head_dim;
	a.scale = att->scale;
	a.causal = att->causal;
	a.n_keys = n_keys > 0 ? n_keys : 0;
	a.first_pos = first_pos;

	/* q and the partial sums always in shared memory; the scores if they fit */
	base_bytes = sizeof(float) * ((size_t) att->head_dim +
								  (att->head_dim > ATTENTION_THREADS ? att->head_dim : ATTENTION_THREADS));
	shared_bytes = base_bytes + sizeof(float) * (size_t) a.n_keys;
	if (shared_bytes > DEFAULT_SHARED_BYTES)
	{
		if (shared_bytes + ctx->attention_static <= ctx->shared_optin)
		{
			/* past 48 KiB a kernel has to opt in to more */
			if (shared_bytes > ctx->attention_shared)
			{
				if (check_cuda(ctx, cudaFuncSetAttribute(attention_kernel,
														 cudaFuncAttributeMaxDynamicSharedMemorySize,
														 (int) shared_bytes),
							   "attention", "cudaFuncSetAttribute"))
					return -1;
				ctx->attention_shared = shared_bytes;
			}
		}
		else
		{
			/* too many keys for shared memory: scores in scratch, some rows at a time */
			long		per_row = (long) att->n_heads * a.n_keys;

			scores_in_scratch = true;
			shared_bytes = base_bytes;
			rows_per_launch = GLOBAL_SCORES_FLOATS / per_row;
			if (rows_per_launch < 1)
				rows_per_launch = 1;
			if (rows_per_launch > n)
				rows_per_launch = n;
		}
	}

	mask_bytes = key_mask_host != NULL && a.n_keys > 0 ? align_up((size_t) a.n_keys) : 0;
	if (k_rows_host != NULL)
		rows_bytes = 2 * align_up(sizeof(float *) * (size_t) n) + align_up(sizeof(int) * (size_t) n);
	if (scores_in_scratch)
		scores_bytes = sizeof(float) * (size_t) rows_per_launch * att->n_heads * a.n_keys;
	if (mask_bytes + rows_bytes + scores_bytes > 0)
	{
		char	   *area = (char *) scratch_reserve(ctx, mask_bytes + rows_bytes + scores_bytes, "attention");
		char	   *at;

		if (area == NULL)
			return -1;
		at = area;
		if (mask_bytes > 0)
		{
			if (from_host(ctx, at, key_mask_host, (size_t) a.n_keys, "attention"))
				return -1;
			a.key_mask = (const uint8_t *) at;
			at += mask_bytes;
		}
		if (rows_bytes > 0)
		{
			size_t		ptrs = sizeof(float *) * (size_t) n;

			if (from_host(ctx, at, k_rows_host, ptrs, "attention") ||
				from_host(ctx, at + align_up(ptrs), v_rows_host, ptrs, "attention") ||
				from_host(ctx, at + 2 * align_up(ptrs), keys_host, sizeof(int) * (size_t) n, "attention"))
				return -1;
			a.k_rows = (const float *const *) at;
			a.v_rows = (const float *const *) (at + align_up(ptrs));
			a.keys_rows = (const int *) (at + 2 * align_up(ptrs));
			at += rows_bytes;
		}
		if (scores_bytes > 0)
			scores = (float *) at;
	}

	for (long row0 = 0; row0 < n; row0 += rows_per_launch)
	{
		long		rows = n - row0 < rows_per_launch ? n - row0 : rows_per_launch;

		attention_kernel<<<(unsigned int) (rows * att->n_heads), ATTENTION_THREADS, shared_bytes,
			ctx->stream>>>(a, (int) row0, scores);
		if (check_launch(ctx, "attention"))
			return -1;
	}
	return 0;
}

static int
cuda_attention(void *opaque, const LmDeviceAttention *att, float *out, int out_stride,
			   const float *q, int q_stride, const float *k, const float *v,
			   int kv_stride, int n, int n_keys, int first_pos,
			   const uint8_t *key_mask_host)
{
	return attention_launch((CudaContext *) opaque, att, out, out_stride, q, q_stride, k, v,
							kv_stride, n, n_keys, first_pos, key_mask_host, NULL, NULL, NULL);
}

static int
cuda_attention_rows(void *opaque, const LmDeviceAttention *att, float *out, int out_stride,
					const float *q, int q_stride, const float *const *k_host,
					const float *const *v_host, int kv_stride, const int *n_keys_host, int n)
{
	int			most = 0;

	for (int t = 0; t < n; t++)
		if (n_keys_host[t] > most)
			most = n_keys_host[t];
	return attention_launch((CudaContext *) opaque, att, out, out_stride, q, q_stride, NULL, NULL,
							kv_stride, n, most, 0, NULL, k_host, v_host, n_keys_host);
}

/* One block per row t: dst[t][0..width) = src[t · stride + 0..width). */
__global__ void
scatter_kernel(float *const *dst, const float *src, int src_stride, int width)
{
	const float *from = src + (long) blockIdx.x * src_stride;
	float	   *to = dst[blockIdx.x];

	for (int j = threadIdx.x; j < width; j += blockDim.x)
		to[j] = from[j];
}

static int
cuda_scatter_rows(void *opaque, float *const *dst_host, const float *src, int src_stride,
				  int n, int width)
{
	CudaContext *ctx = (CudaContext *) opaque;
	float	  **dst;

	if (n <= 0 || width <= 0)
		return 0;
	dst = (float **) scratch_reserve(ctx, sizeof(float *) * (size_t) n, "scatter_rows");
	if (dst == NULL || from_host(ctx, dst, dst_host, sizeof(float *) * (size_t) n, "scatter_rows"))
		return -1;
	scatter_kernel<<<n, width >= 1024 ? 256 : 128, 0, ctx->stream>>>(dst, src, src_stride, width);
	return check_launch(ctx, "scatter_rows");
}

/*
 * One block per row: each thread keeps the best (value, index) of its
 * strided share, NaN skipped, the smaller index on equal values; then a
 * reduction in shared memory.  As lm_argmax: a row starting with NaN gives 0.
 */
#define ARGMAX_THREADS 256

__device__ static bool
argmax_better(float v, int i, float best, int best_i)
{
	return best_i < 0 || v > best || (v == best && i < best_i);
}

__global__ void __launch_bounds__(ARGMAX_THREADS)
argmax_kernel(const float *x, int cols, int32_t *ids)
{
	__shared__ float values[ARGMAX_THREADS];
	__shared__ int	indices[ARGMAX_THREADS];
	const float *row = x + (long) blockIdx.x * cols;
	float		best = 0.0f;
	int			best_i = -1;

	for (int i = threadIdx.x; i < cols; i += blockDim.x)
	{
		float		v = row[i];

		if (v == v && argmax_better(v, i, best, best_i))
		{
			best = v;
			best_i = i;
		}
	}
	values[threadIdx.x] = best;
	indices[threadIdx.x] = best_i;
	__syncthreads();
	for (int half = blockDim.x / 2; half > 0; half /= 2)
	{
		if (threadIdx.x < half && indices[threadIdx.x + half] >= 0 &&
			argmax_better(values[threadIdx.x + half], indices[threadIdx.x + half],
						  values[threadIdx.x], indices[threadIdx.x]))
		{
			values[threadIdx.x] = values[threadIdx.x + half];
			indices[threadIdx.x] = indices[threadIdx.x + half];
		}
		__syncthreads();
	}
	if (threadIdx.x == 0)
		ids[blockIdx.x] = row[0] != row[0] || indices[0] < 0 ? 0 : indices[0];
}

static int
cuda_argmax_rows(void *opaque, int32_t *ids_host, const float *x, int n, int cols)
{
	CudaContext *ctx = (CudaContext *) opaque;
	int32_t    *ids;

	if (n <= 0 || cols <= 0)
		return 0;
	ids = (int32_t *) scratch_reserve(ctx, (size_t) n * sizeof(int32_t), "argmax_rows");
	if (ids == NULL)
		return -1;
	argmax_kernel<<<n, ARGMAX_THREADS, 0, ctx->stream>>>(x, cols, ids);
	if (check_launch(ctx, "argmax_rows"))
		return -1;
	return cuda_download(ctx, ids_host, ids, (size_t) n * sizeof(int32_t));
}

static const LmDeviceOps cuda_ops = {
	LM_DEVICE_ABI,
	"cuda",
	cuda_open,
	cuda_close,
	cuda_describe,
	cuda_error,
	cuda_alloc,
	cuda_release,
	cuda_upload,
	cuda_download,
	cuda_copy,
	cuda_sync,
	cuda_gather_rows,
	cuda_add,
	cuda_scale,
	cuda_linear,
	cuda_layernorm,
	cuda_rmsnorm,
	cuda_activate,
	cuda_gated,
	cuda_rope,
	cuda_attention,
	cuda_scatter_rows,
	cuda_attention_rows,
	cuda_argmax_rows,
};

extern "C" __attribute__((visibility("default"))) const LmDeviceOps *
lm_device_module(void)
{
	return &cuda_ops;
}
