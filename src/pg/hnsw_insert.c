/*
 * hnsw_insert.c — adding one vector to an lm_hnsw index on its pages:
 * search the graph for its neighbours on each layer, write its element,
 * link them back (choosing again among a full element's links), WAL-logged
 * as generic records.  Writers take the metapage's page lock in turn.
 */
#include "pg/hnsw_am.h"

#include <math.h>

#include "miscadmin.h"
#include "pg/pg_lm.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

LM_PG_FREE_FN(free_walk, LmHnswWalk, lm_hnsw_walk_free)

HnswElement
hnsw_new_element(const float *v, int dim, int m, int level, ItemPointer heap_tid, Size *size)
{
	HnswElement e;

	*size = hnsw_element_size(dim, m, level);
	e = palloc0(*size);
	e->heap_tid = *heap_tid;
	e->level = (uint8) level;
	e->state = HNSW_LIVE;
	memcpy(e->vector, v, sizeof(float) * dim);
	return e;
}

/* Element id's vector into out; false when it is no longer an element. */
bool
hnsw_read_vector(Relation index, uint64_t id, float *out, int dim)
{
	Buffer		buf = ReadBuffer(index, hnsw_id_block(id));
	HnswElement e;
	bool		ok;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	e = hnsw_page_element(BufferGetPage(buf), hnsw_id_offset(id));
	ok = e != NULL && e->state != HNSW_FREE;
	if (ok)
		memcpy(out, e->vector, sizeof(float) * dim);
	UnlockReleaseBuffer(buf);
	return ok;
}

/*
 * Keep at most max of the candidates (sorted nearest first, distances to
 * the element) by the neighbour heuristic; their ids into out, their count.
 */
int
hnsw_select_neighbours(Relation index, const HnswMeta *meta, const LmHnswCand *cands, int n, int max,
				  uint64_t *out)
{
	float	   *store = palloc(sizeof(float) * meta->dim * Max(n, 1));
	const float **vectors = palloc(sizeof(float *) * Max(n, 1));
	LmHnswCand *usable = palloc(sizeof(LmHnswCand) * Max(n, 1));
	int		   *kept = palloc(sizeof(int) * Max(n, 1));
	int			k = 0,
				n_kept;

	for (int i = 0; i < n; i++)
	{
		float	   *v = store + (size_t) k * meta->dim;

		if (!hnsw_read_vector(index, cands[i].id, v, meta->dim))
			continue;
		usable[k] = cands[i];
		vectors[k++] = v;
	}
	n_kept = lm_hnsw_select((LmHnswMetric) meta->metric, meta->dim, usable, vectors, k, max, kept);
	for (int i = 0; i < n_kept; i++)
		out[i] = usable[kept[i]].id;
	pfree(store);
	pfree(vectors);
	pfree(usable);
	pfree(kept);
	return n_kept;
}

/* Space an insert can use on a page: free space, and free elements it may overwrite. */
Size
hnsw_page_reusable_space(Page page)
{
	Size		space = PageGetFreeSpace(page);

	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HnswElement e = hnsw_page_element(page, off);

		if (e != NULL && e->state == HNSW_FREE)
			space += ItemIdGetLength(PageGetItemId(page, off));
	}
	return space;
}

/* Where on a page an element of size fits: a free element to overwrite, a new item, or not at all. */
static bool
page_fits(Page page, Size size, OffsetNumber *reuse)
{
	*reuse = InvalidOffsetNumber;
	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HnswElement e = hnsw_page_element(page, off);

		if (e != NULL && e->state == HNSW_FREE &&
			MAXALIGN(ItemIdGetLength(PageGetItemId(page, off))) + PageGetExactFreeSpace(page) >= MAXALIGN(size))
		{
			*reuse = off;
			return true;
		}
	}
	return PageGetFreeSpace(page) >= MAXALIGN(size);
}

/*
 * A page for a new element of size, locked exclusively: one VACUUM freed
 * space on (the free space map), the last page, or a new one (*is_new).
 */
static Buffer
page_for(Relation index, const HnswMeta *meta, Size size, bool *is_new, OffsetNumber *reuse)
{
	BlockNumber blk;
	Buffer		buf;

	*is_new = false;
	for (int tries = 0; tries < 4; tries++)
	{
		blk = GetPageWithFreeSpace(index, size + sizeof(ItemIdData));
		if (blk == InvalidBlockNumber || blk == HNSW_METAPAGE_BLKNO)
			break;
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (page_fits(BufferGetPage(buf), size, reuse))
			return buf;
		RecordPageWithFreeSpace(index, blk, hnsw_page_reusable_space(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}
	if (meta->last_block != HNSW_METAPAGE_BLKNO)
	{
		buf = ReadBuffer(index, meta->last_block);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (page_fits(BufferGetPage(buf), size, reuse))
			return buf;
		UnlockReleaseBuffer(buf);
	}
	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBuffer(index, P_NEW);
	UnlockRelationForExtension(index, ExclusiveLock);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	*is_new = true;
	*reuse = InvalidOffsetNumber;
	return buf;
}

/* Write the new element; the metapage learns the count, a new entry point, a new last page. */
static uint64_t
write_element(Relation index, HnswMeta *meta, HnswElement e, Size size)
{
	bool		is_new;
	OffsetNumber reuse,
				off;
	Buffer		buf = page_for(index, meta, size, &is_new, &reuse);
	Buffer		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	GenericXLogState *state;
	Page		page,
				metapage;
	HnswMeta   *m;
	BlockNumber blk = BufferGetBlockNumber(buf);

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, is_new ? GENERIC_XLOG_FULL_IMAGE : 0);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	if (is_new)
		hnsw_init_page(page, 0);
	if (reuse != InvalidOffsetNumber)
	{
		if (!PageIndexTupleOverwrite(page, reuse, (Item) e, size))
			elog(ERROR, "lm_hnsw: could not reuse item %u of block %u", reuse, blk);
		off = reuse;
	}
	else if ((off = PageAddItem(page, (Item) e, size, InvalidOffsetNumber, false, false)) == InvalidOffsetNumber)
		elog(ERROR, "lm_hnsw: could not add an element to block %u", blk);
	m = HnswPageGetMeta(metapage);
	m->dim = meta->dim;
	m->count++;
	if (e->level > m->top)
	{
		m->top = e->level;
		ItemPointerSet(&m->entry, blk, off);
	}
	if (is_new)
		m->last_block = blk;
	*meta = *m;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	UnlockReleaseBuffer(metabuf);
	return hnsw_id(blk, off);
}

/*
 * Link element id to the new one on a layer: appended while there is room;
 * a full element lets the new one replace one link (lm_hnsw_replaced), or
 * keeps its links.  A link to an element freed meanwhile is replaced first.
 */
static void
link_back(Relation index, HnswGraphCtx *g, const HnswMeta *meta, uint64_t id, uint64_t new_id,
		  int level)
{
	int			max = hnsw_max_links(meta->m, level);
	float	   *v = palloc(sizeof(float) * meta->dim);
	uint64_t   *ids = palloc(sizeof(uint64_t) * (max + 1));
	float	   *d = palloc(sizeof(float) * (max + 1));
	LmError		err;
	int			n,
				slot = -1;		/* which link to overwrite; n to append */
	Buffer		buf;
	HnswElement e;
	GenericXLogState *state;

	lm_pg_error_init(&err);
	if (!hnsw_read_vector(index, id, v, meta->dim))
		return;
	if ((n = g->graph.links(g, id, level, ids, max, &err)) < 0)
		lm_pg_raise(&err);
	if (n < max)
		slot = n;
	else
	{
		LmHnswCand *cands = palloc(sizeof(LmHnswCand) * (max + 1));
		float	   *store = palloc(sizeof(float) * meta->dim * (max + 1));
		const float **vectors = palloc(sizeof(float *) * (max + 1));
		int			new_index = -1,
					victim;

		ids[n] = new_id;
		(void) g->graph.distances(g, v, ids, n + 1, d, &err);
		for (int i = 0; i < n && slot < 0; i++)
			if (isnan(d[i]))
				slot = i;
		if (slot < 0)
		{
			for (int i = 0; i <= n; i++)
				cands[i] = (LmHnswCand) {d[i], ids[i]};
			qsort(cands, n + 1, sizeof(LmHnswCand), lm_hnsw_cand_order);
			for (int i = 0; i <= n; i++)
			{
				vectors[i] = store + (size_t) i * meta->dim;
				if (!hnsw_read_vector(index, cands[i].id, store + (size_t) i * meta->dim, meta->dim))
					return;
				if (cands[i].id == new_id)
					new_index = i;
			}
			victim = lm_hnsw_replaced((LmHnswMetric) meta->metric, meta->dim, cands, vectors, n + 1, max,
									  new_index);
			for (int i = 0; i < n && victim >= 0 && slot < 0; i++)
				if (ids[i] == cands[victim].id)
					slot = i;
		}
		if (slot < 0)
			return;
	}

	buf = ReadBuffer(index, hnsw_id_block(id));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	e = hnsw_page_element(GenericXLogRegisterBuffer(state, buf, 0), hnsw_id_offset(id));
	/* writers take turns: the links are as read, unless VACUUM's first pass ran */
	if (e != NULL && e->state != HNSW_FREE && e->level >= level &&
		hnsw_element_counts(e, meta->dim)[level] == n)
	{
		ItemPointerSet(&hnsw_element_links(e, meta->dim, meta->m, level)[slot], hnsw_id_block(new_id),
					   hnsw_id_offset(new_id));
		if (slot == n)
			hnsw_element_counts(e, meta->dim)[level] = (uint16) (n + 1);
		GenericXLogFinish(state);
	}
	else
		GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
}

void
hnsw_insert_vector(Relation index, const float *v, int n, ItemPointer heap_tid)
{
	HnswMeta	meta;
	HnswGraphCtx g;
	LmHnswWalk *walk;
	LmError		err;
	/* layers drawn from the row's TID: the same rows make the same graph */
	uint64_t	rng = ((uint64_t) ItemPointerGetBlockNumber(heap_tid) << 16 | ItemPointerGetOffsetNumber(heap_tid)) ^ 0x5eed;
	int			level,
				top;
	uint64_t  **chosen;
	int		   *n_chosen;
	HnswElement e;
	Size		size;
	uint64_t	new_id;

	LockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	hnsw_read_meta(index, &meta);
	if (meta.dim == 0)
	{
		hnsw_check_fits_page(n, meta.m);
		meta.dim = n;
	}
	else if (meta.dim != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector has %d dimensions; the index holds %d", n, meta.dim),
				 errhint("Every vector of an index must come from the same model.")));
	level = lm_hnsw_random_level(&rng, meta.m);
	top = meta.top;
	chosen = palloc0(sizeof(uint64_t *) * (level + 1));
	n_chosen = palloc0(sizeof(int) * (level + 1));
	hnsw_graph_init(&g, index, &meta);
	g.live_only = false;

	if (top >= 0)
	{
		uint64_t	entry = hnsw_id(ItemPointerGetBlockNumber(&meta.entry),
									ItemPointerGetOffsetNumber(&meta.entry));
		const LmHnswCand *found;
		LmHnswCand *eps = NULL;
		int			n_found;

		lm_pg_error_init(&err);
		if ((walk = lm_hnsw_walk_new(&g.graph, &err)) == NULL)
			lm_pg_raise(&err);
		lm_pg_guard(free_walk, walk);
		n_found = lm_hnsw_walk_search(walk, v, entry, top, Min(level, top), meta.ef_construction,
									  &found, &err);
		for (int lc = Min(level, top); lc >= 0; lc--)
		{
			int			max = hnsw_max_links(meta.m, lc);

			if (lc < Min(level, top))
				n_found = lm_hnsw_walk_layer(walk, v, eps, n_found, meta.ef_construction, lc,
											 &found, &err);
			if (n_found < 0)
				lm_pg_raise(&err);
			/* the walk's answer is overwritten by the next search: a copy seeds it */
			eps = eps ? repalloc(eps, sizeof(LmHnswCand) * Max(n_found, 1))
				: palloc(sizeof(LmHnswCand) * Max(n_found, 1));
			memcpy(eps, found, sizeof(LmHnswCand) * n_found);
			chosen[lc] = palloc(sizeof(uint64_t) * max);
			n_chosen[lc] = hnsw_select_neighbours(index, &meta, eps, n_found, max, chosen[lc]);
		}
	}

	e = hnsw_new_element(v, meta.dim, meta.m, level, heap_tid, &size);
	for (int lc = 0; lc <= level; lc++)
	{
		ItemPointerData *links = hnsw_element_links(e, meta.dim, meta.m, lc);

		for (int i = 0; i < n_chosen[lc]; i++)
			ItemPointerSet(&links[i], hnsw_id_block(chosen[lc][i]), hnsw_id_offset(chosen[lc][i]));
		hnsw_element_counts(e, meta.dim)[lc] = (uint16) n_chosen[lc];
	}
	new_id = write_element(index, &meta, e, size);
	for (int lc = 0; lc <= level; lc++)
		for (int i = 0; i < n_chosen[lc]; i++)
		{
			CHECK_FOR_INTERRUPTS();
			link_back(index, &g, &meta, chosen[lc][i], new_id, lc);
		}
	UnlockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
}

bool
hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
			IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *info)
{
	MemoryContext work,
				old;
	HnswMeta	meta;
	float	   *v;
	int			n;

	if (isnull[0])
		return false;
	work = AllocSetContextCreate(CurrentMemoryContext, "lm_hnsw insert", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	hnsw_read_meta(index, &meta);
	v = hnsw_datum_vector(values[0], meta.dim, (LmHnswMetric) meta.metric, &n);
	if (v != NULL)
		hnsw_insert_vector(index, v, n, heap_tid);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return false;
}
