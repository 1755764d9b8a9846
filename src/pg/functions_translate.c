/*
 * functions_translate.c — lm_translate, and lm_logits(model, source_ids,
 * decoder_ids) of encoder-decoders: arguments in, one engine task, result out.
 */
#include "pg/pg_lm.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pg/store.h"
#include "tasks/run.h"

PG_FUNCTION_INFO_V1(pglm_translate);
PG_FUNCTION_INFO_V1(pglm_seq2seq_logits);

/*
 * lm_translate(model, text, source_lang, target_lang, beams, max_tokens,
 * length_penalty, early_stopping)
 */
Datum
pglm_translate(PG_FUNCTION_ARGS)
{
	LmRunRequest run = {.op = LM_RUN_TRANSLATE};
	LmTranslateRequest req = {0};
	LmRunResult *res;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("beams and max_tokens must not be NULL")));
	req.source_lang = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	req.target_lang = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	req.beams = PG_GETARG_INT32(4);
	req.max_tokens = PG_GETARG_INT32(5);
	req.has_length_penalty = !PG_ARGISNULL(6);
	req.length_penalty = PG_ARGISNULL(6) ? 0 : PG_GETARG_FLOAT8(6);
	req.early_stopping = PG_ARGISNULL(7) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(7));
	lm_pg_check_max_tokens(req.max_tokens, "outputs");
	run.input = lm_pg_input(fcinfo, 1);
	run.translate = req;
	res = lm_pg_run(fcinfo, &run);
	PG_RETURN_TEXT_P(lm_pg_text(res->text, strlen(res->text)));
}

Datum
pglm_seq2seq_logits(PG_FUNCTION_ARGS)
{
	LmRunRequest req = {.op = LM_RUN_SEQ2SEQ_LOGITS};
	int			n_src;
	int			n_dec;
	int32	   *src = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(1), false, &n_src);
	int32	   *dec = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(2), false, &n_dec);
	LmRunResult *res;

	req.input = LM_IDS_INPUT(src, n_src);
	req.input2 = LM_IDS_INPUT(dec, n_dec);
	res = lm_pg_run(fcinfo, &req);
	PG_RETURN_ARRAYTYPE_P(lm_pg_float4_array(res->floats.v, res->floats.n));
}
