/*
 * functions_chat.c — lm_chat_prompt and lm_chat: a conversation rendered
 * with the model's chat template (chat.c), and the assistant's reply
 * generated from it as lm_generate generates, ending at the end of its turn.
 */
#include "pg/pg_lm.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "pg/chat.h"
#include "pg/store.h"
#include "tasks/run.h"

PG_FUNCTION_INFO_V1(pglm_chat_prompt);
PG_FUNCTION_INFO_V1(pglm_chat);

/* A jsonb argument; SQL NULL and JSON null are both no value (tools => 'null' is no tools). */
static Jsonb *
optional_jsonb(FunctionCallInfo fcinfo, int argno)
{
	Jsonb	   *jb;
	JsonbValue	v;

	if (PG_ARGISNULL(argno))
		return NULL;
	jb = PG_GETARG_JSONB_P(argno);
	if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &v) && v.type == jbvNull)
		return NULL;
	return jb;
}

/*
 * lm_chat_prompt(model, messages, add_generation_prompt, tools,
 * template_kwargs, documents, continue_final_message)
 */
Datum
pglm_chat_prompt(PG_FUNCTION_ARGS)
{
	LmPgChatArgs args;
	LmStoredModel *m;
	char	   *prompt;
	size_t		len;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	args.messages = PG_GETARG_JSONB_P(1);
	args.add_generation_prompt = lm_pg_bool_arg(fcinfo, 2, "add_generation_prompt");
	args.tools = optional_jsonb(fcinfo, 3);
	args.template_kwargs = optional_jsonb(fcinfo, 4);
	args.documents = optional_jsonb(fcinfo, 5);
	args.continue_final_message = lm_pg_bool_arg(fcinfo, 6, "continue_final_message");
	m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	prompt = lm_pg_chat_render(m, &args, &len);
	PG_RETURN_TEXT_P(lm_pg_text(prompt, len));
}

/*
 * lm_chat(model, messages, max_tokens, temperature, top_k, top_p, seed, stop,
 * tools, template_kwargs, documents, continue_final_message): the prompt of
 * lm_chat_prompt (generation prompt added, or the last message left open to
 * be continued) tokenized as the template wrote it, special tokens and all, with no
 * BOS added (the template writes its own, as apply_chat_template's
 * tokenization does), then lm_generate's generation, which also ends at the
 * chat's end-of-turn tokens.
 */
Datum
pglm_chat(PG_FUNCTION_ARGS)
{
	LmRunRequest run = {.op = LM_RUN_GENERATE};
	LmGenerateRequest req = {0};
	LmPgChatArgs args;
	LmStoredModel *m;
	LmRunResult *res;
	char	   *prompt;
	size_t		len;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	req = lm_pg_generate_args(fcinfo, "replies");
	args.messages = PG_GETARG_JSONB_P(1);
	args.tools = optional_jsonb(fcinfo, 8);
	args.template_kwargs = optional_jsonb(fcinfo, 9);
	args.documents = optional_jsonb(fcinfo, 10);
	args.continue_final_message = lm_pg_bool_arg(fcinfo, 11, "continue_final_message");
	args.add_generation_prompt = !args.continue_final_message;

	m = lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	/* a tokenizer renders prompts but does not answer them */
	lm_store_check_task(m, LM_DO_GENERATE, true);
	prompt = lm_pg_chat_render(m, &args, &len);
	req.stop_ids = lm_pg_chat_stop_ids(m, &args, &req.n_stop_ids);
	req.chat_prompt = true;
	run.input = LM_TEXT_INPUT(prompt, len);
	run.generate = req;
	res = lm_pg_run(fcinfo, &run);
	PG_RETURN_TEXT_P(lm_pg_text(res->text, strlen(res->text)));
}
