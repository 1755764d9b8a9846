/*
 * hf_vocab.c — the token <-> id vocabulary of the tokenizer.json models.
 */
#include "tokenizer/hf_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hf_vocab_free(HfVocab *vocab)
{
	lm_strmap_free(vocab->map);
	free(vocab->tokens);
	free(vocab->token_lens);
	memset(vocab, 0, sizeof(*vocab));
}

int
hf_vocab_init(HfVocab *vocab, size_t n, LmError *err)
{
	memset(vocab, 0, sizeof(*vocab));
	if (n > INT32_MAX)
		return lm_fail(err, LM_ERR_CORRUPT, "vocabulary of %zu tokens is too large", n);
	vocab->map = lm_strmap_new(n, err);
	vocab->tokens = lm_calloc(n, sizeof(char *), err);
	vocab->token_lens = lm_calloc(n, sizeof(uint32_t), err);
	if (vocab->map == NULL || vocab->tokens == NULL || vocab->token_lens == NULL)
	{
		hf_vocab_free(vocab);
		return -1;
	}
	vocab->id_limit = (int32_t) n;
	return 0;
}

int
hf_vocab_set(HfVocab *vocab, int32_t id, const char *token, size_t len, LmError *err)
{
	const char *stored;

	if (len > UINT32_MAX)
		return lm_fail(err, LM_ERR_CORRUPT, "token of %zu bytes is too long", len);
	if (lm_strmap_put(vocab->map, token, len, id, &stored, err) != 0)
		return -1;
	vocab->tokens[id] = stored;
	vocab->token_lens[id] = (uint32_t) len;
	vocab->count = (int32_t) lm_strmap_count(vocab->map);
	if (len > vocab->max_token_len)
		vocab->max_token_len = len;
	return 0;
}

int
hf_vocab_from_object(HfVocab *vocab, const json_t *obj, const char *what, LmError *err)
{
	const char *key;
	json_t	   *value;
	int64_t		max_id = -1;
	size_t		n;

	memset(vocab, 0, sizeof(*vocab));
	if (!json_is_object(obj))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"vocab\" must be an object", what);
	n = json_object_size(obj);
	if (n == 0)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: the vocabulary is empty", what);
	json_object_foreach((json_t *) obj, key, value)
	{
		int64_t		id;

		if (!json_is_integer(value) || (id = json_integer_value(value)) < 0 || id >= INT32_MAX)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "%s: the id of token \"%s\" is not an integer from 0 to %d", what,
						   key, INT32_MAX - 1);
		if (id > max_id)
			max_id = id;
	}
	if (max_id >= (int64_t) n * HF_VOCAB_MAX_SPARSENESS + HF_VOCAB_ID_SLACK)
		return lm_fail(err, LM_ERR_CORRUPT,
					   "%s: token ids reach %lld for only %zu tokens", what,
					   (long long) max_id, n);
	if (hf_vocab_init(vocab, (size_t) max_id + 1, err) != 0)
		return -1;
	json_object_foreach((json_t *) obj, key, value)
	{
		int32_t		id = (int32_t) json_integer_value(value);
		/* Object keys may hold NUL; jansson gives their length separately. */
		size_t		len = json_object_iter_key_len(json_object_key_to_iter(key));

		if (lm_check_cancel(err) != 0)
			goto fail;
		/*
		 * Two tokens sharing an id: the library accepts it, and so do we; the
		 * id decodes to the first one.
		 */
		if (vocab->tokens[id] != NULL)
		{
			if (lm_strmap_put(vocab->map, key, len, id, NULL, err) != 0)
				goto fail;
			if (len > vocab->max_token_len)
				vocab->max_token_len = len;
			continue;
		}
		if (hf_vocab_set(vocab, id, key, len, err) != 0)
			goto fail;
	}
	vocab->count = (int32_t) lm_strmap_count(vocab->map);
	return 0;

fail:
	hf_vocab_free(vocab);
	return -1;
}

int
hf_vocab_push(const HfVocab *vocab, int32_t id, LmEncoding *out, LmError *err)
{
	return lm_encoding_push(out, id, vocab->tokens[id], vocab->token_lens[id], err);
}

void
hf_byte_token(uint8_t byte, char out[HF_BYTE_TOKEN_LEN + 1])
{
	snprintf(out, HF_BYTE_TOKEN_LEN + 1, "<0x%02X>", byte);
}
