/*
 * hnsw_am.c — the lm_hnsw access method's handler: what it can do, its
 * options (m, ef_construction, dimensions), and what its scans cost the
 * planner.
 */
#include "pg/hnsw_am.h"

#include <math.h>

#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/paths.h"
#include "pg/pg_lm.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"

PG_FUNCTION_INFO_V1(lm_hnsw_handler);

int			lm_guc_hnsw_ef_search = 40;

static relopt_kind hnsw_relopt_kind;

void
lm_hnsw_define(void)
{
	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m", "Links per element above layer 0 (2m on it)",
					  HNSW_DEFAULT_M, 2, LM_HNSW_MAX_M, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Candidates an insert keeps while choosing its links",
					  HNSW_DEFAULT_EF_CONSTRUCTION, 4, 1000, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "dimensions",
					  "Dimensions of the indexed vectors (0: from the first row)",
					  0, 0, 16000, AccessExclusiveLock);
	DefineCustomIntVariable("pg_lm.hnsw_ef_search",
							"Candidates an lm_hnsw search keeps: more finds nearer rows, slower.",
							"A scan asked for more rows than it found searches again with twice "
							"as many, until every row was handed out.",
							&lm_guc_hnsw_ef_search, 40, 1, 1000, PGC_USERSET, 0, NULL, NULL, NULL);
}

static bytea *
hnsw_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, ef_construction)},
		{"dimensions", RELOPT_TYPE_INT, offsetof(HnswOptions, dimensions)},
	};

	return (bytea *) build_reloptions(reloptions, validate, hnsw_relopt_kind, sizeof(HnswOptions),
									  table, lengthof(table));
}

/*
 * A scan costs about what its first round reads: ef_search candidates,
 * each looking at its 2m links, out of the whole index.  Without ORDER BY
 * the index is useless, and says so with an infinite cost.
 */
static void
hnsw_costestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup,
				  Cost *total, Selectivity *selectivity, double *correlation, double *pages)
{
	GenericCosts costs;
	double		tuples,
				visited;

	if (path->indexorderbys == NIL)
	{
		*startup = *total = get_float8_infinity();
		*selectivity = 0;
		*correlation = 0;
		*pages = 0;
		return;
	}
	memset(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);
	tuples = Max(path->indexinfo->tuples, 1);
	visited = Min(tuples, lm_guc_hnsw_ef_search * 2.0 * HNSW_DEFAULT_M + log(tuples) * HNSW_DEFAULT_M);
	*startup = costs.indexTotalCost * visited / tuples;
	*total = costs.indexTotalCost;
	*selectivity = costs.indexSelectivity;
	*correlation = 0;
	*pages = costs.numIndexPages;
}

static bool
hnsw_validate(Oid opclass)
{
	return true;
}

static char *
hnsw_phase_name(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case HNSW_PHASE_LOAD:
			return "loading tuples";
		case HNSW_PHASE_WRITE:
			return "writing the graph";
	}
	return NULL;
}

Datum
lm_hnsw_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);

	am->amstrategies = 0;
	am->amsupport = 1;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
	am->amcanbackward = false;
	am->amcanunique = false;
	am->amcanmulticol = false;
	am->amoptionalkey = true;
	am->amsearcharray = false;
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = true;
	am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	am->amkeytype = InvalidOid;

	am->ambuild = hnsw_build;
	am->ambuildempty = hnsw_buildempty;
	am->aminsert = hnsw_insert;
	am->ambulkdelete = hnsw_bulkdelete;
	am->amvacuumcleanup = hnsw_vacuumcleanup;
	am->amcanreturn = NULL;
	am->amcostestimate = hnsw_costestimate;
	am->amoptions = hnsw_options;
	am->amproperty = NULL;
	am->ambuildphasename = hnsw_phase_name;
	am->amvalidate = hnsw_validate;
	am->amadjustmembers = NULL;
	am->ambeginscan = hnsw_beginscan;
	am->amrescan = hnsw_rescan;
	am->amgettuple = hnsw_gettuple;
	am->amgetbitmap = NULL;
	am->amendscan = hnsw_endscan;
	am->ammarkpos = NULL;
	am->amrestrpos = NULL;
	am->amestimateparallelscan = NULL;
	am->aminitparallelscan = NULL;
	am->amparallelrescan = NULL;
	PG_RETURN_POINTER(am);
}
