/*
 * jinja_pystr.c — Python's str semantics on UTF-8 for the chat-template
 * interpreter: code points, whitespace, case mapping, strip, split,
 * replace, int() and float() parsing.  The % operator and str.format are
 * in jinja_format.c.
 *
 * Case mapping uses utf8proc's simple mappings plus the few special cases
 * that matter in prompts (ß, İ, ligatures); Python's full Unicode tables
 * differ on some rare characters.
 */
#include "chat/jinja_py.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/utf8.h"

/* ---- code points ----------------------------------------------------------- */

int32_t
j_cp_next(JStr s, size_t *pos)
{
	int32_t		cp;
	int			n = lm_utf8_next(s.p + *pos, s.len - *pos, &cp);

	*pos += n > 0 ? (size_t) n : (size_t) -n;
	return cp;
}

void
j_buf_put_cp(JRender *r, JBuf *b, int32_t cp)
{
	char		tmp[LM_UTF8_MAX_BYTES];
	int			n;

	if (cp < 0 || cp > LM_UNICODE_MAX || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = LM_REPLACEMENT_CHAR;
	n = lm_utf8_encode(cp, tmp);
	j_buf_put(r, b, tmp, n);
}

bool
j_is_ascii(JStr s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char) s.p[i] >= 0x80)
			return false;
	return true;
}

size_t
j_cp_count(JStr s)
{
	size_t		n = 0;

	/* Every byte that is not a continuation byte starts a code point. */
	for (size_t i = 0; i < s.len; i++)
		if (((unsigned char) s.p[i] & 0xC0) != 0x80)
			n++;
	return n;
}

size_t
j_cp_offset(JStr s, size_t index)
{
	size_t		pos = 0;

	for (size_t i = 0; i < index && pos < s.len; i++)
		j_cp_next(s, &pos);
	return pos;
}

/* ---- character classes ------------------------------------------------------ */

/* Python's str.isspace() and the whitespace split() and strip() remove. */
bool
j_py_isspace(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
	return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
		cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool
j_py_isalpha(int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);

	return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool
j_py_isdecimal(int32_t cp)
{
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_ND;
}

/* Decimal digits and the superscript and subscript digits. */
bool
j_py_isdigit(int32_t cp)
{
	return j_py_isdecimal(cp) || cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || cp == 0x2070 ||
		(cp >= 0x2074 && cp <= 0x2079) || (cp >= 0x2080 && cp <= 0x2089);
}

bool
j_py_isnumeric(int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);

	return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool
j_py_isalnum(int32_t cp)
{
	return j_py_isalpha(cp) || j_py_isnumeric(cp);
}

bool
j_py_isprintable(int32_t cp)
{
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_CS:
		case UTF8PROC_CATEGORY_CO:
		case UTF8PROC_CATEGORY_CN:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			return false;
		case UTF8PROC_CATEGORY_ZS:
			return cp == ' ';
		default:
			return true;
	}
}

static bool
py_isupper_cp(int32_t cp)
{
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_LU;
}

static bool
py_islower_cp(int32_t cp)
{
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_LL;
}

static bool
py_istitle_cp(int32_t cp)
{
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_LT;
}

static bool
py_iscased(int32_t cp)
{
	return py_isupper_cp(cp) || py_islower_cp(cp) || py_istitle_cp(cp);
}

/* Python's str.islower(): some cased character, none uppercase or titlecase. */
bool
j_str_islower(JStr s)
{
	size_t		pos = 0;
	bool		cased = false;

	while (pos < s.len)
	{
		int32_t		cp = j_cp_next(s, &pos);

		if (py_isupper_cp(cp) || py_istitle_cp(cp))
			return false;
		if (py_islower_cp(cp))
			cased = true;
	}
	return cased;
}

bool
j_str_isupper(JStr s)
{
	size_t		pos = 0;
	bool		cased = false;

	while (pos < s.len)
	{
		int32_t		cp = j_cp_next(s, &pos);

		if (py_islower_cp(cp) || py_istitle_cp(cp))
			return false;
		if (py_isupper_cp(cp))
			cased = true;
	}
	return cased;
}

/* Python's str.istitle(): uppercase only after uncased, lowercase only after cased. */
bool
j_str_istitle(JStr s)
{
	size_t		pos = 0;
	bool		cased = false;
	bool		prev_cased = false;

	while (pos < s.len)
	{
		int32_t		cp = j_cp_next(s, &pos);

		if (py_isupper_cp(cp) || py_istitle_cp(cp))
		{
			if (prev_cased)
				return false;
			prev_cased = cased = true;
		}
		else if (py_islower_cp(cp))
		{
			if (!prev_cased)
				return false;
			prev_cased = cased = true;
		}
		else
			prev_cased = false;
	}
	return cased;
}

/* ---- case mapping ------------------------------------------------------------ */

typedef enum CaseMap
{
	CASE_LOWER, CASE_UPPER, CASE_TITLE
} CaseMap;

/* One code point mapped, with Python's multi-character special cases. */
static void
put_mapped(JRender *r, JBuf *b, int32_t cp, CaseMap how)
{
	static const char *const lig_upper[] = {"FF", "FI", "FL", "FFI", "FFL", "ST", "ST"};
	static const char *const lig_title[] = {"Ff", "Fi", "Fl", "Ffi", "Ffl", "St", "St"};

	if (how == CASE_LOWER)
	{
		if (cp == 0x130)
		{
			/* İ lowercases to i with a combining dot above. */
			j_buf_put(r, b, "i\xcc\x87", 3);
			return;
		}
		j_buf_put_cp(r, b, utf8proc_tolower(cp));
		return;
	}
	if (cp == 0xDF)
	{
		j_buf_put(r, b, how == CASE_UPPER ? "SS" : "Ss", 2);
		return;
	}
	if (cp >= 0xFB00 && cp <= 0xFB06)
	{
		const char *s = how == CASE_UPPER ? lig_upper[cp - 0xFB00] : lig_title[cp - 0xFB00];

		j_buf_put(r, b, s, strlen(s));
		return;
	}
	j_buf_put_cp(r, b, how == CASE_UPPER ? utf8proc_toupper(cp) : utf8proc_totitle(cp));
}

static JStr
map_case(JRender *r, JStr s, CaseMap how)
{
	JBuf		b = {0};
	size_t		pos = 0;

	if (j_is_ascii(s))
	{
		char	   *p = j_alloc(r, s.len + 1);

		for (size_t i = 0; i < s.len; i++)
		{
			char		c = s.p[i];

			if (how == CASE_LOWER && c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			else if (how != CASE_LOWER && c >= 'a' && c <= 'z')
				c -= 'a' - 'A';
			p[i] = c;
		}
		p[s.len] = '\0';
		return (JStr) {p, s.len};
	}
	while (pos < s.len)
		put_mapped(r, &b, j_cp_next(s, &pos), how);
	return j_buf_str(&b);
}

JStr
j_str_lower(JRender *r, JStr s)
{
	return map_case(r, s, CASE_LOWER);
}

JStr
j_str_upper(JRender *r, JStr s)
{
	return map_case(r, s, CASE_UPPER);
}

/* Python 3.8+: the first character title-cased, the rest lowercased. */
JStr
j_str_capitalize(JRender *r, JStr s)
{
	JBuf		b = {0};
	size_t		pos = 0;

	if (s.len == 0)
		return s;
	put_mapped(r, &b, j_cp_next(s, &pos), CASE_TITLE);
	while (pos < s.len)
		put_mapped(r, &b, j_cp_next(s, &pos), CASE_LOWER);
	return j_buf_str(&b);
}

/* Python's str.title(): a cased character after an uncased one starts a word. */
JStr
j_str_title(JRender *r, JStr s)
{
	JBuf		b = {0};
	size_t		pos = 0;
	bool		prev_cased = false;

	while (pos < s.len)
	{
		int32_t		cp = j_cp_next(s, &pos);

		put_mapped(r, &b, cp, prev_cased ? CASE_LOWER : CASE_TITLE);
		prev_cased = py_iscased(cp);
	}
	return j_buf_str(&b);
}

/* ---- strip, find, replace, split ------------------------------------------------ */

static bool
in_chars(int32_t cp, const JStr *chars)
{
	size_t		pos = 0;

	if (chars == NULL)
		return j_py_isspace(cp);
	while (pos < chars->len)
		if (j_cp_next(*chars, &pos) == cp)
			return true;
	return false;
}

void
lm_jinja_py_strip(const char *s, size_t len, bool left, bool right, size_t *start, size_t *end)
{
	JStr		kept = j_str_strip((JStr) {s, len}, NULL, left, right);

	*start = (size_t) (kept.p - s);
	*end = *start + kept.len;
}

JStr
j_str_strip(JStr s, const JStr *chars, bool left, bool right)
{
	size_t		start = 0;
	size_t		end = s.len;

	if (left)
	{
		while (start < end)
		{
			size_t		next = start;

			if (!in_chars(j_cp_next(s, &next), chars))
				break;
			start = next;
		}
	}
	if (right)
	{
		while (end > start)
		{
			size_t		n = lm_utf8_last_len(s.p + start, end - start);
			size_t		pos = end - n;

			if (!in_chars(j_cp_next(s, &pos), chars))
				break;
			end -= n;
		}
	}
	return (JStr) {s.p + start, end - start};
}

int64_t
j_str_find(JStr hay, JStr needle, size_t from)
{
	if (from > hay.len)
		return -1;
	if (needle.len == 0)
		return (int64_t) from;
	for (const char *p = hay.p + from; (size_t) (hay.p + hay.len - p) >= needle.len;)
	{
		const char *hit = memchr(p, needle.p[0], hay.p + hay.len - p - needle.len + 1);

		if (hit == NULL)
			return -1;
		if (memcmp(hit, needle.p, needle.len) == 0)
			return hit - hay.p;
		p = hit + 1;
	}
	return -1;
}

/* Byte offset of the last needle in hay[0:end), or -1. */
static int64_t
str_rfind(JStr hay, JStr needle, size_t end)
{
	if (needle.len > end)
		return -1;
	for (size_t i = end - needle.len + 1; i-- > 0;)
		if (memcmp(hay.p + i, needle.p, needle.len) == 0)
			return (int64_t) i;
	return -1;
}

JStr
j_str_replace(JRender *r, JStr s, JStr old, JStr new, int64_t count)
{
	JBuf		b = {0};
	size_t		pos = 0;
	int64_t		done = 0;

	if (count < 0)
		count = INT64_MAX;
	if (old.len == 0)
	{
		/* An empty old inserts new before every character and at the end. */
		while (done < count)
		{
			j_step(r);
			j_buf_put(r, &b, new.p, new.len);
			done++;
			if (pos >= s.len)
				break;
			{
				size_t		start = pos;

				j_cp_next(s, &pos);
				j_buf_put(r, &b, s.p + start, pos - start);
			}
		}
		j_buf_put(r, &b, s.p + pos, s.len - pos);
		return j_buf_str(&b);
	}
	while (done < count)
	{
		int64_t		hit = j_str_find(s, old, pos);

		if (hit < 0)
			break;
		j_step(r);
		j_buf_put(r, &b, s.p + pos, (size_t) hit - pos);
		j_buf_put(r, &b, new.p, new.len);
		pos = (size_t) hit + old.len;
		done++;
	}
	if (done == 0)
		return s;
	j_buf_put(r, &b, s.p + pos, s.len - pos);
	return j_buf_str(&b);
}

/* A growable list of string values while splitting. */
typedef struct StrParts
{
	JValue	   *items;
	size_t		len;
	size_t		cap;
} StrParts;

static void
parts_add(JRender *r, StrParts *p, JStr s)
{
	j_step(r);
	if (p->len == p->cap)
	{
		size_t		cap = p->cap ? p->cap * 2 : 8;
		JValue	   *items = j_alloc(r, cap * sizeof(JValue));

		if (p->len > 0)
			memcpy(items, p->items, p->len * sizeof(JValue));
		p->items = items;
		p->cap = cap;
	}
	p->items[p->len++] = j_string(r, s.p, s.len);
}

static JValue
parts_list(JRender *r, StrParts *p, bool reverse)
{
	JValue		out = j_list(r, p->len);

	for (size_t i = 0; i < p->len; i++)
		out.u.list->items[i] = p->items[reverse ? p->len - 1 - i : i];
	return out;
}

/* Position just past the whitespace starting at pos. */
static size_t
skip_space(JStr s, size_t pos)
{
	while (pos < s.len)
	{
		size_t		next = pos;

		if (!j_py_isspace(j_cp_next(s, &next)))
			break;
		pos = next;
	}
	return pos;
}

static size_t
skip_nonspace(JStr s, size_t pos)
{
	while (pos < s.len)
	{
		size_t		next = pos;

		if (j_py_isspace(j_cp_next(s, &next)))
			break;
		pos = next;
	}
	return pos;
}

/* Start of the whitespace run that ends at end (going left). */
static size_t
back_over(JStr s, size_t end, bool space)
{
	while (end > 0)
	{
		size_t		n = lm_utf8_last_len(s.p, end);
		size_t		pos = end - n;

		if (j_py_isspace(j_cp_next(s, &pos)) != space)
			break;
		end -= n;
	}
	return end;
}

static JValue
split_whitespace(JRender *r, JStr s, int64_t maxsplit, bool from_right)
{
	StrParts	p = {0};

	if (!from_right)
	{
		size_t		pos = skip_space(s, 0);

		while (pos < s.len)
		{
			size_t		end;

			if (maxsplit >= 0 && (int64_t) p.len == maxsplit)
			{
				/* The rest, leading whitespace dropped, trailing kept. */
				parts_add(r, &p, (JStr) {s.p + pos, s.len - pos});
				break;
			}
			end = skip_nonspace(s, pos);
			parts_add(r, &p, (JStr) {s.p + pos, end - pos});
			pos = skip_space(s, end);
		}
		return parts_list(r, &p, false);
	}
	else
	{
		size_t		end = back_over(s, s.len, true);

		while (end > 0)
		{
			size_t		start;

			if (maxsplit >= 0 && (int64_t) p.len == maxsplit)
			{
				parts_add(r, &p, (JStr) {s.p, end});
				break;
			}
			start = back_over(s, end, false);
			parts_add(r, &p, (JStr) {s.p + start, end - start});
			end = back_over(s, start, true);
		}
		return parts_list(r, &p, true);
	}
}

JValue
j_str_split(JRender *r, JStr s, const JStr *sep, int64_t maxsplit, bool from_right)
{
	StrParts	p = {0};

	if (sep == NULL)
		return split_whitespace(r, s, maxsplit, from_right);
	if (sep->len == 0)
		j_fail(r, "empty separator");
	if (!from_right)
	{
		size_t		pos = 0;

		for (;;)
		{
			int64_t		hit = (maxsplit >= 0 && (int64_t) p.len == maxsplit) ? -1 : j_str_find(s, *sep, pos);

			if (hit < 0)
			{
				parts_add(r, &p, (JStr) {s.p + pos, s.len - pos});
				break;
			}
			parts_add(r, &p, (JStr) {s.p + pos, (size_t) hit - pos});
			pos = (size_t) hit + sep->len;
		}
		return parts_list(r, &p, false);
	}
	else
	{
		size_t		end = s.len;

		for (;;)
		{
			int64_t		hit = (maxsplit >= 0 && (int64_t) p.len == maxsplit) ? -1 : str_rfind(s, *sep, end);

			if (hit < 0)
			{
				parts_add(r, &p, (JStr) {s.p, end});
				break;
			}
			parts_add(r, &p, (JStr) {s.p + hit + sep->len, end - (size_t) hit - sep->len});
			end = (size_t) hit;
		}
		return parts_list(r, &p, true);
	}
}

/* Length of the line break at pos (\r\n counts as one), 0 when there is none. */
static size_t
line_break_len(JStr s, size_t pos)
{
	unsigned char c = (unsigned char) s.p[pos];
	size_t		next = pos;
	int32_t		cp;

	if (c == '\r')
		return pos + 1 < s.len && s.p[pos + 1] == '\n' ? 2 : 1;
	if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E))
		return 1;
	if (c < 0x80)
		return 0;
	cp = j_cp_next(s, &next);
	if (cp == 0x85 || cp == 0x2028 || cp == 0x2029)
		return next - pos;
	return 0;
}

JValue
j_str_splitlines(JRender *r, JStr s, bool keepends)
{
	StrParts	p = {0};
	size_t		start = 0;
	size_t		pos = 0;

	while (pos < s.len)
	{
		size_t		br = line_break_len(s, pos);

		if (br == 0)
		{
			j_cp_next(s, &pos);
			continue;
		}
		parts_add(r, &p, (JStr) {s.p + start, pos - start + (keepends ? br : 0)});
		pos += br;
		start = pos;
	}
	if (start < s.len)
		parts_add(r, &p, (JStr) {s.p + start, s.len - start});
	return parts_list(r, &p, false);
}

void
j_html_escape(JRender *r, JBuf *out, JStr s)
{
	size_t		run = 0;

	for (size_t i = 0; i < s.len; i++)
	{
		const char *esc;

		switch (s.p[i])
		{
			case '&':
				esc = "&amp;";
				break;
			case '<':
				esc = "&lt;";
				break;
			case '>':
				esc = "&gt;";
				break;
			case '"':
				esc = "&#34;";
				break;
			case '\'':
				esc = "&#39;";
				break;
			default:
				continue;
		}
		j_buf_put(r, out, s.p + run, i - run);
		j_buf_put(r, out, esc, strlen(esc));
		run = i + 1;
	}
	j_buf_put(r, out, s.p + run, s.len - run);
}

/* ---- int() and float() ------------------------------------------------------------ */

static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

bool
j_parse_int(JRender *r, JStr text, int base, int64_t *out)
{
	JStr		s = j_str_strip(text, NULL, true, true);
	size_t		i = 0;
	bool		neg = false;
	uint64_t	value = 0;
	uint64_t	limit;
	bool		any = false;
	bool		prefixed = false;

	if (base != 0 && (base < 2 || base > 36))
		return false;
	if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
		neg = s.p[i++] == '-';
	if (i + 1 < s.len && s.p[i] == '0')
	{
		char		c = s.p[i + 1] | 0x20;
		int			pb = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 0;

		if (pb != 0 && (base == 0 || base == pb))
		{
			base = pb;
			i += 2;
			prefixed = true;
		}
	}
	if (base == 0)
	{
		base = 10;
		/* int("010", 0) is refused: a decimal with leading zeros must be all zeros. */
		if (i + 1 < s.len && s.p[i] == '0')
			for (size_t k = i; k < s.len; k++)
				if (s.p[k] != '0' && s.p[k] != '_')
					return false;
	}
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; i < s.len; i++)
	{
		int			d;

		/* One underscore between digits (or right after a prefix). */
		if (s.p[i] == '_')
		{
			if ((!any && !prefixed) || i + 1 >= s.len || s.p[i + 1] == '_')
				return false;
			continue;
		}
		d = digit_value(s.p[i]);
		if (d >= base)
			return false;
		if (value > (limit - (uint64_t) d) / (uint64_t) base)
			j_fail_overflow(r);
		value = value * (uint64_t) base + (uint64_t) d;
		any = true;
	}
	if (!any)
		return false;
	*out = neg ? (int64_t) (0 - value) : (int64_t) value;
	return true;
}

static bool
ci_equal(JStr s, const char *lit)
{
	size_t		n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s.p[i] | 0x20) != lit[i])
			return false;
	return true;
}

bool
j_parse_float(JStr text, double *out)
{
	JStr		s = j_str_strip(text, NULL, true, true);
	char		buf[512];
	size_t		n = 0;
	size_t		i = 0;
	bool		neg = false;
	bool		digits = false;
	JStr		body;

	if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
		neg = s.p[i++] == '-';
	body = (JStr) {s.p + i, s.len - i};
	if (ci_equal(body, "inf") || ci_equal(body, "infinity"))
	{
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	if (ci_equal(body, "nan"))
	{
		*out = neg ? -NAN : NAN;
		return true;
	}
	/* digits [. digits] [e [sign] digits], one underscore between digits. */
	if (neg)
		buf[n++] = '-';
	for (int part = 0; part < 3 && i < s.len; part++)
	{
		bool		run = false;

		if (part == 1)
		{
			if (s.p[i] != '.')
				continue;
			buf[n++] = s.p[i++];
		}
		else if (part == 2)
		{
			if ((s.p[i] | 0x20) != 'e' || !digits)
				break;
			buf[n++] = s.p[i++];
			if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
				buf[n++] = s.p[i++];
		}
		while (i < s.len && n + 2 < sizeof(buf))
		{
			if (s.p[i] >= '0' && s.p[i] <= '9')
			{
				buf[n++] = s.p[i++];
				run = true;
				if (part < 2)
					digits = true;
			}
			else if (s.p[i] == '_' && run && i + 1 < s.len && s.p[i + 1] >= '0' && s.p[i + 1] <= '9')
				i++;
			else
				break;
		}
		if (part == 2 && !run)
			return false;
	}
	if (i != s.len || !digits)
		return false;
	buf[n] = '\0';
	*out = strtod(buf, NULL);
	return true;
}
