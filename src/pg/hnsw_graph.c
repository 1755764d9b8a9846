/*
 * hnsw_graph.c — the graph on an lm_hnsw index's pages as the walks see it
 * (LmHnswGraph): links and distances read under a share lock, one buffer
 * at a time.
 */
#include "pg/hnsw_am.h"

#include <math.h>

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

static int
graph_links(void *arg, uint64_t id, int level, uint64_t *out, int max, LmError *err)
{
	HnswGraphCtx *ctx = arg;
	Buffer		buf = ReadBuffer(ctx->index, hnsw_id_block(id));
	HnswElement e;
	int			n = 0;

	(void) err;
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	e = hnsw_page_element_checked(ctx->index, BufferGetPage(buf), hnsw_id_block(id), hnsw_id_offset(id),
								  ctx->graph.dim, ctx->m);
	if (e != NULL && e->state != HNSW_FREE && e->level >= level)
	{
		int			dim = ctx->graph.dim;
		ItemPointerData *links = hnsw_element_links(e, dim, ctx->m, level);

		n = Min(hnsw_element_counts(e, dim)[level], max);
		for (int i = 0; i < n; i++)
			out[i] = hnsw_id(ItemPointerGetBlockNumberNoCheck(&links[i]),
							 ItemPointerGetOffsetNumberNoCheck(&links[i]));
	}
	UnlockReleaseBuffer(buf);
	return n;
}

static int
graph_distances(void *arg, const float *q, const uint64_t *ids, int n, float *d, LmError *err)
{
	HnswGraphCtx *ctx = arg;
	Buffer		buf = InvalidBuffer;
	BlockNumber held = InvalidBlockNumber;

	(void) err;
	for (int i = 0; i < n; i++)
	{
		BlockNumber blk = hnsw_id_block(ids[i]);
		HnswElement e;

		/* neighbours on the block just read keep its pin */
		if (blk != held)
		{
			if (BufferIsValid(buf))
				ReleaseBuffer(buf);
			buf = ReadBuffer(ctx->index, blk);
			held = blk;
		}
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		e = hnsw_page_element_checked(ctx->index, BufferGetPage(buf), blk, hnsw_id_offset(ids[i]),
									  ctx->graph.dim, ctx->m);
		d[i] = e == NULL || e->state == HNSW_FREE ? NAN
			: lm_hnsw_distance(ctx->graph.metric, q, e->vector, ctx->graph.dim);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	}
	if (BufferIsValid(buf))
		ReleaseBuffer(buf);
	return 0;
}

static int
graph_each(void *arg, const float *q, int (*emit) (void *, uint64_t, float, LmError *),
		   void *emit_arg, LmError *err)
{
	HnswGraphCtx *ctx = arg;
	BlockNumber nblocks = RelationGetNumberOfBlocks(ctx->index);
	uint64_t   *ids = palloc(sizeof(uint64_t) * MaxOffsetNumber);
	float	   *d = palloc(sizeof(float) * MaxOffsetNumber);

	for (BlockNumber blk = HNSW_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBuffer(ctx->index, blk);
		Page		page;
		int			n = 0;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElement e = hnsw_page_element_checked(ctx->index, page, blk, off, ctx->graph.dim, ctx->m);

			if (e == NULL || e->state == HNSW_FREE || (ctx->live_only && e->state != HNSW_LIVE))
				continue;
			ids[n] = hnsw_id(blk, off);
			d[n++] = lm_hnsw_distance(ctx->graph.metric, q, e->vector, ctx->graph.dim);
		}
		UnlockReleaseBuffer(buf);
		for (int i = 0; i < n; i++)
			if (emit(emit_arg, ids[i], d[i], err) != 0)
				return -1;
	}
	pfree(ids);
	pfree(d);
	return 0;
}

void
hnsw_graph_init(HnswGraphCtx *ctx, Relation index, const HnswMeta *meta)
{
	memset(ctx, 0, sizeof(HnswGraphCtx));
	ctx->graph.ctx = ctx;
	ctx->graph.dim = meta->dim;
	ctx->graph.metric = (LmHnswMetric) meta->metric;
	ctx->graph.links = graph_links;
	ctx->graph.distances = graph_distances;
	ctx->graph.each = graph_each;
	ctx->index = index;
	ctx->m = meta->m;
	ctx->live_only = true;
}
