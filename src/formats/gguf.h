/*
 * gguf.h — the GGUF format (llama.cpp's model files), versions 2 and 3:
 *
 *   "GGUF" | version u32 | tensor count u64 | metadata count u64
 *   | metadata: key string, value type u32, value   (strings: u64 length + bytes;
 *     arrays: element type u32, count u64, elements)
 *   | tensor infos: name, dimension count u32, dimensions u64[] (the first
 *     varies fastest), ggml type u32, offset u64 into the data section
 *   | padding to general.alignment (default 32) | data section
 *
 * Everything is little-endian.  Every count, length, offset and size is
 * checked against the bytes there are before it is used; an error names
 * the file and the byte offset where the file stops making sense.
 */
#ifndef LM_GGUF_H
#define LM_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef enum LmGgufValueType
{
	LM_GGUF_UINT8 = 0,
	LM_GGUF_INT8 = 1,
	LM_GGUF_UINT16 = 2,
	LM_GGUF_INT16 = 3,
	LM_GGUF_UINT32 = 4,
	LM_GGUF_INT32 = 5,
	LM_GGUF_FLOAT32 = 6,
	LM_GGUF_BOOL = 7,
	LM_GGUF_STRING = 8,
	LM_GGUF_ARRAY = 9,
	LM_GGUF_UINT64 = 10,
	LM_GGUF_INT64 = 11,
	LM_GGUF_FLOAT64 = 12
} LmGgufValueType;

/* ggml's tensor types that pg_lm knows the layout of (the numbers are the file's). */
typedef enum LmGgmlType
{
	LM_GGML_F32 = 0,
	LM_GGML_F16 = 1,
	LM_GGML_Q4_0 = 2,
	LM_GGML_Q4_1 = 3,
	LM_GGML_Q5_0 = 6,
	LM_GGML_Q5_1 = 7,
	LM_GGML_Q8_0 = 8,
	LM_GGML_Q8_1 = 9,
	LM_GGML_Q2_K = 10,
	LM_GGML_Q3_K = 11,
	LM_GGML_Q4_K = 12,
	LM_GGML_Q5_K = 13,
	LM_GGML_Q6_K = 14,
	LM_GGML_Q8_K = 15,
	LM_GGML_I8 = 24,
	LM_GGML_I16 = 25,
	LM_GGML_I32 = 26,
	LM_GGML_I64 = 27,
	LM_GGML_F64 = 28,
	LM_GGML_BF16 = 30
} LmGgmlType;

#define LM_GGUF_MAX_DIMS 4

typedef struct LmGgufString
{
	const char *s;				/* into the file: not NUL-terminated */
	uint64_t	len;
} LmGgufString;

typedef struct LmGgufValue
{
	LmGgufValueType type;
	union
	{
		uint64_t	u;			/* the unsigned types and bool */
		int64_t		i;			/* the signed types */
		double		f;			/* the float types */
		LmGgufString str;
		struct
		{
			LmGgufValueType type;	/* of the elements: not an array */
			uint64_t	n;
			const uint8_t *data;	/* the elements as the file has them */
		}			arr;
	};
} LmGgufValue;

typedef struct LmGgufKv
{
	char	   *key;			/* NUL-terminated copy */
	LmGgufValue value;
	uint64_t	offset;			/* of the key in the file */
} LmGgufKv;

typedef struct LmGgufTensor
{
	char	   *name;			/* NUL-terminated copy */
	LmGgmlType	type;
	int			ndim;
	int64_t		ne[LM_GGUF_MAX_DIMS];	/* ne[0] varies fastest; unused ones are 1 */
	uint64_t	offset;			/* from the start of the file */
	uint64_t	nbytes;
	const uint8_t *data;		/* into the buffer parsed */
} LmGgufTensor;

typedef struct LmGguf
{
	uint32_t	version;
	uint64_t	alignment;
	uint64_t	data_offset;	/* where the data section starts */
	size_t		n_kv;
	LmGgufKv   *kv;
	size_t		n_tensors;
	LmGgufTensor *tensors;
	void	   *mapping;		/* a mapped file (lm_gguf_load): unmapped with the set */
	size_t		mapping_len;
} LmGguf;

/* ggml type name ("Q4_K"), or NULL for a type pg_lm does not know. */
const char *lm_ggml_type_name(int type);

/* Elements per block and bytes per block of a known type; false for an unknown one. */
bool		lm_ggml_type_layout(int type, int *block, int *block_bytes);

/*
 * Parse a GGUF file held in memory (name is what errors call it); the
 * tensors and strings point into buf, which must outlive out.
 */
int			lm_gguf_parse(const uint8_t *buf, size_t len, const char *name, LmGguf *out,
						  LmError *err);

/* Map and parse a file; the result owns the mapping. */
int			lm_gguf_load(const char *path, LmGguf *out, LmError *err);

void		lm_gguf_free(LmGguf *g);

const LmGgufKv *lm_gguf_find(const LmGguf *g, const char *key);
const LmGgufTensor *lm_gguf_tensor(const LmGguf *g, const char *name);

/* A key's value as an integer (any integer type) or a float; false when absent or of another type. */
bool		lm_gguf_get_int(const LmGguf *g, const char *key, int64_t *v);
bool		lm_gguf_get_float(const LmGguf *g, const char *key, double *v);
/* A string value: NULL when absent or not a string. */
const LmGgufString *lm_gguf_get_string(const LmGguf *g, const char *key);
/* Element i of an array of strings (i < its count): walks from the first, so O(i). */
LmGgufString lm_gguf_array_string(const LmGgufValue *arr, uint64_t i);

/* All the strings of an array of strings (malloc'd, its count long), or NULL with err. */
LmGgufString *lm_gguf_array_strings(const LmGgufValue *arr, LmError *err);

/*
 * The metadata as a JSON object (malloc'd, NUL-terminated): numbers,
 * booleans, strings (invalid UTF-8 replaced by U+FFFD), arrays.  Arrays
 * longer than max_array elements are summarised as {"type": …, "count": …}
 * (a vocabulary is stored as the tokenizer, not twice).
 */
char	   *lm_gguf_metadata_json(const LmGguf *g, uint64_t max_array, LmError *err);

#endif
