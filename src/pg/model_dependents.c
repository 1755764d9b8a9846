/*
 * model_dependents.c — objects that hold results a model computed, and the
 * cached plans that may.
 *
 * Expression indexes (and partial-index predicates), column defaults and
 * stored generated columns, CHECK constraints and materialised views whose
 * expressions call a pg_lm function with the model's name as a constant keep
 * what that model answered.  lm_drop refuses while any exists, so that a
 * model imported again under the name is never mixed with the old one's
 * results.  (A call whose model name is not a constant cannot be tied to one
 * model; it is not counted.)  Plans that folded such a call into a constant
 * are invalidated in every session when a drop commits.
 */
#include "pg/pg_lm.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/* Name at most this many dependents in the error. */
#define MAX_NAMED 10

typedef struct Search
{
	const char *model;
	Oid			extension;
} Search;

static bool
calls_model(Node *node, Search *s)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;
		Node	   *first = f->args != NIL ? linitial(f->args) : NULL;

		if (first != NULL && IsA(first, Const) && ((Const *) first)->consttype == TEXTOID &&
			!((Const *) first)->constisnull &&
			strcmp(TextDatumGetCString(((Const *) first)->constvalue), s->model) == 0 &&
			getExtensionOfObject(ProcedureRelationId, f->funcid) == s->extension)
			return true;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, calls_model, s, 0);
	return expression_tree_walker(node, calls_model, s);
}

/* Does the nodeToString text in column col of tuple call the model? */
static bool
column_calls_model(HeapTuple tuple, Relation rel, int col, Search *s)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, col, RelationGetDescr(rel), &isnull);

	return !isnull && calls_model(stringToNode(TextDatumGetCString(d)), s);
}

static char *
relation_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

static void
add(StringInfo names, int *count, char *what)
{
	if (++*count <= MAX_NAMED)
		appendStringInfo(names, "%s%s", names->len > 0 ? ", " : "", what);
}

/* Scan one catalog, naming each row that calls the model (name_of gives its name). */
static void
scan_catalog(Oid catalog, const int *cols, int ncols, Search *s, StringInfo names, int *count,
			 char *(*name_of) (HeapTuple))
{
	Relation	rel = table_open(catalog, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;

	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		char	   *name;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < ncols; i++)
			if (column_calls_model(tuple, rel, cols[i], s) && (name = name_of(tuple)) != NULL)
			{
				add(names, count, name);
				break;
			}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static char *
index_name(HeapTuple tuple)
{
	return psprintf("index %s", relation_name(((Form_pg_index) GETSTRUCT(tuple))->indexrelid));
}

static char *
attrdef_name(HeapTuple tuple)
{
	Form_pg_attrdef d = (Form_pg_attrdef) GETSTRUCT(tuple);

	return psprintf("column %s.%s", relation_name(d->adrelid),
					quote_identifier(get_attname(d->adrelid, d->adnum, false)));
}

static char *
constraint_name(HeapTuple tuple)
{
	Form_pg_constraint c = (Form_pg_constraint) GETSTRUCT(tuple);

	if (!OidIsValid(c->conrelid))
		return psprintf("constraint %s of a domain", quote_identifier(NameStr(c->conname)));
	return psprintf("constraint %s on %s", quote_identifier(NameStr(c->conname)),
					relation_name(c->conrelid));
}

static char *
matview_name(HeapTuple tuple)
{
	Oid			relid = ((Form_pg_rewrite) GETSTRUCT(tuple))->ev_class;

	if (get_rel_relkind(relid) != RELKIND_MATVIEW)
		return NULL;
	return psprintf("materialized view %s", relation_name(relid));
}

void
lm_pg_check_no_dependents(const char *model)
{
	Search		s = {model, get_extension_oid("pg_lm", false)};
	StringInfoData names;
	int			count = 0;
	static const int index_cols[] = {Anum_pg_index_indexprs, Anum_pg_index_indpred};
	static const int attrdef_cols[] = {Anum_pg_attrdef_adbin};
	static const int constraint_cols[] = {Anum_pg_constraint_conbin};
	static const int rewrite_cols[] = {Anum_pg_rewrite_ev_action};

	initStringInfo(&names);
	scan_catalog(IndexRelationId, index_cols, lengthof(index_cols), &s, &names, &count, index_name);
	scan_catalog(AttrDefaultRelationId, attrdef_cols, 1, &s, &names, &count, attrdef_name);
	scan_catalog(ConstraintRelationId, constraint_cols, 1, &s, &names, &count, constraint_name);
	scan_catalog(RewriteRelationId, rewrite_cols, 1, &s, &names, &count, matview_name);
	if (count > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop model \"%s\" because %d object%s hold%s results it computed",
						model, count, count == 1 ? "" : "s", count == 1 ? "s" : ""),
				 errdetail("%s%s.", names.data, count > MAX_NAMED ? ", …" : ""),
				 errhint("Drop them (or change them not to call the model) first: a model imported "
						 "again under this name would not give the same results.")));
}

void
lm_pg_invalidate_plans_at_commit(void)
{
	Oid			nsp = get_namespace_oid("_lm", false);
	Relation	rel = table_open(NamespaceRelationId, AccessShareLock);
	HeapTuple	tuple = SearchSysCacheCopy1(NAMESPACEOID, ObjectIdGetDatum(nsp));

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	/*
	 * An invalidation of a pg_namespace row makes every session of the
	 * database reset its plan cache (plancache.c) and, through pg_lm's
	 * callback, look at the models it keeps loaded.
	 */
	CacheInvalidateHeapTuple(rel, tuple, NULL);
	heap_freetuple(tuple);
	table_close(rel, AccessShareLock);
}
