/*
 * device.h — a compute device the engine can move models to: the CUDA
 * module (pg_lm_cuda.so, loaded with dlopen only when asked for) or the
 * reference device, which runs the same device code over host memory with
 * the engine's CPU kernels so that the tests can check every model's
 * device path without a GPU.
 *
 * A device model (models/<arch>_device.c) keeps its weights and KV caches in
 * the device's memory and calls the ops below; hidden states and logits
 * cross to the host, so decoding, sampling and the tasks stay as they are.
 */
#ifndef LM_DEVICE_DEVICE_H
#define LM_DEVICE_DEVICE_H

#include <pthread.h>
#include <stdbool.h>

#include "device/device_ops.h"
#include "nn/matrix.h"
#include "util/lm_error.h"

typedef struct LmDevice
{
	const LmDeviceOps *ops;
	void	   *ctx;
	void	   *module;			/* dlopen handle; NULL for the reference device */
	pthread_mutex_t lock;		/* one forward pass at a time on the device */
	char		description[256];
} LmDevice;

/*
 * Open a device: kind "cuda" loads module_path (pg_lm_cuda.so) and opens
 * its first GPU; "reference" needs no module.  NULL with a reason in err
 * when the module is missing or broken or there is no usable GPU.
 */
LmDevice   *lm_device_open(const char *kind, const char *module_path, LmError *err);
void		lm_device_close(LmDevice *dev);

/* "cuda: NVIDIA H100 80GB HBM3, 79.1 GiB, ..." or "reference: host memory". */
const char *lm_device_description(const LmDevice *dev);

/* The reference ops (device/reference.c). */
const LmDeviceOps *lm_device_reference_ops(void);

/*
 * Move a loaded model's weights to the device: 1 when the model now runs
 * there, 0 when its architecture has no device path (it stays on the
 * CPU, unchanged), -1 with err set on failure (the model is unchanged).
 * Device models run gpt2, llama and bert; every task works on them.
 */
struct LmModel;
int			lm_model_use_device(struct LmModel *model, LmDevice *dev, LmError *err);

/* ---- for device models ---------------------------------------------------- */

/* Device buffers a model or state owns, released together. */
typedef struct LmDeviceAllocs
{
	void	  **items;
	int			n;
	int			cap;
	size_t		bytes;
} LmDeviceAllocs;

/* A zeroed buffer of bytes, kept in allocs; NULL with err set on failure. */
float	   *lm_device_alloc(LmDevice *dev, LmDeviceAllocs *allocs, size_t bytes, LmError *err);
void		lm_device_release_all(LmDevice *dev, LmDeviceAllocs *allocs);

/*
 * Copies of host weights in the device's memory (float32; 16-bit matrices
 * are widened).  A NULL host pointer gives NULL and no error (an absent
 * bias).  *out is set; the return value is 0 or -1.
 */
int			lm_device_put_floats(LmDevice *dev, LmDeviceAllocs *allocs, const float *host,
								 long count, float **out, LmError *err);
int			lm_device_put_matrix(LmDevice *dev, LmDeviceAllocs *allocs, const LmMatrix *m,
								 float **out, LmError *err);

/* Turn the failure of the device op just called into err; returns -1. */
int			lm_device_fail(LmDevice *dev, LmError *err);

/* Call a device op and turn its failure into err: DEV(dev, err, linear(...)). */
#define LM_DEV(dev, err, op, ...) \
	((dev)->ops->op((dev)->ctx, __VA_ARGS__) < 0 ? lm_device_fail((dev), (err)) : 0)

#endif
