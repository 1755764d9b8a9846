/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors reader:
 * any byte string must parse cleanly or fail with an error, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmTensorSet set;
	LmError		err;
	volatile uint8_t sink = 0;

	lm_error_clear(&err);
	if (lm_safetensors_parse(data, size, &set, &err) == 0)
	{
		/* Touch the first and last byte of every tensor: they must be in bounds. */
		for (size_t i = 0; i < set.n; i++)
			if (set.tensors[i].nbytes > 0)
			{
				const uint8_t *p = set.tensors[i].data;

				sink ^= p[0] ^ p[set.tensors[i].nbytes - 1];
			}
		lm_tensorset_free(&set);
	}
	(void) sink;
	return 0;
}
