/*
 * hnsw_scan.c — lm_hnsw index scans: ORDER BY a distance to a vector,
 * nearest first, for as long as the executor asks (index/hnsw_walk.h: the
 * search widens round by round and ends when every element was handed
 * out), so a WHERE clause that drops most rows still gets its LIMIT.
 */
#include "pg/hnsw_am.h"

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "pg/pg_lm.h"
#include "utils/memutils.h"
#include "utils/rel.h"

LM_PG_FREE_FN(free_scan, LmHnswGraphScan, lm_hnsw_graph_scan_end)

typedef struct HnswScanState
{
	MemoryContext ctx;			/* this search's memory; reset by rescan */
	bool		started;
	HnswMeta	meta;
	HnswGraphCtx graph;
	LmHnswGraphScan *walk;
} HnswScanState;

IndexScanDesc
hnsw_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanState *so = palloc0(sizeof(HnswScanState));

	so->ctx = AllocSetContextCreate(CurrentMemoryContext, "lm_hnsw scan", ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

void
hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	HnswScanState *so = scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	MemoryContextReset(so->ctx);
	so->walk = NULL;
	so->started = false;
}

/* The query vector: the ORDER BY argument, a zero vector for NULL. */
static float *
query_vector(IndexScanDesc scan, int dim)
{
	ScanKey		key = &scan->orderByData[0];
	float	   *q;
	int			n;

	if (key->sk_flags & SK_ISNULL)
		return palloc0(sizeof(float) * Max(dim, 1));
	q = hnsw_datum_vector(key->sk_argument, dim, LM_HNSW_L2, &n);
	return q;
}

static void
start(IndexScanDesc scan)
{
	HnswScanState *so = scan->opaque;
	MemoryContext old;
	float	   *q;
	bool		empty;
	LmError		err;

	if (scan->numberOfOrderBys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an lm_hnsw index scan needs ORDER BY a distance"),
				 errhint("Order by emb <=> $1 (or the operator of the index's class).")));
	/* pg_stat_user_indexes.idx_scan, as for any index */
	pgstat_count_index_scan(scan->indexRelation);
	lm_pg_count_index_search(scan);
	old = MemoryContextSwitchTo(so->ctx);
	hnsw_read_meta(scan->indexRelation, &so->meta);
	empty = so->meta.top < 0 || so->meta.dim == 0;
	q = query_vector(scan, so->meta.dim);
	hnsw_graph_init(&so->graph, scan->indexRelation, &so->meta);
	lm_pg_error_init(&err);
	so->walk = lm_hnsw_graph_scan_begin(&so->graph.graph, q, empty,
										empty ? 0 : hnsw_id(ItemPointerGetBlockNumber(&so->meta.entry),
															ItemPointerGetOffsetNumber(&so->meta.entry)),
										so->meta.top, (size_t) Max(so->meta.count, 1),
										lm_guc_hnsw_ef_search, &err);
	if (so->walk == NULL)
		lm_pg_raise(&err);
	lm_pg_guard(free_scan, so->walk);
	MemoryContextSwitchTo(old);
	so->started = true;
}

bool
hnsw_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanState *so = scan->opaque;

	if (!so->started)
		start(scan);
	for (;;)
	{
		uint64_t	id;
		double		distance;
		LmError		err;
		int			rc;
		Buffer		buf;
		HnswElement e;
		bool		live;

		lm_pg_error_init(&err);
		if ((rc = lm_hnsw_graph_scan_next(so->walk, &id, &distance, &err)) < 0)
			lm_pg_raise(&err);
		if (rc == 0)
			return false;
		/* a deleted element is walked through, never handed out */
		buf = ReadBuffer(scan->indexRelation, hnsw_id_block(id));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		e = hnsw_page_element(BufferGetPage(buf), hnsw_id_offset(id));
		live = e != NULL && e->state == HNSW_LIVE;
		if (live)
			scan->xs_heaptid = e->heap_tid;
		UnlockReleaseBuffer(buf);
		if (live)
		{
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			return true;
		}
	}
}

void
hnsw_endscan(IndexScanDesc scan)
{
	HnswScanState *so = scan->opaque;

	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
