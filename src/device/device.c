/*
 * device.c — opening devices (dlopen of the CUDA module), the buffers a
 * device model owns, and the upload of host weights.
 */
#include "device/device.h"

#include "models/arch.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Floats widened on the host per upload of a 16-bit matrix. */
#define WIDEN_CHUNK (1L << 20)

static int
load_module(LmDevice *dev, const char *path, LmError *err)
{
	const LmDeviceOps *(*entry) (void);

	if (path == NULL || path[0] == '\0')
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no path to the CUDA module was given");
	dev->module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dev->module == NULL)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "cannot load the CUDA module: %s", dlerror());
		lm_hint(err, "pg_lm_cuda.so is built when nvcc is found at build time, and needs the CUDA runtime and cuBLAS.");
		return -1;
	}
	*(void **) &entry = dlsym(dev->module, LM_DEVICE_MODULE_SYMBOL);
	if (entry == NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "%s is not a pg_lm device module (no %s)",
					   path, LM_DEVICE_MODULE_SYMBOL);
	dev->ops = entry();
	if (dev->ops == NULL || dev->ops->abi != LM_DEVICE_ABI)
		return lm_fail(err, LM_ERR_UNSUPPORTED,
					   "%s was built for another version of pg_lm (device ABI %d, expected %d)",
					   path, dev->ops ? dev->ops->abi : -1, LM_DEVICE_ABI);
	return 0;
}

LmDevice *
lm_device_open(const char *kind, const char *module_path, LmError *err)
{
	LmDevice   *dev = lm_calloc(1, sizeof(LmDevice), err);
	char		why[256] = "";
	char		what[200] = "";

	if (dev == NULL)
		return NULL;
	pthread_mutex_init(&dev->lock, NULL);
	if (kind != NULL && strcmp(kind, "reference") == 0)
		dev->ops = lm_device_reference_ops();
	else if (kind != NULL && strcmp(kind, "cuda") == 0)
	{
		if (load_module(dev, module_path, err) < 0)
			goto fail;
	}
	else
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "unknown device \"%s\"", kind ? kind : "(null)");
		lm_hint(err, "Devices are \"cuda\" and \"reference\".");
		goto fail;
	}
	dev->ctx = dev->ops->open(why, sizeof(why));
	if (dev->ctx == NULL)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "no usable %s device: %s", dev->ops->kind,
				why[0] ? why : "unknown reason");
		goto fail;
	}
	dev->ops->describe(dev->ctx, what, sizeof(what));
	snprintf(dev->description, sizeof(dev->description), "%s: %s", dev->ops->kind, what);
	return dev;

fail:
	lm_device_close(dev);
	return NULL;
}

void
lm_device_close(LmDevice *dev)
{
	if (dev == NULL)
		return;
	if (dev->ctx != NULL)
		dev->ops->close(dev->ctx);
	if (dev->module != NULL)
		dlclose(dev->module);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

const char *
lm_device_description(const LmDevice *dev)
{
	return dev->description;
}

int
lm_device_fail(LmDevice *dev, LmError *err)
{
	const char *why = dev->ops->error(dev->ctx);

	return lm_fail(err, LM_ERR_INTERNAL, "%s device: %s", dev->ops->kind,
				   why && why[0] ? why : "an operation failed");
}

int
lm_model_use_device(LmModel *model, LmDevice *dev, LmError *err)
{
	if (model->ops->to_device == NULL)
		return 0;
	if (model->ops->to_device(model, dev, err) < 0)
		return -1;
	return 1;
}

/* ----------------------------------------------------------------------------
 * Buffers */

float *
lm_device_alloc(LmDevice *dev, LmDeviceAllocs *allocs, size_t bytes, LmError *err)
{
	void	   *p;

	if (allocs->n == allocs->cap)
	{
		int			cap = allocs->cap ? 2 * allocs->cap : 32;
		void	  **items = lm_realloc(allocs->items, sizeof(void *) * cap, err);

		if (items == NULL)
			return NULL;
		allocs->items = items;
		allocs->cap = cap;
	}
	p = dev->ops->alloc(dev->ctx, bytes ? bytes : sizeof(float));
	if (p == NULL)
	{
		const char *why = dev->ops->error(dev->ctx);

		lm_fail(err, LM_ERR_NO_MEMORY, "%s device: cannot allocate %zu bytes%s%s",
				dev->ops->kind, bytes, why && why[0] ? ": " : "", why ? why : "");
		return NULL;
	}
	allocs->items[allocs->n++] = p;
	allocs->bytes += bytes;
	return p;
}

void
lm_device_release_all(LmDevice *dev, LmDeviceAllocs *allocs)
{
	for (int i = 0; i < allocs->n; i++)
		dev->ops->release(dev->ctx, allocs->items[i]);
	free(allocs->items);
	memset(allocs, 0, sizeof(*allocs));
}

int
lm_device_put_floats(LmDevice *dev, LmDeviceAllocs *allocs, const float *host, long count,
					 float **out, LmError *err)
{
	*out = NULL;
	if (host == NULL)
		return 0;
	if ((*out = lm_device_alloc(dev, allocs, sizeof(float) * count, err)) == NULL)
		return -1;
	return LM_DEV(dev, err, upload, *out, host, sizeof(float) * count);
}

int
lm_device_put_matrix(LmDevice *dev, LmDeviceAllocs *allocs, const LmMatrix *m, float **out,
					 LmError *err)
{
	long		count = (long) m->rows * m->cols;
	float	   *wide;

	if (m->dtype == LM_DTYPE_F32)
		return lm_device_put_floats(dev, allocs, m->data, count, out, err);
	if (lm_dtype_is_quantized(m->dtype))
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "the device does not run quantized weights (%s)",
				lm_dtype_name(m->dtype));
		lm_hint(err, "Quantized models run on the CPU; import the model unquantized to use the device.");
		return -1;
	}
	if ((*out = lm_device_alloc(dev, allocs, sizeof(float) * count, err)) == NULL ||
		(wide = lm_malloc(sizeof(float) * WIDEN_CHUNK, err)) == NULL)
		return -1;
	for (long done = 0; done < count; done += WIDEN_CHUNK)
	{
		long		part = count - done < WIDEN_CHUNK ? count - done : WIDEN_CHUNK;
		lm_widen((const char *) m->data + done * lm_dtype_size(m->dtype), m->dtype, part, wide);
		if (LM_DEV(dev, err, upload, *out + done, wide, sizeof(float) * part) < 0)
		{
			free(wide);
			return -1;
		}
	}
	free(wide);
	return 0;
}
