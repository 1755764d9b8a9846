/*
 * rnn.c — run recurrent models (TextRNNClassifier, TextRNNGenerator) for the
 * generic SQL functions: load them from the tables on first use, tokenize
 * with the model's tokenizer.json or its character vocabulary.
 */
#include "pg/pg_lm.h"

#include <math.h>
#include <stdlib.h>

#include "utils/builtins.h"

#include "models/rnn.h"
#include "pg/rnn.h"

bool
lm_pg_is_rnn(const LmStoredModel *m)
{
	return strcmp(m->architecture, LM_ARCH_RNN) == 0;
}

static void
free_rnn(void *p)
{
	lm_rnn_free(p);
}

/* The model, built from its config and tensors on first use. */
static const LmRnnModel *
rnn_model(LmStoredModel *m)
{
	const LmTensorSet *tensors;
	LmRnnModel *rnn;
	LmError		err;

	if (m->classic)
		return m->classic;
	tensors = lm_store_tensors(m);
	lm_error_clear(&err);
	rnn = lm_rnn_load(m->config, strlen(m->config), tensors, &err);
	if (rnn == NULL)
	{
		lm_error_prefix(&err, "model \"%s\"", m->name);
		lm_pg_raise(&err);
	}
	m->classic = rnn;
	m->classic_free = free_rnn;
	return rnn;
}

void
lm_pg_rnn_check(LmStoredModel *m)
{
	(void) rnn_model(m);
}

/* Token ids of a text: the character vocabulary, or the tokenizer.json. */
int32 *
lm_pg_rnn_text_ids(LmStoredModel *m, text *input, int *n)
{
	const LmRnnModel *rnn = rnn_model(m);
	const LmRnnInfo *info = lm_rnn_info(rnn);
	LmError		err;
	int32	   *ids;

	lm_error_clear(&err);
	if (info->char_vocab)
	{
		size_t		len = VARSIZE_ANY_EXHDR(input);

		ids = palloc(sizeof(int32) * Max(len, 1));
		if (lm_rnn_char_encode(rnn, VARDATA_ANY(input), len, ids, n, &err) != 0)
			lm_pg_raise(&err);
	}
	else
	{
		const LmTokenizer *tok = lm_store_tokenizer(m);
		LmEncoding	enc;

		if (lm_tokenizer_encode(tok, VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), true, &enc, &err) != 0)
		{
			lm_encoding_free(&enc);
			lm_pg_raise(&err);
		}
		ids = palloc(sizeof(int32) * Max(enc.n, 1));
		memcpy(ids, enc.ids, sizeof(int32) * enc.n);
		*n = (int) enc.n;
		lm_encoding_free(&enc);
	}
	if (*n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text has no tokens for model \"%s\"", m->name),
				 errhint("Filter empty rows with NULLIF(text, '').")));
	if (info->max_length > 0 && *n > info->max_length)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text is %d tokens long, more than the %d model \"%s\" accepts",
						*n, info->max_length, m->name)));
	return ids;
}

float *
lm_pg_rnn_embed(LmStoredModel *m, const int32 *ids, int n, int *dim)
{
	const LmRnnModel *rnn = rnn_model(m);
	float	   *out = palloc(sizeof(float) * lm_rnn_info(rnn)->encoding_size);
	LmError		err;

	lm_error_clear(&err);
	if (lm_rnn_encode(rnn, ids, n, out, &err) != 0)
		lm_pg_raise(&err);
	*dim = lm_rnn_info(rnn)->encoding_size;
	return out;
}

double *
lm_pg_rnn_class_probabilities(LmStoredModel *m, const int32 *ids, int n, int *n_labels)
{
	const LmRnnModel *rnn = rnn_model(m);
	const LmRnnInfo *info = lm_rnn_info(rnn);
	float	   *logits;
	double	   *probs;
	double		max = -INFINITY,
				sum = 0;
	LmError		err;

	if (info->task != LM_RNN_TASK_CLASSIFY)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s, not a classifier", m->name, info->architecture),
				 errhint("Generators serve lm_generate and lm_translate.")));
	logits = palloc(sizeof(float) * info->num_labels);
	probs = palloc(sizeof(double) * info->num_labels);
	lm_error_clear(&err);
	if (lm_rnn_classify(rnn, ids, n, logits, &err) != 0)
		lm_pg_raise(&err);
	for (int i = 0; i < info->num_labels; i++)
		max = Max(max, logits[i]);
	for (int i = 0; i < info->num_labels; i++)
		sum += (probs[i] = exp((double) logits[i] - max));
	for (int i = 0; i < info->num_labels; i++)
		probs[i] /= sum;
	*n_labels = info->num_labels;
	return probs;
}

const char *
lm_pg_rnn_label(LmStoredModel *m, int i)
{
	return lm_rnn_label(rnn_model(m), i);
}

text *
lm_pg_rnn_generate(LmStoredModel *m, text *input, int beams, int max_tokens)
{
	const LmRnnModel *rnn = rnn_model(m);
	const LmRnnInfo *info = lm_rnn_info(rnn);
	int			n;
	int32	   *ids;
	int32	   *out;
	int			n_out;
	char	   *decoded;
	text	   *result;
	LmError		err;

	if (info->task != LM_RNN_TASK_GENERATE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s, not a generator", m->name, info->architecture),
				 errhint("Classifiers serve lm_classify, lm_classify_scores, lm_embed and lm_similarity.")));
	if (beams < 1 || beams > LM_RNN_MAX_BEAMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("beams must be between 1 and %d, got %d", LM_RNN_MAX_BEAMS, beams)));
	if (max_tokens < 1 || max_tokens > LM_RNN_MAX_NEW_TOKENS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens must be between 1 and %d, got %d", LM_RNN_MAX_NEW_TOKENS, max_tokens)));
	ids = lm_pg_rnn_text_ids(m, input, &n);
	out = palloc(sizeof(int32) * max_tokens);
	lm_error_clear(&err);
	if (lm_rnn_generate(rnn, ids, n, max_tokens, beams, out, &n_out, &err) != 0)
		lm_pg_raise(&err);
	if (info->char_vocab)
	{
		if (lm_rnn_char_decode(rnn, out, n_out, &decoded, NULL, &err) != 0)
			lm_pg_raise(&err);
	}
	else
	{
		if (n_out > 0 && out[n_out - 1] == info->eos_token_id)
			n_out--;
		decoded = lm_tokenizer_decode(lm_store_tokenizer(m), out, n_out, true, &err);
		if (decoded == NULL)
			lm_pg_raise(&err);
	}
	result = cstring_to_text(decoded);
	free(decoded);
	return result;
}
