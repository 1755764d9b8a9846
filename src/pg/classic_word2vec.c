/*
 * classic_word2vec.c — lm_word2vec_train: word vectors trained in the
 * database (skip-gram with negative sampling, src/classic/word2vec.h) over
 * the texts a query returns, stored as a word-vector model like an imported
 * one (_lm.model with architecture word_vectors, one _lm.word_vector row per
 * word, most frequent first), so that lm_word_vector, lm_most_similar,
 * lm_analogy, lm_similarity and lm_embed work on it.
 *
 * Each text is one sentence, split by the n-gram models' word tokenizer
 * (words.h) and lowercased.  The whole training is one transaction with the
 * caller's: an error or a cancel leaves nothing behind.
 */
#include "pg/classic_internal.h"

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "classic/word2vec.h"
#include "pg/model_rows.h"

LM_PG_FREE_FN(free_word2vec, LmWord2Vec, lm_word2vec_free)

PG_FUNCTION_INFO_V1(pglm_word2vec_train);

/* The arguments of lm_word2vec_train, in order. */
enum
{
	ARG_NAME,
	ARG_QUERY,
	ARG_DIM,
	ARG_WINDOW,
	ARG_NEGATIVE,
	ARG_EPOCHS,
	ARG_MIN_COUNT,
	ARG_SEED,
	ARG_SAMPLE,
	ARG_ALPHA,
	ARG_MIN_ALPHA,
	N_ARGS
};

static const char *const arg_names[N_ARGS] = {
	"name", "query", "dim", "window", "negative", "epochs", "min_count", "seed", "sample",
	"alpha", "min_alpha"
};

/* Feed every text the query returns (its first column); returns how many. */
static int
add_text(void *arg, const char *text, size_t len, LmError *err)
{
	return lm_word2vec_add_text((LmWord2Vec *) arg, text, len, err);
}

static int64
feed_query(LmWord2Vec *w, const char *query)
{
	return lm_pg_classic_feed_query(query, add_text, w);
}

/* The model's config: what lm_pg_wordvec_load needs, the options and the corpus facts. */
static char *
config_json(const LmWord2VecOptions *o, const LmWord2VecStats *s)
{
	StringInfoData buf;
	int64		parameters = (int64) s->vocabulary * o->dim;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format\": \"word2vec\", \"trained_by\": \"lm_word2vec_train\", "
					 "\"algorithm\": \"skip-gram, negative sampling\", \"dim\": %d, \"count\": %d, "
					 "\"parameters\": " INT64_FORMAT ", \"bytes\": " INT64_FORMAT ", \"dtype\": \"F32\", ",
					 o->dim, s->vocabulary, parameters, parameters * (int64) sizeof(float));
	appendStringInfo(&buf, "\"window\": %d, \"negative\": %d, \"epochs\": %d, \"min_count\": " INT64_FORMAT
					 ", \"sample\": %s, \"alpha\": %s, \"min_alpha\": %s, \"seed\": " INT64_FORMAT
					 ", \"lowercase\": true, ",
					 o->window, o->negative, o->epochs, (int64) o->min_count,
					 double_to_shortest_decimal(o->sample), double_to_shortest_decimal(o->alpha),
					 double_to_shortest_decimal(o->min_alpha), (int64) o->seed);
	appendStringInfo(&buf, "\"texts\": " INT64_FORMAT ", \"sentences\": " INT64_FORMAT
					 ", \"corpus_words\": " INT64_FORMAT ", \"distinct_words\": " INT64_FORMAT
					 ", \"retained_words\": " INT64_FORMAT ", \"downsampled\": %d"
					 ", \"trained_words\": " INT64_FORMAT ", \"trained_pairs\": " INT64_FORMAT
					 ", \"seconds\": %.3f, \"words_per_second\": %.0f}",
					 (int64) s->texts, (int64) s->sentences, (int64) s->corpus_words,
					 (int64) s->distinct_words, (int64) s->retained_words, s->downsampled,
					 (int64) s->trained_words, (int64) s->trained_pairs, s->seconds, s->words_per_second);
	return buf.data;
}

/* Vocabulary word i (most frequent first), for lm_pg_insert_word_vectors. */
static const float *
vocabulary_row(void *arg, int32 i, const char **word, size_t *len)
{
	const LmWord2Vec *w = arg;

	*word = lm_word2vec_vocabulary_word(w, i, NULL);
	*len = strlen(*word);
	return lm_word2vec_vector(w, i);
}

/*
 * lm_word2vec_train(name, query, dim, window, negative, epochs, min_count,
 * seed, sample, alpha, min_alpha) RETURNS bigint: the new model's id.
 */
Datum
pglm_word2vec_train(PG_FUNCTION_ARGS)
{
	LmWord2VecOptions o;
	LmWord2VecStats stats;
	LmWord2Vec *w;
	LmError		err;
	char	   *name;
	char	   *query;
	int64		model_id = -1;

	for (int i = 0; i < N_ARGS; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", arg_names[i])));
	name = text_to_cstring(PG_GETARG_TEXT_PP(ARG_NAME));
	query = text_to_cstring(PG_GETARG_TEXT_PP(ARG_QUERY));

	lm_word2vec_default_options(&o);
	o.dim = PG_GETARG_INT32(ARG_DIM);
	o.window = PG_GETARG_INT32(ARG_WINDOW);
	o.negative = PG_GETARG_INT32(ARG_NEGATIVE);
	o.epochs = PG_GETARG_INT32(ARG_EPOCHS);
	o.min_count = PG_GETARG_INT32(ARG_MIN_COUNT);
	o.seed = (uint64) PG_GETARG_INT64(ARG_SEED);
	o.sample = PG_GETARG_FLOAT8(ARG_SAMPLE);
	o.alpha = PG_GETARG_FLOAT8(ARG_ALPHA);
	o.min_alpha = PG_GETARG_FLOAT8(ARG_MIN_ALPHA);

	lm_pg_require_create_models();
	lm_pg_error_init(&err);
	w = lm_word2vec_new(&o, &err);	/* checks the options */
	if (w == NULL)
		lm_pg_raise(&err);
	lm_pg_guard(free_word2vec, w);
	int64		texts;

	lm_pg_spi_connect();
	lm_pg_check_new_model_name(name);
	lm_pg_spi_finish();
	texts = feed_query(w, query);
	if (texts == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query returned no text"),
				 errhint("word2vec needs texts to learn from: a query whose first column holds them.")));
	if (lm_word2vec_train(w, &err) != 0)
		lm_pg_raise(&err);
	lm_word2vec_stats(w, &stats);
	lm_pg_spi_connect();
	ereport(DEBUG1,
			(errmsg("word2vec \"%s\": " INT64_FORMAT " words, vocabulary %d, %.2f s, %.0f words/s",
					name, (int64) stats.corpus_words, stats.vocabulary, stats.seconds,
					stats.words_per_second)));
	model_id = lm_pg_insert_model(name, LM_ARCH_WORD_VECTORS, "word-embedding",
								  config_json(&o, &stats), NULL, NULL, NULL, query);
	/* one row per vocabulary word, most frequent first (index from 1) */
	lm_pg_insert_word_vectors(model_id, o.dim, lm_word2vec_vocabulary_size(w), vocabulary_row, w);
	lm_pg_seal_model(model_id);
	lm_pg_spi_finish();
	lm_store_forget(name);
	PG_RETURN_INT64(model_id);
}
