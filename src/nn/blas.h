/*
 * blas.h — the BLAS routines the engine uses, loaded at run time.
 *
 * Debian 12's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back
 * to its SSE3 kernels, five times slower than its SkylakeX ones.  The library
 * picks its kernels once, when it is loaded, from OPENBLAS_CORETYPE.  So the
 * engine does not link OpenBLAS: on first use it chooses a core type from the
 * CPU's features (unless the user set one), then dlopens the library.  That
 * also keeps BLAS threads out of the postmaster: only a process that runs a
 * model loads it, with one thread.
 */
#ifndef LM_BLAS_H
#define LM_BLAS_H

#include <cblas.h>

#include "util/lm_error.h"

/* Load OpenBLAS if it is not loaded yet; -1 with err when it cannot be. */
int			lm_blas_init(LmError *err);

/* The kernel family OpenBLAS runs ("SkylakeX", "Haswell", ...), after init. */
const char *lm_blas_core(void);

/* cblas_sgemm (the benchmarks' reference) and cblas_sgemv (RNNs, word vectors, one-query attention). */
void		lm_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
					 int m, int n, int k, float alpha, const float *a, int lda,
					 const float *b, int ldb, float beta, float *c, int ldc);
void		lm_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, int m, int n,
					 float alpha, const float *a, int lda, const float *x, int incx,
					 float beta, float *y, int incy);

#endif
