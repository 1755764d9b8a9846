/*
 * chat_info.h — what a model's files say about chatting with it: its chat
 * template (and any named ones besides, such as "tool_use"), and the
 * strings of the special tokens a template sees (bos_token, eos_token, ...),
 * read from Hugging Face files or from a GGUF file's metadata.
 */
#ifndef LM_CHAT_INFO_H
#define LM_CHAT_INFO_H

#include <stddef.h>

#include "formats/gguf.h"
#include "util/lm_error.h"

typedef struct LmChatInfo
{
	char	   *template;		/* the default template, or NULL */
	char	   *templates;		/* the other named ones, a JSON object {"tool_use": "..."}, or NULL */
	char	   *special_tokens; /* a JSON object {"bos_token": "<s>", ...}, or NULL */
} LmChatInfo;

void		lm_chat_info_free(LmChatInfo *info);

/*
 * tokenizer_config.json (its "chat_template": a string, or a list of
 * {"name", "template"} whose "default" is the template; its special tokens,
 * strings or {"content": ...} objects), with special_tokens_map.json's
 * special tokens over them, as transformers reads them.  Either text may be
 * NULL.  Malloc'd strings into *out (zeroed first).
 */
int			lm_hf_chat_info(const char *tokenizer_config, size_t len, const char *special_tokens_map,
							size_t map_len, LmChatInfo *out, LmError *err);

/* The template of a chat_template.json ({"chat_template": "..."}), malloc'd; NULL with err. */
char	   *lm_hf_chat_template_json(const char *json, size_t len, LmError *err);

/*
 * A GGUF file's tokenizer.chat_template (and tokenizer.chat_template.NAME
 * for named ones) and the strings of the tokens tokenizer.ggml.bos_token_id,
 * eos_token_id, unknown_token_id and padding_token_id name.
 */
int			lm_gguf_chat_info(const LmGguf *g, LmChatInfo *out, LmError *err);

/*
 * templates (a JSON object of named templates, or NULL) with template name
 * set to text (len bytes, checked as below, what naming it in errors): the
 * new JSON object, malloc'd; NULL with err.
 */
char	   *lm_chat_templates_set(const char *templates, const char *name, const char *text, size_t len,
								  const char *what, LmError *err);

/* A template must be valid UTF-8 without NUL bytes (a SQL text); what names it in errors. */
int			lm_chat_template_check(const char *template, size_t len, const char *what, LmError *err);

#endif
