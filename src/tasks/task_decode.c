/*
 * task_decode.c — what causal language models (and n-gram models) answer:
 * generation with stop strings, scores and perplexity, next-token logits,
 * and zero- or few-shot classification by label likelihood.
 */
#include "tasks/task_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classic/words.h"

/* Check for cancellation every so many n-gram words. */
#define NGRAM_CANCEL_INTERVAL 4096

/*
 * The causal LM the task needs, or NULL with an error naming the function
 * (an encoder, say, cannot generate).
 */
static const LmModel *
causal_model(const LmTaskModel *m, const char *function, LmError *err)
{
	const LmModelInfo *info;

	if (m->transformer == NULL)
	{
		lm_task_wrong_kind(m, err);
		return NULL;
	}
	info = lm_model_info(m->transformer);
	if (!info->causal)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "%s needs a generative (causal) language model, and \"%s\" is a %s model",
				function, m->name, lm_task_name(info->task));
		lm_hint(err, "Encoders serve lm_embed, lm_similarity, lm_classify and lm_fill_mask.");
		return NULL;
	}
	return m->transformer;
}

/* ---- generation ------------------------------------------------------------ */

static int
check_generate_request(const LmGenerateRequest *req, LmError *err)
{
	const LmSamplingParams *s = &req->sampling;

	if (req->max_tokens < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "max_tokens must not be negative, got %d", req->max_tokens);
	if (!(s->temperature >= 0) || isinf(s->temperature))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "temperature must be 0 (greedy) or positive, got %g",
					   s->temperature);
	if (s->top_k < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "top_k must be 0 (no limit) or positive, got %d", s->top_k);
	if (!(s->top_p > 0 && s->top_p <= 1))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "top_p must be in (0, 1], got %g", s->top_p);
	for (int i = 0; i < req->n_stops; i++)
		if (req->stops[i] == NULL)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "stop strings must not be NULL");
	if (req->n_stop_ids < 0 || (req->n_stop_ids > 0 && req->stop_ids == NULL))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "stop token ids are missing");
	return 0;
}

/* Where the first of the stop strings occurs in s, or -1. */
static long
find_stop(const char *s, const LmGenerateRequest *req)
{
	long		best = -1;

	for (int i = 0; i < req->n_stops; i++)
	{
		const char *at = req->stops[i][0] ? strstr(s, req->stops[i]) : NULL;

		if (at != NULL && (best < 0 || at - s < best))
			best = at - s;
	}
	return best;
}

typedef struct StopCheck
{
	const LmTaskModel *model;
	const LmGenerateRequest *req;
} StopCheck;

/* after_token of lm_generate: does the text so far hold a stop string? */
static int
stop_reached(void *arg, const int32_t *out, int n, LmError *err)
{
	StopCheck  *check = arg;
	char	   *text = lm_task_detokenize(check->model, out, n, true, err);
	int			found;

	if (text == NULL)
		return -1;
	found = find_stop(text, check->req) >= 0;
	free(text);
	return found;
}

/* Does id end the generation: the model's eos, or one of the request's stop ids? */
static bool
is_end(const LmModelInfo *info, const LmGenerateRequest *req, int32_t id)
{
	for (int i = 0; i < info->n_eos; i++)
		if (info->eos_token_ids[i] == id)
			return true;
	for (int i = 0; i < req->n_stop_ids; i++)
		if (req->stop_ids[i] == id)
			return true;
	return false;
}

struct LmTaskGeneration
{
	const LmTaskModel *m;
	const LmGenerateRequest *req;
	StopCheck	check;
	LmGeneration *g;
};

void
lm_task_generation_free(LmTaskGeneration *tg)
{
	if (tg == NULL)
		return;
	lm_generation_free(tg->g);
	free(tg);
}

/* The prompt's ids: a chat's tokenized as its template wrote them, else with the added tokens (BOS). */
static int
prompt_ids(const LmTaskModel *m, const LmInput *prompt, const LmGenerateRequest *req, const int32_t **ids,
		   int *n, int32_t **owned, LmError *err)
{
	if (req->chat_prompt)
		return lm_task_chat_ids(m, prompt, ids, n, owned, err);
	return lm_task_input_ids(m, prompt, true, ids, n, owned, err);
}

/* A causal LM's generation, its prompt fed. */
static LmTaskGeneration *
start_causal(const LmTaskModel *m, const LmInput *prompt, const LmGenerateRequest *req,
			 LmError *err)
{
	const LmModel *model = causal_model(m, "lm_generate", err);
	LmGenerateParams params = {0};
	LmTaskGeneration *tg;
	const int32_t *ids;
	int32_t    *owned = NULL;
	int			n;

	if (model == NULL || prompt_ids(m, prompt, req, &ids, &n, &owned, err) != 0)
		return NULL;
	if ((tg = lm_calloc(1, sizeof(LmTaskGeneration), err)) == NULL)
	{
		free(owned);
		return NULL;
	}
	tg->m = m;
	tg->req = req;
	tg->check.model = m;
	tg->check.req = req;
	params.max_new_tokens = req->max_tokens;
	params.sampling = req->sampling;
	params.stop_ids = req->stop_ids;
	params.n_stop = req->n_stop_ids;
	if (req->n_stops > 0)
	{
		params.after_token = stop_reached;
		params.after_token_arg = &tg->check;
	}
	tg->g = lm_generation_start(model, ids, n, &params, err);
	free(owned);
	if (tg->g == NULL)
	{
		free(tg);
		return NULL;
	}
	return tg;
}

int
lm_task_generation_pick(LmTaskGeneration *tg, LmError *err)
{
	return lm_generation_pick(tg->g, err);
}

int
lm_task_generations_feed(LmTaskGeneration *const *tgs, int n, LmError *err)
{
	LmGeneration *one[1];
	LmGeneration **gs = n == 1 ? one : lm_malloc(sizeof(LmGeneration *) * n, err);
	int			rc;

	if (gs == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		gs[i] = tgs[i]->g;
	rc = lm_generations_feed(gs, n, err);
	if (gs != one)
		free(gs);
	return rc;
}

int
lm_task_generation_finish(LmTaskGeneration *tg, char **text_out, LmError *err)
{
	const LmModel *model = tg->m->transformer;
	int			n_out;
	const int32_t *out = lm_generation_tokens(tg->g, &n_out);

	/* eos (or a stop id) ends the text and is not part of it */
	if (n_out > 0 && is_end(lm_model_info(model), tg->req, out[n_out - 1]))
		n_out--;
	if ((*text_out = lm_task_detokenize(tg->m, out, n_out, true, err)) == NULL)
		return -1;
	if (tg->req->n_stops > 0)
	{
		long		at = find_stop(*text_out, tg->req);

		if (at >= 0)
			(*text_out)[at] = '\0';
	}
	return 0;
}

/* Text-to-text models generate greedily, at once: lm_translate offers beam search. */
static int
generate_text_to_text(const LmTaskModel *m, const LmInput *prompt, const LmGenerateRequest *req,
					  char **text_out, LmError *err)
{
	LmTranslateRequest tr = {.beams = 1, .max_tokens = req->max_tokens};

	if (req->chat_prompt || req->n_stop_ids > 0)
	{
		lm_fail(err, LM_ERR_WRONG_MODEL, "chat needs a generative (causal) language model, and \"%s\" is %s",
				m->name, m->kind->kind == LM_KIND_RNN ? "an RNN generator" : "an encoder-decoder model");
		lm_hint(err, "Text-to-text models (encoder-decoders, RNN generators) answer lm_translate and lm_generate.");
		return -1;
	}
	if (req->sampling.temperature != 0 || req->n_stops > 0)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "sampling and stop strings are not supported for %s",
					   m->kind->kind == LM_KIND_RNN ? "RNN generators" : "encoder-decoder models");
	if (req->max_tokens == 0)
		return (*text_out = lm_task_strdup("", err)) == NULL ? -1 : 0;
	return lm_task_translate(m, prompt, &tr, text_out, err);
}

static bool
text_to_text(const LmTaskModel *m)
{
	return m->kind->kind == LM_KIND_RNN ||
		(m->transformer != NULL && lm_model_info(m->transformer)->encoder_decoder);
}

int
lm_task_generation_start(const LmTaskModel *m, const LmInput *prompt, const LmGenerateRequest *req,
						 LmTaskGeneration **gen, char **text_out, LmError *err)
{
	*gen = NULL;
	*text_out = NULL;
	if (check_generate_request(req, err) != 0)
		return -1;
	if (text_to_text(m))
		return generate_text_to_text(m, prompt, req, text_out, err);
	if (req->max_tokens == 0)
	{
		/* the prompt is still checked */
		const int32_t *ids;
		int32_t    *owned = NULL;
		int			n;

		if (causal_model(m, "lm_generate", err) == NULL ||
			prompt_ids(m, prompt, req, &ids, &n, &owned, err) != 0)
			return -1;
		free(owned);
		return (*text_out = lm_task_strdup("", err)) == NULL ? -1 : 0;
	}
	return (*gen = start_causal(m, prompt, req, err)) == NULL ? -1 : 0;
}

int
lm_task_generate(const LmTaskModel *m, const LmInput *prompt, const LmGenerateRequest *req,
				 char **text_out, LmError *err)
{
	LmTaskGeneration *tg;
	int			rc;

	if (lm_task_generation_start(m, prompt, req, &tg, text_out, err) != 0 || tg == NULL)
		return *text_out != NULL ? 0 : -1;
	while ((rc = lm_task_generation_pick(tg, err)) == 0)
		if (lm_task_generations_feed(&tg, 1, err) != 0)
		{
			rc = -1;
			break;
		}
	if (rc > 0)
		rc = lm_task_generation_finish(tg, text_out, err);
	lm_task_generation_free(tg);
	return rc;
}

/* ---- scores ---------------------------------------------------------------- */

/* The words of a text as an n-gram model reads them, with <s> padding and </s>. */
static int
ngram_padded_words(const LmTaskModel *m, const LmInput *input, LmWords *words,
				   const char ***padded, size_t *len, LmError *err)
{
	int			order = m->ngram_counts->order;

	*padded = NULL;
	if (lm_words_tokenize(input->text, input->len, m->ngram_lowercase, words, err) != 0)
		return -1;
	if ((*padded = lm_malloc(sizeof(char *) * (words->n_words + 2 * order), err)) == NULL)
		return -1;
	*len = 0;
	for (int i = 0; i < order - 1; i++)
		(*padded)[(*len)++] = "<s>";
	for (size_t i = 0; i < words->n_words; i++)
		(*padded)[(*len)++] = words->words[i];
	(*padded)[(*len)++] = "</s>";
	return 0;
}

static int
score_ngram(const LmTaskModel *m, const LmInput *input, double *sum, int *n_scored, LmError *err)
{
	int			order = m->ngram_counts->order;
	LmWords		words = {0};
	const char **padded;
	size_t		len;
	int			rc = -1;

	*sum = 0;
	*n_scored = 0;
	if (ngram_padded_words(m, input, &words, &padded, &len, err) != 0)
		goto finish;
	for (size_t i = order - 1; i < len; i++)
	{
		double		log2p;

		if (i % NGRAM_CANCEL_INTERVAL == 0 && lm_check_cancel(err) != 0)
			goto finish;
		if (lm_ngram_logscore(&m->ngram, padded[i], padded + i - (order - 1), order - 1, &log2p, err) != 0)
			goto finish;
		*sum += log2p * M_LN2;
		(*n_scored)++;
	}
	rc = 0;
finish:
	free(padded);
	lm_words_free(&words);
	return rc;
}

static int
score_causal(const LmTaskModel *m, const LmInput *input, const char *function, double *sum,
			 int *n_scored, LmError *err)
{
	const LmModel *model = causal_model(m, function, err);
	const int32_t *ids;
	int32_t    *owned;
	int			n;
	int			rc;

	if (model == NULL || lm_task_input_ids(m, input, true, &ids, &n, &owned, err) != 0)
		return -1;
	rc = lm_model_score(model, ids, n, sum, n_scored, err);
	free(owned);
	return rc;
}

int
lm_task_score(const LmTaskModel *m, const LmInput *input, double *sum_logprob, int *n_scored,
			  LmError *err)
{
	if (m->kind->kind == LM_KIND_NGRAM)
		return score_ngram(m, input, sum_logprob, n_scored, err);
	return score_causal(m, input, "lm_score", sum_logprob, n_scored, err);
}

int
lm_task_perplexity(const LmTaskModel *m, const LmInput *input, double *perplexity, LmError *err)
{
	double		sum;
	int			n_scored;

	if (m->kind->kind == LM_KIND_NGRAM)
	{
		LmWords		words = {0};
		int			rc;

		if (lm_words_tokenize(input->text, input->len, m->ngram_lowercase, &words, err) != 0)
			return -1;
		rc = lm_ngram_perplexity(&m->ngram, (const char *const *) words.words, words.n_words,
								 perplexity, err);
		lm_words_free(&words);
		return rc;
	}
	if (score_causal(m, input, "lm_perplexity", &sum, &n_scored, err) != 0)
		return -1;
	return lm_task_perplexity_from(sum, n_scored, perplexity, err);
}

int
lm_task_perplexity_from(double sum, int n_scored, double *perplexity, LmError *err)
{
	if (n_scored == 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "text has a single token: perplexity needs at least two");
		lm_hint(err, "The first token is given, not predicted.");
		return -1;
	}
	*perplexity = exp(-sum / n_scored);
	return 0;
}

int
lm_task_logits(const LmTaskModel *m, const int32_t *ids, int n, LmFloats *out, LmError *err)
{
	const LmModel *model = causal_model(m, "lm_logits", err);
	const LmModelInfo *info;

	memset(out, 0, sizeof(*out));
	if (model == NULL)
		return -1;
	info = lm_model_info(model);
	if (n > info->max_positions)
		return lm_fail(err, LM_ERR_TOO_LONG, "%d token ids are more than the %d positions of model \"%s\"",
					   n, info->max_positions, m->name);
	out->n = info->vocab_size;
	if ((out->v = lm_malloc(sizeof(float) * out->n, err)) == NULL ||
		lm_model_logits(model, ids, n, false, out->v, err) != 0)
	{
		lm_floats_free(out);
		return -1;
	}
	return 0;
}

/* ---- classification by label likelihood ----------------------------------- */

/* A growing NUL-terminated string; NULL data after a failed allocation. */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static int
buf_append(Buf *b, const char *s, size_t n, LmError *err)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = (b->len + n + 1) * 2;
		char	   *p = lm_realloc(b->data, cap, err);

		if (p == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Append template with every {text} replaced by text. */
static int
append_filled(Buf *b, const char *template, const char *text, LmError *err)
{
	const char *p = template;
	const char *at;

	while ((at = strstr(p, "{text}")) != NULL)
	{
		if (buf_append(b, p, at - p, err) != 0 || buf_append(b, text, strlen(text), err) != 0)
			return -1;
		p = at + strlen("{text}");
	}
	return buf_append(b, p, strlen(p), err);
}

/* Σ log p of a text's tokens after the first. */
static int
text_score(const LmTaskModel *m, const char *text, size_t len, double *sum, LmError *err)
{
	LmInput		input = LM_TEXT_INPUT(text, len);
	int			n_scored;

	return score_causal(m, &input, "lm_classify(model, text, labels)", sum, &n_scored, err);
}

int
lm_task_classify_labels(const LmTaskModel *m, const char *text, const char *const *labels,
						int n_labels, const char *template, const LmExample *examples,
						int n_examples, int *best, LmError *err)
{
	Buf			prompt = {0};
	Buf			full = {0};
	double		without = 0;
	double		best_score = -INFINITY;
	int			rc = -1;

	*best = -1;
	if (causal_model(m, "lm_classify(model, text, labels)", err) == NULL)
		return -1;
	if (template == NULL)
		template = LM_DEFAULT_CLASSIFY_TEMPLATE;
	if (n_labels == 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "labels must not be empty");
	if (strstr(template, "{text}") == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "template must contain {text}");
		lm_hint(err, "For example: 'Movie review: {text}\\nSentiment:'");
		return -1;
	}
	for (int i = 0; i < n_examples; i++)
		if (append_filled(&prompt, template, examples[i].text, err) != 0 ||
			buf_append(&prompt, " ", 1, err) != 0 ||
			buf_append(&prompt, examples[i].label, strlen(examples[i].label), err) != 0 ||
			buf_append(&prompt, "\n\n", 2, err) != 0)
			goto finish;
	if (append_filled(&prompt, template, text, err) != 0)
		goto finish;

	/*
	 * log p(" label" | prompt) = score(prompt + " label") - score(prompt); the
	 * prompt's score is the same for every label, so it is taken once, after
	 * the first label's (whose errors come first, as a longer text's).
	 */
	for (int i = 0; i < n_labels; i++)
	{
		double		with;

		if (lm_check_cancel(err) != 0)
			goto finish;
		full.len = 0;
		if (buf_append(&full, prompt.data, prompt.len, err) != 0 ||
			buf_append(&full, " ", 1, err) != 0 ||
			buf_append(&full, labels[i], strlen(labels[i]), err) != 0 ||
			text_score(m, full.data, full.len, &with, err) != 0 ||
			(i == 0 && text_score(m, prompt.data, prompt.len, &without, err) != 0))
			goto finish;
		if (with - without > best_score)
		{
			best_score = with - without;
			*best = i;
		}
	}
	if (*best < 0)
		*best = 0;				/* every label impossible: the first */
	rc = 0;
finish:
	free(prompt.data);
	free(full.data);
	return rc;
}
