/*
 * blas.c — load OpenBLAS at run time with the right kernels (see blas.h).
 */
#include "nn/blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Sonames to try, newest first. */
static const char *const blas_libraries[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};

typedef void (*sgemm_fn) (enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE,
						  int, int, int, float, const float *, int, const float *, int,
						  float, float *, int);
typedef void (*sgemv_fn) (enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, int, int, float,
						  const float *, int, const float *, int, float, float *, int);

static sgemm_fn blas_sgemm;
static sgemv_fn blas_sgemv;
static const char *blas_core = "none (plain C fallback)";
static bool blas_failed = false;	/* tried, and no library could be loaded */

/*
 * The OpenBLAS core type for this CPU, or NULL to let OpenBLAS decide.  Only
 * families every OpenBLAS since 0.3.10 knows are named.
 */
static const char *
core_for_cpu(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		__builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
	return NULL;
}

/* Threads may load models at once: one of them loads the library. */
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool blas_ready;

static int	load_blas(LmError *err);

int
lm_blas_init(LmError *err)
{
	int			rc = 0;

	if (atomic_load_explicit(&blas_ready, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&blas_lock);
	if (!atomic_load_explicit(&blas_ready, memory_order_relaxed))
	{
		rc = load_blas(err);
		if (rc == 0)
			atomic_store_explicit(&blas_ready, true, memory_order_release);
	}
	pthread_mutex_unlock(&blas_lock);
	return rc;
}

static int
load_blas(LmError *err)
{
	void	   *lib = NULL;
	void		(*set_threads) (int);
	char	   *(*get_corename) (void);
	const char *core;

	/* The user's choice wins; otherwise pick from the CPU's features. */
	if (getenv("OPENBLAS_CORETYPE") == NULL && (core = core_for_cpu()) != NULL)
		setenv("OPENBLAS_CORETYPE", core, 0);
	/* One thread: a backend is one process among many. */
	if (getenv("OPENBLAS_NUM_THREADS") == NULL)
		setenv("OPENBLAS_NUM_THREADS", "1", 0);
	for (size_t i = 0; i < sizeof(blas_libraries) / sizeof(blas_libraries[0]) && lib == NULL; i++)
		lib = dlopen(blas_libraries[i], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "could not load OpenBLAS: %s", dlerror());
		lm_hint(err, "Install it: apt-get install libopenblas0.");
		return -1;
	}
	blas_sgemv = (sgemv_fn) dlsym(lib, "cblas_sgemv");
	blas_sgemm = (sgemm_fn) dlsym(lib, "cblas_sgemm");
	if (blas_sgemm == NULL || blas_sgemv == NULL)
	{
		blas_sgemm = NULL;
		blas_sgemv = NULL;
		return lm_fail(err, LM_ERR_UNSUPPORTED, "the BLAS library has no cblas_sgemm");
	}
	set_threads = (void (*) (int)) dlsym(lib, "openblas_set_num_threads");
	if (set_threads != NULL && getenv("OPENBLAS_NUM_THREADS") != NULL)
		set_threads(atoi(getenv("OPENBLAS_NUM_THREADS")));
	get_corename = (char *(*) (void)) dlsym(lib, "openblas_get_corename");
	if (get_corename != NULL)
		blas_core = get_corename();
	return 0;
}

const char *
lm_blas_core(void)
{
	return blas_core;
}

/*
 * Plain C products, used only when no BLAS library can be loaded (so that a
 * missing library costs speed, never a crash).  Row-major only, as the
 * engine calls them.
 */
static float
element(const float *x, int ld, bool trans, int r, int c)
{
	return trans ? x[(long) c * ld + r] : x[(long) r * ld + c];
}

static void
fallback_sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n, int k,
			   float alpha, const float *a, int lda, const float *b, int ldb,
			   float beta, float *c, int ldc)
{
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++)
		{
			double		sum = 0;

			for (int p = 0; p < k; p++)
				sum += (double) element(a, lda, ta != CblasNoTrans, i, p) *
					element(b, ldb, tb != CblasNoTrans, p, j);
			c[(long) i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[(long) i * ldc + j]);
		}
}

static void
fallback_sgemv(enum CBLAS_TRANSPOSE ta, int m, int n, float alpha, const float *a, int lda,
			   const float *x, int incx, float beta, float *y, int incy)
{
	int			rows = ta == CblasNoTrans ? m : n;
	int			cols = ta == CblasNoTrans ? n : m;

	for (int i = 0; i < rows; i++)
	{
		double		sum = 0;

		for (int j = 0; j < cols; j++)
			sum += (double) element(a, lda, ta != CblasNoTrans, i, j) * x[(long) j * incx];
		y[(long) i * incy] = alpha * sum + (beta == 0 ? 0 : beta * y[(long) i * incy]);
	}
}

void
lm_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
		 int m, int n, int k, float alpha, const float *a, int lda,
		 const float *b, int ldb, float beta, float *c, int ldc)
{
	if (blas_sgemm == NULL && !blas_failed && lm_blas_init(NULL) != 0)
		blas_failed = true;
	if (blas_sgemm != NULL)
		blas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
	else
		fallback_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void
lm_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, int m, int n,
		 float alpha, const float *a, int lda, const float *x, int incx,
		 float beta, float *y, int incy)
{
	if (blas_sgemm == NULL && !blas_failed && lm_blas_init(NULL) != 0)
		blas_failed = true;
	if (blas_sgemv != NULL)
		blas_sgemv(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy);
	else
		fallback_sgemv(ta, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
