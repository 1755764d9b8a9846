/*
 * fasttext_internal.h — the structures shared by the fastText files.
 *
 * fasttext_load.c fills them from the file, fasttext_quant.c reads the
 * product-quantized matrices, fasttext_dict.c turns text into row ids and
 * fasttext_predict.c computes vectors and labels.
 */
#ifndef LM_CLASSIC_FASTTEXT_INTERNAL_H
#define LM_CLASSIC_FASTTEXT_INTERNAL_H

#include "classic/byte_reader.h"
#include "classic/fasttext.h"
#include "util/strmap.h"

#define FT_EOS "</s>"
#define FT_EOS_LEN 4
#define FT_BOW '<'
#define FT_EOW '>'
#define FT_LABEL_PREFIX "__label__"
#define FT_LABEL_PREFIX_LEN 9
#define FT_PQ_KSUB 256			/* centroids per sub-quantizer (8-bit codes) */
#define FT_WORD_NGRAM_MULTIPLIER UINT64_C(116049371)
#define FT_FNV_OFFSET UINT32_C(2166136261)
#define FT_FNV_PRIME UINT32_C(16777619)
#define FT_ENTRY_WORD 0
#define FT_ENTRY_LABEL 1

/* The training arguments stored in the file (Args::save order). */
typedef struct FtArgs
{
	int32_t		dim;
	int32_t		ws;
	int32_t		epoch;
	int32_t		min_count;
	int32_t		neg;
	int32_t		word_ngrams;
	int32_t		loss;
	int32_t		model;
	int32_t		bucket;
	int32_t		minn;
	int32_t		maxn;
	int32_t		lr_update_rate;
	double		t;
} FtArgs;

typedef struct FtEntry
{
	const char *word;			/* owned by the dictionary's word map */
	size_t		len;
	int64_t		count;
	uint8_t		type;			/* FT_ENTRY_WORD or FT_ENTRY_LABEL */
} FtEntry;

/* Open-addressing map from a pruned n-gram bucket to its new row. */
typedef struct FtPruneIndex
{
	int32_t    *keys;			/* -1: empty */
	int32_t    *values;
	size_t		n_slots;		/* a power of two */
	int64_t		count;			/* -1: the model is not pruned */
} FtPruneIndex;

typedef struct FtDictionary
{
	int32_t		size;
	int32_t		nwords;
	int32_t		nlabels;
	int64_t		ntokens;
	FtEntry    *entries;
	LmStrMap   *ids;			/* word -> entry index */
	FtPruneIndex prune;
} FtDictionary;

typedef struct FtProductQuantizer
{
	int32_t		dim;
	int32_t		nsubq;
	int32_t		dsub;
	int32_t		lastdsub;
	float	   *centroids;		/* dim * FT_PQ_KSUB */
} FtProductQuantizer;

typedef struct FtMatrix
{
	int64_t		rows;
	int64_t		cols;
	bool		quantized;
	float	   *dense;			/* rows * cols, when not quantized */
	/* product quantization */
	bool		qnorm;
	uint8_t    *codes;			/* rows * pq.nsubq */
	FtProductQuantizer pq;
	uint8_t    *norm_codes;		/* rows, when qnorm */
	FtProductQuantizer npq;
} FtMatrix;

/* Node of the Huffman tree of hierarchical softmax. */
typedef struct FtTreeNode
{
	int32_t		left;
	int32_t		right;
	int64_t		count;
} FtTreeNode;

struct LmFastText
{
	int32_t		version;
	FtArgs		args;
	FtDictionary dict;
	FtMatrix	input;
	FtMatrix	output;
	FtTreeNode *tree;			/* 2 * nlabels - 1 nodes, hierarchical softmax only */
};

/* A growable list of input row ids. */
typedef struct FtIds
{
	int32_t    *ids;
	size_t		n;
	size_t		cap;
} FtIds;

/* fasttext_quant.c */
int			ft_quant_matrix_read(ByteReader *r, FtMatrix *m, LmError *err);
void		ft_matrix_add_row(const FtMatrix *m, int64_t row, float *x);
float		ft_matrix_dot_row(const FtMatrix *m, int64_t row, const float *x);
void		ft_matrix_free(FtMatrix *m);

/* fasttext_dict.c */
int			ft_dictionary_read(ByteReader *r, const FtArgs *args, FtDictionary *dict,
							   LmError *err);
void		ft_dictionary_free(FtDictionary *dict);
uint32_t	ft_hash(const char *s, size_t len);
int32_t		ft_dictionary_find(const FtDictionary *dict, const char *word, size_t len);
int			ft_ids_push(FtIds *ids, int32_t id, LmError *err);
int			ft_word_subwords(const LmFastText *ft, const char *word, size_t len,
							 FtIds *ids, LmError *err);
int			ft_line_ids(const LmFastText *ft, const char *text, size_t len, FtIds *ids,
						LmError *err);
bool		ft_is_space(unsigned char c);

#endif
