/*
 * test_weights_file.c — a model's weights file: written from a tensor set in
 * pieces, mapped back with every tensor aligned and equal, a model built on
 * the mapping giving the same logits bit for bit, any safetensors reader
 * opening it; and the ways it can be wrong (another key, a changed byte, a
 * truncated or missing file, a writer fed too much or too little).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "fixture_util.h"
#include "formats/safetensors.h"
#include "formats/weights_file.h"
#include "models/model.h"
#include "util/file.h"

/* Write set to path, each tensor's bytes in pieces of at most piece bytes. */
static int
write_set(const LmTensorSet *set, const char *path, const char *key, size_t piece, LmError *err)
{
	char		tmp[1100];
	LmWeightsWriter *w;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((w = lm_weights_file_create(tmp, set, key, err)) == NULL)
		return -1;
	for (size_t i = 0; i < set->n; i++)
		for (uint64_t at = 0; at < set->tensors[i].nbytes; at += piece)
		{
			uint64_t	n = set->tensors[i].nbytes - at < piece ? set->tensors[i].nbytes - at : piece;

			if (lm_weights_file_append(w, (const uint8_t *) set->tensors[i].data + at, n, err) != 0)
			{
				lm_weights_file_abort(w);
				return -1;
			}
		}
	return lm_weights_file_finish(w, path, err);
}

static bool
same_tensors(const LmTensorSet *a, const LmTensorSet *b, int *aligned)
{
	*aligned = 0;
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
	{
		const LmTensor *t = lm_tensorset_find(b, a->tensors[i].name);

		if (t == NULL || t->dtype != a->tensors[i].dtype || t->nbytes != a->tensors[i].nbytes ||
			t->ndim != a->tensors[i].ndim ||
			memcmp(t->shape, a->tensors[i].shape, sizeof(int64_t) * t->ndim) != 0 ||
			memcmp(t->data, a->tensors[i].data, t->nbytes) != 0)
			return false;
		*aligned += ((uintptr_t) t->data % LM_WEIGHTS_ALIGN) == 0;
	}
	return true;
}

/* Next-token logits of a few ids, from a model built on set. */
static float *
logits_of(const char *config, size_t config_len, const LmTensorSet *set, int *vocab)
{
	static const int32_t ids[] = {1, 17, 5, 300, 42};
	LmError		err;
	LmModel    *m;
	float	   *out = NULL;

	test_error_init(&err);
	if ((m = lm_model_load(config, config_len, set, &err)) == NULL)
		return NULL;
	*vocab = lm_model_info(m)->vocab_size;
	out = malloc(sizeof(float) * *vocab);
	if (lm_model_logits(m, ids, 5, false, out, &err) != 0)
	{
		free(out);
		out = NULL;
	}
	lm_model_free(m);
	return out;
}

/* Copy src to dst, changing the byte at offset (or cutting the file there, with cut). */
static void
spoil_copy(const char *src, const char *dst, size_t offset, bool cut)
{
	uint8_t    *data;
	size_t		len;
	LmError		err;
	FILE	   *f;

	test_error_init(&err);
	if (lm_read_file(src, (size_t) 1 << 30, &data, &len, &err) != 0)
		return;
	if (!cut && offset < len)
		data[offset] ^= 0x5a;
	f = fopen(dst, "wb");
	fwrite(data, 1, cut ? offset : len, f);
	fclose(f);
	free(data);
}

int
main(void)
{
	char		dir[] = "/tmp/pg_lm_weights_XXXXXX";
	char		path[900],
				other[1100],
				src[1024];
	LmTensorSet set,
				mapped,
				reread;
	uint8_t    *config;
	size_t		config_len;
	LmError		err;
	int			aligned = 0,
				vocab;
	float	   *want,
			   *got;

	test_error_init(&err);
	snprintf(src, sizeof(src), "%s/models/gpt2-tiny/model.safetensors", test_fixtures_dir());
	if (mkdtemp(dir) == NULL || lm_safetensors_load(src, &set, &err) != 0)
	{
		CHECK(0, "gpt2-tiny weights load: %s", err.message);
		return test_done();
	}
	snprintf(path, sizeof(path), "%s/models/gpt2-tiny/config.json", test_fixtures_dir());
	lm_read_file(path, 1 << 20, &config, &config_len, &err);
	snprintf(path, sizeof(path), "%s/w.safetensors", dir);

	CHECK(write_set(&set, path, "db1/model7", 1000, &err) == 0, "a weights file is written in 1000-byte pieces (%s)",
		  err.message);
	CHECK(access(path, F_OK) == 0 && strstr(path, ".tmp") == NULL, "it is renamed into place");
	snprintf(other, sizeof(other), "%s.tmp", path);
	CHECK(access(other, F_OK) != 0, "no temporary file is left");

	CHECK(lm_weights_file_map(path, "db1/model7", true, &mapped, &err) == 0,
		  "it maps back with its key and hash checked (%s)", err.message);
	{
		bool		same = same_tensors(&set, &mapped, &aligned);

		CHECK(same && aligned == (int) set.n,
			  "every tensor is there, equal, and on a 64-byte boundary (%d of %zu)", aligned, set.n);
	}
	CHECK(mapped.mapping != NULL && mapped.owned_block == NULL, "the set points into the mapping");
	want = logits_of((char *) config, config_len, &set, &vocab);
	got = logits_of((char *) config, config_len, &mapped, &vocab);
	CHECK(want && got && memcmp(want, got, sizeof(float) * vocab) == 0,
		  "a model built on the mapping gives the same logits, bit for bit");
	free(want);
	free(got);
	CHECK(lm_safetensors_load(path, &reread, &err) == 0 && same_tensors(&set, &reread, &aligned),
		  "the file is plain safetensors to another reader");
	lm_tensorset_free(&reread);
	lm_tensorset_free(&mapped);
	CHECK(mapped.mapping == NULL, "freeing the set unmaps it");

	/* the model server's way: the file read into memory of its own */
	CHECK(lm_weights_file_open(path, "db1/model7", true, true, &mapped, &err) == 0,
		  "it reads back into private memory with its key and hash checked (%s)", err.message);
	{
		bool		same = same_tensors(&set, &mapped, &aligned);

		CHECK(same && aligned == (int) set.n && mapped.mapping != NULL,
			  "read privately: every tensor equal and on a 64-byte boundary (%d of %zu)", aligned, set.n);
	}
	want = logits_of((char *) config, config_len, &set, &vocab);
	got = logits_of((char *) config, config_len, &mapped, &vocab);
	CHECK(want && got && memcmp(want, got, sizeof(float) * vocab) == 0,
		  "a model built on the private copy gives the same logits, bit for bit");
	free(want);
	free(got);
	lm_tensorset_free(&mapped);

	test_error_init(&err);
	CHECK(lm_weights_file_map(path, "db1/model8", true, &mapped, &err) != 0 && err.code == LM_ERR_CORRUPT,
		  "another key is refused as corrupt: %s", err.message);

	/* a byte of the last tensor changed: only the hash notices */
	snprintf(other, sizeof(other), "%s/spoiled.safetensors", dir);
	{
		long		size;
		FILE	   *f = fopen(path, "rb");

		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fclose(f);
		spoil_copy(path, other, (size_t) size - 3, false);
	}
	test_error_init(&err);
	CHECK(lm_weights_file_map(other, "db1/model7", true, &mapped, &err) != 0 && err.code == LM_ERR_CORRUPT &&
		  strstr(err.message, "hash"), "a changed byte fails the hash: %s", err.message);
	CHECK(lm_weights_file_map(other, "db1/model7", false, &mapped, &err) == 0,
		  "without verification it maps (the header is intact)");
	lm_tensorset_free(&mapped);

	spoil_copy(path, other, 5000, true);
	test_error_init(&err);
	CHECK(lm_weights_file_map(other, "db1/model7", true, &mapped, &err) != 0 && err.code == LM_ERR_CORRUPT,
		  "a truncated file is corrupt: %s", err.message);
	test_error_init(&err);
	CHECK(lm_weights_file_open(other, "db1/model7", true, true, &mapped, &err) != 0 && err.code == LM_ERR_CORRUPT,
		  "a truncated file read privately is corrupt: %s", err.message);
	spoil_copy(path, other, 4, true);
	CHECK(lm_weights_file_map(other, "db1/model7", true, &mapped, &err) != 0 && err.code == LM_ERR_CORRUPT,
		  "a 4-byte file is corrupt: %s", err.message);
	snprintf(other, sizeof(other), "%s/missing.safetensors", dir);
	CHECK(lm_weights_file_map(other, "db1/model7", true, &mapped, &err) != 0 && err.code == LM_ERR_IO,
		  "a missing file is an I/O error: %s", err.message);

	/* writers fed wrongly leave nothing behind */
	{
		char		tmp[1200];
		LmWeightsWriter *w;
		uint8_t		extra[16] = {0};

		snprintf(other, sizeof(other), "%s/short.safetensors", dir);
		snprintf(tmp, sizeof(tmp), "%s.tmp", other);
		w = lm_weights_file_create(tmp, &set, "k", &err);
		lm_weights_file_append(w, set.tensors[0].data, set.tensors[0].nbytes, &err);
		test_error_init(&err);
		CHECK(lm_weights_file_finish(w, other, &err) != 0 && access(other, F_OK) != 0 && access(tmp, F_OK) != 0,
			  "finishing with bytes missing fails and leaves no file: %s", err.message);

		w = lm_weights_file_create(tmp, &set, "k", &err);
		for (size_t i = 0; i < set.n; i++)
			lm_weights_file_append(w, set.tensors[i].data, set.tensors[i].nbytes, &err);
		test_error_init(&err);
		CHECK(lm_weights_file_append(w, extra, sizeof(extra), &err) != 0,
			  "appending past the last tensor fails: %s", err.message);
		lm_weights_file_abort(w);
		CHECK(access(tmp, F_OK) != 0, "abort removes the temporary file");
		snprintf(other, sizeof(other), "%s/no-such-dir/x.tmp", dir);
		test_error_init(&err);
		CHECK(lm_weights_file_create(other, &set, "k", &err) == NULL && err.code == LM_ERR_IO,
			  "a file that cannot be created is an I/O error: %s", err.message);
	}

	unlink(path);
	snprintf(other, sizeof(other), "%s/spoiled.safetensors", dir);
	unlink(other);
	rmdir(dir);
	free(config);
	lm_tensorset_free(&set);
	return test_done();
}
