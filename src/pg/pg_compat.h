/*
 * pg_compat.h — the PostgreSQL APIs the glue uses that changed after
 * PostgreSQL 15, each behind one name.  The branch for 15 is what the glue
 * always did; the macros expand where they are used, so a call site includes
 * the headers its PostgreSQL calls need.
 */
#ifndef PG_LM_PG_COMPAT_H
#define PG_LM_PG_COMPAT_H

#include "postgres.h"

#include "fmgr.h"

/* PG18: pg_attribute_noreturn() was removed; pg_noreturn comes first in a declaration */
#if PG_VERSION_NUM < 180000 && !defined(pg_noreturn)
#define pg_noreturn pg_attribute_noreturn()
#endif

/* PG18: PG_MODULE_MAGIC_EXT also records the library's name (pg_get_loaded_modules) */
#if PG_VERSION_NUM >= 180000
#define LM_PG_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "pg_lm")
#else
#define LM_PG_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/* PG16: pg_database_aclcheck() was replaced by object_aclcheck(DatabaseRelationId, ...) */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_database.h"
#define lm_pg_database_aclcheck(db, role, mode) \
	object_aclcheck(DatabaseRelationId, (db), (role), (mode))
#else
#define lm_pg_database_aclcheck(db, role, mode) pg_database_aclcheck((db), (role), (mode))
#endif

/* PG17: CreateWaitEventSet takes a ResourceOwner (NULL: the session's), not a MemoryContext */
#if PG_VERSION_NUM >= 170000
#define lm_pg_session_wait_event_set(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define lm_pg_session_wait_event_set(nevents) CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

/* PG18: vacuum_delay_point takes is_analyze */
#if PG_VERSION_NUM >= 180000
#define lm_pg_vacuum_delay_point() vacuum_delay_point(false)
#else
#define lm_pg_vacuum_delay_point() vacuum_delay_point()
#endif

/* PG18: an index AM counts its searches for EXPLAIN ANALYZE ("Index Searches") */
#if PG_VERSION_NUM >= 180000
#define lm_pg_count_index_search(scan) \
	do \
	{ \
		if ((scan)->instrument) \
			(scan)->instrument->nsearches++; \
	} while (0)
#else
#define lm_pg_count_index_search(scan) ((void) 0)
#endif

#endif
