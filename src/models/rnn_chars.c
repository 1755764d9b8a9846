/*
 * rnn_chars.c — character vocabularies of RNN generators ("tokenization":
 * "chars" in config.json): one id per Unicode character, no specials
 * added on encoding, specials dropped on decoding (see rnn.h).
 */
#include "models/rnn_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

static bool
is_special(const LmRnnInfo *info, int id)
{
	return id == info->pad_token_id || id == info->bos_token_id ||
		id == info->eos_token_id || id == info->unk_token_id ||
		id == info->decoder_start_token_id;
}

static int
by_cp(const void *a, const void *b)
{
	const LmRnnCharId *x = a;
	const LmRnnCharId *y = b;

	return (x->cp > y->cp) - (x->cp < y->cp);
}

int
lm_rnn_chars_build(LmRnnChars *chars, const json_t *vocab, const LmRnnInfo *info,
				   LmError *err)
{
	size_t		i;
	json_t	   *v;

	memset(chars, 0, sizeof(*chars));
	if (!json_is_array(vocab) || json_array_size(vocab) != (size_t) info->vocab_size)
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json key \"vocab\" is not a list of %d strings",
				info->vocab_size);
		lm_hint(err, "A model with \"tokenization\": \"chars\" lists its characters, id = position.");
		return -1;
	}
	chars->pieces = lm_calloc(info->vocab_size, sizeof(char *), err);
	chars->by_cp = lm_calloc(info->vocab_size, sizeof(LmRnnCharId), err);
	if (chars->pieces == NULL || chars->by_cp == NULL)
		return -1;
	chars->n_pieces = info->vocab_size;

	json_array_foreach(vocab, i, v)
	{
		const char *s = json_string_value(v);
		size_t		len = s ? json_string_length(v) : 0;
		int32_t		cp;

		if (s == NULL)
			return lm_fail(err, LM_ERR_CORRUPT, "config.json \"vocab\"[%zu] is not a string", i);
		if ((chars->pieces[i] = lm_strndup(s, len, err)) == NULL)
			return -1;
		if (is_special(info, (int) i))
			continue;
		if (len == 0 || lm_utf8_next(s, len, &cp) != (int) len)
			return lm_fail(err, LM_ERR_CORRUPT, "config.json \"vocab\"[%zu] is \"%.32s\", not one character",
						   i, s);
		chars->by_cp[chars->n_chars].cp = cp;
		chars->by_cp[chars->n_chars].id = (int32_t) i;
		chars->n_chars++;
	}
	qsort(chars->by_cp, chars->n_chars, sizeof(LmRnnCharId), by_cp);
	for (int k = 1; k < chars->n_chars; k++)
		if (chars->by_cp[k].cp == chars->by_cp[k - 1].cp)
			return lm_fail(err, LM_ERR_CORRUPT, "config.json \"vocab\" lists \"%s\" twice (ids %d and %d)",
						   chars->pieces[chars->by_cp[k].id], chars->by_cp[k - 1].id,
						   chars->by_cp[k].id);
	return 0;
}

void
lm_rnn_chars_free(LmRnnChars *chars)
{
	if (chars->pieces != NULL)
		for (int i = 0; i < chars->n_pieces; i++)
			free(chars->pieces[i]);
	free(chars->pieces);
	free(chars->by_cp);
	memset(chars, 0, sizeof(*chars));
}

static int
no_chars(const LmRnnModel *m, LmError *err)
{
	lm_fail(err, LM_ERR_INVALID_ARGUMENT, "this %s has no character vocabulary",
			m->info.architecture);
	lm_hint(err, "Only models with \"tokenization\": \"chars\" in config.json have one; use the model's tokenizer.");
	return -1;
}

int
lm_rnn_char_encode(const LmRnnModel *m, const char *text, size_t len, int32_t *ids_out,
				   int *n_ids, LmError *err)
{
	const LmRnnChars *chars = &m->chars;
	size_t		pos = 0;
	int			n = 0;

	if (!m->info.char_vocab)
		return no_chars(m, err);
	if (len > (size_t) LM_RNN_MAX_TOKENS * LM_UTF8_MAX_BYTES)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a text of %zu bytes is too long", len);
	while (pos < len)
	{
		LmRnnCharId key;
		const LmRnnCharId *hit;
		int			step = lm_utf8_next(text + pos, len - pos, &key.cp);

		if (step < 0)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the text is not valid UTF-8 at byte %zu", pos);
			return -1;
		}
		hit = bsearch(&key, chars->by_cp, chars->n_chars, sizeof(LmRnnCharId), by_cp);
		if (hit != NULL)
			ids_out[n++] = hit->id;
		else if (m->info.unk_token_id >= 0)
			ids_out[n++] = m->info.unk_token_id;
		else
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "character U+%04X at byte %zu is not in the vocabulary",
					(unsigned) key.cp, pos);
			lm_hint(err, "The model has no unk_token_id to stand for it.");
			return -1;
		}
		pos += step;
	}
	*n_ids = n;
	return 0;
}

int
lm_rnn_char_decode(const LmRnnModel *m, const int32_t *ids, int n, char **text,
				   size_t *text_len, LmError *err)
{
	const LmRnnInfo *info = &m->info;
	size_t		len = 0;
	char	   *out = NULL;

	if (!info->char_vocab)
		return no_chars(m, err);
	if (n < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a negative number of ids (%d)", n);
	/* first pass: check and measure; second: copy */
	for (int pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			if ((out = lm_malloc(len + 1, err)) == NULL)
				return -1;
			len = 0;
		}
		for (int i = 0; i < n; i++)
		{
			int32_t		id = ids[i];
			size_t		piece_len;

			if (id < 0 || id >= info->vocab_size)
				return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
							   "token id %d at position %d is outside the vocabulary (0..%d)",
							   id, i, info->vocab_size - 1);
			if (id == info->eos_token_id)
				break;
			if (is_special(info, id))
				continue;
			piece_len = strlen(m->chars.pieces[id]);
			if (pass == 1)
				memcpy(out + len, m->chars.pieces[id], piece_len);
			len += piece_len;
		}
	}
	out[len] = '\0';
	*text = out;
	if (text_len != NULL)
		*text_len = len;
	return 0;
}
