/*
 * model.c — the model facade: loading and dispatch on the architecture,
 * input validation, and the whole-input tasks (encode, logits, score,
 * classify, fill-mask, embed).  Decoding sessions are in decoder.c,
 * generation in generate.c.
 */
#include "models/arch.h"
#include "tasks/kinds.h"
#include "nn/blas.h"
#include "models/config.h"
#include "nn/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of logits computed at once when scoring a long input. */
#define LM_SCORE_BLOCK 16

/* ----------------------------------------------------------------------------
 * Loading (tasks/kinds.c picks the builder) */

/* A config id that may be an integer, null, or (for eos) a list of them. */
static void
read_token_ids(const json_t *cfg, const char *key, int *ids, int max, int *n)
{
	json_t	   *v = json_object_get(cfg, key);

	*n = 0;
	if (json_is_integer(v))
		ids[(*n)++] = (int) json_integer_value(v);
	else if (json_is_array(v))
	{
		size_t		i;
		json_t	   *e;

		json_array_foreach(v, i, e)
		{
			if (json_is_integer(e) && *n < max)
				ids[(*n)++] = (int) json_integer_value(e);
		}
	}
}

static void
read_special_ids(LmModel *model, const json_t *cfg)
{
	int			one[1];
	int			n;

	read_token_ids(cfg, "bos_token_id", one, 1, &n);
	model->info.bos_token_id = n ? one[0] : -1;
	read_token_ids(cfg, "pad_token_id", one, 1, &n);
	model->info.pad_token_id = n ? one[0] : -1;
	read_token_ids(cfg, "eos_token_id", model->info.eos_token_ids, LM_MAX_EOS_IDS,
				   &model->info.n_eos);
	read_token_ids(cfg, "decoder_start_token_id", one, 1, &n);
	model->info.decoder_start_token_id = n ? one[0] : -1;
	read_token_ids(cfg, "forced_bos_token_id", one, 1, &n);
	model->info.forced_bos_token_id = n ? one[0] : -1;
	read_token_ids(cfg, "forced_eos_token_id", one, 1, &n);
	model->info.forced_eos_token_id = n ? one[0] : -1;
}

/* Class names from id2label once the builder has set num_labels. */
static int
read_labels(LmModel *model, const json_t *cfg, LmError *err)
{
	json_t	   *id2label = json_object_get(cfg, "id2label");
	int			n = model->info.num_labels;

	if (n == 0)
		return 0;
	model->labels = lm_calloc(n, sizeof(char *), err);
	if (model->labels == NULL)
		return -1;
	for (int i = 0; i < n; i++)
	{
		char		key[32];
		json_t	   *v;
		const char *s;

		snprintf(key, sizeof(key), "%d", i);
		v = json_object_get(id2label, key);
		s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s == NULL)
		{
			snprintf(key, sizeof(key), "LABEL_%d", i);
			s = key;
		}
		if ((model->labels[i] = lm_strndup(s, strlen(s), err)) == NULL)
			return -1;
	}
	return 0;
}

LmModel *
lm_model_load(const char *config_json, size_t len, const LmTensorSet *tensors, LmError *err)
{
	json_error_t jerr;
	json_t	   *cfg;
	const char *model_type = NULL;
	const char *architecture = NULL;
	const LmKindInfo *entry;
	LmModel    *model = NULL;

	if (config_json == NULL || tensors == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a model needs a config and tensors");
		return NULL;
	}
	if (lm_blas_init(err) != 0)
		return NULL;
	cfg = json_loadb(config_json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (cfg == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json is not valid JSON: %s at line %d, column %d",
				jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(cfg))
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json is not a JSON object");
		goto fail;
	}
	if (lm_cfg_string(cfg, "model_type", NULL, &model_type, err) < 0)
		goto fail;
	{
		json_t	   *archs = json_object_get(cfg, "architectures");

		if (json_is_array(archs) && json_array_size(archs) > 0)
		{
			if (!json_is_string(json_array_get(archs, 0)))
			{
				lm_fail(err, LM_ERR_CORRUPT, "config.json \"architectures\" is not a list of names");
				goto fail;
			}
			architecture = json_string_value(json_array_get(archs, 0));
		}
	}
	if (model_type == NULL && architecture == NULL)
	{
		lm_fail(err, LM_ERR_CORRUPT, "config.json has neither \"model_type\" nor \"architectures\"");
		lm_hint(err, "Is this a transformers model directory?");
		goto fail;
	}
	if ((entry = lm_kind_of_config(model_type, architecture, err)) == NULL)
		goto fail;

	if ((model = lm_calloc(1, sizeof(LmModel), err)) == NULL)
		goto fail;
	pthread_mutex_init(&model->batch.lock, NULL);
	if (!(model->model_type = lm_strndup(entry->architecture, strlen(entry->architecture), err)) ||
		!(model->architecture = lm_strndup(entry->hf_class, strlen(entry->hf_class), err)))
		goto fail;
	model->info.model_type = model->model_type;
	model->info.architecture = model->architecture;
	model->info.task = entry->head;
	read_special_ids(model, cfg);
	if (entry->build(model, cfg, tensors, err) < 0 ||
		read_labels(model, cfg, err) < 0)
		goto fail;
	json_decref(cfg);
	return model;

fail:
	json_decref(cfg);
	lm_model_free(model);
	return NULL;
}

void
lm_model_free(LmModel *model)
{
	if (model == NULL)
		return;
	if (model->batch.state != NULL)
		model->ops->state_free(model->batch.state);
	free(model->batch.hidden);
	pthread_mutex_destroy(&model->batch.lock);
	if (model->ops != NULL)
		model->ops->free(model->impl);
	if (model->labels != NULL)
		for (int i = 0; i < model->info.num_labels; i++)
			free(model->labels[i]);
	free(model->labels);
	free(model->model_type);
	free(model->architecture);
	free(model);
}

const LmModelInfo *
lm_model_info(const LmModel *model)
{
	return &model->info;
}

const char *
lm_task_name(LmTask task)
{
	switch (task)
	{
		case LM_TASK_CAUSAL_LM:
			return "text-generation";
		case LM_TASK_MASKED_LM:
			return "fill-mask";
		case LM_TASK_SEQUENCE_CLASSIFICATION:
			return "text-classification";
		case LM_TASK_FEATURE_EXTRACTION:
			return "feature-extraction";
		case LM_TASK_TEXT2TEXT:
			return "text2text-generation";
	}
	return "?";
}

const char *
lm_model_label(const LmModel *model, int i)
{
	if (i < 0 || i >= model->info.num_labels)
		return NULL;
	return model->labels[i];
}

/* ----------------------------------------------------------------------------
 * Validation (declared in arch.h for decoder.c and generate.c) */

int
lm_model_check_ids(const LmModel *model, const int32_t *ids, int n, int pos, LmError *err)
{
	int			ctx = model->info.max_positions;

	if (ids == NULL || n <= 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the input has no tokens");
		lm_hint(err, "Pass at least one token id.");
		return -1;
	}
	if (n > ctx - pos)
	{
		lm_fail(err, LM_ERR_TOO_LONG,
				"input of %d tokens is longer than the model's context of %d tokens",
				pos + n, ctx);
		lm_hint(err, "Shorten the input, or truncate it to %d tokens.", ctx);
		return -1;
	}
	for (int i = 0; i < n; i++)
	{
		if (ids[i] < 0 || ids[i] >= model->info.vocab_size)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					"token id %d at position %d is outside the vocabulary (0..%d)",
					ids[i], pos + i, model->info.vocab_size - 1);
			lm_hint(err, "Use ids from this model's own tokenizer.");
			return -1;
		}
	}
	return 0;
}

static int
wrong_task(const LmModel *model, const char *what, const char *needs, LmError *err)
{
	lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%s needs a model with %s, and %s has none",
			what, needs, model->info.architecture);
	lm_hint(err, "This model's task is %s.", lm_task_name(model->info.task));
	return -1;
}

/*
 * Run the whole input once; on success *state holds the scratch (for the
 * heads) and hidden[n][hidden_size] the final states.  The caller frees both.
 */
static int
run_once(const LmModel *model, const int32_t *ids, const uint8_t *mask, int n,
		 void **state, float **hidden, LmError *err)
{
	*state = NULL;
	*hidden = NULL;
	if (lm_model_check_ids(model, ids, n, 0, err) < 0)
		return -1;
	*hidden = lm_malloc_large((size_t) n * model->info.hidden_size * sizeof(float), err);
	if (*hidden == NULL)
		return -1;
	*state = model->ops->state_new(model->impl, n, n, err);
	/*
	 * One pass over the whole input, nothing decoded after it: as a batch
	 * of one where the architecture has batches, which keep keys and values
	 * where the products put them instead of copying them into the cache.
	 */
	if (*state == NULL ||
		(model->ops->forward_batch != NULL
		 ? model->ops->forward_batch(model->impl, *state, ids, mask, &n, 1, *hidden, err)
		 : model->ops->forward(model->impl, *state, ids, mask, n, 0, *hidden, err)) < 0)
	{
		if (*state)
			model->ops->state_free(*state);
		free(*hidden);
		*state = NULL;
		*hidden = NULL;
		return -1;
	}
	return 0;
}

static void
done_once(const LmModel *model, void *state, float *hidden)
{
	if (state)
		model->ops->state_free(state);
	free(hidden);
}

/* ----------------------------------------------------------------------------
 * Tasks */

int
lm_model_encode(const LmModel *model, const int32_t *ids, const uint8_t *attention_mask,
				int n, float *hidden_out, LmError *err)
{
	void	   *state;
	float	   *hidden;

	if (run_once(model, ids, attention_mask, n, &state, &hidden, err) < 0)
		return -1;
	memcpy(hidden_out, hidden, (size_t) n * model->info.hidden_size * sizeof(float));
	done_once(model, state, hidden);
	return 0;
}

int
lm_model_logits(const LmModel *model, const int32_t *ids, int n, bool all_positions,
				float *out, LmError *err)
{
	void	   *state;
	float	   *hidden;
	int			rc;

	if (model->ops->token_logits == NULL)
		return wrong_task(model, "logits", "a language-model head", err);
	if (run_once(model, ids, NULL, n, &state, &hidden, err) < 0)
		return -1;
	if (all_positions)
		rc = model->ops->token_logits(model->impl, state, hidden, n, out, err);
	else
		rc = model->ops->token_logits(model->impl, state,
									  hidden + (size_t) (n - 1) * model->info.hidden_size,
									  1, out, err);
	done_once(model, state, hidden);
	return rc;
}

/* Σ log p(token t+1 | tokens ..t) over an input's final hidden states. */
static int
score_hidden(const LmModel *model, void *state, const float *hidden, const int32_t *ids, int n,
			 double *sum_logprob, LmError *err)
{
	int			vocab = model->info.vocab_size;
	float	   *logits = lm_malloc((size_t) LM_SCORE_BLOCK * vocab * sizeof(float), err);
	double		sum = 0.0;

	if (logits == NULL)
		return -1;
	/* position t predicts token t + 1 */
	for (int t0 = 0; t0 < n - 1; t0 += LM_SCORE_BLOCK)
	{
		int			rows = n - 1 - t0 < LM_SCORE_BLOCK ? n - 1 - t0 : LM_SCORE_BLOCK;

		if (lm_check_cancel(err) < 0 ||
			model->ops->token_logits(model->impl, state,
									 hidden + (size_t) t0 * model->info.hidden_size,
									 rows, logits, err) < 0)
		{
			free(logits);
			return -1;
		}
		for (int r = 0; r < rows; r++)
		{
			const float *row = logits + (size_t) r * vocab;

			sum += row[ids[t0 + r + 1]] - lm_logsumexp(row, vocab);
		}
	}
	free(logits);
	*sum_logprob = sum;
	return 0;
}

int
lm_model_score(const LmModel *model, const int32_t *ids, int n, double *sum_logprob,
			   int *n_scored, LmError *err)
{
	void	   *state;
	float	   *hidden;
	int			rc;

	if (!model->info.causal)
		return wrong_task(model, "scoring", "a causal language-model head", err);
	if (run_once(model, ids, NULL, n, &state, &hidden, err) < 0)
		return -1;
	rc = score_hidden(model, state, hidden, ids, n, sum_logprob, err);
	done_once(model, state, hidden);
	if (rc == 0 && n_scored)
		*n_scored = n - 1;
	return rc;
}

int
lm_model_classify(const LmModel *model, const int32_t *ids, int n, float *out, LmError *err)
{
	void	   *state;
	float	   *hidden;
	int			rc;

	if (model->ops->classify == NULL)
		return wrong_task(model, "classification", "a sequence-classification head", err);
	if (run_once(model, ids, NULL, n, &state, &hidden, err) < 0)
		return -1;
	rc = model->ops->classify(model->impl, state, hidden, n, out, err);
	done_once(model, state, hidden);
	return rc;
}

static int
by_prob_desc(const void *a, const void *b)
{
	const LmCandidate *x = a;
	const LmCandidate *y = b;

	if (x->p != y->p)
		return x->p > y->p ? -1 : 1;
	return x->id - y->id;
}

int
lm_model_fill_mask(const LmModel *model, const int32_t *ids, int n, int mask_pos, int k,
				   int32_t *top_ids, float *top_probs, int *n_out, LmError *err)
{
	void	   *state;
	float	   *hidden;
	float	   *probs;
	LmCandidate *cand;
	int			vocab = model->info.vocab_size;
	int			rc;

	if (model->info.task != LM_TASK_MASKED_LM)
		return wrong_task(model, "fill-mask", "a masked-language-model head", err);
	if (mask_pos < 0 || mask_pos >= n)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "mask position %d is outside the input of %d tokens",
					   mask_pos, n);
	if (k < 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "k must be at least 1, not %d", k);
	if (k > vocab)
		k = vocab;
	if (run_once(model, ids, NULL, n, &state, &hidden, err) < 0)
		return -1;
	probs = lm_malloc((size_t) vocab * sizeof(float), err);
	cand = probs ? lm_malloc((size_t) vocab * sizeof(LmCandidate), err) : NULL;
	rc = cand ? 0 : -1;
	if (rc == 0)
		rc = model->ops->token_logits(model->impl, state,
									  hidden + (size_t) mask_pos * model->info.hidden_size,
									  1, probs, err);
	if (rc == 0)
	{
		lm_softmax(probs, vocab);
		for (int i = 0; i < vocab; i++)
		{
			cand[i].p = probs[i];
			cand[i].id = i;
		}
		qsort(cand, vocab, sizeof(LmCandidate), by_prob_desc);
		for (int i = 0; i < k; i++)
		{
			top_ids[i] = cand[i].id;
			top_probs[i] = cand[i].p;
		}
		*n_out = k;
	}
	free(cand);
	free(probs);
	done_once(model, state, hidden);
	return rc;
}

int
lm_model_embed(const LmModel *model, const int32_t *ids, const uint8_t *attention_mask,
			   int n, LmPooling pooling, bool normalize, float *out, LmError *err)
{
	void	   *state;
	float	   *hidden;
	int			rc;

	if (run_once(model, ids, attention_mask, n, &state, &hidden, err) < 0)
		return -1;
	rc = lm_pool(hidden, attention_mask, n, model->info.hidden_size, pooling, normalize,
				 out, err);
	done_once(model, state, hidden);
	return rc;
}

/*
 * What a batch does with each input's final hidden states: pool them
 * (embeddings), run the classification head, or score the input.
 */
typedef enum BatchUseKind
{
	BATCH_POOL,
	BATCH_CLASSIFY,
	BATCH_SCORE
} BatchUseKind;

typedef struct BatchUse
{
	BatchUseKind kind;
	LmPooling	pooling;
	bool		normalize;
	float	   *out;			/* pool, classify: [n_seq][width] */
	int			width;
	double	   *sums;			/* score: [n_seq] */
} BatchUse;

static int
use_hidden(const LmModel *model, const BatchUse *use, void *state, const float *hidden,
		   const int32_t *ids, const uint8_t *mask, int n, int i, LmError *err)
{
	switch (use->kind)
	{
		case BATCH_CLASSIFY:
			return model->ops->classify(model->impl, state, hidden, n, use->out + (long) i * use->width, err);
		case BATCH_SCORE:
			return score_hidden(model, state, hidden, ids, n, &use->sums[i], err);
		case BATCH_POOL:
			break;
	}
	return lm_pool(hidden, mask, n, model->info.hidden_size, use->pooling, use->normalize,
				   use->out + (long) i * use->width, err);
}

/*
 * A state and hidden rows for chunk tokens and inputs of up to longest: the
 * model's kept ones (locked; grown when too small), or, while another call
 * uses those, new ones of the caller's.
 */
static int
batch_scratch(const LmModel *model, int chunk, int longest, void **state, float **hidden, LmError *err)
{
	/* a cache inside the model: the model's results do not depend on it */
	LmBatchScratch *b = (LmBatchScratch *) &model->batch;
	const size_t dim = model->info.hidden_size;

	if (pthread_mutex_trylock(&b->lock) != 0)
	{
		*hidden = lm_malloc((size_t) chunk * dim * sizeof(float), err);
		*state = *hidden ? model->ops->state_new(model->impl, longest, chunk, err) : NULL;
		if (*state == NULL)
		{
			free(*hidden);
			return -1;
		}
		return 0;
	}
	if (b->state == NULL || b->chunk < chunk || b->longest < longest)
	{
		/* grow to what both calls needed, so that sizes taking turns do not reallocate */
		if (b->state != NULL)
			model->ops->state_free(b->state);
		free(b->hidden);
		b->state = NULL;
		b->chunk = chunk > b->chunk ? chunk : b->chunk;
		b->longest = longest > b->longest ? longest : b->longest;
		b->hidden = lm_malloc((size_t) b->chunk * dim * sizeof(float), err);
		b->state = b->hidden ? model->ops->state_new(model->impl, b->longest, b->chunk, err) : NULL;
		if (b->state == NULL)
		{
			free(b->hidden);
			b->hidden = NULL;
			b->chunk = b->longest = 0;
			pthread_mutex_unlock(&b->lock);
			return -1;
		}
	}
	*state = b->state;
	*hidden = b->hidden;
	return 0;
}

/*
 * n_seq inputs through the encoder in groups of whole inputs of at most
 * LM_EMBED_BATCH_TOKENS tokens (or one longer input), each input's hidden
 * states then used as use says.
 */
static int
run_batch(const LmModel *model, const int32_t *ids, const uint8_t *attention_masks,
		  const int *lengths, int n_seq, const BatchUse *use, LmError *err)
{
	const int	dim = model->info.hidden_size;
	long		n_total = 0;
	int			longest = 0;
	int			chunk = 0;
	void	   *state = NULL;
	float	   *hidden = NULL;
	int			rc = 0;

	if (n_seq < 1 || ids == NULL || lengths == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "a batch needs at least one input");
	for (int i = 0; i < n_seq; i++)
	{
		if (lm_model_check_ids(model, ids + n_total, lengths[i], 0, err) < 0)
		{
			lm_error_prefix(err, "input %d of the batch", i + 1);
			return -1;
		}
		n_total += lengths[i];
		if (lengths[i] > longest)
			longest = lengths[i];
	}

	/* no batched forward: one input at a time */
	if (model->ops->forward_batch == NULL)
	{
		for (int i = 0, off = 0; i < n_seq; off += lengths[i], i++)
		{
			const uint8_t *mask = attention_masks ? attention_masks + off : NULL;

			if (lm_check_cancel(err) < 0 ||
				run_once(model, ids + off, mask, lengths[i], &state, &hidden, err) < 0)
				return -1;
			rc = use_hidden(model, use, state, hidden, ids + off, mask, lengths[i], i, err);
			done_once(model, state, hidden);
			if (rc < 0)
				return -1;
		}
		return 0;
	}

	chunk = n_total < LM_EMBED_BATCH_TOKENS ? (int) n_total : LM_EMBED_BATCH_TOKENS;
	if (chunk < longest)
		chunk = longest;
	if (batch_scratch(model, chunk, longest, &state, &hidden, err) < 0)
		return -1;
	for (int i0 = 0, off0 = 0; rc == 0 && i0 < n_seq;)
	{
		int			count = 0;
		int			tokens = 0;

		while (i0 + count < n_seq && (count == 0 || tokens + lengths[i0 + count] <= chunk))
			tokens += lengths[i0 + count++];
		rc = model->ops->forward_batch(model->impl, state, ids + off0,
									   attention_masks ? attention_masks + off0 : NULL,
									   lengths + i0, count, hidden, err);
		for (int i = 0, t0 = 0; rc == 0 && i < count; t0 += lengths[i0 + i], i++)
			rc = use_hidden(model, use, state, hidden + (size_t) t0 * dim, ids + off0 + t0,
							attention_masks ? attention_masks + off0 + t0 : NULL,
							lengths[i0 + i], i0 + i, err);
		i0 += count;
		off0 += tokens;
	}
	if (state == model->batch.state)
		pthread_mutex_unlock((pthread_mutex_t *) &model->batch.lock);
	else
	{
		model->ops->state_free(state);
		free(hidden);
	}
	return rc;
}

int
lm_model_embed_batch(const LmModel *model, const int32_t *ids, const uint8_t *attention_masks,
					 const int *lengths, int n_seq, LmPooling pooling, bool normalize,
					 float *out, LmError *err)
{
	BatchUse	use = {BATCH_POOL, pooling, normalize, out, model->info.hidden_size, NULL};

	return run_batch(model, ids, attention_masks, lengths, n_seq, &use, err);
}

int
lm_model_classify_batch(const LmModel *model, const int32_t *ids, const int *lengths,
						int n_seq, float *out, LmError *err)
{
	BatchUse	use = {BATCH_CLASSIFY, LM_POOL_MEAN, false, out, model->info.num_labels, NULL};

	if (model->ops->classify == NULL)
		return wrong_task(model, "classification", "a sequence-classification head", err);
	return run_batch(model, ids, NULL, lengths, n_seq, &use, err);
}

int
lm_model_score_batch(const LmModel *model, const int32_t *ids, const int *lengths, int n_seq,
					 double *sums, LmError *err)
{
	BatchUse	use = {BATCH_SCORE, LM_POOL_MEAN, false, NULL, 0, sums};

	if (!model->info.causal)
		return wrong_task(model, "scoring", "a causal language-model head", err);
	return run_batch(model, ids, NULL, lengths, n_seq, &use, err);
}
