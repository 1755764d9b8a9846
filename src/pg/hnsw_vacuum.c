/*
 * hnsw_vacuum.c — VACUUM of an lm_hnsw index, in three passes:
 *
 * 1. elements whose rows are gone are marked deleted (never handed out
 *    again, still walked through);
 * 2. with the writers' lock: every element linking to a deleted one chooses
 *    its links again, among its other links and the deleted ones' links;
 *    a deleted entry point is replaced by a live element of the highest
 *    layer;
 * 3. the deleted elements, now unlinked, are freed: inserts reuse their
 *    space (the free space map points them there).
 */
#include "pg/hnsw_am.h"

#include <math.h>

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "pg/pg_lm.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

typedef struct DeletedSet
{
	uint64_t   *ids;			/* ascending: collected in block, offset order */
	int64		n;
	int64		cap;
} DeletedSet;

static void
deleted_add(DeletedSet *s, uint64_t id)
{
	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->ids = s->ids ? repalloc_huge(s->ids, sizeof(uint64_t) * s->cap)
			: palloc_extended(sizeof(uint64_t) * s->cap, MCXT_ALLOC_HUGE);
	}
	s->ids[s->n++] = id;
}

static bool
deleted_has(const DeletedSet *s, uint64_t id)
{
	int64		lo = 0,
				hi = s->n - 1;

	while (lo <= hi)
	{
		int64		mid = (lo + hi) / 2;

		if (s->ids[mid] == id)
			return true;
		if (s->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Pass 1: mark the elements of gone rows deleted; the set gets them (and any left deleted before). */
static void
mark_deleted(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback,
			 void *callback_state, DeletedSet *deleted)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blk = HNSW_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
		Page		page;
		OffsetNumber gone[MaxOffsetNumber];
		int			n_gone = 0;

		lm_pg_vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElement e = hnsw_page_element(page, off);

			if (e == NULL || e->state == HNSW_FREE)
				continue;
			if (e->state == HNSW_DELETED)
				deleted_add(deleted, hnsw_id(blk, off));
			else if (callback(&e->heap_tid, callback_state))
			{
				deleted_add(deleted, hnsw_id(blk, off));
				gone[n_gone++] = off;
			}
			else
				stats->num_index_tuples++;
		}
		if (n_gone > 0)
		{
			GenericXLogState *state = GenericXLogStart(index);
			Page		copy = GenericXLogRegisterBuffer(state, buf, 0);

			for (int i = 0; i < n_gone; i++)
				hnsw_page_element(copy, gone[i])->state = HNSW_DELETED;
			GenericXLogFinish(state);
			stats->tuples_removed += n_gone;
		}
		UnlockReleaseBuffer(buf);
	}
}

/*
 * New links on a layer for an element (a copy, v its vector) that links to
 * deleted ones: its other links and the deleted ones' live links, chosen
 * by the heuristic.  Their count; ids into out.
 */
static int
relink(Relation index, HnswGraphCtx *g, const HnswMeta *meta, const DeletedSet *deleted,
	   uint64_t self, HnswElement e, int level, uint64_t *out)
{
	int			max = hnsw_max_links(meta->m, level);
	int			n_links = hnsw_element_counts(e, meta->dim)[level];
	ItemPointerData *links = hnsw_element_links(e, meta->dim, meta->m, level);
	int			cap = max * (max + 1),
				n = 0,
				k = 0;
	uint64_t   *cands = palloc(sizeof(uint64_t) * cap);
	uint64_t   *two = palloc(sizeof(uint64_t) * max);
	float	   *d = palloc(sizeof(float) * cap);
	LmHnswCand *sorted = palloc(sizeof(LmHnswCand) * cap);
	LmError		err;

	lm_pg_error_init(&err);
	for (int i = 0; i < n_links; i++)
	{
		uint64_t	id = hnsw_id(ItemPointerGetBlockNumberNoCheck(&links[i]),
								 ItemPointerGetOffsetNumberNoCheck(&links[i]));

		if (!deleted_has(deleted, id))
			cands[n++] = id;
		else
		{
			int			n_two = g->graph.links(g, id, level, two, max, &err);

			for (int j = 0; j < n_two; j++)
				if (two[j] != self && !deleted_has(deleted, two[j]))
					cands[n++] = two[j];
		}
	}
	/* each candidate once */
	for (int i = 0; i < n; i++)
	{
		bool		dup = false;

		for (int j = 0; j < k && !dup; j++)
			dup = cands[j] == cands[i];
		if (!dup)
			cands[k++] = cands[i];
	}
	n = k;
	(void) g->graph.distances(g, e->vector, cands, n, d, &err);
	k = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(d[i]))
			sorted[k++] = (LmHnswCand) {d[i], cands[i]};
	qsort(sorted, k, sizeof(LmHnswCand), lm_hnsw_cand_order);
	n = hnsw_select_neighbours(index, meta, sorted, k, max, out);
	pfree(cands);
	pfree(two);
	pfree(d);
	pfree(sorted);
	return n;
}

/* Pass 2: relink every live element that links to a deleted one; a new entry point. */
static void
repair(IndexVacuumInfo *info, HnswMeta *meta, const DeletedSet *deleted, ItemPointerData *new_entry,
	   int *new_top)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	HnswGraphCtx g;
	Size		largest = hnsw_element_size(meta->dim, meta->m, LM_HNSW_MAX_LEVEL);
	HnswElement copy = palloc(largest);
	uint64_t   *chosen = palloc(sizeof(uint64_t) * 2 * meta->m);

	hnsw_graph_init(&g, index, meta);
	*new_top = -1;
	ItemPointerSetInvalid(new_entry);
	for (BlockNumber blk = HNSW_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
		OffsetNumber maxoff;

		lm_pg_vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		maxoff = PageGetMaxOffsetNumber(BufferGetPage(buf));
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			HnswElement e;
			bool		live,
						stale = false;

			LockBuffer(buf, BUFFER_LOCK_SHARE);
			e = hnsw_page_element(BufferGetPage(buf), off);
			live = e != NULL && e->state == HNSW_LIVE;
			if (live)
				memcpy(copy, e, hnsw_element_size(meta->dim, meta->m, e->level));
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			if (!live)
				continue;
			if (copy->level > *new_top)
			{
				*new_top = copy->level;
				ItemPointerSet(new_entry, blk, off);
			}
			for (int lc = 0; lc <= copy->level && !stale; lc++)
			{
				ItemPointerData *links = hnsw_element_links(copy, meta->dim, meta->m, lc);

				for (int i = 0; i < hnsw_element_counts(copy, meta->dim)[lc] && !stale; i++)
					stale = deleted_has(deleted, hnsw_id(ItemPointerGetBlockNumberNoCheck(&links[i]),
														 ItemPointerGetOffsetNumberNoCheck(&links[i])));
			}
			if (!stale)
				continue;
			CHECK_FOR_INTERRUPTS();
			for (int lc = 0; lc <= copy->level; lc++)
			{
				int			n = relink(index, &g, meta, deleted, hnsw_id(blk, off), copy, lc, chosen);
				ItemPointerData *links = hnsw_element_links(copy, meta->dim, meta->m, lc);

				for (int i = 0; i < n; i++)
					ItemPointerSet(&links[i], hnsw_id_block(chosen[i]), hnsw_id_offset(chosen[i]));
				hnsw_element_counts(copy, meta->dim)[lc] = (uint16) n;
			}
			{
				GenericXLogState *state;
				Size		size = hnsw_element_size(meta->dim, meta->m, copy->level);

				LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
				state = GenericXLogStart(index);
				e = hnsw_page_element(GenericXLogRegisterBuffer(state, buf, 0), off);
				/* writers wait for us: the element is as we read it, but for its state */
				if (e != NULL && e->state == HNSW_LIVE && e->level == copy->level)
				{
					memcpy((char *) e + offsetof(HnswElementData, vector), (char *) copy + offsetof(HnswElementData, vector),
						   size - offsetof(HnswElementData, vector));
					GenericXLogFinish(state);
				}
				else
					GenericXLogAbort(state);
				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			}
		}
		ReleaseBuffer(buf);
	}
}

/* Pass 3: free the deleted elements; the metapage learns the count and entry point. */
static void
free_deleted(IndexVacuumInfo *info, const DeletedSet *deleted, ItemPointerData new_entry, int new_top)
{
	Relation	index = info->index;
	Buffer		metabuf;
	GenericXLogState *state;
	HnswMeta   *meta;

	for (int64 i = 0; i < deleted->n;)
	{
		BlockNumber blk = hnsw_id_block(deleted->ids[i]);
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
		Page		copy;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		copy = GenericXLogRegisterBuffer(state, buf, 0);
		for (; i < deleted->n && hnsw_id_block(deleted->ids[i]) == blk; i++)
		{
			HnswElement e = hnsw_page_element(copy, hnsw_id_offset(deleted->ids[i]));

			if (e != NULL)
				e->state = HNSW_FREE;
		}
		GenericXLogFinish(state);
		RecordPageWithFreeSpace(index, blk, hnsw_page_reusable_space(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}

	metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	meta = HnswPageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0));
	meta->count = Max(meta->count - deleted->n, 0);
	if (ItemPointerIsValid(&meta->entry) &&
		deleted_has(deleted, hnsw_id(ItemPointerGetBlockNumber(&meta->entry),
									 ItemPointerGetOffsetNumber(&meta->entry))))
	{
		meta->entry = new_entry;
		meta->top = (int16) new_top;
	}
	GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);
}

IndexBulkDeleteResult *
hnsw_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	DeletedSet	deleted = {0};
	HnswMeta	meta;
	ItemPointerData new_entry;
	int			new_top;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	mark_deleted(info, stats, callback, callback_state, &deleted);
	if (deleted.n > 0)
	{
		LockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
		hnsw_read_meta(index, &meta);
		repair(info, &meta, &deleted, &new_entry, &new_top);
		free_deleted(info, &deleted, new_entry, new_top);
		UnlockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
		IndexFreeSpaceMapVacuum(index);
		pfree(deleted.ids);
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

IndexBulkDeleteResult *
hnsw_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	HnswMeta	meta;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		/* no bulk delete ran: the metapage's count */
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		hnsw_read_meta(info->index, &meta);
		stats->num_index_tuples = (double) meta.count;
		stats->estimated_count = true;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
