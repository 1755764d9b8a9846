/*
 * jinja.h — chat templates: the subset of Jinja that models' chat templates
 * use, rendered as transformers renders them.
 *
 * transformers compiles a chat template with jinja2's
 * ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), the
 * loopcontrols extension and its `{% generation %}` tag, its own `tojson`
 * (json.dumps with ensure_ascii=False) and the globals raise_exception and
 * strftime_now; undefined names follow jinja2's default Undefined.  This
 * interpreter aims at the same output byte for byte.  It is sandboxed the
 * same way: the template sees only the data it is given, cannot change
 * lists or dicts in place, and every render is bounded in steps, nesting,
 * memory and output size; an unknown construct or a runtime error is an
 * error naming the template line.
 */
#ifndef LM_JINJA_H
#define LM_JINJA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lm_error.h"

typedef struct LmJinjaTemplate LmJinjaTemplate;

/* Bounds on one render; zero fields take the defaults below. */
typedef struct LmJinjaLimits
{
	size_t		max_output;		/* bytes of rendered text */
	size_t		max_memory;		/* bytes of values the render may build */
	uint64_t	max_steps;		/* statements, expressions and loop iterations */
	int			max_depth;		/* nested macro calls */
} LmJinjaLimits;

#define LM_JINJA_DEFAULT_MAX_OUTPUT (16u << 20)
#define LM_JINJA_DEFAULT_MAX_MEMORY (256u << 20)
#define LM_JINJA_DEFAULT_MAX_STEPS 50000000u
#define LM_JINJA_DEFAULT_MAX_DEPTH 200

/*
 * Parse a template.  NULL with err set (LM_ERR_UNSUPPORTED or
 * LM_ERR_INVALID_ARGUMENT, the message naming the line) when it is not one
 * this interpreter can run.
 */
LmJinjaTemplate *lm_jinja_parse(const char *source, size_t len, LmError *err);

void		lm_jinja_free(LmJinjaTemplate *tmpl);

/*
 * Render with the variables of context (a JSON object: messages, tools,
 * add_generation_prompt, bos_token, ...; its key order is kept, as Python's
 * dicts keep theirs).  now: the clock strftime_now reads (seconds since the
 * epoch, UTC).  limits may be NULL.  Returns the text (malloc'd,
 * NUL-terminated, *out_len its length) or NULL with err set; a template's
 * raise_exception("...") is an error with that message.  Checks err's call
 * for cancellation as it goes.
 */
char	   *lm_jinja_render(const LmJinjaTemplate *tmpl, const json_t *context, int64_t now,
							const LmJinjaLimits *limits, size_t *out_len, LmError *err);

/*
 * Python's str.strip() (lstrip with right false, rstrip with left false) of
 * the UTF-8 text s: what remains is s[*start, *end).
 */
void		lm_jinja_py_strip(const char *s, size_t len, bool left, bool right, size_t *start,
							  size_t *end);

#endif
