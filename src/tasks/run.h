/*
 * run.h — the network tasks as one request and one result.
 *
 * The SQL functions that run a model's network (a transformer or an RNN)
 * describe what they want as an LmRunRequest and read an LmRunResult.  The
 * same two structs go to lm_run in the backend, or over the socket to the
 * model server (src/wire), which calls lm_run there: one code path whatever
 * runs the model.
 */
#ifndef LM_TASKS_RUN_H
#define LM_TASKS_RUN_H

#include "tasks/task.h"

typedef enum LmRunOp
{
	LM_RUN_EMBED,				/* input */
	LM_RUN_SIMILARITY,			/* input, input2 */
	LM_RUN_CLASSIFY,			/* input, k */
	LM_RUN_FILL_MASK,			/* input (text), k */
	LM_RUN_SCORE,				/* input */
	LM_RUN_PERPLEXITY,			/* input */
	LM_RUN_LOGITS,				/* input (ids) */
	LM_RUN_SEQ2SEQ_LOGITS,		/* input (source ids), input2 (decoder ids) */
	LM_RUN_CLASSIFY_LABELS,		/* input (text), labels, template, examples */
	LM_RUN_GENERATE,			/* input, generate */
	LM_RUN_TRANSLATE,			/* input, translate */
	LM_RUN_N_OPS
} LmRunOp;

typedef struct LmRunRequest
{
	LmRunOp		op;
	LmInput		input;
	LmInput		input2;
	int			k;
	const char *const *labels;
	int			n_labels;
	const char *template;		/* NULL: the default */
	const LmExample *examples;
	int			n_examples;
	LmGenerateRequest generate;
	LmTranslateRequest translate;
} LmRunRequest;

typedef struct LmRunResult
{
	LmFloats	floats;			/* embed, logits */
	LmScored	scored;			/* classify, fill_mask */
	double		number;			/* similarity, score (Σ log p), perplexity */
	int			count;			/* score: tokens scored; classify_labels: the best label */
	bool		defined;		/* similarity: false when a vector is zero */
	char	   *text;			/* generate, translate */
} LmRunResult;

/* The task whose parts the operation needs (lm_task_next_part). */
LmTaskId	lm_run_task(LmRunOp op);

/* Is the request's main input a text (else token ids)? */
bool		lm_run_text_input(const LmRunRequest *req);

/* Run the request on a prepared model; result zeroed first, caller frees it. */
int			lm_run(const LmTaskModel *m, const LmRunRequest *req, LmRunResult *out, LmError *err);

void		lm_run_result_free(LmRunResult *r);

const char *lm_run_op_name(LmRunOp op);

#endif
