/*
 * hf_unigram.c — the Unigram model of tokenizer.json: the segmentation of
 * highest total score (Viterbi over a byte trie of the pieces), with the
 * tokenizers library's tie-breaking, unknown characters scored
 * min_score - 10 and fused, and byte fallback.
 */
#include "tokenizer/hf_models.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf_intmap.h"
#include "util/utf8.h"

#define WHAT "Unigram model"
#define UNK_PENALTY 10.0
#define TRIE_ROOT 0
#define TRIE_EDGE(node, byte) (((uint64_t) (node) << 8) | (uint8_t) (byte))

struct HfUnigram
{
	HfVocab		vocab;
	double	   *scores;
	HfIntMap	edges;			/* (node, byte) -> child node */
	int32_t    *node_ids;		/* per node: the id of the piece ending there, or -1 */
	size_t		n_nodes;
	size_t		nodes_cap;
	int32_t		unk_id;			/* -1: none */
	bool		byte_fallback;
	double		min_score;
	int32_t		byte_ids[256];	/* id of "<0xXX>", or -1 */
};

/* The best path ending at one byte offset. */
typedef struct BestPath
{
	double		score;
	int32_t		id;
	int64_t		starts_at;		/* -1: not reached yet */
} BestPath;

const HfVocab *
hf_unigram_vocab(const HfUnigram *uni)
{
	return &uni->vocab;
}

void
hf_unigram_free(HfUnigram *uni)
{
	if (uni == NULL)
		return;
	hf_vocab_free(&uni->vocab);
	hf_intmap_free(&uni->edges);
	free(uni->scores);
	free(uni->node_ids);
	free(uni);
}

static int32_t
trie_new_node(HfUnigram *uni, LmError *err)
{
	if (uni->n_nodes == uni->nodes_cap)
	{
		size_t		cap = uni->nodes_cap ? uni->nodes_cap * 2 : 1024;
		int32_t    *ids = lm_realloc(uni->node_ids, cap * sizeof(int32_t), err);

		if (ids == NULL)
			return -1;
		uni->node_ids = ids;
		uni->nodes_cap = cap;
	}
	uni->node_ids[uni->n_nodes] = -1;
	return (int32_t) uni->n_nodes++;
}

static int
trie_insert(HfUnigram *uni, const char *token, size_t len, int32_t id, LmError *err)
{
	int32_t		node = TRIE_ROOT;

	for (size_t i = 0; i < len; i++)
	{
		uint64_t	child;

		if (!hf_intmap_get(&uni->edges, TRIE_EDGE(node, token[i]), &child))
		{
			int32_t		fresh = trie_new_node(uni, err);

			if (fresh < 0 ||
				hf_intmap_put(&uni->edges, TRIE_EDGE(node, token[i]), (uint64_t) fresh, err) != 0)
				return -1;
			child = (uint64_t) fresh;
		}
		node = (int32_t) child;
	}
	/* A repeated piece resolves to its last id, as the library's map does. */
	if (len > 0)
		uni->node_ids[node] = id;
	return 0;
}

static int
parse_vocab(HfUnigram *uni, const json_t *vocab, LmError *err)
{
	size_t		n;

	if (!json_is_array(vocab))
		return lm_fail(err, LM_ERR_CORRUPT, "%s: field \"vocab\" must be an array", WHAT);
	n = json_array_size(vocab);
	if (n == 0)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: the vocabulary is empty", WHAT);
	if (hf_vocab_init(&uni->vocab, n, err) != 0)
		return -1;
	uni->scores = lm_malloc(n * sizeof(double), err);
	if (uni->scores == NULL || hf_intmap_init(&uni->edges, n * 4, err) != 0 ||
		trie_new_node(uni, err) != TRIE_ROOT)
		return -1;
	uni->min_score = DBL_MAX;
	for (size_t i = 0; i < n; i++)
	{
		const json_t *entry = json_array_get(vocab, i);
		const char *token;
		size_t		len;

		if (lm_check_cancel(err) != 0)
			return -1;
		if (!json_is_array(entry) || json_array_size(entry) != 2 ||
			(token = hf_json_str(json_array_get(entry, 0), &len)) == NULL ||
			!json_is_number(json_array_get(entry, 1)))
			return lm_fail(err, LM_ERR_CORRUPT,
						   "%s: vocabulary entry %zu is not [\"piece\", score]", WHAT, i);
		uni->scores[i] = json_number_value(json_array_get(entry, 1));
		if (uni->scores[i] < uni->min_score)
			uni->min_score = uni->scores[i];
		if (hf_vocab_set(&uni->vocab, (int32_t) i, token, len, err) != 0 ||
			trie_insert(uni, token, len, (int32_t) i, err) != 0)
			return -1;
	}
	return 0;
}

HfUnigram *
hf_unigram_parse(const json_t *json, LmError *err)
{
	HfUnigram  *uni = lm_calloc(1, sizeof(HfUnigram), err);
	int64_t		unk_id;

	if (uni == NULL)
		return NULL;
	if (parse_vocab(uni, json_object_get(json, "vocab"), err) != 0 ||
		hf_json_int(json, "unk_id", -1, &unk_id, WHAT, err) != 0 ||
		hf_json_bool(json, "byte_fallback", false, &uni->byte_fallback, WHAT, err) != 0)
		goto fail;
	if (unk_id < -1 || unk_id >= uni->vocab.id_limit)
	{
		lm_fail(err, LM_ERR_CORRUPT, "%s: unk_id %lld is outside the vocabulary of %d pieces",
				WHAT, (long long) unk_id, uni->vocab.id_limit);
		goto fail;
	}
	uni->unk_id = (int32_t) unk_id;
	for (int b = 0; b < 256; b++)
	{
		char		name[HF_BYTE_TOKEN_LEN + 1];

		hf_byte_token((uint8_t) b, name);
		if (!hf_vocab_get(&uni->vocab, name, HF_BYTE_TOKEN_LEN, &uni->byte_ids[b]))
			uni->byte_ids[b] = -1;
	}
	return uni;

fail:
	hf_unigram_free(uni);
	return NULL;
}

/* Relax best[end] with a path through best[start] and a piece of this score. */
static inline void
relax(BestPath *best, size_t start, size_t end, double score, int32_t id)
{
	double		candidate = best[start].score + score;

	if (best[end].starts_at < 0 || candidate > best[end].score)
	{
		best[end].score = candidate;
		best[end].starts_at = (int64_t) start;
		best[end].id = id;
	}
}

static int
viterbi(const HfUnigram *uni, const char *text, size_t len, BestPath *best, LmError *err)
{
	double		unk_score = uni->min_score - UNK_PENALTY;
	size_t		start = 0;
	size_t		work = 0;

	for (size_t i = 0; i <= len; i++)
	{
		if (tok_cancel_step(&work, 1, err) != 0)
			return -1;
		best[i].score = 0.0;
		best[i].id = -1;
		best[i].starts_at = -1;
	}
	while (start < len)
	{
		int32_t		cp;
		int			mblen = lm_utf8_next(text + start, len - start, &cp);
		bool		has_single = false;
		int32_t		node = TRIE_ROOT;

		if (mblen < 0)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "invalid UTF-8 in word");
		for (size_t end = start; end < len; end++)
		{
			uint64_t	child;

			/* Counts the trie steps too: a piece may be long. */
			if (tok_cancel_step(&work, 1, err) != 0)
				return -1;
			if (!hf_intmap_get(&uni->edges, TRIE_EDGE(node, text[end]), &child))
				break;
			node = (int32_t) child;
			if (uni->node_ids[node] >= 0)
			{
				int32_t		id = uni->node_ids[node];

				relax(best, start, end + 1, uni->scores[id], id);
				if (end + 1 - start == (size_t) mblen)
					has_single = true;
			}
		}
		if (!has_single)
		{
			if (uni->unk_id < 0 &&
				(best[start + mblen].starts_at < 0 ||
				 best[start].score + unk_score > best[start + mblen].score))
				return lm_fail(err, LM_ERR_CORRUPT,
							   "%s: a character is not in the vocabulary and there is no unk_id",
							   WHAT);
			relax(best, start, start + mblen, unk_score, uni->unk_id);
		}
		start += mblen;
	}
	return 0;
}

/* Push one piece of the best path: its id, else its bytes, else unk. */
static int
push_piece(const HfUnigram *uni, const char *piece, size_t len, LmEncoding *out,
		   LmError *err)
{
	int32_t		id;

	if (hf_vocab_get(&uni->vocab, piece, len, &id))
		return lm_encoding_push(out, id, piece, len, err);
	if (uni->byte_fallback)
	{
		bool		all_bytes = true;

		for (size_t k = 0; k < len; k++)
			if (uni->byte_ids[(uint8_t) piece[k]] < 0)
				all_bytes = false;
		if (all_bytes)
		{
			/* A run of unknown characters is one piece, however long. */
			size_t		work = 0;

			for (size_t k = 0; k < len; k++)
			{
				char		name[HF_BYTE_TOKEN_LEN + 1];

				if (tok_cancel_step(&work, 1, err) != 0)
					return -1;
				hf_byte_token((uint8_t) piece[k], name);
				if (lm_encoding_push(out, uni->byte_ids[(uint8_t) piece[k]], name,
									 HF_BYTE_TOKEN_LEN, err) != 0)
					return -1;
			}
			return 0;
		}
	}
	if (uni->unk_id < 0)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: no unk_id for an unknown piece", WHAT);
	/* The token keeps the text it covers, not the unknown token's spelling. */
	return lm_encoding_push(out, uni->unk_id, piece, len, err);
}

int
hf_unigram_tokenize(const HfUnigram *uni, const char *word, size_t len, LmEncoding *out,
					LmError *err)
{
	BestPath   *best;
	size_t	   *bounds;			/* piece boundaries, collected from the end */
	size_t		n_bounds = 0;
	size_t		end = len;
	size_t		work = 0;
	int			rc = 0;

	if (len == 0)
		return 0;
	best = lm_malloc((len + 1) * sizeof(BestPath), err);
	bounds = lm_malloc((len + 1) * sizeof(size_t), err);
	if (best == NULL || bounds == NULL || viterbi(uni, word, len, best, err) != 0)
	{
		free(best);
		free(bounds);
		return -1;
	}
	/*
	 * Walk back from the end; consecutive unknown pieces fuse into one
	 * (the library's Unigram always fuses them).
	 */
	bounds[n_bounds++] = len;
	while (end > 0 && rc == 0)
	{
		size_t		start = (size_t) best[end].starts_at;
		bool		unk = uni->unk_id >= 0 && best[end].id == uni->unk_id;
		bool		prev_unk = unk && start > 0 && best[start].id == uni->unk_id;

		if (!prev_unk)
			bounds[n_bounds++] = start;
		end = start;
		rc = tok_cancel_step(&work, 1, err);
	}
	for (size_t k = n_bounds - 1; k > 0 && rc == 0; k--)
	{
		rc = tok_cancel_step(&work, bounds[k - 1] - bounds[k], err);
		if (rc == 0)
			rc = push_piece(uni, word + bounds[k], bounds[k - 1] - bounds[k], out, err);
	}
	free(best);
	free(bounds);
	return rc;
}
