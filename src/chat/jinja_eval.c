/*
 * jinja_eval.c — running a parsed chat template: statements, expressions,
 * scopes and macros, with jinja2's rules:
 *
 *   - a for loop's body runs in a scope of its own, new at each iteration:
 *     a {% set %} inside it is gone at the next one and after the loop
 *     (namespaces are how templates carry values out);
 *   - if blocks share the enclosing scope;
 *   - a macro reads the names of the scope it was defined in as they are
 *     when it is called; its own sets stay inside it;
 *   - a name found nowhere is undefined: it prints as nothing and is false,
 *     but taking an attribute or item of it is an error.
 *
 * Also the public entry points (jinja.h).
 */
#include "chat/jinja_ast.h"

#include <stdlib.h>
#include <string.h>

/* Statement, expression and call nesting of one render (bounds the C stack). */
#define J_MAX_NEST 2000

typedef struct JVar
{
	JStr		name;
	JValue		value;
} JVar;

struct JScope
{
	JScope	   *parent;
	int			n;
	int			cap;
	JVar	   *vars;
};

struct JMacroValue
{
	const JNode *def;			/* S_MACRO, the S_CALL_BLOCK of a caller, or a recursive S_FOR */
	JScope	   *closure;		/* the scope it was defined in */
	int			loop_depth;		/* S_FOR: the depth of the loop whose loop() this is */
};

/*
 * A recursive for loop's `loop`, callable: loop(items) renders the loop's
 * body over items one level deeper.
 */
typedef struct JLoopCall
{
	struct JLoopCall *next;
	const JDict *loop;
	JMacroValue *fn;
} JLoopCall;

typedef enum Flow
{
	FLOW_NORMAL,
	FLOW_BREAK,
	FLOW_CONTINUE
} Flow;

static JValue eval(JRender *r, const JNode *n);
static Flow exec_body(JRender *r, const JNodeList *body);
static JValue call_loop(JRender *r, const JMacroValue *m, const JArgs *args);

static bool
str_eq(JStr a, JStr b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static void
nest_enter(JRender *r)
{
	if (++r->nest > J_MAX_NEST)
	{
		lm_fail(r->err, LM_ERR_TOO_LONG, "chat template line %d: the template nests too deeply", r->line);
		longjmp(r->fail, 1);
	}
}

/* ---- scopes ------------------------------------------------------------ */

static JScope *
scope_new(JRender *r, JScope *parent)
{
	JScope	   *s = j_alloc(r, sizeof(JScope));

	s->parent = parent;
	s->n = 0;
	s->cap = 0;
	s->vars = NULL;
	return s;
}

static void
scope_set(JRender *r, JScope *s, JStr name, JValue v)
{
	for (int i = 0; i < s->n; i++)
		if (str_eq(s->vars[i].name, name))
		{
			s->vars[i].value = v;
			return;
		}
	if (s->n == s->cap)
	{
		int			cap = s->cap ? s->cap * 2 : 4;
		JVar	   *vars = j_alloc(r, sizeof(JVar) * cap);

		if (s->n > 0)
			memcpy(vars, s->vars, sizeof(JVar) * s->n);
		s->vars = vars;
		s->cap = cap;
	}
	s->vars[s->n].name = name;
	s->vars[s->n].value = v;
	s->n++;
}

static JValue
lookup(JRender *r, JStr name)
{
	JValue		g;

	for (JScope *s = r->scope; s != NULL; s = s->parent)
		for (int i = s->n - 1; i >= 0; i--)
			if (str_eq(s->vars[i].name, name))
				return s->vars[i].value;
	g = j_global(name);
	return g.kind == J_UNDEFINED ? j_undefined(name) : g;
}

/* ---- assignment -------------------------------------------------------- */

static void
assign(JRender *r, const JNode *target, JValue v)
{
	if (target->kind == N_NAME)
		scope_set(r, r->scope, target->name, v);
	else if (target->kind == N_NSREF)
	{
		JValue		ns = lookup(r, target->name);

		if (ns.kind != J_NAMESPACE)
			j_fail(r, "cannot assign attribute on non-namespace object");
		j_dict_set(r, ns.u.dict, j_string_ref(target->attr), v);
	}
	else
	{
		/* a tuple of names: unpack a list or tuple of the same length */
		const JNodeList *names = &target->items;

		if (v.kind != J_LIST)
			j_fail(r, "cannot unpack a non-sequence");
		if ((int) v.u.list->len != names->n)
			j_fail(r, "%s values to unpack (expected %d, got %zu)",
				   (int) v.u.list->len > names->n ? "too many" : "not enough", names->n, v.u.list->len);
		for (int i = 0; i < names->n; i++)
			scope_set(r, r->scope, names->items[i]->name, v.u.list->items[i]);
	}
}

/* ---- calls ------------------------------------------------------------- */

static JArgs
eval_args(JRender *r, const JNode *n)
{
	JArgs		a = {0};
	JValue	   *pos = NULL,
			   *kw = NULL;

	if (n->items.n > 0)
	{
		pos = j_alloc(r, sizeof(JValue) * n->items.n);
		for (int i = 0; i < n->items.n; i++)
			pos[i] = eval(r, n->items.items[i]);
	}
	if (n->nkw > 0)
	{
		kw = j_alloc(r, sizeof(JValue) * n->nkw);
		for (int i = 0; i < n->nkw; i++)
			kw[i] = eval(r, n->kw[i]);
	}
	a.npos = n->items.n;
	a.pos = pos;
	a.nkw = n->nkw;
	a.kw_names = n->kw_names;
	a.kw = kw;
	return a;
}

static JValue
macro_value(JRender *r, const JNode *def)
{
	JValue		v = {.kind = J_MACRO};

	v.u.macro = j_alloc(r, sizeof(JMacroValue));
	v.u.macro->def = def;
	v.u.macro->closure = r->scope;
	return v;
}

/* Render a macro (or a call block's caller) with arguments; its output is the value. */
static JValue
call_macro(JRender *r, const JMacroValue *m, const JArgs *args, const JValue *caller)
{
	const JNode *def = m->def;
	JScope	   *scope = scope_new(r, m->closure);
	JScope	   *saved_scope = r->scope;
	JBuf	   *saved_capture = r->capture;
	JBuf		out = {0};
	bool	   *bound = j_alloc(r, sizeof(bool) * (def->nparams + 1));
	int			first_default = def->nparams - def->else_.n;
	JValue		varargs = j_list(r, args->npos > def->nparams ? args->npos - def->nparams : 0);
	JValue		kwargs = j_dict(r, 0);
	const char *what = def->kind == S_MACRO ? "macro" : "call block";
	int			saved_line = r->line;

	if (++r->depth > r->limits.max_depth)
	{
		lm_fail(r->err, LM_ERR_TOO_LONG, "chat template line %d: macros call each other more than %d deep",
				r->line, r->limits.max_depth);
		longjmp(r->fail, 1);
	}
	j_step(r);
	memset(bound, 0, sizeof(bool) * (def->nparams + 1));
	for (int i = 0; i < args->npos; i++)
	{
		if (i < def->nparams)
		{
			scope_set(r, scope, def->params[i], args->pos[i]);
			bound[i] = true;
		}
		else if (def->uses_varargs)
			varargs.u.list->items[i - def->nparams] = args->pos[i];
		else
			j_fail(r, "%s '%.*s' takes not more than %d argument(s)", what, (int) def->name.len, def->name.p,
				   def->nparams);
	}
	varargs.u.list->is_tuple = true;
	for (int k = 0; k < args->nkw; k++)
	{
		int			i;

		for (i = 0; i < def->nparams; i++)
			if (str_eq(def->params[i], args->kw_names[k]))
				break;
		if (i < def->nparams)
		{
			if (bound[i])
				j_fail(r, "%s '%.*s' got multiple values for argument '%.*s'", what, (int) def->name.len,
					   def->name.p, (int) args->kw_names[k].len, args->kw_names[k].p);
			scope_set(r, scope, def->params[i], args->kw[k]);
			bound[i] = true;
		}
		else if (def->uses_kwargs)
			j_dict_set(r, kwargs.u.dict, j_string_ref(args->kw_names[k]), args->kw[k]);
		else
			j_fail(r, "%s '%.*s' takes no keyword argument '%.*s'", what, (int) def->name.len, def->name.p,
				   (int) args->kw_names[k].len, args->kw_names[k].p);
	}
	r->scope = scope;
	for (int i = 0; i < def->nparams; i++)
		if (!bound[i])
			scope_set(r, scope, def->params[i],
					  i >= first_default ? eval(r, def->else_.items[i - first_default]) : j_undefined(def->params[i]));
	if (def->uses_varargs)
		scope_set(r, scope, JSTR_LIT("varargs"), varargs);
	if (def->uses_kwargs)
		scope_set(r, scope, JSTR_LIT("kwargs"), kwargs);
	if (caller != NULL)
		scope_set(r, scope, JSTR_LIT("caller"), *caller);
	r->capture = &out;
	exec_body(r, &def->items);
	r->capture = saved_capture;
	r->scope = saved_scope;
	r->depth--;
	r->line = saved_line;
	return j_string_ref(j_buf_str(&out));
}

JValue
j_call(JRender *r, JValue callee, const JArgs *args)
{
	switch (callee.kind)
	{
		case J_MACRO:
			return call_macro(r, callee.u.macro, args, NULL);
		case J_FUNCTION:
			return j_call_builtin(r, callee.u.fn, args);
		case J_DICT:
			for (JLoopCall *c = r->loop_calls; c != NULL; c = c->next)
				if (c->loop == callee.u.dict)
					return call_loop(r, c->fn, args);
			j_fail(r, "'dict' object is not callable");
		case J_UNDEFINED:
			j_fail(r, "'%.*s' is undefined", (int) callee.u.s.len, callee.u.s.p);
		default:
			j_fail(r, "the value called is not callable");
	}
}

/* a | f(...): the input, then the filter (chains nest through a). */
static JValue
apply_filter(JRender *r, const JNode *n)
{
	JValue		in = eval(r, n->a);
	JArgs		args = eval_args(r, n);

	r->line = n->line;
	j_step(r);
	return j_filter(r, n->name, in, &args);
}

/* A filter chain over captured text (filter blocks, block sets). */
static JValue
filter_text(JRender *r, const JNode *chain, JValue text)
{
	JValue		in = text;
	JArgs		args;

	if (chain->a != NULL)
		in = filter_text(r, chain->a, text);
	r->line = chain->line;
	args = eval_args(r, chain);
	return j_filter(r, chain->name, in, &args);
}

/* ---- expressions ------------------------------------------------------- */

static JValue
eval_undefined_fail(JRender *r, JValue v)
{
	j_fail(r, "'%.*s' is undefined", (int) v.u.s.len, v.u.s.p);
}

static bool
compare(JRender *r, JCmpOp op, JValue a, JValue b)
{
	switch (op)
	{
		case CMP_EQ:
			return j_equal(a, b);
		case CMP_NE:
			return !j_equal(a, b);
		case CMP_LT:
			return j_compare(r, a, b) < 0;
		case CMP_LE:
			return j_compare(r, a, b) <= 0;
		case CMP_GT:
			return j_compare(r, a, b) > 0;
		case CMP_GE:
			return j_compare(r, a, b) >= 0;
		case CMP_IN:
			return j_contains(r, b, a);
		case CMP_NOTIN:
			return !j_contains(r, b, a);
	}
	return false;
}

static JValue
eval_inner(JRender *r, const JNode *n)
{
	switch (n->kind)
	{
		case N_CONST:
			return n->value;
		case N_NAME:
			return lookup(r, n->name);
		case N_GETATTR:
			{
				JValue		obj = eval(r, n->a);

				if (obj.kind == J_UNDEFINED)
					eval_undefined_fail(r, obj);
				return j_getattr(r, obj, n->name);
			}
		case N_GETITEM:
			{
				JValue		obj = eval(r, n->a);

				if (obj.kind == J_UNDEFINED)
					eval_undefined_fail(r, obj);
				return j_getitem(r, obj, eval(r, n->b));
			}
		case N_SLICE:
			{
				JValue		obj = eval(r, n->a);

				if (obj.kind == J_UNDEFINED)
					eval_undefined_fail(r, obj);
				return j_slice(r, obj, n->b ? eval(r, n->b) : j_none(), n->c ? eval(r, n->c) : j_none(),
							   n->d ? eval(r, n->d) : j_none());
			}
		case N_CALL:
			{
				JValue		callee = eval(r, n->a);
				JArgs		args = eval_args(r, n);

				r->line = n->line;
				j_step(r);
				return j_call(r, callee, &args);
			}
		case N_FILTER:
			return apply_filter(r, n);
		case N_TEST:
			{
				JValue		in = eval(r, n->a);
				JArgs		args = eval_args(r, n);

				r->line = n->line;
				return j_bool(j_test(r, n->name, in, &args));
			}
		case N_NOT:
			return j_bool(!j_truthy(eval(r, n->a)));
		case N_NEG:
			return j_negate(r, eval(r, n->a));
		case N_POS:
			{
				JValue		v = eval(r, n->a);

				if (v.kind != J_INT && v.kind != J_FLOAT && v.kind != J_BOOL)
					j_fail(r, "bad operand type for unary +");
				return v;
			}
		case N_AND:
			{
				JValue		a = eval(r, n->a);

				return j_truthy(a) ? eval(r, n->b) : a;
			}
		case N_OR:
			{
				JValue		a = eval(r, n->a);

				return j_truthy(a) ? a : eval(r, n->b);
			}
		case N_BINOP:
			{
				JValue		a = eval(r, n->a);
				JValue		b = eval(r, n->b);

				r->line = n->line;
				return j_binop(r, (JBinOp) n->op, a, b);
			}
		case N_CONCAT:
			{
				JBuf		buf = {0};

				for (int i = 0; i < n->items.n; i++)
					j_to_str(r, &buf, eval(r, n->items.items[i]));
				return j_string_ref(j_buf_str(&buf));
			}
		case N_COMPARE:
			{
				JValue		left = eval(r, n->a);

				for (int i = 0; i < n->items.n; i++)
				{
					const JNode *operand = n->items.items[i];
					JValue		right = eval(r, operand->a);

					r->line = n->line;
					if (!compare(r, (JCmpOp) operand->op, left, right))
						return j_bool(false);
					left = right;
				}
				return j_bool(true);
			}
		case N_CONDEXPR:
			if (j_truthy(eval(r, n->a)))
				return eval(r, n->b);
			return n->c != NULL ? eval(r, n->c) : j_undefined(JSTR_LIT(""));
		case N_LIST:
		case N_TUPLE:
			{
				JValue		v = j_list(r, n->items.n);

				for (int i = 0; i < n->items.n; i++)
					v.u.list->items[i] = eval(r, n->items.items[i]);
				v.u.list->is_tuple = n->kind == N_TUPLE;
				return v;
			}
		case N_DICT:
			{
				JValue		v = j_dict(r, n->items.n);

				for (int i = 0; i < n->items.n; i++)
				{
					JValue		key = eval(r, n->items.items[i]);

					j_dict_set(r, v.u.dict, key, eval(r, n->else_.items[i]));
				}
				return v;
			}
		default:
			j_fail(r, "internal error: a statement where an expression belongs");
	}
}

static JValue
eval(JRender *r, const JNode *n)
{
	JValue		v;

	nest_enter(r);
	v = eval_inner(r, n);
	r->nest--;
	return v;
}

/* ---- statements -------------------------------------------------------- */

static void
output(JRender *r, JValue v)
{
	if (v.kind == J_STRING)
		j_emit(r, v.u.s.p, v.u.s.len);
	else
	{
		JBuf		buf = {0};

		j_to_str(r, &buf, v);
		j_emit(r, buf.p, buf.len);
	}
}

/*
 * A for loop's `loop`: one dict for the whole loop, its fields updated at
 * each item (nothing allocated per iteration, so a long loop runs in
 * constant memory).
 */
typedef struct LoopFields
{
	JValue		dict;
	JFunction  *cycle;
	JValue	   *index,
			   *index0,
			   *revindex,
			   *revindex0,
			   *first,
			   *last,
			   *previtem,
			   *nextitem;
} LoopFields;

static JValue *
loop_field(JRender *r, JDict *d, const char *name, JValue v)
{
	JValue		key = j_string_ref((JStr) {name, strlen(name)});

	j_dict_set(r, d, key, v);
	for (size_t i = 0; i < d->len; i++)
		if (j_equal(d->keys[i], key))
			return &d->vals[i];
	j_fail(r, "internal error: loop field %s", name);
}

static void
loop_init(JRender *r, LoopFields *f, size_t n, int depth)
{
	JDict	   *d;
	JValue		cycle = {.kind = J_FUNCTION};

	f->dict = j_dict(r, 12);
	d = f->dict.u.dict;
	f->cycle = cycle.u.fn = j_alloc(r, sizeof(JFunction));
	f->cycle->name = JSTR_LIT("cycle");
	f->cycle->self = j_int(0);
	f->index = loop_field(r, d, "index", j_int(1));
	f->index0 = loop_field(r, d, "index0", j_int(0));
	f->revindex = loop_field(r, d, "revindex", j_int((int64_t) n));
	f->revindex0 = loop_field(r, d, "revindex0", j_int((int64_t) n - 1));
	f->first = loop_field(r, d, "first", j_bool(true));
	f->last = loop_field(r, d, "last", j_bool(n == 1));
	loop_field(r, d, "length", j_int((int64_t) n));
	f->previtem = loop_field(r, d, "previtem", j_undefined(JSTR_LIT("previtem")));
	f->nextitem = loop_field(r, d, "nextitem", j_undefined(JSTR_LIT("nextitem")));
	loop_field(r, d, "depth", j_int(depth));
	loop_field(r, d, "depth0", j_int(depth - 1));
	loop_field(r, d, "cycle", cycle);
}

static void
loop_update(LoopFields *f, const JList *items, size_t i)
{
	size_t		n = items->len;

	*f->index = j_int((int64_t) i + 1);
	*f->index0 = j_int((int64_t) i);
	*f->revindex = j_int((int64_t) (n - i));
	*f->revindex0 = j_int((int64_t) (n - i - 1));
	*f->first = j_bool(i == 0);
	*f->last = j_bool(i + 1 == n);
	*f->previtem = i > 0 ? items->items[i - 1] : j_undefined(JSTR_LIT("previtem"));
	*f->nextitem = i + 1 < n ? items->items[i + 1] : j_undefined(JSTR_LIT("nextitem"));
	f->cycle->self = j_int((int64_t) i);
}

/*
 * Run for loop n over seq at depth (1 for the loop itself, more for
 * loop(...) calls of a recursive one).  Each iteration starts from a fresh
 * scope over the enclosing one (one scope, emptied each time).
 */
static void
run_loop(JRender *r, const JNode *n, JValue seq, int depth)
{
	JList	   *items = j_iter(r, seq);
	JScope	   *outer = r->scope;
	JScope	   *scope = scope_new(r, outer);
	LoopFields	fields;
	JLoopCall	call;

	if (n->b != NULL)
	{
		/* for x in xs if cond: the loop sees only the items that pass */
		JList	   *kept = j_alloc(r, sizeof(JList));
		size_t		k = 0;

		kept->items = j_alloc(r, sizeof(JValue) * (items->len + 1));
		kept->is_tuple = false;
		for (size_t i = 0; i < items->len; i++)
		{
			j_step(r);
			scope->n = 0;
			r->scope = scope;
			assign(r, n->target, items->items[i]);
			if (j_truthy(eval(r, n->b)))
				kept->items[k++] = items->items[i];
			r->scope = outer;
		}
		kept->len = k;
		items = kept;
	}
	if (items->len == 0)
	{
		exec_body(r, &n->else_);
		return;
	}
	loop_init(r, &fields, items->len, depth);
	if (n->op == 1)
	{
		call.next = r->loop_calls;
		call.loop = fields.dict.u.dict;
		call.fn = j_alloc(r, sizeof(JMacroValue));
		call.fn->def = n;
		call.fn->closure = outer;
		call.fn->loop_depth = depth;
		r->loop_calls = &call;
	}
	for (size_t i = 0; i < items->len; i++)
	{
		Flow		flow;

		j_step(r);
		scope->n = 0;
		r->scope = scope;
		assign(r, n->target, items->items[i]);
		loop_update(&fields, items, i);
		scope_set(r, scope, JSTR_LIT("loop"), fields.dict);
		flow = exec_body(r, &n->items);
		r->scope = outer;
		if (flow == FLOW_BREAK)
			break;
	}
	if (n->op == 1)
		r->loop_calls = call.next;
}

/* loop(items) in a recursive loop: the body over items, one level deeper, as text. */
static JValue
call_loop(JRender *r, const JMacroValue *m, const JArgs *args)
{
	JScope	   *saved_scope = r->scope;
	JBuf	   *saved_capture = r->capture;
	JBuf		out = {0};
	int			saved_line = r->line;

	if (args->npos != 1 || args->nkw != 0)
		j_fail(r, "loop() of a recursive loop takes one argument, the items");
	if (++r->depth > r->limits.max_depth)
	{
		lm_fail(r->err, LM_ERR_TOO_LONG, "chat template line %d: a recursive loop nested more than %d deep",
				r->line, r->limits.max_depth);
		longjmp(r->fail, 1);
	}
	r->scope = m->closure;
	r->capture = &out;
	run_loop(r, m->def, args->pos[0], m->loop_depth + 1);
	r->capture = saved_capture;
	r->scope = saved_scope;
	r->depth--;
	r->line = saved_line;
	return j_string_ref(j_buf_str(&out));
}

/* Run body with output into a buffer; the text as a value. */
static JValue
capture(JRender *r, const JNodeList *body)
{
	JBuf	   *saved = r->capture;
	JBuf		buf = {0};

	r->capture = &buf;
	exec_body(r, body);
	r->capture = saved;
	return j_string_ref(j_buf_str(&buf));
}

static Flow
exec_stmt(JRender *r, const JNode *n)
{
	r->line = n->line;
	j_step(r);
	switch (n->kind)
	{
		case S_DATA:
			j_emit(r, n->name.p, n->name.len);
			break;
		case S_OUTPUT:
			output(r, eval(r, n->a));
			break;
		case S_IF:
			if (j_truthy(eval(r, n->a)))
				return exec_body(r, &n->items);
			return exec_body(r, &n->else_);
		case S_FOR:
			run_loop(r, n, eval(r, n->a), 1);
			break;
		case S_SET:
			assign(r, n->target, eval(r, n->a));
			break;
		case S_SET_BLOCK:
			{
				JValue		text = capture(r, &n->items);

				r->line = n->line;
				assign(r, n->target, n->b != NULL ? filter_text(r, n->b, text) : text);
				break;
			}
		case S_MACRO:
			scope_set(r, r->scope, n->name, macro_value(r, n));
			break;
		case S_CALL_BLOCK:
			{
				JValue		caller = macro_value(r, n);
				const JNode *call = n->a;
				JValue		callee = eval(r, call->a);
				JArgs		args = eval_args(r, call);

				if (callee.kind != J_MACRO)
					j_fail(r, "a call block must call a macro");
				output(r, call_macro(r, callee.u.macro, &args, &caller));
				break;
			}
		case S_FILTER_BLOCK:
			{
				JValue		text = capture(r, &n->items);

				r->line = n->line;
				output(r, filter_text(r, n->b, text));
				break;
			}
		case S_BREAK:
			return FLOW_BREAK;
		case S_CONTINUE:
			return FLOW_CONTINUE;
		case S_BODY:
			if (n->op == 1)
			{
				/* with: its assignments in a scope of their own */
				JScope	   *outer = r->scope;
				Flow		flow;

				r->scope = scope_new(r, outer);
				for (int i = 0; i < n->else_.n; i++)
				{
					JScope	   *inner = r->scope;
					JValue		v;

					r->scope = outer;	/* values see the outer names */
					v = eval(r, n->else_.items[i]->a);
					r->scope = inner;
					assign(r, n->else_.items[i]->target, v);
				}
				flow = exec_body(r, &n->items);
				r->scope = outer;
				return flow;
			}
			return exec_body(r, &n->items);
		default:
			j_fail(r, "internal error: an expression where a statement belongs");
	}
	return FLOW_NORMAL;
}

static Flow
exec_body(JRender *r, const JNodeList *body)
{
	Flow		flow = FLOW_NORMAL;

	nest_enter(r);
	for (int i = 0; i < body->n && flow == FLOW_NORMAL; i++)
		flow = exec_stmt(r, body->items[i]);
	r->nest--;
	return flow;
}

/* ---- entry points ------------------------------------------------------ */

LmJinjaTemplate *
lm_jinja_parse(const char *source, size_t len, LmError *err)
{
	LmJinjaTemplate *tmpl = calloc(1, sizeof(LmJinjaTemplate));
	JToken	   *tokens = NULL;
	int			n;

	if (tmpl == NULL)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory parsing a chat template");
		return NULL;
	}
	n = j_lex(source, len, &tmpl->arena, &tokens, err);
	if (n < 0 || j_parse(tokens, n, tmpl, err) != 0)
	{
		lm_jinja_free(tmpl);
		return NULL;
	}
	return tmpl;
}

void
lm_jinja_free(LmJinjaTemplate *tmpl)
{
	if (tmpl == NULL)
		return;
	j_parse_arena_free(tmpl->arena);
	free(tmpl);
}

char *
lm_jinja_render(const LmJinjaTemplate *tmpl, const json_t *context, int64_t now,
				const LmJinjaLimits *limits, size_t *out_len, LmError *err)
{
	JRender    *r = calloc(1, sizeof(JRender));
	char	   *out;

	if (r == NULL)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory rendering a chat template");
		return NULL;
	}
	r->err = err;
	r->now = now;
	if (limits != NULL)
		r->limits = *limits;
	if (r->limits.max_output == 0)
		r->limits.max_output = LM_JINJA_DEFAULT_MAX_OUTPUT;
	if (r->limits.max_memory == 0)
		r->limits.max_memory = LM_JINJA_DEFAULT_MAX_MEMORY;
	if (r->limits.max_steps == 0)
		r->limits.max_steps = LM_JINJA_DEFAULT_MAX_STEPS;
	if (r->limits.max_depth == 0)
		r->limits.max_depth = LM_JINJA_DEFAULT_MAX_DEPTH;
	r->tmpl = tmpl;
	if (setjmp(r->fail) != 0)
	{
		free(r->out);
		j_arena_free(r);
		free(r);
		return NULL;
	}
	if (context != NULL && !json_is_object(context))
		j_fail(r, "the variables must be a JSON object");
	/* the given variables, then the template's own top level over them */
	r->scope = scope_new(r, NULL);
	if (context != NULL)
	{
		const char *key;
		json_t	   *value;

		json_object_foreach((json_t *) context, key, value)
		{
			size_t		klen = strlen(key);
			char	   *name = j_alloc(r, klen + 1);

			memcpy(name, key, klen + 1);
			scope_set(r, r->scope, (JStr) {name, klen}, j_from_json(r, value));
		}
	}
	r->scope = scope_new(r, r->scope);
	r->globals = r->scope;
	exec_body(r, &tmpl->body);
	out = r->out != NULL ? r->out : strdup("");
	if (out == NULL)
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory rendering a chat template");
	*out_len = r->out_len;
	j_arena_free(r);
	free(r);
	return out;
}
