/*
 * gguf.c — reading GGUF files (see gguf.h).
 */
#include "formats/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/utf8.h"

/* ---- types ------------------------------------------------------------------- */

typedef struct TypeInfo
{
	int			type;
	const char *name;
	int			block;
	int			bytes;
} TypeInfo;

static const TypeInfo ggml_types[] = {
	{LM_GGML_F32, "F32", 1, 4},
	{LM_GGML_F16, "F16", 1, 2},
	{LM_GGML_Q4_0, "Q4_0", 32, 18},
	{LM_GGML_Q4_1, "Q4_1", 32, 20},
	{LM_GGML_Q5_0, "Q5_0", 32, 22},
	{LM_GGML_Q5_1, "Q5_1", 32, 24},
	{LM_GGML_Q8_0, "Q8_0", 32, 34},
	{LM_GGML_Q8_1, "Q8_1", 32, 36},
	{LM_GGML_Q2_K, "Q2_K", 256, 84},
	{LM_GGML_Q3_K, "Q3_K", 256, 110},
	{LM_GGML_Q4_K, "Q4_K", 256, 144},
	{LM_GGML_Q5_K, "Q5_K", 256, 176},
	{LM_GGML_Q6_K, "Q6_K", 256, 210},
	{LM_GGML_Q8_K, "Q8_K", 256, 292},
	{LM_GGML_I8, "I8", 1, 1},
	{LM_GGML_I16, "I16", 1, 2},
	{LM_GGML_I32, "I32", 1, 4},
	{LM_GGML_I64, "I64", 1, 8},
	{LM_GGML_F64, "F64", 1, 8},
	{LM_GGML_BF16, "BF16", 1, 2},
};

static const TypeInfo *
type_info(int type)
{
	for (size_t i = 0; i < sizeof(ggml_types) / sizeof(ggml_types[0]); i++)
		if (ggml_types[i].type == type)
			return &ggml_types[i];
	return NULL;
}

const char *
lm_ggml_type_name(int type)
{
	const TypeInfo *t = type_info(type);

	return t ? t->name : NULL;
}

bool
lm_ggml_type_layout(int type, int *block, int *block_bytes)
{
	const TypeInfo *t = type_info(type);

	if (t == NULL)
		return false;
	*block = t->block;
	*block_bytes = t->bytes;
	return true;
}

/* Bytes of one element of a scalar metadata type; 0 for strings and arrays, -1 unknown. */
static int
scalar_size(uint32_t type)
{
	switch (type)
	{
		case LM_GGUF_UINT8:
		case LM_GGUF_INT8:
		case LM_GGUF_BOOL:
			return 1;
		case LM_GGUF_UINT16:
		case LM_GGUF_INT16:
			return 2;
		case LM_GGUF_UINT32:
		case LM_GGUF_INT32:
		case LM_GGUF_FLOAT32:
			return 4;
		case LM_GGUF_UINT64:
		case LM_GGUF_INT64:
		case LM_GGUF_FLOAT64:
			return 8;
		case LM_GGUF_STRING:
		case LM_GGUF_ARRAY:
			return 0;
	}
	return -1;
}

/* ---- a cursor over the bytes --------------------------------------------------- */

typedef struct Cursor
{
	const uint8_t *buf;
	size_t		len;
	size_t		at;
	const char *name;
	LmError    *err;
} Cursor;

static int
bad(Cursor *c, size_t offset, const char *fmt, const char *detail)
{
	char		what[300];

	snprintf(what, sizeof(what), fmt, detail);
	return lm_fail(c->err, LM_ERR_CORRUPT, "%s: offset %zu: %s", c->name, offset, what);
}

static int
need(Cursor *c, uint64_t n, const char *what)
{
	if (n > c->len - c->at)
		return bad(c, c->at, "the file ends inside %s", what);
	return 0;
}

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t	v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
read_u32(Cursor *c, uint32_t *v, const char *what)
{
	if (need(c, 4, what) != 0)
		return -1;
	*v = (uint32_t) le(c->buf + c->at, 4);
	c->at += 4;
	return 0;
}

static int
read_u64(Cursor *c, uint64_t *v, const char *what)
{
	if (need(c, 8, what) != 0)
		return -1;
	*v = le(c->buf + c->at, 8);
	c->at += 8;
	return 0;
}

static int
read_string(Cursor *c, LmGgufString *s, const char *what)
{
	uint64_t	len;
	size_t		at = c->at;

	if (read_u64(c, &len, what) != 0)
		return -1;
	if (len > c->len - c->at)
		return bad(c, at, "%s claims more bytes than the file has", what);
	s->s = (const char *) c->buf + c->at;
	s->len = len;
	c->at += len;
	return 0;
}

static char *
copy_string(Cursor *c, const LmGgufString *s)
{
	char	   *out = lm_malloc(s->len + 1, c->err);

	if (out != NULL)
	{
		memcpy(out, s->s, s->len);
		out[s->len] = '\0';
	}
	return out;
}

static double
as_float(uint32_t type, const uint8_t *p)
{
	if (type == LM_GGUF_FLOAT32)
	{
		uint32_t	bits = (uint32_t) le(p, 4);
		float		f;

		memcpy(&f, &bits, 4);
		return f;
	}
	else
	{
		uint64_t	bits = le(p, 8);
		double		d;

		memcpy(&d, &bits, 8);
		return d;
	}
}

static int64_t
as_signed(uint32_t type, const uint8_t *p)
{
	switch (type)
	{
		case LM_GGUF_INT8:
			return (int8_t) p[0];
		case LM_GGUF_INT16:
			return (int16_t) le(p, 2);
		case LM_GGUF_INT32:
			return (int32_t) le(p, 4);
		default:
			return (int64_t) le(p, 8);
	}
}

/* One value of a type (not an array inside an array). */
static int
read_value(Cursor *c, uint32_t type, LmGgufValue *v, bool in_array)
{
	int			size = scalar_size(type);
	size_t		at = c->at;

	if (size < 0)
	{
		char		num[16];

		snprintf(num, sizeof(num), "%u", type);
		return bad(c, at, "unknown metadata value type %s", num);
	}
	v->type = (LmGgufValueType) type;
	if (type == LM_GGUF_STRING)
		return read_string(c, &v->str, "a string");
	if (type == LM_GGUF_ARRAY)
	{
		uint32_t	etype;
		uint64_t	n;
		int			esize;

		if (in_array)
			return bad(c, at, "%s", "an array of arrays (not supported)");
		if (read_u32(c, &etype, "an array's type") != 0 || read_u64(c, &n, "an array's length") != 0)
			return -1;
		esize = scalar_size(etype);
		if (esize < 0 || etype == LM_GGUF_ARRAY)
		{
			char		num[16];

			snprintf(num, sizeof(num), "%u", etype);
			return bad(c, at, etype == LM_GGUF_ARRAY ? "an array of arrays (not supported)%.0s"
					   : "unknown array element type %s", num);
		}
		v->arr.type = (LmGgufValueType) etype;
		v->arr.n = n;
		v->arr.data = c->buf + c->at;
		if (esize > 0)
		{
			if (n > (c->len - c->at) / (uint64_t) esize)
				return bad(c, at, "%s", "an array claims more elements than the file has");
			c->at += n * esize;
		}
		else
		{
			/* strings: each at least its 8-byte length */
			if (n > (c->len - c->at) / 8)
				return bad(c, at, "%s", "an array claims more strings than the file has");
			for (uint64_t i = 0; i < n; i++)
			{
				LmGgufString s;

				if (read_string(c, &s, "a string of an array") != 0)
					return -1;
			}
		}
		return 0;
	}
	if (need(c, size, "a value") != 0)
		return -1;
	switch (type)
	{
		case LM_GGUF_FLOAT32:
		case LM_GGUF_FLOAT64:
			v->f = as_float(type, c->buf + c->at);
			break;
		case LM_GGUF_INT8:
		case LM_GGUF_INT16:
		case LM_GGUF_INT32:
		case LM_GGUF_INT64:
			v->i = as_signed(type, c->buf + c->at);
			break;
		case LM_GGUF_BOOL:
			if (c->buf[c->at] > 1)
				return bad(c, c->at, "%s", "a bool that is neither 0 nor 1");
			v->u = c->buf[c->at];
			break;
		default:
			v->u = le(c->buf + c->at, size);
	}
	c->at += size;
	return 0;
}

/* ---- the file ------------------------------------------------------------------ */

static int
by_offset(const void *a, const void *b)
{
	const LmGgufTensor *x = *(const LmGgufTensor *const *) a,
			   *y = *(const LmGgufTensor *const *) b;

	return (x->offset > y->offset) - (x->offset < y->offset);
}

static int
read_tensor_info(Cursor *c, LmGgufTensor *t)
{
	LmGgufString name;
	uint32_t	ndim,
				type;
	uint64_t	offset;
	size_t		at = c->at;
	const TypeInfo *info;
	uint64_t	rows = 1;

	if (read_string(c, &name, "a tensor name") != 0)
		return -1;
	if ((t->name = copy_string(c, &name)) == NULL)
		return -1;
	if (name.len == 0 || memchr(name.s, '\0', name.len) != NULL)
		return bad(c, at, "%s", "a tensor name that is empty or holds a NUL byte");
	if (read_u32(c, &ndim, "a tensor's dimension count") != 0)
		return -1;
	if (ndim < 1 || ndim > LM_GGUF_MAX_DIMS)
		return bad(c, c->at - 4, "tensor \"%.200s\" has no dimensions or more than 4", t->name);
	t->ndim = (int) ndim;
	for (int d = 0; d < LM_GGUF_MAX_DIMS; d++)
		t->ne[d] = 1;
	for (uint32_t d = 0; d < ndim; d++)
	{
		uint64_t	ne;

		if (read_u64(c, &ne, "a tensor's dimensions") != 0)
			return -1;
		if (ne == 0 || ne > (uint64_t) INT64_MAX / 2)
			return bad(c, c->at - 8, "tensor \"%.200s\" has a dimension of 0 or out of range", t->name);
		t->ne[d] = (int64_t) ne;
	}
	if (read_u32(c, &type, "a tensor's type") != 0)
		return -1;
	if ((info = type_info((int) type)) == NULL)
	{
		char		what[260];

		snprintf(what, sizeof(what), "tensor \"%.200s\" has unknown ggml type %u", t->name, type);
		return bad(c, c->at - 4, "%s", what);
	}
	t->type = (LmGgmlType) type;
	if (t->ne[0] % info->block != 0)
		return bad(c, at, "tensor \"%.200s\": its rows do not divide into its type's blocks", t->name);
	for (int d = 1; d < LM_GGUF_MAX_DIMS; d++)
	{
		if (rows > (uint64_t) INT64_MAX / (uint64_t) t->ne[d])
			return bad(c, at, "tensor \"%.200s\": its size overflows", t->name);
		rows *= (uint64_t) t->ne[d];
	}
	{
		uint64_t	row_bytes = (uint64_t) (t->ne[0] / info->block) * (uint64_t) info->bytes;

		if (row_bytes != 0 && rows > UINT64_MAX / 4 / row_bytes)
			return bad(c, at, "tensor \"%.200s\": its size overflows", t->name);
		t->nbytes = rows * row_bytes;
	}
	if (read_u64(c, &offset, "a tensor's offset") != 0)
		return -1;
	t->offset = offset;			/* relative until the data section is known */
	return 0;
}

int
lm_gguf_parse(const uint8_t *buf, size_t len, const char *name, LmGguf *out, LmError *err)
{
	Cursor		c = {buf, len, 0, name ? name : "GGUF", err};
	uint64_t	n_tensors,
				n_kv;
	LmGgufTensor **sorted = NULL;

	memset(out, 0, sizeof(*out));
	if (len < 4 || memcmp(buf, "GGUF", 4) != 0)
		return bad(&c, 0, "%s", "not a GGUF file (no \"GGUF\" magic)");
	c.at = 4;
	if (read_u32(&c, &out->version, "the version") != 0)
		return -1;
	if (out->version != 2 && out->version != 3)
	{
		char		v[16];

		snprintf(v, sizeof(v), "%u", out->version);
		return bad(&c, 4, "GGUF version %s (pg_lm reads 2 and 3)", v);
	}
	if (read_u64(&c, &n_tensors, "the tensor count") != 0 || read_u64(&c, &n_kv, "the metadata count") != 0)
		return -1;
	/* a key/value takes at least 13 bytes, a tensor info at least 29 */
	if (n_kv > (len - c.at) / 13)
		return bad(&c, 16, "%s", "the metadata count is more than the file can hold");
	if (n_tensors > (len - c.at) / 29)
		return bad(&c, 8, "%s", "the tensor count is more than the file can hold");

	if ((out->kv = lm_calloc(n_kv ? n_kv : 1, sizeof(LmGgufKv), err)) == NULL)
		goto fail;
	out->alignment = 32;
	for (uint64_t i = 0; i < n_kv; i++)
	{
		LmGgufKv   *kv = &out->kv[i];
		LmGgufString key;
		uint32_t	type;

		kv->offset = c.at;
		if (read_string(&c, &key, "a metadata key") != 0 || (kv->key = copy_string(&c, &key)) == NULL)
			goto fail;
		out->n_kv = i + 1;
		if (key.len == 0 || memchr(key.s, '\0', key.len) != NULL)
		{
			bad(&c, kv->offset, "%s", "a metadata key that is empty or holds a NUL byte");
			goto fail;
		}
		for (uint64_t j = 0; j < i; j++)
			if (strcmp(out->kv[j].key, kv->key) == 0)
			{
				bad(&c, kv->offset, "metadata key \"%.200s\" appears twice", kv->key);
				goto fail;
			}
		if (read_u32(&c, &type, "a metadata value's type") != 0 || read_value(&c, type, &kv->value, false) != 0)
			goto fail;
		if (strcmp(kv->key, "general.alignment") == 0)
		{
			uint64_t	a = kv->value.u;

			if (type != LM_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0 || a > 65536)
			{
				bad(&c, kv->offset, "%s", "general.alignment is not a power of two (u32) up to 65536");
				goto fail;
			}
			out->alignment = a;
		}
	}

	if ((out->tensors = lm_calloc(n_tensors ? n_tensors : 1, sizeof(LmGgufTensor), err)) == NULL)
		goto fail;
	for (uint64_t i = 0; i < n_tensors; i++)
	{
		out->n_tensors = i + 1;
		if (read_tensor_info(&c, &out->tensors[i]) != 0)
			goto fail;
		for (uint64_t j = 0; j < i; j++)
			if (strcmp(out->tensors[j].name, out->tensors[i].name) == 0)
			{
				bad(&c, c.at, "tensor \"%.200s\" appears twice", out->tensors[i].name);
				goto fail;
			}
	}

	/* the data section: after the infos, aligned; every tensor inside it, aligned, apart */
	out->data_offset = (c.at + out->alignment - 1) / out->alignment * out->alignment;
	if (out->data_offset > len)
	{
		bad(&c, c.at, "%s", "the file ends before its data section");
		goto fail;
	}
	if ((sorted = lm_malloc(sizeof(LmGgufTensor *) * (n_tensors ? n_tensors : 1), err)) == NULL)
		goto fail;
	for (uint64_t i = 0; i < n_tensors; i++)
	{
		LmGgufTensor *t = &out->tensors[i];
		char		what[300];

		if (t->offset % out->alignment != 0 || t->offset > len - out->data_offset ||
			t->nbytes > len - out->data_offset - t->offset)
		{
			snprintf(what, sizeof(what), "tensor \"%.200s\" at data offset %llu (%llu bytes) %s", t->name,
					 (unsigned long long) t->offset, (unsigned long long) t->nbytes,
					 t->offset % out->alignment != 0 ? "is not aligned" : "lies past the end of the file");
			bad(&c, out->data_offset, "%s", what);
			goto fail;
		}
		t->offset += out->data_offset;
		t->data = buf + t->offset;
		sorted[i] = t;
	}
	qsort(sorted, n_tensors, sizeof(LmGgufTensor *), by_offset);
	for (uint64_t i = 1; i < n_tensors; i++)
		if (sorted[i - 1]->offset + sorted[i - 1]->nbytes > sorted[i]->offset)
		{
			char		what[300];

			snprintf(what, sizeof(what), "tensors \"%.100s\" and \"%.100s\" overlap", sorted[i - 1]->name,
					 sorted[i]->name);
			bad(&c, sorted[i]->offset, "%s", what);
			goto fail;
		}
	free(sorted);
	return 0;

fail:
	free(sorted);
	lm_gguf_free(out);
	return -1;
}

int
lm_gguf_load(const char *path, LmGguf *out, LmError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	void	   *map;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return lm_fail(err, LM_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return lm_fail(err, LM_ERR_IO, "%s: not a regular file", path);
	}
	if (st.st_size == 0)
	{
		close(fd);
		return lm_fail(err, LM_ERR_CORRUPT, "%s: offset 0: the file is empty", path);
	}
	map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return lm_fail(err, LM_ERR_IO, "%s: %s", path, strerror(errno));
	if (lm_gguf_parse(map, (size_t) st.st_size, path, out, err) != 0)
	{
		munmap(map, (size_t) st.st_size);
		return -1;
	}
	out->mapping = map;
	out->mapping_len = (size_t) st.st_size;
	return 0;
}

void
lm_gguf_free(LmGguf *g)
{
	for (size_t i = 0; i < g->n_kv; i++)
		free(g->kv[i].key);
	for (size_t i = 0; i < g->n_tensors; i++)
		free(g->tensors[i].name);
	free(g->kv);
	free(g->tensors);
	if (g->mapping)
		munmap(g->mapping, g->mapping_len);
	memset(g, 0, sizeof(*g));
}

const LmGgufKv *
lm_gguf_find(const LmGguf *g, const char *key)
{
	for (size_t i = 0; i < g->n_kv; i++)
		if (strcmp(g->kv[i].key, key) == 0)
			return &g->kv[i];
	return NULL;
}

const LmGgufTensor *
lm_gguf_tensor(const LmGguf *g, const char *name)
{
	for (size_t i = 0; i < g->n_tensors; i++)
		if (strcmp(g->tensors[i].name, name) == 0)
			return &g->tensors[i];
	return NULL;
}

bool
lm_gguf_get_int(const LmGguf *g, const char *key, int64_t *v)
{
	const LmGgufKv *kv = lm_gguf_find(g, key);

	if (kv == NULL)
		return false;
	switch (kv->value.type)
	{
		case LM_GGUF_UINT8:
		case LM_GGUF_UINT16:
		case LM_GGUF_UINT32:
			*v = (int64_t) kv->value.u;
			return true;
		case LM_GGUF_UINT64:
			if (kv->value.u > INT64_MAX)
				return false;
			*v = (int64_t) kv->value.u;
			return true;
		case LM_GGUF_INT8:
		case LM_GGUF_INT16:
		case LM_GGUF_INT32:
		case LM_GGUF_INT64:
			*v = kv->value.i;
			return true;
		default:
			return false;
	}
}

bool
lm_gguf_get_float(const LmGguf *g, const char *key, double *v)
{
	const LmGgufKv *kv = lm_gguf_find(g, key);
	int64_t		i;

	if (kv != NULL && (kv->value.type == LM_GGUF_FLOAT32 || kv->value.type == LM_GGUF_FLOAT64))
	{
		*v = kv->value.f;
		return true;
	}
	if (lm_gguf_get_int(g, key, &i))
	{
		*v = (double) i;
		return true;
	}
	return false;
}

const LmGgufString *
lm_gguf_get_string(const LmGguf *g, const char *key)
{
	const LmGgufKv *kv = lm_gguf_find(g, key);

	return kv != NULL && kv->value.type == LM_GGUF_STRING ? &kv->value.str : NULL;
}

LmGgufString
lm_gguf_array_string(const LmGgufValue *arr, uint64_t i)
{
	/* strings have no fixed size: walk to the i-th (validated when parsed) */
	const uint8_t *p = arr->arr.data;
	LmGgufString s;

	for (uint64_t k = 0; k < i; k++)
		p += 8 + le(p, 8);
	s.len = le(p, 8);
	s.s = (const char *) p + 8;
	return s;
}

LmGgufString *
lm_gguf_array_strings(const LmGgufValue *arr, LmError *err)
{
	LmGgufString *out = lm_malloc(sizeof(LmGgufString) * (arr->arr.n ? arr->arr.n : 1), err);
	const uint8_t *p = arr->arr.data;

	if (out == NULL)
		return NULL;
	for (uint64_t k = 0; k < arr->arr.n; k++)
	{
		out[k].len = le(p, 8);
		out[k].s = (const char *) p + 8;
		p += 8 + out[k].len;
	}
	return out;
}

/* ---- metadata as JSON ------------------------------------------------------------ */

typedef struct Json
{
	char	   *s;
	size_t		len;
	size_t		cap;
	bool		failed;
	LmError    *err;
} Json;

static void
put(Json *j, const char *s, size_t n)
{
	if (j->failed)
		return;
	if (j->len + n + 1 > j->cap)
	{
		size_t		cap = (j->len + n + 1) * 2;
		char	   *p = lm_realloc(j->s, cap, j->err);

		if (p == NULL)
		{
			j->failed = true;
			return;
		}
		j->s = p;
		j->cap = cap;
	}
	memcpy(j->s + j->len, s, n);
	j->len += n;
	j->s[j->len] = '\0';
}

static void
put_str(Json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void
put_json_string(Json *j, const char *s, size_t len)
{
	put(j, "\"", 1);
	for (size_t i = 0; i < len && !j->failed;)
	{
		int32_t		cp;
		int			n = lm_utf8_next(s + i, len - i, &cp);
		char		buf[16];

		if (n < 0)
		{
			put_str(j, "\\ufffd");
			i += -n;
			continue;
		}
		if (cp == '"' || cp == '\\')
		{
			buf[0] = '\\';
			buf[1] = (char) cp;
			put(j, buf, 2);
		}
		else if (cp == 0)
			put_str(j, "\\ufffd");	/* jsonb has no NUL */
		else if (cp < 0x20)
		{
			snprintf(buf, sizeof(buf), "\\u%04x", (unsigned) cp);
			put_str(j, buf);
		}
		else
			put(j, s + i, n);
		i += n;
	}
	put(j, "\"", 1);
}

static void
put_scalar(Json *j, uint32_t type, const uint8_t *p)
{
	char		buf[64];

	switch (type)
	{
		case LM_GGUF_FLOAT32:
		case LM_GGUF_FLOAT64:
			{
				double		d = as_float(type, p);

				if (isfinite(d))
					snprintf(buf, sizeof(buf), "%.17g", d);
				else
					snprintf(buf, sizeof(buf), "\"%s\"", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
				break;
			}
		case LM_GGUF_BOOL:
			snprintf(buf, sizeof(buf), "%s", p[0] ? "true" : "false");
			break;
		case LM_GGUF_INT8:
		case LM_GGUF_INT16:
		case LM_GGUF_INT32:
		case LM_GGUF_INT64:
			snprintf(buf, sizeof(buf), "%lld", (long long) as_signed(type, p));
			break;
		default:
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long) le(p, scalar_size(type)));
	}
	put_str(j, buf);
}

static const char *
value_type_name(uint32_t type)
{
	static const char *names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64"};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

char *
lm_gguf_metadata_json(const LmGguf *g, uint64_t max_array, LmError *err)
{
	Json		j = {NULL, 0, 0, false, err};

	put_str(&j, "{");
	for (size_t i = 0; i < g->n_kv; i++)
	{
		const LmGgufValue *v = &g->kv[i].value;

		if (i > 0)
			put_str(&j, ", ");
		put_json_string(&j, g->kv[i].key, strlen(g->kv[i].key));
		put_str(&j, ": ");
		if (v->type == LM_GGUF_STRING)
			put_json_string(&j, v->str.s, v->str.len);
		else if (v->type == LM_GGUF_ARRAY && v->arr.n > max_array)
		{
			char		buf[96];

			snprintf(buf, sizeof(buf), "{\"type\": \"%s\", \"count\": %llu}", value_type_name(v->arr.type),
					 (unsigned long long) v->arr.n);
			put_str(&j, buf);
		}
		else if (v->type == LM_GGUF_ARRAY)
		{
			int			size = scalar_size(v->arr.type);

			put_str(&j, "[");
			for (uint64_t k = 0; k < v->arr.n; k++)
			{
				if (k > 0)
					put_str(&j, ", ");
				if (v->arr.type == LM_GGUF_STRING)
				{
					LmGgufString s = lm_gguf_array_string(v, k);

					put_json_string(&j, s.s, s.len);
				}
				else
					put_scalar(&j, v->arr.type, v->arr.data + k * size);
			}
			put_str(&j, "]");
		}
		else
		{
			uint8_t		raw[8];

			/* scalars were decoded: write them back the file's way */
			if (v->type == LM_GGUF_FLOAT32)
			{
				float		f = (float) v->f;

				memcpy(raw, &f, 4);
			}
			else if (v->type == LM_GGUF_FLOAT64)
				memcpy(raw, &v->f, 8);
			else
				memcpy(raw, &v->u, 8);
			put_scalar(&j, v->type, raw);
		}
	}
	put_str(&j, "}");
	if (j.failed)
	{
		free(j.s);
		return NULL;
	}
	return j.s;
}
