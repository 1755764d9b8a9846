/*
 * test_ngram.c — the n-gram language models: the word tokenizer, the
 * lecture's example, export/import of counts, bad input, and parity with
 * NLTK's nltk.lm (MLE, Laplace, KneserNeyInterpolated) on trigram models of
 * the first 12,000 lines of multi30k.train.en.
 *
 * For the parity part this program tokenizes the corpus, writes the token
 * lines and a deterministic list of queries (seen and unseen trigrams, short
 * contexts, out-of-vocabulary words, perplexities, next-word rankings) to a
 * temporary folder, runs tests/ngram_reference.py on them with Debian's
 * /usr/bin/python3 and compares every number to 1e-9 relative.  Without
 * python3-nltk that part is skipped, and fails only when PG_LM_REQUIRE_NLTK=1.
 */
#include <libgen.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classic/ngram_counts.h"
#include "classic/ngram_model.h"
#include "classic/ngram_predict.h"
#include "classic/words.h"
#include "cancel_util.h"
#include "testutil.h"
#include "util/file.h"

#define ORDER 3
#define TRAIN_FILE "multi30k.train.en"
#define TRAIN_SENTENCES 12000
#define PERPLEXITY_FILE "multi30k.val.en"
#define PERPLEXITY_SENTENCES 8
#define LOWERCASE true
#define MAX_CORPUS_BYTES (64u << 20)
#define PATH_MAX_LEN 1024
#define LINE_MAX_LEN (1 << 20)
#define RELATIVE_TOLERANCE 1e-9
#define TOP_K 5
#define N_MODELS 3				/* mle, laplace, kneser_ney */
#define N_RANKED_MODELS 2		/* NLTK ranks mle and laplace; KN is too slow there */
#define N_SEEN_QUERIES 120
#define N_UNSEEN_QUERIES 60
#define N_SHORT_QUERIES 30
#define N_UNIGRAM_QUERIES 20
#define N_OOV_QUERIES 10
#define N_NEXT_QUERIES 8
#define SENTENCE_STRIDE 7919	/* a prime, to spread the sampled sentences */
#define POSITION_STRIDE 31
#define OOV_WORD "qwxzvk"
#ifndef PYTHON
#define PYTHON "/usr/bin/python3"	/* Debian's, which sees python3-nltk */
#endif
#define REFERENCE_SCRIPT "ngram_reference.py"

static const char *const MODEL_NAMES[N_MODELS] = {"mle", "laplace", "kneser_ney"};

/* ---------------------------------------------------------------- helpers */

static bool
words_equal(const LmWords *w, const char *const *expected, size_t n)
{
	if (w->n_words != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(w->words[i], expected[i]) != 0)
			return false;
	return true;
}

static void
check_tokens(const char *text, bool lowercase, const char *const *expected, size_t n)
{
	LmWords		w;
	LmError		err;
	char		got[512] = "";

	test_error_init(&err);
	if (lm_words_tokenize(text, strlen(text), lowercase, &w, &err) != 0)
	{
		CHECK(false, "tokenize \"%s\": %s", text, err.message);
		return;
	}
	for (size_t i = 0; i < w.n_words; i++)
	{
		strncat(got, i ? "|" : "", sizeof(got) - strlen(got) - 1);
		strncat(got, w.words[i], sizeof(got) - strlen(got) - 1);
	}
	CHECK(words_equal(&w, expected, n), "tokenize \"%s\"%s -> %s", text,
		  lowercase ? " (lowercase)" : "", got);
	lm_words_free(&w);
}

static double
relative_error(double a, double b)
{
	if (a == b)
		return 0.0;
	if (!isfinite(a) || !isfinite(b))
		return INFINITY;
	return fabs(a - b) / fmax(fabs(a), fabs(b));
}

/* Tokens joined by single spaces (malloc'd). */
static char *
join_tokens(const char *const *tokens, size_t n)
{
	size_t		len = 1;
	char	   *out;
	char	   *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(tokens[i]) + 1;
	out = malloc(len);
	p = out;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			*p++ = ' ';
		strcpy(p, tokens[i]);
		p += strlen(p);
	}
	return out;
}

/* ---------------------------------------------------------------- unit tests */

static void
test_words(void)
{
	check_tokens("Don't stop-me now!", false,
				 (const char *[]) {"Don't", "stop", "-", "me", "now", "!"}, 6);
	check_tokens("'Em dogs' TOYS", true, (const char *[]) {"'", "em", "dogs", "'", "toys"}, 5);
	check_tokens("l\u2019homme a 3.14 €", false,
				 (const char *[]) {"l\u2019homme", "a", "3", ".", "14", "€"}, 6);
	/* NFC: e + combining acute becomes é */
	check_tokens("Cafe\u0301\tbar\n", true, (const char *[]) {"caf\u00e9", "bar"}, 2);
	check_tokens("  \u00a0\u200b ", false, NULL, 0);
	check_tokens("", false, NULL, 0);
	check_tokens("a\xff" "b", false, (const char *[]) {"a", "\uFFFD", "b"}, 3);
	check_tokens("\u4e2d\u6587 (x2)", false, (const char *[]) {"\u4e2d\u6587", "(", "x2", ")"}, 4);
}

/*
 * A text of several megabytes is normalised in pieces: combining accents on
 * both sides of every piece boundary still compose, and a cancel request is
 * honoured inside the text.
 */
static void
test_long_text(void)
{
	/* 5 bytes: a megabyte (2^20 = 1 mod 5) ends between e and its accent */
	static const char unit[] = "e\u0301 \n";
	const size_t reps = 700000;
	size_t		unit_len = strlen(unit);
	size_t		len;
	char	   *text = repeated_text(unit, reps * unit_len, &len);
	LmWords		w;
	LmError		err;
	size_t		bad = 0;

	test_error_init(&err);
	if (CHECK(lm_words_tokenize(text, reps * unit_len, true, &w, &err) == 0,
			  "tokenize a %zu-byte text: %s", reps * unit_len, err.message))
	{
		for (size_t i = 0; i < w.n_words; i++)
			bad += strcmp(w.words[i], "\u00e9") != 0;
		CHECK(w.n_words == reps && bad == 0,
			  "%zu-byte text normalised in pieces: %zu words, %zu not composed", reps * unit_len,
			  w.n_words, bad);
		lm_words_free(&w);
	}
	for (int k = 1; k <= 4; k++)
	{
		cancel_arm(k);
		test_error_init(&err);
		CHECK(lm_words_tokenize(text, reps * unit_len, true, &w, &err) == -1 &&
			  err.code == LM_ERR_CANCELLED, "tokenizing stops at cancel check %d (%s)", k,
			  err.message);
	}
	test_cancel_hook = NULL;
	free(text);
}

static LmNgramCounts *
counts_of(const char *const *sentences, size_t n, int order)
{
	LmError		err;
	LmNgramCounts *c;

	test_error_init(&err);
	c = lm_ngram_counts_new(order, &err);
	for (size_t i = 0; c != NULL && i < n; i++)
	{
		if (lm_ngram_counts_add_text(c, sentences[i], strlen(sentences[i]), false, &err) != 0)
		{
			printf("# %s\n", err.message);
			lm_ngram_counts_free(c);
			return NULL;
		}
	}
	return c;
}

static void
test_lecture_example(void)
{
	static const char *const sentences[] = {
		"New York has amazing food",
		"New York has amazing nightlife",
		"Paris has amazing art",
		"Paris has amazing culture",
	};
	static const char *const expected[] = {"food", "nightlife", "art", "culture"};
	const char *context[] = {"has", "amazing"};
	LmNgramCounts *c = counts_of(sentences, 4, ORDER);
	LmNgramModel model;
	LmNgramPrediction out[TOP_K];
	int			n_out = 0;
	LmError		err;
	bool		ok;
	double		p;

	test_error_init(&err);
	if (!CHECK(c != NULL && lm_ngram_model_init(&model, c, LM_NGRAM_MLE, 0, &err) == 0,
			   "lecture example trains"))
		return;
	ok = lm_ngram_next_words(&model, context, 2, false, TOP_K, out, &n_out, &err) == 0 &&
		n_out == 4;
	for (int i = 0; ok && i < 4; i++)
		ok = strcmp(out[i].word, expected[i]) == 0 && out[i].probability == 0.25;
	CHECK(ok, "next word after \"has amazing\" (trigram MLE): %d words, %s %.2f, %s %.2f, ...",
		  n_out, n_out > 0 ? out[0].word : "-", n_out > 0 ? out[0].probability : 0.0,
		  n_out > 1 ? out[1].word : "-", n_out > 1 ? out[1].probability : 0.0);

	lm_ngram_score(&model, "York", (const char *[]) {"New"}, 1, &p, &err);
	CHECK(p == 1.0, "P(York | New) = %g", p);
	lm_ngram_score(&model, "has", (const char *[]) {"<s>", "Paris"}, 2, &p, &err);
	CHECK(p == 1.0, "P(has | <s> Paris) = %g", p);
	lm_ngram_score(&model, "New", NULL, 0, &p, &err);
	CHECK(fabs(p - 2.0 / 34.0) < 1e-15, "P(New) = 2/34 with padding counted (%g)", p);
	ok = lm_ngram_next_words(&model, NULL, 0, true, TOP_K, out, &n_out, &err) == 0 &&
		n_out == 2 && strcmp(out[0].word, "New") == 0 && out[0].probability == 0.5;
	CHECK(ok, "sentence start: New and Paris at 0.5");
	lm_ngram_counts_add_text(c, "Rome has food", 13, false, &err);
	test_error_init(&err);
	CHECK(lm_ngram_score(&model, "York", (const char *[]) {"New"}, 1, &p, &err) == -1 &&
		  err.hint[0] != '\0', "scoring after new counts asks for init again: %s", err.message);
	lm_ngram_counts_free(c);
}

/* The probabilities of all vocabulary words (with <UNK> and <s>) sum to 1. */
static void
check_sums_to_one(LmNgramModel *model, const char *const *context, size_t n_context,
				  const char *label)
{
	int32_t		ids[LM_NGRAM_MAX_ORDER];
	int			n = lm_ngram_context_ids(model, context, n_context, ids);
	double		sum = 0.0;

	for (size_t id = 0; id < model->counts->n_words; id++)
		sum += lm_ngram_score_ids(model, (int32_t) id, ids, n);
	CHECK(fabs(sum - 1.0) < 1e-9, "%s probabilities sum to 1 after \"%s%s%s\" (%.15f)", label,
		  n_context > 0 ? context[0] : "", n_context > 1 ? " " : "",
		  n_context > 1 ? context[1] : "", sum);
}

static void
test_errors(void)
{
	LmError		err;
	LmNgramCounts *c;
	LmNgramModel model;
	LmNgramEstimator estimator;
	double		param;
	const char *words[] = {"a", "b", "c", "d"};

	test_error_init(&err);
	CHECK(lm_ngram_counts_new(0, &err) == NULL && err.code == LM_ERR_INVALID_ARGUMENT,
		  "order 0 is refused: %s", err.message);
	CHECK(lm_ngram_counts_new(LM_NGRAM_MAX_ORDER + 1, &err) == NULL,
		  "order above %d is refused", LM_NGRAM_MAX_ORDER);
	CHECK(lm_ngram_estimator_parse("witten_bell", &estimator, &param, &err) == -1 &&
		  err.hint[0] != '\0', "unknown estimator is refused: %s (%s)", err.message, err.hint);
	CHECK(lm_ngram_estimator_parse("Laplace", &estimator, &param, &err) == 0 &&
		  estimator == LM_NGRAM_LIDSTONE && param == 1.0, "laplace is lidstone with gamma 1");
	CHECK(lm_ngram_estimator_parse("kn", &estimator, &param, &err) == 0 &&
		  estimator == LM_NGRAM_KNESER_NEY && param == 0.1, "kn has discount 0.1");

	c = lm_ngram_counts_new(2, &err);
	CHECK(lm_ngram_model_init(&model, c, LM_NGRAM_MLE, 0, &err) == -1,
		  "a model without training data is refused: %s", err.message);
	CHECK(lm_ngram_counts_add(c, words, 3, 1, &err) == -1, "a 3-gram does not fit order 2: %s",
		  err.message);
	CHECK(lm_ngram_counts_add(c, words, 2, 0, &err) == -1, "count 0 is refused: %s", err.message);
	CHECK(lm_ngram_counts_add(c, (const char *[]) {"a", ""}, 2, 1, &err) == -1,
		  "an empty word is refused: %s", err.message);
	lm_ngram_counts_add(c, words, 1, 2, &err);
	CHECK(lm_ngram_model_init(&model, c, LM_NGRAM_LIDSTONE, 0.0, &err) == -1,
		  "lidstone gamma 0 is refused: %s", err.message);
	CHECK(lm_ngram_model_init(&model, c, LM_NGRAM_KNESER_NEY, 1.5, &err) == -1,
		  "discount 1.5 is refused: %s", err.message);
	lm_ngram_counts_free(c);

	c = lm_ngram_counts_new(1, &err);
	lm_ngram_counts_add_text(c, "a b", 3, false, &err);
	CHECK(lm_ngram_model_init(&model, c, LM_NGRAM_KNESER_NEY, 0.1, &err) == -1,
		  "Kneser-Ney of order 1 is refused: %s", err.message);
	lm_ngram_counts_free(c);

	/* Imported counts where a seen context has no continuations: no division by 0. */
	c = lm_ngram_counts_new(3, &err);
	lm_ngram_counts_add(c, words, 2, 1, &err);
	lm_ngram_counts_add(c, words + 2, 1, 1, &err);
	{
		double		p = NAN;
		bool		ok = lm_ngram_model_init(&model, c, LM_NGRAM_KNESER_NEY, 0.1, &err) == 0 &&
			lm_ngram_score(&model, "b", words, 1, &p, &err) == 0;

		CHECK(ok && isfinite(p), "odd imported counts give a finite Kneser-Ney score (%g)", p);
	}
	lm_ngram_counts_free(c);
}

/* ---------------------------------------------------------------- corpus */

typedef struct Corpus
{
	LmWords    *sentences;
	size_t		n;
} Corpus;

static const char *
data_dir(void)
{
	const char *dir = getenv("PG_LM_DATA");

	return dir ? dir : "../shared/data";
}

static bool
load_corpus(const char *name, size_t max_lines, Corpus *corpus)
{
	char		path[PATH_MAX_LEN];
	uint8_t    *data;
	size_t		len;
	LmError		err;
	char	   *line;
	char	   *save = NULL;

	memset(corpus, 0, sizeof(*corpus));
	test_error_init(&err);
	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	if (lm_read_file(path, MAX_CORPUS_BYTES, &data, &len, &err) != 0)
	{
		printf("# cannot read %s: %s\n", path, err.message);
		return false;
	}
	corpus->sentences = calloc(max_lines, sizeof(LmWords));
	for (line = strtok_r((char *) data, "\n", &save); line != NULL && corpus->n < max_lines;
		 line = strtok_r(NULL, "\n", &save))
	{
		if (lm_words_tokenize(line, strlen(line), LOWERCASE, &corpus->sentences[corpus->n],
							  &err) != 0)
		{
			printf("# %s: %s\n", name, err.message);
			break;
		}
		corpus->n++;
	}
	free(data);
	return corpus->n == max_lines;
}

static void
free_corpus(Corpus *corpus)
{
	for (size_t i = 0; i < corpus->n; i++)
		lm_words_free(&corpus->sentences[i]);
	free(corpus->sentences);
}

/* Sentence i padded with order-1 <s> and </s>; *len gets its length. */
static const char **
padded(const Corpus *corpus, size_t i, size_t *len)
{
	const LmWords *w = &corpus->sentences[i];
	size_t		pad = ORDER - 1;
	const char **out = malloc((w->n_words + 2 * pad) * sizeof(char *));

	for (size_t k = 0; k < pad; k++)
	{
		out[k] = LM_NGRAM_BOS;
		out[pad + w->n_words + k] = LM_NGRAM_EOS;
	}
	for (size_t k = 0; k < w->n_words; k++)
		out[pad + k] = w->words[k];
	*len = w->n_words + 2 * pad;
	return out;
}

/* ---------------------------------------------------------------- queries */

typedef enum QueryKind
{
	QUERY_SCORE,
	QUERY_PERPLEXITY,
	QUERY_NEXT
} QueryKind;

typedef struct Query
{
	QueryKind	kind;
	char	   *line;			/* as written to the queries file */
	double		ours[N_MODELS]; /* score or perplexity */
	LmNgramPrediction next[N_RANKED_MODELS][TOP_K];
	int			n_next[N_RANKED_MODELS];
} Query;

typedef struct QueryList
{
	Query	   *items;
	size_t		n;
	size_t		capacity;
	LmNgramModel *models;
	int			errors;
} QueryList;

static Query *
new_query(QueryList *q, QueryKind kind, const char *head, const char *a, const char *b)
{
	Query	   *query;
	size_t		len = strlen(head) + strlen(a) + strlen(b) + 3;

	if (q->n == q->capacity)
	{
		q->capacity = q->capacity ? 2 * q->capacity : 64;
		q->items = realloc(q->items, q->capacity * sizeof(Query));
	}
	query = &q->items[q->n++];
	memset(query, 0, sizeof(*query));
	query->kind = kind;
	query->line = malloc(len);
	if (b[0] != '\0' || kind == QUERY_SCORE || kind == QUERY_NEXT)
		snprintf(query->line, len, "%s\t%s\t%s", head, a, b);
	else
		snprintf(query->line, len, "%s\t%s", head, a);
	return query;
}

static void
add_score_query(QueryList *q, const char *word, const char *const *context, size_t n_context)
{
	char	   *ctx = join_tokens(context, n_context);
	Query	   *query = new_query(q, QUERY_SCORE, "score", word, ctx);
	LmError		err;

	test_error_init(&err);
	for (int m = 0; m < N_MODELS; m++)
		if (lm_ngram_score(&q->models[m], word, context, n_context, &query->ours[m], &err) != 0)
			q->errors++;
	free(ctx);
}

static void
add_perplexity_query(QueryList *q, const LmWords *sentence)
{
	char	   *tokens = join_tokens((const char *const *) sentence->words, sentence->n_words);
	Query	   *query = new_query(q, QUERY_PERPLEXITY, "perplexity", tokens, "");
	LmError		err;

	test_error_init(&err);
	for (int m = 0; m < N_MODELS; m++)
		if (lm_ngram_perplexity(&q->models[m], (const char *const *) sentence->words,
								sentence->n_words, &query->ours[m], &err) != 0)
			q->errors++;
	free(tokens);
}

/* MLE and Laplace rankings are compared with NLTK's; KN's top words become score queries. */
static void
add_next_query(QueryList *q, const char *const *context, size_t n_context)
{
	char	   *ctx = join_tokens(context, n_context);
	char		k[16];
	Query	   *query;
	LmNgramPrediction kn[TOP_K];
	int			n_kn = 0;
	LmError		err;

	test_error_init(&err);
	snprintf(k, sizeof(k), "%d", TOP_K);
	query = new_query(q, QUERY_NEXT, "next", ctx, k);
	for (int m = 0; m < N_RANKED_MODELS; m++)
		if (lm_ngram_next_words(&q->models[m], context, n_context, false, TOP_K,
								query->next[m], &query->n_next[m], &err) != 0)
			q->errors++;
	free(ctx);
	if (lm_ngram_next_words(&q->models[2], context, n_context, false, TOP_K, kn, &n_kn, &err) != 0)
		q->errors++;
	for (int i = 0; i < n_kn; i++)
		add_score_query(q, kn[i].word, context, n_context);
}

/* The deterministic sample of queries. */
static void
build_queries(QueryList *q, const Corpus *train, const Corpus *held_out)
{
	size_t		n = train->n;

	for (size_t i = 0; i < N_SEEN_QUERIES + N_SHORT_QUERIES + N_UNIGRAM_QUERIES + N_OOV_QUERIES; i++)
	{
		size_t		len;
		const char **s = padded(train, (i * SENTENCE_STRIDE + 13) % n, &len);
		size_t		p = ORDER - 1 + (i * POSITION_STRIDE) % (len - 2 * (ORDER - 1) + 1);
		const char *oov_context[2] = {OOV_WORD, s[p - 1]};

		if (i < N_SEEN_QUERIES)
			add_score_query(q, s[p], s + p - 2, 2);		/* a trigram seen in training */
		else if (i < N_SEEN_QUERIES + N_SHORT_QUERIES)
			add_score_query(q, s[p], s + p - 1, 1);		/* bigram context */
		else if (i < N_SEEN_QUERIES + N_SHORT_QUERIES + N_UNIGRAM_QUERIES)
			add_score_query(q, s[p], NULL, 0);
		else if (i % 2 == 0)
			add_score_query(q, OOV_WORD, s + p - 2, 2);	/* unknown word */
		else
			add_score_query(q, s[p], oov_context, 2);	/* unknown context word */
		free(s);
	}
	for (size_t i = 0; i < N_UNSEEN_QUERIES; i++)
	{
		size_t		len1;
		size_t		len2;
		const char **s1 = padded(train, (i * SENTENCE_STRIDE + 101) % n, &len1);
		const char **s2 = padded(train, (i * SENTENCE_STRIDE + 5003) % n, &len2);
		size_t		p1 = ORDER - 1 + (i * POSITION_STRIDE) % (len1 - 2 * (ORDER - 1) + 1);
		size_t		p2 = ORDER - 1 + (i * 17) % (len2 - 2 * (ORDER - 1) + 1);

		/* Context of one sentence, word of another: mostly unseen trigrams. */
		add_score_query(q, s2[p2], s1 + p1 - 2, 2);
		free(s1);
		free(s2);
	}
	add_score_query(q, LM_NGRAM_BOS, NULL, 0);
	add_score_query(q, LM_NGRAM_BOS, (const char *[]) {LM_NGRAM_BOS, LM_NGRAM_BOS}, 2);
	add_score_query(q, LM_NGRAM_EOS, (const char *[]) {LM_NGRAM_EOS}, 1);
	add_score_query(q, "a", (const char *[]) {LM_NGRAM_BOS, LM_NGRAM_BOS}, 2);

	add_next_query(q, (const char *[]) {LM_NGRAM_BOS, LM_NGRAM_BOS}, 2);
	for (size_t i = 0; i < N_NEXT_QUERIES; i++)
	{
		size_t		len;
		const char **s = padded(train, (i * SENTENCE_STRIDE + 7) % n, &len);
		size_t		p = ORDER - 1 + (i * POSITION_STRIDE) % (len - 2 * (ORDER - 1) + 1);

		add_next_query(q, s + p - 2, 2);
		free(s);
	}
	add_next_query(q, (const char *[]) {"on"}, 1);
	add_next_query(q, (const char *[]) {OOV_WORD, OOV_WORD}, 2);

	for (size_t i = 0; i < held_out->n; i++)
		add_perplexity_query(q, &held_out->sentences[i]);
	add_perplexity_query(q, &train->sentences[0]);
}

/* ---------------------------------------------------------------- NLTK parity */

static bool
write_lines(const char *path, const Corpus *corpus, const QueryList *q)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
		return false;
	if (corpus != NULL)
	{
		for (size_t i = 0; i < corpus->n; i++)
		{
			char	   *line = join_tokens((const char *const *) corpus->sentences[i].words,
										   corpus->sentences[i].n_words);

			fprintf(f, "%s\n", line);
			free(line);
		}
	}
	else
	{
		for (size_t i = 0; i < q->n; i++)
			fprintf(f, "%s\n", q->items[i].line);
	}
	return fclose(f) == 0;
}

static bool
nltk_available(void)
{
	return access(PYTHON, X_OK) == 0 &&
		system(PYTHON " -c 'import nltk' >/dev/null 2>&1") == 0;
}

/* Split line on tabs in place; returns the number of fields. */
static int
split_tabs(char *line, char **fields, int max_fields)
{
	int			n = 0;
	char	   *p = line;

	line[strcspn(line, "\n")] = '\0';
	while (n < max_fields)
	{
		fields[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

typedef struct Parity
{
	int			compared;
	int			within;
	double		worst;
	char		worst_query[256];
} Parity;

static void
compare(Parity *parity, double ours, double reference, const char *model, const char *query)
{
	double		e = relative_error(ours, reference);

	parity->compared++;
	if (e <= RELATIVE_TOLERANCE)
		parity->within++;
	if (e > parity->worst || parity->compared == 1)
	{
		parity->worst = e;
		snprintf(parity->worst_query, sizeof(parity->worst_query), "%s: %s (ours %.17g, NLTK %.17g)",
				 model, query, ours, reference);
	}
	if (e > RELATIVE_TOLERANCE && parity->compared - parity->within <= 3)
		printf("# mismatch %s %s: ours %.17g, NLTK %.17g\n", model, query, ours, reference);
}

static void
run_reference(const char *dir, QueryList *q)
{
	char		script[PATH_MAX_LEN];
	char		source[PATH_MAX_LEN];
	char		command[4 * PATH_MAX_LEN];
	char	   *line = malloc(LINE_MAX_LEN);
	FILE	   *pipe;
	Parity		scores = {0};
	Parity		perplexities = {0};
	Parity		ranked = {0};
	int			rank_mismatches = 0;
	size_t		answered = 0;
	int			status;

	/* The script sits beside this file. */
	snprintf(source, sizeof(source), "%s", __FILE__);
	snprintf(script, sizeof(script), "%s/%s", dirname(source), REFERENCE_SCRIPT);
	if (access(script, R_OK) != 0)
	{
		CHECK(false, "reference script %s is readable", script);
		free(line);
		return;
	}
	snprintf(command, sizeof(command), "%s %s %d %s/sentences.txt %s/queries.txt",
			 PYTHON, script, ORDER, dir, dir);
	printf("# running %s\n", command);
	fflush(stdout);
	pipe = popen(command, "r");
	if (!CHECK(pipe != NULL, "start the NLTK reference"))
	{
		free(line);
		return;
	}
	for (size_t i = 0; i < q->n; i++)
	{
		Query	   *query = &q->items[i];
		char	   *f[2 + 2 * TOP_K];
		int			n_fields;

		if (query->kind == QUERY_NEXT)
		{
			for (int m = 0; m < N_RANKED_MODELS; m++)
			{
				int			n_ref;

				if (fgets(line, LINE_MAX_LEN, pipe) == NULL)
					goto done;
				n_fields = split_tabs(line, f, 2 + 2 * TOP_K);
				n_ref = (n_fields - 2) / 2;
				if (n_ref != query->n_next[m])
					rank_mismatches++;
				for (int k = 0; k < n_ref && k < query->n_next[m]; k++)
				{
					if (strcmp(f[2 + 2 * k], query->next[m][k].word) != 0)
					{
						if (rank_mismatches++ < 3)
							printf("# next %s after %s: rank %d is %s, NLTK %s\n", f[1],
								   query->line + 5, k + 1, query->next[m][k].word, f[2 + 2 * k]);
					}
					compare(&ranked, query->next[m][k].probability, strtod(f[3 + 2 * k], NULL),
							f[1], query->line);
				}
			}
			answered++;
			continue;
		}
		if (fgets(line, LINE_MAX_LEN, pipe) == NULL)
			goto done;
		n_fields = split_tabs(line, f, 1 + N_MODELS);
		if (n_fields != 1 + N_MODELS)
			goto done;
		for (int m = 0; m < N_MODELS; m++)
			compare(query->kind == QUERY_SCORE ? &scores : &perplexities, query->ours[m],
					strtod(f[1 + m], NULL), MODEL_NAMES[m], query->line);
		answered++;
	}
done:
	status = pclose(pipe);
	free(line);
	CHECK(status == 0 && answered == q->n, "NLTK answered %zu of %zu queries (exit status %d)",
		  answered, q->n, status);
	printf("# compared %d probabilities, %d perplexities and %d ranked next-word probabilities "
		   "with NLTK\n", scores.compared, perplexities.compared, ranked.compared);
	CHECK(scores.compared > 0 && scores.within == scores.compared,
		  "scores (mle, laplace, kneser_ney): %d/%d within %.0e relative, worst %.3g (%s)",
		  scores.within, scores.compared, RELATIVE_TOLERANCE, scores.worst, scores.worst_query);
	CHECK(perplexities.compared > 0 && perplexities.within == perplexities.compared,
		  "perplexities: %d/%d within %.0e relative, worst %.3g (%s)", perplexities.within,
		  perplexities.compared, RELATIVE_TOLERANCE, perplexities.worst,
		  perplexities.worst_query);
	CHECK(ranked.compared > 0 && ranked.within == ranked.compared && rank_mismatches == 0,
		  "next words (mle, laplace): same words in the same order, %d/%d probabilities within "
		  "%.0e, worst %.3g", ranked.within, ranked.compared, RELATIVE_TOLERANCE, ranked.worst);
}

/* Export all counts and import them into a fresh model: same numbers. */
static void
check_round_trip(LmNgramCounts *counts, const QueryList *q)
{
	LmError		err;
	LmNgramCounts *copy;
	LmNgramIter iter;
	const char *words[ORDER];
	int			n;
	int64_t		count;
	size_t		rows = 0;
	size_t		same = 0;
	size_t		compared = 0;
	LmNgramModel models[N_MODELS];
	bool		ok = true;

	test_error_init(&err);
	copy = lm_ngram_counts_new(ORDER, &err);
	lm_ngram_iter_init(&iter, counts);
	while (ok && lm_ngram_iter_next(&iter, words, &n, &count))
	{
		ok = lm_ngram_counts_add(copy, words, n, count, &err) == 0;
		rows++;
	}
	ok = ok && lm_ngram_model_init(&models[0], copy, LM_NGRAM_MLE, 0, &err) == 0 &&
		lm_ngram_model_init(&models[1], copy, LM_NGRAM_LIDSTONE, 1.0, &err) == 0 &&
		lm_ngram_model_init(&models[2], copy, LM_NGRAM_KNESER_NEY, 0.1, &err) == 0;
	for (size_t i = 0; ok && i < q->n; i++)
	{
		const Query *query = &q->items[i];
		char	   *f[3];
		char	   *line;
		char	  **context;
		size_t		n_context = 0;

		if (query->kind != QUERY_SCORE)
			continue;
		line = strdup(query->line);
		split_tabs(line, f, 3);
		context = calloc(strlen(f[2]) + 1, sizeof(char *));
		for (char *t = strtok(f[2], " "); t != NULL; t = strtok(NULL, " "))
			context[n_context++] = t;
		for (int m = 0; m < N_MODELS; m++)
		{
			double		p;

			lm_ngram_score(&models[m], f[1], (const char *const *) context, n_context, &p, &err);
			compared++;
			same += p == query->ours[m];
		}
		free(context);
		free(line);
	}
	CHECK(ok && compared > 0 && same == compared,
		  "export %zu n-gram rows, import them: %zu/%zu scores identical %s", rows, same, compared,
		  ok ? "" : err.message);
	lm_ngram_counts_free(copy);
}

static void
test_corpus(void)
{
	Corpus		train;
	Corpus		held_out;
	LmNgramCounts *counts;
	LmNgramModel models[N_MODELS];
	QueryList	q = {0};
	LmError		err;
	bool		ok = true;
	char		dir[] = "/tmp/pg_lm_ngram_XXXXXX";
	char		path[PATH_MAX_LEN];

	test_error_init(&err);
	if (!CHECK(load_corpus(TRAIN_FILE, TRAIN_SENTENCES, &train) &&
			   load_corpus(PERPLEXITY_FILE, PERPLEXITY_SENTENCES, &held_out),
			   "read and tokenize %d lines of %s", TRAIN_SENTENCES, TRAIN_FILE))
		return;
	counts = lm_ngram_counts_new(ORDER, &err);
	for (size_t i = 0; ok && i < train.n; i++)
		ok = lm_ngram_counts_add_sentence(counts, (const char *const *) train.sentences[i].words,
										  train.sentences[i].n_words, &err) == 0;
	ok = ok && lm_ngram_model_init(&models[0], counts, LM_NGRAM_MLE, 0, &err) == 0 &&
		lm_ngram_model_init(&models[1], counts, LM_NGRAM_LIDSTONE, LM_NGRAM_LAPLACE_GAMMA, &err) == 0 &&
		lm_ngram_model_init(&models[2], counts, LM_NGRAM_KNESER_NEY,
							LM_NGRAM_KN_DEFAULT_DISCOUNT, &err) == 0;
	if (!CHECK(ok, "train trigram models on %zu sentences (%zu words in the vocabulary) %s",
			   train.n, counts->n_words, err.message))
		goto done;

	check_sums_to_one(&models[0], (const char *[]) {"a", "man"}, 2, "mle");
	check_sums_to_one(&models[1], (const char *[]) {"a", "man"}, 2, "laplace");
	check_sums_to_one(&models[2], (const char *[]) {"a", "man"}, 2, "kneser_ney");
	check_sums_to_one(&models[2], (const char *[]) {"man", OOV_WORD}, 2, "kneser_ney");
	check_sums_to_one(&models[2], (const char *[]) {"two"}, 1, "kneser_ney");

	q.models = models;
	build_queries(&q, &train, &held_out);
	CHECK(q.errors == 0, "%zu queries answered by the C models without error", q.n);
	check_round_trip(counts, &q);

	{
		LmNgramPrediction out[TOP_K];
		int			n_out;

		test_cancel_hook = always_cancel;
		test_error_init(&err);
		CHECK(lm_ngram_next_words(&models[2], (const char *[]) {"a"}, 1, false, TOP_K, out,
								  &n_out, &err) == -1 && err.code == LM_ERR_CANCELLED,
			  "next_words stops when cancelled");
		test_cancel_hook = NULL;
	}

	if (!nltk_available())
	{
		const char *require = getenv("PG_LM_REQUIRE_NLTK");

		printf("# skipped: python3-nltk not installed\n");
		CHECK(require == NULL || strcmp(require, "1") != 0,
			  "NLTK parity (PG_LM_REQUIRE_NLTK=1 requires python3-nltk)");
		goto done;
	}
	if (!CHECK(mkdtemp(dir) != NULL, "temporary folder"))
		goto done;
	snprintf(path, sizeof(path), "%s/sentences.txt", dir);
	ok = write_lines(path, &train, NULL);
	snprintf(path, sizeof(path), "%s/queries.txt", dir);
	ok = ok && write_lines(path, NULL, &q);
	if (CHECK(ok, "write sentences and queries to %s", dir))
		run_reference(dir, &q);
	snprintf(path, sizeof(path), "%s/sentences.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/queries.txt", dir);
	unlink(path);
	rmdir(dir);
done:
	for (size_t i = 0; i < q.n; i++)
		free(q.items[i].line);
	free(q.items);
	lm_ngram_counts_free(counts);
	free_corpus(&train);
	free_corpus(&held_out);
}

int
main(void)
{
	test_words();
	test_long_text();
	test_lecture_example();
	test_errors();
	test_corpus();
	return test_done();
}
