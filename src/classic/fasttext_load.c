/*
 * fasttext_load.c — parse a fastText .bin/.ftz file into an LmFastText.
 *
 * Layout (fasttext.cc saveModel): magic and version (int32 each), the
 * arguments (12 int32 and a double), the dictionary, a bool saying whether
 * the input matrix is quantized, the input matrix, a bool saying whether
 * the output matrix is quantized, the output matrix.  A dense matrix is
 * two int64 sizes and rows x cols float32.  After parsing, every size is
 * checked against the others so that no row id computed from text can
 * fall outside a matrix.
 */
#include "classic/fasttext_internal.h"

#include <stdlib.h>

#include "util/file.h"

#define FT_MAX_NGRAM_CHARS 256	/* limit on minn/maxn */
#define FT_MAX_WORD_NGRAMS 256	/* limit on wordNgrams */
#define FT_HUFFMAN_UNBUILT_COUNT INT64_C(1000000000000000)	/* 1e15, as fastText */

static int
read_args(ByteReader *r, FtArgs *a, LmError *err)
{
	int32_t    *fields[] = {&a->dim, &a->ws, &a->epoch, &a->min_count, &a->neg,
		&a->word_ngrams, &a->loss, &a->model, &a->bucket, &a->minn, &a->maxn,
	&a->lr_update_rate};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (byte_reader_i32(r, fields[i], "model arguments", err) < 0)
			return -1;
	if (byte_reader_f64(r, &a->t, "model arguments", err) < 0)
		return -1;
	if (a->dim < 1 || a->dim > LM_FASTTEXT_MAX_DIM)
		return lm_fail(err, LM_ERR_CORRUPT, "invalid dimension %d (1..%d)", a->dim,
					   LM_FASTTEXT_MAX_DIM);
	if (a->model < LM_FASTTEXT_CBOW || a->model > LM_FASTTEXT_SUPERVISED)
		return lm_fail(err, LM_ERR_CORRUPT, "unknown model kind %d", a->model);
	if (a->loss < LM_FASTTEXT_LOSS_HS || a->loss > LM_FASTTEXT_LOSS_OVA)
		return lm_fail(err, LM_ERR_CORRUPT, "unknown loss %d", a->loss);
	if (a->bucket < 0 || a->minn < 0 || a->maxn < 0 ||
		a->minn > FT_MAX_NGRAM_CHARS || a->maxn > FT_MAX_NGRAM_CHARS ||
		a->word_ngrams > FT_MAX_WORD_NGRAMS)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "invalid n-gram arguments (bucket %d, minn %d, maxn %d, wordNgrams %d)",
					   a->bucket, a->minn, a->maxn, a->word_ngrams);
	return 0;
}

static int
read_dense_matrix(ByteReader *r, FtMatrix *m, const char *what, LmError *err)
{
	size_t		count;

	m->quantized = false;
	if (byte_reader_i64(r, &m->rows, what, err) < 0 ||
		byte_reader_i64(r, &m->cols, what, err) < 0)
		return -1;
	if (m->rows < 0 || m->cols < 1 || m->cols > LM_FASTTEXT_MAX_DIM)
		return lm_fail(err, LM_ERR_CORRUPT, "%s has invalid sizes %lld x %lld", what,
					   (long long) m->rows, (long long) m->cols);
	if ((uint64_t) m->rows > byte_reader_left(r) / 4 / (uint64_t) m->cols)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "%s of %lld x %lld floats needs more than the %zu bytes left at offset %zu",
					   what, (long long) m->rows, (long long) m->cols,
					   byte_reader_left(r), r->pos);
	count = (size_t) m->rows * (size_t) m->cols;
	m->dense = lm_malloc(count * sizeof(float), err);
	if (m->dense == NULL)
		return -1;
	return byte_reader_floats(r, m->dense, count, what, err);
}

static int
read_matrix(ByteReader *r, FtMatrix *m, const char *what, LmError *err)
{
	uint8_t		quantized;

	if (byte_reader_u8(r, &quantized, what, err) < 0)
		return -1;
	if (quantized)
	{
		if (ft_quant_matrix_read(r, m, err) < 0)
		{
			lm_error_prefix(err, "%s", what);
			return -1;
		}
		return 0;
	}
	return read_dense_matrix(r, m, what, err);
}

/* Every row id that text can produce must be inside the input matrix. */
static int
check_sizes(const LmFastText *ft, LmError *err)
{
	const FtDictionary *d = &ft->dict;
	int64_t		expected_out;

	if (ft->input.cols != ft->args.dim || ft->output.cols != ft->args.dim)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "matrix widths (%lld, %lld) disagree with the dimension %d",
					   (long long) ft->input.cols, (long long) ft->output.cols, ft->args.dim);
	if (d->prune.count >= 0 && !ft->input.quantized)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "pruned dictionary with a dense input matrix (an outdated model file)");
	if (d->prune.count >= 0)
	{
		int64_t		kept_rows = ft->input.rows - d->nwords;

		if (kept_rows < 0)
			return lm_fail(err, LM_ERR_CORRUPT, "input matrix has %lld rows for %d words",
						   (long long) ft->input.rows, d->nwords);
		for (size_t i = 0; i < d->prune.n_slots; i++)
			if (d->prune.keys[i] != -1 && d->prune.values[i] >= kept_rows)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "prune index points at row %d of %lld kept n-gram rows",
							   d->prune.values[i], (long long) kept_rows);
	}
	else if (ft->input.rows < (int64_t) d->nwords + ft->args.bucket)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "input matrix has %lld rows, fewer than %d words + %d buckets",
					   (long long) ft->input.rows, d->nwords, ft->args.bucket);
	expected_out = ft->args.model == LM_FASTTEXT_SUPERVISED ? d->nlabels : d->nwords;
	if (ft->output.rows != expected_out)
		return lm_fail(err, LM_ERR_CORRUPT, "output matrix has %lld rows, expected %lld",
					   (long long) ft->output.rows, (long long) expected_out);
	return 0;
}

/*
 * HierarchicalSoftmaxLoss::buildTree: leaves are the labels in dictionary
 * order (most frequent first), internal nodes follow.  One guard added: an
 * internal node is never taken before it is built, which only hostile
 * counts (>= 1e15) could otherwise cause.
 */
static int
build_huffman_tree(LmFastText *ft, LmError *err)
{
	int32_t		osz = ft->dict.nlabels;
	int32_t		leaf = osz - 1;
	int32_t		node = osz;
	FtTreeNode *tree;

	if (osz < 1)
		return 0;
	tree = lm_malloc(sizeof(FtTreeNode) * (2 * (size_t) osz - 1), err);
	if (tree == NULL)
		return -1;
	for (int32_t i = 0; i < 2 * osz - 1; i++)
	{
		tree[i].left = -1;
		tree[i].right = -1;
		tree[i].count = i < osz ? ft->dict.entries[ft->dict.nwords + i].count
			: FT_HUFFMAN_UNBUILT_COUNT;
	}
	for (int32_t i = osz; i < 2 * osz - 1; i++)
	{
		int32_t		mini[2];

		for (int j = 0; j < 2; j++)
		{
			if (leaf >= 0 && (node >= i || tree[leaf].count < tree[node].count))
				mini[j] = leaf--;
			else
				mini[j] = node++;
		}
		tree[i].left = mini[0];
		tree[i].right = mini[1];
		tree[i].count = (int64_t) ((uint64_t) tree[mini[0]].count +
								   (uint64_t) tree[mini[1]].count);
	}
	ft->tree = tree;
	return 0;
}

LmFastText *
lm_fasttext_load(const uint8_t *data, size_t len, LmError *err)
{
	ByteReader	r;
	int32_t		magic;
	LmFastText *ft;

	byte_reader_init(&r, data, len);
	if (byte_reader_i32(&r, &magic, "magic number", err) < 0)
		return NULL;
	if (magic != LM_FASTTEXT_MAGIC)
	{
		lm_fail(err, LM_ERR_CORRUPT, "not a fastText model: magic number %d, expected %d",
				magic, LM_FASTTEXT_MAGIC);
		lm_hint(err, "fastText models are the .bin or .ftz files that fasttext writes; "
				"for .vec text vectors use the word-vector loader");
		return NULL;
	}
	ft = lm_calloc(1, sizeof(LmFastText), err);
	if (ft == NULL)
		return NULL;
	ft->dict.prune.count = -1;
	if (byte_reader_i32(&r, &ft->version, "version", err) < 0)
		goto fail;
	if (ft->version < 11 || ft->version > LM_FASTTEXT_VERSION)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "fastText file format version %d is not supported (11..%d)",
				ft->version, LM_FASTTEXT_VERSION);
		goto fail;
	}
	if (read_args(&r, &ft->args, err) < 0)
		goto fail;
	if (ft->version == 11 && ft->args.model == LM_FASTTEXT_SUPERVISED)
		ft->args.maxn = 0;		/* old supervised models had no char n-grams */
	if (ft_dictionary_read(&r, &ft->args, &ft->dict, err) < 0 ||
		read_matrix(&r, &ft->input, "input matrix", err) < 0 ||
		read_matrix(&r, &ft->output, "output matrix", err) < 0 ||
		check_sizes(ft, err) < 0)
		goto fail;
	if (ft->args.model == LM_FASTTEXT_SUPERVISED && ft->args.loss == LM_FASTTEXT_LOSS_HS &&
		build_huffman_tree(ft, err) < 0)
		goto fail;
	return ft;

fail:
	lm_fasttext_free(ft);
	return NULL;
}

LmFastText *
lm_fasttext_load_file(const char *path, LmError *err)
{
	uint8_t    *data;
	size_t		len;
	LmFastText *ft;

	if (lm_read_file(path, LM_FASTTEXT_MAX_FILE_BYTES, &data, &len, err) < 0)
		return NULL;
	ft = lm_fasttext_load(data, len, err);
	free(data);
	if (ft == NULL)
		lm_error_prefix(err, "%s", path);
	return ft;
}

void
lm_fasttext_free(LmFastText *ft)
{
	if (ft == NULL)
		return;
	ft_dictionary_free(&ft->dict);
	ft_matrix_free(&ft->input);
	ft_matrix_free(&ft->output);
	free(ft->tree);
	free(ft);
}

int
lm_fasttext_dim(const LmFastText *ft)
{
	return ft->args.dim;
}

LmFastTextModelKind
lm_fasttext_model_kind(const LmFastText *ft)
{
	return (LmFastTextModelKind) ft->args.model;
}

LmFastTextLoss
lm_fasttext_loss(const LmFastText *ft)
{
	return (LmFastTextLoss) ft->args.loss;
}

bool
lm_fasttext_is_quantized(const LmFastText *ft)
{
	return ft->input.quantized;
}

int32_t
lm_fasttext_nwords(const LmFastText *ft)
{
	return ft->dict.nwords;
}

int32_t
lm_fasttext_nlabels(const LmFastText *ft)
{
	return ft->dict.nlabels;
}

const char *
lm_fasttext_word(const LmFastText *ft, int32_t i)
{
	if (i < 0 || i >= ft->dict.nwords)
		return NULL;
	return ft->dict.entries[i].word;
}

const char *
lm_fasttext_label(const LmFastText *ft, int32_t i)
{
	if (i < 0 || i >= ft->dict.nlabels)
		return NULL;
	return ft->dict.entries[ft->dict.nwords + i].word;
}

int32_t
lm_fasttext_word_id(const LmFastText *ft, const char *word, size_t len)
{
	int32_t		id = ft_dictionary_find(&ft->dict, word, len);

	return id < ft->dict.nwords ? id : -1;
}
