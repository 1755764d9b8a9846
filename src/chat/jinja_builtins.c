/*
 * jinja_builtins.c — jinja2's tests (`x is defined`, `x is string`, ...),
 * the globals transformers' environment has (range, namespace, dict,
 * joiner, raise_exception, strftime_now), loop.cycle, and what the
 * builtins share: binding call arguments, sorting, attribute paths.  The
 * filters are in jinja_filters.c, the methods of str, list and dict in
 * jinja_methods.c.
 */
#include "chat/jinja_py.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* jinja2's sandbox refuses a range longer than this (MAX_RANGE). */
#define J_MAX_RANGE 100000

const JArgs j_no_args = {0};

/* ---- arguments ---------------------------------------------------------------------- */

void
j_bind(JRender *r, const char *fname, const JArgs *args, const char *const *names, int nnames, int nrequired,
	   JBound *b)
{
	memset(b, 0, sizeof(*b));
	if (args == NULL)
		args = &j_no_args;
	if (args->npos > nnames)
		j_fail(r, "%s() takes at most %d argument%s (%d given)", fname, nnames, nnames == 1 ? "" : "s",
			   args->npos);
	for (int i = 0; i < args->npos; i++)
	{
		b->v[i] = args->pos[i];
		b->given[i] = true;
	}
	for (int k = 0; k < args->nkw; k++)
	{
		JStr		kw = args->kw_names[k];
		int			i;

		for (i = 0; i < nnames; i++)
			if (j_str_eq(kw, names[i]))
				break;
		if (i == nnames)
			j_fail(r, "%s() got an unexpected keyword argument '%.*s'", fname, (int) kw.len, kw.p);
		if (b->given[i])
			j_fail(r, "%s() got multiple values for argument '%s'", fname, names[i]);
		b->v[i] = args->kw[k];
		b->given[i] = true;
	}
	for (int i = 0; i < nrequired; i++)
		if (!b->given[i])
			j_fail(r, "%s() missing required argument '%s'", fname, names[i]);
}

int64_t
j_int_arg(JRender *r, JValue v, const char *what)
{
	if (!j_is_intlike(v))
		j_fail(r, "'%s' object cannot be interpreted as an integer (%s)", j_type_name(v), what);
	return j_int_of(v);
}

/* ---- sorting ------------------------------------------------------------------------- */

void
j_sort(JRender *r, JValue *items, JValue *keys, size_t n, bool reverse)
{
	size_t	   *idx;
	size_t	   *tmp;
	JValue	   *sorted;

	if (n < 2)
		return;
	idx = j_alloc(r, n * sizeof(size_t));
	tmp = j_alloc(r, n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	/* Bottom-up merge sort: stable, and it compares only what it must. */
	for (size_t width = 1; width < n; width *= 2)
	{
		for (size_t lo = 0; lo < n; lo += 2 * width)
		{
			size_t		mid = lo + width < n ? lo + width : n;
			size_t		hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t		a = lo;
			size_t		b = mid;
			size_t		k = lo;

			while (a < mid && b < hi)
			{
				int			c;

				j_step(r);
				c = j_compare(r, keys[idx[b]], keys[idx[a]]);
				/* Take the right one only when strictly before: ties keep their order. */
				if (reverse ? c > 0 : c < 0)
					tmp[k++] = idx[b++];
				else
					tmp[k++] = idx[a++];
			}
			while (a < mid)
				tmp[k++] = idx[a++];
			while (b < hi)
				tmp[k++] = idx[b++];
		}
		{
			size_t	   *swap = idx;

			idx = tmp;
			tmp = swap;
		}
	}
	sorted = j_alloc(r, n * sizeof(JValue));
	for (size_t i = 0; i < n; i++)
		sorted[i] = items[idx[i]];
	memcpy(items, sorted, n * sizeof(JValue));
	for (size_t i = 0; i < n; i++)
		sorted[i] = keys[idx[i]];
	memcpy(keys, sorted, n * sizeof(JValue));
}

/* ---- attribute paths ------------------------------------------------------------------ */

void
j_attr_path(JRender *r, JValue attribute, JAttrPath *path)
{
	path->nparts = 0;
	path->parts = NULL;
	if (attribute.kind == J_NONE)
		return;
	if (attribute.kind == J_STRING)
	{
		JValue		parts = j_str_split(r, attribute.u.s, &JSTR_LIT("."), -1, false);

		path->nparts = (int) parts.u.list->len;
		path->parts = parts.u.list->items;
		/* "items.0" looks up the item 0: digit parts are integers. */
		for (int i = 0; i < path->nparts; i++)
		{
			JStr		part = path->parts[i].u.s;

			if (j_ascii_digits(part))
			{
				int64_t		v;

				if (j_parse_int(r, part, 10, &v))
					path->parts[i] = j_int(v);
			}
		}
		return;
	}
	path->nparts = 1;
	path->parts = j_alloc(r, sizeof(JValue));
	path->parts[0] = attribute;
}

JValue
j_attr_get(JRender *r, JValue item, const JAttrPath *path, const JValue *dflt)
{
	for (int i = 0; i < path->nparts; i++)
	{
		item = j_getitem(r, item, path->parts[i]);
		if (dflt != NULL && item.kind == J_UNDEFINED)
			item = *dflt;
	}
	return item;
}

/* ---- tests ------------------------------------------------------------------------------ */

typedef bool (*TestFn) (JRender *r, JValue v, const JArgs *args);

static void
no_args(JRender *r, const char *name, const JArgs *args)
{
	JBound		b;

	j_bind(r, name, args, NULL, 0, 0, &b);
}

/* The one argument of a comparison test (operator.eq and friends take no keywords). */
static JValue
other_arg(JRender *r, const char *name, const JArgs *args)
{
	if (args == NULL || args->nkw > 0 || args->npos != 1)
		j_fail(r, "the test %s takes exactly one argument", name);
	return args->pos[0];
}

static bool
test_defined(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "defined", args);
	return !j_is_undefined(v);
}

static bool
test_undefined(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "undefined", args);
	return j_is_undefined(v);
}

static bool
test_none(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "none", args);
	return v.kind == J_NONE;
}

static bool
test_boolean(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "boolean", args);
	return v.kind == J_BOOL;
}

static bool
test_true(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "true", args);
	return v.kind == J_BOOL && v.u.b;
}

static bool
test_false(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "false", args);
	return v.kind == J_BOOL && !v.u.b;
}

static bool
test_integer(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "integer", args);
	return v.kind == J_INT;
}

static bool
test_float(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "float", args);
	return v.kind == J_FLOAT;
}

/* Booleans are numbers too, as in Python. */
static bool
test_number(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "number", args);
	return j_is_number(v);
}

static bool
test_string(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "string", args);
	return v.kind == J_STRING;
}

static bool
test_mapping(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "mapping", args);
	return v.kind == J_DICT;
}

/* jinja2's sequence: has len() and []: strings, lists, tuples, dicts and undefined. */
static bool
test_sequence(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "sequence", args);
	return v.kind == J_STRING || (v.kind == J_LIST && !J_IS_GENERATOR(v)) || v.kind == J_DICT ||
		j_is_undefined(v);
}

static bool
test_iterable(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "iterable", args);
	return v.kind == J_STRING || v.kind == J_LIST || v.kind == J_DICT || j_is_undefined(v);
}

/* Undefined is callable (calling it fails). */
static bool
test_callable(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "callable", args);
	return v.kind == J_FUNCTION || v.kind == J_MACRO || v.kind == J_UNDEFINED;
}

static bool
test_escaped(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "escaped", args);
	return v.kind == J_STRING && v.safe;
}

static bool
test_lower(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "lower", args);
	return j_str_islower(j_as_str(r, v));
}

static bool
test_upper(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "upper", args);
	return j_str_isupper(j_as_str(r, v));
}

/* value % n == expected, with Python's % (so a string formats, and fails). */
static bool
remainder_is(JRender *r, JValue v, JValue n, int64_t expected)
{
	return j_equal(j_binop(r, JOP_MOD, v, n), j_int(expected));
}

static bool
test_odd(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "odd", args);
	return remainder_is(r, v, j_int(2), 1);
}

static bool
test_even(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "even", args);
	return remainder_is(r, v, j_int(2), 0);
}

static bool
test_divisibleby(JRender *r, JValue v, const JArgs *args)
{
	static const char *const names[] = {"num"};
	JBound		b;

	j_bind(r, "divisibleby", args, names, 1, 1, &b);
	return remainder_is(r, v, b.v[0], 0);
}

static bool
test_eq(JRender *r, JValue v, const JArgs *args)
{
	return j_equal(v, other_arg(r, "eq", args));
}

static bool
test_ne(JRender *r, JValue v, const JArgs *args)
{
	return !j_equal(v, other_arg(r, "ne", args));
}

static bool
test_lt(JRender *r, JValue v, const JArgs *args)
{
	return j_compare(r, v, other_arg(r, "lt", args)) < 0;
}

static bool
test_le(JRender *r, JValue v, const JArgs *args)
{
	return j_compare(r, v, other_arg(r, "le", args)) <= 0;
}

static bool
test_gt(JRender *r, JValue v, const JArgs *args)
{
	return j_compare(r, v, other_arg(r, "gt", args)) > 0;
}

static bool
test_ge(JRender *r, JValue v, const JArgs *args)
{
	return j_compare(r, v, other_arg(r, "ge", args)) >= 0;
}

static bool
test_in(JRender *r, JValue v, const JArgs *args)
{
	static const char *const names[] = {"seq"};
	JBound		b;

	j_bind(r, "in", args, names, 1, 1, &b);
	return j_contains(r, b.v[0], v);
}

/*
 * `is sameas`: Python's identity.  None, True and False are singletons,
 * CPython caches the small ints; strings, lists and dicts are the same
 * object only when they are the same value here too.
 */
static bool
test_sameas(JRender *r, JValue v, const JArgs *args)
{
	static const char *const names[] = {"other"};
	JBound		b;
	JValue		o;

	j_bind(r, "sameas", args, names, 1, 1, &b);
	o = b.v[0];
	if (v.kind != o.kind)
		return false;
	switch (v.kind)
	{
		case J_NONE:
			return true;
		case J_UNDEFINED:
			return false;
		case J_BOOL:
			return v.u.b == o.u.b;
		case J_INT:
			return v.u.i == o.u.i && v.u.i >= -5 && v.u.i <= 256;
		case J_FLOAT:
			return false;
		case J_STRING:
			return v.u.s.p == o.u.s.p && v.u.s.len == o.u.s.len;
		case J_LIST:
			return v.u.list == o.u.list;
		case J_DICT:
		case J_NAMESPACE:
			return v.u.dict == o.u.dict;
		case J_MACRO:
			return v.u.macro == o.u.macro;
		case J_FUNCTION:
			return v.u.fn == o.u.fn;
	}
	return false;
}

static bool
test_filter(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "filter", args);
	return v.kind == J_STRING && j_filter_exists(v.u.s);
}

static bool
test_test(JRender *r, JValue v, const JArgs *args)
{
	no_args(r, "test", args);
	return v.kind == J_STRING && j_test_exists(v.u.s);
}

static const struct
{
	const char *name;
	TestFn		fn;
}			TESTS[] = {
	{"boolean", test_boolean}, {"callable", test_callable}, {"defined", test_defined},
	{"divisibleby", test_divisibleby}, {"eq", test_eq}, {"equalto", test_eq}, {"==", test_eq},
	{"escaped", test_escaped}, {"even", test_even}, {"false", test_false}, {"filter", test_filter},
	{"float", test_float}, {"ge", test_ge}, {">=", test_ge}, {"gt", test_gt}, {">", test_gt},
	{"greaterthan", test_gt}, {"in", test_in}, {"integer", test_integer}, {"iterable", test_iterable},
	{"le", test_le}, {"<=", test_le}, {"lower", test_lower}, {"lt", test_lt}, {"<", test_lt},
	{"lessthan", test_lt}, {"mapping", test_mapping}, {"ne", test_ne}, {"!=", test_ne},
	{"none", test_none}, {"number", test_number}, {"odd", test_odd}, {"sameas", test_sameas},
	{"sequence", test_sequence}, {"string", test_string}, {"test", test_test}, {"true", test_true},
	{"undefined", test_undefined}, {"upper", test_upper},
};

static TestFn
find_test(JStr name)
{
	for (size_t i = 0; i < sizeof(TESTS) / sizeof(TESTS[0]); i++)
		if (j_str_eq(name, TESTS[i].name))
			return TESTS[i].fn;
	return NULL;
}

bool
j_test_exists(JStr name)
{
	return find_test(name) != NULL;
}

bool
j_test(JRender *r, JStr name, JValue in, const JArgs *args)
{
	TestFn		fn = find_test(name);

	if (fn == NULL)
		j_fail(r, "No test named '%.*s'.", (int) name.len, name.p);
	if (args == NULL)
		args = &j_no_args;
	return fn(r, in, args);
}

/* ---- globals ------------------------------------------------------------------------------ */

/* range(stop) or range(start, stop[, step]), as a list. */
static JValue
global_range(JRender *r, const JArgs *args)
{
	int64_t		start = 0;
	int64_t		stop;
	int64_t		step = 1;
	int64_t		n;
	JValue		out;

	if (args->nkw > 0)
		j_fail(r, "range() takes no keyword arguments");
	if (args->npos < 1 || args->npos > 3)
		j_fail(r, "range expected at least 1 argument, got %d", args->npos);
	if (args->npos == 1)
		stop = j_int_arg(r, args->pos[0], "range");
	else
	{
		start = j_int_arg(r, args->pos[0], "range");
		stop = j_int_arg(r, args->pos[1], "range");
		if (args->npos == 3)
			step = j_int_arg(r, args->pos[2], "range");
	}
	if (step == 0)
		j_fail(r, "range() arg 3 must not be zero");
	/* The count in 128 bits: the bounds may be anywhere in int64. */
	if (step > 0)
		n = stop > start ? (int64_t) (((__int128) stop - start - 1) / step + 1) : 0;
	else
		n = stop < start ? (int64_t) (((__int128) start - stop - 1) / -(__int128) step + 1) : 0;
	if (n > J_MAX_RANGE)
		j_fail(r, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", J_MAX_RANGE);
	out = j_list(r, (size_t) n);
	for (int64_t i = 0; i < n; i++)
	{
		j_step(r);
		out.u.list->items[i] = j_int(start + i * step);
	}
	return out;
}

/* dict(*args, **kwargs) into d: a mapping or (key, value) pairs, then the keywords. */
static void
fill_dict(JRender *r, JDict *d, const JArgs *args, const char *fname)
{
	if (args->npos > 1)
		j_fail(r, "%s expected at most 1 argument, got %d", fname, args->npos);
	if (args->npos == 1)
	{
		JValue		src = args->pos[0];

		if (src.kind == J_DICT || src.kind == J_NAMESPACE)
		{
			if (src.kind == J_NAMESPACE)
				j_fail(r, "'Namespace' object is not iterable");
			for (size_t i = 0; i < src.u.dict->len; i++)
			{
				j_step(r);
				j_dict_set(r, d, src.u.dict->keys[i], src.u.dict->vals[i]);
			}
		}
		else
		{
			JList	   *pairs = j_iter(r, src);

			for (size_t i = 0; i < pairs->len; i++)
			{
				JValue		pair = pairs->items[i];
				JList	   *kv;

				j_step(r);
				if (pair.kind != J_LIST && pair.kind != J_STRING && pair.kind != J_DICT)
					j_fail(r, "cannot convert dictionary update sequence element #%zu to a sequence", i);
				kv = j_iter(r, pair);
				if (kv->len != 2)
					j_fail(r, "dictionary update sequence element #%zu has length %zu; 2 is required", i,
						   kv->len);
				j_dict_set(r, d, kv->items[0], kv->items[1]);
			}
		}
	}
	for (int k = 0; k < args->nkw; k++)
		j_dict_set(r, d, j_string_ref(args->kw_names[k]), args->kw[k]);
}

static JValue
global_dict(JRender *r, const JArgs *args)
{
	JValue		d = j_dict(r, (size_t) args->nkw);

	fill_dict(r, d.u.dict, args, "dict");
	return d;
}

static JValue
global_namespace(JRender *r, const JArgs *args)
{
	JValue		ns = j_namespace(r);

	fill_dict(r, ns.u.dict, args, "namespace");
	return ns;
}

/* transformers' raise_exception(message): the render fails with the template's message. */
static JValue
global_raise_exception(JRender *r, const JArgs *args)
{
	static const char *const names[] = {"message"};
	JBound		b;
	JStr		msg;

	j_bind(r, "raise_exception", args, names, 1, 1, &b);
	msg = j_as_str(r, b.v[0]);
	j_fail(r, "%.*s", (int) msg.len, msg.p);
}

/*
 * transformers' strftime_now(format): the render's clock in UTC, as
 * datetime.strftime writes it (it handles %f, %z and %Z itself and leaves
 * the rest to C's strftime).
 */
static JValue
global_strftime_now(JRender *r, const JArgs *args)
{
	static const char *const names[] = {"format"};
	JBound		b;
	JStr		f;
	JBuf		cfmt = {0};
	time_t		t = (time_t) r->now;
	struct tm	tm;
	size_t		cap;

	j_bind(r, "strftime_now", args, names, 1, 1, &b);
	if (b.v[0].kind != J_STRING)
		j_fail(r, "strftime() argument 1 must be str, not %s", j_type_name(b.v[0]));
	f = b.v[0].u.s;
	if (memchr(f.p, '\0', f.len) != NULL)
		j_fail(r, "embedded null character");
	for (size_t i = 0; i < f.len; i++)
	{
		if (f.p[i] == '%' && i + 1 < f.len)
		{
			char		c = f.p[++i];

			if (c == 'f')
				j_buf_put(r, &cfmt, "000000", 6);
			else if (c == 'z')
				j_buf_put(r, &cfmt, "+0000", 5);
			else if (c == 'Z')
				j_buf_put(r, &cfmt, "UTC", 3);
			else
			{
				j_buf_putc(r, &cfmt, '%');
				j_buf_putc(r, &cfmt, c);
			}
			continue;
		}
		j_buf_putc(r, &cfmt, f.p[i]);
	}
	j_buf_putc(r, &cfmt, '\0');
	if (gmtime_r(&t, &tm) == NULL)
		j_fail(r, "the clock is out of range");
	for (cap = cfmt.len * 8 + 64; cap <= (size_t) 1 << 24; cap *= 4)
	{
		char	   *out = j_alloc(r, cap);
		size_t		n = strftime(out, cap, cfmt.p, &tm);

		/* 0 is also a correct empty result ("%p" in some locales); a larger buffer settles it. */
		if (n > 0 || cap > cfmt.len * 64 + 256)
			return j_string(r, out, n);
	}
	j_fail(r, "strftime_now() result is too long");
}

/* joiner(sep=", "): a callable that returns "" the first time, then sep. */
static JValue
global_joiner(JRender *r, const JArgs *args)
{
	static const char *const names[] = {"sep"};
	JBound		b;
	JValue		state = j_namespace(r);
	JValue		fn = {.kind = J_FUNCTION};

	j_bind(r, "joiner", args, names, 1, 0, &b);
	j_dict_set(r, state.u.dict, j_string_ref(JSTR_LIT("sep")), j_arg(&b, 0, j_string_ref(JSTR_LIT(", "))));
	j_dict_set(r, state.u.dict, j_string_ref(JSTR_LIT("used")), j_bool(false));
	fn.u.fn = j_alloc(r, sizeof(JFunction));
	fn.u.fn->name = JSTR_LIT("joiner");
	fn.u.fn->self = state;
	return fn;
}

static JValue
call_joiner(JRender *r, JValue state, const JArgs *args)
{
	JValue		used;
	JValue		sep;

	no_args(r, "joiner", args);
	j_dict_get(state.u.dict, j_string_ref(JSTR_LIT("used")), &used);
	if (!j_truthy(used))
	{
		j_dict_set(r, state.u.dict, j_string_ref(JSTR_LIT("used")), j_bool(true));
		return j_string_ref(JSTR_LIT(""));
	}
	j_dict_get(state.u.dict, j_string_ref(JSTR_LIT("sep")), &sep);
	return sep;
}

/* loop.cycle(a, b, ...): the argument at the loop's index0, round robin. */
static JValue
call_cycle(JRender *r, int64_t index0, const JArgs *args)
{
	if (args->nkw > 0)
		j_fail(r, "cycle() takes no keyword arguments");
	if (args->npos == 0)
		j_fail(r, "no items for cycling given");
	return args->pos[index0 % args->npos];
}

typedef JValue (*GlobalFn) (JRender *r, const JArgs *args);

typedef struct Global
{
	JFunction	fn;				/* the value j_global returns points here */
	GlobalFn	call;
} Global;

#define GLOBAL(name, call) {{JSTR_LIT(name), {.kind = J_UNDEFINED}}, call}

static Global GLOBALS[] = {
	GLOBAL("dict", global_dict),
	GLOBAL("joiner", global_joiner),
	GLOBAL("namespace", global_namespace),
	GLOBAL("raise_exception", global_raise_exception),
	GLOBAL("range", global_range),
	GLOBAL("strftime_now", global_strftime_now),
};

JValue
j_global(JStr name)
{
	for (size_t i = 0; i < sizeof(GLOBALS) / sizeof(GLOBALS[0]); i++)
	{
		if (GLOBALS[i].fn.name.len == name.len && memcmp(GLOBALS[i].fn.name.p, name.p, name.len) == 0)
		{
			JValue		v = {.kind = J_FUNCTION};

			v.u.fn = &GLOBALS[i].fn;
			return v;
		}
	}
	return j_undefined(name);
}

JValue
j_call_builtin(JRender *r, const JFunction *fn, const JArgs *args)
{
	if (args == NULL)
		args = &j_no_args;
	j_step(r);
	if (fn->self.kind == J_UNDEFINED)
	{
		for (size_t i = 0; i < sizeof(GLOBALS) / sizeof(GLOBALS[0]); i++)
			if (fn->name.len == GLOBALS[i].fn.name.len &&
				memcmp(fn->name.p, GLOBALS[i].fn.name.p, fn->name.len) == 0)
				return GLOBALS[i].call(r, args);
		j_fail(r, "'%.*s' is undefined", (int) fn->name.len, fn->name.p);
	}
	if (fn->self.kind == J_INT && j_str_eq(fn->name, "cycle"))
		return call_cycle(r, fn->self.u.i, args);
	if (fn->self.kind == J_NAMESPACE && j_str_eq(fn->name, "joiner"))
		return call_joiner(r, fn->self, args);
	return j_call_method(r, fn, args);
}
