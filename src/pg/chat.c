/*
 * chat.c — chat templates in the backend (see chat.h).
 *
 * The template is rendered here, not in the model server: it needs only the
 * model's row, and rendering is small work next to generating a reply.  The
 * engine (tasks/chat.h) builds the context and renders; this file reads the
 * model's row, hands the engine the arguments as JSON texts (jsonb keeps no
 * key order, so a message's keys reach the template in jsonb's order) and
 * keeps each model's parsed template and end-of-turn ids for the backend's
 * life: a model never changes once imported, so its id is the key.
 */
#include "pg/chat.h"

#include <stdlib.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "pg/pg_lm.h"
#include "tasks/chat.h"

#define CHAT_CACHE_SLOTS 8

typedef struct ChatEntry
{
	int64		model_id;
	bool		for_tools;		/* looked up for a call with tools ("tool_use" if any) */
	uint64		last_used;
	LmChatTemplate *tmpl;
	bool		stops_known;
	int32	   *stop_ids;		/* malloc'd */
	int			n_stop_ids;
} ChatEntry;

static ChatEntry *cache[CHAT_CACHE_SLOTS];
static int	n_cached = 0;
static uint64 use_clock = 0;

LM_PG_FREE_FN(free_template, LmChatTemplate, lm_chat_template_free)

static void
free_entry(ChatEntry *e)
{
	lm_chat_template_free(e->tmpl);
	free(e->stop_ids);
	free(e);
}

/* An SPI text column of the first row, palloc'd in cxt (NULL for NULL). */
static char *
column(MemoryContext cxt, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? NULL : MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/*
 * Read the model's template (the "tool_use" one for a call with tools, when
 * it has one) and special tokens, parse it and keep it.
 */
static ChatEntry *
load_template(LmStoredModel *m, bool for_tools)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	char	   *source = NULL;
	char	   *tool_source = NULL;
	char	   *special = NULL;
	bool		found;
	LmChatTemplate *tmpl;
	LmPgGuard  *guard;
	ChatEntry  *e;
	LmError		err;

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT chat_template, chat_templates->>'tool_use', special_tokens::text "
							  "FROM _lm.model WHERE id = $1", 1, types, values, NULL,
							  lm_store_read_only(), 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read _lm.model");
	found = SPI_processed == 1;
	if (found)
	{
		source = column(caller, 1);
		tool_source = column(caller, 2);
		special = column(caller, 3);
	}
	lm_pg_spi_finish();
	if (!found)
		lm_store_check_not_dropped(m);
	if (for_tools && tool_source != NULL)
		source = tool_source;
	if (source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has no chat template", m->name),
				 errhint("Import it with lm_import(..., chat_template => '...'), or from files that have one: "
						 "chat_template.jinja, tokenizer_config.json, a GGUF file's tokenizer.chat_template.")));
	lm_pg_error_init(&err);
	if ((tmpl = lm_chat_template_new(m->name, source, strlen(source), special, &err)) == NULL)
		lm_pg_raise(&err);
	guard = lm_pg_guard(free_template, tmpl);
	if ((e = calloc(1, sizeof(ChatEntry))) == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	lm_pg_keep(guard);
	e->model_id = m->id;
	e->for_tools = for_tools;
	e->tmpl = tmpl;

	/* the least recently used entry goes when the cache is full */
	if (n_cached == CHAT_CACHE_SLOTS)
	{
		int			oldest = 0;

		for (int i = 1; i < n_cached; i++)
			if (cache[i]->last_used < cache[oldest]->last_used)
				oldest = i;
		free_entry(cache[oldest]);
		cache[oldest] = cache[--n_cached];
	}
	e->last_used = ++use_clock;
	cache[n_cached++] = e;
	return e;
}

static ChatEntry *
get_entry(LmStoredModel *m, const LmPgChatArgs *args)
{
	bool		for_tools = args->tools != NULL;

	for (int i = 0; i < n_cached; i++)
		if (cache[i]->model_id == m->id && cache[i]->for_tools == for_tools)
		{
			cache[i]->last_used = ++use_clock;
			return cache[i];
		}
	return load_template(m, for_tools);
}

static char *
jsonb_text(Jsonb *jb)
{
	return jb == NULL ? NULL : JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

char *
lm_pg_chat_render(LmStoredModel *m, const LmPgChatArgs *args, size_t *len)
{
	ChatEntry  *e = get_entry(m, args);
	LmChatRequest req;
	char	   *out;
	char	   *result;
	LmError		err;

	req.messages = jsonb_text(args->messages);
	req.tools = jsonb_text(args->tools);
	req.template_kwargs = jsonb_text(args->template_kwargs);
	req.documents = jsonb_text(args->documents);
	req.add_generation_prompt = args->add_generation_prompt;
	req.continue_final_message = args->continue_final_message;
	/* strftime_now: the transaction's start, as now() */
	req.now = (int64) timestamptz_to_time_t(GetCurrentTransactionStartTimestamp());
	lm_pg_error_init(&err);
	if ((out = lm_chat_render(e->tmpl, &req, len, &err)) == NULL)
		lm_pg_raise(&err);
	lm_pg_own(out);
	result = palloc(*len + 1);
	memcpy(result, out, *len);
	result[*len] = '\0';
	return result;
}

/* The tokenizer.json's special added tokens (none for a SentencePiece model). */
static LmChatToken *
special_tokens(LmStoredModel *m, int *n)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(m->id)};
	LmChatToken *tokens;

	lm_pg_spi_connect();
	if (SPI_execute_with_args("SELECT e->>'content', (e->>'id')::int4 FROM _lm.model m, "
							  "jsonb_array_elements(CASE jsonb_typeof(m.tokenizer->'added_tokens') "
							  "                     WHEN 'array' THEN m.tokenizer->'added_tokens' ELSE '[]' END) e "
							  "WHERE m.id = $1 AND e->'special' = 'true'::jsonb "
							  "AND jsonb_typeof(e->'content') = 'string' AND e->>'content' <> '' "
							  "AND jsonb_typeof(e->'id') = 'number' "
							  "AND (e->>'id')::numeric BETWEEN 0 AND 2147483647",
							  1, types, values, NULL, lm_store_read_only(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the tokenizer of model \"%s\"", m->name);
	*n = (int) SPI_processed;
	tokens = MemoryContextAlloc(caller, sizeof(LmChatToken) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		bool		isnull;

		tokens[i].content = MemoryContextStrdup(caller,
												TextDatumGetCString(SPI_getbinval(row, SPI_tuptable->tupdesc, 1,
																				  &isnull)));
		tokens[i].id = DatumGetInt32(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
	}
	lm_pg_spi_finish();
	return tokens;
}

int32 *
lm_pg_chat_stop_ids(LmStoredModel *m, const LmPgChatArgs *args, int *n)
{
	ChatEntry  *e = get_entry(m, args);
	int32	   *ids;

	if (!e->stops_known)
	{
		int			n_special;
		LmChatToken *special = special_tokens(m, &n_special);
		LmError		err;

		lm_pg_error_init(&err);
		if (lm_chat_end_of_turn(e->tmpl, special, n_special, m->desc.generation_config, &e->stop_ids,
								&e->n_stop_ids, &err) != 0)
			lm_pg_raise(&err);
		e->stops_known = true;
	}
	*n = e->n_stop_ids;
	ids = palloc(sizeof(int32) * Max(*n, 1));
	if (*n > 0)
		memcpy(ids, e->stop_ids, sizeof(int32) * *n);
	return ids;
}
