/*
 * run.c — one entry point for the network tasks (see run.h).
 */
#include "tasks/run.h"

#include "nn/parallel.h"

#include <stdlib.h>
#include <string.h>

static const struct
{
	const char *name;
	LmTaskId	task;
}			ops[LM_RUN_N_OPS] = {
	[LM_RUN_EMBED] = {"embed", LM_DO_EMBED},
	[LM_RUN_SIMILARITY] = {"similarity", LM_DO_EMBED},
	[LM_RUN_CLASSIFY] = {"classify", LM_DO_CLASSIFY},
	[LM_RUN_FILL_MASK] = {"fill_mask", LM_DO_FILL_MASK},
	[LM_RUN_SCORE] = {"score", LM_DO_SCORE},
	[LM_RUN_PERPLEXITY] = {"perplexity", LM_DO_SCORE},
	[LM_RUN_LOGITS] = {"logits", LM_DO_LOGITS},
	[LM_RUN_SEQ2SEQ_LOGITS] = {"seq2seq_logits", LM_DO_SEQ2SEQ_LOGITS},
	[LM_RUN_CLASSIFY_LABELS] = {"classify_labels", LM_DO_CLASSIFY_LABELS},
	[LM_RUN_GENERATE] = {"generate", LM_DO_GENERATE},
	[LM_RUN_TRANSLATE] = {"translate", LM_DO_TRANSLATE},
};

LmTaskId
lm_run_task(LmRunOp op)
{
	return ops[op].task;
}

const char *
lm_run_op_name(LmRunOp op)
{
	return (unsigned) op < LM_RUN_N_OPS ? ops[op].name : "?";
}

bool
lm_run_text_input(const LmRunRequest *req)
{
	return req->input.ids == NULL;
}

/* The operation itself, on the calling thread's compute threads. */
static int
run_op(const LmTaskModel *m, const LmRunRequest *req, LmRunResult *out, LmError *err)
{
	const LmInput *in = &req->input;

	switch (req->op)
	{
		case LM_RUN_EMBED:
			return lm_task_embed(m, in, &out->floats, err);
		case LM_RUN_SIMILARITY:
			return lm_task_similarity(m, in, &req->input2, &out->number, &out->defined, err);
		case LM_RUN_CLASSIFY:
			return lm_task_classify(m, in, req->k, &out->scored, err);
		case LM_RUN_FILL_MASK:
			return lm_task_fill_mask(m, in->text, in->len, req->k, &out->scored, err);
		case LM_RUN_SCORE:
			return lm_task_score(m, in, &out->number, &out->count, err);
		case LM_RUN_PERPLEXITY:
			return lm_task_perplexity(m, in, &out->number, err);
		case LM_RUN_LOGITS:
			return lm_task_logits(m, in->ids, in->n_ids, &out->floats, err);
		case LM_RUN_SEQ2SEQ_LOGITS:
			return lm_task_seq2seq_logits(m, in->ids, in->n_ids, req->input2.ids,
										  req->input2.n_ids, &out->floats, err);
		case LM_RUN_CLASSIFY_LABELS:
			return lm_task_classify_labels(m, in->text, req->labels, req->n_labels, req->template,
										   req->examples, req->n_examples, &out->count, err);
		case LM_RUN_GENERATE:
			return lm_task_generate(m, in, &req->generate, &out->text, err);
		case LM_RUN_TRANSLATE:
			return lm_task_translate(m, in, &req->translate, &out->text, err);
		case LM_RUN_N_OPS:
			break;
	}
	return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "unknown operation %d", (int) req->op);
}

int
lm_run(const LmTaskModel *m, const LmRunRequest *req, LmRunResult *out, LmError *err)
{
	int			old = lm_parallel_set_threads(lm_call_threads(err));
	int			rc;

	memset(out, 0, sizeof(*out));
	rc = run_op(m, req, out, err);
	lm_parallel_set_threads(old);
	return rc;
}

void
lm_run_result_free(LmRunResult *r)
{
	lm_floats_free(&r->floats);
	lm_scored_free(&r->scored);
	free(r->text);
	memset(r, 0, sizeof(*r));
}
