/*
 * safetensors.h — the safetensors format: an 8-byte little-endian header
 * length, a JSON header mapping tensor names to dtype, shape and
 * [begin, end) byte offsets, then the data section.
 *
 * Everything a header claims is checked against the file: offsets within the
 * data, sizes that agree with dtype × shape, no overlapping tensors.
 */
#ifndef LM_SAFETENSORS_H
#define LM_SAFETENSORS_H

#include "formats/tensor.h"

/* Headers larger than this are refused (the format's own limit is 100 MB). */
#define LM_SAFETENSORS_MAX_HEADER (100 * 1024 * 1024)
#define LM_SAFETENSORS_PREFIX 8

/* From the first 8 bytes and the file length, the header's length. */
int			lm_safetensors_header_length(const uint8_t prefix[LM_SAFETENSORS_PREFIX],
										 uint64_t file_len, uint64_t *header_len,
										 LmError *err);

/* Parse the JSON header; tensors get offsets into a data section of
 * data_len bytes and data = NULL.  out is filled on success. */
int			lm_safetensors_parse_header(const char *json, size_t json_len,
										uint64_t data_len, LmTensorSet *out,
										LmError *err);

/* Parse a whole file held in memory; tensors point into buf. */
int			lm_safetensors_parse(const uint8_t *buf, size_t len, LmTensorSet *out,
								 LmError *err);

/* Read and parse a file; the set owns the bytes. */
int			lm_safetensors_load(const char *path, LmTensorSet *out, LmError *err);

#endif
