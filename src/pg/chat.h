/*
 * chat.h — chat templates in the backend: a model's stored template parsed
 * once per backend, the context a template sees built from SQL arguments
 * as transformers' apply_chat_template builds it, the rendered prompt, and
 * the tokens that end an assistant's turn.
 */
#ifndef PG_LM_CHAT_H
#define PG_LM_CHAT_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "pg/store.h"

typedef struct LmPgChatArgs
{
	Jsonb	   *messages;		/* a JSON array of objects, each with a string "role" */
	bool		add_generation_prompt;
	Jsonb	   *tools;			/* a JSON array, or NULL */
	Jsonb	   *template_kwargs;	/* a JSON object of more variables, or NULL */
	Jsonb	   *documents;		/* a JSON array of objects, or NULL */
	bool		continue_final_message; /* the prompt ends inside the last message */
} LmPgChatArgs;

/*
 * The prompt the model's chat template renders for args (palloc'd,
 * NUL-terminated, *len bytes).  ERROR when the model has no template, the
 * arguments are malformed, or the template fails or raises.
 */
char	   *lm_pg_chat_render(LmStoredModel *m, const LmPgChatArgs *args, size_t *len);

/*
 * The token ids that end an assistant's turn besides the model's config.json
 * eos, for the template args choose: generation_config.json's eos_token_id,
 * the tokenizer's eos_token and the special token the template closes an
 * assistant message with (palloc'd, *n of them; the backend computes them
 * once per model and template).
 */
int32	   *lm_pg_chat_stop_ids(LmStoredModel *m, const LmPgChatArgs *args, int *n);

#endif
