/*
 * jinja_value.c — the chat-template interpreter's values, with Python's
 * semantics: truth, equality and order, attributes, items and slices,
 * len(), iteration, `in`, and the arithmetic operators.  How values print
 * (str, repr, JSON) is in jinja_print.c.
 *
 * Python's ints are unbounded; ours are 64 bits, and arithmetic that
 * leaves them fails the render instead of wrapping.
 */
#include "chat/jinja_py.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool equal_at(JValue a, JValue b, int depth);
static void fail_unordered(JRender *r, JValue a, JValue b) __attribute__((noreturn));
static void fail_operands(JRender *r, JBinOp op, JValue a, JValue b) __attribute__((noreturn));

/* ---- constructors --------------------------------------------------------- */

JValue
j_undefined(JStr name)
{
	JValue		v = {.kind = J_UNDEFINED};

	v.u.s = name;
	return v;
}

JValue
j_none(void)
{
	JValue		v = {.kind = J_NONE};

	return v;
}

JValue
j_bool(bool b)
{
	JValue		v = {.kind = J_BOOL};

	v.u.b = b;
	return v;
}

JValue
j_int(int64_t i)
{
	JValue		v = {.kind = J_INT};

	v.u.i = i;
	return v;
}

JValue
j_float(double f)
{
	JValue		v = {.kind = J_FLOAT};

	v.u.f = f;
	return v;
}

JValue
j_string(JRender *r, const char *p, size_t len)
{
	JValue		v = {.kind = J_STRING};
	char	   *copy = j_alloc(r, len + 1);

	if (len > 0)
		memcpy(copy, p, len);
	copy[len] = '\0';
	v.u.s = (JStr) {copy, len};
	return v;
}

JValue
j_string_safe(JRender *r, JStr s, bool safe)
{
	JValue		v = j_string(r, s.p, s.len);

	v.safe = safe;
	return v;
}

JValue
j_string_ref(JStr s)
{
	JValue		v = {.kind = J_STRING};

	v.u.s = s;
	return v;
}

JValue
j_list(JRender *r, size_t len)
{
	JValue		v = {.kind = J_LIST};
	JList	   *l;

	if (len > SIZE_MAX / sizeof(JValue) / 2)
		j_fail(r, "a list of %zu items is too long", len);
	l = j_alloc(r, sizeof(JList));
	l->len = len;
	l->items = NULL;
	l->is_tuple = false;
	if (len > 0)
	{
		l->items = j_alloc(r, len * sizeof(JValue));
		memset(l->items, 0, len * sizeof(JValue));
	}
	v.u.list = l;
	return v;
}

JValue
j_dict(JRender *r, size_t cap)
{
	JValue		v = {.kind = J_DICT};
	JDict	   *d;

	if (cap > SIZE_MAX / sizeof(JValue) / 4)
		j_fail(r, "a dict of %zu items is too large", cap);
	if (cap < 4)
		cap = 4;
	d = j_alloc(r, sizeof(JDict));
	d->len = 0;
	d->cap = cap;
	d->keys = j_alloc(r, cap * sizeof(JValue));
	d->vals = j_alloc(r, cap * sizeof(JValue));
	v.u.dict = d;
	return v;
}

JValue
j_namespace(JRender *r)
{
	JValue		v = j_dict(r, 4);

	v.kind = J_NAMESPACE;
	return v;
}

/* ---- dicts ---------------------------------------------------------------- */

void
j_check_hashable(JRender *r, JValue key)
{
	if (key.kind == J_DICT || (key.kind == J_LIST && !J_IS_GENERATOR(key) && !key.u.list->is_tuple))
		j_fail(r, "unhashable type: '%s'", j_type_name(key));
	/* A tuple hashes its items. */
	if (key.kind == J_LIST && key.u.list->is_tuple)
		for (size_t i = 0; i < key.u.list->len; i++)
			j_check_hashable(r, key.u.list->items[i]);
}

void
j_dict_set(JRender *r, JDict *d, JValue key, JValue val)
{
	j_check_hashable(r, key);
	for (size_t i = 0; i < d->len; i++)
	{
		/* Python keeps the first key of equal ones (1, 1.0, True) and replaces the value. */
		if (j_equal(d->keys[i], key))
		{
			d->vals[i] = val;
			return;
		}
	}
	if (d->len == d->cap)
	{
		size_t		cap = d->cap ? d->cap * 2 : 4;
		JValue	   *keys = j_alloc(r, cap * sizeof(JValue));
		JValue	   *vals = j_alloc(r, cap * sizeof(JValue));

		if (d->len > 0)
		{
			memcpy(keys, d->keys, d->len * sizeof(JValue));
			memcpy(vals, d->vals, d->len * sizeof(JValue));
		}
		d->keys = keys;
		d->vals = vals;
		d->cap = cap;
	}
	d->keys[d->len] = key;
	d->vals[d->len] = val;
	d->len++;
}

bool
j_dict_get(const JDict *d, JValue key, JValue *val)
{
	for (size_t i = 0; i < d->len; i++)
	{
		if (j_equal(d->keys[i], key))
		{
			if (val != NULL)
				*val = d->vals[i];
			return true;
		}
	}
	return false;
}

/* ---- type names, truth, equality, order ------------------------------------ */

const char *
j_type_name(JValue v)
{
	switch (v.kind)
	{
		case J_UNDEFINED:
			return "Undefined";
		case J_NONE:
			return "NoneType";
		case J_BOOL:
			return "bool";
		case J_INT:
			return "int";
		case J_FLOAT:
			return "float";
		case J_STRING:
			return v.safe ? "Markup" : "str";
		case J_LIST:
			return v.safe ? "generator" : v.u.list->is_tuple ? "tuple" : "list";
		case J_DICT:
			return "dict";
		case J_NAMESPACE:
			return "Namespace";
		case J_MACRO:
			return "Macro";
		case J_FUNCTION:
			return j_method_refused(v.u.fn) ? "Undefined" : "builtin_function_or_method";
	}
	return "object";
}

void
j_fail_undefined(JRender *r, JValue v)
{
	if (v.kind == J_FUNCTION)
		j_fail_refused(r, v.u.fn);
	if (v.u.s.len == 0)
		j_fail(r, "an undefined value is used");
	j_fail(r, "'%.*s' is undefined", (int) v.u.s.len, v.u.s.p);
}

void
j_check_defined(JRender *r, JValue v)
{
	if (j_is_undefined(v))
		j_fail_undefined(r, v);
}

bool
j_truthy(JValue v)
{
	switch (v.kind)
	{
		case J_UNDEFINED:
		case J_NONE:
			return false;
		case J_BOOL:
			return v.u.b;
		case J_INT:
			return v.u.i != 0;
		case J_FLOAT:
			return v.u.f != 0.0;
		case J_STRING:
			return v.u.s.len > 0;
		case J_LIST:
			/* A generator is true even when it yields nothing. */
			return J_IS_GENERATOR(v) || v.u.list->len > 0;
		case J_DICT:
			return v.u.dict->len > 0;
		case J_FUNCTION:
			return !j_method_refused(v.u.fn);
		case J_NAMESPACE:
		case J_MACRO:
			return true;
	}
	return true;
}

/* Compare an int with a float exactly, as Python does (not by rounding the int). */
static int
cmp_int_float(int64_t i, double f)
{
	double		t;
	int64_t		ti;

	if (f >= 9223372036854775808.0)
		return -1;
	if (f < -9223372036854775808.0)
		return 1;
	t = trunc(f);
	ti = (int64_t) t;
	if (i != ti)
		return i < ti ? -1 : 1;
	if (f > t)
		return -1;
	if (f < t)
		return 1;
	return 0;
}

/* Numbers' order; nan compares equal to nothing and unordered with everything (0). */
static int
cmp_numbers(JValue a, JValue b, bool *unordered)
{
	*unordered = false;
	if (j_is_intlike(a) && j_is_intlike(b))
	{
		int64_t		x = j_int_of(a);
		int64_t		y = j_int_of(b);

		return x < y ? -1 : x > y;
	}
	if (a.kind == J_FLOAT && b.kind == J_FLOAT)
	{
		if (isnan(a.u.f) || isnan(b.u.f))
		{
			*unordered = true;
			return 0;
		}
		return a.u.f < b.u.f ? -1 : a.u.f > b.u.f;
	}
	if (a.kind == J_FLOAT)
	{
		if (isnan(a.u.f))
		{
			*unordered = true;
			return 0;
		}
		return -cmp_int_float(j_int_of(b), a.u.f);
	}
	if (isnan(b.u.f))
	{
		*unordered = true;
		return 0;
	}
	return cmp_int_float(j_int_of(a), b.u.f);
}

static int
cmp_strings(JStr a, JStr b)
{
	size_t		n = a.len < b.len ? a.len : b.len;
	int			c = n > 0 ? memcmp(a.p, b.p, n) : 0;

	/* UTF-8 byte order is code point order. */
	if (c != 0)
		return c < 0 ? -1 : 1;
	return a.len < b.len ? -1 : a.len > b.len;
}

static bool
equal_at(JValue a, JValue b, int depth)
{
	if (j_is_number(a) && j_is_number(b))
	{
		bool		unordered;

		return cmp_numbers(a, b, &unordered) == 0 && !unordered;
	}
	if (a.kind != b.kind)
		return false;
	switch (a.kind)
	{
		case J_UNDEFINED:
		case J_NONE:
			return true;
		case J_STRING:
			return a.u.s.len == b.u.s.len && (a.u.s.len == 0 || memcmp(a.u.s.p, b.u.s.p, a.u.s.len) == 0);
		case J_LIST:
			if (a.u.list == b.u.list)
				return J_IS_GENERATOR(a) == J_IS_GENERATOR(b);
			if (J_IS_GENERATOR(a) || J_IS_GENERATOR(b) || a.u.list->len != b.u.list->len ||
				a.u.list->is_tuple != b.u.list->is_tuple)
				return false;
			if (depth >= J_MAX_NESTING)
				return false;
			for (size_t i = 0; i < a.u.list->len; i++)
				if (!equal_at(a.u.list->items[i], b.u.list->items[i], depth + 1))
					return false;
			return true;
		case J_DICT:
			if (a.u.dict == b.u.dict)
				return true;
			if (a.u.dict->len != b.u.dict->len || depth >= J_MAX_NESTING)
				return false;
			for (size_t i = 0; i < a.u.dict->len; i++)
			{
				JValue		other;

				if (!j_dict_get(b.u.dict, a.u.dict->keys[i], &other) ||
					!equal_at(a.u.dict->vals[i], other, depth + 1))
					return false;
			}
			return true;
		case J_NAMESPACE:
			return a.u.dict == b.u.dict;
		case J_MACRO:
			return a.u.macro == b.u.macro;
		case J_FUNCTION:
			if (a.u.fn == b.u.fn)
				return true;
			return a.u.fn->name.len == b.u.fn->name.len &&
				memcmp(a.u.fn->name.p, b.u.fn->name.p, a.u.fn->name.len) == 0 &&
				a.u.fn->self.kind == b.u.fn->self.kind &&
				a.u.fn->self.u.list == b.u.fn->self.u.list;
		default:
			return false;
	}
}

bool
j_equal(JValue a, JValue b)
{
	return equal_at(a, b, 0);
}

static void
fail_unordered(JRender *r, JValue a, JValue b)
{
	j_fail(r, "'<' not supported between instances of '%s' and '%s'", j_type_name(a), j_type_name(b));
}

static int
compare_at(JRender *r, JValue a, JValue b, int depth)
{
	if (j_is_undefined(a))
		j_fail_undefined(r, a);
	if (j_is_undefined(b))
		j_fail_undefined(r, b);
	if (j_is_number(a) && j_is_number(b))
	{
		bool		unordered;

		return cmp_numbers(a, b, &unordered);
	}
	if (a.kind == J_STRING && b.kind == J_STRING)
		return cmp_strings(a.u.s, b.u.s);
	if (a.kind == J_LIST && b.kind == J_LIST && !J_IS_GENERATOR(a) && !J_IS_GENERATOR(b) &&
		a.u.list->is_tuple == b.u.list->is_tuple)
	{
		size_t		n = a.u.list->len < b.u.list->len ? a.u.list->len : b.u.list->len;

		if (depth >= J_MAX_NESTING)
			j_fail(r, "maximum recursion depth exceeded in comparison");
		/* Python compares the first items that are not equal. */
		for (size_t i = 0; i < n; i++)
		{
			JValue		x = a.u.list->items[i];
			JValue		y = b.u.list->items[i];

			j_step(r);
			if (!equal_at(x, y, 0))
				return compare_at(r, x, y, depth + 1);
		}
		return a.u.list->len < b.u.list->len ? -1 : a.u.list->len > b.u.list->len;
	}
	fail_unordered(r, a, b);
}

int
j_compare(JRender *r, JValue a, JValue b)
{
	return compare_at(r, a, b, 0);
}

/* ---- attributes, items, slices --------------------------------------------- */

JValue
j_attribute(JRender *r, JValue obj, JStr name)
{
	JValue		v;

	if (obj.kind == J_UNDEFINED)
		j_fail_undefined(r, obj);
	/* The sandbox hides every attribute whose name starts with an underscore. */
	if (name.len > 0 && name.p[0] == '_')
		return j_undefined(name);
	switch (obj.kind)
	{
		case J_NAMESPACE:
			if (j_dict_get(obj.u.dict, j_string_ref(name), &v))
				return v;
			return j_undefined(name);
		case J_STRING:
		case J_LIST:
		case J_DICT:
			if (j_method_bind(r, obj, name, &v))
				return v;
			return j_undefined(name);
		default:
			return j_undefined(name);
	}
}

JValue
j_getattr(JRender *r, JValue obj, JStr name)
{
	JValue		v;

	/*
	 * jinja2 prefers the attribute and falls back to the item: d.items is
	 * the method even when d has an "items" key; d._x is the item (dict has
	 * no attribute _x), while d.__class__ is hidden.
	 */
	if (obj.kind == J_DICT)
	{
		if (name.len >= 2 && name.p[0] == '_' && name.p[1] == '_')
			return j_undefined(name);
		if (j_method_bind(r, obj, name, &v))
			return v;
		if (j_dict_get(obj.u.dict, j_string_ref(name), &v))
			return v;
		return j_undefined(name);
	}
	if (obj.kind == J_FUNCTION && j_method_refused(obj.u.fn))
		j_fail_refused(r, obj.u.fn);
	return j_attribute(r, obj, name);
}

/* Byte range of code points [start, start + count) of s. */
static JStr
cp_substr(JStr s, size_t start, size_t count)
{
	size_t		from = j_cp_offset(s, start);
	JStr		rest = {s.p + from, s.len - from};
	size_t		to = j_cp_offset(rest, count);

	return (JStr) {s.p + from, to};
}

JValue
j_getitem(JRender *r, JValue obj, JValue key)
{
	JValue		v;

	switch (obj.kind)
	{
		case J_UNDEFINED:
			j_fail_undefined(r, obj);
		case J_DICT:
			if (key.kind != J_DICT && !(key.kind == J_LIST && !J_IS_GENERATOR(key) && !key.u.list->is_tuple) &&
				j_dict_get(obj.u.dict, key, &v))
				return v;
			break;
		case J_LIST:
			if (!J_IS_GENERATOR(obj) && j_is_intlike(key))
			{
				int64_t		i = j_int_of(key);
				int64_t		n = (int64_t) obj.u.list->len;

				if (i < 0)
					i += n;
				if (i >= 0 && i < n)
					return obj.u.list->items[i];
				return j_undefined(JSTR_LIT("list index"));
			}
			break;
		case J_STRING:
			if (j_is_intlike(key))
			{
				int64_t		i = j_int_of(key);
				int64_t		n = (int64_t) j_cp_count(obj.u.s);

				if (i < 0)
					i += n;
				if (i >= 0 && i < n)
					return j_string_safe(r, cp_substr(obj.u.s, (size_t) i, 1), obj.safe);
				return j_undefined(JSTR_LIT("string index"));
			}
			break;
		case J_FUNCTION:
			if (j_method_refused(obj.u.fn))
				j_fail_refused(r, obj.u.fn);
			break;
		default:
			break;
	}
	/* The sandbox's getitem falls back to the attribute for a string key. */
	if (key.kind == J_STRING)
		return j_attribute(r, obj, key.u.s);
	return j_undefined(j_as_str(r, key));
}

static int64_t
slice_bound(JRender *r, JValue v, int64_t if_none)
{
	if (v.kind == J_NONE || v.kind == J_UNDEFINED)
		return if_none;
	if (!j_is_intlike(v))
		j_fail(r, "slice indices must be integers or None or have an __index__ method");
	return j_int_of(v);
}

/* Python's PySlice_AdjustIndices: clamp start and stop, return the item count. */
static int64_t
adjust_slice(int64_t len, int64_t *start, int64_t *stop, int64_t step)
{
	if (*start < 0)
	{
		*start += len;
		if (*start < 0)
			*start = step < 0 ? -1 : 0;
	}
	else if (*start >= len)
		*start = step < 0 ? len - 1 : len;
	if (*stop < 0)
	{
		*stop += len;
		if (*stop < 0)
			*stop = step < 0 ? -1 : 0;
	}
	else if (*stop >= len)
		*stop = step < 0 ? len - 1 : len;
	if (step < 0)
		return *stop < *start ? (*start - *stop - 1) / (-step) + 1 : 0;
	return *start < *stop ? (*stop - *start - 1) / step + 1 : 0;
}

JValue
j_slice(JRender *r, JValue obj, JValue start, JValue stop, JValue step)
{
	int64_t		st;
	int64_t		lo;
	int64_t		hi;
	int64_t		len;
	int64_t		count;

	/* jinja2 slices with Python's subscript, not through the sandbox's getitem. */
	if (j_is_undefined(obj))
		j_fail_undefined(r, obj);
	if (obj.kind == J_DICT)
		j_fail(r, "unhashable type: 'slice'");
	if (obj.kind != J_STRING && !(obj.kind == J_LIST && !J_IS_GENERATOR(obj)))
		j_fail(r, "'%s' object is not subscriptable", j_type_name(obj));
	st = slice_bound(r, step, 1);
	if (st == 0)
		j_fail(r, "slice step cannot be zero");
	if (st < -INT64_MAX)
		st = -INT64_MAX;
	lo = slice_bound(r, start, st < 0 ? INT64_MAX : 0);
	hi = slice_bound(r, stop, st < 0 ? INT64_MIN : INT64_MAX);

	if (obj.kind == J_LIST)
	{
		JValue		out;

		len = (int64_t) obj.u.list->len;
		count = adjust_slice(len, &lo, &hi, st);
		out = j_list(r, (size_t) count);
		out.u.list->is_tuple = obj.u.list->is_tuple;
		for (int64_t i = 0; i < count; i++)
		{
			j_step(r);
			out.u.list->items[i] = obj.u.list->items[lo + i * st];
		}
		return out;
	}
	else
	{
		JStr		s = obj.u.s;
		JBuf		b = {0};
		size_t	   *offsets;
		size_t		pos = 0;

		len = (int64_t) j_cp_count(s);
		count = adjust_slice(len, &lo, &hi, st);
		if (st == 1)
			return j_string_safe(r, cp_substr(s, (size_t) lo, (size_t) count), obj.safe);
		/* Other steps: the byte offset of every code point. */
		offsets = j_alloc(r, ((size_t) len + 1) * sizeof(size_t));
		for (int64_t i = 0; i < len; i++)
		{
			offsets[i] = pos;
			j_cp_next(s, &pos);
		}
		offsets[len] = s.len;
		for (int64_t i = 0; i < count; i++)
		{
			int64_t		k = lo + i * st;

			j_step(r);
			j_buf_put(r, &b, s.p + offsets[k], offsets[k + 1] - offsets[k]);
		}
		return j_string_safe(r, j_buf_str(&b), obj.safe);
	}
}

int64_t
j_length(JRender *r, JValue v)
{
	switch (v.kind)
	{
		case J_UNDEFINED:
			return 0;
		case J_STRING:
			return (int64_t) j_cp_count(v.u.s);
		case J_LIST:
			if (J_IS_GENERATOR(v))
				break;
			return (int64_t) v.u.list->len;
		case J_DICT:
			return (int64_t) v.u.dict->len;
		case J_FUNCTION:
			if (j_method_refused(v.u.fn))
				return 0;
			break;
		default:
			break;
	}
	j_fail(r, "object of type '%s' has no len()", j_type_name(v));
}

JList *
j_iter(JRender *r, JValue v)
{
	switch (v.kind)
	{
		case J_LIST:
			return v.u.list;
		case J_DICT:
			{
				JList	   *keys = j_alloc(r, sizeof(JList));

				keys->len = v.u.dict->len;
				keys->items = v.u.dict->keys;
				keys->is_tuple = false;
				return keys;
			}
		case J_STRING:
			{
				size_t		n = j_cp_count(v.u.s);
				JValue		out = j_list(r, n);
				size_t		pos = 0;

				for (size_t i = 0; i < n; i++)
				{
					size_t		start = pos;

					j_step(r);
					j_cp_next(v.u.s, &pos);
					/* Iterating Markup gives plain str characters. */
					out.u.list->items[i] = j_string(r, v.u.s.p + start, pos - start);
				}
				return out.u.list;
			}
		case J_UNDEFINED:
			return j_list(r, 0).u.list;
		case J_FUNCTION:
			if (j_method_refused(v.u.fn))
				return j_list(r, 0).u.list;
			break;
		default:
			break;
	}
	j_fail(r, "'%s' object is not iterable", j_type_name(v));
}

bool
j_contains(JRender *r, JValue container, JValue item)
{
	switch (container.kind)
	{
		case J_STRING:
			if (item.kind != J_STRING)
			{
				if (j_is_undefined(item))
					j_fail_undefined(r, item);
				j_fail(r, "'in <string>' requires string as left operand, not %s", j_type_name(item));
			}
			return j_str_find(container.u.s, item.u.s, 0) >= 0;
		case J_LIST:
			for (size_t i = 0; i < container.u.list->len; i++)
			{
				j_step(r);
				if (j_equal(container.u.list->items[i], item))
					return true;
			}
			return false;
		case J_DICT:
			j_check_hashable(r, item);
			return j_dict_get(container.u.dict, item, NULL);
		case J_UNDEFINED:
			return false;
		case J_FUNCTION:
			if (j_method_refused(container.u.fn))
				return false;
			break;
		default:
			break;
	}
	j_fail(r, "argument of type '%s' is not iterable", j_type_name(container));
}

/* ---- arithmetic ------------------------------------------------------------ */

void
j_fail_overflow(JRender *r)
{
	j_fail(r, "integer overflow: the template computes a number past 64 bits");
}

static const char *
op_symbol(JBinOp op)
{
	switch (op)
	{
		case JOP_ADD:
			return "+";
		case JOP_SUB:
			return "-";
		case JOP_MUL:
			return "*";
		case JOP_DIV:
			return "/";
		case JOP_FLOORDIV:
			return "//";
		case JOP_MOD:
			return "%";
		case JOP_POW:
			return "**";
		case JOP_CONCAT:
			return "~";
	}
	return "?";
}

static void
fail_operands(JRender *r, JBinOp op, JValue a, JValue b)
{
	j_fail(r, "unsupported operand type(s) for %s: '%s' and '%s'", op_symbol(op), j_type_name(a),
		   j_type_name(b));
}

/* Markup + str escapes the str; the result is Markup. */
static JValue
add_strings(JRender *r, JValue a, JValue b)
{
	JBuf		buf = {0};

	if (!a.safe && !b.safe)
	{
		j_buf_put(r, &buf, a.u.s.p, a.u.s.len);
		j_buf_put(r, &buf, b.u.s.p, b.u.s.len);
		return j_string_ref(j_buf_str(&buf));
	}
	if (a.safe)
		j_buf_put(r, &buf, a.u.s.p, a.u.s.len);
	else
		j_html_escape(r, &buf, a.u.s);
	if (b.safe)
		j_buf_put(r, &buf, b.u.s.p, b.u.s.len);
	else
		j_html_escape(r, &buf, b.u.s);
	return j_string_safe(r, j_buf_str(&buf), true);
}

static JValue
add_lists(JRender *r, JValue a, JValue b)
{
	size_t		na = a.u.list->len;
	size_t		nb = b.u.list->len;
	JValue		out = j_list(r, na + nb);

	if (na > 0)
		memcpy(out.u.list->items, a.u.list->items, na * sizeof(JValue));
	if (nb > 0)
		memcpy(out.u.list->items + na, b.u.list->items, nb * sizeof(JValue));
	out.u.list->is_tuple = a.u.list->is_tuple;
	return out;
}

/* seq * n: a string or list repeated (n <= 0: empty). */
static JValue
repeat(JRender *r, JValue seq, int64_t n)
{
	bool		is_str = seq.kind == J_STRING;
	size_t		unit = is_str ? seq.u.s.len : seq.u.list->len * sizeof(JValue);
	size_t		total;
	char	   *p;

	if (n < 0)
		n = 0;
	if (unit > 0 && (uint64_t) n > r->limits.max_memory / unit)
		j_fail(r, "the %s repeated %lld times is too long", is_str ? "string" : "list", (long long) n);
	total = unit * (size_t) n;
	p = j_alloc(r, total + 1);
	/* Copy once, then double what is there. */
	if (total > 0)
		memcpy(p, is_str ? (const void *) seq.u.s.p : (const void *) seq.u.list->items, unit);
	for (size_t done = unit; done < total;)
	{
		size_t		chunk = done < total - done ? done : total - done;

		j_step(r);
		memcpy(p + done, p, chunk);
		done += chunk;
	}
	if (is_str)
	{
		p[total] = '\0';
		return j_string_safe(r, (JStr) {p, total}, seq.safe);
	}
	else
	{
		JValue		out = j_list(r, 0);

		out.u.list->items = (JValue *) p;
		out.u.list->len = total / sizeof(JValue);
		out.u.list->is_tuple = seq.u.list->is_tuple;
		return out;
	}
}

static bool
is_sequence_value(JValue v)
{
	return v.kind == J_STRING || (v.kind == J_LIST && !J_IS_GENERATOR(v));
}

/* Python's float floor division and modulo (CPython's float_divmod). */
static void
float_divmod(double x, double y, double *floordiv, double *mod)
{
	double		m = fmod(x, y);
	double		div = (x - m) / y;

	if (m != 0.0)
	{
		if ((y < 0) != (m < 0))
		{
			m += y;
			div -= 1.0;
		}
	}
	else
		m = copysign(0.0, y);
	if (div != 0.0)
	{
		double		fl = floor(div);

		if (div - fl > 0.5)
			fl += 1.0;
		*floordiv = fl;
	}
	else
		*floordiv = copysign(0.0, x / y);
	*mod = m;
}

static JValue
int_pow(JRender *r, int64_t base, int64_t exp)
{
	int64_t		result = 1;

	if (exp < 0)
	{
		if (base == 0)
			j_fail(r, "0.0 cannot be raised to a negative power");
		return j_float(pow((double) base, (double) exp));
	}
	while (exp > 0)
	{
		if (exp & 1)
		{
			if (__builtin_mul_overflow(result, base, &result))
				j_fail_overflow(r);
		}
		exp >>= 1;
		if (exp > 0 && __builtin_mul_overflow(base, base, &base))
		{
			/* base squared overflows: only 0, 1 and -1 powers stay in range, handled above. */
			j_fail_overflow(r);
		}
	}
	return j_int(result);
}

static JValue
float_pow(JRender *r, double x, double y)
{
	double		z;

	if (x == 0.0 && y < 0.0)
		j_fail(r, "0.0 cannot be raised to a negative power");
	if (x < 0.0 && isfinite(y) && y != floor(y))
		j_fail(r, "a negative number to a fractional power is a complex number, which templates do not support");
	z = pow(x, y);
	if (isinf(z) && isfinite(x) && isfinite(y))
		j_fail(r, "(34, 'Numerical result out of range')");
	return j_float(z);
}

static JValue
number_op(JRender *r, JBinOp op, JValue a, JValue b)
{
	if (j_is_intlike(a) && j_is_intlike(b))
	{
		int64_t		x = j_int_of(a);
		int64_t		y = j_int_of(b);
		int64_t		z;

		switch (op)
		{
			case JOP_ADD:
				if (__builtin_add_overflow(x, y, &z))
					j_fail_overflow(r);
				return j_int(z);
			case JOP_SUB:
				if (__builtin_sub_overflow(x, y, &z))
					j_fail_overflow(r);
				return j_int(z);
			case JOP_MUL:
				if (__builtin_mul_overflow(x, y, &z))
					j_fail_overflow(r);
				return j_int(z);
			case JOP_DIV:
				if (y == 0)
					j_fail(r, "division by zero");
				return j_float((double) x / (double) y);
			case JOP_FLOORDIV:
				if (y == 0)
					j_fail(r, "integer division or modulo by zero");
				if (x == INT64_MIN && y == -1)
					j_fail_overflow(r);
				z = x / y;
				if (x % y != 0 && ((x < 0) != (y < 0)))
					z--;
				return j_int(z);
			case JOP_MOD:
				if (y == 0)
					j_fail(r, "integer division or modulo by zero");
				if (y == -1)
					return j_int(0);
				z = x % y;
				/* Python's remainder takes the divisor's sign. */
				if (z != 0 && ((z < 0) != (y < 0)))
					z += y;
				return j_int(z);
			case JOP_POW:
				return int_pow(r, x, y);
			default:
				break;
		}
	}
	else
	{
		double		x = j_float_of(a);
		double		y = j_float_of(b);
		double		fl;
		double		m;

		switch (op)
		{
			case JOP_ADD:
				return j_float(x + y);
			case JOP_SUB:
				return j_float(x - y);
			case JOP_MUL:
				return j_float(x * y);
			case JOP_DIV:
				if (y == 0.0)
					j_fail(r, "float division by zero");
				return j_float(x / y);
			case JOP_FLOORDIV:
				if (y == 0.0)
					j_fail(r, "float floor division by zero");
				float_divmod(x, y, &fl, &m);
				return j_float(fl);
			case JOP_MOD:
				if (y == 0.0)
					j_fail(r, "float modulo");
				float_divmod(x, y, &fl, &m);
				return j_float(m);
			case JOP_POW:
				return float_pow(r, x, y);
			default:
				break;
		}
	}
	fail_operands(r, op, a, b);
}

JValue
j_binop(JRender *r, JBinOp op, JValue a, JValue b)
{
	if (op == JOP_CONCAT)
	{
		JBuf		buf = {0};

		/* ~ joins str() of both sides, undefined as nothing, never escaping. */
		j_to_str(r, &buf, a);
		j_to_str(r, &buf, b);
		return j_string_ref(j_buf_str(&buf));
	}
	/* Undefined's operators raise, on either side ("%s" % undefined formats it: str's % comes first). */
	j_check_defined(r, a);
	if (!(op == JOP_MOD && a.kind == J_STRING))
		j_check_defined(r, b);
	if (j_is_number(a) && j_is_number(b))
		return number_op(r, op, a, b);

	switch (op)
	{
		case JOP_ADD:
			if (a.kind == J_STRING && b.kind == J_STRING)
				return add_strings(r, a, b);
			if (a.kind == J_LIST && b.kind == J_LIST && !J_IS_GENERATOR(a) && !J_IS_GENERATOR(b) &&
				a.u.list->is_tuple == b.u.list->is_tuple)
				return add_lists(r, a, b);
			if (a.kind == J_STRING && !a.safe)
				j_fail(r, "can only concatenate str (not \"%s\") to str", j_type_name(b));
			if (a.kind == J_LIST && !J_IS_GENERATOR(a))
				j_fail(r, "can only concatenate %s (not \"%s\") to %s", j_type_name(a), j_type_name(b),
					   j_type_name(a));
			break;
		case JOP_MUL:
			if (is_sequence_value(a) && j_is_intlike(b))
				return repeat(r, a, j_int_of(b));
			if (j_is_intlike(a) && is_sequence_value(b))
				return repeat(r, b, j_int_of(a));
			if (is_sequence_value(a) || is_sequence_value(b))
				j_fail(r, "can't multiply sequence by non-int of type '%s'",
					   j_type_name(is_sequence_value(a) ? b : a));
			break;
		case JOP_MOD:
			if (a.kind == J_STRING)
				return j_percent_value(r, a, b);
			break;
		default:
			break;
	}
	fail_operands(r, op, a, b);
}

JValue
j_negate(JRender *r, JValue v)
{
	j_check_defined(r, v);
	if (j_is_intlike(v))
	{
		if (j_int_of(v) == INT64_MIN)
			j_fail_overflow(r);
		return j_int(-j_int_of(v));
	}
	if (v.kind == J_FLOAT)
		return j_float(-v.u.f);
	j_fail(r, "bad operand type for unary -: '%s'", j_type_name(v));
}
