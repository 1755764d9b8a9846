/*
 * functions_encoder.c — lm_embed, lm_similarity, lm_classify,
 * lm_classify_scores and lm_fill_mask.
 */
#include "pg/pg_lm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "metrics/cosine.h"
#include "pg/classic.h"
#include "pg/rnn.h"
#include "pg/store.h"

/* lm_classify_scores of a fastText model lists at most this many labels. */
#define LM_CLASSIFY_SCORES_MAX 1000

PG_FUNCTION_INFO_V1(pglm_embed);
PG_FUNCTION_INFO_V1(pglm_similarity);
PG_FUNCTION_INFO_V1(pglm_classify);
PG_FUNCTION_INFO_V1(pglm_classify_scores);
PG_FUNCTION_INFO_V1(pglm_fill_mask);

static LmStoredModel *
model_arg(FunctionCallInfo fcinfo, int argno)
{
	return lm_store_get(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}

/* ERROR unless the model was trained for this task. */
static void
require_task(LmStoredModel *m, LmTask task, const char *function, const char *hint)
{
	const LmModelInfo *info = lm_model_info(lm_store_model(m));

	if (info->task != task)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s needs a %s model, and \"%s\" is a %s model",
						function, lm_task_name(task), m->name, lm_task_name(info->task)),
				 hint ? errhint("%s", hint) : 0));
}

/*
 * The input of lm_embed, lm_classify and lm_classify_scores: a text, tokenized
 * by the model's tokenizer, or token ids given as integer[] (the same
 * functions serve both overloads).
 */
static bool
input_is_ids(FunctionCallInfo fcinfo, int argno)
{
	return get_fn_expr_argtype(fcinfo->flinfo, argno) == INT4ARRAYOID;
}

static int32 *
input_ids(FunctionCallInfo fcinfo, LmStoredModel *m, int argno, int *n)
{
	if (input_is_ids(fcinfo, argno))
		return lm_pg_token_ids(PG_GETARG_ARRAYTYPE_P(argno), false, n);
	if (lm_pg_is_rnn(m))
		return lm_pg_rnn_text_ids(m, PG_GETARG_TEXT_PP(argno), n);
	return lm_store_encode(m, PG_GETARG_TEXT_PP(argno), true, n);
}

/* Word-vector, TF-IDF and fastText models read words, not token ids. */
static bool
classic_text_input(FunctionCallInfo fcinfo, LmStoredModel *m, int argno)
{
	if (!lm_pg_is_classic(m))
		return false;
	if (input_is_ids(fcinfo, argno))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" reads words, not token ids", m->name),
				 errhint("Pass the text itself.")));
	return true;
}

/* The sentence embedding of token ids (palloc'd, *dim floats). */
static float *
embed_ids(LmStoredModel *m, const int32 *ids, int n, int *dim)
{
	const LmModel *model;
	const LmModelInfo *info;
	LmPooling	pooling = LM_POOL_MEAN;
	float	   *out;
	LmError		err;

	if (lm_pg_is_rnn(m))
		return lm_pg_rnn_embed(m, ids, n, dim);
	model = lm_store_model(m);
	info = lm_model_info(model);
	out = palloc(sizeof(float) * info->hidden_size);
	lm_error_clear(&err);
	if (m->pooling && lm_pooling_from_name(m->pooling, &pooling, &err) != 0)
		lm_pg_raise(&err);
	if (lm_model_embed(model, ids, NULL, n, pooling, m->normalize, out, &err) != 0)
		lm_pg_raise(&err);
	*dim = info->hidden_size;
	return out;
}

/* The embedding of argument argno, a text or token ids. */
static float *
embed_arg(FunctionCallInfo fcinfo, LmStoredModel *m, int argno, int *dim)
{
	int			n;
	int32	   *ids = input_ids(fcinfo, m, argno, &n);
	float	   *v = embed_ids(m, ids, n, dim);

	pfree(ids);
	return v;
}

Datum
pglm_embed(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo, 0);
	int			dim;
	float	   *v = classic_text_input(fcinfo, m, 1) ? lm_pg_classic_embed(m, PG_GETARG_TEXT_PP(1), &dim)
		: embed_arg(fcinfo, m, 1, &dim);
	Datum	   *elems = palloc(sizeof(Datum) * dim);

	for (int i = 0; i < dim; i++)
		elems[i] = Float4GetDatum(v[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, dim, FLOAT4OID, 4, true, TYPALIGN_INT));
}

Datum
pglm_similarity(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo, 0);
	int			dim;
	float	   *a;
	float	   *b;
	bool		defined;
	double		cosine;

	if (lm_pg_is_classic(m))
	{
		bool		isnull;
		double		sim = lm_pg_classic_similarity(m, PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2), &isnull);

		if (isnull)
			PG_RETURN_NULL();
		PG_RETURN_FLOAT8(sim);
	}
	a = embed_arg(fcinfo, m, 1, &dim);
	b = embed_arg(fcinfo, m, 2, &dim);
	cosine = lm_cosine(a, b, dim, &defined);
	if (!defined)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cosine);
}

/* Class probabilities (softmax of the logits) of argument argno, palloc'd. */
static double *
class_probabilities(FunctionCallInfo fcinfo, LmStoredModel *m, int argno, int *n_labels)
{
	const LmModel *model;
	const LmModelInfo *info;
	int			n;
	int32	   *ids;
	float	   *logits;
	double	   *probs;
	double		max = -INFINITY,
				sum = 0;
	LmError		err;

	if (lm_pg_is_rnn(m))
	{
		ids = input_ids(fcinfo, m, argno, &n);
		return lm_pg_rnn_class_probabilities(m, ids, n, n_labels);
	}
	require_task(m, LM_TASK_SEQUENCE_CLASSIFICATION, "lm_classify(model, text)",
				 "A generative model can classify among labels you give: lm_classify(model, text, ARRAY['positive', 'negative']).");
	model = lm_store_model(m);
	info = lm_model_info(model);
	logits = palloc(sizeof(float) * info->num_labels);
	probs = palloc(sizeof(double) * info->num_labels);
	ids = input_ids(fcinfo, m, argno, &n);
	lm_error_clear(&err);
	if (lm_model_classify(model, ids, n, logits, &err) != 0)
		lm_pg_raise(&err);
	for (int i = 0; i < info->num_labels; i++)
		max = Max(max, logits[i]);
	for (int i = 0; i < info->num_labels; i++)
		sum += (probs[i] = exp((double) logits[i] - max));
	for (int i = 0; i < info->num_labels; i++)
		probs[i] /= sum;
	*n_labels = info->num_labels;
	return probs;
}

static const char *
class_label(LmStoredModel *m, int i)
{
	return lm_pg_is_rnn(m) ? lm_pg_rnn_label(m, i) : lm_model_label(lm_store_model(m), i);
}

Datum
pglm_classify(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo, 0);
	int			n;
	double	   *probs;
	int			best = 0;

	if (classic_text_input(fcinfo, m, 1))
	{
		char	  **labels;

		if (lm_pg_classic_classify(m, PG_GETARG_TEXT_PP(1), 1, &labels, &probs) < 1)
			PG_RETURN_NULL();
		PG_RETURN_TEXT_P(cstring_to_text(labels[0]));
	}
	probs = class_probabilities(fcinfo, m, 1, &n);

	for (int i = 1; i < n; i++)
		if (probs[i] > probs[best])
			best = i;
	PG_RETURN_TEXT_P(cstring_to_text(class_label(m, best)));
}

Datum
pglm_classify_scores(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	double	   *probs;
	bool	   *done;

	if (classic_text_input(fcinfo, m, 1))
	{
		char	  **labels;

		/* fastText: the labels are already best first */
		n = lm_pg_classic_classify(m, PG_GETARG_TEXT_PP(1), LM_CLASSIFY_SCORES_MAX, &labels, &probs);
		InitMaterializedSRF(fcinfo, 0);
		for (int i = 0; i < n; i++)
		{
			Datum		values[2] = {CStringGetTextDatum(labels[i]), Float8GetDatum(probs[i])};
			bool		nulls[2] = {false, false};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		return (Datum) 0;
	}
	probs = class_probabilities(fcinfo, m, 1, &n);
	InitMaterializedSRF(fcinfo, 0);
	done = palloc0(sizeof(bool) * n);
	/* best first */
	for (int r = 0; r < n; r++)
	{
		int			best = -1;
		Datum		values[2];
		bool		nulls[2] = {false, false};

		for (int i = 0; i < n; i++)
			if (!done[i] && (best < 0 || probs[i] > probs[best]))
				best = i;
		done[best] = true;
		values[0] = CStringGetTextDatum(class_label(m, best));
		values[1] = Float8GetDatum(probs[best]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The tokenizer's mask token id, or ERROR. */
static int32
mask_token_id(LmStoredModel *m)
{
	static const char *const candidates[] = {"[MASK]", "<mask>"};
	const LmTokenizer *tok = lm_store_tokenizer(m);

	for (size_t i = 0; i < lengthof(candidates); i++)
	{
		int32		id = lm_tokenizer_token_to_id(tok, candidates[i]);

		if (id >= 0)
			return id;
	}
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("the tokenizer of model \"%s\" has no mask token", m->name)));
}

Datum
pglm_fill_mask(PG_FUNCTION_ARGS)
{
	LmStoredModel *m = model_arg(fcinfo, 0);
	text	   *input = PG_GETARG_TEXT_PP(1);
	int			k = PG_GETARG_INT32(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const LmModel *model;
	int32		mask_id;
	int			n,
				n_out,
				mask_pos = -1;
	int32	   *ids;
	int32	   *top_ids;
	float	   *top_probs;
	LmError		err;

	require_task(m, LM_TASK_MASKED_LM, "lm_fill_mask", NULL);
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k)));
	model = lm_store_model(m);
	mask_id = mask_token_id(m);
	ids = lm_store_encode(m, input, true, &n);
	for (int i = 0; i < n; i++)
	{
		if (ids[i] != mask_id)
			continue;
		if (mask_pos >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("text has more than one mask token"),
					 errhint("lm_fill_mask fills exactly one %s.",
							 lm_tokenizer_id_to_token(lm_store_tokenizer(m), mask_id))));
		mask_pos = i;
	}
	if (mask_pos < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text has no mask token"),
				 errhint("Write %s where the model should fill in a word.",
						 lm_tokenizer_id_to_token(lm_store_tokenizer(m), mask_id))));
	k = Min(k, lm_model_info(model)->vocab_size);
	top_ids = palloc(sizeof(int32) * k);
	top_probs = palloc(sizeof(float) * k);
	lm_error_clear(&err);
	if (lm_model_fill_mask(model, ids, n, mask_pos, k, top_ids, top_probs, &n_out, &err) != 0)
		lm_pg_raise(&err);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n_out; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		const char *token = lm_tokenizer_id_to_token(lm_store_tokenizer(m), top_ids[i]);

		values[0] = CStringGetTextDatum(token ? token : "");
		values[1] = Float8GetDatum(top_probs[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
