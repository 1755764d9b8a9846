/*
 * task_model.c — an LmTaskModel: its description, the parts its owner
 * supplies, what each task needs, and the helpers the task files share.
 */
#include "tasks/task_internal.h"

#include "device/device.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

char *
lm_task_strdup(const char *s, LmError *err)
{
	return s == NULL ? NULL : lm_strndup(s, strlen(s), err);
}

LmTaskModel *
lm_task_model_new(const LmModelDesc *desc, LmError *err)
{
	const LmKindInfo *kind = lm_kind_of(desc->architecture);
	LmTaskModel *m;

	if (kind == NULL)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "model \"%s\" has architecture \"%s\", which this version of pg_lm does not know",
				desc->name, desc->architecture ? desc->architecture : "(none)");
		lm_hint(err, "It was stored by another version of pg_lm: import it again.");
		return NULL;
	}
	if ((m = lm_calloc(1, sizeof(LmTaskModel), err)) == NULL)
		return NULL;
	m->kind = kind;
	m->normalize = desc->normalize;
	m->pooling = LM_POOL_MEAN;
	if ((m->name = lm_task_strdup(desc->name ? desc->name : "", err)) == NULL ||
		(desc->config && (m->config = lm_task_strdup(desc->config, err)) == NULL) ||
		(desc->generation_config &&
		 (m->generation_config = lm_task_strdup(desc->generation_config, err)) == NULL) ||
		(desc->pooling && lm_pooling_from_name(desc->pooling, &m->pooling, err) != 0))
	{
		lm_task_model_free(m);
		return NULL;
	}
	return m;
}

void
lm_task_model_free(LmTaskModel *m)
{
	if (m == NULL)
		return;
	lm_model_free(m->transformer);
	if (m->rnn)
		lm_rnn_free(m->rnn);
	if (m->ngram_counts)
		lm_ngram_counts_free(m->ngram_counts);
	lm_wordvec_free(m->word_vectors);
	if (m->fasttext)
		lm_fasttext_free(m->fasttext);
	if (m->vectorizer)
		lm_vectorizer_free(m->vectorizer);
	if (m->tokenizer)
		lm_tokenizer_free(m->tokenizer);
	lm_tensorset_free(&m->tensors);
	free(m->name);
	free(m->config);
	free(m->generation_config);
	free(m);
}

const LmKindInfo *
lm_task_model_kind(const LmTaskModel *m)
{
	return m->kind;
}

const char *
lm_task_model_name(const LmTaskModel *m)
{
	return m->name;
}

/* ---- parts ----------------------------------------------------------------- */

void
lm_task_model_set_tokenizer(LmTaskModel *m, LmTokenizer *tokenizer)
{
	if (m->tokenizer)
		lm_tokenizer_free(m->tokenizer);
	m->tokenizer = tokenizer;
}

int
lm_task_model_build(LmTaskModel *m, LmTensorSet *tensors, LmError *err)
{
	lm_tensorset_free(&m->tensors);
	m->tensors = *tensors;
	memset(tensors, 0, sizeof(*tensors));
	if (m->config == NULL)
		return lm_fail(err, LM_ERR_CORRUPT, "model \"%s\" has no config", m->name);
	switch (m->kind->kind)
	{
		case LM_KIND_TRANSFORMER:
			m->transformer = lm_model_load(m->config, strlen(m->config), &m->tensors, err);
			break;
		case LM_KIND_RNN:
			m->rnn = lm_rnn_load(m->config, strlen(m->config), &m->tensors, err);
			break;
		default:
			return lm_fail(err, LM_ERR_INTERNAL, "a %s is not built from tensors",
						   lm_kind_name(m->kind->kind));
	}
	if (m->transformer == NULL && m->rnn == NULL)
	{
		lm_error_prefix(err, "model \"%s\"", m->name);
		return -1;
	}
	return 0;
}

void
lm_task_model_set_ngram(LmTaskModel *m, LmNgramCounts *counts, LmNgramModel model, bool lowercase)
{
	if (m->ngram_counts)
		lm_ngram_counts_free(m->ngram_counts);
	m->ngram_counts = counts;
	m->ngram = model;
	m->ngram_lowercase = lowercase;
}

void
lm_task_model_set_word_vectors(LmTaskModel *m, LmWordVectors *wv)
{
	lm_wordvec_free(m->word_vectors);
	m->word_vectors = wv;
}

void
lm_task_model_set_fasttext(LmTaskModel *m, LmFastText *ft)
{
	if (m->fasttext)
		lm_fasttext_free(m->fasttext);
	m->fasttext = ft;
}

void
lm_task_model_set_vectorizer(LmTaskModel *m, LmVectorizer *v)
{
	if (m->vectorizer)
		lm_vectorizer_free(m->vectorizer);
	m->vectorizer = v;
}

const LmTokenizer *
lm_task_model_tokenizer(const LmTaskModel *m)
{
	return m->tokenizer;
}

const LmModel *
lm_task_model_transformer(const LmTaskModel *m)
{
	return m->transformer;
}

int
lm_task_model_use_device(LmTaskModel *m, LmDevice *dev, LmError *err)
{
	if (m->transformer == NULL)
		return 0;
	return lm_model_use_device(m->transformer, dev, err);
}

const LmRnnModel *
lm_task_model_rnn(const LmTaskModel *m)
{
	return m->rnn;
}

const LmNgramModel *
lm_task_model_ngram(const LmTaskModel *m, bool *lowercase)
{
	if (lowercase)
		*lowercase = m->ngram_lowercase;
	return m->ngram_counts ? &m->ngram : NULL;
}

const LmWordVectors *
lm_task_model_word_vectors(const LmTaskModel *m)
{
	return m->word_vectors;
}

const LmFastText *
lm_task_model_fasttext(const LmTaskModel *m)
{
	return m->fasttext;
}

const LmVectorizer *
lm_task_model_vectorizer(const LmTaskModel *m)
{
	return m->vectorizer;
}

bool
lm_task_has_network(const LmTaskModel *m)
{
	switch (m->kind->kind)
	{
		case LM_KIND_TRANSFORMER:
			return m->transformer != NULL;
		case LM_KIND_RNN:
			return m->rnn != NULL;
		case LM_KIND_NGRAM:
			return m->ngram_counts != NULL;
		case LM_KIND_WORD_VECTORS:
			return m->word_vectors != NULL;
		case LM_KIND_FASTTEXT:
			return m->fasttext != NULL;
		case LM_KIND_TFIDF:
			return m->vectorizer != NULL;
		case LM_KIND_TOKENIZER:
		case LM_KIND_STORED:
			break;
	}
	return false;
}

/* ---- what each task needs -------------------------------------------------- */

int
lm_task_wrong_kind(const LmTaskModel *m, LmError *err)
{
	if (m->kind->kind == LM_KIND_TOKENIZER)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "model \"%s\" is a tokenizer, not a neural network", m->name);
		lm_hint(err, "Tokenizers serve lm_tokenize, lm_tokens, lm_detokenize and lm_chat_prompt.");
		return -1;
	}
	lm_fail(err, LM_ERR_WRONG_MODEL, "model \"%s\" is a %s model, which this function does not run",
			m->name, m->kind->architecture);
	lm_hint(err, "The README lists the functions each kind of model serves.");
	return -1;
}

/* Word-vector, fastText and TF-IDF models read words. */
static bool
reads_words(const LmTaskModel *m)
{
	return m->kind->kind == LM_KIND_WORD_VECTORS || m->kind->kind == LM_KIND_FASTTEXT ||
		m->kind->kind == LM_KIND_TFIDF;
}

/* Does a model of this kind serve the task at all (its head is checked later)? */
static bool
kind_serves(LmKind kind, LmTaskId task)
{
	switch (kind)
	{
		case LM_KIND_TRANSFORMER:
			return task != LM_DO_NEXT_WORD && task != LM_DO_WORDS;
		case LM_KIND_RNN:
			return task == LM_DO_EMBED || task == LM_DO_CLASSIFY || task == LM_DO_GENERATE ||
				task == LM_DO_TRANSLATE;
		case LM_KIND_NGRAM:
			return task == LM_DO_SCORE || task == LM_DO_NEXT_WORD;
		case LM_KIND_WORD_VECTORS:
		case LM_KIND_FASTTEXT:
		case LM_KIND_TFIDF:
			return task == LM_DO_EMBED || task == LM_DO_CLASSIFY || task == LM_DO_WORDS;
		case LM_KIND_TOKENIZER:
		case LM_KIND_STORED:
			break;
	}
	return false;
}

int
lm_task_next_part(const LmTaskModel *m, LmTaskId task, bool text_input, LmPart *part,
				  LmError *err)
{
	*part = LM_PART_NONE;
	if (task == LM_DO_TOKENIZE || task == LM_DO_DETOKENIZE)
	{
		if (m->tokenizer == NULL)
			*part = LM_PART_TOKENIZER;
		return 0;
	}
	if (!kind_serves(m->kind->kind, task))
		return lm_task_wrong_kind(m, err);
	if (reads_words(m) && !text_input && task != LM_DO_WORDS)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "model \"%s\" reads words, not token ids", m->name);
		lm_hint(err, "Pass the text itself.");
		return -1;
	}
	if (!lm_task_has_network(m))
	{
		*part = LM_PART_NETWORK;
		return 0;
	}
	/* Transformers and RNNs read token ids; an RNN may spell texts itself. */
	if (text_input && m->tokenizer == NULL &&
		(m->kind->kind == LM_KIND_TRANSFORMER ||
		 (m->kind->kind == LM_KIND_RNN && !lm_rnn_info(m->rnn)->char_vocab)))
		*part = LM_PART_TOKENIZER;
	return 0;
}

/* ---- shared helpers -------------------------------------------------------- */

void
lm_floats_free(LmFloats *f)
{
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

void
lm_ids_free(LmIds *ids)
{
	free(ids->ids);
	ids->ids = NULL;
	ids->n = 0;
}

void
lm_scored_free(LmScored *s)
{
	for (int i = 0; s->labels && i < s->n; i++)
		free(s->labels[i]);
	free(s->labels);
	free(s->scores);
	memset(s, 0, sizeof(*s));
}

int
lm_task_scored_from_logits(const float *logits, int n, int k,
						   const char *(*label) (const void *model, int i), const void *model,
						   LmScored *out, LmError *err)
{
	double	   *probs = lm_malloc(sizeof(double) * (n > 0 ? n : 1), err);
	bool	   *done = lm_calloc(n > 0 ? n : 1, sizeof(bool), err);
	double		max = -INFINITY,
				sum = 0;
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	if (probs == NULL || done == NULL)
		goto finish;
	for (int i = 0; i < n; i++)
		max = logits[i] > max ? logits[i] : max;
	for (int i = 0; i < n; i++)
		sum += (probs[i] = exp((double) logits[i] - max));
	for (int i = 0; i < n; i++)
		probs[i] /= sum;
	if (k <= 0 || k > n)
		k = n;
	out->labels = lm_calloc(k > 0 ? k : 1, sizeof(char *), err);
	out->scores = lm_malloc(sizeof(double) * (k > 0 ? k : 1), err);
	if (out->labels == NULL || out->scores == NULL)
		goto finish;
	/* best first; the first of equal probabilities first */
	for (int r = 0; r < k; r++)
	{
		int			best = -1;

		for (int i = 0; i < n; i++)
			if (!done[i] && (best < 0 || probs[i] > probs[best]))
				best = i;
		done[best] = true;
		if ((out->labels[r] = lm_task_strdup(label(model, best), err)) == NULL)
			goto finish;
		out->scores[r] = probs[best];
		out->n = r + 1;
	}
	rc = 0;
finish:
	free(probs);
	free(done);
	if (rc != 0)
		lm_scored_free(out);
	return rc;
}
