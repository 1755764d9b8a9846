/*
 * spm_decode.c — SentencePieceProcessor::Decode: ids to pieces, control
 * pieces dropped, the unknown piece shown as trainer_spec.unk_surface
 * (" \u2047 " by default), runs of byte pieces fused back into UTF-8 (a
 * malformed byte becomes U+FFFD), U+2581 turned back into spaces, and the
 * space of the dummy prefix stripped from the first piece.  A denormalizer
 * charsmap, when the model has one, is applied last.
 *
 * skip_special_tokens changes nothing: sentencepiece never shows control
 * pieces and always shows the unknown piece's surface, and the reference
 * outputs keep it.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

static const char kReplacementChar[] = "\xEF\xBF\xBD";
#define REPLACEMENT_CHAR_LEN 3

/* ProcessBytePieces: the bytes of a run of byte pieces, as UTF-8. */
static int
flush_bytes(SpmBuffer *text, const uint8_t *bytes, size_t n, LmError *err)
{
	size_t		offset = 0;
	size_t		work = 0;

	while (offset < n)
	{
		size_t		consumed;
		int			rc;

		/* A run of byte pieces can be the whole text. */
		if (tok_cancel_step(&work, 1, err) != 0)
			return -1;
		if (lm_spm_utf8_char((const char *) bytes + offset, n - offset, &consumed))
			rc = spm_buffer_append(text, (const char *) bytes + offset, consumed, err);
		else
			rc = spm_buffer_append(text, kReplacementChar, REPLACEMENT_CHAR_LEN, err);
		if (rc != 0)
			return -1;
		offset += consumed;
	}
	return 0;
}

/* Append piece with U+2581 replaced by a space. */
static int
append_unescaped(SpmBuffer *text, const char *piece, size_t len, LmError *err)
{
	size_t		run = 0;

	for (size_t i = 0; i + SPM_SPACE_SYMBOL_LEN <= len;)
	{
		if (memcmp(piece + i, SPM_SPACE_SYMBOL, SPM_SPACE_SYMBOL_LEN) == 0)
		{
			if (spm_buffer_append(text, piece + run, i - run, err) != 0 ||
				spm_buffer_append(text, " ", 1, err) != 0)
				return -1;
			i += SPM_SPACE_SYMBOL_LEN;
			run = i;
		}
		else
			i++;
	}
	return spm_buffer_append(text, piece + run, len - run, err);
}

/*
 * DecodeSentencePiece for one non-byte piece.  *has_bos_ws tells whether
 * it consumed the dummy-prefix space.
 */
static int
decode_piece(const LmSpmTokenizer *tok, SpmBuffer *text, int32_t id, bool is_bos_ws,
			 bool *has_bos_ws, LmError *err)
{
	const SpmNormalizerSpec *spec = &tok->proto.normalizer;
	const char *piece = tok->proto.pieces[id].text;
	size_t		len = tok->proto.pieces[id].len;

	*has_bos_ws = false;
	if (spm_is_type(tok, id, SPM_PIECE_CONTROL))
		return 0;
	if (spm_is_type(tok, id, SPM_PIECE_UNKNOWN))
	{
		const char *surface = tok->proto.unk_surface ? tok->proto.unk_surface :
			SPM_DEFAULT_UNK_SURFACE;

		return spm_buffer_append(text, surface, strlen(surface), err);
	}
	if (is_bos_ws && (spec->add_dummy_prefix || spec->remove_extra_whitespaces))
	{
		if (len >= SPM_SPACE_SYMBOL_LEN &&
			memcmp(piece, SPM_SPACE_SYMBOL, SPM_SPACE_SYMBOL_LEN) == 0)
		{
			piece += SPM_SPACE_SYMBOL_LEN;
			len -= SPM_SPACE_SYMBOL_LEN;
			/* with remove_extra_whitespaces every leading space goes */
			*has_bos_ws = !spec->remove_extra_whitespaces;
		}
	}
	return append_unescaped(text, piece, len, err);
}

static int
decode_pieces(const LmSpmTokenizer *tok, const int32_t *ids, size_t n, SpmBuffer *text,
			  LmError *err)
{
	uint8_t    *bytes = lm_malloc(n, err);
	size_t		n_bytes = 0;
	bool		is_bos_ws = true;
	bool		bos_ws_seen = false;
	size_t		work = 0;
	int			rc = 0;

	if (bytes == NULL)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
	{
		const SpmPiece *piece = &tok->proto.pieces[ids[i]];
		/* Decode(pieces) looks each piece up again, reserved pieces first */
		int32_t		id = spm_piece_to_id(tok, piece->text, piece->len);

		if ((rc = tok_cancel_step(&work, piece->len + 1, err)) != 0)
			break;
		if (spm_is_type(tok, id, SPM_PIECE_BYTE))
		{
			bytes[n_bytes++] = (uint8_t) spm_piece_byte(tok, id);
			continue;
		}
		rc = flush_bytes(text, bytes, n_bytes, err);
		n_bytes = 0;
		if (rc != 0)
			break;
		if (bos_ws_seen || text->len > 0)
			is_bos_ws = false;
		rc = decode_piece(tok, text, id, is_bos_ws, &bos_ws_seen, err);
	}
	if (rc == 0)
		rc = flush_bytes(text, bytes, n_bytes, err);
	free(bytes);
	return rc;
}

char *
lm_spm_decode(const LmSpmTokenizer *tok, const int32_t *ids, size_t n,
			  bool skip_special_tokens, LmError *err)
{
	SpmBuffer	text = {0};
	size_t		work = 0;

	(void) skip_special_tokens;
	if (ids == NULL && n > 0)
	{
		lm_fail(err, LM_ERR_INVALID_ARGUMENT, "no ids to decode");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
	{
		if (ids[i] < 0 || ids[i] >= tok->proto.n_pieces)
		{
			lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					"token id %d at position %zu is outside the vocabulary (0..%d)",
					ids[i], i, tok->proto.n_pieces - 1);
			return NULL;
		}
		if (tok_cancel_step(&work, 1, err) != 0)
			return NULL;
	}
	if (spm_buffer_append(&text, "", 0, err) != 0 ||
		decode_pieces(tok, ids, n, &text, err) != 0)
	{
		free(text.data);
		return NULL;
	}
	if (tok->denorm_charsmap != NULL)
	{
		char	   *denormalized;
		size_t		denormalized_len;

		if (spm_normalize(tok, &tok->proto.denormalizer, tok->denorm_charsmap, false, false,
						  text.data, text.len, &denormalized, &denormalized_len, err) != 0)
		{
			free(text.data);
			return NULL;
		}
		free(text.data);
		return denormalized;
	}
	return text.data;
}
