/*
 * jinja_format.c — Python's string formatting for chat templates: the %
 * operator (printf-style, with Python's own rules for %r, %#o, inf and
 * nan) and str.format with the format-spec mini-language, run as
 * jinja2's sandboxed formatter runs it.  Markup formats escape what they
 * insert.
 */
#include "chat/jinja_py.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

/* ---- padding numbers and strings ---------------------------------------------------- */

/*
 * Emit prefix (a sign, 0x...) and body, padded to width code points with
 * fill: '<' '>' '^' as str.format aligns, '=' between prefix and body.
 */
static void
put_padded(JRender *r, JBuf *out, JStr prefix, JStr body, int32_t fill, char align, int64_t width)
{
	int64_t		len = (int64_t) (j_cp_count(prefix) + j_cp_count(body));
	int64_t		pad = width > len ? width - len : 0;
	int64_t		left = 0;
	int64_t		right = 0;

	if ((uint64_t) pad > r->limits.max_output)
		j_fail(r, "a format width of %lld is too large", (long long) width);
	switch (align)
	{
		case '<':
			right = pad;
			break;
		case '^':
			left = pad / 2;
			right = pad - left;
			break;
		default:
			left = pad;
			break;
	}
	if (align == '=')
		j_buf_put(r, out, prefix.p, prefix.len);
	for (int64_t i = 0; i < left; i++)
		j_buf_put_cp(r, out, fill);
	if (align != '=')
		j_buf_put(r, out, prefix.p, prefix.len);
	j_buf_put(r, out, body.p, body.len);
	for (int64_t i = 0; i < right; i++)
		j_buf_put_cp(r, out, fill);
}

/* Digits of |v| in base (2, 8, 10, 16), upper or lower case. */
static JStr
int_digits(JRender *r, int64_t v, int base, bool upper)
{
	char		tmp[72];
	int			n = 0;
	uint64_t	u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char	   *p;

	do
	{
		tmp[n++] = digits[u % (uint64_t) base];
		u /= (uint64_t) base;
	} while (u > 0);
	p = j_alloc(r, n + 1);
	for (int i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	p[n] = '\0';
	return (JStr) {p, (size_t) n};
}

/* Insert sep every group digits, counting from the right of the leading run of (hex) digits. */
static JStr
group_digits(JRender *r, JStr s, char sep, int group)
{
	size_t		run = 0;
	JBuf		b = {0};

	while (run < s.len && ((s.p[run] >= '0' && s.p[run] <= '9') || (group == 4 && isxdigit((unsigned char) s.p[run]))))
		run++;
	for (size_t i = 0; i < run; i++)
	{
		if (i > 0 && (run - i) % group == 0)
			j_buf_putc(r, &b, sep);
		j_buf_putc(r, &b, s.p[i]);
	}
	j_buf_put(r, &b, s.p + run, s.len - run);
	return j_buf_str(&b);
}

/* A float as C's printf writes it with conv (e f g E F G), nan and inf as Python writes them. */
static JStr
float_body(JRender *r, double f, char conv, int prec, bool alt)
{
	char		fmt[16];
	char		tmp[400];
	int			n;

	if (isnan(f) || isinf(f))
	{
		bool		upper = conv == 'E' || conv == 'F' || conv == 'G';
		const char *s = isnan(f) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");

		return (JStr) {s, 3};
	}
	snprintf(fmt, sizeof(fmt), "%%%s.*%c", alt ? "#" : "", conv);
	n = snprintf(tmp, sizeof(tmp), fmt, prec, fabs(f));
	if (n < 0 || (size_t) n >= sizeof(tmp))
	{
		char	   *big = j_alloc(r, (size_t) n + 1);

		snprintf(big, (size_t) n + 1, fmt, prec, fabs(f));
		return (JStr) {big, (size_t) n};
	}
	return j_string(r, tmp, n).u.s;
}

static JStr
sign_of(bool negative, char flag)
{
	if (negative)
		return JSTR_LIT("-");
	if (flag == '+')
		return JSTR_LIT("+");
	if (flag == ' ')
		return JSTR_LIT(" ");
	return JSTR_LIT("");
}

/* ---- str % args ------------------------------------------------------------------------ */

typedef struct PctArgs
{
	const JValue *args;
	int64_t		nargs;			/* < 0: one value, not a tuple */
	int64_t		next;
	const JDict *mapping;
} PctArgs;

static JValue
pct_next_arg(JRender *r, PctArgs *a)
{
	if (a->nargs < 0)
	{
		if (a->next == 0)
		{
			a->next = 1;
			return a->args[0];
		}
	}
	else if (a->next < a->nargs)
		return a->args[a->next++];
	j_fail(r, "not enough arguments for format string");
}

static int64_t
pct_number(JRender *r, JStr fmt, size_t *i, PctArgs *a, bool escape)
{
	int64_t		v = 0;

	if (*i < fmt.len && fmt.p[*i] == '*')
	{
		JValue		arg = pct_next_arg(r, a);

		(*i)++;
		if (!j_is_intlike(arg) || escape)
			j_fail(r, "* wants int");
		return j_int_of(arg);
	}
	while (*i < fmt.len && fmt.p[*i] >= '0' && fmt.p[*i] <= '9')
	{
		v = v * 10 + (fmt.p[*i] - '0');
		if (v > 1000000)
			j_fail(r, "width too big");
		(*i)++;
	}
	return v;
}

/* One %-conversion of value. */
static void
pct_convert(JRender *r, JBuf *out, char conv, JValue v, const char *flags, int64_t width, int64_t prec,
			bool escape)
{
	bool		left = strchr(flags, '-') != NULL;
	bool		zero = strchr(flags, '0') != NULL && !left;
	bool		alt = strchr(flags, '#') != NULL;
	char		signflag = strchr(flags, '+') ? '+' : strchr(flags, ' ') ? ' ' : 0;
	char		align = left ? '<' : (zero ? '=' : '>');
	int32_t		fill = zero ? '0' : ' ';

	/* Markup % wraps each argument in a helper that only str, repr, int() and float() accept. */
	if (escape && (conv == 'x' || conv == 'X' || conv == 'o' || conv == 'c'))
		j_fail(r, "%%%c format: an integer is required, not _MarkupEscapeHelper", conv);
	switch (conv)
	{
		case 's':
		case 'r':
		case 'a':
			{
				JBuf		b = {0};
				JStr		s;

				if (conv == 's')
					j_to_str(r, &b, v);
				else
					j_repr(r, &b, v);
				s = j_buf_str(&b);
				if (escape && !(v.kind == J_STRING && v.safe))
				{
					JBuf		e = {0};

					j_html_escape(r, &e, s);
					s = j_buf_str(&e);
				}
				if (prec >= 0)
					s.len = j_cp_offset(s, (size_t) prec);
				put_padded(r, out, JSTR_LIT(""), s, ' ', left ? '<' : '>', width);
				return;
			}
		case 'd':
		case 'i':
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			{
				int64_t		iv;
				JStr		digits;
				JStr		sign;
				JBuf		b = {0};
				JBuf		pre = {0};

				if (j_is_intlike(v))
					iv = j_int_of(v);
				else if (v.kind == J_FLOAT && (conv == 'd' || conv == 'i' || conv == 'u'))
				{
					if (isnan(v.u.f))
						j_fail(r, "cannot convert float NaN to integer");
					if (!(v.u.f > -9223372036854775808.0 && v.u.f < 9223372036854775808.0))
						j_fail_overflow(r);
					iv = (int64_t) v.u.f;
				}
				else if (conv == 'd' || conv == 'i' || conv == 'u')
					j_fail(r, "%%%c format: a real number is required, not %s", conv, j_type_name(v));
				else
					j_fail(r, "%%%c format: an integer is required, not %s", conv, j_type_name(v));
				digits = int_digits(r, iv, conv == 'o' ? 8 : (conv == 'x' || conv == 'X') ? 16 : 10, conv == 'X');
				for (int64_t k = (int64_t) digits.len; k < prec; k++)
					j_buf_putc(r, &b, '0');
				j_buf_put(r, &b, digits.p, digits.len);
				sign = sign_of(iv < 0, signflag);
				j_buf_put(r, &pre, sign.p, sign.len);
				/* Python writes %#o as 0o17, where C writes 017. */
				if (alt && conv == 'o')
					j_buf_put(r, &pre, "0o", 2);
				else if (alt && conv == 'x')
					j_buf_put(r, &pre, "0x", 2);
				else if (alt && conv == 'X')
					j_buf_put(r, &pre, "0X", 2);
				put_padded(r, out, j_buf_str(&pre), j_buf_str(&b), fill, align, width);
				return;
			}
		case 'e':
		case 'E':
		case 'f':
		case 'F':
		case 'g':
		case 'G':
			{
				double		f;

				if (!j_is_number(v))
					j_fail(r, "must be real number, not %s", j_type_name(v));
				f = j_float_of(v);
				put_padded(r, out, sign_of(signbit(f) && !isnan(f), signflag),
						   float_body(r, f, conv, prec < 0 ? 6 : (int) prec, alt), fill, align, width);
				return;
			}
		case 'c':
			{
				JBuf		b = {0};

				if (j_is_intlike(v))
				{
					if (j_int_of(v) < 0 || j_int_of(v) > LM_UNICODE_MAX)
						j_fail(r, "%%c arg not in range(0x110000)");
					j_buf_put_cp(r, &b, (int32_t) j_int_of(v));
				}
				else if (v.kind == J_STRING && j_cp_count(v.u.s) == 1)
					j_buf_put(r, &b, v.u.s.p, v.u.s.len);
				else
					j_fail(r, "%%c requires int or char");
				put_padded(r, out, JSTR_LIT(""), j_buf_str(&b), ' ', left ? '<' : '>', width);
				return;
			}
		default:
			j_fail(r, "unsupported format character '%c' (0x%x)", conv, (unsigned char) conv);
	}
}

JValue
j_percent_format(JRender *r, JValue fmt, const JValue *args, int64_t nargs)
{
	JStr		f = fmt.u.s;
	JBuf		out = {0};
	PctArgs		a = {args, nargs, 0, NULL};
	size_t		i = 0;
	bool		mapping_like = false;

	/*
	 * Python takes a lone argument with [] (a dict, a list, undefined) for
	 * a mapping: %(key)s reads it, and unused it is no error.
	 */
	if (nargs < 0 && args[0].kind == J_DICT)
		a.mapping = args[0].u.dict;
	if (nargs < 0 && (args[0].kind == J_DICT || j_is_undefined(args[0]) ||
					  (args[0].kind == J_LIST && !J_IS_GENERATOR(args[0]) && !args[0].u.list->is_tuple)))
		mapping_like = true;
	while (i < f.len)
	{
		const char *pct = memchr(f.p + i, '%', f.len - i);
		char		flags[8] = {0};
		int			nflags = 0;
		int64_t		width;
		int64_t		prec = -1;
		JValue		value;
		bool		keyed = false;

		if (pct == NULL)
		{
			j_buf_put(r, &out, f.p + i, f.len - i);
			break;
		}
		j_step(r);
		j_buf_put(r, &out, f.p + i, pct - (f.p + i));
		i = pct - f.p + 1;
		if (i < f.len && f.p[i] == '(')
		{
			size_t		start = ++i;
			int			depth = 1;

			if (!mapping_like)
				j_fail(r, "format requires a mapping");
			if (a.mapping == NULL)
			{
				j_check_defined(r, args[0]);
				j_fail(r, "%s indices must be integers or slices, not str", j_type_name(args[0]));
			}
			while (i < f.len && depth > 0)
			{
				if (f.p[i] == '(')
					depth++;
				else if (f.p[i] == ')')
					depth--;
				i++;
			}
			if (depth > 0)
				j_fail(r, "incomplete format key");
			{
				JStr		key = {f.p + start, i - 1 - start};

				if (!j_dict_get(a.mapping, j_string_ref(key), &value))
					j_fail(r, "KeyError: '%.*s'", (int) key.len, key.p);
			}
			keyed = true;
		}
		while (i < f.len && strchr("-+ #0", f.p[i]) != NULL && f.p[i] != '\0')
		{
			if (nflags < 6)
				flags[nflags++] = f.p[i];
			i++;
		}
		width = pct_number(r, f, &i, &a, fmt.safe);
		if (width < 0)
		{
			flags[nflags++] = '-';
			width = -width;
		}
		if (i < f.len && f.p[i] == '.')
		{
			i++;
			prec = pct_number(r, f, &i, &a, fmt.safe);
		}
		while (i < f.len && (f.p[i] == 'h' || f.p[i] == 'l' || f.p[i] == 'L'))
			i++;
		if (i >= f.len)
			j_fail(r, "incomplete format");
		if (f.p[i] == '%')
		{
			j_buf_putc(r, &out, '%');
			i++;
			continue;
		}
		if (!keyed)
			value = pct_next_arg(r, &a);
		pct_convert(r, &out, f.p[i], value, flags, width, prec, fmt.safe);
		i++;
	}
	if (!mapping_like && (nargs < 0 ? a.next == 0 : a.next < nargs))
		j_fail(r, "not all arguments converted during string formatting");
	return j_string_safe(r, j_buf_str(&out), fmt.safe);
}

/* fmt % value: a tuple gives the arguments, anything else is the one argument. */
JValue
j_percent_value(JRender *r, JValue fmt, JValue value)
{
	if (value.kind == J_LIST && !J_IS_GENERATOR(value) && value.u.list->is_tuple)
		return j_percent_format(r, fmt, value.u.list->items, (int64_t) value.u.list->len);
	return j_percent_format(r, fmt, &value, -1);
}

/* ---- str.format ------------------------------------------------------------------------ */

typedef struct FormatSpec
{
	int32_t		fill;
	char		align;			/* 0: the type's default */
	char		sign;
	bool		alt;
	bool		zero;
	int64_t		width;
	char		grouping;		/* 0, ',' or '_' */
	int64_t		prec;			/* -1: none */
	char		type;			/* 0: none */
} FormatSpec;

static int64_t
spec_number(JRender *r, JStr s, size_t *i)
{
	int64_t		v = 0;

	while (*i < s.len && s.p[*i] >= '0' && s.p[*i] <= '9')
	{
		v = v * 10 + (s.p[*i] - '0');
		if (v > 1000000)
			j_fail(r, "Too many decimal digits in format string");
		(*i)++;
	}
	return v;
}

static void
parse_spec(JRender *r, JStr s, FormatSpec *fs)
{
	size_t		i = 0;

	memset(fs, 0, sizeof(*fs));
	fs->fill = ' ';
	fs->prec = -1;
	if (s.len > 0)
	{
		size_t		pos = 0;
		int32_t		first = j_cp_next(s, &pos);

		if (pos < s.len && strchr("<>=^", s.p[pos]) != NULL)
		{
			fs->fill = first;
			fs->align = s.p[pos];
			i = pos + 1;
		}
		else if (strchr("<>=^", s.p[0]) != NULL)
		{
			fs->align = s.p[0];
			i = 1;
		}
	}
	if (i < s.len && (s.p[i] == '+' || s.p[i] == '-' || s.p[i] == ' '))
		fs->sign = s.p[i++];
	if (i < s.len && s.p[i] == 'z')
		i++;
	if (i < s.len && s.p[i] == '#')
	{
		fs->alt = true;
		i++;
	}
	if (i < s.len && s.p[i] == '0')
	{
		fs->zero = true;
		i++;
	}
	fs->width = spec_number(r, s, &i);
	if (i < s.len && (s.p[i] == ',' || s.p[i] == '_'))
		fs->grouping = s.p[i++];
	if (i < s.len && s.p[i] == '.')
	{
		i++;
		if (i >= s.len || s.p[i] < '0' || s.p[i] > '9')
			j_fail(r, "Format specifier missing precision");
		fs->prec = spec_number(r, s, &i);
	}
	if (i < s.len)
		fs->type = s.p[i++];
	if (i < s.len)
		j_fail(r, "Invalid format specifier '%.*s'", (int) s.len, s.p);
}

/* The fill and alignment a '0' flag implies when none is given. */
static void
zero_fill(FormatSpec *fs, char numeric_align)
{
	if (fs->zero && fs->align == 0)
	{
		fs->fill = '0';
		fs->align = numeric_align;
	}
}

static void
format_string_spec(JRender *r, JBuf *out, JStr s, FormatSpec *fs)
{
	if (fs->type != 0 && fs->type != 's')
		j_fail(r, "Unknown format code '%c' for object of type 'str'", fs->type);
	if (fs->sign)
		j_fail(r, "Sign not allowed in string format specifier");
	if (fs->alt)
		j_fail(r, "Alternate form (#) not allowed in string format specifier");
	if (fs->align == '=')
		j_fail(r, "'=' alignment not allowed in string format specifier");
	zero_fill(fs, '<');
	if (fs->prec >= 0)
		s.len = j_cp_offset(s, (size_t) fs->prec);
	put_padded(r, out, JSTR_LIT(""), s, fs->fill, fs->align ? fs->align : '<', fs->width);
}

/* Python's float format with no type: 'g'-like, with at least one digit after a point. */
static JStr
float_general_repr(JRender *r, double f, int64_t prec)
{
	char		tmp[64];
	int			exp10;
	JBuf		b = {0};

	if (prec < 0)
	{
		j_float_repr(fabs(f), tmp, sizeof(tmp));
		return j_string(r, tmp, strlen(tmp)).u.s;
	}
	if (isnan(f) || isinf(f))
		return float_body(r, f, 'g', 1, false);
	if (prec == 0)
		prec = 1;
	snprintf(tmp, sizeof(tmp), "%.*e", (int) prec - 1, fabs(f));
	exp10 = atoi(strchr(tmp, 'e') + 1);
	if (exp10 < -4 || exp10 >= prec - 1)
	{
		/* Scientific: strip the mantissa's trailing zeros. */
		char	   *e = strchr(tmp, 'e');
		char	   *m = e;

		if (strchr(tmp, '.') != NULL)
		{
			while (m[-1] == '0')
				m--;
			if (m[-1] == '.')
				m--;
		}
		j_buf_put(r, &b, tmp, m - tmp);
		j_buf_put(r, &b, e, strlen(e));
		return j_buf_str(&b);
	}
	else
	{
		int			n = snprintf(tmp, sizeof(tmp), "%.*f", (int) (prec - 1 - exp10), fabs(f));

		if (strchr(tmp, '.') == NULL)
			return j_string(r, tmp, n).u.s;
		while (n > 0 && tmp[n - 1] == '0')
			n--;
		if (tmp[n - 1] == '.')
			n++;				/* keep one zero after the point */
		return j_string(r, tmp, n).u.s;
	}
}

static void
format_float_spec(JRender *r, JBuf *out, double f, FormatSpec *fs)
{
	JStr		body;
	char		t = fs->type;

	if (t != 0 && strchr("eEfFgGn%", t) == NULL)
		j_fail(r, "Unknown format code '%c' for object of type 'float'", t);
	zero_fill(fs, '=');
	if (t == 0)
		body = float_general_repr(r, f, fs->prec);
	else if (t == '%')
	{
		JBuf		b = {0};
		JStr		digits = float_body(r, f * 100.0, 'f', fs->prec < 0 ? 6 : (int) fs->prec, fs->alt);

		j_buf_put(r, &b, digits.p, digits.len);
		j_buf_putc(r, &b, '%');
		body = j_buf_str(&b);
	}
	else
		body = float_body(r, f, t == 'n' ? 'g' : t, fs->prec < 0 ? 6 : (int) fs->prec, fs->alt);
	if (fs->grouping)
		body = group_digits(r, body, fs->grouping, 3);
	put_padded(r, out, sign_of(signbit(f) && !isnan(f), fs->sign), body, fs->fill,
			   fs->align ? fs->align : '>', fs->width);
}

static void
format_int_spec(JRender *r, JBuf *out, int64_t v, FormatSpec *fs)
{
	char		t = fs->type;
	int			base = 10;
	JStr		prefix = JSTR_LIT("");
	JStr		digits;
	JBuf		pre = {0};

	if (t != 0 && strchr("eEfFgG%", t) != NULL)
	{
		format_float_spec(r, out, (double) v, fs);
		return;
	}
	if (t != 0 && strchr("dnbcoxX", t) == NULL)
		j_fail(r, "Unknown format code '%c' for object of type 'int'", t);
	if (fs->prec >= 0)
		j_fail(r, "Precision not allowed in integer format specifier");
	zero_fill(fs, '=');
	if (t == 'c')
	{
		JBuf		b = {0};

		if (v < 0 || v > LM_UNICODE_MAX)
			j_fail(r, "%%c arg not in range(0x110000)");
		j_buf_put_cp(r, &b, (int32_t) v);
		put_padded(r, out, JSTR_LIT(""), j_buf_str(&b), fs->fill, fs->align ? fs->align : '>', fs->width);
		return;
	}
	if (t == 'b')
		base = 2;
	else if (t == 'o')
		base = 8;
	else if (t == 'x' || t == 'X')
		base = 16;
	if (fs->grouping == ',' && base != 10)
		j_fail(r, "Cannot specify ',' with '%c'.", t);
	digits = int_digits(r, v, base, t == 'X');
	prefix = sign_of(v < 0, fs->sign);
	j_buf_put(r, &pre, prefix.p, prefix.len);
	if (fs->alt && base != 10)
	{
		j_buf_putc(r, &pre, '0');
		j_buf_putc(r, &pre, t == 'b' ? 'b' : t == 'o' ? 'o' : t);
	}
	if (fs->grouping)
	{
		int			group = base == 10 ? 3 : 4;
		JStr		grouped = group_digits(r, digits, fs->grouping, group);

		/* Zero padding with grouping pads the digits, separators included: 00,001,234. */
		if (fs->fill == '0' && fs->align == '=')
		{
			int64_t		need = fs->width - (int64_t) pre.len;

			while ((int64_t) grouped.len < need)
			{
				JBuf		z = {0};

				j_buf_putc(r, &z, '0');
				j_buf_put(r, &z, digits.p, digits.len);
				digits = j_buf_str(&z);
				grouped = group_digits(r, digits, fs->grouping, group);
			}
		}
		digits = grouped;
	}
	put_padded(r, out, j_buf_str(&pre), digits, fs->fill, fs->align ? fs->align : '>', fs->width);
}

/* format(value, spec) for the builtin types. */
static void
format_value(JRender *r, JBuf *out, JValue v, JStr spec)
{
	FormatSpec	fs;

	if (spec.len == 0)
	{
		j_to_str(r, out, v);
		return;
	}
	parse_spec(r, spec, &fs);
	switch (v.kind)
	{
		case J_STRING:
			format_string_spec(r, out, v.u.s, &fs);
			return;
		case J_BOOL:
		case J_INT:
			format_int_spec(r, out, j_int_of(v), &fs);
			return;
		case J_FLOAT:
			format_float_spec(r, out, v.u.f, &fs);
			return;
		default:
			j_fail(r, "unsupported format string passed to %s.__format__", j_type_name(v));
	}
}

typedef struct FormatState
{
	const JArgs *args;
	int			next_auto;
	int			numbering;		/* 0 unknown, 1 automatic, 2 manual */
	bool		escape;			/* Markup.format escapes what it inserts */
} FormatState;

static void format_into(JRender *r, JBuf *out, JStr fmt, FormatState *st, int depth);

static int64_t
small_number(JStr s)
{
	int64_t		v = 0;

	for (size_t i = 0; i < s.len && v < 1000000000; i++)
		v = v * 10 + (s.p[i] - '0');
	return v;
}

/* The value a field name ("0", "name", "0.attr[key]", "") refers to. */
static JValue
field_value(JRender *r, JStr name, FormatState *st)
{
	size_t		end = 0;
	JStr		first;
	JValue		v;

	while (end < name.len && name.p[end] != '.' && name.p[end] != '[')
		end++;
	first = (JStr) {name.p, end};
	if (first.len == 0 || j_ascii_digits(first))
	{
		int64_t		index;

		if (first.len == 0)
		{
			if (st->numbering == 2)
				j_fail(r, "cannot switch from manual field specification to automatic field numbering");
			st->numbering = 1;
			index = st->next_auto++;
		}
		else
		{
			if (st->numbering == 1)
				j_fail(r, "cannot switch from automatic field numbering to manual field specification");
			st->numbering = 2;
			index = small_number(first);
		}
		if (index >= st->args->npos)
			j_fail(r, "Replacement index %lld out of range for positional args tuple", (long long) index);
		v = st->args->pos[index];
	}
	else
	{
		int			k;

		for (k = 0; k < st->args->nkw; k++)
			if (st->args->kw_names[k].len == first.len &&
				memcmp(st->args->kw_names[k].p, first.p, first.len) == 0)
				break;
		if (k == st->args->nkw)
			j_fail(r, "KeyError: '%.*s'", (int) first.len, first.p);
		v = st->args->kw[k];
	}
	while (end < name.len)
	{
		size_t		start;

		if (name.p[end] == '.')
		{
			start = ++end;
			while (end < name.len && name.p[end] != '.' && name.p[end] != '[')
				end++;
			if (end == start)
				j_fail(r, "Empty attribute in format string");
			v = j_getattr(r, v, (JStr) {name.p + start, end - start});
		}
		else if (name.p[end] == '[')
		{
			JStr		key;

			start = ++end;
			while (end < name.len && name.p[end] != ']')
				end++;
			if (end >= name.len)
				j_fail(r, "Missing ']' in format string");
			key = (JStr) {name.p + start, end - start};
			if (key.len == 0)
				j_fail(r, "Empty attribute in format string");
			v = j_getitem(r, v, j_ascii_digits(key) ? j_int(small_number(key)) : j_string_ref(key));
			end++;
			if (end < name.len && name.p[end] != '.' && name.p[end] != '[')
				j_fail(r, "Only '.' or '[' may follow ']' in format field specifier");
		}
	}
	return v;
}

static void
format_field(JRender *r, JBuf *out, JStr field, FormatState *st, int depth)
{
	size_t		i = 0;
	int			bracket = 0;
	JStr		name;
	char		conv = 0;
	JStr		spec = JSTR_LIT("");
	JValue		v;
	JBuf		piece = {0};

	while (i < field.len && (bracket > 0 || (field.p[i] != '!' && field.p[i] != ':')))
	{
		if (field.p[i] == '[')
			bracket++;
		else if (field.p[i] == ']')
			bracket--;
		i++;
	}
	name = (JStr) {field.p, i};
	if (i < field.len && field.p[i] == '!')
	{
		if (i + 1 >= field.len)
			j_fail(r, "end of string while looking for conversion specifier");
		conv = field.p[i + 1];
		i += 2;
		if (i < field.len && field.p[i] != ':')
			j_fail(r, "expected ':' after conversion specifier");
	}
	if (i < field.len && field.p[i] == ':')
	{
		JBuf		expanded = {0};

		/* A spec may hold replacement fields of its own: "{:{width}}". */
		format_into(r, &expanded, (JStr) {field.p + i + 1, field.len - i - 1}, st, depth + 1);
		spec = j_buf_str(&expanded);
	}
	v = field_value(r, name, st);
	if (conv == 'r' || conv == 'a')
	{
		JBuf		b = {0};

		j_repr(r, &b, v);
		v = j_string_ref(j_buf_str(&b));
	}
	else if (conv == 's')
		v = j_string_ref(j_as_str(r, v));
	else if (conv != 0)
		j_fail(r, "Unknown conversion specifier %c", conv);
	format_value(r, &piece, v, spec);
	if (st->escape && !(v.kind == J_STRING && v.safe))
		j_html_escape(r, out, j_buf_str(&piece));
	else
		j_buf_put(r, out, piece.p, piece.len);
}

static void
format_into(JRender *r, JBuf *out, JStr f, FormatState *st, int depth)
{
	size_t		i = 0;

	if (depth > 2)
		j_fail(r, "Max string recursion exceeded");
	while (i < f.len)
	{
		char		c = f.p[i];

		if (c == '{')
		{
			size_t		start;
			int			nest = 1;

			if (i + 1 < f.len && f.p[i + 1] == '{')
			{
				j_buf_putc(r, out, '{');
				i += 2;
				continue;
			}
			j_step(r);
			start = ++i;
			while (i < f.len)
			{
				if (f.p[i] == '{')
					nest++;
				else if (f.p[i] == '}' && --nest == 0)
					break;
				i++;
			}
			if (i >= f.len)
				j_fail(r, "expected '}' before end of string");
			format_field(r, out, (JStr) {f.p + start, i - start}, st, depth);
			i++;
		}
		else if (c == '}')
		{
			if (i + 1 < f.len && f.p[i + 1] == '}')
			{
				j_buf_putc(r, out, '}');
				i += 2;
				continue;
			}
			j_fail(r, "Single '}' encountered in format string");
		}
		else
		{
			const char *brace = f.p + i;

			while (brace < f.p + f.len && *brace != '{' && *brace != '}')
				brace++;
			j_buf_put(r, out, f.p + i, brace - (f.p + i));
			i = brace - f.p;
		}
	}
}

JValue
j_str_format(JRender *r, JValue fmt, const JArgs *args)
{
	JBuf		out = {0};
	FormatState st = {args, 0, 0, fmt.safe};

	format_into(r, &out, fmt.u.s, &st, 0);
	return j_string_safe(r, j_buf_str(&out), fmt.safe);
}
