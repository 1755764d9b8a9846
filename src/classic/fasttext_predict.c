/*
 * fasttext_predict.c — word vectors, sentence vectors and label
 * predictions of a loaded fastText model.
 *
 * The arithmetic follows fastText's float/double mix (model.cc, loss.cc)
 * so that probabilities agree to the last printed digit: the hidden vector
 * is the float mean of input rows; hierarchical softmax walks the Huffman
 * tree depth first adding log(sigmoid + 1e-5), pruning branches already
 * worse than the k-th best leaf; softmax, one-vs-all and negative sampling
 * score every label.
 */
#include "classic/fasttext_internal.h"

#include <math.h>
#include <stdlib.h>

#define FT_LOG_EPSILON 1e-5		/* std_log(x) = log(x + 1e-5) */
#define FT_SIGMOID_TABLE_SIZE 512
#define FT_MAX_SIGMOID 8

typedef struct FtScored
{
	float		score;			/* log probability */
	int32_t		label;
} FtScored;

/* The best k scores so far: a binary min-heap on score. */
typedef struct FtTopK
{
	FtScored   *items;
	int			n;
	int			k;
} FtTopK;

static float
std_log(float x)
{
	return (float) log((double) x + FT_LOG_EPSILON);
}

static void
topk_sift_down(FtTopK *t, int i)
{
	for (;;)
	{
		int			left = 2 * i + 1;
		int			right = left + 1;
		int			smallest = i;
		FtScored	tmp;

		if (left < t->n && t->items[left].score < t->items[smallest].score)
			smallest = left;
		if (right < t->n && t->items[right].score < t->items[smallest].score)
			smallest = right;
		if (smallest == i)
			return;
		tmp = t->items[i];
		t->items[i] = t->items[smallest];
		t->items[smallest] = tmp;
		i = smallest;
	}
}

static bool
topk_full(const FtTopK *t)
{
	return t->n == t->k;
}

static float
topk_worst(const FtTopK *t)
{
	return t->items[0].score;
}

static void
topk_add(FtTopK *t, float score, int32_t label)
{
	int			i;

	if (topk_full(t))
	{
		if (score <= topk_worst(t))
			return;
		t->items[0].score = score;
		t->items[0].label = label;
		topk_sift_down(t, 0);
		return;
	}
	i = t->n++;
	t->items[i].score = score;
	t->items[i].label = label;
	while (i > 0 && t->items[(i - 1) / 2].score > t->items[i].score)
	{
		FtScored	tmp = t->items[i];

		t->items[i] = t->items[(i - 1) / 2];
		t->items[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static int
compare_scored_desc(const void *a, const void *b)
{
	const FtScored *x = a;
	const FtScored *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->label < y->label ? -1 : (x->label > y->label);
}

/* Mean of the input rows (model.cc computeHidden). */
static void
mean_of_rows(const FtMatrix *m, const FtIds *ids, float *out)
{
	int64_t		dim = m->cols;

	memset(out, 0, sizeof(float) * (size_t) dim);
	if (ids->n == 0)
		return;
	for (size_t i = 0; i < ids->n; i++)
		ft_matrix_add_row(m, ids->ids[i], out);
	{
		float		scale = (float) (1.0 / (double) ids->n);

		for (int64_t j = 0; j < dim; j++)
			out[j] *= scale;
	}
}

/* loss.cc's HierarchicalSoftmaxLoss::dfs, with an explicit stack. */
static int
predict_hierarchical(const LmFastText *ft, const float *hidden, float threshold,
					 FtTopK *top, LmError *err)
{
	int32_t		osz = ft->dict.nlabels;
	float		min_score = std_log(threshold);
	FtScored   *stack = lm_malloc(sizeof(FtScored) * (2 * (size_t) osz + 1), err);
	size_t		depth = 0;

	if (stack == NULL)
		return -1;
	stack[depth].label = 2 * osz - 2;	/* the root */
	stack[depth++].score = 0.0f;
	while (depth > 0)
	{
		FtScored	cur = stack[--depth];
		const FtTreeNode *node = &ft->tree[cur.label];
		float		f;

		if (cur.score < min_score)
			continue;
		if (topk_full(top) && cur.score < topk_worst(top))
			continue;
		if (node->left == -1 && node->right == -1)
		{
			topk_add(top, cur.score, cur.label);
			continue;
		}
		f = ft_matrix_dot_row(&ft->output, cur.label - osz, hidden);
		f = (float) (1.0 / (double) (1.0f + expf(-f)));
		/* push right first so that the left branch is walked first */
		stack[depth].label = node->right;
		stack[depth++].score = cur.score + std_log(f);
		stack[depth].label = node->left;
		stack[depth++].score = cur.score + std_log((float) (1.0 - f));
	}
	free(stack);
	return 0;
}

/*
 * loss.cc's sigmoid lookup table, as binary-logistic losses use it: the
 * entry is computed on demand (the same value, no shared table to fill).
 */
static float
table_sigmoid(float x)
{
	int64_t		i;
	float		v;

	if (!(x >= -FT_MAX_SIGMOID))
		return 0.0f;
	if (x > FT_MAX_SIGMOID)
		return 1.0f;
	i = (int64_t) ((x + FT_MAX_SIGMOID) * FT_SIGMOID_TABLE_SIZE / FT_MAX_SIGMOID / 2);
	v = (float) (i * 2 * FT_MAX_SIGMOID) / FT_SIGMOID_TABLE_SIZE - FT_MAX_SIGMOID;
	return (float) (1.0 / (1.0 + expf(-v)));
}

/* Softmax, one-vs-all and negative sampling: score every label. */
static int
predict_flat(const LmFastText *ft, const float *hidden, float threshold, FtTopK *top,
			 LmError *err)
{
	int32_t		osz = ft->dict.nlabels;
	float	   *out = lm_malloc(sizeof(float) * (size_t) osz, err);

	if (out == NULL)
		return -1;
	for (int32_t i = 0; i < osz; i++)
		out[i] = ft_matrix_dot_row(&ft->output, i, hidden);
	if (ft->args.loss == LM_FASTTEXT_LOSS_SOFTMAX)
	{
		float		max = out[0];
		float		z = 0.0f;

		for (int32_t i = 0; i < osz; i++)
			max = out[i] > max ? out[i] : max;
		for (int32_t i = 0; i < osz; i++)
		{
			out[i] = (float) exp((double) (out[i] - max));
			z += out[i];
		}
		for (int32_t i = 0; i < osz; i++)
			out[i] /= z;
	}
	else
	{
		for (int32_t i = 0; i < osz; i++)
			out[i] = table_sigmoid(out[i]);
	}
	for (int32_t i = 0; i < osz; i++)
	{
		if (out[i] < threshold)
			continue;
		topk_add(top, std_log(out[i]), i);
	}
	free(out);
	return 0;
}

int
lm_fasttext_predict(const LmFastText *ft, const char *text, size_t len, int k,
					float threshold, LmFastTextPrediction *out, LmError *err)
{
	FtIds		ids = {0};
	FtTopK		top = {0};
	float	   *hidden = NULL;
	int			rc = -1;

	if (ft->args.model != LM_FASTTEXT_SUPERVISED)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "this fastText model gives word vectors, not labels (not a supervised model)");
	if (k <= 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "k must be at least 1, not %d", k);
	if (ft->dict.nlabels == 0)
		return 0;
	if (k > ft->dict.nlabels)
		k = ft->dict.nlabels;
	if (ft_line_ids(ft, text, len, &ids, err) < 0)
		goto done;
	if (ids.n == 0)
	{
		rc = 0;
		goto done;
	}
	hidden = lm_malloc(sizeof(float) * (size_t) ft->args.dim, err);
	top.items = lm_malloc(sizeof(FtScored) * (size_t) k, err);
	if (hidden == NULL || top.items == NULL)
		goto done;
	top.k = k;
	mean_of_rows(&ft->input, &ids, hidden);
	if (ft->args.loss == LM_FASTTEXT_LOSS_HS)
	{
		if (predict_hierarchical(ft, hidden, threshold, &top, err) < 0)
			goto done;
	}
	else if (predict_flat(ft, hidden, threshold, &top, err) < 0)
		goto done;
	qsort(top.items, (size_t) top.n, sizeof(FtScored), compare_scored_desc);
	for (int i = 0; i < top.n; i++)
	{
		out[i].label = top.items[i].label;
		out[i].prob = expf(top.items[i].score);
	}
	rc = top.n;

done:
	free(ids.ids);
	free(top.items);
	free(hidden);
	return rc;
}

int
lm_fasttext_word_vector(const LmFastText *ft, const char *word, size_t len, float *out,
						LmError *err)
{
	FtIds		ids = {0};

	if (ft_word_subwords(ft, word, len, &ids, err) < 0)
	{
		free(ids.ids);
		return -1;
	}
	mean_of_rows(&ft->input, &ids, out);
	free(ids.ids);
	return 0;
}

static bool
is_stream_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Unsupervised models: mean of the unit-length word vectors. */
static int
unsupervised_sentence_vector(const LmFastText *ft, const char *text, size_t len,
							 float *out, LmError *err)
{
	int			dim = ft->args.dim;
	float	   *vec = lm_malloc(sizeof(float) * (size_t) dim, err);
	size_t		pos = 0;
	int			count = 0;

	if (vec == NULL)
		return -1;
	memset(out, 0, sizeof(float) * (size_t) dim);
	while (pos < len)
	{
		size_t		start;
		float		norm = 0.0f;

		while (pos < len && is_stream_space((unsigned char) text[pos]))
			pos++;
		if (pos == len)
			break;
		start = pos;
		while (pos < len && !is_stream_space((unsigned char) text[pos]))
			pos++;
		if (lm_fasttext_word_vector(ft, text + start, pos - start, vec, err) < 0 ||
			lm_check_cancel(err) < 0)
		{
			free(vec);
			return -1;
		}
		for (int j = 0; j < dim; j++)
			norm += vec[j] * vec[j];
		norm = sqrtf(norm);
		if (norm > 0)
		{
			float		scale = (float) (1.0 / (double) norm);

			for (int j = 0; j < dim; j++)
				out[j] += vec[j] * scale;
			count++;
		}
	}
	if (count > 0)
	{
		float		scale = (float) (1.0 / (double) count);

		for (int j = 0; j < dim; j++)
			out[j] *= scale;
	}
	free(vec);
	return 0;
}

int
lm_fasttext_sentence_vector(const LmFastText *ft, const char *text, size_t len, float *out,
							LmError *err)
{
	FtIds		ids = {0};

	if (ft->args.model != LM_FASTTEXT_SUPERVISED)
		return unsupervised_sentence_vector(ft, text, len, out, err);
	if (ft_line_ids(ft, text, len, &ids, err) < 0)
	{
		free(ids.ids);
		return -1;
	}
	mean_of_rows(&ft->input, &ids, out);
	free(ids.ids);
	return 0;
}
