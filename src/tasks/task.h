/*
 * task.h — the engine's task API: one call per thing a user asks for.
 *
 * A stored model becomes an LmTaskModel: its description (name,
 * architecture, config, generation config, pooling) plus the parts its
 * tasks need, handed over as they are loaded (a tokenizer; a network:
 * transformer or RNN weights, n-gram counts, word vectors, a fastText file
 * or a TF-IDF vocabulary).  Each task takes plain inputs (a text as bytes,
 * or token ids, and a request of numbers and strings) and returns plain
 * results (floats, ids, labels with scores, a text) in malloc'd buffers: what
 * a model server could read from and write to a socket as they are.
 *
 * Loops (generation, beam search, label likelihoods), input checks and the
 * errors a user sees live here; the caller only supplies parts, a call
 * context (LmError's call: cancellation, threads) and its arguments.  A
 * loaded model is read-only: any number of threads may run tasks on it at
 * once, each with its own LmError and call context.
 *
 * Every function returns 0 (or a pointer) on success and -1 (or NULL) with
 * err filled: LM_ERR_WRONG_MODEL when the model does not serve the task,
 * LM_ERR_TOO_LONG for inputs past its context, LM_ERR_INVALID_ARGUMENT for
 * bad arguments.  Results are the caller's to free (lm_*_free below).
 */
#ifndef LM_TASKS_TASK_H
#define LM_TASKS_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classic/fasttext.h"
#include "classic/ngram_model.h"
#include "classic/vectorizer.h"
#include "classic/wordvec.h"
#include "models/decode_step.h"
#include "models/model.h"
#include "models/rnn.h"
#include "tasks/kinds.h"
#include "tokenizer/tokenizer.h"

typedef struct LmTaskModel LmTaskModel;

/* What users ask for; the SQL functions of the same names. */
typedef enum LmTaskId
{
	LM_DO_TOKENIZE,				/* lm_tokenize, lm_tokens */
	LM_DO_DETOKENIZE,			/* lm_detokenize */
	LM_DO_EMBED,				/* lm_embed, lm_similarity */
	LM_DO_CLASSIFY,				/* lm_classify(model, text), lm_classify_scores */
	LM_DO_FILL_MASK,			/* lm_fill_mask */
	LM_DO_SCORE,				/* lm_score, lm_perplexity */
	LM_DO_CLASSIFY_LABELS,		/* lm_classify(model, text, labels, ...) */
	LM_DO_GENERATE,				/* lm_generate */
	LM_DO_TRANSLATE,			/* lm_translate */
	LM_DO_LOGITS,				/* lm_logits(model, ids) */
	LM_DO_SEQ2SEQ_LOGITS,		/* lm_logits(model, source_ids, decoder_ids) */
	LM_DO_NEXT_WORD,			/* lm_next_word (n-grams) */
	LM_DO_WORDS					/* lm_word_vector, lm_most_similar, lm_analogy, lm_bow, lm_tfidf */
} LmTaskId;

/* ---- the model --------------------------------------------------------- */

/* How a stored model describes itself (lm.model's columns). */
typedef struct LmModelDesc
{
	const char *name;			/* for messages */
	const char *architecture;	/* a row of the kind table */
	const char *config;			/* JSON text or NULL */
	const char *generation_config;	/* JSON text or NULL */
	const char *pooling;		/* sentence-transformers pooling mode or NULL */
	bool		normalize;		/* sentence-transformers Normalize module */
} LmModelDesc;

/* A model with no parts yet; the strings are copied.  Unknown architecture: error. */
LmTaskModel *lm_task_model_new(const LmModelDesc *desc, LmError *err);
void		lm_task_model_free(LmTaskModel *m);

const LmKindInfo *lm_task_model_kind(const LmTaskModel *m);
const char *lm_task_model_name(const LmTaskModel *m);

/* The parts a task may need, loaded by the model's owner. */
typedef enum LmPart
{
	LM_PART_NONE = 0,
	LM_PART_TOKENIZER,			/* lm_task_model_set_tokenizer */
	LM_PART_NETWORK				/* lm_task_model_build or one of the set_* below */
} LmPart;

/*
 * The next part the task needs that the model lacks (LM_PART_NONE when it
 * can run), for an input that is a text (text_input) or token ids.  Ask
 * again after supplying it: what a model needs can depend on what it is
 * (an RNN with its own character vocabulary needs no tokenizer).  -1 with
 * LM_ERR_WRONG_MODEL when a model of this kind never serves the task.
 */
int			lm_task_next_part(const LmTaskModel *m, LmTaskId task, bool text_input,
							  LmPart *part, LmError *err);

/* Give the model its tokenizer (owned from now on, even on failure). */
void		lm_task_model_set_tokenizer(LmTaskModel *m, LmTokenizer *tokenizer);

/*
 * Build a transformer or RNN from the config and tensors.  The model takes
 * the tensor set (it keeps pointers into it; freed with the model), even
 * when building fails.
 */
int			lm_task_model_build(LmTaskModel *m, LmTensorSet *tensors, LmError *err);

/*
 * Move a built model's transformer to a device (lm_model_use_device,
 * device/device.h): 1 when it now runs there, 0 when the model has no
 * transformer or its architecture no device path (it stays on the CPU),
 * -1 with err set when moving failed (the model is unchanged).
 */
struct LmDevice;
int			lm_task_model_use_device(LmTaskModel *m, struct LmDevice *dev, LmError *err);

/* The classic models' networks, built by the caller; owned from now on. */
void		lm_task_model_set_ngram(LmTaskModel *m, LmNgramCounts *counts, LmNgramModel model,
									bool lowercase);
void		lm_task_model_set_word_vectors(LmTaskModel *m, LmWordVectors *wv);
void		lm_task_model_set_fasttext(LmTaskModel *m, LmFastText *ft);
void		lm_task_model_set_vectorizer(LmTaskModel *m, LmVectorizer *v);

/* The parts, for functions of one kind (NULL when absent). */
const LmTokenizer *lm_task_model_tokenizer(const LmTaskModel *m);
const LmModel *lm_task_model_transformer(const LmTaskModel *m);
const LmRnnModel *lm_task_model_rnn(const LmTaskModel *m);
const LmNgramModel *lm_task_model_ngram(const LmTaskModel *m, bool *lowercase);
const LmWordVectors *lm_task_model_word_vectors(const LmTaskModel *m);
const LmFastText *lm_task_model_fasttext(const LmTaskModel *m);
const LmVectorizer *lm_task_model_vectorizer(const LmTaskModel *m);

/* ---- inputs and results ------------------------------------------------ */

/* A task's input: a text (UTF-8 bytes, not NUL-terminated) or token ids. */
typedef struct LmInput
{
	const char *text;			/* NULL when ids are given */
	size_t		len;
	const int32_t *ids;
	int			n_ids;
} LmInput;

#define LM_TEXT_INPUT(s, n) ((LmInput) {(s), (n), NULL, 0})
#define LM_IDS_INPUT(p, n) ((LmInput) {NULL, 0, (p), (n)})

typedef struct LmFloats
{
	float	   *v;
	int			n;
} LmFloats;

typedef struct LmIds
{
	int32_t    *ids;
	int			n;
} LmIds;

/* Labels (or tokens) with scores, best first. */
typedef struct LmScored
{
	int			n;
	char	  **labels;			/* NUL-terminated; bytes as the model has them */
	double	   *scores;
} LmScored;

void		lm_floats_free(LmFloats *f);
void		lm_ids_free(LmIds *ids);
void		lm_scored_free(LmScored *s);

/* ---- text ---------------------------------------------------------------- */

/*
 * Token ids of a text.  With check_context, an empty result or one longer
 * than the model's context is an error (what every model task checks).
 */
int			lm_task_tokenize(const LmTaskModel *m, const char *text, size_t len,
							 bool add_special_tokens, bool check_context, LmEncoding *out,
							 LmError *err);

/* The text of token ids (malloc'd, NUL-terminated). */
char	   *lm_task_detokenize(const LmTaskModel *m, const int32_t *ids, int n, bool skip_special,
							   LmError *err);

/* ---- encoders ------------------------------------------------------------ */

/* The model's vector of a text or ids: pooled hidden states, an RNN's encoding, word vectors' mean, TF-IDF. */
int			lm_task_embed(const LmTaskModel *m, const LmInput *input, LmFloats *out,
						  LmError *err);

/*
 * The embeddings of several inputs at once (a transformer encoder runs them
 * through its layers together; other models one by one).  outs[i] is what
 * lm_task_embed gives for inputs[i], or empty with errs[i] filled when that
 * input fails; -1 (with err) only when the batch as a whole fails.
 */
int			lm_task_embed_batch(const LmTaskModel *m, const LmInput *inputs, int n_inputs,
								LmFloats *outs, LmError *errs, LmError *err);

/* Cosine of two inputs' embeddings; *defined is false when a vector is zero. */
int			lm_task_similarity(const LmTaskModel *m, const LmInput *a, const LmInput *b,
							   double *cosine, bool *defined, LmError *err);

/*
 * Class probabilities, best first, at most k of them (k <= 0: all).  A
 * fastText classifier may give none.
 */
int			lm_task_classify(const LmTaskModel *m, const LmInput *input, int k, LmScored *out,
							 LmError *err);

/*
 * The classes of several inputs at once (k per input), as
 * lm_task_embed_batch does for embeddings: a transformer classifier runs
 * them through its layers together; outs[i] or errs[i] per input, -1 only
 * when the batch as a whole fails.
 */
int			lm_task_classify_batch(const LmTaskModel *m, const LmInput *inputs, const int *ks,
								   int n_inputs, LmScored *outs, LmError *errs, LmError *err);

/*
 * lm_task_score of several inputs at once, or lm_task_perplexity where
 * perplexity[i]: numbers[i] (and counts[i], the tokens scored) or errs[i]
 * per input; a causal transformer runs them through its layers together.
 * -1 only when the batch as a whole fails.
 */
int			lm_task_score_batch(const LmTaskModel *m, const LmInput *inputs, const bool *perplexity,
								int n_inputs, double *numbers, int *counts, LmError *errs,
								LmError *err);

/* The k most likely tokens for the text's one mask token, best first. */
int			lm_task_fill_mask(const LmTaskModel *m, const char *text, size_t len, int k,
							  LmScored *out, LmError *err);

/* ---- decoders ------------------------------------------------------------ */

/*
 * Σ log p of the text's tokens after the first (n-grams: of its words and
 * the end of sentence, after the start padding); *n_scored counts them.
 */
int			lm_task_score(const LmTaskModel *m, const LmInput *input, double *sum_logprob,
						  int *n_scored, LmError *err);

/* exp(-mean log p) of the text (n-grams: NLTK's perplexity). */
int			lm_task_perplexity(const LmTaskModel *m, const LmInput *input, double *perplexity,
							   LmError *err);

/* Next-token logits after ids (a causal LM), out[vocab_size]. */
int			lm_task_logits(const LmTaskModel *m, const int32_t *ids, int n, LmFloats *out,
						   LmError *err);

/* An encoder-decoder's next-token logits after dec_ids, src_ids encoded. */
int			lm_task_seq2seq_logits(const LmTaskModel *m, const int32_t *src_ids, int n_src,
								   const int32_t *dec_ids, int n_dec, LmFloats *out,
								   LmError *err);

typedef struct LmExample
{
	const char *text;
	const char *label;
} LmExample;

/* The default prompt of zero-shot classification; {text} is replaced. */
#define LM_DEFAULT_CLASSIFY_TEMPLATE "Text: {text}\nLabel:"

/*
 * Zero- or few-shot classification: the label whose " label" the model finds
 * most likely after the prompt (each example as its filled template and
 * label, then the text's filled template).  template NULL: the default.
 */
int			lm_task_classify_labels(const LmTaskModel *m, const char *text,
									const char *const *labels, int n_labels,
									const char *template, const LmExample *examples,
									int n_examples, int *best, LmError *err);

typedef struct LmGenerateRequest
{
	int			max_tokens;		/* 0 gives an empty text */
	LmSamplingParams sampling;	/* temperature 0 = greedy */
	const char *const *stops;	/* the text ends before the first of them */
	int			n_stops;
	const int32_t *stop_ids;	/* tokens that end it besides the model's eos (a
								 * chat's end of turn); not part of the text */
	int			n_stop_ids;
	bool		chat_prompt;	/* the text prompt is a rendered chat template:
								 * tokenized as apply_chat_template tokenizes
								 * it (its special tokens matched, no BOS
								 * added), and only a causal LM takes it */
} LmGenerateRequest;

/*
 * Continue a prompt: a causal LM samples until eos, a stop string,
 * max_tokens or the end of its context; an encoder-decoder or an RNN
 * generator decodes greedily (no sampling, no stop strings).  *text_out is
 * malloc'd.
 */
int			lm_task_generate(const LmTaskModel *m, const LmInput *prompt,
							 const LmGenerateRequest *req, char **text_out, LmError *err);

/*
 * lm_task_generate a step at a time, for a server that decodes many
 * generations of one model together.  start checks the request and feeds
 * the prompt; when the answer needs no decoding steps (max_tokens 0, or a
 * text-to-text model, which generates at once) it gives *text_out and no
 * generation.  Then pick (1: ended; 0: its token must be fed), feed the
 * picked tokens of any number of generations of the model together, and
 * finish for the text.  req must stay valid until the generation is freed.
 * Each generation gives exactly what lm_task_generate gives.
 */
typedef struct LmTaskGeneration LmTaskGeneration;

int			lm_task_generation_start(const LmTaskModel *m, const LmInput *prompt,
									 const LmGenerateRequest *req, LmTaskGeneration **gen,
									 char **text_out, LmError *err);
int			lm_task_generation_pick(LmTaskGeneration *g, LmError *err);
int			lm_task_generations_feed(LmTaskGeneration *const *gs, int n, LmError *err);
int			lm_task_generation_finish(LmTaskGeneration *g, char **text_out, LmError *err);
void		lm_task_generation_free(LmTaskGeneration *g);

typedef struct LmTranslateRequest
{
	const char *source_lang;	/* a language code token, or NULL */
	const char *target_lang;
	int			beams;
	int			max_tokens;
	bool		has_length_penalty; /* else the generation config's */
	double		length_penalty;
	const char *early_stopping; /* "true", "false", "never", or NULL */
} LmTranslateRequest;

/* Translate (an encoder-decoder) or transduce (an RNN generator) a text. */
int			lm_task_translate(const LmTaskModel *m, const LmInput *input,
							  const LmTranslateRequest *req, char **text_out, LmError *err);

#endif
