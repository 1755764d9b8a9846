/*
 * task_internal.h — the LmTaskModel the task files share, and their helpers.
 */
#ifndef LM_TASKS_TASK_INTERNAL_H
#define LM_TASKS_TASK_INTERNAL_H

#include "tasks/task.h"

struct LmTaskModel
{
	char	   *name;
	const LmKindInfo *kind;
	char	   *config;			/* NUL-terminated JSON, or NULL */
	char	   *generation_config;
	LmPooling	pooling;
	bool		normalize;

	LmTokenizer *tokenizer;		/* the parts, as supplied; NULL until then */
	LmTensorSet tensors;		/* what transformer and rnn point into */
	LmModel    *transformer;
	LmRnnModel *rnn;
	LmNgramCounts *ngram_counts;
	LmNgramModel ngram;			/* valid when ngram_counts is set */
	bool		ngram_lowercase;
	LmWordVectors *word_vectors;
	LmFastText *fasttext;
	LmVectorizer *vectorizer;
};

/* Has the network (whatever the kind runs on) been supplied? */
bool		lm_task_has_network(const LmTaskModel *m);

/* ERROR text for a task a kind does not run: LM_ERR_WRONG_MODEL. */
int			lm_task_wrong_kind(const LmTaskModel *m, LmError *err);

/*
 * The ids of an input, as the model's tasks read it: ids as given, or the
 * text tokenized (its tokenizer, or an RNN's character vocabulary) and
 * checked against the context.  *owned is set when *ids is a malloc'd copy
 * the caller frees.
 */
int			lm_task_input_ids(const LmTaskModel *m, const LmInput *input, bool add_special,
							  const int32_t **ids, int *n, int32_t **owned, LmError *err);

/*
 * The same for a text that is a rendered chat template: tokenized as
 * apply_chat_template tokenizes it, the special tokens it spells matched,
 * nothing added (lm_tokenizer_encode_special_text).
 */
int			lm_task_chat_ids(const LmTaskModel *m, const LmInput *input, const int32_t **ids, int *n,
							 int32_t **owned, LmError *err);

/* Probabilities of logits (softmax in double), best first, at most k (<= 0: all). */
int			lm_task_scored_from_logits(const float *logits, int n, int k,
									   const char *(*label) (const void *model, int i),
									   const void *model, LmScored *out, LmError *err);

/* A malloc'd copy of s, NULL with an error when out of memory. */
char	   *lm_task_strdup(const char *s, LmError *err);

/* A perplexity from a score: exp(-sum / n_scored); an error when nothing was scored. */
int			lm_task_perplexity_from(double sum, int n_scored, double *perplexity, LmError *err);

#endif
