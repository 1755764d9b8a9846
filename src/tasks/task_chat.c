/*
 * task_chat.c — chat templates rendered as transformers renders them, and
 * the end of an assistant's turn (see chat.h).
 */
#include "tasks/chat.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

/* The conversation rendered to find how a template ends an assistant's turn. */
#define PROBE_USER "pg_lm probe: a question"
#define PROBE_REPLY "pg_lm probe: the reply"

/* generation_config.json's eos ids kept at most (transformers' lists are short). */
#define MAX_GENERATION_EOS 8

#define MESSAGES_HINT "Messages are a JSON array such as [{\"role\": \"user\", \"content\": \"Hello\"}]."
#define ROLE_HINT "Each message names its role: \"system\", \"user\", \"assistant\" or \"tool\"."

/*
 * An empty object.  Not json_object(): in a backend that name resolves to
 * PostgreSQL's SQL function json_object, which the postgres binary exports.
 */
static json_t *
new_object(void)
{
	return json_pack("{}");
}

struct LmChatTemplate
{
	char	   *model;
	char	   *source;
	LmJinjaTemplate *tmpl;
	json_t	   *special_tokens; /* an object, maybe empty */
};

void
lm_chat_template_free(LmChatTemplate *t)
{
	if (t == NULL)
		return;
	lm_jinja_free(t->tmpl);
	json_decref(t->special_tokens);
	free(t->source);
	free(t->model);
	free(t);
}

/* Prefix an interpreter's error with the model ("model \"m\": chat template line 3: ..."). */
static void
name_model(LmError *err, const char *model)
{
	if (strncmp(err->message, "chat template", 13) == 0)
		lm_error_prefix(err, "model \"%s\"", model);
	else
		lm_error_prefix(err, "chat template of model \"%s\"", model);
}

LmChatTemplate *
lm_chat_template_new(const char *model, const char *source, size_t len, const char *special_tokens_json,
					 LmError *err)
{
	LmChatTemplate *t = lm_calloc(1, sizeof(LmChatTemplate), err);
	json_error_t jerr;

	if (t == NULL)
		return NULL;
	if ((t->model = lm_strndup(model, strlen(model), err)) == NULL ||
		(t->source = lm_strndup(source, len, err)) == NULL)
		goto fail;
	t->special_tokens = special_tokens_json ? json_loads(special_tokens_json, 0, &jerr) : new_object();
	if (t->special_tokens == NULL || !json_is_object(t->special_tokens))
	{
		lm_fail(err, LM_ERR_CORRUPT, "the special tokens of model \"%s\" are not a JSON object", model);
		goto fail;
	}
	if ((t->tmpl = lm_jinja_parse(source, len, err)) == NULL)
	{
		name_model(err, model);
		if (err->hint[0] == '\0' && err->code != LM_ERR_CANCELLED && err->code != LM_ERR_NO_MEMORY)
			lm_hint(err, "Import the model again with lm_import(..., chat_template => '...') to give it one that works.");
		goto fail;
	}
	return t;
fail:
	lm_chat_template_free(t);
	return NULL;
}

/* ---- the context ----------------------------------------------------------- */

/* A JSON argument (a new reference), or NULL with err naming it. */
static json_t *
parse_arg(const char *text, const char *what, LmError *err)
{
	json_error_t jerr;
	json_t	   *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (v == NULL)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "%s cannot be read: %s", what, jerr.text);
		lm_hint(err, "Numbers must fit in 64-bit integers or doubles.");
	}
	return v;
}

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v))
	{
		case JSON_OBJECT:
			return "an object";
		case JSON_ARRAY:
			return "an array";
		case JSON_STRING:
			return "a string";
		case JSON_NULL:
			return "null";
		case JSON_TRUE:
		case JSON_FALSE:
			return "a boolean";
		default:
			return "a number";
	}
}

/* messages: an array of objects, each with a string "role". */
static int
check_messages(const json_t *messages, LmError *err)
{
	size_t		i;
	json_t	   *msg;

	if (!json_is_array(messages))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "messages must be a JSON array, not %s", json_kind(messages));
		lm_hint(err, MESSAGES_HINT);
		return -1;
	}
	json_array_foreach(messages, i, msg)
	{
		json_t	   *role = json_object_get(msg, "role");

		if (!json_is_object(msg))
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "message %zu is %s, not a JSON object", i + 1, json_kind(msg));
			lm_hint(err, MESSAGES_HINT);
			return -1;
		}
		if (role == NULL)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "message %zu has no \"role\"", i + 1);
			lm_hint(err, ROLE_HINT);
			return -1;
		}
		if (!json_is_string(role))
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the \"role\" of message %zu is %s, not a string", i + 1,
					json_kind(role));
			lm_hint(err, ROLE_HINT);
			return -1;
		}
	}
	return 0;
}

/* Is v an array whose elements are all objects? */
static bool
all_objects(const json_t *v)
{
	size_t		i;
	json_t	   *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, e)
	{
		if (!json_is_object(e))
			return false;
	}
	return true;
}

/* Set key to v (a new reference, stolen); -1 when out of memory. */
static int
set_new(json_t *ctx, const char *key, json_t *v, LmError *err)
{
	if (v == NULL || json_object_set_new(ctx, key, v) != 0)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
	return 0;
}

/*
 * The variables a template sees, in transformers' order: messages, tools,
 * documents, add_generation_prompt, the special tokens, then
 * template_kwargs over them.  messages is borrowed.
 */
static json_t *
build_context(const LmChatTemplate *t, json_t *messages, const LmChatRequest *req, LmError *err)
{
	json_t	   *ctx = new_object();
	json_t	   *tools = NULL;
	json_t	   *documents = NULL;
	json_t	   *kwargs = NULL;

	if (ctx == NULL)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	if (req->tools != NULL && (tools = parse_arg(req->tools, "tools", err)) == NULL)
		goto fail;
	if (tools != NULL && !json_is_array(tools) && !json_is_null(tools))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "tools must be a JSON array, not %s", json_kind(tools));
		lm_hint(err, "Tools are described as transformers takes them: [{\"type\": \"function\", \"function\": "
				"{\"name\": ..., \"description\": ..., \"parameters\": {...}}}].");
		goto fail;
	}
	if (req->template_kwargs != NULL && (kwargs = parse_arg(req->template_kwargs, "template_kwargs", err)) == NULL)
		goto fail;
	if (kwargs != NULL && !json_is_object(kwargs))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "template_kwargs must be a JSON object, not %s", json_kind(kwargs));
		lm_hint(err, "Its keys become variables of the template, e.g. {\"enable_thinking\": false}.");
		goto fail;
	}
	if (req->documents != NULL && (documents = parse_arg(req->documents, "documents", err)) == NULL)
		goto fail;
	if (documents != NULL && !json_is_null(documents) && !all_objects(documents))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "documents must be a JSON array of objects");
		lm_hint(err, "Documents are given as transformers takes them: [{\"title\": ..., \"text\": ...}, ...].");
		goto fail;
	}
	if (set_new(ctx, "messages", json_incref(messages), err) != 0 ||
		set_new(ctx, "tools", tools ? json_incref(tools) : json_null(), err) != 0 ||
		set_new(ctx, "documents", documents ? json_incref(documents) : json_null(), err) != 0 ||
		set_new(ctx, "add_generation_prompt", json_boolean(req->add_generation_prompt), err) != 0)
		goto fail;
	if (json_object_update(ctx, t->special_tokens) != 0 ||
		(kwargs != NULL && json_object_update(ctx, kwargs) != 0))
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
		goto fail;
	}
	json_decref(tools);
	json_decref(documents);
	json_decref(kwargs);
	return ctx;
fail:
	json_decref(ctx);
	json_decref(tools);
	json_decref(documents);
	json_decref(kwargs);
	return NULL;
}

/* Render with messages (borrowed); a failed render's error names the model. */
static char *
render_messages(const LmChatTemplate *t, json_t *messages, const LmChatRequest *req, size_t *len,
				LmError *err)
{
	json_t	   *ctx = build_context(t, messages, req, err);
	char	   *out;

	if (ctx == NULL)
		return NULL;
	out = lm_jinja_render(t->tmpl, ctx, req->now, NULL, len, err);
	json_decref(ctx);
	if (out == NULL)
	{
		name_model(err, t->model);
		/* the template's raise_exception, or a runtime error on these messages */
		if (err->hint[0] == '\0' && err->code == LM_ERR_INVALID_ARGUMENT)
			lm_hint(err, "The template refused these messages.");
	}
	return out;
}

/* The last start of needle (n bytes) in hay (len bytes); len for an empty needle, -1 when none. */
static long
last_index(const char *hay, size_t len, const char *needle, size_t n)
{
	if (n == 0)
		return (long) len;
	for (size_t i = len >= n ? len - n + 1 : 0; i-- > 0;)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return (long) i;
	return -1;
}

int
lm_chat_cut_after_final_message(const json_t *messages, char *out, size_t *len, LmError *err)
{
	size_t		n = json_array_size(messages);
	json_t	   *content = n > 0 ? json_object_get(json_array_get(messages, n - 1), "content") : NULL;
	const char *text;
	size_t		text_len,
				start,
				end;
	long		at;

	/* a list of blocks: its last text block */
	for (size_t i = json_array_size(content); json_is_array(content) && i-- > 0;)
	{
		json_t	   *block = json_array_get(content, i);

		if (json_is_object(block) && json_object_get(block, "text") != NULL)
		{
			content = json_object_get(block, "text");
			break;
		}
	}
	if (!json_is_string(content))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "continue_final_message is set but the final message has no text to continue");
		lm_hint(err, "The last message's \"content\" must be a string, or a list with a {\"type\": \"text\", \"text\": ...} block.");
		return -1;
	}
	text = json_string_value(content);
	text_len = json_string_length(content);
	/* where the template wrote the message, stripped as Python strips it */
	lm_jinja_py_strip(text, text_len, true, true, &start, &end);
	if ((at = last_index(out, *len, text + start, end - start)) < 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT,
				"continue_final_message is set but the final message does not appear in the prompt the chat template wrote");
		lm_hint(err, "The template changes or drops the last message's text, so the prompt cannot end inside it.");
		return -1;
	}
	/* the message's own trailing spaces when the template kept them, else up to its last non-space */
	if (start == 0 && (size_t) at + text_len <= *len && memcmp(out + at, text, text_len) == 0)
		*len = (size_t) at + text_len;
	else
		*len = (size_t) at + (end - start);
	out[*len] = '\0';
	return 0;
}

char *
lm_chat_render(const LmChatTemplate *t, const LmChatRequest *req, size_t *len, LmError *err)
{
	json_t	   *messages = parse_arg(req->messages, "messages", err);
	char	   *out = NULL;

	if (messages == NULL)
		return NULL;
	if (req->continue_final_message && req->add_generation_prompt)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "continue_final_message and add_generation_prompt cannot both be true");
		lm_hint(err, "continue_final_message lets the model continue the last message; add_generation_prompt starts a new assistant message.");
	}
	else if (check_messages(messages, err) == 0 &&
			 (out = render_messages(t, messages, req, len, err)) != NULL &&
			 req->continue_final_message && lm_chat_cut_after_final_message(messages, out, len, err) != 0)
	{
		free(out);
		out = NULL;
	}
	json_decref(messages);
	return out;
}

/* ---- the end of an assistant's turn ------------------------------------------- */

static void
add_id(int32_t *ids, int *n, int32_t id)
{
	for (int i = 0; i < *n; i++)
		if (ids[i] == id)
			return;
	ids[(*n)++] = id;
}

/* generation_config.json's eos_token_id: an integer or a list of them. */
static void
add_generation_eos(const char *generation_config, int32_t *ids, int *n)
{
	json_t	   *gc = generation_config ? json_loads(generation_config, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
	json_t	   *eos = json_object_get(gc, "eos_token_id");
	size_t		i;
	json_t	   *e;
	int			added = 0;

	if (json_is_number(eos))
		add_id(ids, n, (int32_t) json_number_value(eos));
	json_array_foreach(eos, i, e)
	{
		if (json_is_number(e) && added++ < MAX_GENERATION_EOS)
			add_id(ids, n, (int32_t) json_number_value(e));
	}
	json_decref(gc);
}

/* The longest special token that text starts with, or -1. */
static int
special_at(const LmChatToken *special, int n_special, const char *text)
{
	int			best = -1;
	size_t		best_len = 0;

	for (int i = 0; i < n_special; i++)
	{
		size_t		len = strlen(special[i].content);

		if (len > best_len && strncmp(text, special[i].content, len) == 0)
		{
			best = i;
			best_len = len;
		}
	}
	return best;
}

/*
 * The special token right after the assistant's reply in a rendered
 * two-message conversation, -1 when the template raises for it or writes
 * none there; -2 (err set) when the render was cancelled or out of memory.
 */
static int
probe_end_of_turn(const LmChatTemplate *t, const LmChatToken *special, int n_special, LmError *err)
{
	json_t	   *messages = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "user", "content", PROBE_USER,
									 "role", "assistant", "content", PROBE_REPLY);
	LmChatRequest req = {0};
	LmError		probe_err;
	char	   *out;
	const char *at;
	size_t		len;
	int			found = -1;

	if (messages == NULL)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
		return -2;
	}
	lm_error_init(&probe_err, err->call);
	out = render_messages(t, messages, &req, &len, &probe_err);
	json_decref(messages);
	if (out == NULL)
	{
		if (probe_err.code != LM_ERR_CANCELLED && probe_err.code != LM_ERR_NO_MEMORY)
			return -1;
		*err = probe_err;
		return -2;
	}
	if ((at = strstr(out, PROBE_REPLY)) != NULL)
	{
		at += strlen(PROBE_REPLY);
		at += strspn(at, " \t\r\n");
		found = special_at(special, n_special, at);
	}
	free(out);
	return found;
}

int
lm_chat_end_of_turn(const LmChatTemplate *t, const LmChatToken *special, int n_special,
					const char *generation_config, int32_t **ids_out, int *n, LmError *err)
{
	json_t	   *eos = json_object_get(t->special_tokens, "eos_token");
	json_t	   *bos = json_object_get(t->special_tokens, "bos_token");
	int32_t    *ids = lm_malloc(sizeof(int32_t) * (n_special + MAX_GENERATION_EOS + 1), err);
	int			end;

	*ids_out = NULL;
	*n = 0;
	if (ids == NULL)
		return -1;
	add_generation_eos(generation_config, ids, n);
	for (int i = 0; i < n_special; i++)
		if (json_is_string(eos) && strcmp(special[i].content, json_string_value(eos)) == 0)
			add_id(ids, n, special[i].id);
	end = probe_end_of_turn(t, special, n_special, err);
	if (end == -2)
	{
		free(ids);
		*n = 0;
		return -1;
	}
	if (end >= 0)
		add_id(ids, n, special[end].id);
	else
		for (int i = 0; i < n_special; i++)
			if (special[i].content[0] != '\0' && strstr(t->source, special[i].content) != NULL &&
				!(json_is_string(bos) && strcmp(special[i].content, json_string_value(bos)) == 0))
				add_id(ids, n, special[i].id);
	*ids_out = ids;
	return 0;
}
