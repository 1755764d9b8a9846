/*
 * fuzz_wire.c — libFuzzer harness for the model server's message decoders:
 * any payload decodes as a request, result, error and load cleanly or fails
 * with an error, never crashes or reads past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmWireReader r;
	LmWireModelRef ref;
	LmWireRequest req;
	LmRunResult res;
	LmWireLoad	load;
	LmError		err;

	lm_wire_open(&r, data, size);
	lm_wire_get_ref(&r, &ref);
	lm_error_clear(&err);
	if (lm_wire_get_request(&r, &req, &err) == 0)
		lm_wire_request_free(&req);
	lm_wire_open(&r, data, size);
	lm_error_clear(&err);
	if (lm_wire_get_result(&r, &res, &err) == 0)
		lm_run_result_free(&res);
	lm_wire_open(&r, data, size);
	lm_error_clear(&err);
	lm_wire_get_error(&r, &err);
	lm_wire_open(&r, data, size);
	lm_error_clear(&err);
	(void) lm_wire_get_load(&r, &load, &err);
	return 0;
}
