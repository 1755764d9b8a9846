/*
 * spm.c — SentencePiece .model tokenizers: loading (the checks of
 * sentencepiece's ModelInterface::InitializePieces), encoding (normalize,
 * segment with the model, then the processor's treatment of unknown pieces)
 * and the vocabulary lookups.  Decoding lives in spm_decode.c.
 *
 * add_special_tokens: sentencepiece itself adds nothing.  Like transformers'
 * slow LlamaTokenizer (add_bos_token=True, add_eos_token=False), we prepend
 * BOS when the model has one, i.e. when trainer_spec.bos_piece (default
 * "<s>") names a CONTROL piece, and append nothing.  Models whose convention
 * differs (T5 appends </s>, NLLB adds language codes) take those tokens from
 * their tokenizer.json or the caller.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

#define DEFAULT_BOS_PIECE "<s>"
#define DEFAULT_EOS_PIECE "</s>"
#define BYTE_PIECE_FORMAT "<0x%02X>"
#define SEGMENTS_MIN_CAPACITY 64

int
spm_buffer_append(SpmBuffer *buf, const char *s, size_t len, LmError *err)
{
	if (buf->len + len + 1 > buf->cap)
	{
		size_t		cap = buf->cap ? buf->cap : 64;
		char	   *grown;

		while (cap < buf->len + len + 1)
			cap *= 2;
		grown = lm_realloc(buf->data, cap, err);
		if (grown == NULL)
			return -1;
		buf->data = grown;
		buf->cap = cap;
	}
	if (len > 0)
		memcpy(buf->data + buf->len, s, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

/* Room at once for a long list: growing it copies it, with no check meanwhile. */
int
spm_segments_reserve(SpmSegments *segs, size_t extra, LmError *err)
{
	size_t		need = segs->n + extra;
	size_t		cap = segs->cap ? segs->cap * 2 : SEGMENTS_MIN_CAPACITY;
	SpmSegment *grown;

	if (need <= segs->cap)
		return 0;
	if (cap < need)
		cap = need;
	grown = lm_realloc(segs->items, cap * sizeof(SpmSegment), err);
	if (grown == NULL)
		return -1;
	segs->items = grown;
	segs->cap = cap;
	return 0;
}

int
spm_segments_push(SpmSegments *segs, size_t start, size_t len, int32_t id, LmError *err)
{
	if (segs->n == segs->cap && spm_segments_reserve(segs, 1, err) != 0)
		return -1;
	segs->items[segs->n].start = start;
	segs->items[segs->n].len = len;
	segs->items[segs->n].id = id;
	segs->n++;
	return 0;
}

int32_t
spm_piece_to_id(const LmSpmTokenizer *tok, const char *s, size_t len)
{
	int32_t		id = spm_piece_map_find(&tok->reserved_map, s, len);

	if (id < 0)
		id = spm_piece_map_find(&tok->normal_map, s, len);
	return id < 0 ? tok->unk_id : id;
}

/* "<0xXX>" (upper-case hex) -> XX, else -1: sentencepiece's PieceToByte. */
static int
piece_to_byte(const SpmPiece *piece)
{
	char		spelled[SPM_BYTE_PIECE_LEN + 1];
	unsigned	byte;

	if (piece->len != SPM_BYTE_PIECE_LEN ||
		sscanf(piece->text, "<0x%2X>", &byte) != 1 || byte >= SPM_BYTE_COUNT)
		return -1;
	snprintf(spelled, sizeof(spelled), BYTE_PIECE_FORMAT, byte);
	return strcmp(spelled, piece->text) == 0 ? (int) byte : -1;
}

int
spm_piece_byte(const LmSpmTokenizer *tok, int32_t id)
{
	if (id < 0 || id >= tok->proto.n_pieces)
		return -1;
	return piece_to_byte(&tok->proto.pieces[id]);
}

/* The pieces' types and byte pieces, as InitializePieces checks them. */
static int
check_pieces(LmSpmTokenizer *tok, LmError *err)
{
	const SpmModelProto *proto = &tok->proto;
	bool		byte_found[SPM_BYTE_COUNT] = {false};

	tok->unk_id = -1;
	for (int32_t id = 0; id < proto->n_pieces; id++)
	{
		const SpmPiece *piece = &proto->pieces[id];

		if (piece->type == SPM_PIECE_UNKNOWN)
		{
			if (tok->unk_id >= 0)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "pieces %d and %d are both the unknown piece", tok->unk_id, id);
			tok->unk_id = id;
		}
		if (piece->type == SPM_PIECE_BYTE)
		{
			int			byte = piece_to_byte(piece);

			if (!proto->byte_fallback)
				return lm_fail(err, LM_ERR_CORRUPT,
							   "byte piece %d \"%.16s\" found although byte_fallback is false",
							   id, piece->text);
			if (byte < 0)
				return lm_fail(err, LM_ERR_CORRUPT, "byte piece %d \"%.16s\" is not <0xXX>",
							   id, piece->text);
			byte_found[byte] = true;
		}
		if (piece->type == SPM_PIECE_USER_DEFINED)
			tok->has_user_defined = true;
	}
	if (tok->unk_id < 0)
	{
		lm_fail(err, LM_ERR_CORRUPT, "the model has no unknown piece");
		lm_hint(err, "A SentencePiece model needs exactly one piece of type UNKNOWN.");
		return -1;
	}
	if (proto->byte_fallback)
		for (int b = 0; b < SPM_BYTE_COUNT; b++)
			if (!byte_found[b])
				return lm_fail(err, LM_ERR_CORRUPT,
							   "byte_fallback is set but byte piece <0x%02X> is missing", b);
	return 0;
}

/* bos_id()/eos_id(): the named piece's id when it is a control piece. */
static int32_t
control_id(const LmSpmTokenizer *tok, const char *name, const char *fallback)
{
	const char *piece = (name != NULL && name[0] != '\0') ? name : fallback;
	int32_t		id = spm_piece_to_id(tok, piece, strlen(piece));

	return spm_is_type(tok, id, SPM_PIECE_CONTROL) ? id : -1;
}

static int
load_charsmaps(LmSpmTokenizer *tok, LmError *err)
{
	const SpmModelProto *proto = &tok->proto;

	if (proto->normalizer.charsmap_len > 0)
	{
		tok->charsmap = lm_charsmap_load(proto->normalizer.charsmap,
										 proto->normalizer.charsmap_len, err);
		if (tok->charsmap == NULL)
		{
			lm_error_prefix(err, "normalizer_spec.precompiled_charsmap");
			return -1;
		}
	}
	if (proto->has_denormalizer && proto->denormalizer.charsmap_len > 0)
	{
		tok->denorm_charsmap = lm_charsmap_load(proto->denormalizer.charsmap,
												proto->denormalizer.charsmap_len, err);
		if (tok->denorm_charsmap == NULL)
		{
			lm_error_prefix(err, "denormalizer_spec.precompiled_charsmap");
			return -1;
		}
	}
	return 0;
}

LmSpmTokenizer *
lm_spm_load(const uint8_t *data, size_t len, LmError *err)
{
	LmSpmTokenizer *tok = lm_calloc(1, sizeof(LmSpmTokenizer), err);
	const unsigned normal_types = SPM_TYPE_BIT(SPM_PIECE_NORMAL) |
		SPM_TYPE_BIT(SPM_PIECE_USER_DEFINED) | SPM_TYPE_BIT(SPM_PIECE_UNUSED);
	const unsigned reserved_types = SPM_TYPE_BIT(SPM_PIECE_UNKNOWN) |
		SPM_TYPE_BIT(SPM_PIECE_CONTROL) | SPM_TYPE_BIT(SPM_PIECE_BYTE);
	SpmModelProto *proto;

	if (tok == NULL)
		return NULL;
	proto = &tok->proto;
	if (data == NULL || spm_proto_parse(data, len, proto, err) != 0)
	{
		if (data == NULL)
			lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no SentencePiece model data");
		goto fail;
	}
	if (check_pieces(tok, err) != 0 ||
		spm_piece_map_build(&tok->normal_map, proto->pieces, proto->n_pieces,
							normal_types, err) != 0 ||
		spm_piece_map_build(&tok->reserved_map, proto->pieces, proto->n_pieces,
							reserved_types, err) != 0)
		goto fail;

	if (proto->model_type == SPM_MODEL_UNIGRAM)
	{
		tok->min_score = FLT_MAX;
		tok->max_score = FLT_MIN;	/* sic: sentencepiece starts from FLT_MIN */
		for (int32_t id = 0; id < proto->n_pieces; id++)
		{
			if (proto->pieces[id].type != SPM_PIECE_NORMAL)
				continue;
			if (proto->pieces[id].score < tok->min_score)
				tok->min_score = proto->pieces[id].score;
			if (proto->pieces[id].score > tok->max_score)
				tok->max_score = proto->pieces[id].score;
		}
		if (spm_trie_build(&tok->piece_trie, proto->pieces, proto->n_pieces,
						   normal_types, err) != 0)
			goto fail;
		if (tok->piece_trie.n_nodes <= 1)
		{
			lm_fail(err, LM_ERR_CORRUPT, "the Unigram model has no normal pieces");
			goto fail;
		}
	}
	if (tok->has_user_defined &&
		spm_trie_build(&tok->user_trie, proto->pieces, proto->n_pieces,
					   SPM_TYPE_BIT(SPM_PIECE_USER_DEFINED), err) != 0)
		goto fail;
	if (load_charsmaps(tok, err) != 0)
		goto fail;

	tok->bos_id = control_id(tok, proto->bos_piece, DEFAULT_BOS_PIECE);
	tok->eos_id = control_id(tok, proto->eos_piece, DEFAULT_EOS_PIECE);
	for (int b = 0; b < SPM_BYTE_COUNT; b++)
	{
		char		piece[SPM_BYTE_PIECE_LEN + 1];

		snprintf(piece, sizeof(piece), BYTE_PIECE_FORMAT, b);
		tok->byte_ids[b] = spm_piece_to_id(tok, piece, SPM_BYTE_PIECE_LEN);
	}
	return tok;

fail:
	lm_spm_free(tok);
	return NULL;
}

void
lm_spm_free(LmSpmTokenizer *tok)
{
	if (tok == NULL)
		return;
	spm_piece_map_free(&tok->normal_map);
	spm_piece_map_free(&tok->reserved_map);
	spm_trie_free(&tok->piece_trie);
	spm_trie_free(&tok->user_trie);
	lm_charsmap_free(tok->charsmap);
	lm_charsmap_free(tok->denorm_charsmap);
	spm_proto_free(&tok->proto);
	free(tok);
}

static int
segment(const LmSpmTokenizer *tok, const char *text, size_t len, SpmSegments *segs,
		LmError *err)
{
	switch (tok->proto.model_type)
	{
		case SPM_MODEL_UNIGRAM:
			return spm_unigram_encode(tok, text, len, segs, err);
		case SPM_MODEL_BPE:
			return spm_bpe_encode(tok, text, len, segs, err);
		case SPM_MODEL_WORD:
			return spm_word_encode(tok, text, len, segs, err);
		case SPM_MODEL_CHAR:
			return spm_char_encode(tok, text, len, segs, err);
	}
	return lm_fail(err, LM_ERR_INTERNAL, "unknown model type %d", (int) tok->proto.model_type);
}

/* With byte_fallback: an unknown piece becomes its bytes as <0xXX> pieces. */
static int
push_bytes(const LmSpmTokenizer *tok, const char *w, size_t len, LmEncoding *out,
		   size_t *work, LmError *err)
{
	for (size_t b = 0; b < len; b++)
	{
		char		piece[SPM_BYTE_PIECE_LEN + 1];
		uint8_t		byte = (uint8_t) w[b];

		snprintf(piece, sizeof(piece), BYTE_PIECE_FORMAT, byte);
		if (tok_cancel_step(work, 1, err) != 0 ||
			lm_encoding_push(out, tok->byte_ids[byte], piece, SPM_BYTE_PIECE_LEN, err) != 0)
			return -1;
	}
	return 0;
}

/*
 * Without byte_fallback: the run of unknown pieces starting at *i becomes
 * one token, with the first one's id, spelled as the run's text; *i moves to
 * the run's last piece.  Each piece's text counts up to a NUL, as when the
 * token grew by strlen and append, but it is built in one pass: a long run
 * no longer takes quadratic time.
 */
static int
push_unknown_run(const LmSpmTokenizer *tok, const char *normalized, const SpmSegments *segs,
				 size_t *i, LmEncoding *out, size_t *work, LmError *err)
{
	SpmBuffer	run = {0};
	size_t		k = *i;
	int			rc = 0;

	for (; k < segs->n && spm_is_type(tok, segs->items[k].id, SPM_PIECE_UNKNOWN) && rc == 0;
		 k++)
	{
		const SpmSegment *seg = &segs->items[k];
		const char *w = normalized + seg->start;

		rc = tok_cancel_step(work, seg->len + 1, err);
		if (rc == 0)
			rc = spm_buffer_append(&run, w, strnlen(w, seg->len), err);
	}
	if (rc == 0)
		rc = lm_encoding_push(out, segs->items[*i].id, run.data, run.len, err);
	free(run.data);
	*i = k - 1;
	return rc;
}

/*
 * PopulateSentencePieceText: with byte_fallback an unknown piece becomes
 * its UTF-8 bytes as <0xXX> pieces; without it, a run of unknown pieces
 * becomes one token (still the unknown id) spelled as the run's text.
 */
static int
populate(const LmSpmTokenizer *tok, const char *normalized, const SpmSegments *segs,
		 LmEncoding *out, LmError *err)
{
	size_t		work = 0;

	if (lm_encoding_reserve(out, segs->n, err) != 0)
		return -1;
	for (size_t i = 0; i < segs->n; i++)
	{
		const SpmSegment *seg = &segs->items[i];
		bool		is_unk = spm_is_type(tok, seg->id, SPM_PIECE_UNKNOWN);
		int			rc;

		if (tok_cancel_step(&work, 1, err) != 0)
			return -1;
		if (is_unk && tok->proto.byte_fallback)
			rc = push_bytes(tok, normalized + seg->start, seg->len, out, &work, err);
		else if (is_unk)
			rc = push_unknown_run(tok, normalized, segs, &i, out, &work, err);
		else
			rc = lm_encoding_push(out, seg->id, normalized + seg->start, seg->len, err);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
lm_spm_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
			  bool add_special_tokens, size_t max_tokens, LmEncoding *out, LmError *err)
{
	char	   *normalized = NULL;
	size_t		normalized_len = 0;
	SpmSegments segs = {0};
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	out->limit = max_tokens;
	if (text == NULL && len > 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no text to encode");
	if (add_special_tokens && tok->bos_id >= 0 &&
		lm_encoding_push(out, tok->bos_id, tok->proto.pieces[tok->bos_id].text,
						 tok->proto.pieces[tok->bos_id].len, err) != 0)
		goto done;
	if (len == 0)
	{
		rc = 0;
		goto done;
	}
	if (spm_normalize(tok, &tok->proto.normalizer, tok->charsmap, true,
					  tok->proto.treat_whitespace_as_suffix, text, len,
					  &normalized, &normalized_len, err) != 0 ||
		segment(tok, normalized, normalized_len, &segs, err) != 0 ||
		populate(tok, normalized, &segs, out, err) != 0)
		goto done;
	rc = 0;

done:
	if (rc != 0)
		lm_encoding_free(out);
	free(normalized);
	free(segs.items);
	return rc;
}

int32_t
lm_spm_vocab_size(const LmSpmTokenizer *tok)
{
	return tok->proto.n_pieces;
}

const char *
lm_spm_id_to_token(const LmSpmTokenizer *tok, int32_t id)
{
	if (id < 0 || id >= tok->proto.n_pieces)
		return NULL;
	return tok->proto.pieces[id].text;
}

int32_t
lm_spm_token_to_id(const LmSpmTokenizer *tok, const char *token)
{
	size_t		len;
	int32_t		id;

	if (token == NULL)
		return -1;
	len = strlen(token);
	id = spm_piece_map_find(&tok->reserved_map, token, len);
	return id >= 0 ? id : spm_piece_map_find(&tok->normal_map, token, len);
}
