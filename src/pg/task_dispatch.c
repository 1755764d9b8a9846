/*
 * task_dispatch.c — where a network task runs: the model server or this backend.
 *
 * With pg_lm.execution = 'server' (the default when pg_lm is preloaded),
 * transformers and RNNs run in the cluster's model server, which maps their
 * weights files once for every session.  This backend then loads neither
 * weights nor tokenizer, and starts no compute threads.  The classic models
 * (n-grams, word vectors, fastText, TF-IDF), lm_import's own check, and
 * models whose weights file cannot be written run here.
 */
#include "pg/pg_lm.h"

#include "utils/builtins.h"

#include "pg/store.h"
#include "tasks/run.h"

LM_PG_FREE_FN(free_result, LmRunResult, lm_run_result_free)

static bool
runs_in_server(LmStoredModel *m)
{
	LmKind		kind = lm_store_kind(m);

	if (lm_guc_execution != LM_EXECUTION_SERVER)
		return false;
	if (kind != LM_KIND_TRANSFORMER && kind != LM_KIND_RNN)
		return false;
	return lm_pg_weights_file(m, false);
}

LmRunResult *
lm_pg_run(FunctionCallInfo fcinfo, const LmRunRequest *req)
{
	LmStoredModel *m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	LmTaskId	task = lm_run_task(req->op);
	bool		text_input = lm_run_text_input(req);
	LmRunResult *res = palloc0(sizeof(LmRunResult));

	/* a model that never serves the task says so before anything is loaded */
	lm_store_check_task(m, task, text_input);
	lm_pg_guard(free_result, res);
	if (runs_in_server(m))
		lm_pg_server_run(m, req, res);
	else
	{
		const LmTaskModel *tm = lm_store_prepare(m, task, text_input);
		LmError		err;

		lm_pg_error_init(&err);
		if (lm_run(tm, req, res, &err) != 0)
			lm_pg_raise(&err);
	}
	return res;
}
