/*
 * word2vec.c — skip-gram with negative sampling (see word2vec.h for the
 * algorithm).  Four parts: the corpus (interned words and sentences of word
 * ids), the vocabulary (min_count, subsampling, noise table), the training
 * loop, and the results.
 */
#include "classic/word2vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classic/words.h"

/* The logistic table: EXP_TABLE_SIZE values over [-MAX_EXP, MAX_EXP]. */
#define EXP_TABLE_SIZE 1000
#define MAX_EXP 6
/* The 48-bit generator of word2vec.c and gensim. */
#define LCG_MUL 25214903917ULL
#define LCG_ADD 11ULL
#define LCG_MASK 281474976710655ULL
/* The first size of the growing arrays. */
#define INITIAL_WORDS 1024
#define INITIAL_TOKENS 4096
#define INITIAL_BYTES 16384

/*
 * One bucket of the alias table: a draw that lands in bucket i with a coin
 * below threshold (out of 2^32) gives word i, otherwise word alias.
 */
typedef struct NoiseBucket
{
	uint32_t	threshold;
	int32_t		alias;
} NoiseBucket;

struct LmWord2Vec
{
	LmWord2VecOptions o;

	/* interned words: bytes in one buffer, NUL-terminated */
	char	   *bytes;
	size_t		n_bytes;
	size_t		cap_bytes;
	size_t	   *word_offset;	/* per word id */
	int64_t    *word_count;
	int32_t		n_words;
	size_t		cap_words;
	int32_t    *hash;			/* open addressing: word id or -1 */
	size_t		hash_cap;		/* a power of two */

	/* sentences: tokens[sentence_start[s] .. sentence_start[s + 1]) */
	int32_t    *tokens;
	size_t		n_tokens;
	size_t		cap_tokens;
	size_t	   *sentence_start; /* n_sentences + 1 entries */
	size_t		n_sentences;
	size_t		cap_sentences;
	int64_t		texts;

	/* vocabulary, after training starts */
	bool		trained;		/* training began: no more sentences */
	bool		finished;		/* training ended well: the vectors are ready */
	int32_t		vocab_size;
	int32_t    *vocab_word;		/* vocabulary index -> word id */
	int32_t    *vocab_of_word;	/* word id -> vocabulary index, or -1 */
	uint32_t   *sample_int;		/* keep when sample_int >= a 32-bit draw */
	NoiseBucket *noise;			/* the alias table of counts^0.75 */
	int64_t		retained_words;
	int32_t		downsampled;
	double		expected_words;

	/* the model */
	float	   *syn0;			/* input vectors: vocab_size x dim */
	float	   *syn1neg;		/* output vectors */

	/* statistics of the training */
	int64_t		trained_words;
	int64_t		trained_pairs;
	double		seconds;
};

/* Options -------------------------------------------------------------------- */

void
lm_word2vec_default_options(LmWord2VecOptions *o)
{
	o->dim = LM_WORD2VEC_DEFAULT_DIM;
	o->window = LM_WORD2VEC_DEFAULT_WINDOW;
	o->negative = LM_WORD2VEC_DEFAULT_NEGATIVE;
	o->epochs = LM_WORD2VEC_DEFAULT_EPOCHS;
	o->min_count = LM_WORD2VEC_DEFAULT_MIN_COUNT;
	o->sample = LM_WORD2VEC_DEFAULT_SAMPLE;
	o->alpha = LM_WORD2VEC_DEFAULT_ALPHA;
	o->min_alpha = LM_WORD2VEC_DEFAULT_MIN_ALPHA;
	o->seed = 1;
}

int
lm_word2vec_check_options(const LmWord2VecOptions *o, LmError *err)
{
	if (o->dim < 1 || o->dim > LM_WORD2VEC_MAX_DIM)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "dim must be between 1 and %d, not %d",
					   LM_WORD2VEC_MAX_DIM, o->dim);
	if (o->window < 1 || o->window > LM_WORD2VEC_MAX_WINDOW)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "window must be between 1 and %d, not %d",
					   LM_WORD2VEC_MAX_WINDOW, o->window);
	if (o->negative < 1 || o->negative > LM_WORD2VEC_MAX_NEGATIVE)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "negative must be between 1 and %d, not %d",
				LM_WORD2VEC_MAX_NEGATIVE, o->negative);
		lm_hint(err, "Skip-gram with negative sampling needs at least one noise word per pair; 5 to 20 are usual.");
		return -1;
	}
	if (o->epochs < 1 || o->epochs > LM_WORD2VEC_MAX_EPOCHS)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "epochs must be between 1 and %d, not %d",
					   LM_WORD2VEC_MAX_EPOCHS, o->epochs);
	if (o->min_count < 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "min_count must be at least 1, not %lld",
					   (long long) o->min_count);
	if (!(o->sample >= 0 && o->sample < 1))
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "sample must be at least 0 and below 1, not %g", o->sample);
		lm_hint(err, "sample is the share of the corpus above which words are thinned out; 1e-3 is usual, 0 turns it off.");
		return -1;
	}
	if (!(o->alpha > 0 && o->alpha <= 1))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "alpha must be above 0 and at most 1, not %g", o->alpha);
	if (!(o->min_alpha >= 0 && o->min_alpha <= o->alpha))
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "min_alpha must be between 0 and alpha (%g), not %g",
					   o->alpha, o->min_alpha);
	return 0;
}

LmWord2Vec *
lm_word2vec_new(const LmWord2VecOptions *o, LmError *err)
{
	LmWord2Vec *w;

	if (lm_word2vec_check_options(o, err) != 0)
		return NULL;
	w = lm_calloc(1, sizeof(LmWord2Vec), err);
	if (w == NULL)
		return NULL;
	w->o = *o;
	w->hash_cap = 2 * INITIAL_WORDS;
	w->hash = lm_malloc(sizeof(int32_t) * w->hash_cap, err);
	w->sentence_start = lm_malloc(sizeof(size_t) * 64, err);
	if (w->hash == NULL || w->sentence_start == NULL)
	{
		lm_word2vec_free(w);
		return NULL;
	}
	memset(w->hash, 0xff, sizeof(int32_t) * w->hash_cap);
	w->cap_sentences = 63;
	w->sentence_start[0] = 0;
	return w;
}

void
lm_word2vec_free(LmWord2Vec *w)
{
	if (w == NULL)
		return;
	free(w->bytes);
	free(w->word_offset);
	free(w->word_count);
	free(w->hash);
	free(w->tokens);
	free(w->sentence_start);
	free(w->vocab_word);
	free(w->vocab_of_word);
	free(w->sample_int);
	free(w->noise);
	free(w->syn0);
	free(w->syn1neg);
	free(w);
}

/* The corpus ------------------------------------------------------------------ */

/* FNV-1a, 64 bits. */
static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Make room for n more elements of size elem in *p (capacity *cap). */
static int
grow(void *p, size_t *cap, size_t used, size_t n, size_t elem, size_t initial, LmError *err)
{
	void	  **pp = p;
	size_t		want = *cap ? *cap : initial;
	void	   *np;

	if (used + n <= *cap)
		return 0;
	while (want < used + n)
	{
		if (want > SIZE_MAX / 2 / elem)
			return lm_fail(err, LM_ERR_NO_MEMORY, "word2vec corpus too large");
		want *= 2;
	}
	np = lm_realloc(*pp, want * elem, err);
	if (np == NULL)
		return -1;
	*pp = np;
	*cap = want;
	return 0;
}

static int
rehash(LmWord2Vec *w, LmError *err)
{
	size_t		cap = w->hash_cap * 2;
	int32_t    *h = lm_malloc(sizeof(int32_t) * cap, err);

	if (h == NULL)
		return -1;
	memset(h, 0xff, sizeof(int32_t) * cap);
	for (int32_t id = 0; id < w->n_words; id++)
	{
		const char *s = w->bytes + w->word_offset[id];
		size_t		slot = hash_bytes(s, strlen(s)) & (cap - 1);

		while (h[slot] >= 0)
			slot = (slot + 1) & (cap - 1);
		h[slot] = id;
	}
	free(w->hash);
	w->hash = h;
	w->hash_cap = cap;
	return 0;
}

/* The id of a word, added (with count 0) when new; -1 on error. */
static int32_t
intern(LmWord2Vec *w, const char *s, size_t len, LmError *err)
{
	size_t		slot = hash_bytes(s, len) & (w->hash_cap - 1);
	int32_t		id;

	while ((id = w->hash[slot]) >= 0)
	{
		const char *t = w->bytes + w->word_offset[id];

		if (strncmp(t, s, len) == 0 && t[len] == '\0')
			return id;
		slot = (slot + 1) & (w->hash_cap - 1);
	}
	if (w->n_words >= LM_WORD2VEC_MAX_WORDS)
		return lm_fail(err, LM_ERR_UNSUPPORTED, "the corpus has more than %lld distinct words",
					   (long long) LM_WORD2VEC_MAX_WORDS);
	{
		size_t		cap = w->cap_words;

		if (grow(&w->word_offset, &cap, w->n_words, 1, sizeof(size_t), INITIAL_WORDS, err) != 0)
			return -1;
		cap = w->cap_words;
		if (grow(&w->word_count, &cap, w->n_words, 1, sizeof(int64_t), INITIAL_WORDS, err) != 0)
			return -1;
		w->cap_words = cap;
	}
	if (grow(&w->bytes, &w->cap_bytes, w->n_bytes, len + 1, 1, INITIAL_BYTES, err) != 0)
		return -1;
	id = w->n_words++;
	memcpy(w->bytes + w->n_bytes, s, len);
	w->bytes[w->n_bytes + len] = '\0';
	w->word_offset[id] = w->n_bytes;
	w->word_count[id] = 0;
	w->n_bytes += len + 1;
	w->hash[slot] = id;
	if ((size_t) w->n_words * 2 > w->hash_cap && rehash(w, err) != 0)
		return -1;
	return id;
}

/* Close the sentence begun at the last sentence start (no-op when empty). */
static int
end_sentence(LmWord2Vec *w, LmError *err)
{
	if (w->n_tokens == w->sentence_start[w->n_sentences])
		return 0;
	if (w->n_sentences + 1 >= w->cap_sentences)
	{
		size_t		cap = w->cap_sentences + 1;

		if (grow(&w->sentence_start, &cap, w->n_sentences + 1, 1, sizeof(size_t), 64, err) != 0)
			return -1;
		w->cap_sentences = cap - 1;
	}
	w->n_sentences++;
	w->sentence_start[w->n_sentences] = w->n_tokens;
	return 0;
}

static int
add_word(LmWord2Vec *w, const char *s, size_t len, LmError *err)
{
	int32_t		id;

	if (len == 0)
		return 0;
	id = intern(w, s, len, err);
	if (id < 0)
		return -1;
	if (grow(&w->tokens, &w->cap_tokens, w->n_tokens, 1, sizeof(int32_t), INITIAL_TOKENS, err) != 0)
		return -1;
	w->tokens[w->n_tokens++] = id;
	w->word_count[id]++;
	if (w->n_tokens - w->sentence_start[w->n_sentences] >= LM_WORD2VEC_MAX_SENTENCE)
		return end_sentence(w, err);
	return 0;
}

int
lm_word2vec_add_sentence(LmWord2Vec *w, const char *const *words, size_t n, LmError *err)
{
	if (w->trained)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word2vec: sentences added after training");
	for (size_t i = 0; i < n; i++)
	{
		const char *s = words[i];
		size_t		len = strlen(s);

		/* a word with a space would not survive the corpus file */
		for (size_t j = 0; j < len; j++)
			if (s[j] == ' ' || s[j] == '\n' || s[j] == '\t' || s[j] == '\r')
				return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word2vec: a word holds white space");
		if (add_word(w, s, len, err) != 0)
			return -1;
	}
	w->texts++;
	return end_sentence(w, err);
}

int
lm_word2vec_add_text(LmWord2Vec *w, const char *text, size_t len, LmError *err)
{
	LmWords		words;
	int			rc = 0;

	if (w->trained)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word2vec: texts added after training");
	if (lm_words_tokenize(text, len, true, &words, err) != 0)
		return -1;
	for (size_t i = 0; i < words.n_words && rc == 0; i++)
		rc = add_word(w, words.words[i], strlen(words.words[i]), err);
	lm_words_free(&words);
	if (rc != 0)
		return -1;
	w->texts++;
	return end_sentence(w, err);
}

/* The vocabulary ----------------------------------------------------------------- */

static const int64_t *sort_counts;

/* Most frequent first, ties by first appearance (word id). */
static int
cmp_vocab(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	if (sort_counts[x] != sort_counts[y])
		return sort_counts[x] > sort_counts[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/*
 * Vose's alias method over counts^0.75: each of the n buckets holds 1/n of
 * the mass, split between its own word and one other.
 */
static int
build_noise_table(LmWord2Vec *w, LmError *err)
{
	int32_t		n = w->vocab_size;
	double	   *p = lm_malloc(sizeof(double) * n, err);
	int32_t    *small = lm_malloc(sizeof(int32_t) * n, err);
	int32_t    *large = lm_malloc(sizeof(int32_t) * n, err);
	int32_t		n_small = 0,
				n_large = 0;
	double		total = 0;

	w->noise = lm_malloc(sizeof(NoiseBucket) * n, err);
	if (p == NULL || small == NULL || large == NULL || w->noise == NULL)
	{
		free(p);
		free(small);
		free(large);
		return -1;
	}
	for (int32_t i = 0; i < n; i++)
		total += pow((double) w->word_count[w->vocab_word[i]], 0.75);
	for (int32_t i = 0; i < n; i++)
	{
		p[i] = pow((double) w->word_count[w->vocab_word[i]], 0.75) / total * n;
		w->noise[i].threshold = UINT32_MAX;
		w->noise[i].alias = i;
		if (p[i] < 1.0)
			small[n_small++] = i;
		else
			large[n_large++] = i;
	}
	while (n_small > 0 && n_large > 0)
	{
		int32_t		s = small[--n_small],
					l = large[--n_large];

		w->noise[s].threshold = (uint32_t) llround(p[s] * 4294967296.0 > 4294967295.0 ? 4294967295.0
												   : p[s] * 4294967296.0);
		w->noise[s].alias = l;
		p[l] = (p[l] + p[s]) - 1.0;
		if (p[l] < 1.0)
			small[n_small++] = l;
		else
			large[n_large++] = l;
	}
	/* what is left holds (up to rounding) exactly its own share */
	free(p);
	free(small);
	free(large);
	return 0;
}

static int
build_vocabulary(LmWord2Vec *w, LmError *err)
{
	const LmWord2VecOptions *o = &w->o;
	int32_t		n = 0;
	double		threshold;

	if (w->n_tokens == 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "the corpus has no words");
		lm_hint(err, "word2vec needs texts with words in them.");
		return -1;
	}
	w->vocab_of_word = lm_malloc(sizeof(int32_t) * w->n_words, err);
	w->vocab_word = lm_malloc(sizeof(int32_t) * w->n_words, err);
	if (w->vocab_of_word == NULL || w->vocab_word == NULL)
		return -1;
	for (int32_t id = 0; id < w->n_words; id++)
		if (w->word_count[id] >= o->min_count)
			w->vocab_word[n++] = id;
	if (n == 0)
	{
		int64_t		most = 0;

		for (int32_t id = 0; id < w->n_words; id++)
			most = w->word_count[id] > most ? w->word_count[id] : most;
		lm_fail(err, LM_ERR_INVALID_ARGUMENT,
				"no word of the corpus occurs min_count (%lld) times; the most frequent occurs %lld times",
				(long long) o->min_count, (long long) most);
		lm_hint(err, "Lower min_count or train on more text.");
		return -1;
	}
	sort_counts = w->word_count;
	qsort(w->vocab_word, n, sizeof(int32_t), cmp_vocab);
	sort_counts = NULL;
	w->vocab_size = n;
	memset(w->vocab_of_word, 0xff, sizeof(int32_t) * w->n_words);
	w->retained_words = 0;
	for (int32_t i = 0; i < n; i++)
	{
		w->vocab_of_word[w->vocab_word[i]] = i;
		w->retained_words += w->word_count[w->vocab_word[i]];
	}

	/* subsampling, as gensim's prepare_vocab */
	w->sample_int = lm_malloc(sizeof(uint32_t) * n, err);
	if (w->sample_int == NULL)
		return -1;
	threshold = o->sample > 0 ? o->sample * (double) w->retained_words : (double) w->retained_words;
	w->downsampled = 0;
	w->expected_words = 0;
	for (int32_t i = 0; i < n; i++)
	{
		double		c = (double) w->word_count[w->vocab_word[i]];
		double		p = (sqrt(c / threshold) + 1) * (threshold / c);

		if (p < 1.0)
			w->downsampled++;
		else
			p = 1.0;
		w->expected_words += p * c;
		w->sample_int[i] = (uint32_t) (p * 4294967295.0);
	}

	/* noise words: counts^0.75 (gensim's ns_exponent), as Vose's alias table */
	return build_noise_table(w, err);
}

/* Training ------------------------------------------------------------------------ */

static inline uint64_t
lcg_next(uint64_t r)
{
	return (r * LCG_MUL + LCG_ADD) & LCG_MASK;
}

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A noise word: Walker's alias method, one 32-bit draw for the bucket and the coin. */
static inline int32_t
draw_noise(const NoiseBucket *table, int32_t n, uint64_t r)
{
	uint64_t	m = (uint64_t) (uint32_t) (r >> 16) * (uint64_t) n;
	const NoiseBucket *bucket = table + (m >> 32);

	return (uint32_t) m < bucket->threshold ? (int32_t) (m >> 32) : bucket->alias;
}

/*
 * The kernels: dot product and y += a * x over dim floats, four lanes at a
 * time with GCC/clang vector extensions (SSE on any x86-64, NEON on arm64),
 * four accumulators for the dot product.
 */
typedef float v4sf __attribute__((vector_size(16)));

static inline v4sf
load4(const float *p)
{
	v4sf		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
store4(float *p, v4sf v)
{
	memcpy(p, &v, sizeof(v));
}

static inline float
dot(const float *restrict x, const float *restrict y, int n)
{
	v4sf		s0 = {0, 0, 0, 0},
				s1 = s0,
				s2 = s0,
				s3 = s0;
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		s0 += load4(x + i) * load4(y + i);
		s1 += load4(x + i + 4) * load4(y + i + 4);
		s2 += load4(x + i + 8) * load4(y + i + 8);
		s3 += load4(x + i + 12) * load4(y + i + 12);
	}
	for (; i + 4 <= n; i += 4)
		s0 += load4(x + i) * load4(y + i);
	s0 += s1 + s2 + s3;
	s = s0[0] + s0[1] + s0[2] + s0[3];
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

static inline void
axpy(float a, const float *restrict x, float *restrict y, int n)
{
	v4sf		va = {a, a, a, a};
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		store4(y + i, load4(y + i) + va * load4(x + i));
		store4(y + i + 4, load4(y + i + 4) + va * load4(x + i + 4));
	}
	for (; i + 4 <= n; i += 4)
		store4(y + i, load4(y + i) + va * load4(x + i));
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* The state of the training loop, allocated once. */
typedef struct Trainer
{
	const LmWord2Vec *w;
	int			dim;
	int			window;
	int			negative;
	int32_t		vocab_size;
	float	   *syn0;
	float	   *syn1neg;
	const NoiseBucket *noise;
	const uint32_t *sample_int;
	float		exp_table[EXP_TABLE_SIZE];
	float	   *work;			/* dim floats: the context word's update */
	int32_t    *kept;			/* the sentence's words after subsampling */
	int32_t    *targets;		/* a pair's center word and noise words */
	uint64_t	next_random;
	int64_t		pairs;
} Trainer;

/* Prefetch a vector's cache lines (noise words' rows are scattered in memory). */
static inline void
prefetch_row(const float *row, int dim)
{
	for (int i = 0; i < dim; i += 16)
		__builtin_prefetch(row + i, 1, 3);
}

/*
 * One (context, center) pair: the context word's vector predicts the center
 * word against the noise words.  The noise words are drawn first (in the
 * order gensim draws them) so that their rows can be prefetched.
 */
static inline void
train_pair(Trainer *t, int32_t center, int32_t context, float alpha)
{
	const int	dim = t->dim;
	float	   *l1 = t->syn0 + (size_t) context * dim;
	float	   *work = t->work;
	int32_t    *targets = t->targets;
	int			n = 0;

	targets[n++] = center;
	for (int d = 0; d < t->negative; d++)
	{
		int32_t		target = draw_noise(t->noise, t->vocab_size, t->next_random);

		t->next_random = lcg_next(t->next_random);
		if (target == center)
			continue;
		prefetch_row(t->syn1neg + (size_t) target * dim, dim);
		targets[n++] = target;
	}
	memset(work, 0, sizeof(float) * dim);
	for (int d = 0; d < n; d++)
	{
		float	   *l2 = t->syn1neg + (size_t) targets[d] * dim;
		float		f = dot(l1, l2, dim),
					g;

		if (f <= -MAX_EXP || f >= MAX_EXP)
			continue;
		f = t->exp_table[(int) ((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))];
		g = ((d == 0 ? 1.0f : 0.0f) - f) * alpha;
		axpy(g, l2, work, dim);
		axpy(g, l1, l2, dim);
	}
	axpy(1.0f, work, l1, dim);
}

/* One sentence (vocabulary indices): subsample, then every window; returns the words kept. */
static int64_t
train_sentence(Trainer *t, const int32_t *words, size_t n, float alpha)
{
	int32_t    *kept = t->kept;
	int			m = 0;

	for (size_t i = 0; i < n; i++)
	{
		uint32_t	draw = (uint32_t) (t->next_random >> 16);

		t->next_random = lcg_next(t->next_random);
		if (t->sample_int[words[i]] >= draw)
			kept[m++] = words[i];
	}
	for (int i = 0; i < m; i++)
	{
		int			b = (int) ((t->next_random >> 16) % (uint64_t) t->window);
		int			lo = i - t->window + b;
		int			hi = i + t->window + 1 - b;

		t->next_random = lcg_next(t->next_random);
		if (lo < 0)
			lo = 0;
		if (hi > m)
			hi = m;
		for (int j = lo; j < hi; j++)
		{
			if (j == i)
				continue;
			train_pair(t, kept[i], kept[j], alpha);
		}
		t->pairs += hi - lo - 1;
	}
	return m;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The sentences with only their vocabulary words, as vocabulary indices. */
static int32_t *
vocabulary_tokens(const LmWord2Vec *w, size_t **starts, LmError *err)
{
	int32_t    *out = lm_malloc(sizeof(int32_t) * (w->retained_words > 0 ? w->retained_words : 1), err);
	size_t	   *st = lm_malloc(sizeof(size_t) * (w->n_sentences + 1), err);
	size_t		k = 0;

	if (out == NULL || st == NULL)
	{
		free(out);
		free(st);
		return NULL;
	}
	for (size_t s = 0; s < w->n_sentences; s++)
	{
		st[s] = k;
		for (size_t i = w->sentence_start[s]; i < w->sentence_start[s + 1]; i++)
		{
			int32_t		v = w->vocab_of_word[w->tokens[i]];

			if (v >= 0)
				out[k++] = v;
		}
	}
	st[w->n_sentences] = k;
	*starts = st;
	return out;
}

int
lm_word2vec_train(LmWord2Vec *w, LmError *err)
{
	const LmWord2VecOptions *o = &w->o;
	Trainer	   *t;
	int32_t    *vtokens;
	size_t	   *vstarts = NULL;
	size_t		n_floats;
	uint64_t	seed_state = o->seed;
	double		total_words,
				start;
	int			rc = -1;

	if (w->trained)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word2vec: the model is already trained");
	if (build_vocabulary(w, err) != 0)
		return -1;
	w->trained = true;
	n_floats = (size_t) w->vocab_size * (size_t) o->dim;
	w->syn0 = lm_malloc(sizeof(float) * n_floats, err);
	w->syn1neg = lm_calloc(n_floats, sizeof(float), err);
	if (w->syn0 == NULL || w->syn1neg == NULL)
		return -1;
	for (size_t i = 0; i < n_floats; i++)
	{
		/* uniform in [-1, 1) / dim from the top 24 bits */
		double		u = (double) (splitmix64(&seed_state) >> 40) / (double) (1 << 24);

		w->syn0[i] = (float) ((u * 2.0 - 1.0) / o->dim);
	}

	t = lm_calloc(1, sizeof(Trainer), err);
	if (t == NULL)
		return -1;
	t->w = w;
	t->dim = o->dim;
	t->window = o->window;
	t->negative = o->negative;
	t->vocab_size = w->vocab_size;
	t->syn0 = w->syn0;
	t->syn1neg = w->syn1neg;
	t->noise = w->noise;
	t->sample_int = w->sample_int;
	t->next_random = splitmix64(&seed_state) & LCG_MASK;
	for (int i = 0; i < EXP_TABLE_SIZE; i++)
	{
		double		e = exp((i / (double) EXP_TABLE_SIZE * 2 - 1) * MAX_EXP);

		t->exp_table[i] = (float) (e / (e + 1));
	}
	t->work = lm_malloc(sizeof(float) * o->dim, err);
	t->kept = lm_malloc(sizeof(int32_t) * LM_WORD2VEC_MAX_SENTENCE, err);
	t->targets = lm_malloc(sizeof(int32_t) * (o->negative + 1), err);
	vtokens = vocabulary_tokens(w, &vstarts, err);
	if (t->work == NULL || t->kept == NULL || t->targets == NULL || vtokens == NULL)
		goto done;

	/* progress counts every token of the corpus, as gensim's raw word count */
	total_words = (double) w->n_tokens * o->epochs;
	start = now_seconds();
	for (int epoch = 0; epoch < o->epochs; epoch++)
	{
		for (size_t s = 0; s < w->n_sentences; s++)
		{
			double		done_words = (double) w->n_tokens * epoch + (double) w->sentence_start[s];
			double		alpha = o->alpha - (o->alpha - o->min_alpha) * (done_words / total_words);

			if (lm_check_cancel(err) != 0)
				goto done;
			if (alpha < o->min_alpha)
				alpha = o->min_alpha;
			w->trained_words += train_sentence(t, vtokens + vstarts[s], vstarts[s + 1] - vstarts[s],
											   (float) alpha);
		}
	}
	w->seconds = now_seconds() - start;
	w->trained_pairs = t->pairs;
	w->finished = true;
	rc = 0;
done:
	free(vtokens);
	free(vstarts);
	free(t->work);
	free(t->kept);
	free(t->targets);
	free(t);
	return rc;
}

/* Results -------------------------------------------------------------------------- */

LmWordVectors *
lm_word2vec_vectors(const LmWord2Vec *w, LmError *err)
{
	LmWordVectors *wv;

	if (!w->finished)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "word2vec: the model is not trained");
		return NULL;
	}
	wv = lm_wordvec_new(w->o.dim, (size_t) w->vocab_size, err);
	if (wv == NULL)
		return NULL;
	for (int32_t i = 0; i < w->vocab_size; i++)
	{
		const char *s = w->bytes + w->word_offset[w->vocab_word[i]];

		if (lm_wordvec_add(wv, s, strlen(s), w->syn0 + (size_t) i * w->o.dim, err) != i)
		{
			if (err && err->code == LM_OK)
				lm_fail(err, LM_ERR_INTERNAL, "word2vec: \"%s\" twice in the vocabulary", s);
			lm_wordvec_free(wv);
			return NULL;
		}
	}
	return wv;
}

int32_t
lm_word2vec_vocabulary_size(const LmWord2Vec *w)
{
	return w->vocab_size;
}

const char *
lm_word2vec_vocabulary_word(const LmWord2Vec *w, int32_t i, int64_t *count)
{
	if (i < 0 || i >= w->vocab_size)
		return NULL;
	if (count)
		*count = w->word_count[w->vocab_word[i]];
	return w->bytes + w->word_offset[w->vocab_word[i]];
}

const float *
lm_word2vec_vector(const LmWord2Vec *w, int32_t i)
{
	if (!w->finished || i < 0 || i >= w->vocab_size)
		return NULL;
	return w->syn0 + (size_t) i * w->o.dim;
}

void
lm_word2vec_stats(const LmWord2Vec *w, LmWord2VecStats *out)
{
	memset(out, 0, sizeof(*out));
	out->texts = w->texts;
	out->sentences = (int64_t) w->n_sentences;
	out->corpus_words = (int64_t) w->n_tokens;
	out->distinct_words = w->n_words;
	out->vocabulary = w->vocab_size;
	out->retained_words = w->retained_words;
	out->downsampled = w->downsampled;
	out->expected_words = w->expected_words;
	out->trained_words = w->trained_words;
	out->trained_pairs = w->trained_pairs;
	out->seconds = w->seconds;
	out->words_per_second = w->seconds > 0 ? (double) w->n_tokens * w->o.epochs / w->seconds : 0;
}

int
lm_word2vec_write_corpus(const LmWord2Vec *w, const char *path, LmError *err)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
		return lm_fail(err, LM_ERR_IO, "could not open \"%s\" for writing", path);
	for (size_t s = 0; s < w->n_sentences; s++)
	{
		for (size_t i = w->sentence_start[s]; i < w->sentence_start[s + 1]; i++)
		{
			if (i > w->sentence_start[s])
				fputc(' ', f);
			fputs(w->bytes + w->word_offset[w->tokens[i]], f);
		}
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return lm_fail(err, LM_ERR_IO, "could not write \"%s\"", path);
	return 0;
}
