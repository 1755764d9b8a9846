/*
 * spm_unigram.c — sentencepiece's Unigram segmentation (unigram_model.cc,
 * EncodeOptimized): a Viterbi pass over byte positions that keeps, for each
 * end position, the best-scoring path.  Pieces come from a trie walk at each
 * character start; a character that no piece covers alone gets an unknown
 * node scored min_score - 10.  User-defined pieces score
 * length * max_score - 0.1 so that they always win; UNUSED pieces never
 * match.
 *
 * Path scores are floats and every candidate is summed and compared in
 * float: sentencepiece 0.2.2's outputs (the fixtures) break exact ties that
 * way (e.g. "!" + "!!" against "!!" + "!"), where a double sum compared with
 * the stored float would not.  Ties keep the earlier candidate.
 */
#include <stdlib.h>

#include "tokenizer/spm_internal.h"

/* unigram_model.cc: kUnkPenalty */
#define UNIGRAM_UNK_PENALTY 10.0f
/* the bonus subtracted from a user-defined piece's length * max_score */
#define UNIGRAM_USER_DEFINED_MARGIN 0.1

typedef struct BestPath
{
	int32_t		id;
	float		score;
	int64_t		starts_at;		/* -1 until a path reaches this position */
} BestPath;

int
spm_unigram_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
				   SpmSegments *out, LmError *err)
{
	const float unk_score = tok->min_score - UNIGRAM_UNK_PENALTY;
	BestPath   *best;
	size_t		starts_at = 0;
	size_t		n_segments = 0;
	size_t		first;
	size_t		work = 0;
	int			rc = -1;

	if (len == 0)
		return 0;
	best = lm_malloc((len + 1) * sizeof(BestPath), err);
	if (best == NULL)
		return -1;
	for (size_t i = 0; i <= len; i++)
	{
		if (tok_cancel_step(&work, 1, err) != 0)
			goto done;
		best[i].id = -1;
		best[i].score = 0.0f;
		best[i].starts_at = -1;
	}

	while (starts_at < len)
	{
		const float score_till_here = best[starts_at].score;
		const size_t mblen = spm_one_char_len(text + starts_at, len - starts_at);
		uint32_t	node = SPM_TRIE_ROOT;
		bool		has_single_node = false;

		for (size_t key_pos = starts_at; key_pos < len; key_pos++)
		{
			int32_t		id;
			size_t		length = key_pos + 1 - starts_at;
			float		score;
			float		candidate;
			BestPath   *target;

			/* Counts the trie steps: a piece may be long. */
			if (tok_cancel_step(&work, 1, err) != 0)
				goto done;
			node = spm_trie_step(&tok->piece_trie, node, (uint8_t) text[key_pos]);
			if (node == SPM_TRIE_NONE)
				break;
			id = tok->piece_trie.values[node];
			if (id < 0 || spm_is_type(tok, id, SPM_PIECE_UNUSED))
				continue;
			if (spm_is_type(tok, id, SPM_PIECE_USER_DEFINED))
				score = (float) ((double) ((float) length * tok->max_score) -
								 UNIGRAM_USER_DEFINED_MARGIN);
			else
				score = tok->proto.pieces[id].score;
			candidate = score + score_till_here;
			target = &best[key_pos + 1];
			if (target->starts_at == -1 || candidate > target->score)
			{
				target->score = candidate;
				target->starts_at = (int64_t) starts_at;
				target->id = id;
			}
			if (length == mblen)
				has_single_node = true;
		}
		if (!has_single_node)
		{
			BestPath   *target = &best[starts_at + mblen];
			float		candidate = unk_score + score_till_here;

			if (target->starts_at == -1 || candidate > target->score)
			{
				target->score = candidate;
				target->starts_at = (int64_t) starts_at;
				target->id = tok->unk_id;
			}
		}
		starts_at += mblen;
	}

	/* Backtrack: count the segments, then fill them from the end. */
	for (size_t ends_at = len; ends_at > 0; ends_at = (size_t) best[ends_at].starts_at)
	{
		if (best[ends_at].starts_at < 0)
		{
			lm_fail(err, LM_ERR_INTERNAL, "unigram lattice has no path to byte %zu", ends_at);
			goto done;
		}
		if (tok_cancel_step(&work, 1, err) != 0)
			goto done;
		n_segments++;
	}
	first = out->n;
	if (spm_segments_reserve(out, n_segments, err) != 0)
		goto done;
	for (size_t i = 0; i < n_segments; i++)
		if (tok_cancel_step(&work, 1, err) != 0 ||
			spm_segments_push(out, 0, 0, -1, err) != 0)
			goto done;
	for (size_t ends_at = len, i = n_segments; ends_at > 0; ends_at = (size_t) best[ends_at].starts_at)
	{
		SpmSegment *seg = &out->items[first + --i];

		if (tok_cancel_step(&work, 1, err) != 0)
			goto done;
		seg->start = (size_t) best[ends_at].starts_at;
		seg->len = ends_at - seg->start;
		seg->id = best[ends_at].id;
	}
	rc = 0;

done:
	free(best);
	return rc;
}
