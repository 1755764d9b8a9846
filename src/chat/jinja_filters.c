/*
 * jinja_filters.c — jinja2's filters as chat templates use them, with the
 * arguments jinja2 accepts (positional or by name), plus transformers'
 * tojson.  Filters that return a generator in jinja2 (map, select, items,
 * unique, ...) return one here (J_IS_GENERATOR), so that using one where
 * a list is needed fails as it does in Python.
 *
 * Left out: filesizeformat, groupby, pprint, random, striptags, urlencode,
 * urlize, wordwrap, xmlattr (no chat template uses them).
 */
#include "chat/jinja_py.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef JValue (*FilterFn) (JRender *r, JValue in, const JArgs *args);

/* ---- helpers ------------------------------------------------------------------------- */

/* jinja2's soft_str: a string stays as it is (Markup too), anything else becomes str(). */
static JValue
soft_str(JRender *r, JValue v)
{
	if (v.kind == J_STRING)
		return v;
	return j_string_ref(j_as_str(r, v));
}

static JValue
str_value(JStr s, bool safe)
{
	JValue		v = j_string_ref(s);

	v.safe = safe;
	return v;
}

static JValue
as_generator(JValue list)
{
	list.safe = true;
	list.u.list->is_tuple = false;
	return list;
}

static JValue
list_from(JRender *r, const JValue *items, size_t n)
{
	JValue		out = j_list(r, n);

	if (n > 0)
		memcpy(out.u.list->items, items, n * sizeof(JValue));
	return out;
}

/* A list being built one item at a time. */
typedef struct ListBuilder
{
	JValue	   *items;
	size_t		len;
	size_t		cap;
} ListBuilder;

static void
builder_add(JRender *r, ListBuilder *b, JValue v)
{
	if (b->len == b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 8;
		JValue	   *items = j_alloc(r, cap * sizeof(JValue));

		if (b->len > 0)
			memcpy(items, b->items, b->len * sizeof(JValue));
		b->items = items;
		b->cap = cap;
	}
	b->items[b->len++] = v;
}

/* jinja2's ignore_case: strings compare lowercased unless case_sensitive. */
static JValue
ignore_case(JRender *r, JValue v, bool case_sensitive)
{
	if (case_sensitive || v.kind != J_STRING)
		return v;
	return str_value(j_str_lower(r, v.u.s), v.safe);
}

/* Call the str method name on s (the filters that are str methods in jinja2). */
static JValue
call_str_method(JRender *r, JValue s, const char *name, const JArgs *args)
{
	JValue		fn;

	if (!j_method_bind(r, s, (JStr) {name, strlen(name)}, &fn))
		j_fail(r, "internal error: no str.%s", name);
	return j_call_method(r, fn.u.fn, args);
}

static bool
bool_arg(const JBound *b, int i, bool dflt)
{
	return b->given[i] ? j_truthy(b->v[i]) : dflt;
}

/* ---- strings ---------------------------------------------------------------------------- */

static JValue
filter_string(JRender *r, JValue in, const JArgs *args)
{
	j_bind(r, "string", args, NULL, 0, 0, &(JBound) {0});
	return soft_str(r, in);
}

static JValue
filter_safe(JRender *r, JValue in, const JArgs *args)
{
	j_bind(r, "safe", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_as_str(r, in), true);
}

static JValue
filter_escape(JRender *r, JValue in, const JArgs *args)
{
	JBuf		out = {0};

	j_bind(r, "escape", args, NULL, 0, 0, &(JBound) {0});
	if (in.kind == J_STRING && in.safe)
		return in;
	j_html_escape(r, &out, j_as_str(r, in));
	return str_value(j_buf_str(&out), true);
}

static JValue
filter_forceescape(JRender *r, JValue in, const JArgs *args)
{
	JBuf		out = {0};

	j_bind(r, "forceescape", args, NULL, 0, 0, &(JBound) {0});
	j_html_escape(r, &out, j_as_str(r, in));
	return str_value(j_buf_str(&out), true);
}

static JValue
filter_lower(JRender *r, JValue in, const JArgs *args)
{
	JValue		s = soft_str(r, in);

	j_bind(r, "lower", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_lower(r, s.u.s), s.safe);
}

static JValue
filter_upper(JRender *r, JValue in, const JArgs *args)
{
	JValue		s = soft_str(r, in);

	j_bind(r, "upper", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_upper(r, s.u.s), s.safe);
}

static JValue
filter_capitalize(JRender *r, JValue in, const JArgs *args)
{
	JValue		s = soft_str(r, in);

	j_bind(r, "capitalize", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_capitalize(r, s.u.s), s.safe);
}

/* jinja2's title (not str.title): words start after "-", whitespace and opening brackets. */
static bool
title_separator(int32_t cp)
{
	return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || j_py_isspace(cp);
}

static JValue
filter_title(JRender *r, JValue in, const JArgs *args)
{
	JStr		s = soft_str(r, in).u.s;
	JBuf		out = {0};
	size_t		pos = 0;

	j_bind(r, "title", args, NULL, 0, 0, &(JBound) {0});
	while (pos < s.len)
	{
		size_t		start = pos;
		size_t		second;
		bool		sep;
		JStr		first;
		JStr		rest;

		sep = title_separator(j_cp_next(s, &pos));
		second = pos;
		/* A run of separators, or a run of anything else. */
		while (pos < s.len)
		{
			size_t		next = pos;

			if (title_separator(j_cp_next(s, &next)) != sep)
				break;
			pos = next;
		}
		first = j_str_upper(r, (JStr) {s.p + start, second - start});
		rest = j_str_lower(r, (JStr) {s.p + second, pos - second});
		j_buf_put(r, &out, first.p, first.len);
		j_buf_put(r, &out, rest.p, rest.len);
	}
	return j_string_ref(j_buf_str(&out));
}

static JValue
filter_trim(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"chars"};
	JBound		b;
	JArgs		a = {0};

	j_bind(r, "trim", args, names, 1, 0, &b);
	if (b.given[0] && b.v[0].kind != J_NONE)
	{
		a.npos = 1;
		a.pos = &b.v[0];
	}
	return call_str_method(r, soft_str(r, in), "strip", &a);
}

static JValue
filter_center(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"width"};
	JBound		b;
	JValue		width;
	JArgs		a = {1, &width, 0, NULL, NULL};

	j_bind(r, "center", args, names, 1, 0, &b);
	width = j_arg(&b, 0, j_int(80));
	return call_str_method(r, soft_str(r, in), "center", &a);
}

static JValue
filter_replace(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"old", "new", "count"};
	JBound		b;
	int64_t		count = -1;

	j_bind(r, "replace", args, names, 3, 2, &b);
	if (b.given[2] && b.v[2].kind != J_NONE)
		count = j_int_arg(r, b.v[2], "count");
	/* Without autoescape jinja2 replaces in str(s): the result is never Markup. */
	return j_string_ref(j_str_replace(r, j_as_str(r, in), j_as_str(r, b.v[0]), j_as_str(r, b.v[1]), count));
}

static JValue
filter_indent(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"width", "first", "blank"};
	JBound		b;
	JValue		width;
	JStr		indention;
	JBuf		text = {0};
	JBuf		out = {0};
	JList	   *lines;

	j_bind(r, "indent", args, names, 3, 0, &b);
	width = j_arg(&b, 0, j_int(4));
	if (width.kind == J_STRING)
		indention = width.u.s;
	else if (j_is_intlike(width))
	{
		int64_t		n = j_int_of(width) > 0 ? j_int_of(width) : 0;
		char	   *p;

		if ((uint64_t) n > r->limits.max_output)
			j_fail(r, "indent width %lld is too large", (long long) n);
		p = j_alloc(r, (size_t) n + 1);
		memset(p, ' ', (size_t) n);
		indention = (JStr) {p, (size_t) n};
	}
	else
		j_fail(r, "can't multiply sequence by non-int of type '%s'", j_type_name(width));
	j_check_defined(r, in);
	if (in.kind != J_STRING)
		j_fail(r, "unsupported operand type(s) for +=: '%s' and 'str'", j_type_name(in));

	/* jinja2 appends a newline, then splits the lines (any Python line break) and joins with "\n". */
	j_buf_put(r, &text, in.u.s.p, in.u.s.len);
	j_buf_putc(r, &text, '\n');
	lines = j_str_splitlines(r, j_buf_str(&text), false).u.list;
	for (size_t i = 0; i < lines->len; i++)
	{
		JStr		line = lines->items[i].u.s;

		j_step(r);
		if (i > 0)
			j_buf_putc(r, &out, '\n');
		if ((i == 0 && bool_arg(&b, 1, false)) || (i > 0 && (line.len > 0 || bool_arg(&b, 2, false))))
			j_buf_put(r, &out, indention.p, indention.len);
		j_buf_put(r, &out, line.p, line.len);
	}
	return str_value(j_buf_str(&out), in.safe);
}

static JValue
filter_truncate(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"length", "killwords", "end", "leeway"};
	JBound		b;
	int64_t		length;
	int64_t		leeway;
	JStr		end;
	int64_t		n;
	int64_t		keep;
	JStr		s;
	JStr		head;
	JBuf		out = {0};

	j_bind(r, "truncate", args, names, 4, 0, &b);
	length = b.given[0] ? j_int_arg(r, b.v[0], "length") : 255;
	end = b.given[2] ? j_as_str(r, b.v[2]) : JSTR_LIT("...");
	leeway = b.given[3] && b.v[3].kind != J_NONE ? j_int_arg(r, b.v[3], "leeway") : 5;
	if (length < (int64_t) j_cp_count(end))
		j_fail(r, "expected length >= %zu, got %lld", j_cp_count(end), (long long) length);
	if (leeway < 0)
		j_fail(r, "expected leeway >= 0, got %lld", (long long) leeway);
	n = j_length(r, in);
	if (n <= length + leeway)
		return in;
	if (in.kind != J_STRING)
		j_fail(r, "truncate needs a string, not %s", j_type_name(in));
	s = in.u.s;
	keep = length - (int64_t) j_cp_count(end);
	head = (JStr) {s.p, j_cp_offset(s, (size_t) keep)};
	if (!bool_arg(&b, 1, false))
	{
		/* Drop the last (partial) word: everything from the last space. */
		for (size_t i = head.len; i-- > 0;)
		{
			if (head.p[i] == ' ')
			{
				head.len = i;
				break;
			}
		}
	}
	j_buf_put(r, &out, head.p, head.len);
	j_buf_put(r, &out, end.p, end.len);
	return j_string_ref(j_buf_str(&out));
}

static JValue
filter_wordcount(JRender *r, JValue in, const JArgs *args)
{
	JStr		s = soft_str(r, in).u.s;
	size_t		pos = 0;
	bool		in_word = false;
	int64_t		n = 0;

	j_bind(r, "wordcount", args, NULL, 0, 0, &(JBound) {0});
	/* Runs of \w: letters, digits and the underscore. */
	while (pos < s.len)
	{
		int32_t		cp = j_cp_next(s, &pos);
		bool		word = cp == '_' || j_py_isalnum(cp);

		if (word && !in_word)
			n++;
		in_word = word;
	}
	return j_int(n);
}

static JValue
filter_format(JRender *r, JValue in, const JArgs *args)
{
	JValue		s = soft_str(r, in);

	if (args->npos > 0 && args->nkw > 0)
		j_fail(r, "can't handle positional and keyword arguments at the same time");
	if (args->nkw > 0)
	{
		JValue		mapping = j_dict(r, (size_t) args->nkw);

		for (int k = 0; k < args->nkw; k++)
			j_dict_set(r, mapping.u.dict, j_string_ref(args->kw_names[k]), args->kw[k]);
		return j_percent_format(r, s, &mapping, -1);
	}
	return j_percent_format(r, s, args->pos, args->npos);
}

/*
 * transformers' tojson(x, ensure_ascii=False, indent=None,
 * separators=None, sort_keys=False): json.dumps, not jinja2's HTML-safe
 * one; the result is a plain str.
 */
static JValue
filter_tojson(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"ensure_ascii", "indent", "separators", "sort_keys"};
	JBound		b;
	JStr		indent;
	const JStr *ind = NULL;
	JStr		item_sep;
	JStr		key_sep;
	JBuf		out = {0};
	bool		pretty;

	j_bind(r, "tojson", args, names, 4, 0, &b);
	if (b.given[1] && b.v[1].kind != J_NONE)
	{
		if (b.v[1].kind == J_STRING)
			indent = b.v[1].u.s;
		else if (j_is_intlike(b.v[1]))
		{
			int64_t		n = j_int_of(b.v[1]) > 0 ? j_int_of(b.v[1]) : 0;
			char	   *p;

			if (n > 1000)
				j_fail(r, "tojson indent %lld is too large", (long long) n);
			p = j_alloc(r, (size_t) n + 1);
			memset(p, ' ', (size_t) n);
			indent = (JStr) {p, (size_t) n};
		}
		else
			j_fail(r, "can't multiply sequence by non-int of type '%s'", j_type_name(b.v[1]));
		ind = &indent;
	}
	pretty = ind != NULL;
	item_sep = pretty ? JSTR_LIT(",") : JSTR_LIT(", ");
	key_sep = JSTR_LIT(": ");
	if (b.given[2] && b.v[2].kind != J_NONE)
	{
		JValue		seps = b.v[2];

		if (seps.kind != J_LIST || J_IS_GENERATOR(seps) || seps.u.list->len != 2 ||
			seps.u.list->items[0].kind != J_STRING || seps.u.list->items[1].kind != J_STRING)
			j_fail(r, "tojson separators must be a pair of strings");
		item_sep = seps.u.list->items[0].u.s;
		key_sep = seps.u.list->items[1].u.s;
	}
	j_tojson_ex(r, &out, in, ind, item_sep, key_sep, bool_arg(&b, 3, false));
	if (bool_arg(&b, 0, false))
	{
		/* ensure_ascii: DEL and non-ASCII as \uXXXX (they only occur in strings; controls are escaped already). */
		JStr		text = j_buf_str(&out);
		JBuf		ascii = {0};
		size_t		pos = 0;

		while (pos < text.len)
		{
			size_t		start = pos;
			int32_t		cp = j_cp_next(text, &pos);

			if (cp < 0x7f)
				j_buf_put(r, &ascii, text.p + start, pos - start);
			else if (cp < 0x10000)
				j_buf_printf(r, &ascii, "\\u%04x", (unsigned) cp);
			else
			{
				int32_t		v = cp - 0x10000;

				j_buf_printf(r, &ascii, "\\u%04x\\u%04x", (unsigned) (0xD800 + (v >> 10)),
							 (unsigned) (0xDC00 + (v & 0x3FF)));
			}
		}
		return j_string_ref(j_buf_str(&ascii));
	}
	return j_string_ref(j_buf_str(&out));
}

/* ---- numbers --------------------------------------------------------------------------- */

static JValue
filter_abs(JRender *r, JValue in, const JArgs *args)
{
	j_bind(r, "abs", args, NULL, 0, 0, &(JBound) {0});
	if (j_is_intlike(in))
	{
		int64_t		v = j_int_of(in);

		if (v == INT64_MIN)
			j_fail_overflow(r);
		return j_int(v < 0 ? -v : v);
	}
	if (in.kind == J_FLOAT)
		return j_float(fabs(in.u.f));
	j_fail(r, "bad operand type for abs(): '%s'", j_type_name(in));
}

/* int(f) for a float: fails where Python's OverflowError would escape the filter. */
static bool
float_to_int(JRender *r, double f, int64_t *out)
{
	if (isnan(f))
		return false;
	if (isinf(f))
		j_fail(r, "cannot convert float infinity to integer");
	if (!(f > -9223372036854775809.0 && f < 9223372036854775808.0))
		j_fail_overflow(r);
	*out = (int64_t) f;
	return true;
}

static JValue
filter_int(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"default", "base"};
	JBound		b;
	JValue		dflt;
	int64_t		v;

	j_bind(r, "int", args, names, 2, 0, &b);
	dflt = j_arg(&b, 0, j_int(0));
	j_check_defined(r, in);
	if (j_is_intlike(in))
		return j_int(j_int_of(in));
	if (in.kind == J_FLOAT)
		return float_to_int(r, in.u.f, &v) ? j_int(v) : dflt;
	if (in.kind == J_STRING)
	{
		double		f;

		/* int(s, base), else int(float(s)): "42.23"|int is 42. */
		if (!b.given[1] || j_is_intlike(b.v[1]))
		{
			int64_t		base = b.given[1] ? j_int_of(b.v[1]) : 10;

			if (base >= 0 && base <= 36 && j_parse_int(r, in.u.s, (int) base, &v))
				return j_int(v);
		}
		/* Here an infinity gives the default: jinja2 catches that OverflowError. */
		if (j_parse_float(in.u.s, &f) && isfinite(f) && float_to_int(r, f, &v))
			return j_int(v);
	}
	return dflt;
}

static JValue
filter_float(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"default"};
	JBound		b;
	double		f;

	j_bind(r, "float", args, names, 1, 0, &b);
	j_check_defined(r, in);
	if (j_is_number(in))
		return j_float(j_float_of(in));
	if (in.kind == J_STRING && j_parse_float(in.u.s, &f))
		return j_float(f);
	return j_arg(&b, 0, j_float(0.0));
}

/* Python's round(float, ndigits): correctly rounded, ties to even on the exact binary value. */
static double
round_float(double x, int64_t ndigits)
{
	char		buf[400];
	int			exp10;
	int64_t		sig;

	if (!isfinite(x) || x == 0.0 || ndigits > 320)
		return x;
	if (ndigits >= 0)
	{
		snprintf(buf, sizeof(buf), "%.*f", (int) ndigits, x);
		return strtod(buf, NULL);
	}
	snprintf(buf, sizeof(buf), "%.16e", x);
	exp10 = atoi(strchr(buf, 'e') + 1);
	sig = exp10 + 1 + ndigits;
	if (sig >= 1)
	{
		snprintf(buf, sizeof(buf), "%.*e", (int) sig - 1, x);
		return strtod(buf, NULL);
	}
	if (sig == 0 && ndigits > -308)
	{
		double		unit = pow(10.0, (double) -ndigits);

		/* |x| < unit: it rounds to unit past half of it; exactly half goes to 0 (even). */
		if (fabs(x) > unit / 2)
			return copysign(unit, x);
	}
	return copysign(0.0, x);
}

/* Python's round(int, ndigits < 0): to a multiple of 10**-ndigits, ties to even. */
static int64_t
round_int(JRender *r, int64_t v, int64_t ndigits)
{
	int64_t		m = 1;
	int64_t		q;
	int64_t		rem;
	int64_t		out;

	if (ndigits >= 0)
		return v;
	if (ndigits < -18)
		return 0;
	for (int64_t i = 0; i < -ndigits; i++)
		m *= 10;
	q = v / m;
	rem = v % m;
	if (rem < 0)
	{
		q -= 1;
		rem += m;
	}
	if (rem > m - rem || (rem == m - rem && (q & 1)))
		q += 1;
	if (__builtin_mul_overflow(q, m, &out))
		j_fail_overflow(r);
	return out;
}

static JValue
filter_round(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"precision", "method"};
	JBound		b;
	int64_t		precision;
	JStr		method;

	j_bind(r, "round", args, names, 2, 0, &b);
	precision = b.given[0] ? j_int_arg(r, b.v[0], "precision") : 0;
	method = b.given[1] && b.v[1].kind == J_STRING ? b.v[1].u.s : JSTR_LIT("common");
	if (b.given[1] && (b.v[1].kind != J_STRING ||
					   !(j_str_eq(method, "common") || j_str_eq(method, "ceil") || j_str_eq(method, "floor"))))
		j_fail(r, "method must be common, ceil or floor");
	if (!j_is_number(in))
		j_fail(r, "type %s doesn't define __round__ method", j_type_name(in));
	if (j_str_eq(method, "common"))
	{
		if (j_is_intlike(in))
			return j_int(round_int(r, j_int_of(in), precision));
		return j_float(round_float(in.u.f, precision));
	}
	else
	{
		/* math.ceil(value * 10**precision) / 10**precision: always a float. */
		double		scale = pow(10.0, (double) precision);
		double		scaled = j_float_of(in) * scale;
		double		whole;

		if (isnan(scaled))
			j_fail(r, "cannot convert float NaN to integer");
		if (isinf(scaled))
			j_fail(r, "cannot convert float infinity to integer");
		/* math.ceil gives an int: -0.0 comes back as 0. */
		whole = (j_str_eq(method, "ceil") ? ceil(scaled) : floor(scaled)) + 0.0;
		return j_float(whole / scale);
	}
}

/* ---- sequences -------------------------------------------------------------------------- */

static JValue
filter_length(JRender *r, JValue in, const JArgs *args)
{
	j_bind(r, "length", args, NULL, 0, 0, &(JBound) {0});
	return j_int(j_length(r, in));
}

static JValue
filter_list(JRender *r, JValue in, const JArgs *args)
{
	JList	   *items;

	j_bind(r, "list", args, NULL, 0, 0, &(JBound) {0});
	items = j_iter(r, in);
	return list_from(r, items->items, items->len);
}

static JValue
filter_first(JRender *r, JValue in, const JArgs *args)
{
	JList	   *items;

	j_bind(r, "first", args, NULL, 0, 0, &(JBound) {0});
	items = j_iter(r, in);
	if (items->len == 0)
		return j_undefined(JSTR_LIT("No first item, sequence was empty."));
	return items->items[0];
}

static JValue
filter_last(JRender *r, JValue in, const JArgs *args)
{
	JList	   *items;

	j_bind(r, "last", args, NULL, 0, 0, &(JBound) {0});
	/* reversed() needs a sequence: a generator, None or a number fails. */
	if (!(in.kind == J_STRING || in.kind == J_DICT || j_is_undefined(in) ||
		  (in.kind == J_LIST && !J_IS_GENERATOR(in))))
		j_fail(r, "'%s' object is not reversible", j_type_name(in));
	/* reversed() indexes a Markup, so its last character is Markup too. */
	if (in.kind == J_STRING && in.u.s.len > 0)
		return j_getitem(r, in, j_int(-1));
	items = j_iter(r, in);
	if (items->len == 0)
		return j_undefined(JSTR_LIT("No last item, sequence was empty."));
	return items->items[items->len - 1];
}

static JValue
filter_reverse(JRender *r, JValue in, const JArgs *args)
{
	JList	   *items;
	JValue		out;

	j_bind(r, "reverse", args, NULL, 0, 0, &(JBound) {0});
	if (in.kind == J_STRING)
		return j_slice(r, in, j_none(), j_none(), j_int(-1));
	if (!(in.kind == J_LIST || in.kind == J_DICT || j_is_undefined(in)))
		j_fail(r, "argument must be iterable");
	items = j_iter(r, in);
	out = j_list(r, items->len);
	for (size_t i = 0; i < items->len; i++)
		out.u.list->items[i] = items->items[items->len - 1 - i];
	/* reversed() of a sequence is an iterator; a generator is listed and reversed. */
	return J_IS_GENERATOR(in) ? out : as_generator(out);
}

static JValue
filter_join(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"d", "attribute"};
	JBound		b;
	JStr		sep;
	JList	   *items;
	JAttrPath	path;
	bool		by_attr;
	JBuf		out = {0};

	j_bind(r, "join", args, names, 2, 0, &b);
	sep = b.given[0] ? j_as_str(r, b.v[0]) : JSTR_LIT("");
	by_attr = b.given[1] && b.v[1].kind != J_NONE;
	if (by_attr)
		j_attr_path(r, b.v[1], &path);
	items = j_iter(r, in);
	for (size_t i = 0; i < items->len; i++)
	{
		JValue		item = items->items[i];

		j_step(r);
		if (by_attr)
			item = j_attr_get(r, item, &path, NULL);
		if (i > 0)
			j_buf_put(r, &out, sep.p, sep.len);
		j_to_str(r, &out, item);
	}
	return j_string_ref(j_buf_str(&out));
}

static JValue
filter_batch(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"linecount", "fill_with"};
	JBound		b;
	int64_t		count;
	JList	   *items;
	ListBuilder rows = {0};

	j_bind(r, "batch", args, names, 2, 1, &b);
	count = j_int_arg(r, b.v[0], "linecount");
	if (count <= 0)
		j_fail(r, "batch() needs a linecount above 0");
	items = j_iter(r, in);
	for (size_t start = 0; start < items->len; start += (size_t) count)
	{
		size_t		n = items->len - start < (uint64_t) count ? items->len - start : (size_t) count;
		bool		fill = b.given[1] && b.v[1].kind != J_NONE && n < (uint64_t) count;
		JValue		row = j_list(r, fill ? (size_t) count : n);

		j_step(r);
		memcpy(row.u.list->items, items->items + start, n * sizeof(JValue));
		for (size_t k = n; fill && k < (size_t) count; k++)
			row.u.list->items[k] = b.v[1];
		builder_add(r, &rows, row);
	}
	return as_generator(list_from(r, rows.items, rows.len));
}

static JValue
filter_slice(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"slices", "fill_with"};
	JBound		b;
	int64_t		slices;
	JList	   *seq;
	int64_t		per;
	int64_t		extra;
	int64_t		offset = 0;
	ListBuilder out = {0};

	j_bind(r, "slice", args, names, 2, 1, &b);
	slices = j_int_arg(r, b.v[0], "slices");
	seq = j_iter(r, in);
	if (slices == 0)
		j_fail(r, "integer division or modulo by zero");
	if (slices < 0)
		return as_generator(j_list(r, 0));
	per = (int64_t) seq->len / slices;
	extra = (int64_t) seq->len % slices;
	for (int64_t i = 0; i < slices; i++)
	{
		int64_t		start = offset + i * per;
		int64_t		end;
		bool		fill = b.given[1] && b.v[1].kind != J_NONE && i >= extra;
		JValue		part;

		j_step(r);
		if (i < extra)
			offset++;
		end = offset + (i + 1) * per;
		part = j_list(r, (size_t) (end - start) + (fill ? 1 : 0));
		if (end > start)
			memcpy(part.u.list->items, seq->items + start, (size_t) (end - start) * sizeof(JValue));
		if (fill)
			part.u.list->items[end - start] = b.v[1];
		builder_add(r, &out, part);
	}
	return as_generator(list_from(r, out.items, out.len));
}

static JValue
filter_sum(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"attribute", "start"};
	JBound		b;
	JValue		total;
	JList	   *items;
	JAttrPath	path;
	bool		by_attr;

	j_bind(r, "sum", args, names, 2, 0, &b);
	total = j_arg(&b, 1, j_int(0));
	if (total.kind == J_STRING)
		j_fail(r, "sum() can't sum strings [use ''.join(seq) instead]");
	by_attr = b.given[0] && b.v[0].kind != J_NONE;
	if (by_attr)
		j_attr_path(r, b.v[0], &path);
	items = j_iter(r, in);
	for (size_t i = 0; i < items->len; i++)
	{
		JValue		item = items->items[i];

		j_step(r);
		if (by_attr)
			item = j_attr_get(r, item, &path, NULL);
		total = j_binop(r, JOP_ADD, total, item);
	}
	return total;
}

/* The key of sort: a list of the values at each comma-separated attribute path. */
static JValue
sort_key(JRender *r, JValue item, const JAttrPath *paths, int npaths, bool case_sensitive)
{
	JValue		key = j_list(r, (size_t) npaths);

	for (int i = 0; i < npaths; i++)
		key.u.list->items[i] = ignore_case(r, j_attr_get(r, item, &paths[i], NULL), case_sensitive);
	return key;
}

static JValue
filter_sort(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"reverse", "case_sensitive", "attribute"};
	JBound		b;
	JList	   *items;
	JValue		out;
	JValue	   *keys;
	JAttrPath  *paths;
	int			npaths = 1;
	bool		case_sensitive;

	j_bind(r, "sort", args, names, 3, 0, &b);
	case_sensitive = bool_arg(&b, 1, false);
	if (b.given[2] && b.v[2].kind == J_STRING)
	{
		/* "age,name": sort by age, then name. */
		JValue		parts = j_str_split(r, b.v[2].u.s, &JSTR_LIT(","), -1, false);

		npaths = (int) parts.u.list->len;
		paths = j_alloc(r, (size_t) npaths * sizeof(JAttrPath));
		for (int i = 0; i < npaths; i++)
			j_attr_path(r, parts.u.list->items[i], &paths[i]);
	}
	else
	{
		paths = j_alloc(r, sizeof(JAttrPath));
		j_attr_path(r, j_arg(&b, 2, j_none()), &paths[0]);
	}
	items = j_iter(r, in);
	out = list_from(r, items->items, items->len);
	keys = j_alloc(r, (items->len + 1) * sizeof(JValue));
	for (size_t i = 0; i < items->len; i++)
	{
		j_step(r);
		keys[i] = sort_key(r, items->items[i], paths, npaths, case_sensitive);
	}
	j_sort(r, out.u.list->items, keys, items->len, bool_arg(&b, 0, false));
	return out;
}

static JValue
filter_dictsort(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"case_sensitive", "by", "reverse"};
	JBound		b;
	JValue		pairs;
	JValue	   *keys;
	int			pos = 0;
	bool		case_sensitive;

	j_bind(r, "dictsort", args, names, 3, 0, &b);
	case_sensitive = bool_arg(&b, 0, false);
	if (b.given[1])
	{
		if (b.v[1].kind == J_STRING && j_str_eq(b.v[1].u.s, "value"))
			pos = 1;
		else if (!(b.v[1].kind == J_STRING && j_str_eq(b.v[1].u.s, "key")))
			j_fail(r, "You can only sort by either \"key\" or \"value\"");
	}
	j_check_defined(r, in);
	if (in.kind != J_DICT)
		j_fail(r, "'%s' object has no attribute 'items'", j_type_name(in));
	pairs = j_dict_items(r, in.u.dict);
	keys = j_alloc(r, (pairs.u.list->len + 1) * sizeof(JValue));
	for (size_t i = 0; i < pairs.u.list->len; i++)
		keys[i] = ignore_case(r, pairs.u.list->items[i].u.list->items[pos], case_sensitive);
	j_sort(r, pairs.u.list->items, keys, pairs.u.list->len, bool_arg(&b, 2, false));
	return pairs;
}

static JValue
filter_items(JRender *r, JValue in, const JArgs *args)
{
	j_bind(r, "items", args, NULL, 0, 0, &(JBound) {0});
	if (j_is_undefined(in))
		return as_generator(j_list(r, 0));
	if (in.kind != J_DICT)
		j_fail(r, "Can only get item pairs from a mapping.");
	return as_generator(j_dict_items(r, in.u.dict));
}

static JValue
filter_unique(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"case_sensitive", "attribute"};
	JBound		b;
	JAttrPath	path;
	JList	   *items;
	ListBuilder out = {0};
	ListBuilder seen = {0};
	bool		case_sensitive;

	j_bind(r, "unique", args, names, 2, 0, &b);
	case_sensitive = bool_arg(&b, 0, false);
	j_attr_path(r, j_arg(&b, 1, j_none()), &path);
	items = j_iter(r, in);
	for (size_t i = 0; i < items->len; i++)
	{
		JValue		key = ignore_case(r, j_attr_get(r, items->items[i], &path, NULL), case_sensitive);
		bool		found = false;

		j_check_hashable(r, key);
		for (size_t k = 0; k < seen.len && !found; k++)
		{
			j_step(r);
			found = j_equal(seen.items[k], key);
		}
		if (!found)
		{
			builder_add(r, &seen, key);
			builder_add(r, &out, items->items[i]);
		}
	}
	return as_generator(list_from(r, out.items, out.len));
}

static JValue
min_or_max(JRender *r, JValue in, const JArgs *args, const char *fname, bool want_max)
{
	static const char *const names[] = {"case_sensitive", "attribute"};
	JBound		b;
	JAttrPath	path;
	JList	   *items;
	JValue		best;
	JValue		best_key;
	bool		case_sensitive;

	j_bind(r, fname, args, names, 2, 0, &b);
	case_sensitive = bool_arg(&b, 0, false);
	j_attr_path(r, j_arg(&b, 1, j_none()), &path);
	items = j_iter(r, in);
	if (items->len == 0)
		return j_undefined(JSTR_LIT("No aggregated item, sequence was empty."));
	best = items->items[0];
	best_key = ignore_case(r, j_attr_get(r, best, &path, NULL), case_sensitive);
	for (size_t i = 1; i < items->len; i++)
	{
		JValue		key = ignore_case(r, j_attr_get(r, items->items[i], &path, NULL), case_sensitive);
		int			c;

		j_step(r);
		c = j_compare(r, key, best_key);
		/* The first of equal items wins, as with Python's min and max. */
		if (want_max ? c > 0 : c < 0)
		{
			best = items->items[i];
			best_key = key;
		}
	}
	return best;
}

static JValue
filter_min(JRender *r, JValue in, const JArgs *args)
{
	return min_or_max(r, in, args, "min", false);
}

static JValue
filter_max(JRender *r, JValue in, const JArgs *args)
{
	return min_or_max(r, in, args, "max", true);
}

static JValue
filter_default(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"default_value", "boolean"};
	JBound		b;

	j_bind(r, "default", args, names, 2, 0, &b);
	if (j_is_undefined(in) || (bool_arg(&b, 1, false) && !j_truthy(in)))
		return j_arg(&b, 0, j_string_ref(JSTR_LIT("")));
	return in;
}

static JValue
filter_attr(JRender *r, JValue in, const JArgs *args)
{
	static const char *const names[] = {"name"};
	JBound		b;

	j_bind(r, "attr", args, names, 1, 1, &b);
	j_check_defined(r, in);
	if (b.v[0].kind != J_STRING)
		j_fail(r, "attribute name must be string, not '%s'", j_type_name(b.v[0]));
	return j_attribute(r, in, b.v[0].u.s);
}

/* ---- map, select, reject ------------------------------------------------------------------- */

static int
find_kw(const JArgs *args, const char *name)
{
	for (int k = 0; k < args->nkw; k++)
		if (j_str_eq(args->kw_names[k], name))
			return k;
	return -1;
}

static JValue
filter_map(JRender *r, JValue in, const JArgs *args)
{
	JList	   *items;
	JValue		out;

	/* jinja2 maps nothing over an empty (or undefined) input, whatever the arguments. */
	if (!j_truthy(in))
		return as_generator(j_list(r, 0));
	items = j_iter(r, in);
	out = j_list(r, items->len);
	if (args->npos == 0 && find_kw(args, "attribute") >= 0)
	{
		JAttrPath	path;
		int			kd = find_kw(args, "default");
		JValue		dflt = kd >= 0 ? args->kw[kd] : j_none();

		for (int k = 0; k < args->nkw; k++)
			if (!j_str_eq(args->kw_names[k], "attribute") && !j_str_eq(args->kw_names[k], "default"))
				j_fail(r, "Unexpected keyword argument '%.*s'", (int) args->kw_names[k].len, args->kw_names[k].p);
		j_attr_path(r, args->kw[find_kw(args, "attribute")], &path);
		for (size_t i = 0; i < items->len; i++)
		{
			j_step(r);
			out.u.list->items[i] = j_attr_get(r, items->items[i], &path, dflt.kind == J_NONE ? NULL : &dflt);
		}
	}
	else
	{
		JArgs		rest = *args;
		JValue		name;

		if (args->npos == 0)
			j_fail(r, "map requires a filter argument");
		name = args->pos[0];
		if (name.kind != J_STRING || !j_filter_exists(name.u.s))
			j_fail(r, "No filter named '%.*s'.", (int) j_as_str(r, name).len, j_as_str(r, name).p);
		rest.npos--;
		rest.pos++;
		for (size_t i = 0; i < items->len; i++)
		{
			j_step(r);
			out.u.list->items[i] = j_filter(r, name.u.s, items->items[i], &rest);
		}
	}
	return as_generator(out);
}

static JValue
select_or_reject(JRender *r, JValue in, const JArgs *args, bool lookup_attr, bool keep_if)
{
	JAttrPath	path;
	int			off = 0;
	bool		has_test;
	JStr		test = {0};
	JArgs		rest = *args;
	JList	   *items;
	ListBuilder out = {0};

	if (!j_truthy(in))
		return as_generator(j_list(r, 0));
	if (lookup_attr)
	{
		if (args->npos < 1)
			j_fail(r, "Missing parameter for attribute name");
		j_attr_path(r, args->pos[0], &path);
		off = 1;
	}
	has_test = args->npos > off;
	if (has_test)
	{
		JValue		name = args->pos[off];

		if (name.kind != J_STRING || !j_test_exists(name.u.s))
			j_fail(r, "No test named '%.*s'.", (int) j_as_str(r, name).len, j_as_str(r, name).p);
		test = name.u.s;
		rest.npos = args->npos - off - 1;
		rest.pos = args->pos + off + 1;
	}
	items = j_iter(r, in);
	for (size_t i = 0; i < items->len; i++)
	{
		JValue		v = items->items[i];
		bool		ok;

		j_step(r);
		if (lookup_attr)
			v = j_attr_get(r, v, &path, NULL);
		ok = has_test ? j_test(r, test, v, &rest) : j_truthy(v);
		if (ok == keep_if)
			builder_add(r, &out, items->items[i]);
	}
	return as_generator(list_from(r, out.items, out.len));
}

static JValue
filter_select(JRender *r, JValue in, const JArgs *args)
{
	return select_or_reject(r, in, args, false, true);
}

static JValue
filter_reject(JRender *r, JValue in, const JArgs *args)
{
	return select_or_reject(r, in, args, false, false);
}

static JValue
filter_selectattr(JRender *r, JValue in, const JArgs *args)
{
	return select_or_reject(r, in, args, true, true);
}

static JValue
filter_rejectattr(JRender *r, JValue in, const JArgs *args)
{
	return select_or_reject(r, in, args, true, false);
}

/* ---- the table ------------------------------------------------------------------------------- */

static const struct
{
	const char *name;
	FilterFn	fn;
}			FILTERS[] = {
	{"abs", filter_abs}, {"attr", filter_attr}, {"batch", filter_batch},
	{"capitalize", filter_capitalize}, {"center", filter_center}, {"count", filter_length},
	{"d", filter_default}, {"default", filter_default}, {"dictsort", filter_dictsort},
	{"e", filter_escape}, {"escape", filter_escape}, {"first", filter_first},
	{"float", filter_float}, {"forceescape", filter_forceescape}, {"format", filter_format},
	{"indent", filter_indent}, {"int", filter_int}, {"items", filter_items},
	{"join", filter_join}, {"last", filter_last}, {"length", filter_length},
	{"list", filter_list}, {"lower", filter_lower}, {"map", filter_map},
	{"max", filter_max}, {"min", filter_min}, {"reject", filter_reject},
	{"rejectattr", filter_rejectattr}, {"replace", filter_replace}, {"reverse", filter_reverse},
	{"round", filter_round}, {"safe", filter_safe}, {"select", filter_select},
	{"selectattr", filter_selectattr}, {"slice", filter_slice}, {"sort", filter_sort},
	{"string", filter_string}, {"sum", filter_sum}, {"title", filter_title},
	{"tojson", filter_tojson}, {"trim", filter_trim}, {"truncate", filter_truncate},
	{"unique", filter_unique}, {"upper", filter_upper}, {"wordcount", filter_wordcount},
};

static FilterFn
find_filter(JStr name)
{
	for (size_t i = 0; i < sizeof(FILTERS) / sizeof(FILTERS[0]); i++)
		if (j_str_eq(name, FILTERS[i].name))
			return FILTERS[i].fn;
	return NULL;
}

bool
j_filter_exists(JStr name)
{
	return find_filter(name) != NULL;
}

JValue
j_filter(JRender *r, JStr name, JValue in, const JArgs *args)
{
	FilterFn	fn = find_filter(name);

	if (fn == NULL)
		j_fail(r, "No filter named '%.*s'.", (int) name.len, name.p);
	if (args == NULL)
		args = &j_no_args;
	return fn(r, in, args);
}
