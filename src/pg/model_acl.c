/*
 * model_acl.c — who may use, grant and drop a model.
 *
 * Each model row names its owner (the role that imported or trained it) and
 * its users: roles that may use it, 'public' for every role (the default).
 * Roles are stored by name, so that a restore into a cluster with other
 * role OIDs keeps them, and one that lacks a role keeps the model (then
 * only superusers and the remaining roles may use it).  Superusers and
 * members of the owner may do anything with a model.
 */
#include "pg/pg_lm.h"

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(pglm_may_use);
PG_FUNCTION_INFO_V1(pglm_grant);
PG_FUNCTION_INFO_V1(pglm_revoke);

/* Is role a member of the role called name (false when there is none)? */
static bool
member_of(Oid role, const char *name)
{
	Oid			other = get_role_oid(name, true);

	return OidIsValid(other) && has_privs_of_role(role, other);
}

bool
lm_pg_owns_model(Oid role, const char *owner)
{
	return superuser_arg(role) || member_of(role, owner);
}

bool
lm_pg_may_use_model(Oid role, const char *owner, ArrayType *users)
{
	Datum	   *names;
	bool	   *nulls;
	int			n;

	if (lm_pg_owns_model(role, owner))
		return true;
	deconstruct_array(users, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &names, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		const char *user;

		if (nulls[i])
			continue;
		user = NameStr(*DatumGetName(names[i]));
		if (strcmp(user, "public") == 0 || member_of(role, user))
			return true;
	}
	return false;
}

void
lm_pg_require_model_use(const char *model, const char *owner, ArrayType *users)
{
	if (!lm_pg_may_use_model(lm_pg_caller(), owner, users))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for model \"%s\"", model),
				 errhint("Its owner \"%s\" or a superuser can allow it: SELECT lm_grant('%s', '%s');",
						 owner, model, GetUserNameFromId(lm_pg_caller(), false))));
}

void
lm_pg_require_model_owner(const char *model, const char *owner, const char *what)
{
	if (!lm_pg_owns_model(lm_pg_caller(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be the owner of model \"%s\" to %s it", model, what),
				 errhint("Its owner is \"%s\"; a superuser may also %s it.", owner, what)));
}

void
lm_pg_require_create_models(void)
{
	if (!superuser() && lm_pg_database_aclcheck(MyDatabaseId, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to train models in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Training a model needs the CREATE privilege on the database.")));
}

/*
 * The owner and users of the model called name (palloc'd in the caller's
 * context), its row locked with for_update; false when there is none.
 * Inside lm_pg_spi_connect's scope.
 */
static bool
fetch_acl(const char *name, bool for_update, char **owner, ArrayType **users, int64 *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	HeapTuple	row;
	TupleDesc	desc;

	/* grants and revokes of one model take turns; lm_may_use may run in a parallel worker */
	if (SPI_execute_with_args(for_update ? "SELECT owner, users, id FROM _lm.model WHERE name = $1 FOR UPDATE"
							  : "SELECT owner, users, id FROM _lm.model WHERE name = $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up _lm.model");
	if (SPI_processed == 0)
		return false;
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	{
		const char *o = NameStr(*DatumGetName(SPI_getbinval(row, desc, 1, &isnull)));

		*owner = SPI_palloc(strlen(o) + 1);
		strcpy(*owner, o);
	}
	*users = DatumGetArrayTypeP(SPI_datumTransfer(SPI_getbinval(row, desc, 2, &isnull), false, -1));
	*id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
	return true;
}

static void
no_such_model(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" does not exist", name),
			 errhint("SELECT name FROM lm.models lists the imported models.")));
}

Datum
pglm_may_use(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *owner;
	ArrayType  *users;
	int64		id;
	bool		found;

	lm_pg_spi_connect();
	found = fetch_acl(name, false, &owner, &users, &id);
	lm_pg_spi_finish();
	PG_RETURN_BOOL(found && lm_pg_may_use_model(GetUserId(), owner, users));
}

/* ERROR unless role is 'public' or an existing role; the name as stored. */
static const char *
checked_role(const char *role)
{
	if (strcmp(role, "public") != 0)
		(void) get_role_oid(role, false);
	return role;
}

static void
change_users(const char *name, const char *role, bool grant)
{
	Oid			types[2] = {INT8OID, NAMEOID};
	Datum		values[2];
	char	   *owner;
	ArrayType  *users;
	int64		id;

	role = checked_role(role);
	lm_pg_spi_connect();
	if (!fetch_acl(name, true, &owner, &users, &id))
		no_such_model(name);
	lm_pg_require_model_owner(name, owner, grant ? "grant the use of" : "revoke the use of");
	values[0] = Int64GetDatum(id);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(role));
	if (SPI_execute_with_args(grant ?
							  "UPDATE _lm.model SET users = array_append(users, $2) "
							  "WHERE id = $1 AND NOT ($2 = ANY (users))" :
							  "UPDATE _lm.model SET users = array_remove(users, $2) WHERE id = $1",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update _lm.model");
	lm_pg_spi_finish();
}

/* lm_grant(model, role): role (or 'public') may use the model. */
Datum
pglm_grant(PG_FUNCTION_ARGS)
{
	change_users(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)), true);
	PG_RETURN_VOID();
}

/* lm_revoke(model, role): role (or 'public') is no longer one of its users. */
Datum
pglm_revoke(PG_FUNCTION_ARGS)
{
	change_users(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)), false);
	PG_RETURN_VOID();
}
