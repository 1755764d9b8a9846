/*
 * weights_file.c — writing and mapping a model's weights file (see
 * weights_file.h).
 */
#include "formats/weights_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "formats/safetensors.h"
#include "util/file.h"

#define KEY_KEY "pg_lm.key"
#define HASH_KEY "pg_lm.xxh3"
#define HASH_PLACEHOLDER "0000000000000000"

struct LmWeightsWriter
{
	int			fd;
	char	   *tmp_path;
	char	   *key;
	LmTensorSet layout;			/* names, shapes, offsets in the data section */
	char	   *header;			/* the JSON header, spaces to the alignment */
	size_t		header_len;
	uint64_t	data_start;		/* 8 + header_len */
	uint64_t	data_pos;		/* bytes of the data section written */
	size_t		cur;			/* the tensor being written */
	uint64_t	filled;			/* its bytes written */
	XXH3_state_t *hash;
};

static uint64_t
align_up(uint64_t x)
{
	return (x + LM_WEIGHTS_ALIGN - 1) / LM_WEIGHTS_ALIGN * LM_WEIGHTS_ALIGN;
}

/* The header with hash (16 hex digits), padded so the data starts aligned. */
static char *
render_header(const LmTensorSet *layout, const char *key, const char *hash, size_t *len,
			  LmError *err)
{
	/*
	 * json_pack, not json_object(): inside PostgreSQL that name is also a SQL
	 * function of the server's, which the dynamic linker would pick for us.
	 */
	json_t	   *root = json_pack("{}");
	json_t	   *meta = json_pack("{}");
	char	   *text;
	char	   *padded;
	size_t		n;

	json_object_set_new(meta, KEY_KEY, json_string(key));
	json_object_set_new(meta, HASH_KEY, json_string(hash));
	json_object_set_new(root, "__metadata__", meta);
	for (size_t i = 0; i < layout->n; i++)
	{
		const LmTensor *t = &layout->tensors[i];
		json_t	   *entry = json_pack("{}");
		json_t	   *shape = json_array();

		for (int d = 0; d < t->ndim; d++)
			json_array_append_new(shape, json_integer(t->shape[d]));
		json_object_set_new(entry, "dtype", json_string(lm_dtype_name(t->dtype)));
		json_object_set_new(entry, "shape", shape);
		json_object_set_new(entry, "data_offsets",
							json_pack("[II]", (json_int_t) t->offset, (json_int_t) (t->offset + t->nbytes)));
		json_object_set_new(root, t->name, entry);
	}
	text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(root);
	if (text == NULL)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory writing a weights header");
		return NULL;
	}
	n = strlen(text);
	*len = align_up(LM_SAFETENSORS_PREFIX + n) - LM_SAFETENSORS_PREFIX;
	if ((padded = lm_malloc(*len, err)) != NULL)
	{
		memcpy(padded, text, n);
		memset(padded + n, ' ', *len - n);
	}
	free(text);
	return padded;
}

static int
write_all(int fd, const void *bytes, size_t len, uint64_t offset, const char *path, LmError *err)
{
	const char *p = bytes;

	while (len > 0)
	{
		ssize_t		w = pwrite(fd, p, len, (off_t) offset);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return lm_fail(err, LM_ERR_IO, "could not write \"%s\": %s", path, strerror(errno));
		p += w;
		len -= (size_t) w;
		offset += (uint64_t) w;
	}
	return 0;
}

static int
write_header(LmWeightsWriter *w, LmError *err)
{
	uint8_t		prefix[LM_SAFETENSORS_PREFIX];

	for (int i = 0; i < LM_SAFETENSORS_PREFIX; i++)
		prefix[i] = (uint8_t) ((uint64_t) w->header_len >> (8 * i));
	if (write_all(w->fd, prefix, sizeof(prefix), 0, w->tmp_path, err) != 0)
		return -1;
	return write_all(w->fd, w->header, w->header_len, LM_SAFETENSORS_PREFIX, w->tmp_path, err);
}

static void
writer_free(LmWeightsWriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->hash)
		XXH3_freeState(w->hash);
	lm_tensorset_free(&w->layout);
	free(w->tmp_path);
	free(w->key);
	free(w->header);
	free(w);
}

LmWeightsWriter *
lm_weights_file_create(const char *tmp_path, const LmTensorSet *layout, const char *key,
					   LmError *err)
{
	LmWeightsWriter *w = lm_calloc(1, sizeof(LmWeightsWriter), err);
	uint64_t	offset = 0;

	if (w == NULL)
		return NULL;
	w->fd = -1;
	if ((w->tmp_path = lm_strndup(tmp_path, strlen(tmp_path), err)) == NULL ||
		(w->key = lm_strndup(key, strlen(key), err)) == NULL ||
		(w->layout.tensors = lm_calloc(layout->n ? layout->n : 1, sizeof(LmTensor), err)) == NULL)
		goto fail;
	for (size_t i = 0; i < layout->n; i++)
	{
		LmTensor   *t = &w->layout.tensors[i];

		*t = layout->tensors[i];
		t->data = NULL;
		if ((t->name = lm_strndup(t->name, strlen(t->name), err)) == NULL)
			goto fail;
		w->layout.n = i + 1;
		offset = align_up(offset);
		t->offset = offset;
		offset += t->nbytes;
	}
	if ((w->header = render_header(&w->layout, key, HASH_PLACEHOLDER, &w->header_len, err)) == NULL)
		goto fail;
	w->data_start = LM_SAFETENSORS_PREFIX + w->header_len;
	if ((w->hash = XXH3_createState()) == NULL || XXH3_64bits_reset(w->hash) == XXH_ERROR)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory starting a weights hash");
		goto fail;
	}
	w->fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0)
	{
		lm_fail(err, LM_ERR_IO, "could not create \"%s\": %s", tmp_path, strerror(errno));
		goto fail;
	}
	if (write_header(w, err) != 0)
	{
		unlink(tmp_path);
		goto fail;
	}
	return w;
fail:
	writer_free(w);
	return NULL;
}

/* Zeros up to data offset `to` (padding between tensors), hashed as data. */
static int
pad_to(LmWeightsWriter *w, uint64_t to, LmError *err)
{
	static const uint8_t zeros[LM_WEIGHTS_ALIGN];

	while (w->data_pos < to)
	{
		size_t		n = (size_t) (to - w->data_pos);

		if (n > sizeof(zeros))
			n = sizeof(zeros);
		if (write_all(w->fd, zeros, n, w->data_start + w->data_pos, w->tmp_path, err) != 0)
			return -1;
		XXH3_64bits_update(w->hash, zeros, n);
		w->data_pos += n;
	}
	return 0;
}

int
lm_weights_file_append(LmWeightsWriter *w, const void *bytes, size_t len, LmError *err)
{
	const uint8_t *p = bytes;

	while (len > 0)
	{
		LmTensor   *t;
		size_t		n;

		while (w->cur < w->layout.n && w->filled == w->layout.tensors[w->cur].nbytes)
		{
			w->cur++;
			w->filled = 0;
		}
		if (w->cur >= w->layout.n)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "\"%s\": more bytes than the tensors hold",
						   w->tmp_path);
		t = &w->layout.tensors[w->cur];
		if (pad_to(w, t->offset + w->filled, err) != 0)
			return -1;
		n = len;
		if (n > t->nbytes - w->filled)
			n = (size_t) (t->nbytes - w->filled);
		if (write_all(w->fd, p, n, w->data_start + w->data_pos, w->tmp_path, err) != 0)
			return -1;
		XXH3_64bits_update(w->hash, p, n);
		w->data_pos += n;
		w->filled += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* Make the rename itself durable. */
static void
sync_directory(const char *path)
{
	char	   *copy = strdup(path);
	int			fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
	{
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int
lm_weights_file_finish(LmWeightsWriter *w, const char *path, LmError *err)
{
	char		hash[17];
	size_t		len;
	uint64_t	end = 0;

	for (size_t i = 0; i < w->layout.n; i++)
		if (w->layout.tensors[i].offset + w->layout.tensors[i].nbytes > end)
			end = w->layout.tensors[i].offset + w->layout.tensors[i].nbytes;
	if (w->data_pos != end)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "\"%s\": %llu of %llu bytes of data written",
				w->tmp_path, (unsigned long long) w->data_pos, (unsigned long long) end);
		goto fail;
	}
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long) XXH3_64bits_digest(w->hash));
	/* the hash has the placeholder's length, so the data does not move */
	free(w->header);
	if ((w->header = render_header(&w->layout, w->key, hash, &len, err)) == NULL)
		goto fail;
	if (len != w->header_len)
	{
		lm_fail(err, LM_ERR_INTERNAL, "the header of \"%s\" changed length", w->tmp_path);
		goto fail;
	}
	if (write_header(w, err) != 0)
		goto fail;
	if (fsync(w->fd) != 0 || close(w->fd) != 0)
	{
		w->fd = -1;
		lm_fail(err, LM_ERR_IO, "could not write \"%s\": %s", w->tmp_path, strerror(errno));
		goto fail;
	}
	w->fd = -1;
	if (rename(w->tmp_path, path) != 0)
	{
		lm_fail(err, LM_ERR_IO, "could not rename \"%s\" to \"%s\": %s", w->tmp_path, path,
				strerror(errno));
		goto fail;
	}
	sync_directory(path);
	writer_free(w);
	return 0;
fail:
	lm_weights_file_abort(w);
	return -1;
}

/* The header's __metadata__ strings pg_lm writes (NULL where absent), from one parse. */
static void
read_metadata(const char *header, size_t len, char **key, char **hash)
{
	json_t	   *root = json_loadb(header, len, 0, NULL);
	json_t	   *meta = json_object_get(root, "__metadata__");
	const char *k = json_string_value(json_object_get(meta, KEY_KEY));
	const char *h = json_string_value(json_object_get(meta, HASH_KEY));

	*key = k ? strdup(k) : NULL;
	*hash = h ? strdup(h) : NULL;
	json_decref(root);
}

int
lm_weights_file_map(const char *path, const char *key, bool verify, LmTensorSet *out,
					LmError *err)
{
	return lm_weights_file_open(path, key, verify, false, out, err);
}

int
lm_weights_file_open(const char *path, const char *key, bool verify, bool private_copy,
					 LmTensorSet *out, LmError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void	   *map;
	uint64_t	header_len;
	char	   *file_key = NULL;
	char	   *file_hash = NULL;
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return lm_fail(err, LM_ERR_IO, "could not open \"%s\": %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_size < LM_SAFETENSORS_PREFIX)
	{
		close(fd);
		return lm_fail(err, LM_ERR_CORRUPT, "\"%s\" is too short for a weights file", path);
	}
	map = private_copy ? lm_read_private(fd, (size_t) st.st_size)
		: mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return lm_fail(err, LM_ERR_IO, "could not %s \"%s\": %s", private_copy ? "read" : "map",
					   path, strerror(errno));
	if (lm_safetensors_parse(map, (size_t) st.st_size, out, err) != 0)
	{
		munmap(map, (size_t) st.st_size);
		lm_error_prefix(err, "%s", path);
		err->code = LM_ERR_CORRUPT;
		return -1;
	}
	out->mapping = map;
	out->mapping_len = (size_t) st.st_size;
	/* lm_safetensors_parse checked this already */
	(void) lm_safetensors_header_length(map, (uint64_t) st.st_size, &header_len, err);
	read_metadata((const char *) map + LM_SAFETENSORS_PREFIX, header_len, &file_key, &file_hash);
	if (file_key == NULL || strcmp(file_key, key) != 0)
		lm_fail(err, LM_ERR_CORRUPT, "\"%s\" holds other weights than the model's", path);
	else if ((LM_SAFETENSORS_PREFIX + header_len) % LM_WEIGHTS_ALIGN != 0)
		lm_fail(err, LM_ERR_CORRUPT, "the data of \"%s\" is not aligned", path);
	else if (verify)
	{
		const uint8_t *data = (const uint8_t *) map + LM_SAFETENSORS_PREFIX + header_len;
		char		hash[17];

		snprintf(hash, sizeof(hash), "%016llx",
				 (unsigned long long) XXH3_64bits(data, (size_t) st.st_size - LM_SAFETENSORS_PREFIX - header_len));
		if (file_hash == NULL || strcmp(file_hash, hash) != 0)
			lm_fail(err, LM_ERR_CORRUPT, "the data of \"%s\" does not match its hash", path);
		else
			rc = 0;
	}
	else
		rc = 0;
	for (size_t i = 0; rc == 0 && i < out->n; i++)
		if (out->tensors[i].offset % LM_WEIGHTS_ALIGN != 0)
			rc = lm_fail(err, LM_ERR_CORRUPT, "tensor \"%s\" of \"%s\" is not aligned",
						 out->tensors[i].name, path);
	free(file_key);
	free(file_hash);
	if (rc != 0)
		lm_tensorset_free(out);
	return rc;
}

void
lm_weights_file_abort(LmWeightsWriter *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
	{
		close(w->fd);
		w->fd = -1;
	}
	unlink(w->tmp_path);
	writer_free(w);
}
