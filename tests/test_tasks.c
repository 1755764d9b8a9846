/*
 * test_tasks.c — the engine's task API on every kind of model: each task is
 * run once on one thread, then from two threads at once on the same loaded
 * model, and every result must equal the single-thread one byte for byte.
 * A cancelled call on one thread must not disturb the other.  Models come
 * from the shared fixtures (transformers, RNNs) and models (fastText, GloVe);
 * the n-gram and TF-IDF models are fitted here on a few sentences.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "fixture_util.h"
#include "formats/safetensors.h"
#include "tasks/task.h"
#include "util/file.h"

/* Rounds each thread runs the whole list of cases. */
#define ROUNDS 3

/* A task's result, flattened to bytes so that any two can be compared. */
typedef struct Blob
{
	unsigned char *data;
	size_t		len;
} Blob;

static void
blob_add(Blob *b, const void *p, size_t n)
{
	b->data = realloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
blob_scored(Blob *b, const LmScored *s)
{
	for (int i = 0; i < s->n; i++)
	{
		blob_add(b, s->labels[i], strlen(s->labels[i]) + 1);
		blob_add(b, &s->scores[i], sizeof(double));
	}
}

/* One task call: fills the blob and returns 0, or -1 with err. */
typedef int (*CaseFn) (const LmTaskModel *m, LmError *err, Blob *out);

typedef struct Case
{
	const char *name;
	const LmTaskModel *model;
	CaseFn		run;
	Blob		expected;
	bool		ok;
} Case;

#define MAX_CASES 64
static Case cases[MAX_CASES];
static int	n_cases;

static void
add_case(const char *name, const LmTaskModel *m, CaseFn run)
{
	if (m != NULL && n_cases < MAX_CASES)
		cases[n_cases++] = (Case) {name, m, run, {NULL, 0}, false};
}

/* ---- the cases -------------------------------------------------------------- */

#define TEXT(s) LM_TEXT_INPUT((s), strlen(s))

static int
do_tokenize(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmEncoding	enc;

	if (lm_task_tokenize(m, "A man in a blue shirt", 21, true, true, &enc, err) != 0)
		return -1;
	blob_add(out, enc.ids, sizeof(int32_t) * enc.n);
	lm_encoding_free(&enc);
	return 0;
}

static int
do_detokenize(const LmTaskModel *m, LmError *err, Blob *out)
{
	static const int32_t ids[] = {10, 20, 30, 40, 50};
	char	   *s = lm_task_detokenize(m, ids, 5, true, err);

	if (s == NULL)
		return -1;
	blob_add(out, s, strlen(s));
	free(s);
	return 0;
}

static int
floats_case(int rc, LmFloats *f, Blob *out)
{
	if (rc != 0)
		return -1;
	blob_add(out, f->v, sizeof(float) * f->n);
	lm_floats_free(f);
	return 0;
}

static int
do_embed(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmInput		in = TEXT("two dogs are playing in the snow");
	LmFloats	f;

	return floats_case(lm_task_embed(m, &in, &f, err), &f, out);
}

static int
do_embed_ids(const LmTaskModel *m, LmError *err, Blob *out)
{
	static const int32_t ids[] = {5, 17, 42, 8, 3};
	LmInput		in = LM_IDS_INPUT(ids, 5);
	LmFloats	f;

	return floats_case(lm_task_embed(m, &in, &f, err), &f, out);
}

static int
do_similarity(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmInput		a = TEXT("a dog runs on the beach");
	LmInput		b = TEXT("a puppy plays in the sand");
	double		cosine;
	bool		defined;

	if (lm_task_similarity(m, &a, &b, &cosine, &defined, err) != 0)
		return -1;
	blob_add(out, &cosine, sizeof(cosine));
	blob_add(out, &defined, sizeof(defined));
	return 0;
}

static int
do_classify(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmInput		in = TEXT("an utterly charming and hilarious film");
	LmScored	s;

	if (lm_task_classify(m, &in, 0, &s, err) != 0)
		return -1;
	blob_scored(out, &s);
	lm_scored_free(&s);
	return 0;
}

static int
do_fill_mask(const LmTaskModel *m, LmError *err, Blob *out)
{
	const char *text = "the man went to the [MASK] to buy milk";
	LmScored	s;

	if (lm_task_fill_mask(m, text, strlen(text), 5, &s, err) != 0)
		return -1;
	blob_scored(out, &s);
	lm_scored_free(&s);
	return 0;
}

static int
do_score(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmInput		in = TEXT("A little girl climbing into a wooden playhouse");
	double		sum,
				ppl;
	int			n;

	if (lm_task_score(m, &in, &sum, &n, err) != 0 || lm_task_perplexity(m, &in, &ppl, err) != 0)
		return -1;
	blob_add(out, &sum, sizeof(sum));
	blob_add(out, &n, sizeof(n));
	blob_add(out, &ppl, sizeof(ppl));
	return 0;
}

static int
do_logits(const LmTaskModel *m, LmError *err, Blob *out)
{
	static const int32_t ids[] = {1, 50, 99, 7};
	LmFloats	f;

	return floats_case(lm_task_logits(m, ids, 4, &f, err), &f, out);
}

static int
do_classify_labels(const LmTaskModel *m, LmError *err, Blob *out)
{
	static const char *const labels[] = {"positive", "negative", "neutral"};
	static const LmExample examples[] = {{"great fun", "positive"}, {"a bore", "negative"}};
	int			best;

	if (lm_task_classify_labels(m, "a dull, lifeless mess", labels, 3, "Review: {text}\nSentiment:",
								examples, 2, &best, err) != 0)
		return -1;
	blob_add(out, &best, sizeof(best));
	return 0;
}

static int
generate_case(const LmTaskModel *m, const LmGenerateRequest *req, LmError *err, Blob *out)
{
	LmInput		in = TEXT("A man in a");
	char	   *text;

	if (lm_task_generate(m, &in, req, &text, err) != 0)
		return -1;
	blob_add(out, text, strlen(text));
	free(text);
	return 0;
}

static int
do_generate_greedy(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmGenerateRequest req = {.max_tokens = 24, .sampling = LM_SAMPLING_GREEDY};

	return generate_case(m, &req, err, out);
}

static int
do_generate_sampled(const LmTaskModel *m, LmError *err, Blob *out)
{
	static const char *const stops[] = {"."};
	LmGenerateRequest req = {.max_tokens = 24, .sampling = {0.8, 40, 0.95, 42},
	.stops = stops, .n_stops = 1};

	return generate_case(m, &req, err, out);
}

static int
translate_case(const LmTaskModel *m, const LmTranslateRequest *req, LmError *err, Blob *out)
{
	LmInput		in = TEXT("the house by the water");
	char	   *text;

	if (lm_task_translate(m, &in, req, &text, err) != 0)
		return -1;
	blob_add(out, text, strlen(text));
	free(text);
	return 0;
}

static int
do_translate_nllb(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmTranslateRequest req = {.source_lang = "eng_Latn", .target_lang = "spa_Latn", .beams = 3,
	.max_tokens = 16};

	return translate_case(m, &req, err, out);
}

static int
do_translate_plain(const LmTaskModel *m, LmError *err, Blob *out)
{
	LmTranslateRequest req = {.beams = 2, .max_tokens = 16};

	return translate_case(m, &req, err, out);
}

static int
do_seq2seq_logits(const LmTaskModel *m, LmError *err, Blob *out)
{
	static const int32_t src[] = {5, 6, 7, 2};
	static const int32_t dec[] = {2, 9};
	LmFloats	f;

	return floats_case(lm_task_seq2seq_logits(m, src, 4, dec, 2, &f, err), &f, out);
}

/* ---- loading ---------------------------------------------------------------- */

/* A fixture model directory as an LmTaskModel with every part. */
static LmTaskModel *
load_dir(const char *dir, const char *architecture, const char *pooling, bool normalize)
{
	char		path[4096];

	snprintf(path, sizeof(path), "%s/models/%s", test_fixtures_dir(), dir);
	return test_load_task_model(path, dir, architecture, pooling, normalize);
}

static const char *const ngram_corpus[] = {
	"a man in a blue shirt is playing a guitar",
	"two dogs are playing in the snow",
	"a little girl in a pink shirt is sitting on a swing",
	"a man is climbing into a wooden playhouse",
};

static LmTaskModel *
fit_ngram(void)
{
	LmModelDesc desc = {"ngram", "ngram", NULL, NULL, NULL, false};
	LmTaskModel *m;
	LmNgramCounts *counts;
	LmNgramModel model;
	LmError		err;

	test_error_init(&err);
	m = lm_task_model_new(&desc, &err);
	counts = lm_ngram_counts_new(3, &err);
	for (size_t i = 0; i < sizeof(ngram_corpus) / sizeof(ngram_corpus[0]); i++)
		lm_ngram_counts_add_text(counts, ngram_corpus[i], strlen(ngram_corpus[i]), true, &err);
	if (lm_ngram_model_init(&model, counts, LM_NGRAM_KNESER_NEY, LM_NGRAM_KN_DEFAULT_DISCOUNT, &err) != 0)
	{
		printf("# ngram: %s\n", err.message);
		return m;
	}
	lm_task_model_set_ngram(m, counts, model, true);
	return m;
}

static LmTaskModel *
fit_tfidf(void)
{
	LmModelDesc desc = {"tfidf", "tfidf", NULL, NULL, NULL, false};
	LmVectorizerOptions options;
	LmTaskModel *m;
	LmVectorizer *v;
	LmError		err;

	test_error_init(&err);
	m = lm_task_model_new(&desc, &err);
	lm_vectorizer_default_options(&options);
	v = lm_vectorizer_new(&options, &err);
	for (size_t i = 0; i < sizeof(ngram_corpus) / sizeof(ngram_corpus[0]); i++)
		lm_vectorizer_add_document(v, ngram_corpus[i], strlen(ngram_corpus[i]), &err);
	lm_vectorizer_finish(v, &err);
	lm_task_model_set_vectorizer(m, v);
	return m;
}

static LmTaskModel *
load_classic(const char *name, const char *architecture, const char *file)
{
	LmModelDesc desc = {name, architecture, NULL, NULL, NULL, false};
	LmTaskModel *m;
	char		path[4096];
	LmError		err;

	snprintf(path, sizeof(path), "%s/%s", models_dir(), file);
	test_error_init(&err);
	m = lm_task_model_new(&desc, &err);
	if (strcmp(architecture, "fasttext") == 0)
	{
		LmFastText *ft = lm_fasttext_load_file(path, &err);

		if (ft == NULL)
			goto fail;
		lm_task_model_set_fasttext(m, ft);
	}
	else
	{
		LmWordVectors *wv = lm_wordvec_load_file(path, LM_WORDVEC_GLOVE_TEXT, &err);

		if (wv == NULL)
			goto fail;
		lm_task_model_set_word_vectors(m, wv);
	}
	return m;
fail:
	printf("# %s: %s\n", path, err.message);
	lm_task_model_free(m);
	return NULL;
}

/* ---- running ---------------------------------------------------------------- */

static int
never_cancel(void *arg)
{
	(void) arg;
	return 0;
}

static int
always_cancel_call(void *arg)
{
	(void) arg;
	return 1;
}

/*
 * Texts of words no call has seen before, one per thread and round: encoding
 * them grows the BPE tokenizer's word cache while the other thread reads it.
 * Their ids are computed first on a tokenizer of their own.
 */
#define FRESH_WORDS 300
static const LmTaskModel *fresh_model;
static char fresh_texts[2][ROUNDS][FRESH_WORDS * 16];
static LmEncoding fresh_expected[2][ROUNDS];

static void
make_fresh_texts(const LmTaskModel *separate)
{
	for (int t = 0; t < 2; t++)
		for (int r = 0; r < ROUNDS; r++)
		{
			char	   *p = fresh_texts[t][r];
			LmError		err;

			for (int k = 0; k < FRESH_WORDS; k++)
				p += sprintf(p, " q%cz%dk%dv%d", 'a' + t, r, k % 17, k);
			test_error_init(&err);
			if (lm_task_tokenize(separate, fresh_texts[t][r], strlen(fresh_texts[t][r]), true,
								 false, &fresh_expected[t][r], &err) != 0)
				printf("# fresh text: %s\n", err.message);
		}
}

typedef struct Worker
{
	pthread_t	thread;
	int			index;
	int			mismatches[MAX_CASES];
	int			failures[MAX_CASES];
	int			fresh_differ;	/* fresh texts whose ids differ */
} Worker;

/* Every case, ROUNDS times, each call with this thread's own context. */
static void *
worker_main(void *arg)
{
	Worker	   *w = arg;
	LmCall		call = {never_cancel, w, 1};

	for (int round = 0; round < ROUNDS; round++)
	{
		const char *fresh = fresh_texts[w->index][round];
		const LmEncoding *want = &fresh_expected[w->index][round];
		LmEncoding	enc;
		LmError		err;

		lm_error_init(&err, &call);
		if (lm_task_tokenize(fresh_model, fresh, strlen(fresh), true, false, &enc, &err) != 0 ||
			enc.n != want->n || memcmp(enc.ids, want->ids, sizeof(int32_t) * enc.n) != 0)
			w->fresh_differ++;
		lm_encoding_free(&enc);
		for (int i = 0; i < n_cases; i++)
		{
			Blob		got = {NULL, 0};

			lm_error_init(&err, &call);
			if (cases[i].run(cases[i].model, &err, &got) != 0)
				w->failures[i]++;
			else if (got.len != cases[i].expected.len ||
					 memcmp(got.data, cases[i].expected.data, got.len) != 0)
				w->mismatches[i]++;
			free(got.data);
		}
	}
	return NULL;
}

typedef struct Canceller
{
	pthread_t	thread;
	int			cancelled;		/* calls that ended LM_ERR_CANCELLED */
	int			other;
} Canceller;

/* Generation that is cancelled at once, again and again. */
static void *
canceller_main(void *arg)
{
	Canceller  *c = arg;
	LmCall		call = {always_cancel_call, NULL, 1};

	for (int round = 0; round < ROUNDS * 4; round++)
		for (int i = 0; i < n_cases; i++)
		{
			Blob		got = {NULL, 0};
			LmError		err;

			if (cases[i].run != do_generate_greedy && cases[i].run != do_translate_nllb)
				continue;
			lm_error_init(&err, &call);
			if (cases[i].run(cases[i].model, &err, &got) != 0 && err.code == LM_ERR_CANCELLED)
				c->cancelled++;
			else
				c->other++;
			free(got.data);
		}
	return NULL;
}

int
main(void)
{
	LmTaskModel *models[16];
	int			n_models = 0;
	LmTaskModel *gpt2,
			   *llama,
			   *langid,
			   *mlm,
			   *minilm,
			   *nllb,
			   *t5,
			   *rnn_cls,
			   *rnn_gen,
			   *ngram,
			   *tfidf,
			   *lid,
			   *glove;
	LmTaskModel *separate_gpt2;
	Worker		workers[2];
	Canceller	canceller;

	models[n_models++] = gpt2 = load_dir("gpt2-tiny", "gpt2", NULL, false);
	models[n_models++] = llama = load_dir("llama-tiny", "llama", NULL, false);
	models[n_models++] = langid = load_dir("bert-tiny-langid", "bert", NULL, false);
	models[n_models++] = mlm = load_dir("bert-tiny-mlm", "bert", NULL, false);
	models[n_models++] = minilm = load_dir("minilm-tiny-st", "bert", "mean", true);
	models[n_models++] = nllb = load_dir("nllb-tiny", "m2m_100", NULL, false);
	models[n_models++] = t5 = load_dir("t5-tiny", "t5", NULL, false);
	models[n_models++] = rnn_cls = load_dir("rnn-lstm-langid", "rnn", NULL, false);
	models[n_models++] = rnn_gen = load_dir("rnn-gru-seq2seq-chars", "rnn", NULL, false);
	models[n_models++] = ngram = fit_ngram();
	models[n_models++] = tfidf = fit_tfidf();
	models[n_models++] = lid = load_classic("lid176", "fasttext", "fasttext-lid176/lid.176.ftz");
	models[n_models++] = glove = load_classic("glove", "word_vectors", "glove-6B-100d/glove-6B-100d-top5k.txt");
	for (int i = 0; i < n_models; i++)
		CHECK(models[i] != NULL, "model %d loads into a task model", i);

	add_case("gpt2 tokenize", gpt2, do_tokenize);
	add_case("gpt2 detokenize", gpt2, do_detokenize);
	add_case("gpt2 embed", gpt2, do_embed);
	add_case("gpt2 score and perplexity", gpt2, do_score);
	add_case("gpt2 logits", gpt2, do_logits);
	add_case("gpt2 classify by labels", gpt2, do_classify_labels);
	add_case("gpt2 generate greedy", gpt2, do_generate_greedy);
	add_case("gpt2 generate sampled with a stop", gpt2, do_generate_sampled);
	add_case("llama generate greedy", llama, do_generate_greedy);
	add_case("llama score", llama, do_score);
	add_case("bert classify", langid, do_classify);
	add_case("bert embed", langid, do_embed);
	add_case("bert embed ids", langid, do_embed_ids);
	add_case("bert fill-mask", mlm, do_fill_mask);
	add_case("minilm similarity", minilm, do_similarity);
	add_case("nllb translate beam 3", nllb, do_translate_nllb);
	add_case("nllb seq2seq logits", nllb, do_seq2seq_logits);
	add_case("nllb embed", nllb, do_embed);
	add_case("t5 generate (text-to-text)", t5, do_generate_greedy);
	add_case("t5 translate beam 2", t5, do_translate_plain);
	add_case("rnn classify", rnn_cls, do_classify);
	add_case("rnn embed", rnn_cls, do_embed);
	add_case("rnn similarity", rnn_cls, do_similarity);
	add_case("rnn translate beam 2", rnn_gen, do_translate_plain);
	add_case("rnn generate", rnn_gen, do_generate_greedy);
	add_case("ngram score and perplexity", ngram, do_score);
	add_case("tfidf embed", tfidf, do_embed);
	add_case("tfidf similarity", tfidf, do_similarity);
	add_case("fasttext classify", lid, do_classify);
	add_case("fasttext embed", lid, do_embed);
	add_case("glove similarity", glove, do_similarity);

	/* the single-thread results */
	for (int i = 0; i < n_cases; i++)
	{
		LmError		err;

		test_error_init(&err);
		cases[i].ok = cases[i].run(cases[i].model, &err, &cases[i].expected) == 0;
		CHECK(cases[i].ok && cases[i].expected.len > 0, "%s on one thread (%zu bytes of result)%s%s",
			  cases[i].name, cases[i].expected.len, cases[i].ok ? "" : ": ", cases[i].ok ? "" : err.message);
	}

	/* two threads at once on the same models, and a third that is always cancelled */
	separate_gpt2 = load_dir("gpt2-tiny", "gpt2", NULL, false);
	CHECK(separate_gpt2 != NULL, "a second copy of gpt2-tiny loads (to encode the fresh texts)");
	if (separate_gpt2 != NULL)
		make_fresh_texts(separate_gpt2);
	fresh_model = gpt2;

	memset(workers, 0, sizeof(workers));
	memset(&canceller, 0, sizeof(canceller));
	for (int t = 0; t < 2; t++)
	{
		workers[t].index = t;
		pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]);
	}
	pthread_create(&canceller.thread, NULL, canceller_main, &canceller);
	for (int t = 0; t < 2; t++)
		pthread_join(workers[t].thread, NULL);
	pthread_join(canceller.thread, NULL);
	for (int i = 0; i < n_cases; i++)
		CHECK(cases[i].ok && workers[0].failures[i] + workers[1].failures[i] == 0 &&
			  workers[0].mismatches[i] + workers[1].mismatches[i] == 0,
			  "%s from two threads at once: %d x 2 calls, %d failed, %d differ from one thread",
			  cases[i].name, ROUNDS, workers[0].failures[i] + workers[1].failures[i],
			  workers[0].mismatches[i] + workers[1].mismatches[i]);
	CHECK(separate_gpt2 != NULL && workers[0].fresh_differ + workers[1].fresh_differ == 0,
		  "new words encoded by two threads at once, the BPE cache growing meanwhile: %d of %d texts differ from one thread",
		  workers[0].fresh_differ + workers[1].fresh_differ, 2 * ROUNDS);
	CHECK(canceller.cancelled > 0 && canceller.other == 0,
		  "a third thread's calls, cancelled by their own context, all stop (%d cancelled, %d not)",
		  canceller.cancelled, canceller.other);

	for (int i = 0; i < n_cases; i++)
		free(cases[i].expected.data);
	for (int t = 0; t < 2; t++)
		for (int r = 0; r < ROUNDS; r++)
			lm_encoding_free(&fresh_expected[t][r]);
	lm_task_model_free(separate_gpt2);
	for (int i = 0; i < n_models; i++)
		lm_task_model_free(models[i]);
	return test_done();
}
