/*
 * jinja_lex.c — a chat template's tokens, as jinja2's lexer makes them with
 * trim_blocks and lstrip_blocks on.
 *
 * Whitespace control, the part templates depend on most:
 *   - newlines (\r\n, \r, \n) become \n, and one trailing newline of the
 *     template is dropped (keep_trailing_newline=False);
 *   - "{%-", "{{-", "{#-" strip all whitespace before the tag; "-%}",
 *     "-}}", "-#}" all whitespace after it;
 *   - trim_blocks: the first newline right after "%}" or "#}" is dropped;
 *   - lstrip_blocks: spaces and tabs between the start of a line and "{%"
 *     or "{#" are dropped ("{%+" keeps them);
 *   - "{% raw %}...{% endraw %}" is text.
 */
#include "chat/jinja_ast.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct JParseArena
{
	JParseArena *next;
	size_t		size;
	size_t		used;
	char		data[];
};

#define J_PARSE_CHUNK (64 * 1024)

void *
j_parse_alloc(JParseArena **arena, size_t size)
{
	JParseArena *a = *arena;

	size = (size + 7) & ~(size_t) 7;
	if (a == NULL || a->size - a->used < size)
	{
		size_t		chunk = size > J_PARSE_CHUNK ? size : J_PARSE_CHUNK;

		a = malloc(sizeof(JParseArena) + chunk);
		if (a == NULL)
			return NULL;
		a->size = chunk;
		a->used = 0;
		a->next = *arena;
		*arena = a;
	}
	a->used += size;
	memset(a->data + a->used - size, 0, size);
	return a->data + a->used - size;
}

void
j_parse_arena_free(JParseArena *arena)
{
	while (arena != NULL)
	{
		JParseArena *next = arena->next;

		free(arena);
		arena = next;
	}
}

typedef struct Lexer
{
	const char *s;				/* normalized source */
	size_t		len;
	size_t		pos;
	int			line;
	bool		line_starting;	/* the last thing consumed ended a line */
	JParseArena **arena;
	JToken	   *toks;
	int			n;
	int			cap;
	char		balance[256];	/* open brackets inside a tag */
	int			depth;
	LmError    *err;
	bool		failed;
} Lexer;

static void
lex_fail(Lexer *lx, const char *msg)
{
	if (!lx->failed)
		lm_fail(lx->err, LM_ERR_INVALID_ARGUMENT, "chat template line %d: %s", lx->line, msg);
	lx->failed = true;
}

static JToken *
push(Lexer *lx, JTokKind kind, int line)
{
	if (lx->n == lx->cap)
	{
		int			cap = lx->cap ? lx->cap * 2 : 256;
		JToken	   *t = j_parse_alloc(lx->arena, sizeof(JToken) * cap);

		if (t == NULL)
		{
			lm_fail(lx->err, LM_ERR_NO_MEMORY, "out of memory parsing a chat template");
			lx->failed = true;
			return NULL;
		}
		if (lx->n > 0)
			memcpy(t, lx->toks, sizeof(JToken) * lx->n);
		lx->toks = t;
		lx->cap = cap;
	}
	memset(&lx->toks[lx->n], 0, sizeof(JToken));
	lx->toks[lx->n].kind = kind;
	lx->toks[lx->n].line = line;
	return &lx->toks[lx->n++];
}

static int
count_newlines(const char *p, size_t len)
{
	int			n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n;
}

/*
 * Length of the whitespace character at p (Python's str.isspace: ASCII
 * whitespace, \x1c-\x1f and Unicode's spaces), 0 when it is none.
 */
static int
space_len(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *) p;
	size_t		left = end - p;

	if (left == 0)
		return 0;
	if (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r') || (u[0] >= 0x1c && u[0] <= 0x1f))
		return 1;
	if (left >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
		return 2;
	if (left >= 3 && u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80)
		return 3;
	if (left >= 3 && u[0] == 0xe2 && u[1] == 0x80 &&
		(u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
		return 3;
	if (left >= 3 && u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f)
		return 3;
	if (left >= 3 && u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
		return 3;
	return 0;
}

/* Length of p[0..len) without its trailing whitespace (str.rstrip()). */
static size_t
rstrip_len(const char *p, size_t len)
{
	size_t		keep = 0,
				i = 0;

	while (i < len)
	{
		int			s = space_len(p + i, p + len);

		if (s > 0)
			i += s;
		else
		{
			/* one character, whole: a UTF-8 lead byte and its continuations */
			i++;
			while (i < len && ((unsigned char) p[i] & 0xc0) == 0x80)
				i++;
			keep = i;
		}
	}
	return keep;
}

/* True when p[0..len) is one or more whitespace characters. */
static bool
all_space(const char *p, size_t len)
{
	size_t		i = 0;

	if (len == 0)
		return false;
	while (i < len)
	{
		int			s = space_len(p + i, p + len);

		if (s == 0)
			return false;
		i += s;
	}
	return true;
}

/* Skip whitespace at pos (the "\s*" after "-%}"). */
static void
skip_space(Lexer *lx)
{
	int			s;

	while ((s = space_len(lx->s + lx->pos, lx->s + lx->len)) > 0)
	{
		lx->line += lx->s[lx->pos] == '\n';
		lx->pos += s;
	}
}

static bool
at(const Lexer *lx, size_t pos, const char *lit)
{
	size_t		n = strlen(lit);

	return pos + n <= lx->len && memcmp(lx->s + pos, lit, n) == 0;
}

/*
 * Text before a tag, with the tag's whitespace control: sign is '-', '+' or
 * 0; lstrip applies to blocks and comments, not to {{.
 */
static void
emit_text(Lexer *lx, size_t start, size_t end, char sign, bool lstrip)
{
	const char *text = lx->s + start;
	size_t		len = end - start;
	JToken	   *t;

	if (sign == '-')
		len = rstrip_len(text, len);
	else if (sign != '+' && lstrip)
	{
		size_t		l_pos = 0;

		for (size_t i = len; i > 0; i--)
			if (text[i - 1] == '\n')
			{
				l_pos = i;
				break;
			}
		if ((l_pos > 0 || lx->line_starting) && all_space(text + l_pos, len - l_pos))
			len = l_pos;
	}
	if (len > 0)
	{
		t = push(lx, T_DATA, lx->line);
		if (t == NULL)
			return;
		t->text = (JStr) {text, len};
	}
	lx->line += count_newlines(lx->s + start, end - start);
}

/* After "%}" or "#}": trim_blocks' newline, or "-": all whitespace. */
static void
after_block_end(Lexer *lx, char sign)
{
	if (sign == '-')
		skip_space(lx);
	else if (sign != '+' && lx->pos < lx->len && lx->s[lx->pos] == '\n')
	{
		lx->pos++;
		lx->line++;
	}
	lx->line_starting = lx->pos > 0 && lx->s[lx->pos - 1] == '\n';
}

static void
lex_comment(Lexer *lx)
{
	for (size_t i = lx->pos; i + 1 < lx->len; i++)
	{
		char		sign = 0;

		if (lx->s[i] == '#' && lx->s[i + 1] == '}')
			sign = (i > lx->pos && (lx->s[i - 1] == '-' || lx->s[i - 1] == '+')) ? lx->s[i - 1] : 0;
		else
			continue;
		lx->line += count_newlines(lx->s + lx->pos, i + 2 - lx->pos);
		lx->pos = i + 2;
		after_block_end(lx, sign);
		return;
	}
	lex_fail(lx, "Missing end of comment tag");
}

/* "{% raw %}" at pos (with its sign), or false. Sets *body to after the tag. */
static bool
raw_begin(const Lexer *lx, size_t pos, size_t *body)
{
	size_t		p = pos + 2;

	if (p < lx->len && (lx->s[p] == '-' || lx->s[p] == '+'))
		p++;
	while (p < lx->len && space_len(lx->s + p, lx->s + lx->len) == 1)
		p++;
	if (!at(lx, p, "raw"))
		return false;
	p += 3;
	while (p < lx->len && space_len(lx->s + p, lx->s + lx->len) == 1)
		p++;
	if (at(lx, p, "-%}"))
	{
		p += 3;
		while (p < lx->len && space_len(lx->s + p, lx->s + lx->len) == 1)
			p++;
	}
	else if (at(lx, p, "%}"))
		p += 2;
	else
		return false;
	*body = p;
	return true;
}

static void
lex_raw(Lexer *lx, size_t body)
{
	lx->line += count_newlines(lx->s + lx->pos, body - lx->pos);
	lx->pos = body;
	for (size_t i = body; i + 1 < lx->len; i++)
	{
		size_t		p = i + 2;
		char		sign = 0,
					end_sign = 0;

		if (lx->s[i] != '{' || lx->s[i + 1] != '%')
			continue;
		if (p < lx->len && (lx->s[p] == '-' || lx->s[p] == '+'))
			sign = lx->s[p++];
		while (p < lx->len && space_len(lx->s + p, lx->s + lx->len) == 1)
			p++;
		if (!at(lx, p, "endraw"))
			continue;
		p += 6;
		while (p < lx->len && space_len(lx->s + p, lx->s + lx->len) == 1)
			p++;
		if (at(lx, p, "-%}") || at(lx, p, "+%}"))
		{
			end_sign = lx->s[p];
			p += 3;
		}
		else if (at(lx, p, "%}"))
			p += 2;
		else
			continue;
		emit_text(lx, body, i, sign, true);
		lx->line += count_newlines(lx->s + i, p - i);
		lx->pos = p;
		after_block_end(lx, end_sign);
		return;
	}
	lex_fail(lx, "Missing end of raw directive");
}

static const char *const operators[] = {
	"//", "**", "==", "!=", ">=", "<=",
	"+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", "=", ".", ":", "|", ",", ";", ">", "<"
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (unsigned char) c >= 0x80;
}

/* Digits with single underscores between them ("(\d+_)*\d+"); end of the run. */
static size_t
digits_end(const Lexer *lx, size_t p)
{
	size_t		q = p;

	if (q >= lx->len || !is_digit(lx->s[q]))
		return p;
	while (q < lx->len)
	{
		if (is_digit(lx->s[q]))
			q++;
		else if (lx->s[q] == '_' && q + 1 < lx->len && is_digit(lx->s[q + 1]))
			q++;
		else
			break;
	}
	return q;
}

/* Copy without underscores, NUL-terminated, for strtod/strtoll. */
static char *
number_text(Lexer *lx, size_t start, size_t end)
{
	char	   *buf = j_parse_alloc(lx->arena, end - start + 1);
	size_t		n = 0;

	if (buf == NULL)
		return NULL;
	for (size_t i = start; i < end; i++)
		if (lx->s[i] != '_')
			buf[n++] = lx->s[i];
	buf[n] = '\0';
	return buf;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* A number at pos: float_re first, then integer_re, as jinja2 tries them. */
static bool
lex_number(Lexer *lx)
{
	size_t		p = lx->pos,
				q = digits_end(lx, p),
				end = q;
	bool		is_float = false;
	JToken	   *t;
	char	   *txt;

	if (q == p || (p > 0 && lx->s[p - 1] == '.'))
		return false;
	/* fraction */
	if (q < lx->len && lx->s[q] == '.' && digits_end(lx, q + 1) > q + 1)
	{
		end = digits_end(lx, q + 1);
		is_float = true;
	}
	/* exponent */
	if (end < lx->len && (lx->s[end] == 'e' || lx->s[end] == 'E'))
	{
		size_t		e = end + 1;

		if (e < lx->len && (lx->s[e] == '+' || lx->s[e] == '-'))
			e++;
		if (digits_end(lx, e) > e)
		{
			end = digits_end(lx, e);
			is_float = true;
		}
	}
	if (!is_float)
	{
		int			base = 10;

		/* integer_re: 0b, 0o, 0x, or decimal without leading zeros ("0(_?0)*") */
		if (lx->s[p] == '0' && p + 1 < lx->len && lx->s[p + 1] != '\0' && strchr("bBoOxX", lx->s[p + 1]) != NULL)
		{
			char		k = lx->s[p + 1] | 0x20;

			base = k == 'b' ? 2 : k == 'o' ? 8 : 16;
			end = p + 2;
			while (end < lx->len && (lx->s[end] == '_' ||
									 (hex_value(lx->s[end]) >= 0 && hex_value(lx->s[end]) < base)))
				end++;
			if (end == p + 2)
				return false;
		}
		else if (lx->s[p] == '0')
		{
			end = p + 1;
			while (end < lx->len && (lx->s[end] == '0' ||
									 (lx->s[end] == '_' && end + 1 < lx->len && lx->s[end + 1] == '0')))
				end++;
		}
		txt = number_text(lx, base == 10 ? p : p + 2, end);
		if (txt == NULL || (t = push(lx, T_INT, lx->line)) == NULL)
		{
			lex_fail(lx, "out of memory");
			return true;
		}
		errno = 0;
		t->i = strtoll(txt, NULL, base);
		if (errno != 0)
			lex_fail(lx, "integer literal too large");
	}
	else
	{
		txt = number_text(lx, p, end);
		if (txt == NULL || (t = push(lx, T_FLOAT, lx->line)) == NULL)
		{
			lex_fail(lx, "out of memory");
			return true;
		}
		t->f = strtod(txt, NULL);
	}
	t->text = (JStr) {lx->s + p, end - p};
	lx->pos = end;
	return true;
}

/* Append code point cp as UTF-8 (jinja2 lets \ud800 through; so do we, as 3 bytes). */
static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xc0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xe0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char) (0xf0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char) (0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string literal at pos: its value as Python's "unicode-escape" codec
 * decodes it (\n, \t, \\, \', \xNN, \uNNNN, octal, ...; an unknown escape
 * stays as it is).
 */
static void
lex_string(Lexer *lx)
{
	char		quote = lx->s[lx->pos];
	size_t		p = lx->pos + 1;
	size_t		end;
	char	   *out;
	size_t		n = 0;
	JToken	   *t;

	for (end = p; end < lx->len && lx->s[end] != quote; end++)
		if (lx->s[end] == '\\' && end + 1 < lx->len)
			end++;
	if (end >= lx->len)
	{
		lex_fail(lx, "unexpected end of string");
		return;
	}
	out = j_parse_alloc(lx->arena, end - p + 1);
	t = push(lx, T_STRING, lx->line);
	if (out == NULL || t == NULL)
	{
		lex_fail(lx, "out of memory");
		return;
	}
	for (size_t i = p; i < end; i++)
	{
		char		c = lx->s[i];

		if (c != '\\' || i + 1 >= end)
		{
			out[n++] = c;
			continue;
		}
		c = lx->s[++i];
		switch (c)
		{
			case '\n':
				break;			/* a line continuation */
			case '\\':
			case '\'':
			case '"':
				out[n++] = c;
				break;
			case 'n':
				out[n++] = '\n';
				break;
			case 't':
				out[n++] = '\t';
				break;
			case 'r':
				out[n++] = '\r';
				break;
			case 'b':
				out[n++] = '\b';
				break;
			case 'f':
				out[n++] = '\f';
				break;
			case 'v':
				out[n++] = '\v';
				break;
			case 'a':
				out[n++] = '\a';
				break;
			case 'x':
			case 'u':
			case 'U':
				{
					int			digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
					uint32_t	cp = 0;

					for (int k = 0; k < digits; k++)
					{
						int			h = i + 1 + k < end ? hex_value(lx->s[i + 1 + k]) : -1;

						if (h < 0)
						{
							lex_fail(lx, "truncated \\x, \\u or \\U escape in a string");
							return;
						}
						cp = cp * 16 + h;
					}
					if (cp > 0x10ffff)
					{
						lex_fail(lx, "illegal Unicode character in a string escape");
						return;
					}
					i += digits;
					n += put_utf8(out + n, cp);
					break;
				}
			default:
				if (c >= '0' && c <= '7')
				{
					uint32_t	cp = c - '0';

					for (int k = 0; k < 2 && i + 1 < end && lx->s[i + 1] >= '0' && lx->s[i + 1] <= '7'; k++)
						cp = cp * 8 + (lx->s[++i] - '0');
					n += put_utf8(out + n, cp);
				}
				else
				{
					out[n++] = '\\';
					out[n++] = c;
				}
		}
	}
	t->text = (JStr) {out, n};
	lx->line += count_newlines(lx->s + lx->pos, end + 1 - lx->pos);
	lx->pos = end + 1;
}

/* The tokens of a {{ }} or {% %} tag, up to and including its end. */
static void
lex_tag(Lexer *lx, bool block)
{
	lx->depth = 0;
	while (!lx->failed)
	{
		char		c;

		skip_space(lx);
		if (lx->pos >= lx->len)
		{
			lex_fail(lx, block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'");
			return;
		}
		if (lx->depth == 0)
		{
			const char *end = block ? "%}" : "}}";
			char		sign = 0;
			size_t		p = lx->pos;

			if ((lx->s[p] == '-' || (block && lx->s[p] == '+')) && at(lx, p + 1, end))
				sign = lx->s[p++];
			if (at(lx, p, end))
			{
				if (push(lx, block ? T_BLOCK_END : T_VAR_END, lx->line) == NULL)
					return;
				lx->pos = p + 2;
				if (block)
					after_block_end(lx, sign);
				else
				{
					if (sign == '-')
						skip_space(lx);
					lx->line_starting = lx->s[lx->pos - 1] == '\n';
				}
				return;
			}
		}
		c = lx->s[lx->pos];
		if (is_digit(c) && lex_number(lx))
			continue;
		if (is_name_start(c))
		{
			size_t		p = lx->pos;
			JToken	   *t;

			while (p < lx->len && (is_name_start(lx->s[p]) || is_digit(lx->s[p])))
				p++;
			if ((t = push(lx, T_NAME, lx->line)) == NULL)
				return;
			t->text = (JStr) {lx->s + lx->pos, p - lx->pos};
			lx->pos = p;
			continue;
		}
		if (c == '\'' || c == '"')
		{
			lex_string(lx);
			continue;
		}
		for (size_t k = 0; k < sizeof(operators) / sizeof(operators[0]); k++)
			if (at(lx, lx->pos, operators[k]))
			{
				size_t		olen = strlen(operators[k]);
				JToken	   *t;

				if (olen == 1 && strchr("{([", c) != NULL)
				{
					if (lx->depth == (int) sizeof(lx->balance))
					{
						lex_fail(lx, "brackets nested too deeply");
						return;
					}
					lx->balance[lx->depth++] = c == '{' ? '}' : c == '(' ? ')' : ']';
				}
				else if (olen == 1 && strchr("})]", c) != NULL)
				{
					if (lx->depth == 0 || lx->balance[lx->depth - 1] != c)
					{
						lex_fail(lx, "unexpected closing bracket");
						return;
					}
					lx->depth--;
				}
				if ((t = push(lx, T_OP, lx->line)) == NULL)
					return;
				t->text = (JStr) {lx->s + lx->pos, olen};
				lx->pos += olen;
				goto next;
			}
		lex_fail(lx, "unexpected character in a tag");
		return;
next:	;
	}
}

/* Source with \r\n and \r as \n and one trailing newline dropped. */
static char *
normalize(const char *src, size_t len, size_t *out_len, JParseArena **arena)
{
	char	   *out = j_parse_alloc(arena, len + 1);
	size_t		n = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
	{
		if (src[i] == '\r')
		{
			out[n++] = '\n';
			if (i + 1 < len && src[i + 1] == '\n')
				i++;
		}
		else
			out[n++] = src[i];
	}
	if (n > 0 && out[n - 1] == '\n')
		n--;
	out[n] = '\0';
	*out_len = n;
	return out;
}

int
j_lex(const char *source, size_t len, JParseArena **arena, JToken **tokens, LmError *err)
{
	Lexer		lx = {0};

	lx.arena = arena;
	lx.err = err;
	lx.line = 1;
	lx.line_starting = true;
	lx.s = normalize(source, len, &lx.len, arena);
	if (lx.s == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory parsing a chat template");
	while (!lx.failed && lx.pos < lx.len)
	{
		size_t		tag = lx.pos;
		char		kind = 0,
					sign = 0;
		size_t		raw_body;

		/* the next "{{", "{%" or "{#" */
		for (; tag + 1 < lx.len; tag++)
			if (lx.s[tag] == '{' && (lx.s[tag + 1] == '{' || lx.s[tag + 1] == '%' || lx.s[tag + 1] == '#'))
			{
				kind = lx.s[tag + 1];
				break;
			}
		if (kind == 0)
		{
			emit_text(&lx, lx.pos, lx.len, 0, false);
			lx.pos = lx.len;
			break;
		}
		if (tag + 2 < lx.len && (lx.s[tag + 2] == '-' || lx.s[tag + 2] == '+'))
			sign = lx.s[tag + 2];
		if (kind == '%' && raw_begin(&lx, tag, &raw_body))
		{
			emit_text(&lx, lx.pos, tag, sign, true);
			lx.pos = tag;
			lx.line_starting = lx.s[raw_body - 1] == '\n';
			lex_raw(&lx, raw_body);
			continue;
		}
		emit_text(&lx, lx.pos, tag, sign, kind != '{');
		lx.pos = tag + 2 + (sign != 0);
		if (kind == '#')
			lex_comment(&lx);
		else
		{
			if (push(&lx, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, lx.line) == NULL)
				break;
			lex_tag(&lx, kind == '%');
		}
	}
	if (!lx.failed)
		push(&lx, T_EOF, lx.line);
	if (lx.failed)
		return -1;
	*tokens = lx.toks;
	return lx.n;
}
