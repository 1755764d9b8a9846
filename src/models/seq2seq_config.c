/*
 * seq2seq_config.c — generation parameters of an encoder-decoder: defaults
 * from config.json (kept in LmModelInfo) overridden by generation_config.json,
 * as transformers' GenerationConfig reads them, and their validation.
 */
#include "models/seq2seq.h"

#include "models/config.h"

#include <math.h>
#include <string.h>

/* Read an id or a list of ids; absent or null keeps ids as they are. */
static int
read_ids(const json_t *cfg, const char *key, int32_t *ids, int max, int *n, LmError *err)
{
	json_t	   *v = json_object_get(cfg, key);
	size_t		i;
	json_t	   *e;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
	{
		ids[0] = (int32_t) json_integer_value(v);
		*n = 1;
		return 0;
	}
	if (!json_is_array(v) || (int) json_array_size(v) > max)
		return lm_fail(err, LM_ERR_CORRUPT, "\"%s\" is not an id or a list of at most %d ids",
					   key, max);
	*n = 0;
	json_array_foreach(v, i, e)
	{
		if (!json_is_integer(e))
			return lm_fail(err, LM_ERR_CORRUPT, "\"%s\" holds something other than token ids", key);
		ids[(*n)++] = (int32_t) json_integer_value(e);
	}
	return 0;
}

/* bad_words_ids: a list of token sequences, of which we support single tokens. */
static int
read_bad_words(const json_t *cfg, LmSeq2SeqParams *p, LmError *err)
{
	json_t	   *v = json_object_get(cfg, "bad_words_ids");
	size_t		i;
	json_t	   *seq;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return lm_fail(err, LM_ERR_CORRUPT, "\"bad_words_ids\" is not a list of lists of ids");
	json_array_foreach(v, i, seq)
	{
		if (!json_is_array(seq) || json_array_size(seq) != 1 ||
			!json_is_integer(json_array_get(seq, 0)))
		{
			lm_fail(err, LM_ERR_UNSUPPORTED, "\"bad_words_ids\" entry %d is not a single token",
					(int) i);
			lm_hint(err, "Only single-token bad words are supported.");
			return -1;
		}
		if (p->n_suppress == LM_MAX_SUPPRESS_IDS)
			return lm_fail(err, LM_ERR_UNSUPPORTED, "more than %d suppressed tokens",
						   LM_MAX_SUPPRESS_IDS);
		p->suppress_ids[p->n_suppress++] = (int32_t) json_integer_value(json_array_get(seq, 0));
	}
	return 0;
}

static int
read_generation_config(const json_t *cfg, LmSeq2SeqParams *p, LmError *err)
{
	json_t	   *early = json_object_get(cfg, "early_stopping");
	int			max_length = -1;
	int			min_length = -1;
	int			n_suppress = 0;
	int32_t		suppress[LM_MAX_SUPPRESS_IDS];
	int			one_id[1];
	int			n_one;

	if (lm_cfg_int(cfg, "num_beams", p->num_beams, 1, LM_MAX_BEAMS, &p->num_beams, err) < 0 ||
		lm_cfg_int(cfg, "max_length", -1, 1, LM_MAX_POSITIONS, &max_length, err) < 0 ||
		lm_cfg_int(cfg, "max_new_tokens", -1, 0, LM_MAX_POSITIONS, &p->max_new_tokens, err) < 0 ||
		lm_cfg_int(cfg, "min_length", -1, 0, LM_MAX_POSITIONS, &min_length, err) < 0 ||
		lm_cfg_int(cfg, "min_new_tokens", -1, 0, LM_MAX_POSITIONS, &p->min_new_tokens, err) < 0 ||
		lm_cfg_double(cfg, "length_penalty", p->length_penalty, &p->length_penalty, err) < 0 ||
		lm_cfg_double(cfg, "repetition_penalty", p->repetition_penalty, &p->repetition_penalty, err) < 0 ||
		lm_cfg_int(cfg, "no_repeat_ngram_size", p->no_repeat_ngram_size, 0, LM_MAX_POSITIONS,
				   &p->no_repeat_ngram_size, err) < 0 ||
		read_ids(cfg, "eos_token_id", p->eos_token_ids, LM_MAX_EOS_IDS, &p->n_eos, err) < 0 ||
		read_bad_words(cfg, p, err) < 0 ||
		read_ids(cfg, "suppress_tokens", suppress, LM_MAX_SUPPRESS_IDS, &n_suppress, err) < 0)
		return -1;

	/* max_new_tokens wins over max_length, which counts the start token */
	if (p->max_new_tokens < 0)
		p->max_new_tokens = max_length > 0 ? max_length - 1 : LM_SEQ2SEQ_DEFAULT_MAX_LENGTH - 1;
	if (p->min_new_tokens < 0)
		p->min_new_tokens = min_length > 1 ? min_length - 1 : 0;

	n_one = 0;
	if (read_ids(cfg, "decoder_start_token_id", one_id, 1, &n_one, err) < 0)
		return -1;
	if (n_one)
		p->decoder_start_token_id = one_id[0];
	n_one = 0;
	if (read_ids(cfg, "forced_bos_token_id", one_id, 1, &n_one, err) < 0)
		return -1;
	if (n_one)
		p->forced_bos_token_id = one_id[0];
	n_one = 0;
	if (read_ids(cfg, "forced_eos_token_id", one_id, 1, &n_one, err) < 0)
		return -1;
	if (n_one)
		p->forced_eos_token_id = one_id[0];

	if (json_is_true(early))
		p->early_stopping = LM_EARLY_STOPPING_ON;
	else if (json_is_false(early))
		p->early_stopping = LM_EARLY_STOPPING_HEURISTIC;
	else if (json_is_string(early) && strcmp(json_string_value(early), "never") == 0)
		p->early_stopping = LM_EARLY_STOPPING_NEVER;
	else if (early != NULL && !json_is_null(early))
		return lm_fail(err, LM_ERR_CORRUPT, "\"early_stopping\" is not true, false or \"never\"");

	for (int i = 0; i < n_suppress; i++)
	{
		if (p->n_suppress == LM_MAX_SUPPRESS_IDS)
			return lm_fail(err, LM_ERR_UNSUPPORTED, "more than %d suppressed tokens",
						   LM_MAX_SUPPRESS_IDS);
		p->suppress_ids[p->n_suppress++] = suppress[i];
	}
	return 0;
}

int
lm_seq2seq_params_init(const LmModel *model, const char *generation_config, size_t len,
					   LmSeq2SeqParams *params, LmError *err)
{
	const LmModelInfo *info = &model->info;
	LmSeq2SeqParams p;

	if (!info->encoder_decoder)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%s is not an encoder-decoder model",
				info->architecture);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.num_beams = 1;
	p.max_new_tokens = -1;
	p.min_new_tokens = -1;
	p.length_penalty = 1.0;
	p.early_stopping = LM_EARLY_STOPPING_HEURISTIC;
	p.repetition_penalty = 1.0;
	/* transformers falls back on bos_token_id when there is no start token */
	p.decoder_start_token_id = info->decoder_start_token_id >= 0 ?
		info->decoder_start_token_id : info->bos_token_id;
	p.forced_bos_token_id = info->forced_bos_token_id;
	p.forced_eos_token_id = info->forced_eos_token_id;
	p.n_eos = info->n_eos;
	for (int i = 0; i < info->n_eos; i++)
		p.eos_token_ids[i] = info->eos_token_ids[i];

	if (generation_config != NULL)
	{
		json_error_t jerr;
		json_t	   *cfg = json_loadb(generation_config, len, JSON_REJECT_DUPLICATES, &jerr);
		int			rc;

		if (cfg == NULL || !json_is_object(cfg))
		{
			lm_fail(err, LM_ERR_CORRUPT, "generation_config.json is not a JSON object%s%s",
					cfg ? "" : ": ", cfg ? "" : jerr.text);
			json_decref(cfg);
			return -1;
		}
		rc = read_generation_config(cfg, &p, err);
		json_decref(cfg);
		if (rc < 0)
		{
			lm_error_prefix(err, "generation_config.json");
			return -1;
		}
	}
	if (p.max_new_tokens < 0)
		p.max_new_tokens = LM_SEQ2SEQ_DEFAULT_MAX_LENGTH - 1;
	if (p.min_new_tokens < 0)
		p.min_new_tokens = 0;
	*params = p;
	return 0;
}

static int
check_id(const LmModelInfo *info, const char *what, int id, bool optional, LmError *err)
{
	if ((optional && id == -1) || (id >= 0 && id < info->target_vocab_size))
		return 0;
	lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%s %d is outside the target vocabulary (0..%d)",
			what, id, info->target_vocab_size - 1);
	if (!optional && id < 0)
		lm_hint(err, "The model's config does not name one: pass it in the parameters.");
	return -1;
}

int
lm_seq2seq_check_params(const LmModel *model, const LmSeq2SeqParams *p, int *max_length,
						LmError *err)
{
	const LmModelInfo *info = &model->info;

	if (p->num_beams < 1 || p->num_beams > LM_MAX_BEAMS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "num_beams must be between 1 and %d, not %d",
					   LM_MAX_BEAMS, p->num_beams);
	if (p->max_new_tokens < 0 || p->min_new_tokens < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "token counts must not be negative");
	if (!isfinite(p->length_penalty))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "length_penalty must be finite");
	if (!(p->repetition_penalty > 0.0) || !isfinite(p->repetition_penalty))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "repetition_penalty must be positive, not %g",
					   p->repetition_penalty);
	if (p->no_repeat_ngram_size < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no_repeat_ngram_size must not be negative");
	if (p->early_stopping < LM_EARLY_STOPPING_HEURISTIC || p->early_stopping > LM_EARLY_STOPPING_NEVER)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "early_stopping is not a known mode");
	if (p->n_eos < 0 || p->n_eos > LM_MAX_EOS_IDS ||
		p->n_suppress < 0 || p->n_suppress > LM_MAX_SUPPRESS_IDS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "too many eos or suppressed ids");
	if (check_id(info, "decoder_start_token_id", p->decoder_start_token_id, false, err) < 0 ||
		check_id(info, "forced_bos_token_id", p->forced_bos_token_id, true, err) < 0 ||
		check_id(info, "forced_eos_token_id", p->forced_eos_token_id, true, err) < 0)
		return -1;
	for (int i = 0; i < p->n_eos; i++)
		if (check_id(info, "eos_token_id", p->eos_token_ids[i], false, err) < 0)
			return -1;
	for (int i = 0; i < p->n_suppress; i++)
		if (check_id(info, "suppressed token", p->suppress_ids[i], false, err) < 0)
			return -1;
	*max_length = p->max_new_tokens < info->max_target_positions ?
		p->max_new_tokens + 1 : info->max_target_positions;
	return 0;
}

bool
lm_seq2seq_is_eos(const LmSeq2SeqParams *p, int32_t id)
{
	for (int i = 0; i < p->n_eos; i++)
		if (p->eos_token_ids[i] == id)
			return true;
	return false;
}
