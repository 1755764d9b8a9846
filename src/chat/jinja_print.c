/*
 * jinja_print.c — how chat-template values print: Python's str() and
 * repr() (floats as their shortest repr, strings quoted as Python quotes
 * them), json.dumps as transformers' tojson calls it (ensure_ascii=False),
 * and JSON documents read into values.
 */
#include "chat/jinja_py.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON nested deeper than this is refused (jansson's parser stops at 2048). */
#define J_MAX_JSON_DEPTH 2048

static void repr_at(JRender *r, JBuf *out, JValue v, int depth);

/* ---- str() and repr() ------------------------------------------------------ */

/*
 * Next to a power of two the doubles around f are not evenly spaced, and
 * the correctly rounded digits in tmp (from %.*e) may miss f while the
 * digit string one unit away reads back as f: Python's repr takes that
 * one.  Replaces tmp (in %e form) and returns true when a neighbour fits.
 */
static bool
shortest_neighbor(double f, char *tmp, size_t size)
{
	char	   *e = strchr(tmp, 'e');
	char		mant[24];
	int			nd = 0;
	int			exp10 = atoi(e + 1);
	long long	m;

	for (char *q = tmp; q < e; q++)
		if (*q >= '0' && *q <= '9')
			mant[nd++] = *q;
	mant[nd] = '\0';
	m = atoll(mant);
	for (int delta = -1; delta <= 1; delta += 2)
	{
		char		digits[24];
		char		cand[40];
		int			k = snprintf(digits, sizeof(digits), "%lld", m + delta);

		/* m + delta has k digits (nd - 1 after 10..0, nd + 1 after 99..9); its first is 10^(exp10 + k - nd). */
		snprintf(cand, sizeof(cand), "%s%c%s%se%+03d", f < 0 ? "-" : "", digits[0], k > 1 ? "." : "",
				 digits + 1, exp10 + k - nd);
		if (m + delta > 0 && strtod(cand, NULL) == f)
		{
			snprintf(tmp, size, "%s", cand);
			return true;
		}
	}
	return false;
}

int
j_float_repr(double f, char *buf, size_t size)
{
	char		tmp[40];
	char		digits[24];
	int			ndigits = 0;
	int			exp10;
	int			decpt;
	int			n = 0;
	const char *p;

	if (isnan(f))
		return snprintf(buf, size, "nan");
	if (isinf(f))
		return snprintf(buf, size, f < 0 ? "-inf" : "inf");
	if (f == 0.0)
		return snprintf(buf, size, signbit(f) ? "-0.0" : "0.0");

	/* The fewest significant digits that read back as the same double. */
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f || shortest_neighbor(f, tmp, sizeof(tmp)))
			break;
	}
	p = tmp;
	if (*p == '-')
	{
		if ((size_t) n + 1 < size)
			buf[n] = '-';
		n++;
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[ndigits++] = *p;
	exp10 = atoi(p + 1);
	while (ndigits > 1 && digits[ndigits - 1] == '0')
		ndigits--;
	decpt = exp10 + 1;

#define PUT(c) do { if ((size_t) n + 1 < size) buf[n] = (c); n++; } while (0)
	if (decpt > 16 || decpt <= -4)
	{
		/* Python's repr switches to exponent notation outside 1e-4 <= |f| < 1e16. */
		char		e[16];

		PUT(digits[0]);
		if (ndigits > 1)
		{
			PUT('.');
			for (int i = 1; i < ndigits; i++)
				PUT(digits[i]);
		}
		snprintf(e, sizeof(e), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
		for (char *q = e; *q; q++)
			PUT(*q);
	}
	else if (decpt <= 0)
	{
		PUT('0');
		PUT('.');
		for (int i = 0; i < -decpt; i++)
			PUT('0');
		for (int i = 0; i < ndigits; i++)
			PUT(digits[i]);
	}
	else
	{
		for (int i = 0; i < decpt; i++)
			PUT(i < ndigits ? digits[i] : '0');
		PUT('.');
		if (decpt >= ndigits)
			PUT('0');
		for (int i = decpt; i < ndigits; i++)
			PUT(digits[i]);
	}
#undef PUT
	if (size > 0)
		buf[(size_t) n < size ? (size_t) n : size - 1] = '\0';
	return n;
}

static void
put_float(JRender *r, JBuf *out, double f)
{
	char		buf[40];
	int			n = j_float_repr(f, buf, sizeof(buf));

	j_buf_put(r, out, buf, n);
}

/* Python's repr() of a str: single quotes unless it has ' and no ", escapes for the unprintable. */
static void
repr_string(JRender *r, JBuf *out, JStr s)
{
	bool		has_single = s.len > 0 && memchr(s.p, '\'', s.len) != NULL;
	bool		has_double = s.len > 0 && memchr(s.p, '"', s.len) != NULL;
	char		quote = has_single && !has_double ? '"' : '\'';
	size_t		pos = 0;

	j_buf_putc(r, out, quote);
	while (pos < s.len)
	{
		size_t		start = pos;
		int32_t		cp = j_cp_next(s, &pos);

		if (cp == quote || cp == '\\')
		{
			j_buf_putc(r, out, '\\');
			j_buf_putc(r, out, (char) cp);
		}
		else if (cp == '\t')
			j_buf_put(r, out, "\\t", 2);
		else if (cp == '\n')
			j_buf_put(r, out, "\\n", 2);
		else if (cp == '\r')
			j_buf_put(r, out, "\\r", 2);
		else if (cp < 0x20 || cp == 0x7f)
			j_buf_printf(r, out, "\\x%02x", (unsigned) cp);
		else if (cp < 0x7f)
			j_buf_putc(r, out, (char) cp);
		else if (j_py_isprintable(cp))
			j_buf_put(r, out, s.p + start, pos - start);
		else if (cp <= 0xff)
			j_buf_printf(r, out, "\\x%02x", (unsigned) cp);
		else if (cp <= 0xffff)
			j_buf_printf(r, out, "\\u%04x", (unsigned) cp);
		else
			j_buf_printf(r, out, "\\U%08x", (unsigned) cp);
	}
	j_buf_putc(r, out, quote);
}

static void
repr_dict_items(JRender *r, JBuf *out, const JDict *d, int depth)
{
	j_buf_putc(r, out, '{');
	for (size_t i = 0; i < d->len; i++)
	{
		j_step(r);
		if (i > 0)
			j_buf_put(r, out, ", ", 2);
		repr_at(r, out, d->keys[i], depth + 1);
		j_buf_put(r, out, ": ", 2);
		repr_at(r, out, d->vals[i], depth + 1);
	}
	j_buf_putc(r, out, '}');
}

/* What str() and repr() print alike for the kinds that have no literal form. */
static void
put_object(JRender *r, JBuf *out, JValue v, int depth)
{
	switch (v.kind)
	{
		case J_NAMESPACE:
			j_buf_put(r, out, "<Namespace ", 11);
			repr_dict_items(r, out, v.u.dict, depth);
			j_buf_putc(r, out, '>');
			break;
		case J_MACRO:
			j_buf_put(r, out, "<Macro>", 7);
			break;
		case J_FUNCTION:
			if (v.u.fn->self.kind == J_UNDEFINED)
				j_buf_printf(r, out, "<function %.*s>", (int) v.u.fn->name.len, v.u.fn->name.p);
			else
				j_buf_printf(r, out, "<built-in method %.*s of %s object>", (int) v.u.fn->name.len,
							 v.u.fn->name.p, j_type_name(v.u.fn->self));
			break;
		default:
			break;
	}
}

static void
repr_at(JRender *r, JBuf *out, JValue v, int depth)
{
	if (depth > J_MAX_NESTING)
		j_fail(r, "maximum recursion depth exceeded while getting the repr of an object");
	switch (v.kind)
	{
		case J_UNDEFINED:
			j_buf_put(r, out, "Undefined", 9);
			return;
		case J_STRING:
			if (v.safe)
			{
				j_buf_put(r, out, "Markup(", 7);
				repr_string(r, out, v.u.s);
				j_buf_putc(r, out, ')');
			}
			else
				repr_string(r, out, v.u.s);
			return;
		case J_LIST:
			if (J_IS_GENERATOR(v))
			{
				j_buf_put(r, out, "<generator object>", 18);
				return;
			}
			j_buf_putc(r, out, v.u.list->is_tuple ? '(' : '[');
			for (size_t i = 0; i < v.u.list->len; i++)
			{
				j_step(r);
				if (i > 0)
					j_buf_put(r, out, ", ", 2);
				repr_at(r, out, v.u.list->items[i], depth + 1);
			}
			/* A tuple of one is written (x,). */
			if (v.u.list->is_tuple && v.u.list->len == 1)
				j_buf_putc(r, out, ',');
			j_buf_putc(r, out, v.u.list->is_tuple ? ')' : ']');
			return;
		case J_DICT:
			repr_dict_items(r, out, v.u.dict, depth);
			return;
		case J_FUNCTION:
			if (j_method_refused(v.u.fn))
			{
				j_buf_put(r, out, "Undefined", 9);
				return;
			}
			put_object(r, out, v, depth);
			return;
		case J_NAMESPACE:
		case J_MACRO:
			put_object(r, out, v, depth);
			return;
		default:
			j_to_str(r, out, v);
			return;
	}
}

void
j_repr(JRender *r, JBuf *out, JValue v)
{
	repr_at(r, out, v, 0);
}

void
j_to_str(JRender *r, JBuf *out, JValue v)
{
	switch (v.kind)
	{
		case J_UNDEFINED:
			return;
		case J_NONE:
			j_buf_put(r, out, "None", 4);
			return;
		case J_BOOL:
			if (v.u.b)
				j_buf_put(r, out, "True", 4);
			else
				j_buf_put(r, out, "False", 5);
			return;
		case J_INT:
			j_buf_printf(r, out, "%lld", (long long) v.u.i);
			return;
		case J_FLOAT:
			put_float(r, out, v.u.f);
			return;
		case J_STRING:
			j_buf_put(r, out, v.u.s.p, v.u.s.len);
			return;
		case J_LIST:
		case J_DICT:
			repr_at(r, out, v, 0);
			return;
		case J_FUNCTION:
			if (j_method_refused(v.u.fn))
				return;
			put_object(r, out, v, 0);
			return;
		case J_NAMESPACE:
		case J_MACRO:
			put_object(r, out, v, 0);
			return;
	}
}

JStr
j_as_str(JRender *r, JValue v)
{
	JBuf		b = {0};

	if (v.kind == J_STRING)
		return v.u.s;
	j_to_str(r, &b, v);
	return j_buf_str(&b);
}

/* ---- JSON ------------------------------------------------------------------ */

typedef struct JsonStyle
{
	const JStr *indent;			/* NULL: one line */
	JStr		item_sep;
	JStr		key_sep;
	bool		sort_keys;
} JsonStyle;

/* A JSON string as json.dumps(ensure_ascii=False) writes it. */
static void
write_json_string(JRender *r, JBuf *out, JStr s)
{
	size_t		run = 0;

	j_buf_putc(r, out, '"');
	for (size_t i = 0; i < s.len; i++)
	{
		unsigned char c = (unsigned char) s.p[i];
		const char *esc = NULL;
		char		hex[8];

		switch (c)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
			default:
				if (c < 0x20)
				{
					snprintf(hex, sizeof(hex), "\\u%04x", c);
					esc = hex;
				}
				break;
		}
		if (esc == NULL)
			continue;
		j_buf_put(r, out, s.p + run, i - run);
		j_buf_put(r, out, esc, strlen(esc));
		run = i + 1;
	}
	j_buf_put(r, out, s.p + run, s.len - run);
	j_buf_putc(r, out, '"');
}

static void
write_json_float(JRender *r, JBuf *out, double f)
{
	if (isnan(f))
		j_buf_put(r, out, "NaN", 3);
	else if (isinf(f))
		j_buf_put(r, out, f < 0 ? "-Infinity" : "Infinity", f < 0 ? 9 : 8);
	else
		put_float(r, out, f);
}

static void
write_json_newline(JRender *r, JBuf *out, const JsonStyle *st, int level)
{
	j_buf_putc(r, out, '\n');
	for (int i = 0; i < level; i++)
		j_buf_put(r, out, st->indent->p, st->indent->len);
}

/* json.dumps turns keys that are not strings into strings, refusing the other kinds. */
static void
write_json_key(JRender *r, JBuf *out, JValue k)
{
	JBuf		tmp = {0};

	switch (k.kind)
	{
		case J_STRING:
			write_json_string(r, out, k.u.s);
			return;
		case J_FLOAT:
			write_json_float(r, &tmp, k.u.f);
			break;
		case J_BOOL:
			j_buf_put(r, &tmp, k.u.b ? "true" : "false", k.u.b ? 4 : 5);
			break;
		case J_NONE:
			j_buf_put(r, &tmp, "null", 4);
			break;
		case J_INT:
			j_buf_printf(r, &tmp, "%lld", (long long) k.u.i);
			break;
		default:
			j_fail(r, "keys must be str, int, float, bool or None, not %s", j_type_name(k));
	}
	write_json_string(r, out, j_buf_str(&tmp));
}

static void write_json_value(JRender *r, JBuf *out, JValue v, const JsonStyle *st, int level);

static void
write_json_object(JRender *r, JBuf *out, const JDict *d, const JsonStyle *st, int level)
{
	size_t		n = d->len;
	size_t	   *order;

	if (n == 0)
	{
		j_buf_put(r, out, "{}", 2);
		return;
	}
	order = j_alloc(r, n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (st->sort_keys)
	{
		/* Sort the positions by key: sort a list of (key, position) pairs. */
		JValue	   *items = j_alloc(r, n * sizeof(JValue));
		JValue	   *keys = j_alloc(r, n * sizeof(JValue));

		for (size_t i = 0; i < n; i++)
		{
			items[i] = j_int((int64_t) i);
			keys[i] = d->keys[i];
		}
		j_sort(r, items, keys, n, false);
		for (size_t i = 0; i < n; i++)
			order[i] = (size_t) items[i].u.i;
	}
	j_buf_putc(r, out, '{');
	for (size_t i = 0; i < n; i++)
	{
		j_step(r);
		if (i > 0)
			j_buf_put(r, out, st->item_sep.p, st->item_sep.len);
		if (st->indent != NULL)
			write_json_newline(r, out, st, level + 1);
		write_json_key(r, out, d->keys[order[i]]);
		j_buf_put(r, out, st->key_sep.p, st->key_sep.len);
		write_json_value(r, out, d->vals[order[i]], st, level + 1);
	}
	if (st->indent != NULL)
		write_json_newline(r, out, st, level);
	j_buf_putc(r, out, '}');
}

static void
write_json_value(JRender *r, JBuf *out, JValue v, const JsonStyle *st, int level)
{
	if (level > J_MAX_NESTING)
		j_fail(r, "maximum recursion depth exceeded while encoding a JSON object");
	switch (v.kind)
	{
		case J_NONE:
			j_buf_put(r, out, "null", 4);
			return;
		case J_BOOL:
			j_buf_put(r, out, v.u.b ? "true" : "false", v.u.b ? 4 : 5);
			return;
		case J_INT:
			j_buf_printf(r, out, "%lld", (long long) v.u.i);
			return;
		case J_FLOAT:
			write_json_float(r, out, v.u.f);
			return;
		case J_STRING:
			write_json_string(r, out, v.u.s);
			return;
		case J_LIST:
			if (J_IS_GENERATOR(v))
				break;
			if (v.u.list->len == 0)
			{
				j_buf_put(r, out, "[]", 2);
				return;
			}
			j_buf_putc(r, out, '[');
			for (size_t i = 0; i < v.u.list->len; i++)
			{
				j_step(r);
				if (i > 0)
					j_buf_put(r, out, st->item_sep.p, st->item_sep.len);
				if (st->indent != NULL)
					write_json_newline(r, out, st, level + 1);
				write_json_value(r, out, v.u.list->items[i], st, level + 1);
			}
			if (st->indent != NULL)
				write_json_newline(r, out, st, level);
			j_buf_putc(r, out, ']');
			return;
		case J_DICT:
			write_json_object(r, out, v.u.dict, st, level);
			return;
		default:
			break;
	}
	j_fail(r, "Object of type %s is not JSON serializable", j_type_name(v));
}

void
j_tojson_ex(JRender *r, JBuf *out, JValue v, const JStr *indent, JStr item_sep, JStr key_sep,
			bool sort_keys)
{
	JsonStyle	st = {indent, item_sep, key_sep, sort_keys};

	write_json_value(r, out, v, &st, 0);
}

void
j_tojson(JRender *r, JBuf *out, JValue v, int indent, const JStr *item_sep, const JStr *key_sep,
		 bool sort_keys)
{
	JStr		spaces = {NULL, 0};
	JStr		isep;
	JStr		ksep;

	if (indent >= 0)
	{
		char	   *p = j_alloc(r, (size_t) indent + 1);

		memset(p, ' ', indent);
		spaces = (JStr) {p, (size_t) indent};
	}
	/* Python's default separators: ", " on one line, "," before a newline. */
	isep = item_sep != NULL ? *item_sep : (indent >= 0 ? JSTR_LIT(",") : JSTR_LIT(", "));
	ksep = key_sep != NULL ? *key_sep : JSTR_LIT(": ");
	j_tojson_ex(r, out, v, indent >= 0 ? &spaces : NULL, isep, ksep, sort_keys);
}

static JValue
from_json_at(JRender *r, const json_t *json, int depth)
{
	if (depth > J_MAX_JSON_DEPTH)
		j_fail(r, "the context is nested more than %d levels deep", J_MAX_JSON_DEPTH);
	j_step(r);
	switch (json_typeof(json))
	{
		case JSON_OBJECT:
			{
				JValue		v = j_dict(r, json_object_size(json));
				JDict	   *d = v.u.dict;
				const char *key;
				json_t	   *val;

				/* jansson iterates an object's keys in insertion order, and they are distinct. */
				json_object_foreach((json_t *) json, key, val)
				{
					d->keys[d->len] = j_string(r, key, strlen(key));
					d->vals[d->len] = from_json_at(r, val, depth + 1);
					d->len++;
				}
				return v;
			}
		case JSON_ARRAY:
			{
				size_t		n = json_array_size(json);
				JValue		v = j_list(r, n);

				for (size_t i = 0; i < n; i++)
					v.u.list->items[i] = from_json_at(r, json_array_get(json, i), depth + 1);
				return v;
			}
		case JSON_STRING:
			return j_string(r, json_string_value(json), json_string_length(json));
		case JSON_INTEGER:
			return j_int((int64_t) json_integer_value(json));
		case JSON_REAL:
			return j_float(json_real_value(json));
		case JSON_TRUE:
			return j_bool(true);
		case JSON_FALSE:
			return j_bool(false);
		case JSON_NULL:
			return j_none();
	}
	return j_none();
}

JValue
j_from_json(JRender *r, const json_t *json)
{
	if (json == NULL)
		return j_none();
	return from_json_at(r, json, 0);
}
