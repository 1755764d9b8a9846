/*
 * hf_normalizers.c — tokenizer.json normalizers: NFC, NFD, NFKC, NFKD,
 * Lowercase, StripAccents, BertNormalizer, Nmt, Prepend, Replace, Strip,
 * ByteLevel, Sequence and Precompiled (in hf_precompiled.c).  Each one maps
 * valid UTF-8 to valid UTF-8, character by character as the tokenizers
 * library does (Rust's char methods; Unicode data from utf8proc).
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/utf8.h"

#define WHAT "normalizer"
#define LATIN_CAPITAL_I_WITH_DOT 0x0130
#define COMBINING_DOT_ABOVE 0x0307

typedef enum NormalizerKind
{
	NORM_NFC,
	NORM_NFD,
	NORM_NFKC,
	NORM_NFKD,
	NORM_LOWERCASE,
	NORM_STRIP_ACCENTS,
	NORM_BERT,
	NORM_NMT,
	NORM_PREPEND,
	NORM_REPLACE,
	NORM_STRIP,
	NORM_BYTE_LEVEL,
	NORM_SEQUENCE,
	NORM_PRECOMPILED
} NormalizerKind;

struct HfNormalizer
{
	NormalizerKind kind;
	/* BertNormalizer */
	bool		clean_text;
	bool		handle_chinese_chars;
	bool		strip_accents;
	bool		lowercase;
	/* Strip */
	bool		strip_left;
	bool		strip_right;
	/* Prepend, Replace */
	char	   *content;
	size_t		content_len;
	HfRegex    *pattern;
	/* Sequence */
	HfNormalizer **children;
	size_t		n_children;
	HfPrecompiled *precompiled;
};

static const HfKindName normalizer_names[] = {
	{"NFC", NORM_NFC},
	{"NFD", NORM_NFD},
	{"NFKC", NORM_NFKC},
	{"NFKD", NORM_NFKD},
	{"Lowercase", NORM_LOWERCASE},
	{"StripAccents", NORM_STRIP_ACCENTS},
	{"BertNormalizer", NORM_BERT},
	{"Nmt", NORM_NMT},
	{"Prepend", NORM_PREPEND},
	{"Replace", NORM_REPLACE},
	{"Strip", NORM_STRIP},
	{"ByteLevel", NORM_BYTE_LEVEL},
	{"Sequence", NORM_SEQUENCE},
	{"Precompiled", NORM_PRECOMPILED},
};

void
hf_normalizer_free(HfNormalizer *norm)
{
	if (norm == NULL)
		return;
	for (size_t i = 0; i < norm->n_children; i++)
		hf_normalizer_free(norm->children[i]);
	free(norm->children);
	free(norm->content);
	hf_regex_free(norm->pattern);
	hf_precompiled_free(norm->precompiled);
	free(norm);
}

static int
parse_sequence(HfNormalizer *norm, const json_t *json, int depth, LmError *err)
{
	const json_t *items;

	if (hf_json_array(json, "normalizers", &items, "Sequence normalizer", err) != 0)
		return -1;
	norm->children = lm_calloc(json_array_size(items), sizeof(HfNormalizer *), err);
	if (norm->children == NULL)
		return -1;
	for (size_t i = 0; i < json_array_size(items); i++)
	{
		norm->children[i] = hf_normalizer_parse(json_array_get(items, i), depth + 1, err);
		if (norm->children[i] == NULL)
			return -1;
		norm->n_children++;
	}
	return 0;
}

static int
parse_fields(HfNormalizer *norm, const json_t *json, int depth, LmError *err)
{
	switch (norm->kind)
	{
		case NORM_BERT:
			if (hf_json_bool(json, "clean_text", true, &norm->clean_text,
							 "BertNormalizer", err) != 0 ||
				hf_json_bool(json, "handle_chinese_chars", true,
							 &norm->handle_chinese_chars, "BertNormalizer", err) != 0 ||
				hf_json_bool(json, "lowercase", true, &norm->lowercase,
							 "BertNormalizer", err) != 0)
				return -1;
			/* strip_accents: null (or absent) follows lowercase. */
			return hf_json_bool(json, "strip_accents", norm->lowercase, &norm->strip_accents,
								"BertNormalizer", err);
		case NORM_PREPEND:
			return hf_json_strdup(json, "prepend", true, &norm->content, &norm->content_len,
								  "Prepend normalizer", err);
		case NORM_REPLACE:
			if (hf_json_strdup(json, "content", true, &norm->content, &norm->content_len,
							   "Replace normalizer", err) != 0)
				return -1;
			norm->pattern = hf_regex_from_json(json_object_get(json, "pattern"),
											   "Replace normalizer", err);
			return norm->pattern ? 0 : -1;
		case NORM_STRIP:
			if (hf_json_bool(json, "strip_left", true, &norm->strip_left, "Strip normalizer",
							 err) != 0 ||
				hf_json_bool(json, "strip_right", true, &norm->strip_right,
							 "Strip normalizer", err) != 0)
				return -1;
			return 0;
		case NORM_SEQUENCE:
			return parse_sequence(norm, json, depth, err);
		case NORM_PRECOMPILED:
			norm->precompiled = hf_precompiled_parse(json, err);
			return norm->precompiled ? 0 : -1;
		default:
			return 0;
	}
}

HfNormalizer *
hf_normalizer_parse(const json_t *json, int depth, LmError *err)
{
	HfNormalizer *norm;
	int			kind;

	if (hf_json_kind(json, depth, normalizer_names, HF_KINDS_LENGTH(normalizer_names),
					 WHAT, &kind, err) != 0)
		return NULL;
	norm = lm_calloc(1, sizeof(HfNormalizer), err);
	if (norm == NULL)
		return NULL;
	norm->kind = (NormalizerKind) kind;
	if (parse_fields(norm, json, depth, err) != 0)
	{
		hf_normalizer_free(norm);
		return NULL;
	}
	return norm;
}

/* ---- the character-level normalizations ------------------------------------- */

/*
 * May normalization cut the text before cp?  Yes for a starter that no
 * normalization form changes into a non-starter and that never ends a
 * composition: nothing before it can reorder or compose across it.  ASCII,
 * the CJK ideographs and the Hangul syllables cover most texts.
 */
static bool
is_normalization_boundary(int32_t cp)
{
	return cp < 0x80 || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
		(cp >= 0xAC00 && cp <= 0xD7A3);
}

/* Where the slice of text that starts at start may end: at a boundary
 * about TOK_CANCEL_SLICE bytes on, or at len when there is none. */
static size_t
normalization_slice_end(const char *text, size_t len, size_t start)
{
	size_t		end = tok_slice_end(text, len, start);

	while (end < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(text + end, len - end, &cp);

		if (n > 0 && is_normalization_boundary(cp))
			return end;
		end += n > 0 ? n : -n;
	}
	return len;
}

static int
unicode_normalize_slice(const char *text, size_t len, utf8proc_option_t options, HfBuf *out,
						LmError *err)
{
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t n;
	int			rc;

	n = utf8proc_map((const utf8proc_uint8_t *) text, (utf8proc_ssize_t) len, &dst,
					 options | UTF8PROC_STABLE);
	if (n < 0)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "Unicode normalization failed: %s",
					   utf8proc_errmsg(n));
	rc = hf_buf_append(out, (const char *) dst, (size_t) n, err);
	free(dst);
	return rc;
}

/* utf8proc_map a slice at a time, so that a cancel gets through. */
static int
unicode_normalize(const char *text, size_t len, utf8proc_option_t options, HfBuf *out,
				  LmError *err)
{
	size_t		start = 0;

	if (len == 0)
		return hf_buf_append(out, "", 0, err);
	while (start < len)
	{
		size_t		end = normalization_slice_end(text, len, start);

		if (unicode_normalize_slice(text + start, end - start, options, out, err) != 0 ||
			lm_check_cancel(err) != 0)
			return -1;
		start = end;
	}
	return 0;
}

/* Rust's char::to_lowercase: the full mapping, one character per character except İ. */
static int
append_lowercase(HfBuf *out, int32_t cp, LmError *err)
{
	if (cp == LATIN_CAPITAL_I_WITH_DOT)
	{
		if (hf_buf_append_cp(out, 'i', err) != 0)
			return -1;
		return hf_buf_append_cp(out, COMBINING_DOT_ABOVE, err);
	}
	return hf_buf_append_cp(out, utf8proc_tolower(cp), err);
}

static bool
is_chinese_char(int32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
		(cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
		(cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
		(cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* BERT's is_control: Cc, Cf and Co, except tab, newline and carriage return. */
static bool
is_bert_control(int32_t cp)
{
	utf8proc_category_t cat;

	if (cp == '\t' || cp == '\n' || cp == '\r')
		return false;
	cat = utf8proc_category(cp);
	return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
		cat == UTF8PROC_CATEGORY_CO;
}

static bool
is_mark(int32_t cp)
{
	utf8proc_category_t cat = utf8proc_category(cp);

	return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
		cat == UTF8PROC_CATEGORY_ME;
}

/* Nmt: the control characters it drops, and those it turns into spaces. */
static bool
is_nmt_dropped(int32_t cp)
{
	return (cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) ||
		cp == 0x7F || cp == 0x8F || cp == 0x9F;
}

static bool
is_nmt_space(int32_t cp)
{
	return cp == 0x09 || cp == 0x0A || cp == 0x0C || cp == 0x0D || cp == 0x1680 ||
		(cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 || cp == 0x2581 ||
		cp == 0xFEFF || cp == 0xFFFD;
}

typedef enum CharPass
{
	PASS_LOWERCASE,
	PASS_STRIP_MARKS,			/* StripAccents: every mark */
	PASS_STRIP_NONSPACING,		/* BertNormalizer after NFD: Mn only */
	PASS_BERT_CLEAN,
	PASS_BERT_CHINESE,
	PASS_NMT,
	PASS_BYTE_LEVEL
} CharPass;

static int
char_pass(const char *text, size_t len, CharPass pass, HfBuf *out, LmError *err)
{
	size_t		i = 0;
	size_t		work = 0;

	if (hf_buf_reserve(out, len, err) != 0)
		return -1;
	while (i < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(text + i, len - i, &cp);
		int			rc = 0;

		if (n < 0)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "invalid UTF-8 at byte %zu", i);
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		switch (pass)
		{
			case PASS_LOWERCASE:
				rc = append_lowercase(out, cp, err);
				break;
			case PASS_STRIP_MARKS:
				if (!is_mark(cp))
					rc = hf_buf_append(out, text + i, n, err);
				break;
			case PASS_STRIP_NONSPACING:
				if (utf8proc_category(cp) != UTF8PROC_CATEGORY_MN)
					rc = hf_buf_append(out, text + i, n, err);
				break;
			case PASS_BERT_CLEAN:
				if (cp == 0 || cp == LM_REPLACEMENT_CHAR || is_bert_control(cp))
					break;
				if (cp == '\t' || cp == '\n' || cp == '\r' || hf_is_whitespace(cp))
					rc = hf_buf_append(out, " ", 1, err);
				else
					rc = hf_buf_append(out, text + i, n, err);
				break;
			case PASS_BERT_CHINESE:
				if (is_chinese_char(cp))
				{
					rc = hf_buf_append(out, " ", 1, err);
					if (rc == 0)
						rc = hf_buf_append(out, text + i, n, err);
					if (rc == 0)
						rc = hf_buf_append(out, " ", 1, err);
				}
				else
					rc = hf_buf_append(out, text + i, n, err);
				break;
			case PASS_NMT:
				if (is_nmt_dropped(cp))
					break;
				if (is_nmt_space(cp))
					rc = hf_buf_append(out, " ", 1, err);
				else
					rc = hf_buf_append(out, text + i, n, err);
				break;
			case PASS_BYTE_LEVEL:
				for (int k = 0; k < n && rc == 0; k++)
					rc = hf_buf_append_cp(out, hf_byte_to_char((uint8_t) text[i + k]), err);
				break;
		}
		if (rc != 0)
			return -1;
		i += n;
	}
	return hf_buf_append(out, "", 0, err);
}

static int
apply_strip(const HfNormalizer *norm, const char *text, size_t len, HfBuf *out, LmError *err)
{
	size_t		start = 0;
	size_t		end = len;
	size_t		work = 0;

	while (norm->strip_left && start < end)
	{
		int32_t		cp;
		int			n = lm_utf8_next(text + start, end - start, &cp);

		if (n < 0 || !hf_is_whitespace(cp))
			break;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		start += n;
	}
	while (norm->strip_right && end > start)
	{
		size_t		n = lm_utf8_last_len(text + start, end - start);
		int32_t		cp;

		if (lm_utf8_next(text + end - n, n, &cp) < 0 || !hf_is_whitespace(cp))
			break;
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		end -= n;
	}
	return hf_buf_append(out, text + start, end - start, err);
}

static int
apply_replace(const HfNormalizer *norm, const char *text, size_t len, HfBuf *out, LmError *err)
{
	HfSpans		matches = {0};
	size_t		prev = 0;
	size_t		work = 0;
	int			rc;

	rc = hf_regex_find_all(norm->pattern, text, len, &matches, err);
	for (size_t i = 0; i < matches.n && rc == 0; i++)
	{
		rc = tok_cancel_step(&work, matches.items[i].end - prev + 1, err);
		if (rc == 0)
			rc = hf_buf_append(out, text + prev, matches.items[i].start - prev, err);
		if (rc == 0)
			rc = hf_buf_append(out, norm->content, norm->content_len, err);
		prev = matches.items[i].end;
	}
	if (rc == 0)
		rc = hf_buf_append(out, text + prev, len - prev, err);
	hf_spans_free(&matches);
	return rc;
}

static int
apply_bert(const HfNormalizer *norm, const char *text, size_t len, HfBuf *out, LmError *err)
{
	HfBuf		a = {0};
	HfBuf		b = {0};
	int			rc = hf_buf_append(&a, text, len, err);

	/* Each step reads a and writes b, then the two swap. */
#define BERT_STEP(call) \
	do { \
		if (rc == 0) \
		{ \
			HfBuf tmp; \
			hf_buf_clear(&b); \
			rc = (call); \
			tmp = a; a = b; b = tmp; \
		} \
	} while (0)

	if (norm->clean_text)
		BERT_STEP(char_pass(a.data, a.len, PASS_BERT_CLEAN, &b, err));
	if (norm->handle_chinese_chars)
		BERT_STEP(char_pass(a.data, a.len, PASS_BERT_CHINESE, &b, err));
	if (norm->strip_accents)
	{
		BERT_STEP(unicode_normalize(a.data, a.len, UTF8PROC_DECOMPOSE, &b, err));
		BERT_STEP(char_pass(a.data, a.len, PASS_STRIP_NONSPACING, &b, err));
	}
	if (norm->lowercase)
		BERT_STEP(char_pass(a.data, a.len, PASS_LOWERCASE, &b, err));
#undef BERT_STEP
	if (rc == 0)
		rc = hf_buf_append(out, a.data, a.len, err);
	hf_buf_free(&a);
	hf_buf_free(&b);
	return rc;
}

static int
apply_sequence(const HfNormalizer *norm, const char *text, size_t len, HfBuf *out,
			   LmError *err)
{
	HfBuf		cur = {0};
	HfBuf		next = {0};
	int			rc = hf_buf_append(&cur, text, len, err);

	for (size_t i = 0; i < norm->n_children && rc == 0; i++)
	{
		HfBuf		tmp;

		rc = hf_normalizer_apply(norm->children[i], cur.data, cur.len, &next, err);
		tmp = cur;
		cur = next;
		next = tmp;
	}
	if (rc == 0)
		rc = hf_buf_append(out, cur.data, cur.len, err);
	hf_buf_free(&cur);
	hf_buf_free(&next);
	return rc;
}

int
hf_normalizer_apply(const HfNormalizer *norm, const char *text, size_t len, HfBuf *out,
					LmError *err)
{
	hf_buf_clear(out);
	switch (norm->kind)
	{
		case NORM_NFC:
			return unicode_normalize(text, len, UTF8PROC_COMPOSE, out, err);
		case NORM_NFD:
			return unicode_normalize(text, len, UTF8PROC_DECOMPOSE, out, err);
		case NORM_NFKC:
			return unicode_normalize(text, len, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, out, err);
		case NORM_NFKD:
			return unicode_normalize(text, len, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, out,
									 err);
		case NORM_LOWERCASE:
			return char_pass(text, len, PASS_LOWERCASE, out, err);
		case NORM_STRIP_ACCENTS:
			return char_pass(text, len, PASS_STRIP_MARKS, out, err);
		case NORM_NMT:
			return char_pass(text, len, PASS_NMT, out, err);
		case NORM_BYTE_LEVEL:
			return char_pass(text, len, PASS_BYTE_LEVEL, out, err);
		case NORM_BERT:
			return apply_bert(norm, text, len, out, err);
		case NORM_PREPEND:
			if (len > 0 && hf_buf_append(out, norm->content, norm->content_len, err) != 0)
				return -1;
			return hf_buf_append(out, text, len, err);
		case NORM_REPLACE:
			return apply_replace(norm, text, len, out, err);
		case NORM_STRIP:
			return apply_strip(norm, text, len, out, err);
		case NORM_SEQUENCE:
			return apply_sequence(norm, text, len, out, err);
		case NORM_PRECOMPILED:
			return hf_precompiled_apply(norm->precompiled, text, len, out, err);
	}
	return lm_fail(err, LM_ERR_INTERNAL, "unhandled normalizer kind %d", (int) norm->kind);
}
