/*
 * fuzz_jinja.c — libFuzzer harness for the chat-template interpreter: any
 * bytes must parse as a template or fail with an error; a template that
 * parses is rendered with two small conversations (one with tools and a tool
 * call) under tight limits, so that a template looping forever, recursing
 * without end or building huge values stops with an error instead of
 * hanging the fuzzer (run it with -timeout to catch the ones that do not),
 * and once more cancelled at a check the input picks (the sanitizers catch
 * leaks and use-after-free on those paths).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-07-01 12:00:00 UTC, the clock of tests/chat/render_reference.py */
#define FUZZ_NOW 1751371200

static const char *const contexts_json[] = {
	"{\"messages\": ["
	"{\"role\": \"system\", \"content\": \"Be brief.\"},"
	"{\"role\": \"user\", \"content\": \"Hi! ¿Qué tal? 日本語 👍\"},"
	"{\"role\": \"assistant\", \"content\": \"  Fine.\\n\\nThanks  \"},"
	"{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"\"}]}],"
	"\"tools\": null, \"documents\": null, \"add_generation_prompt\": true,"
	"\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"enable_thinking\": false}",

	"{\"messages\": ["
	"{\"role\": \"user\", \"content\": \"Weather in Madrid?\"},"
	"{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"Xk3f9Qa1b\","
	"\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
	"\"arguments\": {\"location\": \"Madrid\", \"n\": 1.5, \"ok\": true}}}]},"
	"{\"role\": \"tool\", \"tool_call_id\": \"Xk3f9Qa1b\", \"content\": \"{\\\"t\\\": 21}\"}],"
	"\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
	"\"description\": \"Weather\", \"parameters\": {\"type\": \"object\", \"properties\":"
	"{\"location\": {\"type\": \"string\"}}, \"required\": [\"location\"]}}}],"
	"\"documents\": [{\"title\": \"t\", \"text\": \"d\"}], \"add_generation_prompt\": false,"
	"\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}",
};
#define N_CONTEXTS (sizeof(contexts_json) / sizeof(contexts_json[0]))

static json_t *contexts[N_CONTEXTS];

/* Cancel at the cancel_at-th check; 0: never. */
static int	cancel_at;
static int	checks;

static int
cancel_on_call(void *arg)
{
	(void) arg;
	return cancel_at > 0 && ++checks >= cancel_at;
}

static const LmCall fuzz_call = {cancel_on_call, NULL, 1};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LmJinjaTemplate *tmpl;
	LmJinjaLimits limits;
	LmError		err;

	if (contexts[0] == NULL)
		for (size_t i = 0; i < N_CONTEXTS; i++)
			if ((contexts[i] = json_loads(contexts_json[i], 0, NULL)) == NULL)
				abort();		/* a bug in this file */

	cancel_at = 0;
	lm_error_init(&err, &fuzz_call);
	tmpl = lm_jinja_parse((const char *) data, size, &err);
	if (tmpl == NULL)
		return 0;

	memset(&limits, 0, sizeof(limits));
	limits.max_output = 1u << 16;
	limits.max_memory = 4u << 20;
	limits.max_steps = 200000;
	limits.max_depth = 32;
	for (size_t i = 0; i < N_CONTEXTS; i++)
	{
		/* once to the end, once cancelled at a check the input picks */
		for (int cancelled = 0; cancelled <= 1; cancelled++)
		{
			size_t		len = 0;
			char	   *text;

			cancel_at = cancelled ? 1 + (int) ((size * 31 + i * 7) % 64) : 0;
			checks = 0;
			lm_error_init(&err, &fuzz_call);
			text = lm_jinja_render(tmpl, contexts[i], FUZZ_NOW, &limits, &len, &err);
			if (text != NULL && (len > limits.max_output || text[len] != '\0'))
				abort();		/* past the bound, or not NUL-terminated */
			if (text == NULL && err.code == LM_OK)
				abort();		/* a failure without an error */
			free(text);
		}
	}
	cancel_at = 0;
	lm_jinja_free(tmpl);
	return 0;
}
