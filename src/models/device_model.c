/*
 * device_model.c — the parts every device model shares (device_model.h).
 */
#include "models/device_model.h"

#include <string.h>

void
lm_device_model_init(LmDeviceModel *dm, const LmModel *model, LmDevice *dev)
{
	memset(dm, 0, sizeof(*dm));
	dm->dev = dev;
	dm->host_ops = model->ops;
	dm->host_impl = model->impl;
}

void
lm_device_model_release(LmDeviceModel *dm)
{
	lm_device_release_all(dm->dev, &dm->weights);
	lm_device_release_all(dm->dev, &dm->scratch);
	dm->scratch_block = NULL;
	dm->scratch_floats = 0;
}

void
lm_device_model_free(LmDeviceModel *dm)
{
	lm_device_model_release(dm);
	dm->host_ops->free(dm->host_impl);
}

float *
lm_device_model_scratch(LmDeviceModel *dm, size_t floats, LmError *err)
{
	if (floats <= dm->scratch_floats)
		return dm->scratch_block;
	lm_device_release_all(dm->dev, &dm->scratch);
	dm->scratch_floats = 0;
	/* grow by half again, so that a batch growing by one row does not reallocate each step */
	floats += floats / 2;
	dm->scratch_block = lm_device_alloc(dm->dev, &dm->scratch, sizeof(float) * floats, err);
	if (dm->scratch_block != NULL)
		dm->scratch_floats = floats;
	return dm->scratch_block;
}

int
lm_device_model_put_rows(LmDeviceModel *dm, float *dst, const float *host, int n, int dim,
						 LmError *err)
{
	return LM_DEV(dm->dev, err, upload, dst, host, sizeof(float) * (size_t) n * dim);
}
