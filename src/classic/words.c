/*
 * words.c — NFC normalisation and Unicode-category word splitting for the
 * n-gram models (rule in words.h).
 */
#include "classic/words.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "metrics/pytext.h"
#include "util/utf8.h"

#define APOSTROPHE 0x27
/* Check for cancellation once per this many characters. */
#define CANCEL_CHECK_INTERVAL 65536
#define RIGHT_SINGLE_QUOTATION_MARK 0x2019

typedef enum CharClass
{
	CHAR_SEPARATOR,				/* dropped, ends a token */
	CHAR_WORD,					/* letter, mark or number */
	CHAR_APOSTROPHE,			/* part of a word only between word characters */
	CHAR_SINGLE					/* a token by itself */
} CharClass;

static CharClass
classify(int32_t cp)
{
	if (cp == APOSTROPHE || cp == RIGHT_SINGLE_QUOTATION_MARK)
		return CHAR_APOSTROPHE;
	if (lm_py_isspace(cp))
		return CHAR_SEPARATOR;
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
		case UTF8PROC_CATEGORY_ND:
		case UTF8PROC_CATEGORY_NL:
		case UTF8PROC_CATEGORY_NO:
			return CHAR_WORD;
		case UTF8PROC_CATEGORY_ZS:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
			return CHAR_SEPARATOR;
		default:
			return CHAR_SINGLE;
	}
}

/*
 * A long text is normalised a megabyte at a time, so that cancellation is
 * checked between pieces.  Pieces end just before an ASCII space or newline:
 * NFC never composes across those characters, so the pieces' NFC forms
 * joined are the NFC of the whole.
 */
#define NFC_PIECE_BYTES (1 << 20)

/* End of the piece that starts at start: before a space or newline after
 * NFC_PIECE_BYTES, or the end of the text. */
static size_t
nfc_piece_end(const char *text, size_t len, size_t start)
{
	for (size_t i = start + NFC_PIECE_BYTES; i < len; i++)
		if (text[i] == ' ' || text[i] == '\n')
			return i;
	return len;
}

/* Append the NFC of one piece of valid UTF-8 to out (malloc'd, grown). */
static int
append_nfc(const char *piece, size_t len, char **out, size_t *out_len, size_t *cap,
		   LmError *err)
{
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *) piece, (utf8proc_ssize_t) len,
									  &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);

	if (n < 0)
		return lm_fail(err, n == UTF8PROC_ERROR_NOMEM ? LM_ERR_NO_MEMORY : LM_ERR_INVALID_ARGUMENT,
					   "cannot normalise text: %s", utf8proc_errmsg(n));
	if (*out_len + (size_t) n + 1 > *cap)
	{
		size_t		want = (*out_len + (size_t) n + 1) * 2;
		char	   *grown = realloc(*out, want);

		if (grown == NULL)
		{
			free(nfc);
			return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory normalising a text of %zu bytes",
						   len);
		}
		*out = grown;
		*cap = want;
	}
	memcpy(*out + *out_len, nfc, (size_t) n);
	*out_len += (size_t) n;
	(*out)[*out_len] = '\0';
	free(nfc);
	return 0;
}

/* NFC of valid UTF-8 (invalid input is made valid first); malloc'd. */
static char *
normalize_nfc(const char *text, size_t len, size_t *out_len, LmError *err)
{
	char	   *valid;
	size_t		valid_len;
	char	   *out = NULL;
	size_t		cap = 0;

	*out_len = 0;
	if (lm_utf8_lossy(text, len, &valid, &valid_len, err) != 0)
		return NULL;
	for (size_t start = 0; start < valid_len || out == NULL;)
	{
		size_t		end = nfc_piece_end(valid, valid_len, start);

		if (lm_check_cancel(err) != 0 ||
			append_nfc(valid + start, end - start, &out, out_len, &cap, err) != 0)
		{
			free(valid);
			free(out);
			return NULL;
		}
		start = end;
	}
	free(valid);
	return out;
}

/* Decode all code points of valid UTF-8 into a malloc'd array. */
static int32_t *
decode(const char *s, size_t len, size_t *n_out, LmError *err)
{
	int32_t    *cps = lm_malloc((len + 1) * sizeof(int32_t), err);
	size_t		n = 0;
	size_t		pos = 0;

	if (cps == NULL)
		return NULL;
	while (pos < len)
		pos += lm_py_next(s + pos, len - pos, &cps[n++]);
	*n_out = n;
	return cps;
}

int
lm_words_tokenize(const char *text, size_t len, bool lowercase, LmWords *out, LmError *err)
{
	size_t		nfc_len;
	char	   *nfc;
	int32_t    *cps;
	size_t		n_cps;
	char	   *buffer;
	char	  **words;
	size_t		used = 0;
	size_t		n_words = 0;
	bool		in_word = false;

	memset(out, 0, sizeof(*out));
	nfc = normalize_nfc(text, len, &nfc_len, err);
	if (nfc == NULL)
		return -1;
	cps = decode(nfc, nfc_len, &n_cps, err);
	free(nfc);
	if (cps == NULL)
		return -1;

	/* Each character is at most 4 bytes plus a NUL ending its token. */
	buffer = lm_malloc(n_cps * (LM_UTF8_MAX_BYTES + 1) + 1, err);
	words = lm_malloc((n_cps + 1) * sizeof(char *), err);
	if (buffer == NULL || words == NULL)
	{
		free(cps);
		free(buffer);
		free(words);
		return -1;
	}

	for (size_t i = 0; i < n_cps; i++)
	{
		CharClass	cls;
		int32_t		cp;

		if (i % CANCEL_CHECK_INTERVAL == CANCEL_CHECK_INTERVAL - 1 && lm_check_cancel(err) != 0)
		{
			free(cps);
			free(buffer);
			free(words);
			return -1;
		}
		cls = classify(cps[i]);
		cp = lowercase ? utf8proc_tolower(cps[i]) : cps[i];

		if (cls == CHAR_APOSTROPHE)
			cls = (in_word && i + 1 < n_cps && classify(cps[i + 1]) == CHAR_WORD) ?
				CHAR_WORD : CHAR_SINGLE;
		if (in_word && cls != CHAR_WORD)
		{
			buffer[used++] = '\0';
			in_word = false;
		}
		if (cls == CHAR_SEPARATOR)
			continue;
		if (!in_word)
			words[n_words++] = buffer + used;
		used += lm_utf8_encode(cp, buffer + used);
		if (cls == CHAR_WORD)
			in_word = true;
		else
			buffer[used++] = '\0';
	}
	if (in_word)
		buffer[used++] = '\0';
	free(cps);
	out->buffer = buffer;
	out->words = words;
	out->n_words = n_words;
	return 0;
}

void
lm_words_free(LmWords *words)
{
	if (words == NULL)
		return;
	free(words->buffer);
	free(words->words);
	memset(words, 0, sizeof(*words));
}
