/*
 * functions_text.c — lm_tokenize, lm_tokens, lm_detokenize.
 */
#include "pg/pg_lm.h"

#include <stdlib.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "pg/store.h"

PG_FUNCTION_INFO_V1(pglm_tokenize);
PG_FUNCTION_INFO_V1(pglm_tokens);
PG_FUNCTION_INFO_V1(pglm_detokenize);

/* Encode the text argument with the model's tokenizer (no context check: any text has tokens). */
static void
encode_args(FunctionCallInfo fcinfo, LmEncoding *enc)
{
	const LmTaskModel *tm = lm_store_prepare_arg(fcinfo, LM_DO_TOKENIZE, true);
	text	   *input = PG_GETARG_TEXT_PP(1);
	LmError		err;

	lm_pg_error_init(&err);
	if (lm_task_tokenize(tm, VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), PG_GETARG_BOOL(2), false,
						 enc, &err) != 0)
		lm_pg_raise(&err);
}

Datum
pglm_tokenize(PG_FUNCTION_ARGS)
{
	LmEncoding	enc;
	Datum	   *elems;
	ArrayType  *result;

	encode_args(fcinfo, &enc);
	elems = palloc(sizeof(Datum) * Max(enc.n, 1));
	for (size_t i = 0; i < enc.n; i++)
		elems[i] = Int32GetDatum(enc.ids[i]);
	result = construct_array(elems, (int) enc.n, INT4OID, 4, true, TYPALIGN_INT);
	lm_encoding_free(&enc);
	PG_RETURN_ARRAYTYPE_P(result);
}

Datum
pglm_tokens(PG_FUNCTION_ARGS)
{
	LmEncoding	enc;
	Datum	   *elems;
	ArrayType  *result;

	encode_args(fcinfo, &enc);
	elems = palloc(sizeof(Datum) * Max(enc.n, 1));
	for (size_t i = 0; i < enc.n; i++)
	{
		/* never hand PostgreSQL a string that is not valid UTF-8 */
		if (!pg_verifymbstr(enc.tokens[i], strlen(enc.tokens[i]), true))
		{
			lm_encoding_free(&enc);
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("token %zu is not valid UTF-8", i),
					 errhint("Byte-level tokens can split characters; use lm_tokenize for ids.")));
		}
		elems[i] = CStringGetTextDatum(enc.tokens[i]);
	}
	result = construct_array(elems, (int) enc.n, TEXTOID, -1, false, TYPALIGN_INT);
	lm_encoding_free(&enc);
	PG_RETURN_ARRAYTYPE_P(result);
}

Datum
pglm_detokenize(PG_FUNCTION_ARGS)
{
	const LmTaskModel *tm = lm_store_prepare_arg(fcinfo, LM_DO_DETOKENIZE, true);
	bool		skip_special = PG_GETARG_BOOL(2);
	int			n;
	int32	   *ids = lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(1), true, &n);
	char	   *decoded;
	text	   *result;
	LmError		err;

	lm_pg_error_init(&err);
	decoded = lm_task_detokenize(tm, ids, n, skip_special, &err);
	if (decoded == NULL)
		lm_pg_raise(&err);
	if (!pg_verifymbstr(decoded, strlen(decoded), true))
	{
		free(decoded);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("decoded text is not valid UTF-8")));
	}
	result = cstring_to_text(decoded);
	free(decoded);
	PG_RETURN_TEXT_P(result);
}
