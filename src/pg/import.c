/*
 * import.c — lm_import() and lm_drop(): read a Hugging Face directory, a
 * tokenizer.json or a SentencePiece .model from the server's file system into
 * the lm.* tables.
 *
 * Everything is checked before it is stored (JSON documents, safetensors
 * headers against the file, tokenizers by loading them), and the whole
 * import is one transaction: an error leaves no rows behind.
 */
#include "pg/pg_lm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/array.h"
#include "catalog/pg_type.h"

#include "formats/chat_info.h"
#include "formats/hf_files.h"
#include "formats/gguf.h"
#include "formats/gguf_hf.h"
#include "formats/gguf_tokenizer.h"
#include "formats/safetensors.h"
#include "nn/quantize_model.h"
#include "pg/classic.h"
#include "pg/model_rows.h"
#include "pg/row_writer.h"
#include "tasks/kinds.h"
#include "pg/store.h"
#include "tokenizer/tokenizer.h"

LM_PG_FREE_FN(free_tensor_set, LmTensorSet, lm_tensorset_free)

/* Tensor bytes go into rows of at most this size (bytea's limit is 1 GB). */
#define LM_TENSOR_CHUNK_BYTES ((size_t) 64 * 1024 * 1024)
/* Small tensors' rows and chunks are written many to a statement, up to this many bytes. */
#define TENSOR_ROWS_BYTES ((Size) 16 * 1024 * 1024)
/* JSON documents and .model files are read whole; refuse absurd sizes. */
#define LM_MAX_DOCUMENT_BYTES ((size_t) 512 * 1024 * 1024)

PG_FUNCTION_INFO_V1(pglm_import);
PG_FUNCTION_INFO_V1(pglm_drop);

/* What an import has gathered before it writes the model row. */
typedef struct ImportSource
{
	const char *name;
	const char *root;			/* the path the user gave */
	bool		is_dir;
	char	   *architecture;
	char	   *task;
	char	   *config;			/* JSON texts, or NULL */
	char	   *tokenizer;
	char	   *generation_config;
	char	   *pipeline;
	List	   *files;			/* ImportedFile */
	List	   *safetensors;	/* full paths of weight files */
	LmTensorSet *gguf_tensors;	/* a GGUF file's, in memory (guarded) */
	bool		quantize;		/* weight matrices stored as quantize_to */
	LmDType		quantize_to;
	bool		conv1d_out_in;	/* GPT-2's Conv1D weights stored [out][in] (a GGUF file's) */
	char	   *chat_template;	/* the chat template, named others (JSON), special tokens (JSON) */
	char	   *chat_templates;
	char	   *special_tokens;
} ImportSource;

typedef struct ImportedFile
{
	char	   *file;			/* relative to the root */
	char	   *source_path;
	char		sha256[LM_SHA256_HEX_LENGTH];
	int64		bytes;
	bytea	   *content;		/* kept for .model files */
} ImportedFile;

static char *
join_path(const char *dir, const char *file)
{
	return psprintf("%s/%s", dir, file);
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t		n = strlen(s),
				m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Record a file the import read (its hash, and its bytes when keep). */
static ImportedFile *
note_file(ImportSource *src, const char *file, const char *path)
{
	ImportedFile *f = palloc0(sizeof(ImportedFile));

	f->file = pstrdup(file);
	f->source_path = pstrdup(path);
	lm_pg_sha256_file(path, f->sha256, &f->bytes);
	src->files = lappend(src->files, f);
	return f;
}

/* Read a whole file into palloc'd memory (NUL-terminated). */
static char *
read_whole_file(const char *path, size_t *len)
{
	struct stat st;
	int			fd;
	char	   *buf;
	size_t		done = 0;

	fd = lm_pg_open_regular_file(path);
	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not open file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not stat file \"%s\": %m", path)));
	if ((size_t) st.st_size > LM_MAX_DOCUMENT_BYTES)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("file \"%s\" is too large (%lld bytes)", path, (long long) st.st_size)));
	buf = palloc((size_t) st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, (size_t) st.st_size - done);

		if (n < 0)
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not read file \"%s\": %m", path)));
		if (n == 0)
			break;
		done += n;
	}
	CloseTransientFile(fd);
	buf[done] = '\0';
	*len = done;
	return buf;
}

/* Read a JSON document and check it is a well-formed object; returns its text. */
static char *
read_json_object(const char *path)
{
	size_t		len;
	char	   *text = read_whole_file(path, &len);
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_json_check_object(text, len, &err) != 0)
	{
		lm_error_prefix(&err, "%s", path);
		lm_pg_raise(&err);
	}
	return text;
}

/* Load a tokenizer with the engine to check it, then free it. */
static void
validate_tokenizer(const char *path, const char *json, size_t len, bool spm)
{
	LmError		err;
	LmTokenizer *tok;

	lm_pg_error_init(&err);
	tok = spm ? lm_tokenizer_from_spm((const uint8 *) json, len, &err)
		: lm_tokenizer_from_json(json, len, &err);
	if (tok == NULL)
	{
		lm_error_prefix(&err, "%s", path);
		lm_pg_raise(&err);
	}
	lm_tokenizer_free(tok);
}

/* The pipeline task a Hugging Face architecture name stands for. */
static const char *
task_of(const char *arch_name)
{
	static const struct
	{
		const char *suffix;
		const char *task;
	}			tasks[] = {
		{"ForCausalLM", "text-generation"},
		{"LMHeadModel", "text-generation"},
		{"ForMaskedLM", "fill-mask"},
		{"ForSequenceClassification", "text-classification"},
		{"TextRNNClassifier", "text-classification"},
		{"ForConditionalGeneration", "text2text-generation"},
		{"MTModel", "text2text-generation"},
		{"Seq2Seq", "text2text-generation"},
		{"Model", "feature-extraction"},
	};

	for (size_t i = 0; i < lengthof(tasks); i++)
		if (has_suffix(arch_name, tasks[i].suffix))
			return tasks[i].task;
	return NULL;
}

/* config.json: architecture and task. */
static void
read_config(ImportSource *src)
{
	char	   *path = join_path(src->root, "config.json");
	char	   *model_type;
	char	   *arch_name;
	LmError		err;

	if (!file_exists(path))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("\"%s\" has no config.json", src->root),
				 errhint("A Hugging Face model directory holds config.json, model.safetensors and tokenizer.json.")));
	src->config = read_json_object(path);
	note_file(src, "config.json", path);
	lm_pg_error_init(&err);
	if (lm_hf_config_info(src->config, strlen(src->config), &model_type, &arch_name, &err) != 0)
	{
		lm_error_prefix(&err, "%s", path);
		lm_pg_raise(&err);
	}
	src->architecture = pstrdup(model_type);
	src->task = pstrdup(arch_name && task_of(arch_name) ? task_of(arch_name) : "feature-extraction");
	free(model_type);
	free(arch_name);
	if (lm_kind_check_import(src->architecture, path, &err) != 0)
		lm_pg_raise(&err);
}

/*
 * sentence-transformers: modules.json names the Pooling and Normalize
 * modules; the pooling mode and normalisation become the model's pipeline.
 */
static void
read_sentence_transformers(ImportSource *src)
{
	char	   *modules_path = join_path(src->root, "modules.json");
	char	   *text;
	size_t		len;
	char	   *pooling_dir;
	bool		normalize;
	char	   *mode = NULL;
	LmError		err;

	if (!file_exists(modules_path))
		return;
	lm_pg_error_init(&err);
	text = read_whole_file(modules_path, &len);
	note_file(src, "modules.json", modules_path);
	if (lm_st_modules(text, len, &pooling_dir, &normalize, &err) != 0)
	{
		lm_error_prefix(&err, "%s", modules_path);
		lm_pg_raise(&err);
	}
	if (pooling_dir != NULL)
	{
		char	   *rel = psprintf("%s/config.json", pooling_dir);
		char	   *path = join_path(src->root, rel);

		free(pooling_dir);
		if (!file_exists(path))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("pooling configuration \"%s\" named in \"%s\" is missing",
							path, modules_path)));
		text = read_whole_file(path, &len);
		note_file(src, rel, path);
		if (lm_st_pooling_mode(text, len, &mode, &err) != 0)
		{
			lm_error_prefix(&err, "%s", path);
			lm_pg_raise(&err);
		}
	}
	src->pipeline = psprintf("{\"pooling\": \"%s\", \"normalize\": %s}",
							 mode ? mode : "mean", normalize ? "true" : "false");
	free(mode);
	pfree(src->task);
	src->task = pstrdup("feature-extraction");
}

/* The weight files: one model.safetensors, or the shards an index names. */
static void
find_safetensors(ImportSource *src)
{
	char	   *single = join_path(src->root, "model.safetensors");
	char	   *index_path = join_path(src->root, "model.safetensors.index.json");
	char	   *text;
	char	  **shards;
	size_t		n_shards;
	LmError		err;

	if (file_exists(single))
	{
		src->safetensors = list_make1(single);
		return;
	}
	if (!file_exists(index_path))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("\"%s\" has no model.safetensors nor model.safetensors.index.json", src->root),
				 errhint("pg_lm reads weights in the safetensors format; convert PyTorch .bin files with transformers' save_pretrained.")));
	text = read_json_object(index_path);
	note_file(src, "model.safetensors.index.json", index_path);
	lm_pg_error_init(&err);
	if (lm_safetensors_index_shards(text, strlen(text), &shards, &n_shards, &err) != 0)
	{
		lm_error_prefix(&err, "%s", index_path);
		lm_pg_raise(&err);
	}
	for (size_t i = 0; i < n_shards; i++)
	{
		char	   *path = join_path(src->root, shards[i]);

		if (!file_exists(path))
		{
			lm_free_strings(shards, n_shards);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("shard \"%s\" named in \"%s\" is missing", path, index_path)));
		}
		src->safetensors = lappend(src->safetensors, path);
	}
	lm_free_strings(shards, n_shards);
}

/* An optional JSON file of a Hugging Face directory. */
static char *
read_optional_json(ImportSource *src, const char *file)
{
	char	   *path = join_path(src->root, file);
	char	   *text;

	if (!file_exists(path))
		return NULL;
	text = read_json_object(path);
	note_file(src, file, path);
	return text;
}

/* Read a SentencePiece .model file, check it and keep its bytes. */
static void
read_spm_model(ImportSource *src, const char *file, const char *path)
{
	size_t		len;
	char	   *data = read_whole_file(path, &len);
	ImportedFile *f;

	validate_tokenizer(path, data, len, true);
	f = note_file(src, file, path);
	f->content = palloc(len + VARHDRSZ);
	SET_VARSIZE(f->content, len + VARHDRSZ);
	memcpy(VARDATA(f->content), data, len);
	pfree(data);
}

static const char *const spm_files[] = {"tokenizer.model", "spiece.model", "sentencepiece.bpe.model"};

/* Take the engine's chat information into the import (palloc'd copies). */
static void
keep_chat_info(ImportSource *src, LmChatInfo *info)
{
	if (info->template != NULL)
		src->chat_template = pstrdup(info->template);
	if (info->templates != NULL)
		src->chat_templates = pstrdup(info->templates);
	if (info->special_tokens != NULL)
		src->special_tokens = pstrdup(info->special_tokens);
	lm_chat_info_free(info);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * additional_chat_templates/NAME.jinja: the named template NAME, over one
 * of that name from tokenizer_config.json (transformers reads the folder as
 * it reads chat_template.jinja, the file name's stem the template's name).
 * A NAME.jinja of "default" is the template when no other file gave one.
 */
static void
read_additional_chat_templates(ImportSource *src)
{
	char	   *dir = join_path(src->root, "additional_chat_templates");
	DIR		   *d;
	struct dirent *de;
	List	   *names = NIL;
	ListCell   *lc;
	char	  **sorted;
	int			n = 0;
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (d = AllocateDir(dir)) == NULL)
		return;
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);

		if (len > strlen(".jinja") && de->d_name[0] != '.' &&
			strcmp(de->d_name + len - strlen(".jinja"), ".jinja") == 0)
			names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(d);
	/* in name order: the same import whatever order the directory lists them in */
	sorted = palloc(sizeof(char *) * Max(list_length(names), 1));
	foreach(lc, names)
		sorted[n++] = lfirst(lc);
	qsort(sorted, n, sizeof(char *), compare_names);
	for (int i = 0; i < n; i++)
	{
		char	   *file = psprintf("additional_chat_templates/%s", sorted[i]);
		char	   *path = join_path(src->root, file);
		char	   *name = pnstrdup(sorted[i], strlen(sorted[i]) - strlen(".jinja"));
		size_t		len;
		char	   *text;
		char	   *merged;
		LmError		err;

		if (!file_exists(path))
			continue;
		text = read_whole_file(path, &len);
		lm_pg_error_init(&err);
		if (strcmp(name, "default") == 0 && src->chat_template == NULL)
		{
			if (lm_chat_template_check(text, len, path, &err) != 0)
				lm_pg_raise(&err);
			src->chat_template = text;
		}
		else
		{
			if ((merged = lm_chat_templates_set(src->chat_templates, name, text, len, path, &err)) == NULL)
				lm_pg_raise(&err);
			src->chat_templates = pstrdup(merged);
			free(merged);
		}
		note_file(src, file, path);
	}
}

/*
 * The chat template and the special tokens' strings, as transformers reads
 * them: chat_template.jinja, else tokenizer_config.json's "chat_template"
 * (a string, or named templates of which "default" is the one), else
 * chat_template.json's; the special tokens of tokenizer_config.json, those
 * of special_tokens_map.json over them.
 */
static void
read_chat_files(ImportSource *src)
{
	char	   *config = read_optional_json(src, "tokenizer_config.json");
	char	   *map = read_optional_json(src, "special_tokens_map.json");
	char	   *jinja_path = join_path(src->root, "chat_template.jinja");
	char	   *json = NULL;
	LmChatInfo	info;
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_hf_chat_info(config, config ? strlen(config) : 0, map, map ? strlen(map) : 0, &info, &err) != 0)
	{
		lm_error_prefix(&err, "%s", src->root);
		lm_pg_raise(&err);
	}
	keep_chat_info(src, &info);
	if (file_exists(jinja_path))
	{
		size_t		len;
		char	   *text = read_whole_file(jinja_path, &len);

		if (lm_chat_template_check(text, len, jinja_path, &err) != 0)
			lm_pg_raise(&err);
		note_file(src, "chat_template.jinja", jinja_path);
		src->chat_template = text;
	}
	else if (src->chat_template == NULL && (json = read_optional_json(src, "chat_template.json")) != NULL)
	{
		char	   *t = lm_hf_chat_template_json(json, strlen(json), &err);

		if (t == NULL)
		{
			lm_error_prefix(&err, "%s", src->root);
			lm_pg_raise(&err);
		}
		src->chat_template = pstrdup(t);
		free(t);
	}
	read_additional_chat_templates(src);
}

/*
 * A directory of tokenizer files alone (tokenizer.json or a SentencePiece
 * model, no config.json, no weights) is a tokenizer, chat template included.
 */
static bool
is_tokenizer_directory(ImportSource *src)
{
	bool		has_tokenizer = file_exists(join_path(src->root, "tokenizer.json"));

	if (file_exists(join_path(src->root, "config.json")) ||
		file_exists(join_path(src->root, "model.safetensors")) ||
		file_exists(join_path(src->root, "model.safetensors.index.json")))
		return false;
	for (size_t i = 0; i < lengthof(spm_files); i++)
		has_tokenizer = has_tokenizer || file_exists(join_path(src->root, spm_files[i]));
	return has_tokenizer;
}

static void
gather_hf_directory(ImportSource *src)
{
	bool		tokenizer_only = is_tokenizer_directory(src);

	if (tokenizer_only)
	{
		src->architecture = pstrdup(LM_ARCH_TOKENIZER);
		src->task = pstrdup("tokenization");
	}
	else
	{
		read_config(src);
		src->generation_config = read_optional_json(src, "generation_config.json");
	}
	src->tokenizer = read_optional_json(src, "tokenizer.json");
	if (src->tokenizer)
		validate_tokenizer(join_path(src->root, "tokenizer.json"), src->tokenizer,
						   strlen(src->tokenizer), false);
	for (size_t i = 0; i < lengthof(spm_files); i++)
	{
		char	   *path = join_path(src->root, spm_files[i]);

		if (file_exists(path))
			read_spm_model(src, spm_files[i], path);
	}
	read_chat_files(src);
	if (tokenizer_only)
		return;
	read_sentence_transformers(src);
	find_safetensors(src);
}

static void
gather_tokenizer_file(ImportSource *src, bool spm)
{
	const char *base = strrchr(src->root, '/') ? strrchr(src->root, '/') + 1 : src->root;

	src->architecture = pstrdup(LM_ARCH_TOKENIZER);
	src->task = pstrdup("tokenization");
	if (spm)
		read_spm_model(src, base, src->root);
	else
	{
		src->tokenizer = read_json_object(src->root);
		validate_tokenizer(src->root, src->tokenizer, strlen(src->tokenizer), false);
		note_file(src, base, src->root);
	}
}

/* SPI helpers ------------------------------------------------------------ */

/* The provenance rows of the files the import read. */
static void
insert_file_rows(ImportSource *src, int64 model_id)
{
	ListCell   *lc;

	foreach(lc, src->files)
	{
		ImportedFile *f = lfirst(lc);

		lm_pg_insert_model_file(model_id, f->file, f->source_path, f->sha256, f->bytes, f->content);
	}
}

/* pread exactly len bytes or raise. */
static void
read_exactly(int fd, const char *path, char *buf, size_t len, uint64 offset)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = pread(fd, buf + done, len - done, (off_t) (offset + done));

		if (n < 0)
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not read file \"%s\": %m", path)));
		if (n == 0)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("\"%s\" ends early (truncated file?)", path)));
		done += n;
	}
}

typedef struct TensorPlans
{
	LmRowWriter *tensor;
	LmRowWriter *chunk;
	HTAB	   *names;			/* every tensor name stored so far */
} TensorPlans;

/* Store one tensor's row and its chunks: read from fd, or (fd < 0) from t->data. */
static void
store_tensor(TensorPlans *plans, int64 model_id, int fd, const char *path,
			 uint64 data_start, const LmTensor *t)
{
	Datum		values[6];
	Datum	   *dims = palloc(sizeof(Datum) * Max(t->ndim, 1));
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int64		numel = lm_tensor_numel(t);
	uint64		off;
	int			chunk = 0;
	bytea	   *buf;

	for (int i = 0; i < t->ndim; i++)
		dims[i] = Int64GetDatum(t->shape[i]);
	values[0] = Int64GetDatum(model_id);
	values[1] = CStringGetTextDatum(t->name);
	values[2] = CStringGetTextDatum(lm_dtype_name(t->dtype));
	values[3] = PointerGetDatum(construct_array(dims, t->ndim, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[4] = Int64GetDatum(numel);
	values[5] = Int64GetDatum((int64) t->nbytes);
	lm_rows_add(plans->tensor, values, nulls);

	buf = palloc(Min(t->nbytes, LM_TENSOR_CHUNK_BYTES) + VARHDRSZ);
	for (off = 0; off < t->nbytes || (off == 0 && chunk == 0); off += LM_TENSOR_CHUNK_BYTES)
	{
		size_t		len = Min(t->nbytes - off, LM_TENSOR_CHUNK_BYTES);

		CHECK_FOR_INTERRUPTS();
		if (fd >= 0)
			read_exactly(fd, path, VARDATA(buf), len, data_start + t->offset + off);
		else
			memcpy(VARDATA(buf), (const char *) t->data + off, len);
		SET_VARSIZE(buf, len + VARHDRSZ);
		values[1] = CStringGetTextDatum(t->name);
		values[2] = Int32GetDatum(chunk);
		values[3] = PointerGetDatum(buf);
		lm_rows_add(plans->chunk, values, nulls);
		chunk++;
		if (t->nbytes == 0)
			break;
	}
	pfree(buf);
	pfree(dims);
}

/*
 * Store a tensor quantized (lm_import's quantize): its bytes read whole (from
 * fd, or in memory already), quantized in engine memory, stored from there.
 */
static void
store_quantized(TensorPlans *plans, ImportSource *src, int64 model_id, int fd, const char *path,
				uint64 data_start, const LmTensor *t, bool transpose)
{
	LmTensor	q = *t;
	LmTensor	in = *t;
	char	   *bytes = NULL;
	LmError		err;

	lm_pg_error_init(&err);
	if (t->data == NULL)
	{
		bytes = palloc_extended(Max(t->nbytes, 1), MCXT_ALLOC_HUGE);
		read_exactly(fd, path, bytes, t->nbytes, data_start + t->offset);
		in.data = bytes;
	}
	q.dtype = src->quantize_to;
	q.nbytes = lm_quantized_bytes(t, src->quantize_to, transpose);
	q.shape[0] = transpose ? t->shape[1] : t->shape[0];
	q.shape[1] = transpose ? t->shape[0] : t->shape[1];
	q.data = palloc_extended(Max(q.nbytes, 1), MCXT_ALLOC_HUGE);
	if (lm_quantize_tensor(&in, src->quantize_to, transpose, (void *) q.data, &err) != 0)
		lm_pg_raise(&err);
	if (bytes != NULL)
		pfree(bytes);
	store_tensor(plans, model_id, -1, path, 0, &q);
	pfree((void *) q.data);
}

/* One tensor, quantized when asked and it is a weight matrix. */
static void
store_one(TensorPlans *plans, ImportSource *src, int64 model_id, int fd, const char *path,
		  uint64 data_start, const LmTensor *t)
{
	bool		transpose;

	if (src->quantize && lm_quantize_wanted(src->architecture, src->conv1d_out_in, t, src->quantize_to, &transpose))
		store_quantized(plans, src, model_id, fd, path, data_start, t, transpose);
	else
		store_tensor(plans, model_id, fd, path, data_start, t);
}

/* Read one safetensors file's header and store all its tensors. */
static void
store_safetensors(TensorPlans *plans, ImportSource *src, int64 model_id, const char *path)
{
	int			fd = lm_pg_open_regular_file(path);
	struct stat st;
	uint8		prefix[LM_SAFETENSORS_PREFIX];
	uint64		header_len;
	char	   *header;
	LmTensorSet set;
	LmTensorSet *owned;
	LmError		err;
	uint64		data_start;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not open file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not stat file \"%s\": %m", path)));
	lm_pg_error_init(&err);
	if ((uint64) st.st_size >= LM_SAFETENSORS_PREFIX)
		read_exactly(fd, path, (char *) prefix, LM_SAFETENSORS_PREFIX, 0);
	if (lm_safetensors_header_length(prefix, (uint64) st.st_size, &header_len, &err) != 0)
	{
		lm_error_prefix(&err, "%s", path);
		lm_pg_raise(&err);
	}
	header = palloc(header_len + 1);
	read_exactly(fd, path, header, header_len, LM_SAFETENSORS_PREFIX);
	data_start = LM_SAFETENSORS_PREFIX + header_len;
	if (lm_safetensors_parse_header(header, header_len, (uint64) st.st_size - data_start,
									&set, &err) != 0)
	{
		lm_error_prefix(&err, "%s", path);
		lm_pg_raise(&err);
	}
	/* the headers are engine memory: freed with the call's memory, error or not */
	owned = palloc(sizeof(LmTensorSet));
	*owned = set;
	lm_pg_guard(free_tensor_set, owned);
	for (size_t i = 0; i < set.n; i++)
	{
		bool		found;

		hash_search(plans->names, set.tensors[i].name, HASH_ENTER, &found);
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("tensor \"%s\" in \"%s\" appears in more than one weight file",
							set.tensors[i].name, path)));
		store_one(plans, src, model_id, fd, path, data_start, &set.tensors[i]);
	}
	CloseTransientFile(fd);
	note_file(src, base, path);
}

static void
store_all_tensors(ImportSource *src, int64 model_id)
{
	Oid			tensor_types[6] = {INT8OID, TEXTOID, TEXTOID, INT8ARRAYOID, INT8OID, INT8OID};
	Oid			chunk_types[4] = {INT8OID, TEXTOID, INT4OID, BYTEAOID};
	TensorPlans plans;
	HASHCTL		ctl;
	ListCell   *lc;

	plans.tensor = lm_rows_begin("_lm.tensor (model_id, name, dtype, shape, numel, bytes)", 6,
								 tensor_types, TENSOR_ROWS_BYTES);
	plans.chunk = lm_rows_begin("_lm.tensor_chunk (model_id, tensor, chunk, data)", 4, chunk_types,
								TENSOR_ROWS_BYTES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN * 4;
	ctl.entrysize = NAMEDATALEN * 4;
	plans.names = hash_create("pg_lm import tensor names", 256, &ctl, HASH_ELEM | HASH_STRINGS);
	foreach(lc, src->safetensors)
		store_safetensors(&plans, src, model_id, lfirst(lc));
	for (size_t i = 0; src->gguf_tensors != NULL && i < src->gguf_tensors->n; i++)
		store_one(&plans, src, model_id, -1, src->root, 0, &src->gguf_tensors->tensors[i]);
	lm_rows_end(plans.tensor);
	lm_rows_end(plans.chunk);
	hash_destroy(plans.names);
}

void
lm_pg_check_new_model_name(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};

	if (strlen(name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	if (strlen(name) >= NAMEDATALEN * 4)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name is too long (at most %d bytes)", NAMEDATALEN * 4 - 1)));
	if (SPI_execute_with_args("SELECT 1 FROM _lm.model WHERE name = $1", 1, types, values,
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", name),
				 errhint("Models are immutable: import under a new name, or lm_drop('%s') first.", name)));
}

/*
 * Build the model from the rows just written, as a query would: a config
 * that disagrees with its weights (a missing tensor, a wrong shape, an
 * unknown cell) fails the import instead of the first query.
 */
static void
check_runnable(const char *name)
{
	lm_store_see_own_writes(true);
	PG_TRY();
	{
		/* transformers and RNNs are built; CLIP is stored for later use */
		lm_store_build(lm_store_get(name));
	}
	PG_FINALLY();
	{
		lm_store_see_own_writes(false);
		/* the import's caller loads the model when it first uses it */
		lm_store_forget(name);
	}
	PG_END_TRY();
}

/* Where the import reads from: an absolute path that exists (trailing slashes dropped). */
static void
open_source(ImportSource *src, const char *name, char *path)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	src->name = name;
	/* Trailing slashes do not change the directory, only the messages. */
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	src->root = path;
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path \"%s\" is not absolute", path),
				 errhint("Give the full path of the model directory or file on the database server.")));
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access \"%s\": %m", path)));
	src->is_dir = S_ISDIR(st.st_mode);
}

/*
 * The tokenizer a GGUF file's metadata describes: tokenizer.json into
 * src->tokenizer, or a SentencePiece model kept as a file of the import
 * ("NAME.gguf.tokenizer.model").  Without one (or one pg_lm cannot read
 * yet, when not required) the model is imported without a tokenizer.  Its
 * chat template and special tokens' strings too.
 */
static void
gguf_tokenizer(ImportSource *src, const LmGguf *g, bool required)
{
	LmError		err;
	const char *base = strrchr(src->root, '/') ? strrchr(src->root, '/') + 1 : src->root;
	LmChatInfo	info;

	lm_pg_error_init(&err);
	/* tokenizer.chat_template and the special tokens' strings */
	if (lm_gguf_chat_info(g, &info, &err) != 0)
	{
		lm_error_prefix(&err, "%s", src->root);
		lm_pg_raise(&err);
	}
	keep_chat_info(src, &info);
	if (!lm_gguf_has_tokenizer(g) && !required)
		return;
	if (lm_gguf_tokenizer_is_spm(g))
	{
		size_t		len;
		uint8_t    *model = lm_gguf_spm_model(g, &len, &err);
		ImportedFile *f;

		if (model == NULL)
		{
			lm_error_prefix(&err, "%s", src->root);
			lm_pg_raise(&err);
		}
		f = palloc0(sizeof(ImportedFile));
		f->file = psprintf("%s.tokenizer.model", base);
		f->source_path = pstrdup(src->root);
		f->bytes = (int64) len;
		f->content = palloc(len + VARHDRSZ);
		SET_VARSIZE(f->content, len + VARHDRSZ);
		memcpy(VARDATA(f->content), model, len);
		free(model);
		lm_pg_sha256_bytes(VARDATA(f->content), len, f->sha256);
		validate_tokenizer(src->root, VARDATA(f->content), len, true);
		src->files = lappend(src->files, f);
	}
	else
	{
		char	   *json = lm_gguf_tokenizer_json(g, &err);

		if (json == NULL)
		{
			if (required || err.code != LM_ERR_UNSUPPORTED)
			{
				lm_error_prefix(&err, "%s", src->root);
				lm_pg_raise(&err);
			}
			ereport(NOTICE,
					(errmsg("%s", err.message),
					 errdetail("The model is imported without it: it takes token ids (lm_logits), not text.")));
			return;
		}
		src->tokenizer = pstrdup(json);
		free(json);
		validate_tokenizer(src->root, src->tokenizer, strlen(src->tokenizer), false);
	}
}

/*
 * A GGUF file: its metadata becomes a config (with the metadata itself
 * under "gguf_metadata"), its tensors are stored under transformers'
 * names (formats/gguf_hf.h), its vocabulary as tokenizer.json
 * (formats/gguf_tokenizer.h).  A file with a vocabulary and no tensors is
 * a tokenizer.
 */
static void
gather_gguf(ImportSource *src)
{
	LmGguf		g;
	LmError		err;
	LmTensorSet *set = palloc0(sizeof(LmTensorSet));
	char	   *config = NULL,
			   *meta;
	char	   *model_type,
			   *arch_name;
	const char *base = strrchr(src->root, '/') ? strrchr(src->root, '/') + 1 : src->root;

	lm_pg_error_init(&err);
	if (lm_gguf_load(src->root, &g, &err) != 0)
		lm_pg_raise(&err);
	if (g.n_tensors == 0)
	{
		PG_TRY();
		{
			gguf_tokenizer(src, &g, true);
		}
		PG_FINALLY();
		{
			lm_gguf_free(&g);
		}
		PG_END_TRY();
		src->architecture = pstrdup(LM_ARCH_TOKENIZER);
		src->task = pstrdup("tokenization");
		note_file(src, base, src->root);
		return;
	}
	PG_TRY();
	{
		gguf_tokenizer(src, &g, false);
	}
	PG_CATCH();
	{
		lm_gguf_free(&g);
		PG_RE_THROW();
	}
	PG_END_TRY();
	meta = lm_gguf_metadata_json(&g, 64, &err);
	if (meta == NULL || lm_gguf_as_hf(&g, &config, set, &err) != 0)
	{
		free(meta);
		lm_gguf_free(&g);
		lm_error_prefix(&err, "%s", src->root);
		lm_pg_raise(&err);
	}
	lm_gguf_free(&g);
	lm_pg_guard(free_tensor_set, set);
	src->gguf_tensors = set;
	src->config = psprintf("%.*s, \"gguf_metadata\": %s}", (int) strlen(config) - 1, config, meta);
	free(config);
	free(meta);
	if (lm_hf_config_info(src->config, strlen(src->config), &model_type, &arch_name, &err) != 0)
		lm_pg_raise(&err);
	src->architecture = pstrdup(model_type);
	src->task = pstrdup(arch_name && task_of(arch_name) ? task_of(arch_name) : "feature-extraction");
	src->conv1d_out_in = strcmp(model_type, "gpt2") == 0;	/* lm_gguf_as_hf keeps them so */
	free(model_type);
	free(arch_name);
	note_file(src, base, src->root);
}

/* Read a Hugging Face directory or a bare tokenizer, in the format given or told by the path. */
static void
gather_source(ImportSource *src, const char *format)
{
	const char *path = src->root;

	if (strcmp(format, "auto") == 0)
	{
		if (src->is_dir)
			format = "hf";
		else if (has_suffix(path, ".json"))
			format = "tokenizer";
		else if (has_suffix(path, ".model"))
			format = "sentencepiece";
		else if (has_suffix(path, ".gguf"))
			format = "gguf";
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot tell the format of \"%s\"", path),
					 errhint("Give a Hugging Face model directory, a GGUF file, a tokenizer.json, a SentencePiece .model, word vectors (.bin, .txt, .vec), a fastText .bin or .ftz, or name the format.")));
	}
	if (strcmp(format, "hf") == 0)
	{
		if (!src->is_dir)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("format \"hf\" needs a directory, and \"%s\" is not one", path)));
		gather_hf_directory(src);
	}
	else if (strcmp(format, "gguf") == 0)
	{
		if (src->is_dir)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("format \"gguf\" needs a file, and \"%s\" is a directory", path)));
		gather_gguf(src);
	}
	else if (strcmp(format, "tokenizer") == 0 || strcmp(format, "sentencepiece") == 0)
	{
		if (src->is_dir)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("format \"%s\" needs a file, and \"%s\" is a directory", format, path)));
		gather_tokenizer_file(src, strcmp(format, "sentencepiece") == 0);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown model format \"%s\"", format),
				 errhint("Formats: auto, hf, gguf, tokenizer, sentencepiece, word2vec, glove, vec, fasttext.")));
}

/* lm_import's chat_template: NULL, or a template for the model whatever its files say. */
static char *
chat_template_arg(FunctionCallInfo fcinfo)
{
	text	   *t;
	char	   *s;
	LmError		err;

	if (PG_NARGS() < 5 || PG_ARGISNULL(4))
		return NULL;
	t = PG_GETARG_TEXT_PP(4);
	if (VARSIZE_ANY_EXHDR(t) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chat_template must not be empty"),
				 errhint("Pass NULL to take the chat template from the model's files.")));
	s = text_to_cstring(t);
	lm_pg_error_init(&err);
	if (lm_chat_template_check(s, strlen(s), "chat_template", &err) != 0)
		lm_pg_raise(&err);
	return s;
}

/* lm_import(name, path, format, quantize, chat_template) */
Datum
pglm_import(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *path;
	char	   *format;
	char	   *quantize;
	char	   *chat_template;
	ImportSource src;
	int64		model_id;

	/* NULL arguments but chat_template give NULL, as the function was STRICT */
	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	format = text_to_cstring(PG_GETARG_TEXT_PP(2));
	quantize = text_to_cstring(PG_GETARG_TEXT_PP(3));
	chat_template = chat_template_arg(fcinfo);
	lm_pg_require_file_access("import models");
	open_source(&src, name, path);
	if (pg_strcasecmp(quantize, "q8_0") == 0)
	{
		src.quantize = true;
		src.quantize_to = LM_DTYPE_Q8_0;
	}
	else if (pg_strcasecmp(quantize, "none") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown quantization \"%s\"", quantize),
				 errhint("lm_import quantizes to 'q8_0', or not at all ('none'); "
						 "models quantized otherwise are imported from GGUF files.")));
	lm_pg_spi_connect();
	lm_pg_check_new_model_name(name);
	/* Word vectors, fastText and other classic formats have their own reader. */
	model_id = lm_pg_import_classic(name, path, format);
	if (model_id >= 0 && chat_template != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" cannot take a chat template", name),
				 errdetail("Word vectors and fastText models read words, not chats."),
				 errhint("Give chat_template to imports of language models and tokenizers.")));
	if (model_id >= 0)
	{
		lm_pg_seal_model(model_id);
		lm_pg_spi_finish();
		lm_store_forget(name);
		PG_RETURN_INT64(model_id);
	}
	gather_source(&src, format);
	if (chat_template != NULL)
	{
		/* the template given replaces the files' (named ones included) */
		src.chat_template = chat_template;
		src.chat_templates = NULL;
	}
	model_id = lm_pg_insert_model(src.name, src.architecture, src.task, src.config, src.tokenizer,
								  src.generation_config, src.pipeline, src.root);
	lm_pg_set_model_chat(model_id, src.chat_template, src.chat_templates, src.special_tokens);
	if (src.safetensors != NIL || src.gguf_tensors != NULL)
		store_all_tensors(&src, model_id);
	insert_file_rows(&src, model_id);
	lm_pg_seal_model(model_id);
	lm_pg_spi_finish();
	if (src.safetensors != NIL || src.gguf_tensors != NULL)
		check_runnable(name);
	lm_store_forget(name);
	PG_RETURN_INT64(model_id);
}

/* The tables that hold a model's parts, each with its model_id column. */
static const char *const part_tables[] = {
	"_lm.model_file", "_lm.tensor_chunk", "_lm.tensor", "_lm.ngram", "_lm.word_vector", "_lm.tfidf_term"
};

Datum
pglm_drop(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	int64		id;

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT id, owner FROM _lm.model WHERE name = $1 FOR UPDATE", 1, types,
							  values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("SELECT name FROM lm.models lists the imported models.")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lm_pg_require_model_owner(name, NameStr(*DatumGetName(SPI_getbinval(SPI_tuptable->vals[0],
																		SPI_tuptable->tupdesc, 2,
																		&isnull))), "drop");
	lm_pg_check_no_dependents(name);
	types[0] = INT8OID;
	values[0] = Int64GetDatum(id);
	for (int i = 0; i < lengthof(part_tables); i++)
		if (SPI_execute_with_args(psprintf("DELETE FROM %s WHERE model_id = $1", part_tables[i]), 1,
								  types, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete from %s", part_tables[i]);
	if (SPI_execute_with_args("DELETE FROM _lm.model WHERE id = $1", 1, types, values, NULL, false, 0)
		!= SPI_OK_DELETE)
		elog(ERROR, "could not delete from _lm.model");
	/* the weights file goes with the row: trigger _lm.model_deleted */
	lm_pg_invalidate_plans_at_commit();
	lm_pg_spi_finish();
	lm_store_forget(name);
	PG_RETURN_VOID();
}
