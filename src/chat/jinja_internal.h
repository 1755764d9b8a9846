/*
 * jinja_internal.h — what the parts of the chat-template interpreter share:
 * values, the render's state, and the calls between the evaluator
 * (jinja_eval.c), the values (jinja_value.c) and the filters, tests,
 * methods and globals (jinja_builtins.c).
 *
 * Everything a render builds lives in its arena and is freed at once when
 * the render ends, so values are plain structs passed by value, never
 * reference-counted.  Lists and dicts are not changed once built (the
 * sandbox forbids append, update, ...); only a namespace's attributes are
 * assigned.  A runtime error longjmps out of the render (j_fail): nothing
 * needs cleaning up on the way, everything is in the arena.
 */
#ifndef LM_JINJA_INTERNAL_H
#define LM_JINJA_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/jinja.h"

/* A byte string (UTF-8), not NUL-terminated. */
typedef struct JStr
{
	const char *p;
	size_t		len;
} JStr;

#define JSTR_LIT(s) ((JStr) { (s), sizeof(s) - 1 })

typedef enum JKind
{
	J_UNDEFINED,				/* jinja2's default Undefined */
	J_NONE,
	J_BOOL,
	J_INT,
	J_FLOAT,
	J_STRING,
	J_LIST,						/* Python list or tuple */
	J_DICT,						/* Python dict, insertion-ordered */
	J_NAMESPACE,				/* namespace(): a dict whose items are attributes */
	J_MACRO,					/* a template macro (or caller) */
	J_FUNCTION					/* a builtin: a global, or a method bound to self */
} JKind;

typedef struct JList JList;
typedef struct JDict JDict;
typedef struct JFunction JFunction;
typedef struct JMacroValue JMacroValue;

typedef struct JValue
{
	JKind		kind;
	bool		safe;			/* J_STRING from |safe (jinja2's Markup) */
	union
	{
		bool		b;
		int64_t		i;
		double		f;
		JStr		s;			/* J_STRING; J_UNDEFINED: the name, for messages */
		JList	   *list;
		JDict	   *dict;		/* J_DICT and J_NAMESPACE */
		JFunction  *fn;
		JMacroValue *macro;
	}			u;
} JValue;

/*
 * A J_LIST with safe set is a Python generator or iterator (what the map,
 * select, reject, selectattr, rejectattr, unique, items, batch, slice and
 * reverse filters return): it iterates like a list but is true even when
 * empty, has no len(), cannot be indexed and is not JSON serializable.
 */
#define J_IS_GENERATOR(v) ((v).kind == J_LIST && (v).safe)

struct JList
{
	size_t		len;
	JValue	   *items;
	bool		is_tuple;		/* a tuple: printed (a, b) or (a,) */
};

struct JDict
{
	size_t		len;
	size_t		cap;
	JValue	   *keys;
	JValue	   *vals;
};

/*
 * A builtin callable: name is the global ("range", "namespace", "dict",
 * "raise_exception", "strftime_now") or the method ("strip", "items",
 * "get", ...); self the value it is bound to (J_UNDEFINED for globals).
 * A for loop's `loop` is a J_DICT of its fields (index, index0, revindex,
 * revindex0, first, last, length, previtem, nextitem, depth, depth0) whose
 * "cycle" is the J_FUNCTION "cycle" bound to the index0 (a J_INT).
 */
struct JFunction
{
	JStr		name;
	JValue		self;
};

/* Arguments of a call, a filter or a test (after the value it applies to). */
typedef struct JArgs
{
	int			npos;
	const JValue *pos;
	int			nkw;
	const JStr *kw_names;
	const JValue *kw;
} JArgs;

/* ---- the render's state ------------------------------------------------- */

typedef struct JArenaChunk JArenaChunk;
typedef struct JScope JScope;
typedef struct JBuf JBuf;

typedef struct JRender
{
	jmp_buf		fail;			/* j_fail jumps here */
	LmError    *err;
	LmJinjaLimits limits;
	int64_t		now;			/* strftime_now's clock, seconds since the epoch */
	int			line;			/* template line being run, for messages */

	JArenaChunk *chunks;		/* the arena */
	size_t		used;			/* bytes the arena has handed out */

	uint64_t	steps;
	int			depth;			/* nested macro calls */
	int			nest;			/* nested statements, expressions and calls */

	JBuf	   *capture;		/* not NULL: output goes here (macro bodies, block set) */
	char	   *out;			/* rendered text (malloc'd) */
	size_t		out_len;
	size_t		out_cap;

	struct JLoopCall *loop_calls;	/* the `loop` of running recursive for loops */
	JScope	   *scope;			/* innermost variable scope */
	JScope	   *globals;		/* the template's top level */
	const void *tmpl;			/* the parsed template (evaluator's business) */
} JRender;

/* A growable byte buffer in the render's arena. */
struct JBuf
{
	char	   *p;
	size_t		len;
	size_t		cap;
};

/* ---- render plumbing (jinja_eval.c) ------------------------------------ */

/* Record an error naming the current template line and leave the render. */
void		j_fail(JRender *r, const char *fmt,...)
			__attribute__((noreturn, format(printf, 2, 3)));
/* A 64-bit integer overflowed (Python's would not): an error, the same everywhere. */
void		j_fail_overflow(JRender *r) __attribute__((noreturn));

/* Arena memory (8-byte aligned, not zeroed); fails the render past max_memory. */
void	   *j_alloc(JRender *r, size_t size);

/* One unit of work: fails the render past max_steps, checks cancellation. */
void		j_step(JRender *r);

void		j_buf_put(JRender *r, JBuf *b, const char *p, size_t len);
void		j_buf_putc(JRender *r, JBuf *b, char c);
void		j_buf_printf(JRender *r, JBuf *b, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
JStr		j_buf_str(const JBuf *b);

/* Append text to the output (or to the capture buffer), within max_output. */
void		j_emit(JRender *r, const char *p, size_t len);
void		j_arena_free(JRender *r);

/* Call a macro or builtin with arguments. */
JValue		j_call(JRender *r, JValue callee, const JArgs *args);

/* ---- values (jinja_value.c) --------------------------------------------- */

JValue		j_undefined(JStr name);
JValue		j_none(void);
JValue		j_bool(bool b);
JValue		j_int(int64_t i);
JValue		j_float(double f);
JValue		j_string(JRender *r, const char *p, size_t len);	/* copies */
JValue		j_string_ref(JStr s);	/* s must outlive the render */
JValue		j_list(JRender *r, size_t len);	/* items to be filled */
JValue		j_dict(JRender *r, size_t cap);
JValue		j_namespace(JRender *r);

/* Set key (replacing an equal key's value, else appending). */
void		j_dict_set(JRender *r, JDict *d, JValue key, JValue val);
/* The value under key, or false when absent. */
bool		j_dict_get(const JDict *d, JValue key, JValue *val);

/* Python's type(v).__name__, for messages: "str", "NoneType", "Undefined"... */
const char *j_type_name(JValue v);

bool		j_truthy(JValue v);
/* Python ==, deep: 1 == 1.0 == True; undefined equals only undefined. */
bool		j_equal(JValue a, JValue b);
/* Python <, <=, >, >= order: negative, zero, positive; fails on mixed types. */
int			j_compare(JRender *r, JValue a, JValue b);

/* str(v) as {{ v }} prints it (undefined prints nothing). */
void		j_to_str(JRender *r, JBuf *out, JValue v);
JStr		j_as_str(JRender *r, JValue v);
/* repr(v), as inside a printed list or dict. */
void		j_repr(JRender *r, JBuf *out, JValue v);
/*
 * json.dumps(v, ensure_ascii=False, indent=indent (< 0: None),
 * separators=(item_sep, key_sep) or Python's defaults when NULL,
 * sort_keys): transformers' tojson.  Undefined, macros and functions fail.
 */
void		j_tojson(JRender *r, JBuf *out, JValue v, int indent, const JStr *item_sep,
					 const JStr *key_sep, bool sort_keys);
/* A JSON document as values (objects keep their key order). */
JValue		j_from_json(JRender *r, const json_t *json);

/* obj.name: dict item, namespace attribute, loop field, or a bound method. */
JValue		j_getattr(JRender *r, JValue obj, JStr name);
/* obj[key]: dict item, list or string index (negative from the end). */
JValue		j_getitem(JRender *r, JValue obj, JValue key);
/* obj[start:stop:step]; a missing bound is J_NONE. */
JValue		j_slice(JRender *r, JValue obj, JValue start, JValue stop, JValue step);
/* len(): code points of a string, items of a list or dict. */
int64_t		j_length(JRender *r, JValue v);
/* The items a for loop walks: a list's, a dict's keys, a string's characters; undefined: none. */
JList	   *j_iter(JRender *r, JValue v);
/* item in container. */
bool		j_contains(JRender *r, JValue container, JValue item);

typedef enum JBinOp
{
	JOP_ADD, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW,
	JOP_CONCAT					/* ~ */
} JBinOp;

JValue		j_binop(JRender *r, JBinOp op, JValue a, JValue b);
JValue		j_negate(JRender *r, JValue v);

/* ---- filters, tests, methods, globals (jinja_builtins.c) ---------------- */

/* Whether a filter or test of that name exists (checked when parsing). */
bool		j_filter_exists(JStr name);
bool		j_test_exists(JStr name);

JValue		j_filter(JRender *r, JStr name, JValue in, const JArgs *args);
bool		j_test(JRender *r, JStr name, JValue in, const JArgs *args);

/* The global of that name (range, namespace, dict, raise_exception, strftime_now, ...) or undefined. */
JValue		j_global(JStr name);

/* Call a J_FUNCTION: a global, or a method bound to its self. */
JValue		j_call_builtin(JRender *r, const JFunction *fn, const JArgs *args);

#endif
