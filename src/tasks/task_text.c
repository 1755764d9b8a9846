/*
 * task_text.c — tokenizing and detokenizing, and the ids every model task
 * reads from a text.
 */
#include "tasks/task_internal.h"

#include <stdlib.h>
#include <string.h>

static int
no_tokenizer(const LmTaskModel *m, LmError *err)
{
	lm_fail(err, LM_ERR_UNSUPPORTED, "model \"%s\" has no tokenizer", m->name);
	lm_hint(err, "Import a directory with tokenizer.json or a SentencePiece .model file.");
	return -1;
}

/* Empty or longer than the context: the checks every model task makes. */
static int
check_length(const LmTaskModel *m, size_t n, LmError *err)
{
	if (m->kind->kind == LM_KIND_RNN)
	{
		const LmRnnInfo *info = lm_rnn_info(m->rnn);

		if (n == 0)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text has no tokens for model \"%s\"", m->name);
			lm_hint(err, "Filter empty rows with NULLIF(text, '').");
			return -1;
		}
		if (info->max_length > 0 && n > (size_t) info->max_length)
			return lm_fail(err, LM_ERR_TOO_LONG, "text is %zu tokens long, more than the %d model \"%s\" accepts",
						   n, info->max_length, m->name);
		return 0;
	}
	if (n == 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text has no tokens for model \"%s\"", m->name);
		lm_hint(err, "The model adds no special tokens, so an empty text is no input at all; filter empty rows with NULLIF(text, '').");
		return -1;
	}
	if (m->transformer && n > (size_t) lm_model_info(m->transformer)->max_positions)
	{
		lm_fail(err, LM_ERR_TOO_LONG, "text is %zu tokens long, more than the %d positions of model \"%s\"",
				n, lm_model_info(m->transformer)->max_positions, m->name);
		lm_hint(err, "Shorten the text, e.g. split it into passages, or pick a model with a longer context.");
		return -1;
	}
	return 0;
}

/* lm_task_tokenize, or (special_text) a text that spells its special tokens. */
static int
tokenize(const LmTaskModel *m, const char *text, size_t len, bool add_special_tokens,
		 bool special_text, bool check_context, LmEncoding *out, LmError *err)
{
	size_t		context = 0;
	int			rc;

	memset(out, 0, sizeof(*out));
	if (m->tokenizer == NULL)
		return no_tokenizer(m, err);
	if (check_context && m->kind->kind == LM_KIND_RNN && lm_rnn_info(m->rnn)->max_length > 0)
		context = (size_t) lm_rnn_info(m->rnn)->max_length;
	else if (check_context && m->transformer)
		context = (size_t) lm_model_info(m->transformer)->max_positions;
	/* a text far past the context stops being tokenized as soon as it is past */
	if (special_text)
		rc = lm_tokenizer_encode_special_text(m->tokenizer, text, len, context > 0 ? context + 1 : 0, out, err);
	else
		rc = lm_tokenizer_encode_at_most(m->tokenizer, text, len, add_special_tokens,
										 context > 0 ? context + 1 : 0, out, err);
	if (rc != 0)
	{
		if (err != NULL && err->code == LM_ERR_TOO_LONG)
		{
			lm_fail(err, LM_ERR_TOO_LONG, "text is more than %zu tokens long, past the %zu positions of model \"%s\"",
					context, context, m->name);
			lm_hint(err, "Shorten the text, e.g. split it into passages, or pick a model with a longer context.");
		}
		lm_encoding_free(out);
		return -1;
	}
	if (check_context && check_length(m, out->n, err) != 0)
	{
		lm_encoding_free(out);
		return -1;
	}
	return 0;
}

int
lm_task_tokenize(const LmTaskModel *m, const char *text, size_t len, bool add_special_tokens,
				 bool check_context, LmEncoding *out, LmError *err)
{
	return tokenize(m, text, len, add_special_tokens, false, check_context, out, err);
}

char *
lm_task_detokenize(const LmTaskModel *m, const int32_t *ids, int n, bool skip_special,
				   LmError *err)
{
	if (m->tokenizer == NULL)
	{
		no_tokenizer(m, err);
		return NULL;
	}
	return lm_tokenizer_decode(m->tokenizer, ids, n, skip_special, err);
}

int
lm_task_input_ids(const LmTaskModel *m, const LmInput *input, bool add_special,
				  const int32_t **ids, int *n, int32_t **owned, LmError *err)
{
	LmEncoding	enc;

	*owned = NULL;
	if (input->text == NULL)
	{
		*ids = input->ids;
		*n = input->n_ids;
		return 0;
	}
	if (m->rnn != NULL && lm_rnn_info(m->rnn)->char_vocab)
	{
		if ((*owned = lm_malloc(sizeof(int32_t) * (input->len ? input->len : 1), err)) == NULL)
			return -1;
		if (lm_rnn_char_encode(m->rnn, input->text, input->len, *owned, n, err) != 0 ||
			check_length(m, *n, err) != 0)
		{
			free(*owned);
			*owned = NULL;
			return -1;
		}
		*ids = *owned;
		return 0;
	}
	if (lm_task_tokenize(m, input->text, input->len, add_special, true, &enc, err) != 0)
		return -1;
	/* the encoding's ids become the caller's; its token strings are freed */
	*owned = enc.ids;
	*n = (int) enc.n;
	enc.ids = NULL;
	lm_encoding_free(&enc);
	*ids = *owned;
	return 0;
}

int
lm_task_chat_ids(const LmTaskModel *m, const LmInput *input, const int32_t **ids, int *n,
				 int32_t **owned, LmError *err)
{
	LmEncoding	enc;

	if (input->text == NULL || m->tokenizer == NULL)
		return lm_task_input_ids(m, input, false, ids, n, owned, err);
	*owned = NULL;
	if (tokenize(m, input->text, input->len, false, true, true, &enc, err) != 0)
		return -1;
	*owned = enc.ids;
	*n = (int) enc.n;
	enc.ids = NULL;
	lm_encoding_free(&enc);
	*ids = *owned;
	return 0;
}
