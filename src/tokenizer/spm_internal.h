/*
 * spm_internal.h — what the SentencePiece files (spm_*.c, charsmap.c) share:
 * the parsed ModelProto, the vocabulary lookups, the tokenizer object and
 * the steps of encoding.  Not part of the engine's public API.
 */
#ifndef LM_SPM_INTERNAL_H
#define LM_SPM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/charsmap.h"
#include "tokenizer/spm.h"
#include "tokenizer/tok_cancel.h"
#include "util/lm_error.h"

/* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's escaped space. */
#define SPM_SPACE_SYMBOL "\xE2\x96\x81"
#define SPM_SPACE_SYMBOL_LEN 3

/* trainer_spec.unk_surface's default: " U+2047 ". */
#define SPM_DEFAULT_UNK_SURFACE " \xE2\x81\x87 "

/* sentencepiece rejects pieces this long (model_interface.cc). */
#define SPM_MAX_PIECE_BYTES 8000

/* Byte pieces are spelled "<0xXX>". */
#define SPM_BYTE_PIECE_LEN 6
#define SPM_BYTE_COUNT 256

/* ModelProto.SentencePiece.Type */
typedef enum SpmPieceType
{
	SPM_PIECE_NORMAL = 1,
	SPM_PIECE_UNKNOWN = 2,
	SPM_PIECE_CONTROL = 3,
	SPM_PIECE_USER_DEFINED = 4,
	SPM_PIECE_UNUSED = 5,
	SPM_PIECE_BYTE = 6
} SpmPieceType;

/* TrainerSpec.ModelType */
typedef enum SpmModelType
{
	SPM_MODEL_UNIGRAM = 1,
	SPM_MODEL_BPE = 2,
	SPM_MODEL_WORD = 3,
	SPM_MODEL_CHAR = 4
} SpmModelType;

typedef struct SpmPiece
{
	char	   *text;			/* NUL-terminated (pieces never hold NUL) */
	uint32_t	len;
	float		score;
	SpmPieceType type;
} SpmPiece;

/* NormalizerSpec; the defaults are the proto's. */
typedef struct SpmNormalizerSpec
{
	char	   *name;
	uint8_t    *charsmap;		/* precompiled_charsmap, NULL when empty */
	size_t		charsmap_len;
	bool		add_dummy_prefix;
	bool		remove_extra_whitespaces;
	bool		escape_whitespaces;
} SpmNormalizerSpec;

/* The fields of a ModelProto that encoding and decoding use. */
typedef struct SpmModelProto
{
	SpmPiece   *pieces;
	int32_t		n_pieces;
	size_t		pieces_capacity;

	/* TrainerSpec */
	SpmModelType model_type;
	bool		byte_fallback;
	bool		treat_whitespace_as_suffix;
	bool		allow_whitespace_only_pieces;
	char	   *unk_surface;	/* NULL: SPM_DEFAULT_UNK_SURFACE */
	char	   *bos_piece;		/* NULL: "<s>" */
	char	   *eos_piece;		/* NULL: "</s>" */

	SpmNormalizerSpec normalizer;
	bool		has_denormalizer;
	SpmNormalizerSpec denormalizer;
} SpmModelProto;

/* spm_proto.c: the protobuf wire-format reader. */
int			spm_proto_parse(const uint8_t *data, size_t len, SpmModelProto *proto,
							LmError *err);
void		spm_proto_free(SpmModelProto *proto);

/* spm_vocab.c: piece -> id hash maps and byte tries over the pieces. */
typedef struct SpmPieceMap
{
	int32_t    *slots;			/* piece ids, -1 for empty */
	size_t		mask;			/* slot count - 1 (a power of two) */
	const SpmPiece *pieces;
} SpmPieceMap;

typedef struct SpmTrieEdge
{
	uint32_t	parent;
	uint32_t	child;			/* 0 (the root) marks an empty slot */
	uint8_t		label;
} SpmTrieEdge;

typedef struct SpmTrie
{
	SpmTrieEdge *edges;			/* hash of (parent, label) -> child */
	size_t		edge_mask;
	int32_t    *values;			/* per node: the piece id ending here, or -1 */
	size_t		n_nodes;
} SpmTrie;

#define SPM_TRIE_ROOT 0
#define SPM_TRIE_NONE UINT32_MAX

/* Adds the ids whose piece type is in type_mask (bit 1 << type); a
 * duplicate piece fails with "already defined". */
int			spm_piece_map_build(SpmPieceMap *map, const SpmPiece *pieces, int32_t n,
								unsigned type_mask, LmError *err);
int32_t		spm_piece_map_find(const SpmPieceMap *map, const char *s, size_t len);
void		spm_piece_map_free(SpmPieceMap *map);

int			spm_trie_build(SpmTrie *trie, const SpmPiece *pieces, int32_t n,
						   unsigned type_mask, LmError *err);
/* The child of node by label, or SPM_TRIE_NONE. */
uint32_t	spm_trie_step(const SpmTrie *trie, uint32_t node, uint8_t label);
void		spm_trie_free(SpmTrie *trie);

#define SPM_TYPE_BIT(t) (1u << (t))

/* The loaded tokenizer. */
struct LmSpmTokenizer
{
	SpmModelProto proto;
	SpmPieceMap normal_map;		/* NORMAL, USER_DEFINED, UNUSED pieces */
	SpmPieceMap reserved_map;	/* UNKNOWN, CONTROL, BYTE pieces */
	SpmTrie		piece_trie;		/* the normal pieces, for Unigram */
	SpmTrie		user_trie;		/* USER_DEFINED pieces, never split */
	bool		has_user_defined;
	LmCharsmap *charsmap;
	LmCharsmap *denorm_charsmap;
	int32_t		unk_id;
	int32_t		bos_id;			/* control piece named by bos_piece, or -1 */
	int32_t		eos_id;
	float		min_score;		/* over NORMAL pieces (Unigram) */
	float		max_score;
	int32_t		byte_ids[SPM_BYTE_COUNT];	/* id of "<0xXX>", unk when absent */
};

static inline bool
spm_is_type(const LmSpmTokenizer *tok, int32_t id, SpmPieceType type)
{
	return id >= 0 && id < tok->proto.n_pieces && tok->proto.pieces[id].type == type;
}

/* sentencepiece's PieceToId: reserved pieces first, then normal, else unk. */
int32_t		spm_piece_to_id(const LmSpmTokenizer *tok, const char *s, size_t len);

/* The byte a "<0xXX>" piece stands for, else -1. */
int			spm_piece_byte(const LmSpmTokenizer *tok, int32_t id);

/* string_util::OneCharLen: the UTF-8 length its lead byte announces. */
static inline size_t
spm_one_char_len(const char *s, size_t len)
{
	static const uint8_t lengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
	size_t		n = lengths[((uint8_t) s[0]) >> 4];

	return n < len ? n : len;
}

/* charsmap.c: one character of well-formed UTF-8 under sentencepiece's rules. */
bool		lm_spm_utf8_char(const char *text, size_t len, size_t *mblen);

/* charsmap.c: sentencepiece's NormalizePrefix without user symbols: the
 * replacement for the longest charsmap key at the start of text (map may be
 * NULL), else one UTF-8 character, else U+FFFD for one malformed byte. */
int			lm_charsmap_prefix(const LmCharsmap *map, const char *text, size_t len,
							   const char **out, size_t *out_len, size_t *consumed,
							   LmError *err);

/* A growable byte string. */
typedef struct SpmBuffer
{
	char	   *data;
	size_t		len;
	size_t		cap;
} SpmBuffer;

int			spm_buffer_append(SpmBuffer *buf, const char *s, size_t len, LmError *err);

/* spm_normalize.c: Normalizer::Normalize. *out is malloc'd (NUL-terminated). */
int			spm_normalize(const LmSpmTokenizer *tok, const SpmNormalizerSpec *spec,
						  const LmCharsmap *map, bool use_user_symbols,
						  bool treat_whitespace_as_suffix,
						  const char *text, size_t len, char **out, size_t *out_len,
						  LmError *err);
/* The length of the user-defined piece at the start of text (0 if none). */
size_t		spm_match_user_symbol(const LmSpmTokenizer *tok, const char *text, size_t len);

/* One segment of the normalized text chosen by a model. */
typedef struct SpmSegment
{
	size_t		start;			/* byte offset in the normalized text */
	size_t		len;
	int32_t		id;
} SpmSegment;

typedef struct SpmSegments
{
	SpmSegment *items;
	size_t		n;
	size_t		cap;
} SpmSegments;

int			spm_segments_push(SpmSegments *segs, size_t start, size_t len, int32_t id,
							  LmError *err);
/* Make room for extra more segments at once (growing at least twofold). */
int			spm_segments_reserve(SpmSegments *segs, size_t extra, LmError *err);

/* The models: segment normalized text. */
int			spm_unigram_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
							   SpmSegments *out, LmError *err);
int			spm_bpe_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
						   SpmSegments *out, LmError *err);
int			spm_word_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
							SpmSegments *out, LmError *err);
int			spm_char_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
							SpmSegments *out, LmError *err);

#endif
