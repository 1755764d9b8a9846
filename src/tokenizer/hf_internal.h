/*
 * hf_internal.h — what the pieces of the tokenizer.json pipeline share:
 * growable buffers and piece lists, JSON field readers, the PCRE2 wrapper,
 * the split behaviors, the byte-level alphabet, and the interface of each
 * component (normalizer, pre-tokenizer, model, post-processor, decoder,
 * added vocabulary).  Nothing outside src/tokenizer/hf_*.c includes it.
 */
#ifndef LM_HF_INTERNAL_H
#define LM_HF_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tok_cancel.h"
#include "tokenizer/tokenizer.h"
#include "util/lm_error.h"

/* How deep Sequence components may nest inside each other. */
#define HF_MAX_NESTING 32

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct HfBuf
{
	char	   *data;			/* NUL-terminated when non-NULL */
	size_t		len;
	size_t		cap;
} HfBuf;

int			hf_buf_reserve(HfBuf *buf, size_t extra, LmError *err);
int			hf_buf_append(HfBuf *buf, const char *s, size_t n, LmError *err);
int			hf_buf_append_cp(HfBuf *buf, int32_t cp, LmError *err);
void		hf_buf_free(HfBuf *buf);

static inline void
hf_buf_clear(HfBuf *buf)
{
	buf->len = 0;
	if (buf->data)
		buf->data[0] = '\0';
}

/* ---- a list of strings stored in one buffer -------------------------------- */

typedef struct HfPiece
{
	size_t		offset;			/* into HfPieces.text */
	size_t		len;
	/*
	 * Starts at offset 0 of the original text (Metaspace's "first" scheme).
	 * Tracked without alignments: a split keeps it only on its first piece.
	 */
	bool		at_origin;
} HfPiece;

typedef struct HfPieces
{
	HfBuf		text;
	HfPiece    *items;
	size_t		n;
	size_t		cap;
} HfPieces;

/* Append a copy of s (which must not point into pieces->text). */
int			hf_pieces_push(HfPieces *pieces, const char *s, size_t len, bool at_origin,
						   LmError *err);

/* Build a piece in place: append to pieces->text after open(), then close(). */
static inline size_t
hf_pieces_open(const HfPieces *pieces)
{
	return pieces->text.len;
}
int			hf_pieces_close(HfPieces *pieces, size_t start, bool at_origin, LmError *err);

static inline const char *
hf_piece_text(const HfPieces *pieces, size_t i)
{
	return pieces->text.data + pieces->items[i].offset;
}

/*
 * Make room for extra more pieces at once (growing at least twofold): a long
 * list then is not copied over and over as it grows.
 */
int			hf_pieces_reserve(HfPieces *pieces, size_t extra, LmError *err);
void		hf_pieces_clear(HfPieces *pieces);
void		hf_pieces_free(HfPieces *pieces);
void		hf_pieces_swap(HfPieces *a, HfPieces *b);

/* ---- JSON field readers ----------------------------------------------------
 * "what" names the component in messages (e.g. "BPE model").  A missing or
 * null field takes the default; a field of the wrong type is an error.
 */

const char *hf_json_type(const json_t *obj);

/*
 * The "type" names a component family accepts, each with the kind (an enum
 * value of that family) it parses as.
 */
typedef struct HfKindName
{
	const char *name;
	int			kind;
} HfKindName;

#define HF_KINDS_LENGTH(kinds) (sizeof(kinds) / sizeof((kinds)[0]))

/* The kind of a type name; error "unknown <what> type" when the table lacks it. */
int			hf_kind_lookup(const char *type, const HfKindName *kinds, size_t n_kinds,
						   const char *what, int *kind, LmError *err);
/*
 * The kind of a component (what: "normalizer", "decoder", ...) nested depth
 * Sequences deep: errors for nesting deeper than HF_MAX_NESTING, for json
 * that is not an object with a string "type", and for an unknown type.
 */
int			hf_json_kind(const json_t *json, int depth, const HfKindName *kinds,
						 size_t n_kinds, const char *what, int *kind, LmError *err);

int			hf_json_bool(const json_t *obj, const char *key, bool dflt, bool *out,
						 const char *what, LmError *err);
int			hf_json_int(const json_t *obj, const char *key, int64_t dflt, int64_t *out,
						const char *what, LmError *err);
/* *out is NULL when the field is absent or null and not required. */
int			hf_json_string(const json_t *obj, const char *key, bool required,
						   const char **out, size_t *len, const char *what, LmError *err);
/* A malloc'd copy (NULL when absent and not required). */
int			hf_json_strdup(const json_t *obj, const char *key, bool required, char **out,
						   size_t *len, const char *what, LmError *err);
/* A string field holding exactly one character. */
int			hf_json_char(const json_t *obj, const char *key, int32_t dflt, int32_t *out,
						 const char *what, LmError *err);
/* An array field (required). */
int			hf_json_array(const json_t *obj, const char *key, const json_t **out,
						  const char *what, LmError *err);
/* The string value of a JSON string (which may hold NULs); NULL if not a string. */
const char *hf_json_str(const json_t *value, size_t *len);

/* ---- regular expressions (PCRE2, UTF + UCP) -------------------------------- */

typedef struct HfRegex HfRegex;

typedef struct HfSpan
{
	size_t		start;
	size_t		end;
} HfSpan;

typedef struct HfSpans
{
	HfSpan	   *items;
	size_t		n;
	size_t		cap;
} HfSpans;

int			hf_spans_push(HfSpans *spans, size_t start, size_t end, LmError *err);
void		hf_spans_free(HfSpans *spans);

HfRegex    *hf_regex_new(const char *pattern, size_t len, bool literal, LmError *err);
/* A tokenizers "pattern": {"String": "..."} or {"Regex": "..."}. */
HfRegex    *hf_regex_from_json(const json_t *pattern, const char *what, LmError *err);
void		hf_regex_free(HfRegex *re);
/* All matches in valid UTF-8 text, as the tokenizers library iterates them. */
int			hf_regex_find_all(const HfRegex *re, const char *text, size_t len,
							  HfSpans *out, LmError *err);

/* Character classes as Oniguruma (the tokenizers library's engine) sees them. */
#define HF_ONIG_SPACE_CLASS "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
	"\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define HF_ONIG_WORD_CLASS "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}"

/* ---- splitting pieces ------------------------------------------------------ */

typedef enum HfSplitBehavior
{
	HF_SPLIT_REMOVED,
	HF_SPLIT_ISOLATED,
	HF_SPLIT_MERGED_WITH_PREVIOUS,
	HF_SPLIT_MERGED_WITH_NEXT,
	HF_SPLIT_CONTIGUOUS
} HfSplitBehavior;

int			hf_split_behavior_parse(const char *name, HfSplitBehavior *out);

typedef bool (*HfCharPredicate) (int32_t cp, const void *arg);

/* One span per character of valid UTF-8 text that satisfies pred. */
int			hf_char_spans(const char *text, size_t len, HfCharPredicate pred,
						  const void *arg, HfSpans *out, LmError *err);

/*
 * Split text by the matched spans (sorted, non-overlapping) as the given
 * behavior says, appending the non-empty results to out.
 */
int			hf_split_piece(const char *text, size_t len, bool at_origin,
						   const HfSpans *matches, HfSplitBehavior behavior, bool invert,
						   HfPieces *out, LmError *err);

/* ---- character properties (utf8proc) --------------------------------------- */

bool		hf_is_whitespace(int32_t cp);	/* Rust char::is_whitespace */
bool		hf_is_punctuation(int32_t cp);	/* ASCII or Unicode P* */
bool		hf_is_numeric(int32_t cp);	/* Rust char::is_numeric: N* */
bool		hf_is_word_char(int32_t cp);	/* regex \w: alphabetic, mark, Nd, Pc */

/* ---- the GPT-2 byte-level alphabet ----------------------------------------- */

/* The character that stands for byte b. */
int32_t		hf_byte_to_char(uint8_t b);
/* The byte a character stands for, or -1. */
int			hf_char_to_byte(int32_t cp);

/* ---- components ------------------------------------------------------------ */

typedef struct HfNormalizer HfNormalizer;
typedef struct HfPreTokenizer HfPreTokenizer;
typedef struct HfModel HfModel;
typedef struct HfPostProcessor HfPostProcessor;
typedef struct HfDecoder HfDecoder;
typedef struct HfAddedVocab HfAddedVocab;

/* Normalizers: text in, normalized text in out (cleared first). */
HfNormalizer *hf_normalizer_parse(const json_t *json, int depth, LmError *err);
void		hf_normalizer_free(HfNormalizer *norm);
int			hf_normalizer_apply(const HfNormalizer *norm, const char *text, size_t len,
								HfBuf *out, LmError *err);

/* The Precompiled normalizer (SentencePiece charsmap, tokenizers' rules). */
typedef struct HfPrecompiled HfPrecompiled;

HfPrecompiled *hf_precompiled_parse(const json_t *json, LmError *err);
void		hf_precompiled_free(HfPrecompiled *pre);
int			hf_precompiled_apply(const HfPrecompiled *pre, const char *text, size_t len,
								 HfBuf *out, LmError *err);

/* Pre-tokenizers: replace the list of pieces by its split. */
HfPreTokenizer *hf_pretokenizer_parse(const json_t *json, int depth, LmError *err);
void		hf_pretokenizer_free(HfPreTokenizer *pretok);
int			hf_pretokenizer_apply(const HfPreTokenizer *pretok, HfPieces *pieces,
								  LmError *err);

/* Models: one pre-tokenized word in, tokens appended to out. */
HfModel    *hf_model_parse(const json_t *json, LmError *err);
void		hf_model_free(HfModel *model);
int			hf_model_tokenize(const HfModel *model, const char *word, size_t len,
							  LmEncoding *out, LmError *err);
/* The number of entries of the vocabulary (the library's get_vocab_size). */
int32_t		hf_model_vocab_count(const HfModel *model);
/* One past the largest id. */
int32_t		hf_model_id_limit(const HfModel *model);
const char *hf_model_id_to_token(const HfModel *model, int32_t id, size_t *len);
bool		hf_model_token_to_id(const HfModel *model, const char *token, size_t len,
								 int32_t *id);

/* Post-processors: add the special tokens to an encoding. */
HfPostProcessor *hf_postprocessor_parse(const json_t *json, int depth, LmError *err);
void		hf_postprocessor_free(HfPostProcessor *post);
int			hf_postprocessor_apply(const HfPostProcessor *post, LmEncoding *enc,
								   LmError *err);
/* Check every id the post-processor would add is below id_limit. */
int			hf_postprocessor_check_ids(const HfPostProcessor *post, int32_t id_limit,
									   LmError *err);

/* Decoders: one step of the tokenizers library's decode_chain. */
HfDecoder  *hf_decoder_parse(const json_t *json, int depth, LmError *err);
void		hf_decoder_free(HfDecoder *dec);
int			hf_decoder_apply(const HfDecoder *dec, HfPieces *tokens, LmError *err);

/* ---- added tokens ------------------------------------------------------------ */

typedef struct HfAddedSplit
{
	size_t		start;
	size_t		end;
	int32_t		id;				/* -1: ordinary text */
} HfAddedSplit;

typedef struct HfAddedSplits
{
	HfAddedSplit *items;
	size_t		n;
	size_t		cap;
} HfAddedSplits;

HfAddedVocab *hf_added_vocab_parse(const json_t *json, const HfModel *model,
								   const HfNormalizer *norm, LmError *err);
void		hf_added_vocab_free(HfAddedVocab *added);
int32_t		hf_added_vocab_id_limit(const HfAddedVocab *added);
const char *hf_added_vocab_id_to_token(const HfAddedVocab *added, int32_t id, size_t *len);
bool		hf_added_vocab_token_to_id(const HfAddedVocab *added, const char *token,
									   size_t len, int32_t *id);
bool		hf_added_vocab_is_special(const HfAddedVocab *added, const char *token,
									  size_t len);

/*
 * Split text around the added tokens: the non-normalized ones (normalized =
 * false, matched on the raw text) or the normalized ones (matched on
 * normalized text).  Splits cover the text; out is cleared first.
 */
int			hf_added_vocab_split(const HfAddedVocab *added, bool normalized_tokens,
								 const char *text, size_t len, HfAddedSplits *out,
								 LmError *err);
void		hf_added_splits_free(HfAddedSplits *splits);

#endif
