/*
 * jinja_py.h — Python's semantics as the chat-template values and builtins
 * share them (jinja_value.c, jinja_print.c, jinja_pystr.c, jinja_format.c,
 * jinja_methods.c, jinja_filters.c, jinja_builtins.c): code points of
 * UTF-8 strings, Python's whitespace and case rules, binding call
 * arguments, str % args and str.format, sorting, and the methods of str,
 * list and dict.  Not for the evaluator: jinja_internal.h is its
 * interface.
 */
#ifndef LM_JINJA_PY_H
#define LM_JINJA_PY_H

#include <string.h>

#include "chat/jinja_internal.h"

/*
 * Nesting past which printing, comparing or serializing a value fails, as
 * Python's recursion limit makes repr() and json.dumps() fail.
 */
#define J_MAX_NESTING 1000

/* ---- values (jinja_value.c, jinja_print.c) -------------------------------- */

/* An int in Python's sense: J_INT or J_BOOL. */
static inline bool
j_is_intlike(JValue v)
{
	return v.kind == J_INT || v.kind == J_BOOL;
}

static inline bool
j_is_number(JValue v)
{
	return v.kind == J_INT || v.kind == J_BOOL || v.kind == J_FLOAT;
}

static inline int64_t
j_int_of(JValue v)
{
	return v.kind == J_BOOL ? (int64_t) v.u.b : v.u.i;
}

static inline double
j_float_of(JValue v)
{
	return v.kind == J_FLOAT ? v.u.f : (double) j_int_of(v);
}

static inline bool
j_str_eq(JStr s, const char *lit)
{
	size_t		n = strlen(lit);

	return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* A string value (copied) with its Markup flag. */
JValue		j_string_safe(JRender *r, JStr s, bool safe);

/* "'name' is undefined": using an undefined value where Python raises. */
void		j_fail_undefined(JRender *r, JValue v) __attribute__((noreturn));

/* Fails as Python does when v is undefined (or a method the sandbox refuses). */
void		j_check_defined(JRender *r, JValue v);

/* Python's repr() of a float: the shortest text that reads back the same. */
int			j_float_repr(double f, char *buf, size_t size);

/* json.dumps with indent given as text (NULL: None). */
void		j_tojson_ex(JRender *r, JBuf *out, JValue v, const JStr *indent, JStr item_sep,
						JStr key_sep, bool sort_keys);

/* obj.name without falling back to obj[name] (the attr filter, getitem's fallback). */
JValue		j_attribute(JRender *r, JValue obj, JStr name);

/* Python's unhashable types fail as dict keys, set members and `in` a dict. */
void		j_check_hashable(JRender *r, JValue key);

/* ---- strings (jinja_pystr.c) --------------------------------------------- */

/* The code point at *pos (advanced past it); an invalid byte reads as U+FFFD. */
int32_t		j_cp_next(JStr s, size_t *pos);
void		j_buf_put_cp(JRender *r, JBuf *b, int32_t cp);
size_t		j_cp_count(JStr s);
/* Byte offset of code point index (0 <= index <= count). */
size_t		j_cp_offset(JStr s, size_t index);
bool		j_is_ascii(JStr s);

bool		j_py_isspace(int32_t cp);
bool		j_py_isalpha(int32_t cp);
bool		j_py_isalnum(int32_t cp);
bool		j_py_isprintable(int32_t cp);
bool		j_py_isdecimal(int32_t cp);
bool		j_py_isdigit(int32_t cp);
bool		j_py_isnumeric(int32_t cp);
bool		j_str_islower(JStr s);
bool		j_str_isupper(JStr s);
bool		j_str_istitle(JStr s);
JStr		j_str_lower(JRender *r, JStr s);
JStr		j_str_upper(JRender *r, JStr s);
JStr		j_str_capitalize(JRender *r, JStr s);
JStr		j_str_title(JRender *r, JStr s);
/* strip, lstrip, rstrip: chars NULL strips Python's whitespace. */
JStr		j_str_strip(JStr s, const JStr *chars, bool left, bool right);
/* str.replace(old, new, count); count < 0: all. */
JStr		j_str_replace(JRender *r, JStr s, JStr old, JStr new, int64_t count);
/* str.split / str.rsplit: sep NULL splits on runs of whitespace. */
JValue		j_str_split(JRender *r, JStr s, const JStr *sep, int64_t maxsplit, bool from_right);
/* str.splitlines, the line breaks Python recognizes. */
JValue		j_str_splitlines(JRender *r, JStr s, bool keepends);
/* Byte offset of needle in hay at or after from, or -1. */
int64_t		j_str_find(JStr hay, JStr needle, size_t from);
/* jinja2's escape(): & < > " ' as entities. */
void		j_html_escape(JRender *r, JBuf *out, JStr s);

/* Python's int(text, base) (base 0: from the prefix); false when it is not one. */
bool		j_parse_int(JRender *r, JStr text, int base, int64_t *out);
/* Python's float(text); false when it is not one. */
bool		j_parse_float(JStr text, double *out);

/* ---- formatting (jinja_format.c) ------------------------------------------ */

/* str % args: args a tuple of nargs values, or one value (nargs < 0: *args). */
JValue		j_percent_format(JRender *r, JValue fmt, const JValue *args, int64_t nargs);
/* fmt % value: a tuple gives the arguments, anything else is the one argument. */
JValue		j_percent_value(JRender *r, JValue fmt, JValue value);
/* str.format(*args, **kwargs) as the sandbox's formatter runs it. */
JValue		j_str_format(JRender *r, JValue fmt, const JArgs *args);

/* ---- calls (jinja_builtins.c) -------------------------------------------- */

#define J_MAX_PARAMS 8

/* Arguments bound to named parameters; given[i] says whether v[i] was passed. */
typedef struct JBound
{
	JValue		v[J_MAX_PARAMS];
	bool		given[J_MAX_PARAMS];
} JBound;

extern const JArgs j_no_args;

/*
 * Bind a call's arguments to parameters as Python does: positionals first,
 * then keywords by name; the first nrequired must be given.  Fails on an
 * extra positional, an unknown or repeated keyword, or a missing one.
 */
void		j_bind(JRender *r, const char *fname, const JArgs *args, const char *const *names,
				   int nnames, int nrequired, JBound *b);

static inline JValue
j_arg(const JBound *b, int i, JValue dflt)
{
	return b->given[i] ? b->v[i] : dflt;
}

/* An integer argument (int or bool; anything else fails as Python's TypeError). */
int64_t		j_int_arg(JRender *r, JValue v, const char *what);

/* A stable sort of items by keys (Python's sorted with key= and reverse=). */
void		j_sort(JRender *r, JValue *items, JValue *keys, size_t n, bool reverse);

/* ---- methods (jinja_methods.c) ------------------------------------------- */

/* obj.name as a bound method of str, list or dict; false when there is none. */
bool		j_method_bind(JRender *r, JValue obj, JStr name, JValue *out);
/* dict.items(): (key, value) tuples. */
JValue		j_dict_items(JRender *r, const JDict *d);
/* A method the sandbox refuses (append, pop, update...): Python's unsafe undefined. */
bool		j_method_refused(const JFunction *fn);
void		j_fail_refused(JRender *r, const JFunction *fn) __attribute__((noreturn));
JValue		j_call_method(JRender *r, const JFunction *fn, const JArgs *args);

/* jinja2's Undefined, or a method the sandbox refuses (an Undefined there too). */
static inline bool
j_is_undefined(JValue v)
{
	return v.kind == J_UNDEFINED || (v.kind == J_FUNCTION && j_method_refused(v.u.fn));
}

/* ---- filters and tests used by each other ---------------------------------- */

/* jinja2's attribute paths ("a.b.0"): parsed once, applied to each item. */
typedef struct JAttrPath
{
	int			nparts;
	JValue	   *parts;
} JAttrPath;

void		j_attr_path(JRender *r, JValue attribute, JAttrPath *path);
JValue		j_attr_get(JRender *r, JValue item, const JAttrPath *path, const JValue *dflt);

/* Whether s is one or more ASCII digits (an index in an attribute path or a format field). */
static inline bool
j_ascii_digits(JStr s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

#endif
