/*
 * test_jinja.c — the chat-template interpreter (src/chat/jinja.h): its
 * bounds (steps, output, memory, macro depth), cancellation, errors that
 * name the template line, malformed templates, and parity with jinja2 as
 * Hugging Face transformers runs it.
 *
 * For the parity part this program runs tests/chat/render_reference.py with
 * Debian's /usr/bin/python3 into a temporary folder: jinja2 renders every
 * template of tests/data/chat_templates (llama.cpp's collection of real
 * chat templates) with every conversation of tests/chat/conversations.json,
 * and every small case of tests/chat/jinja_cases.json, in transformers'
 * environment.  This program renders the same templates with the same
 * contexts (the reference writes the exact variables it passed, and its
 * fixed clock) and compares the bytes; where jinja2 raised, ours must fail
 * too.  It prints one line per template and a CHECK that at least
 * MIN_IDENTICAL_TEMPLATES templates agree on every conversation, at least
 * MIN_RENDERED_CONVERSATIONS of them rendered by jinja2.  Every expected
 * text comes from jinja2 at test time, none from this file.  Without
 * python3-jinja2 that part is skipped, and fails only when
 * PG_LM_REQUIRE_JINJA2=1 (scripts/test.sh sets it).  PG_LM_JINJA_KEEP=DIR
 * keeps the reference's JSON there.
 */
#include <ctype.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat/jinja.h"
#include "tasks/chat.h"
#include "cancel_util.h"
#include "testutil.h"
#include "util/file.h"

#ifndef PYTHON
#define PYTHON "/usr/bin/python3"	/* Debian's, which sees python3-jinja2 */
#endif
#define REFERENCE_SCRIPT "chat/render_reference.py"
#define CONVERSATIONS_FILE "chat/conversations.json"
#define CASES_FILE "chat/jinja_cases.json"
#define TEMPLATES_DIR "data/chat_templates"
#define PATH_MAX_LEN 1024
#define MAX_TEMPLATE_BYTES (1u << 20)
/* The bar: this many templates identical on every conversation ... */
#define MIN_IDENTICAL_TEMPLATES 50
/* ... each on at least this many conversations that jinja2 renders. */
#define MIN_RENDERED_CONVERSATIONS 10
/* Bytes shown on each side of the first difference. */
#define EXCERPT_BYTES 40
/* Any fixed clock will do for the unit checks. */
#define UNIT_NOW 1751371200

/* ---------------------------------------------------------------- helpers */

/* A file beside this source file. */
static void
source_path(char *out, size_t size, const char *name)
{
	char		source[PATH_MAX_LEN];

	snprintf(source, sizeof(source), "%s", __FILE__);
	snprintf(out, size, "%s/%s", dirname(source), name);
}

static bool
contains_ci(const char *haystack, const char *needle)
{
	size_t		n = strlen(needle);

	for (const char *p = haystack; *p != '\0'; p++)
	{
		size_t		i = 0;

		while (i < n && p[i] != '\0' &&
			   tolower((unsigned char) p[i]) == tolower((unsigned char) needle[i]))
			i++;
		if (i == n)
			return true;
	}
	return n == 0;
}

/* The largest n <= want that does not cut s (len bytes of UTF-8) inside a character. */
static size_t
utf8_boundary(const char *s, size_t len, size_t want)
{
	if (want >= len)
		return len;
	while (want > 0 && ((unsigned char) s[want] & 0xC0) == 0x80)
		want--;
	return want;
}

/*
 * Append len bytes of s to out (size bytes, NUL-terminated), escaped for a
 * one-line log; stops early, at a character boundary, when out is full.
 */
static void
append_escaped(char *out, size_t size, const char *s, size_t len)
{
	size_t		o = strlen(out);

	for (size_t i = 0; i < len;)
	{
		unsigned char c = (unsigned char) s[i];
		size_t		n = 1;

		if (c >= 0xC0)
			n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (i + n > len)
			n = len - i;
		if (o + n + 5 >= size)
			break;
		if (c == '\n')
			o += snprintf(out + o, size - o, "\\n");
		else if (c == '\t')
			o += snprintf(out + o, size - o, "\\t");
		else if (c == '\r')
			o += snprintf(out + o, size - o, "\\r");
		else if (c == '\\')
			o += snprintf(out + o, size - o, "\\\\");
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xC0))
			o += snprintf(out + o, size - o, "\\x%02x", c);
		else
		{
			memcpy(out + o, s + i, n);
			o += n;
			out[o] = '\0';
		}
		i += n;
	}
}

/*
 * Parse and render source with context (NULL: {}); the text (malloc'd) or
 * NULL with err set.  *parsed (may be NULL) tells whether the parse succeeded.
 */
static char *
render_source(const char *source, size_t len, const json_t *context, int64_t now,
			  const LmJinjaLimits *limits, size_t *out_len, bool *parsed, LmError *err)
{
	LmJinjaTemplate *tmpl;
	json_t	   *empty = NULL;
	char	   *text;

	test_error_init(err);
	*out_len = 0;
	tmpl = lm_jinja_parse(source, len, err);
	if (parsed != NULL)
		*parsed = tmpl != NULL;
	if (tmpl == NULL)
		return NULL;
	if (context == NULL)
		context = empty = json_object();
	text = lm_jinja_render(tmpl, context, now, limits, out_len, err);
	json_decref(empty);
	lm_jinja_free(tmpl);
	return text;
}

/* render_source on a NUL-terminated template with a context in JSON. */
static char *
render_simple(const char *source, const char *context_json, const LmJinjaLimits *limits,
			  size_t *out_len, LmError *err)
{
	json_t	   *context = json_loads(context_json ? context_json : "{}", 0, NULL);
	char	   *text;

	if (context == NULL)
	{
		test_error_init(err);
		lm_fail(err, LM_ERR_INTERNAL, "test bug: bad context JSON");
		return NULL;
	}
	text = render_source(source, strlen(source), context, UNIT_NOW, limits, out_len, NULL, err);
	json_decref(context);
	return text;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Render source and expect an error (of code want, or any code when want is
 * LM_OK) with a message; returns whether it failed as expected.
 */
static bool
expect_failure(const char *what, const char *source, const char *context_json,
			   const LmJinjaLimits *limits, LmErrorCode want, LmError *err)
{
	size_t		len;
	char	   *text;
	struct timespec t0;
	double		elapsed;
	bool		ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	text = render_simple(source, context_json, limits, &len, err);
	elapsed = seconds_since(&t0);
	ok = text == NULL && err->code != LM_OK && err->message[0] != '\0' &&
		(want == LM_OK || err->code == want);
	CHECK(ok, "%s: fails in %.2f s (code %d: %s)", what, elapsed, (int) err->code,
		  text != NULL ? "rendered" : err->message);
	free(text);
	return ok;
}

/* ---------------------------------------------------------------- unit checks */

static void
test_basics(void)
{
	LmError		err;
	size_t		len;
	char	   *text;

	/* Values only a correct interpreter produces; jinja2 agrees (see jinja_cases.json). */
	text = render_simple("{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]"
						 "{% endfor %}", "{\"bos_token\": \"<s>\", \"messages\": ["
						 "{\"role\": \"user\", \"content\": \"hi\"}]}", NULL, &len, &err);
	CHECK(text != NULL && len == strlen("<s>[user:hi]") && memcmp(text, "<s>[user:hi]", len) == 0,
		  "a loop over messages renders (%s)", text != NULL ? text : err.message);
	free(text);
	text = render_simple("", NULL, NULL, &len, &err);
	CHECK(text != NULL && len == 0 && text[0] == '\0', "the empty template renders \"\" (%s)",
		  text != NULL ? "ok" : err.message);
	free(text);
}

static void
test_raise_exception(void)
{
	LmError		err;
	size_t		len;
	char	   *text;

	text = render_simple("{% if messages | length == 0 %}"
						 "{{ raise_exception('No messages provided.') }}{% endif %}x",
						 "{\"messages\": []}", NULL, &len, &err);
	CHECK(text == NULL && strstr(err.message, "No messages provided.") != NULL,
		  "raise_exception's message is the error's (%s)", text ? "rendered" : err.message);
	free(text);
	text = render_simple("line 1\n{%- for m in messages %}\n"
						 "{{- raise_exception('Invalid role ' ~ m.role ~ '!') }}\n{% endfor %}",
						 "{\"messages\": [{\"role\": \"narrator\"}]}", NULL, &len, &err);
	CHECK(text == NULL && strstr(err.message, "Invalid role narrator!") != NULL,
		  "raise_exception with a message built at render time (%s)",
		  text ? "rendered" : err.message);
	free(text);
}

static void
test_unknown_tags(void)
{
	static const char *const sources[] = {
		"line one\n{% include \"x\" %}\n",
		"line one\n{% extends \"base.html\" %}\n",
		"line one\n{% import \"m.html\" as m %}\n",
		"line one\n{% from \"m.html\" import m %}\n",
		"line one\n{% frobnicate %}\n",
	};

	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
	{
		LmError		err;
		size_t		len;
		char	   *text = render_simple(sources[i], NULL, NULL, &len, &err);
		char		shown[128] = "";

		append_escaped(shown, sizeof(shown), sources[i], strlen(sources[i]));
		CHECK(text == NULL && contains_ci(err.message, "line 2"),
			  "\"%s\" is an error naming line 2 (%s)", shown, text ? "rendered" : err.message);
		free(text);
	}
}

static void
test_limits(void)
{
	LmError		err;
	LmJinjaLimits limits;
	size_t		len;
	char	   *text;
	char		source[256];

	memset(&limits, 0, sizeof(limits));
	limits.max_steps = 1000000;
	expect_failure("10^10 loop iterations with max_steps 10^6",
				   "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
				   NULL, &limits, LM_OK, &err);
	expect_failure("10^10 loop iterations with the default limits",
				   "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
				   NULL, NULL, LM_OK, &err);
	expect_failure("a loop over a namespace that never ends with max_steps 10^6",
				   "{% set ns = namespace(n=0) %}{% for i in range(1000000000) %}"
				   "{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}", NULL, &limits, LM_OK, &err);

	/* output: 100 bytes fit in 1000, 10 MB do not */
	memset(&limits, 0, sizeof(limits));
	limits.max_output = 1000;
	text = render_simple("{% for i in range(10) %}{{ '0123456789' * 1 }}{% endfor %}"
						 "{{ 'x' * 0 }}{% for i in range(10) %}0123456789{% endfor %}"
						 "{{ '' }}", NULL, &limits, &len, &err);
	CHECK(text != NULL && len == 200, "200 bytes render under max_output 1000 (%s)",
		  text ? "ok" : err.message);
	free(text);
	expect_failure("10 MB of output with max_output 1000",
				   "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", NULL, &limits, LM_OK,
				   &err);
	memset(&limits, 0, sizeof(limits));
	expect_failure("17 MB of output with the default max_output (16 MB)",
				   "{% for i in range(17000) %}{{ 'x' * 1048 }}{% endfor %}", NULL, NULL, LM_OK,
				   &err);

	/* memory: values the render builds without printing them */
	memset(&limits, 0, sizeof(limits));
	limits.max_memory = 1u << 20;
	expect_failure("a string doubled 40 times with max_memory 1 MB",
				   "{% set ns = namespace(v='x') %}{% for i in range(40) %}"
				   "{% set ns.v = ns.v ~ ns.v %}{% endfor %}{{ ns.v | length }}", NULL, &limits,
				   LM_OK, &err);
	expect_failure("'x' * 10^10 with the default limits", "{{ ('x' * 10000000000) | length }}",
				   NULL, NULL, LM_OK, &err);
	expect_failure("range(10^10) | list with the default limits",
				   "{{ range(10000000000) | list | length }}", NULL, NULL, LM_OK, &err);

	/* macro recursion */
	memset(&limits, 0, sizeof(limits));
	limits.max_depth = 50;
	expect_failure("unbounded macro recursion with max_depth 50",
				   "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, &limits, LM_OK,
				   &err);
	text = render_simple("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}done{% endif %}"
						 "{% endmacro %}{{ f(40) }}", NULL, &limits, &len, &err);
	CHECK(text != NULL && len == 4 && memcmp(text, "done", 4) == 0,
		  "40 nested macro calls fit in max_depth 50 (%s)", text ? text : err.message);
	free(text);
	expect_failure("unbounded macro recursion with the default limits",
				   "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, NULL, LM_OK,
				   &err);
	expect_failure("recursion through a call block's caller() with the default limits",
				   "{% macro f() %}{{ caller() }}{% endmacro %}"
				   "{% macro g() %}{% call f() %}{{ g() }}{% endcall %}{% endmacro %}{{ g() }}",
				   NULL, NULL, LM_OK, &err);
	expect_failure("a recursive loop without end with the default limits",
				   "{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}", NULL, NULL, LM_OK,
				   &err);

	/* max_steps counts every template, not only loops */
	memset(&limits, 0, sizeof(limits));
	limits.max_steps = 100;
	snprintf(source, sizeof(source), "{%% for i in range(1000) %%}{{ i }}{%% endfor %%}");
	expect_failure("1000 iterations with max_steps 100", source, NULL, &limits, LM_OK, &err);
}

/*
 * Templates nested far deeper than any real one: the parser and the
 * evaluator must refuse them, not overflow the C stack (jinja2 refuses every
 * one with a RecursionError).  A long chain (x|trim|trim..., 1 + 1 + ...)
 * may also render.
 */
static void
test_deep_nesting(void)
{
	static const struct
	{
		const char *prefix;
		const char *open;		/* repeated DEPTH times */
		const char *middle;
		const char *close;		/* repeated DEPTH times */
		const char *suffix;
		bool		may_render;
	}			shapes[] = {
		{"{{ ", "(", "1", ")", " }}", false},
		{"{{ ", "[", "1", "]", " }}", false},
		{"{{ ", "{'a': ", "1", "}", " }}", false},
		{"", "{% if true %}", "x", "{% endif %}", "", false},
		{"", "{% for i in [1] %}", "x", "{% endfor %}", "", false},
		{"", "{% macro m() %}", "x", "{% endmacro %}", "", false},
		{"", "{% set s %}", "x", "{% endset %}", "", false},
		{"{{ ", "not ", "true", "", " }}", false},
		{"{{ ", "-", "1", "", " }}", false},
		{"{{ x", "", "", "|trim", " }}", true},
		{"{{ 1", "", "", " + 1", " }}", true},
		{"{{ x", "", "", "[0]", " }}", true},
	};
	const size_t depth = 100000;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		size_t		lo = strlen(shapes[s].open);
		size_t		lc = strlen(shapes[s].close);
		size_t		size = strlen(shapes[s].prefix) + (lo + lc) * depth +
			strlen(shapes[s].middle) + strlen(shapes[s].suffix) + 1;
		char	   *source = malloc(size);
		char	   *p = source;
		LmError		err;
		size_t		len;
		char	   *text;
		bool		ok;

		p = stpcpy(p, shapes[s].prefix);
		for (size_t i = 0; i < depth; i++)
			p = stpcpy(p, shapes[s].open);
		p = stpcpy(p, shapes[s].middle);
		for (size_t i = 0; i < depth; i++)
			p = stpcpy(p, shapes[s].close);
		p = stpcpy(p, shapes[s].suffix);
		text = render_source(source, (size_t) (p - source), NULL, UNIT_NOW, NULL, &len, NULL,
							 &err);
		ok = text == NULL ? err.code != LM_OK && err.message[0] != '\0' : shapes[s].may_render;
		CHECK(ok, "%zu levels of %s%s%s...%s%s: %s, no crash", depth, shapes[s].prefix,
			  shapes[s].open, shapes[s].middle, shapes[s].close, shapes[s].suffix,
			  text ? "rendered" : err.message);
		free(text);
		free(source);
	}
}

static void
test_cancel(void)
{
	LmError		err;
	size_t		len;
	char	   *text;
	const char *source = "{% for i in range(1000) %}{% for j in range(1000) %}{{ '' }}"
		"{% endfor %}{% endfor %}{% macro m(n) %}{{ n }}{% endmacro %}{{ m(1) }}";
	int			cancelled = 0;
	int			finished = 0;
	bool		honoured = true;

	test_cancel_hook = always_cancel;
	text = render_simple(source, NULL, NULL, &len, &err);
	CHECK(text == NULL && err.code == LM_ERR_CANCELLED,
		  "a render stops with LM_ERR_CANCELLED when its call is cancelled (%s)",
		  text ? "rendered" : err.message);
	free(text);

	/* cancelled at its k-th check: it stops there, or never asked k times */
	for (long k = 1; k <= 4096; k *= 2)
	{
		cancel_arm(k);
		text = render_simple(source, NULL, NULL, &len, &err);
		if (text == NULL && err.code == LM_ERR_CANCELLED && cancel_calls == k)
			cancelled++;
		else if (text != NULL && cancel_calls < k)
			finished++;
		else
		{
			honoured = false;
			printf("# cancel at check %ld: %s after %ld checks\n", k,
				   text ? "rendered" : err.message, cancel_calls);
		}
		free(text);
	}
	test_cancel_hook = NULL;
	CHECK(honoured && cancelled > 0,
		  "cancelled at its k-th check, a million-step render stops there (%d stopped, %d "
		  "finished first)", cancelled, finished);
}

/* Templates jinja2 rejects too (jinja_cases.json's malformed_* have them). */
static void
test_malformed(void)
{
	static const char *const sources[] = {
		"{% if x %}", "{{", "{{ x", "{% for %}", "{{ 1 + }}", "{% endif %}", "{{ x | }}",
		"{% set %}", "{% macro %}", "{{ 'abc }}", "{# unclosed", "{% for x in y %}{% endif %}",
		"{{ a.b. }}", "{{ (1, }}", "{{ [1, 2 }}", "{% raw %}abc", "{% unknown %}",
		"{% endfor %}", "{% else %}", "{{ }}", "{% if %}{% endif %}", "{{ 1 2 }}",
		"{% for x in y %}{% break %}", "{% if a %}{% for x in y %}{% endif %}", "{{ {'a' 1} }}",
		"{% set x = %}", "{% macro m( %}{% endmacro %}", "{% generation %}x", "{% break %}",
		"{{ x.1a }}", "{% for in x %}{% endfor %}", "{{ 1 +* 2 }}", "{% endgeneration %}",
		"{% filter %}x{% endfilter %}", "{% call %}x{% endcall %}", "{%", "{{ \"\\",
		"{{ 'a' ~ }}", "{% if x %}{% elif %}{% endif %}", "{{ x[ }}", "{{ x(1, }}",
	};
	int			clean = 0;
	int			n = (int) (sizeof(sources) / sizeof(sources[0]));

	for (int i = 0; i < n; i++)
	{
		LmError		err;
		size_t		len;
		bool		parsed;
		char	   *text = render_source(sources[i], strlen(sources[i]), NULL, UNIT_NOW, NULL,
										 &len, &parsed, &err);

		if (text == NULL && err.code != LM_OK && err.message[0] != '\0')
			clean++;
		else
		{
			char		shown[128] = "";

			append_escaped(shown, sizeof(shown), sources[i], strlen(sources[i]));
			printf("# malformed \"%s\" %s\n", shown, text ? "rendered" : "failed without a message");
		}
		free(text);
	}
	CHECK(clean == n, "%d of %d malformed templates are errors with a message", clean, n);
	{
		LmError		err;
		size_t		len;
		char	   *text = render_simple("line 1\nline 2\n{% if %}\n", NULL, NULL, &len, &err);

		CHECK(text == NULL && contains_ci(err.message, "line 3"),
			  "a syntax error names its line (%s)", text ? "rendered" : err.message);
		free(text);
	}
}

/* ---------------------------------------------------------------- parity with jinja2 */

static bool
jinja2_available(void)
{
	return access(PYTHON, X_OK) == 0 &&
		system(PYTHON " -c 'import jinja2' >/dev/null 2>&1") == 0;
}

typedef struct Outcome
{
	bool		same;
	char		why[1024];		/* when not the same */
} Outcome;

/* Compare ours (text or the error in err) with the reference's result. */
static void
compare_result(Outcome *o, const char *text, size_t len, const LmError *err, const json_t *ref)
{
	bool		ref_ok = json_is_true(json_object_get(ref, "ok"));
	const char *ref_text = json_string_value(json_object_get(ref, "text"));
	size_t		ref_len = json_string_length(json_object_get(ref, "text"));
	const char *ref_error = json_string_value(json_object_get(ref, "error"));

	o->why[0] = '\0';
	if (!ref_ok)
	{
		o->same = text == NULL;
		if (!o->same)
			snprintf(o->why, sizeof(o->why), "jinja2 raised \"%.200s\", ours rendered",
					 ref_error ? ref_error : "?");
		return;
	}
	if (text == NULL)
	{
		o->same = false;
		snprintf(o->why, sizeof(o->why), "ours failed: %.300s", err->message);
		return;
	}
	if (ref_text == NULL)
		ref_text = "";
	o->same = len == ref_len && memcmp(text, ref_text, len) == 0;
	if (!o->same)
	{
		size_t		at = 0;
		size_t		from;

		while (at < len && at < ref_len && text[at] == ref_text[at])
			at++;
		/* the excerpt starts at a character both texts share */
		from = utf8_boundary(text, at, at > EXCERPT_BYTES ? at - EXCERPT_BYTES : 0);
		snprintf(o->why, sizeof(o->why), "byte %zu of %zu (jinja2 %zu): ours \"", at, len,
				 ref_len);
		append_escaped(o->why, sizeof(o->why) / 2, text + from,
					   utf8_boundary(text + from, len - from, at - from + EXCERPT_BYTES));
		strncat(o->why, "\", jinja2 \"", sizeof(o->why) - strlen(o->why) - 1);
		append_escaped(o->why, sizeof(o->why) - 2, ref_text + from,
					   utf8_boundary(ref_text + from, ref_len - from, at - from + EXCERPT_BYTES));
		strncat(o->why, "\"", sizeof(o->why) - strlen(o->why) - 1);
	}
}

/* Append name to a comma-separated list (size bytes). */
static void
list_add(char *list, size_t size, const char *name)
{
	if (list[0] != '\0')
		strncat(list, ", ", size - strlen(list) - 1);
	strncat(list, name, size - strlen(list) - 1);
}

static void
compare_templates(const json_t *ref, int64_t now)
{
	const json_t *conversations = json_object_get(ref, "conversations");
	const json_t *templates = json_object_get(ref, "templates");
	size_t		n_conv = json_array_size(conversations);
	size_t		n_templates = json_array_size(templates);
	int			identical_templates = 0;
	int			counted_templates = 0;
	size_t		renders = 0;
	size_t		renders_same = 0;
	char		failing[8192] = "";
	char		few[4096] = "";
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(n_conv >= MIN_RENDERED_CONVERSATIONS, "%zu conversations (at least %d)", n_conv,
		  MIN_RENDERED_CONVERSATIONS);
	for (size_t t = 0; t < n_templates; t++)
	{
		const json_t *entry = json_array_get(templates, t);
		const char *name = json_string_value(json_object_get(entry, "name"));
		const char *file = json_string_value(json_object_get(entry, "file"));
		bool		ref_parsed = json_is_true(json_object_get(entry, "parsed"));
		const json_t *results = json_object_get(entry, "results");
		uint8_t    *source = NULL;
		size_t		source_len = 0;
		LmJinjaTemplate *tmpl = NULL;
		LmError		err;
		LmError		parse_err;
		int			same = 0;
		int			ref_rendered = 0;
		Outcome		first = {true, ""};
		const char *first_conv = NULL;

		if (name == NULL)
			name = "?";
		test_error_init(&err);
		if (file == NULL || lm_read_file(file, MAX_TEMPLATE_BYTES, &source, &source_len, &err) != 0)
		{
			printf("# %s: cannot read %s: %s\n", name, file ? file : "(no file)", err.message);
			list_add(failing, sizeof(failing), name);
			continue;
		}
		test_error_init(&parse_err);
		tmpl = lm_jinja_parse((const char *) source, source_len, &parse_err);
		if (tmpl == NULL)
			printf("# %s: ours cannot parse it: %s\n", name, parse_err.message);
		if (!ref_parsed)
		{
			/* jinja2 cannot compile it: neither may we render it */
			const char *ref_error = json_string_value(json_object_get(entry, "error"));

			printf("# %s: jinja2 cannot compile it (%s); ours %s\n", name,
				   ref_error ? ref_error : "?", tmpl == NULL ? "refuses it too" : "parses it");
			list_add(few, sizeof(few), name);
			lm_jinja_free(tmpl);
			free(source);
			continue;
		}
		for (size_t c = 0; c < n_conv; c++)
		{
			const json_t *context = json_object_get(json_array_get(conversations, c), "context");
			const json_t *result = json_array_get(results, c);
			char	   *text = NULL;
			size_t		len = 0;
			Outcome		o;

			if (json_is_true(json_object_get(result, "ok")))
				ref_rendered++;
			if (tmpl != NULL)
			{
				test_error_init(&err);
				text = lm_jinja_render(tmpl, context, now, NULL, &len, &err);
				/* apply_chat_template's continue_final_message, applied by the reference too */
				if (text != NULL &&
					json_is_true(json_object_get(json_array_get(conversations, c), "continue_final_message")) &&
					lm_chat_cut_after_final_message(json_object_get(context, "messages"), text, &len, &err) != 0)
				{
					free(text);
					text = NULL;
				}
			}
			else
				err = parse_err;
			compare_result(&o, text, len, &err, result);
			renders++;
			if (o.same)
			{
				same++;
				renders_same++;
			}
			else if (first_conv == NULL)
			{
				first = o;
				first_conv = json_string_value(json_object_get(json_array_get(conversations, c),
															   "name"));
			}
			free(text);
		}
		if (first_conv == NULL)
			printf("# %s: %d/%zu identical (%d rendered by jinja2, %zu raised)\n", name, same,
				   n_conv, ref_rendered, n_conv - (size_t) ref_rendered);
		else
			printf("# %s: %d/%zu identical; first difference in %s: %s\n", name, same, n_conv,
				   first_conv, first.why);
		if (ref_rendered >= MIN_RENDERED_CONVERSATIONS)
		{
			counted_templates++;
			if ((size_t) same == n_conv)
				identical_templates++;
			else
				list_add(failing, sizeof(failing), name);
		}
		else
			list_add(few, sizeof(few), name);
		lm_jinja_free(tmpl);
		free(source);
	}
	printf("# %zu of %zu renders identical to jinja2 in %.2f s\n", renders_same, renders,
		   seconds_since(&t0));
	printf("# not identical: %s\n", failing[0] ? failing : "none");
	printf("# jinja2 renders fewer than %d conversations of: %s\n", MIN_RENDERED_CONVERSATIONS,
		   few[0] ? few : "none");
	CHECK(identical_templates >= MIN_IDENTICAL_TEMPLATES,
		  "%d of the %d templates that jinja2 renders on %d+ conversations are identical to it on "
		  "every conversation (at least %d; not identical: %s)", identical_templates,
		  counted_templates, MIN_RENDERED_CONVERSATIONS, MIN_IDENTICAL_TEMPLATES,
		  failing[0] ? failing : "none");
}

/* The small semantic cases: one CHECK each. */
static void
compare_cases(const json_t *ref, int64_t now)
{
	const json_t *cases = json_object_get(ref, "cases");
	int			same = 0;

	CHECK(json_array_size(cases) > 0, "%zu semantic cases from %s", json_array_size(cases),
		  CASES_FILE);
	for (size_t i = 0; i < json_array_size(cases); i++)
	{
		const json_t *c = json_array_get(cases, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const json_t *tstr = json_object_get(c, "template");
		const json_t *context = json_object_get(c, "context");
		LmError		err;
		size_t		len;
		char	   *text;
		Outcome		o;
		char		shown[160] = "";

		if (!json_is_string(tstr))
		{
			CHECK(false, "case %s has a template", name ? name : "?");
			continue;
		}
		text = render_source(json_string_value(tstr), json_string_length(tstr), context, now,
							 NULL, &len, NULL, &err);
		compare_result(&o, text, len, &err, c);
		append_escaped(shown, sizeof(shown), json_string_value(tstr),
					   utf8_boundary(json_string_value(tstr), json_string_length(tstr), 60));
		if (CHECK(o.same, "case %s: %s (%s%s)", name ? name : "?",
				  json_is_true(json_object_get(c, "ok")) ? "same text as jinja2" :
				  "an error, as in jinja2", shown, json_string_length(tstr) > 60 ? "..." : ""))
			same++;
		else
			printf("#   %s\n", o.why);
		free(text);
	}
	printf("# %d of %zu semantic cases agree with jinja2\n", same, json_array_size(cases));
}

static void
test_reference(void)
{
	char		dir[] = "/tmp/pg_lm_jinja.XXXXXX";
	char		out[PATH_MAX_LEN];
	char		script[PATH_MAX_LEN];
	char		templates[PATH_MAX_LEN];
	char		conversations[PATH_MAX_LEN];
	char		cases[PATH_MAX_LEN];
	char		command[6 * PATH_MAX_LEN];
	const char *keep = getenv("PG_LM_JINJA_KEEP");
	json_t	   *ref;
	json_error_t jerr;
	int			status;

	if (!jinja2_available())
	{
		const char *require = getenv("PG_LM_REQUIRE_JINJA2");

		printf("# skipped: %s not found, or python3-jinja2 not installed\n", PYTHON);
		CHECK(require == NULL || strcmp(require, "1") != 0,
			  "jinja2 parity (PG_LM_REQUIRE_JINJA2=1 requires python3-jinja2)");
		return;
	}
	source_path(script, sizeof(script), REFERENCE_SCRIPT);
	source_path(templates, sizeof(templates), TEMPLATES_DIR);
	source_path(conversations, sizeof(conversations), CONVERSATIONS_FILE);
	source_path(cases, sizeof(cases), CASES_FILE);
	if (!CHECK(access(script, R_OK) == 0, "reference script %s is readable", script))
		return;
	if (keep != NULL)
		snprintf(out, sizeof(out), "%s/jinja_reference.json", keep);
	else
	{
		if (!CHECK(mkdtemp(dir) != NULL, "temporary folder"))
			return;
		snprintf(out, sizeof(out), "%s/reference.json", dir);
	}
	snprintf(command, sizeof(command), "%s %s --templates %s --conversations %s --cases %s %s",
			 PYTHON, script, templates, conversations, cases, out);
	printf("# running %s\n", command);
	fflush(stdout);
	status = system(command);
	fflush(stdout);
	ref = status == 0 ? json_load_file(out, 0, &jerr) : NULL;
	if (CHECK(ref != NULL && json_is_integer(json_object_get(ref, "now")),
			  "jinja2 rendered the templates (exit status %d%s%s)", status,
			  status == 0 && ref == NULL ? ", " : "", status == 0 && ref == NULL ? jerr.text : ""))
	{
		int64_t		now = json_integer_value(json_object_get(ref, "now"));

		CHECK(json_array_size(json_object_get(ref, "templates")) >= MIN_IDENTICAL_TEMPLATES,
			  "%zu templates in %s", json_array_size(json_object_get(ref, "templates")),
			  TEMPLATES_DIR);
		compare_cases(ref, now);
		compare_templates(ref, now);
	}
	json_decref(ref);
	if (keep == NULL)
	{
		unlink(out);
		rmdir(dir);
	}
}

int
main(void)
{
	test_basics();
	test_raise_exception();
	test_unknown_tags();
	test_limits();
	test_deep_nesting();
	test_cancel();
	test_malformed();
	test_reference();
	return test_done();
}
