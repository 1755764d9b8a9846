/*
 * hf_decoders.c — tokenizer.json decoders, each one step of the tokenizers
 * library's decode_chain (a list of token strings in, a list out): ByteLevel,
 * WordPiece, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, CTC
 * and Sequence.  The caller joins the final list.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

#define METASPACE_DEFAULT_REPLACEMENT 0x2581	/* ▁ */
#define BYTE_TOKEN_LEN 6		/* "<0xXX>" */
#define HEX_RADIX 16

typedef enum DecoderKind
{
	DEC_BYTE_LEVEL,
	DEC_WORDPIECE,
	DEC_METASPACE,
	DEC_REPLACE,
	DEC_BYTE_FALLBACK,
	DEC_FUSE,
	DEC_STRIP,
	DEC_BPE,
	DEC_CTC,
	DEC_SEQUENCE
} DecoderKind;

struct HfDecoder
{
	DecoderKind kind;
	char	   *text;			/* WordPiece prefix, BPE suffix, Replace content, CTC pad */
	size_t		text_len;
	char	   *word_delimiter;	/* CTC */
	size_t		word_delimiter_len;
	bool		cleanup;		/* WordPiece, CTC */
	int32_t		replacement;	/* Metaspace; Strip's content */
	bool		prepend;		/* Metaspace: prepend_scheme is not "never" */
	int64_t		strip_start;
	int64_t		strip_stop;
	HfRegex    *pattern;		/* Replace */
	HfDecoder **children;
	size_t		n_children;
};

static const HfKindName decoder_names[] = {
	{"ByteLevel", DEC_BYTE_LEVEL},
	{"WordPiece", DEC_WORDPIECE},
	{"Metaspace", DEC_METASPACE},
	{"Replace", DEC_REPLACE},
	{"ByteFallback", DEC_BYTE_FALLBACK},
	{"Fuse", DEC_FUSE},
	{"Strip", DEC_STRIP},
	{"BPEDecoder", DEC_BPE},
	{"CTC", DEC_CTC},
	{"Sequence", DEC_SEQUENCE},
};

void
hf_decoder_free(HfDecoder *dec)
{
	if (dec == NULL)
		return;
	for (size_t i = 0; i < dec->n_children; i++)
		hf_decoder_free(dec->children[i]);
	free(dec->children);
	free(dec->text);
	free(dec->word_delimiter);
	hf_regex_free(dec->pattern);
	free(dec);
}

static int
strdup_default(const json_t *json, const char *key, const char *dflt, char **out,
			   size_t *len, const char *what, LmError *err)
{
	if (hf_json_strdup(json, key, false, out, len, what, err) != 0)
		return -1;
	if (*out == NULL)
	{
		*len = strlen(dflt);
		*out = lm_strndup(dflt, *len, err);
	}
	return *out ? 0 : -1;
}

static int
parse_metaspace(HfDecoder *dec, const json_t *json, LmError *err)
{
	const char *scheme;
	bool		add_prefix_space;

	if (hf_json_char(json, "replacement", METASPACE_DEFAULT_REPLACEMENT, &dec->replacement,
					 "Metaspace decoder", err) != 0 ||
		hf_json_string(json, "prepend_scheme", false, &scheme, NULL, "Metaspace decoder",
					   err) != 0 ||
		hf_json_bool(json, "add_prefix_space", true, &add_prefix_space, "Metaspace decoder",
					 err) != 0)
		return -1;
	if (scheme != NULL && strcmp(scheme, "always") != 0 && strcmp(scheme, "first") != 0 &&
		strcmp(scheme, "never") != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "Metaspace decoder: unknown prepend_scheme \"%s\"",
					   scheme);
	dec->prepend = scheme ? strcmp(scheme, "never") != 0 : add_prefix_space;
	if (!add_prefix_space)
		dec->prepend = false;
	return 0;
}

static int
parse_fields(HfDecoder *dec, const json_t *json, int depth, LmError *err)
{
	switch (dec->kind)
	{
		case DEC_WORDPIECE:
			if (strdup_default(json, "prefix", "##", &dec->text, &dec->text_len,
							   "WordPiece decoder", err) != 0)
				return -1;
			return hf_json_bool(json, "cleanup", true, &dec->cleanup, "WordPiece decoder", err);
		case DEC_METASPACE:
			return parse_metaspace(dec, json, err);
		case DEC_REPLACE:
			if (hf_json_strdup(json, "content", true, &dec->text, &dec->text_len,
							   "Replace decoder", err) != 0)
				return -1;
			dec->pattern = hf_regex_from_json(json_object_get(json, "pattern"),
											  "Replace decoder", err);
			return dec->pattern ? 0 : -1;
		case DEC_STRIP:
			if (hf_json_char(json, "content", ' ', &dec->replacement, "Strip decoder", err) != 0 ||
				hf_json_int(json, "start", 0, &dec->strip_start, "Strip decoder", err) != 0 ||
				hf_json_int(json, "stop", 0, &dec->strip_stop, "Strip decoder", err) != 0)
				return -1;
			if (dec->strip_start < 0 || dec->strip_stop < 0)
				return lm_fail(err, LM_ERR_CORRUPT, "Strip decoder: start and stop must not be negative");
			return 0;
		case DEC_BPE:
			return strdup_default(json, "suffix", "</w>", &dec->text, &dec->text_len,
								  "BPEDecoder", err);
		case DEC_CTC:
			if (strdup_default(json, "pad_token", "<pad>", &dec->text, &dec->text_len,
							   "CTC decoder", err) != 0 ||
				strdup_default(json, "word_delimiter_token", "|", &dec->word_delimiter,
							   &dec->word_delimiter_len, "CTC decoder", err) != 0)
				return -1;
			return hf_json_bool(json, "cleanup", true, &dec->cleanup, "CTC decoder", err);
		case DEC_SEQUENCE:
			{
				const json_t *items;

				if (hf_json_array(json, "decoders", &items, "Sequence decoder", err) != 0)
					return -1;
				dec->children = lm_calloc(json_array_size(items), sizeof(HfDecoder *), err);
				if (dec->children == NULL)
					return -1;
				for (size_t i = 0; i < json_array_size(items); i++)
				{
					dec->children[i] = hf_decoder_parse(json_array_get(items, i), depth + 1,
														err);
					if (dec->children[i] == NULL)
						return -1;
					dec->n_children++;
				}
				return 0;
			}
		case DEC_BYTE_LEVEL:
		case DEC_BYTE_FALLBACK:
		case DEC_FUSE:
			return 0;
	}
	return 0;
}

HfDecoder *
hf_decoder_parse(const json_t *json, int depth, LmError *err)
{
	HfDecoder  *dec;
	int			kind;

	if (hf_json_kind(json, depth, decoder_names, HF_KINDS_LENGTH(decoder_names),
					 "decoder", &kind, err) != 0)
		return NULL;
	dec = lm_calloc(1, sizeof(HfDecoder), err);
	if (dec == NULL)
		return NULL;
	dec->kind = (DecoderKind) kind;
	if (parse_fields(dec, json, depth, err) != 0)
	{
		hf_decoder_free(dec);
		return NULL;
	}
	return dec;
}

/* ---- helpers ------------------------------------------------------------------ */

/* Replace every occurrence of from (non-empty) by to, appending to out. */
static int
replace_all(const char *s, size_t len, const char *from, size_t from_len, const char *to,
			size_t to_len, HfBuf *out, LmError *err)
{
	size_t		i = 0;
	size_t		work = 0;

	while (i < len)
	{
		if (tok_cancel_step(&work, 1, err) != 0)
			return -1;
		if (from_len > 0 && len - i >= from_len && memcmp(s + i, from, from_len) == 0)
		{
			if (hf_buf_append(out, to, to_len, err) != 0)
				return -1;
			i += from_len;
		}
		else
		{
			if (hf_buf_append(out, s + i, 1, err) != 0)
				return -1;
			i++;
		}
	}
	return hf_buf_append(out, "", 0, err);
}

/* WordPiece's cleanup: undo the spaces tokenization put before punctuation. */
static int
wordpiece_cleanup(const char *s, size_t len, HfBuf *out, LmError *err)
{
	static const char *const rules[][2] = {
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
		{" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
		{" 've", "'ve"}, {" 're", "'re"},
	};
	HfBuf		a = {0};
	HfBuf		b = {0};
	int			rc = hf_buf_append(&a, s, len, err);

	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]) && rc == 0; r++)
	{
		HfBuf		tmp;

		hf_buf_clear(&b);
		rc = replace_all(a.data, a.len, rules[r][0], strlen(rules[r][0]), rules[r][1],
						 strlen(rules[r][1]), &b, err);
		tmp = a;
		a = b;
		b = tmp;
	}
	if (rc == 0)
		rc = hf_buf_append(out, a.data, a.len, err);
	hf_buf_free(&a);
	hf_buf_free(&b);
	return rc;
}

/*
 * Each step makes at most one token of each it is given (ByteFallback: a
 * run of byte tokens that is not UTF-8 gives one U+FFFD per token).  Room
 * for as many, and as much text, at once: a long list is then not copied as
 * it grows.
 */
static int
reserve_like(HfPieces *out, const HfPieces *tokens, LmError *err)
{
	if (hf_pieces_reserve(out, tokens->n, err) != 0)
		return -1;
	return hf_buf_reserve(&out->text, tokens->text.len, err);
}

/* Rebuild the token list: fn appends token i's new text to out. */
typedef int (*TokenRewrite) (const HfDecoder *dec, const HfPieces *tokens, size_t i,
							 HfBuf *out, LmError *err);

static int
rewrite_tokens(const HfDecoder *dec, HfPieces *tokens, TokenRewrite fn, bool drop_empty,
			   LmError *err)
{
	HfPieces	out = {0};
	size_t		work = 0;
	int			rc = reserve_like(&out, tokens, err);

	for (size_t i = 0; i < tokens->n && rc == 0; i++)
	{
		size_t		start = hf_pieces_open(&out);

		rc = tok_cancel_step(&work, tokens->items[i].len + 1, err);
		if (rc == 0)
			rc = fn(dec, tokens, i, &out.text, err);
		if (rc == 0 && (!drop_empty || out.text.len > start))
			rc = hf_pieces_close(&out, start, false, err);
	}
	if (rc == 0)
		hf_pieces_swap(tokens, &out);
	hf_pieces_free(&out);
	return rc;
}

static int
rewrite_wordpiece(const HfDecoder *dec, const HfPieces *tokens, size_t i, HfBuf *out,
				  LmError *err)
{
	const char *s = hf_piece_text(tokens, i);
	size_t		len = tokens->items[i].len;
	HfBuf		tok = {0};
	int			rc = 0;

	if (i != 0)
	{
		if (len >= dec->text_len && memcmp(s, dec->text, dec->text_len) == 0)
		{
			s += dec->text_len;
			len -= dec->text_len;
		}
		else
			rc = hf_buf_append(&tok, " ", 1, err);
	}
	if (rc == 0)
		rc = hf_buf_append(&tok, s, len, err);
	if (rc == 0)
		rc = dec->cleanup ? wordpiece_cleanup(tok.data, tok.len, out, err) :
			hf_buf_append(out, tok.data, tok.len, err);
	hf_buf_free(&tok);
	return rc;
}

static int
rewrite_metaspace(const HfDecoder *dec, const HfPieces *tokens, size_t i, HfBuf *out,
				  LmError *err)
{
	const char *s = hf_piece_text(tokens, i);
	size_t		len = tokens->items[i].len;
	size_t		k = 0;
	size_t		work = 0;

	while (k < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(s + k, len - k, &cp);
		int			rc;

		if (n < 0)
			n = -n;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		if (cp == dec->replacement)
			rc = (i == 0 && dec->prepend) ? 0 : hf_buf_append(out, " ", 1, err);
		else
			rc = hf_buf_append(out, s + k, n, err);
		if (rc != 0)
			return -1;
		k += n;
	}
	return hf_buf_append(out, "", 0, err);
}

static int
rewrite_replace(const HfDecoder *dec, const HfPieces *tokens, size_t i, HfBuf *out,
				LmError *err)
{
	const char *s = hf_piece_text(tokens, i);
	size_t		len = tokens->items[i].len;
	HfSpans		matches = {0};
	size_t		prev = 0;
	size_t		work = 0;
	int			rc = hf_regex_find_all(dec->pattern, s, len, &matches, err);

	for (size_t m = 0; m < matches.n && rc == 0; m++)
	{
		rc = tok_cancel_step(&work, matches.items[m].end - prev + 1, err);
		if (rc == 0)
			rc = hf_buf_append(out, s + prev, matches.items[m].start - prev, err);
		if (rc == 0)
			rc = hf_buf_append(out, dec->text, dec->text_len, err);
		prev = matches.items[m].end;
	}
	if (rc == 0)
		rc = hf_buf_append(out, s + prev, len - prev, err);
	hf_spans_free(&matches);
	return rc;
}

static int
rewrite_strip(const HfDecoder *dec, const HfPieces *tokens, size_t i, HfBuf *out,
			  LmError *err)
{
	const char *s = hf_piece_text(tokens, i);
	size_t		len = tokens->items[i].len;
	size_t		start = 0;
	size_t		end = len;
	size_t		work = 0;
	int32_t		cp;

	for (int64_t k = 0; k < dec->strip_start && start < len; k++)
	{
		int			n = lm_utf8_next(s + start, len - start, &cp);

		if (n < 0 || cp != dec->replacement)
			break;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		start += n;
	}
	for (int64_t k = 0; k < dec->strip_stop && end > start; k++)
	{
		size_t		n = lm_utf8_last_len(s, end);

		if (lm_utf8_next(s + end - n, n, &cp) < 0 || cp != dec->replacement)
			break;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		end -= n;
	}
	return hf_buf_append(out, s + start, end - start, err);
}

static int
rewrite_bpe(const HfDecoder *dec, const HfPieces *tokens, size_t i, HfBuf *out, LmError *err)
{
	const char *to = i + 1 == tokens->n ? "" : " ";

	return replace_all(hf_piece_text(tokens, i), tokens->items[i].len, dec->text,
					   dec->text_len, to, strlen(to), out, err);
}

static int
rewrite_ctc(const HfDecoder *dec, const HfPieces *tokens, size_t i, HfBuf *out, LmError *err)
{
	HfBuf		a = {0};
	HfBuf		b = {0};
	int			rc;

	rc = replace_all(hf_piece_text(tokens, i), tokens->items[i].len, dec->text,
					 dec->text_len, "", 0, &a, err);
	if (rc == 0 && dec->cleanup)
	{
		rc = wordpiece_cleanup(a.data, a.len, &b, err);
		hf_buf_clear(&a);
		if (rc == 0)
			rc = replace_all(b.data, b.len, dec->word_delimiter, dec->word_delimiter_len,
							 " ", 1, &a, err);
	}
	if (rc == 0)
		rc = hf_buf_append(out, a.data, a.len, err);
	hf_buf_free(&a);
	hf_buf_free(&b);
	return rc;
}

/* ---- the whole-list steps ------------------------------------------------------ */

static int
join_tokens(const HfPieces *tokens, HfBuf *out, LmError *err)
{
	size_t		work = 0;

	for (size_t i = 0; i < tokens->n; i++)
		if (tok_cancel_step(&work, tokens->items[i].len + 1, err) != 0 ||
			hf_buf_append(out, hf_piece_text(tokens, i), tokens->items[i].len, err) != 0)
			return -1;
	return hf_buf_append(out, "", 0, err);
}

static int
replace_with_one(HfPieces *tokens, const char *s, size_t len, LmError *err)
{
	HfPieces	out = {0};

	if (hf_pieces_push(&out, s, len, false, err) != 0)
	{
		hf_pieces_free(&out);
		return -1;
	}
	hf_pieces_swap(tokens, &out);
	hf_pieces_free(&out);
	return 0;
}

static int
decode_fuse(HfPieces *tokens, LmError *err)
{
	HfBuf		all = {0};
	int			rc = join_tokens(tokens, &all, err);

	if (rc == 0)
		rc = replace_with_one(tokens, all.data, all.len, err);
	hf_buf_free(&all);
	return rc;
}

/* lm_utf8_lossy, a slice at a time so that a cancel gets through. */
static int
utf8_lossy(const char *s, size_t len, HfBuf *out, LmError *err)
{
	size_t		start = 0;

	if (hf_buf_reserve(out, len, err) != 0)	/* the size of valid UTF-8 */
		return -1;
	while (start < len)
	{
		size_t		end = tok_slice_end(s, len, start);
		char	   *text;
		size_t		text_len;
		int			rc;

		if (lm_utf8_lossy(s + start, end - start, &text, &text_len, err) != 0)
			return -1;
		rc = hf_buf_append(out, text, text_len, err);
		free(text);
		if (rc != 0 || lm_check_cancel(err) != 0)
			return -1;
		start = end;
	}
	return hf_buf_append(out, "", 0, err);
}

static int
decode_byte_level(HfPieces *tokens, LmError *err)
{
	HfBuf		bytes = {0};
	HfBuf		text = {0};
	size_t		work = 0;
	int			rc = hf_buf_reserve(&bytes, tokens->text.len, err);

	for (size_t i = 0; i < tokens->n && rc == 0; i++)
	{
		const char *s = hf_piece_text(tokens, i);
		size_t		len = tokens->items[i].len;
		size_t		mark = bytes.len;
		size_t		k = 0;
		bool		mapped = true;
		char		byte_char;

		rc = tok_cancel_step(&work, 1, err);
		while (k < len && rc == 0)
		{
			int32_t		cp;
			int			n = lm_utf8_next(s + k, len - k, &cp);
			int			b = n > 0 ? hf_char_to_byte(cp) : -1;

			if (b < 0)
			{
				mapped = false;
				break;
			}
			byte_char = (char) b;
			rc = tok_cancel_step(&work, n, err);
			if (rc == 0)
				rc = hf_buf_append(&bytes, &byte_char, 1, err);
			k += n;
		}
		/* A token outside the alphabet contributes its own bytes. */
		if (rc == 0 && !mapped)
		{
			bytes.len = mark;
			rc = hf_buf_append(&bytes, s, len, err);
		}
	}
	if (rc == 0)
		rc = utf8_lossy(bytes.data ? bytes.data : "", bytes.len, &text, err);
	if (rc == 0)
		rc = replace_with_one(tokens, text.data, text.len, err);
	hf_buf_free(&text);
	hf_buf_free(&bytes);
	return rc;
}

/* The byte a "<0xXX>" token stands for, or -1 (u8::from_str_radix rules). */
static int
byte_token_value(const char *s, size_t len)
{
	int			value = 0;
	size_t		start = 3;

	if (len != BYTE_TOKEN_LEN || memcmp(s, "<0x", 3) != 0 || s[BYTE_TOKEN_LEN - 1] != '>')
		return -1;
	if (s[start] == '+')
		start++;
	if (start == BYTE_TOKEN_LEN - 1)
		return -1;
	for (size_t k = start; k < BYTE_TOKEN_LEN - 1; k++)
	{
		char		c = s[k];
		int			digit;

		if (c >= '0' && c <= '9')
			digit = c - '0';
		else if (c >= 'a' && c <= 'f')
			digit = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			digit = c - 'A' + 10;
		else
			return -1;
		value = value * HEX_RADIX + digit;
	}
	return value;
}

/* Flush pending bytes: one string if they are UTF-8, else one U+FFFD per byte. */
static int
flush_bytes(HfBuf *pending, HfPieces *out, LmError *err)
{
	int			rc = 0;

	if (pending->len == 0)
		return 0;
	if (lm_utf8_valid(pending->data, pending->len, NULL))
		rc = hf_pieces_push(out, pending->data, pending->len, false, err);
	else
	{
		size_t		work = 0;

		for (size_t k = 0; k < pending->len && rc == 0; k++)
		{
			rc = tok_cancel_step(&work, 1, err);
			if (rc == 0)
				rc = hf_pieces_push(out, "\xEF\xBF\xBD", 3, false, err);
		}
	}
	hf_buf_clear(pending);
	return rc;
}

static int
decode_byte_fallback(HfPieces *tokens, LmError *err)
{
	HfPieces	out = {0};
	HfBuf		pending = {0};
	size_t		work = 0;
	int			rc = reserve_like(&out, tokens, err);

	for (size_t i = 0; i < tokens->n && rc == 0; i++)
	{
		const char *s = hf_piece_text(tokens, i);
		size_t		len = tokens->items[i].len;
		int			byte = byte_token_value(s, len);

		if ((rc = tok_cancel_step(&work, len + 1, err)) != 0)
			break;
		if (byte >= 0)
		{
			uint8_t		b = (uint8_t) byte;

			rc = hf_buf_append(&pending, (const char *) &b, 1, err);
			continue;
		}
		rc = flush_bytes(&pending, &out, err);
		if (rc == 0)
			rc = hf_pieces_push(&out, s, len, false, err);
	}
	if (rc == 0)
		rc = flush_bytes(&pending, &out, err);
	if (rc == 0)
		hf_pieces_swap(tokens, &out);
	hf_pieces_free(&out);
	hf_buf_free(&pending);
	return rc;
}

/* CTC first drops repeats of the same token. */
static int
dedup_tokens(HfPieces *tokens, LmError *err)
{
	HfPieces	out = {0};
	size_t		work = 0;
	int			rc = reserve_like(&out, tokens, err);

	for (size_t i = 0; i < tokens->n && rc == 0; i++)
	{
		if ((rc = tok_cancel_step(&work, tokens->items[i].len + 1, err)) != 0)
			break;
		if (i > 0 && tokens->items[i].len == tokens->items[i - 1].len &&
			memcmp(hf_piece_text(tokens, i), hf_piece_text(tokens, i - 1),
				   tokens->items[i].len) == 0)
			continue;
		rc = hf_pieces_push(&out, hf_piece_text(tokens, i), tokens->items[i].len, false, err);
	}
	if (rc == 0)
		hf_pieces_swap(tokens, &out);
	hf_pieces_free(&out);
	return rc;
}

int
hf_decoder_apply(const HfDecoder *dec, HfPieces *tokens, LmError *err)
{
	switch (dec->kind)
	{
		case DEC_BYTE_LEVEL:
			return decode_byte_level(tokens, err);
		case DEC_WORDPIECE:
			return rewrite_tokens(dec, tokens, rewrite_wordpiece, false, err);
		case DEC_METASPACE:
			return rewrite_tokens(dec, tokens, rewrite_metaspace, false, err);
		case DEC_REPLACE:
			return rewrite_tokens(dec, tokens, rewrite_replace, false, err);
		case DEC_BYTE_FALLBACK:
			return decode_byte_fallback(tokens, err);
		case DEC_FUSE:
			return decode_fuse(tokens, err);
		case DEC_STRIP:
			return rewrite_tokens(dec, tokens, rewrite_strip, false, err);
		case DEC_BPE:
			return rewrite_tokens(dec, tokens, rewrite_bpe, false, err);
		case DEC_CTC:
			if (dedup_tokens(tokens, err) != 0)
				return -1;
			return rewrite_tokens(dec, tokens, rewrite_ctc, true, err);
		case DEC_SEQUENCE:
			for (size_t i = 0; i < dec->n_children; i++)
				if (hf_decoder_apply(dec->children[i], tokens, err) != 0)
					return -1;
			return 0;
	}
	return lm_fail(err, LM_ERR_INTERNAL, "unhandled decoder kind %d", (int) dec->kind);
}
