/*
 * hf_split.c — splitting a piece of text by matched spans with the five
 * behaviors of the tokenizers library (Removed, Isolated, MergedWithPrevious,
 * MergedWithNext, Contiguous), and finding the spans of single characters.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

typedef struct SplitPart
{
	size_t		start;
	size_t		end;
	bool		flag;			/* before folding: is a match; after: remove it */
} SplitPart;

int
hf_split_behavior_parse(const char *name, HfSplitBehavior *out)
{
	static const struct
	{
		const char *name;
		HfSplitBehavior behavior;
	}			names[] = {
		{"Removed", HF_SPLIT_REMOVED},
		{"Isolated", HF_SPLIT_ISOLATED},
		{"MergedWithPrevious", HF_SPLIT_MERGED_WITH_PREVIOUS},
		{"MergedWithNext", HF_SPLIT_MERGED_WITH_NEXT},
		{"Contiguous", HF_SPLIT_CONTIGUOUS},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		if (strcmp(names[i].name, name) == 0)
		{
			*out = names[i].behavior;
			return 0;
		}
	}
	return -1;
}

int
hf_char_spans(const char *text, size_t len, HfCharPredicate pred, const void *arg,
			  HfSpans *out, LmError *err)
{
	size_t		i = 0;
	size_t		work = 0;

	out->n = 0;
	while (i < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(text + i, len - i, &cp);

		if (n < 0)
			n = -n;				/* text is validated; stay safe anyway */
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		if (pred(cp, arg) && hf_spans_push(out, i, i + n, err) != 0)
			return -1;
		i += n;
	}
	return 0;
}

/*
 * Fold the parts as the behavior says.  The result is parts[*first, *first +
 * *count): MergedWithNext folds from the end and leaves it there.  A long
 * piece has millions of parts, so this too lets a cancel through.
 */
static int
fold_parts(SplitPart *parts, size_t n, HfSplitBehavior behavior, size_t *first,
		   size_t *count, LmError *err)
{
	size_t		out = 0;
	size_t		work = 0;
	bool		previous_match = false;

	*first = 0;
	*count = n;
	switch (behavior)
	{
		case HF_SPLIT_REMOVED:
			return 0;			/* a match is removed: the flag already says so */
		case HF_SPLIT_ISOLATED:
			for (size_t i = 0; i < n; i++)
			{
				if (tok_cancel_step(&work, 1, err) != 0)
					return -1;
				parts[i].flag = false;
			}
			return 0;
		case HF_SPLIT_CONTIGUOUS:
			for (size_t i = 0; i < n; i++)
			{
				bool		is_match = parts[i].flag;

				if (tok_cancel_step(&work, 1, err) != 0)
					return -1;
				if (is_match == previous_match && out > 0)
					parts[out - 1].end = parts[i].end;
				else
				{
					parts[out] = parts[i];
					parts[out].flag = false;
					out++;
				}
				previous_match = is_match;
			}
			*count = out;
			return 0;
		case HF_SPLIT_MERGED_WITH_PREVIOUS:
			for (size_t i = 0; i < n; i++)
			{
				bool		is_match = parts[i].flag;

				if (tok_cancel_step(&work, 1, err) != 0)
					return -1;
				if (is_match && !previous_match && out > 0)
					parts[out - 1].end = parts[i].end;
				else
				{
					parts[out] = parts[i];
					parts[out].flag = false;
					out++;
				}
				previous_match = is_match;
			}
			*count = out;
			return 0;
		case HF_SPLIT_MERGED_WITH_NEXT:
			{
				/* Fold from the end, writing the results from the end. */
				size_t		w = n;

				for (size_t k = n; k-- > 0;)
				{
					bool		is_match = parts[k].flag;

					if (tok_cancel_step(&work, 1, err) != 0)
						return -1;
					if (is_match && !previous_match && w < n)
						parts[w].start = parts[k].start;
					else
					{
						w--;
						parts[w] = parts[k];
						parts[w].flag = false;
					}
					previous_match = is_match;
				}
				*first = w;
				*count = n - w;
				return 0;
			}
	}
	return 0;
}

int
hf_split_piece(const char *text, size_t len, bool at_origin, const HfSpans *matches,
			   HfSplitBehavior behavior, bool invert, HfPieces *out, LmError *err)
{
	SplitPart  *parts;
	size_t		n = 0;
	size_t		first = 0;
	size_t		prev = 0;
	size_t		work = 0;
	int			rc = 0;

	if (len == 0)
		return 0;
	parts = lm_malloc((matches->n * 2 + 1) * sizeof(SplitPart), err);
	if (parts == NULL)
		return -1;
	/* The flag says "is a match", or with invert "is not". */
	for (size_t i = 0; i < matches->n && rc == 0; i++)
	{
		const HfSpan *m = &matches->items[i];

		rc = tok_cancel_step(&work, 1, err);
		if (prev != m->start)
			parts[n++] = (SplitPart) {prev, m->start, invert};
		parts[n++] = (SplitPart) {m->start, m->end, !invert};
		prev = m->end;
	}
	if (prev != len)
		parts[n++] = (SplitPart) {prev, len, invert};
	if (rc == 0)
		rc = fold_parts(parts, n, behavior, &first, &n, err);
	for (size_t i = first; i < first + n && rc == 0; i++)
	{
		if ((rc = tok_cancel_step(&work, parts[i].end - parts[i].start + 1, err)) != 0)
			break;
		if (parts[i].flag || parts[i].end == parts[i].start)
			continue;
		rc = hf_pieces_push(out, text + parts[i].start, parts[i].end - parts[i].start,
							at_origin && parts[i].start == 0, err);
	}
	free(parts);
	return rc;
}
