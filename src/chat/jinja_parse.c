/*
 * jinja_parse.c — a chat template's tree, as jinja2's parser builds it:
 * the same statements (if, for, set, macro, call, filter, break, continue,
 * with, print and transformers' generation tag) and the same precedence of
 * expressions, lowest first:
 *
 *   x if c else y  <  or  <  and  <  not  <  comparisons, in, not in
 *   <  + -  <  ~  <  * / // %  <  **  <  unary - +, then .a [i] (call)
 *   |filter  is test
 *
 * Templates that include, extend or import other templates are refused.
 */
#include "chat/jinja_ast.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct Parser
{
	JToken	   *t;
	int			n;
	int			pos;
	JParseArena **arena;
	LmError    *err;
	jmp_buf		fail;
	int			soft;			/* inside an if or inline if: unknown filters fail when run */
	int			loops;			/* enclosing for loops (in the current macro) */
	JNode	   *macro;			/* the macro whose body is being parsed */
	int			depth;			/* nesting, bounded */
} Parser;

#define MAX_NESTING 200

static void pfail(Parser *p, LmErrorCode code, const char *fmt,...) __attribute__((noreturn, format(printf, 3, 4)));

static void
pfail(Parser *p, LmErrorCode code, const char *fmt,...)
{
	char		msg[LM_ERROR_MESSAGE_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lm_fail(p->err, code, "chat template line %d: %s", p->t[p->pos].line, msg);
	longjmp(p->fail, 1);
}

static void *
palloc(Parser *p, size_t size)
{
	void	   *m = j_parse_alloc(p->arena, size);

	if (m == NULL)
	{
		lm_fail(p->err, LM_ERR_NO_MEMORY, "out of memory parsing a chat template");
		longjmp(p->fail, 1);
	}
	return m;
}

static JNode *
new_node(Parser *p, JNodeKind kind)
{
	JNode	   *n = palloc(p, sizeof(JNode));

	n->kind = kind;
	n->line = p->t[p->pos].line;
	return n;
}

/* A growing list of nodes (copied into the arena when done). */
typedef struct NodeVec
{
	int			n;
	int			cap;
	JNode	  **items;
} NodeVec;

static void
vec_push(Parser *p, NodeVec *v, JNode *node)
{
	if (v->n == v->cap)
	{
		int			cap = v->cap ? v->cap * 2 : 8;
		JNode	  **items = palloc(p, sizeof(JNode *) * cap);

		if (v->n > 0)
			memcpy(items, v->items, sizeof(JNode *) * v->n);
		v->items = items;
		v->cap = cap;
	}
	v->items[v->n++] = node;
}

static JNodeList
vec_list(NodeVec *v)
{
	return (JNodeList) {v->n, v->items};
}

/* ---- tokens ------------------------------------------------------------ */

static JToken *
cur(Parser *p)
{
	return &p->t[p->pos];
}

static JToken *
look(Parser *p)
{
	return &p->t[p->pos + 1 < p->n ? p->pos + 1 : p->pos];
}

static bool
str_is(JStr s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static bool
tok_name(const JToken *t, const char *name)
{
	return t->kind == T_NAME && str_is(t->text, name);
}

static bool
tok_op(const JToken *t, const char *op)
{
	return t->kind == T_OP && str_is(t->text, op);
}

static const char *
describe(const JToken *t)
{
	switch (t->kind)
	{
		case T_DATA:
			return "template data";
		case T_VAR_BEGIN:
			return "begin of print statement";
		case T_VAR_END:
			return "end of print statement";
		case T_BLOCK_BEGIN:
			return "begin of statement block";
		case T_BLOCK_END:
			return "end of statement block";
		case T_NAME:
			return "name";
		case T_STRING:
			return "string";
		case T_INT:
			return "integer";
		case T_FLOAT:
			return "float";
		case T_OP:
			return "operator";
		case T_EOF:
			return "end of template";
	}
	return "token";
}

static void
advance(Parser *p)
{
	if (p->pos + 1 < p->n)
		p->pos++;
}

static bool
skip_op(Parser *p, const char *op)
{
	if (tok_op(cur(p), op))
	{
		advance(p);
		return true;
	}
	return false;
}

static bool
skip_name(Parser *p, const char *name)
{
	if (tok_name(cur(p), name))
	{
		advance(p);
		return true;
	}
	return false;
}

static void
expect_op(Parser *p, const char *op)
{
	if (!skip_op(p, op))
		pfail(p, LM_ERR_INVALID_ARGUMENT, "expected '%s', got %s", op, describe(cur(p)));
}

static void
expect_kind(Parser *p, JTokKind kind, const char *what)
{
	if (cur(p)->kind != kind)
		pfail(p, LM_ERR_INVALID_ARGUMENT, "expected %s, got %s", what, describe(cur(p)));
	advance(p);
}

static JStr
expect_name(Parser *p)
{
	JStr		s = cur(p)->text;

	if (cur(p)->kind != T_NAME)
		pfail(p, LM_ERR_INVALID_ARGUMENT, "expected a name, got %s", describe(cur(p)));
	advance(p);
	return s;
}

static void
enter(Parser *p)
{
	if (++p->depth > MAX_NESTING)
		pfail(p, LM_ERR_INVALID_ARGUMENT, "the template nests too deeply");
}

/* ---- expressions ------------------------------------------------------- */

static JNode *parse_expression(Parser *p, bool with_condexpr);
static JNode *parse_tuple(Parser *p, bool simplified, bool with_condexpr, const char *extra_end, bool explicit_parens);
static JNode *parse_unary(Parser *p, bool with_filter);
static JNode *parse_primary(Parser *p);
static JNode *parse_postfix(Parser *p, JNode *node);
static JNode *parse_filter(Parser *p, JNode *node, bool start_inline);
static JNode *parse_test(Parser *p, JNode *node);
static JNode *parse_call(Parser *p, JNode *node);
static JNode *or_expr(Parser *p);

static JNode *
parse_condexpr(Parser *p)
{
	JNode	   *expr1;

	expr1 = or_expr(p);
	while (skip_name(p, "if"))
	{
		JNode	   *n = new_node(p, N_CONDEXPR);

		p->soft++;
		n->a = or_expr(p);		/* the condition */
		n->b = expr1;
		n->c = skip_name(p, "else") ? parse_condexpr(p) : NULL;
		p->soft--;
		expr1 = n;
	}
	return expr1;
}

static JNode *and_expr(Parser *p);
static JNode *not_expr(Parser *p);
static JNode *compare_expr(Parser *p);
static JNode *math1(Parser *p);
static JNode *concat_expr(Parser *p);
static JNode *math2(Parser *p);
static JNode *pow_expr(Parser *p);

static JNode *
or_expr(Parser *p)
{
	JNode	   *left = and_expr(p);

	while (tok_name(cur(p), "or"))
	{
		JNode	   *n = new_node(p, N_OR);

		advance(p);
		n->a = left;
		n->b = and_expr(p);
		left = n;
	}
	return left;
}

static JNode *
and_expr(Parser *p)
{
	JNode	   *left = not_expr(p);

	while (tok_name(cur(p), "and"))
	{
		JNode	   *n = new_node(p, N_AND);

		advance(p);
		n->a = left;
		n->b = not_expr(p);
		left = n;
	}
	return left;
}

static JNode *
not_expr(Parser *p)
{
	if (tok_name(cur(p), "not"))
	{
		JNode	   *n = new_node(p, N_NOT);

		advance(p);
		enter(p);
		n->a = not_expr(p);
		p->depth--;
		return n;
	}
	return compare_expr(p);
}

static JNode *
compare_expr(Parser *p)
{
	JNode	   *expr = math1(p);
	NodeVec		ops = {0};
	static const struct
	{
		const char *op;
		JCmpOp		cmp;
	}			cmps[] = {
		{"==", CMP_EQ}, {"!=", CMP_NE}, {"<", CMP_LT}, {"<=", CMP_LE}, {">", CMP_GT}, {">=", CMP_GE}
	};

	for (;;)
	{
		JNode	   *operand = new_node(p, N_OPERAND);
		bool		found = false;

		for (size_t k = 0; k < sizeof(cmps) / sizeof(cmps[0]) && !found; k++)
			if (tok_op(cur(p), cmps[k].op))
			{
				advance(p);
				operand->op = cmps[k].cmp;
				found = true;
			}
		if (!found && tok_name(cur(p), "in"))
		{
			advance(p);
			operand->op = CMP_IN;
			found = true;
		}
		else if (!found && tok_name(cur(p), "not") && tok_name(look(p), "in"))
		{
			advance(p);
			advance(p);
			operand->op = CMP_NOTIN;
			found = true;
		}
		if (!found)
			break;
		operand->a = math1(p);
		vec_push(p, &ops, operand);
	}
	if (ops.n == 0)
		return expr;
	{
		JNode	   *n = new_node(p, N_COMPARE);

		n->a = expr;
		n->items = vec_list(&ops);
		return n;
	}
}

static JNode *
binop(Parser *p, JBinOp op, JNode *a, JNode *b)
{
	JNode	   *n = new_node(p, N_BINOP);

	n->op = op;
	n->a = a;
	n->b = b;
	return n;
}

static JNode *
math1(Parser *p)
{
	JNode	   *left = concat_expr(p);

	for (;;)
	{
		if (skip_op(p, "+"))
			left = binop(p, JOP_ADD, left, concat_expr(p));
		else if (skip_op(p, "-"))
			left = binop(p, JOP_SUB, left, concat_expr(p));
		else
			return left;
	}
}

static JNode *
concat_expr(Parser *p)
{
	JNode	   *first = math2(p);
	NodeVec		args = {0};

	if (!tok_op(cur(p), "~"))
		return first;
	vec_push(p, &args, first);
	while (skip_op(p, "~"))
		vec_push(p, &args, math2(p));
	{
		JNode	   *n = new_node(p, N_CONCAT);

		n->items = vec_list(&args);
		return n;
	}
}

static JNode *
math2(Parser *p)
{
	JNode	   *left = pow_expr(p);

	for (;;)
	{
		if (skip_op(p, "*"))
			left = binop(p, JOP_MUL, left, pow_expr(p));
		else if (skip_op(p, "/"))
			left = binop(p, JOP_DIV, left, pow_expr(p));
		else if (skip_op(p, "//"))
			left = binop(p, JOP_FLOORDIV, left, pow_expr(p));
		else if (skip_op(p, "%"))
			left = binop(p, JOP_MOD, left, pow_expr(p));
		else
			return left;
	}
}

static JNode *
pow_expr(Parser *p)
{
	JNode	   *left = parse_unary(p, true);

	while (skip_op(p, "**"))
		left = binop(p, JOP_POW, left, parse_unary(p, true));
	return left;
}

static JNode *
parse_unary(Parser *p, bool with_filter)
{
	JNode	   *node;

	enter(p);
	if (tok_op(cur(p), "-") || tok_op(cur(p), "+"))
	{
		node = new_node(p, tok_op(cur(p), "-") ? N_NEG : N_POS);
		advance(p);
		node->a = parse_unary(p, false);
	}
	else
		node = parse_primary(p);
	node = parse_postfix(p, node);
	if (with_filter)
	{
		/* filters, tests and calls on their results, in any order */
		for (;;)
		{
			if (tok_op(cur(p), "|"))
				node = parse_filter(p, node, false);
			else if (tok_name(cur(p), "is"))
				node = parse_test(p, node);
			else if (tok_op(cur(p), "("))
				node = parse_call(p, node);
			else
				break;
		}
	}
	p->depth--;
	return node;
}

static JNode *
const_node(Parser *p, JValue v)
{
	JNode	   *n = new_node(p, N_CONST);

	n->value = v;
	return n;
}

static JNode *
parse_list_or_dict(Parser *p, bool dict)
{
	JNode	   *n = new_node(p, dict ? N_DICT : N_LIST);
	NodeVec		keys = {0},
				vals = {0};
	const char *close = dict ? "}" : "]";

	advance(p);					/* [ or { */
	while (!tok_op(cur(p), close))
	{
		if (keys.n > 0)
			expect_op(p, ",");
		if (tok_op(cur(p), close))
			break;
		vec_push(p, &keys, parse_expression(p, true));
		if (dict)
		{
			expect_op(p, ":");
			vec_push(p, &vals, parse_expression(p, true));
		}
	}
	expect_op(p, close);
	n->items = vec_list(&keys);
	n->else_ = vec_list(&vals);
	return n;
}

static JNode *
parse_primary(Parser *p)
{
	JToken	   *t = cur(p);
	JNode	   *n;

	if (t->kind == T_NAME)
	{
		if (str_is(t->text, "true") || str_is(t->text, "True"))
			n = const_node(p, j_bool(true));
		else if (str_is(t->text, "false") || str_is(t->text, "False"))
			n = const_node(p, j_bool(false));
		else if (str_is(t->text, "none") || str_is(t->text, "None"))
			n = const_node(p, j_none());
		else
		{
			n = new_node(p, N_NAME);
			n->name = t->text;
			if (p->macro != NULL)
			{
				p->macro->uses_varargs |= str_is(t->text, "varargs");
				p->macro->uses_kwargs |= str_is(t->text, "kwargs");
				p->macro->uses_caller |= str_is(t->text, "caller");
			}
		}
		advance(p);
		return n;
	}
	if (t->kind == T_STRING)
	{
		/* adjacent strings are one: "a" "b" */
		JStr		s = t->text;

		advance(p);
		if (cur(p)->kind == T_STRING)
		{
			size_t		total = s.len;
			char	   *buf;

			for (int k = p->pos; k < p->n && p->t[k].kind == T_STRING; k++)
				total += p->t[k].text.len;
			buf = palloc(p, total + 1);
			memcpy(buf, s.p, s.len);
			total = s.len;
			while (cur(p)->kind == T_STRING)
			{
				memcpy(buf + total, cur(p)->text.p, cur(p)->text.len);
				total += cur(p)->text.len;
				advance(p);
			}
			s = (JStr) {buf, total};
		}
		return const_node(p, j_string_ref(s));
	}
	if (t->kind == T_INT || t->kind == T_FLOAT)
	{
		n = const_node(p, t->kind == T_INT ? j_int(t->i) : j_float(t->f));
		advance(p);
		return n;
	}
	if (tok_op(t, "("))
	{
		advance(p);
		n = parse_tuple(p, false, true, NULL, true);
		expect_op(p, ")");
		return n;
	}
	if (tok_op(t, "["))
		return parse_list_or_dict(p, false);
	if (tok_op(t, "{"))
		return parse_list_or_dict(p, true);
	pfail(p, LM_ERR_INVALID_ARGUMENT, "unexpected %s", describe(t));
}

static bool
tuple_end(Parser *p, const char *extra_end)
{
	JToken	   *t = cur(p);

	if (t->kind == T_VAR_END || t->kind == T_BLOCK_END || tok_op(t, ")"))
		return true;
	return extra_end != NULL && tok_name(t, extra_end);
}

static JNode *
parse_tuple(Parser *p, bool simplified, bool with_condexpr, const char *extra_end, bool explicit_parens)
{
	NodeVec		args = {0};
	bool		is_tuple = false;
	int			line = cur(p)->line;

	for (;;)
	{
		if (args.n > 0)
			expect_op(p, ",");
		if (tuple_end(p, extra_end))
			break;
		vec_push(p, &args, simplified ? parse_primary(p) : parse_expression(p, with_condexpr));
		if (tok_op(cur(p), ","))
			is_tuple = true;
		else
			break;
	}
	if (!is_tuple)
	{
		if (args.n > 0)
			return args.items[0];
		if (!explicit_parens)
			pfail(p, LM_ERR_INVALID_ARGUMENT, "expected an expression, got %s", describe(cur(p)));
	}
	{
		JNode	   *n = new_node(p, N_TUPLE);

		n->line = line;
		n->items = vec_list(&args);
		return n;
	}
}

static JNode *
parse_expression(Parser *p, bool with_condexpr)
{
	JNode	   *n;

	enter(p);
	n = with_condexpr ? parse_condexpr(p) : or_expr(p);
	p->depth--;
	return n;
}

/* "a[...]": an index or a slice; start:stop:step, each optional. */
static JNode *
parse_subscribed(Parser *p)
{
	JNode	   *n;
	JNode	   *start = NULL;

	if (!tok_op(cur(p), ":"))
	{
		start = parse_expression(p, true);
		if (!tok_op(cur(p), ":"))
			return start;
	}
	advance(p);					/* : */
	n = new_node(p, N_SLICE);
	n->b = start;
	if (!tok_op(cur(p), ":") && !tok_op(cur(p), "]") && !tok_op(cur(p), ","))
		n->c = parse_expression(p, true);
	if (skip_op(p, ":"))
	{
		if (!tok_op(cur(p), "]") && !tok_op(cur(p), ","))
			n->d = parse_expression(p, true);
	}
	return n;
}

static JNode *
parse_subscript(Parser *p, JNode *node)
{
	if (skip_op(p, "."))
	{
		JToken	   *t = cur(p);
		JNode	   *n;

		if (t->kind == T_NAME)
		{
			n = new_node(p, N_GETATTR);
			n->a = node;
			n->name = t->text;
			advance(p);
			return n;
		}
		if (t->kind != T_INT)
			pfail(p, LM_ERR_INVALID_ARGUMENT, "expected name or number after '.'");
		n = new_node(p, N_GETITEM);
		n->a = node;
		n->b = const_node(p, j_int(t->i));
		advance(p);
		return n;
	}
	else
	{
		NodeVec		args = {0};
		JNode	   *n = new_node(p, N_GETITEM);

		expect_op(p, "[");
		while (!tok_op(cur(p), "]"))
		{
			if (args.n > 0)
				expect_op(p, ",");
			vec_push(p, &args, parse_subscribed(p));
		}
		expect_op(p, "]");
		if (args.n == 0)
			pfail(p, LM_ERR_INVALID_ARGUMENT, "expected subscript expression");
		if (args.n == 1 && args.items[0]->kind == N_SLICE)
		{
			args.items[0]->a = node;
			return args.items[0];
		}
		n->a = node;
		if (args.n == 1)
			n->b = args.items[0];
		else
		{
			n->b = new_node(p, N_TUPLE);
			n->b->items = vec_list(&args);
		}
		return n;
	}
}

/* "(args, name=value)" into node's items and keywords. */
static void
parse_call_args(Parser *p, JNode *node)
{
	NodeVec		args = {0},
				kws = {0};
	JStr	   *names = NULL;
	int			names_cap = 0;

	expect_op(p, "(");
	while (!tok_op(cur(p), ")"))
	{
		if (args.n + kws.n > 0)
		{
			expect_op(p, ",");
			if (tok_op(cur(p), ")"))
				break;
		}
		if (tok_op(cur(p), "*") || tok_op(cur(p), "**"))
			pfail(p, LM_ERR_UNSUPPORTED, "*args and **kwargs in calls are not supported");
		if (cur(p)->kind == T_NAME && tok_op(look(p), "="))
		{
			if (kws.n == names_cap)
			{
				int			cap = names_cap ? names_cap * 2 : 4;
				JStr	   *nn = palloc(p, sizeof(JStr) * cap);

				if (kws.n > 0)
					memcpy(nn, names, sizeof(JStr) * kws.n);
				names = nn;
				names_cap = cap;
			}
			names[kws.n] = cur(p)->text;
			advance(p);
			advance(p);
			vec_push(p, &kws, parse_expression(p, true));
		}
		else
		{
			if (kws.n > 0)
				pfail(p, LM_ERR_INVALID_ARGUMENT, "invalid syntax for function call expression");
			vec_push(p, &args, parse_expression(p, true));
		}
	}
	expect_op(p, ")");
	node->items = vec_list(&args);
	node->nkw = kws.n;
	node->kw = kws.items;
	node->kw_names = names;
}

static JNode *
parse_call(Parser *p, JNode *node)
{
	JNode	   *n = new_node(p, N_CALL);

	n->a = node;
	parse_call_args(p, n);
	return n;
}

static JNode *
parse_postfix(Parser *p, JNode *node)
{
	for (;;)
	{
		if (tok_op(cur(p), ".") || tok_op(cur(p), "["))
			node = parse_subscript(p, node);
		else if (tok_op(cur(p), "("))
			node = parse_call(p, node);
		else
			return node;
	}
}

/* A dotted filter or test name ("a.b" is allowed by jinja2). */
static JStr
dotted_name(Parser *p)
{
	JStr		name = expect_name(p);

	while (tok_op(cur(p), "."))
	{
		advance(p);
		expect_name(p);
		name.len = (size_t) (p->t[p->pos - 1].text.p + p->t[p->pos - 1].text.len - name.p);
	}
	return name;
}

static JNode *
parse_filter(Parser *p, JNode *node, bool start_inline)
{
	while (tok_op(cur(p), "|") || start_inline)
	{
		JNode	   *n;

		if (!start_inline)
			advance(p);
		n = new_node(p, N_FILTER);
		n->name = dotted_name(p);
		if (!p->soft && !j_filter_exists(n->name))
			pfail(p, LM_ERR_UNSUPPORTED, "No filter named '%.*s'.", (int) n->name.len, n->name.p);
		if (tok_op(cur(p), "("))
			parse_call_args(p, n);
		n->a = node;
		node = n;
		start_inline = false;
	}
	return node;
}

static JNode *
parse_test(Parser *p, JNode *node)
{
	JNode	   *n;
	bool		negated = false;
	JToken	   *t;

	advance(p);					/* is */
	if (skip_name(p, "not"))
		negated = true;
	n = new_node(p, N_TEST);
	n->name = dotted_name(p);
	if (!p->soft && !j_test_exists(n->name))
		pfail(p, LM_ERR_UNSUPPORTED, "No test named '%.*s'.", (int) n->name.len, n->name.p);
	n->a = node;
	t = cur(p);
	if (tok_op(t, "("))
		parse_call_args(p, n);
	else if ((t->kind == T_NAME || t->kind == T_STRING || t->kind == T_INT || t->kind == T_FLOAT ||
			  tok_op(t, "[") || tok_op(t, "{")) &&
			 !tok_name(t, "else") && !tok_name(t, "or") && !tok_name(t, "and"))
	{
		NodeVec		args = {0};

		if (tok_name(t, "is"))
			pfail(p, LM_ERR_INVALID_ARGUMENT, "You cannot chain multiple tests with is");
		vec_push(p, &args, parse_postfix(p, parse_primary(p)));
		n->items = vec_list(&args);
	}
	if (negated)
	{
		JNode	   *neg = new_node(p, N_NOT);

		neg->a = n;
		return neg;
	}
	return n;
}

/* ---- statements -------------------------------------------------------- */

static JNodeList subparse(Parser *p, const char *const *end_names, int n_end);

/* "%}" then the body up to one of end_names (left as the current token). */
static JNodeList
parse_statements(Parser *p, const char *const *end_names, int n_end, bool drop_needle)
{
	JNodeList	body;

	skip_op(p, ":");
	expect_kind(p, T_BLOCK_END, "end of statement block");
	body = subparse(p, end_names, n_end);
	if (cur(p)->kind == T_EOF)
		pfail(p, LM_ERR_INVALID_ARGUMENT, "unexpected end of template: '%s' expected", end_names[n_end - 1]);
	if (drop_needle)
		advance(p);
	return body;
}

static JNode *
parse_assign_target(Parser *p, bool with_tuple, bool name_only, const char *extra_end, bool with_namespace)
{
	JNode	   *target;

	if (with_namespace && cur(p)->kind == T_NAME && tok_op(look(p), "."))
	{
		target = new_node(p, N_NSREF);
		target->name = expect_name(p);
		advance(p);				/* . */
		target->attr = expect_name(p);
		return target;
	}
	if (name_only)
	{
		target = new_node(p, N_NAME);
		target->name = expect_name(p);
	}
	else
		target = with_tuple ? parse_tuple(p, true, true, extra_end, false) : parse_primary(p);
	if (target->kind == N_TUPLE)
	{
		for (int k = 0; k < target->items.n; k++)
			if (target->items.items[k]->kind != N_NAME)
				pfail(p, LM_ERR_INVALID_ARGUMENT, "can't assign to this target");
	}
	else if (target->kind != N_NAME)
		pfail(p, LM_ERR_INVALID_ARGUMENT, "can't assign to this target");
	if (target->kind == N_NAME && (str_is(target->name, "true") || str_is(target->name, "false") ||
								   str_is(target->name, "none")))
		pfail(p, LM_ERR_INVALID_ARGUMENT, "can't assign to a constant");
	return target;
}

static JNode *
parse_for(Parser *p)
{
	static const char *const body_end[] = {"endfor", "else"};
	static const char *const else_end[] = {"endfor"};
	JNode	   *n = new_node(p, S_FOR);

	advance(p);					/* for */
	n->target = parse_assign_target(p, true, false, "in", false);
	if (!skip_name(p, "in"))
		pfail(p, LM_ERR_INVALID_ARGUMENT, "expected 'in' in a for loop");
	n->a = parse_tuple(p, false, false, "recursive", false);
	if (skip_name(p, "if"))
		n->b = parse_expression(p, true);
	if (skip_name(p, "recursive"))
		n->op = 1;				/* loop(items) renders the body again over items */
	p->loops++;
	n->items = parse_statements(p, body_end, 2, false);
	p->loops--;
	if (tok_name(cur(p), "endfor"))
		advance(p);
	else
	{
		advance(p);				/* else */
		n->else_ = parse_statements(p, else_end, 1, true);
	}
	return n;
}

static JNode *
parse_if(Parser *p)
{
	static const char *const ends[] = {"elif", "else", "endif"};
	static const char *const else_end[] = {"endif"};
	JNode	   *result = new_node(p, S_IF);
	JNode	   *node = result;

	advance(p);					/* if */
	p->soft++;
	for (;;)
	{
		JToken	   *t;

		node->a = parse_tuple(p, false, false, NULL, false);
		node->items = parse_statements(p, ends, 3, false);
		t = cur(p);
		advance(p);
		if (tok_name(t, "elif"))
		{
			JNode	   *elif = new_node(p, S_IF);
			JNode	  **one = palloc(p, sizeof(JNode *));

			one[0] = elif;
			node->else_ = (JNodeList) {1, one};
			node = elif;
			continue;
		}
		if (tok_name(t, "else"))
			node->else_ = parse_statements(p, else_end, 1, true);
		break;
	}
	p->soft--;
	return result;
}

static JNode *
parse_set(Parser *p)
{
	static const char *const end[] = {"endset"};
	JNode	   *n = new_node(p, S_SET);

	advance(p);					/* set */
	n->target = parse_assign_target(p, true, false, NULL, true);
	if (skip_op(p, "="))
	{
		n->a = parse_tuple(p, false, true, NULL, false);
		return n;
	}
	n->kind = S_SET_BLOCK;
	n->b = parse_filter(p, NULL, false);
	n->items = parse_statements(p, end, 1, true);
	return n;
}

/* "(a, b=default)": parameter names and default expressions. */
static void
parse_signature(Parser *p, JNode *n)
{
	NodeVec		defaults = {0};
	JStr	   *params = NULL;
	int			cap = 0;

	expect_op(p, "(");
	while (!tok_op(cur(p), ")"))
	{
		if (n->nparams > 0)
			expect_op(p, ",");
		if (n->nparams == cap)
		{
			int			c = cap ? cap * 2 : 4;
			JStr	   *np = palloc(p, sizeof(JStr) * c);

			if (n->nparams > 0)
				memcpy(np, params, sizeof(JStr) * n->nparams);
			params = np;
			cap = c;
		}
		params[n->nparams++] = expect_name(p);
		if (skip_op(p, "="))
			vec_push(p, &defaults, parse_expression(p, true));
		else if (defaults.n > 0)
			pfail(p, LM_ERR_INVALID_ARGUMENT, "non-default argument follows default argument");
	}
	expect_op(p, ")");
	n->params = params;
	n->else_ = vec_list(&defaults);
}

static JNode *
parse_macro_like(Parser *p, bool call_block)
{
	static const char *const macro_end[] = {"endmacro"};
	static const char *const call_end[] = {"endcall"};
	JNode	   *n = new_node(p, call_block ? S_CALL_BLOCK : S_MACRO);
	JNode	   *outer = p->macro;
	int			loops = p->loops;

	advance(p);					/* macro or call */
	if (!call_block)
	{
		n->name = expect_name(p);
		parse_signature(p, n);
	}
	else
	{
		if (tok_op(cur(p), "("))
			parse_signature(p, n);
		n->a = parse_expression(p, true);
		if (n->a->kind != N_CALL)
			pfail(p, LM_ERR_INVALID_ARGUMENT, "expected call");
	}
	p->macro = n;
	p->loops = 0;
	n->items = parse_statements(p, call_block ? call_end : macro_end, 1, true);
	p->macro = outer;
	p->loops = loops;
	return n;
}

static JNode *
parse_filter_block(Parser *p)
{
	static const char *const end[] = {"endfilter"};
	JNode	   *n = new_node(p, S_FILTER_BLOCK);

	advance(p);					/* filter */
	n->b = parse_filter(p, NULL, true);
	n->items = parse_statements(p, end, 1, true);
	return n;
}

/* {% with a = 1, b = 2 %}...{% endwith %}: a scope; parsed as nested sets in a body. */
static JNode *
parse_with(Parser *p)
{
	static const char *const end[] = {"endwith"};
	JNode	   *n = new_node(p, S_BODY);
	NodeVec		sets = {0};

	advance(p);					/* with */
	while (cur(p)->kind != T_BLOCK_END)
	{
		JNode	   *set = new_node(p, S_SET);

		if (sets.n > 0)
			expect_op(p, ",");
		set->target = parse_assign_target(p, true, false, NULL, false);
		expect_op(p, "=");
		set->a = parse_expression(p, true);
		vec_push(p, &sets, set);
	}
	n->else_ = vec_list(&sets);
	n->items = parse_statements(p, end, 1, true);
	n->op = 1;					/* a scope of its own */
	return n;
}

static JNode *
parse_statement(Parser *p)
{
	JToken	   *t = cur(p);

	if (t->kind != T_NAME)
		pfail(p, LM_ERR_INVALID_ARGUMENT, "tag name expected");
	if (tok_name(t, "for"))
		return parse_for(p);
	if (tok_name(t, "if"))
		return parse_if(p);
	if (tok_name(t, "set"))
		return parse_set(p);
	if (tok_name(t, "macro"))
		return parse_macro_like(p, false);
	if (tok_name(t, "call"))
		return parse_macro_like(p, true);
	if (tok_name(t, "filter"))
		return parse_filter_block(p);
	if (tok_name(t, "with"))
		return parse_with(p);
	if (tok_name(t, "print"))
	{
		JNode	   *n = new_node(p, S_OUTPUT);

		advance(p);
		n->a = parse_tuple(p, false, true, NULL, false);
		return n;
	}
	if (tok_name(t, "break") || tok_name(t, "continue"))
	{
		JNode	   *n = new_node(p, tok_name(t, "break") ? S_BREAK : S_CONTINUE);

		if (p->loops == 0)
			pfail(p, LM_ERR_INVALID_ARGUMENT, "'%s' outside of a for loop", tok_name(t, "break") ? "break" : "continue");
		advance(p);
		return n;
	}
	if (tok_name(t, "generation"))
	{
		/* transformers' tag marking the assistant's part: rendered as is */
		static const char *const end[] = {"endgeneration"};
		JNode	   *n = new_node(p, S_BODY);

		advance(p);
		n->items = parse_statements(p, end, 1, true);
		n->op = 1;				/* a caller's body: a scope of its own */
		return n;
	}
	if (tok_name(t, "include") || tok_name(t, "extends") || tok_name(t, "import") || tok_name(t, "from") ||
		tok_name(t, "block"))
		pfail(p, LM_ERR_UNSUPPORTED, "'%.*s' is not supported: a chat template must be self-contained",
			  (int) t->text.len, t->text.p);
	pfail(p, LM_ERR_UNSUPPORTED, "Encountered unknown tag '%.*s'.", (int) t->text.len, t->text.p);
}

static JNodeList
subparse(Parser *p, const char *const *end_names, int n_end)
{
	NodeVec		body = {0};

	enter(p);
	while (cur(p)->kind != T_EOF)
	{
		JToken	   *t = cur(p);

		if (t->kind == T_DATA)
		{
			JNode	   *n = new_node(p, S_DATA);

			n->name = t->text;
			vec_push(p, &body, n);
			advance(p);
		}
		else if (t->kind == T_VAR_BEGIN)
		{
			JNode	   *n = new_node(p, S_OUTPUT);

			advance(p);
			n->a = parse_tuple(p, false, true, NULL, false);
			expect_kind(p, T_VAR_END, "end of print statement");
			vec_push(p, &body, n);
		}
		else if (t->kind == T_BLOCK_BEGIN)
		{
			advance(p);
			for (int k = 0; k < n_end; k++)
				if (tok_name(cur(p), end_names[k]))
				{
					p->depth--;
					return vec_list(&body);
				}
			vec_push(p, &body, parse_statement(p));
			expect_kind(p, T_BLOCK_END, "end of statement block");
		}
		else
			pfail(p, LM_ERR_INVALID_ARGUMENT, "unexpected %s", describe(t));
	}
	p->depth--;
	return vec_list(&body);
}

int
j_parse(JToken *tokens, int n, LmJinjaTemplate *tmpl, LmError *err)
{
	Parser		p = {0};

	p.t = tokens;
	p.n = n;
	p.arena = &tmpl->arena;
	p.err = err;
	if (setjmp(p.fail) != 0)
		return -1;
	tmpl->body = subparse(&p, NULL, 0);
	return 0;
}
