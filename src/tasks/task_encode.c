/*
 * task_encode.c — embeddings, similarity, classification and fill-mask for
 * every kind of model that gives them, and the batches of whole inputs
 * (embeddings, classes, scores) that the model server runs for several
 * sessions at once.
 */
#include "tasks/task_internal.h"

#include <stdlib.h>
#include <string.h>

#include "metrics/cosine.h"

/* fastText's label prefix, left out of the labels a classification returns. */
#define LM_FASTTEXT_LABEL_PREFIX "__label__"

/* The transformer, or -1 with an error when the model is not one (or not loaded). */
static const LmModel *
transformer(const LmTaskModel *m, LmError *err)
{
	if (m->transformer == NULL)
		lm_task_wrong_kind(m, err);
	return m->transformer;
}

/* A transformer's pooled hidden states (sentence-transformers' pipeline). */
static int
embed_transformer(const LmTaskModel *m, const LmInput *input, LmFloats *out, LmError *err)
{
	const LmModel *model = transformer(m, err);
	const int32_t *ids;
	int32_t    *owned;
	int			n;
	int			rc;

	if (model == NULL || lm_task_input_ids(m, input, true, &ids, &n, &owned, err) != 0)
		return -1;
	out->n = lm_model_info(model)->hidden_size;
	rc = (out->v = lm_malloc(sizeof(float) * out->n, err)) == NULL ? -1
		: lm_model_embed(model, ids, NULL, n, m->pooling, m->normalize, out->v, err);
	free(owned);
	return rc;
}

static int
embed_rnn(const LmTaskModel *m, const LmInput *input, LmFloats *out, LmError *err)
{
	const int32_t *ids;
	int32_t    *owned;
	int			n;
	int			rc;

	if (lm_task_input_ids(m, input, true, &ids, &n, &owned, err) != 0)
		return -1;
	out->n = lm_rnn_info(m->rnn)->encoding_size;
	rc = (out->v = lm_malloc(sizeof(float) * out->n, err)) == NULL ? -1
		: lm_rnn_encode(m->rnn, ids, n, out->v, err);
	free(owned);
	return rc;
}

/* Word vectors: the mean of the text's vectors as stored; TF-IDF: its dense row. */
static int
embed_words(const LmTaskModel *m, const LmInput *input, LmFloats *out, LmError *err)
{
	const char *s = input->text;
	size_t		len = input->len;

	switch (m->kind->kind)
	{
		case LM_KIND_WORD_VECTORS:
			out->n = lm_wordvec_dim(m->word_vectors);
			if ((out->v = lm_malloc(sizeof(float) * out->n, err)) == NULL)
				return -1;
			return lm_wordvec_text_mean(m->word_vectors, s, len, false, out->v, NULL, err);
		case LM_KIND_FASTTEXT:
			out->n = lm_fasttext_dim(m->fasttext);
			if ((out->v = lm_malloc(sizeof(float) * out->n, err)) == NULL)
				return -1;
			return lm_fasttext_sentence_vector(m->fasttext, s, len, out->v, err);
		case LM_KIND_TFIDF:
			{
				int32_t		n = lm_vectorizer_vocabulary_size(m->vectorizer);
				double	   *row = lm_malloc(sizeof(double) * (n > 0 ? n : 1), err);
				int			rc;

				out->n = n;
				if (row == NULL || (out->v = lm_malloc(sizeof(float) * (n > 0 ? n : 1), err)) == NULL)
				{
					free(row);
					return -1;
				}
				rc = lm_vectorizer_tfidf_dense(m->vectorizer, s, len, row, err);
				for (int32_t i = 0; rc == 0 && i < n; i++)
					out->v[i] = (float) row[i];
				free(row);
				return rc;
			}
		default:
			return lm_task_wrong_kind(m, err);
	}
}

int
lm_task_embed(const LmTaskModel *m, const LmInput *input, LmFloats *out, LmError *err)
{
	int			rc;

	memset(out, 0, sizeof(*out));
	if (m->kind->kind == LM_KIND_TRANSFORMER)
		rc = embed_transformer(m, input, out, err);
	else if (m->kind->kind == LM_KIND_RNN)
		rc = embed_rnn(m, input, out, err);
	else
		rc = embed_words(m, input, out, err);
	if (rc != 0)
		lm_floats_free(out);
	return rc;
}

/*
 * The token ids of a batch's inputs, one after another, for those that
 * tokenize; an input that fails has its error in errs[i] and is left out.
 */
typedef struct BatchIds
{
	int32_t    *all;			/* the ids of the inputs that tokenized */
	int		   *lengths;		/* [n_ok] */
	bool	   *ok;				/* [n_inputs] */
	int			n_ok;
} BatchIds;

static void
batch_ids_free(BatchIds *b)
{
	free(b->all);
	free(b->lengths);
	free(b->ok);
}

static int
batch_ids(const LmTaskModel *m, const LmInput *inputs, int n_inputs, LmError *errs,
		  BatchIds *b, LmError *err)
{
	const int32_t **ids = lm_calloc(n_inputs, sizeof(*ids), err);
	int32_t   **owned = lm_calloc(n_inputs, sizeof(*owned), err);
	int		   *lengths = lm_calloc(n_inputs, sizeof(int), err);
	long		total = 0;
	int			rc = -1;

	memset(b, 0, sizeof(*b));
	if (ids == NULL || owned == NULL || lengths == NULL ||
		(b->ok = lm_calloc(n_inputs, sizeof(bool), err)) == NULL ||
		(b->lengths = lm_calloc(n_inputs, sizeof(int), err)) == NULL)
		goto done;
	for (int i = 0; i < n_inputs; i++)
		if (lm_task_input_ids(m, &inputs[i], true, &ids[i], &lengths[i], &owned[i], &errs[i]) == 0)
		{
			b->ok[i] = true;
			b->lengths[b->n_ok++] = lengths[i];
			total += lengths[i];
		}
	if ((b->all = lm_malloc(sizeof(int32_t) * (total > 0 ? total : 1), err)) == NULL)
		goto done;
	for (int i = 0, at = 0; i < n_inputs; i++)
		if (b->ok[i])
		{
			memcpy(b->all + at, ids[i], sizeof(int32_t) * lengths[i]);
			at += lengths[i];
		}
	rc = 0;
done:
	for (int i = 0; owned != NULL && i < n_inputs; i++)
		free(owned[i]);
	free(ids);
	free(owned);
	free(lengths);
	if (rc != 0)
		batch_ids_free(b);
	return rc;
}

int
lm_task_embed_batch(const LmTaskModel *m, const LmInput *inputs, int n_inputs, LmFloats *outs,
					LmError *errs, LmError *err)
{
	const LmModel *model = m->transformer;
	BatchIds	b;
	float	   *vectors = NULL;
	int			dim;
	int			rc = -1;

	for (int i = 0; i < n_inputs; i++)
		memset(&outs[i], 0, sizeof(LmFloats));
	/* not a transformer encoder: one at a time */
	if (model == NULL || m->kind->kind != LM_KIND_TRANSFORMER)
	{
		for (int i = 0; i < n_inputs; i++)
			lm_task_embed(m, &inputs[i], &outs[i], &errs[i]);
		return 0;
	}
	dim = lm_model_info(model)->hidden_size;
	if (batch_ids(m, inputs, n_inputs, errs, &b, err) != 0)
		return -1;
	if (b.n_ok == 0)
		rc = 0;
	else if ((vectors = lm_malloc(sizeof(float) * (size_t) b.n_ok * dim, err)) != NULL &&
			 (rc = lm_model_embed_batch(model, b.all, NULL, b.lengths, b.n_ok, m->pooling,
										m->normalize, vectors, err)) == 0)
		for (int i = 0, k = 0; i < n_inputs; i++)
			if (b.ok[i])
			{
				if ((outs[i].v = lm_malloc(sizeof(float) * dim, &errs[i])) != NULL)
				{
					memcpy(outs[i].v, vectors + (size_t) k * dim, sizeof(float) * dim);
					outs[i].n = dim;
				}
				k++;
			}
	batch_ids_free(&b);
	free(vectors);
	return rc;
}

int
lm_task_similarity(const LmTaskModel *m, const LmInput *a, const LmInput *b, double *cosine,
				   bool *defined, LmError *err)
{
	LmFloats	va,
				vb;
	int			rc = -1;

	memset(&vb, 0, sizeof(vb));
	if (lm_task_embed(m, a, &va, err) == 0 && lm_task_embed(m, b, &vb, err) == 0)
	{
		*cosine = lm_cosine(va.v, vb.v, va.n, defined);
		rc = 0;
	}
	lm_floats_free(&va);
	lm_floats_free(&vb);
	return rc;
}

static const char *
transformer_label(const void *model, int i)
{
	return lm_model_label(model, i);
}

static const char *
rnn_label(const void *model, int i)
{
	return lm_rnn_label(model, i);
}

static int
classify_transformer(const LmTaskModel *m, const LmInput *input, int k, LmScored *out,
					 LmError *err)
{
	const LmModel *model = transformer(m, err);
	const LmModelInfo *info;
	const int32_t *ids;
	int32_t    *owned;
	float	   *logits;
	int			n;
	int			rc;

	if (model == NULL)
		return -1;
	info = lm_model_info(model);
	if (info->task != LM_TASK_SEQUENCE_CLASSIFICATION)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "lm_classify(model, text) needs a %s model, and \"%s\" is a %s model",
				lm_task_name(LM_TASK_SEQUENCE_CLASSIFICATION), m->name, lm_task_name(info->task));
		lm_hint(err, "A generative model can classify among labels you give: lm_classify(model, text, ARRAY['positive', 'negative']).");
		return -1;
	}
	if ((logits = lm_malloc(sizeof(float) * info->num_labels, err)) == NULL)
		return -1;
	if (lm_task_input_ids(m, input, true, &ids, &n, &owned, err) != 0)
	{
		free(logits);
		return -1;
	}
	rc = lm_model_classify(model, ids, n, logits, err);
	if (rc == 0)
		rc = lm_task_scored_from_logits(logits, info->num_labels, k, transformer_label, model, out, err);
	free(owned);
	free(logits);
	return rc;
}

static int
classify_rnn(const LmTaskModel *m, const LmInput *input, int k, LmScored *out, LmError *err)
{
	const LmRnnInfo *info = lm_rnn_info(m->rnn);
	const int32_t *ids;
	int32_t    *owned;
	float	   *logits;
	int			n;
	int			rc;

	if (lm_task_input_ids(m, input, true, &ids, &n, &owned, err) != 0)
		return -1;
	if (info->task != LM_RNN_TASK_CLASSIFY)
	{
		free(owned);
		lm_fail(err, LM_ERR_WRONG_MODEL, "model \"%s\" is a %s, not a classifier", m->name, info->architecture);
		lm_hint(err, "Generators serve lm_generate and lm_translate.");
		return -1;
	}
	if ((logits = lm_malloc(sizeof(float) * info->num_labels, err)) == NULL)
	{
		free(owned);
		return -1;
	}
	rc = lm_rnn_classify(m->rnn, ids, n, logits, err);
	if (rc == 0)
		rc = lm_task_scored_from_logits(logits, info->num_labels, k, rnn_label, m->rnn, out, err);
	free(owned);
	free(logits);
	return rc;
}

static int
classify_fasttext(const LmTaskModel *m, const LmInput *input, int k, LmScored *out, LmError *err)
{
	LmFastTextPrediction *pred;
	int			n;

	if (m->kind->kind != LM_KIND_FASTTEXT ||
		lm_fasttext_model_kind(m->fasttext) != LM_FASTTEXT_SUPERVISED)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "lm_classify needs a supervised fastText model, and \"%s\" is a %s model",
				m->name, m->kind->architecture);
		lm_hint(err, "%s", m->kind->kind == LM_KIND_FASTTEXT
				? "This fastText model learnt word vectors: use lm_word_vector, lm_most_similar or lm_embed."
				: "lm_import() a fastText classifier (.bin or .ftz trained with fasttext supervised).");
		return -1;
	}
	if (k <= 0 || k > lm_fasttext_nlabels(m->fasttext))
		k = lm_fasttext_nlabels(m->fasttext);
	if (k < 1)
		k = 1;
	if ((pred = lm_malloc(sizeof(LmFastTextPrediction) * k, err)) == NULL)
		return -1;
	n = lm_fasttext_predict(m->fasttext, input->text, input->len, k, 0.0f, pred, err);
	if (n < 0 ||
		(out->labels = lm_calloc(n > 0 ? n : 1, sizeof(char *), err)) == NULL ||
		(out->scores = lm_malloc(sizeof(double) * (n > 0 ? n : 1), err)) == NULL)
	{
		free(pred);
		return -1;
	}
	for (int i = 0; i < n; i++)
	{
		const char *label = lm_fasttext_label(m->fasttext, pred[i].label);

		if (strncmp(label, LM_FASTTEXT_LABEL_PREFIX, strlen(LM_FASTTEXT_LABEL_PREFIX)) == 0)
			label += strlen(LM_FASTTEXT_LABEL_PREFIX);
		if ((out->labels[i] = lm_task_strdup(label, err)) == NULL)
		{
			free(pred);
			return -1;
		}
		out->scores[i] = pred[i].prob;
		out->n = i + 1;
	}
	free(pred);
	return 0;
}

int
lm_task_classify(const LmTaskModel *m, const LmInput *input, int k, LmScored *out, LmError *err)
{
	int			rc;

	memset(out, 0, sizeof(*out));
	if (m->kind->kind == LM_KIND_TRANSFORMER)
		rc = classify_transformer(m, input, k, out, err);
	else if (m->kind->kind == LM_KIND_RNN)
		rc = classify_rnn(m, input, k, out, err);
	else
		rc = classify_fasttext(m, input, k, out, err);
	if (rc != 0)
		lm_scored_free(out);
	return rc;
}

int
lm_task_classify_batch(const LmTaskModel *m, const LmInput *inputs, const int *ks, int n_inputs,
					   LmScored *outs, LmError *errs, LmError *err)
{
	const LmModel *model = m->transformer;
	const LmModelInfo *info;
	BatchIds	b;
	float	   *logits = NULL;
	int			rc = -1;

	for (int i = 0; i < n_inputs; i++)
		memset(&outs[i], 0, sizeof(LmScored));
	/* not a transformer classifier: one at a time, each with its own error */
	if (model == NULL || m->kind->kind != LM_KIND_TRANSFORMER ||
		lm_model_info(model)->task != LM_TASK_SEQUENCE_CLASSIFICATION)
	{
		for (int i = 0; i < n_inputs; i++)
			lm_task_classify(m, &inputs[i], ks[i], &outs[i], &errs[i]);
		return 0;
	}
	info = lm_model_info(model);
	if (batch_ids(m, inputs, n_inputs, errs, &b, err) != 0)
		return -1;
	if (b.n_ok == 0)
		rc = 0;
	else if ((logits = lm_malloc(sizeof(float) * (size_t) b.n_ok * info->num_labels, err)) != NULL &&
			 (rc = lm_model_classify_batch(model, b.all, b.lengths, b.n_ok, logits, err)) == 0)
		for (int i = 0, k = 0; i < n_inputs; i++)
			if (b.ok[i])
			{
				if (lm_task_scored_from_logits(logits + (size_t) k * info->num_labels, info->num_labels,
											   ks[i], transformer_label, model, &outs[i], &errs[i]) != 0)
					lm_scored_free(&outs[i]);
				k++;
			}
	batch_ids_free(&b);
	free(logits);
	return rc;
}

int
lm_task_score_batch(const LmTaskModel *m, const LmInput *inputs, const bool *perplexity,
					int n_inputs, double *numbers, int *counts, LmError *errs, LmError *err)
{
	const LmModel *model = m->transformer;
	BatchIds	b;
	double	   *sums = NULL;
	int			rc = -1;

	/* not a causal transformer: one at a time, each with its own error */
	if (model == NULL || m->kind->kind != LM_KIND_TRANSFORMER || !lm_model_info(model)->causal)
	{
		for (int i = 0; i < n_inputs; i++)
			if (perplexity[i])
				lm_task_perplexity(m, &inputs[i], &numbers[i], &errs[i]);
			else
				lm_task_score(m, &inputs[i], &numbers[i], &counts[i], &errs[i]);
		return 0;
	}
	if (batch_ids(m, inputs, n_inputs, errs, &b, err) != 0)
		return -1;
	if (b.n_ok == 0)
		rc = 0;
	else if ((sums = lm_malloc(sizeof(double) * b.n_ok, err)) != NULL &&
			 (rc = lm_model_score_batch(model, b.all, b.lengths, b.n_ok, sums, err)) == 0)
		for (int i = 0, k = 0; i < n_inputs; i++)
			if (b.ok[i])
			{
				counts[i] = b.lengths[k] - 1;
				if (perplexity[i])
					lm_task_perplexity_from(sums[k], counts[i], &numbers[i], &errs[i]);
				else
					numbers[i] = sums[k];
				k++;
			}
	batch_ids_free(&b);
	free(sums);
	return rc;
}

/* The tokenizer's mask token id, or -1 with an error. */
static int32_t
mask_token_id(const LmTaskModel *m, LmError *err)
{
	static const char *const candidates[] = {"[MASK]", "<mask>"};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
	{
		int32_t		id = lm_tokenizer_token_to_id(m->tokenizer, candidates[i]);

		if (id >= 0)
			return id;
	}
	return lm_fail(err, LM_ERR_WRONG_MODEL, "the tokenizer of model \"%s\" has no mask token", m->name);
}

int
lm_task_fill_mask(const LmTaskModel *m, const char *text, size_t len, int k, LmScored *out,
				  LmError *err)
{
	const LmModel *model = transformer(m, err);
	LmEncoding	enc;
	int32_t		mask_id;
	int			mask_pos = -1;
	int32_t    *top_ids = NULL;
	float	   *top_probs = NULL;
	int			n_out = 0;
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&enc, 0, sizeof(enc));
	if (model == NULL)
		return -1;
	if (lm_model_info(model)->task != LM_TASK_MASKED_LM)
		return lm_fail(err, LM_ERR_WRONG_MODEL, "lm_fill_mask needs a %s model, and \"%s\" is a %s model",
					   lm_task_name(LM_TASK_MASKED_LM), m->name, lm_task_name(lm_model_info(model)->task));
	if (k < 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "k must be at least 1, not %d", k);
	if ((mask_id = mask_token_id(m, err)) < 0 ||
		lm_task_tokenize(m, text, len, true, true, &enc, err) != 0)
		return -1;
	for (size_t i = 0; i < enc.n; i++)
	{
		if (enc.ids[i] != mask_id)
			continue;
		if (mask_pos >= 0)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text has more than one mask token");
			lm_hint(err, "lm_fill_mask fills exactly one %s.", lm_tokenizer_id_to_token(m->tokenizer, mask_id));
			goto finish;
		}
		mask_pos = (int) i;
	}
	if (mask_pos < 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text has no mask token");
		lm_hint(err, "Write %s where the model should fill in a word.",
				lm_tokenizer_id_to_token(m->tokenizer, mask_id));
		goto finish;
	}
	if (k > lm_model_info(model)->vocab_size)
		k = lm_model_info(model)->vocab_size;
	if ((top_ids = lm_malloc(sizeof(int32_t) * k, err)) == NULL ||
		(top_probs = lm_malloc(sizeof(float) * k, err)) == NULL ||
		lm_model_fill_mask(model, enc.ids, (int) enc.n, mask_pos, k, top_ids, top_probs, &n_out, err) != 0 ||
		(out->labels = lm_calloc(n_out > 0 ? n_out : 1, sizeof(char *), err)) == NULL ||
		(out->scores = lm_malloc(sizeof(double) * (n_out > 0 ? n_out : 1), err)) == NULL)
		goto finish;
	for (int i = 0; i < n_out; i++)
	{
		const char *token = lm_tokenizer_id_to_token(m->tokenizer, top_ids[i]);

		if ((out->labels[i] = lm_task_strdup(token ? token : "", err)) == NULL)
			goto finish;
		out->scores[i] = top_probs[i];
		out->n = i + 1;
	}
	rc = 0;
finish:
	if (rc != 0)
		lm_scored_free(out);
	lm_encoding_free(&enc);
	free(top_ids);
	free(top_probs);
	return rc;
}
