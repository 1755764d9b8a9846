/*
 * spm_word_char.c — sentencepiece's two simple models: WORD splits the
 * normalized text at escaped spaces (SplitIntoWords in model_interface.cc)
 * and CHAR into characters (user-defined pieces kept whole); each part gets
 * its id by PieceToId.
 */
#include <string.h>

#include "tokenizer/spm_internal.h"

static bool
is_space_symbol(const char *s, size_t len)
{
	return len == SPM_SPACE_SYMBOL_LEN && memcmp(s, SPM_SPACE_SYMBOL, SPM_SPACE_SYMBOL_LEN) == 0;
}

static int
push_word(const LmSpmTokenizer *tok, const char *text, size_t start, size_t len,
		  SpmSegments *out, LmError *err)
{
	return spm_segments_push(out, start, len, spm_piece_to_id(tok, text + start, len), err);
}

int
spm_word_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
				SpmSegments *out, LmError *err)
{
	const bool	allow_ws_only = tok->proto.allow_whitespace_only_pieces;
	bool		in_ws_sequence = false;
	bool		have_word = false;
	size_t		word_start = 0;
	size_t		pos = 0;
	size_t		work = 0;

	if (tok->proto.treat_whitespace_as_suffix)
	{
		/* spaces close the word before them */
		have_word = len > 0;
		while (pos < len)
		{
			size_t		mblen = spm_one_char_len(text + pos, len - pos);
			bool		is_ws = is_space_symbol(text + pos, mblen);

			if (tok_cancel_step(&work, mblen, err) != 0)
				return -1;
			if (is_ws)
				in_ws_sequence = true;
			else if (in_ws_sequence)
			{
				if (allow_ws_only)
				{
					if (push_word(tok, text, word_start, pos - word_start, out, err) != 0)
						return -1;
					word_start = pos;
				}
				in_ws_sequence = false;
			}
			pos += mblen;
			if (pos < len && is_ws && !allow_ws_only)
			{
				if (push_word(tok, text, word_start, pos - word_start, out, err) != 0)
					return -1;
				word_start = pos;
			}
		}
	}
	else
	{
		/* spaces open the word after them */
		while (pos < len)
		{
			size_t		mblen = spm_one_char_len(text + pos, len - pos);
			bool		is_ws = is_space_symbol(text + pos, mblen);

			if (tok_cancel_step(&work, mblen, err) != 0)
				return -1;
			if (pos == 0 || (is_ws && (!in_ws_sequence || !allow_ws_only)))
			{
				if (have_word &&
					push_word(tok, text, word_start, pos - word_start, out, err) != 0)
					return -1;
				have_word = true;
				word_start = pos;
				in_ws_sequence = true;
			}
			if (in_ws_sequence && !is_ws)
				in_ws_sequence = false;
			pos += mblen;
		}
	}
	if (have_word)
		return push_word(tok, text, word_start, len - word_start, out, err);
	return 0;
}

int
spm_char_encode(const LmSpmTokenizer *tok, const char *text, size_t len,
				SpmSegments *out, LmError *err)
{
	size_t		pos = 0;
	size_t		work = 0;

	while (pos < len)
	{
		size_t		mblen = spm_match_user_symbol(tok, text + pos, len - pos);

		if (mblen == 0)
			mblen = spm_one_char_len(text + pos, len - pos);
		if (tok_cancel_step(&work, mblen, err) != 0 ||
			push_word(tok, text, pos, mblen, out, err) != 0)
			return -1;
		pos += mblen;
	}
	return 0;
}
