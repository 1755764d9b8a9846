/*
 * device_model.c — the parts every device model shares (device_model.h).
 */
#include "models/device_model.h"

#include <stdlib.h>
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
	/* another model may be running on the device: one user of it at a time */
	pthread_mutex_lock(&dm->dev->lock);
	lm_device_model_release(dm);
	pthread_mutex_unlock(&dm->dev->lock);
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

int
lm_device_row_lists(LmDeviceRowLists *l, int n, LmError *err)
{
	float	  **p;

	memset(l, 0, sizeof(*l));
	if (n <= 0)
		return 0;
	/* one block: four lists of pointers, then the key counts */
	if ((p = lm_malloc((sizeof(float *) * 4 + sizeof(int)) * (size_t) n, err)) == NULL)
		return -1;
	l->k_at = p;
	l->v_at = p + n;
	l->k_from = p + 2 * n;
	l->v_from = p + 3 * n;
	l->keys = (int *) (p + 4 * n);
	return 0;
}

void
lm_device_row_lists_free(LmDeviceRowLists *l)
{
	free(l->k_at);
	memset(l, 0, sizeof(*l));
}
