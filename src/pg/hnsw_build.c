/*
 * hnsw_build.c — building an lm_hnsw index: the rows' vectors go into an
 * HNSW graph in memory (index/hnsw.h), which is then written out page by
 * page and WAL-logged whole.  When the graph outgrows maintenance_work_mem
 * it is written out there and then, and the remaining rows are inserted on
 * the pages one by one (correct, slower).
 */
#include "pg/hnsw_am.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pg/pg_lm.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"

LM_PG_FREE_FN(free_graph, LmHnsw, lm_hnsw_free)

typedef struct BuildState
{
	Relation	index;
	int			dim;
	int			m;
	int			ef_construction;
	LmHnswMetric metric;
	LmHnsw	   *graph;			/* in memory, until it is written out */
	LmPgGuard  *guard;
	Size		memory;			/* what the graph holds, about */
	Size		limit;
	bool		on_pages;		/* written out: later rows are inserted on the pages */
	double		heap_tuples;
	double		index_tuples;
	MemoryContext tmp;
} BuildState;

/* The space one element takes in the in-memory graph, about. */
static Size
graph_element_memory(const BuildState *b, int level)
{
	return sizeof(float) * b->dim + 8 + 1 + 8 + 4 + 16
		+ sizeof(int32) * (1 + 2 * b->m + level * (1 + b->m));
}

/* Write the in-memory graph to pages after the last one, and point the metapage at it. */
static void
write_graph(BuildState *b)
{
	size_t		n = lm_hnsw_count(b->graph);
	uint64_t   *ids = palloc_extended(sizeof(uint64_t) * Max(n, 1), MCXT_ALLOC_HUGE);
	BlockNumber first = RelationGetNumberOfBlocks(b->index),
				blk = first;
	Size		room = 0,
				page_room = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(HnswPageOpaque));
	OffsetNumber off = 0;
	Buffer		buf = InvalidBuffer,
				metabuf;
	HnswMeta   *meta;
	int64_t		entry = lm_hnsw_entry(b->graph);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) n);

	/* where each element goes: pages filled in order */
	for (size_t i = 0; i < n; i++)
	{
		Size		need = MAXALIGN(hnsw_element_size(b->dim, b->m, lm_hnsw_level(b->graph, i)))
			+ sizeof(ItemIdData);

		if (need > room)
		{
			blk += i > 0;
			room = page_room;
			off = 0;
		}
		room -= need;
		ids[i] = hnsw_id(blk, ++off);
	}

	for (size_t i = 0; i < n; i++)
	{
		int			level = lm_hnsw_level(b->graph, i);
		int64_t		label = lm_hnsw_label(b->graph, i);
		ItemPointerData tid;
		Size		size;
		HnswElement e;

		CHECK_FOR_INTERRUPTS();
		if (!BufferIsValid(buf) || hnsw_id_block(ids[i]) != BufferGetBlockNumber(buf))
		{
			if (BufferIsValid(buf))
			{
				MarkBufferDirty(buf);
				UnlockReleaseBuffer(buf);
			}
			buf = ReadBuffer(b->index, P_NEW);
			if (BufferGetBlockNumber(buf) != hnsw_id_block(ids[i]))
				elog(ERROR, "lm_hnsw: build expected block %u, got %u", hnsw_id_block(ids[i]),
					 BufferGetBlockNumber(buf));
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			hnsw_init_page(BufferGetPage(buf), 0);
		}
		ItemPointerSet(&tid, (BlockNumber) (label >> 16), (OffsetNumber) (label & 0xffff));
		e = hnsw_new_element(lm_hnsw_vector(b->graph, i), b->dim, b->m, level, &tid, &size);
		for (int lc = 0; lc <= level; lc++)
		{
			const int32_t *links;
			int			k = lm_hnsw_links(b->graph, i, lc, &links);
			ItemPointerData *out = hnsw_element_links(e, b->dim, b->m, lc);

			for (int j = 0; j < k; j++)
				ItemPointerSet(&out[j], hnsw_id_block(ids[links[j]]), hnsw_id_offset(ids[links[j]]));
			hnsw_element_counts(e, b->dim)[lc] = (uint16) k;
		}
		if (PageAddItem(BufferGetPage(buf), (Item) e, size, hnsw_id_offset(ids[i]), false, false)
			!= hnsw_id_offset(ids[i]))
			elog(ERROR, "lm_hnsw: build could not place an element on block %u", hnsw_id_block(ids[i]));
		pfree(e);
		if (i % 1024 == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) i);
	}
	if (BufferIsValid(buf))
	{
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) n);

	metabuf = ReadBuffer(b->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = HnswPageGetMeta(BufferGetPage(metabuf));
	meta->dim = b->dim;
	meta->count = (int64) n;
	if (entry >= 0)
	{
		meta->top = (int16) lm_hnsw_level(b->graph, (size_t) entry);
		ItemPointerSet(&meta->entry, hnsw_id_block(ids[entry]), hnsw_id_offset(ids[entry]));
	}
	if (n > 0)
		meta->last_block = hnsw_id_block(ids[n - 1]);
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	pfree(ids);
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	BuildState *b = arg;
	MemoryContext old;
	float	   *v;
	int			n;

	b->heap_tuples++;
	if (isnull[0])
		return;
	CHECK_FOR_INTERRUPTS();
	old = MemoryContextSwitchTo(b->tmp);
	v = hnsw_datum_vector(values[0], b->dim, b->metric, &n);
	if (v != NULL && b->dim == 0)
		hnsw_check_fits_page(b->dim = n, b->m);
	if (v != NULL && b->on_pages)
	{
		hnsw_insert_vector(b->index, v, n, tid);
		b->index_tuples++;
	}
	else if (v != NULL)
	{
		LmError		err;
		int			added;

		lm_pg_error_init(&err);
		if (b->graph == NULL)
		{
			LmHnswParams p = {b->dim, b->m, b->ef_construction, b->metric, 42};

			MemoryContextSwitchTo(old);
			if ((b->graph = lm_hnsw_new(&p, &err)) == NULL)
				lm_pg_raise(&err);
			b->guard = lm_pg_guard(free_graph, b->graph);
			MemoryContextSwitchTo(b->tmp);
		}
		added = lm_hnsw_add(b->graph, v, ((int64_t) ItemPointerGetBlockNumber(tid) << 16)
							| ItemPointerGetOffsetNumber(tid), &err);
		if (added < 0)
			lm_pg_raise(&err);
		if (added > 0)
		{
			b->index_tuples++;
			b->memory += graph_element_memory(b, lm_hnsw_level(b->graph, lm_hnsw_count(b->graph) - 1));
		}
		if (b->memory > b->limit)
		{
			ereport(NOTICE,
					(errmsg("lm_hnsw graph no longer fits into maintenance_work_mem after %.0f rows",
							b->index_tuples),
					 errdetail("The rest are inserted on the index's pages, which is slower."),
					 errhint("Increase maintenance_work_mem to build faster.")));
			write_graph(b);
			lm_pg_keep(b->guard);
			lm_hnsw_free(b->graph);
			b->graph = NULL;
			b->on_pages = true;
			pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->tmp);
}

/* The metapage, block 0 of the main fork. */
static void
write_meta(Relation index, int dim, int m, int ef_construction, LmHnswMetric metric)
{
	Buffer		buf = ReadBuffer(index, P_NEW);

	if (BufferGetBlockNumber(buf) != HNSW_METAPAGE_BLKNO)
		elog(ERROR, "lm_hnsw: index \"%s\" is not empty", RelationGetRelationName(index));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	hnsw_init_meta(BufferGetPage(buf), dim, m, ef_construction, metric);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

static void
check_options(const HnswOptions *o)
{
	if (o->ef_construction < 2 * o->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be at least 2 × m (%d), not %d", 2 * o->m, o->ef_construction)));
}

IndexBuildResult *
hnsw_build(Relation heap, Relation index, IndexInfo *info)
{
	HnswOptions *o = hnsw_index_options(index);
	IndexBuildResult *result = palloc0(sizeof(IndexBuildResult));
	BuildState	b = {0};

	check_options(o);
	b.index = index;
	b.dim = o->dimensions;
	b.m = o->m;
	b.ef_construction = o->ef_construction;
	b.metric = hnsw_index_metric(index);
	b.limit = (Size) maintenance_work_mem * 1024;
	b.tmp = AllocSetContextCreate(CurrentMemoryContext, "lm_hnsw build", ALLOCSET_DEFAULT_SIZES);
	if (b.dim > 0)
		hnsw_check_fits_page(b.dim, b.m);
	write_meta(index, b.dim, b.m, b.ef_construction, b.metric);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	(void) table_index_build_scan(heap, index, info, true, true, build_callback, &b, NULL);
	if (b.graph != NULL)
	{
		write_graph(&b);
		lm_pg_keep(b.guard);
		lm_hnsw_free(b.graph);
	}
	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
	MemoryContextDelete(b.tmp);
	result->heap_tuples = b.heap_tuples;
	result->index_tuples = b.index_tuples;
	return result;
}

void
hnsw_buildempty(Relation index)
{
	HnswOptions *o = hnsw_index_options(index);
	Buffer		buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);

	LmHnswMetric metric = hnsw_index_metric(index);

	check_options(o);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	hnsw_init_meta(BufferGetPage(buf), o->dimensions, o->m, o->ef_construction, metric);
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
}
