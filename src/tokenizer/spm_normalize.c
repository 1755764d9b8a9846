/*
 * spm_normalize.c — sentencepiece's Normalizer::Normalize: charsmap
 * replacement, removal of leading, trailing and repeated spaces, escaping of
 * spaces as U+2581 and the dummy prefix (or suffix).  User-defined pieces are
 * copied through untouched, as the processor's prefix matcher makes them.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

size_t
spm_match_user_symbol(const LmSpmTokenizer *tok, const char *text, size_t len)
{
	uint32_t	node = SPM_TRIE_ROOT;
	size_t		longest = 0;

	if (!tok->has_user_defined)
		return 0;
	for (size_t i = 0; i < len; i++)
	{
		node = spm_trie_step(&tok->user_trie, node, (uint8_t) text[i]);
		if (node == SPM_TRIE_NONE)
			break;
		if (tok->user_trie.values[node] >= 0)
			longest = i + 1;
	}
	return longest;
}

/* NormalizePrefix: the normalized form of the text's first unit. */
static int
normalize_prefix(const LmSpmTokenizer *tok, const LmCharsmap *map, bool use_user_symbols,
				 const char *text, size_t len, const char **out, size_t *out_len,
				 size_t *consumed, LmError *err)
{
	if (use_user_symbols)
	{
		size_t		user_len = spm_match_user_symbol(tok, text, len);

		if (user_len > 0)
		{
			*out = text;
			*out_len = user_len;
			*consumed = user_len;
			return 0;
		}
	}
	return lm_charsmap_prefix(map, text, len, out, out_len, consumed, err);
}

static int
append_space(SpmBuffer *buf, const SpmNormalizerSpec *spec, LmError *err)
{
	if (spec->escape_whitespaces)
		return spm_buffer_append(buf, SPM_SPACE_SYMBOL, SPM_SPACE_SYMBOL_LEN, err);
	return spm_buffer_append(buf, " ", 1, err);
}

int
spm_normalize(const LmSpmTokenizer *tok, const SpmNormalizerSpec *spec,
			  const LmCharsmap *map, bool use_user_symbols,
			  bool treat_whitespace_as_suffix,
			  const char *text, size_t len, char **out, size_t *out_len,
			  LmError *err)
{
	SpmBuffer	buf = {0};
	const char *piece;
	size_t		piece_len;
	size_t		consumed;
	bool		is_prev_space;
	size_t		work = 0;

	*out = NULL;
	*out_len = 0;

	/* Leading spaces go (the text must be empty or start with a non-space). */
	if (spec->remove_extra_whitespaces)
	{
		while (len > 0)
		{
			if (tok_cancel_step(&work, 1, err) != 0 ||
				normalize_prefix(tok, map, use_user_symbols, text, len,
								 &piece, &piece_len, &consumed, err) != 0)
				return -1;
			if (piece_len != 1 || piece[0] != ' ')
				break;
			text += consumed;
			len -= consumed;
		}
	}
	if (len == 0)
	{
		*out = lm_strndup("", 0, err);
		return *out ? 0 : -1;
	}

	if (!treat_whitespace_as_suffix && spec->add_dummy_prefix &&
		append_space(&buf, spec, err) != 0)
		goto fail;

	is_prev_space = spec->remove_extra_whitespaces;
	while (len > 0)
	{
		if (tok_cancel_step(&work, 1, err) != 0 ||
			normalize_prefix(tok, map, use_user_symbols, text, len,
							 &piece, &piece_len, &consumed, err) != 0)
			goto fail;
		/* a space after a space goes */
		while (is_prev_space && piece_len > 0 && piece[0] == ' ')
		{
			piece++;
			piece_len--;
		}
		if (piece_len > 0)
		{
			size_t		run = 0;

			for (size_t i = 0; i < piece_len; i++)
			{
				if (!spec->escape_whitespaces || piece[i] != ' ')
					continue;
				if (spm_buffer_append(&buf, piece + run, i - run, err) != 0 ||
					spm_buffer_append(&buf, SPM_SPACE_SYMBOL, SPM_SPACE_SYMBOL_LEN, err) != 0)
					goto fail;
				run = i + 1;
			}
			if (spm_buffer_append(&buf, piece + run, piece_len - run, err) != 0)
				goto fail;
			is_prev_space = piece[piece_len - 1] == ' ';
		}
		text += consumed;
		len -= consumed;
		if (!spec->remove_extra_whitespaces)
			is_prev_space = false;
	}

	/* Trailing spaces go. */
	if (spec->remove_extra_whitespaces)
	{
		const char *space = spec->escape_whitespaces ? SPM_SPACE_SYMBOL : " ";
		size_t		space_len = spec->escape_whitespaces ? SPM_SPACE_SYMBOL_LEN : 1;

		while (buf.len >= space_len &&
			   memcmp(buf.data + buf.len - space_len, space, space_len) == 0)
		{
			if (tok_cancel_step(&work, space_len, err) != 0)
				goto fail;
			buf.len -= space_len;
		}
	}

	if (treat_whitespace_as_suffix && spec->add_dummy_prefix &&
		append_space(&buf, spec, err) != 0)
		goto fail;

	if (spm_buffer_append(&buf, "", 0, err) != 0)	/* room for the NUL */
		goto fail;
	buf.data[buf.len] = '\0';
	*out = buf.data;
	*out_len = buf.len;
	return 0;

fail:
	free(buf.data);
	return -1;
}
