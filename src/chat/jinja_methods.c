/*
 * jinja_methods.c — the methods of str, list, tuple and dict that a chat
 * template can call (message.content.strip(), tool.get('x'), ...), with
 * the sandbox's rules: every method Python has is an attribute, the ones
 * that change a list or dict in place (append, pop, update, ...) are
 * refused when called, as ImmutableSandboxedEnvironment refuses them.
 */
#include "chat/jinja_py.h"

#include <stdio.h>
#include <string.h>

typedef JValue (*MethodFn) (JRender *r, JValue self, const JArgs *args);

typedef struct Method
{
	const char *name;
	MethodFn	fn;				/* NULL: Python has it, but not here */
	bool		refused;		/* the sandbox refuses it (it modifies its object) */
} Method;

/* ---- helpers -------------------------------------------------------------------- */

/* A piece of self (or a new string) as a value, Markup when self is. */
static JValue
str_value(JStr s, bool safe)
{
	JValue		v = j_string_ref(s);

	v.safe = safe;
	return v;
}

static JStr
str_arg(JRender *r, JValue v, const char *fname)
{
	if (v.kind != J_STRING)
		j_fail(r, "%s() argument must be str, not %s", fname, j_type_name(v));
	return v.u.s;
}

/* An optional string argument: None (or absent) gives NULL. */
static const JStr *
opt_str_arg(JRender *r, const JBound *b, int i, const char *fname, JStr *storage)
{
	if (!b->given[i] || b->v[i].kind == J_NONE)
		return NULL;
	if (b->v[i].kind != J_STRING)
		j_fail(r, "%s arg must be None or str", fname);
	*storage = b->v[i].u.s;
	return storage;
}

static JValue
tuple_of(JRender *r, int n, const JValue *items)
{
	JValue		t = j_list(r, (size_t) n);

	for (int i = 0; i < n; i++)
		t.u.list->items[i] = items[i];
	t.u.list->is_tuple = true;
	return t;
}

/* Clamp a Python slice bound (None: dflt) to [0, len] as str.find does. */
static int64_t
clamp_bound(JRender *r, const JBound *b, int i, int64_t dflt, int64_t len)
{
	int64_t		v;

	if (!b->given[i] || b->v[i].kind == J_NONE)
		return dflt;
	v = j_int_arg(r, b->v[i], "slice index");
	if (v < 0)
	{
		v += len;
		if (v < 0)
			v = 0;
	}
	else if (v > len)
		v = len;
	return v;
}

/*
 * The part of self that the optional (start, end) arguments at index i
 * select, as bytes; its first code point is *cp_start.  False when start
 * lies past end (Python finds nothing there, not even "").
 */
static bool
str_range(JRender *r, JStr s, const JBound *b, int i, JStr *range, int64_t *cp_start)
{
	int64_t		n = (int64_t) j_cp_count(s);
	int64_t		start;
	int64_t		end;
	size_t		from;
	size_t		to;

	/* A start past the end is not clamped: "abc".find("", 4) is -1. */
	if (b->given[i] && b->v[i].kind != J_NONE && j_int_arg(r, b->v[i], "slice index") > n)
		return false;
	start = clamp_bound(r, b, i, 0, n);
	end = clamp_bound(r, b, i + 1, n, n);
	if (start > end)
		return false;
	from = j_cp_offset(s, (size_t) start);
	to = from + j_cp_offset((JStr) {s.p + from, s.len - from}, (size_t) (end - start));
	*range = (JStr) {s.p + from, to - from};
	*cp_start = start;
	return true;
}

/* ---- str: searching ----------------------------------------------------------------- */

static const char *const P_SUB_RANGE[] = {"sub", "start", "end"};

static JValue
str_count(JRender *r, JValue self, const JArgs *args)
{
	JBound		b;
	JStr		sub;
	JStr		range;
	int64_t		first;
	int64_t		n = 0;
	size_t		pos = 0;

	j_bind(r, "count", args, P_SUB_RANGE, 3, 1, &b);
	sub = str_arg(r, b.v[0], "count");
	if (!str_range(r, self.u.s, &b, 1, &range, &first))
		return j_int(0);
	if (sub.len == 0)
		return j_int((int64_t) j_cp_count(range) + 1);
	for (;;)
	{
		int64_t		hit = j_str_find(range, sub, pos);

		if (hit < 0)
			break;
		j_step(r);
		n++;
		pos = (size_t) hit + sub.len;
	}
	return j_int(n);
}

/* find, rfind, index, rindex: the code point index of sub, or -1. */
static int64_t
find_in(JRender *r, JValue self, const JArgs *args, const char *fname, bool from_right)
{
	JBound		b;
	JStr		sub;
	JStr		range;
	int64_t		first;
	int64_t		hit = -1;

	j_bind(r, fname, args, P_SUB_RANGE, 3, 1, &b);
	sub = str_arg(r, b.v[0], fname);
	if (!str_range(r, self.u.s, &b, 1, &range, &first))
		return -1;
	if (!from_right)
		hit = j_str_find(range, sub, 0);
	else
	{
		for (int64_t at = j_str_find(range, sub, 0); at >= 0; at = j_str_find(range, sub, (size_t) at + 1))
		{
			j_step(r);
			hit = at;
			if ((size_t) at >= range.len)
				break;
		}
	}
	if (hit < 0)
		return -1;
	return first + (int64_t) j_cp_count((JStr) {range.p, (size_t) hit});
}

static JValue
str_find(JRender *r, JValue self, const JArgs *args)
{
	return j_int(find_in(r, self, args, "find", false));
}

static JValue
str_rfind(JRender *r, JValue self, const JArgs *args)
{
	return j_int(find_in(r, self, args, "rfind", true));
}

static JValue
str_index(JRender *r, JValue self, const JArgs *args)
{
	int64_t		i = find_in(r, self, args, "index", false);

	if (i < 0)
		j_fail(r, "substring not found");
	return j_int(i);
}

static JValue
str_rindex(JRender *r, JValue self, const JArgs *args)
{
	int64_t		i = find_in(r, self, args, "rindex", true);

	if (i < 0)
		j_fail(r, "substring not found");
	return j_int(i);
}

static bool
affix_match(JStr range, JStr affix, bool at_end)
{
	if (affix.len > range.len)
		return false;
	return memcmp(at_end ? range.p + range.len - affix.len : range.p, affix.p, affix.len) == 0;
}

/* startswith / endswith: a str, or a tuple of str any of which matches. */
static JValue
affix_test(JRender *r, JValue self, const JArgs *args, const char *fname, bool at_end)
{
	static const char *const names[] = {"prefix", "start", "end"};
	JBound		b;
	JStr		range;
	int64_t		first;
	JValue		what;

	j_bind(r, fname, args, names, 3, 1, &b);
	what = b.v[0];
	if (what.kind != J_STRING && !(what.kind == J_LIST && !J_IS_GENERATOR(what) && what.u.list->is_tuple))
		j_fail(r, "%s first arg must be str or a tuple of str, not %s", fname, j_type_name(what));
	if (!str_range(r, self.u.s, &b, 1, &range, &first))
		return j_bool(false);
	if (what.kind == J_STRING)
		return j_bool(affix_match(range, what.u.s, at_end));
	for (size_t i = 0; i < what.u.list->len; i++)
	{
		JValue		item = what.u.list->items[i];

		if (item.kind != J_STRING)
			j_fail(r, "tuple for %s must only contain str, not %s", fname, j_type_name(item));
		if (affix_match(range, item.u.s, at_end))
			return j_bool(true);
	}
	return j_bool(false);
}

static JValue
str_startswith(JRender *r, JValue self, const JArgs *args)
{
	return affix_test(r, self, args, "startswith", false);
}

static JValue
str_endswith(JRender *r, JValue self, const JArgs *args)
{
	return affix_test(r, self, args, "endswith", true);
}

/* ---- str: new strings --------------------------------------------------------------------- */

static JValue
strip_common(JRender *r, JValue self, const JArgs *args, const char *fname, bool left, bool right)
{
	static const char *const names[] = {"chars"};
	JBound		b;
	JStr		chars;
	const JStr *cp;

	j_bind(r, fname, args, names, 1, 0, &b);
	cp = opt_str_arg(r, &b, 0, fname, &chars);
	return str_value(j_str_strip(self.u.s, cp, left, right), self.safe);
}

static JValue
str_strip(JRender *r, JValue self, const JArgs *args)
{
	return strip_common(r, self, args, "strip", true, true);
}

static JValue
str_lstrip(JRender *r, JValue self, const JArgs *args)
{
	return strip_common(r, self, args, "lstrip", true, false);
}

static JValue
str_rstrip(JRender *r, JValue self, const JArgs *args)
{
	return strip_common(r, self, args, "rstrip", false, true);
}

static JValue
split_common(JRender *r, JValue self, const JArgs *args, const char *fname, bool from_right)
{
	static const char *const names[] = {"sep", "maxsplit"};
	JBound		b;
	JStr		sep;
	const JStr *sp;
	int64_t		maxsplit;
	JValue		parts;

	j_bind(r, fname, args, names, 2, 0, &b);
	if (b.given[0] && b.v[0].kind != J_NONE && b.v[0].kind != J_STRING)
		j_fail(r, "must be str or None, not %s", j_type_name(b.v[0]));
	sp = opt_str_arg(r, &b, 0, fname, &sep);
	maxsplit = b.given[1] ? j_int_arg(r, b.v[1], "maxsplit") : -1;
	parts = j_str_split(r, self.u.s, sp, maxsplit, from_right);
	for (size_t i = 0; i < parts.u.list->len; i++)
		parts.u.list->items[i].safe = self.safe;
	return parts;
}

static JValue
str_split(JRender *r, JValue self, const JArgs *args)
{
	return split_common(r, self, args, "split", false);
}

static JValue
str_rsplit(JRender *r, JValue self, const JArgs *args)
{
	return split_common(r, self, args, "rsplit", true);
}

static JValue
str_splitlines(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"keepends"};
	JBound		b;

	j_bind(r, "splitlines", args, names, 1, 0, &b);
	return j_str_splitlines(r, self.u.s, b.given[0] && j_truthy(b.v[0]));
}

static JValue
str_replace(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"old", "new", "count"};
	JBound		b;
	int64_t		count;

	j_bind(r, "replace", args, names, 3, 2, &b);
	count = b.given[2] ? j_int_arg(r, b.v[2], "count") : -1;
	return str_value(j_str_replace(r, self.u.s, str_arg(r, b.v[0], "replace"), str_arg(r, b.v[1], "replace"),
								   count), self.safe);
}

static JValue
str_join(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"iterable"};
	JBound		b;
	JList	   *items;
	JBuf		out = {0};

	j_bind(r, "join", args, names, 1, 1, &b);
	items = j_iter(r, b.v[0]);
	for (size_t i = 0; i < items->len; i++)
	{
		JValue		item = items->items[i];

		j_step(r);
		if (item.kind != J_STRING)
			j_fail(r, "sequence item %zu: expected str instance, %s found", i, j_type_name(item));
		if (i > 0)
			j_buf_put(r, &out, self.u.s.p, self.u.s.len);
		/* Markup's join escapes the items that are not Markup. */
		if (self.safe && !item.safe)
			j_html_escape(r, &out, item.u.s);
		else
			j_buf_put(r, &out, item.u.s.p, item.u.s.len);
	}
	return str_value(j_buf_str(&out), self.safe);
}

static JValue
str_lower(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "lower", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_lower(r, self.u.s), self.safe);
}

static JValue
str_casefold(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "casefold", args, NULL, 0, 0, &(JBound) {0});
	/* casefold is lower() but for ß, the one difference that matters here. */
	return str_value(j_str_replace(r, j_str_lower(r, self.u.s), JSTR_LIT("\xc3\x9f"), JSTR_LIT("ss"), -1),
					 self.safe);
}

static JValue
str_upper(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "upper", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_upper(r, self.u.s), self.safe);
}

static JValue
str_title(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "title", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_title(r, self.u.s), self.safe);
}

static JValue
str_capitalize(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "capitalize", args, NULL, 0, 0, &(JBound) {0});
	return str_value(j_str_capitalize(r, self.u.s), self.safe);
}

static JValue
str_swapcase(JRender *r, JValue self, const JArgs *args)
{
	JBuf		out = {0};
	size_t		pos = 0;

	j_bind(r, "swapcase", args, NULL, 0, 0, &(JBound) {0});
	while (pos < self.u.s.len)
	{
		size_t		start = pos;
		JStr		ch;
		JStr		mapped;

		j_cp_next(self.u.s, &pos);
		ch = (JStr) {self.u.s.p + start, pos - start};
		/* Uppercase to lower, lowercase to upper; titlecase and the rest stay. */
		if (j_str_isupper(ch))
			mapped = j_str_lower(r, ch);
		else if (j_str_islower(ch))
			mapped = j_str_upper(r, ch);
		else
			mapped = ch;
		j_buf_put(r, &out, mapped.p, mapped.len);
	}
	return str_value(j_buf_str(&out), self.safe);
}

/* The fill character of center, ljust and rjust: exactly one. */
static JStr
fill_arg(JRender *r, const JBound *b, int i)
{
	if (!b->given[i])
		return JSTR_LIT(" ");
	if (b->v[i].kind != J_STRING || j_cp_count(b->v[i].u.s) != 1)
		j_fail(r, "The fill character must be exactly one character long");
	return b->v[i].u.s;
}

static JValue
justify(JRender *r, JValue self, const JArgs *args, const char *fname, char how)
{
	static const char *const names[] = {"width", "fillchar"};
	JBound		b;
	int64_t		width;
	int64_t		len = (int64_t) j_cp_count(self.u.s);
	int64_t		left = 0;
	int64_t		right = 0;
	JStr		fill;
	JBuf		out = {0};

	j_bind(r, fname, args, names, 2, 1, &b);
	width = j_int_arg(r, b.v[0], "width");
	fill = fill_arg(r, &b, 1);
	if (width <= len)
		return self;
	if ((uint64_t) (width - len) > r->limits.max_output)
		j_fail(r, "%s() width %lld is too large", fname, (long long) width);
	if (how == '<')
		right = width - len;
	else if (how == '>')
		left = width - len;
	else
	{
		/* Python's center puts the odd space on the left when width is odd. */
		int64_t		marg = width - len;

		left = marg / 2 + (marg & width & 1);
		right = marg - left;
	}
	for (int64_t i = 0; i < left; i++)
		j_buf_put(r, &out, fill.p, fill.len);
	j_buf_put(r, &out, self.u.s.p, self.u.s.len);
	for (int64_t i = 0; i < right; i++)
		j_buf_put(r, &out, fill.p, fill.len);
	return str_value(j_buf_str(&out), self.safe);
}

static JValue
str_center(JRender *r, JValue self, const JArgs *args)
{
	return justify(r, self, args, "center", '^');
}

static JValue
str_ljust(JRender *r, JValue self, const JArgs *args)
{
	return justify(r, self, args, "ljust", '<');
}

static JValue
str_rjust(JRender *r, JValue self, const JArgs *args)
{
	return justify(r, self, args, "rjust", '>');
}

static JValue
str_zfill(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"width"};
	JBound		b;
	int64_t		width;
	int64_t		len = (int64_t) j_cp_count(self.u.s);
	JStr		s = self.u.s;
	JBuf		out = {0};
	size_t		sign = 0;

	j_bind(r, "zfill", args, names, 1, 1, &b);
	width = j_int_arg(r, b.v[0], "width");
	if (width <= len)
		return self;
	if ((uint64_t) (width - len) > r->limits.max_output)
		j_fail(r, "zfill() width %lld is too large", (long long) width);
	if (s.len > 0 && (s.p[0] == '+' || s.p[0] == '-'))
	{
		j_buf_putc(r, &out, s.p[0]);
		sign = 1;
	}
	for (int64_t i = 0; i < width - len; i++)
		j_buf_putc(r, &out, '0');
	j_buf_put(r, &out, s.p + sign, s.len - sign);
	return str_value(j_buf_str(&out), self.safe);
}

static JValue
str_expandtabs(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"tabsize"};
	JBound		b;
	int64_t		tab;
	int64_t		col = 0;
	size_t		pos = 0;
	JBuf		out = {0};

	j_bind(r, "expandtabs", args, names, 1, 0, &b);
	tab = b.given[0] ? j_int_arg(r, b.v[0], "tabsize") : 8;
	if (tab > 1000)
		j_fail(r, "expandtabs() tabsize %lld is too large", (long long) tab);
	while (pos < self.u.s.len)
	{
		size_t		start = pos;
		int32_t		cp = j_cp_next(self.u.s, &pos);

		if (cp == '\t')
		{
			if (tab > 0)
			{
				int64_t		n = tab - col % tab;

				for (int64_t i = 0; i < n; i++)
					j_buf_putc(r, &out, ' ');
				col += n;
			}
		}
		else
		{
			j_buf_put(r, &out, self.u.s.p + start, pos - start);
			col = (cp == '\n' || cp == '\r') ? 0 : col + 1;
		}
	}
	return str_value(j_buf_str(&out), self.safe);
}

static JValue
partition_common(JRender *r, JValue self, const JArgs *args, const char *fname, bool from_right)
{
	static const char *const names[] = {"sep"};
	JBound		b;
	JStr		s = self.u.s;
	JStr		sep;
	int64_t		hit = -1;
	JValue		parts[3];

	j_bind(r, fname, args, names, 1, 1, &b);
	sep = str_arg(r, b.v[0], fname);
	if (sep.len == 0)
		j_fail(r, "empty separator");
	if (!from_right)
		hit = j_str_find(s, sep, 0);
	else
		for (int64_t at = j_str_find(s, sep, 0); at >= 0; at = j_str_find(s, sep, (size_t) at + 1))
			hit = at;
	if (hit < 0)
	{
		parts[0] = str_value(from_right ? JSTR_LIT("") : s, self.safe);
		parts[1] = str_value(JSTR_LIT(""), self.safe);
		parts[2] = str_value(from_right ? s : JSTR_LIT(""), self.safe);
	}
	else
	{
		parts[0] = str_value((JStr) {s.p, (size_t) hit}, self.safe);
		parts[1] = str_value(sep, self.safe);
		parts[2] = str_value((JStr) {s.p + hit + sep.len, s.len - (size_t) hit - sep.len}, self.safe);
	}
	return tuple_of(r, 3, parts);
}

static JValue
str_partition(JRender *r, JValue self, const JArgs *args)
{
	return partition_common(r, self, args, "partition", false);
}

static JValue
str_rpartition(JRender *r, JValue self, const JArgs *args)
{
	return partition_common(r, self, args, "rpartition", true);
}

static JValue
str_removeprefix(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"prefix"};
	JBound		b;
	JStr		p;

	j_bind(r, "removeprefix", args, names, 1, 1, &b);
	p = str_arg(r, b.v[0], "removeprefix");
	if (affix_match(self.u.s, p, false))
		return str_value((JStr) {self.u.s.p + p.len, self.u.s.len - p.len}, self.safe);
	return self;
}

static JValue
str_removesuffix(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"suffix"};
	JBound		b;
	JStr		p;

	j_bind(r, "removesuffix", args, names, 1, 1, &b);
	p = str_arg(r, b.v[0], "removesuffix");
	if (affix_match(self.u.s, p, true))
		return str_value((JStr) {self.u.s.p, self.u.s.len - p.len}, self.safe);
	return self;
}

static JValue
str_format(JRender *r, JValue self, const JArgs *args)
{
	return j_str_format(r, self, args);
}

static JValue
str_format_map(JRender *r, JValue self, const JArgs *args)
{
	JDict	   *d;
	JStr	   *names;
	JArgs		kw = {0};

	if (args->nkw > 0)
		j_fail(r, "format_map() takes no keyword arguments");
	if (args->npos != 1)
		j_fail(r, "format_map() takes exactly one argument (%d given)", args->npos);
	if (args->pos[0].kind != J_DICT)
		j_fail(r, "format_map() argument must be a mapping, not %s", j_type_name(args->pos[0]));
	d = args->pos[0].u.dict;
	names = j_alloc(r, (d->len + 1) * sizeof(JStr));
	for (size_t i = 0; i < d->len; i++)
		names[i] = d->keys[i].kind == J_STRING ? d->keys[i].u.s : JSTR_LIT("");
	kw.nkw = (int) d->len;
	kw.kw_names = names;
	kw.kw = d->vals;
	return j_str_format(r, self, &kw);
}

/* ---- str: predicates ------------------------------------------------------------------------ */

typedef bool (*CpPredicate) (int32_t cp);

/* True when s is not empty and every code point passes. */
static bool
all_cps(JStr s, CpPredicate pred)
{
	size_t		pos = 0;

	if (s.len == 0)
		return false;
	while (pos < s.len)
		if (!pred(j_cp_next(s, &pos)))
			return false;
	return true;
}

static bool
cp_isascii(int32_t cp)
{
	return cp < 0x80;
}

static JValue
predicate_method(JRender *r, JValue self, const JArgs *args, const char *fname, CpPredicate pred)
{
	j_bind(r, fname, args, NULL, 0, 0, &(JBound) {0});
	return j_bool(all_cps(self.u.s, pred));
}

static JValue
str_isalpha(JRender *r, JValue self, const JArgs *args)
{
	return predicate_method(r, self, args, "isalpha", j_py_isalpha);
}

static JValue
str_isalnum(JRender *r, JValue self, const JArgs *args)
{
	return predicate_method(r, self, args, "isalnum", j_py_isalnum);
}

static JValue
str_isspace(JRender *r, JValue self, const JArgs *args)
{
	return predicate_method(r, self, args, "isspace", j_py_isspace);
}

static JValue
str_isascii(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "isascii", args, NULL, 0, 0, &(JBound) {0});
	/* The one predicate that is true for "". */
	return j_bool(self.u.s.len == 0 || all_cps(self.u.s, cp_isascii));
}

static JValue
str_isdecimal(JRender *r, JValue self, const JArgs *args)
{
	return predicate_method(r, self, args, "isdecimal", j_py_isdecimal);
}

static JValue
str_isdigit(JRender *r, JValue self, const JArgs *args)
{
	return predicate_method(r, self, args, "isdigit", j_py_isdigit);
}

static JValue
str_isnumeric(JRender *r, JValue self, const JArgs *args)
{
	return predicate_method(r, self, args, "isnumeric", j_py_isnumeric);
}

static JValue
str_isprintable(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "isprintable", args, NULL, 0, 0, &(JBound) {0});
	return j_bool(self.u.s.len == 0 || all_cps(self.u.s, j_py_isprintable));
}

static JValue
str_isidentifier(JRender *r, JValue self, const JArgs *args)
{
	JStr		s = self.u.s;
	size_t		pos = 0;

	j_bind(r, "isidentifier", args, NULL, 0, 0, &(JBound) {0});
	if (s.len == 0)
		return j_bool(false);
	while (pos < s.len)
	{
		bool		first = pos == 0;
		int32_t		cp = j_cp_next(s, &pos);

		if (!(cp == '_' || j_py_isalpha(cp) || (!first && j_py_isalnum(cp))))
			return j_bool(false);
	}
	return j_bool(true);
}

static JValue
str_islower(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "islower", args, NULL, 0, 0, &(JBound) {0});
	return j_bool(j_str_islower(self.u.s));
}

static JValue
str_isupper(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "isupper", args, NULL, 0, 0, &(JBound) {0});
	return j_bool(j_str_isupper(self.u.s));
}

static JValue
str_istitle(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "istitle", args, NULL, 0, 0, &(JBound) {0});
	return j_bool(j_str_istitle(self.u.s));
}

/* ---- list and tuple --------------------------------------------------------------------------- */

static JValue
seq_count(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"value"};
	JBound		b;
	int64_t		n = 0;

	j_bind(r, "count", args, names, 1, 1, &b);
	for (size_t i = 0; i < self.u.list->len; i++)
	{
		j_step(r);
		if (j_equal(self.u.list->items[i], b.v[0]))
			n++;
	}
	return j_int(n);
}

static JValue
seq_index(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"value", "start", "stop"};
	JBound		b;
	int64_t		n = (int64_t) self.u.list->len;
	int64_t		start;
	int64_t		stop;

	j_bind(r, "index", args, names, 3, 1, &b);
	start = clamp_bound(r, &b, 1, 0, n);
	stop = clamp_bound(r, &b, 2, n, n);
	for (int64_t i = start; i < stop; i++)
	{
		j_step(r);
		if (j_equal(self.u.list->items[i], b.v[0]))
			return j_int(i);
	}
	if (self.u.list->is_tuple)
		j_fail(r, "tuple.index(x): x not in tuple");
	{
		JBuf		rep = {0};

		j_repr(r, &rep, b.v[0]);
		j_fail(r, "%.*s is not in list", (int) rep.len, rep.p);
	}
}

static JValue
list_copy(JRender *r, JValue self, const JArgs *args)
{
	JValue		out;

	j_bind(r, "copy", args, NULL, 0, 0, &(JBound) {0});
	out = j_list(r, self.u.list->len);
	if (self.u.list->len > 0)
		memcpy(out.u.list->items, self.u.list->items, self.u.list->len * sizeof(JValue));
	return out;
}

/* ---- dict -------------------------------------------------------------------------------------- */

static JValue
dict_get(JRender *r, JValue self, const JArgs *args)
{
	JValue		v;

	if (args->nkw > 0)
		j_fail(r, "get() takes no keyword arguments");
	if (args->npos < 1 || args->npos > 2)
		j_fail(r, "get expected 1 or 2 arguments, got %d", args->npos);
	j_check_hashable(r, args->pos[0]);
	if (j_dict_get(self.u.dict, args->pos[0], &v))
		return v;
	return args->npos == 2 ? args->pos[1] : j_none();
}

static JValue
dict_keys(JRender *r, JValue self, const JArgs *args)
{
	JValue		out;

	j_bind(r, "keys", args, NULL, 0, 0, &(JBound) {0});
	out = j_list(r, self.u.dict->len);
	for (size_t i = 0; i < self.u.dict->len; i++)
		out.u.list->items[i] = self.u.dict->keys[i];
	return out;
}

static JValue
dict_values(JRender *r, JValue self, const JArgs *args)
{
	JValue		out;

	j_bind(r, "values", args, NULL, 0, 0, &(JBound) {0});
	out = j_list(r, self.u.dict->len);
	for (size_t i = 0; i < self.u.dict->len; i++)
		out.u.list->items[i] = self.u.dict->vals[i];
	return out;
}

JValue
j_dict_items(JRender *r, const JDict *d)
{
	JValue		out = j_list(r, d->len);

	for (size_t i = 0; i < d->len; i++)
	{
		JValue		pair[2] = {d->keys[i], d->vals[i]};

		j_step(r);
		out.u.list->items[i] = tuple_of(r, 2, pair);
	}
	return out;
}

static JValue
dict_items(JRender *r, JValue self, const JArgs *args)
{
	j_bind(r, "items", args, NULL, 0, 0, &(JBound) {0});
	return j_dict_items(r, self.u.dict);
}

static JValue
dict_copy(JRender *r, JValue self, const JArgs *args)
{
	JValue		out;

	j_bind(r, "copy", args, NULL, 0, 0, &(JBound) {0});
	out = j_dict(r, self.u.dict->len);
	for (size_t i = 0; i < self.u.dict->len; i++)
	{
		out.u.dict->keys[i] = self.u.dict->keys[i];
		out.u.dict->vals[i] = self.u.dict->vals[i];
	}
	out.u.dict->len = self.u.dict->len;
	return out;
}

static JValue
dict_fromkeys(JRender *r, JValue self, const JArgs *args)
{
	static const char *const names[] = {"iterable", "value"};
	JBound		b;
	JList	   *keys;
	JValue		out;

	(void) self;
	j_bind(r, "fromkeys", args, names, 2, 1, &b);
	keys = j_iter(r, b.v[0]);
	out = j_dict(r, keys->len);
	for (size_t i = 0; i < keys->len; i++)
	{
		j_step(r);
		j_dict_set(r, out.u.dict, keys->items[i], j_arg(&b, 1, j_none()));
	}
	return out;
}

/* ---- tables ------------------------------------------------------------------------------------ */

static const Method STR_METHODS[] = {
	{"capitalize", str_capitalize}, {"casefold", str_casefold}, {"center", str_center},
	{"count", str_count}, {"encode", NULL}, {"endswith", str_endswith},
	{"expandtabs", str_expandtabs}, {"find", str_find}, {"format", str_format},
	{"format_map", str_format_map}, {"index", str_index}, {"isalnum", str_isalnum},
	{"isalpha", str_isalpha}, {"isascii", str_isascii}, {"isdecimal", str_isdecimal},
	{"isdigit", str_isdigit}, {"isidentifier", str_isidentifier}, {"islower", str_islower},
	{"isnumeric", str_isnumeric}, {"isprintable", str_isprintable}, {"isspace", str_isspace},
	{"istitle", str_istitle}, {"isupper", str_isupper}, {"join", str_join},
	{"ljust", str_ljust}, {"lower", str_lower}, {"lstrip", str_lstrip},
	{"maketrans", NULL}, {"partition", str_partition}, {"removeprefix", str_removeprefix},
	{"removesuffix", str_removesuffix}, {"replace", str_replace}, {"rfind", str_rfind},
	{"rindex", str_rindex}, {"rjust", str_rjust}, {"rpartition", str_rpartition},
	{"rsplit", str_rsplit}, {"rstrip", str_rstrip}, {"split", str_split},
	{"splitlines", str_splitlines}, {"startswith", str_startswith}, {"strip", str_strip},
	{"swapcase", str_swapcase}, {"title", str_title}, {"translate", NULL},
	{"upper", str_upper}, {"zfill", str_zfill},
	{NULL}
};

static const Method LIST_METHODS[] = {
	{"append", NULL, true}, {"clear", NULL, true}, {"copy", list_copy},
	{"count", seq_count}, {"extend", NULL, true}, {"index", seq_index},
	{"insert", NULL, true}, {"pop", NULL, true}, {"remove", NULL, true},
	{"reverse", NULL, true}, {"sort", NULL, true},
	{NULL}
};

static const Method TUPLE_METHODS[] = {
	{"count", seq_count}, {"index", seq_index},
	{NULL}
};

static const Method DICT_METHODS[] = {
	{"clear", NULL, true}, {"copy", dict_copy}, {"fromkeys", dict_fromkeys},
	{"get", dict_get}, {"items", dict_items}, {"keys", dict_keys},
	{"pop", NULL, true}, {"popitem", NULL, true}, {"setdefault", NULL, true},
	{"update", NULL, true}, {"values", dict_values},
	{NULL}
};

static const Method *
methods_of(JValue obj)
{
	switch (obj.kind)
	{
		case J_STRING:
			return STR_METHODS;
		case J_LIST:
			if (J_IS_GENERATOR(obj))
				return NULL;
			return obj.u.list->is_tuple ? TUPLE_METHODS : LIST_METHODS;
		case J_DICT:
			return DICT_METHODS;
		default:
			return NULL;
	}
}

static const Method *
find_method(JValue obj, JStr name)
{
	const Method *table = methods_of(obj);

	if (table == NULL)
		return NULL;
	for (const Method *m = table; m->name != NULL; m++)
		if (j_str_eq(name, m->name))
			return m;
	return NULL;
}

bool
j_method_bind(JRender *r, JValue obj, JStr name, JValue *out)
{
	const Method *m = find_method(obj, name);
	JValue		v = {.kind = J_FUNCTION};

	if (m == NULL)
		return false;
	v.u.fn = j_alloc(r, sizeof(JFunction));
	v.u.fn->name = (JStr) {m->name, strlen(m->name)};
	v.u.fn->self = obj;
	*out = v;
	return true;
}

bool
j_method_refused(const JFunction *fn)
{
	const Method *m;

	if (fn->self.kind == J_UNDEFINED)
		return false;
	m = find_method(fn->self, fn->name);
	return m != NULL && m->refused;
}

void
j_fail_refused(JRender *r, const JFunction *fn)
{
	j_fail(r, "access to attribute '%.*s' of '%s' object is unsafe.", (int) fn->name.len, fn->name.p,
		   j_type_name(fn->self));
}

JValue
j_call_method(JRender *r, const JFunction *fn, const JArgs *args)
{
	const Method *m = find_method(fn->self, fn->name);

	if (args == NULL)
		args = &j_no_args;
	if (m == NULL)
		j_fail(r, "'%s' object has no attribute '%.*s'", j_type_name(fn->self), (int) fn->name.len, fn->name.p);
	if (m->refused)
		j_fail_refused(r, fn);
	if (m->fn == NULL)
		j_fail(r, "%s.%s() is not supported in chat templates", j_type_name(fn->self), m->name);
	return m->fn(r, fn->self, args);
}
