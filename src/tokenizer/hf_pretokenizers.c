/*
 * hf_pretokenizers.c — tokenizer.json pre-tokenizers: ByteLevel, Split,
 * Whitespace, WhitespaceSplit, BertPreTokenizer, Metaspace, Punctuation,
 * Digits, CharDelimiterSplit and Sequence.  Each one replaces a list of
 * pieces by the pieces it splits them into.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

#define METASPACE_DEFAULT_REPLACEMENT 0x2581	/* ▁ */

/* GPT-2's split, with \s as Oniguruma reads it (Unicode White_Space). */
static const char gpt2_pattern[] =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" HF_ONIG_SPACE_CLASS "\\p{L}\\p{N}]+"
	"|[" HF_ONIG_SPACE_CLASS "]+(?![^" HF_ONIG_SPACE_CLASS "])|[" HF_ONIG_SPACE_CLASS "]+";

/* \w+|[^\w\s]+ with Oniguruma's Unicode \w and \s. */
static const char whitespace_pattern[] =
	"[" HF_ONIG_WORD_CLASS "]+|[^" HF_ONIG_WORD_CLASS HF_ONIG_SPACE_CLASS "]+";

typedef enum PreTokenizerKind
{
	PRE_BYTE_LEVEL,
	PRE_SPLIT,
	PRE_WHITESPACE,
	PRE_WHITESPACE_SPLIT,
	PRE_BERT,
	PRE_METASPACE,
	PRE_PUNCTUATION,
	PRE_DIGITS,
	PRE_CHAR_DELIMITER,
	PRE_SEQUENCE
} PreTokenizerKind;

typedef enum PrependScheme
{
	PREPEND_ALWAYS,
	PREPEND_FIRST,
	PREPEND_NEVER
} PrependScheme;

struct HfPreTokenizer
{
	PreTokenizerKind kind;
	HfRegex    *regex;			/* Split, Whitespace, ByteLevel with use_regex */
	HfSplitBehavior behavior;	/* Split, Punctuation */
	bool		invert;			/* Split */
	bool		add_prefix_space;	/* ByteLevel */
	int32_t		replacement;	/* Metaspace; the delimiter of CharDelimiterSplit */
	PrependScheme prepend_scheme;
	bool		split;			/* Metaspace */
	bool		individual_digits;
	HfPreTokenizer **children;
	size_t		n_children;
};

static const HfKindName pretokenizer_names[] = {
	{"ByteLevel", PRE_BYTE_LEVEL},
	{"Split", PRE_SPLIT},
	{"Whitespace", PRE_WHITESPACE},
	{"WhitespaceSplit", PRE_WHITESPACE_SPLIT},
	{"BertPreTokenizer", PRE_BERT},
	{"Metaspace", PRE_METASPACE},
	{"Punctuation", PRE_PUNCTUATION},
	{"Digits", PRE_DIGITS},
	{"CharDelimiterSplit", PRE_CHAR_DELIMITER},
	{"Sequence", PRE_SEQUENCE},
};

void
hf_pretokenizer_free(HfPreTokenizer *pretok)
{
	if (pretok == NULL)
		return;
	for (size_t i = 0; i < pretok->n_children; i++)
		hf_pretokenizer_free(pretok->children[i]);
	free(pretok->children);
	hf_regex_free(pretok->regex);
	free(pretok);
}

static int
parse_behavior(const json_t *json, HfSplitBehavior dflt, HfSplitBehavior *out,
			   const char *what, LmError *err)
{
	const char *name;

	*out = dflt;
	if (hf_json_string(json, "behavior", false, &name, NULL, what, err) != 0)
		return -1;
	if (name != NULL && hf_split_behavior_parse(name, out) != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "%s: unknown split behavior \"%s\"", what, name);
	return 0;
}

static int
parse_metaspace(HfPreTokenizer *pre, const json_t *json, LmError *err)
{
	const char *scheme;
	const json_t *legacy = json_object_get(json, "add_prefix_space");

	if (hf_json_char(json, "replacement", METASPACE_DEFAULT_REPLACEMENT, &pre->replacement,
					 "Metaspace pre-tokenizer", err) != 0 ||
		hf_json_bool(json, "split", true, &pre->split, "Metaspace pre-tokenizer", err) != 0 ||
		hf_json_string(json, "prepend_scheme", false, &scheme, NULL,
					   "Metaspace pre-tokenizer", err) != 0)
		return -1;
	pre->prepend_scheme = PREPEND_ALWAYS;
	if (scheme != NULL)
	{
		if (strcmp(scheme, "always") == 0)
			pre->prepend_scheme = PREPEND_ALWAYS;
		else if (strcmp(scheme, "first") == 0)
			pre->prepend_scheme = PREPEND_FIRST;
		else if (strcmp(scheme, "never") == 0)
			pre->prepend_scheme = PREPEND_NEVER;
		else
			return lm_fail(err, LM_ERR_CORRUPT,
						   "Metaspace pre-tokenizer: unknown prepend_scheme \"%s\"", scheme);
	}
	/* Files older than prepend_scheme say add_prefix_space: false for "never". */
	if (json_is_false(legacy))
	{
		if (scheme != NULL && pre->prepend_scheme != PREPEND_NEVER)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "Metaspace pre-tokenizer: add_prefix_space does not match prepend_scheme");
		pre->prepend_scheme = PREPEND_NEVER;
	}
	return 0;
}

static int
parse_fields(HfPreTokenizer *pre, const json_t *json, int depth, LmError *err)
{
	switch (pre->kind)
	{
		case PRE_BYTE_LEVEL:
			{
				bool		use_regex;

				if (hf_json_bool(json, "add_prefix_space", true, &pre->add_prefix_space,
								 "ByteLevel pre-tokenizer", err) != 0 ||
					hf_json_bool(json, "use_regex", true, &use_regex,
								 "ByteLevel pre-tokenizer", err) != 0)
					return -1;
				if (use_regex)
				{
					pre->regex = hf_regex_new(gpt2_pattern, strlen(gpt2_pattern), false, err);
					if (pre->regex == NULL)
						return -1;
				}
				return 0;
			}
		case PRE_SPLIT:
			if (json_object_get(json, "behavior") == NULL)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "Split pre-tokenizer: missing field \"behavior\"");
			if (parse_behavior(json, HF_SPLIT_REMOVED, &pre->behavior, "Split pre-tokenizer",
							   err) != 0 ||
				hf_json_bool(json, "invert", false, &pre->invert, "Split pre-tokenizer",
							 err) != 0)
				return -1;
			pre->regex = hf_regex_from_json(json_object_get(json, "pattern"),
											"Split pre-tokenizer", err);
			return pre->regex ? 0 : -1;
		case PRE_WHITESPACE:
			pre->regex = hf_regex_new(whitespace_pattern, strlen(whitespace_pattern), false,
									  err);
			return pre->regex ? 0 : -1;
		case PRE_METASPACE:
			return parse_metaspace(pre, json, err);
		case PRE_PUNCTUATION:
			return parse_behavior(json, HF_SPLIT_ISOLATED, &pre->behavior,
								  "Punctuation pre-tokenizer", err);
		case PRE_DIGITS:
			return hf_json_bool(json, "individual_digits", false, &pre->individual_digits,
								"Digits pre-tokenizer", err);
		case PRE_CHAR_DELIMITER:
			if (hf_json_char(json, "delimiter", -1, &pre->replacement,
							 "CharDelimiterSplit pre-tokenizer", err) != 0)
				return -1;
			if (pre->replacement < 0)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "CharDelimiterSplit pre-tokenizer: missing field \"delimiter\"");
			return 0;
		case PRE_SEQUENCE:
			{
				const json_t *items;

				if (hf_json_array(json, "pretokenizers", &items, "Sequence pre-tokenizer",
								  err) != 0)
					return -1;
				pre->children = lm_calloc(json_array_size(items), sizeof(HfPreTokenizer *),
										  err);
				if (pre->children == NULL)
					return -1;
				for (size_t i = 0; i < json_array_size(items); i++)
				{
					pre->children[i] = hf_pretokenizer_parse(json_array_get(items, i),
															 depth + 1, err);
					if (pre->children[i] == NULL)
						return -1;
					pre->n_children++;
				}
				return 0;
			}
		case PRE_WHITESPACE_SPLIT:
		case PRE_BERT:
			return 0;
	}
	return 0;
}

HfPreTokenizer *
hf_pretokenizer_parse(const json_t *json, int depth, LmError *err)
{
	HfPreTokenizer *pre;
	int			kind;

	if (hf_json_kind(json, depth, pretokenizer_names, HF_KINDS_LENGTH(pretokenizer_names),
					 "pre-tokenizer", &kind, err) != 0)
		return NULL;
	pre = lm_calloc(1, sizeof(HfPreTokenizer), err);
	if (pre == NULL)
		return NULL;
	pre->kind = (PreTokenizerKind) kind;
	if (parse_fields(pre, json, depth, err) != 0)
	{
		hf_pretokenizer_free(pre);
		return NULL;
	}
	return pre;
}

/* ---- applying ---------------------------------------------------------------- */

static bool
pred_whitespace(int32_t cp, const void *arg)
{
	(void) arg;
	return hf_is_whitespace(cp);
}

static bool
pred_punctuation(int32_t cp, const void *arg)
{
	(void) arg;
	return hf_is_punctuation(cp);
}

static bool
pred_numeric(int32_t cp, const void *arg)
{
	(void) arg;
	return hf_is_numeric(cp);
}

static bool
pred_equals(int32_t cp, const void *arg)
{
	return cp == *(const int32_t *) arg;
}

/*
 * Room for the split of one piece of len bytes by these matches: at most a
 * part per match and one between each two.  A text that is one long piece
 * thus gets its list in one go rather than by copying it as it grows.
 */
static int
reserve_split(HfPieces *out, const HfSpans *matches, size_t len, LmError *err)
{
	if (hf_pieces_reserve(out, 2 * matches->n + 1, err) != 0)
		return -1;
	return hf_buf_reserve(&out->text, len, err);
}

/* Split every piece by the spans of a character predicate. */
static int
split_by_chars(HfPieces *pieces, HfCharPredicate pred, const void *arg,
			   HfSplitBehavior behavior, LmError *err)
{
	HfPieces	out = {0};
	HfSpans		spans = {0};
	size_t		work = 0;
	int			rc = 0;

	for (size_t i = 0; i < pieces->n && rc == 0; i++)
	{
		const char *text = hf_piece_text(pieces, i);
		size_t		len = pieces->items[i].len;

		rc = tok_cancel_step(&work, len + 1, err);
		if (rc == 0)
			rc = hf_char_spans(text, len, pred, arg, &spans, err);
		if (rc == 0)
			rc = reserve_split(&out, &spans, len, err);
		if (rc == 0)
			rc = hf_split_piece(text, len, pieces->items[i].at_origin, &spans, behavior,
								false, &out, err);
	}
	hf_spans_free(&spans);
	if (rc == 0)
		hf_pieces_swap(pieces, &out);
	hf_pieces_free(&out);
	return rc;
}

/* Split every piece by the matches of a regular expression. */
static int
split_by_regex(HfPieces *pieces, const HfRegex *re, HfSplitBehavior behavior, bool invert,
			   LmError *err)
{
	HfPieces	out = {0};
	HfSpans		spans = {0};
	size_t		work = 0;
	int			rc = 0;

	for (size_t i = 0; i < pieces->n && rc == 0; i++)
	{
		const char *text = hf_piece_text(pieces, i);
		size_t		len = pieces->items[i].len;

		rc = tok_cancel_step(&work, len + 1, err);
		if (rc == 0)
			rc = hf_regex_find_all(re, text, len, &spans, err);
		if (rc == 0)
			rc = reserve_split(&out, &spans, len, err);
		if (rc == 0)
			rc = hf_split_piece(text, len, pieces->items[i].at_origin, &spans, behavior,
								invert, &out, err);
	}
	hf_spans_free(&spans);
	if (rc == 0)
		hf_pieces_swap(pieces, &out);
	hf_pieces_free(&out);
	return rc;
}

/* Rewrite every piece with fn (which appends its output to out->text). */
typedef int (*PieceRewrite) (const HfPreTokenizer *pre, const char *text, size_t len,
							 bool at_origin, HfBuf *out, LmError *err);

static int
rewrite_pieces(const HfPreTokenizer *pre, HfPieces *pieces, PieceRewrite fn, LmError *err)
{
	HfPieces	out = {0};
	size_t		work = 0;
	int			rc = hf_pieces_reserve(&out, pieces->n, err);

	if (rc == 0)
		rc = hf_buf_reserve(&out.text, pieces->text.len, err);
	for (size_t i = 0; i < pieces->n && rc == 0; i++)
	{
		size_t		start = hf_pieces_open(&out);

		rc = tok_cancel_step(&work, pieces->items[i].len + 1, err);
		if (rc == 0)
			rc = fn(pre, hf_piece_text(pieces, i), pieces->items[i].len,
					pieces->items[i].at_origin, &out.text, err);
		if (rc == 0)
			rc = hf_pieces_close(&out, start, pieces->items[i].at_origin, err);
	}
	if (rc == 0)
		hf_pieces_swap(pieces, &out);
	hf_pieces_free(&out);
	return rc;
}

static int
rewrite_prefix_space(const HfPreTokenizer *pre, const char *text, size_t len, bool at_origin,
					 HfBuf *out, LmError *err)
{
	(void) pre;
	(void) at_origin;
	/* Like prepend(), nothing happens to an empty piece. */
	if (len > 0 && text[0] != ' ' && hf_buf_append(out, " ", 1, err) != 0)
		return -1;
	return hf_buf_append(out, text, len, err);
}

static int
rewrite_bytes(const HfPreTokenizer *pre, const char *text, size_t len, bool at_origin,
			  HfBuf *out, LmError *err)
{
	size_t		work = 0;

	(void) pre;
	(void) at_origin;
	for (size_t i = 0; i < len; i++)
		if (tok_cancel_step(&work, 1, err) != 0 ||
			hf_buf_append_cp(out, hf_byte_to_char((uint8_t) text[i]), err) != 0)
			return -1;
	return 0;
}

/* Metaspace: spaces become the replacement, which is prepended per the scheme. */
static int
rewrite_metaspace(const HfPreTokenizer *pre, const char *text, size_t len, bool at_origin,
				  HfBuf *out, LmError *err)
{
	int32_t		first = -1;
	bool		prepend;
	size_t		work = 0;

	if (len > 0)
	{
		lm_utf8_next(text, len, &first);
		if (first == ' ')
			first = pre->replacement;
	}
	prepend = first != pre->replacement &&
		(pre->prepend_scheme == PREPEND_ALWAYS ||
		 (pre->prepend_scheme == PREPEND_FIRST && at_origin));
	if (len == 0)
		prepend = false;		/* prepend() does nothing to an empty string */
	if (prepend && hf_buf_append_cp(out, pre->replacement, err) != 0)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		int			rc = tok_cancel_step(&work, 1, err);

		if (rc == 0)
			rc = text[i] == ' ' ? hf_buf_append_cp(out, pre->replacement, err) :
				hf_buf_append(out, text + i, 1, err);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
hf_pretokenizer_apply(const HfPreTokenizer *pre, HfPieces *pieces, LmError *err)
{
	switch (pre->kind)
	{
		case PRE_BYTE_LEVEL:
			if (pre->add_prefix_space &&
				rewrite_pieces(pre, pieces, rewrite_prefix_space, err) != 0)
				return -1;
			if (pre->regex &&
				split_by_regex(pieces, pre->regex, HF_SPLIT_ISOLATED, false, err) != 0)
				return -1;
			return rewrite_pieces(pre, pieces, rewrite_bytes, err);
		case PRE_SPLIT:
			return split_by_regex(pieces, pre->regex, pre->behavior, pre->invert, err);
		case PRE_WHITESPACE:
			return split_by_regex(pieces, pre->regex, HF_SPLIT_REMOVED, true, err);
		case PRE_WHITESPACE_SPLIT:
			return split_by_chars(pieces, pred_whitespace, NULL, HF_SPLIT_REMOVED, err);
		case PRE_BERT:
			if (split_by_chars(pieces, pred_whitespace, NULL, HF_SPLIT_REMOVED, err) != 0)
				return -1;
			return split_by_chars(pieces, pred_punctuation, NULL, HF_SPLIT_ISOLATED, err);
		case PRE_METASPACE:
			if (rewrite_pieces(pre, pieces, rewrite_metaspace, err) != 0)
				return -1;
			if (!pre->split)
				return 0;
			return split_by_chars(pieces, pred_equals, &pre->replacement,
								  HF_SPLIT_MERGED_WITH_NEXT, err);
		case PRE_PUNCTUATION:
			return split_by_chars(pieces, pred_punctuation, NULL, pre->behavior, err);
		case PRE_DIGITS:
			return split_by_chars(pieces, pred_numeric, NULL,
								  pre->individual_digits ? HF_SPLIT_ISOLATED :
								  HF_SPLIT_CONTIGUOUS, err);
		case PRE_CHAR_DELIMITER:
			return split_by_chars(pieces, pred_equals, &pre->replacement, HF_SPLIT_REMOVED,
								  err);
		case PRE_SEQUENCE:
			for (size_t i = 0; i < pre->n_children; i++)
				if (hf_pretokenizer_apply(pre->children[i], pieces, err) != 0)
					return -1;
			return 0;
	}
	return lm_fail(err, LM_ERR_INTERNAL, "unhandled pre-tokenizer kind %d", (int) pre->kind);
}
