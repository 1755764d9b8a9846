/*
 * classic_import.c — lm_import of the classic formats: word vectors
 * (word2vec binary or text, GloVe text, fastText .vec) into _lm.word_vector,
 * one row per word, and fastText .bin/.ftz models, whose bytes stay in
 * _lm.model_file.content.  Every file is parsed by the engine before anything
 * is stored, and the import is one transaction with the caller's.
 */
#include "pg/classic_internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pg/model_rows.h"

LM_PG_FREE_FN(free_word_vectors, LmWordVectors, lm_wordvec_free)
LM_PG_FREE_FN(free_fasttext, LmFastText, lm_fasttext_free)

/* A fastText file is kept whole in one bytea. */
#define LM_FASTTEXT_MAX_STORED_BYTES ((size_t) (MaxAllocSize - VARHDRSZ))
/* Bytes read to tell a word2vec header or a fastText magic number. */
#define LM_SNIFF_BYTES 64

typedef enum ClassicFormat
{
	FORMAT_NOT_CLASSIC,
	FORMAT_WORD2VEC,			/* header, then binary or text vectors */
	FORMAT_GLOVE,
	FORMAT_VEC,
	FORMAT_FASTTEXT
} ClassicFormat;

static bool
has_suffix_ci(const char *s, const char *suffix)
{
	size_t		n = strlen(s),
				m = strlen(suffix);

	return n >= m && pg_strcasecmp(s + n - m, suffix) == 0;
}

/* The first bytes of a file (fewer when it is shorter). */
static size_t
read_prefix(const char *path, uint8 *buf, size_t len)
{
	int			fd = lm_pg_open_regular_file(path);
	ssize_t		n;

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not open file \"%s\": %m", path)));
	n = read(fd, buf, len);
	if (n < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not read file \"%s\": %m", path)));
	CloseTransientFile(fd);
	return (size_t) n;
}

static bool
has_fasttext_magic(const char *path)
{
	uint8		b[4];

	return read_prefix(path, b, 4) == 4 &&
		(uint32) (b[0] | (b[1] << 8) | (b[2] << 16) | ((uint32) b[3] << 24)) == LM_FASTTEXT_MAGIC;
}

/* Does the file start with word2vec's "COUNT DIM" line? */
static bool
has_word2vec_header(const char *path)
{
	uint8		b[LM_SNIFF_BYTES];
	size_t		n = read_prefix(path, b, sizeof(b));
	size_t		i = 0;
	int			fields = 0;

	while (i < n && b[i] != '\n')
	{
		if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r')
		{
			i++;
			continue;
		}
		if (b[i] < '0' || b[i] > '9')
			return false;
		while (i < n && b[i] >= '0' && b[i] <= '9')
			i++;
		fields++;
	}
	return i < n && fields == 2;
}

static ClassicFormat
classic_format(const char *path, const char *format, bool is_dir)
{
	if (strcmp(format, "word2vec") == 0)
		return FORMAT_WORD2VEC;
	if (strcmp(format, "glove") == 0)
		return FORMAT_GLOVE;
	if (strcmp(format, "vec") == 0)
		return FORMAT_VEC;
	if (strcmp(format, "fasttext") == 0)
		return FORMAT_FASTTEXT;
	if (strcmp(format, "auto") != 0 || is_dir)
		return FORMAT_NOT_CLASSIC;
	if (has_suffix_ci(path, ".ftz"))
		return FORMAT_FASTTEXT;
	if (has_suffix_ci(path, ".bin"))
		return has_fasttext_magic(path) ? FORMAT_FASTTEXT : FORMAT_WORD2VEC;
	if (has_suffix_ci(path, ".vec"))
		return FORMAT_VEC;
	if (has_suffix_ci(path, ".txt"))
		return has_word2vec_header(path) ? FORMAT_WORD2VEC : FORMAT_GLOVE;
	return FORMAT_NOT_CLASSIC;
}

/* Provenance --------------------------------------------------------------- */

/* The file name the provenance row records (the last path component). */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Word vectors ------------------------------------------------------------- */

/* Word i of the file, for lm_pg_insert_word_vectors. */
static const float *
word_vector_row(void *arg, int32 i, const char **word, size_t *len)
{
	const LmWordVectors *wv = arg;

	*word = lm_wordvec_word(wv, i, len);
	return lm_wordvec_vector(wv, i);
}

static int64
import_word_vectors(const char *name, const char *path, ClassicFormat format)
{
	LmWordVecFormat engine_format;
	LmWordVectors *wv;
	LmError		err;
	int			dim;
	int64		count;
	char	   *config;
	int64		model_id = -1;
	char		sha[LM_SHA256_HEX_LENGTH];
	int64		bytes;

	switch (format)
	{
		case FORMAT_GLOVE:
			engine_format = LM_WORDVEC_GLOVE_TEXT;
			break;
		case FORMAT_VEC:
			engine_format = LM_WORDVEC_WORD2VEC_TEXT;
			break;
		default:
			if (!has_word2vec_header(path))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("\"%s\" does not start with word2vec's \"COUNT DIM\" line", path),
						 errhint("GloVe text files have no header: lm_import(name, path, 'glove').")));
			engine_format = LM_WORDVEC_AUTO;	/* binary or text after the header */
			break;
	}
	lm_pg_error_init(&err);
	wv = lm_wordvec_load_file(path, engine_format, &err);
	if (wv == NULL)
		lm_pg_raise(&err);
	lm_pg_guard(free_word_vectors, wv);
	dim = lm_wordvec_dim(wv);
	count = lm_wordvec_count(wv);
	lm_pg_sha256_file(path, sha, &bytes);
	config = psprintf("{\"format\": \"%s\", \"dim\": %d, \"count\": " INT64_FORMAT
					  ", \"parameters\": " INT64_FORMAT ", \"bytes\": " INT64_FORMAT
					  ", \"dtype\": \"F32\"}",
					  format == FORMAT_GLOVE ? "glove" : format == FORMAT_VEC ? "vec" : "word2vec",
					  dim, count, count * dim, count * dim * (int64) sizeof(float));
	model_id = lm_pg_insert_model(name, LM_ARCH_WORD_VECTORS, "word-embedding", config,
								  NULL, NULL, NULL, path);
	/* one row per word, in file order (index 1 is the file's first word) */
	lm_pg_insert_word_vectors(model_id, dim, count, word_vector_row, wv);
	lm_pg_insert_model_file(model_id, base_name(path), path, sha, bytes, NULL);
	return model_id;
}

/* fastText ------------------------------------------------------------------ */

/* The whole file as a bytea, hashing it on the way. */
static bytea *
read_file_bytea(const char *path, char *sha, int64 *bytes)
{
	struct stat st;
	int			fd = lm_pg_open_regular_file(path);
	bytea	   *data;
	size_t		done = 0;

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not open file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not stat file \"%s\": %m", path)));
	if ((size_t) st.st_size > LM_FASTTEXT_MAX_STORED_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("fastText file \"%s\" is too large to store (%lld bytes, at most %zu)",
						path, (long long) st.st_size, LM_FASTTEXT_MAX_STORED_BYTES),
				 errhint("Quantize it (fasttext quantize) into a .ftz, or export its word vectors as .vec and import those.")));
	data = palloc((size_t) st.st_size + VARHDRSZ);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, VARDATA(data) + done, (size_t) st.st_size - done);

		CHECK_FOR_INTERRUPTS();
		if (n < 0)
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not read file \"%s\": %m", path)));
		if (n == 0)
			break;
		done += n;
	}
	CloseTransientFile(fd);
	SET_VARSIZE(data, done + VARHDRSZ);
	lm_pg_sha256_bytes(VARDATA(data), done, sha);
	*bytes = (int64) done;
	return data;
}

static const char *
fasttext_kind_name(LmFastTextModelKind kind)
{
	switch (kind)
	{
		case LM_FASTTEXT_CBOW:
			return "cbow";
		case LM_FASTTEXT_SKIPGRAM:
			return "skipgram";
		case LM_FASTTEXT_SUPERVISED:
			return "supervised";
	}
	return "unknown";
}

static const char *
fasttext_loss_name(LmFastTextLoss loss)
{
	switch (loss)
	{
		case LM_FASTTEXT_LOSS_HS:
			return "hs";
		case LM_FASTTEXT_LOSS_NS:
			return "ns";
		case LM_FASTTEXT_LOSS_SOFTMAX:
			return "softmax";
		case LM_FASTTEXT_LOSS_OVA:
			return "ova";
	}
	return "unknown";
}

static int64
import_fasttext(const char *name, const char *path)
{
	char		sha[LM_SHA256_HEX_LENGTH];
	int64		bytes;
	bytea	   *data = read_file_bytea(path, sha, &bytes);
	LmFastText *ft;
	LmError		err;
	char	   *config;
	bool		supervised;

	lm_pg_error_init(&err);
	ft = lm_fasttext_load((const uint8_t *) VARDATA(data), VARSIZE(data) - VARHDRSZ, &err);
	if (ft == NULL)
	{
		lm_error_prefix(&err, "%s", path);
		lm_pg_raise(&err);
	}
	/* the facts, then the engine copy goes: the stored bytes are the model */
	lm_pg_guard(free_fasttext, ft);
	{
		supervised = lm_fasttext_model_kind(ft) == LM_FASTTEXT_SUPERVISED;
		config = psprintf("{\"format\": \"fasttext\", \"model\": \"%s\", \"loss\": \"%s\", \"dim\": %d, "
						  "\"words\": %d, \"labels\": %d, \"quantized\": %s, \"bytes\": " INT64_FORMAT
						  ", \"dtype\": \"%s\"}",
						  fasttext_kind_name(lm_fasttext_model_kind(ft)),
						  fasttext_loss_name(lm_fasttext_loss(ft)), lm_fasttext_dim(ft),
						  (int) lm_fasttext_nwords(ft), (int) lm_fasttext_nlabels(ft),
						  lm_fasttext_is_quantized(ft) ? "true" : "false", bytes,
						  lm_fasttext_is_quantized(ft) ? "PQ" : "F32");
	}

	{
		int64		model_id = lm_pg_insert_model(name, LM_ARCH_FASTTEXT,
												  supervised ? "text-classification" : "word-embedding",
												  config, NULL, NULL, NULL, path);

		lm_pg_insert_model_file(model_id, base_name(path), path, sha, bytes, data);
		pfree(data);
		return model_id;
	}
}

/* The hook ------------------------------------------------------------------ */

int64
lm_pg_import_classic(const char *name, const char *path, const char *format)
{
	struct stat st;
	ClassicFormat kind;

	if (stat(path, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not access \"%s\": %m", path)));
	kind = classic_format(path, format, S_ISDIR(st.st_mode));
	if (kind == FORMAT_NOT_CLASSIC)
		return -1;
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("format \"%s\" needs a file, and \"%s\" is not one", format, path)));
	if (kind == FORMAT_FASTTEXT)
		return import_fasttext(name, path);
	return import_word_vectors(name, path, kind);
}
