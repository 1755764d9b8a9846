/*
 * test_safetensors.c — the safetensors reader on the fixtures' real files
 * and on headers that lie.
 */
#include <string.h>

#include "formats/safetensors.h"
#include "testutil.h"

/* Build a file image: 8-byte length, header, then data_len zero bytes. */
static size_t
make_file(uint8_t *buf, const char *header, size_t data_len)
{
	size_t		h = strlen(header);

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t) ((uint64_t) h >> (8 * i));
	memcpy(buf + 8, header, h);
	memset(buf + 8 + h, 0, data_len);
	return 8 + h + data_len;
}

static void
expect_error(const char *label, const char *header, size_t data_len, const char *needle)
{
	uint8_t		buf[4096];
	size_t		len = make_file(buf, header, data_len);
	LmTensorSet set;
	LmError		err;
	int			rc;

	test_error_init(&err);
	rc = lm_safetensors_parse(buf, len, &set, &err);
	CHECK(rc != 0 && strstr(err.message, needle) != NULL,
		  "%s is rejected (%s)", label, rc != 0 ? err.message : "accepted");
	if (rc == 0)
		lm_tensorset_free(&set);
}

int
main(void)
{
	char		path[1024];
	LmTensorSet set;
	LmError		err;
	uint8_t		buf[4096];
	size_t		len;

	snprintf(path, sizeof(path), "%s/models/gpt2-tiny/model.safetensors", test_fixtures_dir());
	test_error_init(&err);
	CHECK(lm_safetensors_load(path, &set, &err) == 0, "load gpt2-tiny (%s)", err.message);
	{
		const LmTensor *wte = lm_tensorset_find(&set, "transformer.wte.weight");

		CHECK(wte != NULL && wte->dtype == LM_DTYPE_F32 && wte->ndim == 2,
			  "gpt2-tiny has a 2-d F32 transformer.wte.weight");
		CHECK(lm_tensorset_find(&set, "no.such.tensor") == NULL, "unknown names are not found");
	}
	lm_tensorset_free(&set);

	snprintf(path, sizeof(path), "%s/models/llama-tiny-bf16/model.safetensors", test_fixtures_dir());
	CHECK(lm_safetensors_load(path, &set, &err) == 0 && set.n > 0 &&
		  set.tensors[0].dtype == LM_DTYPE_BF16, "load llama-tiny-bf16 as BF16");
	lm_tensorset_free(&set);

	len = make_file(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
					"\"__metadata__\":{\"format\":\"pt\"}}", 8);
	CHECK(lm_safetensors_parse(buf, len, &set, &err) == 0 && set.n == 1 &&
		  set.tensors[0].shape[0] == 2, "a minimal valid file parses");
	lm_tensorset_free(&set);

	CHECK(lm_safetensors_parse(buf, 5, &set, &err) != 0 && strstr(err.message, "too short"),
		  "a 5-byte file is rejected");
	CHECK(lm_safetensors_parse(buf, 20, &set, &err) != 0 && strstr(err.message, "truncated"),
		  "a file cut inside its header is rejected (%s)", err.message);
	expect_error("truncated data",
				 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "past the");
	expect_error("size that disagrees with the shape",
				 "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "need");
	expect_error("unknown dtype",
				 "{\"a\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype");
	expect_error("negative dimension",
				 "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "dimension");
	expect_error("reversed offsets",
				 "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "invalid data_offsets");
	expect_error("overlapping tensors",
				 "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
				 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
	expect_error("invalid JSON", "{\"a\": [", 0, "invalid JSON");
	expect_error("non-object header", "[1,2]", 0, "not a JSON object");
	expect_error("shape overflow",
				 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
				 "overflow");
	expect_error("missing fields", "{\"a\":{\"dtype\":\"F32\"}}", 0, "needs dtype");
	return test_done();
}
