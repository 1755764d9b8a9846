/*
 * chat.h — chat templates as a task: a model's template rendered with a
 * conversation as transformers' apply_chat_template renders it, and the
 * tokens that end an assistant's turn.
 *
 * transformers hands a template messages, tools, documents,
 * add_generation_prompt, the tokenizer's special tokens (bos_token,
 * eos_token, ... those it has) and the caller's keyword arguments; the
 * context here holds the same variables in that order.  Inputs are JSON
 * texts; the interpreter is chat/jinja.h.
 */
#ifndef LM_TASKS_CHAT_H
#define LM_TASKS_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

struct json_t;					/* jansson's */

typedef struct LmChatTemplate LmChatTemplate;

/*
 * A model's template, parsed, with the special tokens' strings (a JSON
 * object text such as {"bos_token": "<s>"}, or NULL).  model names it in
 * errors.  NULL with err when the template does not parse.
 */
LmChatTemplate *lm_chat_template_new(const char *model, const char *source, size_t len,
									 const char *special_tokens_json, LmError *err);
void		lm_chat_template_free(LmChatTemplate *t);

typedef struct LmChatRequest
{
	const char *messages;		/* JSON: an array of objects, each with a string "role" */
	const char *tools;			/* JSON (an array, or null), or NULL */
	const char *template_kwargs;	/* JSON object of more variables, or NULL */
	const char *documents;		/* JSON (an array of objects, or null), or NULL */
	bool		add_generation_prompt;
	bool		continue_final_message; /* the prompt ends inside the last message */
	int64_t		now;			/* what strftime_now reads: seconds since the epoch */
} LmChatRequest;

/*
 * The prompt (malloc'd, NUL-terminated, *len bytes), or NULL with err:
 * LM_ERR_INVALID_ARGUMENT (with a hint) for malformed messages, tools or
 * template_kwargs, the interpreter's error (the template's own
 * raise_exception included) prefixed with the model's name otherwise.
 */
char	   *lm_chat_render(const LmChatTemplate *t, const LmChatRequest *req, size_t *len, LmError *err);

/*
 * continue_final_message, as apply_chat_template does it: cut the rendered
 * prompt (out, *len bytes) right after the text of the last of messages (a
 * JSON array; a list content's last text block), so that a model continues
 * that message instead of closing it.  -1 with err when the last message has
 * no text or the template did not write it.
 */
int			lm_chat_cut_after_final_message(const struct json_t *messages, char *out, size_t *len,
											LmError *err);

/* A special token of the tokenizer: its string and id. */
typedef struct LmChatToken
{
	const char *content;
	int32_t		id;
} LmChatToken;

/*
 * The ids that end an assistant's turn besides config.json's eos (malloc'd,
 * *n of them, at most n_special + 9): generation_config.json's eos_token_id
 * (generation_config a JSON text or NULL), the special token that is the
 * tokenizer's eos_token, and the special token the template closes an
 * assistant message with, found by rendering a two-message conversation
 * (<|im_end|>, <|eot_id|>, <|end|>, </s>, ...); where that rendering fails or
 * shows none, every special token the template's source names but
 * bos_token.
 */
int			lm_chat_end_of_turn(const LmChatTemplate *t, const LmChatToken *special, int n_special,
								const char *generation_config, int32_t **ids, int *n, LmError *err);

#endif
