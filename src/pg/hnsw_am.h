/*
 * hnsw_am.h — the lm_hnsw index access method: an HNSW graph (index/hnsw.h)
 * kept on the index's pages.
 *
 * Block 0 is the metapage: the graph's shape (dimensions, m,
 * ef_construction, metric), its entry point and top layer, and how many
 * elements it holds.  Every other page holds element tuples, one per
 * indexed row:
 *
 *   heap TID | level | state | float vector[dim] | link counts[level + 1] |
 *   links of layer 0 [2m] | links of layer 1 [m] | ... | links of layer level [m]
 *
 * a link being another element's TID in the index.  An element's size
 * follows from its level, so its links are rewritten in place.  Cosine
 * indexes keep unit vectors.  Names for elements in searches: (block << 16)
 * | offset.
 *
 * States: live; deleted (its row is gone: VACUUM's first pass, still linked
 * so that searches walk through it, never handed out); free (unlinked by
 * VACUUM's second pass: its space is reused by inserts).
 *
 * Writers (inserts, VACUUM's repair) take a page lock on the metapage in
 * turn; searches take only buffer locks, one at a time.  Changes are
 * WAL-logged as generic records; a build writes its pages and logs them
 * whole.
 */
#ifndef LM_PG_HNSW_AM_H
#define LM_PG_HNSW_AM_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "nodes/execnodes.h"
#include "index/hnsw.h"
#include "index/hnsw_walk.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#define HNSW_MAGIC 0x4c4d484e	/* "LMHN" */
#define HNSW_VERSION 1
#define HNSW_METAPAGE_BLKNO 0
#define HNSW_PAGE_ID 0xFF8A

/* build subphases in pg_stat_progress_create_index */
#define HNSW_PHASE_LOAD 2
#define HNSW_PHASE_WRITE 3

#define HNSW_DEFAULT_M 16
#define HNSW_DEFAULT_EF_CONSTRUCTION 64

extern int	lm_guc_hnsw_ef_search;

/* Options and the setting pg_lm.hnsw_ef_search, at load. */
void		lm_hnsw_define(void);

typedef struct HnswPageOpaque
{
	uint16		flags;
	uint16		page_id;		/* HNSW_PAGE_ID: tells our pages from others' */
} HnswPageOpaque;

#define HNSW_PAGE_META 1

typedef struct HnswMeta
{
	uint32		magic;
	uint32		version;
	int32		dim;			/* 0 until the first vector */
	int16		m;
	int16		ef_construction;
	int16		metric;			/* LmHnswMetric */
	int16		top;			/* the entry point's layer; -1 while empty */
	ItemPointerData entry;
	BlockNumber last_block;		/* where inserts add pages */
	int64		count;			/* live and deleted elements */
} HnswMeta;

#define HNSW_LIVE 0
#define HNSW_DELETED 1
#define HNSW_FREE 2

typedef struct HnswElementData
{
	ItemPointerData heap_tid;
	uint8		level;
	uint8		state;
	float		vector[FLEXIBLE_ARRAY_MEMBER];
	/* then uint16 counts[level + 1], then ItemPointerData links[...] */
} HnswElementData;

typedef HnswElementData *HnswElement;

/* The reloptions. */
typedef struct HnswOptions
{
	int32		vl_len_;
	int			m;
	int			ef_construction;
	int			dimensions;		/* 0: from the first row */
} HnswOptions;

/* ---- pages (hnsw_page.c) ---- */

static inline uint64_t
hnsw_id(BlockNumber blk, OffsetNumber off)
{
	return ((uint64_t) blk << 16) | off;
}

static inline BlockNumber
hnsw_id_block(uint64_t id)
{
	return (BlockNumber) (id >> 16);
}

static inline OffsetNumber
hnsw_id_offset(uint64_t id)
{
	return (OffsetNumber) (id & 0xffff);
}

#define HnswPageGetOpaque(page) ((HnswPageOpaque *) PageGetSpecialPointer(page))
#define HnswPageGetMeta(page) ((HnswMeta *) PageGetContents(page))

void		hnsw_init_page(Page page, uint16 flags);
void		hnsw_init_meta(Page page, int dim, int m, int ef_construction, LmHnswMetric metric);
/* A copy of the metapage's contents (share lock while reading). */
void		hnsw_read_meta(Relation index, HnswMeta *meta);

Size		hnsw_element_size(int dim, int m, int level);
int			hnsw_max_links(int m, int level);
uint16	   *hnsw_element_counts(HnswElement e, int dim);
ItemPointerData *hnsw_element_links(HnswElement e, int dim, int m, int level);

/* The element at (blk, off) of a locked page, or NULL when there is none. */
HnswElement hnsw_page_element(Page page, OffsetNumber off);

/* ERROR when an element of dim dimensions on the highest layer would not fit on a page. */
void		hnsw_check_fits_page(int dim, int m);

/* The same, with an ERROR for an item whose size is no element's of dim and m (a corrupt page). */
HnswElement hnsw_page_element_checked(Relation index, Page page, BlockNumber blk, OffsetNumber off,
									  int dim, int m);

/* The metric of the index's operator class (from its support function). */
LmHnswMetric hnsw_index_metric(Relation index);
HnswOptions *hnsw_index_options(Relation index);

/*
 * A vector datum as floats (palloc'd): one dimension, no NULL, finite;
 * dim elements when dim > 0.  Under cosine, unit length, and NULL for a
 * zero vector.
 */
float	   *hnsw_datum_vector(Datum value, int dim, LmHnswMetric metric, int *n);

/* ---- the graph on pages, for walks (hnsw_graph.c) ---- */

typedef struct HnswGraphCtx
{
	LmHnswGraph graph;
	Relation	index;
	int			m;
	bool		live_only;		/* each(): only live elements */
} HnswGraphCtx;

void		hnsw_graph_init(HnswGraphCtx *ctx, Relation index, const HnswMeta *meta);

/* ---- inserting one vector on the pages (hnsw_insert.c) ---- */

void		hnsw_insert_vector(Relation index, const float *v, int n, ItemPointer heap_tid);

/* Element id's vector into out; false when it is no longer an element. */
bool		hnsw_read_vector(Relation index, uint64_t id, float *out, int dim);

/*
 * Keep at most max of the candidates (sorted nearest first, distances to
 * the element) by the neighbour heuristic; their ids into out, their count.
 */
int			hnsw_select_neighbours(Relation index, const HnswMeta *meta, const LmHnswCand *cands,
								   int n, int max, uint64_t *out);

/* Space an insert can use on a page: its free space and its free elements. */
Size		hnsw_page_reusable_space(Page page);

/* A new element tuple (palloc'd) with no links. */
HnswElement hnsw_new_element(const float *v, int dim, int m, int level, ItemPointer heap_tid,
							 Size *size);

/* ---- the access method's callbacks ---- */

IndexBuildResult *hnsw_build(Relation heap, Relation index, IndexInfo *info);
void		hnsw_buildempty(Relation index);
bool		hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						Relation heap, IndexUniqueCheck check_unique, bool index_unchanged,
						IndexInfo *info);
IndexBulkDeleteResult *hnsw_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
									   IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *hnsw_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
IndexScanDesc hnsw_beginscan(Relation index, int nkeys, int norderbys);
void		hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool		hnsw_gettuple(IndexScanDesc scan, ScanDirection dir);
void		hnsw_endscan(IndexScanDesc scan);

#endif
