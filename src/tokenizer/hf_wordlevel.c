/*
 * hf_wordlevel.c — the WordLevel model of tokenizer.json: each pre-tokenized
 * word is one token, or the unknown token.
 */
#include "tokenizer/hf_models.h"

#include <stdlib.h>
#include <string.h>

#define WHAT "WordLevel model"
#define DEFAULT_UNK_TOKEN "<unk>"

struct HfWordLevel
{
	HfVocab		vocab;
	char	   *unk_token;
	size_t		unk_len;
};

const HfVocab *
hf_wordlevel_vocab(const HfWordLevel *wl)
{
	return &wl->vocab;
}

void
hf_wordlevel_free(HfWordLevel *wl)
{
	if (wl == NULL)
		return;
	hf_vocab_free(&wl->vocab);
	free(wl->unk_token);
	free(wl);
}

HfWordLevel *
hf_wordlevel_parse(const json_t *json, LmError *err)
{
	HfWordLevel *wl = lm_calloc(1, sizeof(HfWordLevel), err);

	if (wl == NULL)
		return NULL;
	if (hf_vocab_from_object(&wl->vocab, json_object_get(json, "vocab"), WHAT, err) != 0 ||
		hf_json_strdup(json, "unk_token", false, &wl->unk_token, &wl->unk_len, WHAT, err) != 0)
	{
		hf_wordlevel_free(wl);
		return NULL;
	}
	if (wl->unk_token == NULL)
	{
		wl->unk_len = strlen(DEFAULT_UNK_TOKEN);
		wl->unk_token = lm_strndup(DEFAULT_UNK_TOKEN, wl->unk_len, err);
		if (wl->unk_token == NULL)
		{
			hf_wordlevel_free(wl);
			return NULL;
		}
	}
	return wl;
}

int
hf_wordlevel_tokenize(const HfWordLevel *wl, const char *word, size_t len, LmEncoding *out,
					  LmError *err)
{
	int32_t		id;

	if (hf_vocab_get(&wl->vocab, word, len, &id))
		return hf_vocab_push(&wl->vocab, id, out, err);
	if (hf_vocab_get(&wl->vocab, wl->unk_token, wl->unk_len, &id))
		return hf_vocab_push(&wl->vocab, id, out, err);
	return lm_fail(err, LM_ERR_CORRUPT, "%s: unk_token \"%s\" is not in the vocabulary", WHAT,
				   wl->unk_token);
}
