/*
 * hnsw_check.c — lm_hnsw_check(index): verifies an lm_hnsw index's pages
 * and graph, as amcheck does for B-trees: the metapage, every element's
 * size, state and layer, every link pointing at an element of that layer
 * that is not free, the entry point on the top layer, the count; and how
 * many live elements a walk from the entry point cannot reach (not
 * corruption: pruned links can cut a few off, and scans still hand them
 * out at their end).
 */
#include "pg/hnsw_am.h"

#include "access/relation.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pg/pg_lm.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(pglm_hnsw_check);

typedef struct Known
{
	uint64_t	id;				/* hash key */
	uint8		level;
	uint8		state;
	bool		reached;
} Known;

pg_noreturn static void
corrupt(Relation index, uint64_t id, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupt: block %u, item %u: %s", RelationGetRelationName(index),
					hnsw_id_block(id), hnsw_id_offset(id), what),
			 errhint("REINDEX it.")));
}

/* Every element of the index, by id: its layer and state. */
static HTAB *
collect(Relation index, const HnswMeta *meta, int64 *counts)
{
	HASHCTL		ctl = {0};
	HTAB	   *known;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	ctl.keysize = sizeof(uint64_t);
	ctl.entrysize = sizeof(Known);
	ctl.hcxt = CurrentMemoryContext;
	known = hash_create("lm_hnsw_check", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (BlockNumber blk = HNSW_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBuffer(index, blk);
		Page		page;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaque)) ||
			HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID || HnswPageGetOpaque(page)->flags != 0)
			corrupt(index, hnsw_id(blk, 0), "not an lm_hnsw element page");
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElement e = hnsw_page_element(page, off);
			uint64_t	id = hnsw_id(blk, off);
			Known	   *k;

			if (e == NULL)
				continue;
			if (e->state > HNSW_FREE)
				corrupt(index, id, "unknown state");
			if (e->level > LM_HNSW_MAX_LEVEL)
				corrupt(index, id, "layer above the highest");
			if (e->state != HNSW_FREE &&
				ItemIdGetLength(PageGetItemId(page, off)) != hnsw_element_size(meta->dim, meta->m, e->level))
				corrupt(index, id, "size does not match its layer");
			k = hash_search(known, &id, HASH_ENTER, NULL);
			k->level = e->level;
			k->state = e->state;
			k->reached = false;
			counts[e->state]++;
		}
		UnlockReleaseBuffer(buf);
	}
	return known;
}

/* Every link of every element that is not free: to a known element of the layer, not free, once. */
static void
check_links(Relation index, const HnswMeta *meta, HTAB *known)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blk = HNSW_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBuffer(index, blk);
		Page		page;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElement e = hnsw_page_element(page, off);
			uint64_t	id = hnsw_id(blk, off);

			if (e == NULL || e->state == HNSW_FREE)
				continue;
			for (int lc = 0; lc <= e->level; lc++)
			{
				int			n = hnsw_element_counts(e, meta->dim)[lc];
				ItemPointerData *links = hnsw_element_links(e, meta->dim, meta->m, lc);

				if (n > hnsw_max_links(meta->m, lc))
					corrupt(index, id, "more links than a layer holds");
				for (int i = 0; i < n; i++)
				{
					uint64_t	to = hnsw_id(ItemPointerGetBlockNumberNoCheck(&links[i]),
											 ItemPointerGetOffsetNumberNoCheck(&links[i]));
					Known	   *k = hash_search(known, &to, HASH_FIND, NULL);

					if (to == id)
						corrupt(index, id, "links to itself");
					if (k == NULL)
						corrupt(index, id, "links to no element");
					if (k->state == HNSW_FREE && e->state == HNSW_LIVE)
						corrupt(index, id, "links to a freed element");
					if (k->level < lc)
						corrupt(index, id, "links to an element below the layer");
					for (int j = 0; j < i; j++)
						if (ItemPointerEquals(&links[i], &links[j]))
							corrupt(index, id, "links to an element twice");
				}
			}
		}
		UnlockReleaseBuffer(buf);
	}
}

/* Live elements no walk from the entry point reaches, on any layer. */
static int64
unreachable(Relation index, const HnswMeta *meta, HTAB *known, int64 live)
{
	HnswGraphCtx g;
	uint64_t   *stack;
	int64		n = 0,
				cap = 1024,
				reached = 0;
	uint64_t	links[2 * LM_HNSW_MAX_M];
	uint64_t	entry;
	Known	   *k;
	LmError		err;

	if (meta->top < 0)
		return live;
	hnsw_graph_init(&g, index, meta);
	lm_pg_error_init(&err);
	stack = palloc(sizeof(uint64_t) * cap);
	entry = hnsw_id(ItemPointerGetBlockNumber(&meta->entry), ItemPointerGetOffsetNumber(&meta->entry));
	k = hash_search(known, &entry, HASH_FIND, NULL);
	k->reached = true;
	stack[n++] = entry;
	while (n > 0)
	{
		uint64_t	id = stack[--n];

		k = hash_search(known, &id, HASH_FIND, NULL);
		reached += k->state == HNSW_LIVE;
		CHECK_FOR_INTERRUPTS();
		for (int lc = 0; lc <= k->level; lc++)
		{
			int			count = g.graph.links(&g, id, lc, links, 2 * LM_HNSW_MAX_M, &err);

			for (int i = 0; i < count; i++)
			{
				Known	   *to = hash_search(known, &links[i], HASH_FIND, NULL);

				if (to == NULL || to->reached)
					continue;
				to->reached = true;
				if (n == cap)
					stack = repalloc_huge(stack, sizeof(uint64_t) * (cap *= 2));
				stack[n++] = links[i];
			}
		}
	}
	pfree(stack);
	return live - reached;
}

Datum
pglm_hnsw_check(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	index = relation_open(relid, AccessShareLock);
	HnswMeta	meta;
	int64		counts[3] = {0, 0, 0};
	HTAB	   *known;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	if (index->rd_rel->relkind != RELKIND_INDEX ||
		strcmp(get_am_name(index->rd_rel->relam), "lm_hnsw") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an lm_hnsw index", RelationGetRelationName(index))));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "lm_hnsw_check must return a record");
	hnsw_read_meta(index, &meta);
	if (meta.m < 2 || meta.m > LM_HNSW_MAX_M || meta.metric > LM_HNSW_COSINE || meta.dim < 0)
		corrupt(index, hnsw_id(0, 0), "metapage out of range");
	known = collect(index, &meta, counts);
	if (counts[HNSW_LIVE] + counts[HNSW_DELETED] != meta.count)
		corrupt(index, hnsw_id(0, 0), psprintf("metapage counts %lld elements, the pages hold %lld",
											   (long long) meta.count,
											   (long long) (counts[HNSW_LIVE] + counts[HNSW_DELETED])));
	if (meta.top >= 0)
	{
		uint64_t	entry = hnsw_id(ItemPointerGetBlockNumber(&meta.entry),
									ItemPointerGetOffsetNumber(&meta.entry));
		Known	   *k = hash_search(known, &entry, HASH_FIND, NULL);
		HASH_SEQ_STATUS seq;
		Known	   *each;

		if (k == NULL || k->state == HNSW_FREE || k->level != meta.top)
			corrupt(index, entry, "the entry point is not an element of the top layer");
		hash_seq_init(&seq, known);
		while ((each = hash_seq_search(&seq)) != NULL)
			if (each->state != HNSW_FREE && each->level > meta.top)
				corrupt(index, each->id, "above the entry point's layer");
	}
	else if (counts[HNSW_LIVE] + counts[HNSW_DELETED] > 0)
		corrupt(index, hnsw_id(0, 0), "elements but no entry point");
	check_links(index, &meta, known);
	values[0] = Int64GetDatum(counts[HNSW_LIVE] + counts[HNSW_DELETED] + counts[HNSW_FREE]);
	values[1] = Int64GetDatum(counts[HNSW_LIVE]);
	values[2] = Int64GetDatum(counts[HNSW_DELETED]);
	values[3] = Int64GetDatum(counts[HNSW_FREE]);
	values[4] = Int64GetDatum(unreachable(index, &meta, known, counts[HNSW_LIVE]));
	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
