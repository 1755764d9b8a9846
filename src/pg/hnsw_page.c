/*
 * hnsw_page.c — the lm_hnsw index's pages: metapage, element tuples, and
 * the vectors that go into them (see hnsw_am.h for the layout).
 */
#include "pg/hnsw_am.h"

#include <math.h>

#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "pg/pg_lm.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

void
hnsw_init_page(Page page, uint16 flags)
{
	PageInit(page, BLCKSZ, sizeof(HnswPageOpaque));
	HnswPageGetOpaque(page)->flags = flags;
	HnswPageGetOpaque(page)->page_id = HNSW_PAGE_ID;
}

void
hnsw_init_meta(Page page, int dim, int m, int ef_construction, LmHnswMetric metric)
{
	HnswMeta   *meta;

	hnsw_init_page(page, HNSW_PAGE_META);
	meta = HnswPageGetMeta(page);
	memset(meta, 0, sizeof(HnswMeta));
	meta->magic = HNSW_MAGIC;
	meta->version = HNSW_VERSION;
	meta->dim = dim;
	meta->m = (int16) m;
	meta->ef_construction = (int16) ef_construction;
	meta->metric = (int16) metric;
	meta->top = -1;
	ItemPointerSetInvalid(&meta->entry);
	meta->last_block = HNSW_METAPAGE_BLKNO;
	meta->count = 0;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(HnswMeta)) - (char *) page;
}

void
hnsw_read_meta(Relation index, HnswMeta *meta)
{
	Buffer		buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID ||
		HnswPageGetMeta(page)->magic != HNSW_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not an lm_hnsw index", RelationGetRelationName(index))));
	if (HnswPageGetMeta(page)->version != HNSW_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has page format %u; this pg_lm reads %d",
						RelationGetRelationName(index), HnswPageGetMeta(page)->version, HNSW_VERSION),
				 errhint("REINDEX it.")));
	*meta = *HnswPageGetMeta(page);
	UnlockReleaseBuffer(buf);
}

int
hnsw_max_links(int m, int level)
{
	return level == 0 ? 2 * m : m;
}

Size
hnsw_element_size(int dim, int m, int level)
{
	return offsetof(HnswElementData, vector) + sizeof(float) * dim + sizeof(uint16) * (level + 1)
		+ sizeof(ItemPointerData) * (2 * m + level * m);
}

uint16 *
hnsw_element_counts(HnswElement e, int dim)
{
	return (uint16 *) ((char *) e->vector + sizeof(float) * dim);
}

ItemPointerData *
hnsw_element_links(HnswElement e, int dim, int m, int level)
{
	ItemPointerData *links = (ItemPointerData *) (hnsw_element_counts(e, dim) + e->level + 1);

	return level == 0 ? links : links + 2 * m + (level - 1) * m;
}

HnswElement
hnsw_page_element(Page page, OffsetNumber off)
{
	ItemId		item;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	item = PageGetItemId(page, off);
	if (!ItemIdIsNormal(item))
		return NULL;
	return (HnswElement) PageGetItem(page, item);
}

HnswElement
hnsw_page_element_checked(Relation index, Page page, BlockNumber blk, OffsetNumber off, int dim,
						  int m)
{
	HnswElement e = hnsw_page_element(page, off);

	if (e != NULL &&
		(ItemIdGetLength(PageGetItemId(page, off)) < offsetof(HnswElementData, vector) ||
		 e->level > LM_HNSW_MAX_LEVEL ||
		 ItemIdGetLength(PageGetItemId(page, off)) != hnsw_element_size(dim, m, e->level)))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupt: block %u, item %u has the size of no element",
						RelationGetRelationName(index), blk, off),
				 errhint("REINDEX it.")));
	return e;
}

LmHnswMetric
hnsw_index_metric(Relation index)
{
	Oid			proc = index_getprocid(index, 1, 1);
	char	   *name = OidIsValid(proc) ? get_func_name(proc) : NULL;

	if (name != NULL && strcmp(name, "lm_l2_distance") == 0)
		return LM_HNSW_L2;
	if (name != NULL && strcmp(name, "lm_negative_inner_product") == 0)
		return LM_HNSW_INNER;
	if (name != NULL && strcmp(name, "lm_cosine_distance") == 0)
		return LM_HNSW_COSINE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("operator class of index \"%s\" has no pg_lm distance as support function 1",
					RelationGetRelationName(index))));
}

HnswOptions *
hnsw_index_options(Relation index)
{
	static HnswOptions defaults = {0, HNSW_DEFAULT_M, HNSW_DEFAULT_EF_CONSTRUCTION, 0};
	HnswOptions *o = (HnswOptions *) index->rd_options;

	return o != NULL ? o : &defaults;
}

float *
hnsw_datum_vector(Datum value, int dim, LmHnswMetric metric, int *n)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	float	   *v;

	if (ARR_ELEMTYPE(arr) != FLOAT4OID)
		elog(ERROR, "lm_hnsw indexes real[]");
	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg(ARR_NDIM(arr) == 0 ? "an indexed vector must have at least one element"
						: "an indexed vector must be a one-dimensional array, not %d-dimensional",
						ARR_NDIM(arr))));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an indexed vector must not contain NULL")));
	*n = ARR_DIMS(arr)[0];
	if (*n > 16000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lm_hnsw indexes vectors of at most 16000 dimensions, not %d", *n)));
	if (dim > 0 && *n != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector has %d dimensions; the index holds %d", *n, dim),
				 errhint("Every vector of an index must come from the same model.")));
	v = palloc(sizeof(float) * *n);
	memcpy(v, ARR_DATA_PTR(arr), sizeof(float) * *n);
	lm_pg_check_finite(v, *n, "lm_hnsw");
	if (metric == LM_HNSW_COSINE && !lm_hnsw_normalize(v, *n))
	{
		pfree(v);
		return NULL;
	}
	return v;
}

/* ERROR when an element of the highest layer would not fit on a page. */
void
hnsw_check_fits_page(int dim, int m)
{
	Size		largest = MAXALIGN(hnsw_element_size(dim, m, LM_HNSW_MAX_LEVEL)) + sizeof(ItemIdData);
	Size		page = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(HnswPageOpaque));

	if (largest > page)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vectors of %d dimensions do not fit an lm_hnsw page with m = %d", dim, m),
				 errhint("Index at most %d dimensions with this m, or a smaller m.",
						 (int) ((page - (largest - sizeof(float) * dim)) / sizeof(float)))));
}

