/*
 * safetensors.c — read and validate safetensors headers.
 */
#include "formats/safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"

/* Largest file lm_safetensors_load reads into memory (tests, tools). */
#define LM_SAFETENSORS_MAX_FILE ((size_t) 16 << 30)

int
lm_safetensors_header_length(const uint8_t prefix[LM_SAFETENSORS_PREFIX],
							 uint64_t file_len, uint64_t *header_len, LmError *err)
{
	uint64_t	n = 0;

	if (file_len < LM_SAFETENSORS_PREFIX)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "file is %llu bytes, too short for a safetensors header",
					   (unsigned long long) file_len);
	for (int i = LM_SAFETENSORS_PREFIX - 1; i >= 0; i--)
		n = (n << 8) | prefix[i];
	if (n > LM_SAFETENSORS_MAX_HEADER)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "header length %llu exceeds the limit of %d bytes",
					   (unsigned long long) n, LM_SAFETENSORS_MAX_HEADER);
	if (n > file_len - LM_SAFETENSORS_PREFIX)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "header length %llu runs past the end of the %llu-byte file (truncated?)",
					   (unsigned long long) n, (unsigned long long) file_len);
	*header_len = n;
	return 0;
}

static int
compare_offsets(const void *a, const void *b)
{
	const LmTensor *x = *(const LmTensor *const *) a;
	const LmTensor *y = *(const LmTensor *const *) b;

	return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

/* Reject tensors whose byte ranges overlap. */
static int
check_no_overlap(LmTensorSet *set, LmError *err)
{
	LmTensor  **order;
	int			rc = 0;

	if (set->n < 2)
		return 0;
	order = lm_malloc(set->n * sizeof(LmTensor *), err);
	if (order == NULL)
		return -1;
	for (size_t i = 0; i < set->n; i++)
		order[i] = &set->tensors[i];
	qsort(order, set->n, sizeof(LmTensor *), compare_offsets);
	for (size_t i = 1; i < set->n && rc == 0; i++)
	{
		if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes)
			rc = lm_fail(err, LM_ERR_CORRUPT,
						 "tensors \"%.200s\" and \"%.200s\" overlap in the data section",
						 order[i - 1]->name, order[i]->name);
	}
	free(order);
	return rc;
}

/* Fill one tensor from its header entry. */
static int
parse_entry(const char *name, json_t *entry, uint64_t data_len, LmTensor *t,
			LmError *err)
{
	json_t	   *dtype = json_object_get(entry, "dtype");
	json_t	   *shape = json_object_get(entry, "shape");
	json_t	   *offsets = json_object_get(entry, "data_offsets");
	uint64_t	numel = 1;
	uint64_t	bytes;
	json_int_t	begin,
				end;
	size_t		i;
	json_t	   *dim;

	if (!json_is_object(entry) || !json_is_string(dtype) || !json_is_array(shape) ||
		!json_is_array(offsets) || json_array_size(offsets) != 2)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "tensor \"%.200s\": entry needs dtype, shape and two data_offsets", name);
	if (lm_dtype_from_name(json_string_value(dtype), &t->dtype, err) != 0)
	{
		lm_error_prefix(err, "tensor \"%.200s\"", name);
		return -1;
	}
	if (json_array_size(shape) > LM_MAX_DIMS)
		return lm_fail(err, LM_ERR_CORRUPT, "tensor \"%.200s\": %zu dimensions (at most %d)",
					   name, json_array_size(shape), LM_MAX_DIMS);
	t->ndim = (int) json_array_size(shape);
	json_array_foreach(shape, i, dim)
	{
		json_int_t	d = json_is_integer(dim) ? json_integer_value(dim) : -1;

		if (d < 0)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "tensor \"%.200s\": dimension %zu is not a non-negative integer", name, i);
		if (d > 0 && numel > UINT64_MAX / (uint64_t) d / 8)
			return lm_fail(err, LM_ERR_CORRUPT, "tensor \"%.200s\": shape overflows", name);
		t->shape[i] = d;
		numel *= (uint64_t) d;
	}
	begin = json_is_integer(json_array_get(offsets, 0)) ? json_integer_value(json_array_get(offsets, 0)) : -1;
	end = json_is_integer(json_array_get(offsets, 1)) ? json_integer_value(json_array_get(offsets, 1)) : -1;
	if (begin < 0 || end < begin)
		return lm_fail(err, LM_ERR_CORRUPT, "tensor \"%.200s\": invalid data_offsets", name);
	if ((uint64_t) end > data_len)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "tensor \"%.200s\": data_offsets end at %lld, past the %llu bytes of data (truncated file?)",
					   name, (long long) end, (unsigned long long) data_len);
	if (!lm_tensor_bytes(t, &bytes))
		return lm_fail(err, LM_ERR_CORRUPT, "tensor \"%.200s\": its rows are not whole blocks of %s",
					   name, lm_dtype_name(t->dtype));
	if ((uint64_t) (end - begin) != bytes)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "tensor \"%.200s\": %lld bytes in the file but dtype %s and its shape need %llu",
					   name, (long long) (end - begin), lm_dtype_name(t->dtype),
					   (unsigned long long) bytes);
	t->offset = (uint64_t) begin;
	t->nbytes = (uint64_t) (end - begin);
	t->data = NULL;
	t->name = strdup(name);
	if (t->name == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
	return 0;
}

int
lm_safetensors_parse_header(const char *json, size_t json_len, uint64_t data_len,
							LmTensorSet *out, LmError *err)
{
	json_error_t jerr;
	json_t	   *root;
	const char *key;
	json_t	   *value;
	size_t		count = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "invalid JSON header at byte %d: %s",
					   jerr.position, jerr.text);
	if (!json_is_object(root))
	{
		json_decref(root);
		return lm_fail(err, LM_ERR_CORRUPT, "header is not a JSON object");
	}
	out->tensors = lm_calloc(json_object_size(root), sizeof(LmTensor), err);
	if (out->tensors == NULL)
	{
		json_decref(root);
		return -1;
	}
	json_object_foreach(root, key, value)
	{
		if (strcmp(key, "__metadata__") == 0)
			continue;
		if (parse_entry(key, value, data_len, &out->tensors[count], err) != 0)
		{
			out->n = count;
			lm_tensorset_free(out);
			json_decref(root);
			return -1;
		}
		count++;
	}
	out->n = count;
	json_decref(root);
	if (check_no_overlap(out, err) != 0)
	{
		lm_tensorset_free(out);
		return -1;
	}
	return 0;
}

int
lm_safetensors_parse(const uint8_t *buf, size_t len, LmTensorSet *out, LmError *err)
{
	uint64_t	header_len;
	const uint8_t *data;

	memset(out, 0, sizeof(*out));
	if (lm_safetensors_header_length(buf, len, &header_len, err) != 0)
		return -1;
	if (lm_safetensors_parse_header((const char *) buf + LM_SAFETENSORS_PREFIX, header_len,
									len - LM_SAFETENSORS_PREFIX - header_len, out, err) != 0)
		return -1;
	data = buf + LM_SAFETENSORS_PREFIX + header_len;
	for (size_t i = 0; i < out->n; i++)
		out->tensors[i].data = data + out->tensors[i].offset;
	return 0;
}

int
lm_safetensors_load(const char *path, LmTensorSet *out, LmError *err)
{
	uint8_t    *buf;
	size_t		len;

	memset(out, 0, sizeof(*out));
	if (lm_read_file(path, LM_SAFETENSORS_MAX_FILE, &buf, &len, err) != 0)
		return -1;
	if (lm_safetensors_parse(buf, len, out, err) != 0)
	{
		free(buf);
		lm_error_prefix(err, "%s", path);
		return -1;
	}
	out->owned_block = buf;
	return 0;
}
