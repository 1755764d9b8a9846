/*
 * jinja_ast.h — a parsed chat template: the lexer's tokens and the parser's
 * tree, which the evaluator walks.  Both follow jinja2's lexer.py and
 * parser.py (3.1), so that whitespace control and operator precedence are
 * the same.
 */
#ifndef LM_JINJA_AST_H
#define LM_JINJA_AST_H

#include "chat/jinja_internal.h"

/* ---- tokens (jinja_lex.c) ---------------------------------------------- */

typedef enum JTokKind
{
	T_DATA,						/* template text, whitespace control applied */
	T_VAR_BEGIN,				/* {{ */
	T_VAR_END,					/* }} */
	T_BLOCK_BEGIN,				/* {% */
	T_BLOCK_END,				/* %} */
	T_NAME,
	T_STRING,					/* text: the decoded value */
	T_INT,
	T_FLOAT,
	T_OP,						/* text: the operator, e.g. "//" or "(" */
	T_EOF
} JTokKind;

typedef struct JToken
{
	JTokKind	kind;
	int			line;
	JStr		text;
	int64_t		i;
	double		f;
} JToken;

/* Memory of a parsed template: chunks freed with it. */
typedef struct JParseArena JParseArena;

void	   *j_parse_alloc(JParseArena **arena, size_t size);
void		j_parse_arena_free(JParseArena *arena);

/*
 * Split source into tokens (trim_blocks and lstrip_blocks on, as
 * transformers sets them).  Returns the count (the last token is T_EOF), or
 * -1 with err set, naming the line.
 */
int			j_lex(const char *source, size_t len, JParseArena **arena, JToken **tokens, LmError *err);

/* ---- the tree (jinja_parse.c) ------------------------------------------ */

typedef enum JNodeKind
{
	/* expressions */
	N_CONST,					/* value */
	N_NAME,						/* name */
	N_NSREF,					/* name.attr as an assignment target */
	N_GETATTR,					/* a.name */
	N_GETITEM,					/* a[b] */
	N_SLICE,					/* a[b:c:d], each of b, c, d may be NULL */
	N_CALL,						/* a(args) */
	N_FILTER,					/* a | name(args); a NULL in filter blocks */
	N_TEST,						/* a is name(args) */
	N_NOT,						/* not a */
	N_NEG,						/* -a */
	N_POS,						/* +a */
	N_AND,						/* a and b */
	N_OR,						/* a or b */
	N_BINOP,					/* a op b */
	N_CONCAT,					/* items joined by ~ */
	N_COMPARE,					/* a, then items: N_OPERAND nodes */
	N_OPERAND,					/* op, a: one comparison of a chain */
	N_CONDEXPR,					/* b if a else c (c may be NULL) */
	N_LIST,						/* [items] */
	N_TUPLE,					/* (items) */
	N_DICT,						/* {items: values} (keys in items, values in else_) */

	/* statements */
	S_DATA,						/* template text: name */
	S_OUTPUT,					/* {{ a }} */
	S_IF,						/* if a: items, else else_ (an elif is an S_IF in else_) */
	S_FOR,						/* for target in a [if b]: items, else else_; op 1: recursive */
	S_SET,						/* set target = a */
	S_SET_BLOCK,				/* set target [| filter b]: items */
	S_MACRO,					/* macro name(params = defaults): items */
	S_CALL_BLOCK,				/* call(params = defaults) a: items (a is a N_CALL) */
	S_FILTER_BLOCK,				/* filter b: items (b: N_FILTER chain on NULL) */
	S_BREAK,
	S_CONTINUE,
	S_BODY						/* items; op 1: in a scope of their own, after the
								 * assignments in else_ ({% with %}, {% generation %}) */
} JNodeKind;

/* Comparison operators of N_OPERAND. */
typedef enum JCmpOp
{
	CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_IN, CMP_NOTIN
} JCmpOp;

typedef struct JNode JNode;

typedef struct JNodeList
{
	int			n;
	JNode	  **items;
} JNodeList;

struct JNode
{
	JNodeKind	kind;
	int			line;
	int			op;				/* JBinOp of N_BINOP, JCmpOp of N_OPERAND */
	JStr		name;			/* names; attribute, filter, test, macro names; S_DATA text */
	JStr		attr;			/* N_NSREF's attribute */
	JValue		value;			/* N_CONST */
	JNode	   *a;
	JNode	   *b;
	JNode	   *c;
	JNode	   *d;
	JNode	   *target;			/* S_FOR, S_SET, S_SET_BLOCK */
	JNodeList	items;			/* list items, positional arguments, bodies */
	JNodeList	else_;			/* else bodies, dict values, macro defaults */
	int			nkw;			/* keyword arguments (N_CALL, N_FILTER, N_TEST) */
	JStr	   *kw_names;
	JNode	  **kw;
	int			nparams;		/* S_MACRO, S_CALL_BLOCK parameters */
	JStr	   *params;
	bool		uses_varargs;	/* S_MACRO: the body reads varargs / kwargs / caller */
	bool		uses_kwargs;
	bool		uses_caller;
};

struct LmJinjaTemplate
{
	JParseArena *arena;
	JNodeList	body;
};

/* Parse tokens into tmpl->body; -1 with err set (naming the line). */
int			j_parse(JToken *tokens, int n, LmJinjaTemplate *tmpl, LmError *err);

#endif
